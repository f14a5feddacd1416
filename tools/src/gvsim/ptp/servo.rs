//! The PI servo that turns measured offsets from the master into clock
//! corrections: one frequency estimate and one step to lock, then a
//! proportional-integral loop on the frequency.
//!
//! Gains: kp 0.4 and ki 0.1 at a one-second interval, scaled with the
//! interval (kp ∝ interval^-0.3, ki ∝ interval^0.4, each capped so one
//! sample never over-corrects). That is gentler than the usual tuning for
//! hardware timestamps (0.7, 0.3): software timestamps on a busy host are
//! noisier, and a servo that chases the noise makes the clock wander.
//!
//! Invariants: the servo owns the clock's frequency adjustment, so the value
//! it returns is the whole adjustment to apply, not a delta; it is clamped
//! to ±`max_ppb`; a sample older than the previous one restarts the
//! frequency estimate instead of dividing by a non-positive interval.

/// What the servo asks of the clock after a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ServoOutput {
    /// Not enough samples yet: leave the clock alone.
    Hold,
    /// First lock: step the clock by `step_ns`, then run at `adj_ppb`.
    Jump {
        /// Nanoseconds to add to the clock.
        step_ns: i64,
        /// The frequency adjustment to apply, in ppb.
        adj_ppb: f64,
    },
    /// Locked: run at `adj_ppb`.
    Adjust {
        /// The frequency adjustment to apply, in ppb.
        adj_ppb: f64,
    },
}

/// The servo's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServoState {
    /// Collecting the samples of the frequency estimate.
    Unlocked,
    /// Steering the frequency.
    Locked,
}

/// A proportional-integral clock servo.
#[derive(Debug, Clone)]
pub struct PiServo {
    kp: f64,
    ki: f64,
    max_ppb: f64,
    /// The integral term: the frequency adjustment that cancels the oscillator's error.
    base_ppb: f64,
    first: Option<(i64, i64)>,
    state: ServoState,
}

impl PiServo {
    /// A servo for a sync interval of `interval_s` seconds that keeps adjustments within ±`max_ppb`.
    pub fn new(interval_s: f64, max_ppb: f64) -> Self {
        let mut servo = PiServo {
            kp: 0.0,
            ki: 0.0,
            max_ppb,
            base_ppb: 0.0,
            first: None,
            state: ServoState::Unlocked,
        };
        servo.set_interval(interval_s);
        servo
    }

    /// Adapts the gains to a new sync interval.
    pub fn set_interval(&mut self, interval_s: f64) {
        let interval = if interval_s.is_finite() && interval_s > 0.0 {
            interval_s
        } else {
            1.0
        };
        self.kp = (0.4 * interval.powf(-0.3)).min(0.4 / interval);
        self.ki = (0.1 * interval.powf(0.4)).min(0.1 / interval);
    }

    /// Forgets the lock (keeps the frequency estimate, which stays a good start).
    pub fn reset(&mut self) {
        self.first = None;
        self.state = ServoState::Unlocked;
    }

    /// The current state.
    pub fn state(&self) -> ServoState {
        self.state
    }

    /// Feeds one offset (slave minus master, ns) measured at local time
    /// `local_ns`; it is now `now_ns`, which a step extrapolates to.
    pub fn sample(&mut self, offset_ns: i64, local_ns: i64, now_ns: i64) -> ServoOutput {
        match self.state {
            ServoState::Unlocked => match self.first {
                Some((offset0, local0)) if local_ns > local0 => {
                    // The offset grew by this much per nanosecond: the clock's rate error.
                    let error_ppb = (offset_ns - offset0) as f64 / (local_ns - local0) as f64 * 1e9;
                    self.base_ppb = (self.base_ppb - error_ppb).clamp(-self.max_ppb, self.max_ppb);
                    self.state = ServoState::Locked;
                    self.first = None;
                    // The offset kept growing at the old rate since it was measured.
                    let since = now_ns.saturating_sub(local_ns).max(0) as f64;
                    let now_offset = offset_ns as f64 + error_ppb * since / 1e9;
                    ServoOutput::Jump {
                        step_ns: -(now_offset.round() as i64),
                        adj_ppb: self.base_ppb,
                    }
                }
                _ => {
                    self.first = Some((offset_ns, local_ns));
                    ServoOutput::Hold
                }
            },
            ServoState::Locked => {
                let offset = offset_ns as f64;
                self.base_ppb =
                    (self.base_ppb - self.ki * offset).clamp(-self.max_ppb, self.max_ppb);
                let adj_ppb = (self.base_ppb - self.kp * offset).clamp(-self.max_ppb, self.max_ppb);
                ServoOutput::Adjust { adj_ppb }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clock running `error_ppb` fast with an initial offset, sampled once a second.
    #[test]
    fn locks_and_converges_on_a_drifting_clock() {
        let error_ppb = 35_000.0; // 35 ppm
        let mut offset = 2_000_000.0f64; // 2 ms
        let mut adj = 0.0;
        let mut servo = PiServo::new(1.0, 500_000.0);
        let mut local = 0i64;
        let mut last = f64::MAX;
        for second in 0..30 {
            match servo.sample(offset.round() as i64, local, local) {
                ServoOutput::Hold => assert_eq!(second, 0),
                ServoOutput::Jump { step_ns, adj_ppb } => {
                    assert_eq!(second, 1);
                    offset += step_ns as f64;
                    adj = adj_ppb;
                }
                ServoOutput::Adjust { adj_ppb } => adj = adj_ppb,
            }
            // One second passes: the offset moves by the residual frequency error.
            offset += error_ppb + adj;
            local += 1_000_000_000;
            last = offset;
        }
        assert_eq!(servo.state(), ServoState::Locked);
        assert!(last.abs() < 10.0, "offset after 30 s: {last} ns");
        assert!((adj + error_ppb).abs() < 10.0, "adjustment {adj}");
    }

    #[test]
    fn gains_scale_with_the_interval_and_stale_samples_restart() {
        let fast = PiServo::new(0.125, 1e5);
        let slow = PiServo::new(1.0, 1e5);
        assert!(fast.kp > slow.kp && fast.ki < slow.ki);
        let mut servo = PiServo::new(f64::NAN, 1e5);
        assert!((servo.kp - 0.4).abs() < 1e-12);
        assert_eq!(servo.sample(100, 5, 5), ServoOutput::Hold);
        // Same or earlier time: no division by zero, a fresh start.
        assert_eq!(servo.sample(100, 5, 5), ServoOutput::Hold);
        assert_eq!(servo.state(), ServoState::Unlocked);
        assert!(
            matches!(servo.sample(1e9 as i64, 1_000_000_005, 1_000_000_005), ServoOutput::Jump { adj_ppb, .. } if adj_ppb == -1e5)
        );
    }
}
