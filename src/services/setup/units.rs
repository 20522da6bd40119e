//! Units: codes, areas, handover dates, and transfers (过户) that end one owner's link the day the
//! next begins.
use crate::domain::role::Action;
use crate::domain::{text, Area};
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::services::access::me::link_active;
use crate::services::access::staff::StaffCtx;
use crate::services::setup::community_in_scope;
use crate::services::setup::masked_phone;
use crate::services::setup::paginate;
use crate::services::setup::parse_date;
use crate::services::setup::unit_in_scope;
use crate::services::setup::Page;
use crate::services::setup::PageQuery;
use crate::state::AppState;
use chrono::NaiveDate;
use entity::{community, owner, unit, unit_owner};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// `POST /staff/units`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewUnit {
    pub community_id: i32,
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 32
    )]
    pub building: String,
    #[schema(pattern = r#"^\s*[A-Za-z0-9_-]{1,32}\s*$"#)]
    pub code: String,
    #[schema(pattern = r#"^([1-9][0-9]{0,4}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$"#)]
    pub area_m2: String,
    #[schema(pattern = r#"^(19[7-9][0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"#, format = Date)]
    pub handover_date: Option<String>,
}

/// `PATCH /staff/units/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UnitPatch {
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 32
    )]
    pub building: Option<String>,
    #[schema(pattern = r#"^\s*[A-Za-z0-9_-]{1,32}\s*$"#)]
    pub code: Option<String>,
    #[schema(pattern = r#"^([1-9][0-9]{0,4}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$"#)]
    pub area_m2: Option<String>,
    #[schema(pattern = r#"^(19[7-9][0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"#, format = Date)]
    pub handover_date: Option<String>,
}

/// `POST /staff/units/{id}/transfer`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Transfer {
    #[schema(min_items = 1)]
    pub to_owner_ids: Vec<i32>,
    #[schema(pattern = r#"^(19[7-9][0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"#, format = Date)]
    pub date: String,
}

/// One ownership link, current or past.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OwnershipView {
    pub owner_id: i32,
    pub name: String,
    /// Masked.
    pub phone: String,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
}

/// A unit as staff see it, with current owners and the ownership history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnitDetail {
    pub id: i32,
    pub community_id: i32,
    pub building: String,
    pub code: String,
    pub area_m2: String,
    pub handover_date: Option<NaiveDate>,
    pub owners: Vec<OwnershipView>,
    pub history: Vec<OwnershipView>,
}

/// Filters of `GET /staff/units`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UnitQuery {
    pub community_id: i32,
    #[param(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 32
    )]
    pub building: Option<String>,
    /// Units whose code contains this, or whose current owner's name contains it or whose phone
    /// it is (a whole mobile number, matched through its blind index).
    #[param(max_length = 32)]
    pub q: Option<String>,
}

async fn unit_details(state: &AppState, units: Vec<unit::Model>) -> ApiResult<Vec<UnitDetail>> {
    let ids: Vec<i32> = units.iter().map(|u| u.id).collect();
    let links = if ids.is_empty() {
        Vec::new()
    } else {
        unit_owner::Entity::find()
            .filter(unit_owner::Column::UnitId.is_in(ids))
            .order_by_asc(unit_owner::Column::StartDate)
            .order_by_asc(unit_owner::Column::Id)
            .all(&state.db)
            .await?
    };
    let owner_ids: BTreeSet<i32> = links.iter().map(|l| l.owner_id).collect();
    let owners: BTreeMap<i32, owner::Model> = if owner_ids.is_empty() {
        BTreeMap::new()
    } else {
        owner::Entity::find()
            .filter(owner::Column::Id.is_in(owner_ids))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|o| (o.id, o))
            .collect()
    };
    let today = state.today();
    let mut by_unit: BTreeMap<i32, Vec<&unit_owner::Model>> = BTreeMap::new();
    for l in &links {
        by_unit.entry(l.unit_id).or_default().push(l);
    }
    let view = |l: &unit_owner::Model| {
        let o = owners.get(&l.owner_id);
        OwnershipView {
            owner_id: l.owner_id,
            name: o.map(|o| o.name.clone()).unwrap_or_default(),
            phone: o.map(|o| masked_phone(state, &o.phone_enc)).unwrap_or_default(),
            start_date: l.start_date,
            end_date: l.end_date,
        }
    };
    Ok(units
        .into_iter()
        .map(|u| {
            let ls = by_unit.remove(&u.id).unwrap_or_default();
            UnitDetail {
                owners: ls.iter().filter(|l| link_active(l, today)).map(|l| view(l)).collect(),
                history: ls.iter().map(|l| view(l)).collect(),
                id: u.id,
                community_id: u.community_id,
                building: u.building,
                code: u.code,
                area_m2: Area(u.area_centi_m2).to_m2_string(),
                handover_date: u.handover_date,
            }
        })
        .collect())
}

