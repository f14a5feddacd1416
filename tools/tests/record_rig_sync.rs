//! `gvcap record --sync`: a synchronized group recorded in one command, on a
//! rig of three drifting gvsim cameras with ptp4l (two-step) as grandmaster.
//! The run is verified as `gvcap sync` verifies it, every recorded frame
//! reads back with its checksum and matches gvsim's pattern byte by byte,
//! starts at the gate, and `gvcap inspect` finds the cameras aligned from the
//! recorded timestamps alone. Needs root.

mod support;
mod sync_rig;

use std::path::PathBuf;
use std::time::Duration;

use gvcap::record::RecordingReader;
use gvcap_tools::gvsim::pattern;
use serde_json::Value;
use sync_rig::{text, SyncRig, GVCAP};

const FRAMES: u64 = 30;

#[test]
fn a_synchronized_group_records_in_one_command() {
    let name = "a_synchronized_group_records_in_one_command";
    if !support::require_privileges(name) || !support::require_programs(name, &["ptp4l"]) {
        return;
    }
    let args: Vec<Vec<&str>> = [
        ("-20", "-300000000"),
        ("15", "5000000"),
        ("40", "700000000"),
    ]
    .iter()
    .map(|(drift, offset)| vec!["--drift-ppm", *drift, "--offset-ns", *offset])
    .collect();
    let rig = SyncRig::up(&args);
    let ips: Vec<String> = (0..3).map(|i| rig.ip(i)).collect();
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("record-sync");
    let _ = std::fs::remove_dir_all(&out_dir);
    let out_arg = out_dir.to_string_lossy().into_owned();
    let frames = FRAMES.to_string();

    let mut line = vec!["record"];
    line.extend(ips.iter().map(String::as_str));
    line.extend([
        "--sync",
        "--ptp-mode",
        "two-step",
        "--frame-rate",
        "25",
        "--frames",
        &frames,
        "--path",
        "xdp",
        "--ring-slots",
        "16",
        "--name",
        "synced",
        "--out",
        &out_arg,
        "--json",
    ]);
    let out = rig.gvcap(&line, Duration::from_secs(90));
    let context = text(&out);
    assert!(out.status.success(), "{context}");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("record --sync --json printed no JSON ({e}): {context}"));

    // The sync's own verdict: every camera Slave, started at one gate, aligned.
    assert_eq!(report["outcome"]["result"], "completed", "{report:#}");
    assert_eq!(report["requirements_met"], true, "{report:#}");
    assert_eq!(report["aligned_fraction"], 1.0, "{report:#}");
    let gate = report["gate_time_ns"].as_u64().expect("a gate time");

    // The recording: every frame the run delivered, nothing dropped.
    let recording = &report["recording"];
    assert_eq!(recording["dropped"], 0, "{recording:#}");
    assert!(recording["error"].is_null(), "{recording:#}");
    let cameras = recording["cameras"].as_array().expect("recorded cameras");
    assert_eq!(cameras.len(), 3, "{recording:#}");
    let mut files = Vec::new();
    for (camera, synced) in cameras.iter().zip(report["cameras"].as_array().unwrap()) {
        let recorded = camera["frames"].as_u64().unwrap();
        assert!(recorded >= FRAMES, "{camera:#}");
        // What the sync verified is what was written (frames taken while the
        // cameras were being stopped may be recorded beyond it).
        assert!(recorded >= synced["frames"].as_u64().unwrap(), "{camera:#}");
        files.extend(
            camera["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| PathBuf::from(f.as_str().unwrap())),
        );
    }
    assert_eq!(files.len(), 3, "{recording:#}");

    // Read back: checksums verified by the reader, pixels against the
    // pattern, the first frame at the gate (frames before it are not kept).
    for file in &files {
        let mut reader =
            RecordingReader::open(file).unwrap_or_else(|e| panic!("open {}: {e}", file.display()));
        let serial = reader.header().camera.serial.clone();
        let hz = reader.header().timestamp_frequency_hz.max(1);
        let key = pattern::serial_key(&serial);
        let mut count = 0u64;
        for (i, frame) in reader.frames().enumerate() {
            let frame = frame.unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let h = &frame.header;
            assert_eq!(h.flags & 1, 0, "{serial} block {} incomplete", h.block_id);
            if let Err(offset) =
                pattern::verify(pattern::block_key(key, h.block_id), 0, &frame.payload)
            {
                panic!("{serial} block {} differs at byte {offset}", h.block_id);
            }
            if i == 0 {
                let ns = u128::from(h.camera_timestamp) * 1_000_000_000 / u128::from(hz);
                assert_eq!(h.block_id, 1, "{serial}: the first frame recorded");
                assert_eq!(ns as u64, gate, "{serial}: the first frame is at the gate");
            }
            count += 1;
        }
        assert!(count >= FRAMES, "{serial}: {count} frames");
    }

    // inspect: no gaps, and the cameras aligned from the recorded timestamps.
    let out = std::process::Command::new(GVCAP)
        .arg("inspect")
        .args(&files)
        .arg("--json")
        .output()
        .expect("run gvcap inspect");
    assert!(out.status.success(), "gvcap inspect: {}", text(&out));
    let inspected: Value = serde_json::from_slice(&out.stdout).unwrap();
    for camera in inspected["cameras"].as_array().unwrap() {
        assert_eq!(camera["gaps"].as_array().unwrap().len(), 0, "{camera}");
        assert_eq!(camera["incomplete"], 0, "{camera}");
    }
    let alignment = &inspected["alignment"];
    assert_eq!(alignment["cameras"], 3, "{inspected:#}");
    assert!(
        alignment["matched_frames"].as_u64().unwrap() >= FRAMES,
        "{inspected:#}"
    );
    let spread = alignment["camera_timestamp_spread_ns"]["max"]
        .as_f64()
        .unwrap();
    assert!(spread < 1_000.0, "camera timestamps {spread} ns apart");
    eprintln!(
        "record --sync: {} frames recorded over 3 cameras, timestamp spread max {spread} ns",
        recording["frames"]
    );
    let _ = std::fs::remove_dir_all(&out_dir);
}
