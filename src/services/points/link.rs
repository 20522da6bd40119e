//! Points held on a unit (counter payments while its first-listed owner had no linked account)
//! move to that owner's account once one links: the lots keep their expiry, anything owed moves
//! with them, and both histories say so. Each move happens under both accounts' locks, so two
//! replicas cannot move the same points twice.
use super::{locked, locked_account, record, Holder, NewEntry, UnitHolders};
use crate::error::ApiResult;
use crate::state::AppState;
use entity::states::PointsEntryKind;
use entity::{points_account, points_lot, unit};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkReport {
    pub units: u64,
    pub points: i64,
}

pub async fn pass(state: &AppState) -> ApiResult<LinkReport> {
    let held = points_account::Entity::find()
        .filter(points_account::Column::AccountId.is_null())
        .all(&state.db)
        .await?;
    let mut report = LinkReport::default();
    let units: BTreeSet<i32> = held.iter().filter_map(|h| h.unit_id).collect();
    if units.is_empty() {
        return Ok(report);
    }
    let holders = UnitHolders::load(state, &units).await?;
    let now = state.clock.now();
    for h in held {
        let Some(unit_id) = h.unit_id else { continue };
        let today = state.today_in(state.community_tz(h.community_id).await?);
        let Holder::Account(account_id) = holders.holder(unit_id, today) else {
            continue;
        };
        let code = unit::Entity::find_by_id(unit_id)
            .one(&state.db)
            .await?
            .map(|u| u.code)
            .unwrap_or_default();
        let txn = crate::db::begin_write(&state.db).await?;
        let from = locked(&txn, h.id).await?;
        let to = locked_account(&txn, h.community_id, Holder::Account(account_id), now).await?;
        let lots = points_lot::Entity::find()
            .filter(points_lot::Column::PointsAccountId.eq(from.id))
            .filter(points_lot::Column::Remaining.gt(0))
            .all(&txn)
            .await?;
        let moved: i64 = lots.iter().map(|l| l.remaining).sum();
        if moved == 0 && from.debt == 0 {
            continue;
        }
        points_lot::Entity::update_many()
            .col_expr(points_lot::Column::PointsAccountId, Expr::value(to.id))
            .filter(points_lot::Column::Id.is_in(lots.iter().map(|l| l.id)))
            .exec(&txn)
            .await?;
        for (id, debt) in [(from.id, 0), (to.id, to.debt + from.debt)] {
            points_account::Entity::update_many()
                .col_expr(points_account::Column::Debt, Expr::value(debt))
                .filter(points_account::Column::Id.eq(id))
                .exec(&txn)
                .await?;
        }
        let net = moved - from.debt;
        let entry = |account_id, points, reason| NewEntry {
            account_id,
            kind: PointsEntryKind::Adjust,
            points,
            lot_id: None,
            source: None,
            reason,
            actor: "system".into(),
            at: now,
        };
        record(&txn, entry(from.id, -net, "业主已绑定账户，积分转入业主账户".into())).await?;
        record(&txn, entry(to.id, net, format!("房屋{code}代管积分转入"))).await?;
        txn.commit().await?;
        report.units += 1;
        report.points += net;
    }
    Ok(report)
}
