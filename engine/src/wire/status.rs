//! GigE Vision status codes, shared by GVCP acknowledges and GVSP packets.
//!
//! Invariant: `Status::from(u16)` and `u16::from(Status)` are inverse for
//! every code; codes without a name land in `Status::Other` and never in a
//! named arm, so a round trip through `Status` preserves the wire value.

use core::fmt;

macro_rules! statuses {
    ($( $(#[$doc:meta])* $name:ident = $code:literal, $text:literal; )*) => {
        /// A GigE Vision status code (GVCP acknowledge header, GVSP packet header).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Status {
            $( $(#[$doc])* $name, )*
            /// A code with no standard name (vendor-specific or from a later revision).
            Other(u16),
        }

        impl From<u16> for Status {
            fn from(code: u16) -> Self {
                match code {
                    $( $code => Status::$name, )*
                    other => Status::Other(other),
                }
            }
        }

        impl From<Status> for u16 {
            fn from(status: Status) -> u16 {
                match status {
                    $( Status::$name => $code, )*
                    Status::Other(code) => code,
                }
            }
        }

        impl Status {
            /// A human description of the code, for logs and error messages.
            pub fn description(self) -> &'static str {
                match self {
                    $( Status::$name => $text, )*
                    Status::Other(code) if code & 0x8000 != 0 => "unrecognised error status",
                    Status::Other(_) => "unrecognised non-error status",
                }
            }
        }
    };
}

statuses! {
    /// The command was executed.
    Success = 0x0000, "success";
    /// GVSP: this packet is a retransmission requested by PACKETRESEND.
    PacketResend = 0x0100, "packet was resent";
    /// The command is not supported by the device.
    NotImplemented = 0x8001, "command not implemented by the device";
    /// At least one parameter of the command is invalid or out of range.
    InvalidParameter = 0x8002, "invalid parameter";
    /// An address does not exist on the device.
    InvalidAddress = 0x8003, "invalid address";
    /// The addressed register or memory cannot be written.
    WriteProtect = 0x8004, "address is write-protected";
    /// An address or count is not 32-bit aligned.
    BadAlignment = 0x8005, "bad alignment (addresses and counts must be multiples of 4)";
    /// The application does not hold the privilege the command needs.
    AccessDenied = 0x8006, "access denied (control privilege required or held by another application)";
    /// The device is busy and cannot execute the command now.
    Busy = 0x8007, "device busy";
    /// Deprecated: an internal problem on the device.
    LocalProblem = 0x8008, "local problem on the device (deprecated code)";
    /// Deprecated: the acknowledge does not match the command.
    MsgMismatch = 0x8009, "message mismatch (deprecated code)";
    /// Deprecated: the protocol is not supported.
    InvalidProtocol = 0x800A, "invalid protocol (deprecated code)";
    /// Deprecated: no message was received.
    NoMsg = 0x800B, "no message (deprecated code)";
    /// A requested packet is not available any more.
    PacketUnavailable = 0x800C, "packet unavailable";
    /// The device's internal memory overran; data was lost.
    DataOverrun = 0x800D, "data overrun on the device";
    /// The message header is not valid.
    InvalidHeader = 0x800E, "invalid header";
    /// Deprecated: the device configuration is wrong.
    WrongConfig = 0x800F, "wrong configuration (deprecated code)";
    /// A requested packet has not been produced yet.
    PacketNotYetAvailable = 0x8010, "packet not yet available";
    /// A requested packet and the ones before it were dropped from the device's memory.
    PacketAndPrevRemovedFromMemory = 0x8011, "packet and previous ones removed from memory";
    /// A requested packet was dropped from the device's memory.
    PacketRemovedFromMemory = 0x8012, "packet removed from memory";
    /// The device has no reference time (PTP not locked) for a scheduled action.
    NoRefTime = 0x8013, "no reference time (PTP not synchronised)";
    /// A requested packet cannot be resent now; retry later.
    PacketTemporarilyUnavailable = 0x8014, "packet temporarily unavailable";
    /// A device queue (e.g. scheduled actions) is full.
    Overflow = 0x8015, "overflow (device queue full)";
    /// A scheduled action arrived after its execution time.
    ActionLate = 0x8016, "action command arrived too late";
    /// A leader or trailer does not fit the negotiated packet size.
    LeaderTrailerOverflow = 0x8017, "leader or trailer overflow";
    /// A generic error with no more specific code.
    Error = 0x8FFF, "generic error";
}

impl Status {
    /// True when the code reports an error (its high bit is set).
    pub fn is_error(self) -> bool {
        u16::from(self) & 0x8000 != 0
    }

    /// True for `Success` only.
    pub fn is_success(self) -> bool {
        self == Status::Success
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:#06x})", self.description(), u16::from(*self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_u16_round_trips() {
        for code in 0..=u16::MAX {
            assert_eq!(u16::from(Status::from(code)), code);
        }
    }

    #[test]
    fn named_codes_match_the_standard_values() {
        assert_eq!(Status::from(0x0000), Status::Success);
        assert_eq!(Status::from(0x0100), Status::PacketResend);
        assert_eq!(Status::from(0x8001), Status::NotImplemented);
        assert_eq!(Status::from(0x8003), Status::InvalidAddress);
        assert_eq!(Status::from(0x8006), Status::AccessDenied);
        assert_eq!(Status::from(0x8013), Status::NoRefTime);
        assert_eq!(Status::from(0x8016), Status::ActionLate);
        assert_eq!(Status::from(0x8FFF), Status::Error);
        assert_eq!(Status::from(0x8018), Status::Other(0x8018));
    }

    #[test]
    fn error_bit_and_display() {
        assert!(!Status::Success.is_error());
        assert!(!Status::PacketResend.is_error());
        assert!(Status::Busy.is_error());
        assert!(Status::Other(0x9000).is_error());
        assert_eq!(Status::Busy.to_string(), "device busy (0x8007)");
    }
}
