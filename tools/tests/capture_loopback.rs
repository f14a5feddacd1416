//! The capture pipeline in-process, over loopback, on the socket path:
//! gvsim cameras (standard and extended ids, seeded loss with bursts)
//! captured by `CaptureSession`, every byte of every frame checked against
//! gvsim's pattern, and the counters checked against what was sent.
//! Needs no privileges.

mod gvsim_util;

use std::sync::Arc;
use std::time::{Duration, Instant};

use gvcap::capture::{CameraSpec, CaptureOptions, CaptureSession, PathRequest, ReceivePath};
use gvcap::genicam::FeatureMap;
use gvcap_tools::gvsim::pattern;

/// Opens a gvsim camera with control privilege and its features, set up for a small image.
fn spec(ip: std::net::Ipv4Addr, extended: bool, fps: &str) -> CameraSpec {
    let camera = gvsim_util::control(ip);
    let (features, _) = FeatureMap::from_device(&camera).expect("features");
    for (name, value) in [
        ("Width", "320"),
        ("Height", "240"),
        ("PixelFormat", "Mono8"),
        ("AcquisitionFrameRate", fps),
        ("GevGVSPExtendedIDMode", if extended { "On" } else { "Off" }),
    ] {
        features
            .set_from_str(&camera, name, value)
            .unwrap_or_else(|e| panic!("{name}={value}: {e}"));
    }
    CameraSpec::new(Arc::new(camera), Arc::new(features))
}

struct Outcome {
    frames: Vec<u64>,
    mismatches: u64,
    incomplete: u64,
}

/// Captures until every camera delivered `n` frames (or 20 s passed), checking each.
fn capture(
    specs: Vec<CameraSpec>,
    serials: &[&str],
    options: CaptureOptions,
    n: u64,
) -> (gvcap::capture::CaptureReport, Vec<String>, Outcome) {
    let session = CaptureSession::start(specs, options).expect("start the capture");
    let notes = session.notes().to_vec();
    for setup in session.setups() {
        assert_eq!(setup.path, ReceivePath::Udp);
    }
    let mut frames = session.frames();
    let keys: Vec<u64> = serials.iter().map(|s| pattern::serial_key(s)).collect();
    let mut outcome = Outcome {
        frames: vec![0; serials.len()],
        mismatches: 0,
        incomplete: 0,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while outcome.frames.iter().any(|&f| f < n) && Instant::now() < deadline {
        let Ok(frame) = frames.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        let camera = frame.info.camera as usize;
        outcome.frames[camera] += 1;
        if frame.info.is_incomplete() {
            outcome.incomplete += 1;
            continue;
        }
        assert_eq!(frame.data().len(), 320 * 240);
        let key = pattern::block_key(keys[camera], frame.info.block_id);
        if pattern::verify(key, 0, frame.data()).is_err() {
            outcome.mismatches += 1;
        }
    }
    let report = session.stop().expect("stop the capture");
    // After stop the stream ends: what is left is taken, then it disconnects.
    while frames.recv_timeout(Duration::from_secs(2)).is_ok() {}
    (report, notes, outcome)
}

#[test]
fn socket_path_captures_verified_frames_and_repairs_loss_with_resends() {
    let sim = gvsim_util::start(&["CAPL-A", "CAPL-B"], |c| {
        if c.serial == "CAPL-B" {
            c.faults.loss = 0.01;
            c.faults.burst = 3;
            c.faults.seed = 7;
        }
    });
    let specs = vec![
        spec(sim.cameras()[0].address(), false, "80"),
        spec(sim.cameras()[1].address(), true, "80"),
    ];
    let options = CaptureOptions {
        path: PathRequest::Udp,
        packet_size: Some(1500),
        ..CaptureOptions::default()
    };
    let (report, _notes, outcome) = capture(specs, &["CAPL-A", "CAPL-B"], options, 60);
    assert_eq!(outcome.frames, vec![60, 60], "frames per camera");
    assert_eq!(outcome.mismatches, 0, "pattern mismatches");
    assert_eq!(outcome.incomplete, 0, "incomplete frames");
    let lost = sim.cameras()[1].stream_stats();
    for cam in &report.cameras {
        let s = &cam.stream;
        assert_eq!(cam.setup.packet_size, 1500);
        assert!(cam.setup.packet_size_tested, "gvsim answers test packets");
        assert!(s.frames_completed >= 60, "{s:?}");
        assert_eq!(s.frames_incomplete, 0, "{s:?}");
        assert_eq!(cam.frames_dropped(), 0, "{cam:?}");
        assert_eq!(s.packets_missing, 0, "{s:?}");
        assert_eq!(s.packets_malformed + s.packets_foreign, 0, "{s:?}");
        assert_eq!(cam.timestamp_source.name(), "socket-clock-tai");
    }
    assert!(!report.cameras[0].setup.extended_ids);
    assert!(report.cameras[1].setup.extended_ids);
    let clean = &report.cameras[0].stream;
    assert_eq!(clean.packets_resent + clean.resend_requests, 0, "{clean:?}");
    let lossy = &report.cameras[1].stream;
    assert!(lossy.packets_resent > 10, "{lossy:?}, sender {lost:?}");
    assert!(lossy.resend_requests > 0, "{lossy:?}");
    // Every packet the camera dropped was asked for and came back once;
    // every frame it sent was delivered complete.
    assert!(
        lossy.resend_packets_requested >= lossy.packets_resent,
        "{lossy:?}"
    );
    assert!(lost.lost > 10, "{lost:?}");
    assert_eq!(
        lossy.packets_resent, lost.lost,
        "{lossy:?}, sender {lost:?}"
    );
    assert_eq!(
        lossy.frames_completed, lost.frames,
        "{lossy:?}, sender {lost:?}"
    );
    let clean_sender = sim.cameras()[0].stream_stats();
    assert_eq!(
        clean.frames_completed, clean_sender.frames,
        "{clean_sender:?}"
    );
}

#[test]
fn jumbo_packets_with_extended_ids() {
    let sim = gvsim_util::start(&["CAPL-C"], |_| {});
    let specs = vec![spec(sim.cameras()[0].address(), true, "50")];
    let options = CaptureOptions {
        path: PathRequest::Udp,
        packet_size: Some(9000),
        ..CaptureOptions::default()
    };
    let (report, _notes, outcome) = capture(specs, &["CAPL-C"], options, 20);
    assert_eq!(outcome.frames, vec![20]);
    assert_eq!(outcome.mismatches + outcome.incomplete, 0);
    let cam = &report.cameras[0];
    assert_eq!(cam.setup.packet_size, 9000, "loopback carries 9000 bytes");
    assert_eq!(cam.stream.frames_incomplete, 0);
}
