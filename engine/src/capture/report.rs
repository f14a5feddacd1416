//! What a capture set up and what happened: per camera its stream setup and
//! counters, per interface its receive path and the XDP program's and
//! sockets' counters.
//!
//! Invariants: a [`CameraReport`]'s `stream` counters are the reassembler's
//! own (every datagram in exactly one outcome, see
//! [`crate::stream::counters`]); datagrams that never reached the
//! reassembler are counted beside them (`kernel_foreign`, `kernel_stream`,
//! `wrong_queue`, and the interface's `unknown_stream`), never inside.

use std::fmt;
use std::net::Ipv4Addr;

use crate::stream::{RingCounters, StreamCounters, TimestampSource};
use crate::xdp::{RxCounters, SteerCounters, XdpMode, XskStatistics};

/// The receive path a camera ended up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReceivePath {
    /// AF_XDP sockets fed by the XDP steering program.
    Xdp,
    /// One UDP socket per camera.
    Udp,
}

impl ReceivePath {
    /// "xdp" or "udp".
    pub fn name(self) -> &'static str {
        match self {
            ReceivePath::Xdp => "xdp",
            ReceivePath::Udp => "udp",
        }
    }
}

impl fmt::Display for ReceivePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which clock stamped a camera's packets on arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RxClock {
    /// No frame arrived, or its packets carried no stamp.
    None,
    /// The NIC's hardware receive stamp, read by the device-bound XDP program.
    Hardware,
    /// CLOCK_TAI read by the XDP program as the packet arrived (drivers
    /// without hardware stamps, veth among them).
    XdpTai,
    /// CLOCK_TAI read by the receiving thread right after `recv` returned
    /// (the UDP socket path).
    SocketTai,
}

impl RxClock {
    /// The clock behind a frame's stamps on a given path.
    pub fn of(path: ReceivePath, source: TimestampSource) -> RxClock {
        match (source, path) {
            (TimestampSource::None, _) => RxClock::None,
            (TimestampSource::Hardware, _) => RxClock::Hardware,
            (TimestampSource::Kernel, ReceivePath::Xdp) => RxClock::XdpTai,
            (TimestampSource::Kernel | TimestampSource::UserTai, _) => RxClock::SocketTai,
        }
    }

    /// Short name for reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            RxClock::None => "none",
            RxClock::Hardware => "hardware",
            RxClock::XdpTai => "xdp-clock-tai",
            RxClock::SocketTai => "socket-clock-tai",
        }
    }

    /// One sentence for humans.
    pub fn describe(self) -> &'static str {
        match self {
            RxClock::None => "no receive timestamps",
            RxClock::Hardware => "the NIC's hardware receive timestamp",
            RxClock::XdpTai => {
                "CLOCK_TAI read by the XDP program on arrival (the driver gives no hardware stamp; veth never does)"
            }
            RxClock::SocketTai => "CLOCK_TAI read by the receive thread after recv (socket path)",
        }
    }
}

/// How one camera's stream was set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraSetup {
    /// Index of the camera in the session (`frame.info.camera`).
    pub index: usize,
    /// The camera's name as its handle reports it.
    pub name: String,
    /// The camera's IP address.
    pub camera_ip: Ipv4Addr,
    /// Stream channel index.
    pub channel: u16,
    /// Host interface the stream arrives on.
    pub interface: String,
    /// Host address the stream is sent to.
    pub host: Ipv4Addr,
    /// Host UDP port the stream is sent to.
    pub port: u16,
    /// Stream packet size programmed (IP datagram bytes).
    pub packet_size: u32,
    /// Whether a test packet of that size made it through the path.
    pub packet_size_tested: bool,
    /// Image payload bytes per frame (PayloadSize).
    pub payload_size: usize,
    /// The camera sends extended ids (64-bit block ids, 32-bit packet ids).
    pub extended_ids: bool,
    /// The receive path.
    pub path: ReceivePath,
}

/// One camera's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraReport {
    /// How its stream was set up.
    pub setup: CameraSetup,
    /// The reassembler's counters.
    pub stream: StreamCounters,
    /// The frame ring's counters (consumer drops).
    pub ring: RingCounters,
    /// Clock of the last frame's receive stamps.
    pub timestamp_source: RxClock,
    /// Resend requests that could not be sent (control channel errors, or
    /// the request queue was full).
    pub resend_send_errors: u64,
    /// Datagrams to the stream port from another source that the kernel
    /// delivered (AF_XDP path: the program passes them; counted, dropped).
    pub kernel_foreign: u64,
    /// The camera's own datagrams that reached the kernel socket instead of
    /// the AF_XDP socket (should stay 0 once streaming).
    pub kernel_stream: u64,
    /// Packets that arrived on a queue whose worker does not own the
    /// camera's reassembler (dropped; resends recover them).
    pub wrong_queue: u64,
}

