//! PTP (IEEE 1588-2008, version 2) messages over UDP/IPv4: the common
//! header and the bodies an ordinary clock with the end-to-end delay
//! mechanism exchanges (Sync, Delay_Req, Follow_Up, Delay_Resp, Announce).
//!
//! Layout: a 34-byte header (message type, version, length, domain, flags,
//! correction, source port identity, sequence id, control, log interval),
//! then the body; timestamps are 48-bit seconds plus 32-bit nanoseconds.
//! Event messages (Sync, Delay_Req) travel on UDP port 319, general ones
//! (Follow_Up, Delay_Resp, Announce) on 320, to 224.0.1.129.
//!
//! Invariants:
//! - [`Message::parse`] accepts any bytes and never panics: it checks the
//!   buffer against the header, the header's length field and the body
//!   layout of the message type, and returns `WireError::Truncated`, or
//!   `BadValue` for a version other than 2; bytes after the declared length
//!   (UDP padding, TLVs we do not read) are ignored;
//! - message types this module does not decode parse as [`Body::Other`]
//!   with their header, so a receiver can count and skip them;
//! - [`Message::emit`] writes exactly [`Message::buffer_len`] bytes, sets
//!   the length field, the control field and version 2, and zeroes reserved
//!   bytes; a timestamp whose seconds do not fit 48 bits is `BadValue`.

use std::net::Ipv4Addr;

use super::field::{read_u16, read_u32, set_u16, set_u32, set_u64};
use super::WireError;

/// UDP port of event messages (Sync, Delay_Req): their times are stamped.
pub const EVENT_PORT: u16 = 319;
/// UDP port of general messages (Follow_Up, Delay_Resp, Announce).
pub const GENERAL_PORT: u16 = 320;
/// The primary IPv4 multicast group of PTP (all but peer-delay messages).
pub const PRIMARY_MULTICAST: Ipv4Addr = Ipv4Addr::new(224, 0, 1, 129);
/// Length of the common header.
pub const HEADER_LEN: usize = 34;
/// Length of a whole Sync, Delay_Req or Follow_Up message.
pub const TIMESTAMP_MESSAGE_LEN: usize = 44;
/// Length of a whole Delay_Resp message.
pub const DELAY_RESP_LEN: usize = 54;
/// Length of a whole Announce message (without TLVs).
pub const ANNOUNCE_LEN: usize = 64;
/// The PTP version this module speaks.
pub const VERSION: u8 = 2;

/// Bits of the 16-bit flag field (first octet in the high byte).
pub mod flags {
    /// The sender is an alternate master.
    pub const ALTERNATE_MASTER: u16 = 0x0100;
    /// Two-step clock: a Follow_Up carries this Sync's precise origin time.
    pub const TWO_STEP: u16 = 0x0200;
    /// The message was sent unicast.
    pub const UNICAST: u16 = 0x0400;
    /// Profile-specific flag 1.
    pub const PROFILE_SPECIFIC_1: u16 = 0x2000;
    /// Profile-specific flag 2.
    pub const PROFILE_SPECIFIC_2: u16 = 0x4000;
    /// The last minute of the current UTC day has 61 seconds.
    pub const LEAP61: u16 = 0x0001;
    /// The last minute of the current UTC day has 59 seconds.
    pub const LEAP59: u16 = 0x0002;
    /// currentUtcOffset is known to be correct.
    pub const CURRENT_UTC_OFFSET_VALID: u16 = 0x0004;
    /// The grandmaster's timescale is PTP (TAI); clear means arbitrary.
    pub const PTP_TIMESCALE: u16 = 0x0008;
    /// The time is traceable to a primary reference.
    pub const TIME_TRACEABLE: u16 = 0x0010;
    /// The frequency is traceable to a primary reference.
    pub const FREQUENCY_TRACEABLE: u16 = 0x0020;
}

