//! GVCP, the GigE Vision control protocol: commands and acknowledges over UDP.
//!
//! Layout: [`header`] holds the typed views over the 8-byte command and
//! acknowledge headers, [`command`] and [`ack`] the message bodies as enums.
//!
//! Invariants:
//! - parsers check the buffer against the header's length field once and then
//!   never index out of bounds, whatever the bytes;
//! - parsing is structural (sizes, multiples, known codes); semantic limits a
//!   device must enforce (alignment, maximum counts) are left to the receiver,
//!   which answers with a status code, whereas `emit` refuses values a
//!   compliant peer would reject (see each variant's doc);
//! - every emitted payload is at most [`MAX_PAYLOAD`] bytes.

pub mod ack;
pub mod command;
pub mod header;

pub use ack::{AckRepr, DiscoveryAck};
pub use command::{CommandRepr, EventRecord};
pub use header::{AckHeader, AckPacket, CommandHeader, CommandPacket, HEADER_LEN};

/// The UDP port a device listens on for GVCP commands.
pub const GVCP_PORT: u16 = 3956;

/// The key byte that starts every GVCP command.
pub const COMMAND_KEY: u8 = 0x42;

/// Largest GVCP payload: a 576-byte IP datagram minus IP (20), UDP (8) and GVCP (8) headers.
pub const MAX_PAYLOAD: usize = 540;

/// Largest READMEM/WRITEMEM data block: the payload less the 4-byte address.
pub const MAX_MEMORY_DATA: usize = MAX_PAYLOAD - 4;

/// Most registers one READREG can address (4 bytes each).
pub const MAX_READREG: usize = MAX_PAYLOAD / 4;

/// Most address/value pairs one WRITEREG can carry (8 bytes each).
pub const MAX_WRITEREG: usize = MAX_PAYLOAD / 8;

/// Size of the DISCOVERY_ACK payload; it mirrors bootstrap registers 0x0000..0x00F8.
pub const DISCOVERY_ACK_LEN: usize = 248;

/// Command header flag bits (the second byte of a command).
pub mod flags {
    /// The device must acknowledge the command (all commands).
    pub const ACK_REQUIRED: u8 = 0x01;
    /// DISCOVERY and FORCEIP: the device may broadcast its acknowledge.
    pub const ALLOW_BROADCAST_ACK: u8 = 0x10;
    /// PACKETRESEND, EVENT, EVENTDATA: 64-bit block ids and 32-bit packet ids.
    pub const EXTENDED_ID: u8 = 0x10;
    /// ACTION: the command carries a 64-bit scheduled execution time.
    pub const SCHEDULED_ACTION: u8 = 0x80;
}

/// GVCP command and acknowledge codes; an acknowledge is its command's code plus one.
pub mod code {
    /// DISCOVERY command.
    pub const DISCOVERY_CMD: u16 = 0x0002;
    /// DISCOVERY acknowledge.
    pub const DISCOVERY_ACK: u16 = 0x0003;
    /// FORCEIP command.
    pub const FORCEIP_CMD: u16 = 0x0004;
    /// FORCEIP acknowledge.
    pub const FORCEIP_ACK: u16 = 0x0005;
    /// PACKETRESEND command (never acknowledged).
    pub const PACKETRESEND_CMD: u16 = 0x0040;
    /// READREG command.
    pub const READREG_CMD: u16 = 0x0080;
    /// READREG acknowledge.
    pub const READREG_ACK: u16 = 0x0081;
    /// WRITEREG command.
    pub const WRITEREG_CMD: u16 = 0x0082;
    /// WRITEREG acknowledge.
    pub const WRITEREG_ACK: u16 = 0x0083;
    /// READMEM command.
    pub const READMEM_CMD: u16 = 0x0084;
    /// READMEM acknowledge.
    pub const READMEM_ACK: u16 = 0x0085;
    /// WRITEMEM command.
    pub const WRITEMEM_CMD: u16 = 0x0086;
    /// WRITEMEM acknowledge.
    pub const WRITEMEM_ACK: u16 = 0x0087;
    /// PENDING acknowledge: the device needs more time for the command.
    pub const PENDING_ACK: u16 = 0x0089;
    /// EVENT command (device to application, on the message channel).
    pub const EVENT_CMD: u16 = 0x00C0;
    /// EVENT acknowledge.
    pub const EVENT_ACK: u16 = 0x00C1;
    /// EVENTDATA command (device to application, on the message channel).
    pub const EVENTDATA_CMD: u16 = 0x00C2;
    /// EVENTDATA acknowledge.
    pub const EVENTDATA_ACK: u16 = 0x00C3;
    /// ACTION command.
    pub const ACTION_CMD: u16 = 0x0100;
    /// ACTION acknowledge.
    pub const ACTION_ACK: u16 = 0x0101;
}

#[cfg(test)]
mod tests;
