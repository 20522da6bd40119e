//! A community's points rules, edited in the console by finance or admins (audited); a community
//! that never saved any uses the defaults. Changes apply to what is earned from then on: points
//! already awarded keep their amount and their lot's expiry.
use crate::domain::points::EarnRules;
use crate::domain::role::Action;
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::services::access::staff::StaffCtx;
use crate::services::audit;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::{community, points_setting};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use utoipa::ToSchema;

/// The rules as the console shows and saves them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointsSettings {
    /// Points per whole yuan of principal paid on or before the due date.
    #[schema(minimum = 0, maximum = 100)]
    pub points_per_yuan: i64,
    /// Extra for a prepaid bill, in percent of its points (rounded down).
    #[schema(minimum = 0, maximum = 100)]
    pub prepay_bonus_percent: i64,
    /// On-time months in a row that earn `streak_bonus` (0 points switches the bonus off).
    #[schema(minimum = 2, maximum = 36)]
    pub streak_months: i32,
    #[schema(minimum = 0, maximum = 100000)]
    pub streak_bonus: i64,
    /// Grade A's multiplier in thousandths (1200 = × 1.2).
    #[schema(minimum = 1000, maximum = 3000)]
    pub grade_a_permille: i64,
    /// Points expire at the end of this many calendar years after the year earned.
    #[schema(minimum = 1, maximum = 10)]
    pub expiry_years: i32,
    /// Points that pay one yuan of fees (`POST /payments {"points"}`); absent: 100.
    #[serde(default = "default_points_per_fee_yuan")]
    #[schema(minimum = 1, maximum = 10000)]
    pub points_per_fee_yuan: i64,
    /// The most of an order points may pay, in percent; absent: 10.
    #[serde(default = "default_max_fee_percent")]
    #[schema(minimum = 0, maximum = 50)]
    pub max_fee_percent: i64,
}

fn default_points_per_fee_yuan() -> i64 {
    EarnRules::default().points_per_fee_yuan
}

fn default_max_fee_percent() -> i64 {
    EarnRules::default().max_fee_percent
}

/// `GET /staff/communities/{id}/points-settings`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsView {
    pub community_id: i32,
    #[serde(flatten)]
    pub settings: PointsSettings,
    /// False while the community uses the defaults.
    pub customised: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
}

impl From<EarnRules> for PointsSettings {
    fn from(r: EarnRules) -> Self {
        PointsSettings {
            points_per_yuan: r.points_per_yuan,
            prepay_bonus_percent: r.prepay_bonus_percent,
            streak_months: i32::try_from(r.streak_months).unwrap_or(12),
            streak_bonus: r.streak_bonus,
            grade_a_permille: r.grade_a_permille,
            expiry_years: r.expiry_years,
            points_per_fee_yuan: r.points_per_fee_yuan,
            max_fee_percent: r.max_fee_percent,
        }
    }
}

fn rules_of(s: &points_setting::Model) -> EarnRules {
    EarnRules {
        points_per_yuan: s.points_per_yuan,
        prepay_bonus_percent: s.prepay_bonus_percent,
        streak_months: usize::try_from(s.streak_months).unwrap_or(12),
        streak_bonus: s.streak_bonus,
        grade_a_permille: s.grade_a_permille,
        expiry_years: s.expiry_years,
        points_per_fee_yuan: s.points_per_fee_yuan,
        max_fee_percent: s.max_fee_percent,
    }
}

/// Each community's rules (the defaults where none were saved).
pub(crate) async fn rules_of_communities<C: ConnectionTrait>(
    db: &C,
    communities: &BTreeSet<i32>,
) -> ApiResult<HashMap<i32, EarnRules>> {
    let saved: HashMap<i32, EarnRules> = points_setting::Entity::find()
        .filter(points_setting::Column::CommunityId.is_in(communities.iter().copied()))
        .all(db)
        .await?
        .iter()
        .map(|s| (s.community_id, rules_of(s)))
        .collect();
    Ok(communities
        .iter()
        .map(|c| (*c, saved.get(c).copied().unwrap_or_default()))
        .collect())
}

/// One community's rules.
pub(crate) async fn rules<C: ConnectionTrait>(db: &C, community_id: i32) -> ApiResult<EarnRules> {
    Ok(rules_of_communities(db, &[community_id].into_iter().collect())
        .await?
        .remove(&community_id)
        .unwrap_or_default())
}