/// The 4-bit message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// Sync (event).
    Sync,
    /// Delay_Req (event).
    DelayReq,
    /// Pdelay_Req (event).
    PdelayReq,
    /// Pdelay_Resp (event).
    PdelayResp,
    /// Follow_Up (general).
    FollowUp,
    /// Delay_Resp (general).
    DelayResp,
    /// Pdelay_Resp_Follow_Up (general).
    PdelayRespFollowUp,
    /// Announce (general).
    Announce,
    /// Signaling (general).
    Signaling,
    /// Management (general).
    Management,
    /// A reserved value.
    Reserved(u8),
}

impl MessageType {
    /// Decodes the low nibble of the first header byte.
    pub fn from_nibble(value: u8) -> Self {
        match value & 0x0F {
            0x0 => MessageType::Sync,
            0x1 => MessageType::DelayReq,
            0x2 => MessageType::PdelayReq,
            0x3 => MessageType::PdelayResp,
            0x8 => MessageType::FollowUp,
            0x9 => MessageType::DelayResp,
            0xA => MessageType::PdelayRespFollowUp,
            0xB => MessageType::Announce,
            0xC => MessageType::Signaling,
            0xD => MessageType::Management,
            other => MessageType::Reserved(other),
        }
    }

    /// The 4-bit wire value (a `Reserved` value is masked to 4 bits).
    pub fn nibble(self) -> u8 {
        match self {
            MessageType::Sync => 0x0,
            MessageType::DelayReq => 0x1,
            MessageType::PdelayReq => 0x2,
            MessageType::PdelayResp => 0x3,
            MessageType::FollowUp => 0x8,
            MessageType::DelayResp => 0x9,
            MessageType::PdelayRespFollowUp => 0xA,
            MessageType::Announce => 0xB,
            MessageType::Signaling => 0xC,
            MessageType::Management => 0xD,
            MessageType::Reserved(v) => v & 0x0F,
        }
    }

    /// True for event messages, which are timestamped and sent to port 319.
    pub fn is_event(self) -> bool {
        self.nibble() < 0x8
    }

    /// The version-1 compatible control field value for this type.
    pub fn control(self) -> u8 {
        match self {
            MessageType::Sync => 0,
            MessageType::DelayReq => 1,
            MessageType::FollowUp => 2,
            MessageType::DelayResp => 3,
            MessageType::Management => 4,
            _ => 5,
        }
    }
}

/// A port identity: the clock's EUI-64 identity and a port number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PortIdentity {
    /// The clock identity (EUI-64).
    pub clock_identity: [u8; 8],
    /// The port number, from 1.
    pub port_number: u16,
}

impl PortIdentity {
    /// Length on the wire.
    pub const LEN: usize = 10;

    /// The clock identity derived from an EUI-48 MAC address (FF FE in the middle).
    pub fn clock_identity_from_mac(mac: [u8; 6]) -> [u8; 8] {
        [mac[0], mac[1], mac[2], 0xFF, 0xFE, mac[3], mac[4], mac[5]]
    }

    fn parse(data: &[u8], at: usize) -> Result<Self, WireError> {
        let bytes = data
            .get(at..at.saturating_add(Self::LEN))
            .ok_or(WireError::Truncated)?;
        let mut clock_identity = [0u8; 8];
        clock_identity.copy_from_slice(&bytes[..8]);
        Ok(PortIdentity {
            clock_identity,
            port_number: u16::from_be_bytes([bytes[8], bytes[9]]),
        })
    }

    fn emit(&self, out: &mut [u8], at: usize) {
        out[at..at + 8].copy_from_slice(&self.clock_identity);
        set_u16(out, at + 8, self.port_number);
    }
}

/// A PTP timestamp: 48-bit seconds and nanoseconds below 10^9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PtpTimestamp {
    /// Seconds since the timescale's epoch (48 bits on the wire).
    pub seconds: u64,
    /// Nanoseconds within the second.
    pub nanoseconds: u32,
}

impl PtpTimestamp {
    /// Length on the wire.
    pub const LEN: usize = 10;
    /// Largest seconds value the 48-bit field holds.
    pub const MAX_SECONDS: u64 = (1 << 48) - 1;

