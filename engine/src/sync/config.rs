//! What the user asks of a synchronized start, with defaults and validation.
//!
//! Invariants: a [`SyncConfig`] that passed [`SyncConfig::validate`] has a
//! finite positive frame rate, non-zero intervals and timeouts, a warning
//! level at or below the error level and fractions within 0..=1; the sequence
//! refuses to start from one that did not.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::op::ActionKeys;

/// The PTP message mode the cameras must use; it must match the grandmaster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PtpMode {
    /// The master puts the precise time in Sync itself.
    OneStep,
    /// The master sends Sync then Follow_Up with the precise time (ptp4l's default).
    TwoStep,
}

impl PtpMode {
    /// The PtpMode enumeration entry that selects this mode.
    pub fn entry(self) -> &'static str {
        match self {
            PtpMode::OneStep => "OneStep",
            PtpMode::TwoStep => "TwoStep",
        }
    }

    /// The other mode.
    pub fn other(self) -> PtpMode {
        match self {
            PtpMode::OneStep => PtpMode::TwoStep,
            PtpMode::TwoStep => PtpMode::OneStep,
        }
    }
}

impl fmt::Display for PtpMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PtpMode::OneStep => "one-step",
            PtpMode::TwoStep => "two-step",
        })
    }
}

/// How long the verified run lasts once the cameras started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunLength {
    /// Until every live camera delivered this many frames.
    Frames(u64),
    /// For this long after the gate time.
    Duration(Duration),
    /// Until `SyncSequence::request_stop`.
    UntilStopped,
}

/// Everything the sync sequence needs to know from the user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncConfig {
    /// PtpMode to set on every camera.
    pub ptp_mode: PtpMode,
    /// AcquisitionFrameRate to set on every camera, in Hz.
    pub frame_rate_hz: f64,
    /// How long the verified run lasts.
    pub run: RunLength,
    /// Execute AcquisitionStop on every camera first (step a); when false a
    /// streaming camera refuses the whole broadcast.
    pub stop_streaming_first: bool,
    /// How long to wait for every camera to report PtpStatus Slave.
    pub lock_timeout: Duration,
    /// How often PtpStatus is polled while waiting for the lock.
    pub status_poll_interval: Duration,
    /// How far ahead of the latest camera's PTP time the gate is placed.
    pub gate_margin: Duration,
    /// How often PtpOffset (and PtpStatus) is sampled during the run.
    pub offset_interval: Duration,
    /// |PtpOffset| above this is a warning, in ns.
    pub offset_warn_ns: u64,
    /// |PtpOffset| above this is an error, in ns.
    pub offset_error_ns: u64,
    /// Largest spread of one frame number's timestamps that counts as
    /// aligned, in ns; `None`: `skew_tolerance_fraction` of the frame period.
    pub skew_tolerance_ns: Option<u64>,
    /// The default skew tolerance as a fraction of the frame period.
    pub skew_tolerance_fraction: f64,
    /// Fraction of frame numbers that must be aligned for the requirement.
    pub min_aligned_fraction: f64,
    /// How many frame numbers are held open while waiting for late cameras.
    pub alignment_window: usize,
    /// How long after the gate every camera must have delivered a frame.
    pub first_frame_timeout: Duration,
    /// Relative difference between a read-back frame rate and the request
    /// that still counts as equal (cameras quantize their rates).
    pub rate_tolerance: f64,
    /// Keys for scheduled ACTION commands (cameras without a gate-time feature).
    pub action_keys: ActionKeys,
    /// How far ahead per-frame scheduled ACTIONs are sent.
    pub action_lead: Duration,
    /// After the final AcquisitionStop, how long (plus one frame period)
    /// frames taken before the stop are awaited before the run is judged.
    pub drain_timeout: Duration,
    /// The host clock `now` and receive timestamps come from, for the report
    /// (the driver fills it in from its clock).
    pub host_clock: String,
}

