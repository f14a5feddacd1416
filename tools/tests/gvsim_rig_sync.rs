//! Synchronized starts on a rig with ptp4l as grandmaster: four gvsim
//! cameras with different oscillators, locked to PTP, started by one
//! PtpAcquisitionGateTime (the sync workflow's settings), deliver frames
//! whose leader timestamps agree per block id; a scheduled ACTION fires one
//! frame on each at the same PTP time. Needs root.

mod gvsim_rigs;
mod gvsim_util;
mod support;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

use gvcap::device::{Camera, ClientConfig, Privilege};
use gvcap::genicam::{FeatureMap, FeatureValue};
use gvcap::wire::gvcp::{flags, AckRepr, CommandRepr};
use gvcap::wire::Status;
use gvsim_rigs::{in_namespace, GvsimRig};
use gvsim_util::Receiver;
use support::Topology;

const DRIFTS: [&str; 4] = ["-31", "-4.5", "12.25", "36"];

struct Cam {
    camera: Camera,
    map: FeatureMap,
    serial: String,
    host: Ipv4Addr,
}

impl Cam {
    fn set(&self, feature: &str, value: &str) {
        self.map
            .set_from_str(&self.camera, feature, value)
            .unwrap_or_else(|e| panic!("{}: {feature}={value}: {e}", self.serial));
    }

    fn int(&self, feature: &str) -> i64 {
        self.map.invalidate_all();
        match self.map.get(&self.camera, feature) {
            Ok(FeatureValue::Integer(v)) => v,
            other => panic!("{}: {feature}: {other:?}", self.serial),
        }
    }

    fn status(&self) -> FeatureValue {
        self.map.invalidate_all();
        self.map.get(&self.camera, "PtpStatus").unwrap()
    }

    /// The camera's clock now (PTP time once Slave), by a timestamp latch.
    fn latch(&self) -> u64 {
        self.map
            .execute(&self.camera, "GevTimestampControlLatch")
            .unwrap();
        self.int("GevTimestampValue") as u64
    }
}