    /// The timestamp of `ns` nanoseconds since the epoch.
    pub fn from_nanos(ns: u64) -> Self {
        PtpTimestamp {
            seconds: ns / 1_000_000_000,
            nanoseconds: (ns % 1_000_000_000) as u32,
        }
    }

    /// Nanoseconds since the epoch (wide enough for every 48-bit seconds value).
    pub fn to_nanos(self) -> i128 {
        i128::from(self.seconds) * 1_000_000_000 + i128::from(self.nanoseconds)
    }

    /// Reads a timestamp; a nanoseconds field of 10^9 or more is not a
    /// time (IEEE 1588-2008 5.3.3) and is refused, so that it never reaches
    /// a servo.
    fn parse(data: &[u8], at: usize) -> Result<Self, WireError> {
        let high = u64::from(read_u16(data, at)?);
        let low = u64::from(read_u32(data, at.saturating_add(2))?);
        let nanoseconds = read_u32(data, at.saturating_add(6))?;
        if nanoseconds >= 1_000_000_000 {
            return Err(WireError::BadValue);
        }
        Ok(PtpTimestamp {
            seconds: (high << 32) | low,
            nanoseconds,
        })
    }

    fn emit(&self, out: &mut [u8], at: usize) -> Result<(), WireError> {
        if self.seconds > Self::MAX_SECONDS || self.nanoseconds >= 1_000_000_000 {
            return Err(WireError::BadValue);
        }
        set_u16(out, at, (self.seconds >> 32) as u16);
        set_u32(out, at + 2, self.seconds as u32);
        set_u32(out, at + 6, self.nanoseconds);
        Ok(())
    }
}

/// A clock's quality as announced: class, accuracy and variance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ClockQuality {
    /// Clock class (6: locked to a primary reference, 248: default, 255: slave-only).
    pub clock_class: u8,
    /// Clock accuracy enumeration (0x20 = 25 ns ... 0xFE = unknown).
    pub clock_accuracy: u8,
    /// offsetScaledLogVariance.
    pub offset_scaled_log_variance: u16,
}

/// The header fields common to all messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// transportSpecific (the high nibble of the first byte).
    pub transport_specific: u8,
    /// The message type.
    pub message_type: MessageType,
    /// The minor version in the high nibble of the second byte (0 for 1588-2008).
    pub minor_version: u8,
    /// messageLength as received (set by `emit`).
    pub message_length: u16,
    /// The PTP domain.
    pub domain: u8,
    /// The flag field (see [`flags`]).
    pub flags: u16,
    /// correctionField in nanoseconds times 2^16.
    pub correction: i64,
    /// The sender's port.
    pub source_port: PortIdentity,
    /// Sequence id, per message type and sender.
    pub sequence_id: u16,
    /// logMessageInterval (0x7F: not applicable).
    pub log_message_interval: i8,
}

impl Header {
    /// A header for `message_type` from `source_port`, with every other field zero
    /// and the log interval 0x7F ("not applicable").
    pub fn new(message_type: MessageType, source_port: PortIdentity, sequence_id: u16) -> Self {
        Header {
            transport_specific: 0,
            message_type,
            minor_version: 0,
            message_length: 0,
            domain: 0,
            flags: 0,
            correction: 0,
            source_port,
            sequence_id,
            log_message_interval: 0x7F,
        }
    }

    /// The correction field in nanoseconds, rounded towards zero.
    pub fn correction_ns(&self) -> i64 {
        self.correction / 65_536
    }

    /// True when the two-step flag is set.
    pub fn two_step(&self) -> bool {
        self.flags & flags::TWO_STEP != 0
    }
}

