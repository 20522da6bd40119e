//! Whether reminding owners at their own hour moves payment: of the reminders sent in a window,
//! those queued for the owner's learned hour (`reminders.best_hour`) against the rest, each with
//! the share followed by a payment of a bill it named within 3 days. Read-only.
use crate::domain::reports::rate;
use crate::domain::role::Action;
use crate::domain::states::ReminderStatus;
use crate::error::{ApiError, ApiResult};
use crate::services::access::staff::StaffCtx;
use crate::state::AppState;
use chrono::{Duration, NaiveDate};
use entity::{bill, reminder};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// Days after a reminder in which a payment counts as following it.
pub const WITHIN_DAYS: i64 = 3;

/// `GET /staff/reports/reminder-timing` query.
#[derive(Debug, Deserialize, IntoParams)]
pub struct TimingQuery {
    pub community_id: i32,
    /// First day (local) of the sends counted; 89 days before `to` when absent.
    pub from: Option<NaiveDate>,
    /// Last day; today when absent.
    pub to: Option<NaiveDate>,
}

/// One group of reminders.
#[derive(Debug, Serialize, ToSchema, Default)]
pub struct Group {
    pub sent: u64,
    /// Followed by a payment of a bill they named within 3 days.
    pub paid_within_3_days: u64,
    /// paid ÷ sent, four decimals; null when none was sent.
    pub rate: Option<String>,
}

/// `GET /staff/reports/reminder-timing`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimingReport {
    pub community_id: i32,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Sent at the owner's learned hour.
    pub timed: Group,
    /// Sent when due (no learned hour).
    pub untimed: Group,
}

/// `GET /staff/reports/reminder-timing?community_id=&from=&to=` (report readers).
pub async fn timing(state: &AppState, ctx: &StaffCtx, q: TimingQuery) -> ApiResult<TimingReport> {
    ctx.require(Action::ReadReports)?;
    let c = crate::services::setup::community_in_scope(state, ctx, q.community_id).await?;
    let tz = state.zone_of(&c);
    let to = q.to.unwrap_or_else(|| state.today_in(tz));
    let from = q.from.unwrap_or(to - Duration::days(89));
    if from > to || (to - from).num_days() > 366 {
        return Err(ApiError::field("from", "起止日期应在一年之内，且开始不晚于结束"));
    }
    let sent: Vec<reminder::Model> = reminder::Entity::find()
        .filter(reminder::Column::CommunityId.eq(c.id))
        .filter(reminder::Column::Status.eq(ReminderStatus::Sent))
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|r| {
            r.sent_at
                .map(|t| t.with_timezone(&tz).date_naive())
                .is_some_and(|d| from <= d && d <= to)
        })
        .collect();
    let named: BTreeMap<i32, Vec<i32>> = sent
        .iter()
        .map(|r| (r.id, serde_json::from_str(&r.bill_ids).unwrap_or_default()))
        .collect();
    let paid: BTreeMap<i32, chrono::DateTime<chrono::Utc>> = bill::Entity::find()
        .filter(bill::Column::Id.is_in(named.values().flatten().copied()))
        .all(&state.db)
        .await?
        .into_iter()
        .filter_map(|b| b.paid_at.map(|t| (b.id, t)))
        .collect();
    let (mut timed, mut untimed) = (Group::default(), Group::default());
    for r in &sent {
        let Some(at) = r.sent_at else { continue };
        let followed = named.get(&r.id).is_some_and(|ids| {
            ids.iter()
                .filter_map(|id| paid.get(id))
                .any(|p| *p >= at && *p <= at + Duration::days(WITHIN_DAYS))
        });
        let g = if r.best_hour.is_some() {
            &mut timed
        } else {
            &mut untimed
        };
        g.sent += 1;
        g.paid_within_3_days += u64::from(followed);
    }
    for g in [&mut timed, &mut untimed] {
        g.rate = rate(
            i64::try_from(g.paid_within_3_days).unwrap_or(0),
            i64::try_from(g.sent).unwrap_or(0),
        )
        .map(|r| format!("{r:.4}"));
    }
    Ok(TimingReport {
        community_id: c.id,
        from,
        to,
        timed,
        untimed,
    })
}
