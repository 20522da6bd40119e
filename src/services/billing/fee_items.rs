//! Fee items (收费项目): pricing, cycle, due day, which units they apply to, prepayment discounts,
//! and price changes that apply to periods starting on or after their `effective_from`.
use crate::domain::billing::{parse_discounts, parse_unit_price, Cycle, FeeKind, PrepayDiscount};
use crate::domain::role::Action;
use crate::domain::text;
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::services::access::staff::StaffCtx;
use crate::services::setup::parse_date;
use crate::state::AppState;
use chrono::NaiveDate;
use entity::{community, fee_item, fee_item_price, unit};
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Which units a fee item bills: all (absent), some buildings, or a list of units.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct AppliesTo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buildings: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_ids: Option<Vec<i32>>,
}

impl AppliesTo {
    /// Whether a unit is billed by the item.
    pub fn covers(&self, unit: &unit::Model) -> bool {
        let by_building = self.buildings.as_ref().map(|b| b.contains(&unit.building));
        let by_unit = self.unit_ids.as_ref().map(|u| u.contains(&unit.id));
        match (by_building, by_unit) {
            (None, None) => true,
            (b, u) => b.unwrap_or(false) || u.unwrap_or(false),
        }
    }
}

/// `POST /staff/fee-items`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewFeeItem {
    pub community_id: i32,
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 32
    )]
    pub name: String,
    /// `per_area` or `fixed`.
    #[schema(pattern = r#"^(per_area|fixed)$"#)]
    pub kind: String,
    #[schema(pattern = r#"^(1000000(\.0{1,4})?|[1-9][0-9]{0,5}(\.[0-9]{1,4})?|0\.[0-9]{0,3}[1-9])$"#)]
    pub unit_price: String,
    /// `monthly`, `quarterly` or `yearly`.
    #[schema(pattern = r#"^(monthly|quarterly|yearly)$"#)]
    pub cycle: String,
    #[schema(minimum = 1, maximum = 31)]
    pub due_day: i64,
    pub applies_to: Option<AppliesTo>,
    pub prepay_discounts: Option<Vec<PrepayDiscount>>,
    /// First day of the first period this item bills (default: always).
    #[schema(pattern = r#"^(19[7-9][0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"#, format = Date)]
    pub effective_from: Option<String>,
}

/// `PATCH /staff/fee-items/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct FeeItemPatch {
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 32
    )]
    pub name: Option<String>,
    #[schema(minimum = 1, maximum = 31)]
    pub due_day: Option<i64>,
    pub applies_to: Option<AppliesTo>,
    pub prepay_discounts: Option<Vec<PrepayDiscount>>,
    /// `false` stops billing the item in future runs.
    pub active: Option<bool>,
}

/// `POST /staff/fee-items/{id}/prices`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewPrice {
    #[schema(pattern = r#"^(1000000(\.0{1,4})?|[1-9][0-9]{0,5}(\.[0-9]{1,4})?|0\.[0-9]{0,3}[1-9])$"#)]
    pub unit_price: String,
    #[schema(pattern = r#"^(19[7-9][0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"#, format = Date)]
    pub effective_from: String,
}

/// One price and the periods it applies to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PriceView {
    pub unit_price: String,
    /// Absent for the item's original price.
    pub effective_from: Option<NaiveDate>,
}

/// A fee item as staff see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeeItemView {
    pub id: i32,
    pub community_id: i32,
    pub name: String,
    pub kind: FeeKind,
    pub cycle: Cycle,
    pub due_day: i32,
    pub applies_to: Option<AppliesTo>,
    pub prepay_discounts: Vec<PrepayDiscount>,
    pub effective_from: Option<NaiveDate>,
    pub active: bool,
    /// Price history, oldest first.
    pub prices: Vec<PriceView>,
}

/// A fee item's rules, decoded from its row.
#[derive(Debug, Clone)]
pub struct FeeRules {
    pub item: fee_item::Model,
    pub kind: FeeKind,
    pub cycle: Cycle,
    pub applies_to: AppliesTo,
    pub discounts: Vec<(u32, Decimal)>,
    /// (effective_from, price), the original price first with `None`.
    pub prices: Vec<(Option<NaiveDate>, Decimal)>,
}

