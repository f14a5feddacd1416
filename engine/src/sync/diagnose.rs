//! Diagnosis: the rows of the eCapture Pro PTP troubleshooting table, and the
//! failures around them, as checks that name the camera, what was observed
//! and what to do.
//!
//! Invariants: every [`Diagnosis`] has a [`Check`] (its table row), a
//! severity, the camera it concerns (`None` only for group-wide findings), an
//! observed cause with the numbers that show it and an action the user can
//! take; the builders here are pure functions of what was observed, so each
//! is tested on its own and the sequence only decides when to call them.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::config::PtpMode;
use super::verify::{AlignmentStats, CameraFrames, OffsetStats};

/// Which check produced a diagnosis; the first six are the table's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// No live video after the start.
    NoLiveVideo,
    /// PtpStatus never reaches (or leaves) Slave.
    NotSlave,
    /// PtpOffset unstable or too large.
    OffsetOutOfRange,
    /// Frames acquired but frame numbers not aligned.
    FramesNotAligned,
    /// Settings broadcast unavailable because a camera is streaming.
    BroadcastWhileStreaming,
    /// Synchronization does not meet the stated requirement.
    RequirementNotMet,
    /// The camera lacks a feature or entry the sequence needs.
    Unsupported,
    /// A setting was refused or reads back differently.
    SettingRejected,
    /// The camera clamped the requested frame rate.
    FrameRateClamped,
    /// The camera runs at another frame rate than the group.
    FrameRateMismatch,
    /// The camera stopped answering on its control channel.
    CameraLost,
    /// A camera was armed after the gate time had passed.
    GateMissed,
    /// The cameras' PTP clocks disagree more than their bounds allow.
    TimescaleDisagreement,
}

impl Check {
    /// The check's name as in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Check::NoLiveVideo => "no_live_video",
            Check::NotSlave => "not_slave",
            Check::OffsetOutOfRange => "offset_out_of_range",
            Check::FramesNotAligned => "frames_not_aligned",
            Check::BroadcastWhileStreaming => "broadcast_while_streaming",
            Check::RequirementNotMet => "requirement_not_met",
            Check::Unsupported => "unsupported",
            Check::SettingRejected => "setting_rejected",
            Check::FrameRateClamped => "frame_rate_clamped",
            Check::FrameRateMismatch => "frame_rate_mismatch",
            Check::CameraLost => "camera_lost",
            Check::GateMissed => "gate_missed",
            Check::TimescaleDisagreement => "timescale_disagreement",
        }
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; the requirement may still be met.
    Warning,
    /// The synchronization is not what was asked for.
    Error,
}

/// One finding: the check, the camera, the observed cause and the action.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnosis {
    /// The check that found it.
    pub check: Check,
    /// How bad it is.
    pub severity: Severity,
    /// The camera concerned, `None` for the group as a whole.
    pub camera: Option<String>,
    /// What was observed, with the numbers.
    pub cause: String,
    /// What to do about it.
    pub action: String,
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{severity} [{}] ", self.check.name())?;
        match &self.camera {
            Some(camera) => write!(f, "camera {camera}: ")?,
            None => f.write_str("group: ")?,
        }
        write!(f, "{}; action: {}", self.cause, self.action)
    }
}

