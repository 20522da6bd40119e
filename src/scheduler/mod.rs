//! Background jobs. Each job is a plain `tick` over the app state, idempotent and safe with many
//! replicas (unique keys decide who did what), so the loop only has to call it now and then.
use crate::services::billing;
use crate::state::AppState;
use chrono::Datelike;
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
            if let Err(e) = crate::services::payments::reconcile(&state).await {
                tracing::warn!(error = %e, "payment reconciliation failed");
            }
            if let Err(e) = crate::services::rejections::prune(&state).await {
                tracing::warn!(error = %e, "pruning rejected notifications failed");
            }
            match crate::services::reminders::tick(&state).await {
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

/// On each community's `billing.auto_run_day` (local date) and after it in that month, creates the
/// bills of every cycle whose period starts next month. Repeats create nothing.
pub async fn billing_tick(state: &AppState) -> Result<u64, crate::error::ApiError> {
    let mut created = 0;
    for c in community::Entity::find().all(&state.db).await? {
        let tz = state.community_tz(c.id).await?;
        let today = state.clock.now().with_timezone(&tz).date_naive();
        if today.day() < state.settings.billing.auto_run_day {
            continue;
        }
        let Some(next_month) = today
            .with_day(1)
            .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
        else {
            continue;
        };
        for cycle in [
            crate::domain::billing::Cycle::Monthly,
            crate::domain::billing::Cycle::Quarterly,
            crate::domain::billing::Cycle::Yearly,
        ] {
            let period = cycle.period_of(next_month);
            if period.start() == next_month && !billing::scheduler_ran(state, c.id, period).await? {
                created += billing::run(state, billing::SCHEDULER, c.id, period)
                    .await?
                    .bills_created;
            }
        }
    }
    Ok(created)
}
