//! Stream counters: what happened to every packet and frame of one stream.
//!
//! Invariants: counters only grow; `packets_received` counts every datagram
//! handed to the reassembler, and each of them lands in exactly one of
//! accepted (written or recorded), `packets_duplicated`, `packets_ignored`
//! or `packets_malformed` (`packets_resent` is a subset of the accepted
//! ones); `packets_foreign` counts datagrams a receive path rejected before
//! the reassembler (wrong source) and is not part of `packets_received`.

/// Counters of one stream, copied out with `Reassembler::counters`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamCounters {
    /// Frames finished with every packet.
    pub frames_completed: u64,
    /// Frames finished with packets missing (timed out, evicted, resends given up).
    pub frames_incomplete: u64,
    /// Frames never delivered: no free slot, or a caller that did not poll finished frames.
    pub frames_dropped: u64,
    /// Datagrams handed to the reassembler.
    pub packets_received: u64,
    /// Packets written into a frame or recorded (leader, trailer).
    pub packets_accepted: u64,
    /// Packets still missing when their frame was finished incomplete.
    pub packets_missing: u64,
    /// Packets received again for a slot already filled.
    pub packets_duplicated: u64,
    /// Accepted packets that were retransmissions.
    pub packets_resent: u64,
    /// Valid packets that could not be used: late, unsupported format, error status, dropped frame.
    pub packets_ignored: u64,
    /// Datagrams that are not valid GVSP for this stream (truncated, out of range, too long).
    pub packets_malformed: u64,
    /// Datagrams from a source other than the camera, rejected by the receive path.
    pub packets_foreign: u64,
    /// PACKETRESEND requests emitted (one per contiguous range).
    pub resend_requests: u64,
    /// Packet ids covered by those requests.
    pub resend_packets_requested: u64,
}
