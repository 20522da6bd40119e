//! Jobs: long work started from the console — billing runs, imports, reminder passes — queued in
//! the database and run in the background, so no request waits for it. Any replica may run a job:
//! it claims it with a conditional update and holds a lease it renews while the work goes on; when a
//! replica dies the lease lapses and another takes the job up again. Every kind is safe to repeat
//! (billing runs and reminder passes are idempotent, an import is one transaction).
//!
//! The work itself is the same use case the API calls, run as the member who started the job with
//! their role and scope as they are when it runs; the job adds only the queue, the lease and the
//! progress the page shows.
use crate::domain::role::Action;
use crate::error::{ApiError, ApiResult};
use crate::progress::Progress;
use crate::services::access::staff::{self, StaffCtx};
use crate::services::billing::runs;
use crate::services::collection::reminders::pass;
use crate::services::setup::import;
use crate::state::AppState;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use entity::job;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::{json, Value};

/// How long a claim holds without renewal; the runner renews it every `BEAT`.
const LEASE_SECS: i64 = 60;
const BEAT: std::time::Duration = std::time::Duration::from_secs(1);
/// Claims after which a job that keeps dying (its replica killed mid-way) is given up.
const MAX_ATTEMPTS: i32 = 3;

/// What kind of work a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    BillingRun,
    Import,
    ReminderRun,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::BillingRun => "billing_run",
            Kind::Import => "import",
            Kind::ReminderRun => "reminder_run",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Kind::BillingRun, Kind::Import, Kind::ReminderRun]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    /// Its name on the console.
    pub fn name(self) -> &'static str {
        match self {
            Kind::BillingRun => "开账（生成账单）",
            Kind::Import => "导入房屋和业主",
            Kind::ReminderRun => "催缴提醒",
        }
    }

    /// What a member must be allowed to see and start it.
    fn action(self) -> Action {
        match self {
            Kind::BillingRun => Action::ManageBilling,
            Kind::Import => Action::EditUnitsAndOwners,
            Kind::ReminderRun => Action::ManageCollection,
        }
    }
}

/// A job's state.
pub mod status {
    pub const QUEUED: &str = "queued";
    pub const RUNNING: &str = "running";
    pub const DONE: &str = "done";
    pub const FAILED: &str = "failed";
}

/// What a member asks to be done.
pub enum Ask {
    BillingRun(runs::RunRequest),
    /// An uploaded CSV or XLSX file for one community.
    Import {
        community_id: i32,
        file: Vec<u8>,
    },
    ReminderRun(pass::RunRequest),
}

/// A job as the console shows it.
#[derive(Debug, Clone)]
pub struct JobView {
    pub id: i32,
    pub kind: Kind,
    pub community_id: Option<i32>,
    pub params: Value,
    pub status: String,
    pub done: u64,
    pub total: u64,
    /// What the work answered when done; `{"message", "errors"?}` when it failed.
    pub result: Option<Value>,
    pub created_by: i32,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub attempts: i32,
}

impl JobView {
    pub fn finished(&self) -> bool {
        self.status == status::DONE || self.status == status::FAILED
    }

    fn of(m: job::Model) -> Option<Self> {
        Some(Self {
            id: m.id,
            kind: Kind::parse(&m.kind)?,
            community_id: m.community_id,
            params: serde_json::from_str(&m.params).unwrap_or(Value::Null),
            status: m.status,
            done: u64::try_from(m.done).unwrap_or(0),
            total: u64::try_from(m.total).unwrap_or(0),
            result: m.result.as_deref().and_then(|r| serde_json::from_str(r).ok()),
            created_by: m.created_by,
            created_at: m.created_at,
            started_at: m.started_at,
            finished_at: m.finished_at,
            attempts: m.attempts,
        })
    }
}

