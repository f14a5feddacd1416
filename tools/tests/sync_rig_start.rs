//! `gvcap sync` on a rig of four gvsim cameras with different oscillators,
//! ptp4l as grandmaster, frames through AF_XDP. On one locked rig, in order:
//! a synchronized start (all Slave, gated, every frame aligned, p99 skew
//! under 1 µs), a settings broadcast refused while a camera streams (nothing
//! changed on any camera), and a camera that stops answering mid-run
//! (detected within its heartbeat timeout, the others go on). Needs root.

mod support;
mod sync_rig;

use std::net::SocketAddrV4;
use std::time::Duration;

use serde_json::Value;
use sync_rig::{tai_now_ns, text, Running, SyncRig};

const DRIFTS: [&str; 4] = ["-31", "-4.5", "12.25", "36"];
const OFFSETS: [&str; 4] = ["-400000000", "250000000", "-3000000", "900000000"];
/// `gvcap sync`'s default heartbeat timeout.
const HEARTBEAT_NS: u64 = 3_000_000_000;

/// What the broadcast would change, and what the capture setup would.
const SNAPSHOT: [&str; 12] = [
    "PtpMode",
    "AcquisitionMode",
    "TriggerMode",
    "TriggerSource",
    "AcquisitionFrameCount",
    "AcquisitionFrameRate",
    "PtpAcquisitionGateTime",
    "GevSCPHostPort",
    "GevSCDA",
    "GevSCPSPacketSize",
    "TLParamsLocked",
    "AcquisitionStatus",
];

fn json(stdout: &[u8], context: &str) -> Value {
    serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("sync --json printed no JSON ({e}): {context}"))
}

fn errors(report: &Value) -> Vec<&Value> {
    report["diagnoses"]
        .as_array()
        .expect("diagnoses")
        .iter()
        .filter(|d| d["severity"] == "error")
        .collect()
}

