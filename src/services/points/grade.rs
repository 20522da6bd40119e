//! Credit grades: computed when read, from the bills of the units an account reaches today, so a
//! payment, refund or waiver changes the grade the moment it changes a bill (nothing to recompute
//! or go stale). Shown to the owner in `GET /me` and to staff; never published. Earning reads it
//! for grade A's multiplier.
use super::Holder;
use crate::domain::points::{self, BillRecord, Grade};
use crate::domain::states::BillStatus;
use crate::error::ApiResult;
use crate::services::access::me::link_active;
use crate::state::AppState;
use chrono::{DateTime, NaiveDate, Utc};
use entity::{bill, owner, owner_account, unit, unit_owner};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use utoipa::ToSchema;

/// Unit ids per `IN (…)` when many holders' units are read at once: within both backends'
/// bind-parameter limits, and a statement small enough to go out in one send.
const UNITS_PER_QUERY: usize = 500;

/// Only what the grade reads of a bill: unit, community, due date, paid at, status.
type BillRow = (i32, i32, NaiveDate, Option<DateTime<Utc>>, BillStatus);
/// A unit's bill as the grade counts it: community, due date, when it was paid in full (if it was).
type Counted = (i32, NaiveDate, Option<DateTime<Utc>>);

/// An owner's standing in one community where they own a unit.
#[derive(Debug, Serialize, ToSchema)]
pub struct Standing {
    pub community_id: i32,
    /// `A`–`D` (see the README for the rules).
    pub credit_grade: String,
    /// Why, and how to improve, in plain Chinese.
    pub credit_explanation: String,
    /// Points spendable today.
    pub points: i64,
}

/// Each community's grade over the bills of `units` (a cancelled bill does not count).
pub(crate) async fn of_units(state: &AppState, units: &BTreeSet<i32>) -> ApiResult<BTreeMap<i32, (Grade, String)>> {
    Ok(of_unit_sets(state, &[((), units)])
        .await?
        .remove(&())
        .unwrap_or_default())
}

/// `of_units` for many sets of units at once, reading their bills together: each key's grades.
async fn of_unit_sets<K: Ord + Copy>(
    state: &AppState,
    sets: &[(K, &BTreeSet<i32>)],
) -> ApiResult<BTreeMap<K, BTreeMap<i32, (Grade, String)>>> {
    let all: Vec<i32> = sets
        .iter()
        .flat_map(|(_, units)| units.iter().copied())
        .collect::<BTreeSet<i32>>()
        .into_iter()
        .collect();
    let mut bills: HashMap<i32, Vec<Counted>> = HashMap::new();
    let mut community_of: HashMap<i32, i32> = HashMap::new();
    for chunk in all.chunks(UNITS_PER_QUERY) {
        // Only what the grade reads: a holder's bills are many and read for every batch of awards.
        let rows: Vec<BillRow> = bill::Entity::find()
            .select_only()
            .columns([
                bill::Column::UnitId,
                bill::Column::CommunityId,
                bill::Column::DueDate,
                bill::Column::PaidAt,
                bill::Column::Status,
            ])
            .filter(bill::Column::UnitId.is_in(chunk.iter().copied()))
            .filter(bill::Column::Status.ne(BillStatus::Cancelled))
            .into_tuple()
            .all(&state.db)
            .await?;
        for (unit, community, due, paid_at, status) in rows {
            let settled = paid_at.filter(|_| status == BillStatus::Paid);
            bills.entry(unit).or_default().push((community, due, settled));
        }
        for u in unit::Entity::find()
            .filter(unit::Column::Id.is_in(chunk.iter().copied()))
            .all(&state.db)
            .await?
        {
            community_of.insert(u.id, u.community_id);
        }
    }
    let mut zones = BTreeMap::new();
    for c in community_of.values().copied().collect::<BTreeSet<i32>>() {
        zones.insert(c, state.community_tz(c).await?);
    }
    let mut out = BTreeMap::new();
    for (key, units) in sets {
        // The communities of these units, each with its zone; a bill elsewhere does not count.
        let mut by_community: BTreeMap<i32, (chrono_tz::Tz, Vec<BillRecord>)> = BTreeMap::new();
        for c in units.iter().filter_map(|u| community_of.get(u)) {
            if let Some(tz) = zones.get(c) {
                by_community.insert(*c, (*tz, Vec::new()));
            }
        }
        for (community, due, settled) in units.iter().filter_map(|u| bills.get(u)).flatten() {
            let Some((tz, records)) = by_community.get_mut(community) else {
                continue;
            };
            records.push(BillRecord {
                due: *due,
                settled_on: settled.map(|t| t.with_timezone(tz).date_naive()),
            });
        }
        let grades = by_community
            .into_iter()
            .map(|(c, (tz, records))| (c, points::grade(&records, state.today_in(tz))))
            .collect();
        out.insert(*key, grades);
    }
    Ok(out)
}

