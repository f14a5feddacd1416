//! GVCP acknowledge bodies: [`AckRepr`] parses and emits whole acknowledge datagrams.
//!
//! Invariants:
//! - `AckRepr::parse` accepts any byte slice and returns an error instead of
//!   panicking;
//! - an acknowledge with an empty payload for a message that normally carries
//!   one (what devices send when they reject a command) parses as
//!   [`AckRepr::Empty`], so a failed command yields its status, not a
//!   `WireError`;
//! - `AckRepr::emit` writes exactly `buffer_len()` bytes, zeroes reserved
//!   fields, and pads discovery strings with NUL.

use std::net::Ipv4Addr;

use super::super::field::{read_u16, read_u32, set_u16, set_u32};
use super::super::{Status, WireError};
use super::header::{AckHeader, AckPacket, HEADER_LEN};
use super::{code, DISCOVERY_ACK_LEN, MAX_MEMORY_DATA, MAX_PAYLOAD, MAX_READREG};

/// DISCOVERY_ACK payload offsets: the bootstrap register addresses themselves.
mod discovery {
    use crate::wire::bootstrap as b;
    pub const VERSION: usize = b::VERSION as usize;
    pub const DEVICE_MODE: usize = b::DEVICE_MODE as usize;
    /// The 6 MAC bytes end MAC_LOW; the 2 bytes before them are reserved.
    pub const MAC: usize = b::MAC_HIGH as usize + 2;
    pub const IP_CONFIG_OPTIONS: usize = b::NETWORK_INTERFACE_CAPABILITY as usize;
    pub const IP_CONFIG_CURRENT: usize = b::NETWORK_INTERFACE_CONFIGURATION as usize;
    pub const IP: usize = b::CURRENT_IP as usize;
    pub const MASK: usize = b::CURRENT_SUBNET_MASK as usize;
    pub const GATEWAY: usize = b::CURRENT_GATEWAY as usize;
    pub const MANUFACTURER: (usize, usize) =
        (b::MANUFACTURER_NAME as usize, b::MANUFACTURER_NAME_LEN);
    pub const MODEL: (usize, usize) = (b::MODEL_NAME as usize, b::MODEL_NAME_LEN);
    pub const DEVICE_VERSION: (usize, usize) = (b::DEVICE_VERSION as usize, b::DEVICE_VERSION_LEN);
    pub const MANUFACTURER_INFO: (usize, usize) =
        (b::MANUFACTURER_INFO as usize, b::MANUFACTURER_INFO_LEN);
    pub const SERIAL: (usize, usize) = (b::SERIAL_NUMBER as usize, b::SERIAL_NUMBER_LEN);
    pub const USER_NAME: (usize, usize) = (b::USER_DEFINED_NAME as usize, b::USER_DEFINED_NAME_LEN);
}

/// The identity a device reports in its DISCOVERY_ACK (bootstrap registers 0x0000..0x00F8).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DiscoveryAck {
    /// GigE Vision specification version, major part.
    pub spec_version_major: u16,
    /// GigE Vision specification version, minor part.
    pub spec_version_minor: u16,
    /// Device mode register (endianness, device class, character set).
    pub device_mode: u32,
    /// MAC address of the answering interface.
    pub mac: [u8; 6],
    /// Supported IP configuration options (persistent, DHCP, LLA bits).
    pub ip_config_options: u32,
    /// Current IP configuration (same bits).
    pub ip_config_current: u32,
    /// Current IP address.
    pub ip: Ipv4Addr,
    /// Current subnet mask.
    pub mask: Ipv4Addr,
    /// Current default gateway.
    pub gateway: Ipv4Addr,
    /// Manufacturer name (at most 31 bytes on emit).
    pub manufacturer: String,
    /// Model name (at most 31 bytes on emit).
    pub model: String,
    /// Device version (at most 31 bytes on emit).
    pub device_version: String,
    /// Manufacturer-specific information (at most 47 bytes on emit).
    pub manufacturer_info: String,
    /// Serial number (at most 15 bytes on emit).
    pub serial: String,
    /// User-defined name (at most 15 bytes on emit).
    pub user_name: String,
}

