//! How far a long piece of work has come: set by the work as it goes, read by whoever follows it
//! (a job's page). Work nobody follows is given `Progress::none()` and pays nothing.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Clone, Default, Debug)]
pub struct Progress(Option<Arc<(AtomicU64, AtomicU64)>>);

impl Progress {
    /// Progress nobody reads.
    pub fn none() -> Self {
        Self(None)
    }

    /// Progress a follower reads with `get`.
    pub fn tracked() -> Self {
        Self(Some(Arc::default()))
    }

    /// `done` of `total` steps.
    pub fn set(&self, done: u64, total: u64) {
        if let Some(p) = &self.0 {
            p.1.store(total, Ordering::Relaxed);
            p.0.store(done.min(total), Ordering::Relaxed);
        }
    }

    /// (done, total) as last set; (0, 0) before the work knows its size.
    pub fn get(&self) -> (u64, u64) {
        self.0
            .as_ref()
            .map_or((0, 0), |p| (p.0.load(Ordering::Relaxed), p.1.load(Ordering::Relaxed)))
    }
}

#[cfg(test)]
mod tests {
    use super::Progress;

    #[test]
    fn a_tracked_progress_reports_what_was_set_and_an_untracked_one_nothing() {
        let p = Progress::tracked();
        assert_eq!(p.get(), (0, 0));
        p.clone().set(3, 10);
        assert_eq!(p.get(), (3, 10));
        p.set(12, 10);
        assert_eq!(p.get(), (10, 10), "never more done than there is");
        let n = Progress::none();
        n.set(3, 10);
        assert_eq!(n.get(), (0, 0));
    }
}
