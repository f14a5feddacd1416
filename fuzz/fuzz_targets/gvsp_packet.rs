//! Fuzzes the zero-copy GVSP view: no input may panic any accessor, and a
//! decoded leader, payload or trailer must re-emit to a packet that decodes
//! to the same header and body.
#![no_main]

use gvcap::wire::gvsp::{GvspHeader, GvspPacket, PacketFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = GvspPacket::new_checked(data) else {
        return;
    };
    let header = GvspHeader::parse(&packet);
    let _ = (packet.is_resent(), packet.payload().len());
    let mut out = vec![0u8; data.len() + 64];
    let n = match packet.packet_format() {
        PacketFormat::Leader => match packet.leader() {
            Ok(leader) => {
                let _ = (leader.payload_type(), leader.timestamp());
                header.emit_leader(&leader, &mut out)
            }
            Err(_) => return,
        },
        PacketFormat::Trailer => match packet.trailer() {
            Ok(trailer) => header.emit_trailer(&trailer, &mut out),
            Err(_) => return,
        },
        PacketFormat::Payload => header.emit_payload(packet.payload(), &mut out),
        _ => return,
    }
    .expect("a parsed header and body must emit");
    let again = GvspPacket::new_checked(&out[..n]).expect("emitted packet must parse");
    assert_eq!(GvspHeader::parse(&again), header);
    assert_eq!(again.packet_format(), packet.packet_format());
    match packet.packet_format() {
        PacketFormat::Leader => assert_eq!(again.leader().ok(), packet.leader().ok()),
        PacketFormat::Trailer => assert_eq!(again.trailer().ok(), packet.trailer().ok()),
        _ => assert_eq!(again.payload(), packet.payload()),
    }
});
