//! Fixed-byte tests for GVSP headers, leaders and trailers: parse, emit, round trip.
//!
//! Byte strings are written by hand from the GigE Vision layouts.

use super::packet::flags;
use super::*;
use crate::wire::{Status, WireError};

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("bad hex in test"))
        .collect()
}

const STANDARD_LEADER: &str = "00 00 12 34 01 00 00 00 \
     00 00 40 01 00 00 00 01 00 00 00 02 \
     01 08 00 09 00 00 02 80 00 00 01 e0 00 00 00 10 00 00 00 20 00 04 00 00";

fn standard_image_leader() -> ImageLeader {
    ImageLeader {
        field_info: 0,
        chunk: true,
        timestamp: 0x0000_0001_0000_0002,
        pixel_format: PixelFormat::BAYER_RG8,
        size_x: 640,
        size_y: 480,
        offset_x: 16,
        offset_y: 32,
        padding_x: 4,
        padding_y: 0,
    }
}

#[test]
fn standard_leader_parse_emit_round_trip() {
    let bytes = hex(STANDARD_LEADER);
    let packet = GvspPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.status(), Status::Success);
    assert!(!packet.is_extended());
    assert_eq!(packet.packet_format(), PacketFormat::Leader);
    assert_eq!(packet.block_id(), 0x1234);
    assert_eq!(packet.packet_id(), 0);
    assert_eq!(packet.flags(), 0);
    assert!(!packet.is_resent());
    assert_eq!(packet.header_len(), HEADER_LEN);
    let leader = packet.leader().unwrap();
    assert_eq!(leader, LeaderRepr::Image(standard_image_leader()));
    assert_eq!(leader.payload_type(), 0x4001);
    assert_eq!(leader.timestamp(), Some(0x1_0000_0002));

    let header = GvspHeader::parse(&packet);
    let mut out = [0xEEu8; 64];
    let n = header.emit_leader(&leader, &mut out).unwrap();
    assert_eq!(&out[..n], &bytes[..]);
    assert_eq!(out[n], 0xEE, "emit wrote past its length");
}

#[test]
fn standard_payload_and_trailer() {
    let bytes = hex("00 00 12 34 03 00 01 02 de ad be ef");
    let packet = GvspPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.packet_format(), PacketFormat::Payload);
    assert_eq!(packet.packet_id(), 0x0102);
    assert_eq!(packet.payload(), &[0xDE, 0xAD, 0xBE, 0xEF]);
    assert_eq!(packet.leader(), Err(WireError::WrongPacketFormat(3)));
    let header = GvspHeader::parse(&packet);
    let mut out = [0u8; 12];
    assert_eq!(header.emit_payload(packet.payload(), &mut out), Ok(12));
    assert_eq!(&out[..], &bytes[..]);

    let bytes = hex("00 00 12 34 02 00 01 03 00 00 00 01 00 00 01 e0");
    let packet = GvspPacket::new_checked(&bytes[..]).unwrap();
    let trailer = packet.trailer().unwrap();
    assert_eq!(
        trailer,
        TrailerRepr::Image {
            chunk: false,
            size_y: 480
        }
    );
    let mut out = [0u8; 16];
    assert_eq!(
        GvspHeader::parse(&packet).emit_trailer(&trailer, &mut out),
        Ok(16)
    );
    assert_eq!(&out[..], &bytes[..]);
}

#[test]
fn extended_header_parse_emit_round_trip() {
    let bytes = hex(
        "00 00 00 01 83 00 00 00 00 00 00 01 00 00 00 05 01 00 00 07 \
         aa bb",
    );
    let packet = GvspPacket::new_checked(&bytes[..]).unwrap();
    assert!(packet.is_extended());
    assert_eq!(packet.packet_format(), PacketFormat::Payload);
    assert_eq!(packet.block_id(), 0x1_0000_0005);
    assert_eq!(packet.packet_id(), 0x0100_0007);
    assert_eq!(packet.flags(), flags::PACKET_RESEND);
    assert!(packet.is_resent());
    assert_eq!(packet.payload(), &[0xAA, 0xBB]);
    let header = GvspHeader::parse(&packet);
    assert_eq!(
        header,
        GvspHeader {
            status: Status::Success,
            block_id: 0x1_0000_0005,
            packet_id: 0x0100_0007,
            extended: true,
            flags: flags::PACKET_RESEND,
        }
    );
    let mut out = [0u8; 22];
    assert_eq!(header.emit_payload(&[0xAA, 0xBB], &mut out), Ok(22));
    assert_eq!(&out[..], &bytes[..]);
}

#[test]
fn resent_packets_in_standard_mode_carry_the_status() {
    let bytes = hex("01 00 00 07 03 00 00 09 ff");
    let packet = GvspPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.status(), Status::PacketResend);
    assert!(packet.is_resent());
    // The block id field is the block id, not flags, in standard mode.
    let bytes = hex("00 00 00 01 03 00 00 09 ff");
    let packet = GvspPacket::new_checked(&bytes[..]).unwrap();
    assert!(!packet.is_resent());
    assert_eq!(packet.block_id(), 1);
}

