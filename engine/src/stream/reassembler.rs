//! The GVSP reassembler: a sans-IO state machine that turns stream packets
//! into frames written in place, and asks for what is missing.
//!
//! No sockets and no clock: the caller passes `now` (for timers) and the
//! packet's receive stamp with every packet, calls `handle_timeout` when
//! `poll_timeout` says so, and drains `poll_frame` and `poll_resend` after
//! each call (quinn-proto's shape). Tests therefore run in virtual time.
//!
//! Placement: payload packet `p` (1-based; the leader is packet 0, the
//! trailer `n + 1`) goes to byte `(p - 1) * packet_payload_size` of the
//! frame's slot, copied once, straight from the datagram (or its fragments).
//!
//! Invariants:
//! - at most `max_in_flight` frames are open; a packet of a new block when
//!   all are open evicts the oldest as incomplete;
//! - a packet is validated against the stream geometry before it can open a
//!   frame or touch a slot: a write covers `offset..offset + len` with
//!   `len <= packet_payload_size` and `offset + len <= payload_size`, inside
//!   the slot, and each packet id is written at most once per frame, so
//!   malformed, truncated, foreign and duplicate packets are counted and
//!   never change a frame's bytes;
//! - packets of a block finished or dropped recently (and retransmissions
//!   for a block not open) never open a frame;
//! - nothing allocates after `new`: frame states, bitmaps and the frame and
//!   resend queues are preallocated and bounded (a full frame queue drops its
//!   oldest frame, counted; a full resend queue postpones requests);
//! - no input panics, and no configuration either: timer arithmetic
//!   saturates to "never" (a `Duration::MAX` timeout disables the timer).
//!
//! Resends: a gap (a packet id above one not yet received) or a frame that
//! went quiet before its trailer arms a timer of `initial_delay`; each round
//! asks for the missing ranges up to the trailer (or the highest id seen, or
//! the largest block's trailer when the frame is quiet), then waits
//! `retry_interval`. A frame stops asking when its round or packet budget is
//! spent or the camera answers with an "unavailable" status, and is given up
//! as incomplete one `retry_interval` after the last request or packet. A
//! frame with no packet for `frame_timeout` is finished as incomplete.

use std::collections::VecDeque;
use std::time::Instant;

use crate::wire::gvsp::packet::flags::PACKET_RESEND as PACKET_RESEND_FLAG;
use crate::wire::gvsp::{GvspPacket, ImageLeader, LeaderRepr, PacketFormat, TrailerRepr};
use crate::wire::{Status, WireError};

use super::bitmap::PacketBitmap;
use super::config::StreamConfig;
use super::counters::StreamCounters;
use super::datagram::{Contiguous, Datagram, Fragmented};
use super::frame::{CompletedFrame, FrameFlags, FrameInfo, RxTimestamp};
use super::history::BlockHistory;
use super::pool::SlotPool;
use super::resend::ResendRequest;
use super::StreamError;

/// The error bit of a GigE Vision status code.
const ERROR_BIT: u16 = 0x8000;
/// GVSP status PACKET_RESEND (0x0100): a retransmission, GigE Vision 1.x style.
const RESEND_STATUS: u16 = 0x0100;

/// What the reassembler did with one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketVerdict {
    /// Written into its frame (payload) or recorded (leader, trailer).
    Accepted,
    /// Its packet id was already received for the frame.
    Duplicate,
    /// Valid GVSP that cannot be used.
    Ignored(IgnoreReason),
    /// Not valid GVSP for this stream.
    Malformed(Malformation),
    /// Its block needed a new frame and none could be had (no free slot).
    FrameDropped,
}

/// Why a valid packet was ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoreReason {
    /// The block was finished or dropped already, or a retransmission arrived for a block not open.
    Late,
    /// H.264, multi-zone, multi-part and GenDC packets, and all-in blocks of other payload types.
    UnsupportedFormat,
    /// The packet carries an error status (e.g. PACKET_UNAVAILABLE) and no data.
    ErrorStatus,
}

