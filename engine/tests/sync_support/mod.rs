//! In-process simulated cameras and a virtual-time loop that drives the sync
//! sequence against them, like quinn's `Pair::step`: no sleeping, no network.
//!
//! The model is deliberately small and deterministic: features in a map, a
//! PTP status that moves Disabled → Listening → Uncalibrated → Slave over
//! virtual time when the camera's PtpMode matches the grandmaster's, a frame
//! rate clamped at the camera's maximum, frames at gate + n × period on the
//! camera's (slightly wrong) clock, and faults: never locking, streaming
//! that does not stop, a different real frame rate, and a camera that stops
//! answering at a given time. Every Set and Execute is recorded.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use gvcap::genicam::{FeatureRange, FeatureValue};
use gvcap::sync::{
    CameraId, CameraSetup, FeatureSet, FrameRecord, HostTime, Op, OpError, OpErrorKind, PtpTime,
    SyncConfig, SyncSequence, TimestampLatch, Value,
};

/// The cameras' PTP timescale minus the host clock: TAI against a UTC host.
pub const PTP_MINUS_HOST: u64 = 37_000_000_000;
/// The virtual host time the rig starts at.
pub const START: u64 = 1_000_000_000_000;

/// How the camera starts at a PTP time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// Emergent names, PtpAcquisitionGateTime.
    Emergent,
    /// SFNC names, started by one scheduled ACTION (AcquisitionStart trigger).
    SfncActionStart,
    /// Legacy names, one scheduled ACTION per frame (FrameStart trigger).
    LegacyActionPerFrame,
}

/// One simulated camera.
#[derive(Debug)]
pub struct SimCamera {
    pub name: String,
    pub model: Model,
    values: BTreeMap<String, FeatureValue>,
    entries: BTreeMap<String, Vec<String>>,
    commands: BTreeSet<String>,
    /// Every Set, in order.
    pub writes: Vec<(String, FeatureValue)>,
    /// Every executed command, in order.
    pub executed: Vec<String>,
    /// Every ACTION time this camera acted on.
    pub actions: Vec<u64>,
    // Behaviour.
    pub max_rate: f64,
    pub clock_error_ns: i64,
    pub never_locks: bool,
    pub stuck_streaming: bool,
    pub real_rate: Option<f64>,
    pub dies_at: Option<u64>,
    pub listen: Duration,
    pub calibrate: Duration,
    /// Extra network latency of this camera's frames, in ns.
    pub extra_latency: u64,
    // State.
    streaming: bool,
    ptp_enabled_at: Option<u64>,
    free_run_from: Option<u64>,
    gate: Option<u64>,
    armed: bool,
    frame_times: Vec<(u64, bool)>,
    next_frame: u64,
    rng: u64,
}

fn enums(list: &[(&str, &[&str], &str)]) -> Vec<(String, Vec<String>, String)> {
    list.iter()
        .map(|(n, e, v)| {
            (
                n.to_string(),
                e.iter().map(|s| s.to_string()).collect(),
                v.to_string(),
            )
        })
        .collect()
}

