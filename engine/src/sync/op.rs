//! What the sync sequence asks its driver to do, and what comes back.
//!
//! Invariants: an [`Op`] names its camera by [`CameraId`] (an index into the
//! group as given to the sequence) and features by their GenICam names; every
//! op polled gets exactly one result back through `handle_result`, with the
//! host time at which it completed. Ops for one camera must be executed in
//! the order they were polled (a latch before the read it latches); ops for
//! different cameras may run concurrently. A `Get` is a fresh read: the driver
//! invalidates any cached value first.

use std::fmt;

use serde::Serialize;

use crate::genicam::{FeatureRange, FeatureValue};

use super::time::{HostTime, PtpTime};

/// A camera of the group: its index in the list given to the sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct CameraId(pub usize);

/// Identifies one polled op until its result is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(pub u64);

/// The keys a scheduled ACTION carries; cameras act when they match theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ActionKeys {
    /// Must equal the camera's ActionDeviceKey.
    pub device_key: u32,
    /// Must equal the camera's ActionGroupKey.
    pub group_key: u32,
    /// ANDed with the camera's ActionGroupMask; non-zero means act.
    pub group_mask: u32,
}

/// How a camera's current time is latched and read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LatchVia {
    /// Execute the `latch` command, then read the Integer `value`, in ticks of
    /// `tick_frequency` (Hz; 1 GHz, i.e. nanoseconds, when the XML has none).
    Features {
        /// The latch command, e.g. GevTimestampControlLatch.
        latch: &'static str,
        /// The latched value, e.g. GevTimestampValue.
        value: &'static str,
        /// The tick frequency feature, e.g. GevTimestampTickFrequency.
        tick_frequency: Option<&'static str>,
    },
    /// The bootstrap registers: TIMESTAMP_CONTROL latch bit, TIMESTAMP_VALUE
    /// high and low, TIMESTAMP_TICK_FREQUENCY.
    Bootstrap,
}

impl fmt::Display for LatchVia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LatchVia::Features { latch, value, .. } => write!(f, "{latch} then {value}"),
            LatchVia::Bootstrap => f.write_str("bootstrap timestamp latch registers"),
        }
    }
}

/// One operation on the cameras.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Write a feature.
    Set {
        /// The camera.
        camera: CameraId,
        /// The feature's name.
        feature: &'static str,
        /// The value to write.
        value: FeatureValue,
    },
    /// Read a feature from the device (never from a cache).
    Get {
        /// The camera.
        camera: CameraId,
        /// The feature's name.
        feature: &'static str,
    },
    /// Execute a Command feature.
    Execute {
        /// The camera.
        camera: CameraId,
        /// The command's name.
        command: &'static str,
    },
    /// Read the current range of a numeric feature.
    Range {
        /// The camera.
        camera: CameraId,
        /// The feature's name.
        feature: &'static str,
    },
    /// Latch the camera's clock, noting the host time just before and after.
    LatchTimestamp {
        /// The camera.
        camera: CameraId,
        /// How to latch and read it.
        via: LatchVia,
    },
    /// Send a scheduled ACTION command to these cameras for this PTP time.
    ScheduledAction {
        /// The cameras that must act.
        cameras: Vec<CameraId>,
        /// When, in the cameras' PTP time.
        time: PtpTime,
        /// The keys the cameras were given.
        keys: ActionKeys,
    },
}

impl Op {
    /// The camera the op concerns (`None` for an ACTION sent to several).
    pub fn camera(&self) -> Option<CameraId> {
        match self {
            Op::Set { camera, .. }
            | Op::Get { camera, .. }
            | Op::Execute { camera, .. }
            | Op::Range { camera, .. }
            | Op::LatchTimestamp { camera, .. } => Some(*camera),
            Op::ScheduledAction { .. } => None,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Set { feature, value, .. } => write!(f, "set {feature} = {value}"),
            Op::Get { feature, .. } => write!(f, "read {feature}"),
            Op::Execute { command, .. } => write!(f, "execute {command}"),
            Op::Range { feature, .. } => write!(f, "read the range of {feature}"),
            Op::LatchTimestamp { via, .. } => write!(f, "latch the timestamp ({via})"),
            Op::ScheduledAction { time, .. } => write!(f, "scheduled ACTION at {time}"),
        }
    }
}

/// The clock readings of one timestamp latch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TimestampLatch {
    /// The camera's latched time, converted to nanoseconds.
    pub camera: PtpTime,
    /// The host clock just before the latch was sent.
    pub host_before: HostTime,
    /// The host clock just after the latch was acknowledged.
    pub host_after: HostTime,
}

/// What a successful op returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A write, a command or an ACTION that succeeded.
    Done,
    /// A feature's value.
    Feature(FeatureValue),
    /// A feature's range (`None` when the XML does not bound it).
    Range(Option<FeatureRange>),
    /// A timestamp latch.
    Latch(TimestampLatch),
}

/// Why an op failed, as far as the sequence needs to tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpErrorKind {
    /// The camera did not answer (after the driver's retries): it is lost.
    NoAnswer,
    /// A value outside the feature's range was refused.
    OutOfRange,
    /// The feature is unknown, unavailable, locked or read-only now.
    Unavailable,
    /// The camera answered with an error status or something unexpected.
    Refused,
}

/// A failed op: its kind and a message that names what failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OpError {
    /// What kind of failure.
    pub kind: OpErrorKind,
    /// What failed, in words (from the driver's error).
    pub message: String,
}

impl OpError {
    /// An error of `kind` with `message`.
    pub fn new(kind: OpErrorKind, message: impl Into<String>) -> Self {
        OpError {
            kind,
            message: message.into(),
        }
    }
}
