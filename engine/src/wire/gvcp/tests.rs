//! Fixed-byte tests for every GVCP message: parse, emit and round trip.
//!
//! The byte strings are written by hand from the layouts in the GigE Vision
//! specification, independently of the emit code they check.

use std::net::Ipv4Addr;

use super::*;
use crate::wire::{Status, WireError};

/// Turns "42 01 00 80" into bytes; panics on a typo, which is a test bug.
fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("bad hex in test"))
        .collect()
}

/// Asserts that `bytes` parses to `repr` with these header fields and that emitting
/// `repr` with them gives `bytes` back.
fn check_command(bytes: &[u8], flags: u8, req_id: u16, repr: &CommandRepr) {
    let (header, parsed) = CommandRepr::parse(bytes).expect("parse");
    assert_eq!(&parsed, repr);
    assert_eq!(header.flags, flags);
    assert_eq!(header.req_id, req_id);
    assert_eq!(header.command, repr.command_code());
    assert_eq!(usize::from(header.length), repr.payload_len());
    let mut out = vec![0xAAu8; repr.buffer_len() + 3];
    let n = repr.emit(req_id, flags, &mut out).expect("emit");
    assert_eq!(n, bytes.len());
    assert_eq!(&out[..n], bytes);
    assert_eq!(&out[n..], &[0xAA; 3], "emit wrote past its length");
}

fn check_ack(bytes: &[u8], status: Status, ack_id: u16, repr: &AckRepr) {
    let (header, parsed) = AckRepr::parse(bytes).expect("parse");
    assert_eq!(&parsed, repr);
    assert_eq!(header.status, status);
    assert_eq!(header.ack_id, ack_id);
    assert_eq!(header.answer, repr.answer_code());
    let mut out = vec![0x55u8; repr.buffer_len()];
    let n = repr.emit(status, ack_id, &mut out).expect("emit");
    assert_eq!(&out[..n], bytes);
}

#[test]
fn discovery_command() {
    let bytes = hex("42 11 00 02 00 00 00 01");
    check_command(
        &bytes,
        flags::ACK_REQUIRED | flags::ALLOW_BROADCAST_ACK,
        1,
        &CommandRepr::Discovery,
    );
}

#[test]
fn forceip_command() {
    let bytes = hex("42 01 00 04 00 38 00 02 \
         00 00 00 11 22 33 44 55 00 00 00 00 00 00 00 00 00 00 00 00 \
         a9 fe 01 02 00 00 00 00 00 00 00 00 00 00 00 00 \
         ff ff 00 00 00 00 00 00 00 00 00 00 00 00 00 00 \
         00 00 00 00");
    let repr = CommandRepr::ForceIp {
        mac: [0x00, 0x11, 0x22, 0x33, 0x44, 0x55],
        ip: Ipv4Addr::new(169, 254, 1, 2),
        mask: Ipv4Addr::new(255, 255, 0, 0),
        gateway: Ipv4Addr::UNSPECIFIED,
    };
    check_command(&bytes, flags::ACK_REQUIRED, 2, &repr);
}

#[test]
fn readreg_command_with_two_addresses() {
    let bytes = hex("42 01 00 80 00 08 00 05 00 00 0a 00 00 00 0d 04");
    let repr = CommandRepr::ReadReg {
        addresses: vec![0x0A00, 0x0D04],
    };
    check_command(&bytes, flags::ACK_REQUIRED, 5, &repr);
}

#[test]
fn writereg_command() {
    let bytes = hex("42 01 00 82 00 10 00 06 00 00 0a 00 00 00 00 02 00 00 0d 00 00 00 c3 50");
    let repr = CommandRepr::WriteReg {
        writes: vec![(0x0A00, 2), (0x0D00, 50000)],
    };
    check_command(&bytes, flags::ACK_REQUIRED, 6, &repr);
}

#[test]
fn readmem_command() {
    let bytes = hex("42 01 00 84 00 08 00 07 00 00 02 00 00 00 02 00");
    let repr = CommandRepr::ReadMem {
        address: 0x200,
        count: 0x200,
    };
    check_command(&bytes, flags::ACK_REQUIRED, 7, &repr);
}

#[test]
fn writemem_command() {
    let bytes = hex("42 01 00 86 00 0c 00 08 00 01 00 00 de ad be ef 01 02 03 04");
    let repr = CommandRepr::WriteMem {
        address: 0x0001_0000,
        data: vec![0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3, 4],
    };
    check_command(&bytes, flags::ACK_REQUIRED, 8, &repr);
}

