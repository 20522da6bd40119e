//! Staff follow-up tasks (calls, visits, printed notices) and the contacts that complete them; a
//! delivered formal notice restarts limitation for the bills it names.
use crate::domain::role::Action;
use crate::domain::suppression::{self, Effect};
use crate::domain::text;
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::services::access::staff::StaffCtx;
use crate::services::collection::context;
use crate::services::collection::evidence::{self, NewEvidence};
use crate::services::collection::holds::named_unit;
use crate::services::collection::suppressed;
use crate::services::setup::{page_of, Page, PageQuery};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::{bill, reminder, staff_task};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskView {
    pub id: i32,
    pub community_id: i32,
    pub unit_id: i32,
    pub kind: String,
    pub stage: Option<String>,
    pub status: String,
    pub reminder_id: Option<i32>,
    pub outcome: Option<String>,
    pub delivery: Option<String>,
    pub proof_url: Option<String>,
    pub mail_no: Option<String>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The printed notice a printed-notice task delivers.
    pub notice_id: Option<i32>,
    /// True while a hold covers the task's unit or bills: follow-up waits (it resumes when the
    /// hold ends).
    pub suspended: bool,
    /// The unit's building and code, e.g. `A A-1-101` (in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The unit's complaints and disputes still being worked on: answer them before asking for
    /// money (in lists).
    pub open_tickets: Vec<context::OpenTicket>,
}

impl From<staff_task::Model> for TaskView {
    fn from(t: staff_task::Model) -> Self {
        TaskView {
            id: t.id,
            community_id: t.community_id,
            unit_id: t.unit_id,
            kind: t.kind,
            stage: t.stage,
            status: t.status,
            reminder_id: t.reminder_id,
            outcome: t.outcome,
            delivery: t.delivery,
            proof_url: t.proof_url,
            mail_no: t.mail_no,
            created_at: t.created_at,
            completed_at: t.completed_at,
            notice_id: t.notice_id,
            suspended: false,
            unit: None,
            open_tickets: Vec::new(),
        }
    }
}

