//! What an owner sees: their profile and the units their verified phone reaches.
use crate::domain::{phone, Area};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use chrono::NaiveDate;
use entity::{community, owner, owner_account, unit, unit_owner};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A community as shown inside unit views.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CommunityRef {
    pub id: i32,
    pub name: String,
}

/// A unit as its owner sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnitView {
    pub id: i32,
    pub code: String,
    pub community: CommunityRef,
    pub building: String,
    pub area_m2: String,
}

/// `GET /me`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeView {
    pub id: i32,
    pub bound: bool,
    /// Masked, e.g. `138****0001`; absent until a phone is bound.
    pub phone: Option<String>,
    pub units: Vec<UnitView>,
}

/// Whether an ownership link is in force on `day` (a transfer ends one link and starts another).
pub fn link_active(link: &unit_owner::Model, day: NaiveDate) -> bool {
    link.start_date <= day && link.end_date.is_none_or(|end| day < end)
}

/// Owner records whose phone has this blind index.
pub async fn records_for_index(state: &AppState, index: &str) -> ApiResult<Vec<owner::Model>> {
    Ok(owner::Entity::find()
        .filter(owner::Column::PhoneIndex.eq(index))
        .all(&state.db)
        .await?)
}

/// Unit views for ids, ordered by community then code.
pub async fn unit_views(state: &AppState, unit_ids: &BTreeSet<i32>) -> ApiResult<Vec<UnitView>> {
    if unit_ids.is_empty() {
        return Ok(Vec::new());
    }
    let units = unit::Entity::find()
        .filter(unit::Column::Id.is_in(unit_ids.iter().copied()))
        .order_by_asc(unit::Column::CommunityId)
        .order_by_asc(unit::Column::Code)
        .all(&state.db)
        .await?;
    let cids: BTreeSet<i32> = units.iter().map(|u| u.community_id).collect();
    let names: BTreeMap<i32, String> = community::Entity::find()
        .filter(community::Column::Id.is_in(cids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    Ok(units
        .into_iter()
        .map(|u| UnitView {
            id: u.id,
            community: CommunityRef {
                id: u.community_id,
                name: names.get(&u.community_id).cloned().unwrap_or_default(),
            },
            code: u.code,
            building: u.building,
            area_m2: Area(u.area_centi_m2).to_m2_string(),
        })
        .collect())
}

/// Ids of the units an account currently reaches through its verified phone.
pub async fn unit_ids_of_account(state: &AppState, account: &owner_account::Model) -> ApiResult<BTreeSet<i32>> {
    let Some(index) = &account.phone_index else {
        return Ok(BTreeSet::new());
    };
    let owner_ids: Vec<i32> = records_for_index(state, index)
        .await?
        .into_iter()
        .map(|o| o.id)
        .collect();
    if owner_ids.is_empty() {
        return Ok(BTreeSet::new());
    }
    let today = state.today();
    let links = unit_owner::Entity::find()
        .filter(Condition::all().add(unit_owner::Column::OwnerId.is_in(owner_ids)))
        .all(&state.db)
        .await?;
    Ok(links
        .iter()
        .filter(|l| link_active(l, today))
        .map(|l| l.unit_id)
        .collect())
}

/// The units an account reaches, as views.
pub async fn units_of_account(state: &AppState, account: &owner_account::Model) -> ApiResult<Vec<UnitView>> {
    let ids = unit_ids_of_account(state, account).await?;
    unit_views(state, &ids).await
}

async fn account(state: &AppState, account_id: i32) -> ApiResult<owner_account::Model> {
    owner_account::Entity::find_by_id(account_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::Unauthenticated)
}

/// `GET /me`.
pub async fn me(state: &AppState, account_id: i32) -> ApiResult<MeView> {
    let a = account(state, account_id).await?;
    let phone = match &a.phone_enc {
        Some(enc) => Some(phone::mask(&state.cipher.decrypt(enc).map_err(ApiError::internal)?)),
        None => None,
    };
    let units = units_of_account(state, &a).await?;
    Ok(MeView {
        id: a.id,
        bound: a.phone_index.is_some(),
        phone,
        units,
    })
}

/// `GET /me/units/{id}`: 404 unless the account reaches that unit.
pub async fn my_unit(state: &AppState, account_id: i32, unit_id: i32) -> ApiResult<UnitView> {
    let a = account(state, account_id).await?;
    let ids = unit_ids_of_account(state, &a).await?;
    if !ids.contains(&unit_id) {
        return Err(ApiError::NotFound);
    }
    unit_views(state, &BTreeSet::from([unit_id]))
        .await?
        .into_iter()
        .next()
        .ok_or(ApiError::NotFound)
}
