//! Points toward fees — the one way points pay fees. `POST /payments {"points": n}` asks for a quote
//! (the community's rate, at most its share of the order, whole fen, within the balance); placing
//! the order holds the points (taken from the soonest-expiring lots, recorded against the order)
//! in the order's own transaction, and each points part is a payment line of its own that the
//! ledger credits like the cash. This pass then settles what the payment use cases left:
//!
//! - a paid order's points are spent (one `redeem` entry per order); a closed order's are released
//!   back to their lots; an order paid after its points were released spends them again, and what
//!   the balance no longer holds becomes owed (never silently given away);
//! - a points line the ledger could not credit (the bill was paid meanwhile) returns its points;
//! - a refund returns the points part in proportion to the cash refunded, reopening the points
//!   lines' bills by the same share through the ledger, as a new lot (no sooner than 90 days).
//!
//! Counter payments never spend points: the owner is not there to consent.
use super::{add_points, give_back, locked, locked_account, record, spend, Holder, NewEntry};
use crate::domain::points::{self, FeeRefusal};
use crate::domain::states::PaymentStatus;
use crate::error::{ApiError, ApiResult};
use crate::services::billing::ledger::{Ledger, Refunding};
use crate::state::AppState;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::states::PointsEntryKind;
use entity::{payment, payment_line, points_account, points_take, refund};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::BTreeSet;

/// `points_takes.source_kind` of an order's hold (the payment is the source id).
pub const HOLD: &str = "order";
/// Entry sources: the order's spend (the payment is the id), and points given back — kind
/// `order_points_back:{payment}`, the id being the order's total given back after the entry, so
/// each step happens once.
const SPENT: &str = "order_points";
const BACK: &str = "order_points_back";
/// Points that come back are a new lot lasting at least this long.
pub const MIN_RETURN_DAYS: i64 = 90;

/// What points pay of an order: the points, the fen, and per line (oldest first) the principal
/// part, the late-fee part and the points that part spends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointsPart {
    pub points: i64,
    pub fen: i64,
    pub parts: Vec<(i64, i64, i64)>,
}

/// Checks a request to pay `n` points toward an order of `lines` (principal, late fee) totalling
/// `total_fen` in a community: points on there, the community's rate and cap, and (not binding:
/// the hold decides) the owner's balance.
pub async fn quote(
    state: &AppState,
    community_id: i32,
    account_id: i32,
    total_fen: i64,
    lines: &[(i64, i64)],
    n: i64,
) -> ApiResult<PointsPart> {
    if !super::rewards::points_on(state, community_id).await? {
        return Err(ApiError::field("points", "本小区暂未开通积分，不能用积分抵扣"));
    }
    let rules = super::settings::rules(&state.db, community_id).await?;
    let fen = points::fee_fen(&rules, total_fen, n).map_err(|r| match r {
        FeeRefusal::OverCap { max_points } => ApiError::field(
            "points",
            format!(
                "积分最多抵扣订单金额的{}%，本单最多可用{max_points}积分",
                rules.max_fee_percent
            ),
        ),
        FeeRefusal::NotWhole { step } => ApiError::field("points", format!("抵扣积分应为{step}的整数倍")),
    })?;
    let available = match super::find(&state.db, community_id, Holder::Account(account_id)).await? {
        Some(held) => super::owner::view(state, community_id, &held).await?.balance,
        None => 0,
    };
    if n > available {
        return Err(ApiError::Conflict(
            "INSUFFICIENT_POINTS",
            format!("积分不足：当前可用{available}分"),
        ));
    }
    Ok(PointsPart {
        points: n,
        fen,
        parts: points::split_fee(lines, fen, n),
    })
}

/// Holds an order's points, in the order's own transaction: refused (409 `INSUFFICIENT_POINTS`,
/// and the order is not placed) when the balance no longer covers them.
pub async fn hold<C: ConnectionTrait>(
    db: &C,
    community_id: i32,
    account_id: i32,
    payment_id: i32,
    n: i64,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let account = locked_account(db, community_id, Holder::Account(account_id), now).await?;
    spend(db, &account, n, today, Some((HOLD, payment_id))).await
}

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeeReport {
    /// Orders whose points were spent, and released.
    pub spent: u64,
    pub released: u64,
    /// Points given back: lines not credited, and refunds.
    pub returned: i64,
}