/// What an Announce message announces about its grandmaster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Announce {
    /// originTimestamp (an approximate time, often zero).
    pub origin_timestamp: PtpTimestamp,
    /// currentUtcOffset (TAI - UTC) in seconds.
    pub current_utc_offset: i16,
    /// grandmasterPriority1 (lower wins).
    pub priority1: u8,
    /// grandmasterClockQuality.
    pub clock_quality: ClockQuality,
    /// grandmasterPriority2 (lower wins).
    pub priority2: u8,
    /// grandmasterIdentity.
    pub grandmaster_identity: [u8; 8],
    /// stepsRemoved: boundary clocks between the grandmaster and the sender.
    pub steps_removed: u16,
    /// timeSource (0x20 GPS, 0x40 PTP, 0x50 NTP, 0xA0 internal oscillator, ...).
    pub time_source: u8,
}

/// The body of a message, by type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body {
    /// Sync: the origin timestamp (zero or approximate in a two-step Sync).
    Sync {
        /// originTimestamp.
        origin_timestamp: PtpTimestamp,
    },
    /// Delay_Req: the origin timestamp (approximate).
    DelayReq {
        /// originTimestamp.
        origin_timestamp: PtpTimestamp,
    },
    /// Follow_Up: the precise send time of the Sync with the same sequence id.
    FollowUp {
        /// preciseOriginTimestamp.
        precise_origin_timestamp: PtpTimestamp,
    },
    /// Delay_Resp: when the master received the Delay_Req of `requesting_port`.
    DelayResp {
        /// receiveTimestamp.
        receive_timestamp: PtpTimestamp,
        /// The port that sent the Delay_Req.
        requesting_port: PortIdentity,
    },
    /// Announce: the grandmaster's data set.
    Announce(Announce),
    /// Any other message type: not decoded.
    Other,
}

impl Body {
    /// The message type this body is sent as; `None` for `Other`.
    pub fn message_type(&self) -> Option<MessageType> {
        Some(match self {
            Body::Sync { .. } => MessageType::Sync,
            Body::DelayReq { .. } => MessageType::DelayReq,
            Body::FollowUp { .. } => MessageType::FollowUp,
            Body::DelayResp { .. } => MessageType::DelayResp,
            Body::Announce(_) => MessageType::Announce,
            Body::Other => return None,
        })
    }

    /// Whole message length with this body.
    pub fn message_len(&self) -> usize {
        match self {
            Body::Sync { .. } | Body::DelayReq { .. } | Body::FollowUp { .. } => {
                TIMESTAMP_MESSAGE_LEN
            }
            Body::DelayResp { .. } => DELAY_RESP_LEN,
            Body::Announce(_) => ANNOUNCE_LEN,
            Body::Other => HEADER_LEN,
        }
    }
}

/// A whole PTP message: header and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Message {
    /// The header; `emit` overrides its type, length and control fields from the body.
    pub header: Header,
    /// The body.
    pub body: Body,
}

mod field {
    pub const TYPE: usize = 0;
    pub const VERSION: usize = 1;
    pub const LENGTH: usize = 2;
    pub const DOMAIN: usize = 4;
    pub const FLAGS: usize = 6;
    pub const CORRECTION: usize = 8;
    pub const SOURCE_PORT: usize = 20;
    pub const SEQUENCE_ID: usize = 30;
    pub const CONTROL: usize = 32;
    pub const LOG_INTERVAL: usize = 33;
    pub const BODY: usize = 34;
    // Announce, from the start of the message.
    pub const UTC_OFFSET: usize = 44;
    pub const PRIORITY1: usize = 47;
    pub const CLOCK_CLASS: usize = 48;
    pub const CLOCK_ACCURACY: usize = 49;
    pub const VARIANCE: usize = 50;
    pub const PRIORITY2: usize = 52;
    pub const GM_IDENTITY: usize = 53;
    pub const STEPS_REMOVED: usize = 61;
    pub const TIME_SOURCE: usize = 63;
    // Delay_Resp.
    pub const REQUESTING_PORT: usize = 44;
}

