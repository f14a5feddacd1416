//! The GVCP server fed with datagrams, good and bad, in virtual time.

use std::net::{Ipv4Addr, SocketAddrV4};

use gvcap::clock::TestClock;
use gvcap::wire::gvcp::{flags, AckRepr};

use super::*;
use crate::gvsim::config::CameraConfig;
use crate::gvsim::oscillator::Oscillator;
use crate::gvsim::ptp::{PtpMode, PtpSlave};
use crate::gvsim::regmap as r;

const START: u64 = 1_000_000_000_000;
const MS: u64 = 1_000_000;
const APP: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 50_000);
const OTHER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 50_001);

fn server(drop_ratio: f64) -> ControlServer {
    let host = TestClock::new(START);
    let config = CameraConfig::new("CTL1", Ipv4Addr::new(10, 0, 0, 9));
    let clock = Arc::new(Oscillator::new(Arc::new(host), 0, 0.0));
    let ptp = Arc::new(Mutex::new(PtpSlave::new(
        Default::default(),
        0,
        PtpMode::Off,
    )));
    let device = Arc::new(Mutex::new(Device::new(&config, clock, ptp)));
    ControlServer::new(device, 5, drop_ratio)
}

fn command(repr: &CommandRepr, id: u16) -> Vec<u8> {
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(id, flags::ACK_REQUIRED, &mut buf).unwrap();
    buf
}

/// Sends a command and parses the single immediate answer.
fn ask(
    s: &mut ControlServer,
    now: u64,
    from: SocketAddrV4,
    repr: &CommandRepr,
    id: u16,
) -> (Status, AckRepr) {
    let out = s.handle(now, from, &command(repr, id));
    assert_eq!(out.len(), 1, "{repr:?}: {out:?}");
    assert_eq!(out[0].to, from);
    let (header, ack) = AckRepr::parse(&out[0].bytes).unwrap();
    assert_eq!(header.ack_id, id);
    (header.status, ack)
}

fn write(addr: u32, value: u32) -> CommandRepr {
    CommandRepr::WriteReg {
        writes: vec![(addr, value)],
    }
}

fn read(addr: u32) -> CommandRepr {
    CommandRepr::ReadReg {
        addresses: vec![addr],
    }
}

#[test]
fn discovery_and_reads_work_for_anyone() {
    let mut s = server(0.0);
    let (status, ack) = ask(&mut s, START, APP, &CommandRepr::Discovery, 1);
    assert_eq!(status, Status::Success);
    let AckRepr::Discovery(id) = ack else {
        panic!("{ack:?}")
    };
    assert_eq!(
        (id.serial.as_str(), id.ip),
        ("CTL1", Ipv4Addr::new(10, 0, 0, 9))
    );
    let (status, ack) = ask(
        &mut s,
        START,
        OTHER,
        &CommandRepr::ReadReg {
            addresses: vec![r::WIDTH, r::HEIGHT, bs::GVCP_CAPABILITY],
        },
        2,
    );
    assert_eq!(status, Status::Success);
    assert_eq!(
        ack,
        AckRepr::ReadReg {
            values: vec![1280, 1024, super::super::device::GVCP_CAPABILITY]
        }
    );
}

