//! GVCP command bodies: [`CommandRepr`] parses and emits whole command datagrams.
//!
//! Invariants:
//! - `CommandRepr::parse` accepts any byte slice and returns an error instead
//!   of panicking; it checks structure only (sizes, known code), so a device
//!   can answer a semantically bad request with a status code;
//! - `CommandRepr::emit` writes exactly `buffer_len()` bytes, zeroes reserved
//!   fields, and refuses values a device would reject (see each variant);
//! - the flag bits a variant carries itself (EXTENDED_ID for PACKETRESEND,
//!   EVENT, EVENTDATA; SCHEDULED_ACTION for ACTION) are derived from the
//!   variant on emit and override the caller's `flags`, so parse then emit
//!   reproduces the datagram.

use std::net::Ipv4Addr;

use super::super::field::{read_u16, read_u32, read_u64, set_u16, set_u32, set_u64};
use super::super::WireError;
use super::header::{CommandHeader, CommandPacket, HEADER_LEN};
use super::{code, flags, COMMAND_KEY, MAX_MEMORY_DATA, MAX_PAYLOAD, MAX_READREG, MAX_WRITEREG};

/// FORCEIP payload: MAC at 2..8, IP at 20, mask at 36, gateway at 52; 56 bytes.
mod forceip {
    pub const MAC: usize = 2;
    pub const IP: usize = 20;
    pub const MASK: usize = 36;
    pub const GATEWAY: usize = 52;
    pub const LEN: usize = 56;
}

/// PACKETRESEND payload offsets.
mod resend {
    pub const CHANNEL: usize = 0;
    /// 16-bit block id (standard ids only).
    pub const BLOCK_ID_16: usize = 2;
    pub const FIRST: usize = 4;
    pub const LAST: usize = 8;
    /// 64-bit block id (extended ids only).
    pub const BLOCK_ID_64: usize = 12;
    pub const LEN: usize = 12;
    pub const LEN_EXTENDED: usize = 20;
}

/// READMEM payload: address, 2 reserved bytes, count.
mod readmem {
    pub const ADDRESS: usize = 0;
    pub const COUNT: usize = 6;
    pub const LEN: usize = 8;
}

/// ACTION payload: device key, group key, group mask, optional 64-bit time.
mod action {
    pub const DEVICE_KEY: usize = 0;
    pub const GROUP_KEY: usize = 4;
    pub const GROUP_MASK: usize = 8;
    pub const TIME: usize = 12;
    pub const LEN: usize = 12;
    pub const LEN_SCHEDULED: usize = 20;
}

/// One event record of EVENT/EVENTDATA; 16 bytes standard, 24 with extended ids.
mod event {
    /// EVENTDATA with extended ids: the size of this event, data included.
    pub const SIZE: usize = 0;
    pub const ID: usize = 2;
    pub const CHANNEL: usize = 4;
    pub const BLOCK_ID_16: usize = 6;
    pub const TIMESTAMP: usize = 8;
    pub const BLOCK_ID_64: usize = 8;
    pub const TIMESTAMP_EXTENDED: usize = 16;
    pub const LEN: usize = 16;
    pub const LEN_EXTENDED: usize = 24;
}

/// One event as carried by EVENT and EVENTDATA commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventRecord {
    /// Event identifier (0x0001..0x8000 standard, 0x8001..0x8FFF errors, 0x9000.. device-specific).
    pub event_id: u16,
    /// Stream channel the event relates to (0xFFFF when none).
    pub channel: u16,
    /// Block id the event relates to; must fit 16 bits without extended ids.
    pub block_id: u64,
    /// Device timestamp of the event, in device ticks.
    pub timestamp: u64,
}

impl EventRecord {
    fn record_len(extended: bool) -> usize {
        if extended {
            event::LEN_EXTENDED
        } else {
            event::LEN
        }
    }

    fn parse(bytes: &[u8], extended: bool) -> Result<Self, WireError> {
        let (block_id, timestamp) = if extended {
            (
                read_u64(bytes, event::BLOCK_ID_64)?,
                read_u64(bytes, event::TIMESTAMP_EXTENDED)?,
            )
        } else {
            (
                u64::from(read_u16(bytes, event::BLOCK_ID_16)?),
                read_u64(bytes, event::TIMESTAMP)?,
            )
        };
        Ok(EventRecord {
            event_id: read_u16(bytes, event::ID)?,
            channel: read_u16(bytes, event::CHANNEL)?,
            block_id,
            timestamp,
        })
    }