fn diagnosis(
    check: Check,
    severity: Severity,
    camera: Option<&str>,
    cause: String,
    action: String,
) -> Diagnosis {
    Diagnosis {
        check,
        severity,
        camera: camera.map(str::to_string),
        cause,
        action,
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

/// A camera still streams, so the settings broadcast is refused.
pub fn streaming(camera: &str, stop_tried: bool, stop_error: Option<&str>) -> Diagnosis {
    let cause = match (stop_tried, stop_error) {
        (true, Some(error)) => format!(
            "it is streaming and refused AcquisitionStop ({error}); the settings broadcast was \
             refused and nothing was written on any camera"
        ),
        (true, None) => "it is still streaming after AcquisitionStop (another application may \
                         hold its stream); the settings broadcast was refused and nothing was \
                         written on any camera"
            .to_string(),
        (false, _) => "it is streaming; the settings broadcast was refused and nothing was \
                       written on any camera"
            .to_string(),
    };
    diagnosis(
        Check::BroadcastWhileStreaming,
        Severity::Error,
        Some(camera),
        cause,
        "stop acquisition on it (close the application streaming from it), then run the sync \
         again"
            .to_string(),
    )
}

/// The camera lacks what the sequence needs.
pub fn unsupported(camera: &str, missing: &[String]) -> Diagnosis {
    diagnosis(
        Check::Unsupported,
        Severity::Error,
        Some(camera),
        format!("its XML lacks what the sync needs: {}", missing.join("; ")),
        "use a camera and firmware with PTP and a gate time or scheduled ACTION support, or \
         leave it out of the group; nothing was written on any camera"
            .to_string(),
    )
}

/// A setting was refused by the camera.
pub fn setting_refused(camera: &str, feature: &str, value: &str, error: &str) -> Diagnosis {
    diagnosis(
        Check::SettingRejected,
        Severity::Error,
        Some(camera),
        format!("writing {feature} = {value} was refused: {error}"),
        format!(
            "check with `gvcap get {camera} {feature}` what it accepts now (it may be locked by \
             another feature or while streaming), then run the sync again"
        ),
    )
}

/// A setting reads back differently from what was written.
pub fn setting_differs(camera: &str, feature: &str, wrote: &str, read: &str) -> Diagnosis {
    diagnosis(
        Check::SettingRejected,
        Severity::Error,
        Some(camera),
        format!("{feature} reads back {read} after writing {wrote}"),
        format!("the camera did not keep {feature}: check its firmware and other settings that override it"),
    )
}

/// The camera clamped the requested frame rate.
pub fn frame_rate_clamped(
    camera: &str,
    requested: f64,
    read: Option<f64>,
    max: Option<f64>,
) -> Diagnosis {
    let max_text = max
        .map(|m| format!("its maximum is {m:.3} Hz"))
        .unwrap_or_else(|| "its maximum could not be read".to_string());
    let read_text = read
        .map(|r| format!("it runs at {r:.3} Hz"))
        .unwrap_or_else(|| "it refused the value".to_string());
    let action = match max {
        Some(m) => format!(
            "ask for at most {m:.3} Hz (--frame-rate), or shorten the exposure, reduce the \
             resolution or pixel format, or raise the packet size on this camera"
        ),
        None => {
            "lower --frame-rate, or shorten the exposure or reduce the resolution on this camera"
                .to_string()
        }
    };
    diagnosis(
        Check::FrameRateClamped,
        Severity::Error,
        Some(camera),
        format!(
            "it clamped AcquisitionFrameRate: {requested:.3} Hz was requested, {read_text}, \
             {max_text} with its current format, resolution and exposure; streaming was not started"
        ),
        action,
    )
}

/// What was seen of one camera's PTP lock while waiting for Slave.
#[derive(Debug, Clone, PartialEq)]
pub struct LockEvidence<'a> {
    /// The mode requested.
    pub mode: PtpMode,
    /// Whether the camera's mode is selectable (Emergent PtpMode) or not.
    pub mode_selectable: bool,
    /// What PtpMode read back, if it was read.
    pub mode_read_back: Option<&'a str>,
    /// Every status seen, in order, without repeats.
    pub statuses: &'a [String],
    /// How many other cameras of the group reached Slave.
    pub others_locked: usize,
    /// How many other cameras are in the group.
    pub others: usize,
    /// How long the sequence waited.
    pub waited: Duration,
}

/// PtpStatus never reached Slave on a camera.
pub fn not_slave(camera: &str, evidence: &LockEvidence<'_>) -> Diagnosis {
    let seen = if evidence.statuses.is_empty() {
        "never readable".to_string()
    } else {
        evidence.statuses.join(" → ")
    };
    let last = evidence.statuses.last().map(String::as_str).unwrap_or("");
    let mode = evidence.mode;
    let other = mode.other();
    let waited = seconds(evidence.waited);
    let (cause, action) = if matches!(last, "Master" | "PreMaster" | "Passive") {
        (
            format!(
                "PtpStatus stayed {seen} for {waited}: the camera elected itself master, so no \
                 better grandmaster reaches it"
            ),
            "start a grandmaster on the cameras' network (e.g. `ptp4l -i IF` with a lower \
             priority1) and check the switch forwards PTP"
                .to_string(),
        )
    } else if last == "Faulty" {
        (
            format!("PtpStatus went {seen}: the camera's PTP port is faulty"),
            "check its link and firmware, power-cycle it, then run the sync again".to_string(),
        )
    } else if evidence.mode_read_back.is_some_and(|m| m != mode.entry()) {
        (
            format!(
                "PtpMode reads back {} instead of {}; PtpStatus stayed {seen} for {waited}",
                evidence.mode_read_back.unwrap_or(""),
                mode.entry()
            ),
            "PtpMode cannot be set on this camera now: check it is not locked (e.g. while \
             streaming) and its firmware supports the mode"
                .to_string(),
        )
    } else if evidence.others_locked > 0 {
        (
            format!(
                "PtpStatus stayed {seen} for {waited} while {} of the other {} cameras reached \
                 Slave with the same settings, so the grandmaster is there: this camera does not \
                 receive or accept its PTP messages",
                evidence.others_locked, evidence.others
            ),
            "check this camera's cable, switch port and VLAN, that PTP multicast (224.0.1.129, \
             UDP ports 319 and 320) reaches it, and its firmware; then run the sync again"
                .to_string(),
        )
    } else if evidence.mode_selectable {
        (
            format!(
                "PtpStatus stayed {seen} for {waited} on every camera: PtpMode {} does not match \
                 the timing source (a {other} grandmaster: ptp4l is two-step unless configured \
                 with twoStepFlag 0), or no grandmaster is reachable",
                mode.entry()
            ),
            format!(
                "if the grandmaster is {other}, run again with --ptp-mode {other}; otherwise \
                 start a grandmaster on the cameras' network (e.g. `ptp4l -i IF`) and check that \
                 the switch forwards PTP"
            ),
        )
    } else {
        (
            format!(
                "PtpStatus stayed {seen} for {waited} on every camera: no grandmaster is reachable"
            ),
            "start a grandmaster on the cameras' network (e.g. `ptp4l -i IF`) and check that the \
             switch forwards PTP multicast"
                .to_string(),
        )
    };
    diagnosis(
        Check::NotSlave,
        Severity::Error,
        Some(camera),
        cause,
        action,
    )
}

/// A camera left Slave during the run.
pub fn left_slave(camera: &str, status: &str, samples: u64) -> Diagnosis {
    diagnosis(
        Check::NotSlave,
        Severity::Error,
        Some(camera),
        format!(
            "PtpStatus left Slave during the run ({status}, in {samples} of the status samples): \
             its timestamps and start are not synchronized while it is not Slave"
        ),
        "check the grandmaster stayed up and the path to it (Sync messages lost cause a PTP \
         timeout), then run the sync again"
            .to_string(),
    )
}

/// A camera stopped answering on its control channel.
pub fn camera_lost(
    camera: &str,
    phase: &str,
    op: &str,
    error: &str,
    others_go_on: bool,
) -> Diagnosis {
    let (cause, action) = if others_go_on {
        (
            format!(
                "it stopped answering during {phase} (no answer to {op}: {error}); the other \
                 cameras went on, and its frame numbers after its last frame are not expected"
            ),
            "check its power, cable and switch port; its control channel heartbeat has expired, \
             so it must be opened and synchronized again"
                .to_string(),
        )
    } else {
        (
            format!(
                "it stopped answering during {phase} (no answer to {op}: {error}); the sequence \
                 stopped before starting the group"
            ),
            "check its power, cable and switch port and that no other host owns it, then run the \
             sync again (or leave it out of the group)"
                .to_string(),
        )
    };
    diagnosis(
        Check::CameraLost,
        Severity::Error,
        Some(camera),
        cause,
        action,
    )
}

/// A camera was armed too late for the gate.
pub fn gate_missed(camera: &str, late_by: Duration, margin: Duration) -> Diagnosis {
    diagnosis(
        Check::GateMissed,
        Severity::Error,
        Some(camera),
        format!(
            "it was armed {:.3} ms after the gate time had passed on its clock, so it cannot start \
             with the group",
            late_by.as_secs_f64() * 1e3
        ),
        format!(
            "raise the gate margin (now {}), e.g. --gate-margin {:.0}s, and run the sync again",
            seconds(margin),
            (margin.as_secs_f64() * 2.0).ceil().max(1.0)
        ),
    )
}

/// The cameras' PTP clocks disagree at the latch.
pub fn timescale_disagreement(spread_ns: u64, allowed_ns: u64, cameras: &str) -> Diagnosis {
    diagnosis(
        Check::TimescaleDisagreement,
        Severity::Warning,
        None,
        format!(
            "the cameras' PTP clocks differ by {spread_ns} ns at the latch, more than the {allowed_ns} \
             ns their latch bounds and offsets allow ({cameras}): they may follow different \
             grandmasters or PTP domains"
        ),
        "check that every camera and the host are in one PTP domain with one grandmaster".to_string(),
    )
}

/// No frame arrived from a started camera.
pub fn no_live_video(camera: &str, waited: Duration, status: Option<&str>) -> Diagnosis {
    let status = status
        .map(|s| format!(" (PtpStatus {s})"))
        .unwrap_or_default();
    diagnosis(
        Check::NoLiveVideo,
        Severity::Error,
        Some(camera),
        format!(
            "no frame arrived within {} after the gate time although it was armed{status}",
            seconds(waited)
        ),
        "check that PtpStatus is Slave, that the stream channel points at this host (GevSCDA, \
         GevSCPHostPort) and the packet size fits the path MTU, that TriggerMode/TriggerSource \
         are as set, then restart acquisition with the sync"
            .to_string(),
    )
}

/// Frames from a camera stopped during the run.
pub fn frames_stopped(camera: &str, last_frame: u64, silent_for: Duration) -> Diagnosis {
    diagnosis(
        Check::NoLiveVideo,
        Severity::Error,
        Some(camera),
        format!(
            "its frames stopped after frame {last_frame}: nothing for {} while the others go on",
            seconds(silent_for)
        ),
        "check the camera (power, link, stream channel) and the capture counters (frames \
         dropped, packets missing) for this camera"
            .to_string(),
    )
}

/// Frames of a camera were not started by PTP.
pub fn not_started_with_ptp(camera: &str, frames: u64, with_ptp: u64) -> Diagnosis {
    diagnosis(
        Check::NoLiveVideo,
        Severity::Error,
        Some(camera),
        format!(
            "{} of its {frames} frames were not started with PTP (free-running or triggered \
             otherwise)",
            frames - with_ptp.min(frames)
        ),
        "make sure AcquisitionMode, TriggerMode and TriggerSource stay as the sync set them and \
         that it was Slave when armed; run the sync again"
            .to_string(),
    )
}

/// PtpOffset checks; `None` when the samples are within the levels.
pub fn offset(camera: &str, stats: &OffsetStats, warn_ns: u64, error_ns: u64) -> Option<Diagnosis> {
    if stats.samples == 0 {
        return None;
    }
    let worst = stats.abs_ns.max;
    let action = "check the path to the grandmaster: switches without PTP support (no \
                  transparent or boundary clock), link load, and the grandmaster's timestamping \
                  (hardware rather than software); widen --offset-warn/--offset-error only if \
                  the requirement allows"
        .to_string();
    let numbers = format!(
        "p50 |PtpOffset| {} ns, p99 {} ns, max {} ns, mean {:.0} ns, standard deviation {:.0} ns \
         over {} samples",
        stats.abs_ns.p50, stats.abs_ns.p99, worst, stats.mean_ns, stats.stddev_ns, stats.samples
    );
    if stats.over_error > 0 {
        Some(diagnosis(
            Check::OffsetOutOfRange,
            Severity::Error,
            Some(camera),
            format!(
                "PtpOffset too large: {} samples above the error level {error_ns} ns ({numbers})",
                stats.over_error
            ),
            action,
        ))
    } else if stats.over_warn > 0 {
        Some(diagnosis(
            Check::OffsetOutOfRange,
            Severity::Warning,
            Some(camera),
            format!(
                "PtpOffset above the warning level {warn_ns} ns in {} samples ({numbers})",
                stats.over_warn
            ),
            action,
        ))
    } else if stats.stddev_ns > warn_ns as f64 / 2.0 {
        Some(diagnosis(
            Check::OffsetOutOfRange,
            Severity::Warning,
            Some(camera),
            format!("PtpOffset unstable: {numbers}"),
            action,
        ))
    } else {
        None
    }
}

/// A camera runs at another rate than the group.
pub fn rate_mismatch(camera: &str, measured_hz: f64, expected_hz: f64) -> Diagnosis {
    diagnosis(
        Check::FrameRateMismatch,
        Severity::Error,
        Some(camera),
        format!(
            "its frames come at {measured_hz:.3} Hz by its own timestamps while the group runs at \
             {expected_hz:.3} Hz, so its frame numbers drift away from the others'"
        ),
        "set the same AcquisitionFrameRate on every camera (check it is not clamped or changed by \
         another application) and run the sync again"
            .to_string(),
    )
}

/// A camera's frame numbers are off the group's.
pub fn frames_not_aligned(
    camera: &str,
    frames: &CameraFrames,
    period_ns: u64,
    tolerance_ns: u64,
) -> Option<Diagnosis> {
    let mean = frames.mean_deviation_ns?;
    if mean.abs() <= tolerance_ns as f64 {
        return None;
    }
    let periods = if period_ns > 0 {
        mean / period_ns as f64
    } else {
        0.0
    };
    let whole = periods.round();
    let (cause, action) = if whole != 0.0 && (periods - whole).abs() < 0.25 {
        let direction = if whole > 0.0 { "late" } else { "early" };
        (
            format!(
                "its frame numbers are {} frame(s) {direction} against the group's (its frame n \
                 is taken with the others' frame n{}{}): it started at another time than the gate \
                 or its block ids did not restart",
                whole.abs(),
                if whole > 0.0 { "+" } else { "-" },
                whole.abs()
            ),
            "run the sync again so every camera is armed before one gate time (raise \
             --gate-margin if a camera is slow to arm)"
                .to_string(),
        )
    } else {
        (
            format!(
                "its timestamps are on average {:.0} ns off the group's median for the same frame \
                 number (tolerance {tolerance_ns} ns, largest {} ns)",
                mean, frames.max_abs_deviation_ns
            ),
            "check its PtpStatus and PtpOffset: its clock is not following the grandmaster \
             closely enough"
                .to_string(),
        )
    };
    Some(diagnosis(
        Check::FramesNotAligned,
        Severity::Error,
        Some(camera),
        cause,
        action,
    ))
}

/// Frame numbers some camera did not deliver.
pub fn incomplete_groups(alignment: &AlignmentStats) -> Option<Diagnosis> {
    (alignment.incomplete > 0).then(|| {
        diagnosis(
            Check::FramesNotAligned,
            Severity::Error,
            None,
            format!(
                "{} of {} frame numbers were not delivered by every running camera",
                alignment.incomplete, alignment.groups
            ),
            "look at the capture counters (frames incomplete or dropped, packets missing) of the \
             cameras concerned; enable packet resend and check the link bandwidth"
                .to_string(),
        )
    })
}

/// One requirement of a synchronized capture, and whether it was met.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Requirement {
    /// Its name: shared_start, accurate_timestamps, frame_alignment, offset_range.
    pub name: &'static str,
    /// Whether it was met.
    pub met: bool,
    /// Why, in numbers.
    pub detail: String,
}

