//! Kernel-bypass capture: the XDP steering program's loader, AF_XDP sockets
//! (UMEM, rings) and the receive workers that feed a [`PacketSink`].
//!
//! ```text
//! NIC queue ─► gvsp_steer (XDP) ─┬─ registered {source, port} ─► XSKMAP[queue] ─► XskSocket ─► RxWorker ─► PacketSink
//!                                └─ anything else ─► kernel stack (GVCP, PTP, ARP)
//! ```
//!
//! Invariants:
//! - unsafe code lives only in the modules that touch kernel memory or
//!   calls: [`ring`] (shared ring memory), [`umem`] (packet memory), `sys`
//!   (raw syscalls), [`socket`] (wrapping the rings it maps) and [`rx`]
//!   (borrowing the frames it owns); every block carries a `// Safety:`
//!   comment, every unsafe fn a `# Safety` section; [`abi`], [`headers`],
//!   [`loader`] and [`worker`] are safe code;
//! - the ring index arithmetic ([`ring::Cursor`]) is plain code tested without
//!   a kernel; so is the receive path's packet assembly;
//! - a packet's buffers belong to user space from the moment its descriptors
//!   are taken from the rx ring until the sink has returned, and then go back
//!   to the fill ring; nothing else writes them meanwhile.

pub mod abi;
pub mod error;
pub mod headers;
pub mod loader;
pub mod ring;
pub mod rx;
pub mod socket;
mod sys;
pub mod umem;
pub mod worker;

pub use abi::{RxMeta, SteerCounters, StreamKey};
pub use error::XdpError;
pub use loader::{
    AttachConfig, AttachedSteer, ModeRequest, SteerProgram, TestRun, TimestampRequest, Variant,
    XdpMode,
};
pub use rx::{PacketSink, RxCounters, RxPoll};
pub use socket::{BindMode, BusyPoll, XskConfig, XskSocket, XskStatistics};
pub use umem::HugePages;
pub use worker::{RxWorker, WorkerConfig, WorkerReport};