/// Settles holds, returns uncredited points lines and the points part of refunds.
pub async fn pass(state: &AppState) -> ApiResult<FeeReport> {
    let now = state.clock.now();
    let since = now - Duration::days(super::earn::LOOKBACK_DAYS);
    let mut report = FeeReport::default();
    let mut orders: BTreeSet<i32> = points_take::Entity::find()
        .filter(points_take::Column::SourceKind.eq(HOLD))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|t| t.source_id)
        .collect();
    orders.extend(
        payment::Entity::find()
            .filter(payment::Column::PointsUsed.is_not_null())
            .filter(payment::Column::PaidAt.gte(since))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|p| p.id),
    );
    for id in orders {
        let Some(p) = payment::Entity::find_by_id(id).one(&state.db).await? else {
            continue;
        };
        settle_order(state, &p, now, &mut report).await?;
    }
    let refunds = refund::Entity::find()
        .filter(refund::Column::Status.eq("success"))
        .filter(refund::Column::FinishedAt.gte(since))
        .order_by_asc(refund::Column::Id)
        .all(&state.db)
        .await?;
    for r in refunds {
        let Some(p) = payment::Entity::find_by_id(r.payment_id).one(&state.db).await? else {
            continue;
        };
        if p.points_used.is_some_and(|n| n > 0) {
            refund_points(state, &p, &r, now, &mut report).await?;
        }
    }
    Ok(report)
}

async fn account_of_order<C: ConnectionTrait>(
    db: &C,
    p: &payment::Model,
    now: DateTime<Utc>,
) -> ApiResult<Option<points_account::Model>> {
    let Some(account_id) = p.account_id else {
        return Ok(None);
    };
    Ok(Some(
        locked_account(db, p.community_id, Holder::Account(account_id), now).await?,
    ))
}

async fn settle_order(
    state: &AppState,
    p: &payment::Model,
    now: DateTime<Utc>,
    report: &mut FeeReport,
) -> ApiResult<()> {
    let Some(n) = p.points_used.filter(|n| *n > 0) else {
        return Ok(());
    };
    let today = state.today_in(state.community_tz(p.community_id).await?);
    let paid = matches!(
        p.status,
        PaymentStatus::Paid | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
    );
    let txn = crate::db::begin_write(&state.db).await?;
    // One settler per order at a time (refunds of it too): what was given back is read under it.
    let Some(p) = &lock_order(&txn, p.id).await? else {
        return Ok(());
    };
    let Some(account) = account_of_order(&txn, p, now).await? else {
        return Ok(());
    };
    let held: i64 = points_take::Entity::find()
        .filter(points_take::Column::SourceKind.eq(HOLD))
        .filter(points_take::Column::SourceId.eq(p.id))
        .all(&txn)
        .await?
        .iter()
        .map(|t| t.points)
        .sum();
    if paid {
        let spent = record(
            &txn,
            NewEntry {
                account_id: account.id,
                kind: PointsEntryKind::Redeem,
                points: -n,
                lot_id: None,
                source: Some((SPENT, p.id)),
                reason: format!("积分抵扣物业费（订单{}）", p.out_trade_no),
                actor: format!("payment:{}", p.id),
                at: now,
            },
        )
        .await?;
        if spent {
            if held > 0 {
                // Spent for good: the hold's record of which lots it took is no longer needed.
                points_take::Entity::delete_many()
                    .filter(points_take::Column::SourceKind.eq(HOLD))
                    .filter(points_take::Column::SourceId.eq(p.id))
                    .exec(&txn)
                    .await?;
            } else {
                // Paid after its points were released: spend them again; what is gone is owed.
                let balance = super::owner::balance_of(&txn, &account, today).await?;
                let take = n.min(balance.max(0));
                if take > 0 {
                    spend(&txn, &account, take, today, None).await?;
                }
                if n > take {
                    points_account::Entity::update_many()
                        .col_expr(points_account::Column::Debt, Expr::value(account.debt + n - take))
                        .filter(points_account::Column::Id.eq(account.id))
                        .exec(&txn)
                        .await?;
                }
            }
            report.spent += 1;
        }
        report.returned += give_back_uncredited(&txn, p, &account, today, now).await?;
    } else if p.status == PaymentStatus::Closed && held > 0 {
        give_back(&txn, (HOLD, p.id), today).await?;
        report.released += 1;
    }
    txn.commit().await?;
    Ok(())
}

async fn lock_order<C: ConnectionTrait>(db: &C, id: i32) -> ApiResult<Option<payment::Model>> {
    use sea_orm::QuerySelect;
    Ok(payment::Entity::find_by_id(id).lock_exclusive().one(db).await?)
}

