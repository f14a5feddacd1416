//! GVSP, the GigE Vision stream protocol: zero-copy views over stream packets.
//!
//! Layout: [`packet`] is the header view and header repr with the emit
//! functions, [`leader`] and [`trailer`] the block leader and trailer bodies,
//! [`pixel`] the PFNC pixel format codes.
//!
//! Invariants:
//! - nothing in this module allocates: views and reprs borrow the datagram;
//! - `GvspPacket::new_checked` proves the header (8 bytes, or 20 with the
//!   extended-id bit) is present, after which no accessor panics;
//! - leader and trailer parsers check the body length of the layout they
//!   decode and report `WireError::Truncated` or `UnsupportedPayloadType`,
//!   never a zero-filled value.

pub mod leader;
pub mod packet;
pub mod pixel;
pub mod trailer;

pub use leader::{ImageLeader, LeaderRepr};
pub use packet::{GvspHeader, GvspPacket, HEADER_LEN, HEADER_LEN_EXTENDED};
pub use pixel::PixelFormat;
pub use trailer::TrailerRepr;

/// The format of a GVSP packet (the 7 bits after the extended-id bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketFormat {
    /// Block leader: payload type, timestamp and layout of the block.
    Leader,
    /// Block trailer: ends the block.
    Trailer,
    /// Generic payload data.
    Payload,
    /// Leader, payload and trailer in one packet.
    AllIn,
    /// H.264 payload data.
    H264,
    /// Multi-zone payload data.
    MultiZone,
    /// Multi-part payload data (GigE Vision 2.1).
    MultiPart,
    /// GenDC payload data (GigE Vision 2.2).
    GenDc,
    /// Any other 7-bit value.
    Other(u8),
}

impl PacketFormat {
    /// Decodes a 7-bit format value (the extended-id bit must already be masked off).
    pub fn from_bits(bits: u8) -> Self {
        match bits & 0x7F {
            1 => PacketFormat::Leader,
            2 => PacketFormat::Trailer,
            3 => PacketFormat::Payload,
            4 => PacketFormat::AllIn,
            5 => PacketFormat::H264,
            6 => PacketFormat::MultiZone,
            7 => PacketFormat::MultiPart,
            8 => PacketFormat::GenDc,
            other => PacketFormat::Other(other),
        }
    }

    /// The 7-bit wire value; `Other` values above 0x7F do not fit and return `None`.
    pub fn to_bits(self) -> Option<u8> {
        let bits = match self {
            PacketFormat::Leader => 1,
            PacketFormat::Trailer => 2,
            PacketFormat::Payload => 3,
            PacketFormat::AllIn => 4,
            PacketFormat::H264 => 5,
            PacketFormat::MultiZone => 6,
            PacketFormat::MultiPart => 7,
            PacketFormat::GenDc => 8,
            PacketFormat::Other(v) => v,
        };
        (bits <= 0x7F).then_some(bits)
    }
}

/// Payload types carried by leaders and trailers (low 14 bits of the field).
pub mod payload_type {
    /// Uncompressed image.
    pub const IMAGE: u16 = 0x0001;
    /// Raw data.
    pub const RAW_DATA: u16 = 0x0002;
    /// File.
    pub const FILE: u16 = 0x0003;
    /// Chunk data only.
    pub const CHUNK_DATA: u16 = 0x0004;
    /// Extended chunk data (deprecated since GigE Vision 2.0).
    pub const EXTENDED_CHUNK_DATA: u16 = 0x0005;
    /// JPEG.
    pub const JPEG: u16 = 0x0006;
    /// JPEG 2000.
    pub const JPEG2000: u16 = 0x0007;
    /// H.264.
    pub const H264: u16 = 0x0008;
    /// Multi-zone image.
    pub const MULTIZONE_IMAGE: u16 = 0x0009;
    /// Multi-part (GigE Vision 2.1).
    pub const MULTIPART: u16 = 0x000A;
    /// GenDC container (GigE Vision 2.2).
    pub const GENDC: u16 = 0x000B;
    /// Flag: the payload ends with chunk data (GigE Vision 2.0 chunk mode).
    pub const CHUNK_FLAG: u16 = 0x4000;
    /// Mask of the type proper, without the flags.
    pub const TYPE_MASK: u16 = 0x3FFF;
}

#[cfg(test)]
mod tests;