    /// Writes the record into `out`, which holds exactly one zeroed record.
    fn emit(&self, out: &mut [u8], extended: bool) -> Result<(), WireError> {
        set_u16(out, event::ID, self.event_id);
        set_u16(out, event::CHANNEL, self.channel);
        if extended {
            set_u64(out, event::BLOCK_ID_64, self.block_id);
            set_u64(out, event::TIMESTAMP_EXTENDED, self.timestamp);
        } else {
            let block_id = u16::try_from(self.block_id).map_err(|_| WireError::BadValue)?;
            set_u16(out, event::BLOCK_ID_16, block_id);
            set_u64(out, event::TIMESTAMP, self.timestamp);
        }
        Ok(())
    }
}

/// A GVCP command body, one variant per command the engine sends or serves.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CommandRepr {
    /// DISCOVERY: asks devices to answer with their identity (no payload).
    Discovery,
    /// FORCEIP: assigns a temporary IP configuration to the device with this MAC.
    ForceIp {
        /// MAC address of the target device.
        mac: [u8; 6],
        /// New IP address.
        ip: Ipv4Addr,
        /// New subnet mask.
        mask: Ipv4Addr,
        /// New default gateway.
        gateway: Ipv4Addr,
    },
    /// PACKETRESEND: asks the device to resend packets `first_packet..=last_packet` of a block.
    ///
    /// Without `extended`, `block_id` must fit 16 bits and packet ids 24 bits.
    PacketResend {
        /// Stream channel index.
        channel: u16,
        /// Block (frame) id.
        block_id: u64,
        /// First packet id to resend.
        first_packet: u32,
        /// Last packet id to resend (inclusive).
        last_packet: u32,
        /// Use 64-bit block ids and 32-bit packet ids (EXTENDED_ID flag).
        extended: bool,
    },
    /// READREG: reads 1..=135 32-bit registers.
    ReadReg {
        /// Register addresses, in order.
        addresses: Vec<u32>,
    },
    /// WRITEREG: writes 1..=67 registers, in order.
    WriteReg {
        /// (address, value) pairs.
        writes: Vec<(u32, u32)>,
    },
    /// READMEM: reads `count` bytes (a multiple of 4, at most 536) from `address`.
    ReadMem {
        /// Start address.
        address: u32,
        /// Number of bytes.
        count: u16,
    },
    /// WRITEMEM: writes `data` (a non-empty multiple of 4 bytes, at most 536) at `address`.
    WriteMem {
        /// Start address.
        address: u32,
        /// Bytes to write.
        data: Vec<u8>,
    },
    /// EVENT: one or more events without data (device to application).
    Event {
        /// Records use 64-bit block ids (EXTENDED_ID flag).
        extended: bool,
        /// The events, in order.
        events: Vec<EventRecord>,
    },
    /// EVENTDATA: one event with device-specific data (device to application).
    EventData {
        /// Record uses 64-bit block ids and an event-size field (EXTENDED_ID flag).
        extended: bool,
        /// The event.
        event: EventRecord,
        /// The event's data.
        data: Vec<u8>,
    },
    /// ACTION: triggers an action on every device whose keys and group mask match.
    Action {
        /// Must equal the device's ACTION_DEVICE_KEY register.
        device_key: u32,
        /// Must equal one of the device's ACTION_GROUP_KEY registers.
        group_key: u32,
        /// ANDed with that group's ACTION_GROUP_MASK; non-zero means "act".
        group_mask: u32,
        /// Scheduled execution time in device ticks (SCHEDULED_ACTION flag), or now.
        action_time: Option<u64>,
    },
}

impl CommandRepr {
    /// Parses a whole command datagram into its header and body.
    pub fn parse(datagram: &[u8]) -> Result<(CommandHeader, CommandRepr), WireError> {
        let packet = CommandPacket::new_checked(datagram)?;
        let header = CommandHeader::parse(&packet)?;
        let repr = Self::parse_body(&header, packet.payload())?;
        Ok((header, repr))
    }