async fn code_taken<C: ConnectionTrait>(db: &C, community_id: i32, code: &str, except: Option<i32>) -> ApiResult<bool> {
    let mut q = unit::Entity::find()
        .filter(unit::Column::CommunityId.eq(community_id))
        .filter(unit::Column::Code.eq(code));
    if let Some(id) = except {
        q = q.filter(unit::Column::Id.ne(id));
    }
    Ok(q.one(db).await?.is_some())
}

/// Creates a unit in a community of the caller's scope.
pub async fn create_unit(state: &AppState, ctx: &StaffCtx, body: NewUnit) -> ApiResult<UnitDetail> {
    let auth = ctx.authorize(state, Action::EditUnitsAndOwners)?;
    let mut errors = FieldErrors::new();
    let exists = community::Entity::find_by_id(body.community_id)
        .one(&state.db)
        .await?
        .is_some();
    if !exists || !ctx.sees(body.community_id) {
        errors.insert("community_id".into(), "小区不存在".into());
    }
    let building = text::name(&body.building, 32)
        .map_err(|m| errors.insert("building".into(), m))
        .ok();
    let code = text::code(&body.code).map_err(|m| errors.insert("code".into(), m)).ok();
    let area = Area::parse(&body.area_m2)
        .map_err(|m| errors.insert("area_m2".into(), m.into()))
        .ok();
    let handover = body
        .handover_date
        .as_deref()
        .and_then(|d| parse_date("handover_date", d, &mut errors));
    let (Some(building), Some(code), Some(area)) = (building, code, area) else {
        return Err(ApiError::Validation(errors));
    };
    ApiError::check(errors)?;
    let cmd = auth.begin().await?;
    let (now, txn) = (cmd.now, cmd.txn());
    if code_taken(txn, body.community_id, &code, None).await? {
        return Err(ApiError::field("code", "该小区已有此房屋编号"));
    }
    let u = unit::ActiveModel {
        community_id: Set(body.community_id),
        building: Set(building),
        code: Set(code),
        area_centi_m2: Set(area.0),
        handover_date: Set(handover),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    cmd.audit("unit.create", "unit", u.id, serde_json::json!({})).await?;
    cmd.commit().await?;
    first(unit_details(state, vec![u]).await?)
}

pub(super) fn first<T>(v: Vec<T>) -> ApiResult<T> {
    v.into_iter().next().ok_or(ApiError::NotFound)
}

pub async fn get_unit(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<UnitDetail> {
    ctx.require(Action::ReadSetup)?;
    let u = unit_in_scope(state, ctx, id).await?;
    first(unit_details(state, vec![u]).await?)
}

/// "楼栋 房号" of each unit in `ids` the member sees, in one query (for lists that name units).
pub async fn labels(state: &AppState, ctx: &StaffCtx, ids: &[i32]) -> ApiResult<BTreeMap<i32, String>> {
    ctx.require(Action::ReadSetup)?;
    Ok(unit::Entity::find()
        .filter(unit::Column::Id.is_in(ids.iter().copied()))
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|u| ctx.sees(u.community_id))
        .map(|u| (u.id, label(&u)))
        .collect())
}

/// How a unit is named to people: building and code, e.g. `A A-1-101`.
pub fn label(u: &unit::Model) -> String {
    format!("{} {}", u.building, u.code)
}

/// Labels of units by id, for passes and views that have no staff member to scope them.
pub async fn labels_of<C: sea_orm::ConnectionTrait>(
    db: &C,
    ids: impl IntoIterator<Item = i32>,
) -> ApiResult<BTreeMap<i32, String>> {
    Ok(unit::Entity::find()
        .filter(unit::Column::Id.is_in(ids))
        .all(db)
        .await?
        .iter()
        .map(|u| (u.id, label(u)))
        .collect())
}

/// Units of one community, optionally one building or those a search finds, a page at a time.
pub async fn list_units(
    state: &AppState,
    ctx: &StaffCtx,
    q: UnitQuery,
    page: PageQuery,
) -> ApiResult<Page<UnitDetail>> {
    ctx.require(Action::ReadSetup)?;
    community_in_scope(state, ctx, q.community_id).await?;
    let mut query = unit::Entity::find().filter(unit::Column::CommunityId.eq(q.community_id));
    if let Some(b) = &q.building {
        query = query.filter(unit::Column::Building.eq(b.trim()));
    }
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let owners = entity::owner::Entity::find().filter(entity::owner::Column::CommunityId.eq(q.community_id));
        let owners = match crate::domain::phone::Phone::parse(text) {
            Ok(p) => owners.filter(entity::owner::Column::PhoneIndex.eq(state.cipher.blind_index(p.expose()))),
            Err(_) => owners.filter(entity::owner::Column::Name.contains(text)),
        };
        let owner_ids: Vec<i32> = owners.all(&state.db).await?.into_iter().map(|o| o.id).collect();
        let linked: Vec<i32> = if owner_ids.is_empty() {
            Vec::new()
        } else {
            entity::unit_owner::Entity::find()
                .filter(entity::unit_owner::Column::OwnerId.is_in(owner_ids))
                .filter(entity::unit_owner::Column::EndDate.is_null())
                .all(&state.db)
                .await?
                .into_iter()
                .map(|l| l.unit_id)
                .collect()
        };
        query = query.filter(
            sea_orm::Condition::any()
                .add(unit::Column::Code.contains(text))
                .add(unit::Column::Id.is_in(linked)),
        );
    }
    let query = query
        .order_by_asc(unit::Column::Building)
        .order_by_asc(unit::Column::Code);
    let (units, total, page_no, per_page) = paginate(state, query, &page).await?;
    Ok(Page {
        items: unit_details(state, units).await?,
        total,
        page: page_no,
        per_page,
    })
}