impl Message {
    /// Parses one PTP message (the UDP payload).
    pub fn parse(data: &[u8]) -> Result<Message, WireError> {
        if data.len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        if data[field::VERSION] & 0x0F != VERSION {
            return Err(WireError::BadValue);
        }
        let declared = usize::from(read_u16(data, field::LENGTH)?);
        if declared < HEADER_LEN || declared > data.len() {
            return Err(WireError::Truncated);
        }
        let data = &data[..declared];
        let mut clock_identity = [0u8; 8];
        clock_identity.copy_from_slice(&data[field::SOURCE_PORT..field::SOURCE_PORT + 8]);
        let header = Header {
            transport_specific: data[field::TYPE] >> 4,
            message_type: MessageType::from_nibble(data[field::TYPE]),
            minor_version: data[field::VERSION] >> 4,
            message_length: declared as u16,
            domain: data[field::DOMAIN],
            flags: read_u16(data, field::FLAGS)?,
            correction: i64::from_be_bytes(
                data[field::CORRECTION..field::CORRECTION + 8]
                    .try_into()
                    .map_err(|_| WireError::Truncated)?,
            ),
            source_port: PortIdentity::parse(data, field::SOURCE_PORT)?,
            sequence_id: read_u16(data, field::SEQUENCE_ID)?,
            log_message_interval: data[field::LOG_INTERVAL] as i8,
        };
        let timestamp = || PtpTimestamp::parse(data, field::BODY);
        let body = match header.message_type {
            MessageType::Sync => Body::Sync {
                origin_timestamp: timestamp()?,
            },
            MessageType::DelayReq => Body::DelayReq {
                origin_timestamp: timestamp()?,
            },
            MessageType::FollowUp => Body::FollowUp {
                precise_origin_timestamp: timestamp()?,
            },
            MessageType::DelayResp => Body::DelayResp {
                receive_timestamp: timestamp()?,
                requesting_port: PortIdentity::parse(data, field::REQUESTING_PORT)?,
            },
            MessageType::Announce => {
                if data.len() < ANNOUNCE_LEN {
                    return Err(WireError::Truncated);
                }
                let mut grandmaster_identity = [0u8; 8];
                grandmaster_identity
                    .copy_from_slice(&data[field::GM_IDENTITY..field::GM_IDENTITY + 8]);
                Body::Announce(Announce {
                    origin_timestamp: timestamp()?,
                    current_utc_offset: read_u16(data, field::UTC_OFFSET)? as i16,
                    priority1: data[field::PRIORITY1],
                    clock_quality: ClockQuality {
                        clock_class: data[field::CLOCK_CLASS],
                        clock_accuracy: data[field::CLOCK_ACCURACY],
                        offset_scaled_log_variance: read_u16(data, field::VARIANCE)?,
                    },
                    priority2: data[field::PRIORITY2],
                    grandmaster_identity,
                    steps_removed: read_u16(data, field::STEPS_REMOVED)?,
                    time_source: data[field::TIME_SOURCE],
                })
            }
            _ => Body::Other,
        };
        Ok(Message { header, body })
    }

    /// Length of the message `emit` writes.
    pub fn buffer_len(&self) -> usize {
        self.body.message_len()
    }