/// Reads a NUL-terminated string from a fixed field (the whole field if no NUL).
fn read_fixed_str(payload: &[u8], (at, len): (usize, usize)) -> Result<String, WireError> {
    let bytes = payload
        .get(at..at.saturating_add(len))
        .ok_or(WireError::Truncated)?;
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    Ok(String::from_utf8_lossy(&bytes[..end]).into_owned())
}

/// Writes a string NUL-padded into a zeroed fixed field; it must leave room for one NUL.
fn write_fixed_str(
    payload: &mut [u8],
    (at, len): (usize, usize),
    s: &str,
) -> Result<(), WireError> {
    let bytes = s.as_bytes();
    if bytes.len() >= len || bytes.contains(&0) {
        return Err(WireError::BadValue);
    }
    payload[at..at + bytes.len()].copy_from_slice(bytes);
    Ok(())
}

impl DiscoveryAck {
    /// Parses the 248-byte DISCOVERY_ACK payload (longer payloads: the rest is ignored).
    pub fn parse(payload: &[u8]) -> Result<Self, WireError> {
        if payload.len() < DISCOVERY_ACK_LEN {
            return Err(WireError::BadLength);
        }
        let version = read_u32(payload, discovery::VERSION)?;
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&payload[discovery::MAC..discovery::MAC + 6]);
        Ok(DiscoveryAck {
            spec_version_major: (version >> 16) as u16,
            spec_version_minor: (version & 0xFFFF) as u16,
            device_mode: read_u32(payload, discovery::DEVICE_MODE)?,
            mac,
            ip_config_options: read_u32(payload, discovery::IP_CONFIG_OPTIONS)?,
            ip_config_current: read_u32(payload, discovery::IP_CONFIG_CURRENT)?,
            ip: Ipv4Addr::from(read_u32(payload, discovery::IP)?),
            mask: Ipv4Addr::from(read_u32(payload, discovery::MASK)?),
            gateway: Ipv4Addr::from(read_u32(payload, discovery::GATEWAY)?),
            manufacturer: read_fixed_str(payload, discovery::MANUFACTURER)?,
            model: read_fixed_str(payload, discovery::MODEL)?,
            device_version: read_fixed_str(payload, discovery::DEVICE_VERSION)?,
            manufacturer_info: read_fixed_str(payload, discovery::MANUFACTURER_INFO)?,
            serial: read_fixed_str(payload, discovery::SERIAL)?,
            user_name: read_fixed_str(payload, discovery::USER_NAME)?,
        })
    }

    /// Writes the payload into `payload`, exactly 248 zeroed bytes.
    fn emit(&self, payload: &mut [u8]) -> Result<(), WireError> {
        let version =
            (u32::from(self.spec_version_major) << 16) | u32::from(self.spec_version_minor);
        set_u32(payload, discovery::VERSION, version);
        set_u32(payload, discovery::DEVICE_MODE, self.device_mode);
        payload[discovery::MAC..discovery::MAC + 6].copy_from_slice(&self.mac);
        set_u32(
            payload,
            discovery::IP_CONFIG_OPTIONS,
            self.ip_config_options,
        );
        set_u32(
            payload,
            discovery::IP_CONFIG_CURRENT,
            self.ip_config_current,
        );
        set_u32(payload, discovery::IP, u32::from(self.ip));
        set_u32(payload, discovery::MASK, u32::from(self.mask));
        set_u32(payload, discovery::GATEWAY, u32::from(self.gateway));
        write_fixed_str(payload, discovery::MANUFACTURER, &self.manufacturer)?;
        write_fixed_str(payload, discovery::MODEL, &self.model)?;
        write_fixed_str(payload, discovery::DEVICE_VERSION, &self.device_version)?;
        write_fixed_str(
            payload,
            discovery::MANUFACTURER_INFO,
            &self.manufacturer_info,
        )?;
        write_fixed_str(payload, discovery::SERIAL, &self.serial)?;
        write_fixed_str(payload, discovery::USER_NAME, &self.user_name)?;
        Ok(())
    }
}