#[test]
fn writes_need_privilege_and_privilege_is_exclusive_to_its_holder() {
    let mut s = server(0.0);
    assert_eq!(
        ask(&mut s, START, APP, &write(r::WIDTH, 640), 1).0,
        Status::AccessDenied
    );
    assert_eq!(
        ask(&mut s, START, APP, &write(bs::CCP, bs::CCP_CONTROL), 2).0,
        Status::Success
    );
    assert_eq!(s.primary(), Some(APP));
    assert_eq!(
        ask(&mut s, START, APP, &read(bs::CCP), 3).1,
        AckRepr::ReadReg {
            values: vec![bs::CCP_CONTROL]
        }
    );
    assert_eq!(
        ask(&mut s, START, OTHER, &read(bs::CCP), 4).1,
        AckRepr::ReadReg { values: vec![0] }
    );
    assert_eq!(
        ask(&mut s, START, OTHER, &read(bs::PRIMARY_APPLICATION_PORT), 5).1,
        AckRepr::ReadReg {
            values: vec![50_000]
        }
    );
    assert_eq!(
        ask(&mut s, START, APP, &write(r::WIDTH, 640), 6).0,
        Status::Success
    );
    assert_eq!(
        ask(&mut s, START, OTHER, &write(bs::CCP, bs::CCP_CONTROL), 7).0,
        Status::AccessDenied
    );
    assert_eq!(
        ask(&mut s, START, OTHER, &write(r::WIDTH, 320), 8).0,
        Status::AccessDenied
    );
    // Control (not exclusive): others still read.
    assert_eq!(
        ask(&mut s, START, OTHER, &read(r::WIDTH), 9).1,
        AckRepr::ReadReg { values: vec![640] }
    );
    // Exclusive: others may not even read.
    assert_eq!(
        ask(&mut s, START, APP, &write(bs::CCP, bs::CCP_EXCLUSIVE), 10).0,
        Status::Success
    );
    assert_eq!(
        ask(&mut s, START, OTHER, &read(r::WIDTH), 11).0,
        Status::AccessDenied
    );
    let mem = CommandRepr::ReadMem {
        address: r::WIDTH,
        count: 4,
    };
    assert_eq!(ask(&mut s, START, OTHER, &mem, 12).0, Status::AccessDenied);
    // Released: free again.
    assert_eq!(
        ask(&mut s, START, APP, &write(bs::CCP, 0), 13).0,
        Status::Success
    );
    assert_eq!(
        ask(&mut s, START, OTHER, &write(bs::CCP, bs::CCP_CONTROL), 14).0,
        Status::Success
    );
}

#[test]
fn privilege_expires_without_heartbeats_and_stops_acquisition() {
    let mut s = server(0.0);
    ask(&mut s, START, APP, &write(bs::CCP, bs::CCP_CONTROL), 1);
    ask(&mut s, START, APP, &write(bs::HEARTBEAT_TIMEOUT, 100), 2);
    // Clamped to the 500 ms minimum.
    assert_eq!(
        ask(&mut s, START, APP, &read(bs::HEARTBEAT_TIMEOUT), 3).1,
        AckRepr::ReadReg { values: vec![500] }
    );
    ask(&mut s, START, APP, &write(r::ACQUISITION_START, 1), 4);
    // Heartbeats every 400 ms keep it.
    for k in 1..=5u16 {
        ask(
            &mut s,
            START + u64::from(k) * 400 * MS,
            APP,
            &read(bs::CCP),
            10 + k,
        );
    }
    assert_eq!(s.primary(), Some(APP));
    let last = START + 2000 * MS;
    s.poll(last + 499 * MS);
    assert_eq!(s.primary(), Some(APP));
    s.poll(last + 501 * MS);
    assert_eq!(s.primary(), None);
    assert_eq!(s.counters().heartbeat_expiries, 1);
    assert!(
        !lock(s.device()).acquiring(),
        "acquisition stops with the lost privilege"
    );
    assert_eq!(
        ask(
            &mut s,
            last + 600 * MS,
            OTHER,
            &write(bs::CCP, bs::CCP_CONTROL),
            30
        )
        .0,
        Status::Success
    );
    // With the heartbeat disabled, privilege does not expire.
    ask(
        &mut s,
        last + 600 * MS,
        OTHER,
        &write(
            bs::GVCP_CONFIGURATION,
            bs::GVCP_CONFIGURATION_HEARTBEAT_DISABLE,
        ),
        31,
    );
    s.poll(last + 3_600_000 * MS);
    assert_eq!(s.primary(), Some(OTHER));
}

