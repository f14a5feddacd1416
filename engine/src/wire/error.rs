//! The one error type of the wire layer.
//!
//! Invariant: `WireError` is `Copy` and small, so the hot GVSP path can return
//! it without allocating; every variant's message says what failed and what a
//! caller can do about it.

use core::fmt;

/// Why a buffer could not be parsed as, or emitted into, a wire message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireError {
    /// The buffer ends before the header, or before the length its header declares.
    Truncated,
    /// A GVCP command does not start with the 0x42 key byte; the byte found is carried.
    BadKey(u8),
    /// The GVCP command code is not one this layer knows.
    UnknownCommand(u16),
    /// The GVCP acknowledge code is not one this layer knows.
    UnknownAck(u16),
    /// A payload length does not fit the layout of its message (wrong size or not a multiple of the item size).
    BadLength,
    /// A payload would exceed the largest GVCP payload (540 bytes).
    PayloadTooLong,
    /// A field value cannot be represented on the wire (e.g. a 64-bit block id without extended ids).
    BadValue,
    /// The output buffer is shorter than the message; `needed` is the full message size.
    BufferTooSmall {
        /// Bytes the emitted message needs.
        needed: usize,
    },
    /// A GVSP packet has a format other than the one the caller asked to decode.
    WrongPacketFormat(u8),
    /// A GVSP leader or trailer carries a payload type this layer does not decode.
    UnsupportedPayloadType(u16),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WireError::Truncated => f.write_str(
                "datagram truncated: it ends before its header or declared length; drop it",
            ),
            WireError::BadKey(key) => write!(
                f,
                "not a GVCP command: key byte is {key:#04x}, expected 0x42; drop the datagram"
            ),
            WireError::UnknownCommand(code) => write!(
                f,
                "unknown GVCP command {code:#06x}; answer NOT_IMPLEMENTED or drop it"
            ),
            WireError::UnknownAck(code) => write!(
                f,
                "unknown GVCP acknowledge {code:#06x}; check that the peer is a GigE Vision device"
            ),
            WireError::BadLength => f.write_str(
                "payload length does not match the message layout; the peer sent a malformed message",
            ),
            WireError::PayloadTooLong => f.write_str(
                "payload exceeds the 540-byte GVCP limit; split the request into smaller ones",
            ),
            WireError::BadValue => f.write_str(
                "a field value cannot be encoded (too large for its wire field, or not allowed); \
                 check the request, e.g. enable extended ids for 64-bit block ids",
            ),
            WireError::BufferTooSmall { needed } => write!(
                f,
                "output buffer too small: the message needs {needed} bytes; pass a larger buffer"
            ),
            WireError::WrongPacketFormat(format) => write!(
                f,
                "GVSP packet has format {format:#04x}, not the one requested; dispatch on packet_format() first"
            ),
            WireError::UnsupportedPayloadType(pt) => write!(
                f,
                "GVSP payload type {pt:#06x} is not decoded by gvcap; configure the camera for image or chunk data"
            ),
        }
    }
}

impl std::error::Error for WireError {}