/// Why a datagram was rejected as malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformation {
    /// Shorter than the GVSP header it announces.
    Header,
    /// A packet format no GigE Vision version defines.
    UnknownFormat,
    /// A packet id the format or the stream geometry does not allow.
    PacketIdOutOfRange,
    /// A payload packet without data.
    EmptyPayload,
    /// A payload longer than the configured bytes per packet.
    PayloadTooLong,
    /// Data that would end beyond the payload size or the slot.
    BeyondSlot,
    /// A leader body too short for its payload type.
    LeaderBody,
    /// A trailer body too short for its payload type.
    TrailerBody,
    /// Contradicts packets already received (data after the trailer, a second trailer id).
    Inconsistent,
}

/// Leader fields kept for the frame info.
#[derive(Debug, Clone, Copy)]
struct LeaderFields {
    payload_type: u16,
    timestamp: Option<u64>,
    image: Option<ImageLeader>,
}

/// A packet checked against the stream geometry, before any frame is touched.
#[derive(Debug, Clone, Copy)]
enum Parsed {
    Leader(LeaderFields),
    Trailer {
        size_y: Option<u32>,
    },
    AllIn {
        leader: LeaderFields,
        size_y: Option<u32>,
        data_at: usize,
        len: usize,
    },
}

/// One frame being reassembled (or a free entry).
#[derive(Debug)]
struct FrameState<S> {
    active: bool,
    block_id: u64,
    seq: u64,
    slot: Option<S>,
    bitmap: PacketBitmap,
    received: u32,
    highest: u32,
    trailer_id: Option<u32>,
    data_end: usize,
    last_rx_at: Option<Instant>,
    gap_since: Option<Instant>,
    rounds: u32,
    requested: u32,
    last_round_at: Option<Instant>,
    exhausted_at: Option<Instant>,
    info: FrameInfo,
}

impl<S> FrameState<S> {
    fn new(bits: u32, camera: u32) -> Self {
        FrameState {
            active: false,
            block_id: 0,
            seq: 0,
            slot: None,
            bitmap: PacketBitmap::new(bits),
            received: 0,
            highest: 0,
            trailer_id: None,
            data_end: 0,
            last_rx_at: None,
            gap_since: None,
            rounds: 0,
            requested: 0,
            last_round_at: None,
            exhausted_at: None,
            info: FrameInfo::empty(camera),
        }
    }

    fn is_complete(&self) -> bool {
        self.trailer_id
            .is_some_and(|t| self.received > 0 && self.highest == t && self.received == t + 1)
    }
}

/// Reassembles one camera's GVSP stream into slots drawn from a [`SlotPool`].
#[derive(Debug)]
pub struct Reassembler<P: SlotPool> {
    config: StreamConfig,
    max_data: u32,
    pool: P,
    frames: Box<[FrameState<P::Slot>]>,
    order: Vec<usize>,
    done: VecDeque<CompletedFrame<P::Slot>>,
    done_capacity: usize,
    resends: VecDeque<ResendRequest>,
    resend_capacity: usize,
    history: BlockHistory,
    counters: StreamCounters,
    next_seq: u64,
    hint: usize,
}

impl<P: SlotPool> Reassembler<P> {
    /// A reassembler for `config`, drawing frame slots from `pool`.
    pub fn new(config: StreamConfig, pool: P) -> Result<Self, StreamError> {
        config.validate()?;
        let max_data = config.max_data_packets();
        let bits = max_data + 2;
        let in_flight = config.max_in_flight;
        let frames = (0..in_flight)
            .map(|_| FrameState::new(bits, config.camera))
            .collect();
        let done_capacity = in_flight * 2 + 2;
        let resend_capacity = in_flight * config.resend.max_ranges_per_round.max(1) as usize;
        Ok(Reassembler {
            config,
            max_data,
            pool,
            frames,
            order: Vec::with_capacity(in_flight),
            done: VecDeque::with_capacity(done_capacity),
            done_capacity,
            resends: VecDeque::with_capacity(resend_capacity),
            resend_capacity,
            history: BlockHistory::new((in_flight * 4).max(16)),
            counters: StreamCounters::default(),
            next_seq: 0,
            hint: 0,
        })
    }

