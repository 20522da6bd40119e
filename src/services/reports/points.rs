//! `GET /staff/reports/points`: a community's points month by month — issued (earned, staff
//! adjustments in), redeemed on rewards, spent on fees and what that cost in fees forgone, given
//! back (cancelled redemptions, fee points of refunded orders), taken back by refunds, expired —
//! from the append-only points history; months by the community's local date. Finance, collectors
//! and admins (`ReadReports`); another community is 404.
use crate::domain::period::Period;
use crate::domain::role::Action;
use crate::domain::Fen;
use crate::error::{ApiError, ApiResult};
use crate::services::access::staff::StaffCtx;
use crate::state::AppState;
use chrono::{Months, NaiveDate, TimeZone, Utc};
use entity::states::PointsEntryKind;
use entity::{payment, points_account, points_entry};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use utoipa::{IntoParams, ToSchema};

/// The most months one report covers.
const MAX_MONTHS: u32 = 36;

#[derive(Debug, Deserialize, IntoParams)]
pub struct PointsReportQuery {
    pub community_id: i32,
    /// First month, `YYYY-MM`.
    #[param(pattern = r#"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$"#)]
    pub from: String,
    /// Last month, inclusive (at most 36 months after `from`).
    #[param(pattern = r#"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$"#)]
    pub to: String,
}

/// One month's points (all counts positive).
#[derive(Debug, Default, Clone, Serialize, ToSchema)]
pub struct PointsMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// Earned by paying on time (streak bonuses included).
    pub earned: i64,
    /// Staff adjustments: added and taken away.
    pub adjusted_in: i64,
    pub adjusted_out: i64,
    /// Spent on rewards.
    pub redeemed_rewards: i64,
    /// Spent paying fees, and the fees they paid (yuan): what the company forwent in cash.
    pub redeemed_fees: i64,
    pub fee_cost: String,
    /// Given back: cancelled redemptions, and the points part of refunded or uncredited orders.
    pub returned: i64,
    /// Taken back because what earned them was refunded.
    pub reversed: i64,
    pub expired: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PointsReport {
    pub community_id: i32,
    pub months: Vec<PointsMonth>,
    /// The months added up.
    pub total: PointsMonth,
}

fn month(field: &str, raw: &str) -> ApiResult<NaiveDate> {
    match Period::parse(raw) {
        Ok(p @ Period::Month { .. }) => Ok(p.start()),
        _ => Err(ApiError::field(field, "月份格式应为2026-09")),
    }
}

/// `GET /staff/reports/points`.
pub async fn points(state: &AppState, ctx: &StaffCtx, q: &PointsReportQuery) -> ApiResult<PointsReport> {
    ctx.require(Action::ReadReports)?;
    let from = month("from", &q.from)?;
    let to = month("to", &q.to)?;
    if to < from || to > from.checked_add_months(Months::new(MAX_MONTHS - 1)).unwrap_or(from) {
        return Err(ApiError::field("to", "结束月份应不早于开始月份，且最多36个月"));
    }
    crate::services::setup::community_in_scope(state, ctx, q.community_id).await?;
    let tz = state.community_tz(q.community_id).await?;
    let instant = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    let end_day = to.checked_add_months(Months::new(1)).unwrap_or(to);
    let (Some(start), Some(end)) = (instant(from), instant(end_day)) else {
        return Err(ApiError::field("from", "月份无效"));
    };
    let accounts: Vec<i32> = points_account::Entity::find()
        .filter(points_account::Column::CommunityId.eq(q.community_id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect();
    let entries = points_entry::Entity::find()
        .filter(points_entry::Column::PointsAccountId.is_in(accounts))
        .filter(points_entry::Column::CreatedAt.gte(start))
        .filter(points_entry::Column::CreatedAt.lt(end))
        .all(&state.db)
        .await?;
    // What each order's points paid, for the fee cost.
    let fee_fen: HashMap<i32, i64> = payment::Entity::find()
        .filter(
            payment::Column::Id.is_in(
                entries
                    .iter()
                    .filter(|e| e.source_kind.as_deref() == Some("order_points"))
                    .filter_map(|e| e.source_id),
            ),
        )
        .all(&state.db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.points_fen.unwrap_or(0)))
        .collect();
    let mut months: BTreeMap<String, (PointsMonth, i64)> = BTreeMap::new();
    let mut m = from;
    while m <= to {
        let key = m.format("%Y-%m").to_string();
        months.insert(
            key.clone(),
            (
                PointsMonth {
                    month: key,
                    ..Default::default()
                },
                0,
            ),
        );
        m = m.checked_add_months(Months::new(1)).unwrap_or(end_day);
    }
    for e in &entries {
        let key = e.created_at.with_timezone(&tz).format("%Y-%m").to_string();
        let Some((row, cost)) = months.get_mut(&key) else {
            continue;
        };
        let n = e.points;
        let staff = e.actor.starts_with("staff:");
        match e.kind {
            PointsEntryKind::Earn => row.earned += n,
            // Moves between a unit and its owner's account are not adjustments of the total.
            PointsEntryKind::Adjust if staff && n > 0 => row.adjusted_in += n,
            PointsEntryKind::Adjust if staff => row.adjusted_out -= n,
            PointsEntryKind::Adjust => {}
            PointsEntryKind::Redeem if e.source_kind.as_deref() == Some("order_points") => {
                row.redeemed_fees -= n;
                *cost += e.source_id.and_then(|id| fee_fen.get(&id)).copied().unwrap_or(0);
            }
            PointsEntryKind::Redeem => row.redeemed_rewards -= n,
            PointsEntryKind::Reverse if n > 0 => row.returned += n,
            PointsEntryKind::Reverse => row.reversed -= n,
            PointsEntryKind::Expire => row.expired -= n,
        }
    }
    let mut total = PointsMonth {
        month: format!("{}至{}", q.from, q.to),
        ..Default::default()
    };
    let mut total_cost = 0;
    let months: Vec<PointsMonth> = months
        .into_values()
        .map(|(mut row, cost)| {
            row.fee_cost = Fen(cost).to_yuan_string();
            total.earned += row.earned;
            total.adjusted_in += row.adjusted_in;
            total.adjusted_out += row.adjusted_out;
            total.redeemed_rewards += row.redeemed_rewards;
            total.redeemed_fees += row.redeemed_fees;
            total.returned += row.returned;
            total.reversed += row.reversed;
            total.expired += row.expired;
            total_cost += cost;
            row
        })
        .collect();
    total.fee_cost = Fen(total_cost).to_yuan_string();
    Ok(PointsReport {
        community_id: q.community_id,
        months,
        total,
    })
}
