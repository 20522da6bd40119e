//! Staff: the points of whoever holds a unit's points today (its first-listed owner's account, or
//! the unit while none is linked), and adjustments — a reason required, audited, spending the
//! soonest-expiring points first when taking away, refused beyond the balance.
use super::owner::{view, PointsView};
use super::{add_points, find, locked_account, record, spend, Holder, NewEntry, UnitHolders};
use crate::domain::role::Action;
use crate::domain::text;
use crate::error::{ApiError, ApiResult};
use crate::services::access::staff::StaffCtx;
use crate::services::audit;
use crate::state::AppState;
use entity::states::PointsEntryKind;
use entity::unit;
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The most one adjustment may move.
const MAX_ADJUST: i64 = 1_000_000;

/// A unit's points as staff see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitPoints {
    pub unit_id: i32,
    /// `account` (the first-listed owner's linked account) or `unit` (held until one links).
    pub holder: String,
    /// The unit's credit grade over its own bills (A–D), and why.
    pub credit_grade: String,
    pub credit_explanation: String,
    #[serde(flatten)]
    pub points: PointsView,
}

/// `POST /staff/units/{id}/points/adjustments`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointsAdjustment {
    /// Points to add (positive) or take away (negative); not 0.
    #[schema(minimum = -1000000, maximum = 1000000)]
    pub points: i64,
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 200
    )]
    pub reason: String,
}

/// The unit (in the member's scope), its community's date today, and who holds its points today.
async fn unit_holder(
    state: &AppState,
    ctx: &StaffCtx,
    unit_id: i32,
) -> ApiResult<(unit::Model, chrono::NaiveDate, Holder)> {
    let u = unit::Entity::find_by_id(unit_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx.require_community(u.community_id)?;
    let today = state.today_in(state.community_tz(u.community_id).await?);
    let holders = UnitHolders::load(state, &[u.id].into_iter().collect()).await?;
    let h = holders.holder(u.id, today);
    Ok((u, today, h))
}

fn label(h: Holder) -> String {
    match h {
        Holder::Account(_) => "account".into(),
        Holder::Unit(_) => "unit".into(),
    }
}

/// `GET /staff/units/{id}/points`.
pub async fn get(state: &AppState, ctx: &StaffCtx, unit_id: i32) -> ApiResult<UnitPoints> {
    ctx.require(Action::ReadSetup)?;
    let (u, _, h) = unit_holder(state, ctx, unit_id).await?;
    let points = match find(&state.db, u.community_id, h).await? {
        Some(held) => view(state, u.community_id, &held).await?,
        None => PointsView::empty(u.community_id),
    };
    let (grade, why) = super::grade::of_units(state, &[u.id].into_iter().collect())
        .await?
        .remove(&u.community_id)
        .unwrap_or((crate::domain::points::Grade::A, String::new()));
    Ok(UnitPoints {
        unit_id,
        holder: label(h),
        credit_grade: grade.as_str().into(),
        credit_explanation: why,
        points,
    })
}

/// `POST /staff/units/{id}/points/adjustments`: finance or admins, with a reason, audited.
pub async fn adjust(state: &AppState, ctx: &StaffCtx, unit_id: i32, body: PointsAdjustment) -> ApiResult<UnitPoints> {
    ctx.require(Action::ManageBilling)?;
    let reason = text::name(&body.reason, 200).map_err(|m| ApiError::field("reason", format!("原因{m}")))?;
    if body.points == 0 || body.points.abs() > MAX_ADJUST {
        return Err(ApiError::field("points", "调整积分应为非零整数，绝对值不超过1000000"));
    }
    let (u, today, h) = unit_holder(state, ctx, unit_id).await?;
    let now = state.clock.now();
    let rules = super::settings::rules(&state.db, u.community_id).await?;
    let txn = crate::db::begin_write(&state.db).await?;
    let account = locked_account(&txn, u.community_id, h, now).await?;
    let mut lot_id = None;
    if body.points > 0 {
        lot_id = add_points(&txn, &account, body.points, today, rules.expiry_years, now).await?;
    } else {
        spend(&txn, &account, -body.points, today, None).await?;
    }
    record(
        &txn,
        NewEntry {
            account_id: account.id,
            kind: PointsEntryKind::Adjust,
            points: body.points,
            lot_id,
            source: None,
            reason: reason.clone(),
            actor: ctx.actor(),
            at: now,
        },
    )
    .await?;
    audit::record(
        &txn,
        &ctx.actor(),
        "points.adjust",
        "unit",
        unit_id,
        serde_json::json!({"points": body.points, "reason": reason, "points_account_id": account.id}),
        now,
    )
    .await?;
    txn.commit().await?;
    get(state, ctx, unit_id).await
}
