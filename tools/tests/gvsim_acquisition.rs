//! What AcquisitionStart does in each acquisition and trigger setting,
//! in-process over loopback (no PTP here: the gate is ignored with PtpMode
//! Off, and scheduled actions need a locked clock; the rig tests cover both
//! with a real grandmaster).

mod gvsim_util;

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::Duration;

use gvcap::device::Camera;
use gvcap::wire::bootstrap as bs;
use gvcap::wire::gvcp::{flags, AckRepr, CommandRepr};
use gvcap::wire::Status;
use gvcap_tools::gvsim::regmap as r;
use gvsim_util::Receiver;

/// A camera streaming small frames at `fps` to a fresh receiver.
fn setup(serial: &str, fps: f32) -> (gvcap_tools::gvsim::runtime::Simulator, Camera, Receiver) {
    let sim = gvsim_util::start(&[serial], |_| {});
    let camera = gvsim_util::control(sim.cameras()[0].address());
    let rx = Receiver::bind(Ipv4Addr::LOCALHOST, serial, 1500, false);
    camera.write_register(r::WIDTH, 64).unwrap();
    camera.write_register(r::HEIGHT, 8).unwrap();
    camera
        .write_register(r::EXPOSURE_TIME, 100f32.to_bits())
        .unwrap();
    camera
        .write_register(r::ACQUISITION_FRAME_RATE, fps.to_bits())
        .unwrap();
    camera
        .write_register(
            bs::stream_channel(0, bs::sc::DESTINATION_ADDRESS),
            u32::from(Ipv4Addr::LOCALHOST),
        )
        .unwrap();
    camera
        .write_register(bs::stream_channel(0, bs::sc::PORT), u32::from(rx.port()))
        .unwrap();
    (sim, camera, rx)
}

fn complete(rx: &Receiver) -> Vec<(u64, u64)> {
    rx.frames
        .iter()
        .filter(|(_, f)| f.complete() && f.bad_bytes == 0)
        .map(|(id, f)| (*id, f.timestamp.unwrap_or(0)))
        .collect()
}

/// Sends an ACTION command (immediate, or scheduled at `time`) and returns the acknowledge status.
fn action(
    to: Ipv4Addr,
    device_key: u32,
    group_key: u32,
    mask: u32,
    time: Option<u64>,
) -> Option<Status> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let command = CommandRepr::Action {
        device_key,
        group_key,
        group_mask: mask,
        action_time: time,
    };
    let mut buf = vec![0u8; command.buffer_len()];
    command.emit(77, flags::ACK_REQUIRED, &mut buf).unwrap();
    socket.send_to(&buf, SocketAddrV4::new(to, 3956)).unwrap();
    let mut reply = [0u8; 64];
    let len = socket.recv(&mut reply).ok()?;
    let (header, ack) = AckRepr::parse(&reply[..len]).unwrap();
    assert_eq!((header.ack_id, ack), (77, AckRepr::Action));
    Some(header.status)
}

#[test]
fn continuous_free_runs_and_single_and_multi_frame_stop_by_themselves() {
    let (_sim, camera, mut rx) = setup("ACQ-A", 50.0);
    camera.write_register(r::ACQUISITION_START, 1).unwrap();
    rx.run(Duration::from_millis(500), None, 0);
    camera.write_register(r::ACQUISITION_STOP, 1).unwrap();
    let frames = complete(&rx);
    assert!(
        (20..=27).contains(&frames.len()),
        "{} frames in 0.5 s at 50 Hz",
        frames.len()
    );
    for pair in frames.windows(2) {
        assert_eq!(pair[1].1 - pair[0].1, 20_000_000, "one period apart");
    }
    // SingleFrame: exactly one frame; MultiFrame: exactly AcquisitionFrameCount.
    for (mode, count) in [(1, 1u32), (2, 7)] {
        let mut rx = Receiver::bind(Ipv4Addr::LOCALHOST, "ACQ-A", 1500, false);
        camera
            .write_register(bs::stream_channel(0, bs::sc::PORT), u32::from(rx.port()))
            .unwrap();
        camera.write_register(r::ACQUISITION_MODE, mode).unwrap();
        camera
            .write_register(r::ACQUISITION_FRAME_COUNT, count)
            .unwrap();
        camera.write_register(r::ACQUISITION_START, 1).unwrap();
        rx.run(Duration::from_millis(400), None, 0);
        let frames = complete(&rx);
        assert_eq!(frames.len(), count as usize, "mode {mode}");
        assert_eq!(
            frames.first().map(|f| f.0),
            Some(1),
            "block ids restart at 1"
        );
        assert_eq!(camera.read_register(r::ACQUISITION_STATUS).unwrap(), 0);
    }
}

#[test]
fn software_triggers_start_one_frame_each_and_too_fast_ones_are_dropped() {
    let (sim, camera, mut rx) = setup("ACQ-B", 100.0);
    camera.write_register(r::TRIGGER_MODE, 1).unwrap();
    camera.write_register(r::TRIGGER_SOURCE, 0).unwrap();
    camera.write_register(r::ACQUISITION_MODE, 0).unwrap();
    camera.write_register(r::ACQUISITION_START, 1).unwrap();
    rx.run(Duration::from_millis(200), None, 0);
    assert!(complete(&rx).is_empty(), "no frame without a trigger");
    for _ in 0..5 {
        camera.write_register(r::TRIGGER_SOFTWARE, 1).unwrap();
        std::thread::sleep(Duration::from_millis(30));
    }
    rx.run(Duration::from_millis(200), None, 0);
    let frames = complete(&rx);
    assert_eq!(frames.len(), 5, "{frames:?}");
    // Two triggers 0 ms apart: the second comes faster than the sensor's maximum rate.
    camera
        .write_registers(&[(r::TRIGGER_SOFTWARE, 1), (r::TRIGGER_SOFTWARE, 1)])
        .unwrap();
    rx.run(Duration::from_millis(200), None, 0);
    assert_eq!(complete(&rx).len(), 6);
    assert_eq!(sim.cameras()[0].with_device(|d| d.counters().frames), 6);
    // Line0 has no signal: nothing.
    camera.write_register(r::ACQUISITION_STOP, 1).unwrap();
    camera.write_register(r::TRIGGER_SOURCE, 1).unwrap();
    camera.write_register(r::ACQUISITION_START, 1).unwrap();
    camera.write_register(r::TRIGGER_SOFTWARE, 1).unwrap();
    rx.run(Duration::from_millis(200), None, 0);
    assert_eq!(complete(&rx).len(), 6);
}

