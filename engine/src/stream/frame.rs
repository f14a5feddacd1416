//! What a finished frame carries besides its bytes: ids, timestamps, flags
//! and per-frame counters; and receive timestamps with their source.
//!
//! Invariants: `FrameInfo::len` never exceeds the slot length; a frame
//! without `FrameFlags::INCOMPLETE` has every packet from the leader to the
//! trailer; `first_rx` is the stamp of the first packet that reached the
//! frame and `last_rx` of the last one, in arrival order.

use crate::wire::gvsp::ImageLeader;

/// Where a receive timestamp came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampSource {
    /// No timestamp was available.
    None,
    /// The NIC's hardware receive stamp (AF_XDP metadata).
    Hardware,
    /// The kernel's software receive stamp (SO_TIMESTAMPING or the XDP program's TAI clock).
    Kernel,
    /// CLOCK_TAI read by the receiving thread right after the packet was received.
    UserTai,
}

impl TimestampSource {
    /// A short lowercase name for reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            TimestampSource::None => "none",
            TimestampSource::Hardware => "hardware",
            TimestampSource::Kernel => "kernel",
            TimestampSource::UserTai => "user-tai",
        }
    }
}

/// A receive timestamp in nanoseconds of TAI, with its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RxTimestamp {
    /// Nanoseconds since the TAI epoch (1970-01-01 TAI).
    pub ns: u64,
    /// Where the stamp came from.
    pub source: TimestampSource,
}

impl RxTimestamp {
    /// No timestamp.
    pub const NONE: RxTimestamp = RxTimestamp {
        ns: 0,
        source: TimestampSource::None,
    };

    /// A stamp of `ns` nanoseconds from `source`.
    pub fn new(ns: u64, source: TimestampSource) -> Self {
        RxTimestamp { ns, source }
    }

    /// CLOCK_TAI now, as a `UserTai` stamp (`NONE` if the kernel has no CLOCK_TAI).
    pub fn tai_now() -> Self {
        use rustix::time::{clock_gettime_dynamic, DynamicClockId};
        let Ok(now) = clock_gettime_dynamic(DynamicClockId::Tai) else {
            return RxTimestamp::NONE;
        };
        let ns = u64::try_from(now.tv_sec)
            .unwrap_or(0)
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::try_from(now.tv_nsec).unwrap_or(0));
        RxTimestamp::new(ns, TimestampSource::UserTai)
    }
}

/// Flags of a finished frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FrameFlags(pub u8);

impl FrameFlags {
    /// Packets are missing; the missing ranges of the slot hold stale bytes.
    pub const INCOMPLETE: FrameFlags = FrameFlags(1);
    /// At least one packet arrived as a retransmission.
    pub const RESENT: FrameFlags = FrameFlags(1 << 1);
    /// Captured while the camera's clock was PTP-disciplined (placeholder set from the config).
    pub const PTP: FrameFlags = FrameFlags(1 << 2);
    /// Finished early to make room for a newer block.
    pub const EVICTED: FrameFlags = FrameFlags(1 << 3);
    /// Finished because no packet arrived for the frame timeout.
    pub const TIMED_OUT: FrameFlags = FrameFlags(1 << 4);
    /// The camera reported requested packets as unavailable.
    pub const UNAVAILABLE: FrameFlags = FrameFlags(1 << 5);

    /// True when every flag of `other` is set.
    pub fn contains(self, other: FrameFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets every flag of `other`.
    pub fn insert(&mut self, other: FrameFlags) {
        self.0 |= other.0;
    }
}

/// Everything known about a finished frame except its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// Camera number from the stream config.
    pub camera: u32,
    /// GVSP block id (16-bit ids wrap 65535 -> 1; extended ids are 64-bit).
    pub block_id: u64,
    /// The block used extended (64-bit block, 32-bit packet) ids.
    pub extended_ids: bool,
    /// Payload type from the leader, chunk flag included (`None` without a leader).
    pub payload_type: Option<u16>,
    /// Camera timestamp from the leader, in device ticks (`None` without a leader).
    pub camera_timestamp: Option<u64>,
    /// Image layout from an image leader.
    pub image: Option<ImageLeader>,
    /// Lines actually sent, from an image trailer.
    pub trailer_size_y: Option<u32>,
    /// Receive stamp of the frame's first packet.
    pub first_rx: RxTimestamp,
    /// Receive stamp of the frame's last packet.
    pub last_rx: RxTimestamp,
    /// Payload bytes in the slot: the end of the highest byte written.
    pub len: usize,
    /// Frame flags.
    pub flags: FrameFlags,
    /// Packets the block consists of, leader and trailer included (an estimate without a trailer).
    pub packets_expected: u32,
    /// Distinct packets received.
    pub packets_received: u32,
    /// Packets duplicated.
    pub packets_duplicated: u32,
    /// Packets that arrived as retransmissions.
    pub packets_resent: u32,
    /// PACKETRESEND requests sent for this frame.
    pub resend_requests: u32,
}

impl FrameInfo {
    pub(crate) fn empty(camera: u32) -> Self {
        FrameInfo {
            camera,
            block_id: 0,
            extended_ids: false,
            payload_type: None,
            camera_timestamp: None,
            image: None,
            trailer_size_y: None,
            first_rx: RxTimestamp::NONE,
            last_rx: RxTimestamp::NONE,
            len: 0,
            flags: FrameFlags::default(),
            packets_expected: 0,
            packets_received: 0,
            packets_duplicated: 0,
            packets_resent: 0,
            resend_requests: 0,
        }
    }

    /// True when packets are missing.
    pub fn is_incomplete(&self) -> bool {
        self.flags.contains(FrameFlags::INCOMPLETE)
    }

    /// Packets missing at the end (expected minus received).
    pub fn packets_missing(&self) -> u32 {
        self.packets_expected.saturating_sub(self.packets_received)
    }

    /// The timestamp source of the receive stamps.
    pub fn timestamp_source(&self) -> TimestampSource {
        self.first_rx.source
    }
}

/// A finished frame as the reassembler hands it out: its info and the slot holding its bytes.
#[derive(Debug)]
pub struct CompletedFrame<S> {
    /// Ids, timestamps, flags and counters.
    pub info: FrameInfo,
    /// The slot; its first `info.len` bytes are the payload.
    pub slot: S,
}

impl<S: AsRef<[u8]>> CompletedFrame<S> {
    /// The payload bytes.
    pub fn data(&self) -> &[u8] {
        let slot = self.slot.as_ref();
        &slot[..self.info.len.min(slot.len())]
    }
}