#[test]
fn packetresend_standard_ids() {
    let bytes = hex("42 00 00 40 00 0c 00 09 00 00 12 34 00 00 00 05 00 00 00 07");
    let repr = CommandRepr::PacketResend {
        channel: 0,
        block_id: 0x1234,
        first_packet: 5,
        last_packet: 7,
        extended: false,
    };
    check_command(&bytes, 0, 9, &repr);
    assert_eq!(repr.ack_code(), None);
}

#[test]
fn packetresend_extended_ids() {
    let bytes = hex(
        "42 10 00 40 00 14 00 0a 00 01 00 00 01 00 00 05 01 00 00 07 \
         00 00 00 01 00 00 00 02",
    );
    let repr = CommandRepr::PacketResend {
        channel: 1,
        block_id: 0x1_0000_0002,
        first_packet: 0x0100_0005,
        last_packet: 0x0100_0007,
        extended: true,
    };
    check_command(&bytes, flags::EXTENDED_ID, 10, &repr);
}

#[test]
fn packetresend_standard_ignores_reserved_high_byte_of_packet_ids() {
    let bytes = hex("42 00 00 40 00 0c 00 09 00 00 12 34 ff 00 00 05 ff 00 00 07");
    let (_, repr) = CommandRepr::parse(&bytes).unwrap();
    assert!(matches!(
        repr,
        CommandRepr::PacketResend {
            first_packet: 5,
            last_packet: 7,
            ..
        }
    ));
}

#[test]
fn action_command_immediate_and_scheduled() {
    let bytes = hex("42 01 01 00 00 0c 00 0b 00 00 00 01 00 00 00 02 ff ff ff ff");
    let repr = CommandRepr::Action {
        device_key: 1,
        group_key: 2,
        group_mask: 0xFFFF_FFFF,
        action_time: None,
    };
    check_command(&bytes, flags::ACK_REQUIRED, 11, &repr);

    let bytes = hex(
        "42 81 01 00 00 14 00 0c 00 00 00 01 00 00 00 02 00 00 00 01 \
         17 d7 84 00 00 00 00 00",
    );
    let repr = CommandRepr::Action {
        device_key: 1,
        group_key: 2,
        group_mask: 1,
        action_time: Some(0x17D7_8400_0000_0000),
    };
    check_command(
        &bytes,
        flags::ACK_REQUIRED | flags::SCHEDULED_ACTION,
        12,
        &repr,
    );
}

#[test]
fn emit_derives_owned_flag_bits_from_the_repr() {
    let repr = CommandRepr::Action {
        device_key: 1,
        group_key: 2,
        group_mask: 3,
        action_time: None,
    };
    let mut out = [0u8; 32];
    repr.emit(1, 0x81, &mut out).unwrap();
    assert_eq!(out[1], 0x01, "scheduled bit must follow action_time");
    let resend = CommandRepr::PacketResend {
        channel: 0,
        block_id: 1,
        first_packet: 1,
        last_packet: 1,
        extended: true,
    };
    resend.emit(1, 0, &mut out).unwrap();
    assert_eq!(out[1], flags::EXTENDED_ID);
}

#[test]
fn event_command_standard_two_records() {
    let bytes = hex("42 01 00 c0 00 20 00 0d \
         00 00 90 01 00 00 00 2a 00 00 00 00 00 00 01 00 \
         00 00 00 07 ff ff 00 00 00 00 00 00 00 00 02 00");
    let repr = CommandRepr::Event {
        extended: false,
        events: vec![
            EventRecord {
                event_id: 0x9001,
                channel: 0,
                block_id: 42,
                timestamp: 0x100,
            },
            EventRecord {
                event_id: 0x0007,
                channel: 0xFFFF,
                block_id: 0,
                timestamp: 0x200,
            },
        ],
    };
    check_command(&bytes, flags::ACK_REQUIRED, 13, &repr);
}