    /// Writes the message into `buf` and returns its length. `Body::Other` cannot be emitted.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let message_type = self.body.message_type().ok_or(WireError::BadValue)?;
        let len = self.buffer_len();
        let out = buf
            .get_mut(..len)
            .ok_or(WireError::BufferTooSmall { needed: len })?;
        out.fill(0);
        let h = &self.header;
        out[field::TYPE] = (h.transport_specific << 4) | message_type.nibble();
        out[field::VERSION] = (h.minor_version << 4) | VERSION;
        set_u16(out, field::LENGTH, len as u16);
        out[field::DOMAIN] = h.domain;
        set_u16(out, field::FLAGS, h.flags);
        set_u64(out, field::CORRECTION, h.correction as u64);
        h.source_port.emit(out, field::SOURCE_PORT);
        set_u16(out, field::SEQUENCE_ID, h.sequence_id);
        out[field::CONTROL] = message_type.control();
        out[field::LOG_INTERVAL] = h.log_message_interval as u8;
        match &self.body {
            Body::Sync { origin_timestamp } | Body::DelayReq { origin_timestamp } => {
                origin_timestamp.emit(out, field::BODY)?
            }
            Body::FollowUp {
                precise_origin_timestamp,
            } => precise_origin_timestamp.emit(out, field::BODY)?,
            Body::DelayResp {
                receive_timestamp,
                requesting_port,
            } => {
                receive_timestamp.emit(out, field::BODY)?;
                requesting_port.emit(out, field::REQUESTING_PORT);
            }
            Body::Announce(a) => {
                a.origin_timestamp.emit(out, field::BODY)?;
                set_u16(out, field::UTC_OFFSET, a.current_utc_offset as u16);
                out[field::PRIORITY1] = a.priority1;
                out[field::CLOCK_CLASS] = a.clock_quality.clock_class;
                out[field::CLOCK_ACCURACY] = a.clock_quality.clock_accuracy;
                set_u16(
                    out,
                    field::VARIANCE,
                    a.clock_quality.offset_scaled_log_variance,
                );
                out[field::PRIORITY2] = a.priority2;
                out[field::GM_IDENTITY..field::GM_IDENTITY + 8]
                    .copy_from_slice(&a.grandmaster_identity);
                set_u16(out, field::STEPS_REMOVED, a.steps_removed);
                out[field::TIME_SOURCE] = a.time_source;
            }
            Body::Other => return Err(WireError::BadValue),
        }
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(last: u8) -> PortIdentity {
        PortIdentity {
            clock_identity: [0x02, 0, 0, 0xFF, 0xFE, 0, 0, last],
            port_number: 1,
        }
    }

    /// A two-step Sync as a master sends it: header, then a zero origin timestamp.
    const SYNC_BYTES: [u8; 44] = [
        0x00, 0x02, 0x00, 0x2C, 0x00, 0x00, 0x02,
        0x00, // type, version, length, domain, flags
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // correction
        0x00, 0x00, 0x00, 0x00, // reserved
        0x02, 0x00, 0x00, 0xFF, 0xFE, 0x00, 0x00, 0x07, 0x00, 0x01, // source port
        0x12, 0x34, 0x00, 0x00, // sequence id, control, log interval
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // origin timestamp
    ];

    #[test]
    fn sync_parses_from_fixed_bytes_and_emits_them_back() {
        let message = Message::parse(&SYNC_BYTES).unwrap();
        assert_eq!(message.header.message_type, MessageType::Sync);
        assert!(message.header.two_step());
        assert_eq!(message.header.sequence_id, 0x1234);
        assert_eq!(message.header.source_port, port(7));
        assert_eq!(message.header.log_message_interval, 0);
        assert_eq!(
            message.body,
            Body::Sync {
                origin_timestamp: PtpTimestamp::default()
            }
        );
        let mut out = [0xAAu8; 64];
        assert_eq!(message.emit(&mut out), Ok(44));
        assert_eq!(out[..44], SYNC_BYTES);
    }

