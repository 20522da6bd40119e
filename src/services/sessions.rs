//! Sessions in the store, keyed by a SHA-256 of the token: a dump of the store yields no usable
//! token. Expiry is checked against the app clock; owners' sessions slide, staff sessions do not.
use crate::crypto::{new_token, token_hash};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Who a session belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// A WeChat account (`owner_accounts.id`).
    Owner(i32),
    /// A staff user.
    Staff(i32),
}

#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    sub: Subject,
    /// Unix seconds.
    exp: i64,
}

/// A resolved, live session.
#[derive(Clone, Debug)]
pub struct Session {
    pub subject: Subject,
    pub token_hash: String,
}

fn key(hash: &str) -> String {
    format!("sess:{hash}")
}

fn staff_index(staff_id: i32) -> String {
    format!("staff-sessions:{staff_id}")
}

fn ttl_secs(state: &AppState, sub: Subject) -> i64 {
    match sub {
        Subject::Owner(_) => state.settings.sessions.owner_ttl_days * 86_400,
        Subject::Staff(_) => state.settings.sessions.staff_ttl_hours * 3_600,
    }
}

fn store_ttl(secs: i64) -> Duration {
    Duration::from_secs(u64::try_from(secs).unwrap_or(1).max(1))
}

/// Starts a session; returns the token (shown once to the client) and its lifetime in seconds.
pub async fn create(state: &AppState, sub: Subject) -> ApiResult<(String, i64)> {
    let token = new_token().map_err(ApiError::internal)?;
    let hash = token_hash(&token);
    let ttl = ttl_secs(state, sub);
    let stored = Stored {
        sub,
        exp: state.clock.now().timestamp() + ttl,
    };
    let json = serde_json::to_string(&stored).map_err(ApiError::internal)?;
    state.store.set(&key(&hash), &json, store_ttl(ttl)).await?;
    if let Subject::Staff(id) = sub {
        state.store.sadd(&staff_index(id), &hash, store_ttl(ttl)).await?;
    }
    Ok((token, ttl))
}

/// Looks a bearer token up; 401 when unknown, ended or expired.
pub async fn resolve(state: &AppState, token: &str) -> ApiResult<Session> {
    Ok(resolve_with(state, token, |_| Vec::new()).await?.0)
}

/// Looks a token up and, in the same store round trip, the keys `extra` derives from the token's
/// hash (a cached answer of this session).
pub async fn resolve_with(
    state: &AppState,
    token: &str,
    extra: impl FnOnce(&str) -> Vec<String>,
) -> ApiResult<(Session, Vec<Option<String>>)> {
    let hash = token_hash(token);
    let mut keys = vec![key(&hash)];
    keys.extend(extra(&hash));
    let mut values = state.store.mget(&keys).await?;
    let raw = values.remove(0).ok_or(ApiError::Unauthenticated)?;
    let stored: Stored = serde_json::from_str(&raw).map_err(|_| ApiError::Unauthenticated)?;
    let now = state.clock.now().timestamp();
    if stored.exp <= now {
        state.store.del(&key(&hash)).await?;
        return Err(ApiError::Unauthenticated);
    }
    if let Subject::Owner(_) = stored.sub {
        // Sliding lifetime: extend at most once an hour to keep reads cheap.
        let ttl = ttl_secs(state, stored.sub);
        if stored.exp < now + ttl - 3_600 {
            let json = serde_json::to_string(&Stored {
                sub: stored.sub,
                exp: now + ttl,
            })
            .map_err(ApiError::internal)?;
            state.store.set(&key(&hash), &json, store_ttl(ttl)).await?;
        }
    }
    Ok((
        Session {
            subject: stored.sub,
            token_hash: hash,
        },
        values,
    ))
}

/// Ends one session at once.
pub async fn end(state: &AppState, token_hash: &str) -> ApiResult<()> {
    state.store.del(&key(token_hash)).await?;
    Ok(())
}

/// Ends every session of a staff member (deactivation).
pub async fn end_all_for_staff(state: &AppState, staff_id: i32) -> ApiResult<()> {
    for hash in state.store.smembers(&staff_index(staff_id)).await? {
        state.store.del(&key(&hash)).await?;
    }
    state.store.del(&staff_index(staff_id)).await?;
    Ok(())
}
