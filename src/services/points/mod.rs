//! Points (issue #15): owners earn for paying on time, per community. This context owns the
//! `points_accounts`, `points_lots` and `points_entries` tables; every number comes from
//! `domain::points`.
//!
//! - `earn`: the scheduler's pass that awards credited payment lines, once each (a unique source per
//!   entry), for the paying account — or, for counter payments, the account of the unit's
//!   first-listed current owner, else the unit until one links.
//! - `reverse`: what a refund takes back, once per refund and line; spent points become owed.
//! - `fees`: points toward fees — the quote and hold `POST /payments` uses, and the pass that
//!   spends, releases and returns them as orders are paid, closed and refunded.
//! - `grade`: the A–D credit grade, computed when read from the bills of the account's units.
//! - `expire`: what is left of a lot after its last day, once per lot.
//! - `link`: points held on a unit move to its owner's account once one links.
//! - `notify`: owners told a month before their points expire, once per account and date.
//! - `streak`: the bonus for months in a row paid on time, once per holder and completing month.
//! - `owner`: `GET /me/points`; `staff`: a unit's holder's points and staff adjustments (audited).
//! - `rewards`: the catalog; `redeem`: owners' redemptions and staff fulfilling or cancelling them.
//! - `settings`: each community's rules (the defaults until finance saves its own).
//!
//! The payment use cases call only `fees::quote` and `fees::hold`; the passes read what the ledger
//! credited and refunded.
pub mod earn;
pub mod expire;
pub mod fees;
pub mod grade;
pub mod link;
pub mod notify;
pub mod owner;
pub mod redeem;
pub mod reverse;
pub mod rewards;
pub mod settings;
pub mod staff;
pub mod streak;

use crate::domain::points;
use crate::error::ApiResult;
use crate::services::access::me::link_active;
use crate::state::AppState;
use chrono::{DateTime, NaiveDate, Utc};
use entity::states::PointsEntryKind;
use entity::{owner as owner_row, owner_account, points_account, points_entry, points_lot, points_take, unit_owner};
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
    pub streaks: streak::StreakReport,
    pub notices: notify::NotifyReport,
    pub linked: link::LinkReport,
    pub fees: fees::FeeReport,
}

/// The scheduler's points work: award what was credited, reverse what was refunded, expire lots,
/// award streaks, tell owners what expires next month, move unit-held points to linked accounts.
pub async fn tick(state: &crate::state::AppState) -> ApiResult<TickReport> {
    Ok(TickReport {
        earned: earn::pass(state).await?,
        reversed: reverse::pass(state).await?,
        fees: fees::pass(state).await?,
        expired: expire::pass(state).await?,
        streaks: streak::pass(state).await?,
        notices: notify::pass(state).await?,
        linked: link::pass(state).await?,
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

/// Spends `n` points of an account the caller locked: the soonest-expiring live lots first, each
/// take recorded under `source` so a cancellation can return it. Refused (409
/// `INSUFFICIENT_POINTS`) beyond what may be spent today.
pub(crate) async fn spend<C: ConnectionTrait>(
    db: &C,
    account: &points_account::Model,
    n: i64,
    today: NaiveDate,
    source: Option<(&str, i32)>,
) -> ApiResult<()> {
    use sea_orm::sea_query::ExprTrait;
    use sea_orm::QuerySelect;
    let lots = points_lot::Entity::find()
        .filter(points_lot::Column::PointsAccountId.eq(account.id))
        .filter(points_lot::Column::Remaining.gt(0))
        .lock_exclusive()
        .all(db)
        .await?;
    let as_lots: Vec<points::Lot> = lots
        .iter()
        .map(|l| points::Lot {
            id: l.id as i64,
            expires_on: l.expires_on,
            remaining: l.remaining,
        })
        .collect();
    let takes = points::take_oldest(&as_lots, account.debt, n, today).map_err(|s| {
        crate::error::ApiError::Conflict("INSUFFICIENT_POINTS", format!("积分不足：当前可用{}分", s.available))
    })?;
    for (id, take) in takes {
        points_lot::Entity::update_many()
            .col_expr(
                points_lot::Column::Remaining,
                Expr::col(points_lot::Column::Remaining).sub(take),
            )
            .filter(points_lot::Column::Id.eq(id as i32))
            .exec(db)
            .await?;
        if let Some((kind, source_id)) = source {
            points_take::ActiveModel {
                points_account_id: Set(account.id),
                lot_id: Set(id as i32),
                points: Set(take),
                source_kind: Set(kind.to_string()),
                source_id: Set(source_id),
                ..Default::default()
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// Puts back what a spend under `source` took, each part into the lot it came from (so it keeps
/// that lot's expiry). Parts whose lot is already past its last day cannot come back to life:
/// they are returned and expire at once. (returned, of which already expired).
pub(crate) async fn give_back<C: ConnectionTrait>(
    db: &C,
    source: (&str, i32),
    today: NaiveDate,
) -> ApiResult<(i64, i64)> {
    use sea_orm::sea_query::ExprTrait;
    let takes = points_take::Entity::find()
        .filter(points_take::Column::SourceKind.eq(source.0))
        .filter(points_take::Column::SourceId.eq(source.1))
        .all(db)
        .await?;
    let lots: HashMap<i32, points_lot::Model> = points_lot::Entity::find()
        .filter(points_lot::Column::Id.is_in(takes.iter().map(|t| t.lot_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    let (mut returned, mut lapsed) = (0, 0);
    for t in &takes {
        returned += t.points;
        if lots.get(&t.lot_id).is_some_and(|l| l.expires_on >= today) {
            points_lot::Entity::update_many()
                .col_expr(
                    points_lot::Column::Remaining,
                    Expr::col(points_lot::Column::Remaining).add(t.points),
                )
                .filter(points_lot::Column::Id.eq(t.lot_id))
                .exec(db)
                .await?;
        } else {
            lapsed += t.points;
        }
    }
    // Returned once: a second call finds nothing to give back.
    points_take::Entity::delete_many()
        .filter(points_take::Column::SourceKind.eq(source.0))
        .filter(points_take::Column::SourceId.eq(source.1))
        .exec(db)
        .await?;
    Ok((returned, lapsed))
}
