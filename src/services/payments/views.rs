//! Payments as owners and staff see them, the exceptions queue, and the daily summary per channel.
use crate::domain::money::sum_fen;
use crate::domain::role::Action;
use crate::domain::states::Channel;
use crate::domain::Fen;
use crate::error::{ApiError, ApiResult};
use crate::services::access::staff::StaffCtx;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::{payment, payment_exception, payment_line};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};

/// One paid (or to be paid) line.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentLineView {
    pub bill_id: Option<i32>,
    pub unit_id: i32,
    pub period: String,
    pub principal: String,
    pub late_fee: String,
    pub discount: String,
    pub amount: String,
    /// Set on a line paid with points: how many.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points: Option<i64>,
}

/// A payment as its owner (or staff) sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentView {
    pub id: i32,
    pub out_trade_no: String,
    pub channel: String,
    pub amount: String,
    /// `pending`, `paid`, `closed`, `refunded`, `partially_refunded`.
    pub status: String,
    pub receipt_no: Option<String>,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    /// Points the order spends, and what they pay (`amount` is the cash the channel charges).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points_used: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points_amount: Option<String>,
    pub lines: Vec<PaymentLineView>,
}

/// A verified gateway event that does not match our order, for staff to look at.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExceptionView {
    pub id: i32,
    pub provider: String,
    pub kind: String,
    pub payment_id: Option<i32>,
    pub out_trade_no: Option<String>,
    pub detail: String,
    pub created_at: DateTime<Utc>,
}

pub(super) async fn view(state: &AppState, p: payment::Model) -> ApiResult<PaymentView> {
    let lines = payment_line::Entity::find()
        .filter(payment_line::Column::PaymentId.eq(p.id))
        .order_by_asc(payment_line::Column::Id)
        .all(&state.db)
        .await?;
    Ok(PaymentView {
        id: p.id,
        out_trade_no: p.out_trade_no,
        channel: p.channel.to_string(),
        amount: Fen(p.amount_fen).to_yuan_string(),
        status: p.status.to_string(),
        receipt_no: p.receipt_no,
        created_at: p.created_at,
        paid_at: p.paid_at,
        expires_at: p.expires_at,
        points_used: p.points_used,
        points_amount: p.points_fen.map(|f| Fen(f).to_yuan_string()),
        lines: lines
            .into_iter()
            .map(|l| PaymentLineView {
                bill_id: l.bill_id,
                unit_id: l.unit_id,
                period: l.period,
                principal: Fen(l.principal_fen).to_yuan_string(),
                late_fee: Fen(l.late_fee_fen).to_yuan_string(),
                discount: Fen(l.discount_fen).to_yuan_string(),
                amount: Fen(l.amount_fen).to_yuan_string(),
                points: l.points,
            })
            .collect(),
    })
}

/// `GET /payments/{id}`: one of the owner's payments — their own order, or a counter payment of
/// their bills (`receipts::owner_may_see`); 404 for anyone else's.
pub async fn owner_payment(state: &AppState, account_id: i32, id: i32) -> ApiResult<PaymentView> {
    let p = payment::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !crate::services::payments::receipts::owner_may_see(state, account_id, &p).await? {
        return Err(ApiError::NotFound);
    }
    view(state, p).await
}

/// `GET /me/payments`: every payment of the owner's bills (their orders and counter payments),
/// newest first.
pub async fn owner_payments(state: &AppState, account_id: i32) -> ApiResult<Vec<PaymentView>> {
    let ps = crate::services::payments::receipts::owner_payments(state, account_id).await?;
    let mut out = Vec::with_capacity(ps.len());
    for p in ps {
        out.push(view(state, p).await?);
    }
    Ok(out)
}

/// Every paid (or since refunded) payment that covered a bill of unit `unit_id`, newest first, for
/// staff who see its community (404 otherwise).
pub async fn unit_payments(state: &AppState, ctx: &StaffCtx, unit_id: i32) -> ApiResult<Vec<PaymentView>> {
    use entity::states::PaymentStatus;
    use sea_orm::QuerySelect;
    ctx.require(Action::ReadSetup)?;
    let u = entity::unit::Entity::find_by_id(unit_id)
        .one(&state.db)
        .await?
        .filter(|u| ctx.sees(u.community_id))
        .ok_or(ApiError::NotFound)?;
    let ids: Vec<i32> = payment_line::Entity::find()
        .select_only()
        .column(payment_line::Column::PaymentId)
        .filter(payment_line::Column::UnitId.eq(u.id))
        .distinct()
        .into_tuple()
        .all(&state.db)
        .await?;
    let ps = payment::Entity::find()
        .filter(payment::Column::Id.is_in(ids))
        .filter(payment::Column::Status.is_in([
            PaymentStatus::Paid,
            PaymentStatus::Refunded,
            PaymentStatus::PartiallyRefunded,
        ]))
        .order_by_desc(payment::Column::Id)
        .all(&state.db)
        .await?;
    let mut out = Vec::with_capacity(ps.len());
    for p in ps {
        out.push(view(state, p).await?);
    }
    Ok(out)
}

/// Filters of `GET /staff/payment-exceptions`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ExceptionQuery {
    pub community_id: Option<i32>,
}

