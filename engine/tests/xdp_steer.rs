//! The steering program's decisions, run in the kernel on crafted frames
//! with `BPF_PROG_TEST_RUN` (no interface needed, but root for BPF).
//!
//! A test run redirects nowhere, but the program's verdict is visible: with
//! an AF_XDP socket (bound to `lo`, which carries no traffic for it) in the
//! XSKMAP slot of queue 0, a registered stream's packet comes back as
//! XDP_REDIRECT with the rx_meta prefix in front of it; with no socket it
//! comes back as XDP_PASS, byte for byte as it went in, counted `no_socket`.

mod xdp_support;

use std::net::{Ipv4Addr, SocketAddrV4};

use gvcap::xdp::headers::build_udp_frame;
use gvcap::xdp::loader::{XDP_PASS, XDP_REDIRECT};
use gvcap::xdp::{HugePages, SteerCounters, SteerProgram, Variant, XskConfig, XskSocket};
use rustix::time::{clock_gettime_dynamic, DynamicClockId};
use std::os::fd::AsFd;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

const CAMERA: Ipv4Addr = Ipv4Addr::new(169, 254, 10, 2);
const HOST: Ipv4Addr = Ipv4Addr::new(169, 254, 10, 1);
const STREAM_PORT: u16 = 50_000;

fn load() -> Option<SteerProgram> {
    if !xdp_support::require_root("xdp_steer") {
        return None;
    }
    let program = SteerProgram::load(Variant::Plain).expect("load gvsp_steer");
    program
        .register_stream(CAMERA, STREAM_PORT, 7)
        .expect("register stream");
    Some(program)
}

fn frame(src: Ipv4Addr, dst_port: u16, vlan: Option<u16>, len: usize) -> Vec<u8> {
    build_udp_frame(
        SocketAddrV4::new(src, 20202),
        SocketAddrV4::new(HOST, dst_port),
        vlan,
        &vec![0xab; len],
    )
}

fn tai_ns() -> u64 {
    let t = clock_gettime_dynamic(DynamicClockId::Tai).expect("CLOCK_TAI");
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

fn delta(before: SteerCounters, after: SteerCounters) -> SteerCounters {
    SteerCounters {
        steered: after.steered - before.steered,
        passed: after.passed - before.passed,
        malformed: after.malformed - before.malformed,
        no_socket: after.no_socket - before.no_socket,
        no_meta: after.no_meta - before.no_meta,
    }
}

/// A small copy-mode AF_XDP socket on `lo`, queue 0 (the queue of a test
/// run), to fill the XSKMAP slot the program redirects to. A queue takes one
/// socket at a time, so the tests that need it take turns.
fn loopback_socket() -> (XskSocket, MutexGuard<'static, ()>) {
    static LO_QUEUE_0: Mutex<()> = Mutex::new(());
    let turn = LO_QUEUE_0
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let config = XskConfig {
        frame_count: 64,
        rx_ring_size: 64,
        hugepages: HugePages::Never,
        ..XskConfig::default()
    };
    // The kernel lets go of the previous test's socket once the map that held
    // it is freed, which can lag behind that test's end.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match XskSocket::open(1, 0, &config) {
            Ok(socket) => return (socket, turn),
            Err(e) if Instant::now() < deadline && e.to_string().contains("busy") => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("AF_XDP socket on lo, queue 0: {e}"),
        }
    }
}

#[test]
fn registered_stream_is_steered_with_a_software_timestamp() {
    let Some(program) = load() else { return };
    let (socket, _turn) = loopback_socket();
    program.register_socket(0, socket.as_fd()).unwrap();
    for (vlan, len) in [(None, 1400), (Some(0x0123), 1400), (None, 8000)] {
        let bytes = frame(CAMERA, STREAM_PORT, vlan, len);
        let before = program.counters().unwrap();
        let t0 = tai_ns();
        let run = program.test_run(&bytes).unwrap();
        let t1 = tai_ns();
        assert_eq!(run.action, XDP_REDIRECT, "vlan {vlan:?} len {len}");
        let meta = run
            .meta
            .unwrap_or_else(|| panic!("prefix written (vlan {vlan:?}, len {len})"));
        assert!(!meta.hw_stamp, "a test run has no hardware stamp");
        assert!(
            (t0..=t1).contains(&meta.rx_timestamp_ns),
            "CLOCK_TAI stamp {} within [{t0}, {t1}]",
            meta.rx_timestamp_ns
        );
        assert_eq!(
            &run.data[run.meta_len..],
            &bytes[..],
            "the frame follows the prefix intact"
        );
        let d = delta(before, program.counters().unwrap());
        assert_eq!(
            d,
            SteerCounters {
                steered: 1,
                ..Default::default()
            },
            "vlan {vlan:?} len {len}"
        );
    }
    // The map lets go of the socket before the next test may bind lo again.
    drop(program);
}