    /// Parses a command body given its already parsed header and its payload.
    pub fn parse_body(header: &CommandHeader, payload: &[u8]) -> Result<CommandRepr, WireError> {
        let extended = header.flags & flags::EXTENDED_ID != 0;
        match header.command {
            code::DISCOVERY_CMD => Ok(CommandRepr::Discovery),
            code::FORCEIP_CMD => {
                if payload.len() < forceip::LEN {
                    return Err(WireError::BadLength);
                }
                let mut mac = [0u8; 6];
                mac.copy_from_slice(&payload[forceip::MAC..forceip::MAC + 6]);
                Ok(CommandRepr::ForceIp {
                    mac,
                    ip: Ipv4Addr::from(read_u32(payload, forceip::IP)?),
                    mask: Ipv4Addr::from(read_u32(payload, forceip::MASK)?),
                    gateway: Ipv4Addr::from(read_u32(payload, forceip::GATEWAY)?),
                })
            }
            code::PACKETRESEND_CMD => {
                let needed = if extended {
                    resend::LEN_EXTENDED
                } else {
                    resend::LEN
                };
                if payload.len() < needed {
                    return Err(WireError::BadLength);
                }
                let (block_id, first_packet, last_packet) = if extended {
                    (
                        read_u64(payload, resend::BLOCK_ID_64)?,
                        read_u32(payload, resend::FIRST)?,
                        read_u32(payload, resend::LAST)?,
                    )
                } else {
                    (
                        u64::from(read_u16(payload, resend::BLOCK_ID_16)?),
                        read_u32(payload, resend::FIRST)? & 0x00FF_FFFF,
                        read_u32(payload, resend::LAST)? & 0x00FF_FFFF,
                    )
                };
                Ok(CommandRepr::PacketResend {
                    channel: read_u16(payload, resend::CHANNEL)?,
                    block_id,
                    first_packet,
                    last_packet,
                    extended,
                })
            }
            code::READREG_CMD => {
                if payload.is_empty() || payload.len() % 4 != 0 {
                    return Err(WireError::BadLength);
                }
                let addresses = payload
                    .chunks_exact(4)
                    .map(|word| u32::from_be_bytes([word[0], word[1], word[2], word[3]]))
                    .collect();
                Ok(CommandRepr::ReadReg { addresses })
            }
            code::WRITEREG_CMD => {
                if payload.is_empty() || payload.len() % 8 != 0 {
                    return Err(WireError::BadLength);
                }
                let writes = payload
                    .chunks_exact(8)
                    .map(|pair| {
                        (
                            u32::from_be_bytes([pair[0], pair[1], pair[2], pair[3]]),
                            u32::from_be_bytes([pair[4], pair[5], pair[6], pair[7]]),
                        )
                    })
                    .collect();
                Ok(CommandRepr::WriteReg { writes })
            }
            code::READMEM_CMD => {
                if payload.len() < readmem::LEN {
                    return Err(WireError::BadLength);
                }
                Ok(CommandRepr::ReadMem {
                    address: read_u32(payload, readmem::ADDRESS)?,
                    count: read_u16(payload, readmem::COUNT)?,
                })
            }
            code::WRITEMEM_CMD => {
                if payload.len() < 4 {
                    return Err(WireError::BadLength);
                }
                Ok(CommandRepr::WriteMem {
                    address: read_u32(payload, 0)?,
                    data: payload[4..].to_vec(),
                })
            }
            code::EVENT_CMD => {
                let record = EventRecord::record_len(extended);
                if payload.is_empty() || payload.len() % record != 0 {
                    return Err(WireError::BadLength);
                }
                let events = payload
                    .chunks_exact(record)
                    .map(|bytes| EventRecord::parse(bytes, extended))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(CommandRepr::Event { extended, events })
            }
            code::EVENTDATA_CMD => {
                let record = EventRecord::record_len(extended);
                if payload.len() < record {
                    return Err(WireError::BadLength);
                }
                let event = EventRecord::parse(payload, extended)?;
                let end = if extended {
                    let size = usize::from(read_u16(payload, event::SIZE)?);
                    if size < record || size > payload.len() {
                        return Err(WireError::BadLength);
                    }
                    size
                } else {
                    payload.len()
                };
                Ok(CommandRepr::EventData {
                    extended,
                    event,
                    data: payload[record..end].to_vec(),
                })
            }
            code::ACTION_CMD => {
                let scheduled = header.flags & flags::SCHEDULED_ACTION != 0;
                let needed = if scheduled {
                    action::LEN_SCHEDULED
                } else {
                    action::LEN
                };
                if payload.len() < needed {
                    return Err(WireError::BadLength);
                }
                let action_time = if scheduled {
                    Some(read_u64(payload, action::TIME)?)
                } else {
                    None
                };
                Ok(CommandRepr::Action {
                    device_key: read_u32(payload, action::DEVICE_KEY)?,
                    group_key: read_u32(payload, action::GROUP_KEY)?,
                    group_mask: read_u32(payload, action::GROUP_MASK)?,
                    action_time,
                })
            }
            other => Err(WireError::UnknownCommand(other)),
        }
    }

