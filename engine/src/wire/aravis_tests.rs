//! Tests against datagrams captured from Aravis 0.8.26's fake camera.
//!
//! The `testdata/aravis_*.bin` files are UDP payloads recorded with tshark
//! while `arv-tool-0.8` and `arv-camera-test-0.8` talked to
//! `arv-fake-gv-camera-0.8` over a veth pair in private network namespaces.
//! Each test parses a capture, checks the decoded fields against what
//! wireshark's dissector showed for it, and re-emits it byte for byte.

use std::net::Ipv4Addr;

use super::gvcp::{code, flags, AckRepr, CommandRepr};
use super::gvsp::{GvspHeader, GvspPacket, LeaderRepr, PacketFormat, PixelFormat, TrailerRepr};
use super::Status;

const DISCOVERY_CMD: &[u8] = include_bytes!("testdata/aravis_gvcp_discovery_cmd.bin");
const DISCOVERY_ACK: &[u8] = include_bytes!("testdata/aravis_gvcp_discovery_ack.bin");
const READMEM_CMD: &[u8] = include_bytes!("testdata/aravis_gvcp_readmem_cmd.bin");
const READMEM_ACK: &[u8] = include_bytes!("testdata/aravis_gvcp_readmem_ack.bin");
const READREG_CMD: &[u8] = include_bytes!("testdata/aravis_gvcp_readreg_cmd.bin");
const READREG_ACK: &[u8] = include_bytes!("testdata/aravis_gvcp_readreg_ack.bin");
const WRITEREG_CMD: &[u8] = include_bytes!("testdata/aravis_gvcp_writereg_cmd.bin");
const WRITEREG_ACK: &[u8] = include_bytes!("testdata/aravis_gvcp_writereg_ack.bin");
const GVSP_LEADER: &[u8] = include_bytes!("testdata/aravis_gvsp_leader.bin");
const GVSP_PAYLOAD: &[u8] = include_bytes!("testdata/aravis_gvsp_payload.bin");
const GVSP_TRAILER: &[u8] = include_bytes!("testdata/aravis_gvsp_trailer.bin");

fn reemit_command(datagram: &[u8]) {
    let (header, repr) = CommandRepr::parse(datagram).unwrap();
    let mut out = vec![0u8; repr.buffer_len()];
    let n = repr.emit(header.req_id, header.flags, &mut out).unwrap();
    assert_eq!(&out[..n], datagram);
}

fn reemit_ack(datagram: &[u8]) {
    let (header, repr) = AckRepr::parse(datagram).unwrap();
    let mut out = vec![0u8; repr.buffer_len()];
    let n = repr.emit(header.status, header.ack_id, &mut out).unwrap();
    assert_eq!(&out[..n], datagram);
}

#[test]
fn discovery_command_from_arv_tool() {
    let (header, repr) = CommandRepr::parse(DISCOVERY_CMD).unwrap();
    assert_eq!(repr, CommandRepr::Discovery);
    assert_eq!(header.flags, flags::ACK_REQUIRED);
    assert_eq!(header.req_id, 0xFFFF);
    reemit_command(DISCOVERY_CMD);
}

#[test]
fn discovery_ack_from_fake_camera() {
    let (header, repr) = AckRepr::parse(DISCOVERY_ACK).unwrap();
    assert_eq!(header.status, Status::Success);
    assert_eq!(header.answer, code::DISCOVERY_ACK);
    assert_eq!(header.ack_id, 0xFFFF);
    let AckRepr::Discovery(ack) = repr else {
        panic!("expected a discovery ack, got {repr:?}");
    };
    assert_eq!(ack.ip, Ipv4Addr::new(169, 254, 77, 2));
    assert_eq!(ack.mask, Ipv4Addr::UNSPECIFIED);
    assert_eq!(ack.manufacturer, "Aravis");
    assert_eq!(ack.model, "Fake");
    assert_eq!(ack.device_version, "0.8.26");
    assert_eq!(ack.manufacturer_info, "none");
    assert_eq!(ack.serial, "GVW0001");
    assert_eq!(ack.user_name, "");
    reemit_ack(DISCOVERY_ACK);
}

