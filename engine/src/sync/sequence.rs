//! The group sync sequence as a sans-IO state machine.
//!
//! The sequence never touches a socket, a clock or a thread: it emits
//! [`Op`]s through [`SyncSequence::poll_op`], takes their results with the
//! host time they completed at ([`SyncSequence::handle_result`]), asks to be
//! woken through [`SyncSequence::poll_timeout`] / [`SyncSequence::handle_timeout`]
//! and takes frames from the capture path ([`SyncSequence::handle_frame`]).
//! A driver runs it against real cameras; tests run it in virtual time.
//!
//! Phases, in order (each waits for every op it issued):
//! 1. *Checking* (no I/O): a plan per camera from its XML ([`CameraPlan`]);
//!    any camera lacking a feature or the requested PtpMode stops the
//!    sequence before anything is sent.
//! 2. *Stopping*: AcquisitionStop on every camera (unless configured not to),
//!    then the streaming probe (TLParamsLocked). A camera still streaming
//!    refuses the broadcast: nothing is written on any camera.
//! 3. *Writing*: the settings broadcast, the same values on every camera.
//! 4. *ReadingBack*: every written value read back; a clamped frame rate is
//!    followed by *ReadingRanges* (its maximum) and stops the sequence before
//!    streaming.
//! 5. *AwaitingLock*: PtpStatus polled (dataset latched first where the
//!    camera needs it) every `status_poll_interval` until all cameras are
//!    Slave in one round, or `lock_timeout` passes.
//! 6. *Latching*: each camera's clock latched between two host readings.
//! 7. *Arming*: gate = the latest camera's PTP time (plus its error bound)
//!    plus `gate_margin`; gate written and AcquisitionStart executed on each
//!    camera, then the scheduled ACTION for cameras started by ACTION. A
//!    camera armed after the gate fails the start.
//! 8. *Running*: frames verified; PtpStatus and PtpOffset sampled every
//!    `offset_interval`; per-frame ACTIONs sent ahead for FrameStart cameras.
//! 9. *Finishing*: AcquisitionStop on every started camera; final checks.
//!
//! Invariants: ops of one camera are issued in the order they must run;
//! failures before *Arming* leave every camera un-started; failures after it
//! stop every started camera; a camera that stops answering is lost: no more
//! ops are issued to it, and during *Running* the others go on; every failure
//! ends in an [`Outcome::Failed`] whose reason names the cameras, and in
//! diagnoses that say the cause and the action.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::genicam::{FeatureRange, FeatureValue};

use super::config::{RunLength, SyncConfig};
use super::diagnose::{self, Diagnosis, LockEvidence, Requirement};
use super::op::{CameraId, Op, OpError, OpErrorKind, OpId, Value};
use super::plan::{ActionTrigger, CameraPlan, FeatureSet, PtpSwitch, StartMethod};
use super::report::{CameraReport, SyncReport};
use super::time::{HostTime, PtpTime};
use super::timescale::{ClockRelation, Timescale};
use super::verify::{FrameRecord, Verifier, VerifyConfig};

/// A camera as the sequence gets it: a name for messages and its XML's features.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraSetup {
    /// The name used in every message ("GV01 (169.254.1.1)").
    pub name: String,
    /// What the camera's XML declares.
    pub features: FeatureSet,
}

/// Where the sequence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Choosing each camera's method from its XML.
    Checking,
    /// Stopping acquisition and checking nothing streams.
    Stopping,
    /// Writing the settings broadcast.
    Writing,
    /// Reading every setting back.
    ReadingBack,
    /// Reading the maximum frame rate of cameras that clamped it.
    ReadingRanges,
    /// Polling PtpStatus until every camera is Slave.
    AwaitingLock,
    /// Latching each camera's PTP time.
    Latching,
    /// Writing the gate and starting acquisition.
    Arming,
    /// Verifying the running group.
    Running,
    /// Stopping acquisition.
    Finishing,
    /// Finished; see the outcome.
    Done,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Checking => "the feature check",
            Phase::Stopping => "stopping acquisition",
            Phase::Writing => "the settings broadcast",
            Phase::ReadingBack => "the read-back",
            Phase::ReadingRanges => "reading frame rate ranges",
            Phase::AwaitingLock => "waiting for PTP lock",
            Phase::Latching => "latching timestamps",
            Phase::Arming => "arming",
            Phase::Running => "the run",
            Phase::Finishing => "stopping at the end",
            Phase::Done => "done",
        })
    }
}

/// How the sequence ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum Outcome {
    /// The group was started at one gate time and the run verified; whether
    /// the requirements were met is in the report.
    Completed,
    /// The sequence stopped; `reason` names the cameras.
    Failed {
        /// The phase it stopped in.
        phase: Phase,
        /// Why, naming the cameras.
        reason: String,
    },
}

/// Progress worth telling the user, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A phase began.
    Phase(Phase),
    /// The method chosen for a camera.
    Method {
        /// The camera.
        camera: CameraId,
        /// The method in words.
        method: String,
    },
    /// A camera's PtpStatus changed.
    Status {
        /// The camera.
        camera: CameraId,
        /// Its new status.
        status: String,
    },
    /// Every camera is Slave.
    AllLocked,
    /// The gate time chosen, in PTP time.
    Started {
        /// The gate.
        gate: PtpTime,
    },
    /// A finding (also kept for the report).
    Diagnosed(Diagnosis),
    /// The sequence ended.
    Finished(Outcome),
}

/// Errors constructing a sequence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// The configuration is invalid.
    #[error("invalid sync configuration: {0}")]
    Config(String),
    /// No camera was given.
    #[error("no cameras to synchronize; name at least one camera")]
    NoCameras,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Stop,
    Probe,
    Write(usize),
    ReadBack(usize),
    RateRange,
    StatusLatch,
    Status,
    Latch,
    Gate,
    Arm,
    StartAction,
    FrameAction,
    SampleLatch,
    RunStatus,
    Offset,
    FinalStop,
}

#[derive(Debug)]
struct Pending {
    camera: Option<CameraId>,
    purpose: Purpose,
    counted: bool,
    text: String,
}

#[derive(Debug, Clone)]
struct Lost {
    phase: Phase,
    at: HostTime,
}

#[derive(Debug)]
struct Cam {
    name: String,
    plan: Option<CameraPlan>,
    missing: Vec<String>,
    lost: Option<Lost>,
    stop_error: Option<String>,
    streaming: Option<bool>,
    write_errors: Vec<(usize, OpError)>,
    differs: bool,
    rate_refused: bool,
    frame_rate_read: Option<f64>,
    frame_rate_max: Option<f64>,
    ptp_mode_read: Option<String>,
    status: Option<String>,
    statuses: Vec<String>,
    slave: bool,
    relation: Option<ClockRelation>,
    latch_error: Option<String>,
    start_error: Option<String>,
    armed_at: Option<HostTime>,
    sampling: u8,
    run_status_samples: u64,
    run_not_slave: u64,
    run_bad_status: Option<String>,
    no_video_reported: bool,
    stalled_reported: bool,
    frames_before_start: u64,
    frames_after_end: u64,
}

impl Cam {
    fn live(&self) -> bool {
        self.lost.is_none()
    }
}

const MAX_EVENTS: usize = 4096;
/// Relative difference of a measured frame rate that is diagnosed.
const RATE_MISMATCH: f64 = 0.005;

