//! gvsim's GVSP stream received in-process over loopback: every byte checked
//! against the pattern, standard and extended ids, jumbo packets,
//! inter-packet delay, resends under seeded loss, and 'unavailable' answers.

mod gvsim_util;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use gvcap::device::Camera;
use gvcap::wire::bootstrap as bs;
use gvcap::wire::gvsp::{GvspPacket, PixelFormat};
use gvcap::wire::Status;
use gvcap_tools::gvsim::regmap as r;
use gvsim_util::Receiver;

/// Points the camera's stream at the receiver and sets size, format, rate, ids.
fn configure(
    camera: &Camera,
    rx: &Receiver,
    packet_size: u32,
    width: u32,
    height: u32,
    format: PixelFormat,
    fps: f32,
) {
    camera.write_register(r::WIDTH, width).unwrap();
    camera.write_register(r::HEIGHT, height).unwrap();
    camera.write_register(r::PIXEL_FORMAT, format.0).unwrap();
    camera
        .write_register(r::EXPOSURE_TIME, 100f32.to_bits())
        .unwrap();
    camera
        .write_register(r::ACQUISITION_FRAME_RATE, fps.to_bits())
        .unwrap();
    camera
        .write_register(r::EXTENDED_ID_MODE, u32::from(rx.extended))
        .unwrap();
    camera
        .write_register(r::SCPS_PACKET_SIZE, packet_size)
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
}

#[test]
fn standard_ids_every_byte_and_timestamp_checked() {
    let sim = gvsim_util::start(&["STREAM-A"], |_| {});
    let camera = gvsim_util::control(sim.cameras()[0].address());
    let mut rx = Receiver::bind(Ipv4Addr::LOCALHOST, "STREAM-A", 1500, false);
    configure(&camera, &rx, 1500, 256, 64, PixelFormat::MONO8, 100.0);
    assert_ne!(
        camera
            .read_register(bs::stream_channel(0, bs::sc::SOURCE_PORT))
            .unwrap(),
        0
    );
    camera.write_register(r::ACQUISITION_START, 1).unwrap();
    rx.run(Duration::from_millis(600), None, 0);
    camera.write_register(r::ACQUISITION_STOP, 1).unwrap();
    let frames: Vec<_> = rx.frames.iter().filter(|(_, f)| f.complete()).collect();
    assert!(frames.len() >= 50, "{} frames", frames.len());
    let ids: Vec<u64> = frames.iter().map(|(id, _)| **id).collect();
    assert_eq!(
        ids,
        (1..=ids.len() as u64).collect::<Vec<_>>(),
        "block ids from 1, none missing"
    );
    for (id, f) in &frames {
        assert_eq!(f.bad_bytes, 0, "frame {id}");
        assert_eq!(f.bytes, 256 * 64, "frame {id}");
        assert_eq!(f.size, Some((256, 64)));
        // 256·64 bytes in 1464-byte chunks: 12 data packets.
        assert_eq!(f.trailer_id, Some(13));
    }
    // Leader timestamps: exactly one period apart, on the camera clock.
    let stamps: Vec<u64> = frames.iter().map(|(_, f)| f.timestamp.unwrap()).collect();
    for pair in stamps.windows(2) {
        assert_eq!(pair[1] - pair[0], 10_000_000);
    }
    let clock_now = sim.cameras()[0].clock().now() as u64;
    assert!(clock_now.abs_diff(stamps[0]) < 5_000_000_000);
    assert_eq!(rx.duplicates + rx.foreign, 0);
}

#[test]
fn extended_ids_jumbo_packets_and_inter_packet_delay() {
    let sim = gvsim_util::start(&["STREAM-B"], |_| {});
    let camera = gvsim_util::control(sim.cameras()[0].address());
    let mut rx = Receiver::bind(Ipv4Addr::LOCALHOST, "STREAM-B", 9000, true);
    configure(&camera, &rx, 9000, 640, 120, PixelFormat::RGB8, 20.0);
    // 1 ms between packets: leader, 26 data packets and trailer take at least 27 ms
    // (long enough that a receiver woken late cannot hide it).
    camera
        .write_register(bs::stream_channel(0, bs::sc::PACKET_DELAY), 1_000_000)
        .unwrap();
    camera.write_register(r::ACQUISITION_START, 1).unwrap();
    // Time the packets of one frame as they arrive.
    let mut buf = vec![0u8; 10_000];
    let mut arrivals = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline && arrivals.len() < 40 {
        if let Ok(len) = rx.socket.recv(&mut buf) {
            let p = GvspPacket::new_checked(&buf[..len]).unwrap();
            assert!(p.is_extended());
            assert!(len <= 9000 - 28, "{len}");
            if p.block_id() == 2 {
                arrivals.push((p.packet_id(), Instant::now()));
            }
        }
    }
    let first = arrivals.iter().find(|(id, _)| *id == 0).unwrap().1;
    let last = arrivals.iter().map(|(_, t)| *t).max().unwrap();
    assert!(
        last - first >= Duration::from_millis(20),
        "{:?}",
        last - first
    );
    rx.run(Duration::from_millis(400), None, 0);
    camera.write_register(r::ACQUISITION_STOP, 1).unwrap();
    let complete: Vec<_> = rx.frames.iter().filter(|(_, f)| f.complete()).collect();
    assert!(complete.len() >= 5, "{}", complete.len());
    for (id, f) in complete {
        assert_eq!(f.bad_bytes, 0, "frame {id}");
        assert_eq!(f.bytes, 640 * 120 * 3);
        // 8972 - 20 = 8952 bytes per packet.
        assert_eq!(f.trailer_id, Some((640 * 120 * 3u32).div_ceil(8952) + 1));
    }
}

