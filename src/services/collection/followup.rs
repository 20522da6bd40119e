//! Collection follow-up around reminders: staff holds, staff tasks and the contacts that complete
//! them, owners' subscribe-message grants and reminder preferences.
use crate::domain::role::Action;
use crate::domain::suppression::{self, Effect};
use crate::domain::text;
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::services::access::staff::StaffCtx;
use crate::services::audit;
use crate::services::collection::evidence::{self, NewEvidence};
use crate::services::collection::suppressed;
use crate::services::setup::{page_of, Page, PageQuery};
use crate::state::AppState;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::{bill, collection_hold, owner, owner_account, reminder, staff_task, subscribe_grant, unit};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The unit a request body names: one outside the caller's scope is as unknown as a missing one,
/// and either is a field error (422), not a 404 of the resource.
async fn named_unit(state: &AppState, ctx: &StaffCtx, unit_id: i32) -> ApiResult<unit::Model> {
    match crate::services::setup::unit_in_scope(state, ctx, unit_id).await {
        Err(ApiError::NotFound) => Err(ApiError::field("unit_id", "房屋不存在")),
        other => other,
    }
}

// ---------- holds ----------

/// `POST /staff/holds`: either `bill_ids` or `unit_id`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewHold {
    #[schema(min_items = 1, max_items = 500)]
    pub bill_ids: Option<Vec<i32>>,
    pub unit_id: Option<i32>,
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 200
    )]
    pub reason: String,
    /// Last day of the hold (community date), inclusive.
    #[schema(pattern = r#"^(19[7-9][0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"#, format = Date)]
    pub until: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldView {
    pub id: i32,
    pub community_id: i32,
    pub unit_id: Option<i32>,
    pub bill_id: Option<i32>,
    pub reason: String,
    pub until: NaiveDate,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// When staff ended it before `until`, by whom and why.
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_by: Option<String>,
    pub end_reason: Option<String>,
}

impl From<collection_hold::Model> for HoldView {
    fn from(h: collection_hold::Model) -> Self {
        HoldView {
            id: h.id,
            community_id: h.community_id,
            unit_id: h.unit_id,
            bill_id: h.bill_id,
            reason: h.reason,
            until: h.until,
            created_by: h.created_by,
            created_at: h.created_at,
            ended_at: h.ended_at,
            ended_by: h.ended_by,
            end_reason: h.end_reason,
        }
    }
}

