//! The rewards catalog: per community, goods and services with a points cost, stock and an
//! optional per-owner limit. Staff who run the front desk (service staff and admins) keep it;
//! owners see what is active in communities where points are on and they own a unit.
use crate::domain::role::Action;
use crate::domain::text;
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::services::access::staff::StaffCtx;
use crate::services::audit;
use crate::services::setup::communities::Features;
use crate::state::AppState;
use entity::states::RewardKind;
use entity::{community, owner_account, reward};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use utoipa::{IntoParams, ToSchema};

/// The most points one reward may cost, and the most stock it may hold.
const MAX_COST: i64 = 10_000_000;
const MAX_STOCK: i64 = 1_000_000;

/// A reward as owners and staff see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RewardView {
    pub id: i32,
    pub community_id: i32,
    pub name: String,
    pub description: String,
    /// `goods` or `service`.
    pub kind: String,
    pub points_cost: i64,
    pub stock: i64,
    /// How many one owner may hold (cancelled redemptions do not count); absent: no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_owner_limit: Option<i32>,
    pub active: bool,
}

impl From<reward::Model> for RewardView {
    fn from(r: reward::Model) -> Self {
        RewardView {
            id: r.id,
            community_id: r.community_id,
            name: r.name,
            description: r.description,
            kind: r.kind.to_string(),
            points_cost: r.points_cost,
            stock: r.stock,
            per_owner_limit: r.per_owner_limit,
            active: r.active,
        }
    }
}

/// `POST /staff/rewards`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReward {
    pub community_id: i32,
    #[schema(
        min_length = 1,
        max_length = 60,
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#
    )]
    pub name: String,
    #[schema(max_length = 500, pattern = r#"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$"#)]
    pub description: Option<String>,
    /// `goods` or `service`.
    #[schema(pattern = r#"^(goods|service)$"#)]
    pub kind: String,
    #[schema(minimum = 1, maximum = 10000000)]
    pub points_cost: i64,
    #[schema(minimum = 0, maximum = 1000000)]
    pub stock: i64,
    /// Absent: no limit.
    #[schema(minimum = 1, maximum = 1000)]
    pub per_owner_limit: Option<i32>,
}

/// `PATCH /staff/rewards/{id}`: what is given changes; `per_owner_limit: 0` removes the limit.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RewardPatch {
    #[schema(
        min_length = 1,
        max_length = 60,
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#
    )]
    pub name: Option<String>,
    #[schema(max_length = 500, pattern = r#"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$"#)]
    pub description: Option<String>,
    #[schema(minimum = 1, maximum = 10000000)]
    pub points_cost: Option<i64>,
    #[schema(minimum = 0, maximum = 1000000)]
    pub stock: Option<i64>,
    #[schema(minimum = 0, maximum = 1000)]
    pub per_owner_limit: Option<i32>,
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RewardsQuery {
    /// One community; absent: every community the caller may see.
    pub community_id: Option<i32>,
}

fn check_description(raw: Option<&str>, errors: &mut FieldErrors) -> String {
    let d = raw.unwrap_or("").trim().to_string();
    if d.chars().count() > 500 || d.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        errors.insert("description".into(), "说明最多500字，且不能含控制字符".into());
    }
    d
}

fn check_numbers(cost: Option<i64>, stock: Option<i64>, limit: Option<i32>, min_limit: i32, errors: &mut FieldErrors) {
    if cost.is_some_and(|c| !(1..=MAX_COST).contains(&c)) {
        errors.insert("points_cost".into(), "所需积分应在1到10000000之间".into());
    }
    if stock.is_some_and(|s| !(0..=MAX_STOCK).contains(&s)) {
        errors.insert("stock".into(), "库存应在0到1000000之间".into());
    }
    if limit.is_some_and(|l| !(min_limit..=1000).contains(&l)) {
        errors.insert(
            "per_owner_limit".into(),
            format!("每户限兑数量应在{min_limit}到1000之间"),
        );
    }
}

