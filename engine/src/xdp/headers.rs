//! The Ethernet / IPv4 / UDP headers in front of a stream packet, as the
//! receive worker strips them (the same parse as `bpf/gvsp_steer.bpf.c`).
//!
//! Invariants: [`UdpFrame::parse`] never panics; when it returns a value,
//! `payload_offset + payload_len` is the end of the UDP datagram as its header
//! states it (which may lie beyond the first buffer of a multi-buffer packet,
//! and before the end of a frame with Ethernet padding).

use std::net::{Ipv4Addr, SocketAddrV4};

const ETH_HLEN: usize = 14;
const VLAN_HLEN: usize = 4;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88A8;
const IPPROTO_UDP: u8 = 17;
const UDP_HLEN: usize = 8;

/// Where the UDP payload of a frame lies, and whose it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpFrame {
    /// The sender's address and port.
    pub source: SocketAddrV4,
    /// The UDP destination port.
    pub dst_port: u16,
    /// Offset of the UDP payload from the start of the frame.
    pub payload_offset: usize,
    /// Length of the UDP payload, from the UDP header.
    pub payload_len: usize,
}

/// Why a frame is not a UDP-over-IPv4 frame we can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// The headers are cut short.
    Truncated,
    /// Not IPv4 / UDP, an IP fragment, or an inconsistent length field.
    NotUdp,
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

impl UdpFrame {
    /// Parses the headers at the start of `frame` (the first buffer of a
    /// packet: the headers are always within it).
    pub fn parse(frame: &[u8]) -> Result<UdpFrame, HeaderError> {
        let mut ethertype = be16(frame, 12).ok_or(HeaderError::Truncated)?;
        let mut l3 = ETH_HLEN;
        if ethertype == ETH_P_8021Q || ethertype == ETH_P_8021AD {
            ethertype = be16(frame, l3 + 2).ok_or(HeaderError::Truncated)?;
            l3 += VLAN_HLEN;
        }
        if ethertype != ETH_P_IP {
            return Err(HeaderError::NotUdp);
        }
        let ip = frame.get(l3..l3 + 20).ok_or(HeaderError::Truncated)?;
        if ip[0] >> 4 != 4 {
            return Err(HeaderError::NotUdp);
        }
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        if ihl < 20 || ip[9] != IPPROTO_UDP {
            return Err(HeaderError::NotUdp);
        }
        let frag = u16::from_be_bytes([ip[6], ip[7]]);
        if frag & 0x3fff != 0 {
            return Err(HeaderError::NotUdp);
        }
        let source_ip = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
        let l4 = l3 + ihl;
        let udp = frame.get(l4..l4 + UDP_HLEN).ok_or(HeaderError::Truncated)?;
        let src_port = u16::from_be_bytes([udp[0], udp[1]]);
        let dst_port = u16::from_be_bytes([udp[2], udp[3]]);
        let udp_len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
        if udp_len < UDP_HLEN {
            return Err(HeaderError::NotUdp);
        }
        Ok(UdpFrame {
            source: SocketAddrV4::new(source_ip, src_port),
            dst_port,
            payload_offset: l4 + UDP_HLEN,
            payload_len: udp_len - UDP_HLEN,
        })
    }
}

/// Builds an Ethernet + IPv4 + UDP frame around `payload` (optionally with a
/// VLAN tag), for tests and the rig: checksums are left zero.
pub fn build_udp_frame(
    source: SocketAddrV4,
    destination: SocketAddrV4,
    vlan: Option<u16>,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(payload.len() + 46);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02]); // destination MAC
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01]); // source MAC
    if let Some(tci) = vlan {
        f.extend_from_slice(&ETH_P_8021Q.to_be_bytes());
        f.extend_from_slice(&tci.to_be_bytes());
    }
    f.extend_from_slice(&ETH_P_IP.to_be_bytes());
    let total = u16::try_from(20 + UDP_HLEN + payload.len()).unwrap_or(u16::MAX);
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0, 64, IPPROTO_UDP, 0, 0]);
    f.extend_from_slice(&source.ip().octets());
    f.extend_from_slice(&destination.ip().octets());
    f.extend_from_slice(&source.port().to_be_bytes());
    f.extend_from_slice(&destination.port().to_be_bytes());
    let udp_len = u16::try_from(UDP_HLEN + payload.len()).unwrap_or(u16::MAX);
    f.extend_from_slice(&udp_len.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(a: u8, port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::new(169, 254, 1, a), port)
    }

    #[test]
    fn parses_plain_and_vlan_frames() {
        for vlan in [None, Some(0x0064)] {
            let frame = build_udp_frame(addr(2, 20202), addr(1, 50000), vlan, b"hello");
            let parsed = UdpFrame::parse(&frame).expect("valid frame");
            assert_eq!(parsed.source, addr(2, 20202));
            assert_eq!(parsed.dst_port, 50000);
            assert_eq!(parsed.payload_len, 5);
            assert_eq!(&frame[parsed.payload_offset..], b"hello");
        }
    }

    #[test]
    fn honours_ip_options() {
        let mut frame = build_udp_frame(addr(2, 1), addr(1, 2), None, b"xy");
        // IHL 6: insert 4 bytes of options (NOPs) after the 20-byte header.
        frame[14] = 0x46;
        frame.splice(34..34, [1u8, 1, 1, 1]);
        let parsed = UdpFrame::parse(&frame).expect("valid frame");
        assert_eq!(parsed.payload_offset, 14 + 24 + 8);
        assert_eq!(&frame[parsed.payload_offset..], b"xy");
    }

    #[test]
    fn rejects_what_is_not_udp() {
        let good = build_udp_frame(addr(2, 1), addr(1, 2), None, b"x");
        for cut in 0..42 {
            assert_eq!(
                UdpFrame::parse(&good[..cut]),
                Err(HeaderError::Truncated),
                "cut at {cut}"
            );
        }
        let mut arp = good.clone();
        arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        assert_eq!(UdpFrame::parse(&arp), Err(HeaderError::NotUdp));
        let mut tcp = good.clone();
        tcp[23] = 6;
        assert_eq!(UdpFrame::parse(&tcp), Err(HeaderError::NotUdp));
        let mut fragment = good.clone();
        fragment[20] = 0x20; // more fragments
        assert_eq!(UdpFrame::parse(&fragment), Err(HeaderError::NotUdp));
        let mut short_udp = good;
        short_udp[38..40].copy_from_slice(&4u16.to_be_bytes());
        assert_eq!(UdpFrame::parse(&short_udp), Err(HeaderError::NotUdp));
    }

    #[test]
    fn never_panics_on_any_prefix_of_noise() {
        let mut x: u32 = 0x1234_5678;
        let mut noise = [0u8; 80];
        for round in 0..2000 {
            for b in noise.iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *b = x as u8;
            }
            noise[12..14].copy_from_slice(&[0x08, 0x00]);
            if round % 2 == 0 {
                noise[14] = 0x45;
            }
            let _ = UdpFrame::parse(&noise[..round % 80]);
        }
    }
}
