//! Time sources behind one small trait, so code that needs "now" can be
//! driven by a test clock instead of the system (design practice 5).
//!
//! Invariants:
//! - every [`Clock`] reads nanoseconds since its own epoch as a `u64`; the
//!   system clocks count from 1970-01-01 (CLOCK_REALTIME in UTC, CLOCK_TAI
//!   in TAI, a PTP hardware clock in whatever timescale it is set to), the
//!   monotonic clock from an arbitrary point;
//! - a clock never fails once constructed: a PHC that cannot be read is
//!   reported when it is opened, not on every read;
//! - [`TestClock`] moves only when a test moves it, and every copy of it
//!   (it is cheap to clone) sees the same time.

mod system;
mod test_clock;

pub use system::{MonotonicClock, PhcClock, RealtimeClock, TaiClock};
pub use test_clock::TestClock;

use core::fmt;

/// Nanoseconds in one second.
pub const NANOS_PER_SEC: u64 = 1_000_000_000;

/// A source of the current time, in nanoseconds since the clock's epoch.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time in nanoseconds since this clock's epoch.
    fn now_ns(&self) -> u64;
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now_ns(&self) -> u64 {
        (**self).now_ns()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now_ns(&self) -> u64 {
        (**self).now_ns()
    }
}