/// The sync sequence for one group of cameras.
#[derive(Debug)]
pub struct SyncSequence {
    config: SyncConfig,
    cams: Vec<Cam>,
    phase: Phase,
    outstanding: usize,
    ops: VecDeque<(OpId, Op)>,
    pending: BTreeMap<OpId, Pending>,
    next_op: u64,
    events: VecDeque<Event>,
    diagnoses: Vec<Diagnosis>,
    outcome: Option<Outcome>,
    failure: Option<(Phase, String)>,
    created_at: HostTime,
    lock_started: HostTime,
    round_started: HostTime,
    round_timer: Option<HostTime>,
    arming_action_sent: bool,
    gate: Option<PtpTime>,
    gate_host: Option<HostTime>,
    reference: Option<ClockRelation>,
    timescale: Option<Timescale>,
    verifier: Verifier,
    offset_timer: Option<HostTime>,
    first_frame_deadline: Option<HostTime>,
    run_deadline: Option<HostTime>,
    action_timer: Option<HostTime>,
    next_action_frame: u64,
    action_frames: Option<u64>,
    ran: bool,
    finished_at: Option<HostTime>,
    /// PTP time before which every frame was taken while all cameras ran
    /// (the first final AcquisitionStop cannot have acted earlier).
    stop_cutoff: Option<PtpTime>,
    /// While the final stops are answered, frames still in flight are
    /// awaited until this host time.
    drain_deadline: Option<HostTime>,
}

fn truthy(value: &FeatureValue) -> bool {
    match value {
        FeatureValue::Integer(v) => *v != 0,
        FeatureValue::Boolean(v) => *v,
        FeatureValue::Float(v) => *v != 0.0,
        FeatureValue::Enumeration(s) | FeatureValue::String(s) => {
            !matches!(s.as_str(), "" | "0" | "Off" | "False" | "false")
        }
        FeatureValue::Register(bytes) => bytes.iter().any(|b| *b != 0),
        FeatureValue::Command => false,
    }
}

fn as_f64(value: &FeatureValue) -> Option<f64> {
    match value {
        FeatureValue::Float(v) => Some(*v),
        FeatureValue::Integer(v) => Some(*v as f64),
        _ => None,
    }
}

fn as_i64(value: &FeatureValue) -> Option<i64> {
    match value {
        FeatureValue::Integer(v) => Some(*v),
        FeatureValue::Float(v) if v.is_finite() => Some(v.round() as i64),
        _ => None,
    }
}

fn same_value(wrote: &FeatureValue, read: &FeatureValue) -> bool {
    match (wrote, read) {
        (FeatureValue::Float(a), _) => {
            as_f64(read).is_some_and(|b| (a - b).abs() <= 1e-9 * a.abs().max(1.0))
        }
        (FeatureValue::Integer(a), _) => as_i64(read) == Some(*a),
        (FeatureValue::Boolean(a), FeatureValue::Integer(b)) => *a == (*b != 0),
        _ => wrote == read,
    }
}

fn is_slave(status: &str) -> bool {
    status.eq_ignore_ascii_case("slave")
}

impl SyncSequence {
    /// A sequence for `cameras` with `config`, created at host time `now`.
    ///
    /// The method of every camera is chosen here from its features; when a
    /// camera lacks something the sequence is already finished (failed) and
    /// issues no op at all.
    pub fn new(
        now: HostTime,
        config: SyncConfig,
        cameras: Vec<CameraSetup>,
    ) -> Result<Self, SyncError> {
        config.validate().map_err(SyncError::Config)?;
        if cameras.is_empty() {
            return Err(SyncError::NoCameras);
        }
        let verify = VerifyConfig {
            frame_period_ns: config.frame_period_ns(),
            tolerance_ns: config.skew_tolerance(),
            offset_warn_ns: config.offset_warn_ns,
            offset_error_ns: config.offset_error_ns,
            window: config.alignment_window,
            silence_ns: config.frame_period_ns().saturating_mul(4).max(1_000_000),
        };
        let verifier = Verifier::new(verify, cameras.len());
        let cams = cameras
            .into_iter()
            .map(|setup| {
                let (plan, missing) = match CameraPlan::choose(&setup.features, &config) {
                    Ok(plan) => (Some(plan), Vec::new()),
                    Err(missing) => (None, missing),
                };
                Cam {
                    name: setup.name,
                    plan,
                    missing,
                    lost: None,
                    stop_error: None,
                    streaming: None,
                    write_errors: Vec::new(),
                    differs: false,
                    rate_refused: false,
                    frame_rate_read: None,
                    frame_rate_max: None,
                    ptp_mode_read: None,
                    status: None,
                    statuses: Vec::new(),
                    slave: false,
                    relation: None,
                    latch_error: None,
                    start_error: None,
                    armed_at: None,
                    sampling: 0,
                    run_status_samples: 0,
                    run_not_slave: 0,
                    run_bad_status: None,
                    no_video_reported: false,
                    stalled_reported: false,
                    frames_before_start: 0,
                    frames_after_end: 0,
                }
            })
            .collect();
        let mut seq = SyncSequence {
            config,
            cams,
            phase: Phase::Checking,
            outstanding: 0,
            ops: VecDeque::new(),
            pending: BTreeMap::new(),
            next_op: 0,
            events: VecDeque::new(),
            diagnoses: Vec::new(),
            outcome: None,
            failure: None,
            created_at: now,
            lock_started: now,
            round_started: now,
            round_timer: None,
            arming_action_sent: false,
            gate: None,
            gate_host: None,
            reference: None,
            timescale: None,
            verifier,
            offset_timer: None,
            first_frame_deadline: None,
            run_deadline: None,
            action_timer: None,
            next_action_frame: 0,
            action_frames: None,
            ran: false,
            finished_at: None,
            stop_cutoff: None,
            drain_deadline: None,
        };
        seq.event(Event::Phase(Phase::Checking));
        seq.check(now);
        Ok(seq)
    }

    // ----- the driver's interface -------------------------------------------------

    /// The next op to execute, with the id its result must carry.
    pub fn poll_op(&mut self) -> Option<(OpId, Op)> {
        self.ops.pop_front()
    }

    /// The result of op `id`, completed at host time `now`.
    ///
    /// An id that is not pending (already handled, or never issued) is ignored.
    pub fn handle_result(&mut self, now: HostTime, id: OpId, result: Result<Value, OpError>) {
        let Some(pending) = self.pending.remove(&id) else {
            tracing::warn!(op = id.0, "result for an op that is not pending; ignored");
            return;
        };
        let waiting = self.outstanding > 0;
        if pending.counted {
            self.outstanding = self.outstanding.saturating_sub(1);
        }
        if let (Some(camera), Err(error)) = (pending.camera, &result) {
            if error.kind == OpErrorKind::NoAnswer {
                self.lose(now, camera, &pending.text, &error.message);
            }
        }
        self.on_result(now, &pending, result);
        // The phase ends when the last op it waited for is settled (answered,
        // or dropped because its camera was lost).
        if waiting && self.outstanding == 0 && self.phase != Phase::Done {
            self.end_phase(now);
        }
    }

    /// When the sequence wants `handle_timeout` called, if ever.
    pub fn poll_timeout(&self) -> Option<HostTime> {
        let timers = match self.phase {
            Phase::AwaitingLock => [self.round_timer, None, None, None],
            Phase::Finishing => [self.drain_deadline, None, None, None],
            Phase::Running => [
                self.offset_timer,
                self.first_frame_deadline,
                self.run_deadline,
                self.action_timer,
            ],
            _ => [None; 4],
        };
        timers.into_iter().flatten().min()
    }

    /// Host time `now` has reached (or passed) the time `poll_timeout` gave.
    pub fn handle_timeout(&mut self, now: HostTime) {
        match self.phase {
            Phase::AwaitingLock if self.round_timer.is_some_and(|t| t <= now) => {
                self.round_timer = None;
                self.start_lock_round(now);
            }
            Phase::Running => {
                if self.action_timer.is_some_and(|t| t <= now) {
                    self.send_frame_actions(now);
                }
                if self.first_frame_deadline.is_some_and(|t| t <= now) {
                    self.first_frame_deadline = None;
                    self.check_first_frames();
                }
                if self.offset_timer.is_some_and(|t| t <= now) {
                    self.offset_timer = Some(now.after(self.config.offset_interval));
                    self.sample(now);
                    self.check_stalls(now);
                }
                if self.run_deadline.is_some_and(|t| t <= now) {
                    self.run_deadline = None;
                    self.start_finishing(now);
                }
            }
            Phase::Finishing if self.drain_deadline.is_some_and(|t| t <= now) => {
                self.end_finishing(now);
            }
            _ => {}
        }
    }