#[test]
fn truncated_headers_are_errors() {
    assert_eq!(
        GvspPacket::new_checked(&hex("00 00 12 34 01 00 00")[..]).unwrap_err(),
        WireError::Truncated
    );
    // Extended bit set but only 8 bytes.
    assert_eq!(
        GvspPacket::new_checked(&hex("00 00 00 00 81 00 00 00")[..]).unwrap_err(),
        WireError::Truncated
    );
    // A leader whose image body is cut short.
    let mut bytes = hex(STANDARD_LEADER);
    bytes.truncate(30);
    let packet = GvspPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.leader(), Err(WireError::Truncated));
    // A leader without even a payload type.
    let bytes = hex("00 00 12 34 01 00 00 00 00");
    let packet = GvspPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.leader(), Err(WireError::Truncated));
}

#[test]
fn chunk_data_leader_and_trailer() {
    let bytes = hex("00 00 00 02 01 00 00 00 00 00 00 04 00 00 00 00 00 00 00 63");
    let packet = GvspPacket::new_checked(&bytes[..]).unwrap();
    let leader = packet.leader().unwrap();
    assert_eq!(leader, LeaderRepr::ChunkData { timestamp: 99 });
    let mut out = [0u8; 20];
    assert_eq!(
        GvspHeader::parse(&packet).emit_leader(&leader, &mut out),
        Ok(20)
    );
    assert_eq!(&out[..], &bytes[..]);

    let body = hex("00 00 00 04 00 00 01 00");
    assert_eq!(
        TrailerRepr::parse(&body),
        Ok(TrailerRepr::ChunkData {
            chunk_data_len: 256
        })
    );
}

#[test]
fn multipart_is_recognised_and_kept_raw() {
    let body = hex("00 00 00 0a 00 00 00 00 00 00 00 2a \
         00 01 00 00 00 00 10 00 01 08 00 01");
    let leader = LeaderRepr::parse(&body).unwrap();
    assert_eq!(leader, LeaderRepr::MultiPart(&body[..]));
    assert_eq!(leader.payload_type(), payload_type::MULTIPART);
    assert_eq!(leader.timestamp(), Some(42));
    let mut out = vec![0u8; leader.body_len()];
    leader.emit(&mut out).unwrap();
    assert_eq!(out, body);

    let trailer_body = hex("00 00 00 0a 00 00 00 00");
    let trailer = TrailerRepr::parse(&trailer_body).unwrap();
    assert_eq!(trailer, TrailerRepr::MultiPart(&trailer_body[..]));
    // A hand-built body too short for the common fields is refused.
    let mut out = [0u8; 2];
    assert_eq!(
        LeaderRepr::MultiPart(&[0, 0]).emit(&mut out),
        Err(WireError::BadValue)
    );
    assert_eq!(LeaderRepr::MultiPart(&[0, 0]).timestamp(), None);
}

#[test]
fn unsupported_payload_types_are_named() {
    // JPEG leader.
    let body = hex("00 00 00 06 00 00 00 00 00 00 00 00");
    assert_eq!(
        LeaderRepr::parse(&body),
        Err(WireError::UnsupportedPayloadType(0x0006))
    );
    // Chunk data with the chunk flag makes no sense.
    let body = hex("00 00 40 04 00 00 00 00 00 00 00 00");
    assert_eq!(
        LeaderRepr::parse(&body),
        Err(WireError::UnsupportedPayloadType(0x4004))
    );
}

#[test]
fn emit_refuses_ids_that_do_not_fit_the_standard_header() {
    let mut out = [0u8; 64];
    let base = GvspHeader {
        status: Status::Success,
        block_id: 1,
        packet_id: 1,
        extended: false,
        flags: 0,
    };
    let cases = [
        GvspHeader {
            block_id: 0x1_0000,
            ..base
        },
        GvspHeader {
            packet_id: 0x0100_0000,
            ..base
        },
        GvspHeader {
            flags: flags::PACKET_RESEND,
            ..base
        },
    ];
    for header in cases {
        assert_eq!(
            header.emit(PacketFormat::Payload, &mut out),
            Err(WireError::BadValue),
            "{header:?}"
        );
    }
    assert_eq!(
        base.emit(PacketFormat::Other(0x80), &mut out),
        Err(WireError::BadValue)
    );
    assert_eq!(
        base.emit_payload(&[0; 60], &mut out),
        Err(WireError::BufferTooSmall { needed: 68 })
    );
}

#[test]
fn packet_format_codes() {
    for bits in 0u8..=0x7F {
        assert_eq!(PacketFormat::from_bits(bits).to_bits(), Some(bits));
    }
    assert_eq!(PacketFormat::from_bits(0x81), PacketFormat::Leader);
    assert_eq!(PacketFormat::from_bits(7), PacketFormat::MultiPart);
    assert_eq!(PacketFormat::from_bits(8), PacketFormat::GenDc);
}
