//! GVSP block leaders: the image leader, the chunk-data leader, and
//! multi-part leaders kept as raw bytes.
//!
//! Common layout (12 bytes): field info u8, reserved u8, payload type u16
//! (with the chunk flag 0x4000), timestamp u64. The image leader adds pixel
//! format u32, size x/y u32, offset x/y u32, padding x/y u16 (36 bytes).
//!
//! Invariants: `parse` borrows the body and never allocates; it checks the
//! length of the layout it decodes; `emit` writes exactly `body_len()` bytes
//! with reserved bytes zeroed.

use super::super::field::{read_u16, read_u32, read_u64, set_u16, set_u32, set_u64};
use super::super::WireError;
use super::payload_type;
use super::pixel::PixelFormat;

mod field {
    pub const FIELD_INFO: usize = 0;
    pub const PAYLOAD_TYPE: usize = 2;
    pub const TIMESTAMP: usize = 4;
    pub const PIXEL_FORMAT: usize = 12;
    pub const SIZE_X: usize = 16;
    pub const SIZE_Y: usize = 20;
    pub const OFFSET_X: usize = 24;
    pub const OFFSET_Y: usize = 28;
    pub const PADDING_X: usize = 32;
    pub const PADDING_Y: usize = 34;
    pub const COMMON_LEN: usize = 12;
    pub const IMAGE_LEN: usize = 36;
}

/// The leader of an image block (payload type 0x0001, optionally with chunk data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImageLeader {
    /// Field info byte: field id in the high nibble, field count in the low one (0 for progressive).
    pub field_info: u8,
    /// The payload type carries the chunk flag: chunk data follows the image.
    pub chunk: bool,
    /// Device timestamp of the block, in device ticks.
    pub timestamp: u64,
    /// PFNC pixel format.
    pub pixel_format: PixelFormat,
    /// Width in pixels.
    pub size_x: u32,
    /// Height in lines.
    pub size_y: u32,
    /// Horizontal offset of the region of interest.
    pub offset_x: u32,
    /// Vertical offset of the region of interest.
    pub offset_y: u32,
    /// Padding bytes at the end of each line.
    pub padding_x: u16,
    /// Padding bytes at the end of the image.
    pub padding_y: u16,
}

/// A decoded block leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeaderRepr<'a> {
    /// Image payload.
    Image(ImageLeader),
    /// Chunk-data-only payload (type 0x0004).
    ChunkData {
        /// Device timestamp of the block, in device ticks.
        timestamp: u64,
    },
    /// Multi-part payload (type 0x000A): recognised, not decoded; the whole leader body.
    MultiPart(&'a [u8]),
}

impl<'a> LeaderRepr<'a> {
    /// Decodes a leader body (the bytes after the GVSP header).
    pub fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        let raw_type = read_u16(body, field::PAYLOAD_TYPE)?;
        let chunk = raw_type & payload_type::CHUNK_FLAG != 0;
        match raw_type & payload_type::TYPE_MASK {
            payload_type::IMAGE => {
                if body.len() < field::IMAGE_LEN {
                    return Err(WireError::Truncated);
                }
                Ok(LeaderRepr::Image(ImageLeader {
                    field_info: body[field::FIELD_INFO],
                    chunk,
                    timestamp: read_u64(body, field::TIMESTAMP)?,
                    pixel_format: PixelFormat(read_u32(body, field::PIXEL_FORMAT)?),
                    size_x: read_u32(body, field::SIZE_X)?,
                    size_y: read_u32(body, field::SIZE_Y)?,
                    offset_x: read_u32(body, field::OFFSET_X)?,
                    offset_y: read_u32(body, field::OFFSET_Y)?,
                    padding_x: read_u16(body, field::PADDING_X)?,
                    padding_y: read_u16(body, field::PADDING_Y)?,
                }))
            }
            payload_type::CHUNK_DATA if !chunk => Ok(LeaderRepr::ChunkData {
                timestamp: read_u64(body, field::TIMESTAMP)?,
            }),
            payload_type::MULTIPART => {
                if body.len() < field::COMMON_LEN {
                    return Err(WireError::Truncated);
                }
                Ok(LeaderRepr::MultiPart(body))
            }
            _ => Err(WireError::UnsupportedPayloadType(raw_type)),
        }
    }

    /// The payload type field as sent, chunk flag included.
    pub fn payload_type(&self) -> u16 {
        match self {
            LeaderRepr::Image(image) if image.chunk => {
                payload_type::IMAGE | payload_type::CHUNK_FLAG
            }
            LeaderRepr::Image(_) => payload_type::IMAGE,
            LeaderRepr::ChunkData { .. } => payload_type::CHUNK_DATA,
            LeaderRepr::MultiPart(body) => {
                read_u16(body, field::PAYLOAD_TYPE).unwrap_or(payload_type::MULTIPART)
            }
        }
    }

    /// The block timestamp in device ticks; `None` only for a hand-built
    /// `MultiPart` body shorter than the common 12 bytes (`parse` never makes one).
    pub fn timestamp(&self) -> Option<u64> {
        match self {
            LeaderRepr::Image(image) => Some(image.timestamp),
            LeaderRepr::ChunkData { timestamp } => Some(*timestamp),
            LeaderRepr::MultiPart(body) => read_u64(body, field::TIMESTAMP).ok(),
        }
    }

    /// Length of the leader body `emit` writes.
    pub fn body_len(&self) -> usize {
        match self {
            LeaderRepr::Image(_) => field::IMAGE_LEN,
            LeaderRepr::ChunkData { .. } => field::COMMON_LEN,
            LeaderRepr::MultiPart(body) => body.len(),
        }
    }

    /// Writes the body into `out`, which must be exactly `body_len()` bytes.
    pub fn emit(&self, out: &mut [u8]) -> Result<(), WireError> {
        if out.len() != self.body_len() {
            return Err(WireError::BufferTooSmall {
                needed: self.body_len(),
            });
        }
        let timestamp = match self {
            LeaderRepr::MultiPart(body) if body.len() >= field::COMMON_LEN => {
                out.copy_from_slice(body);
                return Ok(());
            }
            LeaderRepr::MultiPart(_) => return Err(WireError::BadValue),
            LeaderRepr::Image(image) => image.timestamp,
            LeaderRepr::ChunkData { timestamp } => *timestamp,
        };
        out.fill(0);
        set_u16(out, field::PAYLOAD_TYPE, self.payload_type());
        set_u64(out, field::TIMESTAMP, timestamp);
        if let LeaderRepr::Image(image) = self {
            out[field::FIELD_INFO] = image.field_info;
            set_u32(out, field::PIXEL_FORMAT, image.pixel_format.0);
            set_u32(out, field::SIZE_X, image.size_x);
            set_u32(out, field::SIZE_Y, image.size_y);
            set_u32(out, field::OFFSET_X, image.offset_x);
            set_u32(out, field::OFFSET_Y, image.offset_y);
            set_u16(out, field::PADDING_X, image.padding_x);
            set_u16(out, field::PADDING_Y, image.padding_y);
        }
        Ok(())
    }
}
