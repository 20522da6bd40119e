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

use crate::domain::points;
use crate::error::ApiResult;
use crate::services::access::me::link_active;
use crate::state::AppState;
use chrono::{DateTime, NaiveDate, Utc};
use entity::states::PointsEntryKind;
use entity::{owner as owner_row, owner_account, points_account, points_entry, points_lot, unit_owner};
use sea_orm::sea_query::Expr;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
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

/// Where an entry comes from, when it must happen once: (`source_kind`, `source_id`).
pub(crate) type Source<'a> = Option<(&'a str, i32)>;

/// One history entry, as every points movement writes it.
pub(crate) struct NewEntry<'a> {
    pub account_id: i32,
    pub kind: PointsEntryKind,
    pub points: i64,
    pub lot_id: Option<i32>,
    pub source: Source<'a>,
    pub reason: String,
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// Appends an entry; one with a source only if that source has none yet (the unique index decides,
/// also between replicas). Whether it was written.
pub(crate) async fn record<C: ConnectionTrait>(db: &C, e: NewEntry<'_>) -> ApiResult<bool> {
    let row = points_entry::ActiveModel {
        points_account_id: Set(e.account_id),
        kind: Set(e.kind),
        points: Set(e.points),
        lot_id: Set(e.lot_id),
        source_kind: Set(e.source.map(|(k, _)| k.to_string())),
        source_id: Set(e.source.map(|(_, id)| id)),
        reason: Set(e.reason),
        actor: Set(e.actor),
        created_at: Set(e.at),
        ..Default::default()
    };
    Ok(points_entry::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([points_entry::Column::SourceKind, points_entry::Column::SourceId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?
        == 1)
}

/// Points coming in to an account the caller locked: what it owes is settled first, the rest is a
/// new lot earned `on` (expiring per `expiry_years`). The lot's id, if one was needed.
pub(crate) async fn add_points<C: ConnectionTrait>(
    db: &C,
    account: &points_account::Model,
    n: i64,
    on: NaiveDate,
    expiry_years: i32,
    now: DateTime<Utc>,
) -> ApiResult<Option<i32>> {
    let (debt, lot_points) = points::settle(account.debt, n);
    if debt != account.debt {
        points_account::Entity::update_many()
            .col_expr(points_account::Column::Debt, Expr::value(debt))
            .filter(points_account::Column::Id.eq(account.id))
            .exec(db)
            .await?;
    }
    if lot_points <= 0 {
        return Ok(None);
    }
    let lot = points_lot::ActiveModel {
        points_account_id: Set(account.id),
        earned_on: Set(on),
        expires_on: Set(points::expires_on(on, expiry_years)),
        points: Set(lot_points),
        remaining: Set(lot_points),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(Some(lot.id))
}

/// The holder's account in the community, created if new, locked for the caller's transaction so
/// concurrent movements on one account happen one after another.
pub(crate) async fn locked_account<C: ConnectionTrait>(
    db: &C,
    community_id: i32,
    holder: Holder,
    now: DateTime<Utc>,
) -> ApiResult<points_account::Model> {
    let account = account_of(db, community_id, holder, now).await?;
    locked(db, account.id).await
}

/// An account row, locked for the caller's transaction.
pub(crate) async fn locked<C: ConnectionTrait>(db: &C, id: i32) -> ApiResult<points_account::Model> {
    use sea_orm::QuerySelect;
    points_account::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or(crate::error::ApiError::NotFound)
}
