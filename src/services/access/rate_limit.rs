//! Fixed-window rate limits in the shared store, so they hold across replicas.
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use std::time::Duration;

fn key(state: &AppState, name: &str, subject: &str, window: Duration) -> String {
    let secs = window.as_secs().max(1) as i64;
    let slot = state.clock.now().timestamp().div_euclid(secs);
    format!("rl:{name}:{slot}:{subject}")
}

/// Counts one attempt under `name:subject` and refuses with 429 once `limit` is passed in the window.
pub async fn hit(state: &AppState, name: &str, subject: &str, limit: i64, window: Duration) -> ApiResult<()> {
    let n = add(state, name, subject, window).await?;
    if n > limit {
        tracing::warn!(limiter = name, "rate limit exceeded");
        return Err(ApiError::RateLimited);
    }
    Ok(())
}

/// How many were counted under `name:subject` in the current window.
pub async fn count(state: &AppState, name: &str, subject: &str, window: Duration) -> ApiResult<i64> {
    let v = state.store.get(&key(state, name, subject, window)).await?;
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Counts one more under `name:subject`; returns the window's count.
pub async fn add(state: &AppState, name: &str, subject: &str, window: Duration) -> ApiResult<i64> {
    Ok(state
        .store
        .incr(&key(state, name, subject, window), window + Duration::from_secs(1))
        .await?)
}
