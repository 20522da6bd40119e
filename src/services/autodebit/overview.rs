//! What staff watch of a community's auto-debits: the debits coming up (the next week, tomorrow's
//! among them), those that did not go through lately with the reason the owner was told, and the
//! bank batches made.
use crate::domain::role::Action;
use crate::domain::Fen;
use crate::error::ApiResult;
use crate::services::access::staff::StaffCtx;
use crate::services::setup::units::labels_of;
use crate::state::AppState;
use chrono::{Duration, NaiveDate};
use entity::states::DebitStatus;
use entity::{autodebit_bank_batch as batch, autodebit_debit as debit, autodebit_mandate as mandate, unit};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

/// How far ahead "coming up" looks.
pub const AHEAD_DAYS: i64 = 7;
/// How far back "did not go through" looks.
pub const BACK_DAYS: i64 = 30;
/// Rows each list shows at most.
pub const SHOWN: u64 = 500;

/// One debit as staff see it.
pub struct DebitLine {
    pub unit_id: i32,
    pub unit: String,
    /// The day it runs (or ran): the due date, or the next try's.
    pub day: NaiveDate,
    pub amount: String,
    /// `wechat`, `alipay` or `bank`.
    pub channel: &'static str,
    pub status: DebitStatus,
    pub attempts: i32,
    pub reason: Option<String>,
}

/// A community's auto-debits now.
pub struct Overview {
    pub today: NaiveDate,
    pub upcoming: Vec<DebitLine>,
    pub problems: Vec<DebitLine>,
    pub batches: Vec<batch::Model>,
}

/// The overview of a community the member sees (`ReadSetup`; batches for those who make them).
pub async fn of_community(state: &AppState, ctx: &StaffCtx, community_id: i32) -> ApiResult<Overview> {
    ctx.require(Action::ReadSetup)?;
    crate::services::setup::community_in_scope(state, ctx, community_id).await?;
    let today = state.today_in(state.community_tz(community_id).await?);
    let since = state.clock.now() - Duration::days(BACK_DAYS);
    let upcoming = debit::Entity::find()
        .filter(debit::Column::CommunityId.eq(community_id))
        .filter(debit::Column::Status.is_in([
            DebitStatus::Scheduled,
            DebitStatus::Noticed,
            DebitStatus::Debiting,
            DebitStatus::Failed,
        ]))
        .filter(
            sea_orm::Condition::any()
                .add(debit::Column::DebitOn.lte(today + Duration::days(AHEAD_DAYS)))
                .add(debit::Column::NextTryOn.lte(today + Duration::days(AHEAD_DAYS))),
        )
        .order_by_asc(debit::Column::DebitOn)
        .order_by_asc(debit::Column::Id)
        .limit(SHOWN)
        .all(&state.db)
        .await?;
    let problems = debit::Entity::find()
        .filter(debit::Column::CommunityId.eq(community_id))
        .filter(debit::Column::Status.is_in([DebitStatus::Failed, DebitStatus::GivenUp, DebitStatus::Skipped]))
        .filter(debit::Column::UpdatedAt.gte(since))
        .order_by_desc(debit::Column::UpdatedAt)
        .limit(SHOWN)
        .all(&state.db)
        .await?;
    let batches = if ctx.role.may(Action::ManageBilling) {
        batch::Entity::find()
            .filter(batch::Column::CommunityId.eq(community_id))
            .order_by_desc(batch::Column::Id)
            .limit(20)
            .all(&state.db)
            .await?
    } else {
        Vec::new()
    };
    let all: Vec<&debit::Model> = upcoming.iter().chain(problems.iter()).collect();
    let channels: HashMap<i32, &'static str> = mandate::Entity::find()
        .filter(mandate::Column::Id.is_in(all.iter().map(|d| d.mandate_id)))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|m| (m.id, m.channel.as_str()))
        .collect();
    let labels = labels_of(&state.db, all.iter().map(|d| d.unit_id)).await?;
    let line = |d: &debit::Model| DebitLine {
        unit_id: d.unit_id,
        unit: labels.get(&d.unit_id).cloned().unwrap_or_default(),
        day: super::debits::next_day(d),
        amount: Fen(d.amount_fen).to_yuan_string(),
        channel: channels.get(&d.mandate_id).copied().unwrap_or_default(),
        status: d.status,
        attempts: d.attempts,
        reason: d.reason.clone(),
    };
    let mut coming: Vec<DebitLine> = upcoming
        .iter()
        .map(line)
        .filter(|l| l.day <= today + Duration::days(AHEAD_DAYS))
        .collect();
    coming.sort_by_key(|l| l.day);
    Ok(Overview {
        today,
        upcoming: coming,
        problems: problems.iter().map(line).collect(),
        batches,
    })
}