#[test]
fn eventdata_command_standard_and_extended() {
    let bytes = hex("42 01 00 c2 00 14 00 0e \
         00 00 90 02 00 00 00 03 00 00 00 00 00 00 00 09 \
         01 02 03 04");
    let event = EventRecord {
        event_id: 0x9002,
        channel: 0,
        block_id: 3,
        timestamp: 9,
    };
    let repr = CommandRepr::EventData {
        extended: false,
        event,
        data: vec![1, 2, 3, 4],
    };
    check_command(&bytes, flags::ACK_REQUIRED, 14, &repr);

    let bytes = hex("42 11 00 c2 00 1c 00 0f \
         00 1c 90 02 00 00 00 00 00 00 00 00 00 00 00 03 00 00 00 00 00 00 00 09 \
         01 02 03 04");
    let repr = CommandRepr::EventData {
        extended: true,
        event,
        data: vec![1, 2, 3, 4],
    };
    check_command(&bytes, flags::ACK_REQUIRED | flags::EXTENDED_ID, 15, &repr);
}

#[test]
fn command_parse_errors() {
    // Wrong key.
    assert_eq!(
        CommandRepr::parse(&hex("43 01 00 02 00 00 00 01")),
        Err(WireError::BadKey(0x43))
    );
    // Unknown code.
    assert_eq!(
        CommandRepr::parse(&hex("42 01 12 34 00 00 00 01")),
        Err(WireError::UnknownCommand(0x1234))
    );
    // READREG with a partial address.
    assert_eq!(
        CommandRepr::parse(&hex("42 01 00 80 00 06 00 01 00 00 0a 00 00 00")),
        Err(WireError::BadLength)
    );
    // READREG with no address.
    assert_eq!(
        CommandRepr::parse(&hex("42 01 00 80 00 00 00 01")),
        Err(WireError::BadLength)
    );
    // WRITEREG with an address and no value.
    assert_eq!(
        CommandRepr::parse(&hex("42 01 00 82 00 04 00 01 00 00 0a 00")),
        Err(WireError::BadLength)
    );
    // Declared length longer than the datagram.
    assert_eq!(
        CommandRepr::parse(&hex("42 01 00 84 00 08 00 01 00 00 02 00")),
        Err(WireError::Truncated)
    );
    // Scheduled ACTION without its time.
    assert_eq!(
        CommandRepr::parse(&hex(
            "42 81 01 00 00 0c 00 01 00 00 00 01 00 00 00 02 00 00 00 01"
        )),
        Err(WireError::BadLength)
    );
    // Extended EVENTDATA whose event size overruns the payload.
    let mut bytes = hex("42 11 00 c2 00 18 00 0f \
         00 40 90 02 00 00 00 00 00 00 00 00 00 00 00 03 00 00 00 00 00 00 00 09");
    assert_eq!(CommandRepr::parse(&bytes), Err(WireError::BadLength));
    bytes[9] = 0x10; // size smaller than one record
    assert_eq!(CommandRepr::parse(&bytes), Err(WireError::BadLength));
}

#[test]
fn command_emit_refuses_what_a_device_would_reject() {
    let mut out = [0u8; 600];
    let cases = [
        CommandRepr::ReadReg { addresses: vec![] },
        CommandRepr::ReadReg {
            addresses: vec![0; MAX_READREG + 1],
        },
        CommandRepr::WriteReg {
            writes: vec![(0, 0); MAX_WRITEREG + 1],
        },
        CommandRepr::ReadMem {
            address: 0,
            count: 3,
        },
        CommandRepr::ReadMem {
            address: 0,
            count: 0,
        },
        CommandRepr::ReadMem {
            address: 0,
            count: 540,
        },
        CommandRepr::WriteMem {
            address: 0,
            data: vec![1, 2, 3],
        },
        CommandRepr::WriteMem {
            address: 0,
            data: vec![0; MAX_MEMORY_DATA + 4],
        },
        CommandRepr::PacketResend {
            channel: 0,
            block_id: 0x1_0000,
            first_packet: 1,
            last_packet: 1,
            extended: false,
        },
        CommandRepr::PacketResend {
            channel: 0,
            block_id: 1,
            first_packet: 0x0100_0000,
            last_packet: 1,
            extended: false,
        },
        CommandRepr::Event {
            extended: false,
            events: vec![],
        },
    ];
    for repr in &cases {
        assert_eq!(
            repr.emit(1, 1, &mut out),
            Err(WireError::BadValue),
            "{repr:?}"
        );
    }
    let event = EventRecord {
        event_id: 1,
        channel: 0,
        block_id: 0x1_0000,
        timestamp: 0,
    };
    let repr = CommandRepr::Event {
        extended: false,
        events: vec![event],
    };
    assert_eq!(repr.emit(1, 1, &mut out), Err(WireError::BadValue));
    let repr = CommandRepr::EventData {
        extended: false,
        event: EventRecord {
            block_id: 1,
            ..event
        },
        data: vec![0; MAX_PAYLOAD],
    };
    assert_eq!(repr.emit(1, 1, &mut out), Err(WireError::PayloadTooLong));
}

