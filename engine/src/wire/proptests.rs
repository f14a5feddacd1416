//! Property tests: no parser panics on any input, and emit-then-parse
//! returns the original repr for every valid repr.

use std::net::Ipv4Addr;

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use super::gvcp::{code, AckRepr, CommandRepr, DiscoveryAck, EventRecord, HEADER_LEN};
use super::gvsp::{
    GvspHeader, GvspPacket, ImageLeader, LeaderRepr, PacketFormat, PixelFormat, TrailerRepr,
};
use super::ptp::{Body as PtpBody, Message as PtpMessage};
use super::{Status, WireError};

const COMMAND_CODES: [u16; 10] = [
    code::DISCOVERY_CMD,
    code::FORCEIP_CMD,
    code::PACKETRESEND_CMD,
    code::READREG_CMD,
    code::WRITEREG_CMD,
    code::READMEM_CMD,
    code::WRITEMEM_CMD,
    code::EVENT_CMD,
    code::EVENTDATA_CMD,
    code::ACTION_CMD,
];

const ACK_CODES: [u16; 11] = [
    code::DISCOVERY_ACK,
    code::FORCEIP_ACK,
    code::READREG_ACK,
    code::WRITEREG_ACK,
    code::READMEM_ACK,
    code::WRITEMEM_ACK,
    code::PENDING_ACK,
    code::EVENT_ACK,
    code::EVENTDATA_ACK,
    code::ACTION_ACK,
    0x0041,
];

const ACK_CODES_WITH_PAYLOAD: [u16; 6] = [
    code::DISCOVERY_ACK,
    code::READREG_ACK,
    code::WRITEREG_ACK,
    code::READMEM_ACK,
    code::WRITEMEM_ACK,
    code::PENDING_ACK,
];

fn ipv4() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

fn event_record(extended: bool) -> impl Strategy<Value = EventRecord> {
    let max_block = if extended { u64::MAX } else { 0xFFFF };
    (any::<u16>(), any::<u16>(), 0..=max_block, any::<u64>()).prop_map(
        |(event_id, channel, block_id, timestamp)| EventRecord {
            event_id,
            channel,
            block_id,
            timestamp,
        },
    )
}

fn command_repr() -> impl Strategy<Value = CommandRepr> {
    prop_oneof![
        Just(CommandRepr::Discovery),
        (any::<[u8; 6]>(), ipv4(), ipv4(), ipv4()).prop_map(|(mac, ip, mask, gateway)| {
            CommandRepr::ForceIp {
                mac,
                ip,
                mask,
                gateway,
            }
        }),
        any::<bool>().prop_flat_map(|extended| {
            let (max_block, max_packet) = if extended {
                (u64::MAX, u32::MAX)
            } else {
                (0xFFFF, 0x00FF_FFFF)
            };
            (any::<u16>(), 0..=max_block, 0..=max_packet, 0..=max_packet).prop_map(
                move |(channel, block_id, first_packet, last_packet)| CommandRepr::PacketResend {
                    channel,
                    block_id,
                    first_packet,
                    last_packet,
                    extended,
                },
            )
        }),
        vec(any::<u32>(), 1..=135).prop_map(|addresses| CommandRepr::ReadReg { addresses }),
        vec(any::<(u32, u32)>(), 1..=67).prop_map(|writes| CommandRepr::WriteReg { writes }),
        (any::<u32>(), 1u16..=134).prop_map(|(address, words)| CommandRepr::ReadMem {
            address,
            count: words * 4,
        }),
        (any::<u32>(), vec(any::<[u8; 4]>(), 1..=134)).prop_map(|(address, words)| {
            CommandRepr::WriteMem {
                address,
                data: words.concat(),
            }
        }),
        any::<bool>().prop_flat_map(|extended| {
            let most = if extended { 540 / 24 } else { 540 / 16 };
            vec(event_record(extended), 1..=most)
                .prop_map(move |events| CommandRepr::Event { extended, events })
        }),
        any::<bool>().prop_flat_map(|extended| {
            let most_data = if extended { 540 - 24 } else { 540 - 16 };
            (event_record(extended), vec(any::<u8>(), 0..=most_data)).prop_map(
                move |(event, data)| CommandRepr::EventData {
                    extended,
                    event,
                    data,
                },
            )
        }),
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            option::of(any::<u64>())
        )
            .prop_map(|(device_key, group_key, group_mask, action_time)| {
                CommandRepr::Action {
                    device_key,
                    group_key,
                    group_mask,
                    action_time,
                }
            }),
    ]
}

