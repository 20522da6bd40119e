//! Expiry: a lot's points left after its last day (the community's local date) expire, as one
//! entry per lot, unique per lot, so it happens once on any replica.
use super::{record, NewEntry};
use crate::domain::points;
use crate::error::ApiResult;
use crate::state::AppState;
use chrono::Duration;
use entity::states::PointsEntryKind;
use entity::{points_account, points_lot};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

/// `points_entries.source_kind` of an expiry (the lot is the source id).
pub const SOURCE: &str = "lot_expiry";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpireReport {
    pub lots: u64,
    pub points: i64,
}

/// Expires what is left of every lot past its last day.
pub async fn pass(state: &AppState) -> ApiResult<ExpireReport> {
    let now = state.clock.now();
    // Past their last day somewhere on earth; each is checked against its community's own date.
    let candidates = points_lot::Entity::find()
        .filter(points_lot::Column::Remaining.gt(0))
        .filter(points_lot::Column::ExpiresOn.lt(now.date_naive() + Duration::days(1)))
        .order_by_asc(points_lot::Column::Id)
        .all(&state.db)
        .await?;
    let mut report = ExpireReport::default();
    if candidates.is_empty() {
        return Ok(report);
    }
    let account_communities: HashMap<i32, i32> = points_account::Entity::find()
        .filter(points_account::Column::Id.is_in(candidates.iter().map(|l| l.points_account_id)))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.community_id))
        .collect();
    // Each community's date today, read once.
    let mut today_in = HashMap::new();
    for c in account_communities.values() {
        if !today_in.contains_key(c) {
            today_in.insert(*c, state.today_in(state.community_tz(*c).await?));
        }
    }
    let txn = crate::db::begin_write(&state.db).await?;
    for l in candidates {
        let Some(today) = account_communities
            .get(&l.points_account_id)
            .and_then(|c| today_in.get(c))
            .copied()
        else {
            continue;
        };
        // Read again under the lot's lock: a spend may have emptied it meanwhile.
        let Some(lot) = points_lot::Entity::find_by_id(l.id).lock_exclusive().one(&txn).await? else {
            continue;
        };
        let lots = [points::Lot {
            id: lot.id as i64,
            expires_on: lot.expires_on,
            remaining: lot.remaining,
        }];
        let Some((_, left)) = points::expired(&lots, today).pop() else {
            continue;
        };
        let entry = NewEntry {
            account_id: lot.points_account_id,
            kind: PointsEntryKind::Expire,
            points: -left,
            lot_id: Some(lot.id),
            source: Some((SOURCE, lot.id)),
            reason: format!("{}获得的积分已于{}到期", lot.earned_on, lot.expires_on),
            actor: "system".into(),
            at: now,
        };
        if !record(&txn, entry).await? {
            continue;
        }
        points_lot::Entity::update_many()
            .col_expr(points_lot::Column::Remaining, Expr::value(0i64))
            .filter(points_lot::Column::Id.eq(lot.id))
            .exec(&txn)
            .await?;
        report.lots += 1;
        report.points += left;
    }
    txn.commit().await?;
    Ok(report)
}
