//! `CaptureSession` on the AF_XDP path, in-process, on a rig: a thread that
//! joined the rig's host namespace captures a gvsim camera through the XDP
//! program and AF_XDP sockets, every byte checked against gvsim's pattern;
//! the program is gone once the session stopped. Needs root.

mod gvsim_rigs;
mod gvsim_util;
mod support;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gvcap::capture::{
    CameraSpec, CaptureOptions, CaptureReport, CaptureSession, PathRequest, ReceivePath, RxClock,
};
use gvcap::genicam::FeatureMap;
use gvcap_tools::gvsim::pattern;
use gvsim_rigs::{in_namespace, GvsimRig};
use support::Topology;

/// Captures `n` frames of 640x480 Mono8 from each address, in the current
/// network namespace; returns the report, the frames seen per camera and
/// the pattern mismatches.
fn capture(
    cameras: Vec<(std::net::Ipv4Addr, String)>,
    options: CaptureOptions,
    n: u64,
) -> (CaptureReport, Vec<u64>, u64) {
    let mut specs = Vec::new();
    for (ip, _) in &cameras {
        let camera = gvsim_util::control(*ip);
        let (features, _) = FeatureMap::from_device(&camera).expect("features");
        for (name, value) in [
            ("Width", "640"),
            ("Height", "480"),
            ("AcquisitionFrameRate", "50"),
        ] {
            features.set_from_str(&camera, name, value).unwrap();
        }
        specs.push(CameraSpec::new(Arc::new(camera), Arc::new(features)));
    }
    let session = CaptureSession::start(specs, options).expect("start");
    let mut frames = session.frames();
    let keys: Vec<u64> = cameras
        .iter()
        .map(|(_, s)| pattern::serial_key(s))
        .collect();
    let mut seen = vec![0u64; cameras.len()];
    let mut mismatches = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.iter().any(|&f| f < n) && Instant::now() < deadline {
        let Ok(frame) = frames.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        let camera = frame.info.camera as usize;
        seen[camera] += 1;
        let key = pattern::block_key(keys[camera], frame.info.block_id);
        if frame.info.is_incomplete() || pattern::verify(key, 0, frame.data()).is_err() {
            mismatches += 1;
        }
    }
    (session.stop().expect("stop"), seen, mismatches)
}

fn xdp_attached(host_ns: &str) -> String {
    let out = Command::new("ip")
        .args(["-n", host_ns, "link", "show"])
        .output()
        .expect("ip link show");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("xdp"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn xdp_session_captures_verified_frames_and_detaches() {
    if !support::require_privileges("xdp_session_captures_verified_frames_and_detaches") {
        return;
    }
    let sim = GvsimRig::up(1, Topology::Switch, 9000, false, |_| Vec::new());
    let cam = sim.rig.cameras()[0].clone();
    let host_ns = sim.rig.host_ns().to_string();
    let (report, seen, mismatches) = in_namespace(&host_ns, move || {
        let options = CaptureOptions {
            path: PathRequest::Xdp,
            ..CaptureOptions::default()
        };
        capture(vec![(cam.address, "GVSIM1".into())], options, 40)
    });
    assert_eq!(seen, vec![40]);
    assert_eq!(mismatches, 0);
    let c = &report.cameras[0];
    assert_eq!(c.setup.path, ReceivePath::Xdp, "{report:?}");
    assert_eq!(c.setup.packet_size, 9000, "the rig's MTU, tested");
    assert!(c.setup.packet_size_tested);
    assert_eq!(c.timestamp_source, RxClock::XdpTai);
    assert!(c.stream.frames_completed >= 40, "{:?}", c.stream);
    assert_eq!(c.stream.frames_incomplete, 0, "{:?}", c.stream);
    assert_eq!(c.frames_dropped(), 0);
    assert_eq!(c.kernel_stream + c.wrong_queue, 0, "{c:?}");
    let xdp = report.interfaces[0].xdp.as_ref().expect("xdp report");
    assert_eq!(xdp.steer.steered, c.stream.packets_received, "{xdp:?}");
    assert!(
        xdp.rx.multi_buffer > 0,
        "jumbo packets span buffers: {xdp:?}"
    );
    assert!(
        xdp_attached(sim.rig.host_ns()).is_empty(),
        "XDP program left attached: {}",
        xdp_attached(sim.rig.host_ns())
    );
}
