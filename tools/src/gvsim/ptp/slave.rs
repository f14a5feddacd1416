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
//!   t3 and t4; the mean path delay is the median of the last
//!   [`DELAY_WINDOW`] measurements; offset = t2 − t1 − delay − corrections;
//! - the offsets drive a [`PiServo`]; the first lock steps the clock;
//! - PtpMode must match the master: a OneStep port ignores two-step Syncs
//!   and a TwoStep port one-step Syncs (counted as mode mismatches), so it
//!   stays Uncalibrated, as a real camera set to the wrong mode does.
//!
//! Invariants: status is Disabled iff the mode is Off; otherwise Faulty
//! while a fault is flagged, else Listening iff no parent is selected;
//! Slave only while the servo is locked and the last offset was within
//! [`SLAVE_THRESHOLD_NS`] when it got there (it falls back to Uncalibrated
//! beyond [`UNLOCK_THRESHOLD_NS`]); t1/t2 and t3/t4 pairs measured on
//! either side of a clock step are never combined.

use std::collections::VecDeque;

use gvcap::wire::ptp::{self, Announce, Body, Header, Message, MessageType, PortIdentity};

use super::servo::{PiServo, ServoOutput, ServoState};
use super::{PtpMode, PtpStatus};
use crate::gvsim::oscillator::MAX_ADJ_PPB;

/// Foreign masters remembered at once.
pub const MAX_FOREIGN: usize = 8;
/// Announces needed within four intervals before a master is followed.
pub const QUALIFY_ANNOUNCES: usize = 2;
/// Path delay measurements the median runs over.
pub const DELAY_WINDOW: usize = 10;
/// |offset| under which a locked servo makes the port Slave.
pub const SLAVE_THRESHOLD_NS: i64 = 1_000;
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
    /// Offsets fed to the servo.
    pub offsets: u64,
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
    /// t2 − t1 − corrections of the last Sync, and the clock epoch it was measured in.
    master_to_slave: Option<(i64, u64)>,
    request: Option<OutstandingReq>,
    want_request: bool,
    next_request_id: u16,
    delays: VecDeque<i64>,
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
            master_to_slave: None,
            request: None,
            want_request: false,
            next_request_id: 1,
            delays: VecDeque::with_capacity(DELAY_WINDOW),
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

    /// The last measured offset from the master (slave − master, ns; 0 before any).
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
        self.master_to_slave = None;
        self.request = None;
        self.want_request = false;
        self.delays.clear();
        self.path_delay = None;
    }

    fn unlock(&mut self) {
        self.servo.reset();
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
                    self.pending_sync = Some(PendingSync {
                        sequence_id: header.sequence_id,
                        t2: rx_local,
                        correction_ns: header.correction_ns(),
                        epoch: self.epoch,
                    });
                    Vec::new()
                } else {
                    let t1 = origin_timestamp.to_nanos();
                    self.on_times(t1, rx_local, header.correction_ns(), now_host)
                }
            }
            Body::FollowUp {
                precise_origin_timestamp,
            } if Some(header.source_port) == self.parent => match self.pending_sync.take() {
                Some(sync)
                    if sync.sequence_id == header.sequence_id && sync.epoch == self.epoch =>
                {
                    let correction = sync.correction_ns + header.correction_ns();
                    self.on_times(
                        precise_origin_timestamp.to_nanos(),
                        sync.t2,
                        correction,
                        now_host,
                    )
                }
                _ => Vec::new(),
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
                self.servo.set_interval(interval);
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

    fn on_times(
        &mut self,
        t1: i128,
        t2: i64,
        correction_ns: i64,
        now_host: u64,
    ) -> Vec<ClockAction> {
        let ms = i128::from(t2) - t1 - i128::from(correction_ns);
        let ms = ms.clamp(i128::from(i64::MIN / 2), i128::from(i64::MAX / 2)) as i64;
        self.master_to_slave = Some((ms, self.epoch));
        if self.request.is_none() {
            self.want_request = true;
        }
        let _ = now_host;
        let Some(delay) = self.path_delay else {
            return Vec::new();
        };
        let offset = ms - delay;
        self.offset_ns = offset;
        self.counters.offsets += 1;
        if self.never_lock {
            return Vec::new();
        }
        if self.servo.state() == ServoState::Locked && offset.abs() > UNLOCK_THRESHOLD_NS {
            self.unlock();
        }
        let mut actions = Vec::new();
        match self.servo.sample(offset, t2) {
            ServoOutput::Hold => {}
            ServoOutput::Jump { step_ns, adj_ppb } => {
                actions.push(ClockAction::Step(step_ns));
                actions.push(ClockAction::Frequency(adj_ppb));
                self.offset_ns += step_ns;
                // Times measured before the step do not pair with times after it.
                self.epoch += 1;
                self.master_to_slave = None;
                self.pending_sync = None;
                self.request = None;
            }
            ServoOutput::Adjust { adj_ppb } => actions.push(ClockAction::Frequency(adj_ppb)),
        }
        if self.servo.state() == ServoState::Locked {
            if self.status == PtpStatus::Uncalibrated && self.offset_ns.abs() <= SLAVE_THRESHOLD_NS
            {
                self.status = PtpStatus::Slave;
            }
        } else if self.status == PtpStatus::Slave {
            self.status = PtpStatus::Uncalibrated;
        }
        actions
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
        if self.delays.len() == DELAY_WINDOW {
            self.delays.pop_front();
        }
        self.delays.push_back(delay);
        let mut sorted: Vec<i64> = self.delays.iter().copied().collect();
        sorted.sort_unstable();
        let n = sorted.len();
        self.path_delay = Some(if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        });
    }
}

#[cfg(test)]
mod tests;
