//! Answer cache for owner bill look-ups, in the shared store.
//!
//! Each cached answer records the version counters it depends on (its communities and the owner's
//! account) and each community's local date when it was computed. Anything that changes bills bumps
//! its community's counter; binding a phone bumps the account's. A read serves the cached answer only
//! if every counter and every local date still match, so it is never stale, not even across a
//! community's midnight.
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

fn dep_keys(deps: &Deps) -> Vec<String> {
    let mut keys: Vec<String> = deps.communities.iter().map(|c| community_key(*c)).collect();
    if let Some(a) = deps.account {
        keys.push(account_key(a));
    }
    keys
}

/// Serves `key` from the cache when still valid, else runs `compute` and caches its answer.
///
/// `deps` must be known before computing: their versions are read first, so a write landing while
/// `compute` runs bumps them and the stored answer is recognised as stale on the next read.
/// `compute` returns the answer's JSON and the dependencies it actually used; if those differ from
/// `deps` (the data moved under us), the answer is served but not cached.
pub async fn cached<F, Fut>(
    state: &AppState,
    key: &str,
    deps: &Deps,
    local_date: impl Fn(i32) -> NaiveDate,
    compute: F,
) -> ApiResult<String>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ApiResult<(String, Deps)>>,
{
    if !state.settings.cache.enabled {
        return Ok(compute().await?.0);
    }
    let keys = dep_keys(deps);
    let (cached, versions) = tokio::try_join!(state.store.get(key), state.store.mget(&keys))?;
    let dates: Vec<(i32, NaiveDate)> = deps.communities.iter().map(|c| (*c, local_date(*c))).collect();
    if let Some(raw) = cached {
        if let Some((meta, body)) = raw.split_once('\n') {
            if serde_json::from_str::<Meta>(meta)
                .is_ok_and(|m| m.keys == keys && m.versions == versions && m.dates == dates)
            {
                return Ok(body.to_string());
            }
        }
    }
    let (body, used) = compute().await?;
    if used == *deps {
        let meta = serde_json::to_string(&Meta { keys, versions, dates }).map_err(ApiError::internal)?;
        state
            .store
            .set(key, &format!("{meta}\n{body}"), Duration::from_secs(86_400))
            .await?;
    }
    Ok(body)
}

const OWNER_RECORDS_KEY: &str = "ver:owner-records";

/// Marks every account's dependency list stale (owner records were created or changed).
pub async fn bump_owner_records(state: &AppState) -> ApiResult<()> {
    state.store.bump(OWNER_RECORDS_KEY).await?;
    Ok(())
}

/// The dependencies of an owner account's answers, itself cached under the account's version and
/// the owner-records version, so a warm look-up touches no database.
pub async fn account_deps<F, Fut>(state: &AppState, account_id: i32, compute: F) -> ApiResult<Deps>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ApiResult<Vec<i32>>>,
{
    if !state.settings.cache.enabled {
        let mut communities = compute().await?;
        communities.sort_unstable();
        communities.dedup();
        return Ok(Deps { communities, account: Some(account_id) });
    }
    let key = format!("deps:account:{account_id}");
    let keys = vec![key.clone(), account_key(account_id), OWNER_RECORDS_KEY.to_string()];
    let got = state.store.mget(&keys).await?;
    let stamp = format!(
        "{}:{}",
        got[1].as_deref().unwrap_or("0"),
        got[2].as_deref().unwrap_or("0")
    );
    if let Some((s, list)) = got[0].as_deref().and_then(|v| v.split_once('|')) {
        if s == stamp {
            if let Ok(communities) = serde_json::from_str::<Vec<i32>>(list) {
                return Ok(Deps {
                    communities,
                    account: Some(account_id),
                });
            }
        }
    }
    let mut communities = compute().await?;
    communities.sort_unstable();
    communities.dedup();
    let list = serde_json::to_string(&communities).map_err(ApiError::internal)?;
    state
        .store
        .set(&key, &format!("{stamp}|{list}"), Duration::from_secs(86_400))
        .await?;
    Ok(Deps {
        communities,
        account: Some(account_id),
    })
}
