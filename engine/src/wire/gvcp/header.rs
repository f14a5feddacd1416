//! Typed views over the 8-byte GVCP command and acknowledge headers.
//!
//! Invariant: after `new_checked` (or a successful `check_len`) the buffer
//! holds the full header and the `length` bytes of payload it declares, so
//! every accessor, `payload()` included, is in bounds. Views made with
//! `new_unchecked` give no such promise: their accessors may panic on a short
//! buffer, which is why parsers always go through `new_checked`. Bytes after
//! the declared payload are ignored.

use super::super::field::{get_u16, set_u16, Field};
use super::super::{Status, WireError};
use super::COMMAND_KEY;

/// Size of both the command and the acknowledge header.
pub const HEADER_LEN: usize = 8;

mod field {
    use super::Field;
    pub const KEY: usize = 0;
    pub const FLAGS: usize = 1;
    pub const STATUS: Field = 0..2;
    pub const CODE: Field = 2..4;
    pub const LENGTH: Field = 4..6;
    pub const ID: Field = 6..8;
}

/// Checks that `data` holds a header and the payload length it declares.
fn check_declared_len(data: &[u8]) -> Result<(), WireError> {
    if data.len() < HEADER_LEN {
        return Err(WireError::Truncated);
    }
    let declared = usize::from(get_u16(data, field::LENGTH.start));
    if data.len() < HEADER_LEN + declared {
        return Err(WireError::Truncated);
    }
    Ok(())
}

/// A read/write view of a GVCP command datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> CommandPacket<T> {
    /// Wraps a buffer without checking its length; accessors may then panic.
    pub fn new_unchecked(buffer: T) -> Self {
        CommandPacket { buffer }
    }

    /// Wraps a buffer after checking it holds the header and its declared payload.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the header and the payload length it declares.
    pub fn check_len(&self) -> Result<(), WireError> {
        check_declared_len(self.buffer.as_ref())
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The key byte (0x42 for a valid command).
    pub fn key(&self) -> u8 {
        self.buffer.as_ref()[field::KEY]
    }

    /// The flag byte (see [`super::flags`]).
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// The command code (see [`super::code`]).
    pub fn command(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::CODE.start)
    }

    /// The declared payload length in bytes.
    pub fn length(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// The request id the acknowledge must echo.
    pub fn req_id(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::ID.start)
    }

    /// The payload: exactly `length()` bytes after the header.
    pub fn payload(&self) -> &[u8] {
        let end = HEADER_LEN + usize::from(self.length());
        &self.buffer.as_ref()[HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> CommandPacket<T> {
    /// Sets the key byte.
    pub fn set_key(&mut self, value: u8) {
        self.buffer.as_mut()[field::KEY] = value;
    }

    /// Sets the flag byte.
    pub fn set_flags(&mut self, value: u8) {
        self.buffer.as_mut()[field::FLAGS] = value;
    }

    /// Sets the command code.
    pub fn set_command(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::CODE.start, value);
    }

    /// Sets the declared payload length.
    pub fn set_length(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::LENGTH.start, value);
    }

    /// Sets the request id.
    pub fn set_req_id(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::ID.start, value);
    }

    /// The mutable payload: `length()` bytes after the header.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + usize::from(self.length());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

/// A read/write view of a GVCP acknowledge datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> AckPacket<T> {
    /// Wraps a buffer without checking its length; accessors may then panic.
    pub fn new_unchecked(buffer: T) -> Self {
        AckPacket { buffer }
    }

    /// Wraps a buffer after checking it holds the header and its declared payload.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the header and the payload length it declares.
    pub fn check_len(&self) -> Result<(), WireError> {
        check_declared_len(self.buffer.as_ref())
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The status code.
    pub fn status(&self) -> Status {
        Status::from(get_u16(self.buffer.as_ref(), field::STATUS.start))
    }

    /// The acknowledge code (see [`super::code`]).
    pub fn answer(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::CODE.start)
    }

    /// The declared payload length in bytes.
    pub fn length(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// The id of the request this acknowledges.
    pub fn ack_id(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::ID.start)
    }

    /// The payload: exactly `length()` bytes after the header.
    pub fn payload(&self) -> &[u8] {
        let end = HEADER_LEN + usize::from(self.length());
        &self.buffer.as_ref()[HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> AckPacket<T> {
    /// Sets the status code.
    pub fn set_status(&mut self, value: Status) {
        set_u16(self.buffer.as_mut(), field::STATUS.start, value.into());
    }

    /// Sets the acknowledge code.
    pub fn set_answer(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::CODE.start, value);
    }

    /// Sets the declared payload length.
    pub fn set_length(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::LENGTH.start, value);
    }

    /// Sets the acknowledged request id.
    pub fn set_ack_id(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::ID.start, value);
    }

    /// The mutable payload: `length()` bytes after the header.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + usize::from(self.length());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