    /// Handles one datagram (the UDP payload: GVSP header and body) received at `now`.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        rx: RxTimestamp,
        datagram: &[u8],
    ) -> PacketVerdict {
        self.handle(now, rx, &Contiguous(datagram))
    }

    /// Handles one datagram delivered as several buffers (AF_XDP multi-buffer);
    /// the payload is still copied once, fragment by fragment, into the slot.
    pub fn handle_packet_fragments(
        &mut self,
        now: Instant,
        rx: RxTimestamp,
        fragments: &[&[u8]],
    ) -> PacketVerdict {
        self.handle(now, rx, &Fragmented::new(fragments))
    }

    /// The next finished frame, oldest first.
    pub fn poll_frame(&mut self) -> Option<CompletedFrame<P::Slot>> {
        self.done.pop_front()
    }

    /// The next resend request to send to the camera.
    pub fn poll_resend(&mut self) -> Option<ResendRequest> {
        self.resends.pop_front()
    }

    /// When `handle_timeout` should next be called, if any timer is armed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.frames
            .iter()
            .filter(|f| f.active)
            .filter_map(|f| self.next_deadline(f))
            .min()
    }

    /// Runs the timers due at `now`: resend rounds, give-ups and frame timeouts.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.sort_active_by_age();
        for k in 0..self.order.len() {
            let i = self.order[k];
            if !self.frames[i].active {
                continue;
            }
            let f = &self.frames[i];
            let timeout = f
                .last_rx_at
                .and_then(|t| t.checked_add(self.config.frame_timeout));
            if timeout.is_some_and(|t| t <= now) {
                self.finish(i, FrameFlags::TIMED_OUT);
            } else if self.give_up_at(f).is_some_and(|t| t <= now) {
                self.finish(i, FrameFlags::default());
            } else if self.resend_due(f).is_some_and(|t| t <= now) {
                self.resend_round(i, now);
            }
        }
    }

    /// Finishes every open frame now, oldest first (end of capture).
    pub fn flush(&mut self) {
        self.sort_active_by_age();
        for k in 0..self.order.len() {
            let i = self.order[k];
            if self.frames[i].active {
                self.finish(i, FrameFlags::default());
            }
        }
    }

    /// Counts a datagram a receive path rejected before reassembly (wrong source).
    pub fn count_foreign_packet(&mut self) {
        self.counters.packets_foreign += 1;
    }

    /// The stream's counters so far.
    pub fn counters(&self) -> StreamCounters {
        self.counters
    }

    /// The configuration in force.
    pub fn config(&self) -> &StreamConfig {
        &self.config
    }

    /// Frames currently being reassembled.
    pub fn frames_in_flight(&self) -> usize {
        self.frames.iter().filter(|f| f.active).count()
    }

    /// The slot pool.
    pub fn pool(&self) -> &P {
        &self.pool
    }

    /// The slot pool, e.g. to give back slots of delivered frames.
    pub fn pool_mut(&mut self) -> &mut P {
        &mut self.pool
    }

    fn handle<D: Datagram>(
        &mut self,
        now: Instant,
        rx: RxTimestamp,
        datagram: &D,
    ) -> PacketVerdict {
        self.counters.packets_received += 1;
        let verdict = self.apply(now, rx, datagram);
        let counter = match verdict {
            PacketVerdict::Accepted => &mut self.counters.packets_accepted,
            PacketVerdict::Duplicate => &mut self.counters.packets_duplicated,
            PacketVerdict::Ignored(_) | PacketVerdict::FrameDropped => {
                &mut self.counters.packets_ignored
            }
            PacketVerdict::Malformed(_) => &mut self.counters.packets_malformed,
        };
        *counter += 1;
        verdict
    }

    fn apply<D: Datagram>(&mut self, now: Instant, rx: RxTimestamp, datagram: &D) -> PacketVerdict {
        let head = datagram.head();
        let Ok(packet) = GvspPacket::new_checked(head) else {
            return PacketVerdict::Malformed(Malformation::Header);
        };
        let format = packet.packet_format();
        match format {
            PacketFormat::Leader
            | PacketFormat::Trailer
            | PacketFormat::Payload
            | PacketFormat::AllIn => {}
            PacketFormat::Other(_) => return PacketVerdict::Malformed(Malformation::UnknownFormat),
            _ => return PacketVerdict::Ignored(IgnoreReason::UnsupportedFormat),
        }
        let block_id = packet.block_id();
        let packet_id = packet.packet_id();
        // The raw status is all the hot path needs: the error bit, and the
        // GigE Vision 1.x resend code.
        let raw_status = match head {
            [high, low, ..] => u16::from_be_bytes([*high, *low]),
            _ => 0,
        };
        if raw_status & ERROR_BIT != 0 {
            self.on_error_status(now, block_id, Status::from(raw_status));
            return PacketVerdict::Ignored(IgnoreReason::ErrorStatus);
        }
        let resent = raw_status == RESEND_STATUS || packet.flags() & PACKET_RESEND_FLAG != 0;
        let header_len = packet.header_len();
        let extended = packet.is_extended();
        if format == PacketFormat::Payload {
            return self.apply_payload(
                now, rx, datagram, block_id, packet_id, header_len, resent, extended,
            );
        }
        let parsed = match self.parse(&packet, format, datagram.len()) {
            Ok(parsed) => parsed,
            Err(verdict) => return verdict,
        };
        let index = match self.frame_for(now, block_id, resent, extended) {
            Ok(index) => index,
            Err(verdict) => return verdict,
        };
        let f = &mut self.frames[index];
        let verdict = place_in_frame(f, packet_id, parsed, datagram);
        self.after_place(index, verdict, now, rx, packet_id, resent)
    }

    /// The hot path: one payload packet, checked, copied once, recorded.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn apply_payload<D: Datagram>(
        &mut self,
        now: Instant,
        rx: RxTimestamp,
        datagram: &D,
        block_id: u64,
        packet_id: u32,
        header_len: usize,
        resent: bool,
        extended: bool,
    ) -> PacketVerdict {
        if packet_id == 0 || packet_id > self.max_data {
            return PacketVerdict::Malformed(Malformation::PacketIdOutOfRange);
        }
        let len = datagram.len() - header_len;
        if len == 0 {
            return PacketVerdict::Malformed(Malformation::EmptyPayload);
        }
        let per_packet = self.config.packet_payload_size;
        if len > per_packet {
            return PacketVerdict::Malformed(Malformation::PayloadTooLong);
        }
        let offset = (packet_id as usize - 1) * per_packet;
        if offset + len > self.config.payload_size {
            return PacketVerdict::Malformed(Malformation::BeyondSlot);
        }
        let index = match self.frame_for(now, block_id, resent, extended) {
            Ok(index) => index,
            Err(verdict) => return verdict,
        };
        let f = &mut self.frames[index];
        let verdict = place_payload(f, packet_id, offset, len, header_len, datagram);
        self.after_place(index, verdict, now, rx, packet_id, resent)
    }

    /// The open frame of `block_id`, or a new one; `Err` with the verdict when
    /// the packet must not open one (late) or none can be had (dropped).
    #[inline]
    fn frame_for(
        &mut self,
        now: Instant,
        block_id: u64,
        resent: bool,
        extended: bool,
    ) -> Result<usize, PacketVerdict> {
        if let Some(index) = self.lookup(block_id) {
            return Ok(index);
        }
        if resent || self.history.contains(block_id) {
            return Err(PacketVerdict::Ignored(IgnoreReason::Late));
        }
        self.start_frame(now, block_id, extended)
            .ok_or(PacketVerdict::FrameDropped)
    }

    /// Bookkeeping after a packet met its frame: per-frame duplicates,
    /// reception state, completion.
    #[inline]
    fn after_place(
        &mut self,
        index: usize,
        verdict: PacketVerdict,
        now: Instant,
        rx: RxTimestamp,
        packet_id: u32,
        resent: bool,
    ) -> PacketVerdict {
        match verdict {
            PacketVerdict::Accepted => {
                self.note_received(index, now, rx, packet_id, resent);
                if self.frames[index].is_complete() {
                    self.finish(index, FrameFlags::default());
                }
            }
            PacketVerdict::Duplicate => self.frames[index].info.packets_duplicated += 1,
            _ => {}
        }
        verdict
    }

    /// Checks a packet against the stream geometry, independent of any frame.
    fn parse(
        &self,
        packet: &GvspPacket<&[u8]>,
        format: PacketFormat,
        total_len: usize,
    ) -> Result<Parsed, PacketVerdict> {
        let id = packet.packet_id();
        let header_len = packet.header_len();
        let body = packet.payload();
        let malformed = |m| Err(PacketVerdict::Malformed(m));
        match format {
            PacketFormat::Leader => {
                if id != 0 {
                    return malformed(Malformation::PacketIdOutOfRange);
                }
                match parse_leader(body) {
                    Some((leader, _)) => Ok(Parsed::Leader(leader)),
                    None => malformed(Malformation::LeaderBody),
                }
            }
            PacketFormat::Trailer => {
                if id == 0 || id > self.max_data + 1 {
                    return malformed(Malformation::PacketIdOutOfRange);
                }
                match parse_trailer(body) {
                    Ok(size_y) => Ok(Parsed::Trailer { size_y }),
                    Err(()) => malformed(Malformation::TrailerBody),
                }
            }
            PacketFormat::AllIn => {
                if id != 0 {
                    return malformed(Malformation::PacketIdOutOfRange);
                }
                let Some((leader, leader_len)) = parse_leader(body) else {
                    return malformed(Malformation::LeaderBody);
                };
                // Only image and chunk-data leaders have a known length; the
                // trailer that follows is 8 bytes for both, then 8 bytes of
                // chunk info when the chunk flag is set.
                let known = leader.image.is_some()
                    || leader.payload_type == crate::wire::gvsp::payload_type::CHUNK_DATA;
                if !known {
                    return Err(PacketVerdict::Ignored(IgnoreReason::UnsupportedFormat));
                }
                let trailer = body.get(leader_len..).unwrap_or(&[]);
                let Ok(size_y) = parse_trailer(trailer) else {
                    return malformed(Malformation::TrailerBody);
                };
                let chunk_info =
                    if leader.payload_type & crate::wire::gvsp::payload_type::CHUNK_FLAG != 0 {
                        8
                    } else {
                        0
                    };
                let data_at = header_len + leader_len + 8 + chunk_info;
                if data_at > total_len {
                    return malformed(Malformation::TrailerBody);
                }
                let len = total_len - data_at;
                if len > self.config.payload_size {
                    return malformed(Malformation::BeyondSlot);
                }
                Ok(Parsed::AllIn {
                    leader,
                    size_y,
                    data_at,
                    len,
                })
            }
            _ => Err(PacketVerdict::Ignored(IgnoreReason::UnsupportedFormat)),
        }
    }

    fn note_received(
        &mut self,
        index: usize,
        now: Instant,
        rx: RxTimestamp,
        id: u32,
        resent: bool,
    ) {
        let f = &mut self.frames[index];
        if f.received == 0 {
            f.info.first_rx = rx;
            f.highest = id;
        } else if id > f.highest {
            f.highest = id;
        }
        f.received += 1;
        f.info.last_rx = rx;
        f.last_rx_at = Some(now);
        if resent {
            f.info.packets_resent += 1;
            f.info.flags.insert(FrameFlags::RESENT);
            self.counters.packets_resent += 1;
        }
        if f.received <= f.highest {
            f.gap_since.get_or_insert(now);
        } else {
            f.gap_since = None;
        }
    }

    fn on_error_status(&mut self, now: Instant, block_id: u64, status: Status) {
        let unavailable = matches!(
            status,
            Status::PacketUnavailable
                | Status::PacketRemovedFromMemory
                | Status::PacketAndPrevRemovedFromMemory
        );
        if !unavailable {
            return;
        }
        if let Some(index) = self.lookup(block_id) {
            let f = &mut self.frames[index];
            f.info.flags.insert(FrameFlags::UNAVAILABLE);
            f.exhausted_at.get_or_insert(now);
        }
    }

    fn lookup(&mut self, block_id: u64) -> Option<usize> {
        if let Some(f) = self.frames.get(self.hint) {
            if f.active && f.block_id == block_id {
                return Some(self.hint);
            }
        }
        let index = self
            .frames
            .iter()
            .position(|f| f.active && f.block_id == block_id)?;
        self.hint = index;
        Some(index)
    }

    fn start_frame(&mut self, now: Instant, block_id: u64, extended: bool) -> Option<usize> {
        let Some(slot) = self.pool.acquire() else {
            self.counters.frames_dropped += 1;
            self.history.push(block_id);
            return None;
        };
        let index = match self.frames.iter().position(|f| !f.active) {
            Some(index) => index,
            None => {
                let oldest = self
                    .frames
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, f)| f.seq)
                    .map_or(0, |(i, _)| i);
                self.finish(oldest, FrameFlags::EVICTED);
                oldest
            }
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let camera = self.config.camera;
        let f = &mut self.frames[index];
        f.active = true;
        f.block_id = block_id;
        f.seq = seq;
        f.slot = Some(slot);
        f.bitmap.clear();
        f.received = 0;
        f.highest = 0;
        f.trailer_id = None;
        f.data_end = 0;
        f.last_rx_at = Some(now);
        f.gap_since = None;
        f.rounds = 0;
        f.requested = 0;
        f.last_round_at = None;
        f.exhausted_at = None;
        f.info = FrameInfo::empty(camera);
        f.info.block_id = block_id;
        f.info.extended_ids = extended;
        self.hint = index;
        Some(index)
    }

    /// Closes frame `index`: counts it, remembers its block, and queues or releases its slot.
    fn finish(&mut self, index: usize, extra: FrameFlags) {
        let max_data = self.max_data;
        let f = &mut self.frames[index];
        if !f.active {
            return;
        }
        f.active = false;
        let complete = f.is_complete();
        let expected = match f.trailer_id {
            Some(t) => t + 1,
            None => (max_data + 2).max(f.highest + 1),
        };
        let mut info = f.info;
        info.len = f.data_end;
        info.packets_expected = expected;
        info.packets_received = f.received;
        info.flags.insert(extra);
        if self.config.ptp {
            info.flags.insert(FrameFlags::PTP);
        }
        if complete {
            self.counters.frames_completed += 1;
        } else {
            info.flags.insert(FrameFlags::INCOMPLETE);
            self.counters.frames_incomplete += 1;
            self.counters.packets_missing += u64::from(expected.saturating_sub(f.received));
        }
        self.history.push(f.block_id);
        let Some(slot) = f.slot.take() else {
            return;
        };
        if complete || self.config.deliver_incomplete {
            if self.done.len() == self.done_capacity {
                if let Some(oldest) = self.done.pop_front() {
                    self.pool.release(oldest.slot);
                    self.counters.frames_dropped += 1;
                }
            }
            self.done.push_back(CompletedFrame { info, slot });
        } else {
            self.pool.release(slot);
        }
    }

    fn resend_due(&self, f: &FrameState<P::Slot>) -> Option<Instant> {
        let resend = &self.config.resend;
        if !resend.enabled || f.exhausted_at.is_some() {
            return None;
        }
        let gap_due = f
            .gap_since
            .and_then(|t| t.checked_add(resend.initial_delay));
        let tail_due = if f.trailer_id.is_none() {
            f.last_rx_at
                .and_then(|t| t.checked_add(resend.initial_delay))
        } else {
            None
        };
        let due = match (gap_due, tail_due) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        match f.last_round_at {
            Some(t) => Some(due.max(t.checked_add(resend.retry_interval)?)),
            None => Some(due),
        }
    }

    fn give_up_at(&self, f: &FrameState<P::Slot>) -> Option<Instant> {
        let exhausted = f.exhausted_at?;
        let base = f.last_rx_at.map_or(exhausted, |t| t.max(exhausted));
        base.checked_add(self.config.resend.retry_interval)
    }

    fn next_deadline(&self, f: &FrameState<P::Slot>) -> Option<Instant> {
        let timeout = f
            .last_rx_at
            .and_then(|t| t.checked_add(self.config.frame_timeout));
        [timeout, self.give_up_at(f), self.resend_due(f)]
            .into_iter()
            .flatten()
            .min()
    }

    /// Queues requests for the missing ranges of frame `index`, within its budget.
    fn resend_round(&mut self, index: usize, now: Instant) {
        let resend = self.config.resend;
        let max_data = self.max_data;
        let f = &mut self.frames[index];
        let quiet = f
            .last_rx_at
            .and_then(|t| t.checked_add(resend.initial_delay))
            .is_some_and(|t| t <= now);
        let limit = match f.trailer_id {
            Some(t) => t,
            None if quiet => max_data + 1,
            None => f.highest,
        };
        let mut budget = resend.max_packets_per_frame.saturating_sub(f.requested);
        let mut ranges = 0;
        for (first, last) in f.bitmap.missing_ranges(limit) {
            if ranges == resend.max_ranges_per_round
                || budget == 0
                || self.resends.len() >= self.resend_capacity
            {
                break;
            }
            let last = last.min(first.saturating_add(budget - 1));
            let request = ResendRequest {
                block_id: f.block_id,
                first,
                last,
                extended: f.info.extended_ids,
            };
            let packets = request.packets();
            self.resends.push_back(request);
            budget -= packets;
            f.requested += packets;
            f.info.resend_requests += 1;
            ranges += 1;
            self.counters.resend_requests += 1;
            self.counters.resend_packets_requested += u64::from(packets);
        }
        f.last_round_at = Some(now);
        if ranges > 0 {
            f.rounds += 1;
        }
        if f.rounds >= resend.max_rounds || f.requested >= resend.max_packets_per_frame {
            f.exhausted_at = Some(now);
        }
    }

    /// Fills `order` with the open frames' indices, oldest first (no allocation).
    fn sort_active_by_age(&mut self) {
        self.order.clear();
        for (i, f) in self.frames.iter().enumerate() {
            if f.active {
                self.order.push(i);
            }
        }
        let frames = &self.frames;
        self.order.sort_unstable_by_key(|&i| frames[i].seq);
    }
}

