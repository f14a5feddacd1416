//! Relating the host clock to the cameras' PTP time, measured at a latch.
//!
//! Invariants: the relation is measured, never assumed: the camera's latched
//! time is paired with the midpoint of the host readings taken just before
//! and just after the latch, and half that round trip is the error bound
//! (the latch happened somewhere inside it). A latch whose host readings run
//! backwards is refused. Offsets are `PTP − host` in signed nanoseconds.

use serde::Serialize;

use super::op::{LatchVia, TimestampLatch};
use super::time::{add_signed, signed_diff, HostTime, PtpTime};

/// One camera's PTP clock related to the host clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClockRelation {
    /// PTP time minus host time at the latch, in ns.
    pub offset_ns: i64,
    /// Half the latch's round trip: the relation is exact to within this, in ns.
    pub error_bound_ns: u64,
    /// Host time at the middle of the latch.
    pub latched_at: HostTime,
    /// How the camera's time was read.
    pub via: LatchVia,
}

impl ClockRelation {
    /// The relation one latch measured, or why the latch is unusable.
    pub fn from_latch(latch: &TimestampLatch, via: LatchVia) -> Result<Self, String> {
        let (before, after) = (latch.host_before.0, latch.host_after.0);
        if after < before {
            return Err(format!(
                "the host clock ran backwards during the latch ({before} ns then {after} ns); \
                 use a monotonic host clock that is not being stepped"
            ));
        }
        let round_trip = after - before;
        let middle = before + round_trip / 2;
        Ok(ClockRelation {
            offset_ns: signed_diff(latch.camera.0, middle),
            error_bound_ns: round_trip.div_ceil(2),
            latched_at: HostTime(middle),
            via,
        })
    }

    /// The PTP time at host time `host`.
    pub fn to_ptp(&self, host: HostTime) -> PtpTime {
        PtpTime(add_signed(host.0, self.offset_ns))
    }

    /// The host time at PTP time `ptp`.
    pub fn to_host(&self, ptp: PtpTime) -> HostTime {
        HostTime(add_signed(ptp.0, self.offset_ns.saturating_neg()))
    }

    /// The latest PTP time the camera can be at when the host reads `host`.
    pub fn latest_ptp(&self, host: HostTime) -> PtpTime {
        PtpTime(self.to_ptp(host).0.saturating_add(self.error_bound_ns))
    }
}

/// The timescales of a run: which clocks, and how well they were related.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timescale {
    /// The host clock `now` and receive timestamps come from.
    pub host_clock: String,
    /// The cameras' clock: their PTP time, read by latching each camera.
    pub camera_clock: String,
    /// The largest error bound of any camera's relation, in ns.
    pub error_bound_ns: u64,
    /// How far apart the cameras' offsets are (max − min), in ns; with every
    /// camera on one grandmaster this stays within the bounds plus PtpOffset.
    pub offset_spread_ns: u64,
    /// The mean offset PTP − host over the cameras, in ns.
    pub mean_offset_ns: i64,
}

impl Timescale {
    /// Summarizes the relations measured for the cameras (those latched).
    pub fn summarize(host_clock: &str, relations: &[ClockRelation]) -> Option<Timescale> {
        let first = relations.first()?;
        let min = relations.iter().map(|r| r.offset_ns).min()?;
        let max = relations.iter().map(|r| r.offset_ns).max()?;
        let sum: i128 = relations.iter().map(|r| i128::from(r.offset_ns)).sum();
        let mean = sum / relations.len() as i128;
        Some(Timescale {
            host_clock: host_clock.to_string(),
            camera_clock: format!("camera PTP time, latched through {}", first.via),
            error_bound_ns: relations.iter().map(|r| r.error_bound_ns).max()?,
            offset_spread_ns: max.abs_diff(min),
            mean_offset_ns: i64::try_from(mean).unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latch(camera: u64, before: u64, after: u64) -> TimestampLatch {
        TimestampLatch {
            camera: PtpTime(camera),
            host_before: HostTime(before),
            host_after: HostTime(after),
        }
    }

    #[test]
    fn offset_is_taken_at_the_midpoint_with_half_the_round_trip_as_bound() {
        // The camera is 37 s ahead (TAI against a UTC host), the round trip 300 µs.
        let camera = 37_000_000_000 + 1_000_150_000;
        let relation = ClockRelation::from_latch(
            &latch(camera, 1_000_000_000, 1_000_300_000),
            LatchVia::Bootstrap,
        )
        .unwrap();
        assert_eq!(relation.offset_ns, 37_000_000_000);
        assert_eq!(relation.error_bound_ns, 150_000);
        assert_eq!(relation.to_ptp(HostTime(5)), PtpTime(37_000_000_005));
        assert_eq!(relation.to_host(PtpTime(37_000_000_005)), HostTime(5));
        assert_eq!(relation.latest_ptp(HostTime(5)), PtpTime(37_000_150_005));
    }

    #[test]
    fn a_camera_behind_the_host_has_a_negative_offset_and_odd_round_trips_round_up() {
        let relation =
            ClockRelation::from_latch(&latch(500, 1_000, 1_003), LatchVia::Bootstrap).unwrap();
        assert_eq!(relation.offset_ns, -501);
        assert_eq!(relation.error_bound_ns, 2);
        assert_eq!(relation.to_ptp(HostTime(100)), PtpTime(0));
    }

    #[test]
    fn a_backwards_host_clock_is_refused() {
        let err = ClockRelation::from_latch(&latch(1, 10, 5), LatchVia::Bootstrap).unwrap_err();
        assert!(err.contains("ran backwards"), "{err}");
    }

    #[test]
    fn summary_states_sources_bound_and_spread() {
        let a =
            ClockRelation::from_latch(&latch(1_100, 1_000, 1_010), LatchVia::Bootstrap).unwrap();
        let b =
            ClockRelation::from_latch(&latch(2_150, 2_000, 2_040), LatchVia::Bootstrap).unwrap();
        let summary = Timescale::summarize("CLOCK_REALTIME", &[a, b]).unwrap();
        assert_eq!(summary.error_bound_ns, 20);
        assert_eq!(summary.offset_spread_ns, 35);
        assert_eq!(summary.mean_offset_ns, (95 + 130) / 2);
        assert!(summary.camera_clock.contains("bootstrap"));
        assert!(Timescale::summarize("x", &[]).is_none());
    }
}