/// The fields of a parsed command header (the key is implied: always 0x42).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommandHeader {
    /// The flag byte as received.
    pub flags: u8,
    /// The command code.
    pub command: u16,
    /// The declared payload length.
    pub length: u16,
    /// The request id.
    pub req_id: u16,
}

impl CommandHeader {
    /// Reads the header of a checked command packet, rejecting a wrong key.
    pub fn parse<T: AsRef<[u8]>>(packet: &CommandPacket<T>) -> Result<Self, WireError> {
        if packet.key() != COMMAND_KEY {
            return Err(WireError::BadKey(packet.key()));
        }
        Ok(CommandHeader {
            flags: packet.flags(),
            command: packet.command(),
            length: packet.length(),
            req_id: packet.req_id(),
        })
    }

    /// True when the command asks for an acknowledge.
    pub fn ack_required(&self) -> bool {
        self.flags & super::flags::ACK_REQUIRED != 0
    }
}

/// The fields of a parsed acknowledge header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AckHeader {
    /// The status the device reports.
    pub status: Status,
    /// The acknowledge code.
    pub answer: u16,
    /// The declared payload length.
    pub length: u16,
    /// The request id being acknowledged.
    pub ack_id: u16,
}

impl AckHeader {
    /// Reads the header of a checked acknowledge packet.
    pub fn parse<T: AsRef<[u8]>>(packet: &AckPacket<T>) -> Self {
        AckHeader {
            status: packet.status(),
            answer: packet.answer(),
            length: packet.length(),
            ack_id: packet.ack_id(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_view_reads_fields_and_bounds_payload() {
        let bytes = [
            0x42, 0x01, 0x00, 0x80, 0x00, 0x04, 0x12, 0x34, 0x00, 0x00, 0x0A, 0x00, 0xEE,
        ];
        let packet = CommandPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.key(), 0x42);
        assert_eq!(packet.flags(), 0x01);
        assert_eq!(packet.command(), 0x0080);
        assert_eq!(packet.length(), 4);
        assert_eq!(packet.req_id(), 0x1234);
        assert_eq!(packet.payload(), &[0x00, 0x00, 0x0A, 0x00]);
        let header = CommandHeader::parse(&packet).unwrap();
        assert!(header.ack_required());
    }

    #[test]
    fn short_buffers_are_truncated_not_zero() {
        assert_eq!(
            CommandPacket::new_checked(&[0x42, 0x01, 0x00][..]).unwrap_err(),
            WireError::Truncated
        );
        // Declares 8 payload bytes, carries 4.
        let bytes = [0x42, 0x01, 0x00, 0x80, 0x00, 0x08, 0x00, 0x01, 1, 2, 3, 4];
        assert_eq!(
            CommandPacket::new_checked(&bytes[..]).unwrap_err(),
            WireError::Truncated
        );
        assert_eq!(
            AckPacket::new_checked(&bytes[..]).unwrap_err(),
            WireError::Truncated
        );
    }

    #[test]
    fn wrong_key_is_reported_with_the_byte() {
        let bytes = [0x43, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01];
        let packet = CommandPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(CommandHeader::parse(&packet), Err(WireError::BadKey(0x43)));
    }

    #[test]
    fn setters_write_big_endian() {
        let mut bytes = [0u8; 12];
        let mut packet = AckPacket::new_unchecked(&mut bytes[..]);
        packet.set_status(Status::AccessDenied);
        packet.set_answer(0x0083);
        packet.set_length(4);
        packet.set_ack_id(0xBEEF);
        packet.payload_mut().copy_from_slice(&[0, 0, 0, 1]);
        assert_eq!(
            bytes,
            [0x80, 0x06, 0x00, 0x83, 0x00, 0x04, 0xBE, 0xEF, 0, 0, 0, 1]
        );
    }
}
