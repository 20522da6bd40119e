//! Staff setup: communities with their late-fee policy, units, owner records, transfers (过户),
//! and recorded reveals of full phone numbers.
pub mod import;

use crate::domain::late_fee::LateFeePolicy;
use crate::domain::role::Action;
use crate::domain::{phone, text, Area, Phone};
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::services::access::me::link_active;
use crate::services::access::staff::StaffCtx;
use crate::services::{audit, cache};
use crate::state::AppState;
use chrono::NaiveDate;
use entity::{community, late_fee_term, owner, pii_access_log, unit, unit_owner};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

// ---------- shared helpers ----------

/// Parses a `YYYY-MM-DD` field (1970–2100) or records why not.
pub fn parse_date(field: &str, raw: &str, errors: &mut FieldErrors) -> Option<NaiveDate> {
    match crate::domain::period::parse_date(raw) {
        Ok(d) => Some(d),
        Err(m) => {
            errors.insert(field.into(), m.into());
            None
        }
    }
}

/// Page parameters (API.md): 1 ≤ `page` ≤ 10,000, 1 ≤ `per_page` ≤ 200 (default 50).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

impl PageQuery {
    pub const MAX_PAGE: u64 = 10_000;
    pub const MAX_PER_PAGE: u64 = 200;

    /// (page, per_page), defaulted; out of bounds is a 422 naming the field, checked before any
    /// number reaches the query builder (which binds it as i64).
    pub fn bounds(&self) -> ApiResult<(u64, u64)> {
        let mut errors = FieldErrors::new();
        let page = self.page.unwrap_or(1);
        if !(1..=Self::MAX_PAGE).contains(&page) {
            errors.insert("page".into(), "页码应在1到10000之间".into());
        }
        let per_page = self.per_page.unwrap_or(50);
        if !(1..=Self::MAX_PER_PAGE).contains(&per_page) {
            errors.insert("per_page".into(), "每页条数应在1到200之间".into());
        }
        ApiError::check(errors)?;
        Ok((page, per_page))
    }
}

/// Runs `query` for one page, with the total count.
pub(crate) async fn paginate<E: EntityTrait>(
    state: &AppState,
    query: sea_orm::Select<E>,
    page: &PageQuery,
) -> ApiResult<(Vec<E::Model>, u64, u64, u64)>
where
    E::Model: Sync,
{
    let (page_no, per_page) = page.bounds()?;
    let total = query.clone().count(&state.db).await?;
    let rows = query
        .offset((page_no - 1) * per_page)
        .limit(per_page)
        .all(&state.db)
        .await?;
    Ok((rows, total, page_no, per_page))
}

/// One page of a list already filtered in memory (lists whose filter is not a query).
pub fn page_of<T: utoipa::ToSchema>(items: Vec<T>, page: &PageQuery) -> ApiResult<Page<T>> {
    let (page_no, per_page) = page.bounds()?;
    let total = items.len() as u64;
    let skip = usize::try_from((page_no - 1) * per_page).unwrap_or(usize::MAX);
    let items = items
        .into_iter()
        .skip(skip)
        .take(usize::try_from(per_page).unwrap_or(200))
        .collect();
    Ok(Page {
        items,
        total,
        page: page_no,
        per_page,
    })
}

/// A page of results with the total count.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T: utoipa::ToSchema> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

// ---------- communities ----------

/// Late-fee terms as the API spells them (rates as decimal strings).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LateFeeTerms {
    #[schema(pattern = r#"^(0|0\.0|0\.00[0-9]{0,4}|0\.010{0,4})$"#)]
    pub daily_rate: String,
    #[schema(minimum = 0, maximum = 365)]
    pub grace_days: i64,
    #[schema(pattern = r#"^(0(\.[0-9]{1,4})?|1(\.0{1,4})?)$"#)]
    pub cap_ratio: String,
}

/// `POST /staff/communities`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewCommunity {
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 64
    )]
    pub name: String,
    #[schema(pattern = r#"^\s*[A-Za-z0-9_-]{1,32}\s*$"#)]
    pub code: String,
    pub late_fee: LateFeeTerms,
    /// IANA zone; defaults to `app.timezone`.
    pub timezone: Option<String>,
}

/// `PATCH /staff/communities/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CommunityPatch {
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 64
    )]
    pub name: Option<String>,
    pub late_fee: Option<LateFeeTerms>,
    /// Switches ways out on or off; keys left out keep their value.
    pub features: Option<FeaturesPatch>,
}