/// The diagnosis for a requirement not met.
pub fn requirement_not_met(requirement: &Requirement, action: &str) -> Diagnosis {
    diagnosis(
        Check::RequirementNotMet,
        Severity::Error,
        None,
        format!(
            "requirement {} not met: {}",
            requirement.name, requirement.detail
        ),
        action.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::verify::Percentiles;

    fn statuses(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_group_without_a_lock_names_the_mode_and_the_grandmaster() {
        let seen = statuses(&["Listening"]);
        let evidence = LockEvidence {
            mode: PtpMode::OneStep,
            mode_selectable: true,
            mode_read_back: Some("OneStep"),
            statuses: &seen,
            others_locked: 0,
            others: 3,
            waited: Duration::from_secs(30),
        };
        let d = not_slave("cam1", &evidence);
        assert_eq!(d.check, Check::NotSlave);
        assert_eq!(d.camera.as_deref(), Some("cam1"));
        assert!(
            d.cause.contains("PtpMode OneStep does not match"),
            "{}",
            d.cause
        );
        assert!(d.cause.contains("30.0 s"), "{}", d.cause);
        assert!(d.action.contains("--ptp-mode two-step"), "{}", d.action);
        assert!(d.to_string().starts_with("error [not_slave] camera cam1: "));
    }

    #[test]
    fn a_single_camera_without_a_lock_is_blamed_on_itself() {
        let seen = statuses(&["Listening", "Uncalibrated"]);
        let evidence = LockEvidence {
            mode: PtpMode::TwoStep,
            mode_selectable: true,
            mode_read_back: Some("TwoStep"),
            statuses: &seen,
            others_locked: 3,
            others: 3,
            waited: Duration::from_secs(10),
        };
        let d = not_slave("cam4", &evidence);
        assert!(d.cause.contains("Listening → Uncalibrated"), "{}", d.cause);
        assert!(
            d.cause.contains("3 of the other 3 cameras reached Slave"),
            "{}",
            d.cause
        );
        assert!(d.action.contains("319"), "{}", d.action);
    }

    #[test]
    fn a_camera_that_made_itself_master_points_at_the_missing_grandmaster() {
        let seen = statuses(&["Listening", "Master"]);
        let evidence = LockEvidence {
            mode: PtpMode::TwoStep,
            mode_selectable: false,
            mode_read_back: None,
            statuses: &seen,
            others_locked: 0,
            others: 0,
            waited: Duration::from_secs(5),
        };
        let d = not_slave("solo", &evidence);
        assert!(d.cause.contains("elected itself master"), "{}", d.cause);
        let seen = statuses(&["Disabled"]);
        let evidence = LockEvidence {
            mode_selectable: true,
            mode_read_back: Some("Off"),
            statuses: &seen,
            ..evidence
        };
        assert!(not_slave("solo", &evidence)
            .cause
            .contains("reads back Off"));
    }

    #[test]
    fn offsets_are_judged_against_both_levels_and_stability() {
        let stats = |over_warn, over_error, stddev| OffsetStats {
            samples: 10,
            mean_ns: 0.0,
            stddev_ns: stddev,
            min_ns: -100,
            max_ns: 100,
            abs_ns: Percentiles {
                p50: 50,
                p99: 100,
                max: 100,
                count: 10,
            },
            over_warn,
            over_error,
            last_ns: Some(0),
        };
        assert!(offset("c", &stats(0, 0, 10.0), 1_000, 10_000).is_none());
        let d = offset("c", &stats(2, 1, 10.0), 1_000, 10_000).unwrap();
        assert_eq!(d.severity, Severity::Error);
        assert!(d.cause.contains("too large"));
        let d = offset("c", &stats(2, 0, 10.0), 1_000, 10_000).unwrap();
        assert_eq!(d.severity, Severity::Warning);
        let d = offset("c", &stats(0, 0, 800.0), 1_000, 10_000).unwrap();
        assert!(d.cause.contains("unstable"));
    }

    #[test]
    fn misalignment_by_whole_frames_is_told_apart_from_clock_error() {
        let frames = |mean| CameraFrames {
            frames: 10,
            started_with_ptp: 10,
            duplicates: 0,
            first_frame: Some(1),
            last_frame: Some(10),
            last_rx_ns: None,
            measured_rate_hz: Some(100.0),
            latency_ns: None,
            negative_latencies: 0,
            mean_deviation_ns: Some(mean),
            max_abs_deviation_ns: 0,
        };
        let period = 10_000_000;
        let d = frames_not_aligned("c", &frames(10_000_000.0), period, 1_000).unwrap();
        assert!(d.cause.contains("1 frame(s) late"), "{}", d.cause);
        let d = frames_not_aligned("c", &frames(-20_000_000.0), period, 1_000).unwrap();
        assert!(d.cause.contains("2 frame(s) early"), "{}", d.cause);
        let d = frames_not_aligned("c", &frames(50_000.0), period, 1_000).unwrap();
        assert!(d.cause.contains("on average 50000 ns"), "{}", d.cause);
        assert!(frames_not_aligned("c", &frames(500.0), period, 1_000).is_none());
    }

    #[test]
    fn clamped_rate_names_the_maximum_and_streaming_says_nothing_was_written() {
        let d = frame_rate_clamped("cam2", 60.0, Some(41.5), Some(41.5));
        assert!(d.cause.contains("41.500 Hz"), "{}", d.cause);
        assert!(d.action.contains("at most 41.500 Hz"), "{}", d.action);
        let d = streaming("cam3", true, None);
        assert!(d.cause.contains("nothing was written on any camera"));
        assert_eq!(d.check, Check::BroadcastWhileStreaming);
    }

    #[test]
    fn json_names_are_snake_case() {
        let d = camera_lost("cam2", "the run", "read PtpOffset", "timeout", true);
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["check"], "camera_lost");
        assert_eq!(json["severity"], "error");
        assert_eq!(json["camera"], "cam2");
        assert_eq!(Check::CameraLost.name(), "camera_lost");
    }
}
