//! The steering program's decisions, run in the kernel on crafted frames
//! with `BPF_PROG_TEST_RUN` (no interface needed, but root for BPF).
//!
//! With no AF_XDP socket in the XSKMAP a registered stream's packet comes
//! back as XDP_PASS counted `no_socket`: that, and the metadata in front of
//! it, is how these tests see that the program chose to steer it.

mod xdp_support;

use std::net::{Ipv4Addr, SocketAddrV4};

use gvcap::xdp::headers::build_udp_frame;
use gvcap::xdp::loader::{XDP_PASS, XDP_REDIRECT};
use gvcap::xdp::{SteerCounters, SteerProgram, Variant};
use rustix::time::{clock_gettime_dynamic, DynamicClockId};

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

#[test]
fn registered_stream_is_steered_with_a_software_timestamp() {
    let Some(program) = load() else { return };
    for (vlan, len) in [(None, 1400), (Some(0x0123), 1400), (None, 8000)] {
        let before = program.counters().unwrap();
        let t0 = tai_ns();
        let run = program
            .test_run(&frame(CAMERA, STREAM_PORT, vlan, len))
            .unwrap();
        let t1 = tai_ns();
        assert_eq!(
            run.action, XDP_PASS,
            "no socket registered: falls back to the kernel"
        );
        assert_ne!(run.action, XDP_REDIRECT);
        let meta = run
            .meta
            .unwrap_or_else(|| panic!("metadata written (vlan {vlan:?}, len {len})"));
        assert!(!meta.hw_stamp, "a test run has no hardware stamp");
        assert!(
            (t0..=t1).contains(&meta.rx_timestamp_ns),
            "CLOCK_TAI stamp {} within [{t0}, {t1}]",
            meta.rx_timestamp_ns
        );
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
    let bytes = frame(CAMERA, STREAM_PORT, None, 500);
    assert!(program.test_run(&bytes).unwrap().meta.is_some());
    assert!(program.unregister_stream(CAMERA, STREAM_PORT).unwrap());
    assert!(
        !program.unregister_stream(CAMERA, STREAM_PORT).unwrap(),
        "already gone"
    );
    let before = program.counters().unwrap();
    let run = program.test_run(&bytes).unwrap();
    assert_eq!(run.meta_len, 0);
    assert_eq!(delta(before, program.counters().unwrap()).passed, 1);
    // And a second registration works again.
    program.register_stream(CAMERA, STREAM_PORT, 1).unwrap();
    assert!(program.test_run(&bytes).unwrap().meta.is_some());
}
