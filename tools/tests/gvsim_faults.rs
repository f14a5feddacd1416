//! gvsim's injected faults, in-process: seeded loss is repeatable, a camera
//! stops answering on schedule, the frame rate clamps to an imposed limit,
//! and the command line carries every fault.

mod gvsim_util;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use clap::Parser;
use gvcap::device::Camera;
use gvcap::genicam::{FeatureMap, FeatureValue};
use gvcap::wire::bootstrap as bs;
use gvcap_tools::gvsim::cli::Args;
use gvcap_tools::gvsim::regmap as r;
use gvsim_util::Receiver;

/// The (block, packet) ids a receiver missed when `count` frames were sent with `seed`.
fn missing_with_seed(seed: u64, count: u32) -> BTreeSet<(u64, u32)> {
    let sim = gvsim_util::start(&["FAULT-SEED"], |c| {
        c.faults.loss = 0.05;
        c.faults.burst = 3;
        c.faults.seed = seed;
    });
    let camera = gvsim_util::control(sim.cameras()[0].address());
    let mut rx = Receiver::bind(Ipv4Addr::LOCALHOST, "FAULT-SEED", 1500, false);
    camera.write_register(r::WIDTH, 256).unwrap();
    camera.write_register(r::HEIGHT, 64).unwrap();
    camera.write_register(r::ACQUISITION_MODE, 2).unwrap();
    camera
        .write_register(r::ACQUISITION_FRAME_COUNT, count)
        .unwrap();
    camera
        .write_register(r::EXPOSURE_TIME, 100f32.to_bits())
        .unwrap();
    camera
        .write_register(r::ACQUISITION_FRAME_RATE, 100f32.to_bits())
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
    camera.write_register(r::ACQUISITION_START, 1).unwrap();
    rx.run(Duration::from_millis(100 + 10 * u64::from(count)), None, 0);
    let mut missing = BTreeSet::new();
    for block in 1..=u64::from(count) {
        let frame = rx.frames.get(&block).cloned().unwrap_or_default();
        // 256·64 bytes in 1464-byte chunks: 12 data packets, ids 0..=13.
        for id in 0..=13u32 {
            if !frame.packets.contains_key(&id) {
                missing.insert((block, id));
            }
        }
    }
    let stats = sim.cameras()[0].stream_stats();
    assert_eq!(
        stats.lost as usize,
        missing.len(),
        "every loss is the fault's"
    );
    missing
}

#[test]
fn seeded_burst_loss_is_repeatable_and_about_the_configured_share() {
    let a = missing_with_seed(11, 30);
    let b = missing_with_seed(11, 30);
    let c = missing_with_seed(12, 30);
    assert_eq!(a, b, "same seed, same losses");
    assert_ne!(a, c, "another seed, other losses");
    let share = a.len() as f64 / (30.0 * 14.0);
    assert!(
        (0.01..0.12).contains(&share),
        "lost {share:.3} of the packets"
    );
    // Losses come in runs of 3 (a run can be cut by the end of the stream only).
    let ids: Vec<(u64, u32)> = a.iter().copied().collect();
    let as_index = |(block, id): (u64, u32)| (block - 1) * 14 + u64::from(id);
    let mut run = 1;
    for pair in ids.windows(2) {
        if as_index(pair[1]) == as_index(pair[0]) + 1 {
            run += 1;
        } else {
            assert_eq!(run % 3, 0, "a run of {run} lost packets");
            run = 1;
        }
    }
}

#[test]
fn a_camera_stops_answering_on_schedule() {
    let sim = gvsim_util::start(&["FAULT-DEAD"], |c| {
        c.faults.stop_answering_after_ms = Some(600)
    });
    let camera = Camera::open(sim.cameras()[0].address(), gvsim_util::client()).unwrap();
    assert_eq!(camera.identify().unwrap().serial, "FAULT-DEAD");
    let started = Instant::now();
    while camera.identify().is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "still answering"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let err = camera.read_register(r::WIDTH).unwrap_err();
    assert!(err.to_string().contains("no answer"), "{err}");
}

#[test]
fn an_imposed_frame_rate_limit_clamps_like_a_real_camera() {
    let sim = gvsim_util::start(&["FAULT-CLAMP"], |c| c.faults.max_frame_rate = Some(12.5));
    let mut camera = Camera::open(sim.cameras()[0].address(), gvsim_util::client()).unwrap();
    camera
        .take_control(gvcap::device::Privilege::Control)
        .unwrap();
    let (map, _) = FeatureMap::from_device(&camera).unwrap();
    assert_eq!(
        map.get(&camera, "AcquisitionFrameRateMax").unwrap(),
        FeatureValue::Float(12.5)
    );
    // The power-up 30 Hz is already clamped.
    assert_eq!(
        map.get(&camera, "AcquisitionFrameRate").unwrap(),
        FeatureValue::Float(12.5)
    );
    // A client that writes past the maximum directly (no GenICam range check) is clamped too.
    camera
        .write_register(r::ACQUISITION_FRAME_RATE, 40f32.to_bits())
        .unwrap();
    assert_eq!(
        f32::from_bits(camera.read_register(r::ACQUISITION_FRAME_RATE).unwrap()),
        12.5
    );
    // Through GenICam the write is refused with the range.
    let err = map
        .set_from_str(&camera, "AcquisitionFrameRate", "20")
        .unwrap_err();
    assert!(err.to_string().contains("12.5"), "{err}");
    map.set_from_str(&camera, "AcquisitionFrameRate", "10")
        .unwrap();
    map.invalidate_all();
    assert_eq!(
        map.get(&camera, "AcquisitionFrameRate").unwrap(),
        FeatureValue::Float(10.0)
    );
}

#[test]
fn every_fault_has_a_command_line_flag() {
    let args = Args::parse_from([
        "gvsim",
        "--address",
        "127.0.0.1",
        "--loss",
        "0.02",
        "--burst",
        "5",
        "--seed",
        "99",
        "--reorder",
        "0.01",
        "--duplicate",
        "0.03",
        "--frame-delay-us",
        "250",
        "--gvcp-drop",
        "0.1",
        "--stop-answering-after-ms",
        "5000",
        "--max-frame-rate",
        "24",
        "--ptp-never-lock",
        "--drift-ppm",
        "-7.5",
        "--offset-ns",
        "-123456",
        "--jitter-ns",
        "40",
    ]);
    let options = args.options().unwrap();
    let c = &options.cameras[0];
    let f = &c.faults;
    assert_eq!((f.loss, f.burst, f.seed), (0.02, 5, 99));
    assert_eq!((f.reorder, f.duplicate, f.gvcp_drop), (0.01, 0.03, 0.1));
    assert_eq!(f.frame_delay_us, 250);
    assert_eq!(f.stop_answering_after_ms, Some(5000));
    assert_eq!(f.max_frame_rate, Some(24.0));
    assert!(f.ptp_never_lock);
    assert_eq!(
        (c.drift_ppm, c.offset_ns, c.jitter_ns),
        (-7.5, -123_456, 40.0)
    );
}