impl FeeRules {
    /// The price for a period starting on `start`: the latest change effective by then.
    pub fn price_for(&self, start: NaiveDate) -> Decimal {
        crate::domain::dated::in_force(&self.prices, |(from, _)| *from, start)
            .map_or(Decimal::ZERO, |i| self.prices[i].1)
    }

    /// Whether the item bills a period starting on `start`.
    pub fn bills_from(&self, start: NaiveDate) -> bool {
        self.item.active && self.item.effective_from.is_none_or(|f| f <= start)
    }
}

/// Loads and decodes a community's fee items (all, or the active ones).
pub async fn rules_for_community(state: &AppState, community_id: i32) -> ApiResult<Vec<FeeRules>> {
    let items = fee_item::Entity::find()
        .filter(fee_item::Column::CommunityId.eq(community_id))
        .order_by_asc(fee_item::Column::Id)
        .all(&state.db)
        .await?;
    rules(state, items).await
}

/// Decodes fee items with their price history.
pub async fn rules(state: &AppState, items: Vec<fee_item::Model>) -> ApiResult<Vec<FeeRules>> {
    let ids: Vec<i32> = items.iter().map(|i| i.id).collect();
    let prices = if ids.is_empty() {
        Vec::new()
    } else {
        fee_item_price::Entity::find()
            .filter(fee_item_price::Column::FeeItemId.is_in(ids))
            .order_by_asc(fee_item_price::Column::EffectiveFrom)
            .all(&state.db)
            .await?
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let kind = FeeKind::parse(&item.kind).ok_or_else(|| ApiError::internal(anyhow::anyhow!("bad fee kind")))?;
        let cycle = Cycle::parse(&item.cycle).ok_or_else(|| ApiError::internal(anyhow::anyhow!("bad cycle")))?;
        let applies_to = item
            .applies_to
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        let tiers: Vec<PrepayDiscount> = item
            .prepay_discounts
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        let discounts = parse_discounts(&tiers).unwrap_or_default();
        let mut history = vec![(None, parse_unit_price(&item.unit_price).unwrap_or(Decimal::ZERO))];
        for p in prices.iter().filter(|p| p.fee_item_id == item.id) {
            history.push((
                Some(p.effective_from),
                parse_unit_price(&p.unit_price).unwrap_or(Decimal::ZERO),
            ));
        }
        out.push(FeeRules {
            item,
            kind,
            cycle,
            applies_to,
            discounts,
            prices: history,
        });
    }
    Ok(out)
}

fn view(r: FeeRules) -> FeeItemView {
    let tiers: Vec<PrepayDiscount> = r
        .discounts
        .iter()
        .map(|(m, rate)| PrepayDiscount {
            months: *m,
            rate: rate.to_string(),
        })
        .collect();
    FeeItemView {
        id: r.item.id,
        community_id: r.item.community_id,
        name: r.item.name.clone(),
        kind: r.kind,
        cycle: r.cycle,
        due_day: r.item.due_day,
        applies_to: r.item.applies_to.as_deref().and_then(|s| serde_json::from_str(s).ok()),
        prepay_discounts: tiers,
        effective_from: r.item.effective_from,
        active: r.item.active,
        prices: r
            .prices
            .iter()
            .map(|(f, p)| PriceView {
                unit_price: p.to_string(),
                effective_from: *f,
            })
            .collect(),
    }
}

/// Checks `applies_to` against the community: every building and unit must be its own.
async fn check_applies_to(
    state: &AppState,
    community_id: i32,
    a: &AppliesTo,
    errors: &mut FieldErrors,
) -> ApiResult<()> {
    if let Some(ids) = &a.unit_ids {
        let ids: BTreeSet<i32> = ids.iter().copied().collect();
        let found = if ids.is_empty() {
            0
        } else {
            unit::Entity::find()
                .filter(unit::Column::Id.is_in(ids.clone()))
                .filter(unit::Column::CommunityId.eq(community_id))
                .count(&state.db)
                .await?
        };
        if ids.is_empty() || found != ids.len() as u64 {
            errors.insert("applies_to.unit_ids".into(), "包含不存在或不属于该小区的房屋".into());
        }
    }
    if let Some(bs) = &a.buildings {
        let known: BTreeSet<String> = unit::Entity::find()
            .filter(unit::Column::CommunityId.eq(community_id))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|u| u.building)
            .collect();
        if bs.is_empty() || bs.iter().any(|b| !known.contains(b)) {
            errors.insert("applies_to.buildings".into(), "包含该小区不存在的楼栋".into());
        }
    }
    Ok(())
}

