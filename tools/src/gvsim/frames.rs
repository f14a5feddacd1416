//! Frames as the stream sends them: their metadata, their packet layout, and
//! the ring of recent frames that PACKETRESEND is answered from.
//!
//! The image bytes are never stored: they are the deterministic
//! [`pattern`](super::pattern) of (serial, block id, offset), so a frame is
//! regenerated packet by packet on demand, for its first transmission and
//! for every resend alike.
//!
//! Packet layout of a block with `n` data packets: id 0 leader, ids 1..=n
//! payload (packet k carries bytes `(k-1)·chunk .. k·chunk`), id n+1 trailer,
//! where `chunk = packet size − 28 (IP+UDP) − GVSP header (8 or 20)`.
//!
//! Invariants: the ring holds at most `capacity` frames, oldest evicted
//! first; a frame's packet size and id mode are fixed when it starts, so a
//! resend reproduces the very packets first sent.

use std::collections::VecDeque;

use gvcap::wire::gvsp::{self, GvspHeader, ImageLeader, LeaderRepr, PixelFormat, TrailerRepr};
use gvcap::wire::{Status, WireError};

use super::pattern;

/// Bytes of IPv4 and UDP headers inside the GigE Vision packet size.
pub const IP_UDP_OVERHEAD: u32 = 28;

/// One frame (block) of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// Block id: the frame's number since AcquisitionStart plus 1 (64-bit).
    pub block_id: u64,
    /// Leader timestamp: the camera clock at the frame's start, ns.
    pub timestamp: u64,
    /// The host clock's reading (ns) at that moment: what a perfect outside
    /// observer would have seen, which only a simulator knows.
    pub true_start_ns: u64,
    /// Started on a PTP time while the clock was Slave.
    pub started_with_ptp: bool,
    /// Width in pixels.
    pub width: u32,
    /// Height in lines.
    pub height: u32,
    /// OffsetX.
    pub offset_x: u32,
    /// OffsetY.
    pub offset_y: u32,
    /// Pixel format.
    pub pixel_format: PixelFormat,
    /// Image bytes.
    pub payload_size: u64,
    /// GVSP packet size (IP and UDP headers included) the frame is sent with.
    pub packet_size: u32,
    /// Sent with extended ids (64-bit block ids, 20-byte headers).
    pub extended: bool,
    /// Pattern key of this block (serial and block id).
    pub key: u64,
}

impl Frame {
    /// The block id as it appears on the wire: 64-bit with extended ids, else
    /// 16-bit counting 1..=65535 (0 is reserved) and wrapping.
    pub fn wire_block_id(&self) -> u64 {
        if self.extended {
            self.block_id
        } else {
            standard_block_id(self.block_id)
        }
    }

    /// GVSP header length.
    pub fn header_len(&self) -> usize {
        if self.extended {
            gvsp::HEADER_LEN_EXTENDED
        } else {
            gvsp::HEADER_LEN
        }
    }

    /// Image bytes per payload packet.
    pub fn chunk(&self) -> u64 {
        u64::from(self.packet_size.saturating_sub(IP_UDP_OVERHEAD))
            .saturating_sub(self.header_len() as u64)
            .max(1)
    }

    /// Number of payload packets.
    pub fn data_packets(&self) -> u32 {
        u32::try_from(self.payload_size.div_ceil(self.chunk())).unwrap_or(u32::MAX)
    }

    /// Id of the trailer, the last packet.
    pub fn trailer_id(&self) -> u32 {
        self.data_packets().saturating_add(1)
    }