/// Edits a unit's building, code, area or handover date (audited with old and new values).
pub async fn update_unit(state: &AppState, ctx: &StaffCtx, id: i32, patch: UnitPatch) -> ApiResult<UnitDetail> {
    let u = unit_in_scope(state, ctx, id).await?;
    let auth = ctx.authorize(state, Action::EditUnitsAndOwners)?;
    let mut errors = FieldErrors::new();
    let building = patch
        .building
        .as_deref()
        .map(|b| text::name(b, 32).map_err(|m| errors.insert("building".into(), m)).ok());
    let code = patch
        .code
        .as_deref()
        .map(|c| text::code(c).map_err(|m| errors.insert("code".into(), m)).ok());
    let area = patch.area_m2.as_deref().map(|a| {
        Area::parse(a)
            .map_err(|m| errors.insert("area_m2".into(), m.into()))
            .ok()
    });
    let handover = patch
        .handover_date
        .as_deref()
        .map(|d| parse_date("handover_date", d, &mut errors));
    ApiError::check(errors)?;
    let mut cmd = auth.begin().await?;
    let txn = cmd.txn();
    if let Some(Some(c)) = &code {
        if code_taken(txn, u.community_id, c, Some(id)).await? {
            return Err(ApiError::field("code", "该小区已有此房屋编号"));
        }
    }
    // The collection reports sum a unit's bills under the building it had when they were written.
    if let Some(Some(b)) = &building {
        if *b != u.building
            && entity::bill::Entity::find()
                .filter(entity::bill::Column::UnitId.eq(id))
                .one(txn)
                .await?
                .is_some()
        {
            return Err(ApiError::Conflict(
                "UNIT_HAS_BILLS",
                "该房屋已有账单，楼栋不能再改（收费率报表按楼栋汇总这些账单）".into(),
            ));
        }
    }
    let before = serde_json::json!({"building": u.building, "code": u.code, "area_centi_m2": u.area_centi_m2, "handover_date": u.handover_date});
    let mut am: unit::ActiveModel = u.into();
    if let Some(Some(b)) = building {
        am.building = Set(b);
    }
    if let Some(Some(c)) = code {
        am.code = Set(c);
    }
    if let Some(Some(a)) = area {
        am.area_centi_m2 = Set(a.0);
    }
    if let Some(Some(d)) = handover {
        am.handover_date = Set(Some(d));
    }
    let u = am.update(txn).await?;
    cmd.audit("unit.update", "unit", id, serde_json::json!({"before": before}))
        .await?;
    cmd.touches_community(u.community_id);
    cmd.commit().await?;
    first(unit_details(state, vec![u]).await?)
}

