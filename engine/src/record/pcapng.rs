//! Exporting a recording as a pcapng capture of GVSP packets, for Wireshark.
//!
//! Invariants:
//! - every frame becomes a leader (packet id 0), payload packets of at most
//!   [`PACKET_DATA`] bytes (ids 1..=n) and a trailer (id n+1), each in an
//!   Ethernet/IPv4/UDP datagram from 169.254.0.2:20202 to 169.254.0.1:50000
//!   (link-local, synthetic; the IPv4 header checksum is valid, UDP's is 0,
//!   which IPv4 allows);
//! - block ids that do not fit 16 bits (or are 0) use the extended-id header;
//! - packet timestamps are the frames' receive timestamps in nanoseconds
//!   (`if_tsresol` = 9), so the capture's timing is the recording's.

use std::io::{self, Write};

use crate::wire::gvsp::{GvspHeader, ImageLeader, LeaderRepr, PixelFormat, TrailerRepr};
use crate::wire::Status;

use super::reader::Frame;

/// GVSP payload bytes per packet (a 1500-byte MTU less IPv4, UDP and GVSP headers).
pub const PACKET_DATA: usize = 1464;
/// UDP source port of the synthetic camera.
pub const CAMERA_PORT: u16 = 20202;
/// UDP destination port of the synthetic receiver.
pub const RECEIVER_PORT: u16 = 50000;

const CAMERA_IP: [u8; 4] = [169, 254, 0, 2];
const RECEIVER_IP: [u8; 4] = [169, 254, 0, 1];
const CAMERA_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const RECEIVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const HEADERS: usize = 14 + 20 + 8;

/// Writes pcapng blocks: a section header and one Ethernet interface, then packets.
#[derive(Debug)]
pub struct PcapngWriter<W: Write> {
    out: W,
    ip_id: u16,
    packet: Vec<u8>,
}

fn block(out: &mut impl Write, kind: u32, body: &[u8]) -> io::Result<()> {
    let padded = body.len().div_ceil(4) * 4;
    let total = u32::try_from(12 + padded)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pcapng block over 4 GiB"))?;
    out.write_all(&kind.to_le_bytes())?;
    out.write_all(&total.to_le_bytes())?;
    out.write_all(body)?;
    out.write_all(&[0u8; 3][..padded - body.len()])?;
    out.write_all(&total.to_le_bytes())
}

fn ipv4_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

impl<W: Write> PcapngWriter<W> {
    /// Writes the section header and the interface description.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut shb = Vec::with_capacity(16);
        shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        block(&mut out, 0x0A0D_0D0A, &shb)?;
        let mut idb = Vec::with_capacity(20);
        idb.extend_from_slice(&1u16.to_le_bytes()); // LINKTYPE_ETHERNET
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&0u32.to_le_bytes()); // no snap length limit
        idb.extend_from_slice(&9u16.to_le_bytes()); // if_tsresol
        idb.extend_from_slice(&1u16.to_le_bytes());
        idb.extend_from_slice(&[9, 0, 0, 0]); // 10^-9 s, padded
        idb.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        block(&mut out, 1, &idb)?;
        Ok(PcapngWriter {
            out,
            ip_id: 0,
            packet: vec![0; HEADERS + 20 + PACKET_DATA.max(64)],
        })
    }

    /// Writes one UDP datagram whose GVSP bytes `emit` fills; returns the bytes it wrote.
    fn datagram(
        &mut self,
        ts_ns: u64,
        emit: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) -> io::Result<()> {
        let gvsp_len = emit(&mut self.packet[HEADERS..]).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "GVSP packet does not encode")
        })?;
        let udp_len = 8 + gvsp_len;
        let ip_len = 20 + udp_len;
        let p = &mut self.packet;
        p[0..6].copy_from_slice(&RECEIVER_MAC);
        p[6..12].copy_from_slice(&CAMERA_MAC);
        p[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        let ip = &mut p[14..34];
        ip[0] = 0x45;
        ip[1] = 0;
        ip[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
        ip[4..6].copy_from_slice(&self.ip_id.to_be_bytes());
        ip[6..8].copy_from_slice(&0x4000u16.to_be_bytes()); // don't fragment
        ip[8] = 64;
        ip[9] = 17;
        ip[10..12].fill(0);
        ip[12..16].copy_from_slice(&CAMERA_IP);
        ip[16..20].copy_from_slice(&RECEIVER_IP);
        let sum = ipv4_checksum(ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let udp = &mut p[34..42];
        udp[0..2].copy_from_slice(&CAMERA_PORT.to_be_bytes());
        udp[2..4].copy_from_slice(&RECEIVER_PORT.to_be_bytes());
        udp[4..6].copy_from_slice(&(udp_len as u16).to_be_bytes());
        udp[6..8].fill(0);
        self.ip_id = self.ip_id.wrapping_add(1);

        let len = HEADERS + gvsp_len;
        let mut epb = Vec::with_capacity(20 + len);
        epb.extend_from_slice(&0u32.to_le_bytes());
        epb.extend_from_slice(&((ts_ns >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts_ns as u32).to_le_bytes());
        epb.extend_from_slice(&(len as u32).to_le_bytes());
        epb.extend_from_slice(&(len as u32).to_le_bytes());
        epb.extend_from_slice(&self.packet[..len]);
        block(&mut self.out, 6, &epb)
    }

    /// Writes one frame as leader, payload packets and trailer.
    pub fn write_frame(&mut self, frame: &Frame) -> io::Result<()> {
        let h = &frame.header;
        let extended = h.block_id == 0 || h.block_id > u64::from(u16::MAX);
        let header = |packet_id: u32| GvspHeader {
            status: Status::Success,
            block_id: h.block_id,
            packet_id,
            extended,
            flags: 0,
        };
        let leader = LeaderRepr::Image(ImageLeader {
            field_info: 0,
            chunk: false,
            timestamp: h.camera_timestamp,
            pixel_format: PixelFormat(h.pixel_format),
            size_x: h.width,
            size_y: h.height,
            offset_x: 0,
            offset_y: 0,
            padding_x: 0,
            padding_y: 0,
        });
        let ts = h.receive_timestamp_ns;
        self.datagram(ts, |buf| header(0).emit_leader(&leader, buf).ok())?;
        let mut id = 1u32;
        for chunk in frame.payload.chunks(PACKET_DATA) {
            self.datagram(ts, |buf| header(id).emit_payload(chunk, buf).ok())?;
            id += 1;
        }
        let trailer = TrailerRepr::Image {
            chunk: false,
            size_y: h.height,
        };
        self.datagram(ts, |buf| header(id).emit_trailer(&trailer, buf).ok())
    }

    /// Flushes and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_checksum_of_a_known_header() {
        // The classic example header (checksum field zeroed) and its checksum 0xB861.
        let h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xC0, 0xA8,
            0x00, 0x01, 0xC0, 0xA8, 0x00, 0xC7,
        ];
        assert_eq!(ipv4_checksum(&h), 0xB861);
    }

    #[test]
    fn blocks_are_padded_and_framed_by_their_length() {
        let mut out = Vec::new();
        block(&mut out, 6, &[1, 2, 3, 4, 5]).unwrap();
        assert_eq!(out.len(), 20);
        assert_eq!(&out[4..8], &20u32.to_le_bytes());
        assert_eq!(&out[16..20], &20u32.to_le_bytes());
    }
}
