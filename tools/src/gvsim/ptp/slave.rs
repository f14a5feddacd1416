//! A slave-only IEEE 1588-2008 ordinary clock port (E2E delay mechanism),
//! sans-IO: the caller feeds it received messages with their timestamps and
//! sends the Delay_Req it asks for; it answers with clock corrections.
//!
//! What it does:
//! - Announce: keeps up to [`MAX_FOREIGN`] foreign masters, qualifies one
//!   after [`QUALIFY_ANNOUNCES`] Announces within four announce intervals,
//!   and follows the best by the data set comparison (priority1, class,
//!   accuracy, variance, priority2, identity, then steps removed and port);
//!   losing the parent's Announces for three intervals drops it;
//! - Sync (+ Follow_Up when two-step) gives t1 and t2, Delay_Req/Delay_Resp
//!   t3 and t4 (corrections removed). Each exchange gives a path delay
//!   `((t2 − t1) + (t4 − t3)) / 2` from a Sync and the Delay_Req right after
//!   it, and each Sync a raw offset `t2 − t1 − delay`. Queueing in switches
//!   and software stacks only ever adds delay, so the port keeps the least
//!   delayed: the mean path delay is the smallest of the last
//!   [`DELAY_WINDOW`] exchanges, and the offset the smallest raw offset of
//!   each batch of Syncs spanning [`BATCH_NS`] (one Sync per batch at the
//!   1588 default rate of one a second, several at faster rates);
//! - each batch's offset drives a [`PiServo`]; the first lock steps the clock;
//!   once locked, an offset more than four times the recent typical one is
//!   not steered by (at most [`MAX_OUTLIERS`] in a row);
//! - PtpMode must match the master: a OneStep port ignores two-step Syncs
//!   and a TwoStep port one-step Syncs (counted as mode mismatches), so it
//!   stays Uncalibrated, as a real camera set to the wrong mode does.
//!
//! Invariants: status is Disabled iff the mode is Off; otherwise Faulty
//! while a fault is flagged, else Listening iff no parent is selected;
//! Slave only while the servo is locked, entered after [`SLAVE_SAMPLES`]
//! consecutive measured offsets within [`SLAVE_THRESHOLD_NS`] (it falls back
//! to Uncalibrated beyond [`UNLOCK_THRESHOLD_NS`]); a Follow_Up that
//! overtakes its Sync is kept until the Sync arrives; t1/t2 and t3/t4
//! pairs measured on either side of a clock step are never combined.

use std::collections::VecDeque;

use gvcap::wire::ptp::{self, Announce, Body, Header, Message, MessageType, PortIdentity};

use super::servo::{PiServo, ServoOutput, ServoState};
use super::{PtpMode, PtpStatus};
use crate::gvsim::oscillator::MAX_ADJ_PPB;

/// Foreign masters remembered at once.
pub const MAX_FOREIGN: usize = 8;
/// Announces needed within four intervals before a master is followed.
pub const QUALIFY_ANNOUNCES: usize = 2;
/// The servo runs once per batch of Syncs this long (or once per Sync when
/// Syncs are further apart), on the batch's least delayed Sync, ns.
pub const BATCH_NS: i64 = 1_000_000_000;
/// Path delay measurements the minimum runs over.
pub const DELAY_WINDOW: usize = 64;
/// |offset| under which a locked servo's samples count towards Slave.
pub const SLAVE_THRESHOLD_NS: i64 = 1_000;
/// Consecutive locked offsets within [`SLAVE_THRESHOLD_NS`] that make the port Slave.
pub const SLAVE_SAMPLES: u32 = 2;
/// Outliers rejected in a row before the port believes its clock moved.
pub const MAX_OUTLIERS: u32 = 2;
/// |offset| over which a Slave port falls back to Uncalibrated and relocks.
pub const UNLOCK_THRESHOLD_NS: i64 = 100_000;

