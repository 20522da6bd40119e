//! Points (issue #15): owners earn for paying on time, per community. This context owns the
//! `points_accounts`, `points_lots` and `points_entries` tables; every number comes from
//! `domain::points`.
//!
//! - `earn`: the scheduler's pass that awards credited payment lines, once each (a unique source per
//!   entry), for the paying account — or, for counter payments, the account of the unit's
//!   first-listed current owner, else the unit until one links.
//! - `reverse`: what a refund takes back, once per refund and line; spent points become owed.
//! - `grade`: the A–D credit grade, computed when read from the bills of the account's units.
//! - `expire`: what is left of a lot after its last day, once per lot.
//! - `owner`: `GET /me/points`; `staff`: a unit's holder's points and staff adjustments (audited).
//!
//! Nothing here is called by the payment use cases: the pass reads what the ledger credited.
pub mod earn;
pub mod expire;
pub mod grade;
pub mod owner;
pub mod reverse;
pub mod staff;

use crate::error::ApiResult;
use crate::services::access::me::link_active;
use crate::state::AppState;
use chrono::{DateTime, NaiveDate, Utc};
use entity::{owner as owner_row, owner_account, points_account, unit_owner};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use std::collections::{BTreeSet, HashMap};

/// What the scheduler's points work did.
#[derive(Debug, Clone, Copy, Default)]
pub struct TickReport {
    pub earned: earn::EarnReport,
    pub reversed: reverse::ReverseReport,
    pub expired: expire::ExpireReport,
}

/// The scheduler's points work: award what was credited, reverse what was refunded, expire lots.
pub async fn tick(state: &crate::state::AppState) -> ApiResult<TickReport> {
    Ok(TickReport {
        earned: earn::pass(state).await?,
        reversed: reverse::pass(state).await?,
        expired: expire::pass(state).await?,
    })
}

/// Who holds points in a community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

pub(crate) async fn find<C: ConnectionTrait>(
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

/// Who holds the points of units: the verified account bound to the phone of a unit's first-listed
/// owner on a day, else the unit itself (until an account links). Read once for many units.
pub(crate) struct UnitHolders {
    links: Vec<unit_owner::Model>,
    owners: HashMap<i32, String>,
    accounts: HashMap<String, i32>,
}

impl UnitHolders {
    pub(crate) async fn load(state: &AppState, units: &BTreeSet<i32>) -> ApiResult<Self> {
        let links = unit_owner::Entity::find()
            .filter(unit_owner::Column::UnitId.is_in(units.iter().copied()))
            .order_by_asc(unit_owner::Column::Id)
            .all(&state.db)
            .await?;
        let owner_ids: BTreeSet<i32> = links.iter().map(|l| l.owner_id).collect();
        let owners: HashMap<i32, String> = owner_row::Entity::find()
            .filter(owner_row::Column::Id.is_in(owner_ids))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|o| (o.id, o.phone_index))
            .collect();
        let accounts: HashMap<String, i32> = owner_account::Entity::find()
            .filter(owner_account::Column::PhoneIndex.is_in(owners.values().cloned()))
            .filter(owner_account::Column::PhoneVerifiedAt.is_not_null())
            .order_by_desc(owner_account::Column::Id)
            .all(&state.db)
            .await?
            .into_iter()
            // The oldest account wins when several are bound to one phone (collected newest first).
            .filter_map(|a| a.phone_index.map(|i| (i, a.id)))
            .collect();
        Ok(UnitHolders {
            links,
            owners,
            accounts,
        })
    }

    pub(crate) fn holder(&self, unit_id: i32, day: NaiveDate) -> Holder {
        self.links
            .iter()
            .find(|k| k.unit_id == unit_id && link_active(k, day))
            .and_then(|k| self.owners.get(&k.owner_id))
            .and_then(|i| self.accounts.get(i))
            .map(|a| Holder::Account(*a))
            .unwrap_or(Holder::Unit(unit_id))
    }
}