impl SimCamera {
    /// A camera of `model` named `name`, every fault off.
    pub fn new(name: &str, model: Model, seed: u64) -> Self {
        let mut cam = SimCamera {
            name: name.to_string(),
            model,
            values: BTreeMap::new(),
            entries: BTreeMap::new(),
            commands: BTreeSet::new(),
            writes: Vec::new(),
            executed: Vec::new(),
            actions: Vec::new(),
            max_rate: 200.0,
            clock_error_ns: 0,
            never_locks: false,
            stuck_streaming: false,
            extra_latency: 0,
            real_rate: None,
            dies_at: None,
            listen: Duration::from_millis(1500),
            calibrate: Duration::from_millis(2000),
            streaming: false,
            ptp_enabled_at: None,
            free_run_from: None,
            gate: None,
            armed: false,
            frame_times: Vec::new(),
            next_frame: 0,
            rng: seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407),
        };
        for (name, entries, value) in enums(&[
            (
                "AcquisitionMode",
                &["Continuous", "SingleFrame", "MultiFrame"],
                "Continuous",
            ),
            ("TriggerMode", &["Off", "On"], "Off"),
            (
                "TriggerSource",
                &["Software", "Line0", "Action1"],
                "Software",
            ),
        ]) {
            cam.entries.insert(name.clone(), entries);
            cam.values.insert(name, FeatureValue::Enumeration(value));
        }
        cam.values
            .insert("AcquisitionFrameCount".into(), FeatureValue::Integer(1));
        cam.values
            .insert("AcquisitionFrameRate".into(), FeatureValue::Float(10.0));
        cam.values
            .insert("GevTimestampValue".into(), FeatureValue::Integer(0));
        cam.values
            .insert("TLParamsLocked".into(), FeatureValue::Integer(0));
        for command in [
            "AcquisitionStart",
            "AcquisitionStop",
            "GevTimestampControlLatch",
        ] {
            cam.commands.insert(command.to_string());
        }
        match model {
            Model::Emergent => {
                cam.add_enum("PtpMode", &["Off", "OneStep", "TwoStep"], "Off");
                cam.add_enum("TriggerSelector", &["FrameStart"], "FrameStart");
                cam.entries.insert(
                    "PtpStatus".into(),
                    [
                        "Disabled",
                        "Listening",
                        "Uncalibrated",
                        "Slave",
                        "Master",
                        "Faulty",
                    ]
                    .map(String::from)
                    .to_vec(),
                );
                cam.values.insert(
                    "PtpStatus".into(),
                    FeatureValue::Enumeration("Disabled".into()),
                );
                cam.values
                    .insert("PtpOffset".into(), FeatureValue::Integer(0));
                cam.values
                    .insert("PtpAcquisitionGateTime".into(), FeatureValue::Integer(0));
            }
            Model::SfncActionStart => {
                cam.values
                    .insert("PtpEnable".into(), FeatureValue::Boolean(false));
                cam.add_enum(
                    "TriggerSelector",
                    &["FrameStart", "AcquisitionStart"],
                    "FrameStart",
                );
                cam.entries.insert(
                    "PtpStatus".into(),
                    ["Disabled", "Listening", "Uncalibrated", "Slave"]
                        .map(String::from)
                        .to_vec(),
                );
                cam.values.insert(
                    "PtpStatus".into(),
                    FeatureValue::Enumeration("Disabled".into()),
                );
                cam.commands.insert("PtpDataSetLatch".into());
                cam.values
                    .insert("PtpOffsetFromMaster".into(), FeatureValue::Integer(0));
                cam.add_action_keys();
            }
            Model::LegacyActionPerFrame => {
                cam.values
                    .insert("GevIEEE1588".into(), FeatureValue::Boolean(false));
                cam.add_enum("TriggerSelector", &["FrameStart"], "FrameStart");
                cam.entries.insert(
                    "GevIEEE1588Status".into(),
                    ["Disabled", "Listening", "Uncalibrated", "Slave"]
                        .map(String::from)
                        .to_vec(),
                );
                cam.values.insert(
                    "GevIEEE1588Status".into(),
                    FeatureValue::Enumeration("Disabled".into()),
                );
                cam.add_action_keys();
            }
        }
        cam
    }

    fn add_enum(&mut self, name: &str, entries: &[&str], value: &str) {
        self.entries
            .insert(name.into(), entries.iter().map(|s| s.to_string()).collect());
        self.values
            .insert(name.into(), FeatureValue::Enumeration(value.into()));
    }

    fn add_action_keys(&mut self) {
        for key in [
            "ActionDeviceKey",
            "ActionGroupKey",
            "ActionGroupMask",
            "ActionSelector",
        ] {
            self.values.insert(key.into(), FeatureValue::Integer(0));
        }
    }

    /// What the camera's XML would declare.
    pub fn features(&self) -> FeatureSet {
        let mut set = FeatureSet::new();
        for name in self.values.keys().chain(self.commands.iter()) {
            match self.entries.get(name) {
                Some(entries) => set.insert_enum(name, entries.iter().cloned()),
                None => set.insert(name),
            }
        }
        set
    }

    /// The camera starts out streaming (free-running, not by PTP).
    pub fn streaming_now(mut self, at: u64) -> Self {
        self.streaming = true;
        self.free_run_from = Some(at);
        self
    }

    fn enabled_mode(&self) -> Option<String> {
        match self.model {
            Model::Emergent => match self.values.get("PtpMode") {
                Some(FeatureValue::Enumeration(m)) if m != "Off" => Some(m.clone()),
                _ => None,
            },
            Model::SfncActionStart => (self.values.get("PtpEnable")
                == Some(&FeatureValue::Boolean(true)))
            .then(|| "Any".into()),
            Model::LegacyActionPerFrame => (self.values.get("GevIEEE1588")
                == Some(&FeatureValue::Boolean(true)))
            .then(|| "Any".into()),
        }
    }

    fn status(&self, now: u64, master: &Master) -> &'static str {
        let Some(mode) = self.enabled_mode() else {
            return "Disabled";
        };
        let Some(since) = self.ptp_enabled_at else {
            return "Disabled";
        };
        let listen_end = since + self.listen.as_nanos() as u64;
        let locks = master.present
            && !self.never_locks
            && (mode == "Any" || (mode == "TwoStep") == master.two_step);
        if now < listen_end || !locks {
            "Listening"
        } else if now < listen_end + self.calibrate.as_nanos() as u64 {
            "Uncalibrated"
        } else {
            "Slave"
        }
    }

    fn noise(&mut self, amplitude: i64) -> i64 {
        self.rng = self
            .rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let r = (self.rng >> 33) as i64 % (2 * amplitude + 1);
        r - amplitude
    }

    /// The camera's own clock at host time `now`.
    fn clock(&self, now: u64) -> u64 {
        (now + PTP_MINUS_HOST).saturating_add_signed(self.clock_error_ns)
    }

    fn alive(&self, now: u64) -> bool {
        self.dies_at.is_none_or(|t| now < t)
    }

    fn rate(&self) -> f64 {
        self.real_rate
            .unwrap_or(match self.values.get("AcquisitionFrameRate") {
                Some(FeatureValue::Float(r)) => *r,
                _ => 10.0,
            })
    }

    /// Frame (block id, camera timestamp, host time it happened, with PTP)
    /// for every frame the camera takes up to host time `until`.
    fn frames_until(&mut self, until: u64) -> Vec<(u64, u64, u64, bool)> {
        let mut out = Vec::new();
        let period = (1e9 / self.rate()).round() as u64;
        let until = self.dies_at.map_or(until, |d| until.min(d));
        loop {
            let (cam_time, with_ptp) =
                if let Some(&(t, p)) = self.frame_times.get(self.next_frame as usize) {
                    (t, p)
                } else if let Some(gate) = self
                    .gate
                    .filter(|_| self.armed && self.model == Model::Emergent)
                {
                    (gate + self.next_frame * period, true)
                } else if let (Some(start), Model::SfncActionStart) =
                    (self.gate.filter(|_| self.armed), self.model)
                {
                    // Started by an ACTION at `start` (stored in `gate`).
                    if self.actions.is_empty() {
                        break;
                    }
                    (start + self.next_frame * period, true)
                } else if let Some(from) = self.free_run_from.filter(|_| self.streaming) {
                    (self.clock(from) + self.next_frame * period, false)
                } else {
                    break;
                };
            let host = cam_time
                .saturating_sub(PTP_MINUS_HOST)
                .saturating_add_signed(-self.clock_error_ns);
            if host > until {
                break;
            }
            let jitter = self.noise(120);
            out.push((
                self.next_frame + 1,
                cam_time.saturating_add_signed(jitter),
                host,
                with_ptp,
            ));
            self.next_frame += 1;
        }
        out
    }
}

