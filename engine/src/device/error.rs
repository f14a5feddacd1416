//! Errors of the GVCP client.
//!
//! Invariant: every error names the camera it concerns, and where it applies
//! the command, the register or memory address and the GigE Vision status,
//! so a one-line message is enough to act on.

use std::fmt;
use std::io;

use crate::wire::{Status, WireError};

/// What the client was doing when an error happened, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// READREG at an address.
    ReadRegister(u32),
    /// WRITEREG at an address.
    WriteRegister(u32),
    /// READMEM at an address.
    ReadMemory(u32),
    /// WRITEMEM at an address.
    WriteMemory(u32),
    /// DISCOVERY (unicast or broadcast).
    Discovery,
    /// FORCEIP.
    ForceIp,
    /// ACTION.
    Action,
    /// PACKETRESEND.
    PacketResend,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Operation::ReadRegister(a) => write!(f, "READREG {a:#010x}"),
            Operation::WriteRegister(a) => write!(f, "WRITEREG {a:#010x}"),
            Operation::ReadMemory(a) => write!(f, "READMEM {a:#010x}"),
            Operation::WriteMemory(a) => write!(f, "WRITEMEM {a:#010x}"),
            Operation::Discovery => f.write_str("DISCOVERY"),
            Operation::ForceIp => f.write_str("FORCEIP"),
            Operation::Action => f.write_str("ACTION"),
            Operation::PacketResend => f.write_str("PACKETRESEND"),
        }
    }
}

/// An error of the GVCP client; its message names the camera and what failed.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The camera did not answer within the timeout, after every retry.
    #[error(
        "camera {camera}: no answer to {operation} after {attempts} attempts of {timeout_ms} ms; \
         check that the camera is powered, reachable on this interface and not owned by another host"
    )]
    Timeout {
        /// The camera (address and identity).
        camera: String,
        /// The command that went unanswered.
        operation: Operation,
        /// How many times it was sent.
        attempts: u32,
        /// The timeout of each attempt.
        timeout_ms: u64,
    },
    /// The camera answered with an error status.
    #[error("camera {camera}: {operation} refused with status {status:?} ({code:#06x}: {description}){hint}")]
    Status {
        /// The camera.
        camera: String,
        /// The refused command.
        operation: Operation,
        /// The status it answered.
        status: Status,
        /// The raw status code.
        code: u16,
        /// The status's meaning.
        description: &'static str,
        /// What to do, when the status suggests something.
        hint: &'static str,
    },
    /// The camera answered something that is not a valid acknowledge of the command.
    #[error("camera {camera}: bad answer to {operation}: {detail}")]
    Protocol {
        /// The camera.
        camera: String,
        /// The command.
        operation: Operation,
        /// What was wrong.
        detail: String,
    },
    /// A socket operation failed.
    #[error("camera {camera}: {context}: {source}")]
    Io {
        /// The camera, or the interface for discovery.
        camera: String,
        /// What the client was doing.
        context: String,
        /// The system error.
        #[source]
        source: io::Error,
    },
    /// The camera did not grant control privilege.
    #[error(
        "camera {camera}: control privilege not granted ({why}); another application holds it: \
         close it, or wait until its heartbeat timeout expires, then try again"
    )]
    ControlDenied {
        /// The camera.
        camera: String,
        /// The status or silence that refused it.
        why: String,
        /// The status the camera answered, when it answered one.
        status: Option<Status>,
    },
    /// A request could not be encoded (a caller error: too long, misaligned).
    #[error("camera {camera}: cannot encode {operation}: {source}")]
    Encode {
        /// The camera.
        camera: String,
        /// The command.
        operation: Operation,
        /// Why.
        #[source]
        source: WireError,
    },
}

impl DeviceError {
    /// Builds the error for a non-success status, with a hint for the common ones.
    pub(crate) fn status(camera: &str, operation: Operation, status: Status) -> Self {
        let hint = match status {
            Status::AccessDenied => {
                "; another application may hold control of the camera: wait for its heartbeat to expire or close it"
            }
            Status::WriteProtect => "; the register is read-only",
            Status::InvalidAddress => "; the camera has no register there",
            Status::Busy => "; the camera is busy, try again",
            _ => "",
        };
        DeviceError::Status {
            camera: camera.to_string(),
            operation,
            status,
            code: u16::from(status),
            description: status.description(),
            hint,
        }
    }

    /// The GigE Vision status, when the camera answered with one.
    pub fn gev_status(&self) -> Option<Status> {
        match self {
            DeviceError::Status { status, .. } => Some(*status),
            DeviceError::ControlDenied { status, .. } => *status,
            _ => None,
        }
    }
}
