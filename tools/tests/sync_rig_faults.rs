//! `gvcap sync` stops before starting, and says why, on a rig with ptp4l
//! (two-step) as grandmaster: a camera whose frame rate clamps (gvsim
//! `--max-frame-rate`), a camera whose PTP never locks (gvsim
//! `--ptp-never-lock`), and a one-step request against the two-step
//! grandmaster. No camera is armed in any of them. The first goes through a
//! rig file, whose interfaces are checked against the host's routes. Needs
//! root.

mod support;
mod sync_rig;

use std::time::Duration;

use serde_json::Value;
use sync_rig::{text, SyncRig};

/// Runs `gvcap sync CAMS ARGS --json -q` (no CAMS: ARGS name a rig file),
/// which must fail; its report.
fn failing_sync(rig: &SyncRig, cams: &[usize], args: &[&str]) -> Value {
    let ips: Vec<String> = cams.iter().map(|&i| rig.ip(i)).collect();
    let mut line = vec!["sync"];
    line.extend(ips.iter().map(String::as_str));
    line.extend(args);
    line.extend(["--json", "-q"]);
    let out = rig.gvcap(&line, Duration::from_secs(60));
    assert!(!out.status.success(), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", text(&out)));
    assert_eq!(report["outcome"]["result"], "failed", "{report:#}");
    assert!(report["gate_time_ns"].is_null(), "{report:#}");
    for camera in report["cameras"].as_array().unwrap() {
        assert_eq!(camera["frames"], 0, "{camera:#}");
    }
    report
}

fn errors(report: &Value) -> Vec<&Value> {
    report["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .collect()
}

fn camera_of(diagnosis: &Value) -> &str {
    diagnosis["camera"].as_str().unwrap_or("(group)")
}

/// No camera acquires.
fn none_armed(rig: &SyncRig, cams: &[usize]) {
    for &i in cams {
        let status = rig.get(i, &["AcquisitionStatus"]);
        assert_eq!(status["AcquisitionStatus"], 0, "camera {} armed", i + 1);
    }
}

#[test]
fn a_clamped_rate_a_camera_that_never_locks_and_a_wrong_ptp_mode_stop_before_the_start() {
    let name = "a_clamped_rate_a_camera_that_never_locks";
    if !support::require_privileges(name) || !support::require_programs(name, &["ptp4l"]) {
        return;
    }
    let rig = SyncRig::up(&[
        vec![],
        vec![],
        vec!["--ptp-never-lock"],
        vec!["--max-frame-rate", "10"],
    ]);

    // The frame rate clamps on camera 4: diagnosed after the read-back,
    // before the lock wait, the capture and the start.
    let report = failing_sync(
        &rig,
        &[0, 1, 3],
        &["--ptp-mode", "two-step", "--frame-rate", "20"],
    );
    assert_eq!(report["outcome"]["phase"], "reading_ranges", "{report:#}");
    let reason = report["outcome"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("GVSIM4") && reason.contains("max 10"),
        "{reason}"
    );
    let found = errors(&report);
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["check"], "frame_rate_clamped");
    assert!(camera_of(found[0]).starts_with("GVSIM4 "));
    assert!(found[0]["cause"].as_str().unwrap().contains("10"));
    assert_eq!(report["cameras"][2]["frame_rate_max_hz"], 10.0);
    assert_eq!(report["cameras"][2]["frame_rate_hz"], 10.0);
    assert_eq!(report["cameras"][0]["frame_rate_hz"], 20.0);
    assert_eq!(report["capture"]["set_up"], false, "no stream was set up");
    none_armed(&rig, &[0, 1, 3]);

    // Camera 3 never locks while 1 and 2 do: the lock wait times out naming it alone.
    for i in 0..2 {
        assert!(
            rig.wait_for_slave(i, Duration::from_secs(40)),
            "camera {} did not lock\n{}",
            i + 1,
            rig.logs()
        );
    }
    let report = failing_sync(
        &rig,
        &[0, 1, 2],
        &[
            "--ptp-mode",
            "two-step",
            "--frame-rate",
            "20",
            "--lock-timeout",
            "8",
        ],
    );
    assert_eq!(report["outcome"]["phase"], "awaiting_lock", "{report:#}");
    let reason = report["outcome"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("GVSIM3") && !reason.contains("GVSIM1") && !reason.contains("GVSIM2"),
        "{reason}"
    );
    let found = errors(&report);
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["check"], "not_slave");
    assert!(camera_of(found[0]).starts_with("GVSIM3 "));
    let cause = found[0]["cause"].as_str().unwrap();
    assert!(
        cause.contains("2 of the other 2 cameras reached Slave"),
        "the cause points at the camera, not the grandmaster: {cause}"
    );
    assert_eq!(report["cameras"][0]["ptp_status"], "Slave");
    assert_eq!(report["cameras"][1]["ptp_status"], "Slave");
    assert_ne!(report["cameras"][2]["ptp_status"], "Slave");
    none_armed(&rig, &[0, 1, 2]);

    // One-step asked of cameras whose grandmaster is two-step: neither
    // locks, and the diagnosis names both and the mode mismatch.
    let report = failing_sync(
        &rig,
        &[0, 1],
        &[
            "--ptp-mode",
            "one-step",
            "--frame-rate",
            "20",
            "--lock-timeout",
            "6",
        ],
    );
    assert_eq!(report["outcome"]["phase"], "awaiting_lock", "{report:#}");
    let reason = report["outcome"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("GVSIM1") && reason.contains("GVSIM2"),
        "{reason}"
    );
    let found = errors(&report);
    let named: Vec<&str> = found.iter().map(|d| camera_of(d)).collect();
    assert!(
        named.iter().any(|c| c.starts_with("GVSIM1 "))
            && named.iter().any(|c| c.starts_with("GVSIM2 ")),
        "{report:#}"
    );
    for d in &found {
        assert_eq!(d["check"], "not_slave", "{d:#}");
        let cause = d["cause"].as_str().unwrap();
        assert!(
            cause.contains("PtpMode OneStep does not match the timing source")
                && cause.contains("two-step grandmaster"),
            "{cause}"
        );
        assert!(d["action"]
            .as_str()
            .unwrap()
            .contains("--ptp-mode two-step"));
    }
    for camera in report["cameras"].as_array().unwrap() {
        assert_eq!(camera["ptp_mode"], "OneStep");
        assert_ne!(camera["ptp_status"], "Slave");
    }
    none_armed(&rig, &[0, 1]);
}
