//! The GVSP packet header: a zero-copy view and a small repr with emit functions.
//!
//! Standard header (8 bytes): status u16, block_id u16, EI bit + 7-bit format,
//! packet_id u24. Extended-id header (20 bytes, EI bit set): status u16,
//! flags u16, EI bit + format, 3 reserved bytes, block_id u64, packet_id u32.
//!
//! Invariants: after `new_checked` the buffer holds the whole header its EI
//! bit announces, so every accessor and `payload()` is in bounds; views made
//! with `new_unchecked` may panic on short buffers. Emit functions validate
//! that ids fit the chosen header and write exactly the returned length.

use super::super::field::{get_u16, set_u16, Field};
use super::super::{Status, WireError};
use super::leader::LeaderRepr;
use super::trailer::TrailerRepr;
use super::PacketFormat;

/// Length of the standard header.
pub const HEADER_LEN: usize = 8;
/// Length of the extended-id header.
pub const HEADER_LEN_EXTENDED: usize = 20;

/// Bit of the format byte announcing the extended-id header.
const EXTENDED_ID_BIT: u8 = 0x80;

mod field {
    use super::Field;
    pub const STATUS: Field = 0..2;
    /// Standard header: 16-bit block id. Extended header: flags.
    pub const BLOCK_ID_OR_FLAGS: Field = 2..4;
    pub const FORMAT: usize = 4;
    /// Standard header: 24-bit packet id.
    pub const PACKET_ID_24: Field = 5..8;
    /// Extended header: 64-bit block id.
    pub const BLOCK_ID_64: Field = 8..16;
    /// Extended header: 32-bit packet id.
    pub const PACKET_ID_32: Field = 16..20;
}

/// Flag bits of the extended header's flags field.
pub mod flags {
    /// The packet is a retransmission (answer to PACKETRESEND).
    pub const PACKET_RESEND: u16 = 0x0001;
    /// The device dropped the previous block.
    pub const PREVIOUS_BLOCK_DROPPED: u16 = 0x0002;
    /// A PACKETRESEND asked for packets outside the block.
    pub const RESEND_RANGE_ERROR: u16 = 0x0004;
}

/// A read/write view of one GVSP datagram (the UDP payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GvspPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> GvspPacket<T> {
    /// Wraps a buffer without checking its length; accessors may then panic.
    pub fn new_unchecked(buffer: T) -> Self {
        GvspPacket { buffer }
    }

    /// Wraps a buffer after checking it holds the whole header.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the header its extended-id bit announces.
    pub fn check_len(&self) -> Result<(), WireError> {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        if data[field::FORMAT] & EXTENDED_ID_BIT != 0 && data.len() < HEADER_LEN_EXTENDED {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The packet status (`PacketResend` marks a resent packet in standard mode).
    pub fn status(&self) -> Status {
        Status::from(get_u16(self.buffer.as_ref(), field::STATUS.start))
    }

    /// True when the packet uses the 20-byte extended-id header.
    pub fn is_extended(&self) -> bool {
        self.buffer.as_ref()[field::FORMAT] & EXTENDED_ID_BIT != 0
    }

    /// The packet format.
    pub fn packet_format(&self) -> PacketFormat {
        PacketFormat::from_bits(self.buffer.as_ref()[field::FORMAT])
    }

    /// The block (frame) id: 16 bits in standard mode, 64 with extended ids.
    pub fn block_id(&self) -> u64 {
        let data = self.buffer.as_ref();
        if self.is_extended() {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&data[field::BLOCK_ID_64]);
            u64::from_be_bytes(bytes)
        } else {
            u64::from(get_u16(data, field::BLOCK_ID_OR_FLAGS.start))
        }
    }

    /// The packet id within the block: 24 bits in standard mode, 32 with extended ids.
    pub fn packet_id(&self) -> u32 {
        let data = self.buffer.as_ref();
        if self.is_extended() {
            let mut bytes = [0u8; 4];
            bytes.copy_from_slice(&data[field::PACKET_ID_32]);
            u32::from_be_bytes(bytes)
        } else {
            let id = &data[field::PACKET_ID_24];
            u32::from_be_bytes([0, id[0], id[1], id[2]])
        }
    }

    /// The extended header's flags (see [`flags`]); 0 in standard mode, which has none.
    pub fn flags(&self) -> u16 {
        if self.is_extended() {
            get_u16(self.buffer.as_ref(), field::BLOCK_ID_OR_FLAGS.start)
        } else {
            0
        }
    }

    /// True for a retransmitted packet: the PACKET_RESEND flag (extended ids)
    /// or the PACKET_RESEND status (either mode, as GigE Vision 1.x devices signal it).
    pub fn is_resent(&self) -> bool {
        self.flags() & flags::PACKET_RESEND != 0 || self.status() == Status::PacketResend
    }

    /// Length of this packet's header: 8, or 20 with extended ids.
    pub fn header_len(&self) -> usize {
        if self.is_extended() {
            HEADER_LEN_EXTENDED
        } else {
            HEADER_LEN
        }
    }

    /// Everything after the header: leader, trailer or payload data.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }

    /// Decodes the leader body; fails unless the packet format is `Leader`.
    pub fn leader(&self) -> Result<LeaderRepr<'_>, WireError> {
        match self.packet_format() {
            PacketFormat::Leader => LeaderRepr::parse(self.payload()),
            _ => Err(WireError::WrongPacketFormat(
                self.buffer.as_ref()[field::FORMAT] & 0x7F,
            )),
        }
    }

    /// Decodes the trailer body; fails unless the packet format is `Trailer`.
    pub fn trailer(&self) -> Result<TrailerRepr<'_>, WireError> {
        match self.packet_format() {
            PacketFormat::Trailer => TrailerRepr::parse(self.payload()),
            _ => Err(WireError::WrongPacketFormat(
                self.buffer.as_ref()[field::FORMAT] & 0x7F,
            )),
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> GvspPacket<T> {
    /// The mutable bytes after the header.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        &mut self.buffer.as_mut()[start..]
    }
}