fn check_due_day(d: i64, errors: &mut FieldErrors) -> Option<i32> {
    let ok = i32::try_from(d).ok().filter(|d| (1..=31).contains(d));
    if ok.is_none() {
        errors.insert("due_day".into(), "缴费日应在1到31之间".into());
    }
    ok
}

/// Creates a fee item (admin, finance).
pub async fn create(state: &AppState, ctx: &StaffCtx, body: NewFeeItem) -> ApiResult<FeeItemView> {
    let auth = ctx.authorize(state, Action::ManageBilling)?;
    let mut errors = FieldErrors::new();
    let community_ok = ctx.sees(body.community_id)
        && community::Entity::find_by_id(body.community_id)
            .one(&state.db)
            .await?
            .is_some();
    if !community_ok {
        errors.insert("community_id".into(), "小区不存在".into());
    }
    let name = text::name(&body.name, 32)
        .map_err(|m| errors.insert("name".into(), m))
        .ok();
    let kind = FeeKind::parse(&body.kind);
    if kind.is_none() {
        errors.insert("kind".into(), "计费方式应为per_area或fixed".into());
    }
    let cycle = Cycle::parse(&body.cycle);
    if cycle.is_none() {
        errors.insert("cycle".into(), "周期应为monthly、quarterly或yearly".into());
    }
    let price = parse_unit_price(&body.unit_price)
        .map_err(|m| errors.insert("unit_price".into(), m.into()))
        .ok();
    let due_day = check_due_day(body.due_day, &mut errors);
    let tiers = body.prepay_discounts.clone().unwrap_or_default();
    if let Err(m) = parse_discounts(&tiers) {
        errors.insert("prepay_discounts".into(), m.into());
    }
    let from = body
        .effective_from
        .as_deref()
        .and_then(|d| parse_date("effective_from", d, &mut errors));
    if let (Some(a), true) = (&body.applies_to, community_ok) {
        check_applies_to(state, body.community_id, a, &mut errors).await?;
    }
    ApiError::check(errors)?;
    let (Some(name), Some(kind), Some(cycle), Some(price), Some(due_day)) = (name, kind, cycle, price, due_day) else {
        return Err(ApiError::Validation(FieldErrors::new()));
    };
    let cmd = auth.begin().await?;
    let (now, txn) = (cmd.now, cmd.txn());
    let item = fee_item::ActiveModel {
        community_id: Set(body.community_id),
        name: Set(name),
        kind: Set(kind.as_str().into()),
        unit_price: Set(price.to_string()),
        cycle: Set(cycle.as_str().into()),
        due_day: Set(due_day),
        applies_to: Set(body.applies_to.as_ref().map(|a| serde_json::json!(a).to_string())),
        prepay_discounts: Set((!tiers.is_empty()).then(|| serde_json::json!(tiers).to_string())),
        effective_from: Set(from),
        active: Set(true),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    cmd.audit(
        "fee_item.create",
        "fee_item",
        item.id,
        serde_json::json!({"unit_price": item.unit_price}),
    )
    .await?;
    cmd.commit().await?;
    first_view(state, item).await
}

async fn first_view(state: &AppState, item: fee_item::Model) -> ApiResult<FeeItemView> {
    rules(state, vec![item])
        .await?
        .into_iter()
        .next()
        .map(view)
        .ok_or(ApiError::NotFound)
}

async fn in_scope(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<fee_item::Model> {
    let item = fee_item::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx.require_community(item.community_id)?;
    Ok(item)
}

/// Filters of `GET /staff/fee-items`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct FeeItemQuery {
    pub community_id: i32,
}

/// A community's fee items.
pub async fn list(state: &AppState, ctx: &StaffCtx, q: FeeItemQuery) -> ApiResult<Vec<FeeItemView>> {
    ctx.require(Action::ReadSetup)?;
    ctx.require_community(q.community_id)?;
    Ok(rules_for_community(state, q.community_id)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

pub async fn get(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<FeeItemView> {
    ctx.require(Action::ReadSetup)?;
    first_view(state, in_scope(state, ctx, id).await?).await
}

/// Edits name, due day, coverage, discounts or active flag; prices change only through
/// `add_price`, so bills already issued never change.
pub async fn update(state: &AppState, ctx: &StaffCtx, id: i32, patch: FeeItemPatch) -> ApiResult<FeeItemView> {
    let item = in_scope(state, ctx, id).await?;
    let auth = ctx.authorize(state, Action::ManageBilling)?;
    let mut errors = FieldErrors::new();
    let name = patch
        .name
        .as_deref()
        .map(|n| text::name(n, 32).map_err(|m| errors.insert("name".into(), m)).ok());
    let due_day = patch.due_day.map(|d| check_due_day(d, &mut errors));
    if let Some(t) = &patch.prepay_discounts {
        if let Err(m) = parse_discounts(t) {
            errors.insert("prepay_discounts".into(), m.into());
        }
    }
    if let Some(a) = &patch.applies_to {
        check_applies_to(state, item.community_id, a, &mut errors).await?;
    }
    ApiError::check(errors)?;
    let community_id = item.community_id;
    let mut cmd = auth.begin().await?;
    let txn = cmd.txn();
    let mut am: fee_item::ActiveModel = item.into();
    if let Some(Some(n)) = name {
        am.name = Set(n);
    }
    if let Some(Some(d)) = due_day {
        am.due_day = Set(d);
    }
    if let Some(a) = &patch.applies_to {
        am.applies_to = Set(Some(serde_json::json!(a).to_string()));
    }
    if let Some(t) = &patch.prepay_discounts {
        am.prepay_discounts = Set(Some(serde_json::json!(t).to_string()));
    }
    if let Some(a) = patch.active {
        am.active = Set(a);
    }
    let item = am.update(txn).await?;
    cmd.audit(
        "fee_item.update",
        "fee_item",
        id,
        serde_json::json!({"active": patch.active}),
    )
    .await?;
    // Item names appear in owners' bill lists.
    cmd.touches_community(community_id);
    cmd.commit().await?;
    first_view(state, item).await
}

/// Records a price change effective for periods starting on or after `effective_from`.
pub async fn add_price(state: &AppState, ctx: &StaffCtx, id: i32, body: NewPrice) -> ApiResult<FeeItemView> {
    let item = in_scope(state, ctx, id).await?;
    let auth = ctx.authorize(state, Action::ManageBilling)?;
    let mut errors = FieldErrors::new();
    let price = parse_unit_price(&body.unit_price)
        .map_err(|m| errors.insert("unit_price".into(), m.into()))
        .ok();
    let from = parse_date("effective_from", &body.effective_from, &mut errors);
    ApiError::check(errors)?;
    let (Some(price), Some(from)) = (price, from) else {
        return Err(ApiError::Validation(FieldErrors::new()));
    };
    let cmd = auth.begin().await?;
    let (now, txn) = (cmd.now, cmd.txn());
    let clash = fee_item_price::Entity::find()
        .filter(fee_item_price::Column::FeeItemId.eq(id))
        .filter(fee_item_price::Column::EffectiveFrom.eq(from))
        .one(txn)
        .await?;
    if clash.is_some() {
        return Err(ApiError::field("effective_from", "该日期已有调价记录"));
    }
    fee_item_price::ActiveModel {
        fee_item_id: Set(id),
        unit_price: Set(price.to_string()),
        effective_from: Set(from),
        actor: Set(ctx.actor()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    cmd.audit(
        "fee_item.price",
        "fee_item",
        id,
        serde_json::json!({"unit_price": price.to_string(), "effective_from": from}),
    )
    .await?;
    cmd.commit().await?;
    first_view(state, item).await
}