#[test]
fn largest_requests_fit_and_small_buffers_are_refused() {
    let repr = CommandRepr::ReadReg {
        addresses: (0..MAX_READREG as u32).map(|i| i * 4).collect(),
    };
    let mut out = [0u8; HEADER_LEN + MAX_PAYLOAD];
    assert_eq!(repr.emit(1, 1, &mut out), Ok(HEADER_LEN + MAX_PAYLOAD));
    assert_eq!(
        repr.emit(1, 1, &mut out[..100]),
        Err(WireError::BufferTooSmall {
            needed: HEADER_LEN + MAX_PAYLOAD
        })
    );
    let repr = CommandRepr::WriteMem {
        address: 0,
        data: vec![7; MAX_MEMORY_DATA],
    };
    assert_eq!(repr.emit(1, 1, &mut out), Ok(HEADER_LEN + MAX_PAYLOAD));
}

#[test]
fn readreg_ack() {
    let bytes = hex("00 00 00 81 00 08 00 05 00 00 00 02 00 00 05 dc");
    check_ack(
        &bytes,
        Status::Success,
        5,
        &AckRepr::ReadReg {
            values: vec![2, 1500],
        },
    );
}

#[test]
fn writereg_and_writemem_acks() {
    let bytes = hex("00 00 00 83 00 04 00 06 00 00 00 02");
    check_ack(&bytes, Status::Success, 6, &AckRepr::WriteReg { index: 2 });
    let bytes = hex("80 04 00 87 00 04 00 08 00 00 00 04");
    check_ack(
        &bytes,
        Status::WriteProtect,
        8,
        &AckRepr::WriteMem { index: 4 },
    );
}

#[test]
fn readmem_ack() {
    let bytes = hex("00 00 00 85 00 0c 00 07 00 00 02 00 4c 6f 63 61 6c 3a 00 00");
    let repr = AckRepr::ReadMem {
        address: 0x200,
        data: b"Local:\0\0".to_vec(),
    };
    check_ack(&bytes, Status::Success, 7, &repr);
}

#[test]
fn pending_ack() {
    let bytes = hex("00 00 00 89 00 04 00 07 00 00 01 f4");
    check_ack(
        &bytes,
        Status::Success,
        7,
        &AckRepr::PendingAck {
            time_to_completion_ms: 500,
        },
    );
}

#[test]
fn payloadless_acks() {
    check_ack(
        &hex("00 00 00 05 00 00 00 02"),
        Status::Success,
        2,
        &AckRepr::ForceIp,
    );
    check_ack(
        &hex("00 00 00 c1 00 00 00 03"),
        Status::Success,
        3,
        &AckRepr::Event,
    );
    check_ack(
        &hex("00 00 00 c3 00 00 00 04"),
        Status::Success,
        4,
        &AckRepr::EventData,
    );
    check_ack(
        &hex("80 13 01 01 00 00 00 0b"),
        Status::NoRefTime,
        11,
        &AckRepr::Action,
    );
}

#[test]
fn rejected_command_yields_its_status_not_a_wire_error() {
    let bytes = hex("80 06 00 81 00 00 00 05");
    check_ack(
        &bytes,
        Status::AccessDenied,
        5,
        &AckRepr::Empty {
            answer: code::READREG_ACK,
        },
    );
    let (header, _) = AckRepr::parse(&hex("80 01 00 03 00 00 00 09")).unwrap();
    assert_eq!(header.status, Status::NotImplemented);
    let mut out = [0u8; 8];
    assert_eq!(
        AckRepr::Empty {
            answer: code::ACTION_ACK
        }
        .emit(Status::Error, 1, &mut out),
        Err(WireError::BadValue)
    );
}

