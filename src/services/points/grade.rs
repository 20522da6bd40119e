//! Credit grades: computed when read, from the bills of the units an account reaches today, so a
//! payment, refund or waiver changes the grade the moment it changes a bill (nothing to recompute
//! or go stale). Shown to the owner in `GET /me` and to staff; never published. Earning reads it
//! for grade A's multiplier.
use crate::domain::points::{self, BillRecord, Grade};
use crate::domain::states::BillStatus;
use crate::error::ApiResult;
use crate::state::AppState;
use entity::{bill, owner_account, unit};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;

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
    let bills = bill::Entity::find()
        .filter(bill::Column::UnitId.is_in(units.iter().copied()))
        .filter(bill::Column::Status.ne(BillStatus::Cancelled))
        .all(&state.db)
        .await?;
    let mut by_community: BTreeMap<i32, Vec<BillRecord>> = BTreeMap::new();
    let communities: BTreeSet<i32> = unit::Entity::find()
        .filter(unit::Column::Id.is_in(units.iter().copied()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| u.community_id)
        .collect();
    let mut zones = BTreeMap::new();
    for c in &communities {
        zones.insert(*c, state.community_tz(*c).await?);
        by_community.insert(*c, Vec::new());
    }
    for b in bills {
        let Some(tz) = zones.get(&b.community_id) else {
            continue;
        };
        by_community.entry(b.community_id).or_default().push(BillRecord {
            due: b.due_date,
            settled_on: b
                .paid_at
                .filter(|_| b.status == BillStatus::Paid)
                .map(|t| t.with_timezone(tz).date_naive()),
        });
    }
    Ok(by_community
        .into_iter()
        .map(|(c, records)| {
            let today = state.today_in(zones[&c]);
            (c, points::grade(&records, today))
        })
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
