//! GVSP block trailers: image, chunk-data, and multi-part trailers kept raw.
//!
//! Common layout: reserved u16, payload type u16. The image trailer adds
//! size_y u32 (lines actually sent); the chunk-data trailer adds the chunk
//! data length u32.
//!
//! Invariants: `parse` borrows the body and never allocates; `emit` writes
//! exactly `body_len()` bytes with reserved bytes zeroed.

use super::super::field::{read_u16, read_u32, set_u16, set_u32};
use super::super::WireError;
use super::payload_type;

mod field {
    pub const PAYLOAD_TYPE: usize = 2;
    pub const DATA: usize = 4;
    pub const COMMON_LEN: usize = 4;
    pub const LEN: usize = 8;
}

/// A decoded block trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrailerRepr<'a> {
    /// Image payload.
    Image {
        /// The payload type carries the chunk flag.
        chunk: bool,
        /// Number of lines sent (may be smaller than the leader's size_y).
        size_y: u32,
    },
    /// Chunk-data-only payload (type 0x0004).
    ChunkData {
        /// Length of the chunk data in bytes.
        chunk_data_len: u32,
    },
    /// Multi-part payload (type 0x000A): recognised, not decoded; the whole trailer body.
    MultiPart(&'a [u8]),
}

impl<'a> TrailerRepr<'a> {
    /// Decodes a trailer body (the bytes after the GVSP header).
    pub fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        let raw_type = read_u16(body, field::PAYLOAD_TYPE)?;
        let chunk = raw_type & payload_type::CHUNK_FLAG != 0;
        match raw_type & payload_type::TYPE_MASK {
            payload_type::IMAGE => Ok(TrailerRepr::Image {
                chunk,
                size_y: read_u32(body, field::DATA)?,
            }),
            payload_type::CHUNK_DATA if !chunk => Ok(TrailerRepr::ChunkData {
                chunk_data_len: read_u32(body, field::DATA)?,
            }),
            payload_type::MULTIPART => Ok(TrailerRepr::MultiPart(body)),
            _ => Err(WireError::UnsupportedPayloadType(raw_type)),
        }
    }

    /// The payload type field as sent, chunk flag included.
    pub fn payload_type(&self) -> u16 {
        match self {
            TrailerRepr::Image { chunk: true, .. } => {
                payload_type::IMAGE | payload_type::CHUNK_FLAG
            }
            TrailerRepr::Image { .. } => payload_type::IMAGE,
            TrailerRepr::ChunkData { .. } => payload_type::CHUNK_DATA,
            TrailerRepr::MultiPart(body) => {
                read_u16(body, field::PAYLOAD_TYPE).unwrap_or(payload_type::MULTIPART)
            }
        }
    }

    /// Length of the trailer body `emit` writes.
    pub fn body_len(&self) -> usize {
        match self {
            TrailerRepr::Image { .. } | TrailerRepr::ChunkData { .. } => field::LEN,
            TrailerRepr::MultiPart(body) => body.len(),
        }
    }

    /// Writes the body into `out`, which must be exactly `body_len()` bytes.
    pub fn emit(&self, out: &mut [u8]) -> Result<(), WireError> {
        if out.len() != self.body_len() {
            return Err(WireError::BufferTooSmall {
                needed: self.body_len(),
            });
        }
        match self {
            TrailerRepr::MultiPart(body) if body.len() >= field::COMMON_LEN => {
                out.copy_from_slice(body);
            }
            // A hand-built body without the common 4 bytes.
            TrailerRepr::MultiPart(_) => return Err(WireError::BadValue),
            TrailerRepr::Image { size_y: data, .. }
            | TrailerRepr::ChunkData {
                chunk_data_len: data,
            } => {
                out.fill(0);
                set_u16(out, field::PAYLOAD_TYPE, self.payload_type());
                set_u32(out, field::DATA, *data);
            }
        }
        Ok(())
    }
}