/// Auto-debit's part in a community's collections, for the dashboard.
pub struct Share {
    /// Units with an active mandate, of all the community's units.
    pub units_covered: u64,
    pub units_total: u64,
    /// Money credited this month (community time, to now) through auto-debit, and through every
    /// channel.
    pub month_autodebit_fen: i64,
    pub month_all_fen: i64,
    /// Debits credited this month, and debits due this month that failed at least once.
    pub month_paid: u64,
    pub month_failed: u64,
}

/// The share of one community this month.
pub async fn share(state: &AppState, ctx: &StaffCtx, community_id: i32) -> ApiResult<Share> {
    use crate::domain::states::PaymentStatus;
    use chrono::{Datelike, TimeZone};
    use entity::{autodebit_mandate_unit as mandate_unit, payment};
    use sea_orm::PaginatorTrait;
    ctx.require(Action::ReadReports)?;
    crate::services::setup::community_in_scope(state, ctx, community_id).await?;
    let tz = state.community_tz(community_id).await?;
    let today = state.today_in(tz);
    let first = today.with_day(1).unwrap_or(today);
    let start = tz
        .from_local_datetime(&first.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(|| state.clock.now());
    let units_total = unit::Entity::find()
        .filter(unit::Column::CommunityId.eq(community_id))
        .count(&state.db)
        .await?;
    let units_covered = mandate_unit::Entity::find()
        .filter(mandate_unit::Column::CommunityId.eq(community_id))
        .filter(mandate_unit::Column::LiveUnitId.is_not_null())
        .filter(mandate_unit::Column::MandateId.in_subquery(super::debits::active_mandates()))
        .count(&state.db)
        .await?;
    let paid = payment::Entity::find()
        .filter(payment::Column::CommunityId.eq(community_id))
        .filter(payment::Column::PaidAt.gte(start))
        .filter(payment::Column::Status.is_in([
            PaymentStatus::Paid,
            PaymentStatus::PartiallyRefunded,
            PaymentStatus::Refunded,
        ]))
        .all(&state.db)
        .await?;
    let debits = debit::Entity::find()
        .filter(debit::Column::CommunityId.eq(community_id))
        .filter(debit::Column::DebitOn.gte(first))
        .all(&state.db)
        .await?;
    // Every try's order: one credited is money through auto-debit, whether or not the pass has
    // marked its debit paid yet.
    let paid_ids: std::collections::HashSet<i32> = paid.iter().map(|p| p.id).collect();
    let debit_orders: std::collections::HashSet<i32> = debit::Entity::find()
        .filter(debit::Column::CommunityId.eq(community_id))
        .filter(debit::Column::PaymentId.is_not_null())
        // A retry runs at most 60 days after its due date (`autodebit.retry_days`).
        .filter(debit::Column::DebitOn.gte(first - Duration::days(61)))
        .all(&state.db)
        .await?
        .into_iter()
        .filter_map(|d| d.payment_id)
        .filter(|id| paid_ids.contains(id))
        .collect();
    Ok(Share {
        units_covered,
        units_total,
        month_autodebit_fen: paid
            .iter()
            .filter(|p| debit_orders.contains(&p.id))
            .map(|p| p.amount_fen)
            .sum(),
        month_all_fen: paid.iter().map(|p| p.amount_fen).sum(),
        month_paid: debit_orders.len() as u64,
        month_failed: debits
            .iter()
            .filter(|d| {
                matches!(d.status, DebitStatus::Failed | DebitStatus::GivenUp)
                    || (d.status == DebitStatus::Paid && d.attempts > 1)
            })
            .count() as u64,
    })
}
