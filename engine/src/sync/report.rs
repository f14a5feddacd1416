//! The report of a sync run, as text and as JSON.
//!
//! Invariants: the report is plain data built from the sequence (no I/O); its
//! JSON always has the keys `cameras`, `aligned_fraction`, `skew_ns` (with
//! `p50`, `p99`, `max`), `diagnoses`, `requirements` and `timescale` (null
//! before the cameras were latched); times are integers in nanoseconds,
//! named `*_ns`; the text form shows the same facts, one camera per line.

use std::fmt;

use serde::Serialize;

use super::config::PtpMode;
use super::diagnose::{Diagnosis, Requirement};
use super::sequence::Outcome;
use super::time::PtpTime;
use super::timescale::{ClockRelation, Timescale};
use super::verify::{AlignmentStats, OffsetStats, Percentiles};

/// One camera's part of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CameraReport {
    /// The camera's name.
    pub name: String,
    /// The method chosen from its XML (`None` when it lacked something).
    pub method: Option<String>,
    /// Its latest PtpStatus.
    pub ptp_status: Option<String>,
    /// Every PtpStatus seen, in order.
    pub statuses_seen: Vec<String>,
    /// PtpMode as read back.
    pub ptp_mode: Option<String>,
    /// AcquisitionFrameRate as read back, in Hz.
    pub frame_rate_hz: Option<f64>,
    /// Its maximum frame rate, when it clamped the request.
    pub frame_rate_max_hz: Option<f64>,
    /// Frames received during the run.
    pub frames: u64,
    /// Of those, frames started by PTP (gate or ACTION).
    pub frames_started_with_ptp: u64,
    /// Whether it was armed for the gate and every frame was started by PTP.
    pub started_with_ptp: bool,
    /// Frames that arrived before the sequence armed the cameras.
    pub frames_before_start: u64,
    /// Frames that arrived after the run was judged (later than the drain
    /// timeout after the final AcquisitionStop).
    pub frames_after_end: u64,
    /// The frame rate its timestamps show, in Hz.
    pub measured_rate_hz: Option<f64>,
    /// Arrival latency (receive time in PTP time − camera timestamp).
    pub latency_ns: Option<Percentiles>,
    /// Mean offset of its timestamps from the group's median per frame number.
    pub mean_deviation_ns: Option<f64>,
    /// PtpOffset statistics.
    pub offset_ns: Option<OffsetStats>,
    /// Its clock related to the host clock at the latch.
    pub clock: Option<ClockRelation>,
    /// When and where it stopped answering, if it did.
    pub lost: Option<String>,
    /// The host time (ns of the driver's clock) it was found lost at.
    pub lost_at_ns: Option<u64>,
}

/// The whole report of a sync run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncReport {
    /// How the sequence ended (`None` while it runs).
    pub outcome: Option<Outcome>,
    /// The PtpMode asked for.
    pub ptp_mode: PtpMode,
    /// The frame rate asked for, in Hz.
    pub frame_rate_hz: f64,
    /// The gate time, in ns of PTP time.
    pub gate_time_ns: Option<PtpTime>,
    /// Per camera.
    pub cameras: Vec<CameraReport>,
    /// Fraction of frame numbers aligned across the group.
    pub aligned_fraction: f64,
    /// Spread of camera timestamps per frame number (p50, p99, max).
    pub skew_ns: Percentiles,
    /// The alignment counts behind the fraction.
    pub alignment: AlignmentStats,
    /// Which clocks were related and how well.
    pub timescale: Option<Timescale>,
    /// The four requirements and whether each was met.
    pub requirements: Vec<Requirement>,
    /// Whether all four were met.
    pub requirements_met: bool,
    /// Every finding, in the order found.
    pub diagnoses: Vec<Diagnosis>,
    /// From the sequence's creation to its end, in ns.
    pub duration_ns: Option<u64>,
}

impl SyncReport {
    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain data with string keys cannot fail; keep the
        // error visible rather than panic if that ever changes.
        serde_json::to_string_pretty(self)
            .unwrap_or_else(|err| format!("{{\"error\": \"report not serializable: {err}\"}}"))
    }

    /// The report as a JSON value.
    pub fn to_json_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

fn opt<T: fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Some(Outcome::Completed) => writeln!(
                f,
                "sync: completed; requirements {}",
                if self.requirements_met {
                    "met"
                } else {
                    "NOT met"
                }
            )?,
            Some(Outcome::Failed { phase, reason }) => {
                writeln!(f, "sync: FAILED during {phase}: {reason}")?
            }
            None => writeln!(f, "sync: still running")?,
        }
        writeln!(
            f,
            "PTP mode {}, frame rate {} Hz, gate {}",
            self.ptp_mode,
            self.frame_rate_hz,
            opt(self.gate_time_ns)
        )?;
        match &self.timescale {
            Some(t) => writeln!(
                f,
                "timescale: host {}; cameras {}; error bound ±{} ns; PTP − host {:+} ns (cameras within {} ns)",
                t.host_clock, t.camera_clock, t.error_bound_ns, t.mean_offset_ns, t.offset_spread_ns
            )?,
            None => writeln!(f, "timescale: not measured (the cameras were not latched)")?,
        }
        writeln!(f)?;
        for camera in &self.cameras {
            let offset = camera.offset_ns.map_or_else(
                || "-".to_string(),
                |o| {
                    format!(
                        "p50 {} p99 {} max {} ns ({} samples)",
                        o.abs_ns.p50, o.abs_ns.p99, o.abs_ns.max, o.samples
                    )
                },
            );
            let latency = camera.latency_ns.map_or_else(
                || "-".to_string(),
                |l| format!("p50 {} p99 {} ns", l.p50, l.p99),
            );
            writeln!(
                f,
                "{}: status {}; {} frames, started with PTP: {}; |PtpOffset| {}; latency {}; method {}",
                camera.name,
                opt(camera.ptp_status.as_deref()),
                camera.frames,
                if camera.started_with_ptp { "yes" } else { "no" },
                offset,
                latency,
                opt(camera.method.as_deref()),
            )?;
            if let Some(lost) = &camera.lost {
                writeln!(f, "  LOST: {lost}")?;
            }
        }
        let a = &self.alignment;
        writeln!(
            f,
            "\ngroup: skew p50 {} ns, p99 {} ns, max {} ns over {} complete frame numbers; aligned {}/{} = {:.4} within {} ns",
            self.skew_ns.p50, self.skew_ns.p99, self.skew_ns.max, a.complete, a.aligned, a.groups, self.aligned_fraction, a.tolerance_ns
        )?;
        if a.trailing > 0 {
            writeln!(
                f,
                "       {} newest frame number(s) taken while the cameras were being stopped were not judged",
                a.trailing
            )?;
        }
        for r in &self.requirements {
            writeln!(
                f,
                "requirement {}: {} ({})",
                r.name,
                if r.met { "met" } else { "NOT met" },
                r.detail
            )?;
        }
        if !self.diagnoses.is_empty() {
            writeln!(f, "\ndiagnoses:")?;
            for d in &self.diagnoses {
                writeln!(f, "  {d}")?;
            }
        }
        Ok(())
    }
}