/// Queues what `ctx` asks after refusing what the work would refuse them (role, scope, a bad
/// period), and starts running it on this replica at once. Returns the job's id.
pub async fn start(state: &AppState, ctx: &StaffCtx, ask: Ask) -> ApiResult<i32> {
    let (kind, community_id, params, payload) = match ask {
        Ask::BillingRun(req) => {
            let c = runs::check(state, ctx, &req).await?;
            (
                Kind::BillingRun,
                Some(c.community_id),
                serde_json::to_value(&req).map_err(ApiError::internal)?,
                None,
            )
        }
        Ask::Import { community_id, file } => {
            ctx.require(Action::EditUnitsAndOwners)?;
            crate::services::setup::community_in_scope(state, ctx, community_id).await?;
            if file.is_empty() {
                return Err(ApiError::field("file", "请选择要导入的文件"));
            }
            // The file holds phone numbers: sealed like every other copy of them, dropped at the end.
            let b64 = base64::engine::general_purpose::STANDARD.encode(&file);
            let sealed = state.cipher.encrypt(&b64).map_err(ApiError::internal)?;
            (
                Kind::Import,
                Some(community_id),
                json!({"community_id": community_id}),
                Some(sealed),
            )
        }
        Ask::ReminderRun(req) => {
            ctx.require(Action::ManageCollection)?;
            if let Some(id) = req.community_id {
                crate::services::setup::community_in_scope(state, ctx, id).await?;
            }
            (
                Kind::ReminderRun,
                req.community_id,
                json!({"community_id": req.community_id}),
                None,
            )
        }
    };
    let row = job::ActiveModel {
        kind: Set(kind.as_str().to_string()),
        community_id: Set(community_id),
        params: Set(params.to_string()),
        payload: Set(payload),
        status: Set(status::QUEUED.to_string()),
        done: Set(0),
        total: Set(0),
        created_by: Set(ctx.id),
        created_at: Set(state.clock.now()),
        attempts: Set(0),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    let s = state.clone();
    tokio::spawn(async move {
        if let Err(e) = tick(&s).await {
            tracing::warn!(error = %e, "running queued jobs failed");
        }
    });
    Ok(row.id)
}

/// A job `ctx` may see: one of a kind their role may start, in a community they see (a pass over
/// all communities: only its starter and admins). 404 otherwise.
pub async fn get(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<JobView> {
    job::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .and_then(JobView::of)
        .filter(|j| visible(ctx, j))
        .ok_or(ApiError::NotFound)
}

/// The latest jobs `ctx` may see, newest first.
pub async fn recent(state: &AppState, ctx: &StaffCtx, limit: u64) -> ApiResult<Vec<JobView>> {
    let mut q = job::Entity::find().order_by_desc(job::Column::Id);
    if !ctx.role.sees_all_communities() {
        q = q.filter(
            Condition::any()
                .add(job::Column::CommunityId.is_in(ctx.communities.clone()))
                .add(job::Column::CreatedBy.eq(ctx.id)),
        );
    }
    Ok(q.limit(limit.saturating_mul(2))
        .all(&state.db)
        .await?
        .into_iter()
        .filter_map(JobView::of)
        .filter(|j| visible(ctx, j))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect())
}

fn visible(ctx: &StaffCtx, j: &JobView) -> bool {
    ctx.role.may(j.kind.action())
        && match j.community_id {
            Some(c) => ctx.sees(c),
            None => ctx.id == j.created_by || ctx.role.sees_all_communities(),
        }
}

/// Runs every job that is queued or whose runner's lease lapsed, one after another, until none is
/// left; returns how many this call ran. Replicas calling it at once never run one job twice.
pub async fn tick(state: &AppState) -> ApiResult<u32> {
    let mut ran = 0;
    while let Some((j, lease)) = claim(state).await? {
        execute(state, j, &lease).await?;
        ran += 1;
    }
    Ok(ran)
}

/// Who may take a job: queued, or running under a lease that lapsed.
fn claimable(now: DateTime<Utc>) -> Condition {
    Condition::any().add(job::Column::Status.eq(status::QUEUED)).add(
        Condition::all()
            .add(job::Column::Status.eq(status::RUNNING))
            .add(job::Column::LeaseUntil.lt(now)),
    )
}

/// Takes the oldest claimable job under a fresh lease token.
async fn claim(state: &AppState) -> ApiResult<Option<(job::Model, String)>> {
    let now = state.clock.now();
    let ids: Vec<i32> = job::Entity::find()
        .select_only()
        .column(job::Column::Id)
        .filter(claimable(now))
        .order_by_asc(job::Column::Id)
        .limit(8)
        .into_tuple()
        .all(&state.db)
        .await?;
    for id in ids {
        let lease = crate::crypto::new_token().map_err(ApiError::internal)?;
        let took = job::Entity::update_many()
            .col_expr(job::Column::Status, Expr::value(status::RUNNING))
            .col_expr(job::Column::LeaseOwner, Expr::value(lease.clone()))
            .col_expr(
                job::Column::LeaseUntil,
                Expr::value(now + Duration::seconds(LEASE_SECS)),
            )
            .col_expr(job::Column::Attempts, Expr::col(job::Column::Attempts).add(1))
            .col_expr(job::Column::StartedAt, Expr::value(now))
            .filter(job::Column::Id.eq(id))
            .filter(claimable(now))
            .exec(&state.db)
            .await?;
        if took.rows_affected == 1 {
            if let Some(j) = job::Entity::find_by_id(id).one(&state.db).await? {
                return Ok(Some((j, lease)));
            }
        }
    }
    Ok(None)
}

/// Runs one claimed job, renewing its lease and writing its progress every `BEAT`, then records
/// how it ended (only while the lease is still this runner's).
async fn execute(state: &AppState, j: job::Model, lease: &str) -> ApiResult<()> {
    let progress = Progress::tracked();
    let outcome = if j.attempts > MAX_ATTEMPTS {
        Err(ApiError::Conflict(
            "JOB_ABANDONED",
            "任务多次中断未能完成，请重新发起".into(),
        ))
    } else {
        let work = work(state, &j, &progress);
        tokio::pin!(work);
        let mut beat = tokio::time::interval(BEAT);
        beat.tick().await;
        loop {
            tokio::select! {
                r = &mut work => break r,
                _ = beat.tick() => {
                    let (done, total) = progress.get();
                    mine(j.id, lease)
                        .col_expr(job::Column::Done, Expr::value(to_i64(done)))
                        .col_expr(job::Column::Total, Expr::value(to_i64(total)))
                        .col_expr(
                            job::Column::LeaseUntil,
                            Expr::value(state.clock.now() + Duration::seconds(LEASE_SECS)),
                        )
                        .exec(&state.db)
                        .await?;
                }
            }
        }
    };
    let (done, total) = progress.get();
    let (status, result) = match outcome {
        Ok(v) => (status::DONE, v),
        Err(e) => {
            if let ApiError::Internal(inner) = &e {
                tracing::warn!(job = j.id, error = %inner, "job failed");
            }
            (status::FAILED, failure(&e))
        }
    };
    mine(j.id, lease)
        .col_expr(job::Column::Status, Expr::value(status))
        .col_expr(job::Column::Done, Expr::value(to_i64(done)))
        .col_expr(job::Column::Total, Expr::value(to_i64(total)))
        .col_expr(job::Column::Result, Expr::value(result.to_string()))
        .col_expr(job::Column::Payload, Expr::value(Option::<String>::None))
        .col_expr(job::Column::FinishedAt, Expr::value(state.clock.now()))
        .col_expr(job::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .exec(&state.db)
        .await?;
    Ok(())
}

/// An update of job `id` that applies only while `lease` still holds it.
fn mine(id: i32, lease: &str) -> sea_orm::UpdateMany<job::Entity> {
    job::Entity::update_many()
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::LeaseOwner.eq(lease))
        .filter(job::Column::Status.eq(status::RUNNING))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Why a job failed, as its page says it: the error's message and, for an import, every bad cell.
fn failure(e: &ApiError) -> Value {
    let message = match e {
        ApiError::Internal(_) => "系统暂时无法完成此任务，请稍后重新发起".to_string(),
        ApiError::Validation(f) | ApiError::BadRequest(_, Some(f)) => {
            f.values().cloned().collect::<Vec<_>>().join("；")
        }
        other => other.message(),
    };
    match e {
        ApiError::ImportRejected(rows) => json!({"message": message, "errors": rows}),
        _ => json!({"message": message}),
    }
}

/// The use case the job stands for, run as its starter.
async fn work(state: &AppState, j: &job::Model, progress: &Progress) -> ApiResult<Value> {
    let ctx = match staff::load_ctx(state, j.created_by, String::new()).await {
        Ok(c) => c,
        Err(ApiError::Unauthenticated) => {
            return Err(ApiError::Conflict(
                "STAFF_INACTIVE",
                "发起此任务的员工账号已停用".into(),
            ));
        }
        Err(e) => return Err(e),
    };
    let params: Value = serde_json::from_str(&j.params).map_err(ApiError::internal)?;
    let answer = match Kind::parse(&j.kind) {
        Some(Kind::BillingRun) => {
            let req: runs::RunRequest = serde_json::from_value(params).map_err(ApiError::internal)?;
            serde_json::to_value(runs::run_for_staff(state, &ctx, req, progress).await?)
        }
        Some(Kind::Import) => {
            let community_id = j
                .community_id
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("import job without community")))?;
            let sealed = j
                .payload
                .as_deref()
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("import job without file")))?;
            let b64 = state.cipher.decrypt(sealed).map_err(ApiError::internal)?;
            let file = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(ApiError::internal)?;
            serde_json::to_value(import::import_csv(state, &ctx, community_id, &file, progress).await?)
        }
        Some(Kind::ReminderRun) => {
            let req = pass::RunRequest {
                community_id: j.community_id,
            };
            serde_json::to_value(pass::run_now(state, &ctx, req, progress).await?)
        }
        None => return Err(ApiError::internal(anyhow::anyhow!("unknown job kind {}", j.kind))),
    };
    answer.map_err(ApiError::internal)
}