/// Gives back the points of what the order's points lines no longer credit — a line the ledger
/// could not credit (its bill was paid another way meanwhile) or a share a refund reopened — as far
/// as not given back already. The caller holds the order's lock. Points given back.
async fn give_back_uncredited<C: ConnectionTrait>(
    db: &C,
    p: &payment::Model,
    account: &points_account::Model,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> ApiResult<i64> {
    let lines = payment_line::Entity::find()
        .filter(payment_line::Column::PaymentId.eq(p.id))
        .filter(payment_line::Column::Points.is_not_null())
        .all(db)
        .await?;
    let target: i64 = lines
        .iter()
        .filter(|l| l.amount_fen > 0)
        .map(|l| {
            let points = l.points.unwrap_or(0);
            let credited = l.credited_fen.unwrap_or(0).clamp(0, l.amount_fen);
            // The points of the part not credited, the credited part's share rounded down.
            points - (i128::from(points) * i128::from(credited) / i128::from(l.amount_fen)) as i64
        })
        .sum();
    let kind = format!("{BACK}:{}", p.id);
    let already: i64 = entity::points_entry::Entity::find()
        .filter(entity::points_entry::Column::SourceKind.eq(kind.clone()))
        .all(db)
        .await?
        .iter()
        .map(|e| e.points)
        .sum();
    let back = target - already;
    if back <= 0 || target > i64::from(i32::MAX) {
        return Ok(0);
    }
    let entry = NewEntry {
        account_id: account.id,
        kind: PointsEntryKind::Reverse,
        points: back,
        lot_id: None,
        source: Some((&kind, target as i32)),
        reason: format!("订单{}的积分抵扣未生效或已退款，积分退回", p.out_trade_no),
        actor: "system".into(),
        at: now,
    };
    if !record(db, entry).await? {
        return Ok(0);
    }
    let account = locked(db, account.id).await?;
    if let Some(lot) = returned_lot(db, &account, back, today, now).await? {
        // The entry shows the new lot's last day.
        entity::points_entry::Entity::update_many()
            .col_expr(entity::points_entry::Column::LotId, Expr::value(lot))
            .filter(entity::points_entry::Column::SourceKind.eq(kind))
            .filter(entity::points_entry::Column::SourceId.eq(target as i32))
            .exec(db)
            .await?;
    }
    Ok(back)
}

/// Points coming back: a new lot earned today, expiring by the community's rule — at the end of at
/// least the next calendar year, so always later than `MIN_RETURN_DAYS` from today.
async fn returned_lot<C: ConnectionTrait>(
    db: &C,
    account: &points_account::Model,
    n: i64,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> ApiResult<Option<i32>> {
    let rules = super::settings::rules(db, account.community_id).await?;
    debug_assert!(points::expires_on(today, rules.expiry_years) >= today + Duration::days(MIN_RETURN_DAYS));
    add_points(db, account, n, today, rules.expiry_years, now).await
}

/// A successful refund of an order that spent points: the points lines' bills reopen by the
/// refund's share of the points part (latest line first), once per refund, and the points of what
/// they no longer credit come back.
async fn refund_points(
    state: &AppState,
    p: &payment::Model,
    r: &refund::Model,
    now: DateTime<Utc>,
    report: &mut FeeReport,
) -> ApiResult<()> {
    let Some(fen) = p.points_fen else {
        return Ok(());
    };
    if p.amount_fen <= 0 {
        return Ok(());
    }
    // Cumulative shares, so the refunds of one order return exactly all points when all is refunded.
    let before: i64 = refund::Entity::find()
        .filter(refund::Column::PaymentId.eq(p.id))
        .filter(refund::Column::Status.eq("success"))
        .filter(refund::Column::Id.lt(r.id))
        .all(&state.db)
        .await?
        .iter()
        .map(|x| x.amount_fen)
        .sum();
    let upto = before + r.amount_fen;
    let share = |total: i64, cash: i64| {
        (i128::from(total) * i128::from(cash.min(p.amount_fen)) / i128::from(p.amount_fen)) as i64
    };
    let back_fen = share(fen, upto) - share(fen, before);
    if back_fen <= 0 {
        return Ok(());
    }
    let today = state.today_in(state.community_tz(p.community_id).await?);
    let mut ledger = Ledger::begin(state).await?;
    let Some(p) = &lock_order(ledger.txn(), p.id).await? else {
        return Ok(());
    };
    // Once per refund: its points share reopens bills under this reference.
    let reference = format!("refund:{}:points", r.id);
    let done = entity::bill_entry::Entity::find()
        .filter(entity::bill_entry::Column::Reference.eq(reference.clone()))
        .one(ledger.txn())
        .await?;
    if done.is_some() {
        return Ok(());
    }
    let Some(account) = account_of_order(ledger.txn(), p, now).await? else {
        return Ok(());
    };
    let lines = payment_line::Entity::find()
        .filter(payment_line::Column::PaymentId.eq(p.id))
        .filter(payment_line::Column::Points.is_not_null())
        .order_by_desc(payment_line::Column::Id)
        .all(ledger.txn())
        .await?;
    let reason = format!("退款：积分抵扣部分（{}）", r.reason);
    let by = Refunding {
        on: today,
        at: now,
        reason: &reason,
        actor: &r.actor,
        reference,
    };
    ledger.refund_lines(&lines, back_fen, &by).await?;
    let back = give_back_uncredited(ledger.txn(), p, &account, today, now).await?;
    ledger.commit(state).await?;
    report.returned += back;
    Ok(())
}
