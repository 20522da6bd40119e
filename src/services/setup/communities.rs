//! Communities: name, zone, late-fee terms over time (each change dated, never retroactive) and
//! the features a community turns on.
use crate::domain::late_fee::LateFeePolicy;
use crate::domain::role::Action;
use crate::domain::text;
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::services::access::staff::StaffCtx;
use crate::services::audit;
use crate::services::setup::community_in_scope;
use crate::services::setup::paginate;
use crate::services::setup::parse_date;
use crate::services::setup::Page;
use crate::services::setup::PageQuery;
use crate::state::AppState;
use chrono::NaiveDate;
use entity::{community, late_fee_term};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};

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
    let current = &terms[crate::domain::dated::in_force(&terms, |t| t.effective_from, today).unwrap_or(0)];
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
    let auth = ctx.authorize(state, Action::ManageCommunities)?;
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
    let cmd = auth.begin().await?;
    let (now, txn) = (cmd.now, cmd.txn());
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
    .insert(txn)
    .await?;
    cmd.audit(
        "community.create",
        "community",
        c.id,
        serde_json::json!({"late_fee": body.late_fee}),
    )
    .await?;
    cmd.commit().await?;
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
    let auth = ctx.authorize(state, Action::ManageCommunities)?;
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
    let mut cmd = auth.begin().await?;
    insert_terms(state, cmd.txn(), ctx, id, &terms, from).await?;
    cmd.touches_community(id);
    cmd.commit().await?;
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
    let auth = ctx.authorize(state, Action::ManageCommunities)?;
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
    let mut cmd = auth.begin().await?;
    let txn = cmd.txn();
    let mut am: community::ActiveModel = c.into();
    if let Some(Some(n)) = name {
        am.name = Set(n);
    }
    if let Some(f) = &features {
        am.features = Set(Some(serde_json::to_string(f).map_err(ApiError::internal)?));
    }
    let c = am.update(txn).await?;
    // The old form of changing terms: new terms from today, never rewriting the past.
    if let Some(Some(p)) = policy {
        insert_terms(state, txn, ctx, id, &p, today).await?;
    }
    cmd.audit(
        "community.update",
        "community",
        id,
        serde_json::json!({"name": patch.name, "late_fee": patch.late_fee, "features": patch.features}),
    )
    .await?;
    cmd.touches_community(id);
    cmd.commit().await?;
    one_view(state, c).await
}
