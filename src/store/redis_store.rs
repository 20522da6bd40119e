//! Redis store shared by all replicas. Every call is bounded by a timeout: the connection manager's
//! own reconnect loop can otherwise block for many seconds, and callers must answer 503 quickly.
use super::{KvStore, StoreError};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;
use std::time::Duration;
use tokio::sync::OnceCell;

/// How long any one Redis call may take before the request answers 503.
const CALL_TIMEOUT: Duration = Duration::from_millis(1000);

/// Redis-backed store. The connection is made lazily so a Redis outage at start-up does not stop
/// the process (readiness reports it instead).
pub struct RedisStore {
    client: redis::Client,
    conn: OnceCell<ConnectionManager>,
    prefix: String,
}

impl RedisStore {
    pub fn new(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Self {
            client,
            conn: OnceCell::new(),
            prefix: prefix.to_string(),
        })
    }

    fn key(&self, k: &str) -> String {
        format!("{}{}", self.prefix, k)
    }

    async fn conn(&self) -> Result<ConnectionManager, StoreError> {
        let init = self.conn.get_or_try_init(|| async {
            let cfg = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(CALL_TIMEOUT))
                .set_response_timeout(Some(CALL_TIMEOUT))
                .set_number_of_retries(1);
            ConnectionManager::new_with_config(self.client.clone(), cfg)
                .await
                .map_err(|e| StoreError::Backend(e.to_string()))
        });
        match tokio::time::timeout(CALL_TIMEOUT, init).await {
            Ok(r) => r.cloned(),
            Err(_) => Err(StoreError::Timeout),
        }
    }

    async fn run<T, F, Fut>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let call = async {
            let c = self.conn().await?;
            f(c).await.map_err(|e| StoreError::Backend(e.to_string()))
        };
        tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| StoreError::Timeout)?
    }
}

fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait::async_trait]
impl KvStore for RedisStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let k = self.key(key);
        self.run(|mut c| async move { c.get(k).await }).await
    }

    async fn mget(&self, keys: &[String]) -> Result<Vec<Option<String>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let ks: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        self.run(|mut c| async move { redis::cmd("MGET").arg(ks).query_async(&mut c).await })
            .await
    }

    async fn bump(&self, key: &str) -> Result<i64, StoreError> {
        let k = self.key(key);
        self.run(|mut c| async move { c.incr(k, 1).await }).await
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), StoreError> {
        let k = self.key(key);
        let v = value.to_string();
        self.run(|mut c| async move { c.pset_ex(k, v, ttl_ms(ttl)).await })
            .await
    }

    async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, StoreError> {
        let k = self.key(key);
        let v = value.to_string();
        self.run(|mut c| async move {
            let r: Option<String> = redis::cmd("SET")
                .arg(k)
                .arg(v)
                .arg("NX")
                .arg("PX")
                .arg(ttl_ms(ttl))
                .query_async(&mut c)
                .await?;
            Ok(r.is_some())
        })
        .await
    }

    async fn del(&self, key: &str) -> Result<(), StoreError> {
        let k = self.key(key);
        self.run(|mut c| async move { c.del(k).await }).await
    }

    async fn del_if_eq(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let k = self.key(key);
        let v = value.to_string();
        self.run(|mut c| async move {
            // Atomic compare-and-delete, so a lock is only released by its holder.
            let script = redis::Script::new(
                "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
            );
            let _: i64 = script.key(k).arg(v).invoke_async(&mut c).await?;
            Ok(())
        })
        .await
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<i64, StoreError> {
        let k = self.key(key);
        self.run(|mut c| async move {
            let (n, _): (i64, i64) = redis::pipe()
                .atomic()
                .incr(&k, 1)
                .cmd("PEXPIRE")
                .arg(&k)
                .arg(ttl_ms(ttl))
                .arg("NX")
                .query_async(&mut c)
                .await?;
            Ok(n)
        })
        .await
    }

    async fn sadd(&self, key: &str, member: &str, ttl: Duration) -> Result<(), StoreError> {
        let k = self.key(key);
        let m = member.to_string();
        self.run(|mut c| async move {
            let _: (i64, i64) = redis::pipe()
                .atomic()
                .sadd(&k, m)
                .pexpire(&k, ttl_ms(ttl) as i64)
                .query_async(&mut c)
                .await?;
            Ok(())
        })
        .await
    }

    async fn smembers(&self, key: &str) -> Result<Vec<String>, StoreError> {
        let k = self.key(key);
        self.run(|mut c| async move { c.smembers(k).await }).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.run(|mut c| async move {
            let _: String = redis::cmd("PING").query_async(&mut c).await?;
            Ok(())
        })
        .await
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}