/// Verified gateway events that did not match an order, newest first (finance and admin).
pub async fn exceptions(state: &AppState, ctx: &StaffCtx, q: ExceptionQuery) -> ApiResult<Vec<ExceptionView>> {
    ctx.require(Action::ManageBilling)?;
    let rows = payment_exception::Entity::find()
        .order_by_desc(payment_exception::Column::Id)
        .all(&state.db)
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let community = match r.payment_id {
            Some(pid) => payment::Entity::find_by_id(pid)
                .one(&state.db)
                .await?
                .map(|p| p.community_id),
            None => None,
        };
        // Unknown-order events belong to no community: admins see them.
        let visible = match community {
            Some(c) => ctx.sees(c) && q.community_id.is_none_or(|want| want == c),
            None => ctx.role.sees_all_communities() && q.community_id.is_none(),
        };
        if visible {
            out.push(ExceptionView {
                id: r.id,
                provider: r.provider,
                kind: r.kind,
                payment_id: r.payment_id,
                out_trade_no: r.out_trade_no,
                detail: r.detail,
                created_at: r.created_at,
            });
        }
    }
    Ok(out)
}

/// Filters of `GET /staff/payments/summary`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SummaryQuery {
    pub community_id: i32,
    /// Local date `YYYY-MM-DD`; default today.
    #[param(pattern = r#"^(19[7-9][0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"#, format = Date)]
    pub date: Option<String>,
}

/// One channel's day.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChannelDay {
    pub channel: String,
    pub orders: usize,
    pub paid: usize,
    pub amount: String,
    pub refunds: usize,
    pub refunded: String,
    pub exceptions: usize,
}

/// The daily summary per channel: orders created, paid, amount, refunds, exceptions.
pub async fn daily_summary(state: &AppState, ctx: &StaffCtx, q: SummaryQuery) -> ApiResult<Vec<ChannelDay>> {
    ctx.require(Action::ManageBilling)?;
    ctx.require_community(q.community_id)?;
    let tz = state.community_tz(q.community_id).await?;
    let day = match &q.date {
        Some(d) => crate::domain::period::parse_date(d).map_err(|m| ApiError::field("date", m))?,
        None => state.today_in(tz),
    };
    let start = day
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(tz).earliest())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ApiError::field("date", "无效日期"))?;
    let end = start + chrono::Duration::days(1);
    let in_day = |t: DateTime<Utc>| t >= start && t < end;
    // Only the day's rows: orders opened or paid that day, refunds finished and exceptions raised
    // that day, with the payments they belong to (for the channel and the community).
    let mut payments = payment::Entity::find()
        .filter(payment::Column::CommunityId.eq(q.community_id))
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(payment::Column::CreatedAt.gte(start))
                        .add(payment::Column::CreatedAt.lt(end)),
                )
                .add(
                    Condition::all()
                        .add(payment::Column::PaidAt.gte(start))
                        .add(payment::Column::PaidAt.lt(end)),
                ),
        )
        .all(&state.db)
        .await?;
    let refunds = entity::refund::Entity::find()
        .filter(entity::refund::Column::Status.eq("success"))
        .filter(entity::refund::Column::FinishedAt.gte(start))
        .filter(entity::refund::Column::FinishedAt.lt(end))
        .all(&state.db)
        .await?;
    let exceptions = payment_exception::Entity::find()
        .filter(payment_exception::Column::CreatedAt.gte(start))
        .filter(payment_exception::Column::CreatedAt.lt(end))
        .all(&state.db)
        .await?;
    let known: std::collections::BTreeSet<i32> = payments.iter().map(|p| p.id).collect();
    let more: Vec<i32> = refunds
        .iter()
        .map(|r| r.payment_id)
        .chain(exceptions.iter().filter_map(|e| e.payment_id))
        .filter(|id| !known.contains(id))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !more.is_empty() {
        payments.extend(
            payment::Entity::find()
                .filter(payment::Column::CommunityId.eq(q.community_id))
                .filter(payment::Column::Id.is_in(more))
                .all(&state.db)
                .await?,
        );
    }
    let mut out = Vec::new();
    for channel in [
        Channel::Wechat,
        Channel::Alipay,
        Channel::Cash,
        Channel::Pos,
        Channel::BankTransfer,
        Channel::BankDebit,
    ] {
        let mine: Vec<&payment::Model> = payments.iter().filter(|p| p.channel == channel).collect();
        let paid: Vec<&&payment::Model> = mine.iter().filter(|p| p.paid_at.is_some_and(in_day)).collect();
        let channel_ids: Vec<i32> = mine.iter().map(|p| p.id).collect();
        let rf: Vec<&entity::refund::Model> = refunds
            .iter()
            .filter(|r| {
                channel_ids.contains(&r.payment_id) && r.status == "success" && r.finished_at.is_some_and(in_day)
            })
            .collect();
        out.push(ChannelDay {
            channel: channel.to_string(),
            orders: mine.iter().filter(|p| in_day(p.created_at)).count(),
            paid: paid.len(),
            amount: Fen(sum_fen(paid.iter().map(|p| p.amount_fen))?).to_yuan_string(),
            refunds: rf.len(),
            refunded: Fen(sum_fen(rf.iter().map(|r| r.amount_fen))?).to_yuan_string(),
            exceptions: exceptions
                .iter()
                .filter(|e| e.payment_id.is_some_and(|id| channel_ids.contains(&id)) && in_day(e.created_at))
                .count(),
        });
    }
    Ok(out)
}