#[test]
fn malformed_commands_get_the_right_status_and_never_panic() {
    let mut s = server(0.0);
    // Too short or wrong key: no answer.
    assert!(s.handle(START, APP, &[0x42, 0x01, 0x00]).is_empty());
    assert!(s
        .handle(
            START,
            APP,
            &[0x43, 0x01, 0x00, 0x80, 0, 4, 0, 1, 0, 0, 0, 0]
        )
        .is_empty());
    let status_of = |out: Vec<Outgoing>| -> (Status, u16) {
        assert_eq!(out.len(), 1, "{out:?}");
        let packet = AckPacket::new_checked(&out[0].bytes[..]).unwrap();
        (packet.status(), packet.answer())
    };
    // Declares 8 payload bytes, carries 4.
    let out = s.handle(
        START,
        APP,
        &[0x42, 0x01, 0x00, 0x80, 0, 8, 0, 2, 0, 0, 0, 0],
    );
    assert_eq!(status_of(out), (Status::InvalidHeader, 0x0081));
    // Unknown command.
    let out = s.handle(START, APP, &[0x42, 0x01, 0x12, 0x34, 0, 0, 0, 3]);
    assert_eq!(status_of(out), (Status::NotImplemented, 0x1235));
    // READREG with 6 bytes of addresses.
    let out = s.handle(
        START,
        APP,
        &[0x42, 0x01, 0x00, 0x80, 0, 6, 0, 4, 0, 0, 0, 0, 0, 0],
    );
    assert_eq!(status_of(out), (Status::InvalidParameter, 0x0081));
    // Misaligned register, unknown register, misaligned and oversized READMEM.
    assert_eq!(
        ask(&mut s, START, APP, &read(0x0002), 5).0,
        Status::BadAlignment
    );
    assert_eq!(
        ask(&mut s, START, APP, &read(0x0F00), 6).0,
        Status::InvalidAddress
    );
    assert_eq!(
        ask(
            &mut s,
            START,
            APP,
            &CommandRepr::ReadMem {
                address: 2,
                count: 4
            },
            7
        )
        .0,
        Status::BadAlignment
    );
    let odd = s.handle(
        START,
        APP,
        &[
            0x42, 0x01, 0x00, 0x84, 0, 8, 0, 8, 0, 0, 0, 0, 0, 0, 0x00, 0x06,
        ],
    );
    assert_eq!(status_of(odd), (Status::BadAlignment, 0x0085));
    let big = s.handle(
        START,
        APP,
        &[
            0x42, 0x01, 0x00, 0x84, 0, 8, 0, 9, 0, 0, 0, 0, 0, 0, 0x02, 0x1C,
        ],
    );
    assert_eq!(status_of(big), (Status::InvalidParameter, 0x0085));
    // Read-only register, with privilege.
    ask(&mut s, START, APP, &write(bs::CCP, bs::CCP_CONTROL), 10);
    assert_eq!(
        ask(&mut s, START, APP, &write(bs::DEVICE_MODE, 0), 11).0,
        Status::WriteProtect
    );
    assert_eq!(
        ask(&mut s, START, APP, &write(r::PAYLOAD_SIZE, 0), 12).0,
        Status::WriteProtect
    );
    let (status, ack) = ask(
        &mut s,
        START,
        APP,
        &CommandRepr::WriteReg {
            writes: vec![(r::WIDTH, 320), (r::SENSOR_WIDTH, 1), (r::HEIGHT, 100)],
        },
        13,
    );
    assert_eq!(
        (status, ack),
        (Status::WriteProtect, AckRepr::WriteReg { index: 1 })
    );
    assert_eq!(
        ask(&mut s, START, APP, &read(r::HEIGHT), 14).1,
        AckRepr::ReadReg { values: vec![1024] }
    );
    // EVENT is something a device sends, never receives.
    let event = [
        0x42, 0x01, 0x00, 0xC0, 0, 12, 0, 15, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    assert_eq!(
        status_of(s.handle(START, APP, &event)),
        (Status::NotImplemented, 0x00C1)
    );
    // Random datagrams: answered or not, never a panic.
    let mut rng = Rng::new(99);
    for len in 0..600usize {
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        if len >= 1 && rng.chance(0.7) {
            bytes[0] = 0x42;
        }
        if len >= 6 {
            let declared = (len as u16).saturating_sub(8);
            bytes[4..6].copy_from_slice(&declared.to_be_bytes());
        }
        let _ = s.handle(START, OTHER, &bytes);
    }
}

#[test]
fn retransmissions_are_answered_once_and_slow_writes_pend() {
    let mut s = server(0.0);
    ask(&mut s, START, APP, &write(bs::CCP, bs::CCP_CONTROL), 1);
    ask(&mut s, START, APP, &write(r::USER_SET_SELECTOR, 1), 2);
    // Without PENDING_ACK enabled: one late acknowledge.
    let out = s.handle(START, APP, &command(&write(r::USER_SET_SAVE, 1), 3));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].delay, crate::gvsim::device::USER_SET_TIME);
    // The same request again is answered from the cache, not re-executed.
    let again = s.handle(START + MS, APP, &command(&write(r::USER_SET_SAVE, 1), 3));
    assert_eq!(again, out);
    assert_eq!(s.counters().duplicates, 1);
    // With PENDING_ACK enabled: PENDING_ACK now, the acknowledge later.
    ask(
        &mut s,
        START,
        APP,
        &write(
            bs::GVCP_CONFIGURATION,
            bs::GVCP_CONFIGURATION_PENDING_ACK_ENABLE,
        ),
        4,
    );
    let out = s.handle(START, APP, &command(&write(r::USER_SET_SAVE, 1), 5));
    assert_eq!(out.len(), 2);
    let (h, pending) = AckRepr::parse(&out[0].bytes).unwrap();
    assert_eq!((h.ack_id, out[0].delay), (5, Duration::ZERO));
    assert!(
        matches!(pending, AckRepr::PendingAck { time_to_completion_ms } if time_to_completion_ms >= 600)
    );
    let (h, done) = AckRepr::parse(&out[1].bytes).unwrap();
    assert_eq!(
        (h.status, done),
        (Status::Success, AckRepr::WriteReg { index: 1 })
    );
    assert_eq!(out[1].delay, crate::gvsim::device::USER_SET_TIME);
}

