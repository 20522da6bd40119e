//! In-process store for the embedded default (one replica only).
use super::{KvStore, StoreError};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

enum Value {
    Str(String),
    Set(HashSet<String>),
}

struct Entry {
    value: Value,
    expires: Instant,
}

/// A mutex-guarded map with expiry. Expired entries are dropped on access and swept on writes.
#[derive(Default)]
pub struct MemoryStore {
    map: Mutex<HashMap<String, Entry>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Entry>) -> T) -> Result<T, StoreError> {
        let mut map = self
            .map
            .lock()
            .map_err(|_| StoreError::Backend("memory store poisoned".into()))?;
        let now = Instant::now();
        // Bounded sweep so the map cannot grow without limit under churn.
        if map.len() > 10_000 {
            map.retain(|_, e| e.expires > now);
        }
        Ok(f(&mut map))
    }
}

fn live<'a>(map: &'a mut HashMap<String, Entry>, key: &str) -> Option<&'a mut Entry> {
    let expired = map.get(key).is_some_and(|e| e.expires <= Instant::now());
    if expired {
        map.remove(key);
    }
    map.get_mut(key)
}

#[async_trait::async_trait]
impl KvStore for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.with(|m| match live(m, key) {
            Some(Entry {
                value: Value::Str(s), ..
            }) => Some(s.clone()),
            _ => None,
        })
    }

    async fn mget(&self, keys: &[String]) -> Result<Vec<Option<String>>, StoreError> {
        self.with(|m| {
            keys.iter()
                .map(|k| match live(m, k) {
                    Some(Entry {
                        value: Value::Str(s), ..
                    }) => Some(s.clone()),
                    _ => None,
                })
                .collect()
        })
    }

    async fn bump(&self, key: &str) -> Result<i64, StoreError> {
        self.incr(key, Duration::from_secs(10 * 365 * 86_400)).await
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), StoreError> {
        self.with(|m| {
            m.insert(
                key.to_string(),
                Entry {
                    value: Value::Str(value.to_string()),
                    expires: Instant::now() + ttl,
                },
            );
        })
    }

    async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.with(|m| {
            if live(m, key).is_some() {
                return false;
            }
            m.insert(
                key.to_string(),
                Entry {
                    value: Value::Str(value.to_string()),
                    expires: Instant::now() + ttl,
                },
            );
            true
        })
    }

    async fn del(&self, key: &str) -> Result<(), StoreError> {
        self.with(|m| {
            m.remove(key);
        })
    }

    async fn del_if_eq(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.with(|m| {
            if matches!(live(m, key), Some(Entry { value: Value::Str(s), .. }) if s == value) {
                m.remove(key);
            }
        })
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<i64, StoreError> {
        self.with(|m| match live(m, key) {
            Some(Entry {
                value: Value::Str(s), ..
            }) => {
                let n = s.parse::<i64>().unwrap_or(0) + 1;
                *s = n.to_string();
                n
            }
            _ => {
                m.insert(
                    key.to_string(),
                    Entry {
                        value: Value::Str("1".into()),
                        expires: Instant::now() + ttl,
                    },
                );
                1
            }
        })
    }

    async fn sadd(&self, key: &str, member: &str, ttl: Duration) -> Result<(), StoreError> {
        self.with(|m| {
            let expires = Instant::now() + ttl;
            match live(m, key) {
                Some(Entry {
                    value: Value::Set(set),
                    expires: e,
                }) => {
                    set.insert(member.to_string());
                    *e = expires;
                }
                _ => {
                    let set = HashSet::from([member.to_string()]);
                    m.insert(
                        key.to_string(),
                        Entry {
                            value: Value::Set(set),
                            expires,
                        },
                    );
                }
            }
        })
    }

    async fn smembers(&self, key: &str) -> Result<Vec<String>, StoreError> {
        self.with(|m| match live(m, key) {
            Some(Entry {
                value: Value::Set(set), ..
            }) => set.iter().cloned().collect(),
            _ => Vec::new(),
        })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "memory"
    }
}