async fn in_scope(state: &AppState, ctx: &StaffCtx, community_id: i32) -> ApiResult<()> {
    ctx.require_community(community_id)?;
    community::Entity::find_by_id(community_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(())
}

/// `GET /staff/communities/{id}/points-settings`.
pub async fn get(state: &AppState, ctx: &StaffCtx, community_id: i32) -> ApiResult<SettingsView> {
    ctx.require(Action::ReadSetup)?;
    in_scope(state, ctx, community_id).await?;
    let saved = points_setting::Entity::find_by_id(community_id).one(&state.db).await?;
    Ok(match saved {
        Some(s) => SettingsView {
            community_id,
            settings: rules_of(&s).into(),
            customised: true,
            updated_at: Some(s.updated_at),
            updated_by: Some(s.updated_by),
        },
        None => SettingsView {
            community_id,
            settings: EarnRules::default().into(),
            customised: false,
            updated_at: None,
            updated_by: None,
        },
    })
}

fn check(s: &PointsSettings) -> ApiResult<()> {
    let mut errors = FieldErrors::new();
    let mut bad = |ok: bool, field: &str, msg: &str| {
        if !ok {
            errors.insert(field.into(), msg.into());
        }
    };
    bad(
        (0..=100).contains(&s.points_per_yuan),
        "points_per_yuan",
        "每元积分应在0到100之间",
    );
    bad(
        (0..=100).contains(&s.prepay_bonus_percent),
        "prepay_bonus_percent",
        "预缴奖励比例应在0到100之间",
    );
    bad(
        (2..=36).contains(&s.streak_months),
        "streak_months",
        "连续按时月数应在2到36之间",
    );
    bad(
        (0..=100_000).contains(&s.streak_bonus),
        "streak_bonus",
        "连续按时奖励应在0到100000之间",
    );
    bad(
        (1000..=3000).contains(&s.grade_a_permille),
        "grade_a_permille",
        "A级倍数应在1000到3000之间（千分之，1200即1.2倍）",
    );
    bad(
        (1..=10).contains(&s.expiry_years),
        "expiry_years",
        "有效年数应在1到10之间",
    );
    ApiError::check(errors)
}

/// `PUT /staff/communities/{id}/points-settings`: finance or admins; audited.
pub async fn put(state: &AppState, ctx: &StaffCtx, community_id: i32, body: PointsSettings) -> ApiResult<SettingsView> {
    ctx.require(Action::ManageBilling)?;
    in_scope(state, ctx, community_id).await?;
    check(&body)?;
    let now = state.clock.now();
    let row = points_setting::ActiveModel {
        community_id: Set(community_id),
        points_per_yuan: Set(body.points_per_yuan),
        prepay_bonus_percent: Set(body.prepay_bonus_percent),
        streak_months: Set(body.streak_months),
        streak_bonus: Set(body.streak_bonus),
        grade_a_permille: Set(body.grade_a_permille),
        expiry_years: Set(body.expiry_years),
        points_per_fee_yuan: Set(body.points_per_fee_yuan),
        max_fee_percent: Set(body.max_fee_percent),
        updated_at: Set(now),
        updated_by: Set(ctx.actor()),
    };
    let txn = crate::db::begin_write(&state.db).await?;
    points_setting::Entity::insert(row)
        .on_conflict(
            OnConflict::column(points_setting::Column::CommunityId)
                .update_columns([
                    points_setting::Column::PointsPerYuan,
                    points_setting::Column::PrepayBonusPercent,
                    points_setting::Column::StreakMonths,
                    points_setting::Column::StreakBonus,
                    points_setting::Column::GradeAPermille,
                    points_setting::Column::ExpiryYears,
                    points_setting::Column::PointsPerFeeYuan,
                    points_setting::Column::MaxFeePercent,
                    points_setting::Column::UpdatedAt,
                    points_setting::Column::UpdatedBy,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    audit::record(
        &txn,
        &ctx.actor(),
        "points.settings",
        "community",
        community_id,
        serde_json::to_value(&body).map_err(ApiError::internal)?,
        now,
    )
    .await?;
    txn.commit().await?;
    get(state, ctx, community_id).await
}