    #[test]
    fn a_timestamp_with_a_second_or_more_of_nanoseconds_is_refused() {
        let mut bytes = SYNC_BYTES;
        bytes[40..44].copy_from_slice(&999_999_999u32.to_be_bytes());
        assert!(Message::parse(&bytes).is_ok());
        bytes[40..44].copy_from_slice(&1_000_000_000u32.to_be_bytes());
        assert_eq!(Message::parse(&bytes), Err(WireError::BadValue));
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Messages captured from linuxptp's ptp4l as grandmaster (software
    /// timestamps, two-step, 8 Syncs a second) on the rig, and a Delay_Resp
    /// answering gvsim.
    #[test]
    fn messages_captured_from_ptp4l_parse_and_emit_back_identically() {
        let master = PortIdentity {
            clock_identity: [0xca, 0x74, 0xe2, 0xff, 0xfe, 0xe5, 0xae, 0xfc],
            port_number: 1,
        };
        let captures = [
            "0002002c00000200000000000000000000000000ca74e2fffee5aefc0001000000fd00000000000000000000",
            "0802002c00000000000000000000000000000000ca74e2fffee5aefc0001000002fd00006b0653971abd0508",
            "0902003600000000000000000000000000000000ca74e2fffee5aefc0001000103fd00006b0653981ace1d95026757fffe3cb1d60001",
            "0b02004000000000000000000000000000000000ca74e2fffee5aefc000100000500000000000000000000000025000106feffff01ca74e2fffee5aefc0000a0",
        ];
        let parsed: Vec<Message> = captures
            .iter()
            .map(|c| Message::parse(&hex(c)).unwrap())
            .collect();
        for (message, capture) in parsed.iter().zip(captures) {
            assert_eq!(message.header.source_port, master);
            let mut out = [0u8; 64];
            let len = message.emit(&mut out).unwrap();
            assert_eq!(out[..len], hex(capture)[..], "{message:?}");
        }
        assert!(parsed[0].header.two_step());
        assert_eq!(parsed[0].header.log_message_interval, -3);
        assert_eq!(
            parsed[1].body,
            Body::FollowUp {
                precise_origin_timestamp: PtpTimestamp {
                    seconds: 0x6b06_5397,
                    nanoseconds: 0x1abd_0508
                }
            }
        );
        let Body::DelayResp {
            receive_timestamp,
            requesting_port,
        } = parsed[2].body
        else {
            panic!("{:?}", parsed[2]);
        };
        assert_eq!(parsed[2].header.sequence_id, 1);
        assert_eq!(receive_timestamp.nanoseconds, 0x1ace_1d95);
        assert_eq!(
            requesting_port,
            PortIdentity {
                clock_identity: [0x02, 0x67, 0x57, 0xff, 0xfe, 0x3c, 0xb1, 0xd6],
                port_number: 1
            }
        );
        let Body::Announce(a) = parsed[3].body else {
            panic!("{:?}", parsed[3]);
        };
        assert_eq!(
            (
                a.current_utc_offset,
                a.priority1,
                a.priority2,
                a.time_source
            ),
            (37, 1, 1, 0xA0)
        );
        assert_eq!(a.clock_quality.clock_class, 6);
        assert_eq!(a.grandmaster_identity, master.clock_identity);
    }

    #[test]
    fn every_body_round_trips() {
        let ts = PtpTimestamp {
            seconds: 0x0001_2345_6789,
            nanoseconds: 999_999_999,
        };
        let bodies = [
            Body::Sync {
                origin_timestamp: ts,
            },
            Body::DelayReq {
                origin_timestamp: ts,
            },
            Body::FollowUp {
                precise_origin_timestamp: ts,
            },
            Body::DelayResp {
                receive_timestamp: ts,
                requesting_port: port(9),
            },
            Body::Announce(Announce {
                origin_timestamp: ts,
                current_utc_offset: 37,
                priority1: 1,
                clock_quality: ClockQuality {
                    clock_class: 6,
                    clock_accuracy: 0x21,
                    offset_scaled_log_variance: 0x4E5D,
                },
                priority2: 2,
                grandmaster_identity: [1, 2, 3, 4, 5, 6, 7, 8],
                steps_removed: 3,
                time_source: 0xA0,
            }),
        ];
        for body in bodies {
            let mut header = Header::new(body.message_type().unwrap(), port(3), 77);
            header.flags = flags::TWO_STEP | flags::PTP_TIMESCALE;
            header.correction = -5 * 65_536;
            header.domain = 4;
            header.log_message_interval = -3;
            let message = Message { header, body };
            let mut out = [0u8; 80];
            let len = message.emit(&mut out).unwrap();
            assert_eq!(len, body.message_len());
            let parsed = Message::parse(&out[..len]).unwrap();
            assert_eq!(parsed.body, body);
            assert_eq!(parsed.header.correction_ns(), -5);
            assert_eq!(parsed.header.message_length as usize, len);
            assert_eq!(
                Message {
                    header: parsed.header,
                    ..message
                },
                parsed
            );
            // Event messages and their control field.
            assert_eq!(
                parsed.header.message_type.is_event(),
                matches!(body, Body::Sync { .. } | Body::DelayReq { .. })
            );
        }
    }

    #[test]
    fn short_wrong_version_and_padded_inputs() {
        assert_eq!(Message::parse(&SYNC_BYTES[..33]), Err(WireError::Truncated));
        // The length field says 44, the buffer holds 40.
        assert_eq!(Message::parse(&SYNC_BYTES[..40]), Err(WireError::Truncated));
        let mut v1 = SYNC_BYTES;
        v1[1] = 0x01;
        assert_eq!(Message::parse(&v1), Err(WireError::BadValue));
        // A 1588-2019 minor version is accepted.
        let mut v21 = SYNC_BYTES;
        v21[1] = 0x12;
        assert_eq!(Message::parse(&v21).unwrap().header.minor_version, 1);
        // Trailing padding after the declared length is ignored.
        let mut padded = SYNC_BYTES.to_vec();
        padded.extend_from_slice(&[0xEE; 10]);
        assert!(Message::parse(&padded).is_ok());
        // A declared length shorter than the body a type needs.
        let mut short_announce = SYNC_BYTES;
        short_announce[0] = 0x0B;
        assert_eq!(Message::parse(&short_announce), Err(WireError::Truncated));
        // Unknown types keep their header.
        let mut signaling = SYNC_BYTES;
        signaling[0] = 0x0C;
        let parsed = Message::parse(&signaling).unwrap();
        assert_eq!(parsed.header.message_type, MessageType::Signaling);
        assert_eq!(parsed.body, Body::Other);
        assert_eq!(parsed.emit(&mut [0u8; 64]), Err(WireError::BadValue));
    }

    #[test]
    fn timestamps_convert_and_refuse_what_does_not_fit() {
        let ts = PtpTimestamp::from_nanos(1_700_000_000_123_456_789);
        assert_eq!(ts.seconds, 1_700_000_000);
        assert_eq!(ts.nanoseconds, 123_456_789);
        assert_eq!(ts.to_nanos(), 1_700_000_000_123_456_789);
        let too_big = Message {
            header: Header::new(MessageType::Sync, port(1), 0),
            body: Body::Sync {
                origin_timestamp: PtpTimestamp {
                    seconds: 1 << 48,
                    nanoseconds: 0,
                },
            },
        };
        assert_eq!(too_big.emit(&mut [0u8; 44]), Err(WireError::BadValue));
        assert_eq!(
            too_big.emit(&mut [0u8; 10]),
            Err(WireError::BufferTooSmall { needed: 44 })
        );
        assert_eq!(
            PortIdentity::clock_identity_from_mac([1, 2, 3, 4, 5, 6]),
            [1, 2, 3, 0xFF, 0xFE, 4, 5, 6]
        );
    }

    #[test]
    fn no_input_panics() {
        // Every prefix and a few corruptions of every message kind.
        let mut out = [0u8; 80];
        let message = Message {
            header: Header::new(MessageType::Announce, port(1), 1),
            body: Body::Announce(Announce {
                origin_timestamp: PtpTimestamp::default(),
                current_utc_offset: 0,
                priority1: 128,
                clock_quality: ClockQuality::default(),
                priority2: 128,
                grandmaster_identity: [0; 8],
                steps_removed: 0,
                time_source: 0,
            }),
        };
        let len = message.emit(&mut out).unwrap();
        for cut in 0..=len {
            let _ = Message::parse(&out[..cut]);
        }
        for type_nibble in 0..16u8 {
            for length in [0u16, 33, 34, 44, 54, 63, 64, 0xFFFF] {
                let mut bytes = out;
                bytes[0] = type_nibble;
                bytes[2..4].copy_from_slice(&length.to_be_bytes());
                let _ = Message::parse(&bytes[..len]);
            }
        }
    }
}
