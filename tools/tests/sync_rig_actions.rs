//! `gvcap sync` on a group of cameras without a gate-time feature, one with
//! only the SFNC PTP names (gvsim `--ptp-features sfnc`) and one with only
//! the GigE Vision 2.0 ones (`--ptp-features legacy`), on a rig with ptp4l
//! as grandmaster: the sequence picks each camera's names from its own XML,
//! starts both with scheduled ACTION commands at the same PTP times, and the
//! group starts together and stays aligned. Needs root.

mod support;
mod sync_rig;

use std::time::Duration;

use serde_json::Value;
use sync_rig::{text, SyncRig};

#[test]
fn sfnc_and_legacy_cameras_without_a_gate_start_together_by_scheduled_actions() {
    let name = "sfnc_and_legacy_cameras_without_a_gate_start_together_by_scheduled_actions";
    if !support::require_privileges(name) || !support::require_programs(name, &["ptp4l"]) {
        return;
    }
    let args: Vec<Vec<&str>> = [("sfnc", "-18.5"), ("legacy", "27")]
        .iter()
        .map(|&(names, drift)| vec!["--ptp-features", names, "--drift-ppm", drift])
        .collect();
    let naming = ["SFNC PtpEnable", "legacy GevIEEE1588"];
    let rig = SyncRig::up(&args);
    let ips: Vec<String> = (0..2).map(|i| rig.ip(i)).collect();
    let mut line = vec!["sync"];
    line.extend(ips.iter().map(String::as_str));
    line.extend([
        "--ptp-mode",
        "two-step",
        "--frame-rate",
        "10",
        "--frames",
        "20",
        "--path",
        "xdp",
        "--lock-timeout",
        "40",
        "--json",
        "-q",
    ]);
    let out = rig.gvcap(&line, Duration::from_secs(80));
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("sync --json printed no JSON ({e}): {}", text(&out)));
    assert!(out.status.success(), "{report:#}\n{}", text(&out));
    assert_eq!(report["outcome"]["result"], "completed", "{report:#}");
    assert_eq!(report["requirements_met"], true, "{report:#}");
    let gate = report["gate_time_ns"].as_u64().expect("a gate time");
    let mut true_starts = Vec::new();
    for (i, camera) in report["cameras"].as_array().unwrap().iter().enumerate() {
        let method = camera["method"].as_str().unwrap();
        assert!(
            method.starts_with(naming[i]) && method.contains("scheduled ACTION"),
            "{camera:#}"
        );
        assert_eq!(camera["ptp_status"], "Slave", "{camera:#}");
        let frames = camera["frames"].as_u64().unwrap();
        assert!(frames >= 20, "{camera:#}");
        assert_eq!(camera["frames_started_with_ptp"], frames, "{camera:#}");
        // The camera's own account: its first frame at the gate, started on
        // PTP time by an ACTION while Slave.
        true_starts.push(rig.first_frame_at(i, gate));
    }
    assert_eq!(report["aligned_fraction"], 1.0, "{report:#}");
    assert!(report["alignment"]["groups"].as_u64().unwrap() >= 20);
    let true_skew = true_starts[0].abs_diff(true_starts[1]);
    assert!(
        true_skew < 10_000,
        "the cameras really started {true_skew} ns apart: {true_starts:?}"
    );
    support::loud(&format!(
        "scheduled-action start of an SFNC and a legacy camera: real skew of the first frame {true_skew} ns"
    ));
}
