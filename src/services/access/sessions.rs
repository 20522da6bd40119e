//! Sessions keyed by a SHA-256 of the token (a dump yields no usable token): in Redis when it is
//! configured, else in the database, so the embedded default keeps them across a restart. Expiry
//! is checked against the app clock; owners' sessions slide, staff sessions do not.
use crate::crypto::{new_token, token_hash};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use entity::session;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
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

/// Where sessions live: Redis when configured (shared by every replica), else the database, so
/// the embedded default keeps them across a restart (API.md `redis.url`).
fn in_database(state: &AppState) -> bool {
    state.store.kind() != "redis"
}

fn subject_columns(sub: Subject) -> (&'static str, i32) {
    match sub {
        Subject::Owner(id) => ("owner", id),
        Subject::Staff(id) => ("staff", id),
    }
}

fn subject_of(kind: &str, id: i32) -> Option<Subject> {
    match kind {
        "owner" => Some(Subject::Owner(id)),
        "staff" => Some(Subject::Staff(id)),
        _ => None,
    }
}

/// Starts a session; returns the token (shown once to the client) and its lifetime in seconds.
pub async fn create(state: &AppState, sub: Subject) -> ApiResult<(String, i64)> {
    let token = new_token().map_err(ApiError::internal)?;
    let hash = token_hash(&token);
    let ttl = ttl_secs(state, sub);
    let now = state.clock.now();
    if in_database(state) {
        let (kind, id) = subject_columns(sub);
        session::ActiveModel {
            token_hash: Set(hash),
            subject: Set(kind.into()),
            subject_id: Set(id),
            expires_at: Set(now + chrono::Duration::seconds(ttl)),
            created_at: Set(now),
        }
        .insert(&state.db)
        .await?;
        return Ok((token, ttl));
    }
    let stored = Stored {
        sub,
        exp: now.timestamp() + ttl,
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

/// A session row of the database home, checked and (for owners) slid forward.
async fn resolve_in_database(state: &AppState, hash: &str) -> ApiResult<Subject> {
    let row = session::Entity::find_by_id(hash.to_string())
        .one(&state.db)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let now = state.clock.now();
    let sub = subject_of(&row.subject, row.subject_id).ok_or(ApiError::Unauthenticated)?;
    if row.expires_at <= now {
        session::Entity::delete_by_id(hash.to_string()).exec(&state.db).await?;
        return Err(ApiError::Unauthenticated);
    }
    if let Subject::Owner(_) = sub {
        // Sliding lifetime: extend at most once an hour to keep reads cheap.
        let ttl = ttl_secs(state, sub);
        if row.expires_at < now + chrono::Duration::seconds(ttl - 3_600) {
            session::Entity::update_many()
                .col_expr(
                    session::Column::ExpiresAt,
                    sea_orm::sea_query::Expr::value(now + chrono::Duration::seconds(ttl)),
                )
                .filter(session::Column::TokenHash.eq(hash))
                .exec(&state.db)
                .await?;
        }
    }
    Ok(sub)
}

/// Looks a token up and, in the same store round trip, the keys `extra` derives from the token's
/// hash (a cached answer of this session).
pub async fn resolve_with(
    state: &AppState,
    token: &str,
    extra: impl FnOnce(&str) -> Vec<String>,
) -> ApiResult<(Session, Vec<Option<String>>)> {
    let hash = token_hash(token);
    if in_database(state) {
        let subject = resolve_in_database(state, &hash).await?;
        let keys = extra(&hash);
        let values = if keys.is_empty() {
            Vec::new()
        } else {
            state.store.mget(&keys).await?
        };
        return Ok((
            Session {
                subject,
                token_hash: hash,
            },
            values,
        ));
    }
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
    if in_database(state) {
        session::Entity::delete_by_id(token_hash.to_string())
            .exec(&state.db)
            .await?;
        return Ok(());
    }
    state.store.del(&key(token_hash)).await?;
    Ok(())
}

/// Ends every session of a staff member (deactivation).
pub async fn end_all_for_staff(state: &AppState, staff_id: i32) -> ApiResult<()> {
    if in_database(state) {
        session::Entity::delete_many()
            .filter(session::Column::Subject.eq("staff"))
            .filter(session::Column::SubjectId.eq(staff_id))
            .exec(&state.db)
            .await?;
        return Ok(());
    }
    for hash in state.store.smembers(&staff_index(staff_id)).await? {
        state.store.del(&key(&hash)).await?;
    }
    state.store.del(&staff_index(staff_id)).await?;
    Ok(())
}

/// Deletes expired database sessions (the scheduler's housekeeping); how many went.
pub async fn prune(state: &AppState) -> ApiResult<u64> {
    if !in_database(state) {
        return Ok(0);
    }
    let r = session::Entity::delete_many()
        .filter(session::Column::ExpiresAt.lte(state.clock.now()))
        .exec(&state.db)
        .await?;
    Ok(r.rows_affected)
}