fn discovery_ack() -> impl Strategy<Value = DiscoveryAck> {
    (
        (any::<u16>(), any::<u16>(), any::<u32>(), any::<[u8; 6]>()),
        (any::<u32>(), any::<u32>(), ipv4(), ipv4(), ipv4()),
        (
            "[ -~]{0,31}",
            "[ -~]{0,31}",
            "[ -~]{0,31}",
            "[ -~]{0,47}",
            "[ -~]{0,15}",
            "[ -~]{0,15}",
        ),
    )
        .prop_map(
            |(
                (spec_version_major, spec_version_minor, device_mode, mac),
                (ip_config_options, ip_config_current, ip, mask, gateway),
                (manufacturer, model, device_version, manufacturer_info, serial, user_name),
            )| DiscoveryAck {
                spec_version_major,
                spec_version_minor,
                device_mode,
                mac,
                ip_config_options,
                ip_config_current,
                ip,
                mask,
                gateway,
                manufacturer,
                model,
                device_version,
                manufacturer_info,
                serial,
                user_name,
            },
        )
}

fn ack_repr() -> impl Strategy<Value = AckRepr> {
    prop_oneof![
        discovery_ack().prop_map(|ack| AckRepr::Discovery(Box::new(ack))),
        Just(AckRepr::ForceIp),
        vec(any::<u32>(), 1..=135).prop_map(|values| AckRepr::ReadReg { values }),
        any::<u16>().prop_map(|index| AckRepr::WriteReg { index }),
        (any::<u32>(), vec(any::<u8>(), 0..=536))
            .prop_map(|(address, data)| AckRepr::ReadMem { address, data }),
        any::<u16>().prop_map(|index| AckRepr::WriteMem { index }),
        any::<u16>().prop_map(|ms| AckRepr::PendingAck {
            time_to_completion_ms: ms
        }),
        Just(AckRepr::Event),
        Just(AckRepr::EventData),
        Just(AckRepr::Action),
        proptest::sample::select(&ACK_CODES_WITH_PAYLOAD[..])
            .prop_map(|answer| AckRepr::Empty { answer }),
    ]
}

/// A datagram with a plausible header (known code, consistent length) and random payload.
fn plausible_command() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::sample::select(&COMMAND_CODES[..]),
        any::<u8>(),
        any::<u16>(),
        vec(any::<u8>(), 0..=560),
    )
        .prop_map(|(command, flags, req_id, payload)| {
            let mut bytes = vec![0x42, flags];
            bytes.extend_from_slice(&command.to_be_bytes());
            bytes.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            bytes.extend_from_slice(&req_id.to_be_bytes());
            bytes.extend_from_slice(&payload);
            bytes
        })
}

fn plausible_ack() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<u16>(),
        proptest::sample::select(&ACK_CODES[..]),
        any::<u16>(),
        prop_oneof![vec(any::<u8>(), 0..=16), vec(any::<u8>(), 240..=560)],
    )
        .prop_map(|(status, answer, ack_id, payload)| {
            let mut bytes = status.to_be_bytes().to_vec();
            bytes.extend_from_slice(&answer.to_be_bytes());
            bytes.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            bytes.extend_from_slice(&ack_id.to_be_bytes());
            bytes.extend_from_slice(&payload);
            bytes
        })
}

fn gvsp_header() -> impl Strategy<Value = GvspHeader> {
    (any::<u16>(), any::<bool>()).prop_flat_map(|(status, extended)| {
        let (max_block, max_packet, max_flags) = if extended {
            (u64::MAX, u32::MAX, u16::MAX)
        } else {
            (0xFFFF, 0x00FF_FFFF, 0)
        };
        (0..=max_block, 0..=max_packet, 0..=max_flags).prop_map(
            move |(block_id, packet_id, flags)| GvspHeader {
                status: Status::from(status),
                block_id,
                packet_id,
                extended,
                flags,
            },
        )
    })
}

