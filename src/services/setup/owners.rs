//! Owners: names and phones (encrypted, blind-indexed, masked; revealed only with a recorded
//! purpose) and their links to units.
use crate::domain::role::Action;
use crate::domain::{text, Phone};
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::services::access::me::link_active;
use crate::services::access::staff::StaffCtx;
use crate::services::setup::community_in_scope;
use crate::services::setup::masked_phone;
use crate::services::setup::paginate;
use crate::services::setup::units::first;
use crate::services::setup::Page;
use crate::services::setup::PageQuery;
use crate::state::AppState;
use chrono::NaiveDate;
use entity::{community, owner, pii_access_log, unit, unit_owner};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// `POST /staff/owners`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewOwner {
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 64
    )]
    pub name: String,
    #[schema(pattern = r#"^(\+86)?1[3-9][0-9]{9}$"#)]
    pub phone: String,
    #[serde(default)]
    pub unit_ids: Vec<i32>,
    /// Needed only when `unit_ids` is empty.
    pub community_id: Option<i32>,
}

/// `PATCH /staff/owners/{id}`: `unit_ids`, when given, is the new set of current units.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct OwnerPatch {
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 64
    )]
    pub name: Option<String>,
    #[schema(pattern = r#"^(\+86)?1[3-9][0-9]{9}$"#)]
    pub phone: Option<String>,
    pub unit_ids: Option<Vec<i32>>,
}

/// An owner record as staff see it (phone masked).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OwnerView {
    pub id: i32,
    pub community_id: i32,
    pub name: String,
    pub phone: String,
    pub unit_ids: Vec<i32>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Filters of `GET /staff/owners`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct OwnerQuery {
    pub community_id: i32,
    /// Exact phone number, matched through the blind index.
    #[param(pattern = r#"^(\+86)?1[3-9][0-9]{9}$"#)]
    pub phone: Option<String>,
}

/// `POST /staff/owners/{id}/reveal-phone`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RevealRequest {
    /// Why the full number is needed, e.g. "催缴电话" (required: PIPL asks why personal data is used).
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 100
    )]
    pub purpose: String,
}

/// The full number, shown once and recorded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RevealedPhone {
    pub owner_id: i32,
    pub phone: String,
}

/// One recorded reveal.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PiiAccessView {
    pub staff_id: i32,
    pub owner_id: i32,
    pub field: String,
    pub purpose: Option<String>,
    pub at: chrono::DateTime<chrono::Utc>,
}

async fn owner_views(state: &AppState, owners: Vec<owner::Model>) -> ApiResult<Vec<OwnerView>> {
    let ids: Vec<i32> = owners.iter().map(|o| o.id).collect();
    let today = state.today();
    let links = if ids.is_empty() {
        Vec::new()
    } else {
        unit_owner::Entity::find()
            .filter(unit_owner::Column::OwnerId.is_in(ids))
            .all(&state.db)
            .await?
    };
    let mut units: BTreeMap<i32, BTreeSet<i32>> = BTreeMap::new();
    for l in links.iter().filter(|l| link_active(l, today)) {
        units.entry(l.owner_id).or_default().insert(l.unit_id);
    }
    Ok(owners
        .into_iter()
        .map(|o| OwnerView {
            unit_ids: units.remove(&o.id).unwrap_or_default().into_iter().collect(),
            phone: masked_phone(state, &o.phone_enc),
            id: o.id,
            community_id: o.community_id,
            name: o.name,
            created_at: o.created_at,
        })
        .collect())
}

async fn owner_in_scope(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<owner::Model> {
    let o = owner::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx.require_community(o.community_id)?;
    Ok(o)
}

/// Checks that every unit id exists in `community_id`; names the field otherwise.
async fn check_unit_ids(
    state: &AppState,
    ids: &BTreeSet<i32>,
    community_id: i32,
    errors: &mut FieldErrors,
) -> ApiResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let found = unit::Entity::find()
        .filter(unit::Column::Id.is_in(ids.clone()))
        .filter(unit::Column::CommunityId.eq(community_id))
        .count(&state.db)
        .await?;
    if found != ids.len() as u64 {
        errors.insert("unit_ids".into(), "包含不存在或不属于该小区的房屋".into());
    }
    Ok(())
}