#[test]
fn action_commands_trigger_frames_and_scheduled_ones_need_ptp() {
    let (sim, camera, mut rx) = setup("ACQ-C", 100.0);
    let ip = sim.cameras()[0].address();
    camera
        .write_register(bs::ACTION_DEVICE_KEY, 0x1234_5678)
        .unwrap();
    camera.write_register(r::ACTION_SELECTOR, 1).unwrap();
    camera.write_register(r::ACTION_GROUP_KEY, 42).unwrap();
    camera
        .write_register(r::ACTION_GROUP_MASK, 0x0000_00F0)
        .unwrap();
    camera.write_register(r::TRIGGER_MODE, 1).unwrap();
    camera.write_register(r::TRIGGER_SOURCE, 2).unwrap();
    camera.write_register(r::ACQUISITION_START, 1).unwrap();
    // Keys that do not match: no acknowledge, no frame.
    assert_eq!(action(ip, 0x1234_5679, 42, 0x10, None), None);
    assert_eq!(action(ip, 0x1234_5678, 43, 0x10, None), None);
    assert_eq!(action(ip, 0x1234_5678, 42, 0x01, None), None);
    // A matching immediate action: one frame.
    assert_eq!(
        action(ip, 0x1234_5678, 42, 0x10, None),
        Some(Status::Success)
    );
    rx.run(Duration::from_millis(200), None, 0);
    assert_eq!(complete(&rx).len(), 1);
    // Scheduled, but the clock is not PTP time: refused with NO_REF_TIME.
    let soon = sim.cameras()[0].clock().now() as u64 + 100_000_000;
    assert_eq!(
        action(ip, 0x1234_5678, 42, 0x10, Some(soon)),
        Some(Status::NoRefTime)
    );
    rx.run(Duration::from_millis(300), None, 0);
    assert_eq!(complete(&rx).len(), 1);
    // Frames started by an action are not "started with PTP" without a lock.
    assert_eq!(camera.read_register(r::FRAMES_STARTED_WITH_PTP).unwrap(), 0);
    assert_eq!(camera.read_register(r::FRAMES_STARTED).unwrap(), 1);
}

#[test]
fn a_gate_time_needs_ptp_on_and_then_frames_start_at_the_gate_grid() {
    let (sim, camera, mut rx) = setup("ACQ-D", 20.0);
    let now = sim.cameras()[0].clock().now() as u64;
    let gate = now + 400_000_000;
    camera
        .write_register(r::PTP_GATE_TIME, (gate >> 32) as u32)
        .unwrap();
    camera
        .write_register(r::PTP_GATE_TIME + 4, gate as u32)
        .unwrap();
    // PtpMode Off: the gate does not apply, frames start at once.
    camera.write_register(r::ACQUISITION_START, 1).unwrap();
    rx.run(Duration::from_millis(150), None, 0);
    camera.write_register(r::ACQUISITION_STOP, 1).unwrap();
    let frames = complete(&rx);
    assert!(!frames.is_empty() && frames[0].1 < gate, "{frames:?}");
    // PtpMode TwoStep (not locked here: no grandmaster): armed until the gate,
    // then frame n at gate + n·period; not started with PTP, since not Slave.
    let mut rx = Receiver::bind(Ipv4Addr::LOCALHOST, "ACQ-D", 1500, false);
    camera
        .write_register(bs::stream_channel(0, bs::sc::PORT), u32::from(rx.port()))
        .unwrap();
    camera.write_register(r::PTP_MODE, 2).unwrap();
    // The sync workflow's settings.
    camera.write_register(r::ACQUISITION_MODE, 2).unwrap();
    camera
        .write_register(r::ACQUISITION_FRAME_COUNT, 1)
        .unwrap();
    camera.write_register(r::TRIGGER_MODE, 1).unwrap();
    camera.write_register(r::TRIGGER_SOURCE, 0).unwrap();
    camera.write_register(r::ACQUISITION_START, 1).unwrap();
    assert_eq!(
        camera.read_register(r::ACQUISITION_STATUS).unwrap(),
        1,
        "armed"
    );
    rx.run(Duration::from_millis(700), None, 0);
    let frames = complete(&rx);
    assert!(frames.len() >= 4, "{frames:?}");
    assert_eq!(frames[0], (1, gate), "first frame at the gate, block id 1");
    for (k, (id, ts)) in frames.iter().enumerate() {
        assert_eq!((*id, *ts), (k as u64 + 1, gate + k as u64 * 50_000_000));
    }
    camera
        .write_register(r::FRAME_INFO_BLOCK_ID + 4, 1)
        .unwrap();
    assert_eq!(
        camera
            .read_register(r::FRAME_INFO_STARTED_WITH_PTP)
            .unwrap(),
        0
    );
}