fn image_leader() -> impl Strategy<Value = ImageLeader> {
    (
        (any::<u8>(), any::<bool>(), any::<u64>(), any::<u32>()),
        (any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>()),
        (any::<u16>(), any::<u16>()),
    )
        .prop_map(
            |(
                (field_info, chunk, timestamp, pixel_format),
                (size_x, size_y, offset_x, offset_y),
                (padding_x, padding_y),
            )| ImageLeader {
                field_info,
                chunk,
                timestamp,
                pixel_format: PixelFormat(pixel_format),
                size_x,
                size_y,
                offset_x,
                offset_y,
                padding_x,
                padding_y,
            },
        )
}

/// Inspects every accessor of a checked GVSP packet; none may panic.
fn touch_gvsp(packet: &GvspPacket<&[u8]>) {
    let _ = (
        packet.status(),
        packet.packet_format(),
        packet.block_id(),
        packet.packet_id(),
        packet.flags(),
        packet.is_resent(),
        packet.payload().len(),
    );
    if let Ok(leader) = packet.leader() {
        let _ = (leader.payload_type(), leader.timestamp(), leader.body_len());
    }
    if let Ok(trailer) = packet.trailer() {
        let _ = (trailer.payload_type(), trailer.body_len());
    }
}

/// PTP datagrams that get past the header checks: version 2, a declared
/// length within the buffer, any message type, random body, then cut short
/// somewhere (or not).
fn plausible_ptp() -> impl Strategy<Value = Vec<u8>> {
    (
        vec(any::<u8>(), 34..80),
        0u8..16,
        any::<prop::sample::Index>(),
    )
        .prop_map(|(mut bytes, message_type, cut)| {
            bytes[0] = (bytes[0] & 0xF0) | message_type;
            bytes[1] = (bytes[1] & 0xF0) | 2;
            let declared = 34 + cut.index(bytes.len() - 34 + 1);
            bytes[2..4].copy_from_slice(&(declared as u16).to_be_bytes());
            bytes
        })
}

/// What the `ptp_message` fuzz target checks: a message the parser accepts
/// with a body it knows emits and parses back to the same header and body
/// (the declared length aside).
fn check_ptp_round_trip(bytes: &[u8]) -> Result<(), TestCaseError> {
    let Ok(message) = PtpMessage::parse(bytes) else {
        return Ok(());
    };
    if message.body == PtpBody::Other {
        return Ok(());
    }
    let mut out = vec![0u8; message.buffer_len()];
    let n = message.emit(&mut out).expect("a parsed message must emit");
    let again = PtpMessage::parse(&out[..n]).expect("an emitted message must parse");
    prop_assert_eq!(again.body, message.body);
    let mut header = message.header;
    header.message_length = again.header.message_length;
    prop_assert_eq!(again.header, header);
    Ok(())
}