/// Transfers a unit (过户): current links end on `date`, the new owners' links start on it.
/// Nothing is deleted, so the history (and who owed what when) stays.
pub async fn transfer_unit(state: &AppState, ctx: &StaffCtx, id: i32, body: Transfer) -> ApiResult<UnitDetail> {
    let u = unit_in_scope(state, ctx, id).await?;
    let auth = ctx.authorize(state, Action::EditUnitsAndOwners)?;
    let mut errors = FieldErrors::new();
    let date = parse_date("date", &body.date, &mut errors);
    let to: BTreeSet<i32> = body.to_owner_ids.iter().copied().collect();
    if to.is_empty() {
        errors.insert("to_owner_ids".into(), "至少需要一位新业主".into());
    } else {
        let found = owner::Entity::find()
            .filter(owner::Column::Id.is_in(to.clone()))
            .filter(owner::Column::CommunityId.eq(u.community_id))
            .count(&state.db)
            .await?;
        if found != to.len() as u64 {
            errors.insert("to_owner_ids".into(), "包含不存在或不属于该小区的业主".into());
        }
    }
    let Some(date) = date else {
        return Err(ApiError::Validation(errors));
    };
    ApiError::check(errors)?;
    let mut cmd = auth.begin().await?;
    let (now, txn) = (cmd.now, cmd.txn());
    let open = unit_owner::Entity::find()
        .filter(unit_owner::Column::UnitId.eq(id))
        .filter(unit_owner::Column::EndDate.is_null())
        .all(txn)
        .await?;
    if open.iter().any(|l| l.start_date > date) {
        return Err(ApiError::field("date", "过户日期不能早于现业主的起始日期"));
    }
    let from: Vec<i32> = open.iter().map(|l| l.owner_id).collect();
    for l in open {
        let mut am: unit_owner::ActiveModel = l.into();
        am.end_date = Set(Some(date));
        am.update(txn).await?;
    }
    for owner_id in &to {
        unit_owner::ActiveModel {
            unit_id: Set(id),
            owner_id: Set(*owner_id),
            start_date: Set(date),
            end_date: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    cmd.audit(
        "unit.transfer",
        "unit",
        id,
        serde_json::json!({"from": from, "to": to, "date": date}),
    )
    .await?;
    cmd.touches_community(u.community_id);
    cmd.commit().await?;
    first(unit_details(state, vec![u]).await?)
}