impl SyncConfig {
    /// The defaults for `ptp_mode` at `frame_rate_hz`, running for 100 frames.
    pub fn new(ptp_mode: PtpMode, frame_rate_hz: f64) -> Self {
        SyncConfig {
            ptp_mode,
            frame_rate_hz,
            run: RunLength::Frames(100),
            stop_streaming_first: true,
            lock_timeout: Duration::from_secs(30),
            status_poll_interval: Duration::from_millis(500),
            gate_margin: Duration::from_secs(1),
            offset_interval: Duration::from_secs(1),
            offset_warn_ns: 1_000,
            offset_error_ns: 10_000,
            skew_tolerance_ns: None,
            skew_tolerance_fraction: 0.001,
            min_aligned_fraction: 1.0,
            alignment_window: 16,
            first_frame_timeout: Duration::from_secs(2),
            rate_tolerance: 0.001,
            action_keys: ActionKeys {
                device_key: 0x6776_6361,
                group_key: 0x0000_0001,
                group_mask: 0x0000_0001,
            },
            action_lead: Duration::from_millis(200),
            drain_timeout: Duration::from_millis(500),
            host_clock: "host clock (not named by the driver)".to_string(),
        }
    }

    /// The frame period, in ns.
    pub fn frame_period_ns(&self) -> u64 {
        if self.frame_rate_hz > 0.0 && self.frame_rate_hz.is_finite() {
            (1e9 / self.frame_rate_hz).round() as u64
        } else {
            0
        }
    }

    /// The skew tolerance in ns: as configured, or the fraction of the period.
    pub fn skew_tolerance(&self) -> u64 {
        self.skew_tolerance_ns.unwrap_or_else(|| {
            ((self.frame_period_ns() as f64) * self.skew_tolerance_fraction).round() as u64
        })
    }

    /// Checks the invariants stated in the module documentation.
    pub fn validate(&self) -> Result<(), String> {
        let rate = self.frame_rate_hz;
        if !(rate.is_finite() && rate > 0.0 && rate <= 1e6) {
            return Err(format!(
                "frame rate {rate} Hz is not a positive number of at most 1 MHz; give e.g. --frame-rate 30"
            ));
        }
        let durations = [
            ("lock timeout", self.lock_timeout),
            ("status poll interval", self.status_poll_interval),
            ("offset interval", self.offset_interval),
            ("first frame timeout", self.first_frame_timeout),
        ];
        for (name, value) in durations {
            if value.is_zero() {
                return Err(format!("the {name} is zero; give it a positive duration"));
            }
        }
        if let RunLength::Frames(0) = self.run {
            return Err("a run of 0 frames verifies nothing; ask for at least 1 frame".into());
        }
        if self.offset_warn_ns > self.offset_error_ns {
            return Err(format!(
                "the offset warning level ({} ns) is above the error level ({} ns); swap them",
                self.offset_warn_ns, self.offset_error_ns
            ));
        }
        let fractions = [
            ("skew tolerance fraction", self.skew_tolerance_fraction),
            ("minimum aligned fraction", self.min_aligned_fraction),
            ("rate tolerance", self.rate_tolerance),
        ];
        for (name, value) in fractions {
            if !(0.0..=1.0).contains(&value) {
                return Err(format!("the {name} {value} is not between 0 and 1"));
            }
        }
        if self.alignment_window == 0 {
            return Err("the alignment window is 0 frames; give at least 1".into());
        }
        if self.action_keys.group_mask == 0 {
            return Err("the ACTION group mask is 0, so no camera would ever act".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_derive_the_tolerance_from_the_period() {
        let config = SyncConfig::new(PtpMode::TwoStep, 50.0);
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.frame_period_ns(), 20_000_000);
        assert_eq!(config.skew_tolerance(), 20_000);
        let fixed = SyncConfig {
            skew_tolerance_ns: Some(500),
            ..config
        };
        assert_eq!(fixed.skew_tolerance(), 500);
    }

    #[test]
    fn bad_values_are_refused_with_what_to_do() {
        let mut config = SyncConfig::new(PtpMode::OneStep, f64::NAN);
        assert!(config.validate().unwrap_err().contains("--frame-rate"));
        config.frame_rate_hz = 30.0;
        config.offset_warn_ns = 20_000;
        assert!(config.validate().unwrap_err().contains("swap"));
        config.offset_warn_ns = 100;
        config.run = RunLength::Frames(0);
        assert!(config.validate().is_err());
        config.run = RunLength::UntilStopped;
        config.min_aligned_fraction = 1.5;
        assert!(config.validate().is_err());
        config.min_aligned_fraction = 0.99;
        config.lock_timeout = Duration::ZERO;
        assert!(config.validate().unwrap_err().contains("lock timeout"));
    }

    #[test]
    fn modes_name_their_entries() {
        assert_eq!(PtpMode::OneStep.entry(), "OneStep");
        assert_eq!(PtpMode::TwoStep.other(), PtpMode::OneStep);
        assert_eq!(PtpMode::TwoStep.to_string(), "two-step");
    }
}