/// The ways out a community offers owners (API.md `features`): a notice offers one only when its
/// capability exists and it is on here. All on unless switched off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct Features {
    pub points: bool,
    pub installments: bool,
    pub hardship: bool,
    pub disputes: bool,
    pub autodebit: bool,
}

impl Default for Features {
    fn default() -> Self {
        Features {
            points: true,
            installments: true,
            hardship: true,
            disputes: true,
            autodebit: true,
        }
    }
}

impl Features {
    /// A community's switches (stored JSON; absent or unreadable = all on).
    pub fn of(c: &community::Model) -> Features {
        c.features
            .as_deref()
            .and_then(|f| serde_json::from_str(f).ok())
            .unwrap_or_default()
    }

    /// Whether the feature named `key` (`points`, `installments`, …) is on.
    pub fn on(&self, key: &str) -> bool {
        match key {
            "points" => self.points,
            "installments" => self.installments,
            "hardship" => self.hardship,
            "disputes" => self.disputes,
            "autodebit" => self.autodebit,
            _ => false,
        }
    }

    fn apply(mut self, p: &FeaturesPatch) -> Features {
        let set = |v: &mut bool, n: Option<bool>| {
            if let Some(n) = n {
                *v = n;
            }
        };
        set(&mut self.points, p.points);
        set(&mut self.installments, p.installments);
        set(&mut self.hardship, p.hardship);
        set(&mut self.disputes, p.disputes);
        set(&mut self.autodebit, p.autodebit);
        self
    }
}

/// `features` in `PATCH /staff/communities/{id}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct FeaturesPatch {
    pub points: Option<bool>,
    pub installments: Option<bool>,
    pub hardship: Option<bool>,
    pub disputes: Option<bool>,
    pub autodebit: Option<bool>,
}

/// A community as staff see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommunityView {
    pub id: i32,
    pub name: String,
    pub code: String,
    pub timezone: String,
    /// The late-fee terms in force today (community time).
    pub late_fee: LateFeeTerms,
    /// Every set of terms with the day it took effect, oldest first (the first has none: it
    /// applies from the start).
    pub late_fee_terms: Vec<LateFeeTermsView>,
    pub features: Features,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// One set of late-fee terms and when it applies from.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LateFeeTermsView {
    pub daily_rate: String,
    pub grace_days: i64,
    pub cap_ratio: String,
    /// None for the community's first terms.
    pub effective_from: Option<NaiveDate>,
    pub created_by: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// `POST /staff/communities/{id}/late-fee-terms`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewLateFeeTerms {
    #[schema(pattern = r#"^(0|0\.0|0\.00[0-9]{0,4}|0\.010{0,4})$"#)]
    pub daily_rate: String,
    #[schema(minimum = 0, maximum = 365)]
    pub grace_days: i64,
    #[schema(pattern = r#"^(0(\.[0-9]{1,4})?|1(\.0{1,4})?)$"#)]
    pub cap_ratio: String,
    /// `YYYY-MM-DD`, today or later (community time): terms are never retroactive.
    #[schema(pattern = r#"^(19[7-9][0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"#, format = Date)]
    pub effective_from: String,
}

fn community_view(c: community::Model, changes: &[late_fee_term::Model], today: NaiveDate) -> CommunityView {
    let mut terms = vec![LateFeeTermsView {
        daily_rate: c.late_fee_daily_rate.clone(),
        grace_days: i64::from(c.late_fee_grace_days),
        cap_ratio: c.late_fee_cap_ratio.clone(),
        effective_from: None,
        created_by: None,
        created_at: c.created_at,
    }];
    let mut ordered: Vec<&late_fee_term::Model> = changes.iter().filter(|t| t.community_id == c.id).collect();
    ordered.sort_by_key(|t| (t.effective_from, t.id));
    terms.extend(ordered.into_iter().map(|t| LateFeeTermsView {
        daily_rate: t.daily_rate.clone(),
        grace_days: i64::from(t.grace_days),
        cap_ratio: t.cap_ratio.clone(),
        effective_from: Some(t.effective_from),
        created_by: Some(t.created_by.clone()),
        created_at: t.created_at,
    }));
    let features = Features::of(&c);
    let current = terms
        .iter()
        .rev()
        .find(|t| t.effective_from.is_none_or(|d| d <= today))
        .unwrap_or(&terms[0]);
    CommunityView {
        id: c.id,
        name: c.name,
        code: c.code,
        timezone: c.timezone,
        late_fee: LateFeeTerms {
            daily_rate: current.daily_rate.clone(),
            grace_days: current.grace_days,
            cap_ratio: current.cap_ratio.clone(),
        },
        late_fee_terms: terms,
        features,
        created_at: c.created_at,
    }
}

