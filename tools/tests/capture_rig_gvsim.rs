//! `gvcap capture` against gvsim on rigs, through AF_XDP, every byte of
//! every frame checked against gvsim's pattern: standard and extended ids
//! with 1500- and 9000-byte packets; 1 % loss in bursts repaired by resends,
//! with the receiver's counters matching the sender's; four cameras behind
//! one host interface and four cameras on four interfaces; without the
//! privilege for XDP, `--path auto` falls back to UDP sockets with one line
//! saying why. Needs root.

mod capture_util;
mod gvsim_rigs;
mod gvsim_util;
mod support;

use std::time::Duration;

use capture_util::{
    assert_all_complete, assert_all_verified, capture_json, gvcap, num, one_at_a_time, text,
    xdp_left, Running,
};
use gvcap_tools::gvsim::config::CameraConfig;
use gvcap_tools::gvsim::runtime::{SimOptions, Simulator};
use gvsim_rigs::{in_namespace, GvsimRig};
use support::{CameraKind, Rig, RigOptions, Topology};

/// Image settings for every capture here (small frames: the debug builds of
/// camera and receiver share two cores).
const IMAGE: [&str; 6] = [
    "--set",
    "Width=640",
    "--set",
    "Height=480",
    "--set",
    "AcquisitionFrameRate=50",
];

#[test]
fn standard_and_extended_ids_with_1500_and_9000_byte_packets() {
    if !support::require_privileges("standard_and_extended_ids_with_1500_and_9000_byte_packets") {
        return;
    }
    let _one = one_at_a_time();
    let sim = GvsimRig::up(1, Topology::Switch, 9000, false, |_| Vec::new());
    let rig = &sim.rig;
    let ip = rig.camera_ips()[0].to_string();
    for (ids, size) in [("Off", 1500), ("On", 1500), ("Off", 9000), ("On", 9000)] {
        let label = format!("GevGVSPExtendedIDMode={ids}, {size}-byte packets");
        let size_text = size.to_string();
        let mode = format!("GevGVSPExtendedIDMode={ids}");
        let mut args = vec![
            ip.as_str(),
            "--frames",
            "40",
            "--path",
            "xdp",
            "--verify-pattern",
            "--packet-size",
            &size_text,
            "--set",
            &mode,
        ];
        args.extend(IMAGE);
        let running = Running::start(rig, &args, 1);
        // GVCP while the program is attached: another client reads what was programmed.
        let get = gvcap(
            rig,
            &["get", &ip, "GevSCPSPacketSize", "GevGVSPExtendedIDMode"],
        )
        .output()
        .expect("gvcap get");
        assert!(get.status.success(), "{label}: {}", text(&get));
        let got = String::from_utf8_lossy(&get.stdout);
        assert!(
            got.contains(&format!("GevSCPSPacketSize={size}")) && got.contains(&mode),
            "{label}: {got}"
        );
        let report = running.finish();
        let camera = &report["cameras"][0];
        assert_all_verified(camera, 40, "xdp");
        assert_eq!(num(camera, "packet_size"), size, "{label}: {camera:#}");
        assert_eq!(camera["packet_size_tested"], true, "{label}");
        assert_eq!(camera["extended_ids"], ids == "On", "{label}");
        assert_eq!(camera["timestamp_source"], "xdp-clock-tai", "{label}");
        assert_eq!(num(camera, "packets_malformed"), 0, "{label}: {camera:#}");
        let xdp = &report["interfaces"][0]["xdp"];
        assert_eq!(
            num(xdp, "steered"),
            num(camera, "packets_received"),
            "{label}: {report:#}"
        );
        if size == 9000 {
            assert!(
                num(xdp, "rx_multi_buffer") > 0,
                "{label}: jumbo packets span buffers"
            );
        }
        assert!(xdp_left(rig).is_empty(), "{label}: {}", xdp_left(rig));
    }
}

