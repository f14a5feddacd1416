//! GigE Vision wire formats as typed views over byte buffers (sans-IO).
//!
//! Invariants:
//! - nothing here does I/O; the GVSP path never allocates (views borrow the
//!   datagram), the GVCP control path may (register lists are `Vec`s);
//! - every parser checks the length once and then never panics, whatever the
//!   bytes; a short buffer is `WireError::Truncated`, never a zero value;
//! - `emit` writes exactly `buffer_len()` bytes and zeroes reserved fields.
//!
//! # Public API
//!
//! Shared: [`WireError`](crate::wire::WireError) (small, `Copy`, `Display` says what to do) and
//! [`Status`](crate::wire::Status) (named GigE Vision status codes, `Other(u16)` for the rest).
//!
//! GVCP ([`gvcp`](crate::wire::gvcp)), whole datagrams:
//! - `gvcp::CommandRepr::parse(&[u8]) -> Result<(CommandHeader, CommandRepr), WireError>`
//! - `gvcp::CommandRepr::emit(&self, req_id: u16, flags: u8, buf: &mut [u8]) -> Result<usize, WireError>`
//! - `gvcp::AckRepr::parse(&[u8]) -> Result<(AckHeader, AckRepr), WireError>`
//! - `gvcp::AckRepr::emit(&self, status: Status, ack_id: u16, buf: &mut [u8]) -> Result<usize, WireError>`
//! - `buffer_len()` on both gives the datagram size; `gvcp::CommandPacket` and
//!   `gvcp::AckPacket` are the header views; `gvcp::flags`, `gvcp::code`,
//!   `gvcp::GVCP_PORT`, `gvcp::MAX_PAYLOAD` the constants.
//!
//! GVSP ([`gvsp`](crate::wire::gvsp)), zero-copy:
//! - `gvsp::GvspPacket::new_checked(&[u8]) -> Result<GvspPacket<&[u8]>, WireError>`, then
//!   `status()`, `is_extended()`, `packet_format() -> PacketFormat`, `block_id() -> u64`,
//!   `packet_id() -> u32`, `is_resent()`, `payload() -> &[u8]`, `leader()`, `trailer()`;
//! - `gvsp::GvspHeader { status, block_id, packet_id, extended, flags }` with
//!   `emit(format, buf)`, `emit_leader(&LeaderRepr, buf)`, `emit_payload(&[u8], buf)`,
//!   `emit_trailer(&TrailerRepr, buf)`, each `-> Result<usize, WireError>`;
//! - `gvsp::LeaderRepr` (`Image(ImageLeader)`, `ChunkData`, `MultiPart(&[u8])`),
//!   `gvsp::TrailerRepr`, `gvsp::PixelFormat` (PFNC codes, `bytes_per_pixel()`).
//!
//! Bootstrap registers ([`bootstrap`](crate::wire::bootstrap)): named addresses and bit masks,
//! `bootstrap::stream_channel(channel, bootstrap::sc::PACKET_SIZE)`,
//! `bootstrap::action_group_key(n)`, `bootstrap::action_group_mask(n)`.
//!
//! A rejected command comes back as `AckRepr::Empty { answer }` (or the normal
//! variant) with the error in `AckHeader::status`, never as a `WireError`.

#![deny(unsafe_code)]

mod error;
mod field;
mod status;

pub mod bootstrap;
pub mod gvcp;
pub mod gvsp;
pub mod ptp;

pub use error::WireError;
pub use status::Status;

#[cfg(test)]
mod aravis_tests;

#[cfg(test)]
mod proptests;
