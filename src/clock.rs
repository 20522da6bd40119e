//! Time comes from a `Clock` in the app state, so tests can fix or step it.
use chrono::{DateTime, Utc};
use std::sync::{Arc, RwLock};

/// Source of the current instant.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// Wall-clock time.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until told to move (`testing.now`, tests).
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<RwLock<DateTime<Utc>>>,
}

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(RwLock::new(at)),
        }
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        if let Ok(mut g) = self.now.write() {
            *g = at;
        }
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: chrono::Duration) {
        if let Ok(mut g) = self.now.write() {
            *g += d;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.now.read().map(|g| *g).unwrap_or_else(|p| *p.into_inner())
    }
}

/// Shared handle used in the app state.
pub type SharedClock = Arc<dyn Clock>;