/// The open tasks a suppression clause holds now (on their unit, or any bill their reminder named),
/// in three queries whatever the number of tasks.
async fn held_tasks(state: &AppState, tasks: &[staff_task::Model]) -> ApiResult<std::collections::HashSet<i32>> {
    let open: Vec<&staff_task::Model> = tasks.iter().filter(|t| t.status == "open").collect();
    if open.is_empty() {
        return Ok(Default::default());
    }
    let reminder_ids: Vec<i32> = open.iter().filter_map(|t| t.reminder_id).collect();
    let bills_of: std::collections::HashMap<i32, Vec<i32>> = reminder::Entity::find()
        .filter(reminder::Column::Id.is_in(reminder_ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| (r.id, serde_json::from_str(&r.bill_ids).unwrap_or_default()))
        .collect();
    let named: Vec<i32> = bills_of.values().flatten().copied().collect();
    let bills: std::collections::HashMap<i32, suppression::Bill> = bill::Entity::find()
        .filter(bill::Column::Id.is_in(named))
        .all(&state.db)
        .await?
        .iter()
        .map(|b| (b.id, suppressed::bill_of(b)))
        .collect();
    let holds = suppressed::holds_on(&state.db, open.iter().map(|t| t.unit_id).collect()).await?;
    let disputed = suppressed::disputed_on(&state.db, open.iter().map(|t| t.unit_id).collect()).await?;
    let debiting = suppressed::debiting_on(&state.db, open.iter().map(|t| t.unit_id).collect()).await?;
    let planned = suppressed::planned_on(&state.db, open.iter().map(|t| t.unit_id).collect()).await?;
    let relieved = suppressed::relieved_on(&state.db, open.iter().map(|t| t.unit_id).collect()).await?;
    let mut held = std::collections::HashSet::new();
    for t in open {
        let tz = state.community_tz(t.community_id).await?;
        let facts = suppression::Facts {
            today: state.today_in(tz),
            holds: &holds,
            disputed: &disputed,
            debiting: &debiting,
            planned: &planned,
            relieved: &relieved,
        };
        let named: Vec<suppression::Bill> = t
            .reminder_id
            .and_then(|r| bills_of.get(&r))
            .map(|ids| ids.iter().filter_map(|id| bills.get(id).copied()).collect())
            .unwrap_or_default();
        if suppression::stops_any(Effect::StaffTasks, t.unit_id, &named, &facts) {
            held.insert(t.id);
        }
    }
    Ok(held)
}

/// Whether a hold covers an open task now.
async fn task_held(state: &AppState, t: &staff_task::Model) -> ApiResult<bool> {
    Ok(held_tasks(state, std::slice::from_ref(t)).await?.contains(&t.id))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TaskQuery {
    pub community_id: Option<i32>,
    /// `open` (default: open and not held), `suspended` (open, but a hold covers it) or `done`.
    #[param(pattern = r#"^(open|suspended|done)$"#)]
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

/// The caller's tasks of a stored status (one community or all they see), oldest first, and which of
/// them a hold suspends.
async fn scoped_tasks(
    state: &AppState,
    ctx: &StaffCtx,
    community_id: Option<i32>,
    stored: &str,
) -> ApiResult<(Vec<staff_task::Model>, std::collections::HashSet<i32>)> {
    let mut find = staff_task::Entity::find().filter(staff_task::Column::Status.eq(stored));
    if let Some(c) = community_id {
        ctx.require_community(c)?;
        find = find.filter(staff_task::Column::CommunityId.eq(c));
    }
    let tasks: Vec<staff_task::Model> = find
        .order_by_asc(staff_task::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|t| ctx.sees(t.community_id))
        .collect();
    let held = held_tasks(state, &tasks).await?;
    Ok((tasks, held))
}

/// How many open tasks wait for someone and how many a hold suspends (the dashboard's figures),
/// from one read of the open tasks.
pub async fn open_counts(state: &AppState, ctx: &StaffCtx, community_id: Option<i32>) -> ApiResult<(u64, u64)> {
    ctx.require(Action::ReadSetup)?;
    let (tasks, held) = scoped_tasks(state, ctx, community_id, "open").await?;
    let suspended = held.len() as u64;
    Ok((tasks.len() as u64 - suspended, suspended))
}

/// `GET /staff/tasks`: the follow-up queue, oldest first. Tasks a hold covers are suspended: not in
/// the open queue until the hold ends.
pub async fn list_tasks(state: &AppState, ctx: &StaffCtx, q: TaskQuery) -> ApiResult<Page<TaskView>> {
    ctx.require(Action::ReadSetup)?;
    let page = PageQuery {
        page: q.page,
        per_page: q.per_page,
    };
    page.bounds()?;
    let status = q.status.unwrap_or_else(|| "open".into());
    if !matches!(status.as_str(), "open" | "suspended" | "done") {
        return Err(ApiError::field("status", "须为 open、suspended 或 done"));
    }
    let stored = if status == "done" { "done" } else { "open" };
    let (tasks, held) = scoped_tasks(state, ctx, q.community_id, stored).await?;
    let mut out = Vec::new();
    for t in tasks {
        let suspended = held.contains(&t.id);
        if stored == "open" && suspended != (status == "suspended") {
            continue;
        }
        out.push(TaskView {
            suspended,
            ..TaskView::from(t)
        });
    }
    let mut page = page_of(out, &page)?;
    // The page's units named as staff find them on the estate.
    let ids: Vec<i32> = page.items.iter().map(|t| t.unit_id).collect();
    let names: std::collections::HashMap<i32, String> = entity::unit::Entity::find()
        .filter(entity::unit::Column::Id.is_in(ids.clone()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.id, format!("{} {}", u.building, u.code)))
        .collect();
    let open = context::open_tickets(&state.db, &ids).await?;
    for t in &mut page.items {
        t.unit = names.get(&t.unit_id).cloned();
        t.open_tickets = open.iter().filter(|o| o.unit_id == t.unit_id).cloned().collect();
    }
    Ok(page)
}

/// `POST /staff/contacts`: a call, visit or printed-notice delivery, appended to evidence.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewContact {
    pub unit_id: i32,
    /// `call`, `visit` or `printed_notice`.
    #[schema(pattern = r#"^(call|visit|printed_notice)$"#)]
    pub kind: String,
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 500
    )]
    pub outcome: String,
    pub task_id: Option<i32>,
    /// Photo of an in-person delivery.
    #[schema(pattern = r#"^https?://\S+$"#, max_length = 500)]
    pub proof_url: Option<String>,
    /// For a printed notice: `in_person` (with `proof_url`) or `registered_mail` (with `mail_no`).
    #[schema(pattern = r#"^(in_person|registered_mail)$"#)]
    pub delivery: Option<String>,
    #[schema(pattern = r#"\S"#, min_length = 1, max_length = 64)]
    pub mail_no: Option<String>,
    /// Photos the caller uploaded (`POST /staff/uploads`), e.g. of a notice delivered in person;
    /// the evidence record cites each one's SHA-256.
    #[schema(max_items = 9)]
    pub upload_ids: Option<Vec<i32>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactRecorded {
    pub evidence_seq: i32,
    pub task: Option<TaskView>,
}

pub async fn record_contact(state: &AppState, ctx: &StaffCtx, body: NewContact) -> ApiResult<ContactRecorded> {
    ctx.require(Action::FollowUp)?;
    let mut errors = FieldErrors::new();
    if !matches!(body.kind.as_str(), "call" | "visit" | "printed_notice") {
        errors.insert("kind".into(), "须为 call、visit 或 printed_notice".into());
    }
    let outcome = text::name(&body.outcome, 500)
        .map_err(|m| errors.insert("outcome".into(), m))
        .ok();
    let uploads = body.upload_ids.clone().unwrap_or_default();
    if uploads.len() > 9 {
        errors.insert("upload_ids".into(), "最多9张图片".into());
    }
    let url_ok = |u: &str| (u.starts_with("https://") || u.starts_with("http://")) && u.len() <= 500;
    if let Some(u) = &body.proof_url {
        if !url_ok(u) {
            errors.insert("proof_url".into(), "须为 http(s) 地址".into());
        }
    }
    if body.kind == "printed_notice" {
        match body.delivery.as_deref() {
            Some("in_person") if body.proof_url.is_none() && uploads.is_empty() => {
                errors.insert("proof_url".into(), "当面送达须附照片".into());
            }
            Some("registered_mail")
                if body
                    .mail_no
                    .as_deref()
                    .is_none_or(|m| m.trim().is_empty() || m.len() > 64) =>
            {
                errors.insert("mail_no".into(), "挂号信须填写邮件号".into());
            }
            Some("in_person" | "registered_mail") => {}
            _ => {
                errors.insert("delivery".into(), "须为 in_person 或 registered_mail".into());
            }
        }
    }
    ApiError::check(errors)?;
    let outcome = outcome.unwrap_or_default();
    let u = named_unit(state, ctx, body.unit_id).await?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let task = match body.task_id {
        Some(id) => {
            let t = staff_task::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .filter(|t| t.unit_id == u.id)
                .ok_or_else(|| ApiError::field("task_id", "任务不存在"))?;
            if t.kind != body.kind {
                return Err(ApiError::field("task_id", "任务类型与联系方式不符"));
            }
            if task_held(state, &t).await? {
                return Err(ApiError::Conflict(
                    "TASK_SUSPENDED",
                    "该任务所涉账单处于暂缓催缴期间，暂停跟进".into(),
                ));
            }
            let done = staff_task::Entity::update_many()
                .col_expr(staff_task::Column::Status, Expr::value("done"))
                .col_expr(staff_task::Column::Outcome, Expr::value(outcome.clone()))
                .col_expr(staff_task::Column::Delivery, Expr::value(body.delivery.clone()))
                .col_expr(staff_task::Column::ProofUrl, Expr::value(body.proof_url.clone()))
                .col_expr(staff_task::Column::MailNo, Expr::value(body.mail_no.clone()))
                .col_expr(staff_task::Column::CompletedBy, Expr::value(ctx.id))
                .col_expr(staff_task::Column::CompletedAt, Expr::value(now))
                .filter(staff_task::Column::Id.eq(t.id))
                .filter(staff_task::Column::Status.eq("open"))
                .exec(&txn)
                .await?;
            if done.rows_affected != 1 {
                return Err(ApiError::Conflict("TASK_DONE", "该任务已完成".into()));
            }
            staff_task::Entity::find_by_id(t.id).one(&txn).await?
        }
        None => None,
    };
    // A formal notice delivered on paper names its bills and amount: it interrupts their
    // limitation period (art. 195), and the evidence keeps the letter exactly as printed.
    let mut restarted = Vec::new();
    let mut printed = None;
    if let Some(t) = &task {
        let formal = t
            .stage
            .as_deref()
            .and_then(crate::domain::reminders::Stage::parse)
            .is_some_and(|s| s.is_formal());
        let notice = match t.notice_id {
            Some(id) => entity::notice::Entity::find_by_id(id).one(&txn).await?,
            None => None,
        };
        if let (true, "printed_notice", Some(n)) = (formal, t.kind.as_str(), notice) {
            let snap = crate::services::collection::notices::snapshot_of(&n)?;
            restarted = snap.rows.iter().map(|r| r.bill_id).collect();
            let tz = state.community_tz_on(&txn, u.community_id).await?;
            crate::services::billing::ledger::restart_limitation(&txn, &restarted, now.with_timezone(&tz).date_naive())
                .await?;
            printed = Some(
                serde_json::json!({"number": n.number, "letter": snap.letter, "rows": snap.rows, "due": snap.due}),
            );
        }
    }
    // The photos are the record's: they are attached to the unit's evidence and cited by hash.
    let photos = crate::services::uploads::attach(
        &txn,
        &crate::services::uploads::Uploader::Staff(ctx.id),
        &uploads,
        crate::services::uploads::CONTACT,
        u.id,
        u.community_id,
        "upload_ids",
    )
    .await?;
    let mut content = serde_json::json!({
        "outcome": outcome,
        "task_id": body.task_id,
        "delivery": body.delivery,
        "proof_url": body.proof_url,
        "mail_no": body.mail_no,
        "notice": printed,
        "limitation_restarted_for": restarted,
    });
    if !photos.is_empty() {
        content["photos"] = serde_json::json!(photos);
    }
    let rec = NewEvidence {
        kind: match body.kind.as_str() {
            "call" => "call",
            "visit" => "visit",
            _ => "printed_notice",
        },
        stage: task.as_ref().and_then(|t| t.stage.clone()),
        channel: "staff".into(),
        content: content.to_string(),
        result: format!("by {}", ctx.actor()),
    };
    let evidence_seq = evidence::append(&txn, u.id, now, rec).await?;
    txn.commit().await?;
    Ok(ContactRecorded {
        evidence_seq,
        task: task.map(TaskView::from),
    })
}

/// The unit of a task the caller may see (to record its outcome against); 404 otherwise.
pub async fn task_unit(state: &AppState, ctx: &StaffCtx, task_id: i32) -> ApiResult<i32> {
    ctx.require(Action::ReadSetup)?;
    staff_task::Entity::find_by_id(task_id)
        .one(&state.db)
        .await?
        .filter(|t| ctx.sees(t.community_id))
        .map(|t| t.unit_id)
        .ok_or(ApiError::NotFound)
}
