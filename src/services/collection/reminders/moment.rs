//! What a pass and a delivery share: one community's moment (local time and date, its policy and
//! quiet hours), the outcome of one delivery, and positional SQL for both backends.
// Joins each bill (`b`) to the owner records it belongs to (`uo`): the one ownership rule.
use crate::domain::reminders::{self as rules, Policy, QuietHours, Stage};
use crate::error::{ApiError, ApiResult};
use crate::services::collection::reminders::policy::policy_of;
use crate::state::AppState;
use chrono::{DateTime, NaiveDate, Utc};
use entity::community;
use sea_orm::{ConnectionTrait, EntityTrait, Statement, Value};

/// A statement with `$n` placeholders, rewritten to `?n` for SQLite (both are positional).
pub(super) fn stmt<C: ConnectionTrait>(db: &C, sql: &str, values: Vec<Value>) -> Statement {
    crate::db::positional(db, sql, values)
}

/// Where a community stands right now: its policy, local date and whether it may be messaged.
pub(super) struct Moment {
    pub(super) community: community::Model,
    pub(super) policy: Policy,
    pub(super) tz: chrono_tz::Tz,
    pub(super) today: NaiveDate,
    pub(super) quiet: Option<QuietHours>,
    pub(super) no_send: Vec<NaiveDate>,
}

impl Moment {
    pub(super) async fn load<C: ConnectionTrait>(state: &AppState, db: &C, community_id: i32) -> ApiResult<Moment> {
        let community = community::Entity::find_by_id(community_id)
            .one(db)
            .await?
            .ok_or(ApiError::NotFound)?;
        let policy = policy_of(db, community_id).await?;
        let tz = state.community_tz_on(db, community_id).await?;
        let today = state.today_in(tz);
        let defaults = &state.settings.reminders;
        let quiet = QuietHours::parse(policy.quiet_hours.as_deref().unwrap_or(&defaults.quiet_hours));
        let no_send = policy
            .no_send_dates
            .clone()
            .unwrap_or_else(|| defaults.no_send_dates.clone());
        Ok(Moment {
            community,
            policy,
            tz,
            today,
            quiet,
            no_send,
        })
    }

    /// The first moment at or after `at` when this community may be messaged.
    pub(super) fn next_send(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let local = at.with_timezone(&self.tz).naive_local();
        let next = rules::next_send_time(local, self.quiet, &self.no_send);
        if next == local {
            return at;
        }
        next.and_local_timezone(self.tz)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(at)
    }
}

pub(super) enum Outcome {
    Sent(Stage),
    /// No electronic channel: handed to staff (a formal notice).
    Task,
    /// No channel for a courtesy reminder: nothing sent, nothing handed on.
    Skipped,
    Suppressed,
    Deferred,
    /// Another sender took the row over (our lease ran out): it reports the row.
    Lost,
}
