//! Reversals: a refund takes back what its payment's lines earned beyond what the money still
//! credited earns. Taken from the award's own lot as far as it still holds the points; what was
//! already spent becomes `owed` (a debt the next earnings settle first), never silently dropped.
//! Each reversal is an entry unique per refund and line, so it happens once on any replica.
use super::earn::{LOOKBACK_DAYS, SOURCE};
use super::{locked, record, NewEntry};
use crate::domain::points;
use crate::error::ApiResult;
use crate::state::AppState;
use chrono::Duration;
use entity::states::PointsEntryKind;
use entity::{fee_item, payment, payment_line, points_account, points_entry, points_lot, refund};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReverseReport {
    pub reversed: u64,
    pub points: i64,
    /// Of `points`, what had been spent and is now owed.
    pub owed: i64,
}

/// `points_entries.source_kind` of the reversals a refund made (the line is the source id).
fn source(refund_id: i32) -> String {
    format!("refund:{refund_id}")
}

/// Reverses, once, what the successful refunds of the last `LOOKBACK_DAYS` took back.
pub async fn pass(state: &AppState) -> ApiResult<ReverseReport> {
    let now = state.clock.now();
    let refunds = refund::Entity::find()
        .filter(refund::Column::Status.eq("success"))
        .filter(refund::Column::FinishedAt.gte(now - Duration::days(LOOKBACK_DAYS)))
        .order_by_asc(refund::Column::Id)
        .all(&state.db)
        .await?;
    let mut report = ReverseReport::default();
    for r in refunds {
        reverse_refund(state, &r, &mut report).await?;
    }
    Ok(report)
}

async fn reverse_refund(state: &AppState, r: &refund::Model, report: &mut ReverseReport) -> ApiResult<()> {
    let now = state.clock.now();
    let Some(p) = payment::Entity::find_by_id(r.payment_id).one(&state.db).await? else {
        return Ok(());
    };
    let lines: HashMap<i32, payment_line::Model> = payment_line::Entity::find()
        .filter(payment_line::Column::PaymentId.eq(p.id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    // Awards of the payment's lines that earned something.
    let awards = points_entry::Entity::find()
        .filter(points_entry::Column::SourceKind.eq(SOURCE))
        .filter(points_entry::Column::SourceId.is_in(lines.keys().copied()))
        .filter(points_entry::Column::Points.gt(0))
        .all(&state.db)
        .await?;
    if awards.is_empty() {
        return Ok(());
    }
    let items: HashMap<i32, String> = fee_item::Entity::find()
        .filter(fee_item::Column::Id.is_in(lines.values().map(|l| l.fee_item_id)))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|f| (f.id, f.name))
        .collect();
    let txn = crate::db::begin_write(&state.db).await?;
    for award in awards {
        let Some(l) = award.source_id.and_then(|id| lines.get(&id)) else {
            continue;
        };
        // What the line still holds: its award less earlier reversals (by any refund).
        let reversed: i64 = points_entry::Entity::find()
            .filter(points_entry::Column::Kind.eq(PointsEntryKind::Reverse))
            .filter(points_entry::Column::SourceId.eq(l.id))
            .filter(points_entry::Column::SourceKind.starts_with("refund:"))
            .all(&txn)
            .await?
            .iter()
            .map(|e| e.points)
            .sum();
        let held = award.points + reversed;
        // The award in proportion to the principal still credited (rounded down), whatever bonuses
        // made it up.
        let base = (l.principal_fen - l.discount_fen).max(1);
        let still = l.credited_fen.unwrap_or(0).clamp(0, base);
        let entitled = (award.points * still / base).min(held);
        let n = held - entitled;
        if n <= 0 {
            continue;
        }
        let source = source(r.id);
        let entry = NewEntry {
            account_id: award.points_account_id,
            kind: PointsEntryKind::Reverse,
            points: -n,
            lot_id: award.lot_id,
            source: Some((&source, l.id)),
            reason: format!(
                "{} {} 退款，冲回积分",
                l.period,
                items.get(&l.fee_item_id).cloned().unwrap_or_default()
            ),
            actor: r.actor.clone(),
            at: now,
        };
        if !record(&txn, entry).await? {
            continue;
        }
        let account = locked(&txn, award.points_account_id).await?;
        let lot = match award.lot_id {
            Some(id) => points_lot::Entity::find_by_id(id).lock_exclusive().one(&txn).await?,
            None => None,
        };
        let (taken, owed) = points::reverse(lot.as_ref().map_or(0, |l| l.remaining), n);
        if let Some(lot) = lot.filter(|_| taken > 0) {
            points_lot::Entity::update_many()
                .col_expr(points_lot::Column::Remaining, Expr::value(lot.remaining - taken))
                .filter(points_lot::Column::Id.eq(lot.id))
                .exec(&txn)
                .await?;
        }
        if owed > 0 {
            points_account::Entity::update_many()
                .col_expr(points_account::Column::Debt, Expr::value(account.debt + owed))
                .filter(points_account::Column::Id.eq(account.id))
                .exec(&txn)
                .await?;
        }
        report.reversed += 1;
        report.points += n;
        report.owed += owed;
    }
    txn.commit().await?;
    Ok(())
}