/// Holds bills (or a whole unit) out of reminders until a date; audited and kept as evidence.
pub async fn create_hold(state: &AppState, ctx: &StaffCtx, body: NewHold) -> ApiResult<Vec<HoldView>> {
    ctx.require(Action::ManageCollection)?;
    let mut errors = FieldErrors::new();
    let reason = text::name(&body.reason, 200)
        .map_err(|m| errors.insert("reason".into(), m))
        .ok();
    let until = crate::services::setup::parse_date("until", &body.until, &mut errors);
    let today = state.today();
    if let Some(u) = until {
        if u < today || u > today + Duration::days(366) {
            errors.insert("until".into(), "须在今天到一年之内".into());
        }
    }
    let targets = match (&body.bill_ids, body.unit_id) {
        (Some(ids), None) if !ids.is_empty() && ids.len() <= 500 => Some(Err(ids.clone())),
        (None, Some(u)) => Some(Ok(u)),
        _ => {
            errors.insert(
                "bill_ids".into(),
                "须给出 bill_ids（1 到 500 个）或 unit_id 之一".into(),
            );
            None
        }
    };
    ApiError::check(errors)?;
    let (Some(reason), Some(until), Some(targets)) = (reason, until, targets) else {
        return Err(ApiError::internal(anyhow::anyhow!("validated hold lacks a field")));
    };
    // (community, unit, bill) per hold row, every one in the staff member's scope.
    let rows: Vec<(i32, i32, Option<i32>)> = match targets {
        Ok(unit_id) => {
            let u = named_unit(state, ctx, unit_id).await?;
            vec![(u.community_id, u.id, None)]
        }
        Err(mut ids) => {
            ids.sort_unstable();
            ids.dedup();
            let found = bill::Entity::find()
                .filter(bill::Column::Id.is_in(ids.clone()))
                .all(&state.db)
                .await?;
            if found.len() != ids.len() || found.iter().any(|b| !ctx.sees(b.community_id)) {
                return Err(ApiError::field("bill_ids", "有账单不存在"));
            }
            found.iter().map(|b| (b.community_id, b.unit_id, Some(b.id))).collect()
        }
    };
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let mut out = Vec::new();
    // A unit-wide hold has no bill: it covers the unit's bills created later too.
    for (community_id, unit_id, bill_id) in rows {
        let h = collection_hold::ActiveModel {
            community_id: Set(community_id),
            unit_id: Set(Some(unit_id)),
            bill_id: Set(bill_id),
            reason: Set(reason.clone()),
            until: Set(until),
            created_by: Set(ctx.actor()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let detail = serde_json::json!({"unit_id": unit_id, "bill_id": bill_id, "until": until, "reason": reason});
        audit::record(
            &txn,
            &ctx.actor(),
            "hold.create",
            "collection_hold",
            h.id,
            detail.clone(),
            now,
        )
        .await?;
        let rec = NewEvidence {
            kind: "hold",
            stage: None,
            channel: "staff".into(),
            content: detail.to_string(),
            result: format!("by {}", ctx.actor()),
        };
        evidence::append(&txn, unit_id, now, rec).await?;
        out.push(HoldView::from(h));
    }
    txn.commit().await?;
    Ok(out)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct HoldQuery {
    pub community_id: Option<i32>,
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

/// `GET /staff/holds`: holds in force today, a page at a time.
pub async fn list_holds(state: &AppState, ctx: &StaffCtx, q: HoldQuery) -> ApiResult<Page<HoldView>> {
    let page = PageQuery {
        page: q.page,
        per_page: q.per_page,
    };
    page.bounds()?;
    ctx.require(Action::ReadSetup)?;
    let mut find = collection_hold::Entity::find()
        .filter(collection_hold::Column::Until.gte(state.today()))
        .filter(collection_hold::Column::EndedAt.is_null());
    if let Some(c) = q.community_id {
        ctx.require_community(c)?;
        find = find.filter(collection_hold::Column::CommunityId.eq(c));
    }
    let holds = find
        .order_by_asc(collection_hold::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|h| ctx.sees(h.community_id))
        .map(HoldView::from)
        .collect();
    page_of(holds, &page)
}

/// `DELETE /staff/holds/{id}` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EndHold {
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 200
    )]
    pub reason: String,
}

/// Ends a hold before its date (reason required; audited, appended to evidence): reminders and the
/// follow-up tasks it suspended resume. Ending it twice is 409.
pub async fn end_hold(state: &AppState, ctx: &StaffCtx, id: i32, body: EndHold) -> ApiResult<HoldView> {
    ctx.require(Action::ManageCollection)?;
    let reason = text::name(&body.reason, 200).map_err(|m| ApiError::field("reason", m))?;
    let h = collection_hold::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|h| ctx.sees(h.community_id))
        .ok_or(ApiError::NotFound)?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let ended = collection_hold::Entity::update_many()
        .col_expr(collection_hold::Column::EndedAt, Expr::value(now))
        .col_expr(collection_hold::Column::EndedBy, Expr::value(ctx.actor()))
        .col_expr(collection_hold::Column::EndReason, Expr::value(reason.clone()))
        .filter(collection_hold::Column::Id.eq(id))
        .filter(collection_hold::Column::EndedAt.is_null())
        .exec(&txn)
        .await?;
    if ended.rows_affected != 1 {
        return Err(ApiError::Conflict("HOLD_ENDED", "该暂缓已结束".into()));
    }
    let detail = serde_json::json!({"hold_id": id, "unit_id": h.unit_id, "bill_id": h.bill_id, "reason": reason});
    audit::record(
        &txn,
        &ctx.actor(),
        "hold.end",
        "collection_hold",
        id,
        detail.clone(),
        now,
    )
    .await?;
    if let Some(unit_id) = h.unit_id {
        let rec = NewEvidence {
            kind: "hold_end",
            stage: None,
            channel: "staff".into(),
            content: detail.to_string(),
            result: format!("by {}", ctx.actor()),
        };
        evidence::append(&txn, unit_id, now, rec).await?;
    }
    txn.commit().await?;
    let h = collection_hold::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HoldView::from(h))
}

