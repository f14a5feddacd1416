//! Stream reception: GVSP reassembly into preallocated frame slots, the
//! hugepage frame ring that hands frames to consumers, and the plain UDP
//! socket receive path. The AF_XDP path (`xdp`) feeds the same reassembler.
//!
//! Layout:
//! - [`reassembler`]: the sans-IO state machine (packets in, frames and
//!   resend requests out, time passed in);
//! - [`config`], [`counters`], [`frame`], [`resend`], [`pool`]: its inputs,
//!   outputs and the slot source it draws on;
//! - [`ring`]: hugepage slots and the crossbeam queue to consumers;
//! - [`socket`]: the UDP receive loop;
//! - [`testkit`]: an in-memory GVSP block generator and a seeded fault
//!   injector for tests, benchmarks and fuzzing.
//!
//! Invariants of the module as a whole:
//! - a payload byte is copied once, from the datagram into its final place
//!   in a slot; nothing on the per-packet path allocates, locks or makes a
//!   system call (the socket path's own `recv` aside);
//! - no packet sequence panics or writes outside a slot (property-tested and
//!   fuzzed);
//! - every datagram is counted in exactly one outcome (see [`counters`]);
//! - a consumer that falls behind costs counted frame drops, never a stalled
//!   producer.
//!
//! # Public API (what the AF_XDP worker and the CLI call)
//!
//! ```text
//! StreamConfig::from_packet_size(camera, payload_size, scps_packet_size, extended) -> Result<StreamConfig, StreamError>
//! FrameRing::create(RingConfig) -> Result<(RingProducer, FrameReceiver), StreamError>
//! Reassembler::new(StreamConfig, pool: impl SlotPool) -> Result<Reassembler<P>, StreamError>
//!   .handle_packet(now, RxTimestamp, &[u8]) -> PacketVerdict
//!   .handle_packet_fragments(now, RxTimestamp, &[&[u8]]) -> PacketVerdict
//!   .poll_frame() -> Option<CompletedFrame<Slot>>    -> RingProducer/FramePublisher::publish(frame)
//!   .poll_resend() -> Option<ResendRequest>          -> impl ResendSink (CameraResend)
//!   .poll_timeout() -> Option<Instant>, .handle_timeout(now), .flush(), .counters()
//! UdpStreamReceiver::bind(UdpReceiverConfig)?.run(&mut reassembler, &mut sink, on_frame, &stop)
//! ```

#![deny(unsafe_code)]

mod bitmap;
mod datagram;
mod history;
mod memory;

/// Stream geometry, in-flight bound, timeouts and resend policy.
pub mod config;
/// Per-stream packet and frame counters.
pub mod counters;
/// Finished-frame metadata and receive timestamps.
pub mod frame;
/// Where frame slots come from.
pub mod pool;
/// The sans-IO GVSP reassembler.
pub mod reassembler;
/// Resend requests and the sinks that send them.
pub mod resend;
/// The hugepage frame ring and its consumer queue.
pub mod ring;
/// The plain UDP socket receive path.
pub mod socket;
/// In-memory GVSP generator and fault injector for tests and benchmarks.
pub mod testkit;

pub use config::{ResendConfig, StreamConfig};
pub use counters::StreamCounters;
pub use frame::{CompletedFrame, FrameFlags, FrameInfo, RxTimestamp, TimestampSource};
pub use pool::{HeapPool, SlotPool};
pub use reassembler::{IgnoreReason, Malformation, PacketVerdict, Reassembler};
pub use resend::{CameraResend, FnResend, NoResend, ResendRequest, ResendSink};
pub use ring::{
    DropPolicy, Frame, FrameReceiver, FrameRing, HugePages, RingConfig, RingCounters, RingProducer,
    Slot,
};
pub use socket::{ReceiverStats, UdpReceiverConfig, UdpStreamReceiver};

/// Errors of stream setup (the per-packet path reports [`PacketVerdict`] instead).
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// A configuration value cannot work; the message says which and what to set.
    #[error("invalid stream configuration: {0}")]
    InvalidConfig(&'static str),
    /// Mapping frame slot memory failed.
    #[error("cannot map {bytes} bytes of frame slot memory ({what}): {source}; lower the slot count or frame size, or reserve hugepages (vm.nr_hugepages)")]
    Memory {
        /// Bytes asked for.
        bytes: usize,
        /// Which kind of mapping failed.
        what: &'static str,
        /// The system error.
        #[source]
        source: std::io::Error,
    },
    /// A socket operation failed.
    #[error("{context}: {source}")]
    Socket {
        /// What was being done.
        context: &'static str,
        /// The system error.
        #[source]
        source: std::io::Error,
    },
}
