//! Points (issue #15): owners earn for paying on time, per community. This context owns the
//! `points_accounts`, `points_lots` and `points_entries` tables; every number comes from
//! `domain::points`.
//!
//! - `earn`: the scheduler's pass that awards credited payment lines, once each (a unique source per
//!   entry), for the paying account — or, for counter payments, the account of the unit's
//!   first-listed current owner, else the unit until one links.
//! - `reverse`: what a refund takes back, once per refund and line; spent points become owed.
//! - `owner`: `GET /me/points`.
//!
//! Nothing here is called by the payment use cases: the pass reads what the ledger credited.
pub mod earn;
pub mod owner;
pub mod reverse;

use crate::error::ApiResult;
use chrono::{DateTime, Utc};
use entity::points_account;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

/// The scheduler's points work: award what was credited, then reverse what was refunded.
pub async fn tick(state: &crate::state::AppState) -> ApiResult<(earn::EarnReport, reverse::ReverseReport)> {
    Ok((earn::pass(state).await?, reverse::pass(state).await?))
}

/// Who holds points in a community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Holder {
    Account(i32),
    /// A unit whose first-listed owner has no linked account yet.
    Unit(i32),
}

/// The holder's points account in the community, created on first use (the partial unique indexes
/// make two creators meet on one row).
pub(crate) async fn account_of<C: ConnectionTrait>(
    db: &C,
    community_id: i32,
    holder: Holder,
    now: DateTime<Utc>,
) -> ApiResult<points_account::Model> {
    if let Some(found) = find(db, community_id, holder).await? {
        return Ok(found);
    }
    let (account_id, unit_id) = match holder {
        Holder::Account(a) => (Some(a), None),
        Holder::Unit(u) => (None, Some(u)),
    };
    let row = points_account::ActiveModel {
        community_id: Set(community_id),
        account_id: Set(account_id),
        unit_id: Set(unit_id),
        debt: Set(0),
        created_at: Set(now),
        ..Default::default()
    };
    // No conflict target: both backends then skip a row any unique index (here a partial one) refuses,
    // so two creators meet on the winner's row.
    points_account::Entity::insert(row)
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    find(db, community_id, holder)
        .await?
        .ok_or_else(|| crate::error::ApiError::internal(anyhow::anyhow!("points account not created")))
}

async fn find<C: ConnectionTrait>(
    db: &C,
    community_id: i32,
    holder: Holder,
) -> ApiResult<Option<points_account::Model>> {
    let q = points_account::Entity::find().filter(points_account::Column::CommunityId.eq(community_id));
    let q = match holder {
        Holder::Account(a) => q.filter(points_account::Column::AccountId.eq(a)),
        Holder::Unit(u) => q
            .filter(points_account::Column::AccountId.is_null())
            .filter(points_account::Column::UnitId.eq(u)),
    };
    Ok(q.one(db).await?)
}