/// Acknowledge codes whose payload is normally non-empty; an empty one means "rejected".
const CODES_WITH_PAYLOAD: [u16; 6] = [
    code::DISCOVERY_ACK,
    code::READREG_ACK,
    code::WRITEREG_ACK,
    code::READMEM_ACK,
    code::WRITEMEM_ACK,
    code::PENDING_ACK,
];

/// A GVCP acknowledge body, one variant per acknowledge the engine receives or serves.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AckRepr {
    /// DISCOVERY_ACK: the device's identity.
    Discovery(Box<DiscoveryAck>),
    /// FORCEIP_ACK (no payload).
    ForceIp,
    /// READREG_ACK: one value per requested register (1..=135 on emit).
    ReadReg {
        /// Register values, in request order.
        values: Vec<u32>,
    },
    /// WRITEREG_ACK: on success the number of writes done, on error the index of the failing one.
    WriteReg {
        /// Data index.
        index: u16,
    },
    /// READMEM_ACK: the start address echoed and the bytes read (at most 536).
    ReadMem {
        /// Start address of the read.
        address: u32,
        /// Bytes read.
        data: Vec<u8>,
    },
    /// WRITEMEM_ACK: on error, the index of the first byte not written.
    WriteMem {
        /// Data index.
        index: u16,
    },
    /// PENDING_ACK: the device needs up to this long before the real acknowledge.
    PendingAck {
        /// Expected time to completion, in milliseconds.
        time_to_completion_ms: u16,
    },
    /// EVENT_ACK (no payload).
    Event,
    /// EVENTDATA_ACK (no payload).
    EventData,
    /// ACTION_ACK (no payload).
    Action,
    /// An acknowledge without payload for a message that normally carries one, as devices
    /// send when they reject a command; the header's status says why.
    Empty {
        /// The acknowledge code (DISCOVERY, READREG, WRITEREG, READMEM, WRITEMEM or PENDING).
        answer: u16,
    },
}

impl AckRepr {
    /// Parses a whole acknowledge datagram into its header and body.
    pub fn parse(datagram: &[u8]) -> Result<(AckHeader, AckRepr), WireError> {
        let packet = AckPacket::new_checked(datagram)?;
        let header = AckHeader::parse(&packet);
        let repr = Self::parse_body(&header, packet.payload())?;
        Ok((header, repr))
    }

    /// Parses an acknowledge body given its already parsed header and its payload.
    pub fn parse_body(header: &AckHeader, payload: &[u8]) -> Result<AckRepr, WireError> {
        if payload.is_empty() && CODES_WITH_PAYLOAD.contains(&header.answer) {
            return Ok(AckRepr::Empty {
                answer: header.answer,
            });
        }
        match header.answer {
            code::DISCOVERY_ACK => Ok(AckRepr::Discovery(Box::new(DiscoveryAck::parse(payload)?))),
            code::FORCEIP_ACK => Ok(AckRepr::ForceIp),
            code::READREG_ACK => {
                if payload.len() % 4 != 0 {
                    return Err(WireError::BadLength);
                }
                let values = payload
                    .chunks_exact(4)
                    .map(|word| u32::from_be_bytes([word[0], word[1], word[2], word[3]]))
                    .collect();
                Ok(AckRepr::ReadReg { values })
            }
            code::WRITEREG_ACK => Ok(AckRepr::WriteReg {
                index: read_u16(payload, 2).map_err(|_| WireError::BadLength)?,
            }),
            code::READMEM_ACK => Ok(AckRepr::ReadMem {
                address: read_u32(payload, 0).map_err(|_| WireError::BadLength)?,
                data: payload[4..].to_vec(),
            }),
            code::WRITEMEM_ACK => Ok(AckRepr::WriteMem {
                index: read_u16(payload, 2).map_err(|_| WireError::BadLength)?,
            }),
            code::PENDING_ACK => Ok(AckRepr::PendingAck {
                time_to_completion_ms: read_u16(payload, 2).map_err(|_| WireError::BadLength)?,
            }),
            code::EVENT_ACK => Ok(AckRepr::Event),
            code::EVENTDATA_ACK => Ok(AckRepr::EventData),
            code::ACTION_ACK => Ok(AckRepr::Action),
            other => Err(WireError::UnknownAck(other)),
        }
    }