// ---------- staff tasks and contacts ----------

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
    let mut held = std::collections::HashSet::new();
    for t in open {
        let tz = state.community_tz(t.community_id).await?;
        let facts = suppression::Facts {
            today: state.today_in(tz),
            holds: &holds,
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
    let mut find = staff_task::Entity::find().filter(staff_task::Column::Status.eq(stored));
    if let Some(c) = q.community_id {
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
    page_of(out, &page)
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
    let url_ok = |u: &str| (u.starts_with("https://") || u.starts_with("http://")) && u.len() <= 500;
    if let Some(u) = &body.proof_url {
        if !url_ok(u) {
            errors.insert("proof_url".into(), "须为 http(s) 地址".into());
        }
    }
    if body.kind == "printed_notice" {
        match body.delivery.as_deref() {
            Some("in_person") if body.proof_url.is_none() => {
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
    let content = serde_json::json!({
        "outcome": outcome,
        "task_id": body.task_id,
        "delivery": body.delivery,
        "proof_url": body.proof_url,
        "mail_no": body.mail_no,
        "notice": printed,
        "limitation_restarted_for": restarted,
    });
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

// ---------- owners: grants and preferences ----------

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewSubscriptions {
    #[schema(min_items = 1, max_items = 20)]
    pub template_ids: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionsRecorded {
    pub granted: usize,
}

/// `POST /me/subscriptions`: each accepted template allows one message.
pub async fn record_subscriptions(
    state: &AppState,
    account_id: i32,
    body: NewSubscriptions,
) -> ApiResult<SubscriptionsRecorded> {
    if body.template_ids.is_empty() || body.template_ids.len() > 20 {
        return Err(ApiError::field("template_ids", "须为 1 到 20 个模板"));
    }
    if body
        .template_ids
        .iter()
        .any(|t| t.trim().is_empty() || t.len() > 128 || t.chars().any(char::is_whitespace))
    {
        return Err(ApiError::field("template_ids", "模板编号无效"));
    }
    let now = state.clock.now();
    let rows = body.template_ids.iter().map(|t| subscribe_grant::ActiveModel {
        account_id: Set(account_id),
        template_id: Set(t.clone()),
        granted_at: Set(now),
        ..Default::default()
    });
    subscribe_grant::Entity::insert_many(rows)
        .exec_without_returning(&state.db)
        .await?;
    Ok(SubscriptionsRecorded {
        granted: body.template_ids.len(),
    })
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ReminderPreferences {
    /// False: no friendly reminders (pre-due, friendly overdue). Formal notices still go out.
    pub friendly: bool,
}

/// `PUT /me/reminder-preferences`: for every owner record the account's verified phone reaches.
pub async fn set_preferences(
    state: &AppState,
    account_id: i32,
    p: ReminderPreferences,
) -> ApiResult<ReminderPreferences> {
    let account = owner_account::Entity::find_by_id(account_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let Some(index) = account.phone_index else {
        return Err(ApiError::Conflict("PHONE_NOT_BOUND", "请先绑定手机号".into()));
    };
    owner::Entity::update_many()
        .col_expr(owner::Column::FriendlyOptOut, Expr::value(!p.friendly))
        .filter(owner::Column::PhoneIndex.eq(index))
        .exec(&state.db)
        .await?;
    Ok(p)
}
