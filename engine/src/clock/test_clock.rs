//! A clock that moves only when told to, for tests in virtual time.
//!
//! Invariant: clones share one counter; `set` may move time backwards (to
//! test a clock step), `advance` saturates instead of wrapping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::Clock;

/// A manually driven clock; clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct TestClock {
    ns: Arc<AtomicU64>,
}

impl TestClock {
    /// A clock reading `start_ns`.
    pub fn new(start_ns: u64) -> Self {
        TestClock {
            ns: Arc::new(AtomicU64::new(start_ns)),
        }
    }

    /// Sets the time (forwards or backwards).
    pub fn set(&self, ns: u64) {
        self.ns.store(ns, Ordering::SeqCst);
    }

    /// Moves the time forward by `by`, saturating at `u64::MAX`.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .ns
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(by))
            });
    }

    /// Moves the time forward by `ns` nanoseconds, saturating.
    pub fn advance_ns(&self, ns: u64) {
        self.advance(Duration::from_nanos(ns));
    }
}

impl Clock for TestClock {
    fn now_ns(&self) -> u64 {
        self.ns.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_time_and_advance_saturates() {
        let clock = TestClock::new(10);
        let other = clock.clone();
        clock.advance(Duration::from_nanos(5));
        assert_eq!(other.now_ns(), 15);
        other.set(3);
        assert_eq!(clock.now_ns(), 3);
        clock.set(u64::MAX - 1);
        clock.advance_ns(10);
        assert_eq!(clock.now_ns(), u64::MAX);
        let dynamic: Arc<dyn Clock> = Arc::new(clock.clone());
        assert_eq!(dynamic.now_ns(), u64::MAX);
    }
}
