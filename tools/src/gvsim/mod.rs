//! gvsim: a GigE Vision camera simulator, as a library the tests drive
//! in-process and the `gvsim` binary wraps.
//!
//! Layout, from the wire inwards:
//! - [`runtime`]: threads and sockets ([`runtime::Simulator`], [`runtime::SimCamera`]);
//! - [`control`]: the GVCP server (sans-IO), privilege and heartbeat;
//! - [`device`]: registers and what writing them does; [`regmap`] their
//!   addresses; [`xml`] the GenICam document served from `Local:` URLs;
//! - [`acquisition`]: when frames start (free run, PTP gate, triggers, actions);
//! - [`frames`]: frame packetisation and the resend ring; [`pattern`] the
//!   image content a receiver can verify byte by byte;
//! - [`ptp`]: the slave-only PTP port and its servo; [`oscillator`] the
//!   camera clock it steers;
//! - [`config`], [`cli`]: what a camera is and the command line; [`rng`]
//!   the seeded generator behind every fault; [`net`] socket helpers.
//!
//! Invariants: the sans-IO parts (control, device, acquisition, frames,
//! ptp) take time as arguments and never sleep, so tests run them in
//! virtual time; only [`runtime`] and [`net`] touch sockets; the host clock
//! is read, never set.

pub mod acquisition;
pub mod cli;
pub mod config;
pub mod control;
pub mod device;
pub mod frames;
pub mod net;
pub mod oscillator;
pub mod pattern;
pub mod ptp;
pub mod regmap;
pub mod rng;
pub mod runtime;
pub mod xml;
