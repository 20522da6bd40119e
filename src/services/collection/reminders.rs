//! Graduated reminders: a pass decides which owner × stage × episode messages are due (one row
//! each, under a unique key), then claims due rows in batches and sends them through WeChat
//! subscribe messages, SMS or a staff task, recording every message as evidence.
//!
//! Safe with any number of replicas: rows are claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL
//! (SQLite serialises writers), each claim carries a lease, and marking a row sent is fenced by its
//! attempt number. A sender that dies after claiming leaves its rows to be taken over when the lease
//! ends: at most those messages are sent again.
// Joins each bill (`b`) to the owner records it belongs to (`uo`): the one ownership rule.
use crate::domain::billing::ownership::BILL_OWNER_JOIN;
use crate::domain::money::sum_fen;
use crate::domain::reminders::{self as rules, NoticeFacts, Policy, QuietHours, Stage};
use crate::domain::role::Action;
use crate::domain::states::{self, ReminderStatus};
use crate::domain::suppression::{self, Effect};
use crate::domain::Fen;
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::services::access::staff::StaffCtx;
use crate::services::audit;
use crate::services::billing::bills;
use crate::services::collection::evidence::{self, NewEvidence};
use crate::services::collection::notices;
use crate::services::setup::community_in_scope;
use crate::state::AppState;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::{bill, community, owner, owner_account, reminder, reminder_policy, staff_task, subscribe_grant};
use futures_util::StreamExt;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    Set, Statement, TransactionTrait, Value,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

// ---------- policy ----------

/// A community's policy (the defaults until staff save one).
pub async fn policy_of<C: ConnectionTrait>(db: &C, community_id: i32) -> ApiResult<Policy> {
    let row = reminder_policy::Entity::find_by_id(community_id).one(db).await?;
    Ok(row
        .and_then(|r| serde_json::from_str(&r.policy).ok())
        .unwrap_or_default())
}

/// `GET /staff/communities/{id}/reminder-policy`.
pub async fn get_policy(state: &AppState, ctx: &StaffCtx, community_id: i32) -> ApiResult<Policy> {
    ctx.require(Action::ReadSetup)?;
    community_in_scope(state, ctx, community_id).await?;
    policy_of(&state.db, community_id).await
}

