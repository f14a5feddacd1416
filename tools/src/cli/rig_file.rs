//! The rig file of `gvcap sync --rig FILE`: a TOML description of a camera
//! group (cameras and the host interfaces they are reached through, receive
//! cores, frame rate, PTP mode, thresholds and timing).
//!
//! ```toml
//! ptp_mode = "two-step"      # one-step | two-step (must match the grandmaster)
//! frame_rate = 20.0          # Hz, set on every camera
//! frames = 100               # run length: frames per camera, or `duration = 5.0` (s)
//! path = "xdp"               # receive path: auto | xdp | udp
//! cores = [1]                # receive threads pinned to these cores, in order
//!
//! [ptp]
//! lock_timeout = 30.0        # s to wait for every camera to be Slave
//! offset_interval = 0.5      # s between PtpOffset samples
//! gate_margin = 1.0          # s between the latest camera's time and the gate
//!
//! [thresholds]
//! offset_warn_ns = 1000
//! offset_error_ns = 10000
//! skew_tolerance_ns = 1000   # default: 0.1 % of the frame period
//! min_aligned_fraction = 1.0
//!
//! [control]
//! timeout_ms = 250           # per GVCP answer
//! retries = 2
//! heartbeat_timeout_ms = 3000
//!
//! [[camera]]
//! id = "169.254.1.2"         # IP address, serial number or user name
//! interface = "gvrh1"        # host interface it must be reached through (optional)
//! ```
//!
//! Invariants: a [`RigFile`] that [`RigFile::parse`] returned names at least
//! one camera, each once, with a valid PTP mode and path when given, and at
//! most one of `frames` and `duration`; unknown keys are refused (a typo must
//! not silently fall back to a default), and every error names the line.

use std::path::Path;

use anyhow::Context;
use clap::ValueEnum;
use gvcap::capture::PathRequest;
use serde::Deserialize;

use super::sync::PtpModeArg;

/// A parsed rig file; every value is optional so the command line can
/// override or complete it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RigFile {
    /// "one-step" or "two-step".
    pub ptp_mode: Option<String>,
    /// Frame rate, Hz.
    pub frame_rate: Option<f64>,
    /// Run until every camera delivered this many frames.
    pub frames: Option<u64>,
    /// Run this many seconds after the gate.
    pub duration: Option<f64>,
    /// "auto", "xdp" or "udp".
    pub path: Option<String>,
    /// Cores for the receive threads, used in order.
    pub cores: Option<Vec<usize>>,
    /// Stop acquisition on every camera first (default true); when false a
    /// streaming camera makes the sync refuse the settings broadcast.
    pub stop_streaming_first: Option<bool>,
    /// PTP timing.
    #[serde(default)]
    pub ptp: PtpSection,
    /// Warning and error levels.
    #[serde(default)]
    pub thresholds: Thresholds,
    /// The GVCP control channel.
    #[serde(default)]
    pub control: ControlSection,
    /// The cameras of the group, in order.
    #[serde(default, rename = "camera")]
    pub cameras: Vec<RigCamera>,
}

/// `[ptp]`: timing of the lock and of the run.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PtpSection {
    /// Seconds to wait for every camera to be Slave.
    pub lock_timeout: Option<f64>,
    /// Seconds between PtpOffset samples.
    pub offset_interval: Option<f64>,
    /// Seconds between the latest camera's PTP time and the gate.
    pub gate_margin: Option<f64>,
}

/// `[thresholds]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// |PtpOffset| above this is a warning, ns.
    pub offset_warn_ns: Option<u64>,
    /// |PtpOffset| above this is an error, ns.
    pub offset_error_ns: Option<u64>,
    /// Largest spread of one frame number's timestamps that is aligned, ns.
    pub skew_tolerance_ns: Option<u64>,
    /// Fraction of frame numbers that must be aligned.
    pub min_aligned_fraction: Option<f64>,
}

/// `[control]`: the GVCP client.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlSection {
    /// How long to wait for each GVCP answer, ms.
    pub timeout_ms: Option<u64>,
    /// How often an unanswered command is resent.
    pub retries: Option<u32>,
    /// Heartbeat timeout programmed into every camera, ms.
    pub heartbeat_timeout_ms: Option<u64>,
}

/// One `[[camera]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RigCamera {
    /// IP address, serial number or user name.
    pub id: String,
    /// The host interface the camera must be reached through.
    pub interface: Option<String>,
}

impl RigFile {
    /// Parses and checks the text of a rig file.
    pub fn parse(text: &str) -> Result<RigFile, String> {
        let rig: RigFile = toml::from_str(text).map_err(|e| e.to_string())?;
        rig.check()?;
        Ok(rig)
    }