/// A correction the port asks of its clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClockAction {
    /// Add `0` nanoseconds to the clock (a step).
    Step(i64),
    /// Set the clock's frequency adjustment to `0` ppb.
    Frequency(f64),
}

/// A Delay_Req to send on the event port; report its send time with
/// [`PtpSlave::delay_req_sent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayReq {
    /// Its sequence id.
    pub sequence_id: u16,
    /// The message bytes.
    pub bytes: [u8; ptp::TIMESTAMP_MESSAGE_LEN],
}

/// Counters of what the port saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PtpCounters {
    /// Announce messages accepted.
    pub announces: u64,
    /// Syncs from the parent used (one-step) or waiting for their Follow_Up.
    pub syncs: u64,
    /// Syncs ignored because their one/two-step flag does not match PtpMode.
    pub mode_mismatches: u64,
    /// Delay_Resp messages matched to our Delay_Req.
    pub delay_resps: u64,
    /// Batch offsets measured.
    pub offsets: u64,
    /// Batch offsets not fed to the servo because they were far outside the recent ones.
    pub outliers: u64,
    /// Messages of another domain, from ourselves, or unparsable.
    pub ignored: u64,
}

#[derive(Debug, Clone)]
struct Foreign {
    port: PortIdentity,
    announce: Announce,
    interval_ns: u64,
    arrivals: VecDeque<u64>,
}

impl Foreign {
    fn qualified(&self, now: u64) -> bool {
        let window = 4 * self.interval_ns;
        self.arrivals
            .iter()
            .filter(|&&t| now.saturating_sub(t) <= window)
            .count()
            >= QUALIFY_ANNOUNCES
    }

    fn last(&self) -> u64 {
        self.arrivals.back().copied().unwrap_or(0)
    }

    /// The data set comparison key: lower is better.
    fn rank(&self) -> (u8, u8, u8, u16, u8, [u8; 8], u16, PortIdentity) {
        let a = &self.announce;
        (
            a.priority1,
            a.clock_quality.clock_class,
            a.clock_quality.clock_accuracy,
            a.clock_quality.offset_scaled_log_variance,
            a.priority2,
            a.grandmaster_identity,
            a.steps_removed,
            self.port,
        )
    }
}

#[derive(Debug, Clone, Copy)]
struct PendingSync {
    sequence_id: u16,
    t2: i64,
    correction_ns: i64,
    epoch: u64,
}

#[derive(Debug, Clone, Copy)]
struct EarlyFollowUp {
    sequence_id: u16,
    t1: i128,
    correction_ns: i64,
}

#[derive(Debug, Clone, Copy)]
struct OutstandingReq {
    sequence_id: u16,
    t3: Option<i64>,
    asked_at: u64,
    epoch: u64,
}

/// One slave-only PTP port.
#[derive(Debug, Clone)]
pub struct PtpSlave {
    identity: PortIdentity,
    domain: u8,
    mode: PtpMode,
    status: PtpStatus,
    never_lock: bool,
    faulty: bool,
    foreign: Vec<Foreign>,
    parent: Option<PortIdentity>,
    pending_sync: Option<PendingSync>,
    /// A Follow_Up that overtook its Sync (they arrive on different sockets).
    early_follow_up: Option<EarlyFollowUp>,
    /// Consecutive locked offsets within the Slave threshold.
    good_samples: u32,
    /// The last locked offsets the servo accepted.
    recent: VecDeque<i64>,
    /// Offsets rejected in a row as outliers.
    outliers_in_row: u32,
    /// t2 − t1 − corrections of the newest Sync, with its clock epoch.
    master_to_slave: Option<(i64, u64)>,
    /// Recent path delay measurements.
    delays: VecDeque<i64>,
    /// The current batch of (t2, raw offset), all measured in the current clock epoch.
    raw_offsets: VecDeque<(i64, i64)>,
    request: Option<OutstandingReq>,
    want_request: bool,
    next_request_id: u16,
    path_delay: Option<i64>,
    servo: PiServo,
    sync_interval_s: f64,
    offset_ns: i64,
    epoch: u64,
    counters: PtpCounters,
}

