//! A camera's own clock: a simulated oscillator running against the host's
//! clock with an offset and a frequency error, which the PTP servo steers.
//!
//! Model: camera time `L(h) = anchor_local + (h - anchor_host) * rate`, where
//! `h` is host time (CLOCK_REALTIME on a rig, the clock ptp4l serves as
//! grandmaster) and `rate = (1 + drift_ppm·10⁻⁶)(1 + adj_ppb·10⁻⁹)`: `drift`
//! is the oscillator's own error, `adj` what the servo dials in. Changing
//! the frequency re-anchors at the current instant, so time stays
//! continuous; a step moves the anchor.
//!
//! Invariants: `L` is strictly increasing in `h` (the rate stays positive:
//! adjustments are clamped to ±[`MAX_ADJ_PPB`]); `host_at(local_at(h)) == h`
//! within a nanosecond; the host clock itself is only read, never set.

use std::sync::{Arc, Mutex, MutexGuard};

use gvcap::clock::Clock;

/// Largest frequency adjustment the servo may apply, in parts per billion (±0.5 ‰).
pub const MAX_ADJ_PPB: f64 = 500_000.0;

/// A simulated camera oscillator disciplined by the PTP servo.
#[derive(Debug)]
pub struct Oscillator {
    host: Arc<dyn Clock>,
    drift_ppm: f64,
    state: Mutex<State>,
}

#[derive(Debug, Clone, Copy)]
struct State {
    anchor_host: i128,
    anchor_local: i128,
    adj_ppb: f64,
    rate: f64,
}

impl Oscillator {
    /// An oscillator reading `host + offset_ns` now and running `drift_ppm` fast.
    pub fn new(host: Arc<dyn Clock>, offset_ns: i64, drift_ppm: f64) -> Self {
        let now = i128::from(host.now_ns());
        let drift_ppm = drift_ppm.clamp(-1000.0, 1000.0);
        Oscillator {
            host,
            drift_ppm,
            state: Mutex::new(State {
                anchor_host: now,
                anchor_local: now + i128::from(offset_ns),
                adj_ppb: 0.0,
                rate: rate(drift_ppm, 0.0),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The host clock this oscillator runs against.
    pub fn host(&self) -> &Arc<dyn Clock> {
        &self.host
    }

    /// The host clock's current time.
    pub fn host_now(&self) -> u64 {
        self.host.now_ns()
    }

    /// Camera time at host time `host_ns`.
    pub fn local_at(&self, host_ns: u64) -> i64 {
        let s = *self.lock();
        local_of(&s, i128::from(host_ns))
    }

    /// Camera time now.
    pub fn now(&self) -> i64 {
        self.local_at(self.host.now_ns())
    }

    /// Host time at which the camera clock reads `local_ns` (saturating at 0).
    pub fn host_at(&self, local_ns: i64) -> u64 {
        let s = *self.lock();
        let host =
            s.anchor_host + ((i128::from(local_ns) - s.anchor_local) as f64 / s.rate) as i128;
        u64::try_from(host.max(0)).unwrap_or(u64::MAX)
    }

    /// Sets the servo's frequency adjustment (clamped to ±[`MAX_ADJ_PPB`]).
    pub fn set_adjustment_ppb(&self, ppb: f64) {
        let now = i128::from(self.host.now_ns());
        let mut s = self.lock();
        let local = i128::from(local_of(&s, now));
        s.anchor_host = now;
        s.anchor_local = local;
        s.adj_ppb = ppb.clamp(-MAX_ADJ_PPB, MAX_ADJ_PPB);
        s.rate = rate(self.drift_ppm, s.adj_ppb);
    }

    /// The servo's current frequency adjustment in ppb.
    pub fn adjustment_ppb(&self) -> f64 {
        self.lock().adj_ppb
    }

    /// The oscillator's own frequency error in ppm (before adjustment).
    pub fn drift_ppm(&self) -> f64 {
        self.drift_ppm
    }

    /// Steps the camera clock by `delta_ns`.
    pub fn step(&self, delta_ns: i64) {
        self.lock().anchor_local += i128::from(delta_ns);
    }

    /// Sets the camera clock to read `local_ns` now (a timestamp reset).
    pub fn set_now(&self, local_ns: i64) {
        let now = i128::from(self.host.now_ns());
        let mut s = self.lock();
        s.anchor_host = now;
        s.anchor_local = i128::from(local_ns);
    }
}

impl Clock for Oscillator {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.now().max(0)).unwrap_or(0)
    }
}

fn rate(drift_ppm: f64, adj_ppb: f64) -> f64 {
    (1.0 + drift_ppm * 1e-6) * (1.0 + adj_ppb * 1e-9)
}

fn local_of(s: &State, host: i128) -> i64 {
    let delta = (host - s.anchor_host) as f64 * s.rate;
    let local = s.anchor_local + delta.round() as i128;
    local.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use gvcap::clock::TestClock;

    const START: u64 = 1_700_000_000_000_000_000;

    #[test]
    fn offset_drift_step_and_adjustment() {
        let host = TestClock::new(START);
        let osc = Oscillator::new(Arc::new(host.clone()), 5_000, 20.0);
        assert_eq!(osc.now(), START as i64 + 5_000);
        host.advance_ns(1_000_000_000);
        // 20 ppm fast: 20 µs gained per second.
        assert_eq!(osc.now(), START as i64 + 5_000 + 1_000_020_000);
        osc.step(-25_000);
        assert_eq!(osc.now(), START as i64 + 1_000_000_000);
        // Cancel the drift exactly: rate (1+20e-6)(1+adj) = 1.
        osc.set_adjustment_ppb((1.0 / (1.0 + 20e-6) - 1.0) * 1e9);
        host.advance_ns(10_000_000_000);
        assert!((osc.now() - (START as i64 + 11_000_000_000)).abs() <= 1);
        // Clamping keeps the rate positive and bounded.
        osc.set_adjustment_ppb(1e12);
        assert_eq!(osc.adjustment_ppb(), MAX_ADJ_PPB);
    }

    #[test]
    fn host_at_inverts_local_at() {
        let host = TestClock::new(START);
        let osc = Oscillator::new(Arc::new(host.clone()), -123_456_789, -37.5);
        for dt in [0u64, 1, 999, 1_000_000_007, 3_600_000_000_000] {
            let h = START + dt;
            let l = osc.local_at(h);
            assert!(osc.host_at(l).abs_diff(h) <= 1, "{dt}");
        }
        osc.set_now(0);
        assert_eq!(osc.now(), 0);
    }
}