    /// A frame from the capture path, received by the driver at host time `now`.
    pub fn handle_frame(&mut self, now: HostTime, record: &FrameRecord) {
        let Some(cam) = self.cams.get_mut(record.camera.0) else {
            return;
        };
        match self.phase {
            Phase::Running | Phase::Finishing | Phase::Arming => {}
            Phase::Done => {
                cam.frames_after_end += 1;
                return;
            }
            _ => {
                cam.frames_before_start += 1;
                return;
            }
        }
        self.verifier.record_frame(record);
        if self.phase == Phase::Finishing && self.drain_deadline.is_some() && self.drained() {
            self.end_finishing(now);
            return;
        }
        if self.phase == Phase::Running {
            if let RunLength::Frames(n) = self.config.run {
                let done = self.cams.iter().enumerate().all(|(i, cam)| {
                    !cam.live()
                        || self
                            .verifier
                            .camera_frames(CameraId(i))
                            .is_some_and(|f| f.frames >= n)
                });
                if done {
                    self.start_finishing(now);
                }
            }
        }
    }

    /// The user asks to stop: the run ends now (or the start is abandoned).
    pub fn request_stop(&mut self, now: HostTime) {
        match self.phase {
            Phase::Running => self.start_finishing(now),
            Phase::Finishing | Phase::Done => {}
            phase => self.fail(now, format!("stopped by the user during {phase}")),
        }
    }

    /// The next event, in order.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ----- state for callers --------------------------------------------------------

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Whether the sequence has finished (see [`SyncSequence::outcome`]).
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// How the sequence ended, once it has.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// Every finding so far.
    pub fn diagnoses(&self) -> &[Diagnosis] {
        &self.diagnoses
    }

    /// The gate time, once chosen.
    pub fn gate_time(&self) -> Option<PtpTime> {
        self.gate
    }

    /// The cameras' names, by [`CameraId`].
    pub fn camera_names(&self) -> Vec<&str> {
        self.cams.iter().map(|c| c.name.as_str()).collect()
    }

    /// The plan chosen for a camera (`None` when it lacks something).
    pub fn plan(&self, camera: CameraId) -> Option<&CameraPlan> {
        self.cams.get(camera.0).and_then(|c| c.plan.as_ref())
    }

    /// Whether a camera was lost (stopped answering).
    pub fn is_lost(&self, camera: CameraId) -> bool {
        self.cams.get(camera.0).is_some_and(|c| c.lost.is_some())
    }

    /// The configuration in use.
    pub fn config(&self) -> &SyncConfig {
        &self.config
    }

    /// The clock relation measured for a camera, once latched.
    pub fn clock_relation(&self, camera: CameraId) -> Option<ClockRelation> {
        self.cams.get(camera.0).and_then(|c| c.relation)
    }

    // ----- internals -----------------------------------------------------------------

