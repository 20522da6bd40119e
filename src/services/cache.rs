//! Answer cache for owner bill look-ups, in the shared store.
//!
//! Each cached answer records the version counters it depends on (its communities, the owner's
//! account, the owner records) and each community's local date when it was computed. Anything that
//! changes bills bumps its community's counter; binding a phone bumps the account's; creating or
//! editing owner records bumps theirs. A read serves the cached answer only if every counter and
//! every local date still match, so it is never stale, not even across a community's midnight.
//! Answers are cached per session and fetched in the same round trip as the session, so a warm
//! look-up costs two store round trips and no database query.
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::Duration;

/// What a cached answer depends on.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Deps {
    pub communities: Vec<i32>,
    pub account: Option<i32>,
}

#[derive(Serialize, Deserialize)]
struct Meta {
    keys: Vec<String>,
    versions: Vec<Option<String>>,
    /// (community id, its local date) at computation time.
    dates: Vec<(i32, NaiveDate)>,
}

fn community_key(id: i32) -> String {
    format!("ver:community:{id}")
}

fn account_key(id: i32) -> String {
    format!("ver:account:{id}")
}

/// Marks every cached answer over this community's bills as stale.
pub async fn bump_community(state: &AppState, community_id: i32) -> ApiResult<()> {
    state.store.bump(&community_key(community_id)).await?;
    Ok(())
}

/// Marks every cached answer of this owner account as stale.
pub async fn bump_account(state: &AppState, account_id: i32) -> ApiResult<()> {
    state.store.bump(&account_key(account_id)).await?;
    Ok(())
}

const OWNER_RECORDS_KEY: &str = "ver:owner-records";

/// Marks every account's answers stale (owner records were created or changed, which can change
/// which communities and units an account reaches).
pub async fn bump_owner_records(state: &AppState) -> ApiResult<()> {
    state.store.bump(OWNER_RECORDS_KEY).await?;
    Ok(())
}

fn dep_keys(deps: &Deps) -> Vec<String> {
    let mut keys: Vec<String> = deps.communities.iter().map(|c| community_key(*c)).collect();
    if let Some(a) = deps.account {
        keys.push(account_key(a));
    }
    keys.push(OWNER_RECORDS_KEY.to_string());
    keys
}

/// The cached text under `key` if every dependency version and local date still match.
async fn still_valid(state: &AppState, raw: &str) -> ApiResult<Option<String>> {
    let Some((meta, body)) = raw.split_once('\n') else {
        return Ok(None);
    };
    let Ok(meta) = serde_json::from_str::<Meta>(meta) else {
        return Ok(None);
    };
    let now = state.clock.now();
    for (c, date) in &meta.dates {
        match state.known_zone(*c) {
            Some(tz) if now.with_timezone(&tz).date_naive() == *date => {}
            _ => return Ok(None),
        }
    }
    Ok((state.store.mget(&meta.keys).await? == meta.versions).then(|| body.to_string()))
}

/// Serves a cached answer or computes and caches it.
///
/// `prefetched` is the cached text, fetched in the same round trip as the session. On a miss,
/// `deps` says what the answer will depend on; their versions are read *before* `compute` runs, so
/// a write landing meanwhile bumps them and the stored answer is recognised as stale on the next
/// read. `compute` returns the answer and the dependencies it actually used; if those differ from
/// `deps` (the data moved under us) the answer is served but not cached.
pub async fn cached<D, DF, C, CF>(
    state: &AppState,
    key: &str,
    prefetched: Option<String>,
    deps: DF,
    compute: CF,
) -> ApiResult<String>
where
    DF: FnOnce() -> D,
    D: Future<Output = ApiResult<Deps>>,
    CF: FnOnce() -> C,
    C: Future<Output = ApiResult<(String, Deps)>>,
{
    if !state.settings.cache.enabled {
        return Ok(compute().await?.0);
    }
    if let Some(raw) = prefetched {
        if let Some(body) = still_valid(state, &raw).await? {
            return Ok(body);
        }
    }
    let deps = deps().await?;
    let keys = dep_keys(&deps);
    let versions = state.store.mget(&keys).await?;
    let now = state.clock.now();
    let mut dates = Vec::with_capacity(deps.communities.len());
    for c in &deps.communities {
        dates.push((*c, now.with_timezone(&state.community_tz(*c).await?).date_naive()));
    }
    let (body, used) = compute().await?;
    if used == deps {
        let meta = serde_json::to_string(&Meta { keys, versions, dates }).map_err(ApiError::internal)?;
        state
            .store
            .set(key, &format!("{meta}\n{body}"), Duration::from_secs(86_400))
            .await?;
    }
    Ok(body)
}