/// Views of communities with their terms, in two queries.
async fn community_views(state: &AppState, list: Vec<community::Model>) -> ApiResult<Vec<CommunityView>> {
    let ids: Vec<i32> = list.iter().map(|c| c.id).collect();
    let changes = late_fee_term::Entity::find()
        .filter(late_fee_term::Column::CommunityId.is_in(ids))
        .all(&state.db)
        .await?;
    let mut out = Vec::with_capacity(list.len());
    for c in list {
        let tz = state.zone_of(&c);
        let today = state.today_in(tz);
        out.push(community_view(c, &changes, today));
    }
    Ok(out)
}

async fn one_view(state: &AppState, c: community::Model) -> ApiResult<CommunityView> {
    community_views(state, vec![c]).await?.pop().ok_or(ApiError::NotFound)
}

fn check_terms(t: &LateFeeTerms, errors: &mut FieldErrors) -> Option<LateFeePolicy> {
    LateFeePolicy::parse(&t.daily_rate, t.grace_days, &t.cap_ratio)
        .map_err(|all| {
            for (f, m) in all {
                errors.insert(f.into(), m.into());
            }
        })
        .ok()
}

/// Creates a community (admin only).
pub async fn create_community(state: &AppState, ctx: &StaffCtx, body: NewCommunity) -> ApiResult<CommunityView> {
    ctx.require(Action::ManageCommunities)?;
    let mut errors = FieldErrors::new();
    let name = text::name(&body.name, 64)
        .map_err(|m| errors.insert("name".into(), m))
        .ok();
    let code = text::code(&body.code).map_err(|m| errors.insert("code".into(), m)).ok();
    let policy = check_terms(&body.late_fee, &mut errors);
    let tz = body
        .timezone
        .clone()
        .unwrap_or_else(|| state.settings.app.timezone.clone());
    if tz.parse::<chrono_tz::Tz>().is_err() {
        errors.insert("timezone".into(), "未知时区".into());
    }
    let (Some(name), Some(code), Some(policy)) = (name, code, policy) else {
        return Err(ApiError::Validation(errors));
    };
    ApiError::check(errors)?;
    if community::Entity::find()
        .filter(community::Column::Code.eq(&code))
        .one(&state.db)
        .await?
        .is_some()
    {
        return Err(ApiError::field("code", "小区编号已存在"));
    }
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let c = community::ActiveModel {
        code: Set(code),
        name: Set(name),
        timezone: Set(tz),
        late_fee_daily_rate: Set(policy.daily_rate.to_string()),
        late_fee_grace_days: Set(policy.grace_days),
        late_fee_cap_ratio: Set(policy.cap_ratio.to_string()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        &ctx.actor(),
        "community.create",
        "community",
        c.id,
        serde_json::json!({"late_fee": body.late_fee}),
        now,
    )
    .await?;
    txn.commit().await?;
    one_view(state, c).await
}

/// Communities in the caller's scope, a page at a time.
pub async fn list_communities(state: &AppState, ctx: &StaffCtx, page: PageQuery) -> ApiResult<Page<CommunityView>> {
    ctx.require(Action::ReadSetup)?;
    let mut q = community::Entity::find().order_by_asc(community::Column::Id);
    if !ctx.role.sees_all_communities() {
        q = q.filter(community::Column::Id.is_in(ctx.communities.clone()));
    }
    let (rows, total, page_no, per_page) = paginate(state, q, &page).await?;
    Ok(Page {
        items: community_views(state, rows).await?,
        total,
        page: page_no,
        per_page,
    })
}

pub(crate) async fn community_in_scope(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<community::Model> {
    ctx.require_community(id)?;
    community::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)
}

pub async fn get_community(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<CommunityView> {
    ctx.require(Action::ReadSetup)?;
    let c = community_in_scope(state, ctx, id).await?;
    one_view(state, c).await
}

/// Records late-fee terms in force from `from` on (audited); the caller has checked them.
async fn insert_terms(
    state: &AppState,
    txn: &sea_orm::DatabaseTransaction,
    ctx: &StaffCtx,
    community_id: i32,
    terms: &LateFeePolicy,
    from: NaiveDate,
) -> ApiResult<()> {
    let now = state.clock.now();
    let t = late_fee_term::ActiveModel {
        community_id: Set(community_id),
        daily_rate: Set(terms.daily_rate.to_string()),
        grace_days: Set(terms.grace_days),
        cap_ratio: Set(terms.cap_ratio.to_string()),
        effective_from: Set(from),
        created_by: Set(ctx.actor()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    audit::record(
        txn,
        &ctx.actor(),
        "community.late_fee_terms",
        "community",
        community_id,
        serde_json::json!({"terms_id": t.id, "daily_rate": t.daily_rate, "grace_days": t.grace_days,
            "cap_ratio": t.cap_ratio, "effective_from": from}),
        now,
    )
    .await?;
    Ok(())
}

/// Adds late-fee terms from a date that is today or later (admin only, audited). Each day accrues
/// at the rate then in force; a bill's grace days and cap are those in force on its due date.
pub async fn add_late_fee_terms(
    state: &AppState,
    ctx: &StaffCtx,
    id: i32,
    body: NewLateFeeTerms,
) -> ApiResult<CommunityView> {
    let c = community_in_scope(state, ctx, id).await?;
    ctx.require(Action::ManageCommunities)?;
    let mut errors = FieldErrors::new();
    let terms = LateFeePolicy::parse(&body.daily_rate, body.grace_days, &body.cap_ratio)
        .map_err(|all| {
            for (f, m) in all {
                errors.insert(f.trim_start_matches("late_fee.").into(), m.into());
            }
        })
        .ok();
    let tz = state.zone_of(&c);
    let today = state.today_in(tz);
    let from = parse_date("effective_from", &body.effective_from, &mut errors);
    if from.is_some_and(|f| f < today) {
        errors.insert(
            "effective_from".into(),
            format!("生效日期不能早于今天（{today}）：已发生的滞纳金不会按新条款重算"),
        );
    }
    let (Some(terms), Some(from)) = (terms, from) else {
        return Err(ApiError::Validation(errors));
    };
    ApiError::check(errors)?;
    let txn = crate::db::begin_write(&state.db).await?;
    insert_terms(state, &txn, ctx, id, &terms, from).await?;
    txn.commit().await?;
    cache::bump_community(state, id).await?;
    one_view(state, c).await
}

/// Renames a community or changes its late-fee terms from today on (admin only, audited).
pub async fn update_community(
    state: &AppState,
    ctx: &StaffCtx,
    id: i32,
    patch: CommunityPatch,
) -> ApiResult<CommunityView> {
    let c = community_in_scope(state, ctx, id).await?;
    ctx.require(Action::ManageCommunities)?;
    let features = patch.features.as_ref().map(|p| Features::of(&c).apply(p));
    let mut errors = FieldErrors::new();
    let name = patch
        .name
        .as_deref()
        .map(|n| text::name(n, 64).map_err(|m| errors.insert("name".into(), m)).ok());
    let policy = patch.late_fee.as_ref().map(|t| check_terms(t, &mut errors));
    ApiError::check(errors)?;
    let now = state.clock.now();
    let tz = state.zone_of(&c);
    let today = now.with_timezone(&tz).date_naive();
    let txn = crate::db::begin_write(&state.db).await?;
    let mut am: community::ActiveModel = c.into();
    if let Some(Some(n)) = name {
        am.name = Set(n);
    }
    if let Some(f) = &features {
        am.features = Set(Some(serde_json::to_string(f).map_err(ApiError::internal)?));
    }
    let c = am.update(&txn).await?;
    // The old form of changing terms: new terms from today, never rewriting the past.
    if let Some(Some(p)) = policy {
        insert_terms(state, &txn, ctx, id, &p, today).await?;
    }
    audit::record(
        &txn,
        &ctx.actor(),
        "community.update",
        "community",
        id,
        serde_json::json!({"name": patch.name, "late_fee": patch.late_fee, "features": patch.features}),
        now,
    )
    .await?;
    txn.commit().await?;
    cache::bump_community(state, id).await?;
    one_view(state, c).await
}

// ---------- units ----------

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
}

fn masked_phone(state: &AppState, enc: &str) -> String {
    state
        .cipher
        .decrypt(enc)
        .map(|p| phone::mask(&p))
        .unwrap_or_else(|_| "****".into())
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

pub(crate) async fn unit_in_scope(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<unit::Model> {
    let u = unit::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx.require_community(u.community_id)?;
    Ok(u)
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
    ctx.require(Action::EditUnitsAndOwners)?;
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
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    if code_taken(&txn, body.community_id, &code, None).await? {
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
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        &ctx.actor(),
        "unit.create",
        "unit",
        u.id,
        serde_json::json!({}),
        now,
    )
    .await?;
    txn.commit().await?;
    first(unit_details(state, vec![u]).await?)
}

fn first<T>(v: Vec<T>) -> ApiResult<T> {
    v.into_iter().next().ok_or(ApiError::NotFound)
}

pub async fn get_unit(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<UnitDetail> {
    ctx.require(Action::ReadSetup)?;
    let u = unit_in_scope(state, ctx, id).await?;
    first(unit_details(state, vec![u]).await?)
}

/// Units of one community, optionally one building, a page at a time.
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
    ctx.require(Action::EditUnitsAndOwners)?;
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
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    if let Some(Some(c)) = &code {
        if code_taken(&txn, u.community_id, c, Some(id)).await? {
            return Err(ApiError::field("code", "该小区已有此房屋编号"));
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
    let u = am.update(&txn).await?;
    audit::record(
        &txn,
        &ctx.actor(),
        "unit.update",
        "unit",
        id,
        serde_json::json!({"before": before}),
        now,
    )
    .await?;
    txn.commit().await?;
    cache::bump_community(state, u.community_id).await?;
    first(unit_details(state, vec![u]).await?)
}

/// Transfers a unit (过户): current links end on `date`, the new owners' links start on it.
/// Nothing is deleted, so the history (and who owed what when) stays.
pub async fn transfer_unit(state: &AppState, ctx: &StaffCtx, id: i32, body: Transfer) -> ApiResult<UnitDetail> {
    let u = unit_in_scope(state, ctx, id).await?;
    ctx.require(Action::EditUnitsAndOwners)?;
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
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let open = unit_owner::Entity::find()
        .filter(unit_owner::Column::UnitId.eq(id))
        .filter(unit_owner::Column::EndDate.is_null())
        .all(&txn)
        .await?;
    if open.iter().any(|l| l.start_date > date) {
        return Err(ApiError::field("date", "过户日期不能早于现业主的起始日期"));
    }
    let from: Vec<i32> = open.iter().map(|l| l.owner_id).collect();
    for l in open {
        let mut am: unit_owner::ActiveModel = l.into();
        am.end_date = Set(Some(date));
        am.update(&txn).await?;
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
        .insert(&txn)
        .await?;
    }
    audit::record(
        &txn,
        &ctx.actor(),
        "unit.transfer",
        "unit",
        id,
        serde_json::json!({"from": from, "to": to, "date": date}),
        now,
    )
    .await?;
    txn.commit().await?;
    cache::bump_community(state, u.community_id).await?;
    first(unit_details(state, vec![u]).await?)
}

// ---------- owners ----------

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
    ctx.require(Action::EditUnitsAndOwners)?;
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
    let txn = crate::db::begin_write(&state.db).await?;
    let o = owner::ActiveModel {
        community_id: Set(community_id),
        name: Set(name),
        phone_enc: Set(state.cipher.encrypt(phone.expose()).map_err(ApiError::internal)?),
        phone_index: Set(state.cipher.blind_index(phone.expose())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    for uid in &unit_ids {
        link(&txn, *uid, o.id, today, now).await?;
    }
    audit::record(
        &txn,
        &ctx.actor(),
        "owner.create",
        "owner",
        o.id,
        serde_json::json!({"unit_ids": unit_ids}),
        now,
    )
    .await?;
    txn.commit().await?;
    cache::bump_owner_records(state).await?;
    cache::bump_community(state, o.community_id).await?;
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
    ctx.require(Action::EditUnitsAndOwners)?;
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
    let txn = crate::db::begin_write(&state.db).await?;
    let mut am: owner::ActiveModel = o.into();
    if let Some(Some(n)) = name {
        am.name = Set(n);
    }
    if let Some(Some(p)) = &phone {
        am.phone_enc = Set(state.cipher.encrypt(p.expose()).map_err(ApiError::internal)?);
        am.phone_index = Set(state.cipher.blind_index(p.expose()));
    }
    am.updated_at = Set(now);
    let o = am.update(&txn).await?;
    if let Some(wanted) = &wanted {
        let links = unit_owner::Entity::find()
            .filter(unit_owner::Column::OwnerId.eq(id))
            .all(&txn)
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
            lm.update(&txn).await?;
        }
        for uid in wanted.difference(&current) {
            link(&txn, *uid, id, today, now).await?;
        }
    }
    let detail = serde_json::json!({"name_changed": patch.name.is_some(), "phone_changed": patch.phone.is_some(), "unit_ids": patch.unit_ids});
    audit::record(&txn, &ctx.actor(), "owner.update", "owner", id, detail, now).await?;
    txn.commit().await?;
    cache::bump_owner_records(state).await?;
    cache::bump_community(state, o.community_id).await?;
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
