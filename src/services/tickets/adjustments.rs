//! Bill corrections a dispute ends with. Service staff run the conversation but do not move money:
//! they ask (`request`), finance decides (`approve` / `reject`, never on their own request), and an
//! approval is applied by the ledger in the same transaction, with the ticket in its reason. While a
//! request waits the ticket cannot be resolved, so the owner is never told of a correction that has
//! not happened, and the dispute keeps its bills out of collection meanwhile.
use super::events::{self, Stage};
use super::owner::add_message;
use super::staff::workable;
use super::{choice, line, not_now, Author};
use crate::domain::money::Fen;
use crate::domain::role::{Action, Role};
use crate::domain::tickets::{self, AdjustmentKind, AdjustmentStatus, TicketCategory};
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::services::access::staff::{actor_names, StaffCtx};
use crate::services::audit;
use crate::services::billing::bills::{with_amounts, BillView};
use crate::services::billing::ledger::{By, Correction, Ledger};
use crate::services::inbox::{self, Item, To};
use crate::services::setup::{Page, PageQuery};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::{bill, ticket, ticket_adjustment as adj};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, SqlErr,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `POST /staff/tickets/{id}/adjustments`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdjustment {
    /// One of the bills the dispute names.
    pub bill_id: i32,
    /// `waive_late_fee`, `adjust` (a new principal) or `cancel`.
    #[schema(pattern = r"^(waive_late_fee|adjust|cancel)$")]
    pub kind: String,
    /// `waive_late_fee` only: the late fee to waive; absent = all that is outstanding now.
    #[schema(pattern = r#"^(10000000(\.0{1,2})?|[0-9]{1,7}(\.[0-9]{1,2})?)$"#)]
    pub amount: Option<String>,
    /// `adjust` only: the corrected principal.
    #[schema(pattern = r#"^(10000000(\.0{1,2})?|[0-9]{1,7}(\.[0-9]{1,2})?)$"#)]
    pub principal: Option<String>,
    /// Why, as the ledger entry will say it.
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 200
    )]
    pub reason: String,
}

/// `POST /staff/adjustments/{id}/approve`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// Anything finance wants the requester to read.
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 200
    )]
    pub note: Option<String>,
}

/// `POST /staff/adjustments/{id}/reject`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Refusal {
    /// Why (the requester reads it).
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 200
    )]
    pub note: String,
}

/// `GET /staff/adjustments`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct AdjustmentQuery {
    pub community_id: Option<i32>,
    /// Without it, the requests waiting for a decision.
    #[param(pattern = r"^(pending|approved|rejected)$")]
    pub status: Option<String>,
    pub ticket_id: Option<i32>,
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

/// A requested correction, with the bill as it stands now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdjustmentView {
    pub id: i32,
    pub ticket_id: i32,
    pub ticket_title: String,
    pub community_id: i32,
    pub unit_id: i32,
    pub bill_id: i32,
    /// The bill today (amount due, late fee, status).
    pub bill: Option<BillView>,
    #[schema(value_type = String)]
    pub kind: AdjustmentKind,
    /// What it does, e.g. `减免滞纳金¥12.00`.
    pub summary: String,
    /// The late fee to waive, or the new principal.
    pub amount: Option<String>,
    /// The bill's principal when asked.
    pub principal_before: String,
    pub reason: String,
    #[schema(value_type = String)]
    pub status: AdjustmentStatus,
    pub status_label: String,
    pub requested_by: i32,
    pub requested_by_name: String,
    pub requested_at: DateTime<Utc>,
    pub decided_by_name: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
}

fn money(field: &str, raw: &Option<String>, errors: &mut FieldErrors) -> Option<i64> {
    raw.as_deref().and_then(|s| match Fen::parse(s) {
        Ok(f) => Some(f.0),
        Err(m) => {
            errors.insert(field.into(), m.into());
            None
        }
    })
}

