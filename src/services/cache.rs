//! Answer cache for owner bill look-ups, in the shared store.
//!
//! Each cached answer records the version counters it depends on (its communities, the owner's
//! units, the owner's account, the owner records) and each community's local date when it was
//! computed. The ledger bumps a unit's counter when a payment, refund or correction changes its
//! bills, and a community's for community-wide writes (billing runs, terms, transfers); binding a
//! phone bumps the account's; creating or editing owner records bumps theirs. So one payment at the
//! month-start peak leaves every other owner's cached answer in place. A read serves the cached answer only if every counter and
//! every local date still match, so it is never stale, not even across a community's midnight.
//! Answers are cached per session and fetched in the same round trip as the session, so a warm
//! look-up costs two store round trips and no database query.
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::Duration;

/// What one write touched, so its answers are marked stale once, after its commit: the units a
/// payment, refund or correction changed, the communities of community-wide writes, and whether
/// owner records changed (which units an account reaches).
#[derive(Debug, Default)]
pub struct Touched {
    communities: std::collections::BTreeSet<i32>,
    units: std::collections::BTreeSet<i32>,
    owner_records: bool,
}

impl Touched {
    pub fn community(&mut self, id: i32) {
        self.communities.insert(id);
    }

    pub fn unit(&mut self, id: i32) {
        self.units.insert(id);
    }

    pub fn owner_records(&mut self) {
        self.owner_records = true;
    }

    /// Bumps every version touched; call after the commit.
    pub async fn bump(&self, state: &AppState) -> ApiResult<()> {
        if self.owner_records {
            bump_owner_records(state).await?;
        }
        for c in &self.communities {
            bump_community(state, *c).await?;
        }
        for u in &self.units {
            bump_unit(state, *u).await?;
        }
        Ok(())
    }
}

/// Look-ups served from the cache (`hits`) and computed (`misses`), counted per process.
#[derive(Debug, Default)]
pub struct Stats {
    pub hits: std::sync::atomic::AtomicU64,
    pub misses: std::sync::atomic::AtomicU64,
}

/// What a cached answer depends on.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Deps {
    pub communities: Vec<i32>,
    pub units: Vec<i32>,
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

fn unit_key(id: i32) -> String {
    format!("ver:unit:{id}")
}

fn account_key(id: i32) -> String {
    format!("ver:account:{id}")
}

/// Marks every cached answer over this community's bills as stale.
pub async fn bump_community(state: &AppState, community_id: i32) -> ApiResult<()> {
    state.store.bump(&community_key(community_id)).await?;
    Ok(())
}

/// Marks every cached answer over this unit's bills as stale.
pub async fn bump_unit(state: &AppState, unit_id: i32) -> ApiResult<()> {
    state.store.bump(&unit_key(unit_id)).await?;
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
    keys.extend(deps.units.iter().map(|u| unit_key(*u)));
    if let Some(a) = deps.account {
        keys.push(account_key(a));
    }
    keys.push(OWNER_RECORDS_KEY.to_string());
    keys
}

/// A cached answer fetched in the same round trip as the session, with the current versions of
/// the dependency keys this process last saw it use. Those key *names* are only a hint that saves
/// a second round trip: versions are always read from the store, so a wrong hint costs a round
/// trip, never a stale answer.
#[derive(Debug, Default)]
pub struct Prefetched {
    pub value: Option<String>,
    hinted: Vec<String>,
    versions: Vec<Option<String>>,
}

/// The keys to fetch with the session for cache entry `key`: the entry, then its hinted dependencies.
pub fn prefetch_keys(state: &AppState, key: &str) -> Vec<String> {
    let mut keys = vec![key.to_string()];
    if let Some(h) = state.dep_hints.read().ok().and_then(|m| m.get(key).cloned()) {
        keys.extend(h.iter().cloned());
    }
    keys
}

impl Prefetched {
    /// Pairs the values fetched for `prefetch_keys(key)` with their keys.
    pub fn new(keys: Vec<String>, mut values: Vec<Option<String>>) -> Self {
        let value = if values.is_empty() { None } else { values.remove(0) };
        Prefetched {
            value,
            hinted: keys.into_iter().skip(1).collect(),
            versions: values,
        }
    }
}

fn remember(state: &AppState, key: &str, deps: &[String]) {
    if let Ok(mut m) = state.dep_hints.write() {
        // Bounded: hints are only an optimisation.
        if m.len() > 100_000 {
            m.clear();
        }
        m.insert(key.to_string(), std::sync::Arc::new(deps.to_vec()));
    }
}

/// The cached text if every dependency version and local date still match.
async fn still_valid(state: &AppState, key: &str, pre: &Prefetched) -> ApiResult<Option<String>> {
    let Some((meta, body)) = pre.value.as_deref().and_then(|raw| raw.split_once('\n')) else {
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
    let current = if meta.keys == pre.hinted {
        pre.versions.clone()
    } else {
        remember(state, key, &meta.keys);
        state.store.mget(&meta.keys).await?
    };
    Ok((current == meta.versions).then(|| body.to_string()))
}

/// Serves a cached answer or computes and caches it.
///
/// `prefetched` comes with the session (see `Prefetched`). On a miss, `deps` says what the answer
/// will depend on; their versions are read *before* `compute` runs, so a write landing meanwhile
/// bumps them and the stored answer is recognised as stale on the next read. `compute` returns the
/// answer and the dependencies it actually used; if those differ from `deps` (the data moved under
/// us) the answer is served but not cached.
pub async fn cached<D, DF, C, CF>(
    state: &AppState,
    key: &str,
    prefetched: Prefetched,
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
    use std::sync::atomic::Ordering::Relaxed;
    if let Some(body) = still_valid(state, key, &prefetched).await? {
        state.cache_stats.hits.fetch_add(1, Relaxed);
        return Ok(body);
    }
    state.cache_stats.misses.fetch_add(1, Relaxed);
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