/// Creates an owner record linked to units from today.
pub async fn create_owner(state: &AppState, ctx: &StaffCtx, body: NewOwner) -> ApiResult<OwnerView> {
    let auth = ctx.authorize(state, Action::EditUnitsAndOwners)?;
    let mut errors = FieldErrors::new();
    let name = text::name(&body.name, 64)
        .map_err(|m| errors.insert("name".into(), m))
        .ok();
    let phone = Phone::parse(&body.phone)
        .map_err(|m| errors.insert("phone".into(), m.into()))
        .ok();
    let unit_ids: BTreeSet<i32> = body.unit_ids.iter().copied().collect();
    // The owner's community: given, or the community of the first unit.
    let community_id = match body.community_id {
        Some(c) => Some(c),
        None => match unit_ids.first() {
            Some(uid) => unit::Entity::find_by_id(*uid)
                .one(&state.db)
                .await?
                .map(|u| u.community_id),
            None => None,
        },
    };
    match community_id {
        Some(c) if ctx.sees(c) && community::Entity::find_by_id(c).one(&state.db).await?.is_some() => {
            check_unit_ids(state, &unit_ids, c, &mut errors).await?;
        }
        _ if !unit_ids.is_empty() && body.community_id.is_none() => {
            errors.insert("unit_ids".into(), "包含不存在的房屋".into());
        }
        _ => {
            errors.insert("community_id".into(), "小区不存在".into());
        }
    }
    let (Some(name), Some(phone), Some(community_id)) = (name, phone, community_id) else {
        return Err(ApiError::Validation(errors));
    };
    ApiError::check(errors)?;
    let now = state.clock.now();
    let today = state.today();
    let mut cmd = auth.begin().await?;
    let txn = cmd.txn();
    let o = owner::ActiveModel {
        community_id: Set(community_id),
        name: Set(name),
        phone_enc: Set(state.cipher.encrypt(phone.expose()).map_err(ApiError::internal)?),
        phone_index: Set(state.cipher.blind_index(phone.expose())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    for uid in &unit_ids {
        link(txn, *uid, o.id, today, now).await?;
    }
    cmd.audit("owner.create", "owner", o.id, serde_json::json!({"unit_ids": unit_ids}))
        .await?;
    cmd.touches_owner_records();
    cmd.touches_community(o.community_id);
    cmd.commit().await?;
    tracing::info!(owner_id = o.id, phone = %phone, "owner record created");
    first(owner_views(state, vec![o]).await?)
}

/// Adds an ownership link starting `from`.
pub async fn link<C: ConnectionTrait>(
    db: &C,
    unit_id: i32,
    owner_id: i32,
    from: NaiveDate,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<()> {
    unit_owner::ActiveModel {
        unit_id: Set(unit_id),
        owner_id: Set(owner_id),
        start_date: Set(from),
        end_date: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn get_owner(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<OwnerView> {
    ctx.require(Action::ReadSetup)?;
    let o = owner_in_scope(state, ctx, id).await?;
    first(owner_views(state, vec![o]).await?)
}

/// Owner records of a community, optionally the one with an exact phone.
pub async fn list_owners(
    state: &AppState,
    ctx: &StaffCtx,
    q: OwnerQuery,
    page: PageQuery,
) -> ApiResult<Page<OwnerView>> {
    ctx.require(Action::ReadSetup)?;
    community_in_scope(state, ctx, q.community_id).await?;
    let mut query = owner::Entity::find().filter(owner::Column::CommunityId.eq(q.community_id));
    if let Some(p) = &q.phone {
        let phone = Phone::parse(p).map_err(|m| ApiError::field("phone", m))?;
        query = query.filter(owner::Column::PhoneIndex.eq(state.cipher.blind_index(phone.expose())));
    }
    let (owners, total, page_no, per_page) = paginate(state, query.order_by_asc(owner::Column::Id), &page).await?;
    Ok(Page {
        items: owner_views(state, owners).await?,
        total,
        page: page_no,
        per_page,
    })
}

/// Edits an owner's name, phone or set of current units (removed links end today, new ones start today).
pub async fn update_owner(state: &AppState, ctx: &StaffCtx, id: i32, patch: OwnerPatch) -> ApiResult<OwnerView> {
    let o = owner_in_scope(state, ctx, id).await?;
    let auth = ctx.authorize(state, Action::EditUnitsAndOwners)?;
    let mut errors = FieldErrors::new();
    let name = patch
        .name
        .as_deref()
        .map(|n| text::name(n, 64).map_err(|m| errors.insert("name".into(), m)).ok());
    let phone = patch.phone.as_deref().map(|p| {
        Phone::parse(p)
            .map_err(|m| errors.insert("phone".into(), m.into()))
            .ok()
    });
    let wanted: Option<BTreeSet<i32>> = patch.unit_ids.as_ref().map(|v| v.iter().copied().collect());
    if let Some(w) = &wanted {
        check_unit_ids(state, w, o.community_id, &mut errors).await?;
    }
    ApiError::check(errors)?;
    let now = state.clock.now();
    let today = state.today();
    let mut cmd = auth.begin().await?;
    let txn = cmd.txn();
    let mut am: owner::ActiveModel = o.into();
    if let Some(Some(n)) = name {
        am.name = Set(n);
    }
    if let Some(Some(p)) = &phone {
        am.phone_enc = Set(state.cipher.encrypt(p.expose()).map_err(ApiError::internal)?);
        am.phone_index = Set(state.cipher.blind_index(p.expose()));
    }
    am.updated_at = Set(now);
    let o = am.update(txn).await?;
    if let Some(wanted) = &wanted {
        let links = unit_owner::Entity::find()
            .filter(unit_owner::Column::OwnerId.eq(id))
            .all(txn)
            .await?;
        let current: BTreeSet<i32> = links
            .iter()
            .filter(|l| link_active(l, today))
            .map(|l| l.unit_id)
            .collect();
        for l in links
            .into_iter()
            .filter(|l| link_active(l, today) && !wanted.contains(&l.unit_id))
        {
            let mut lm: unit_owner::ActiveModel = l.into();
            lm.end_date = Set(Some(today));
            lm.update(txn).await?;
        }
        for uid in wanted.difference(&current) {
            link(txn, *uid, id, today, now).await?;
        }
    }
    let detail = serde_json::json!({"name_changed": patch.name.is_some(), "phone_changed": patch.phone.is_some(), "unit_ids": patch.unit_ids});
    cmd.audit("owner.update", "owner", id, detail).await?;
    cmd.touches_owner_records();
    cmd.touches_community(o.community_id);
    cmd.commit().await?;
    first(owner_views(state, vec![o]).await?)
}

/// Shows an owner's full phone to staff whose role allows it, recording who, whose and when.
pub async fn reveal_phone(state: &AppState, ctx: &StaffCtx, id: i32, req: RevealRequest) -> ApiResult<RevealedPhone> {
    let o = owner_in_scope(state, ctx, id).await?;
    ctx.require(Action::RevealPhone)?;
    let purpose = Some(text::name(&req.purpose, 100).map_err(|m| ApiError::field("purpose", m))?);
    let phone = state.cipher.decrypt(&o.phone_enc).map_err(ApiError::internal)?;
    pii_access_log::ActiveModel {
        staff_id: Set(ctx.id),
        owner_id: Set(id),
        field: Set("phone".into()),
        purpose: Set(purpose),
        at: Set(state.clock.now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    tracing::info!(staff_id = ctx.id, owner_id = id, "full phone revealed");
    Ok(RevealedPhone { owner_id: id, phone })
}

/// Filters of `GET /staff/pii-access-log`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PiiQuery {
    pub owner_id: Option<i32>,
}

/// The reveal record (admin only).
pub async fn pii_access_log(state: &AppState, ctx: &StaffCtx, q: PiiQuery) -> ApiResult<Vec<PiiAccessView>> {
    ctx.require(Action::ManageStaff)?;
    let mut query = pii_access_log::Entity::find().order_by_desc(pii_access_log::Column::Id);
    if let Some(o) = q.owner_id {
        query = query.filter(pii_access_log::Column::OwnerId.eq(o));
    }
    Ok(query
        .limit(500)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| PiiAccessView {
            staff_id: r.staff_id,
            owner_id: r.owner_id,
            field: r.field,
            purpose: r.purpose,
            at: r.at,
        })
        .collect())
}