#[test]
fn four_drifting_cameras_start_together_refuse_a_busy_broadcast_and_survive_a_lost_camera() {
    let name = "four_drifting_cameras_start_together";
    if !support::require_privileges(name) || !support::require_programs(name, &["ptp4l"]) {
        return;
    }
    let args: Vec<Vec<&str>> = (0..4)
        .map(|i| vec!["--drift-ppm", DRIFTS[i], "--offset-ns", OFFSETS[i]])
        .collect();
    let mut rig = SyncRig::up(&args);
    let ips: Vec<String> = (0..4).map(|i| rig.ip(i)).collect();
    let cams: Vec<&str> = ips.iter().map(String::as_str).collect();

    // 1. The synchronized start.
    let mut line = vec!["sync"];
    line.extend(&cams);
    line.extend([
        "--ptp-mode",
        "two-step",
        "--frame-rate",
        "20",
        "--frames",
        "40",
        "--path",
        "xdp",
        "--lock-timeout",
        "40",
        "--json",
        "-q",
    ]);
    let out = rig.gvcap(&line, Duration::from_secs(70));
    assert!(out.status.success(), "{}", text(&out));
    let report = json(&out.stdout, &text(&out));
    assert_eq!(report["outcome"]["result"], "completed", "{report:#}");
    assert!(errors(&report).is_empty(), "{report:#}");
    assert_eq!(report["requirements_met"], true, "{report:#}");
    let gate = report["gate_time_ns"].as_u64().expect("a gate time");
    let mut true_starts = Vec::new();
    for (i, camera) in report["cameras"].as_array().unwrap().iter().enumerate() {
        assert_eq!(camera["ptp_status"], "Slave", "{camera:#}");
        assert_eq!(camera["ptp_mode"], "TwoStep");
        assert_eq!(camera["started_with_ptp"], true, "{camera:#}");
        let frames = camera["frames"].as_u64().unwrap();
        assert!(frames >= 40, "{camera:#}");
        assert_eq!(camera["frames_started_with_ptp"], frames);
        assert_eq!(camera["frames_before_start"], 0);
        assert!(camera["lost"].is_null());
        assert!(camera["offset_ns"]["samples"].as_u64().unwrap() >= 2);
        assert!(camera["latency_ns"]["p50"].as_u64().unwrap() > 0);
        let rate = camera["measured_rate_hz"].as_f64().unwrap();
        assert!((rate - 20.0).abs() < 0.01, "{camera:#}");
        // The camera's own account: every frame it started was started on
        // PTP time while Slave, and its first frame's timestamp is the gate.
        let counters = rig.get(i, &["GvsimFramesStarted", "GvsimFramesStartedWithPtp"]);
        let started = counters["GvsimFramesStarted"].as_u64().unwrap();
        assert!(started >= 40, "{counters}");
        assert_eq!(counters["GvsimFramesStartedWithPtp"], started, "{counters}");
        true_starts.push(rig.first_frame_at(i, gate));
    }
    // The report's skew is over the cameras' own timestamps, which agree by
    // construction once every camera is armed for the same gate; the real
    // skew is how far apart in true time (the grandmaster's clock) the four
    // clocks read the gate, which gvsim knows and a real rig cannot.
    let true_skew = true_starts.iter().max().unwrap() - true_starts.iter().min().unwrap();
    assert!(
        true_skew < 10_000,
        "the cameras really started {true_skew} ns apart: {true_starts:?}"
    );
    assert_eq!(report["aligned_fraction"], 1.0, "{report:#}");
    let alignment = &report["alignment"];
    assert!(alignment["groups"].as_u64().unwrap() >= 40);
    assert_eq!(alignment["groups"], alignment["aligned"]);
    assert_eq!(alignment["incomplete"], 0);
    assert!(
        report["skew_ns"]["p99"].as_u64().unwrap() < 1_000,
        "{report:#}"
    );
    assert!(report["timescale"]["host_clock"]
        .as_str()
        .unwrap()
        .contains("CLOCK_TAI"));
    for camera in report["capture"]["cameras"].as_array().unwrap() {
        assert_eq!(camera["path"], "xdp", "{camera}");
        assert_eq!(camera["rx_clock"], "xdp-clock-tai", "{camera}");
        assert_eq!(camera["frames_incomplete"], 0, "{camera}");
    }
    assert_eq!(report["capture"]["rx_stamps_replaced"], 0);
    eprintln!("synchronized start: real skew of the first frame {true_skew} ns");
    eprintln!(
        "synchronized start: skew {}; offsets {}; latency {}; timescale {}",
        report["skew_ns"],
        report["cameras"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["offset_ns"]["abs_ns"].to_string())
            .collect::<Vec<_>>()
            .join(" "),
        report["cameras"][0]["latency_ns"],
        report["timescale"]
    );

    // 2. A settings broadcast while camera 2 streams: refused, nothing changed.
    let listener = rig.udp_in_host(SocketAddrV4::new(rig.host_ip(1), 0));
    listener
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let host = u32::from(rig.host_ip(1)).to_string();
    for i in 0..4 {
        rig.set(
            i,
            &["AcquisitionMode=Continuous", "AcquisitionFrameRate=15"],
        );
    }
    rig.set(
        1,
        &[
            "TriggerMode=Off",
            &format!("GevSCDA={host}"),
            &format!("GevSCPHostPort={port}"),
            "TLParamsLocked=1",
        ],
    );
    rig.exec(1, "AcquisitionStart");
    let mut buf = [0u8; 2048];
    listener.recv(&mut buf).expect("camera 2 streams");
    let before: Vec<Value> = (0..4).map(|i| rig.get(i, &SNAPSHOT)).collect();
    assert_eq!(before[1]["AcquisitionStatus"], 1);

    let mut line = vec!["sync"];
    line.extend(&cams);
    line.extend([
        "--ptp-mode",
        "two-step",
        "--frame-rate",
        "25",
        "--keep-streaming",
        "--json",
        "-q",
    ]);
    let out = rig.gvcap(&line, Duration::from_secs(30));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("GVSIM2"),
        "the error names the camera: {}",
        text(&out)
    );
    let report = json(&out.stdout, &text(&out));
    assert_eq!(report["outcome"]["result"], "failed");
    assert_eq!(report["outcome"]["phase"], "stopping");
    let reason = report["outcome"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("GVSIM2") && reason.contains("nothing was written"),
        "{reason}"
    );
    let found = errors(&report);
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["check"], "broadcast_while_streaming");
    assert!(found[0]["camera"].as_str().unwrap().starts_with("GVSIM2 "));
    assert_eq!(report["capture"]["set_up"], false);
    let after: Vec<Value> = (0..4).map(|i| rig.get(i, &SNAPSHOT)).collect();
    assert_eq!(before, after, "a refused broadcast changed something");
    listener.recv(&mut buf).expect("camera 2 still streams");
    rig.exec(1, "AcquisitionStop");
    rig.set(1, &["TLParamsLocked=0"]);

    // 3. Camera 4 stops answering mid-run.
    let mut line = vec!["sync"];
    line.extend(&cams);
    line.extend([
        "--ptp-mode",
        "two-step",
        "--frame-rate",
        "20",
        "--duration",
        "6",
        "--path",
        "xdp",
        "--json",
    ]);
    let mut run = Running::start(rig.gvcap_cmd(&line));
    assert!(
        run.wait_for_line("started: gate", Duration::from_secs(40)),
        "the group never started: {:?}",
        run.seen
    );
    std::thread::sleep(Duration::from_secs(3));
    let killed_at = tai_now_ns();
    rig.kill_camera(3);
    let (status, stdout, stderr) = run.finish(Duration::from_secs(40));
    let context = format!("{status}\n{stdout}\n{}", stderr.join("\n"));
    assert!(!status.success(), "a lost camera is an error: {context}");
    let report = json(stdout.as_bytes(), &context);
    assert_eq!(report["outcome"]["result"], "completed", "{context}");
    let cameras = report["cameras"].as_array().unwrap();
    let lost = &cameras[3];
    let lost_at = lost["lost_at_ns"].as_u64().expect("camera 4 reported lost");
    assert!(
        lost_at >= killed_at && lost_at - killed_at <= HEARTBEAT_NS,
        "detected {} ms after the kill",
        (lost_at as i64 - killed_at as i64) / 1_000_000
    );
    assert!(lost["lost"].as_str().unwrap().contains("during the run"));
    let frames4 = lost["frames"].as_u64().unwrap();
    assert!((20..100).contains(&frames4), "{lost:#}");
    for camera in &cameras[..3] {
        assert!(camera["lost"].is_null(), "{camera:#}");
        assert!(camera["frames"].as_u64().unwrap() >= 110, "{camera:#}");
        assert_eq!(camera["started_with_ptp"], true);
    }
    assert_eq!(report["aligned_fraction"], 1.0, "{report:#}");
    let found = errors(&report);
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["check"], "camera_lost");
    assert!(found[0]["camera"].as_str().unwrap().starts_with("GVSIM4 "));
    assert!(found[0]["cause"]
        .as_str()
        .unwrap()
        .contains("the other cameras went on"));
    eprintln!(
        "lost camera: detected {} ms after the kill; {} frames before, others {:?}",
        (lost_at - killed_at) / 1_000_000,
        frames4,
        cameras[..3]
            .iter()
            .map(|c| c["frames"].as_u64().unwrap())
            .collect::<Vec<_>>()
    );
}