/// The fields of a GVSP header, independent of the standard or extended layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GvspHeader {
    /// Packet status.
    pub status: Status,
    /// Block id; must fit 16 bits unless `extended`.
    pub block_id: u64,
    /// Packet id; must fit 24 bits unless `extended`.
    pub packet_id: u32,
    /// Use the 20-byte extended-id header.
    pub extended: bool,
    /// Extended header flags (see [`flags`]); must be 0 unless `extended`.
    pub flags: u16,
}

impl GvspHeader {
    /// Reads the header fields of a checked packet.
    pub fn parse<T: AsRef<[u8]>>(packet: &GvspPacket<T>) -> Self {
        GvspHeader {
            status: packet.status(),
            block_id: packet.block_id(),
            packet_id: packet.packet_id(),
            extended: packet.is_extended(),
            flags: packet.flags(),
        }
    }

    /// Length of the header this repr emits: 8, or 20 with extended ids.
    pub fn header_len(&self) -> usize {
        if self.extended {
            HEADER_LEN_EXTENDED
        } else {
            HEADER_LEN
        }
    }

    /// Writes the header with `format` into the start of `buf`; returns the header length.
    pub fn emit(&self, format: PacketFormat, buf: &mut [u8]) -> Result<usize, WireError> {
        let format_bits = format.to_bits().ok_or(WireError::BadValue)?;
        let len = self.header_len();
        let out = buf
            .get_mut(..len)
            .ok_or(WireError::BufferTooSmall { needed: len })?;
        set_u16(out, field::STATUS.start, self.status.into());
        if self.extended {
            set_u16(out, field::BLOCK_ID_OR_FLAGS.start, self.flags);
            out[field::FORMAT] = EXTENDED_ID_BIT | format_bits;
            out[field::PACKET_ID_24].fill(0);
            out[field::BLOCK_ID_64].copy_from_slice(&self.block_id.to_be_bytes());
            out[field::PACKET_ID_32].copy_from_slice(&self.packet_id.to_be_bytes());
        } else {
            let block_id = u16::try_from(self.block_id).map_err(|_| WireError::BadValue)?;
            if self.packet_id > 0x00FF_FFFF || self.flags != 0 {
                return Err(WireError::BadValue);
            }
            set_u16(out, field::BLOCK_ID_OR_FLAGS.start, block_id);
            out[field::FORMAT] = format_bits;
            out[field::PACKET_ID_24].copy_from_slice(&self.packet_id.to_be_bytes()[1..]);
        }
        Ok(len)
    }

    /// Writes a leader packet (header and body) into `buf`; returns its length.
    pub fn emit_leader(&self, leader: &LeaderRepr<'_>, buf: &mut [u8]) -> Result<usize, WireError> {
        let total = self.header_len() + leader.body_len();
        let out = buf
            .get_mut(..total)
            .ok_or(WireError::BufferTooSmall { needed: total })?;
        let start = self.emit(PacketFormat::Leader, out)?;
        leader.emit(&mut out[start..])?;
        Ok(total)
    }

    /// Writes a payload packet carrying `data` into `buf`; returns its length.
    pub fn emit_payload(&self, data: &[u8], buf: &mut [u8]) -> Result<usize, WireError> {
        let total = self.header_len() + data.len();
        let out = buf
            .get_mut(..total)
            .ok_or(WireError::BufferTooSmall { needed: total })?;
        let start = self.emit(PacketFormat::Payload, out)?;
        out[start..].copy_from_slice(data);
        Ok(total)
    }

    /// Writes a trailer packet (header and body) into `buf`; returns its length.
    pub fn emit_trailer(
        &self,
        trailer: &TrailerRepr<'_>,
        buf: &mut [u8],
    ) -> Result<usize, WireError> {
        let total = self.header_len() + trailer.body_len();
        let out = buf
            .get_mut(..total)
            .ok_or(WireError::BufferTooSmall { needed: total })?;
        let start = self.emit(PacketFormat::Trailer, out)?;
        trailer.emit(&mut out[start..])?;
        Ok(total)
    }
}
