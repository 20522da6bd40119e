//! Background jobs. Each job is a plain `tick` over the app state, idempotent and safe with many
//! replicas (unique keys decide who did what), so the loop only has to call it now and then.
use crate::services::billing::runs as billing;
use crate::state::AppState;
use chrono::{Datelike, NaiveDate};
use entity::community;
use sea_orm::EntityTrait;
use std::time::Duration;

/// Starts the scheduler loop (unless `scheduler.enabled = false`).
pub fn spawn(state: AppState) {
    if !state.settings.scheduler.enabled {
        return;
    }
    let every = Duration::from_secs(state.settings.scheduler.interval_seconds.max(1));
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if let Err(e) = billing_tick(&state).await {
                tracing::warn!(error = %e, "billing scheduler tick failed");
            }
            if let Err(e) = crate::services::payments::reconcile::reconcile(&state).await {
                tracing::warn!(error = %e, "payment reconciliation failed");
            }
            if let Err(e) = crate::services::payments::rejections::prune(&state).await {
                tracing::warn!(error = %e, "pruning rejected notifications failed");
            }
            if let Err(e) = crate::services::access::sessions::prune(&state).await {
                tracing::warn!(error = %e, "pruning expired sessions failed");
            }
            // Jobs queued on a replica that died, or whose runner's lease lapsed.
            if let Err(e) = crate::services::jobs::tick(&state).await {
                tracing::warn!(error = %e, "running queued jobs failed");
            }
            // Points for what the ledger credited, and back for what was refunded, once each.
            if let Err(e) = crate::services::points::tick(&state).await {
                tracing::warn!(error = %e, "points pass failed");
            }
            // Auto-debits: plan, pre-debit notices, tries and their results, once each.
            match crate::services::autodebit::debits::tick(&state).await {
                Ok(r) if r != Default::default() => tracing::info!(?r, "auto-debit pass"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "auto-debit pass failed"),
            }
            // Contracts cancelled here but not yet confirmed ended at their gateway.
            if let Err(e) = crate::services::autodebit::terminations::pass(&state).await {
                tracing::warn!(error = %e, "auto-debit termination pass failed");
            }
            // Installment plans in force: completed when kept, defaulted when an instalment is late.
            match crate::services::plans::keeping::tick(&state).await {
                Ok(r) if r != Default::default() => tracing::info!(?r, "installment pass"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "installment pass failed"),
            }
            // Hardship relief for bills issued since the decision; windows that ended, for review.
            match crate::services::plans::hardship::tick(&state).await {
                Ok(r) if r != Default::default() => tracing::info!(?r, "hardship pass"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "hardship pass failed"),
            }
            // Vacancy discounts for bills issued since approval; applications whose year or months ran out.
            match crate::services::plans::vacancy::tick(&state).await {
                Ok(r) if r != Default::default() => tracing::info!(?r, "vacancy pass"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "vacancy pass failed"),
            }
            // Ticket SLA clocks: near-breach warnings and breaches, once per event.
            if let Err(e) = crate::services::tickets::clock::tick(&state).await {
                tracing::warn!(error = %e, "ticket SLA tick failed");
            }
            match crate::services::collection::reminders::pass::tick(&state).await {
                Ok(r) if r.sent + r.suppressed > 0 => {
                    tracing::info!(
                        sent = r.sent,
                        suppressed = r.suppressed,
                        deferred = r.deferred,
                        "reminder pass"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "reminder pass failed"),
            }
        }
    });
}

/// Creates the bills of every cycle whose period starts next month, early enough that routine bills
/// keep their nominal due date: on the community's `billing.auto_run_day` (local date), or earlier
/// when a fee item's due day needs `billing.min_notice_days` of notice (the run day moves, the due
/// dates don't). Repeats create nothing.
pub async fn billing_tick(state: &AppState) -> Result<u64, crate::error::ApiError> {
    use crate::domain::billing::{latest_issue_day, Cycle};
    let settings = &state.settings.billing;
    let mut created = 0;
    for c in community::Entity::find().all(&state.db).await? {
        let tz = state.community_tz(c.id).await?;
        let today = state.today_in(tz);
        let Some(next_month) = today
            .with_day(1)
            .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
        else {
            continue;
        };
        let Some(auto_day) = today.with_day(settings.auto_run_day) else {
            continue;
        };
        let rules = crate::services::billing::fee_items::rules_for_community(state, c.id).await?;
        for cycle in [Cycle::Monthly, Cycle::Quarterly, Cycle::Yearly] {
            let period = cycle.period_of(next_month);
            if period.start() != next_month {
                continue;
            }
            let run_day = rules
                .iter()
                .filter(|r| r.cycle == cycle && r.bills_from(period.start()))
                .map(|r| {
                    latest_issue_day(
                        period.due_date(u32::try_from(r.item.due_day).unwrap_or(1)),
                        settings.min_notice_days,
                    )
                })
                .fold(auto_day, NaiveDate::min);
            if today >= run_day && !billing::scheduler_ran(state, c.id, period).await? {
                created += billing::run(
                    state,
                    billing::SCHEDULER,
                    c.id,
                    period,
                    today,
                    &crate::progress::Progress::none(),
                )
                .await?
                .bills_created;
            }
        }
    }
    Ok(created)
}