    /// Writes packet `packet_id` (leader, payload or trailer) into `buf`;
    /// `resent` marks a retransmission (extended flag and status).
    pub fn emit_packet(
        &self,
        packet_id: u32,
        resent: bool,
        buf: &mut [u8],
    ) -> Result<usize, WireError> {
        let header = GvspHeader {
            status: if resent {
                Status::PacketResend
            } else {
                Status::Success
            },
            block_id: self.wire_block_id(),
            packet_id,
            extended: self.extended,
            flags: if resent && self.extended {
                gvsp::packet::flags::PACKET_RESEND
            } else {
                0
            },
        };
        let trailer_id = self.trailer_id();
        if packet_id == 0 {
            let leader = LeaderRepr::Image(ImageLeader {
                field_info: 0,
                chunk: false,
                timestamp: self.timestamp,
                pixel_format: self.pixel_format,
                size_x: self.width,
                size_y: self.height,
                offset_x: self.offset_x,
                offset_y: self.offset_y,
                padding_x: 0,
                padding_y: 0,
            });
            header.emit_leader(&leader, buf)
        } else if packet_id == trailer_id {
            let trailer = TrailerRepr::Image {
                chunk: false,
                size_y: self.height,
            };
            header.emit_trailer(&trailer, buf)
        } else if packet_id < trailer_id {
            let chunk = self.chunk();
            let offset = u64::from(packet_id - 1) * chunk;
            let len = chunk.min(self.payload_size - offset) as usize;
            let hlen = header.emit(gvsp::PacketFormat::Payload, buf)?;
            let out = buf
                .get_mut(hlen..hlen + len)
                .ok_or(WireError::BufferTooSmall { needed: hlen + len })?;
            pattern::fill(self.key, offset, out);
            Ok(hlen + len)
        } else {
            Err(WireError::BadValue)
        }
    }

    /// Writes a header-only packet telling that `packet_id` cannot be resent.
    pub fn emit_unavailable(
        block_id: u64,
        packet_id: u32,
        extended: bool,
        status: Status,
        buf: &mut [u8],
    ) -> Result<usize, WireError> {
        let header = GvspHeader {
            status,
            block_id: if extended {
                block_id
            } else {
                standard_block_id(block_id)
            },
            packet_id: if extended {
                packet_id
            } else {
                packet_id & 0x00FF_FFFF
            },
            extended,
            flags: if extended {
                gvsp::packet::flags::PACKET_RESEND
            } else {
                0
            },
        };
        header.emit(gvsp::PacketFormat::Payload, buf)
    }
}

/// The 16-bit wire block id of a 64-bit block number (1..=65535, skipping 0).
pub fn standard_block_id(block_id: u64) -> u64 {
    (block_id.saturating_sub(1) % 0xFFFF) + 1
}

/// What a resend request found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// The frame is retained.
    Found(Frame),
    /// The block is older than everything retained.
    Gone,
    /// The block has not started yet (or never will).
    NotYet,
}

/// The ring of recent frames.
#[derive(Debug, Clone)]
pub struct FrameRing {
    frames: VecDeque<Frame>,
    capacity: usize,
}

impl FrameRing {
    /// A ring keeping the last `capacity` frames (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        FrameRing {
            frames: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// Adds a frame, evicting the oldest when full.
    pub fn push(&mut self, frame: Frame) {
        if self.frames.len() == self.capacity {
            self.frames.pop_front();
        }
        self.frames.push_back(frame);
    }

    /// Forgets every frame (a new acquisition restarts block ids).
    pub fn clear(&mut self) {
        self.frames.clear();
    }

    /// The newest frame.
    pub fn newest(&self) -> Option<&Frame> {
        self.frames.back()
    }