fn sample_discovery() -> DiscoveryAck {
    DiscoveryAck {
        spec_version_major: 2,
        spec_version_minor: 1,
        device_mode: 0x8000_0001,
        mac: [0x02, 0x00, 0x00, 0xAB, 0xCD, 0xEF],
        ip_config_options: 0x0000_0007,
        ip_config_current: 0x0000_0004,
        ip: Ipv4Addr::new(169, 254, 10, 20),
        mask: Ipv4Addr::new(255, 255, 0, 0),
        gateway: Ipv4Addr::new(0, 0, 0, 0),
        manufacturer: "Acme".into(),
        model: "Cam-1".into(),
        device_version: "1.0".into(),
        manufacturer_info: "info".into(),
        serial: "SN42".into(),
        user_name: "left".into(),
    }
}

#[test]
fn discovery_ack_layout_mirrors_bootstrap_registers() {
    let mut bytes = hex("00 00 00 03 00 f8 00 01");
    let mut payload = vec![0u8; DISCOVERY_ACK_LEN];
    payload[0x00..0x04].copy_from_slice(&[0, 2, 0, 1]);
    payload[0x04..0x08].copy_from_slice(&[0x80, 0, 0, 1]);
    payload[0x0A..0x10].copy_from_slice(&[0x02, 0x00, 0x00, 0xAB, 0xCD, 0xEF]);
    payload[0x13] = 7;
    payload[0x17] = 4;
    payload[0x24..0x28].copy_from_slice(&[169, 254, 10, 20]);
    payload[0x34..0x38].copy_from_slice(&[255, 255, 0, 0]);
    payload[0x48..0x4C].copy_from_slice(b"Acme");
    payload[0x68..0x6D].copy_from_slice(b"Cam-1");
    payload[0x88..0x8B].copy_from_slice(b"1.0");
    payload[0xA8..0xAC].copy_from_slice(b"info");
    payload[0xD8..0xDC].copy_from_slice(b"SN42");
    payload[0xE8..0xEC].copy_from_slice(b"left");
    bytes.extend_from_slice(&payload);
    check_ack(
        &bytes,
        Status::Success,
        1,
        &AckRepr::Discovery(Box::new(sample_discovery())),
    );
}

#[test]
fn discovery_ack_strings_must_leave_room_for_nul() {
    let mut ack = sample_discovery();
    ack.serial = "0123456789ABCDEF".into(); // 16 bytes: no room for the terminator
    let mut out = [0u8; 300];
    assert_eq!(
        AckRepr::Discovery(Box::new(ack.clone())).emit(Status::Success, 1, &mut out),
        Err(WireError::BadValue)
    );
    ack.serial = "0123456789ABCDE".into();
    assert!(AckRepr::Discovery(Box::new(ack))
        .emit(Status::Success, 1, &mut out)
        .is_ok());
}

#[test]
fn discovery_ack_tolerates_unterminated_field() {
    let mut bytes = hex("00 00 00 03 00 f8 00 01");
    let mut payload = vec![0u8; DISCOVERY_ACK_LEN];
    payload[0xD8..0xE8].copy_from_slice(b"0123456789ABCDEF");
    payload[0xE8..0xF8].copy_from_slice(b"fedcba9876543210");
    bytes.extend_from_slice(&payload);
    let (_, repr) = AckRepr::parse(&bytes).unwrap();
    let AckRepr::Discovery(ack) = repr else {
        panic!("expected a discovery ack, got {repr:?}");
    };
    assert_eq!(ack.serial, "0123456789ABCDEF");
    assert_eq!(ack.user_name, "fedcba9876543210");
}

#[test]
fn ack_parse_errors() {
    // Unknown acknowledge code (PACKETRESEND is never acknowledged).
    assert_eq!(
        AckRepr::parse(&hex("00 00 00 41 00 00 00 01")),
        Err(WireError::UnknownAck(0x41))
    );
    // Discovery payload too short.
    assert_eq!(
        AckRepr::parse(&hex("00 00 00 03 00 04 00 01 00 02 00 01")),
        Err(WireError::BadLength)
    );
    // READREG values not word-aligned.
    assert_eq!(
        AckRepr::parse(&hex("00 00 00 81 00 02 00 01 00 01")),
        Err(WireError::BadLength)
    );
    // WRITEREG ack with a short index field.
    assert_eq!(
        AckRepr::parse(&hex("00 00 00 83 00 02 00 01 00 01")),
        Err(WireError::BadLength)
    );
    // Header only, truncated.
    assert_eq!(
        AckRepr::parse(&hex("00 00 00 81 00")),
        Err(WireError::Truncated)
    );
}