    /// The command code this body is sent with.
    pub fn command_code(&self) -> u16 {
        match self {
            CommandRepr::Discovery => code::DISCOVERY_CMD,
            CommandRepr::ForceIp { .. } => code::FORCEIP_CMD,
            CommandRepr::PacketResend { .. } => code::PACKETRESEND_CMD,
            CommandRepr::ReadReg { .. } => code::READREG_CMD,
            CommandRepr::WriteReg { .. } => code::WRITEREG_CMD,
            CommandRepr::ReadMem { .. } => code::READMEM_CMD,
            CommandRepr::WriteMem { .. } => code::WRITEMEM_CMD,
            CommandRepr::Event { .. } => code::EVENT_CMD,
            CommandRepr::EventData { .. } => code::EVENTDATA_CMD,
            CommandRepr::Action { .. } => code::ACTION_CMD,
        }
    }

    /// The acknowledge code a device answers with, or `None` for PACKETRESEND (never acknowledged).
    pub fn ack_code(&self) -> Option<u16> {
        match self {
            CommandRepr::PacketResend { .. } => None,
            other => Some(other.command_code() + 1),
        }
    }

    /// Payload length in bytes (without the 8-byte header).
    pub fn payload_len(&self) -> usize {
        match self {
            CommandRepr::Discovery => 0,
            CommandRepr::ForceIp { .. } => forceip::LEN,
            CommandRepr::PacketResend { extended, .. } => {
                if *extended {
                    resend::LEN_EXTENDED
                } else {
                    resend::LEN
                }
            }
            CommandRepr::ReadReg { addresses } => addresses.len().saturating_mul(4),
            CommandRepr::WriteReg { writes } => writes.len().saturating_mul(8),
            CommandRepr::ReadMem { .. } => readmem::LEN,
            CommandRepr::WriteMem { data, .. } => data.len().saturating_add(4),
            CommandRepr::Event { extended, events } => events
                .len()
                .saturating_mul(EventRecord::record_len(*extended)),
            CommandRepr::EventData { extended, data, .. } => {
                EventRecord::record_len(*extended).saturating_add(data.len())
            }
            CommandRepr::Action { action_time, .. } => {
                if action_time.is_some() {
                    action::LEN_SCHEDULED
                } else {
                    action::LEN
                }
            }
        }
    }