proptest! {
    #[test]
    fn random_bytes_never_panic_any_parser(bytes in vec(any::<u8>(), 0..600)) {
        let _ = PtpMessage::parse(&bytes);
        let _ = CommandRepr::parse(&bytes);
        let _ = AckRepr::parse(&bytes);
        if let Ok(packet) = GvspPacket::new_checked(&bytes[..]) {
            touch_gvsp(&packet);
        }
        let _ = LeaderRepr::parse(&bytes);
        let _ = TrailerRepr::parse(&bytes);
    }

    #[test]
    fn plausible_ptp_messages_never_panic_and_round_trip(bytes in plausible_ptp()) {
        check_ptp_round_trip(&bytes)?;
        for cut in [0, 1, 33, 34, 43, 44, 63] {
            check_ptp_round_trip(&bytes[..cut.min(bytes.len())])?;
        }
    }

    #[test]
    fn plausible_gvcp_datagrams_never_panic(
        command in plausible_command(),
        ack in plausible_ack(),
        cut in any::<prop::sample::Index>(),
    ) {
        let _ = CommandRepr::parse(&command);
        let _ = AckRepr::parse(&ack);
        let cut_command = cut.index(command.len() + 1);
        let _ = CommandRepr::parse(&command[..cut_command]);
        let cut_ack = cut.index(ack.len() + 1);
        let _ = AckRepr::parse(&ack[..cut_ack]);
    }

    #[test]
    fn command_emit_then_parse_round_trips(
        repr in command_repr(),
        req_id in any::<u16>(),
        flags in any::<u8>(),
    ) {
        let mut buf = vec![0u8; repr.buffer_len()];
        let n = repr.emit(req_id, flags, &mut buf).unwrap();
        prop_assert_eq!(n, repr.buffer_len());
        let (header, parsed) = CommandRepr::parse(&buf).unwrap();
        prop_assert_eq!(&parsed, &repr);
        prop_assert_eq!(header.req_id, req_id);
        prop_assert_eq!(header.flags, repr.effective_flags(flags));
        // Every strict prefix is reported as truncated, never as a message.
        for len in 0..n {
            prop_assert_eq!(CommandRepr::parse(&buf[..len]), Err(WireError::Truncated));
        }
    }

    #[test]
    fn ack_emit_then_parse_round_trips(
        repr in ack_repr(),
        status in any::<u16>(),
        ack_id in any::<u16>(),
    ) {
        let mut buf = vec![0u8; repr.buffer_len()];
        let n = repr.emit(Status::from(status), ack_id, &mut buf).unwrap();
        prop_assert_eq!(n, repr.buffer_len());
        let (header, parsed) = AckRepr::parse(&buf).unwrap();
        prop_assert_eq!(&parsed, &repr);
        prop_assert_eq!(u16::from(header.status), status);
        prop_assert_eq!(header.ack_id, ack_id);
        prop_assert_eq!(usize::from(header.length), n - HEADER_LEN);
        for len in 0..n {
            prop_assert_eq!(AckRepr::parse(&buf[..len]), Err(WireError::Truncated));
        }
    }

    #[test]
    fn gvsp_leader_round_trips(
        header in gvsp_header(),
        image in image_leader(),
        timestamp in any::<u64>(),
        raw in vec(any::<u8>(), 12..64),
        which in 0u8..3,
    ) {
        let mut raw = raw;
        raw[2..4].copy_from_slice(&0x000Au16.to_be_bytes());
        let leader = match which {
            0 => LeaderRepr::Image(image),
            1 => LeaderRepr::ChunkData { timestamp },
            _ => LeaderRepr::MultiPart(&raw),
        };
        let mut buf = vec![0u8; 128];
        let n = header.emit_leader(&leader, &mut buf).unwrap();
        let packet = GvspPacket::new_checked(&buf[..n]).unwrap();
        prop_assert_eq!(GvspHeader::parse(&packet), header);
        prop_assert_eq!(packet.packet_format(), PacketFormat::Leader);
        prop_assert_eq!(packet.leader().unwrap(), leader);
    }

    #[test]
    fn gvsp_payload_and_trailer_round_trip(
        header in gvsp_header(),
        data in vec(any::<u8>(), 0..1500),
        chunk in any::<bool>(),
        value in any::<u32>(),
        image in any::<bool>(),
    ) {
        let mut buf = vec![0u8; 1600];
        let n = header.emit_payload(&data, &mut buf).unwrap();
        let packet = GvspPacket::new_checked(&buf[..n]).unwrap();
        prop_assert_eq!(GvspHeader::parse(&packet), header);
        prop_assert_eq!(packet.packet_format(), PacketFormat::Payload);
        prop_assert_eq!(packet.payload(), &data[..]);

        let trailer = if image {
            TrailerRepr::Image { chunk, size_y: value }
        } else {
            TrailerRepr::ChunkData { chunk_data_len: value }
        };
        let n = header.emit_trailer(&trailer, &mut buf).unwrap();
        let packet = GvspPacket::new_checked(&buf[..n]).unwrap();
        prop_assert_eq!(GvspHeader::parse(&packet), header);
        prop_assert_eq!(packet.trailer().unwrap(), trailer);
        // Cutting into the header is reported, never read as zeros.
        for len in 0..packet.header_len() {
            prop_assert_eq!(GvspPacket::new_checked(&buf[..len]).unwrap_err(), WireError::Truncated);
        }
    }

    #[test]
    fn flipped_bytes_in_valid_datagrams_never_panic(
        repr in command_repr(),
        ack in ack_repr(),
        at in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(1, 1, &mut buf).unwrap();
        let i = at.index(buf.len());
        buf[i] = value;
        let _ = CommandRepr::parse(&buf);

        let mut buf = vec![0u8; ack.buffer_len()];
        ack.emit(Status::Success, 1, &mut buf).unwrap();
        let i = at.index(buf.len());
        buf[i] = value;
        let _ = AckRepr::parse(&buf);
    }
}