#[test]
fn one_percent_loss_in_bursts_is_repaired_and_counted_consistently() {
    let name = "one_percent_loss_in_bursts_is_repaired_and_counted_consistently";
    if !support::require_privileges(name) || !support::require_programs(name, &["tshark"]) {
        return;
    }
    let _one = one_at_a_time();
    let rig = Rig::up(RigOptions {
        camera: CameraKind::None,
        ..RigOptions::default()
    });
    // gvsim in-process, on a thread inside the camera's namespace (its
    // threads and sockets live there), so its own counters can be compared
    // with the receiver's.
    let cam = rig.cameras()[0].clone();
    let sim = {
        let cam = cam.clone();
        in_namespace(&cam.ns.clone(), move || {
            let mut config = CameraConfig::new("GVSIM1", cam.address);
            config.faults.loss = 0.01;
            config.faults.burst = 3;
            config.faults.seed = 42;
            Simulator::start(SimOptions {
                interface: Some(cam.interface.clone()),
                cameras: vec![config],
                ptp: false,
            })
            .expect("start gvsim in the camera namespace")
        })
    };
    rig.wait_for_camera(cam.address, Duration::from_secs(10))
        .expect("gvsim answers");
    let ip = cam.address.to_string();
    // Nearly every frame needs a resend: at 25 frames/s the 4 frames in
    // flight leave 160 ms to repair one, and 8 rounds keep asking for 170 ms,
    // so a receiver or sender descheduled for a while on a loaded machine
    // still gets every packet back.
    let args = vec![
        ip.as_str(),
        "--frames",
        "100",
        "--path",
        "xdp",
        "--verify-pattern",
        "--resend-rounds",
        "8",
        "--set",
        "Width=640",
        "--set",
        "Height=480",
        "--set",
        "AcquisitionFrameRate=25",
    ];
    // tshark watches the control channel: the resend requests are ours too.
    let gvcp = support::GvcpCapture::start(&rig, &cam.host_interface);
    let (report, _) = capture_json(&rig, &args);
    let sent = sim.cameras()[0].stream_stats();
    sim.shutdown();
    gvcp.finish(cam.host_address).assert_clean_with(&[
        "PACKETRESEND_CMD",
        "READREG_CMD",
        "WRITEREG_CMD",
    ]);

    let camera = &report["cameras"][0];
    assert_all_verified(camera, 100, "xdp");
    // 640x480 Mono8 in 1464-byte packets: 210 payload packets, leader and trailer.
    let per_frame = 212;
    let frames = num(camera, "frames_complete");
    assert_eq!(
        frames, sent.frames,
        "every frame sent arrived complete: {sent:?}"
    );
    assert_eq!(
        num(camera, "packets_accepted"),
        frames * per_frame,
        "each packet of each frame accepted once: {camera:#}"
    );
    // What the sender dropped is exactly what came back by resend.
    // gvsim's --loss is the share of packets lost overall, bursts included.
    assert!(
        sent.lost * 200 >= frames * per_frame,
        "about 1 % lost: {sent:?}"
    );
    assert_eq!(
        num(camera, "packets_resent"),
        sent.lost,
        "{camera:#}\n{sent:?}"
    );
    assert!(num(camera, "resend_requests") > 0, "{camera:#}");
    assert!(
        num(camera, "resend_packets_requested") >= sent.lost,
        "{camera:#}"
    );
    assert_eq!(num(camera, "resend_send_errors"), 0, "{camera:#}");
    assert!(xdp_left(&rig).is_empty(), "{}", xdp_left(&rig));
}

/// Four gvsim cameras captured in one command; checks every camera and that
/// each stream came in on the interface `rig.sh` wired it to.
fn four_cameras(topology: Topology) {
    let _one = one_at_a_time();
    let sim = GvsimRig::up(4, topology, 1500, false, |_| Vec::new());
    let rig = &sim.rig;
    let ips: Vec<String> = rig.camera_ips().iter().map(|ip| ip.to_string()).collect();
    let mut args: Vec<&str> = ips.iter().map(String::as_str).collect();
    args.extend([
        "--frames",
        "40",
        "--path",
        "xdp",
        "--verify-pattern",
        "--set",
        "Width=320",
        "--set",
        "Height=240",
        "--set",
        "AcquisitionFrameRate=40",
    ]);
    let (report, _) = capture_json(rig, &args);
    let cameras = report["cameras"].as_array().expect("cameras");
    assert_eq!(cameras.len(), 4);
    for (camera, info) in cameras.iter().zip(rig.cameras()) {
        assert_all_verified(camera, 40, "xdp");
        assert_eq!(camera["ip"], info.address.to_string());
        assert_eq!(camera["interface"], info.host_interface, "{camera:#}");
    }
    let interfaces = report["interfaces"].as_array().expect("interfaces");
    let expected = match topology {
        Topology::Switch => 1,
        Topology::Direct => 4,
    };
    assert_eq!(interfaces.len(), expected, "{report:#}");
    for interface in interfaces {
        assert_eq!(interface["path"], "xdp", "{interface:#}");
        assert!(num(&interface["xdp"], "steered") > 0, "{interface:#}");
        assert_eq!(num(&interface["xdp"], "unknown_stream"), 0, "{interface:#}");
    }
    assert!(xdp_left(rig).is_empty(), "{}", xdp_left(rig));
}

#[test]
fn four_cameras_behind_one_host_interface() {
    if support::require_privileges("four_cameras_behind_one_host_interface") {
        four_cameras(Topology::Switch);
    }
}

#[test]
fn four_cameras_on_four_host_interfaces() {
    if support::require_privileges("four_cameras_on_four_host_interfaces") {
        four_cameras(Topology::Direct);
    }
}

#[test]
fn auto_falls_back_to_udp_sockets_without_privilege_and_says_why_in_one_line() {
    let name = "auto_falls_back_to_udp_sockets_without_privilege_and_says_why_in_one_line";
    if !support::require_privileges(name) || !support::require_programs(name, &["setpriv"]) {
        return;
    }
    let _one = one_at_a_time();
    let sim = GvsimRig::up(1, Topology::Switch, 1500, false, |_| Vec::new());
    let rig = &sim.rig;
    let ip = rig.camera_ips()[0].to_string();
    // The same binary as user nobody, without any capability.
    let as_nobody = |path: &str| {
        rig.host_cmd("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(capture_util::GVCAP_BIN)
            .args(["capture", "--json", &ip, "--frames", "20", "--path", path])
            .args(["--set", "Width=320", "--set", "Height=240"])
            .output()
            .expect("run gvcap as nobody")
    };
    let out = as_nobody("auto");
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let why: Vec<&str> = stderr.lines().filter(|l| l.contains("AF_XDP")).collect();
    assert_eq!(why.len(), 1, "one line of explanation: {stderr}");
    assert!(
        why[0].contains("receiving through UDP sockets") && why[0].contains("CAP_BPF"),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_all_complete(&report["cameras"][0], 20, "udp");
    assert_eq!(report["cameras"][0]["timestamp_source"], "socket-clock-tai");
    // Asked for AF_XDP explicitly, it fails and says what to do instead.
    let out = as_nobody("xdp");
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--path udp"),
        "{}",
        text(&out)
    );
    assert!(xdp_left(rig).is_empty(), "{}", xdp_left(rig));
}