/// Checks a payload packet against its frame (duplicate, past the trailer)
/// and copies its data into the slot.
#[inline]
fn place_payload<S: AsMut<[u8]>, D: Datagram>(
    f: &mut FrameState<S>,
    packet_id: u32,
    offset: usize,
    len: usize,
    header_len: usize,
    datagram: &D,
) -> PacketVerdict {
    if f.bitmap.contains(packet_id) {
        return PacketVerdict::Duplicate;
    }
    if f.trailer_id.is_some_and(|t| packet_id >= t) {
        return PacketVerdict::Malformed(Malformation::Inconsistent);
    }
    let Some(dst) = f
        .slot
        .as_mut()
        .and_then(|slot| slot.as_mut().get_mut(offset..offset + len))
    else {
        return PacketVerdict::Malformed(Malformation::BeyondSlot);
    };
    datagram.copy_body(header_len, dst);
    f.bitmap.insert(packet_id);
    f.data_end = f.data_end.max(offset + len);
    PacketVerdict::Accepted
}

/// Checks a leader, trailer or all-in packet against its frame and records it.
fn place_in_frame<S: AsMut<[u8]>, D: Datagram>(
    f: &mut FrameState<S>,
    packet_id: u32,
    parsed: Parsed,
    datagram: &D,
) -> PacketVerdict {
    let inconsistent = PacketVerdict::Malformed(Malformation::Inconsistent);
    match parsed {
        Parsed::Leader(leader) => {
            if f.bitmap.contains(0) {
                return PacketVerdict::Duplicate;
            }
            if f.trailer_id == Some(0) {
                return inconsistent;
            }
            f.bitmap.insert(0);
            record_leader(&mut f.info, leader);
        }
        Parsed::Trailer { size_y } => {
            if f.bitmap.contains(packet_id) && f.trailer_id == Some(packet_id) {
                return PacketVerdict::Duplicate;
            }
            let data_beyond = f.received > 0 && f.highest >= packet_id;
            if f.trailer_id.is_some() || data_beyond {
                return inconsistent;
            }
            f.bitmap.insert(packet_id);
            f.trailer_id = Some(packet_id);
            f.info.trailer_size_y = size_y;
        }
        Parsed::AllIn {
            leader,
            size_y,
            data_at,
            len,
        } => {
            if f.bitmap.contains(0) && f.trailer_id == Some(0) {
                return PacketVerdict::Duplicate;
            }
            if f.received > 0 {
                return inconsistent;
            }
            let Some(dst) = f
                .slot
                .as_mut()
                .and_then(|slot| slot.as_mut().get_mut(..len))
            else {
                return PacketVerdict::Malformed(Malformation::BeyondSlot);
            };
            datagram.copy_body(data_at, dst);
            f.bitmap.insert(0);
            f.trailer_id = Some(0);
            f.data_end = len;
            f.info.trailer_size_y = size_y;
            record_leader(&mut f.info, leader);
        }
    }
    PacketVerdict::Accepted
}