#[test]
fn a_stream_without_a_socket_goes_to_the_kernel_unchanged() {
    let Some(program) = load() else { return };
    for (vlan, len) in [(None, 1400), (Some(0x0123), 1400), (None, 8000)] {
        let bytes = frame(CAMERA, STREAM_PORT, vlan, len);
        let before = program.counters().unwrap();
        let run = program.test_run(&bytes).unwrap();
        assert_eq!(run.action, XDP_PASS, "no socket on the queue: the kernel's");
        assert_eq!(
            (run.meta_len, run.meta),
            (0, None),
            "vlan {vlan:?} len {len}"
        );
        assert_eq!(run.data, bytes, "passed as it came");
        let d = delta(before, program.counters().unwrap());
        assert_eq!(
            d,
            SteerCounters {
                no_socket: 1,
                ..Default::default()
            },
            "vlan {vlan:?} len {len}"
        );
    }
}

#[test]
fn other_traffic_is_passed_untouched() {
    let Some(program) = load() else { return };
    let mut arp = frame(CAMERA, STREAM_PORT, None, 28);
    arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    let mut tcp = frame(CAMERA, STREAM_PORT, None, 100);
    tcp[23] = 6;
    let mut fragment = frame(CAMERA, STREAM_PORT, None, 100);
    fragment[20] = 0x20; // more fragments
    let mut ipv6 = frame(CAMERA, STREAM_PORT, None, 100);
    ipv6[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
    let cases = [
        ("GVCP from the camera", frame(CAMERA, 3956, None, 100)),
        ("PTP event", frame(CAMERA, 319, None, 44)),
        (
            "stream port, other source",
            frame(Ipv4Addr::new(169, 254, 10, 3), STREAM_PORT, None, 1400),
        ),
        ("ARP", arp),
        ("TCP", tcp),
        ("IP fragment", fragment),
        ("IPv6", ipv6),
        ("VLAN, other port", frame(CAMERA, 3956, Some(7), 100)),
    ];
    for (what, bytes) in cases {
        let before = program.counters().unwrap();
        let run = program.test_run(&bytes).unwrap();
        assert_eq!(run.action, XDP_PASS, "{what}");
        assert_eq!(run.meta_len, 0, "{what}: no metadata on passed packets");
        let d = delta(before, program.counters().unwrap());
        assert_eq!(
            d,
            SteerCounters {
                passed: 1,
                ..Default::default()
            },
            "{what}"
        );
    }
}

#[test]
fn malformed_headers_are_counted_and_passed() {
    let Some(program) = load() else { return };
    let good = frame(CAMERA, STREAM_PORT, None, 100);
    let mut bad_ihl = good.clone();
    bad_ihl[14] = 0x43;
    let mut bad_version = good.clone();
    bad_version[14] = 0x65;
    let mut vlan_cut = frame(CAMERA, STREAM_PORT, Some(1), 100);
    vlan_cut.truncate(16);
    let cases = [
        ("IPv4 header cut", good[..30].to_vec()),
        ("UDP header cut", good[..38].to_vec()),
        ("IHL below 5", bad_ihl),
        ("version 6 in an IPv4 ethertype", bad_version),
        ("VLAN tag cut", vlan_cut),
    ];
    for (what, bytes) in cases {
        let before = program.counters().unwrap();
        let run = program.test_run(&bytes).unwrap();
        assert_eq!(run.action, XDP_PASS, "{what}");
        assert_eq!(run.meta_len, 0, "{what}");
        let d = delta(before, program.counters().unwrap());
        assert_eq!(
            d,
            SteerCounters {
                malformed: 1,
                ..Default::default()
            },
            "{what}"
        );
    }
}

#[test]
fn unregistering_a_stream_stops_steering_it() {
    let Some(program) = load() else { return };
    let (socket, _turn) = loopback_socket();
    program.register_socket(0, socket.as_fd()).unwrap();
    let bytes = frame(CAMERA, STREAM_PORT, None, 500);
    assert_eq!(program.test_run(&bytes).unwrap().action, XDP_REDIRECT);
    assert!(program.unregister_stream(CAMERA, STREAM_PORT).unwrap());
    assert!(
        !program.unregister_stream(CAMERA, STREAM_PORT).unwrap(),
        "already gone"
    );
    let before = program.counters().unwrap();
    let run = program.test_run(&bytes).unwrap();
    assert_eq!((run.action, run.meta_len), (XDP_PASS, 0));
    assert_eq!(delta(before, program.counters().unwrap()).passed, 1);
    // And a second registration works again.
    program.register_stream(CAMERA, STREAM_PORT, 1).unwrap();
    assert!(program.test_run(&bytes).unwrap().meta.is_some());
    drop(program);
}