/// Receives on every receiver at once for `duration`.
fn receive_all(receivers: Vec<Receiver>, duration: Duration) -> Vec<Receiver> {
    let threads: Vec<_> = receivers
        .into_iter()
        .map(|mut rx| {
            std::thread::spawn(move || {
                rx.run(duration, None, 0);
                rx
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn gated_start_aligns_four_cameras_and_a_scheduled_action_fires_them_together() {
    let name = "gated_start_aligns_four_cameras";
    if !support::require_privileges(name) || !support::require_programs(name, &["ptp4l", "tshark"])
    {
        return;
    }
    let sim = GvsimRig::up(4, Topology::Direct, 1500, true, |cam| {
        ["--drift-ppm", DRIFTS[cam.index as usize - 1]]
            .map(String::from)
            .to_vec()
    });
    let rig = &sim.rig;
    let cams: Vec<Cam> = rig
        .cameras()
        .iter()
        .map(|c| {
            let ip = c.address;
            let mut camera = in_namespace(rig.host_ns(), move || {
                Camera::open(
                    ip,
                    ClientConfig {
                        timeout: Duration::from_millis(500),
                        retries: 4,
                        heartbeat_timeout: Some(Duration::from_secs(5)),
                    },
                )
                .unwrap()
            });
            camera.take_control(Privilege::Control).unwrap();
            let (map, _) = FeatureMap::from_device(&camera).unwrap();
            Cam {
                camera,
                map,
                serial: format!("GVSIM{}", c.index),
                host: c.host_address,
            }
        })
        .collect();
    for cam in &cams {
        cam.set("PtpMode", "TwoStep");
        cam.set("Width", "320");
        cam.set("Height", "240");
        cam.set("ExposureTime", "1000");
        cam.set("AcquisitionFrameRate", "20");
        // The sync workflow's settings.
        cam.set("AcquisitionMode", "MultiFrame");
        cam.set("TriggerMode", "On");
        cam.set("TriggerSource", "Software");
        cam.set("AcquisitionFrameCount", "1");
    }
    let started = Instant::now();
    while !cams
        .iter()
        .all(|c| c.status() == FeatureValue::Enumeration("Slave".into()))
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "PTP did not lock:\n{}",
            sim.logs()
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    // Stream receivers in the host namespace, one per camera link.
    let receivers: Vec<Receiver> = cams
        .iter()
        .map(|c| {
            let (host, serial) = (c.host, c.serial.clone());
            in_namespace(rig.host_ns(), move || {
                Receiver::bind(host, &serial, 1500, false)
            })
        })
        .collect();
    for (cam, rx) in cams.iter().zip(&receivers) {
        cam.set("GevSCDA", &u32::from(cam.host).to_string());
        cam.set("GevSCPHostPort", &rx.port().to_string());
    }
    // One gate for all: 1.5 s after the latest camera time, on a whole millisecond.
    let now = cams.iter().map(Cam::latch).max().unwrap();
    let gate = (now + 1_500_000_000) / 1_000_000 * 1_000_000;
    for cam in &cams {
        cam.set("PtpAcquisitionGateTime", &gate.to_string());
        cam.map.execute(&cam.camera, "AcquisitionStart").unwrap();
        assert_eq!(cam.int("AcquisitionStatus"), 1, "{} armed", cam.serial);
    }
    let receivers = receive_all(receivers, Duration::from_millis(3200));
    for cam in &cams {
        cam.map.execute(&cam.camera, "AcquisitionStop").unwrap();
    }

    let mut by_block: BTreeMap<u64, Vec<(u64, Instant)>> = BTreeMap::new();
    for (cam, rx) in cams.iter().zip(&receivers) {
        let frames: Vec<_> = rx.frames.iter().filter(|(_, f)| f.complete()).collect();
        assert!(
            frames.len() >= 20,
            "{}: {} frames",
            cam.serial,
            frames.len()
        );
        let (first_id, first) = frames[0];
        assert_eq!(
            (*first_id, first.timestamp),
            (1, Some(gate)),
            "{}: first frame at the gate",
            cam.serial
        );
        for (id, f) in &frames {
            assert_eq!(f.bad_bytes, 0);
            by_block
                .entry(**id)
                .or_default()
                .push((f.timestamp.unwrap(), f.first_seen.unwrap()));
        }
        // Every frame started on PTP time while Slave.
        let started = cam.int("GvsimFramesStarted");
        assert!(started >= 20);
        assert_eq!(
            cam.int("GvsimFramesStartedWithPtp"),
            started,
            "{}",
            cam.serial
        );
        cam.set("GvsimFrameInfoBlockId", "3");
        assert_eq!(cam.int("GvsimFrameInfoStartedWithPtp"), 1);
        assert_eq!(
            cam.int("GvsimFrameInfoTimestamp") as u64,
            gate + 2 * 50_000_000
        );
    }
    let mut common = 0;
    for (id, stamps) in &by_block {
        if stamps.len() < 4 {
            continue;
        }
        common += 1;
        let spread =
            stamps.iter().map(|s| s.0).max().unwrap() - stamps.iter().map(|s| s.0).min().unwrap();
        assert!(
            spread < 1_000,
            "block {id}: leader timestamps spread {spread} ns"
        );
        assert_eq!(stamps[0].0, gate + (id - 1) * 50_000_000);
        // The frames really left together: their leaders arrived within a few milliseconds.
        let arrival =
            stamps.iter().map(|s| s.1).max().unwrap() - stamps.iter().map(|s| s.1).min().unwrap();
        assert!(
            arrival < Duration::from_millis(20),
            "block {id}: arrivals {arrival:?} apart"
        );
    }
    assert!(common >= 20, "{common} blocks seen from all four cameras");

    // The leader timestamps agree by construction (each camera stamps its own
    // clock's reading at the gate grid, as a real camera does); the real start
    // skew is how far apart in true time the four clocks read that value,
    // which is what PTP left of their offsets. gvsim knows it: the host clock
    // (the grandmaster's time on the rig) at each frame's start.
    let mut true_skews: Vec<u64> = (3..=12u64)
        .map(|id| {
            let starts: Vec<u64> = cams
                .iter()
                .map(|cam| {
                    cam.set("GvsimFrameInfoBlockId", &id.to_string());
                    cam.int("GvsimFrameInfoTrueStart") as u64
                })
                .collect();
            assert!(
                starts.iter().all(|&s| s > 0),
                "block {id} retained by every camera: {starts:?}"
            );
            starts.iter().max().unwrap() - starts.iter().min().unwrap()
        })
        .collect();
    true_skews.sort_unstable();
    support::loud(&format!(
        "gated start: real start skew across 4 cameras (ns, blocks 3..=12, sorted): {true_skews:?}"
    ));
    assert!(
        true_skews[true_skews.len() - 1] < 10_000,
        "real start skew {true_skews:?} ns: the PTP servos left the clocks too far apart"
    );

    // A scheduled ACTION: one frame on every camera at the same PTP time.
    let receivers: Vec<Receiver> = cams
        .iter()
        .map(|c| {
            let (host, serial) = (c.host, c.serial.clone());
            in_namespace(rig.host_ns(), move || {
                Receiver::bind(host, &serial, 1500, false)
            })
        })
        .collect();
    for (cam, rx) in cams.iter().zip(&receivers) {
        cam.set("GevSCPHostPort", &rx.port().to_string());
        cam.set("AcquisitionMode", "Continuous");
        cam.set("TriggerSource", "Action1");
        cam.set("ActionDeviceKey", "3735928559");
        cam.set("ActionSelector", "1");
        cam.set("ActionGroupKey", "7");
        cam.set("ActionGroupMask", "1");
        cam.map.execute(&cam.camera, "AcquisitionStart").unwrap();
    }
    // tshark watches the first camera's link: our ACTION and FORCEIP too
    // must decode cleanly.
    let first = rig.cameras()[0].clone();
    let gvcp = support::GvcpCapture::start(rig, &first.host_interface);
    let now = cams.iter().map(Cam::latch).max().unwrap();
    let at = (now + 700_000_000) / 1_000_000 * 1_000_000;
    let socket = in_namespace(rig.host_ns(), || UdpSocket::bind("0.0.0.0:0").unwrap());
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let send_action = |ip: Ipv4Addr, time: u64, id: u16| -> Status {
        let command = CommandRepr::Action {
            device_key: 3_735_928_559,
            group_key: 7,
            group_mask: 1,
            action_time: Some(time),
        };
        let mut buf = vec![0u8; command.buffer_len()];
        command.emit(id, flags::ACK_REQUIRED, &mut buf).unwrap();
        socket.send_to(&buf, SocketAddrV4::new(ip, 3956)).unwrap();
        let mut reply = [0u8; 64];
        let len = socket.recv(&mut reply).expect("ACTION acknowledge");
        let (header, ack) = AckRepr::parse(&reply[..len]).unwrap();
        assert_eq!((header.ack_id, ack), (id, AckRepr::Action));
        header.status
    };
    for (k, cam) in rig.cameras().iter().enumerate() {
        assert_eq!(
            send_action(cam.address, at, 100 + k as u16),
            Status::Success
        );
    }
    let receivers = receive_all(receivers, Duration::from_millis(1500));
    for (cam, rx) in cams.iter().zip(&receivers) {
        let frames: Vec<_> = rx.frames.values().filter(|f| f.complete()).collect();
        assert_eq!(frames.len(), 1, "{}: one frame per action", cam.serial);
        assert_eq!(
            frames[0].timestamp,
            Some(at),
            "{}: at the action time",
            cam.serial
        );
        cam.set("GvsimFrameInfoBlockId", "1");
        assert_eq!(cam.int("GvsimFrameInfoStartedWithPtp"), 1);
    }
    // An action time already past: executed at once and answered ACTION_LATE.
    assert_eq!(
        send_action(rig.cameras()[0].address, at, 200),
        Status::ActionLate
    );
    // FORCEIP through the client's broadcast on that link, to the address
    // the camera has (gvsim keeps its socket, so it accepts only that one).
    let mac = rig
        .wait_for_camera(first.address, Duration::from_secs(5))
        .expect("camera 1 answers discovery")
        .mac;
    let (iface, ip) = (first.host_interface.clone(), first.address);
    let forced = in_namespace(rig.host_ns(), move || {
        gvcap::device::force_ip(
            &iface,
            mac,
            ip,
            Ipv4Addr::new(255, 255, 255, 0),
            Ipv4Addr::UNSPECIFIED,
            Duration::from_secs(2),
        )
    });
    assert!(forced.is_ok(), "FORCEIP to its own address: {forced:?}");
    gvcp.finish(first.host_address).assert_clean_with(&[
        "ACTION_CMD",
        "FORCEIP_CMD",
        "READREG_CMD",
    ]);
}
