//! gvsim's stream on a rig, received by Aravis (arv-camera-test, which uses
//! a packet socket as root): no missing packets with jumbo and standard
//! packets, resends repairing injected loss, and tshark decoding the GVCP
//! and GVSP traffic without malformed packets. Needs root.

mod gvsim_rigs;
mod gvsim_util;
mod support;

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use gvsim_rigs::GvsimRig;
use support::{Rig, Topology};

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The value of `name = N` in arv-camera-test's summary.
fn counter(report: &str, name: &str) -> u64 {
    report
        .lines()
        .find_map(|l| {
            let (key, value) = l.split_once('=')?;
            (key.trim() == name).then(|| value.trim().parse().ok())?
        })
        .unwrap_or_else(|| panic!("no {name} in arv-camera-test output:\n{report}"))
}

fn arv_camera_test(rig: &Rig, ip: &str, extra: &[&str]) -> String {
    let out = rig
        .host_cmd("timeout")
        .args(["40", "arv-camera-test-0.8", "-n", ip, "--duration", "3"])
        .args(extra)
        .output()
        .expect("run arv-camera-test-0.8");
    let report = text(&out);
    assert!(out.status.success(), "arv-camera-test failed:\n{report}");
    report
}

/// Starts tshark on the host interface, writing to `file` for `seconds`.
fn capture(rig: &Rig, file: &std::path::Path, seconds: u32) -> Child {
    let child = rig
        .host_cmd("tshark")
        .args([
            "-q",
            "-i",
            &rig.host_interfaces()[0].name,
            "-a",
            &format!("duration:{seconds}"),
            "-w",
        ])
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tshark");
    // tshark needs a moment before it captures.
    std::thread::sleep(Duration::from_millis(1500));
    child
}

#[test]
fn arv_camera_test_receives_every_packet_and_tshark_decodes_it() {
    let name = "arv_camera_test_receives_every_packet";
    if !support::require_privileges(name)
        || !support::require_programs(name, &["arv-camera-test-0.8", "tshark"])
    {
        return;
    }
    let sim = GvsimRig::up(1, Topology::Switch, 9000, false, |_| Vec::new());
    let rig = &sim.rig;
    let ip = rig.camera_ips()[0].to_string();
    let pcap = rig.state_dir().join("stream.pcapng");
    let mut tshark = capture(rig, &pcap, 6);

    // Jumbo packets, extended ids, RGB8.
    let report = arv_camera_test(
        rig,
        &ip,
        &[
            "-w",
            "640",
            "-h",
            "480",
            "-f",
            "30",
            "-i",
            "9000",
            "--features",
            "GevGVSPExtendedIDMode=On PixelFormat=RGB8",
        ],
    );
    assert_eq!(counter(&report, "n_missing_packets"), 0, "{report}");
    assert_eq!(counter(&report, "n_failures"), 0, "{report}");
    assert_eq!(counter(&report, "n_error_packets"), 0, "{report}");
    assert!(counter(&report, "n_completed_buffers") >= 80, "{report}");
    assert!(report.contains("gv packet size         = 9000"), "{report}");
    assert!(
        counter(&report, "n_transferred_bytes") >= 80 * 640 * 480 * 3,
        "{report}"
    );

    tshark.wait().expect("tshark");
    // Pass 1: find the stream's port by tshark's GVSP heuristic (it cannot
    // recognise a conversation's very first leader, so pass 2 decodes the port).
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&pcap)
        .args([
            "--enable-heuristic",
            "gvsp_udp",
            "-Y",
            "gvsp",
            "-T",
            "fields",
            "-e",
            "udp.dstport",
        ])
        .output()
        .expect("run tshark -r");
    let mut ports: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    ports.sort();
    ports.dedup();
    assert!(!ports.is_empty(), "no GVSP found: {}", text(&out));
    let mut pass2 = Command::new("tshark");
    pass2.arg("-r").arg(&pcap);
    for port in &ports {
        pass2.args(["-d", &format!("udp.port=={port},gvsp")]);
    }
    let out = pass2
        .args([
            "-T",
            "fields",
            "-e",
            "frame.protocols",
            "-e",
            "_ws.malformed",
            "-e",
            "_ws.expert.severity",
        ])
        .output()
        .expect("run tshark -r");
    let decoded = String::from_utf8_lossy(&out.stdout);
    let gvcp = decoded.lines().filter(|l| l.contains(":gvcp")).count();
    let gvsp = decoded.lines().filter(|l| l.contains(":gvsp")).count();
    let undecoded = decoded.lines().filter(|l| l.contains("udp:data")).count();
    assert!(gvcp > 50, "{gvcp} GVCP packets decoded");
    assert!(gvsp > 1000, "{gvsp} GVSP packets decoded");
    assert_eq!(
        undecoded, 0,
        "UDP packets tshark could not decode:\n{decoded}"
    );
    let bad: Vec<&str> = decoded
        .lines()
        .filter(|l| l.split('\t').skip(1).any(|f| !f.is_empty()))
        .collect();
    assert!(
        bad.is_empty(),
        "malformed or expert-flagged packets:\n{}",
        bad.join("\n")
    );
}

#[test]
fn standard_packets_and_injected_loss_repaired_by_aravis_resends() {
    let name = "standard_packets_and_injected_loss";
    if !support::require_privileges(name)
        || !support::require_programs(name, &["arv-camera-test-0.8"])
    {
        return;
    }
    let sim = GvsimRig::up(2, Topology::Switch, 1500, false, |cam| {
        if cam.index == 2 {
            ["--loss", "0.01", "--burst", "3", "--seed", "42"]
                .map(String::from)
                .to_vec()
        } else {
            Vec::new()
        }
    });
    let rig = &sim.rig;
    let ips = rig.camera_ips();
    let clean = arv_camera_test(
        rig,
        &ips[0].to_string(),
        &["-w", "800", "-h", "600", "-f", "25"],
    );
    assert_eq!(counter(&clean, "n_missing_packets"), 0, "{clean}");
    assert_eq!(counter(&clean, "n_resend_requests"), 0, "{clean}");
    assert!(counter(&clean, "n_completed_buffers") >= 60, "{clean}");
    let lossy = arv_camera_test(
        rig,
        &ips[1].to_string(),
        &["-w", "800", "-h", "600", "-f", "25"],
    );
    assert_eq!(counter(&lossy, "n_missing_packets"), 0, "{lossy}");
    assert_eq!(counter(&lossy, "n_failures"), 0, "{lossy}");
    assert!(counter(&lossy, "n_resent_packets") > 20, "{lossy}");
    assert!(counter(&lossy, "n_completed_buffers") >= 60, "{lossy}");
}