    /// Whole datagram length in bytes: header plus payload.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.payload_len())
    }

    /// The flag byte to send: `flags` with the bits this variant owns replaced.
    pub fn effective_flags(&self, flags: u8) -> u8 {
        match self {
            CommandRepr::PacketResend { extended, .. }
            | CommandRepr::Event { extended, .. }
            | CommandRepr::EventData { extended, .. } => {
                let base = flags & !flags::EXTENDED_ID;
                if *extended {
                    base | flags::EXTENDED_ID
                } else {
                    base
                }
            }
            CommandRepr::Action { action_time, .. } => {
                let base = flags & !flags::SCHEDULED_ACTION;
                if action_time.is_some() {
                    base | flags::SCHEDULED_ACTION
                } else {
                    base
                }
            }
            _ => flags,
        }
    }

    /// Refuses bodies a compliant device would reject.
    fn validate(&self) -> Result<(), WireError> {
        let ok = match self {
            CommandRepr::PacketResend {
                block_id,
                first_packet,
                last_packet,
                extended,
                ..
            } => {
                *extended
                    || (*block_id <= 0xFFFF
                        && *first_packet <= 0x00FF_FFFF
                        && *last_packet <= 0x00FF_FFFF)
            }
            CommandRepr::ReadReg { addresses } => {
                !addresses.is_empty() && addresses.len() <= MAX_READREG
            }
            CommandRepr::WriteReg { writes } => !writes.is_empty() && writes.len() <= MAX_WRITEREG,
            CommandRepr::ReadMem { count, .. } => {
                *count != 0 && count % 4 == 0 && usize::from(*count) <= MAX_MEMORY_DATA
            }
            CommandRepr::WriteMem { data, .. } => {
                !data.is_empty() && data.len() % 4 == 0 && data.len() <= MAX_MEMORY_DATA
            }
            CommandRepr::Event { events, .. } => !events.is_empty(),
            _ => true,
        };
        if !ok {
            return Err(WireError::BadValue);
        }
        if self.payload_len() > MAX_PAYLOAD {
            return Err(WireError::PayloadTooLong);
        }
        Ok(())
    }

    /// Writes the whole datagram into `buf` and returns its length.
    ///
    /// `flags` is typically [`flags::ACK_REQUIRED`]; the bits this variant owns are
    /// set from it (see [`CommandRepr::effective_flags`]).
    pub fn emit(&self, req_id: u16, flags: u8, buf: &mut [u8]) -> Result<usize, WireError> {
        self.validate()?;
        let payload_len = self.payload_len();
        let total = HEADER_LEN + payload_len;
        let out = buf
            .get_mut(..total)
            .ok_or(WireError::BufferTooSmall { needed: total })?;
        let length = u16::try_from(payload_len).map_err(|_| WireError::PayloadTooLong)?;
        out.fill(0);
        let mut packet = CommandPacket::new_unchecked(&mut *out);
        packet.set_key(COMMAND_KEY);
        packet.set_flags(self.effective_flags(flags));
        packet.set_command(self.command_code());
        packet.set_length(length);
        packet.set_req_id(req_id);
        self.emit_payload(packet.payload_mut())?;
        Ok(total)
    }

    /// Writes the body into `payload`, which is exactly `payload_len()` zeroed bytes.
    fn emit_payload(&self, payload: &mut [u8]) -> Result<(), WireError> {
        match self {
            CommandRepr::Discovery => {}
            CommandRepr::ForceIp {
                mac,
                ip,
                mask,
                gateway,
            } => {
                payload[forceip::MAC..forceip::MAC + 6].copy_from_slice(mac);
                set_u32(payload, forceip::IP, u32::from(*ip));
                set_u32(payload, forceip::MASK, u32::from(*mask));
                set_u32(payload, forceip::GATEWAY, u32::from(*gateway));
            }
            CommandRepr::PacketResend {
                channel,
                block_id,
                first_packet,
                last_packet,
                extended,
            } => {
                set_u16(payload, resend::CHANNEL, *channel);
                set_u32(payload, resend::FIRST, *first_packet);
                set_u32(payload, resend::LAST, *last_packet);
                if *extended {
                    set_u64(payload, resend::BLOCK_ID_64, *block_id);
                } else {
                    let block_id = u16::try_from(*block_id).map_err(|_| WireError::BadValue)?;
                    set_u16(payload, resend::BLOCK_ID_16, block_id);
                }
            }
            CommandRepr::ReadReg { addresses } => {
                for (slot, address) in payload.chunks_exact_mut(4).zip(addresses) {
                    slot.copy_from_slice(&address.to_be_bytes());
                }
            }
            CommandRepr::WriteReg { writes } => {
                for (slot, (address, value)) in payload.chunks_exact_mut(8).zip(writes) {
                    set_u32(slot, 0, *address);
                    set_u32(slot, 4, *value);
                }
            }
            CommandRepr::ReadMem { address, count } => {
                set_u32(payload, readmem::ADDRESS, *address);
                set_u16(payload, readmem::COUNT, *count);
            }
            CommandRepr::WriteMem { address, data } => {
                set_u32(payload, 0, *address);
                payload[4..].copy_from_slice(data);
            }
            CommandRepr::Event { extended, events } => {
                let record = EventRecord::record_len(*extended);
                for (slot, event) in payload.chunks_exact_mut(record).zip(events) {
                    event.emit(slot, *extended)?;
                }
            }
            CommandRepr::EventData {
                extended,
                event,
                data,
            } => {
                let record = EventRecord::record_len(*extended);
                event.emit(&mut payload[..record], *extended)?;
                if *extended {
                    let size = u16::try_from(payload.len()).map_err(|_| WireError::BadValue)?;
                    set_u16(payload, event::SIZE, size);
                }
                payload[record..].copy_from_slice(data);
            }
            CommandRepr::Action {
                device_key,
                group_key,
                group_mask,
                action_time,
            } => {
                set_u32(payload, action::DEVICE_KEY, *device_key);
                set_u32(payload, action::GROUP_KEY, *group_key);
                set_u32(payload, action::GROUP_MASK, *group_mask);
                if let Some(time) = action_time {
                    set_u64(payload, action::TIME, *time);
                }
            }
        }
        Ok(())
    }
}