#[test]
fn readmem_of_the_xml_url() {
    let (header, repr) = CommandRepr::parse(READMEM_CMD).unwrap();
    assert_eq!(
        repr,
        CommandRepr::ReadMem {
            address: 0x200,
            count: 512
        }
    );
    reemit_command(READMEM_CMD);

    let (ack_header, ack) = AckRepr::parse(READMEM_ACK).unwrap();
    assert_eq!(ack_header.ack_id, header.req_id);
    let AckRepr::ReadMem { address, data } = ack else {
        panic!("expected a readmem ack, got {ack:?}");
    };
    assert_eq!(address, 0x200);
    assert_eq!(data.len(), 512);
    assert!(data.starts_with(b"Local:arv-fake-camera.xml;10000;3e67\0"));
    reemit_ack(READMEM_ACK);
}

#[test]
fn readreg_of_scps0() {
    let (header, repr) = CommandRepr::parse(READREG_CMD).unwrap();
    assert_eq!(
        repr,
        CommandRepr::ReadReg {
            addresses: vec![0x0D04]
        }
    );
    reemit_command(READREG_CMD);
    let (ack_header, ack) = AckRepr::parse(READREG_ACK).unwrap();
    assert_eq!(ack_header.ack_id, header.req_id);
    assert_eq!(ack, AckRepr::ReadReg { values: vec![1400] });
    reemit_ack(READREG_ACK);
}

#[test]
fn writereg_taking_control() {
    let (_, repr) = CommandRepr::parse(WRITEREG_CMD).unwrap();
    assert_eq!(
        repr,
        CommandRepr::WriteReg {
            writes: vec![(0x0A00, 2)]
        }
    );
    reemit_command(WRITEREG_CMD);
    let (header, ack) = AckRepr::parse(WRITEREG_ACK).unwrap();
    assert_eq!(header.status, Status::Success);
    assert_eq!(ack, AckRepr::WriteReg { index: 1 });
    reemit_ack(WRITEREG_ACK);
}

#[test]
fn gvsp_leader_payload_trailer_of_one_block() {
    let leader_packet = GvspPacket::new_checked(GVSP_LEADER).unwrap();
    assert_eq!(leader_packet.packet_format(), PacketFormat::Leader);
    assert_eq!(leader_packet.block_id(), 65401);
    assert_eq!(leader_packet.packet_id(), 0);
    assert!(!leader_packet.is_extended());
    let leader = leader_packet.leader().unwrap();
    let LeaderRepr::Image(image) = leader else {
        panic!("expected an image leader, got {leader:?}");
    };
    assert!(!image.chunk);
    assert_eq!(image.pixel_format, PixelFormat::MONO8);
    assert_eq!((image.size_x, image.size_y), (64, 32));
    assert_eq!((image.offset_x, image.offset_y), (0, 0));
    assert_eq!(image.timestamp, 0x18EB_2827_3E7B_E468);
    let mut out = [0u8; 64];
    let n = GvspHeader::parse(&leader_packet)
        .emit_leader(&leader, &mut out)
        .unwrap();
    assert_eq!(&out[..n], GVSP_LEADER);

    let payload_packet = GvspPacket::new_checked(GVSP_PAYLOAD).unwrap();
    assert_eq!(payload_packet.packet_format(), PacketFormat::Payload);
    assert_eq!(payload_packet.block_id(), 65401);
    assert_eq!(payload_packet.packet_id(), 2);
    // 64 x 32 Mono8 = 2048 bytes: 1464 in packet 1 and the rest here.
    assert_eq!(payload_packet.payload().len(), 2048 - 1464);
    let mut out = [0u8; 600];
    let n = GvspHeader::parse(&payload_packet)
        .emit_payload(payload_packet.payload(), &mut out)
        .unwrap();
    assert_eq!(&out[..n], GVSP_PAYLOAD);

    let trailer_packet = GvspPacket::new_checked(GVSP_TRAILER).unwrap();
    assert_eq!(trailer_packet.packet_id(), 3);
    let trailer = trailer_packet.trailer().unwrap();
    // Aravis 0.8.26's fake camera sends 0 lines in its image trailer.
    assert_eq!(
        trailer,
        TrailerRepr::Image {
            chunk: false,
            size_y: 0
        }
    );
    let mut out = [0u8; 16];
    let n = GvspHeader::parse(&trailer_packet)
        .emit_trailer(&trailer, &mut out)
        .unwrap();
    assert_eq!(&out[..n], GVSP_TRAILER);
}
