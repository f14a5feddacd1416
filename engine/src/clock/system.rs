//! The kernel's clocks: CLOCK_REALTIME, CLOCK_TAI, CLOCK_MONOTONIC and PTP
//! hardware clocks (`/dev/ptpN`), read with `clock_gettime`.
//!
//! Invariant: a reading before the clock's epoch (a negative timespec, which
//! only a clock set before 1970 can give) saturates to 0 instead of wrapping.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use rustix::time::{clock_gettime, clock_gettime_dynamic, ClockId, DynamicClockId, Timespec};

use super::{Clock, NANOS_PER_SEC};

/// Converts a kernel timespec to nanoseconds, saturating below 0 and above `u64::MAX`.
pub(crate) fn timespec_ns(ts: Timespec) -> u64 {
    let ns = i128::from(ts.tv_sec) * i128::from(NANOS_PER_SEC) + i128::from(ts.tv_nsec);
    u64::try_from(ns.max(0)).unwrap_or(u64::MAX)
}

/// The host's system clock, CLOCK_REALTIME (UTC, steered by NTP or ptp4l).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RealtimeClock;

impl Clock for RealtimeClock {
    fn now_ns(&self) -> u64 {
        timespec_ns(clock_gettime(ClockId::Realtime))
    }
}

/// The host's TAI clock, CLOCK_TAI: CLOCK_REALTIME plus the kernel's TAI offset
/// (which is 0 unless something, e.g. phc2sys or chrony, has set it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaiClock;

impl Clock for TaiClock {
    fn now_ns(&self) -> u64 {
        // CLOCK_TAI exists since Linux 3.10; gvcap needs 6.6, so this cannot fail.
        clock_gettime_dynamic(DynamicClockId::Tai)
            .map(timespec_ns)
            .unwrap_or(0)
    }
}

/// CLOCK_MONOTONIC: never steps, counts from an arbitrary point (boot).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonotonicClock;

impl Clock for MonotonicClock {
    fn now_ns(&self) -> u64 {
        timespec_ns(clock_gettime(ClockId::Monotonic))
    }
}

/// A PTP hardware clock (`/dev/ptpN`), the NIC's own clock, read as a dynamic POSIX clock.
#[derive(Debug)]
pub struct PhcClock {
    file: File,
    path: PathBuf,
}

impl PhcClock {
    /// Opens a PHC device and reads it once, so that an unusable device fails here.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "opening PTP hardware clock {}: {e} (`ethtool -T IF` names the interface's clock)",
                    path.display()
                ),
            )
        })?;
        clock_gettime_dynamic(DynamicClockId::Dynamic(file.as_fd())).map_err(|e| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "{} is not a readable PTP hardware clock: {e}",
                    path.display()
                ),
            )
        })?;
        Ok(PhcClock { file, path })
    }

    /// The device path this clock was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Clock for PhcClock {
    fn now_ns(&self) -> u64 {
        // It was readable when opened; a device that vanished since (NIC unplugged)
        // reads as 0, which no caller mistakes for a real PTP time.
        clock_gettime_dynamic(DynamicClockId::Dynamic(self.file.as_fd()))
            .map(timespec_ns)
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespecs_convert_and_saturate() {
        assert_eq!(
            timespec_ns(Timespec {
                tv_sec: 2,
                tv_nsec: 5
            }),
            2_000_000_005
        );
        assert_eq!(
            timespec_ns(Timespec {
                tv_sec: -1,
                tv_nsec: 0
            }),
            0
        );
    }

    #[test]
    fn system_clocks_read_plausible_times() {
        // After 2020-01-01 and not after 2200: a realtime clock that is set at all.
        let now = RealtimeClock.now_ns();
        assert!(now > 1_577_836_800 * NANOS_PER_SEC, "{now}");
        assert!(now < 7_258_118_400 * NANOS_PER_SEC, "{now}");
        // TAI is realtime plus a small offset (0 to 37 s today, plus reading skew).
        let tai = TaiClock.now_ns();
        let diff = tai.abs_diff(RealtimeClock.now_ns());
        assert!(diff < 60 * NANOS_PER_SEC, "TAI - UTC = {diff} ns");
        let a = MonotonicClock.now_ns();
        let b = MonotonicClock.now_ns();
        assert!(b >= a);
    }

    #[test]
    fn a_missing_phc_is_reported_with_its_path() {
        let err = PhcClock::open("/dev/gvcap-no-such-ptp").unwrap_err();
        assert!(err.to_string().contains("/dev/gvcap-no-such-ptp"), "{err}");
    }
}