#[test]
fn actions_need_a_primary_resends_are_queued_and_faults_withhold() {
    let mut s = server(0.0);
    let action = CommandRepr::Action {
        device_key: 0,
        group_key: 0,
        group_mask: 0,
        action_time: None,
    };
    assert!(
        s.handle(START, OTHER, &command(&action, 1)).is_empty(),
        "no primary: ignored"
    );
    ask(&mut s, START, APP, &write(bs::CCP, bs::CCP_CONTROL), 2);
    ask(&mut s, START, APP, &write(bs::action_group_mask(0), 1), 3);
    let action = CommandRepr::Action {
        device_key: 0,
        group_key: 0,
        group_mask: 1,
        action_time: None,
    };
    assert_eq!(ask(&mut s, START, OTHER, &action, 4).0, Status::Success);
    let resend = CommandRepr::PacketResend {
        channel: 0,
        block_id: 3,
        first_packet: 1,
        last_packet: 5,
        extended: true,
    };
    assert!(s.handle(START, OTHER, &command(&resend, 5)).is_empty());
    assert_eq!(
        lock(s.device()).take_resend(),
        Some(ResendRequest {
            block_id: 3,
            first: 1,
            last: 5,
            extended: true
        })
    );
    // Silent camera: nothing at all.
    s.set_silent(true);
    assert!(s
        .handle(START, APP, &command(&CommandRepr::Discovery, 6))
        .is_empty());
    // Withheld acknowledges: about the configured share.
    let mut lossy = server(0.3);
    let answered = (0..1000u16)
        .filter(|k| {
            !lossy
                .handle(START, APP, &command(&CommandRepr::Discovery, k + 1))
                .is_empty()
        })
        .count();
    assert!((600..800).contains(&answered), "{answered}");
    assert_eq!(lossy.counters().withheld as usize, 1000 - answered);
}