/// The grandmaster the cameras may lock to.
#[derive(Debug, Clone, Copy)]
pub struct Master {
    pub present: bool,
    pub two_step: bool,
}

/// The rig: cameras, grandmaster, virtual host clock and the sequence.
#[derive(Debug)]
pub struct Rig {
    pub cameras: Vec<SimCamera>,
    pub master: Master,
    pub now: u64,
    /// Round trip of one GVCP operation.
    pub rtt: u64,
    /// How long an unanswered operation takes before the driver gives up.
    pub op_timeout: u64,
    /// Network latency of frames, per camera index added 10 µs.
    pub frame_latency: u64,
    pub seq: SyncSequence,
    pub steps: u64,
    /// Frames delivered, per camera.
    pub delivered: Vec<u64>,
    /// Frames on their way: (receive time, host time taken, frame).
    pending_frames: Vec<(u64, u64, FrameRecord)>,
    pub events: Vec<gvcap::sync::Event>,
}

impl Rig {
    /// A rig with these cameras, a two-step grandmaster and `config`.
    pub fn new(cameras: Vec<SimCamera>, config: SyncConfig) -> Self {
        let setups = cameras
            .iter()
            .map(|c| CameraSetup {
                name: c.name.clone(),
                features: c.features(),
            })
            .collect();
        let mut config = config;
        config.host_clock = "virtual host clock".to_string();
        let seq = SyncSequence::new(HostTime(START), config, setups).expect("valid sequence");
        let n = cameras.len();
        Rig {
            cameras,
            master: Master {
                present: true,
                two_step: true,
            },
            now: START,
            rtt: 200_000,
            op_timeout: 2_000_000_000,
            frame_latency: 60_000,
            seq,
            steps: 0,
            delivered: vec![0; n],
            pending_frames: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Executes one op against the simulated cameras, advancing virtual time.
    fn execute(&mut self, op: &Op) -> Result<Value, OpError> {
        let master = self.master;
        if let Op::ScheduledAction { cameras, time, .. } = op {
            self.now += self.rtt / 2;
            for id in cameras {
                let cam = &mut self.cameras[id.0];
                if !cam.alive(self.now) || !cam.armed {
                    continue;
                }
                cam.actions.push(time.0);
                match cam.model {
                    Model::SfncActionStart => {
                        if cam.gate.is_none() {
                            cam.gate = Some(time.0);
                        }
                    }
                    Model::LegacyActionPerFrame => cam.frame_times.push((time.0, true)),
                    Model::Emergent => {}
                }
            }
            self.now += self.rtt / 2;
            return Ok(Value::Done);
        }
        let camera = op.camera().expect("per-camera op");
        let now = self.now;
        if let Op::Execute {
            command: "AcquisitionStop",
            ..
        } = op
        {
            // Frames taken after the stop acts never leave the camera.
            let cam = &self.cameras[camera.0];
            if cam.alive(now) && !cam.stuck_streaming {
                let acts = now + self.rtt / 2;
                self.pending_frames
                    .retain(|(_, taken, r)| r.camera != camera || *taken <= acts);
            }
        }
        let cam = &mut self.cameras[camera.0];
        if !cam.alive(now) {
            self.now += self.op_timeout;
            return Err(OpError::new(
                OpErrorKind::NoAnswer,
                format!("camera {}: no answer after 4 attempts of 500 ms", cam.name),
            ));
        }
        self.now += self.rtt;
        let mid = now + self.rtt / 2;
        let unknown = |name: &str| {
            Err(OpError::new(
                OpErrorKind::Unavailable,
                format!("feature {name} not found in the camera's XML"),
            ))
        };
        match op {
            Op::Set { feature, value, .. } => {
                cam.writes.push((feature.to_string(), value.clone()));
                if !cam.values.contains_key(*feature) {
                    return unknown(feature);
                }
                if let (Some(entries), FeatureValue::Enumeration(e)) =
                    (cam.entries.get(*feature), value)
                {
                    if !entries.contains(e) {
                        return Err(OpError::new(
                            OpErrorKind::Unavailable,
                            format!("{feature} has no entry {e}"),
                        ));
                    }
                }
                let mut value = value.clone();
                if *feature == "AcquisitionFrameRate" {
                    if let FeatureValue::Float(r) = value {
                        value = FeatureValue::Float(r.min(cam.max_rate));
                    }
                }
                let was = cam.enabled_mode();
                cam.values.insert(feature.to_string(), value);
                if cam.enabled_mode() != was {
                    cam.ptp_enabled_at = cam.enabled_mode().map(|_| mid);
                }
                if *feature == "PtpAcquisitionGateTime" {
                    if let Some(FeatureValue::Integer(g)) = cam.values.get(*feature) {
                        cam.gate = Some(*g as u64);
                    }
                }
                Ok(Value::Done)
            }
            Op::Get { feature, .. } => {
                let value = match *feature {
                    "PtpStatus" | "GevIEEE1588Status" => {
                        FeatureValue::Enumeration(cam.status(mid, &master).to_string())
                    }
                    "PtpOffset" | "PtpOffsetFromMaster" => {
                        let noise = cam.noise(40);
                        FeatureValue::Integer(cam.clock_error_ns + noise)
                    }
                    "TLParamsLocked" => FeatureValue::Integer(i64::from(cam.streaming)),
                    name => match cam.values.get(name) {
                        Some(v) => v.clone(),
                        None => return unknown(name),
                    },
                };
                Ok(Value::Feature(value))
            }
            Op::Execute { command, .. } => {
                cam.executed.push(command.to_string());
                match *command {
                    "AcquisitionStop" => {
                        if !cam.stuck_streaming {
                            cam.streaming = false;
                            cam.armed = false;
                        }
                    }
                    "AcquisitionStart" => {
                        cam.streaming = true;
                        cam.next_frame = 0;
                        cam.frame_times.clear();
                        let ptp = cam.enabled_mode().is_some()
                            && cam.status(mid, &master) == "Slave"
                            && cam.values.get("TriggerMode")
                                == Some(&FeatureValue::Enumeration("On".into()));
                        if ptp {
                            cam.armed = true;
                            if cam.model != Model::Emergent {
                                cam.gate = None;
                            }
                        } else {
                            cam.free_run_from = Some(mid);
                        }
                    }
                    name if cam.commands.contains(name) => {}
                    name => return unknown(name),
                }
                Ok(Value::Done)
            }
            Op::Range { feature, .. } => {
                if *feature == "AcquisitionFrameRate" {
                    Ok(Value::Range(Some(FeatureRange::Float {
                        min: 1.0,
                        max: cam.max_rate,
                        inc: None,
                    })))
                } else {
                    Ok(Value::Range(None))
                }
            }
            Op::LatchTimestamp { .. } => Ok(Value::Latch(TimestampLatch {
                camera: PtpTime(cam.clock(mid)),
                host_before: HostTime(now),
                host_after: HostTime(now + self.rtt),
            })),
            Op::ScheduledAction { .. } => unreachable!("handled above"),
        }
    }

    fn collect_frames(&mut self) {
        let now = self.now;
        for (index, cam) in self.cameras.iter_mut().enumerate() {
            for (block, stamp, host, with_ptp) in cam.frames_until(now + 2_000_000_000) {
                let rx = host + self.frame_latency + 10_000 * index as u64 + cam.extra_latency;
                self.pending_frames.push((
                    rx,
                    host,
                    FrameRecord {
                        camera: CameraId(index),
                        frame: block,
                        camera_timestamp_ns: stamp,
                        rx_timestamp_ns: rx,
                        started_with_ptp: with_ptp,
                    },
                ));
            }
        }
        self.pending_frames
            .sort_by_key(|(rx, _, r)| (*rx, r.camera.0));
    }

    fn deliver_frames(&mut self) {
        let now = self.now;
        let due = self.pending_frames.partition_point(|(rx, _, _)| *rx <= now);
        let frames: Vec<(u64, u64, FrameRecord)> = self.pending_frames.drain(..due).collect();
        for (_, _, record) in frames {
            self.delivered[record.camera.0] += 1;
            self.seq.handle_frame(HostTime(now), &record);
        }
    }

    fn drain_events(&mut self) {
        while let Some(event) = self.seq.poll_event() {
            self.events.push(event);
        }
    }

    /// One step: run every pending op, deliver due frames, else advance to
    /// the next timer or frame. False once the sequence is done (or stuck).
    pub fn step(&mut self) -> bool {
        self.steps += 1;
        let mut progressed = false;
        while let Some((id, op)) = self.seq.poll_op() {
            let result = self.execute(&op);
            self.collect_frames();
            self.deliver_frames();
            self.seq.handle_result(HostTime(self.now), id, result);
            progressed = true;
        }
        self.collect_frames();
        self.deliver_frames();
        self.drain_events();
        if self.seq.is_done() {
            return false;
        }
        if progressed {
            return true;
        }
        let timer = self.seq.poll_timeout().map(|t| t.0);
        let frame = self.pending_frames.first().map(|(rx, _, _)| *rx);
        let next = match (timer, frame) {
            (Some(t), Some(f)) => t.min(f),
            (Some(t), None) => t,
            (None, Some(f)) => f,
            (None, None) => return false,
        };
        self.now = self.now.max(next);
        self.deliver_frames();
        if timer.is_some_and(|t| t <= self.now) {
            self.seq.handle_timeout(HostTime(self.now));
        }
        true
    }

    /// Steps until the sequence is done; panics if it never ends.
    pub fn run(&mut self) {
        while self.step() {
            assert!(self.steps < 1_000_000, "the sequence did not finish");
        }
        assert!(
            self.seq.is_done(),
            "the sequence is stuck in {:?}",
            self.seq.phase()
        );
    }

    /// Every write recorded on every camera.
    pub fn all_writes(&self) -> Vec<(String, String, FeatureValue)> {
        self.cameras
            .iter()
            .flat_map(|c| {
                c.writes
                    .iter()
                    .map(|(f, v)| (c.name.clone(), f.clone(), v.clone()))
            })
            .collect()
    }
}

/// `n` Emergent cameras named cam1..camN with small clock errors.
pub fn emergent_cameras(n: usize) -> Vec<SimCamera> {
    let errors = [-150i64, 80, 300, -40, 120, -260];
    (0..n)
        .map(|i| {
            let mut cam = SimCamera::new(&format!("cam{}", i + 1), Model::Emergent, i as u64 + 1);
            cam.clock_error_ns = errors[i % errors.len()];
            // Different lock times, as real cameras have.
            cam.calibrate = Duration::from_millis(1500 + 400 * i as u64);
            cam
        })
        .collect()
}