    /// Reads and parses the rig file at `path`.
    pub fn load(path: &Path) -> anyhow::Result<RigFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading rig file {}", path.display()))?;
        RigFile::parse(&text)
            .map_err(|e| anyhow::anyhow!("rig file {}: {}", path.display(), e.trim_end()))
    }

    /// The PTP mode, if given.
    pub fn ptp_mode(&self) -> Result<Option<PtpModeArg>, String> {
        self.ptp_mode
            .as_deref()
            .map(|text| {
                PtpModeArg::from_str(text, true)
                    .map_err(|_| format!("ptp_mode = {text:?}: use \"one-step\" or \"two-step\""))
            })
            .transpose()
    }

    /// The receive path, if given.
    pub fn path(&self) -> Result<Option<PathRequest>, String> {
        self.path
            .as_deref()
            .map(|text| {
                text.parse::<PathRequest>()
                    .map_err(|e| format!("path: {e}"))
            })
            .transpose()
    }

    fn check(&self) -> Result<(), String> {
        if self.cameras.is_empty() {
            return Err(
                "no cameras: add at least one [[camera]] table with id = \"IP, serial or name\""
                    .into(),
            );
        }
        for (i, camera) in self.cameras.iter().enumerate() {
            if camera.id.trim().is_empty() {
                return Err(format!("camera #{} has an empty id", i + 1));
            }
            if self.cameras[..i].iter().any(|c| c.id == camera.id) {
                return Err(format!(
                    "camera {:?} is listed twice; list each camera once",
                    camera.id
                ));
            }
        }
        if self.frames.is_some() && self.duration.is_some() {
            return Err("give either frames or duration, not both".into());
        }
        if let Some(duration) = self.duration {
            if !(duration.is_finite() && duration > 0.0) {
                return Err(format!(
                    "duration = {duration}: give a positive number of seconds"
                ));
            }
        }
        let seconds = [
            ("ptp.lock_timeout", self.ptp.lock_timeout),
            ("ptp.offset_interval", self.ptp.offset_interval),
            ("ptp.gate_margin", self.ptp.gate_margin),
        ];
        for (name, value) in seconds {
            if let Some(value) = value {
                if !(value.is_finite() && value > 0.0 && value < 86_400.0) {
                    return Err(format!(
                        "{name} = {value}: give a positive number of seconds"
                    ));
                }
            }
        }
        self.ptp_mode()?;
        self.path()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
ptp_mode = "two-step"
frame_rate = 20.0
duration = 5.5
path = "xdp"
cores = [1, 0]
stop_streaming_first = false

[ptp]
lock_timeout = 40.0
offset_interval = 0.5
gate_margin = 1.5

[thresholds]
offset_warn_ns = 500
offset_error_ns = 5000
skew_tolerance_ns = 800
min_aligned_fraction = 0.99

[control]
timeout_ms = 250
retries = 1
heartbeat_timeout_ms = 2000

[[camera]]
id = "169.254.1.2"
interface = "gvrh1"

[[camera]]
id = "GVSIM2"
"#;

    #[test]
    fn a_full_rig_file_parses_into_every_field() {
        let rig = RigFile::parse(FULL).unwrap();
        assert_eq!(rig.ptp_mode().unwrap(), Some(PtpModeArg::TwoStep));
        assert_eq!(rig.path().unwrap(), Some(PathRequest::Xdp));
        assert_eq!(rig.frame_rate, Some(20.0));
        assert_eq!((rig.frames, rig.duration), (None, Some(5.5)));
        assert_eq!(rig.cores, Some(vec![1, 0]));
        assert_eq!(rig.stop_streaming_first, Some(false));
        assert_eq!(rig.ptp.lock_timeout, Some(40.0));
        assert_eq!(rig.ptp.gate_margin, Some(1.5));
        assert_eq!(rig.thresholds.offset_warn_ns, Some(500));
        assert_eq!(rig.thresholds.skew_tolerance_ns, Some(800));
        assert_eq!(rig.thresholds.min_aligned_fraction, Some(0.99));
        assert_eq!(rig.control.heartbeat_timeout_ms, Some(2000));
        assert_eq!(rig.cameras.len(), 2);
        assert_eq!(rig.cameras[0].interface.as_deref(), Some("gvrh1"));
        assert_eq!(rig.cameras[1].id, "GVSIM2");
        assert_eq!(rig.cameras[1].interface, None);
    }

    #[test]
    fn cameras_alone_are_enough() {
        let rig = RigFile::parse("[[camera]]\nid = \"10.0.0.2\"\n").unwrap();
        assert_eq!(rig.ptp_mode().unwrap(), None);
        assert_eq!(rig.frame_rate, None);
        assert_eq!(rig.ptp, PtpSection::default());
    }

    #[test]
    fn mistakes_are_refused_with_the_place_and_the_fix() {
        let typo = RigFile::parse("frame_rat = 20\n[[camera]]\nid = \"a\"\n").unwrap_err();
        assert!(
            typo.contains("frame_rat") && typo.contains("line 1"),
            "{typo}"
        );
        let nested = RigFile::parse("[ptp]\nlock = 3\n[[camera]]\nid = \"a\"\n").unwrap_err();
        assert!(
            nested.contains("lock") && nested.contains("line 2"),
            "{nested}"
        );
        let none = RigFile::parse("frame_rate = 20\n").unwrap_err();
        assert!(none.contains("[[camera]]"), "{none}");
        let twice = RigFile::parse("[[camera]]\nid = \"a\"\n[[camera]]\nid = \"a\"\n").unwrap_err();
        assert!(twice.contains("twice"), "{twice}");
        let mode =
            RigFile::parse("ptp_mode = \"three-step\"\n[[camera]]\nid = \"a\"\n").unwrap_err();
        assert!(mode.contains("two-step"), "{mode}");
        let path = RigFile::parse("path = \"dpdk\"\n[[camera]]\nid = \"a\"\n").unwrap_err();
        assert!(path.contains("auto, xdp or udp"), "{path}");
        let both =
            RigFile::parse("frames = 3\nduration = 1.0\n[[camera]]\nid = \"a\"\n").unwrap_err();
        assert!(both.contains("not both"), "{both}");
        let wrong_type = RigFile::parse("frames = \"many\"\n[[camera]]\nid = \"a\"\n").unwrap_err();
        assert!(wrong_type.contains("frames"), "{wrong_type}");
        let timeout =
            RigFile::parse("[ptp]\nlock_timeout = -1.0\n[[camera]]\nid = \"a\"\n").unwrap_err();
        assert!(timeout.contains("ptp.lock_timeout"), "{timeout}");
    }
}
