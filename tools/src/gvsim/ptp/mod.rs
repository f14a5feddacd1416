//! gvsim's PTP: a slave-only ordinary clock per camera ([`PtpSlave`],
//! sans-IO) with its PI servo ([`servo`]), and the camera features that
//! expose it ([`PtpMode`], [`PtpStatus`]).
//!
//! Invariant: the numeric values of [`PtpStatus`] are IEEE 1588 port state
//! numbers, so the same value serves the PtpStatus feature and the
//! IEEE1588_STATUS bootstrap register.

pub mod servo;
pub mod slave;

pub use slave::{ClockAction, DelayReq, PtpCounters, PtpSlave};

/// The PtpMode feature: how the camera expects the master's Syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PtpMode {
    /// PTP disabled.
    Off,
    /// One-step master: the Sync carries its own precise time.
    OneStep,
    /// Two-step master: a Follow_Up carries the Sync's precise time.
    TwoStep,
}

impl PtpMode {
    /// The feature's register value.
    pub fn value(self) -> u32 {
        match self {
            PtpMode::Off => 0,
            PtpMode::OneStep => 1,
            PtpMode::TwoStep => 2,
        }
    }

    /// The mode of a register value, if it names one.
    pub fn from_value(value: u32) -> Option<Self> {
        Some(match value {
            0 => PtpMode::Off,
            1 => PtpMode::OneStep,
            2 => PtpMode::TwoStep,
            _ => return None,
        })
    }
}

/// The PtpStatus feature: the port state, numbered as IEEE 1588 numbers port states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PtpStatus {
    /// Starting up.
    Initializing,
    /// A fault stops PTP (e.g. its sockets could not be opened).
    Faulty,
    /// PtpMode is Off.
    Disabled,
    /// Waiting for a master's Announce.
    Listening,
    /// Never entered by this slave-only port.
    PreMaster,
    /// Never entered by this slave-only port.
    Master,
    /// Never entered by this slave-only port.
    Passive,
    /// A master is selected; the clock is not yet locked to it.
    Uncalibrated,
    /// Locked to the master: the camera clock is PTP time.
    Slave,
}

impl PtpStatus {
    /// The IEEE 1588 port state number (1..=9).
    pub fn value(self) -> u32 {
        match self {
            PtpStatus::Initializing => 1,
            PtpStatus::Faulty => 2,
            PtpStatus::Disabled => 3,
            PtpStatus::Listening => 4,
            PtpStatus::PreMaster => 5,
            PtpStatus::Master => 6,
            PtpStatus::Passive => 7,
            PtpStatus::Uncalibrated => 8,
            PtpStatus::Slave => 9,
        }
    }

    /// The feature's entry name.
    pub fn name(self) -> &'static str {
        match self {
            PtpStatus::Initializing => "Initializing",
            PtpStatus::Faulty => "Faulty",
            PtpStatus::Disabled => "Disabled",
            PtpStatus::Listening => "Listening",
            PtpStatus::PreMaster => "PreMaster",
            PtpStatus::Master => "Master",
            PtpStatus::Passive => "Passive",
            PtpStatus::Uncalibrated => "Uncalibrated",
            PtpStatus::Slave => "Slave",
        }
    }
}