    /// Frames retained.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when nothing is retained.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Finds a frame by the block id a client names: 64-bit with extended
    /// ids, else the 16-bit wire id, matched against the newest frames first.
    pub fn lookup(&self, block_id: u64, extended: bool) -> Lookup {
        let found = self.frames.iter().rev().find(|f| {
            if extended {
                f.block_id == block_id
            } else {
                f.wire_block_id() == block_id
            }
        });
        match (found, self.frames.front(), self.frames.back()) {
            (Some(frame), _, _) => Lookup::Found(*frame),
            (None, Some(oldest), Some(newest)) if extended => {
                if block_id < oldest.block_id {
                    Lookup::Gone
                } else if block_id > newest.block_id {
                    Lookup::NotYet
                } else {
                    Lookup::Gone
                }
            }
            // A 16-bit id cannot be ordered across wraps: call it gone.
            (None, Some(_), _) => Lookup::Gone,
            (None, None, _) => Lookup::NotYet,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gvcap::wire::gvsp::{GvspPacket, PacketFormat};

    fn frame(block_id: u64, extended: bool) -> Frame {
        Frame {
            block_id,
            timestamp: 1_700_000_000_000_000_000 + block_id,
            true_start_ns: 1_700_000_000_000_000_000 + block_id,
            started_with_ptp: true,
            width: 100,
            height: 30,
            offset_x: 4,
            offset_y: 2,
            pixel_format: PixelFormat::MONO16,
            payload_size: 6000,
            packet_size: 1500,
            extended,
            key: pattern::block_key(pattern::serial_key("T"), block_id),
        }
    }

    #[test]
    fn packets_reassemble_into_the_pattern() {
        for extended in [false, true] {
            let f = frame(70_000, extended);
            let chunk = 1500 - 28 - f.header_len() as u64;
            assert_eq!(f.chunk(), chunk);
            assert_eq!(f.data_packets() as u64, 6000u64.div_ceil(chunk));
            let mut image = Vec::new();
            let mut buf = [0u8; 9000];
            for id in 0..=f.trailer_id() {
                let len = f.emit_packet(id, false, &mut buf).unwrap();
                assert!(len <= 1500 - 28);
                let p = GvspPacket::new_checked(&buf[..len]).unwrap();
                assert_eq!(p.packet_id(), id);
                assert_eq!(
                    p.block_id(),
                    if extended { 70_000 } else { 70_000 - 65_535 }
                );
                assert!(!p.is_resent());
                match p.packet_format() {
                    PacketFormat::Leader => {
                        let LeaderRepr::Image(l) = p.leader().unwrap() else {
                            panic!()
                        };
                        assert_eq!((l.size_x, l.size_y, l.timestamp), (100, 30, f.timestamp));
                    }
                    PacketFormat::Payload => image.extend_from_slice(p.payload()),
                    PacketFormat::Trailer => assert_eq!(id, f.trailer_id()),
                    other => panic!("{other:?}"),
                }
            }
            assert_eq!(image.len(), 6000);
            assert_eq!(pattern::verify(f.key, 0, &image), Ok(()));
            assert!(f.emit_packet(f.trailer_id() + 1, false, &mut buf).is_err());
            // A resent packet is flagged, byte-identical otherwise.
            let len = f.emit_packet(2, true, &mut buf).unwrap();
            assert!(GvspPacket::new_checked(&buf[..len]).unwrap().is_resent());
        }
    }

    #[test]
    fn standard_ids_skip_zero_and_the_ring_finds_and_forgets() {
        assert_eq!(standard_block_id(1), 1);
        assert_eq!(standard_block_id(65_535), 65_535);
        assert_eq!(standard_block_id(65_536), 1);
        let mut ring = FrameRing::new(3);
        assert_eq!(ring.lookup(1, true), Lookup::NotYet);
        for id in 1..=5 {
            ring.push(frame(id, true));
        }
        assert_eq!(ring.len(), 3);
        assert!(matches!(ring.lookup(4, true), Lookup::Found(f) if f.block_id == 4));
        assert_eq!(ring.lookup(1, true), Lookup::Gone);
        assert_eq!(ring.lookup(9, true), Lookup::NotYet);
        let mut len = [0u8; 64];
        let n = Frame::emit_unavailable(1, 3, true, Status::PacketUnavailable, &mut len).unwrap();
        let p = GvspPacket::new_checked(&len[..n]).unwrap();
        assert_eq!(
            (p.status(), p.block_id(), p.packet_id()),
            (Status::PacketUnavailable, 1, 3)
        );
    }
}