impl PtpSlave {
    /// A port with this identity in `domain`, starting in `mode`.
    pub fn new(identity: PortIdentity, domain: u8, mode: PtpMode) -> Self {
        PtpSlave {
            identity,
            domain,
            mode,
            status: if mode == PtpMode::Off {
                PtpStatus::Disabled
            } else {
                PtpStatus::Listening
            },
            never_lock: false,
            faulty: false,
            foreign: Vec::new(),
            parent: None,
            pending_sync: None,
            early_follow_up: None,
            good_samples: 0,
            recent: VecDeque::with_capacity(8),
            outliers_in_row: 0,
            master_to_slave: None,
            delays: VecDeque::with_capacity(DELAY_WINDOW),
            raw_offsets: VecDeque::new(),
            request: None,
            want_request: false,
            next_request_id: 1,
            path_delay: None,
            servo: PiServo::new(1.0, MAX_ADJ_PPB),
            sync_interval_s: 1.0,
            offset_ns: 0,
            epoch: 0,
            counters: PtpCounters::default(),
        }
    }

    /// This port's identity.
    pub fn identity(&self) -> PortIdentity {
        self.identity
    }

    /// The configured mode.
    pub fn mode(&self) -> PtpMode {
        self.mode
    }

    /// The port state (Faulty while a fault is flagged and PTP is on).
    pub fn status(&self) -> PtpStatus {
        if self.faulty && self.mode != PtpMode::Off {
            PtpStatus::Faulty
        } else {
            self.status
        }
    }

    /// Flags a fault that stops PTP (its sockets could not be opened).
    pub fn set_faulty(&mut self, faulty: bool) {
        self.faulty = faulty;
    }

    /// The servo's current offset from the master (slave − master, ns): the
    /// last batch offset it steered by (outliers excluded); 0 before any.
    pub fn offset_ns(&self) -> i64 {
        self.offset_ns
    }

    /// The mean path delay in use, once measured.
    pub fn path_delay_ns(&self) -> Option<i64> {
        self.path_delay
    }

    /// The master followed, if any.
    pub fn parent(&self) -> Option<PortIdentity> {
        self.parent
    }

    /// What the port has seen.
    pub fn counters(&self) -> PtpCounters {
        self.counters
    }

    /// True while the port is Slave: its clock is PTP time.
    pub fn is_locked(&self) -> bool {
        self.status() == PtpStatus::Slave
    }

    /// Fault injection: measure, but never correct the clock (stays Uncalibrated).
    pub fn set_never_lock(&mut self, never: bool) {
        self.never_lock = never;
        if never {
            self.unlock();
        }
    }

    /// Changes PtpMode: Off disables the port; another mode restarts it from Listening.
    pub fn set_mode(&mut self, mode: PtpMode) {
        if mode == self.mode {
            return;
        }
        self.mode = mode;
        self.foreign.clear();
        self.parent = None;
        self.forget_exchange();
        self.servo.reset();
        self.offset_ns = 0;
        self.status = if mode == PtpMode::Off {
            PtpStatus::Disabled
        } else {
            PtpStatus::Listening
        };
    }

    fn forget_exchange(&mut self) {
        self.pending_sync = None;
        self.early_follow_up = None;
        self.good_samples = 0;
        self.recent.clear();
        self.master_to_slave = None;
        self.delays.clear();
        self.raw_offsets.clear();
        self.request = None;
        self.want_request = false;
        self.path_delay = None;
    }

    fn unlock(&mut self) {
        self.servo.reset();
        self.good_samples = 0;
        self.recent.clear();
        if self.parent.is_some() {
            self.status = PtpStatus::Uncalibrated;
        }
    }