/// Decodes a leader body; `None` when it is too short. Unsupported payload
/// types keep their type and (when present) timestamp; the length returned
/// is the body length of the layouts gvcap decodes.
fn parse_leader(body: &[u8]) -> Option<(LeaderFields, usize)> {
    match LeaderRepr::parse(body) {
        Ok(repr) => {
            let image = match repr {
                LeaderRepr::Image(image) => Some(image),
                _ => None,
            };
            let fields = LeaderFields {
                payload_type: repr.payload_type(),
                timestamp: repr.timestamp(),
                image,
            };
            Some((fields, repr.body_len()))
        }
        Err(WireError::UnsupportedPayloadType(payload_type)) => {
            let timestamp = body
                .get(4..12)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes);
            let fields = LeaderFields {
                payload_type,
                timestamp,
                image: None,
            };
            Some((fields, body.len()))
        }
        Err(_) => None,
    }
}

/// Decodes a trailer body: the image trailer's line count, `None` for other
/// payload types, `Err` when too short.
fn parse_trailer(body: &[u8]) -> Result<Option<u32>, ()> {
    match TrailerRepr::parse(body) {
        Ok(TrailerRepr::Image { size_y, .. }) => Ok(Some(size_y)),
        Ok(_) | Err(WireError::UnsupportedPayloadType(_)) => Ok(None),
        Err(_) => Err(()),
    }
}

fn record_leader(info: &mut FrameInfo, leader: LeaderFields) {
    info.payload_type = Some(leader.payload_type);
    info.camera_timestamp = leader.timestamp;
    info.image = leader.image;
}

#[cfg(test)]
#[path = "reassembler_tests.rs"]
mod tests;