/// Service staff ask finance for a correction of one of a dispute's bills. The request fixes the
/// amount (a waiver of "all" is the late fee outstanding now) and the principal it applies to.
pub async fn request(
    state: &AppState,
    ctx: &StaffCtx,
    ticket_id: i32,
    body: NewAdjustment,
) -> ApiResult<super::TicketView> {
    let mut errors = FieldErrors::new();
    let kind = choice::<AdjustmentKind>("kind", &body.kind, "调整类型无效", &mut errors);
    let why = line("reason", &body.reason, 200, &mut errors);
    let amount = money("amount", &body.amount, &mut errors);
    let principal = money("principal", &body.principal, &mut errors);
    if body.amount.is_some() && kind != Some(AdjustmentKind::WaiveLateFee) {
        errors.insert("amount".into(), "仅减免滞纳金时填写".into());
    }
    if kind == Some(AdjustmentKind::Adjust) && body.principal.is_none() {
        errors.insert("principal".into(), "请填写调整后的本金".into());
    } else if body.principal.is_some() && kind != Some(AdjustmentKind::Adjust) {
        errors.insert("principal".into(), "仅调整本金时填写".into());
    }
    ApiError::check(errors)?;
    let kind = kind.ok_or(ApiError::NotFound)?;
    let t = workable(state, ctx, ticket_id).await?;
    if t.category != TicketCategory::Dispute {
        return Err(ApiError::Conflict(
            "NOT_A_DISPUTE",
            "只有账单争议工单可以申请调整账单".into(),
        ));
    }
    if !tickets::is_active(t.status) {
        return Err(not_now(&t));
    }
    let named = super::bills_of(&state.db, &[t.id])
        .await?
        .remove(&t.id)
        .unwrap_or_default();
    if !named.contains(&body.bill_id) {
        return Err(ApiError::field("bill_id", "只能调整该争议工单所列的账单"));
    }
    let b = bill::Entity::find_by_id(body.bill_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let (b, _, a) = with_amounts(state, vec![b]).await?.pop().ok_or(ApiError::NotFound)?;
    crate::services::billing::ledger::not_in_a_plan(&b)?;
    if b.status != entity::states::BillStatus::Unpaid {
        return Err(ApiError::Conflict(
            "BILL_NOT_OPEN",
            "该账单不是待缴状态，不能调整".into(),
        ));
    }
    let amount_fen = match kind {
        AdjustmentKind::WaiveLateFee => {
            let waive = amount.unwrap_or(a.outstanding_late_fee);
            if waive <= 0 || waive > a.outstanding_late_fee {
                return Err(ApiError::field(
                    "amount",
                    format!(
                        "减免金额应大于0且不超过未缴滞纳金{}",
                        Fen(a.outstanding_late_fee).to_yuan_string()
                    ),
                ));
            }
            Some(waive)
        }
        AdjustmentKind::Adjust => {
            let new = principal.unwrap_or_default();
            if new <= 0 || new < b.paid_principal_fen || new == b.principal_fen {
                return Err(ApiError::field(
                    "principal",
                    "调整后本金应大于0、不低于已缴本金且不同于现有本金",
                ));
            }
            Some(new)
        }
        AdjustmentKind::Cancel => {
            if b.paid_principal_fen > 0 || b.late_fee_paid_fen > 0 {
                return Err(ApiError::Conflict(
                    "BILL_HAS_PAYMENTS",
                    "已有缴费的账单不能撤销，请申请调整本金或办理退款".into(),
                ));
            }
            None
        }
    };
    let summary = tickets::describe_adjustment(kind, amount_fen, b.principal_fen);
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    // The ticket's row orders this against a resolution: whichever comes second sees the other.
    let t = ticket::Entity::find_by_id(t.id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !tickets::is_active(t.status) {
        return Err(not_now(&t));
    }
    let row = adj::ActiveModel {
        ticket_id: Set(t.id),
        community_id: Set(t.community_id),
        unit_id: Set(t.unit_id),
        bill_id: Set(b.id),
        kind: Set(kind),
        amount_fen: Set(amount_fen),
        principal_before_fen: Set(b.principal_fen),
        reason: Set(why.clone()),
        status: Set(AdjustmentStatus::Pending),
        requested_by: Set(ctx.id),
        requested_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => already_pending(),
        _ => e.into(),
    })?;
    add_message(
        &txn,
        t.id,
        Author::System,
        &format!(
            "{} 申请财务审批：账单{} {}（原因：{}）",
            ctx.username, b.id, summary, why
        ),
        true,
        &[],
        now,
    )
    .await?;
    inbox::post(
        &txn,
        To::Community {
            community_id: t.community_id,
            roles: &[Role::Finance],
        },
        Item {
            kind: "ticket_adjustment",
            title: format!("账单调整待审批：工单{}", t.id),
            body: format!("账单{} {}（原因：{}）", b.id, summary, why),
            link: Some(format!("/console/adjustments?ticket_id={}", t.id)),
            event_key: format!("ticket_adjustment:{}:requested", row.id),
        },
        now,
    )
    .await?;
    audit::record(
        &txn,
        &ctx.actor(),
        "ticket.adjustment.request",
        "ticket",
        t.id,
        serde_json::json!({"adjustment_id": row.id, "bill_id": b.id, "kind": kind, "amount_fen": amount_fen, "reason": why}),
        now,
    )
    .await?;
    txn.commit().await?;
    super::staff::get(state, ctx, t.id).await
}

fn already_pending() -> ApiError {
    ApiError::Conflict("ADJUSTMENT_PENDING", "该账单已有待财务审批的调整申请".into())
}

/// 409 while a request of the ticket waits for finance (resolving or merging it would tell the
/// owner, or fold away, a correction that has not been decided).
pub(crate) async fn none_pending<C: ConnectionTrait>(db: &C, ticket_id: i32) -> ApiResult<()> {
    let n = adj::Entity::find()
        .filter(adj::Column::TicketId.eq(ticket_id))
        .filter(adj::Column::Status.eq(AdjustmentStatus::Pending))
        .count(db)
        .await?;
    if n > 0 {
        return Err(ApiError::Conflict(
            "ADJUSTMENT_PENDING",
            "该工单有待财务审批的账单调整，审批后才能结案".into(),
        ));
    }
    Ok(())
}

/// Views of requests, with names and each bill as it stands.
async fn views(state: &AppState, rows: Vec<adj::Model>) -> ApiResult<Vec<AdjustmentView>> {
    let bill_ids: Vec<i32> = rows.iter().map(|r| r.bill_id).collect();
    let bills = bill::Entity::find()
        .filter(bill::Column::Id.is_in(bill_ids))
        .all(&state.db)
        .await?;
    let by_bill: std::collections::HashMap<i32, BillView> = with_amounts(state, bills)
        .await?
        .into_iter()
        .map(|(b, v, _)| (b.id, v))
        .collect();
    let ticket_ids: Vec<i32> = rows.iter().map(|r| r.ticket_id).collect();
    let titles: std::collections::HashMap<i32, String> = ticket::Entity::find()
        .filter(ticket::Column::Id.is_in(ticket_ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.title))
        .collect();
    let actors: Vec<String> = rows
        .iter()
        .flat_map(|r| std::iter::once(r.requested_by).chain(r.decided_by))
        .map(|id| format!("staff:{id}"))
        .collect();
    let refs: Vec<&str> = actors.iter().map(String::as_str).collect();
    let names = actor_names(state, &refs).await?;
    let name = |id: i32| {
        names
            .get(&format!("staff:{id}"))
            .cloned()
            .unwrap_or_else(|| format!("员工{id}"))
    };
    Ok(rows
        .into_iter()
        .map(|r| AdjustmentView {
            id: r.id,
            ticket_id: r.ticket_id,
            ticket_title: titles.get(&r.ticket_id).cloned().unwrap_or_default(),
            community_id: r.community_id,
            unit_id: r.unit_id,
            bill_id: r.bill_id,
            bill: by_bill.get(&r.bill_id).cloned(),
            kind: r.kind,
            summary: tickets::describe_adjustment(r.kind, r.amount_fen, r.principal_before_fen),
            amount: r.amount_fen.map(|a| Fen(a).to_yuan_string()),
            principal_before: Fen(r.principal_before_fen).to_yuan_string(),
            reason: r.reason,
            status: r.status,
            status_label: tickets::adjustment_status_label(r.status).into(),
            requested_by: r.requested_by,
            requested_by_name: name(r.requested_by),
            requested_at: r.requested_at,
            decided_by_name: r.decided_by.map(name),
            decided_at: r.decided_at,
            decision_note: r.decision_note,
        })
        .collect())
}

/// A ticket's requests, oldest first (the staff's ticket view).
pub(crate) async fn of_ticket(state: &AppState, ticket_id: i32) -> ApiResult<Vec<AdjustmentView>> {
    let rows = adj::Entity::find()
        .filter(adj::Column::TicketId.eq(ticket_id))
        .order_by_asc(adj::Column::Id)
        .all(&state.db)
        .await?;
    views(state, rows).await
}

/// `GET /staff/adjustments`: finance's queue, oldest request first while pending.
pub async fn queue(state: &AppState, ctx: &StaffCtx, q: AdjustmentQuery) -> ApiResult<Page<AdjustmentView>> {
    ctx.require(Action::ManageBilling)?;
    let mut errors = FieldErrors::new();
    let status = match q.status.as_deref() {
        None => Some(AdjustmentStatus::Pending),
        Some(s) => choice::<AdjustmentStatus>("status", s, "状态无效", &mut errors),
    };
    let page = PageQuery {
        page: q.page,
        per_page: q.per_page,
    };
    page.bounds()?;
    ApiError::check(errors)?;
    if let Some(c) = q.community_id {
        ctx.require_community(c)?;
    }
    let mut query = adj::Entity::find();
    if !ctx.role.sees_all_communities() {
        query = query.filter(adj::Column::CommunityId.is_in(ctx.communities.clone()));
    }
    if let Some(c) = q.community_id {
        query = query.filter(adj::Column::CommunityId.eq(c));
    }
    if let Some(t) = q.ticket_id {
        query = query.filter(adj::Column::TicketId.eq(t));
    }
    let status = status.unwrap_or(AdjustmentStatus::Pending);
    query = query.filter(adj::Column::Status.eq(status));
    query = if status == AdjustmentStatus::Pending {
        query.order_by_asc(adj::Column::Id)
    } else {
        query.order_by_desc(adj::Column::Id)
    };
    let (rows, total, page_no, per_page) = crate::services::setup::paginate(state, query, &page).await?;
    Ok(Page {
        items: views(state, rows).await?,
        total,
        page: page_no,
        per_page,
    })
}

/// A request finance may decide: in their communities (404 otherwise), still pending, not their own.
async fn decidable(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<adj::Model> {
    ctx.require(Action::ManageBilling)?;
    let r = adj::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx.require_community(r.community_id)?;
    if r.status != AdjustmentStatus::Pending {
        return Err(decided());
    }
    if r.requested_by == ctx.id {
        return Err(ApiError::Conflict("OWN_REQUEST", "不能审批自己提交的调整申请".into()));
    }
    Ok(r)
}

fn decided() -> ApiError {
    ApiError::Conflict("ADJUSTMENT_DECIDED", "该申请已处理".into())
}

/// Marks a pending request decided, inside the caller's transaction; 409 if someone decided first.
async fn settle<C: ConnectionTrait>(
    db: &C,
    r: &adj::Model,
    to: AdjustmentStatus,
    ctx: &StaffCtx,
    note: Option<String>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let done = adj::Entity::update_many()
        .col_expr(adj::Column::Status, Expr::value(to))
        .col_expr(adj::Column::DecidedBy, Expr::value(ctx.id))
        .col_expr(adj::Column::DecidedAt, Expr::value(now))
        .col_expr(adj::Column::DecisionNote, Expr::value(note))
        .filter(adj::Column::Id.eq(r.id))
        .filter(adj::Column::Status.eq(AdjustmentStatus::Pending))
        .exec(db)
        .await?;
    if done.rows_affected != 1 {
        return Err(decided());
    }
    Ok(())
}

fn note_of(raw: Option<&str>) -> ApiResult<Option<String>> {
    let mut errors = FieldErrors::new();
    let note = raw.map(|n| line("note", n, 200, &mut errors));
    ApiError::check(errors)?;
    Ok(note)
}

/// Finance approves: the ledger applies the correction to the bill as it was when asked, with the
/// ticket in its reason; the owner's thread and the unit's evidence say what changed. Exactly once
/// however many approve at once.
pub async fn approve(state: &AppState, ctx: &StaffCtx, id: i32, body: Approval) -> ApiResult<AdjustmentView> {
    let note = note_of(body.note.as_deref())?;
    let r = decidable(state, ctx, id).await?;
    let now = state.clock.now();
    let mut ledger = Ledger::begin(state).await?;
    settle(ledger.txn(), &r, AdjustmentStatus::Approved, ctx, note.clone(), now).await?;
    let b = ledger.lock_bill(r.bill_id).await?.ok_or(ApiError::NotFound)?;
    crate::services::billing::ledger::not_in_a_plan(&b)?;
    if b.principal_fen != r.principal_before_fen {
        return Err(ApiError::Conflict(
            "BILL_CHANGED",
            "账单本金在申请后已变动，请驳回后重新申请".into(),
        ));
    }
    let correction = match r.kind {
        AdjustmentKind::WaiveLateFee => Correction::WaiveLateFee(r.amount_fen),
        AdjustmentKind::Adjust => Correction::Adjust(r.amount_fen.unwrap_or_default()),
        AdjustmentKind::Cancel => Correction::Cancel,
    };
    let actor = ctx.actor();
    let why = format!("工单{}争议处理：{}", r.ticket_id, r.reason);
    let e = ledger
        .correct(
            &b,
            correction,
            By {
                actor: &actor,
                reason: &why,
                at: now,
            },
        )
        .await?;
    adj::Entity::update_many()
        .col_expr(adj::Column::EntryId, Expr::value(e.id))
        .filter(adj::Column::Id.eq(r.id))
        .exec(ledger.txn())
        .await?;
    let t = ticket::Entity::find_by_id(r.ticket_id)
        .one(ledger.txn())
        .await?
        .ok_or(ApiError::NotFound)?;
    let summary = tickets::describe_adjustment(r.kind, r.amount_fen, r.principal_before_fen);
    add_message(
        ledger.txn(),
        t.id,
        Author::System,
        &format!("经财务审核，账单{}{}已生效。", r.bill_id, summary),
        false,
        &[],
        now,
    )
    .await?;
    let mut fields = serde_json::Map::new();
    fields.insert("bill_id".into(), r.bill_id.into());
    fields.insert("adjustment".into(), summary.clone().into());
    fields.insert("reason".into(), r.reason.clone().into());
    fields.insert("entry_id".into(), e.id.into());
    events::append(ledger.txn(), &t, Stage::Adjusted, "app", fields, &actor, now).await?;
    tell_requester(ledger.txn(), &r, &t, true, &summary, note.as_deref(), now).await?;
    audit::record(
        ledger.txn(),
        &actor,
        "ticket.adjustment.approve",
        "bill",
        r.bill_id,
        serde_json::json!({"adjustment_id": r.id, "ticket_id": r.ticket_id, "entry_id": e.id, "reason": why}),
        now,
    )
    .await?;
    ledger.commit(state).await?;
    one(state, id).await
}

/// Finance refuses: nothing changes on the bill; the requester reads why, the ticket goes on.
pub async fn reject(state: &AppState, ctx: &StaffCtx, id: i32, body: Refusal) -> ApiResult<AdjustmentView> {
    let note = note_of(Some(&body.note))?;
    let r = decidable(state, ctx, id).await?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    settle(&txn, &r, AdjustmentStatus::Rejected, ctx, note.clone(), now).await?;
    let t = ticket::Entity::find_by_id(r.ticket_id)
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound)?;
    let summary = tickets::describe_adjustment(r.kind, r.amount_fen, r.principal_before_fen);
    add_message(
        &txn,
        t.id,
        Author::System,
        &format!(
            "{} 驳回调整申请（账单{} {}）：{}",
            ctx.username,
            r.bill_id,
            summary,
            note.clone().unwrap_or_default()
        ),
        true,
        &[],
        now,
    )
    .await?;
    tell_requester(&txn, &r, &t, false, &summary, note.as_deref(), now).await?;
    audit::record(
        &txn,
        &ctx.actor(),
        "ticket.adjustment.reject",
        "ticket",
        t.id,
        serde_json::json!({"adjustment_id": r.id, "note": note}),
        now,
    )
    .await?;
    txn.commit().await?;
    one(state, id).await
}

async fn tell_requester<C: ConnectionTrait>(
    db: &C,
    r: &adj::Model,
    t: &ticket::Model,
    approved: bool,
    summary: &str,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let verdict = if approved { "已批准" } else { "被驳回" };
    inbox::post(
        db,
        To::Member(r.requested_by),
        Item {
            kind: "ticket_adjustment_decided",
            title: format!("工单{}的账单调整{}", t.id, verdict),
            body: match note {
                Some(n) => format!("账单{} {}：{}", r.bill_id, summary, n),
                None => format!("账单{} {}", r.bill_id, summary),
            },
            link: Some(format!("/console/tickets/{}", t.id)),
            event_key: format!("ticket_adjustment:{}:decided", r.id),
        },
        now,
    )
    .await?;
    Ok(())
}

async fn one(state: &AppState, id: i32) -> ApiResult<AdjustmentView> {
    let r = adj::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    views(state, vec![r]).await?.pop().ok_or(ApiError::NotFound)
}

/// `GET /staff/adjustments/{id}`: finance, in their communities.
pub async fn get(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<AdjustmentView> {
    ctx.require(Action::ManageBilling)?;
    let r = adj::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx.require_community(r.community_id)?;
    views(state, vec![r]).await?.pop().ok_or(ApiError::NotFound)
}