/// `POST /staff/rewards`.
pub async fn create(state: &AppState, ctx: &StaffCtx, body: NewReward) -> ApiResult<RewardView> {
    ctx.require(Action::ManageRewards)?;
    ctx.require_community(body.community_id)?;
    community::Entity::find_by_id(body.community_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut errors = FieldErrors::default();
    let name = text::name(&body.name, 60).unwrap_or_else(|m| {
        errors.insert("name".into(), format!("名称{m}"));
        String::new()
    });
    let description = check_description(body.description.as_deref(), &mut errors);
    let kind = crate::domain::states::parse::<RewardKind>(&body.kind);
    if kind.is_none() {
        errors.insert("kind".into(), "类型应为 goods（实物）或 service（服务）".into());
    }
    check_numbers(
        Some(body.points_cost),
        Some(body.stock),
        body.per_owner_limit,
        1,
        &mut errors,
    );
    ApiError::check(errors)?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let r = reward::ActiveModel {
        community_id: Set(body.community_id),
        name: Set(name),
        description: Set(description),
        kind: Set(kind.unwrap_or(RewardKind::Goods)),
        points_cost: Set(body.points_cost),
        stock: Set(body.stock),
        per_owner_limit: Set(body.per_owner_limit),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        &ctx.actor(),
        "reward.create",
        "reward",
        r.id,
        serde_json::json!({"name": r.name, "points_cost": r.points_cost, "stock": r.stock}),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(r.into())
}

/// `PATCH /staff/rewards/{id}`: the row is locked, so a stock set here and a redemption taking
/// from it happen one after the other.
pub async fn update(state: &AppState, ctx: &StaffCtx, id: i32, patch: RewardPatch) -> ApiResult<RewardView> {
    use sea_orm::QuerySelect;
    ctx.require(Action::ManageRewards)?;
    let mut errors = FieldErrors::default();
    let name = patch.name.as_deref().map(|n| {
        text::name(n, 60).unwrap_or_else(|m| {
            errors.insert("name".into(), format!("名称{m}"));
            String::new()
        })
    });
    let description = patch
        .description
        .as_deref()
        .map(|d| check_description(Some(d), &mut errors));
    check_numbers(patch.points_cost, patch.stock, patch.per_owner_limit, 0, &mut errors);
    ApiError::check(errors)?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let r = reward::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx.require_community(r.community_id)?;
    let mut row: reward::ActiveModel = r.into();
    if let Some(n) = name {
        row.name = Set(n);
    }
    if let Some(d) = description {
        row.description = Set(d);
    }
    if let Some(c) = patch.points_cost {
        row.points_cost = Set(c);
    }
    if let Some(s) = patch.stock {
        row.stock = Set(s);
    }
    if let Some(l) = patch.per_owner_limit {
        row.per_owner_limit = Set((l > 0).then_some(l));
    }
    if let Some(a) = patch.active {
        row.active = Set(a);
    }
    row.updated_at = Set(now);
    let r = row.update(&txn).await?;
    audit::record(
        &txn,
        &ctx.actor(),
        "reward.update",
        "reward",
        r.id,
        serde_json::json!({"name": r.name, "points_cost": r.points_cost, "stock": r.stock,
            "per_owner_limit": r.per_owner_limit, "active": r.active}),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(r.into())
}

/// `GET /staff/rewards`: the catalog (withdrawn rewards included) of the member's communities.
pub async fn staff_list(state: &AppState, ctx: &StaffCtx, q: RewardsQuery) -> ApiResult<Vec<RewardView>> {
    ctx.require(Action::ReadSetup)?;
    if let Some(c) = q.community_id {
        ctx.require_community(c)?;
    }
    let mut find = reward::Entity::find()
        .order_by_asc(reward::Column::CommunityId)
        .order_by_asc(reward::Column::Id);
    if let Some(c) = q.community_id {
        find = find.filter(reward::Column::CommunityId.eq(c));
    }
    Ok(find
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|r| ctx.sees(r.community_id))
        .map(RewardView::from)
        .collect())
}

/// The communities where an owner account owns a unit today.
pub(crate) async fn owner_communities(state: &AppState, account_id: i32) -> ApiResult<BTreeSet<i32>> {
    let account = owner_account::Entity::find_by_id(account_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let units = crate::services::access::me::unit_ids_of_account(state, &account).await?;
    Ok(entity::unit::Entity::find()
        .filter(entity::unit::Column::Id.is_in(units))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| u.community_id)
        .collect())
}

/// Whether points are switched on in a community.
pub(crate) async fn points_on(state: &AppState, community_id: i32) -> ApiResult<bool> {
    Ok(community::Entity::find_by_id(community_id)
        .one(&state.db)
        .await?
        .is_some_and(|c| Features::of(&c).points))
}

/// `GET /rewards`: the active rewards of the owner's communities where points are on.
pub async fn owner_list(state: &AppState, account_id: i32, q: RewardsQuery) -> ApiResult<Vec<RewardView>> {
    let mine = owner_communities(state, account_id).await?;
    if q.community_id.is_some_and(|c| !mine.contains(&c)) {
        return Err(ApiError::NotFound);
    }
    let mut on = BTreeSet::new();
    for c in mine.iter().filter(|c| q.community_id.is_none_or(|w| w == **c)) {
        if points_on(state, *c).await? {
            on.insert(*c);
        }
    }
    Ok(reward::Entity::find()
        .filter(reward::Column::CommunityId.is_in(on))
        .filter(reward::Column::Active.eq(true))
        .order_by_asc(reward::Column::PointsCost)
        .order_by_asc(reward::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(RewardView::from)
        .collect())
}