impl CameraReport {
    /// Frames lost between reassembly and the consumer: no free slot, or the
    /// consumer fell behind.
    pub fn frames_dropped(&self) -> u64 {
        self.stream
            .frames_dropped
            .saturating_add(self.ring.dropped_consumer_behind)
    }
}

/// The AF_XDP side of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XdpReport {
    /// Native or generic attachment.
    pub mode: XdpMode,
    /// The device-bound program (hardware stamps) was attached.
    pub device_bound: bool,
    /// Receive queues, each with one socket and one worker.
    pub queues: u32,
    /// Every socket is bound in zero-copy mode.
    pub zero_copy: bool,
    /// The program's counters (steered, passed, malformed, ...).
    pub steer: SteerCounters,
    /// The sockets' receive-path counters, summed.
    pub rx: RxCounters,
    /// The kernel's drop statistics of the sockets, summed.
    pub kernel_drops: XskStatistics,
    /// Steered packets no camera of this interface claims.
    pub unknown_stream: u64,
}

/// One host interface's receive path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceReport {
    /// Interface name.
    pub name: String,
    /// The path its cameras used.
    pub path: ReceivePath,
    /// AF_XDP details, when the path was AF_XDP.
    pub xdp: Option<XdpReport>,
}

/// Everything `CaptureSession::stop` hands back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureReport {
    /// Per camera, by index.
    pub cameras: Vec<CameraReport>,
    /// Per interface used.
    pub interfaces: Vec<InterfaceReport>,
    /// One-line notes on what was chosen or given up (path fallbacks,
    /// packet sizes the path did not carry).
    pub notes: Vec<String>,
}

/// `a + b`, field by field, saturating.
pub(crate) fn add_rx(a: &mut RxCounters, b: &RxCounters) {
    a.packets = a.packets.saturating_add(b.packets);
    a.payload_bytes = a.payload_bytes.saturating_add(b.payload_bytes);
    a.descriptors = a.descriptors.saturating_add(b.descriptors);
    a.multi_buffer = a.multi_buffer.saturating_add(b.multi_buffer);
    a.malformed = a.malformed.saturating_add(b.malformed);
    a.too_many_frags = a.too_many_frags.saturating_add(b.too_many_frags);
    a.bad_descriptors = a.bad_descriptors.saturating_add(b.bad_descriptors);
    a.no_timestamp = a.no_timestamp.saturating_add(b.no_timestamp);
    a.fill_overflow = a.fill_overflow.saturating_add(b.fill_overflow);
    a.wakeups = a.wakeups.saturating_add(b.wakeups);
    a.sleeps = a.sleeps.saturating_add(b.sleeps);
}

/// `a + b`, field by field, saturating.
pub(crate) fn add_xsk(a: &mut XskStatistics, b: &XskStatistics) {
    a.rx_dropped = a.rx_dropped.saturating_add(b.rx_dropped);
    a.rx_invalid_descs = a.rx_invalid_descs.saturating_add(b.rx_invalid_descs);
    a.rx_ring_full = a.rx_ring_full.saturating_add(b.rx_ring_full);
    a.rx_fill_ring_empty_descs = a
        .rx_fill_ring_empty_descs
        .saturating_add(b.rx_fill_ring_empty_descs);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_name_the_path_that_stamped() {
        assert_eq!(
            RxClock::of(ReceivePath::Xdp, TimestampSource::Kernel),
            RxClock::XdpTai
        );
        assert_eq!(
            RxClock::of(ReceivePath::Udp, TimestampSource::UserTai),
            RxClock::SocketTai
        );
        assert_eq!(
            RxClock::of(ReceivePath::Xdp, TimestampSource::Hardware).name(),
            "hardware"
        );
        assert_eq!(
            RxClock::of(ReceivePath::Udp, TimestampSource::None),
            RxClock::None
        );
        assert!(RxClock::XdpTai.describe().contains("veth"));
    }

    #[test]
    fn counters_add_up() {
        let mut a = RxCounters {
            packets: 2,
            malformed: 1,
            ..Default::default()
        };
        add_rx(
            &mut a,
            &RxCounters {
                packets: u64::MAX,
                sleeps: 3,
                ..Default::default()
            },
        );
        assert_eq!((a.packets, a.malformed, a.sleeps), (u64::MAX, 1, 3));
        let mut s = XskStatistics::default();
        add_xsk(
            &mut s,
            &XskStatistics {
                rx_ring_full: 4,
                ..Default::default()
            },
        );
        assert_eq!(s.rx_ring_full, 4);
    }
}