    /// The acknowledge code this body is sent with.
    pub fn answer_code(&self) -> u16 {
        match self {
            AckRepr::Discovery(_) => code::DISCOVERY_ACK,
            AckRepr::ForceIp => code::FORCEIP_ACK,
            AckRepr::ReadReg { .. } => code::READREG_ACK,
            AckRepr::WriteReg { .. } => code::WRITEREG_ACK,
            AckRepr::ReadMem { .. } => code::READMEM_ACK,
            AckRepr::WriteMem { .. } => code::WRITEMEM_ACK,
            AckRepr::PendingAck { .. } => code::PENDING_ACK,
            AckRepr::Event => code::EVENT_ACK,
            AckRepr::EventData => code::EVENTDATA_ACK,
            AckRepr::Action => code::ACTION_ACK,
            AckRepr::Empty { answer } => *answer,
        }
    }

    /// Payload length in bytes (without the 8-byte header).
    pub fn payload_len(&self) -> usize {
        match self {
            AckRepr::Discovery(_) => DISCOVERY_ACK_LEN,
            AckRepr::ReadReg { values } => values.len().saturating_mul(4),
            AckRepr::ReadMem { data, .. } => data.len().saturating_add(4),
            AckRepr::WriteReg { .. } | AckRepr::WriteMem { .. } | AckRepr::PendingAck { .. } => 4,
            AckRepr::ForceIp
            | AckRepr::Event
            | AckRepr::EventData
            | AckRepr::Action
            | AckRepr::Empty { .. } => 0,
        }
    }

    /// Whole datagram length in bytes: header plus payload.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.payload_len())
    }

    /// Refuses bodies a compliant application would reject.
    fn validate(&self) -> Result<(), WireError> {
        let ok = match self {
            AckRepr::ReadReg { values } => !values.is_empty() && values.len() <= MAX_READREG,
            AckRepr::ReadMem { data, .. } => data.len() <= MAX_MEMORY_DATA,
            AckRepr::Empty { answer } => CODES_WITH_PAYLOAD.contains(answer),
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
    pub fn emit(&self, status: Status, ack_id: u16, buf: &mut [u8]) -> Result<usize, WireError> {
        self.validate()?;
        let payload_len = self.payload_len();
        let total = HEADER_LEN + payload_len;
        let out = buf
            .get_mut(..total)
            .ok_or(WireError::BufferTooSmall { needed: total })?;
        let length = u16::try_from(payload_len).map_err(|_| WireError::PayloadTooLong)?;
        out.fill(0);
        let mut packet = AckPacket::new_unchecked(&mut *out);
        packet.set_status(status);
        packet.set_answer(self.answer_code());
        packet.set_length(length);
        packet.set_ack_id(ack_id);
        let payload = packet.payload_mut();
        match self {
            AckRepr::Discovery(ack) => ack.emit(payload)?,
            AckRepr::ReadReg { values } => {
                for (slot, value) in payload.chunks_exact_mut(4).zip(values) {
                    slot.copy_from_slice(&value.to_be_bytes());
                }
            }
            AckRepr::ReadMem { address, data } => {
                set_u32(payload, 0, *address);
                payload[4..].copy_from_slice(data);
            }
            AckRepr::WriteReg { index } | AckRepr::WriteMem { index } => {
                set_u16(payload, 2, *index);
            }
            AckRepr::PendingAck {
                time_to_completion_ms,
            } => set_u16(payload, 2, *time_to_completion_ms),
            AckRepr::ForceIp
            | AckRepr::Event
            | AckRepr::EventData
            | AckRepr::Action
            | AckRepr::Empty { .. } => {}
        }
        Ok(total)
    }
}