    /// Handles one received message. `rx_local` is the camera-clock receive
    /// time (needed for Sync), `now_host` host time for announce bookkeeping.
    pub fn handle(&mut self, data: &[u8], rx_local: i64, now_host: u64) -> Vec<ClockAction> {
        if self.mode == PtpMode::Off {
            return Vec::new();
        }
        let Ok(message) = Message::parse(data) else {
            self.counters.ignored += 1;
            return Vec::new();
        };
        let header = message.header;
        if header.domain != self.domain
            || header.source_port.clock_identity == self.identity.clock_identity
        {
            self.counters.ignored += 1;
            return Vec::new();
        }
        match message.body {
            Body::Announce(announce) => {
                self.on_announce(&header, announce, now_host);
                Vec::new()
            }
            Body::Sync { origin_timestamp } if Some(header.source_port) == self.parent => {
                if header.two_step() != (self.mode == PtpMode::TwoStep) {
                    self.counters.mode_mismatches += 1;
                    return Vec::new();
                }
                self.counters.syncs += 1;
                self.note_interval(header.log_message_interval);
                if header.two_step() {
                    if let Some(fu) = self.early_follow_up.take() {
                        if fu.sequence_id == header.sequence_id {
                            let correction = header.correction_ns() + fu.correction_ns;
                            return self.on_times(fu.t1, rx_local, correction);
                        }
                    }
                    self.pending_sync = Some(PendingSync {
                        sequence_id: header.sequence_id,
                        t2: rx_local,
                        correction_ns: header.correction_ns(),
                        epoch: self.epoch,
                    });
                    Vec::new()
                } else {
                    let t1 = origin_timestamp.to_nanos();
                    self.on_times(t1, rx_local, header.correction_ns())
                }
            }
            Body::FollowUp {
                precise_origin_timestamp,
            } if Some(header.source_port) == self.parent => match self.pending_sync.take() {
                Some(sync)
                    if sync.sequence_id == header.sequence_id && sync.epoch == self.epoch =>
                {
                    let correction = sync.correction_ns + header.correction_ns();
                    self.on_times(precise_origin_timestamp.to_nanos(), sync.t2, correction)
                }
                _ => {
                    // Its Sync may still be on its way through the other socket.
                    self.early_follow_up = Some(EarlyFollowUp {
                        sequence_id: header.sequence_id,
                        t1: precise_origin_timestamp.to_nanos(),
                        correction_ns: header.correction_ns(),
                    });
                    Vec::new()
                }
            },
            Body::DelayResp {
                receive_timestamp,
                requesting_port,
            } if Some(header.source_port) == self.parent && requesting_port == self.identity => {
                self.on_delay_resp(&header, receive_timestamp.to_nanos());
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn note_interval(&mut self, log_interval: i8) {
        if (-7..=4).contains(&log_interval) {
            let interval = 2f64.powi(i32::from(log_interval));
            if interval != self.sync_interval_s {
                self.sync_interval_s = interval;
                // The servo runs once per batch, not once per Sync.
                self.servo.set_interval(interval.max(BATCH_NS as f64 / 1e9));
            }
        }
    }

    fn on_announce(&mut self, header: &Header, announce: Announce, now_host: u64) {
        if announce.steps_removed >= 255 {
            self.counters.ignored += 1;
            return;
        }
        self.counters.announces += 1;
        let log = header.log_message_interval.clamp(-7, 6);
        let interval_ns = (2f64.powi(i32::from(log)) * 1e9) as u64;
        let port = header.source_port;
        match self.foreign.iter_mut().find(|f| f.port == port) {
            Some(f) => {
                f.announce = announce;
                f.interval_ns = interval_ns;
                f.arrivals.push_back(now_host);
                while f.arrivals.len() > QUALIFY_ANNOUNCES + 2 {
                    f.arrivals.pop_front();
                }
            }
            None => {
                if self.foreign.len() >= MAX_FOREIGN {
                    // Forget the one heard from least recently.
                    if let Some(oldest) =
                        (0..self.foreign.len()).min_by_key(|&i| self.foreign[i].last())
                    {
                        self.foreign.swap_remove(oldest);
                    }
                }
                self.foreign.push(Foreign {
                    port,
                    announce,
                    interval_ns,
                    arrivals: VecDeque::from([now_host]),
                });
            }
        }
        self.select_master(now_host);
    }

    /// Checks announce timeouts; call it every few hundred milliseconds.
    pub fn handle_timeout(&mut self, now_host: u64) {
        if self.mode == PtpMode::Off {
            return;
        }
        // A master silent for three announce intervals is gone.
        self.foreign
            .retain(|f| now_host.saturating_sub(f.last()) <= 3 * f.interval_ns);
        self.select_master(now_host);
        // A Delay_Req never answered: ask again.
        if let Some(req) = self.request {
            if now_host.saturating_sub(req.asked_at) > 4_000_000_000 {
                self.request = None;
            }
        }
    }

    fn select_master(&mut self, now_host: u64) {
        let best = self
            .foreign
            .iter()
            .filter(|f| f.qualified(now_host) || Some(f.port) == self.parent)
            .min_by_key(|f| f.rank())
            .map(|f| f.port);
        if best == self.parent {
            return;
        }
        self.parent = best;
        self.forget_exchange();
        self.servo.reset();
        self.status = if best.is_some() {
            PtpStatus::Uncalibrated
        } else {
            PtpStatus::Listening
        };
    }

    fn on_times(&mut self, t1: i128, t2: i64, correction_ns: i64) -> Vec<ClockAction> {
        let ms = i128::from(t2) - t1 - i128::from(correction_ns);
        let ms = ms.clamp(i128::from(i64::MIN / 4), i128::from(i64::MAX / 4)) as i64;
        self.master_to_slave = Some((ms, self.epoch));
        if self.request.is_none() {
            self.want_request = true;
        }
        let Some(delay) = self.path_delay else {
            return Vec::new();
        };
        let raw = ms - delay;
        tracing::trace!(raw, delay, "PTP raw offset");
        if self.counters.offsets == 0 {
            // Nothing steered yet: show the raw offset.
            self.offset_ns = raw;
        }
        self.raw_offsets.push_back((t2, raw));
        // Syncs per batch: one at one a second or slower, more at faster rates.
        let batch = (BATCH_NS as f64 / 1e9 / self.sync_interval_s)
            .floor()
            .max(1.0) as usize;
        if self.raw_offsets.len() < batch {
            return Vec::new();
        }
        let best = self.raw_offsets.iter().copied().min_by_key(|(_, o)| *o);
        self.raw_offsets.clear();
        match best {
            Some((at, offset)) => self.steer(offset, at, t2),
            None => Vec::new(),
        }
    }

    /// Feeds one batch's offset (measured at camera time `at`; it is now `now`) to the servo.
    fn steer(&mut self, offset: i64, at: i64, now: i64) -> Vec<ClockAction> {
        self.counters.offsets += 1;
        tracing::debug!(offset, delay = ?self.path_delay, status = ?self.status, "PTP offset");
        if self.never_lock {
            self.offset_ns = offset;
            return Vec::new();
        }
        if self.servo.state() == ServoState::Locked && offset.abs() > UNLOCK_THRESHOLD_NS {
            self.unlock();
        }
        if self.is_outlier(offset) {
            // A batch whose every Sync was held up: do not steer by it (and
            // keep reporting the offset the servo works with).
            self.counters.outliers += 1;
            return Vec::new();
        }
        self.offset_ns = offset;
        let mut actions = Vec::new();
        match self.servo.sample(offset, at, now) {
            ServoOutput::Hold => {}
            ServoOutput::Jump { step_ns, adj_ppb } => {
                actions.push(ClockAction::Step(step_ns));
                actions.push(ClockAction::Frequency(adj_ppb));
                self.offset_ns += step_ns;
                // Times measured before the step do not pair with times after it.
                self.epoch += 1;
                self.master_to_slave = None;
                self.raw_offsets.clear();
                self.pending_sync = None;
                self.early_follow_up = None;
                self.request = None;
            }
            ServoOutput::Adjust { adj_ppb } => actions.push(ClockAction::Frequency(adj_ppb)),
        }
        if self.servo.state() == ServoState::Locked {
            // Measured offsets only: the estimate right after a step does not count.
            let measured = actions.len() == 1;
            if measured && offset.abs() <= SLAVE_THRESHOLD_NS {
                self.good_samples += 1;
            } else if measured {
                self.good_samples = 0;
            }
            if self.status == PtpStatus::Uncalibrated && self.good_samples >= SLAVE_SAMPLES {
                self.status = PtpStatus::Slave;
            }
        } else if self.status == PtpStatus::Slave {
            self.status = PtpStatus::Uncalibrated;
        }
        actions
    }

    /// True for a locked port's offset far outside what the last batches
    /// showed; [`MAX_OUTLIERS`] in a row are believed (the clock did move).
    fn is_outlier(&mut self, offset: i64) -> bool {
        let locked = self.servo.state() == ServoState::Locked;
        let typical = if self.recent.len() >= 4 {
            self.recent.iter().map(|o| o.abs()).sum::<i64>() / self.recent.len() as i64
        } else {
            i64::MAX / 8
        };
        let outlier =
            locked && offset.abs() > 4 * typical + 300 && self.outliers_in_row < MAX_OUTLIERS;
        if outlier {
            self.outliers_in_row += 1;
        } else {
            self.outliers_in_row = 0;
            if locked {
                if self.recent.len() == 8 {
                    self.recent.pop_front();
                }
                self.recent.push_back(offset);
            }
        }
        outlier
    }

    /// The Delay_Req to send now, if the port wants one; `now_host` stamps its request time.
    pub fn poll_delay_req(&mut self, approx_local: i64, now_host: u64) -> Option<DelayReq> {
        if !self.want_request || self.parent.is_none() || self.mode == PtpMode::Off {
            return None;
        }
        self.want_request = false;
        let sequence_id = self.next_request_id;
        self.next_request_id = self.next_request_id.wrapping_add(1);
        let mut header = Header::new(MessageType::DelayReq, self.identity, sequence_id);
        header.domain = self.domain;
        let message = Message {
            header,
            body: Body::DelayReq {
                origin_timestamp: ptp::PtpTimestamp::from_nanos(
                    u64::try_from(approx_local.max(0)).unwrap_or(0),
                ),
            },
        };
        let mut bytes = [0u8; ptp::TIMESTAMP_MESSAGE_LEN];
        message.emit(&mut bytes).ok()?;
        self.request = Some(OutstandingReq {
            sequence_id,
            t3: None,
            asked_at: now_host,
            epoch: self.epoch,
        });
        Some(DelayReq { sequence_id, bytes })
    }

    /// Records when Delay_Req `sequence_id` left, on the camera clock.
    pub fn delay_req_sent(&mut self, sequence_id: u16, t3_local: i64) {
        if let Some(req) = self.request.as_mut() {
            if req.sequence_id == sequence_id {
                req.t3 = Some(t3_local);
            }
        }
    }

    fn on_delay_resp(&mut self, header: &Header, t4: i128) {
        let Some(req) = self.request else {
            return;
        };
        if req.sequence_id != header.sequence_id {
            return;
        }
        self.request = None;
        let (Some(t3), Some((ms, ms_epoch))) = (req.t3, self.master_to_slave) else {
            return;
        };
        if req.epoch != self.epoch || ms_epoch != self.epoch {
            return;
        }
        self.counters.delay_resps += 1;
        let sm = t4 - i128::from(header.correction_ns()) - i128::from(t3);
        let delay = ((i128::from(ms) + sm) / 2).clamp(-1_000_000_000, 1_000_000_000) as i64;
        tracing::trace!(ms, sm = sm as i64, delay, "PTP delay");
        if self.delays.len() == DELAY_WINDOW {
            self.delays.pop_front();
        }
        self.delays.push_back(delay);
        self.path_delay = self.delays.iter().copied().min();
    }
}

#[cfg(test)]
mod tests;