#[test]
fn seeded_loss_bursts_reorder_and_duplicates_are_repaired_by_resends() {
    let sim = gvsim_util::start(&["STREAM-C"], |c| {
        c.faults.loss = 0.01;
        c.faults.burst = 4;
        c.faults.reorder = 0.01;
        c.faults.duplicate = 0.01;
        c.faults.seed = 7;
    });
    let camera = gvsim_util::control(sim.cameras()[0].address());
    for extended in [false, true] {
        let mut rx = Receiver::bind(Ipv4Addr::LOCALHOST, "STREAM-C", 1500, extended);
        configure(&camera, &rx, 1500, 512, 256, PixelFormat::MONO16, 50.0);
        camera.write_register(r::ACQUISITION_START, 1).unwrap();
        rx.run(Duration::from_millis(800), Some(&camera), 20);
        camera.write_register(r::ACQUISITION_STOP, 1).unwrap();
        rx.run(Duration::from_millis(300), Some(&camera), 20);
        let frames = &rx.frames;
        assert!(frames.len() >= 30, "{}", frames.len());
        let resent: u64 = frames.values().map(|f| f.resent_packets).sum();
        assert!(resent > 20, "{resent} packets resent");
        for (id, f) in frames {
            assert!(
                f.complete(),
                "extended {extended}: frame {id} incomplete: {f:?}"
            );
            assert_eq!(f.bad_bytes, 0, "frame {id}");
            assert_eq!(f.bytes, 512 * 256 * 2);
        }
        assert!(
            rx.duplicates > 0,
            "duplicated packets arrive and are recognised"
        );
    }
    let stats = sim.cameras()[0].stream_stats();
    assert!(
        stats.lost > 0 && stats.reordered > 0 && stats.duplicated > 0 && stats.resent >= stats.lost,
        "{stats:?}"
    );
}

#[test]
fn packets_no_longer_retained_are_answered_unavailable() {
    let sim = gvsim_util::start(&["STREAM-D"], |c| c.resend_frames = 4);
    let camera = gvsim_util::control(sim.cameras()[0].address());
    let mut rx = Receiver::bind(Ipv4Addr::LOCALHOST, "STREAM-D", 1500, true);
    configure(&camera, &rx, 1500, 64, 16, PixelFormat::MONO8, 100.0);
    camera
        .write_register(r::ACQUISITION_FRAME_COUNT, 10)
        .unwrap();
    camera.write_register(r::ACQUISITION_MODE, 2).unwrap();
    camera.write_register(r::ACQUISITION_START, 1).unwrap();
    rx.run(Duration::from_millis(300), None, 0);
    assert_eq!(rx.frames.len(), 10, "MultiFrame of 10");
    assert_eq!(
        camera.read_register(r::ACQUISITION_STATUS).unwrap(),
        0,
        "stopped by itself"
    );
    let mut buf = [0u8; 2000];
    let mut answer = |block: u64, first: u32, last: u32| -> Vec<(Status, u64, u32, bool)> {
        camera.request_resend(0, block, first, last, true).unwrap();
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_millis(300);
        while Instant::now() < deadline {
            if let Ok(len) = rx.socket.recv(&mut buf) {
                let p = GvspPacket::new_checked(&buf[..len]).unwrap();
                got.push((p.status(), p.block_id(), p.packet_id(), p.is_resent()));
            }
        }
        got
    };
    // Retained (the last 4): the packets again, flagged as resent.
    assert_eq!(
        answer(9, 0, 1),
        vec![
            (Status::PacketResend, 9, 0, true),
            (Status::PacketResend, 9, 1, true)
        ]
    );
    // Evicted: 'unavailable', one per packet asked for.
    assert_eq!(
        answer(2, 1, 2),
        vec![
            (Status::PacketUnavailable, 2, 1, true),
            (Status::PacketUnavailable, 2, 2, true)
        ]
    );
    // Past the end of a retained block: unavailable too.
    let trailer = rx.frames[&9].trailer_id.unwrap();
    assert_eq!(
        answer(9, trailer + 1, trailer + 1),
        vec![(Status::PacketUnavailable, 9, trailer + 1, true)]
    );
    // Not produced yet.
    assert_eq!(
        answer(50, 1, 1),
        vec![(Status::PacketNotYetAvailable, 50, 1, true)]
    );
}
