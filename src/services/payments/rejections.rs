//! `/notify/*` is open to anyone, so what it stores for a request nobody verified must stay bounded:
//! one row per provider × source × minute × reason, with a count and the first sample's SHA-256,
//! size and first bytes, pruned after `security.rejected_retention_days`. Verified notifications
//! are evidence and are stored whole elsewhere (`payments`); this is only the junk.
use crate::error::ApiResult;
use crate::services::access::rate_limit;
use crate::state::AppState;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use entity::rejected_notification as rn;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use std::time::Duration;

/// How many bytes of a rejected body are kept, escaped, for staff to recognise it.
const HEAD_BYTES: usize = 96;

/// Counts a notification from `source` against `rate_limits.notify_per_source_per_minute`
/// (well above what a gateway sends from one address); 429 beyond it.
pub async fn limit(state: &AppState, provider: &str, source: &str) -> ApiResult<()> {
    let per_min = state.settings.rate_limits.notify_per_source_per_minute;
    rate_limit::hit(
        state,
        &format!("notify-{provider}"),
        source,
        per_min,
        Duration::from_secs(60),
    )
    .await
}

/// The first bytes of a body as printable text (control and invalid bytes escaped), so the row is
/// valid text on every backend whatever was sent.
fn head(raw: &[u8]) -> String {
    let cut = &raw[..raw.len().min(HEAD_BYTES)];
    String::from_utf8_lossy(cut)
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

fn minute_of(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::minutes(1)).unwrap_or(t)
}

/// Records one rejected notification: the minute's row for (provider, source, reason) is created
/// with this body as its sample, or its count goes up by one.
pub async fn record(state: &AppState, provider: &str, source: &str, reason: &str, raw: &[u8]) -> ApiResult<()> {
    let now = state.clock.now();
    let row = rn::ActiveModel {
        provider: Set(provider.into()),
        source: Set(source.chars().take(64).collect()),
        minute: Set(minute_of(now)),
        reason: Set(reason.into()),
        count: Set(1),
        sample_sha256: Set(crate::crypto::sha256_hex(raw)),
        sample_size: Set(i32::try_from(raw.len()).unwrap_or(i32::MAX)),
        sample_head: Set(head(raw)),
        first_at: Set(now),
        last_at: Set(now),
        ..Default::default()
    };
    rn::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                rn::Column::Provider,
                rn::Column::Source,
                rn::Column::Minute,
                rn::Column::Reason,
            ])
            .value(rn::Column::Count, Expr::col((rn::Entity, rn::Column::Count)).add(1))
            .value(rn::Column::LastAt, Expr::val(now))
            .to_owned(),
        )
        .exec_without_returning(&state.db)
        .await?;
    tracing::warn!(provider, reason, size = raw.len(), "gateway notification rejected");
    Ok(())
}

/// Deletes rows older than the retention period; returns how many went.
pub async fn prune(state: &AppState) -> ApiResult<u64> {
    let days = i64::from(state.settings.security.rejected_retention_days);
    let before = state.clock.now() - TimeDelta::days(days);
    let r = rn::Entity::delete_many()
        .filter(rn::Column::Minute.lt(before))
        .exec(&state.db)
        .await?;
    Ok(r.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_printable_and_short() {
        assert_eq!(head(b"a=1\0\x01"), "a=1\\u{0}\\u{1}");
        assert_eq!(head("支付".as_bytes()), "支付");
        assert!(head(&[0xff; 1000]).chars().count() <= HEAD_BYTES);
        assert!(!head(&[0u8; 500]).contains('\0'));
    }
}
