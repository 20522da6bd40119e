//! Session store, rate-limit counters, caches and locks: Redis across replicas, or in-process for
//! the embedded default. One small trait so services do not care which.
mod memory;
mod redis_store;

pub use memory::MemoryStore;
pub use redis_store::RedisStore;

use std::sync::Arc;
use std::time::Duration;

/// A store call failed or timed out; callers answer 503 `UNAVAILABLE`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store timed out")]
    Timeout,
    #[error("store error: {0}")]
    Backend(String),
}

/// Key-value operations wuye needs. Keys are given without the configured prefix.
#[async_trait::async_trait]
pub trait KvStore: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Several values in one round trip.
    async fn mget(&self, keys: &[String]) -> Result<Vec<Option<String>>, StoreError>;
    /// Increments a counter that never expires (cache versions).
    async fn bump(&self, key: &str) -> Result<i64, StoreError>;
    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), StoreError>;
    /// Sets only if absent; true when this call set it (a lock or first writer).
    async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, StoreError>;
    async fn del(&self, key: &str) -> Result<(), StoreError>;
    /// Deletes only when the value still equals `value` (releasing one's own lock).
    async fn del_if_eq(&self, key: &str, value: &str) -> Result<(), StoreError>;
    /// Increments a counter, giving it `ttl` when it is created; returns the new value.
    async fn incr(&self, key: &str, ttl: Duration) -> Result<i64, StoreError>;
    /// Adds a member to a set, refreshing the set's ttl.
    async fn sadd(&self, key: &str, member: &str, ttl: Duration) -> Result<(), StoreError>;
    async fn smembers(&self, key: &str) -> Result<Vec<String>, StoreError>;
    /// Health check for `/readyz`.
    async fn ping(&self) -> Result<(), StoreError>;
    /// `"redis"` or `"memory"`.
    fn kind(&self) -> &'static str;
}

/// Shared handle in the app state.
pub type Store = Arc<dyn KvStore>;