/// Each holder's grade per community, as of now, for many holders at once (the earning pass's
/// batch): an account's over the units it reaches today (as `me::unit_ids_of_account`: those of
/// the owner records with its phone), a unit's over its own bills.
pub(crate) async fn of_holders(
    state: &AppState,
    holders: &BTreeSet<Holder>,
) -> ApiResult<HashMap<(Holder, i32), Grade>> {
    let mut units: BTreeMap<Holder, BTreeSet<i32>> = holders
        .iter()
        .map(|h| match h {
            Holder::Unit(u) => (*h, BTreeSet::from([*u])),
            // An account without a phone (or gone) reaches no unit.
            Holder::Account(_) => (*h, BTreeSet::new()),
        })
        .collect();
    let account_ids: Vec<i32> = holders
        .iter()
        .filter_map(|h| match h {
            Holder::Account(a) => Some(*a),
            Holder::Unit(_) => None,
        })
        .collect();
    if !account_ids.is_empty() {
        let accounts: Vec<(i32, String)> = owner_account::Entity::find()
            .filter(owner_account::Column::Id.is_in(account_ids))
            .all(&state.db)
            .await?
            .into_iter()
            .filter_map(|a| a.phone_index.map(|i| (a.id, i)))
            .collect();
        let index_of: HashMap<i32, String> = owner::Entity::find()
            .filter(owner::Column::PhoneIndex.is_in(accounts.iter().map(|(_, i)| i.clone())))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|o| (o.id, o.phone_index))
            .collect();
        let today = state.today();
        let mut by_index: HashMap<&str, BTreeSet<i32>> = HashMap::new();
        for l in unit_owner::Entity::find()
            .filter(unit_owner::Column::OwnerId.is_in(index_of.keys().copied()))
            .all(&state.db)
            .await?
        {
            if let (true, Some(i)) = (link_active(&l, today), index_of.get(&l.owner_id)) {
                by_index.entry(i.as_str()).or_default().insert(l.unit_id);
            }
        }
        for (id, index) in &accounts {
            if let Some(reached) = by_index.get(index.as_str()) {
                units.insert(Holder::Account(*id), reached.clone());
            }
        }
    }
    let sets: Vec<(Holder, &BTreeSet<i32>)> = units.iter().map(|(h, u)| (*h, u)).collect();
    Ok(of_unit_sets(state, &sets)
        .await?
        .into_iter()
        .flat_map(|(h, grades)| grades.into_iter().map(move |(c, (g, _))| ((h, c), g)))
        .collect())
}

/// The account's standing in every community where it owns a unit today.
pub async fn standing(state: &AppState, account_id: i32) -> ApiResult<Vec<Standing>> {
    let Some(account) = owner_account::Entity::find_by_id(account_id).one(&state.db).await? else {
        return Ok(Vec::new());
    };
    let units = crate::services::access::me::unit_ids_of_account(state, &account).await?;
    let mut out = Vec::new();
    for (community_id, (grade, why)) in of_units(state, &units).await? {
        // The units are read already: only the points account is left to find.
        let balance = match super::find(&state.db, community_id, super::Holder::Account(account_id)).await? {
            Some(held) => super::owner::view(state, community_id, &held).await?.balance,
            None => 0,
        };
        out.push(Standing {
            community_id,
            credit_grade: grade.as_str().into(),
            credit_explanation: why,
            points: balance,
        });
    }
    Ok(out)
}

/// Whether an owner's settled record in a community is grade A: at least one bill counted and
/// every one paid on time. Reminders read it to give good payers the friendly stage later; bills
/// still open do not count (being overdue now is what the reminder is about).
pub async fn owner_history_is_a(state: &AppState, owner_id: i32, community_id: i32) -> ApiResult<bool> {
    let tz = state.community_tz(community_id).await?;
    let today = state.today_in(tz);
    let units: BTreeSet<i32> = entity::unit_owner::Entity::find()
        .filter(entity::unit_owner::Column::OwnerId.eq(owner_id))
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|k| crate::services::access::me::link_active(k, today))
        .map(|k| k.unit_id)
        .collect();
    let records: Vec<BillRecord> = bill::Entity::find()
        .filter(bill::Column::UnitId.is_in(units))
        .filter(bill::Column::CommunityId.eq(community_id))
        .filter(bill::Column::Status.eq(BillStatus::Paid))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|b| BillRecord {
            due: b.due_date,
            settled_on: b.paid_at.map(|t| t.with_timezone(&tz).date_naive()),
        })
        .collect();
    let (grade, _) = points::grade(&records, today);
    let counted = records
        .iter()
        .any(|b| b.due <= today && b.due > today.checked_sub_months(chrono::Months::new(24)).unwrap_or(today));
    Ok(counted && grade == Grade::A)
}
