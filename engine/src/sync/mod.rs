//! The PTP-synchronized group start: the sync sequence, its monitoring and
//! verification, diagnosis and report, and the driver that runs it.
//!
//! - [`SyncSequence`] is sans-IO: it emits [`Op`]s, takes their results with
//!   the host time they completed, and asks for timeouts; it never sleeps,
//!   opens a socket or reads a clock, so tests run it in virtual time;
//! - [`CameraPlan`] chooses per camera, from its XML alone, the Emergent,
//!   SFNC or legacy PTP features and a gate time or scheduled ACTIONs;
//! - [`Verifier`] measures frame alignment, latency and PtpOffset with HDR
//!   histograms in bounded memory;
//! - [`diagnose`] turns observations into findings that name the camera, the
//!   cause and the action; [`SyncReport`] is their text and JSON form;
//! - [`driver`] executes the ops against cameras on a control thread with a
//!   real clock.
//!
//! Invariants: host time and PTP time are distinct types related only by a
//! measured [`ClockRelation`]; nothing is written on any camera unless every
//! camera supports the sequence and none is streaming; every failure names
//! the cameras concerned.

mod config;
/// Findings that name the camera, the observed cause and the action.
pub mod diagnose;
/// Executing the sequence against cameras with a real clock.
pub mod driver;
mod op;
mod plan;
mod report;
mod sequence;
mod time;
mod timescale;
mod verify;

pub use config::{PtpMode, RunLength, SyncConfig};
pub use diagnose::{Check, Diagnosis, Requirement, Severity};
pub use op::{
    ActionKeys, CameraId, LatchVia, Op, OpError, OpErrorKind, OpId, TimestampLatch, Value,
};
pub use plan::{ActionTrigger, CameraPlan, FeatureSet, Naming, PtpSwitch, Setting, StartMethod};
pub use report::{CameraReport, SyncReport};
pub use sequence::{CameraSetup, Event, Outcome, Phase, SyncError, SyncSequence};
pub use time::{HostTime, PtpTime};
pub use timescale::{ClockRelation, Timescale};
pub use verify::{
    AlignmentStats, CameraFrames, FrameRecord, OffsetStats, Percentiles, Verifier, VerifyConfig,
};
