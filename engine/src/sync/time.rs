//! The two timescales the sync sequence works in, as distinct types.
//!
//! Invariants: a [`HostTime`] is nanoseconds of the host clock that the
//! driver passes in as `now` and that stamps received frames (the NIC's PTP
//! hardware clock or the system clock); a [`PtpTime`] is nanoseconds of the
//! cameras' PTP timescale. The two are never mixed without a measured
//! relation ([`super::Timescale`]); arithmetic saturates instead of wrapping.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// Nanoseconds on the host clock (the clock of `now` and of receive timestamps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct HostTime(pub u64);

/// Nanoseconds on the cameras' PTP timescale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct PtpTime(pub u64);

/// Whole nanoseconds of a duration, saturating at `u64::MAX`.
pub(crate) fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// `value + delta`, saturating at both ends.
pub(crate) fn add_signed(value: u64, delta: i64) -> u64 {
    if delta >= 0 {
        value.saturating_add(delta.unsigned_abs())
    } else {
        value.saturating_sub(delta.unsigned_abs())
    }
}

/// `a - b` as a signed number of nanoseconds, saturating.
pub(crate) fn signed_diff(a: u64, b: u64) -> i64 {
    let diff = i128::from(a) - i128::from(b);
    i64::try_from(diff).unwrap_or(if diff < 0 { i64::MIN } else { i64::MAX })
}

impl HostTime {
    /// This time plus `duration`, saturating.
    pub fn after(self, duration: Duration) -> HostTime {
        HostTime(self.0.saturating_add(nanos(duration)))
    }

    /// The time from `earlier` to this time, zero when `earlier` is later.
    pub fn since(self, earlier: HostTime) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl PtpTime {
    /// This time plus `duration`, saturating.
    pub fn after(self, duration: Duration) -> PtpTime {
        PtpTime(self.0.saturating_add(nanos(duration)))
    }
}

impl fmt::Display for HostTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09} s (host)",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

impl fmt::Display for PtpTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09} s (PTP)",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(add_signed(5, -10), 0);
        assert_eq!(add_signed(u64::MAX - 1, 10), u64::MAX);
        assert_eq!(add_signed(100, -30), 70);
        assert_eq!(signed_diff(3, 10), -7);
        assert_eq!(signed_diff(u64::MAX, 0), i64::MAX);
        assert_eq!(signed_diff(0, u64::MAX), i64::MIN);
        assert_eq!(HostTime(10).since(HostTime(20)), Duration::ZERO);
        assert_eq!(HostTime(u64::MAX).after(Duration::from_secs(1)).0, u64::MAX);
    }

    #[test]
    fn display_shows_seconds_and_nanoseconds() {
        assert_eq!(HostTime(1_500_000_001).to_string(), "1.500000001 s (host)");
        assert_eq!(PtpTime(7).to_string(), "0.000000007 s (PTP)");
    }
}
