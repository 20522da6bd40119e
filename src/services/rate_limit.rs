//! Fixed-window rate limits in the shared store, so they hold across replicas.
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use std::time::Duration;

/// Counts one attempt under `name:subject` and refuses with 429 once `limit` is passed in the window.
pub async fn hit(state: &AppState, name: &str, subject: &str, limit: i64, window: Duration) -> ApiResult<()> {
    let secs = window.as_secs().max(1) as i64;
    let slot = state.clock.now().timestamp().div_euclid(secs);
    let key = format!("rl:{name}:{slot}:{subject}");
    let n = state.store.incr(&key, window + Duration::from_secs(1)).await?;
    if n > limit {
        tracing::warn!(limiter = name, "rate limit exceeded");
        return Err(ApiError::RateLimited);
    }
    Ok(())
}