/// `PUT /staff/communities/{id}/reminder-policy`: the whole policy, validated, audited.
pub async fn put_policy(state: &AppState, ctx: &StaffCtx, community_id: i32, p: Policy) -> ApiResult<Policy> {
    ctx.require(Action::ManageCollection)?;
    community_in_scope(state, ctx, community_id).await?;
    let mut errors = FieldErrors::default();
    for (f, m) in p.problems() {
        errors.insert(f, m);
    }
    ApiError::check(errors)?;
    let now = state.clock.now();
    let json = serde_json::to_string(&p).map_err(|e| ApiError::internal(anyhow::Error::from(e)))?;
    let txn = state.db.begin().await?;
    reminder_policy::Entity::insert(reminder_policy::ActiveModel {
        community_id: Set(community_id),
        policy: Set(json.clone()),
        updated_by: Set(ctx.actor()),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(reminder_policy::Column::CommunityId)
            .update_columns([
                reminder_policy::Column::Policy,
                reminder_policy::Column::UpdatedBy,
                reminder_policy::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(&txn)
    .await?;
    let detail = serde_json::from_str(&json).unwrap_or_default();
    audit::record(
        &txn,
        &ctx.actor(),
        "reminder_policy.update",
        "community",
        community_id,
        detail,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(p)
}

// ---------- suppression ----------

/// A statement with `$n` placeholders, rewritten to `?n` for SQLite (both are positional).
fn stmt<C: ConnectionTrait>(db: &C, sql: &str, values: Vec<Value>) -> Statement {
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_string(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

// ---------- a pass ----------

/// What one pass did; every count is of owner messages. `sent`: accepted by a channel (WeChat,
/// SMS); `tasks`: formal notices with no electronic channel, handed to staff (call, print); `skipped`:
/// courtesy reminders with no channel (never turned into calls); `by_stage` counts `sent` only.
#[derive(Debug, Default, Serialize, ToSchema, PartialEq, Eq)]
pub struct RunReport {
    pub sent: u64,
    pub tasks: u64,
    pub skipped: u64,
    pub suppressed: u64,
    /// Due but waiting: quiet hours, a no-send date, or the per-owner rate limit.
    pub deferred: u64,
    pub by_stage: BTreeMap<String, u64>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[schema(as = ReminderRunRequest)]
pub struct RunRequest {
    pub community_id: Option<i32>,
}

/// `POST /staff/reminder-runs`: one pass now.
pub async fn run_now(state: &AppState, ctx: &StaffCtx, req: RunRequest) -> ApiResult<RunReport> {
    ctx.require(Action::ManageCollection)?;
    if let Some(id) = req.community_id {
        community_in_scope(state, ctx, id).await?;
    }
    pass(state, |id| req.community_id.map_or(ctx.sees(id), |only| only == id)).await
}

/// The scheduler's pass over every community.
pub async fn tick(state: &AppState) -> ApiResult<RunReport> {
    pass(state, |_| true).await
}

/// One pass over the communities `wanted` keeps.
async fn pass(state: &AppState, wanted: impl Fn(i32) -> bool) -> ApiResult<RunReport> {
    let ids: Vec<i32> = community::Entity::find()
        .select_only()
        .column(community::Column::Id)
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut report = RunReport::default();
    for id in ids.into_iter().filter(|id| wanted(*id)) {
        pass_community(state, id, &mut report).await?;
    }
    Ok(report)
}

/// Where a community stands right now: its policy, local date and whether it may be messaged.
struct Moment {
    community: community::Model,
    policy: Policy,
    tz: chrono_tz::Tz,
    today: NaiveDate,
    quiet: Option<QuietHours>,
    no_send: Vec<NaiveDate>,
}

impl Moment {
    async fn load<C: ConnectionTrait>(state: &AppState, db: &C, community_id: i32) -> ApiResult<Moment> {
        let community = community::Entity::find_by_id(community_id)
            .one(db)
            .await?
            .ok_or(ApiError::NotFound)?;
        let policy = policy_of(db, community_id).await?;
        let tz = state.community_tz_on(db, community_id).await?;
        let today = state.today_in(tz);
        let defaults = &state.settings.reminders;
        let quiet = QuietHours::parse(policy.quiet_hours.as_deref().unwrap_or(&defaults.quiet_hours));
        let no_send = policy
            .no_send_dates
            .clone()
            .unwrap_or_else(|| defaults.no_send_dates.clone());
        Ok(Moment {
            community,
            policy,
            tz,
            today,
            quiet,
            no_send,
        })
    }

    /// The first moment at or after `at` when this community may be messaged.
    fn next_send(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let local = at.with_timezone(&self.tz).naive_local();
        let next = rules::next_send_time(local, self.quiet, &self.no_send);
        if next == local {
            return at;
        }
        next.and_local_timezone(self.tz)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(at)
    }
}

/// One community's pass. Replicas deciding at once may lock the same episode rows in different
/// orders; PostgreSQL then aborts one statement as a deadlock, and the pass simply runs again
/// (every step is idempotent).
async fn pass_community(state: &AppState, community_id: i32, report: &mut RunReport) -> ApiResult<()> {
    let mut attempt = 0;
    loop {
        let m = Moment::load(state, &state.db, community_id).await?;
        let result = async {
            decide(state, &m, report).await?;
            send_due(state, &m, report).await
        }
        .await;
        match result {
            Err(ApiError::Internal(e)) if attempt < 3 && is_lock_conflict(&e) => {
                attempt += 1;
                tracing::warn!(
                    community_id,
                    attempt,
                    "reminder pass hit a lock conflict; running it again"
                );
            }
            other => return other,
        }
    }
}

fn is_lock_conflict(e: &anyhow::Error) -> bool {
    let text = format!("{e:#}");
    text.contains("deadlock detected") || text.contains("could not serialize")
}

#[derive(Debug, FromQueryResult)]
struct OwnerArrears {
    owner_id: i32,
    /// Oldest due date among the bills reminders may mention; None when all are suppressed.
    oldest_live: Option<NaiveDate>,
    oldest_any: NaiveDate,
    episode_id: i32,
    top_rank: i32,
    friendly_opt_out: Option<bool>,
}

#[derive(Debug, FromQueryResult)]
struct OwnerUpcoming {
    owner_id: i32,
    due: NaiveDate,
    friendly_opt_out: Option<bool>,
}

/// A reminder row to create (the unique key drops it if it already exists).
struct Due {
    owner_id: i32,
    stage: Stage,
    episode_key: String,
    episode: Option<i32>,
}

/// Decides what is due: closes episodes whose arrears are gone, opens episodes for new arrears,
/// and queues the highest passed overdue stage not yet sent in each episode, plus pre-due notices.
/// Streams the owners (never loads all bills) and writes in batches.
async fn decide(state: &AppState, m: &Moment, report: &mut RunReport) -> ApiResult<()> {
    let db = &state.db;
    let c = m.community.id;
    let today = Value::from(m.today);
    // Overdue = unpaid and past its due date (held bills still count: the episode is about arrears).
    let arrears = format!(
        "SELECT 1 FROM bills b {BILL_OWNER_JOIN} WHERE uo.owner_id = reminder_episodes.owner_id \
         AND b.community_id = $1 AND b.status = 'unpaid' AND b.due_date < $2"
    );
    db.execute_raw(stmt(
        db,
        &format!(
            "UPDATE reminder_episodes SET open_owner = NULL, ended_on = $2 \
             WHERE community_id = $1 AND open_owner IS NOT NULL AND NOT EXISTS ({arrears})"
        ),
        vec![c.into(), today.clone()],
    ))
    .await?;
    db.execute_raw(stmt(
        db,
        &format!(
            "INSERT INTO reminder_episodes (owner_id, community_id, open_owner, started_on, top_rank) \
         SELECT DISTINCT uo.owner_id, $1, uo.owner_id, $2, 0 FROM bills b \
         {BILL_OWNER_JOIN} \
         WHERE b.community_id = $1 AND b.status = 'unpaid' AND b.due_date < $2 \
         ON CONFLICT (open_owner) DO NOTHING"
        ),
        vec![c.into(), today.clone()],
    ))
    .await?;

    let suppressed = suppression::sql(Effect::Reminders, "$2");
    let mut batch = Vec::new();
    {
        let overdue = OwnerArrears::find_by_statement(stmt(
            db,
            &format!(
                "SELECT uo.owner_id, MIN(CASE WHEN {suppressed} THEN NULL ELSE b.due_date END) AS oldest_live, \
             MIN(b.due_date) AS oldest_any, e.id AS episode_id, e.top_rank, o.friendly_opt_out \
             FROM bills b {BILL_OWNER_JOIN} \
             JOIN owners o ON o.id = uo.owner_id \
             JOIN reminder_episodes e ON e.open_owner = uo.owner_id \
             WHERE b.community_id = $1 AND b.status = 'unpaid' AND b.due_date < $2 \
             GROUP BY uo.owner_id, e.id, e.top_rank, o.friendly_opt_out"
            ),
            vec![c.into(), today.clone()],
        ))
        .stream(db)
        .await?;
        futures_util::pin_mut!(overdue);
        while let Some(row) = overdue.next().await {
            let row = row?;
            let opted_out = row.friendly_opt_out.unwrap_or(false);
            let Some(oldest) = row.oldest_live else {
                // Everything overdue is held: the message that would be due is suppressed.
                let would = m.policy.overdue_stage(m.today, row.oldest_any);
                if would.is_some_and(|s| s.rank() > row.top_rank && !(s.is_friendly() && opted_out)) {
                    report.suppressed += 1;
                }
                continue;
            };
            let Some(stage) = m.policy.overdue_stage(m.today, oldest) else {
                continue;
            };
            // Never a lower stage after a higher one, never a stage twice in an episode.
            if stage.rank() <= row.top_rank || (stage.is_friendly() && opted_out) {
                continue;
            }
            batch.push(Due {
                owner_id: row.owner_id,
                stage,
                episode_key: format!("episode:{}", row.episode_id),
                episode: Some(row.episode_id),
            });
            if batch.len() >= 500 {
                queue(state, m, std::mem::take(&mut batch)).await?;
            }
        }
    } // the stream (and its connection) ends here
    queue(state, m, std::mem::take(&mut batch)).await?;

    if m.policy.stages.pre_due.enabled {
        let until = Value::from(m.today + Duration::days(m.policy.stages.pre_due.days));
        let upcoming = OwnerUpcoming::find_by_statement(stmt(
            db,
            &format!(
                "SELECT uo.owner_id, MIN(b.due_date) AS due, o.friendly_opt_out FROM bills b \
                 {BILL_OWNER_JOIN} \
                 JOIN owners o ON o.id = uo.owner_id \
                 WHERE b.community_id = $1 AND b.status = 'unpaid' AND b.due_date >= $2 AND b.due_date <= $3 \
                 AND NOT {suppressed} GROUP BY uo.owner_id, o.friendly_opt_out"
            ),
            vec![c.into(), today.clone(), until],
        ))
        .stream(db)
        .await?;
        futures_util::pin_mut!(upcoming);
        while let Some(u) = upcoming.next().await {
            let u = u?;
            if u.friendly_opt_out.unwrap_or(false) {
                continue;
            }
            batch.push(Due {
                owner_id: u.owner_id,
                stage: Stage::PreDue,
                episode_key: format!("due:{}", u.due),
                episode: None,
            });
            if batch.len() >= 500 {
                queue(state, m, std::mem::take(&mut batch)).await?;
            }
        }
    }
    queue(state, m, batch).await?;
    Ok(())
}

/// Inserts reminder rows (a repeat of an existing key is dropped) and raises episodes' top stage.
async fn queue(state: &AppState, m: &Moment, due: Vec<Due>) -> ApiResult<()> {
    if due.is_empty() {
        return Ok(());
    }
    let now = state.clock.now();
    let not_before = m.next_send(now);
    let txn = state.db.begin().await?;
    let rows = due.iter().map(|d| reminder::ActiveModel {
        owner_id: Set(d.owner_id),
        community_id: Set(m.community.id),
        stage: Set(d.stage.as_str().into()),
        episode_key: Set(d.episode_key.clone()),
        status: Set(ReminderStatus::Pending),
        not_before: Set(not_before),
        lease_until: Set(None),
        attempts: Set(0),
        bill_ids: Set("[]".into()),
        amount_fen: Set(0),
        created_at: Set(now),
        ..Default::default()
    });
    reminder::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                reminder::Column::OwnerId,
                reminder::Column::CommunityId,
                reminder::Column::Stage,
                reminder::Column::EpisodeKey,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    for stage in Stage::OVERDUE {
        let ids: Vec<i32> = due
            .iter()
            .filter(|d| d.stage == stage)
            .filter_map(|d| d.episode)
            .collect();
        if ids.is_empty() {
            continue;
        }
        entity::reminder_episode::Entity::update_many()
            .col_expr(entity::reminder_episode::Column::TopRank, Expr::value(stage.rank()))
            .filter(entity::reminder_episode::Column::Id.is_in(ids))
            .filter(entity::reminder_episode::Column::TopRank.lt(stage.rank()))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Claims up to `limit` due reminders of a community: pending ones whose time has come and
/// claimed ones whose lease ran out. Public so tests can play a sender that dies after claiming.
pub async fn claim(state: &AppState, community_id: i32, limit: u64) -> ApiResult<Vec<reminder::Model>> {
    let now = state.clock.now();
    let lease = Duration::seconds(Ord::max(state.settings.reminders.lease_seconds, 1));
    let due = Query::select()
        .column(reminder::Column::Id)
        .from(reminder::Entity)
        .and_where(Expr::col(reminder::Column::CommunityId).eq(community_id))
        .and_where(
            Expr::col(reminder::Column::Status)
                .eq(ReminderStatus::Pending.as_str())
                .and(Expr::col(reminder::Column::NotBefore).lte(now))
                .or(Expr::col(reminder::Column::Status)
                    .eq(ReminderStatus::Sending.as_str())
                    .and(Expr::col(reminder::Column::LeaseUntil).lt(now))),
        )
        .order_by(reminder::Column::Id, sea_orm::Order::Asc)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .to_owned();
    let txn = crate::db::begin_write(&state.db).await?;
    let mut rows = reminder::Entity::update_many()
        .col_expr(reminder::Column::Status, Expr::value(ReminderStatus::Sending))
        .col_expr(reminder::Column::LeaseUntil, Expr::value(now + lease))
        .col_expr(reminder::Column::Attempts, Expr::col(reminder::Column::Attempts).add(1))
        .filter(reminder::Column::Id.in_subquery(due))
        .exec_with_returning(&txn)
        .await?;
    txn.commit().await?;
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

/// Sends what is due now, batch by batch; outside the allowed hours nothing is claimed.
async fn send_due(state: &AppState, m: &Moment, report: &mut RunReport) -> ApiResult<()> {
    let now = state.clock.now();
    let may_send = m.next_send(now) == now;
    if may_send {
        loop {
            let claimed = claim(state, m.community.id, Ord::max(state.settings.reminders.batch_size, 1)).await?;
            if claimed.is_empty() {
                break;
            }
            // Messages go out concurrently (each is one owner's own row, so they never collide).
            let width = Ord::max(state.settings.reminders.send_concurrency, 1);
            let mut outcomes = futures_util::stream::iter(claimed)
                .map(|r| deliver(state, m, r))
                .buffer_unordered(width);
            while let Some(outcome) = outcomes.next().await {
                match outcome? {
                    Outcome::Sent(stage) => {
                        report.sent += 1;
                        *report.by_stage.entry(stage.as_str().into()).or_default() += 1;
                    }
                    Outcome::Task => report.tasks += 1,
                    Outcome::Skipped => report.skipped += 1,
                    Outcome::Suppressed => report.suppressed += 1,
                    // Counted below with everything else that waits.
                    Outcome::Deferred | Outcome::Lost => {}
                }
            }
        }
    }
    // Waiting: everything pending while the community may not be messaged, else what is not due yet.
    let mut waiting = reminder::Entity::find()
        .filter(reminder::Column::CommunityId.eq(m.community.id))
        .filter(reminder::Column::Status.eq(ReminderStatus::Pending));
    if may_send {
        waiting = waiting.filter(reminder::Column::NotBefore.gt(state.clock.now()));
    }
    report.deferred += waiting.count(&state.db).await?;
    Ok(())
}

use sea_orm::PaginatorTrait;

enum Outcome {
    Sent(Stage),
    /// No electronic channel: handed to staff (a formal notice).
    Task,
    /// No channel for a courtesy reminder: nothing sent, nothing handed on.
    Skipped,
    Suppressed,
    Deferred,
    /// Another sender took the row over (our lease ran out): it reports the row.
    Lost,
}

/// The bills a reminder may mention right now (the re-check just before sending).
async fn reminder_bills<C: ConnectionTrait>(
    db: &C,
    r: &reminder::Model,
    stage: Stage,
    today: NaiveDate,
) -> ApiResult<Vec<bill::Model>> {
    let suppressed = suppression::sql(Effect::Reminders, "$3");
    let due_key = r
        .episode_key
        .strip_prefix("due:")
        .and_then(|d| d.parse::<NaiveDate>().ok())
        .unwrap_or(today);
    // An overdue reminder belongs to its episode: once the arrears were cleared (episode closed)
    // it mentions nothing, even if new arrears began meanwhile (they get their own episode).
    let episode = r
        .episode_key
        .strip_prefix("episode:")
        .and_then(|v| v.parse::<i32>().ok());
    let (window, extra): (&str, Option<Value>) = match (stage, episode) {
        (Stage::PreDue, _) => ("b.due_date = $4", Some(due_key.into())),
        (_, Some(e)) => (
            "b.due_date < $3 AND EXISTS (SELECT 1 FROM reminder_episodes e WHERE e.id = $4 AND e.open_owner IS NOT NULL)",
            Some(e.into()),
        ),
        (_, None) => ("b.due_date < $3", None),
    };
    let sql = format!(
        "SELECT b.* FROM bills b {BILL_OWNER_JOIN} \
         WHERE uo.owner_id = $1 AND b.community_id = $2 AND {window} AND NOT {suppressed} ORDER BY b.due_date, b.id"
    );
    let mut values: Vec<Value> = vec![r.owner_id.into(), r.community_id.into(), today.into()];
    values.extend(extra);
    Ok(bill::Entity::find()
        .from_raw_sql(stmt(db, &sql, values))
        .all(db)
        .await?)
}

/// What was tried, and what each channel answered.
struct Delivery {
    /// `wechat`, `sms`, or None when no channel accepted the message.
    channel: Option<&'static str>,
    /// Exactly what was transmitted (template, its registered wording, the parameters).
    transmitted: Option<String>,
    answers: Vec<String>,
    provider_ref: Option<String>,
}

/// The fee items of a notice, each with its count and the amount due today.
fn item_sums(with: &[(bill::Model, bills::BillView, bills::Amounts)]) -> ApiResult<Vec<rules::ItemSum>> {
    let mut out: Vec<rules::ItemSum> = Vec::new();
    for (b, v, a) in with {
        match out.iter_mut().find(|i| i.name == v.fee_item) {
            Some(i) => {
                i.count += 1;
                i.amount = Fen(crate::domain::money::add_fen(i.amount.0, a.due())?);
            }
            None => out.push(rules::ItemSum {
                name: if v.fee_item.is_empty() {
                    format!("账单{}", b.id)
                } else {
                    v.fee_item.clone()
                },
                count: 1,
                amount: Fen(a.due()),
            }),
        }
    }
    Ok(out)
}

/// The last formal demand delivered to this owner in the reminder's episode: a WeChat message the
/// platform accepted (errcode 0), or a printed notice delivered in person or by registered mail.
async fn prior_demand(state: &AppState, m: &Moment, r: &reminder::Model) -> ApiResult<Option<NaiveDate>> {
    if !r.episode_key.starts_with("episode:") {
        return Ok(None);
    }
    let earlier = reminder::Entity::find()
        .filter(reminder::Column::OwnerId.eq(r.owner_id))
        .filter(reminder::Column::CommunityId.eq(r.community_id))
        .filter(reminder::Column::EpisodeKey.eq(r.episode_key.clone()))
        .filter(reminder::Column::Id.ne(r.id))
        .filter(reminder::Column::Stage.is_in([Stage::OverdueFormal.as_str(), Stage::FinalNotice.as_str()]))
        .all(&state.db)
        .await?;
    let local = |t: DateTime<Utc>| t.with_timezone(&m.tz).date_naive();
    let mut dates: Vec<NaiveDate> = earlier
        .iter()
        .filter(|e| e.status == ReminderStatus::Sent && e.channel.as_deref() == Some("wechat"))
        .filter_map(|e| e.sent_at.map(local))
        .collect();
    let ids: Vec<i32> = earlier.iter().map(|e| e.id).collect();
    if !ids.is_empty() {
        let printed = staff_task::Entity::find()
            .filter(staff_task::Column::ReminderId.is_in(ids))
            .filter(staff_task::Column::Kind.eq("printed_notice"))
            .filter(staff_task::Column::Status.eq("done"))
            .filter(staff_task::Column::Delivery.is_in(["in_person", "registered_mail"]))
            .all(&state.db)
            .await?;
        dates.extend(printed.iter().filter_map(|t| t.completed_at.map(local)));
    }
    Ok(dates.into_iter().max())
}

/// Re-checks, renders and sends one claimed reminder, then records what happened.
async fn deliver(state: &AppState, m: &Moment, r: reminder::Model) -> ApiResult<Outcome> {
    let now = state.clock.now();
    let Some(stage) = Stage::parse(&r.stage) else {
        return Ok(Outcome::Suppressed);
    };
    let open_bills = reminder_bills(&state.db, &r, stage, m.today).await?;
    if open_bills.is_empty() {
        finish(state, &r, ReminderStatus::Suppressed, None).await?;
        return Ok(Outcome::Suppressed);
    }
    // One message per owner within the policy's gap: a later one waits.
    if m.policy.min_gap_hours > 0 {
        let last: Option<DateTime<Utc>> = reminder::Entity::find()
            .select_only()
            .column_as(reminder::Column::SentAt.max(), "last")
            .filter(reminder::Column::OwnerId.eq(r.owner_id))
            .filter(reminder::Column::Status.eq(ReminderStatus::Sent))
            .into_tuple::<Option<DateTime<Utc>>>()
            .one(&state.db)
            .await?
            .flatten();
        if let Some(last) = last {
            let free = last + Duration::hours(m.policy.min_gap_hours);
            if free > now {
                let moved = reminder::Entity::update_many()
                    .col_expr(reminder::Column::Status, Expr::value(ReminderStatus::Pending))
                    .col_expr(reminder::Column::NotBefore, Expr::value(m.next_send(free)))
                    .col_expr(reminder::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
                    .filter(reminder::Column::Id.eq(r.id))
                    .filter(reminder::Column::Attempts.eq(r.attempts))
                    .exec(&state.db)
                    .await?;
                return Ok(if moved.rows_affected == 1 {
                    Outcome::Deferred
                } else {
                    Outcome::Lost
                });
            }
        }
    }
    let o = owner::Entity::find_by_id(r.owner_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let with = bills::with_amounts(state, open_bills).await?;
    let unit_ids: Vec<i32> = {
        let mut v: Vec<i32> = with.iter().map(|(b, _, _)| b.unit_id).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut unit_codes: Vec<(i32, String)> = with.iter().map(|(b, v, _)| (b.unit_id, v.unit_code.clone())).collect();
    unit_codes.sort();
    unit_codes.dedup();
    let principal = sum_fen(with.iter().map(|(_, _, a)| a.outstanding_principal))?;
    let late = sum_fen(with.iter().map(|(_, _, a)| a.outstanding_late_fee))?;
    let features = crate::services::setup::communities::Features::of(&m.community);
    let facts = NoticeFacts {
        community: m.community.name.clone(),
        company: state.settings.reminders.company_name.clone(),
        owner_name: o.name.clone(),
        units: unit_codes.into_iter().map(|(_, code)| code).collect(),
        bill_count: with.len(),
        items: item_sums(&with)?,
        principal: Fen(principal),
        late_fee: Fen(late),
        oldest_due: with.first().map(|(b, _, _)| b.due_date).unwrap_or(m.today),
        today: m.today,
        deadline: m.today + Duration::days(m.policy.deadline_days),
        prior_demand: if stage.is_formal() {
            prior_demand(state, m, &r).await?
        } else {
            None
        },
        ways: rules::offered(|f| features.on(f)),
    };
    let letter = rules::render(stage, &facts);
    if let Some(word) = rules::banned_word(&letter) {
        // Defence in depth: a name or unit code could carry such a word; never send it.
        tracing::error!(reminder_id = r.id, word, "reminder refused: wording");
        finish(state, &r, ReminderStatus::Failed, None).await?;
        return Ok(Outcome::Suppressed);
    }
    let delivery = send_through_channels(state, &r, stage, &o, &facts).await?;
    let bill_ids: Vec<i32> = with.iter().map(|(b, _, _)| b.id).collect();
    // Honest status: sent only when a channel accepted it; a formal notice with no channel goes to
    // staff; a courtesy reminder with no channel is skipped (never turned into a call).
    let (status, outcome) = match delivery.channel {
        Some(_) => (ReminderStatus::Sent, Outcome::Sent(stage)),
        None if stage.is_formal() => (ReminderStatus::Task, Outcome::Task),
        None => (ReminderStatus::Skipped, Outcome::Skipped),
    };
    let channel = delivery.channel.unwrap_or(if status == ReminderStatus::Task {
        "staff_task"
    } else {
        "none"
    });
    // What the row keeps as its content: what was transmitted, or the letter staff will deliver.
    let content = match status {
        ReminderStatus::Sent => delivery.transmitted.clone(),
        ReminderStatus::Task => Some(letter.clone()),
        _ => None,
    };

    // Record: the row (fenced by the attempt we claimed), tasks, notices, evidence.
    let txn = state.db.begin().await?;
    let marked = reminder::Entity::update_many()
        .col_expr(reminder::Column::Status, Expr::value(status))
        .col_expr(reminder::Column::Channel, Expr::value(channel))
        .col_expr(reminder::Column::Content, Expr::value(content.clone()))
        .col_expr(
            reminder::Column::ProviderAnswer,
            Expr::value(delivery.answers.join("\n")),
        )
        .col_expr(
            reminder::Column::ProviderRef,
            Expr::value(delivery.provider_ref.clone()),
        )
        .col_expr(
            reminder::Column::SentAt,
            Expr::value((status == ReminderStatus::Sent).then_some(now)),
        )
        .col_expr(
            reminder::Column::BillIds,
            Expr::value(serde_json::to_string(&bill_ids).unwrap_or_default()),
        )
        .col_expr(reminder::Column::AmountFen, Expr::value(principal + late))
        .col_expr(reminder::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(reminder::Column::Id.eq(r.id))
        .filter(reminder::Column::Status.eq(ReminderStatus::Sending))
        .filter(reminder::Column::Attempts.eq(r.attempts))
        .exec(&txn)
        .await?;
    if marked.rows_affected != 1 {
        tracing::warn!(reminder_id = r.id, "reminder lease lost while sending");
        return Ok(Outcome::Lost);
    }
    let first_unit = unit_ids.first().copied().unwrap_or_default();
    let mut tasks: Vec<(&str, i32)> = Vec::new();
    if status == ReminderStatus::Task {
        tasks.push(("call", first_unit));
    }
    if stage.is_formal() {
        tasks.push(("printed_notice", first_unit));
    }
    if stage == Stage::FinalNotice {
        tasks.push(("visit", first_unit));
    }
    if !tasks.is_empty() {
        let rows = tasks.into_iter().map(|(kind, unit_id)| staff_task::ActiveModel {
            community_id: Set(m.community.id),
            unit_id: Set(unit_id),
            owner_id: Set(Some(r.owner_id)),
            reminder_id: Set(Some(r.id)),
            kind: Set(kind.into()),
            stage: Set(Some(stage.as_str().into())),
            status: Set("open".into()),
            created_at: Set(now),
            ..Default::default()
        });
        staff_task::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([
                    staff_task::Column::ReminderId,
                    staff_task::Column::UnitId,
                    staff_task::Column::Kind,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    if stage.is_formal() {
        // The printed notice's identity and snapshot: a reprint says exactly this.
        let snapshot = notices::NoticeSnapshot::new(
            state,
            stage.as_str(),
            letter.clone(),
            &o.name,
            &m.community.name,
            m.today,
            &with,
        )?;
        let n = notices::create(&txn, m.community.id, first_unit, r.owner_id, r.id, &snapshot, now).await?;
        notices::attach(&txn, r.id, first_unit, n.id).await?;
    }
    // Evidence keeps exactly what was transmitted: nothing, when nothing was.
    if let (Some(ch), Some(payload)) = (delivery.channel, &delivery.transmitted) {
        for unit_id in &unit_ids {
            let rec = NewEvidence {
                kind: "reminder",
                stage: Some(stage.as_str().into()),
                channel: ch.into(),
                content: payload.clone(),
                result: delivery.answers.join("\n"),
            };
            evidence::append(&txn, *unit_id, now, rec).await?;
        }
    }
    txn.commit().await?;
    Ok(outcome)
}

/// Ends a claimed row without sending (suppressed, refused wording), fenced like a send.
async fn finish(
    state: &AppState,
    r: &reminder::Model,
    status: ReminderStatus,
    answer: Option<String>,
) -> ApiResult<()> {
    reminder::Entity::update_many()
        .col_expr(reminder::Column::Status, Expr::value(status))
        .col_expr(reminder::Column::ProviderAnswer, Expr::value(answer))
        .col_expr(reminder::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(reminder::Column::Id.eq(r.id))
        .filter(reminder::Column::Attempts.eq(r.attempts))
        .exec(&state.db)
        .await?;
    Ok(())
}

/// WeChat subscribe message (spending one grant), else SMS; None when neither accepted it.
async fn send_through_channels(
    state: &AppState,
    r: &reminder::Model,
    stage: Stage,
    o: &owner::Model,
    f: &NoticeFacts,
) -> ApiResult<Delivery> {
    let now = state.clock.now();
    let mut answers = Vec::new();
    let total = Fen(f.principal.0 + f.late_fee.0).to_yuan_string();
    let registered = |texts: &std::collections::HashMap<String, String>| {
        texts
            .get(stage.as_str())
            .cloned()
            .unwrap_or_else(|| "（未登记模板文字）".into())
    };
    if let Some(template) = state.settings.wechat.templates.get(stage.as_str()) {
        let accounts = owner_account::Entity::find()
            .filter(owner_account::Column::PhoneIndex.eq(o.phone_index.clone()))
            .all(&state.db)
            .await?;
        // A `thing` holds 20 characters: the fees are named as truthfully as that allows.
        let data = serde_json::json!({
            "thing1": {"value": f.community.chars().take(20).collect::<String>()},
            "amount2": {"value": format!("{total}元")},
            "date3": {"value": f.oldest_due.to_string()},
            "thing4": {"value": stage_title(stage, &f.items)},
        });
        for a in accounts {
            let Some(grant) = spend_grant(state, a.id, template, r.id, now).await? else {
                continue;
            };
            let msg = crate::gateways::wechat::SubscribeMessage {
                touser: a.openid.clone(),
                template_id: template.clone(),
                page: "pages/bills/index".into(),
                data: data.clone(),
                miniprogram_state: "formal".into(),
                lang: "zh_CN".into(),
            };
            match state.wechat.send_subscribe(&msg).await {
                Ok(()) => {
                    answers.push("wechat: errcode 0".into());
                    let params = ["thing1", "amount2", "date3", "thing4"]
                        .iter()
                        .map(|k| format!("{k}={}", data[k]["value"].as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join("；");
                    return Ok(Delivery {
                        channel: Some("wechat"),
                        transmitted: Some(format!(
                            "微信订阅消息\n模板：{template}\n模板文字：{}\n参数：{params}\n页面：pages/bills/index",
                            registered(&state.settings.wechat.template_texts)
                        )),
                        answers,
                        provider_ref: Some(format!("grant:{grant}")),
                    });
                }
                // No subscription left: the grant stays spent; fall through to the next channel.
                Err(crate::gateways::wechat::WechatError::Code(43101, msg)) => {
                    answers.push(format!("wechat: errcode 43101 {msg}"));
                }
                Err(e) => {
                    answers.push(format!("wechat: {e}"));
                    unspend_grant(state, grant).await?;
                }
            }
        }
    }
    if let (Some(sms), Some(template)) = (state.sms.as_ref(), state.settings.sms.templates.get(stage.as_str())) {
        match state.cipher.decrypt(&o.phone_enc) {
            Ok(phone) => {
                let params = [total.clone(), f.bill_count.to_string(), f.deadline.to_string()];
                match sms
                    .send(template, &params, &phone, &format!("reminder:{}", r.id), now)
                    .await
                {
                    Ok(sent) => {
                        answers.push(format!("sms: Ok {}", sent.answer));
                        let listed = params
                            .iter()
                            .enumerate()
                            .map(|(i, p)| format!("{{{}}}={p}", i + 1))
                            .collect::<Vec<_>>()
                            .join("；");
                        return Ok(Delivery {
                            channel: Some("sms"),
                            transmitted: Some(format!(
                                "短信\n模板：{template}\n模板文字：{}\n参数：{listed}\n号码：{}",
                                registered(&state.settings.sms.template_texts),
                                crate::domain::phone::mask(&phone)
                            )),
                            answers,
                            provider_ref: Some(sent.serial_no),
                        });
                    }
                    Err(e) => answers.push(format!("sms: {e}")),
                }
            }
            Err(_) => answers.push("sms: phone unreadable".into()),
        }
    }
    answers.push("no channel".into());
    Ok(Delivery {
        channel: None,
        transmitted: None,
        answers,
        provider_ref: None,
    })
}

/// The `thing4` title: ≤ 20 characters, naming the fees as `short_label` allows.
fn stage_title(stage: Stage, items: &[rules::ItemSum]) -> String {
    let label = rules::short_label(items);
    let suffix = match stage {
        Stage::PreDue => "即将到期",
        Stage::OverdueFriendly => "缴费提醒",
        Stage::OverdueFormal => "催告函",
        Stage::FinalNotice => "最终催告",
    };
    let room = 20 - suffix.chars().count();
    format!("{}{suffix}", label.chars().take(room).collect::<String>())
}

/// Takes one unspent grant of the account for the template; its id, or None if there is none.
async fn spend_grant(
    state: &AppState,
    account_id: i32,
    template: &str,
    reminder_id: i32,
    now: DateTime<Utc>,
) -> ApiResult<Option<i32>> {
    for _ in 0..3 {
        let Some(g) = subscribe_grant::Entity::find()
            .filter(subscribe_grant::Column::AccountId.eq(account_id))
            .filter(subscribe_grant::Column::TemplateId.eq(template))
            .filter(subscribe_grant::Column::SpentAt.is_null())
            .order_by_asc(subscribe_grant::Column::Id)
            .one(&state.db)
            .await?
        else {
            return Ok(None);
        };
        let took = subscribe_grant::Entity::update_many()
            .col_expr(subscribe_grant::Column::SpentAt, Expr::value(now))
            .col_expr(subscribe_grant::Column::ReminderId, Expr::value(reminder_id))
            .filter(subscribe_grant::Column::Id.eq(g.id))
            .filter(subscribe_grant::Column::SpentAt.is_null())
            .exec(&state.db)
            .await?;
        if took.rows_affected == 1 {
            return Ok(Some(g.id));
        }
    }
    Ok(None)
}

/// Gives a grant back when WeChat refused the message for a reason that did not consume it.
async fn unspend_grant(state: &AppState, grant: i32) -> ApiResult<()> {
    subscribe_grant::Entity::update_many()
        .col_expr(
            subscribe_grant::Column::SpentAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(subscribe_grant::Column::ReminderId, Expr::value(Option::<i32>::None))
        .filter(subscribe_grant::Column::Id.eq(grant))
        .exec(&state.db)
        .await?;
    Ok(())
}

// ---------- staff view ----------

/// A reminder as staff see it: what was (or will be) sent to whom, when and through which channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReminderView {
    pub id: i32,
    pub owner_id: i32,
    pub community_id: i32,
    pub stage: String,
    /// `pending`, `sending`, `sent` (a channel accepted it), `task` (handed to staff), `skipped`
    /// (a courtesy reminder with no channel), `suppressed` or `failed`.
    pub status: String,
    pub not_before: DateTime<Utc>,
    pub attempts: i32,
    pub channel: Option<String>,
    pub bill_ids: Vec<i32>,
    pub amount: String,
    pub content: Option<String>,
    pub provider_answer: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<reminder::Model> for ReminderView {
    fn from(r: reminder::Model) -> Self {
        ReminderView {
            id: r.id,
            owner_id: r.owner_id,
            community_id: r.community_id,
            stage: r.stage,
            status: r.status.to_string(),
            not_before: r.not_before,
            attempts: r.attempts,
            channel: r.channel,
            bill_ids: serde_json::from_str(&r.bill_ids).unwrap_or_default(),
            amount: Fen(r.amount_fen).to_yuan_string(),
            content: r.content,
            provider_answer: r.provider_answer,
            sent_at: r.sent_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ReminderQuery {
    pub community_id: i32,
    #[param(pattern = r#"^(pre_due|overdue_friendly|overdue_formal|final_notice)$"#)]
    pub stage: Option<String>,
    #[param(pattern = r#"^(pending|sending|sent|task|skipped|suppressed|failed)$"#)]
    pub status: Option<String>,
    pub owner_id: Option<i32>,
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

/// `GET /staff/reminders`: a community's reminders, newest first.
pub async fn list(
    state: &AppState,
    ctx: &StaffCtx,
    q: ReminderQuery,
) -> ApiResult<crate::services::setup::Page<ReminderView>> {
    ctx.require(Action::ReadSetup)?;
    ctx.require_community(q.community_id)?;
    let mut find = reminder::Entity::find().filter(reminder::Column::CommunityId.eq(q.community_id));
    if let Some(s) = &q.stage {
        let stage = Stage::parse(s).ok_or_else(|| ApiError::field("stage", "未知的提醒阶段"))?;
        find = find.filter(reminder::Column::Stage.eq(stage.as_str()));
    }
    if let Some(s) = &q.status {
        let status = states::parse::<ReminderStatus>(s).ok_or_else(|| ApiError::field("status", "未知的状态"))?;
        find = find.filter(reminder::Column::Status.eq(status));
    }
    if let Some(o) = q.owner_id {
        find = find.filter(reminder::Column::OwnerId.eq(o));
    }
    let page = crate::services::setup::PageQuery {
        page: q.page,
        per_page: q.per_page,
    };
    let (rows, total, page_no, per_page) =
        crate::services::setup::paginate(state, find.order_by_desc(reminder::Column::Id), &page).await?;
    Ok(crate::services::setup::Page {
        items: rows.into_iter().map(ReminderView::from).collect(),
        total,
        page: page_no,
        per_page,
    })
}