    fn event(&mut self, event: Event) {
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    fn diagnose(&mut self, diagnosis: Diagnosis) {
        self.event(Event::Diagnosed(diagnosis.clone()));
        self.diagnoses.push(diagnosis);
    }

    fn enter(&mut self, phase: Phase) {
        self.phase = phase;
        self.event(Event::Phase(phase));
    }

    fn push(&mut self, camera: Option<CameraId>, purpose: Purpose, op: Op, counted: bool) {
        if let Some(camera) = camera {
            if !self.cams[camera.0].live() {
                return;
            }
        }
        let id = OpId(self.next_op);
        self.next_op += 1;
        let text = op.to_string();
        if counted {
            self.outstanding += 1;
        }
        self.pending.insert(
            id,
            Pending {
                camera,
                purpose,
                counted,
                text,
            },
        );
        self.ops.push_back((id, op));
    }

    fn names(&self, ids: &[usize]) -> String {
        ids.iter()
            .map(|&i| self.cams[i].name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn live_ids(&self) -> Vec<usize> {
        (0..self.cams.len())
            .filter(|&i| self.cams[i].live())
            .collect()
    }

    fn lost_ids(&self) -> Vec<usize> {
        (0..self.cams.len())
            .filter(|&i| !self.cams[i].live())
            .collect()
    }

    fn lose(&mut self, now: HostTime, camera: CameraId, op: &str, message: &str) {
        let phase = self.phase;
        let Some(cam) = self.cams.get_mut(camera.0) else {
            return;
        };
        if cam.lost.is_some() {
            return;
        }
        cam.lost = Some(Lost { phase, at: now });
        let name = cam.name.clone();
        // Ops not yet polled for this camera are dropped.
        let mut dropped = Vec::new();
        self.ops.retain(|(id, op)| {
            let keep = op.camera() != Some(camera);
            if !keep {
                dropped.push(*id);
            }
            keep
        });
        for id in dropped {
            if let Some(p) = self.pending.remove(&id) {
                if p.counted {
                    self.outstanding = self.outstanding.saturating_sub(1);
                }
            }
        }
        let others_go_on = phase >= Phase::Arming && self.cams.iter().any(Cam::live);
        self.diagnose(diagnose::camera_lost(
            &name,
            &phase.to_string(),
            op,
            message,
            others_go_on,
        ));
        if phase == Phase::Running && self.live_ids().is_empty() {
            // Nothing left to verify.
            self.start_finishing(now);
        }
    }

    fn fail(&mut self, now: HostTime, reason: String) {
        if self.phase == Phase::Done {
            return;
        }
        let started = self.cams.iter().any(|c| c.armed_at.is_some()) || self.phase >= Phase::Arming;
        if started && self.phase != Phase::Finishing {
            self.failure = Some((self.phase, reason));
            self.start_finishing(now);
        } else {
            let phase = self.phase;
            self.finish(now, Outcome::Failed { phase, reason });
        }
    }

    fn finish(&mut self, now: HostTime, outcome: Outcome) {
        self.ops.clear();
        self.pending.clear();
        self.outstanding = 0;
        self.finished_at = Some(now);
        self.outcome = Some(outcome.clone());
        self.enter(Phase::Done);
        self.event(Event::Finished(outcome));
    }

    fn check(&mut self, now: HostTime) {
        let mut unsupported = Vec::new();
        for i in 0..self.cams.len() {
            match &self.cams[i].plan {
                Some(plan) => {
                    let method = plan.method();
                    self.event(Event::Method {
                        camera: CameraId(i),
                        method,
                    });
                }
                None => unsupported.push(i),
            }
        }
        if !unsupported.is_empty() {
            for &i in &unsupported {
                let d = diagnose::unsupported(&self.cams[i].name, &self.cams[i].missing);
                self.diagnose(d);
            }
            let reason = format!(
                "{} lack what the sync needs (see diagnoses); nothing was written on any camera",
                self.names(&unsupported)
            );
            self.fail(now, reason);
            return;
        }
        self.enter(Phase::Stopping);
        for i in 0..self.cams.len() {
            let camera = CameraId(i);
            if self.config.stop_streaming_first {
                self.push(
                    Some(camera),
                    Purpose::Stop,
                    Op::Execute {
                        camera,
                        command: "AcquisitionStop",
                    },
                    true,
                );
            }
            if let Some(probe) = self.cams[i].plan.as_ref().and_then(|p| p.streaming_probe) {
                self.push(
                    Some(camera),
                    Purpose::Probe,
                    Op::Get {
                        camera,
                        feature: probe,
                    },
                    true,
                );
            }
        }
        if self.outstanding == 0 {
            self.end_phase(now);
        }
    }

    fn on_result(&mut self, now: HostTime, pending: &Pending, result: Result<Value, OpError>) {
        let Some(camera) = pending.camera else {
            if let (Purpose::StartAction, Err(error)) = (pending.purpose, &result) {
                let reason = format!("the scheduled ACTION could not be sent: {error}");
                self.failure.get_or_insert((Phase::Arming, reason));
            }
            if pending.purpose == Purpose::StartAction {
                // The ACTION left the host at `now` at the latest.
                let starters: Vec<(usize, HostTime)> = (0..self.cams.len())
                    .filter(|&i| {
                        self.cams[i].plan.as_ref().is_some_and(|p| {
                            p.start == StartMethod::ScheduledAction(ActionTrigger::AcquisitionStart)
                        })
                    })
                    .map(|i| (i, now))
                    .collect();
                self.check_gate_reached(&starters);
            }
            return;
        };
        let i = camera.0;
        match pending.purpose {
            Purpose::Stop => {
                if let Err(error) = result {
                    self.cams[i].stop_error = Some(error.message);
                }
            }
            Purpose::Probe => {
                if let Ok(Value::Feature(value)) = result {
                    self.cams[i].streaming = Some(truthy(&value));
                }
            }
            Purpose::Write(index) => {
                if let Err(error) = result {
                    if error.kind != OpErrorKind::NoAnswer {
                        self.cams[i].write_errors.push((index, error));
                    }
                }
            }
            Purpose::ReadBack(index) => {
                let Some(setting) = self.cams[i]
                    .plan
                    .as_ref()
                    .and_then(|p| p.settings.get(index))
                    .cloned()
                else {
                    return;
                };
                let is_rate = self.cams[i]
                    .plan
                    .as_ref()
                    .is_some_and(|p| p.frame_rate == setting.feature);
                match result {
                    Ok(Value::Feature(read)) => {
                        if is_rate {
                            self.cams[i].frame_rate_read = as_f64(&read);
                            return;
                        }
                        if setting.feature == "PtpMode" {
                            self.cams[i].ptp_mode_read = Some(read.to_string());
                        }
                        if !same_value(&setting.value, &read) {
                            self.cams[i].differs = true;
                            let d = diagnose::setting_differs(
                                &self.cams[i].name,
                                setting.feature,
                                &setting.value.to_string(),
                                &read.to_string(),
                            );
                            self.diagnose(d);
                        }
                    }
                    Ok(other) => {
                        self.cams[i].differs = true;
                        let d = diagnose::setting_differs(
                            &self.cams[i].name,
                            setting.feature,
                            &setting.value.to_string(),
                            &format!("no value ({other:?})"),
                        );
                        self.diagnose(d);
                    }
                    Err(error) if error.kind != OpErrorKind::NoAnswer => {
                        self.cams[i].differs = true;
                        let d = diagnose::setting_differs(
                            &self.cams[i].name,
                            setting.feature,
                            &setting.value.to_string(),
                            &format!("nothing readable ({error})"),
                        );
                        self.diagnose(d);
                    }
                    Err(_) => {}
                }
            }
            Purpose::RateRange => {
                if let Ok(Value::Range(Some(range))) = result {
                    self.cams[i].frame_rate_max = Some(match range {
                        FeatureRange::Float { max, .. } => max,
                        FeatureRange::Integer { max, .. } => max as f64,
                    });
                }
            }
            Purpose::StatusLatch
            | Purpose::SampleLatch
            | Purpose::FinalStop
            | Purpose::FrameAction => {}
            Purpose::Status => {
                let status = match result {
                    Ok(Value::Feature(value)) => value.to_string(),
                    Ok(_) => "unreadable".to_string(),
                    Err(_) => "unreadable".to_string(),
                };
                self.record_status(camera, status);
            }
            Purpose::RunStatus => {
                self.cams[i].sampling = self.cams[i].sampling.saturating_sub(1);
                if let Ok(Value::Feature(value)) = result {
                    let status = value.to_string();
                    let cam = &mut self.cams[i];
                    cam.run_status_samples += 1;
                    if !is_slave(&status) {
                        cam.run_not_slave += 1;
                        cam.run_bad_status = Some(status.clone());
                    }
                    self.record_status(camera, status);
                }
            }
            Purpose::Offset => {
                self.cams[i].sampling = self.cams[i].sampling.saturating_sub(1);
                if let Ok(Value::Feature(value)) = result {
                    if let Some(offset) = as_i64(&value) {
                        self.verifier.record_offset(camera, offset);
                    }
                }
            }
            Purpose::Latch => {
                let via = self.cams[i].plan.as_ref().map(|p| p.latch);
                match (result, via) {
                    (Ok(Value::Latch(latch)), Some(via)) => {
                        match ClockRelation::from_latch(&latch, via) {
                            Ok(relation) => self.cams[i].relation = Some(relation),
                            Err(why) => self.cams[i].latch_error = Some(why),
                        }
                    }
                    (Ok(other), _) => {
                        self.cams[i].latch_error = Some(format!("the latch returned {other:?}"));
                    }
                    (Err(error), _) => self.cams[i].latch_error = Some(error.message),
                }
            }
            Purpose::Gate | Purpose::Arm => match result {
                Ok(_) => {
                    if pending.purpose == Purpose::Arm {
                        self.cams[i].armed_at = Some(now);
                    }
                }
                Err(error) => {
                    let text = format!("{} failed: {error}", pending.text);
                    self.cams[i].start_error.get_or_insert(text);
                }
            },
            Purpose::StartAction => {}
        }
    }

    fn record_status(&mut self, camera: CameraId, status: String) {
        let cam = &mut self.cams[camera.0];
        cam.slave = is_slave(&status);
        if cam.status.as_deref() != Some(status.as_str()) {
            cam.status = Some(status.clone());
            if cam.statuses.last() != Some(&status) {
                cam.statuses.push(status.clone());
            }
            self.event(Event::Status { camera, status });
        }
    }

    fn end_phase(&mut self, now: HostTime) {
        match self.phase {
            Phase::Stopping => self.end_stopping(now),
            Phase::Writing => self.end_writing(now),
            Phase::ReadingBack => self.end_reading_back(now),
            Phase::ReadingRanges => self.end_reading_ranges(now),
            Phase::AwaitingLock => self.end_lock_round(now),
            Phase::Latching => self.end_latching(now),
            Phase::Arming => self.end_arming(now),
            Phase::Finishing => self.drain(now),
            Phase::Checking | Phase::Running | Phase::Done => {}
        }
    }

    fn fail_if_lost(&mut self, now: HostTime) -> bool {
        let lost = self.lost_ids();
        if lost.is_empty() {
            return false;
        }
        let reason = format!(
            "{} stopped answering during {}; no camera was started",
            self.names(&lost),
            self.phase
        );
        self.fail(now, reason);
        true
    }

    fn end_stopping(&mut self, now: HostTime) {
        if self.fail_if_lost(now) {
            return;
        }
        let streaming: Vec<usize> = (0..self.cams.len())
            .filter(|&i| self.cams[i].streaming == Some(true))
            .collect();
        if !streaming.is_empty() {
            for &i in &streaming {
                let d = diagnose::streaming(
                    &self.cams[i].name,
                    self.config.stop_streaming_first,
                    self.cams[i].stop_error.as_deref(),
                );
                self.diagnose(d);
            }
            let reason = format!(
                "{} {} streaming: the settings broadcast was refused and nothing was written on \
                 any camera",
                self.names(&streaming),
                if streaming.len() == 1 { "is" } else { "are" }
            );
            self.fail(now, reason);
            return;
        }
        self.enter(Phase::Writing);
        for i in 0..self.cams.len() {
            let camera = CameraId(i);
            let settings = self.cams[i]
                .plan
                .as_ref()
                .map(|p| p.settings.clone())
                .unwrap_or_default();
            for (index, setting) in settings.into_iter().enumerate() {
                self.push(
                    Some(camera),
                    Purpose::Write(index),
                    Op::Set {
                        camera,
                        feature: setting.feature,
                        value: setting.value,
                    },
                    true,
                );
            }
        }
        if self.outstanding == 0 {
            self.end_phase(now);
        }
    }

    fn end_writing(&mut self, now: HostTime) {
        if self.fail_if_lost(now) {
            return;
        }
        let mut refused = Vec::new();
        for i in 0..self.cams.len() {
            let errors = std::mem::take(&mut self.cams[i].write_errors);
            for (index, error) in errors {
                let Some(setting) = self.cams[i]
                    .plan
                    .as_ref()
                    .and_then(|p| p.settings.get(index))
                    .cloned()
                else {
                    continue;
                };
                let is_rate = self.cams[i]
                    .plan
                    .as_ref()
                    .is_some_and(|p| p.frame_rate == setting.feature);
                if is_rate && error.kind == OpErrorKind::OutOfRange {
                    self.cams[i].rate_refused = true;
                    continue;
                }
                let d = diagnose::setting_refused(
                    &self.cams[i].name,
                    setting.feature,
                    &setting.value.to_string(),
                    &error.message,
                );
                self.diagnose(d);
                if refused.last() != Some(&i) {
                    refused.push(i);
                }
            }
        }
        if !refused.is_empty() {
            let reason = format!(
                "settings were refused on {} (see diagnoses); no camera was started",
                self.names(&refused)
            );
            self.fail(now, reason);
            return;
        }
        self.enter(Phase::ReadingBack);
        for i in 0..self.cams.len() {
            let camera = CameraId(i);
            let settings = self.cams[i]
                .plan
                .as_ref()
                .map(|p| p.settings.clone())
                .unwrap_or_default();
            for (index, setting) in settings.into_iter().enumerate() {
                if setting.read_back {
                    self.push(
                        Some(camera),
                        Purpose::ReadBack(index),
                        Op::Get {
                            camera,
                            feature: setting.feature,
                        },
                        true,
                    );
                }
            }
        }
        if self.outstanding == 0 {
            self.end_phase(now);
        }
    }

    fn clamped(&self, i: usize) -> bool {
        let cam = &self.cams[i];
        let floor = self.config.frame_rate_hz * (1.0 - self.config.rate_tolerance);
        cam.rate_refused || cam.frame_rate_read.is_some_and(|read| read < floor)
    }

    fn end_reading_back(&mut self, now: HostTime) {
        if self.fail_if_lost(now) {
            return;
        }
        let ceiling = self.config.frame_rate_hz * (1.0 + self.config.rate_tolerance);
        for i in 0..self.cams.len() {
            if let Some(read) = self.cams[i].frame_rate_read.filter(|&r| r > ceiling) {
                self.cams[i].differs = true;
                let feature = self.cams[i]
                    .plan
                    .as_ref()
                    .map_or("AcquisitionFrameRate", |p| p.frame_rate);
                let d = diagnose::setting_differs(
                    &self.cams[i].name,
                    feature,
                    &self.config.frame_rate_hz.to_string(),
                    &read.to_string(),
                );
                self.diagnose(d);
            }
        }
        let clamped: Vec<usize> = (0..self.cams.len()).filter(|&i| self.clamped(i)).collect();
        if !clamped.is_empty() {
            self.enter(Phase::ReadingRanges);
            for &i in &clamped {
                let camera = CameraId(i);
                let feature = self.cams[i]
                    .plan
                    .as_ref()
                    .map_or("AcquisitionFrameRate", |p| p.frame_rate);
                self.push(
                    Some(camera),
                    Purpose::RateRange,
                    Op::Range { camera, feature },
                    true,
                );
            }
            return;
        }
        let differs: Vec<usize> = (0..self.cams.len())
            .filter(|&i| self.cams[i].differs)
            .collect();
        if !differs.is_empty() {
            let reason = format!(
                "settings did not hold on {} (see diagnoses); no camera was started",
                self.names(&differs)
            );
            self.fail(now, reason);
            return;
        }
        self.enter(Phase::AwaitingLock);
        self.lock_started = now;
        self.start_lock_round(now);
    }

    fn end_reading_ranges(&mut self, now: HostTime) {
        let clamped: Vec<usize> = (0..self.cams.len()).filter(|&i| self.clamped(i)).collect();
        let mut maxima = Vec::new();
        for &i in &clamped {
            let cam = &self.cams[i];
            let max = cam.frame_rate_max.or(cam.frame_rate_read);
            let d = diagnose::frame_rate_clamped(
                &cam.name,
                self.config.frame_rate_hz,
                cam.frame_rate_read,
                max,
            );
            maxima.push(match max {
                Some(m) => format!("{} (max {m:.3} Hz)", cam.name),
                None => cam.name.clone(),
            });
            self.diagnose(d);
        }
        let reason = format!(
            "the frame rate {} Hz was clamped on {}; streaming was not started",
            self.config.frame_rate_hz,
            maxima.join(", ")
        );
        self.fail(now, reason);
    }

    fn start_lock_round(&mut self, now: HostTime) {
        self.round_started = now;
        for i in self.live_ids() {
            let camera = CameraId(i);
            let Some(plan) = self.cams[i].plan.clone() else {
                continue;
            };
            if let Some(latch) = plan.dataset_latch {
                self.push(
                    Some(camera),
                    Purpose::StatusLatch,
                    Op::Execute {
                        camera,
                        command: latch,
                    },
                    true,
                );
            }
            self.push(
                Some(camera),
                Purpose::Status,
                Op::Get {
                    camera,
                    feature: plan.status,
                },
                true,
            );
        }
        if self.outstanding == 0 {
            self.end_phase(now);
        }
    }

    fn end_lock_round(&mut self, now: HostTime) {
        if self.fail_if_lost(now) {
            return;
        }
        if self.cams.iter().all(|c| c.slave) {
            self.event(Event::AllLocked);
            self.enter(Phase::Latching);
            for i in 0..self.cams.len() {
                let camera = CameraId(i);
                let Some(via) = self.cams[i].plan.as_ref().map(|p| p.latch) else {
                    continue;
                };
                self.push(
                    Some(camera),
                    Purpose::Latch,
                    Op::LatchTimestamp { camera, via },
                    true,
                );
            }
            return;
        }
        let waited = now.since(self.lock_started);
        if waited >= self.config.lock_timeout {
            let not_slave: Vec<usize> = (0..self.cams.len())
                .filter(|&i| !self.cams[i].slave)
                .collect();
            let locked = self.cams.len() - not_slave.len();
            for &i in &not_slave {
                let cam = &self.cams[i];
                let plan = cam.plan.as_ref();
                let evidence = LockEvidence {
                    mode: self.config.ptp_mode,
                    mode_selectable: plan.is_some_and(|p| p.switch == PtpSwitch::Mode),
                    mode_read_back: cam.ptp_mode_read.as_deref(),
                    statuses: &cam.statuses,
                    others_locked: locked,
                    others: self.cams.len() - 1,
                    waited,
                };
                let d = diagnose::not_slave(&cam.name, &evidence);
                self.diagnose(d);
            }
            let reason = format!(
                "PtpStatus did not reach Slave within {:.1} s on {} (see diagnoses for the likely \
                 cause); no camera was started",
                waited.as_secs_f64(),
                self.names(&not_slave)
            );
            self.fail(now, reason);
            return;
        }
        let next = self.round_started.after(self.config.status_poll_interval);
        if next <= now {
            self.start_lock_round(now);
        } else {
            self.round_timer = Some(next);
        }
    }

    fn end_latching(&mut self, now: HostTime) {
        if self.fail_if_lost(now) {
            return;
        }
        let failed: Vec<usize> = (0..self.cams.len())
            .filter(|&i| self.cams[i].relation.is_none())
            .collect();
        if !failed.is_empty() {
            let why: Vec<String> = failed
                .iter()
                .map(|&i| {
                    format!(
                        "{}: {}",
                        self.cams[i].name,
                        self.cams[i].latch_error.as_deref().unwrap_or("no latch")
                    )
                })
                .collect();
            let reason = format!(
                "the cameras' PTP time could not be read ({}); no camera was started",
                why.join("; ")
            );
            self.fail(now, reason);
            return;
        }
        let relations: Vec<ClockRelation> = self.cams.iter().filter_map(|c| c.relation).collect();
        self.timescale = Timescale::summarize(&self.config.host_clock, &relations);
        self.reference = relations.iter().copied().min_by_key(|r| r.error_bound_ns);
        if let Some(timescale) = &self.timescale {
            let allowed = 2 * timescale.error_bound_ns + 2 * self.config.offset_error_ns;
            if timescale.offset_spread_ns > allowed {
                let list: Vec<String> = self
                    .cams
                    .iter()
                    .filter_map(|c| {
                        c.relation
                            .map(|r| format!("{} {:+} ns", c.name, r.offset_ns))
                    })
                    .collect();
                let d = diagnose::timescale_disagreement(
                    timescale.offset_spread_ns,
                    allowed,
                    &list.join(", "),
                );
                self.diagnose(d);
            }
        }
        let latest = relations
            .iter()
            .map(|r| r.latest_ptp(now).0)
            .max()
            .unwrap_or(0);
        let unrounded = latest.saturating_add(super::time::nanos(self.config.gate_margin));
        let gate = PtpTime(unrounded.div_ceil(1_000_000).saturating_mul(1_000_000));
        self.gate = Some(gate);
        self.gate_host = self.reference.map(|r| r.to_host(gate));
        self.enter(Phase::Arming);
        let gate_value = i64::try_from(gate.0).unwrap_or(i64::MAX);
        for i in 0..self.cams.len() {
            let camera = CameraId(i);
            let Some(plan) = self.cams[i].plan.clone() else {
                continue;
            };
            match plan.start {
                StartMethod::GateTime => {
                    self.push(
                        Some(camera),
                        Purpose::Gate,
                        Op::Set {
                            camera,
                            feature: plan.gate_features()[0],
                            value: FeatureValue::Integer(gate_value),
                        },
                        true,
                    );
                }
                StartMethod::GateTimeHighLow => {
                    let [high, low] = [gate.0 >> 32, gate.0 & 0xFFFF_FFFF];
                    for (feature, half) in plan.gate_features().iter().zip([high, low]) {
                        self.push(
                            Some(camera),
                            Purpose::Gate,
                            Op::Set {
                                camera,
                                feature,
                                value: FeatureValue::Integer(half as i64),
                            },
                            true,
                        );
                    }
                }
                StartMethod::ScheduledAction(_) => {}
            }
            self.push(
                Some(camera),
                Purpose::Arm,
                Op::Execute {
                    camera,
                    command: "AcquisitionStart",
                },
                true,
            );
        }
    }

    /// Checks that each `(camera, host time it was armed or triggered)` came
    /// before the gate on that camera's clock; records a failure otherwise.
    fn check_gate_reached(&mut self, armed: &[(usize, HostTime)]) {
        let Some(gate) = self.gate else { return };
        for &(i, at) in armed {
            let Some(relation) = self.cams[i].relation else {
                continue;
            };
            let reached = relation.latest_ptp(at);
            if reached >= gate {
                let late = Duration::from_nanos(reached.0 - gate.0);
                let d = diagnose::gate_missed(&self.cams[i].name, late, self.config.gate_margin);
                self.diagnose(d);
                let reason = format!(
                    "{} was armed after the gate time; acquisition was stopped on every camera",
                    self.cams[i].name
                );
                self.failure.get_or_insert((Phase::Arming, reason));
            }
        }
    }

    fn end_arming(&mut self, now: HostTime) {
        if !self.arming_action_sent {
            let lost = self.lost_ids();
            if !lost.is_empty() {
                let reason = format!(
                    "{} stopped answering while arming; acquisition was stopped on every camera",
                    self.names(&lost)
                );
                self.fail(now, reason);
                return;
            }
            let errors: Vec<String> = self
                .cams
                .iter()
                .filter_map(|c| c.start_error.as_ref().map(|e| format!("{}: {e}", c.name)))
                .collect();
            if !errors.is_empty() {
                let reason = format!(
                    "arming failed ({}); acquisition was stopped on every camera",
                    errors.join("; ")
                );
                self.fail(now, reason);
                return;
            }
            let gated: Vec<(usize, HostTime)> = (0..self.cams.len())
                .filter_map(|i| {
                    let plan = self.cams[i].plan.as_ref()?;
                    let armed = self.cams[i].armed_at?;
                    (!plan.gate_features().is_empty()).then_some((i, armed))
                })
                .collect();
            self.check_gate_reached(&gated);
            if let Some((_, reason)) = self.failure.take() {
                self.fail(now, reason);
                return;
            }
            let starters: Vec<CameraId> = (0..self.cams.len())
                .filter(|&i| {
                    self.cams[i].plan.as_ref().is_some_and(|p| {
                        p.start == StartMethod::ScheduledAction(ActionTrigger::AcquisitionStart)
                    })
                })
                .map(CameraId)
                .collect();
            if let (false, Some(gate)) = (starters.is_empty(), self.gate) {
                self.arming_action_sent = true;
                let keys = self.config.action_keys;
                self.push(
                    None,
                    Purpose::StartAction,
                    Op::ScheduledAction {
                        cameras: starters,
                        time: gate,
                        keys,
                    },
                    true,
                );
                return;
            }
        }
        if let Some((_, reason)) = self.failure.take() {
            self.fail(now, reason);
            return;
        }
        self.start_running(now);
    }

    fn start_running(&mut self, now: HostTime) {
        let (Some(gate), Some(gate_host)) = (self.gate, self.gate_host) else {
            self.fail(now, "no gate time was chosen".to_string());
            return;
        };
        self.ran = true;
        self.enter(Phase::Running);
        self.event(Event::Started { gate });
        for i in 0..self.cams.len() {
            if let Some(r) = self.cams[i].relation {
                self.verifier
                    .set_host_offset(CameraId(i), r.offset_ns, r.error_bound_ns);
            }
        }
        let period = Duration::from_nanos(self.config.frame_period_ns());
        self.first_frame_deadline = Some(gate_host.after(self.config.first_frame_timeout + period));
        self.offset_timer = Some(now);
        self.run_deadline = match self.config.run {
            RunLength::Frames(n) => {
                let frames =
                    period.saturating_mul(u32::try_from(n.saturating_add(1)).unwrap_or(u32::MAX));
                Some(gate_host.after(frames + frames / 4 + self.config.first_frame_timeout))
            }
            RunLength::Duration(d) => Some(gate_host.after(d)),
            RunLength::UntilStopped => None,
        };
        let per_frame = self.cams.iter().any(|c| {
            c.plan
                .as_ref()
                .is_some_and(|p| p.start == StartMethod::ScheduledAction(ActionTrigger::FrameStart))
        });
        if per_frame {
            let period_ns = self.config.frame_period_ns().max(1);
            self.action_frames = match self.config.run {
                RunLength::Frames(n) => Some(n),
                RunLength::Duration(d) => Some(super::time::nanos(d).div_ceil(period_ns)),
                RunLength::UntilStopped => None,
            };
            self.next_action_frame = 0;
            self.send_frame_actions(now);
        }
    }

    fn send_frame_actions(&mut self, now: HostTime) {
        let (Some(gate), Some(reference)) = (self.gate, self.reference) else {
            return;
        };
        let cameras: Vec<CameraId> = self
            .live_ids()
            .into_iter()
            .filter(|&i| {
                self.cams[i].plan.as_ref().is_some_and(|p| {
                    p.start == StartMethod::ScheduledAction(ActionTrigger::FrameStart)
                })
            })
            .map(CameraId)
            .collect();
        if cameras.is_empty() {
            self.action_timer = None;
            return;
        }
        let period = self.config.frame_period_ns().max(1);
        let horizon = reference.to_ptp(now).after(self.config.action_lead);
        let keys = self.config.action_keys;
        loop {
            if self
                .action_frames
                .is_some_and(|n| self.next_action_frame >= n)
            {
                self.action_timer = None;
                return;
            }
            let time = PtpTime(
                gate.0
                    .saturating_add(self.next_action_frame.saturating_mul(period)),
            );
            if time > horizon {
                let wake = reference.to_host(PtpTime(
                    time.0
                        .saturating_sub(super::time::nanos(self.config.action_lead)),
                ));
                self.action_timer = Some(wake.max(now));
                return;
            }
            self.push(
                None,
                Purpose::FrameAction,
                Op::ScheduledAction {
                    cameras: cameras.clone(),
                    time,
                    keys,
                },
                false,
            );
            self.next_action_frame += 1;
        }
    }

    fn sample(&mut self, _now: HostTime) {
        for i in self.live_ids() {
            if self.cams[i].sampling > 0 {
                continue;
            }
            let camera = CameraId(i);
            let Some(plan) = self.cams[i].plan.clone() else {
                continue;
            };
            if let Some(latch) = plan.dataset_latch {
                self.push(
                    Some(camera),
                    Purpose::SampleLatch,
                    Op::Execute {
                        camera,
                        command: latch,
                    },
                    false,
                );
            }
            self.cams[i].sampling += 1;
            self.push(
                Some(camera),
                Purpose::RunStatus,
                Op::Get {
                    camera,
                    feature: plan.status,
                },
                false,
            );
            if let Some(offset) = plan.offset {
                self.cams[i].sampling += 1;
                self.push(
                    Some(camera),
                    Purpose::Offset,
                    Op::Get {
                        camera,
                        feature: offset,
                    },
                    false,
                );
            }
        }
    }

    fn check_first_frames(&mut self) {
        let waited = self.config.first_frame_timeout;
        for i in self.live_ids() {
            let frames = self
                .verifier
                .camera_frames(CameraId(i))
                .map_or(0, |f| f.frames);
            if frames == 0 && !self.cams[i].no_video_reported {
                self.cams[i].no_video_reported = true;
                let d = diagnose::no_live_video(
                    &self.cams[i].name,
                    waited,
                    self.cams[i].status.as_deref(),
                );
                self.diagnose(d);
            }
        }
    }

    fn stall_limit(&self) -> Duration {
        let period = Duration::from_nanos(self.config.frame_period_ns());
        self.config.first_frame_timeout.max(period * 5)
    }

    fn check_stalls(&mut self, now: HostTime) {
        let limit = self.stall_limit();
        for i in self.live_ids() {
            let Some(frames) = self.verifier.camera_frames(CameraId(i)) else {
                continue;
            };
            let (Some(last_rx), Some(last_frame)) = (frames.last_rx_ns, frames.last_frame) else {
                continue;
            };
            let silent = now.since(HostTime(last_rx));
            if silent > limit && !self.cams[i].stalled_reported {
                self.cams[i].stalled_reported = true;
                let d = diagnose::frames_stopped(&self.cams[i].name, last_frame, silent);
                self.diagnose(d);
            }
        }
    }

    fn start_finishing(&mut self, now: HostTime) {
        if matches!(self.phase, Phase::Finishing | Phase::Done) {
            return;
        }
        self.enter(Phase::Finishing);
        if self.ran {
            self.stop_cutoff = self
                .reference
                .map(|r| PtpTime(r.to_ptp(now).0.saturating_sub(r.error_bound_ns)));
        }
        self.offset_timer = None;
        self.first_frame_deadline = None;
        self.run_deadline = None;
        self.action_timer = None;
        self.ops
            .retain(|(_, op)| !matches!(op, Op::ScheduledAction { .. }));
        for i in self.live_ids() {
            if self.cams[i].plan.is_none() {
                continue;
            }
            let camera = CameraId(i);
            self.push(
                Some(camera),
                Purpose::FinalStop,
                Op::Execute {
                    camera,
                    command: "AcquisitionStop",
                },
                true,
            );
        }
        if self.outstanding == 0 {
            self.drain(now);
        }
    }

    /// Every camera is stopped: waits (up to the drain timeout plus one frame
    /// period) for the frames taken before the stop that are still in flight.
    fn drain(&mut self, now: HostTime) {
        if self.stop_cutoff.is_none() || self.drained() {
            self.end_finishing(now);
            return;
        }
        let period = Duration::from_nanos(self.config.frame_period_ns());
        self.drain_deadline = Some(now.after(self.config.drain_timeout).after(period));
    }

    /// Whether every live, started camera delivered its frame of the last
    /// grid time before the stop cutoff (frames arrive in order, so the
    /// earlier ones are in, or lost).
    fn drained(&self) -> bool {
        let (Some(cutoff), Some(gate)) = (self.stop_cutoff, self.gate) else {
            return true;
        };
        if cutoff <= gate {
            return true;
        }
        let period = self.config.frame_period_ns().max(1);
        let last_grid = gate.0 + (cutoff.0 - 1 - gate.0) / period * period;
        let slack = self.config.skew_tolerance();
        self.live_ids()
            .into_iter()
            .filter(|&i| self.cams[i].armed_at.is_some())
            .all(|i| {
                self.verifier
                    .last_timestamp(CameraId(i))
                    .is_some_and(|ts| ts.saturating_add(slack) >= last_grid)
            })
    }

    fn end_finishing(&mut self, now: HostTime) {
        self.drain_deadline = None;
        match self.stop_cutoff {
            Some(cutoff) => self.verifier.finish_before(cutoff.0),
            None => self.verifier.finish(),
        }
        if self.ran {
            self.final_checks(now);
        }
        let outcome = match self.failure.take() {
            Some((phase, reason)) => Outcome::Failed { phase, reason },
            None => Outcome::Completed,
        };
        self.finish(now, outcome);
    }

    fn final_checks(&mut self, _now: HostTime) {
        let period = self.config.frame_period_ns();
        let tolerance = self.config.skew_tolerance();
        let mut findings = Vec::new();
        for i in 0..self.cams.len() {
            let camera = CameraId(i);
            let cam = &self.cams[i];
            let Some(frames) = self.verifier.camera_frames(camera) else {
                continue;
            };
            if frames.frames == 0 && !cam.no_video_reported && cam.live() {
                findings.push(diagnose::no_live_video(
                    &cam.name,
                    self.config.first_frame_timeout,
                    cam.status.as_deref(),
                ));
            }
            if frames.frames > frames.started_with_ptp {
                findings.push(diagnose::not_started_with_ptp(
                    &cam.name,
                    frames.frames,
                    frames.started_with_ptp,
                ));
            }
            if let Some(stats) = self.verifier.offset_stats(camera) {
                if let Some(d) = diagnose::offset(
                    &cam.name,
                    &stats,
                    self.config.offset_warn_ns,
                    self.config.offset_error_ns,
                ) {
                    findings.push(d);
                }
            }
            if cam.run_not_slave > 0 {
                let status = cam.run_bad_status.as_deref().unwrap_or("not Slave");
                findings.push(diagnose::left_slave(&cam.name, status, cam.run_not_slave));
            }
            let expected = self.config.frame_rate_hz;
            let other_rate = frames
                .measured_rate_hz
                .filter(|rate| (rate - expected).abs() > expected * RATE_MISMATCH);
            if let Some(rate) = other_rate {
                // Its frame numbers drift; a fixed offset would say nothing more.
                findings.push(diagnose::rate_mismatch(&cam.name, rate, expected));
            } else if let Some(d) =
                diagnose::frames_not_aligned(&cam.name, &frames, period, tolerance)
            {
                findings.push(d);
            }
        }
        let alignment = self.verifier.alignment();
        if let Some(d) = diagnose::incomplete_groups(&alignment) {
            findings.push(d);
        }
        for d in findings {
            self.diagnose(d);
        }
        for requirement in self.requirements() {
            if !requirement.met {
                let action = match requirement.name {
                    "shared_start" => "see the no_live_video and gate_missed findings; every camera must be armed before the gate and deliver frames started with PTP",
                    "accurate_timestamps" => "see the not_slave and timescale findings; every camera must stay Slave of one grandmaster",
                    "frame_alignment" => "see the frames_not_aligned and frame_rate_mismatch findings",
                    _ => "see the offset_out_of_range findings",
                };
                let d = diagnose::requirement_not_met(&requirement, action);
                self.diagnose(d);
            }
        }
    }

    /// The four requirements of a synchronized capture, judged on what was seen.
    pub fn requirements(&self) -> Vec<Requirement> {
        let started: Vec<usize> = (0..self.cams.len())
            .filter(|&i| self.cams[i].armed_at.is_some())
            .collect();
        let mut missing_start = Vec::new();
        for i in 0..self.cams.len() {
            let frames = self.verifier.camera_frames(CameraId(i));
            let ok = self.cams[i].armed_at.is_some()
                && frames.is_some_and(|f| f.frames > 0 && f.started_with_ptp == f.frames);
            if !ok {
                missing_start.push(i);
            }
        }
        let shared_start = Requirement {
            name: "shared_start",
            met: self.ran && missing_start.is_empty(),
            detail: if !self.ran {
                "the group was not started".to_string()
            } else if missing_start.is_empty() {
                format!(
                    "all {} cameras armed for one gate time and delivered frames started with PTP",
                    started.len()
                )
            } else {
                format!(
                    "{} did not deliver frames started with PTP from the gate",
                    self.names(&missing_start)
                )
            },
        };
        let not_slave: Vec<usize> = (0..self.cams.len())
            .filter(|&i| self.cams[i].run_not_slave > 0)
            .collect();
        let negative: Vec<usize> = (0..self.cams.len())
            .filter(|&i| {
                self.verifier
                    .camera_frames(CameraId(i))
                    .is_some_and(|f| f.negative_latencies > 0)
            })
            .collect();
        let disagree = self
            .diagnoses
            .iter()
            .any(|d| d.check == diagnose::Check::TimescaleDisagreement);
        let accurate_timestamps = Requirement {
            name: "accurate_timestamps",
            met: self.ran && not_slave.is_empty() && negative.is_empty() && !disagree,
            detail: if !self.ran {
                "the group was not started".to_string()
            } else if !not_slave.is_empty() {
                format!("{} left Slave during the run", self.names(&not_slave))
            } else if !negative.is_empty() {
                format!(
                    "{} stamped frames later than they arrived (beyond the latch bound)",
                    self.names(&negative)
                )
            } else if disagree {
                "the cameras' PTP clocks disagreed at the latch".to_string()
            } else {
                let bound = self.timescale.as_ref().map_or(0, |t| t.error_bound_ns);
                format!("every camera stayed Slave; host relation within ±{bound} ns")
            },
        };
        let alignment = self.verifier.alignment();
        let frame_alignment = Requirement {
            name: "frame_alignment",
            met: alignment.groups > 0
                && alignment.aligned_fraction >= self.config.min_aligned_fraction,
            detail: format!(
                "{} of {} frame numbers aligned within {} ns ({:.4}; required {:.4})",
                alignment.aligned,
                alignment.groups,
                alignment.tolerance_ns,
                alignment.aligned_fraction,
                self.config.min_aligned_fraction
            ),
        };
        let mut over = Vec::new();
        let mut unsampled = Vec::new();
        for i in 0..self.cams.len() {
            let stats = self.verifier.offset_stats(CameraId(i));
            let has_offset = self.cams[i]
                .plan
                .as_ref()
                .is_some_and(|p| p.offset.is_some());
            match stats {
                Some(s) if s.over_error > 0 => over.push(i),
                Some(s) if s.samples == 0 && has_offset && self.cams[i].live() => unsampled.push(i),
                _ => {}
            }
        }
        let offset_range = Requirement {
            name: "offset_range",
            met: self.ran && over.is_empty() && unsampled.is_empty(),
            detail: if !self.ran {
                "the group was not started".to_string()
            } else if !over.is_empty() {
                format!(
                    "{} had |PtpOffset| above {} ns",
                    self.names(&over),
                    self.config.offset_error_ns
                )
            } else if !unsampled.is_empty() {
                format!("PtpOffset was never sampled on {}", self.names(&unsampled))
            } else {
                format!(
                    "every PtpOffset sample within ±{} ns",
                    self.config.offset_error_ns
                )
            },
        };
        vec![
            shared_start,
            accurate_timestamps,
            frame_alignment,
            offset_range,
        ]
    }

    /// The report of the run so far (complete once the sequence is done).
    pub fn report(&self) -> SyncReport {
        let cameras = (0..self.cams.len())
            .map(|i| {
                let camera = CameraId(i);
                let cam = &self.cams[i];
                let frames = self.verifier.camera_frames(camera);
                CameraReport {
                    name: cam.name.clone(),
                    method: cam.plan.as_ref().map(CameraPlan::method),
                    ptp_status: cam.status.clone(),
                    statuses_seen: cam.statuses.clone(),
                    ptp_mode: cam.ptp_mode_read.clone(),
                    frame_rate_hz: cam.frame_rate_read,
                    frame_rate_max_hz: cam.frame_rate_max,
                    frames: frames.map_or(0, |f| f.frames),
                    frames_started_with_ptp: frames.map_or(0, |f| f.started_with_ptp),
                    started_with_ptp: cam.armed_at.is_some()
                        && frames.is_some_and(|f| f.frames > 0 && f.started_with_ptp == f.frames),
                    frames_before_start: cam.frames_before_start,
                    frames_after_end: cam.frames_after_end,
                    measured_rate_hz: frames.and_then(|f| f.measured_rate_hz),
                    latency_ns: frames.and_then(|f| f.latency_ns),
                    mean_deviation_ns: frames.and_then(|f| f.mean_deviation_ns),
                    offset_ns: self.verifier.offset_stats(camera).filter(|s| s.samples > 0),
                    clock: cam.relation,
                    lost: cam
                        .lost
                        .as_ref()
                        .map(|l| format!("stopped answering during {} at {}", l.phase, l.at)),
                    lost_at_ns: cam.lost.as_ref().map(|l| l.at.0),
                }
            })
            .collect();
        let alignment = self.verifier.alignment();
        let requirements = self.requirements();
        SyncReport {
            outcome: self.outcome.clone(),
            ptp_mode: self.config.ptp_mode,
            frame_rate_hz: self.config.frame_rate_hz,
            gate_time_ns: self.gate,
            cameras,
            aligned_fraction: alignment.aligned_fraction,
            skew_ns: alignment.skew_ns,
            alignment,
            timescale: self.timescale.clone(),
            requirements_met: requirements.iter().all(|r| r.met),
            requirements,
            diagnoses: self.diagnoses.clone(),
            duration_ns: self
                .finished_at
                .map(|t| t.0.saturating_sub(self.created_at.0)),
        }
    }
}
