//! `gvcap sync`: the PTP-synchronized group start, run for real.
//!
//! The command opens every camera and takes control of it, then runs the
//! sync sequence ([`gvcap::sync`]) on its control thread. The capture is set
//! up only once the sequence has stopped every camera, checked that none
//! streams and written and read back the settings (phase *AwaitingLock*):
//! a refused broadcast or a clamped frame rate thus leaves every stream
//! channel untouched. The capture never starts acquisition itself; the
//! sequence starts it at the gate time. Finished frames become
//! [`FrameRecord`]s for the sequence's verifier; the report is printed as
//! text or JSON.
//!
//! Invariants:
//! - the sequence does not latch the cameras' clocks (and so never arms
//!   them) before the capture listens: the latch of every camera waits for
//!   the capture to be ready, and fails when the capture could not be set up;
//! - receive timestamps handed to the sequence are on the driver's clock:
//!   CLOCK_TAI (what AF_XDP on drivers without hardware stamps and the UDP
//!   path stamp with), or the NIC's PTP hardware clock when every interface
//!   shares one; a frame stamped by another clock gets the driver clock's
//!   reading when it is handed over instead, and is counted;
//! - a frame counts as started with PTP when its camera timestamp lies on
//!   the gate's grid (gate + n × period, within the skew tolerance): a camera
//!   that ignored the gate, or whose clock is not the group's, fails that;
//! - the exit status is non-zero when the sequence failed or any diagnosis is
//!   an error; the report is printed in every case.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use crossbeam_channel::{RecvTimeoutError, Sender, TrySendError};
use gvcap::capture::{
    route_to, CameraSpec, CaptureOptions, CaptureReport, CaptureSession, FrameStream, PathRequest,
};
use gvcap::device::{Camera, ClientConfig, Privilege};
use gvcap::genicam::{FeatureMap, FeatureRange, FeatureValue};
use gvcap::record::{
    CameraInfo, Offer, RecordFrame, Recorder, RecorderConfig, RecorderHandle, RecordingSummary,
};
use gvcap::stream::Frame;
use gvcap::stream::{FrameInfo, TimestampSource};
use gvcap::sync::driver::{
    self, ControlParts, GenicamCamera, PhcClock, SyncCamera, SyncClock, SystemClock,
    UdpActionSender,
};
use gvcap::sync::{
    CameraId, Event, FeatureSet, FrameRecord, HostTime, LatchVia, OpError, OpErrorKind, Outcome,
    Phase, PtpMode, RunLength, Severity, SyncConfig, SyncReport, TimestampLatch,
};
use gvcap::wire::bootstrap;
use gvcap::xdp::TimestampRequest;
use serde::Serialize;

use super::rig_file::RigFile;
use super::{camera_ref, Connection};

/// Frame records queued for the control thread.
const FRAME_QUEUE: usize = 4096;
/// How long a camera's clock latch waits for the capture to be ready.
const CAPTURE_WAIT: Duration = Duration::from_secs(60);

/// The PTP mode asked of every camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PtpModeArg {
    /// Sync carries the precise time.
    OneStep,
    /// Sync then Follow_Up (ptp4l's default).
    TwoStep,
}

impl From<PtpModeArg> for PtpMode {
    fn from(mode: PtpModeArg) -> PtpMode {
        match mode {
            PtpModeArg::OneStep => PtpMode::OneStep,
            PtpModeArg::TwoStep => PtpMode::TwoStep,
        }
    }
}

/// Arguments of `gvcap sync`; values given here override the rig file's.
#[derive(Debug, Clone, Default, Args)]
pub struct SyncArgs {
    /// The cameras (IP address, serial number or user name), or give --rig.
    #[arg(required_unless_present = "rig", conflicts_with = "rig")]
    pub cams: Vec<String>,
    /// A rig file (TOML) naming the cameras, interfaces, cores and settings.
    #[arg(long)]
    pub rig: Option<PathBuf>,
    /// PtpMode for every camera; must match the grandmaster.
    #[arg(long, value_enum)]
    pub ptp_mode: Option<PtpModeArg>,
    /// AcquisitionFrameRate for every camera, in Hz.
    #[arg(long)]
    pub frame_rate: Option<f64>,
    /// Run until every camera delivered N frames (default 100).
    #[arg(long, conflicts_with = "duration")]
    pub frames: Option<u64>,
    /// Run for S seconds after the gate.
    #[arg(long)]
    pub duration: Option<f64>,
    /// |PtpOffset| above this many ns is a warning (default 1000).
    #[arg(long)]
    pub offset_warn: Option<u64>,
    /// |PtpOffset| above this many ns is an error (default 10000).
    #[arg(long)]
    pub offset_error: Option<u64>,
    /// Largest spread of one frame number's timestamps that is aligned, in ns
    /// (default 0.1 % of the frame period).
    #[arg(long)]
    pub skew_tolerance: Option<u64>,
    /// Seconds to wait for every camera to reach PtpStatus Slave (default 30).
    #[arg(long)]
    pub lock_timeout: Option<f64>,
    /// Seconds between PtpOffset samples during the run (default 0.5).
    #[arg(long)]
    pub offset_interval: Option<f64>,
    /// Seconds between the latest camera's PTP time and the gate (default 1).
    #[arg(long)]
    pub gate_margin: Option<f64>,
    /// Receive path: auto, xdp or udp (default auto).
    #[arg(long)]
    pub path: Option<PathRequest>,
    /// Cores for the receive threads, in order (e.g. 1,0).
    #[arg(long, value_delimiter = ',')]
    pub cores: Option<Vec<usize>>,
    /// Do not stop acquisition first: a streaming camera then makes the sync
    /// refuse the settings broadcast, and nothing is written.
    #[arg(long)]
    pub keep_streaming: bool,
    /// Interface to search when a camera is named by serial or user name.
    #[arg(long, short = 'i')]
    pub interface: Option<String>,
    /// How long to wait for each GVCP answer, in ms (default 250).
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// How often an unanswered GVCP command is resent (default 2).
    #[arg(long)]
    pub retries: Option<u32>,
    /// Heartbeat timeout programmed into every camera, in ms (default 3000).
    #[arg(long)]
    pub heartbeat_timeout_ms: Option<u64>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// No progress lines on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// One camera as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraRef {
    /// IP address, serial number or user name.
    pub id: String,
    /// The host interface it must be reached through, if named.
    pub interface: Option<String>,
}

/// Everything a run needs, from the command line over the rig file over the defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The cameras, in order.
    pub cameras: Vec<CameraRef>,
    /// The sequence's configuration.
    pub config: SyncConfig,
    /// Receive path and cores.
    pub capture: CaptureOptions,
    /// The GVCP client (timeouts, heartbeat).
    pub client: ClientConfig,
    /// Where serial numbers and user names are looked up.
    pub lookup_interface: Option<String>,
}

fn seconds(name: &str, value: f64) -> Result<Duration> {
    if value.is_finite() && value > 0.0 && value < 86_400.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        bail!("{name} {value}: give a positive number of seconds")
    }
}

impl Settings {
    /// Merges the arguments, the rig file and the defaults, and validates the result.
    pub fn resolve(args: &SyncArgs, rig: Option<&RigFile>) -> Result<Settings> {
        let empty = RigFile::default();
        let file = rig.unwrap_or(&empty);
        let cameras: Vec<CameraRef> = if args.cams.is_empty() {
            file.cameras
                .iter()
                .map(|c| CameraRef {
                    id: c.id.clone(),
                    interface: c.interface.clone(),
                })
                .collect()
        } else {
            args.cams
                .iter()
                .map(|id| CameraRef {
                    id: id.clone(),
                    interface: None,
                })
                .collect()
        };
        if cameras.is_empty() {
            bail!("no cameras: name them (gvcap sync CAM...) or give --rig FILE");
        }
        for (i, camera) in cameras.iter().enumerate() {
            if cameras[..i].iter().any(|c| c.id == camera.id) {
                bail!("camera {} is named twice; name each camera once", camera.id);
            }
        }
        let mode = match args.ptp_mode {
            Some(mode) => mode,
            None => file.ptp_mode().map_err(|e| anyhow!(e))?.ok_or_else(|| {
                anyhow!("no PTP mode: give --ptp-mode one-step|two-step (ptp4l is two-step)")
            })?,
        };
        let rate = args.frame_rate.or(file.frame_rate).ok_or_else(|| {
            anyhow!("no frame rate: give --frame-rate HZ (or frame_rate in the rig file)")
        })?;
        let mut config = SyncConfig::new(mode.into(), rate);
        config.run = match (args.frames, args.duration) {
            (Some(n), _) => RunLength::Frames(n),
            (None, Some(s)) => RunLength::Duration(seconds("--duration", s)?),
            (None, None) => match (file.frames, file.duration) {
                (Some(n), _) => RunLength::Frames(n),
                (None, Some(s)) => RunLength::Duration(seconds("duration", s)?),
                (None, None) => RunLength::Frames(100),
            },
        };
        config.stop_streaming_first =
            !args.keep_streaming && file.stop_streaming_first.unwrap_or(true);
        if let Some(s) = args.lock_timeout.or(file.ptp.lock_timeout) {
            config.lock_timeout = seconds("lock timeout", s)?;
        }
        config.offset_interval = match args.offset_interval.or(file.ptp.offset_interval) {
            Some(s) => seconds("offset interval", s)?,
            None => Duration::from_millis(500),
        };
        if let Some(s) = args.gate_margin.or(file.ptp.gate_margin) {
            config.gate_margin = seconds("gate margin", s)?;
        }
        let t = &file.thresholds;
        if let Some(ns) = args.offset_warn.or(t.offset_warn_ns) {
            config.offset_warn_ns = ns;
        }
        if let Some(ns) = args.offset_error.or(t.offset_error_ns) {
            config.offset_error_ns = ns;
        }
        config.skew_tolerance_ns = args.skew_tolerance.or(t.skew_tolerance_ns);
        if let Some(fraction) = t.min_aligned_fraction {
            config.min_aligned_fraction = fraction;
        }
        config.validate().map_err(|e| anyhow!(e))?;

        let control = &file.control;
        let timeout = Duration::from_millis(args.timeout_ms.or(control.timeout_ms).unwrap_or(250));
        let retries = args.retries.or(control.retries).unwrap_or(2);
        let heartbeat = Duration::from_millis(
            args.heartbeat_timeout_ms
                .or(control.heartbeat_timeout_ms)
                .unwrap_or(3000),
        );
        if timeout.is_zero() || heartbeat < Duration::from_millis(500) {
            bail!(
                "GVCP timeout {} ms / heartbeat timeout {} ms: give a timeout above 0 and a \
                 heartbeat timeout of at least 500 ms",
                timeout.as_millis(),
                heartbeat.as_millis()
            );
        }
        let capture = CaptureOptions {
            path: match args.path {
                Some(path) => path,
                None => file.path().map_err(|e| anyhow!(e))?.unwrap_or_default(),
            },
            cores: args
                .cores
                .clone()
                .or_else(|| file.cores.clone())
                .unwrap_or_default(),
            start_acquisition: false,
            ..CaptureOptions::default()
        };
        Ok(Settings {
            cameras,
            config,
            capture,
            client: ClientConfig {
                timeout,
                retries,
                heartbeat_timeout: Some(heartbeat),
            },
            lookup_interface: args.interface.clone(),
        })
    }

    /// The longest a dead camera can go unnoticed: the next PtpOffset sample,
    /// behind a heartbeat that is timing out on the same channel, then the
    /// sample's own attempts.
    pub fn worst_detection(&self) -> Duration {
        let attempts = self.client.timeout * (self.client.retries + 1);
        self.config.offset_interval + attempts * 2
    }
}

// ----------------------------------------------------------------- clocks

/// Which clock the driver runs on (and receive stamps must come from).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClockKind {
    Tai,
    Phc,
}

/// A clock shared by the control thread and the frame feeder.
#[derive(Clone)]
struct SharedClock(Arc<dyn SyncClock + Send + Sync>);

impl SyncClock for SharedClock {
    fn now(&self) -> HostTime {
        self.0.now()
    }

    fn describe(&self) -> String {
        self.0.describe()
    }
}

/// Chooses the driver's clock from the interfaces the cameras are on: their
/// common PTP hardware clock when every one has the same, else CLOCK_TAI
/// (and then the XDP program is told to stamp with CLOCK_TAI too).
fn choose_clock(
    interfaces: &[String],
    capture: &mut CaptureOptions,
    notes: &mut Vec<String>,
) -> (SharedClock, ClockKind) {
    let tai = || SharedClock(Arc::new(SystemClock::Tai));
    if capture.path == PathRequest::Udp {
        return (tai(), ClockKind::Tai);
    }
    let mut phcs = Vec::new();
    for interface in interfaces {
        match PhcClock::for_interface(interface) {
            Ok(Some(phc)) => phcs.push((interface.clone(), phc)),
            Ok(None) => {}
            Err(e) => notes.push(format!(
                "{interface}: looking for a PTP hardware clock: {e}"
            )),
        }
    }
    if phcs.is_empty() {
        return (tai(), ClockKind::Tai);
    }
    let first = phcs[0].1.describe();
    if phcs.len() == interfaces.len() && phcs.iter().all(|(_, p)| p.describe() == first) {
        let (_, phc) = phcs.swap_remove(0);
        return (SharedClock(Arc::new(phc)), ClockKind::Phc);
    }
    capture.xdp.timestamps = TimestampRequest::Software;
    notes.push(format!(
        "the cameras' interfaces do not share one PTP hardware clock ({}); receive timestamps \
         come from CLOCK_TAI",
        phcs.iter()
            .map(|(i, p)| format!("{i}: {}", p.describe()))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    (tai(), ClockKind::Tai)
}

// ----------------------------------------------------------------- frames

/// Turns finished frames into the sequence's [`FrameRecord`]s.
#[derive(Debug, Clone)]
struct Converter {
    /// Each camera's timestamp tick frequency, Hz.
    tick_hz: Vec<u64>,
    clock: ClockKind,
    period_ns: u64,
    tolerance_ns: u64,
}

/// What became of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Converted {
    /// A record; `replaced` when its receive stamp was not on the driver's clock.
    Record { record: FrameRecord, replaced: bool },
    /// The frame had no leader timestamp (or came from no known camera).
    Unusable,
}

impl Converter {
    fn stamp_fits(&self, source: TimestampSource) -> bool {
        match self.clock {
            ClockKind::Tai => matches!(source, TimestampSource::Kernel | TimestampSource::UserTai),
            ClockKind::Phc => source == TimestampSource::Hardware,
        }
    }

    /// Whether `ts` is on the grid gate + n × period (within the tolerance).
    fn on_grid(&self, ts: u64, gate: u64) -> bool {
        if ts < gate {
            return gate - ts <= self.tolerance_ns;
        }
        let since = ts - gate;
        if self.period_ns == 0 {
            return since <= self.tolerance_ns;
        }
        let rest = since % self.period_ns;
        rest.min(self.period_ns - rest) <= self.tolerance_ns
    }

    /// The record of a frame received, with `gate` (0: not chosen yet) and
    /// the driver clock's reading `now`.
    fn convert(&self, info: &FrameInfo, gate: u64, now: HostTime) -> Converted {
        let camera = info.camera as usize;
        let (Some(ticks), Some(&hz)) = (info.camera_timestamp, self.tick_hz.get(camera)) else {
            return Converted::Unusable;
        };
        let ns = u128::from(ticks) * 1_000_000_000 / u128::from(hz.max(1));
        let camera_timestamp_ns = u64::try_from(ns).unwrap_or(u64::MAX);
        let fits = self.stamp_fits(info.first_rx.source) && info.first_rx.ns != 0;
        let rx_timestamp_ns = if fits { info.first_rx.ns } else { now.0 };
        Converted::Record {
            record: FrameRecord {
                camera: CameraId(camera),
                frame: info.block_id,
                camera_timestamp_ns,
                rx_timestamp_ns,
                started_with_ptp: gate != 0 && self.on_grid(camera_timestamp_ns, gate),
            },
            replaced: !fits,
        }
    }
}

/// What the frame feeder counted.
#[derive(Debug, Clone, Copy, Default)]
struct FeedStats {
    frames: u64,
    incomplete: u64,
    unusable: u64,
    stamps_replaced: u64,
    queue_full: u64,
    /// Frames handed to the recorder (`gvcap record --sync`).
    recorded: u64,
    /// Frames not recorded because they were taken before the gate time.
    before_gate: u64,
}

/// Where `gvcap record --sync` sends the frames of the run.
struct FeedSink {
    handle: RecorderHandle<Frame>,
    infos: Vec<CameraInfo>,
}

/// Capture settings `gvcap record --sync` passes on.
#[derive(Debug, Clone, Copy, Default)]
pub struct CaptureOverrides {
    /// Stream packet size in bytes.
    pub packet_size: Option<u32>,
    /// Frame slots per camera.
    pub ring_slots: Option<usize>,
}

fn spawn_feeder(
    mut frames: FrameStream,
    converter: Converter,
    clock: SharedClock,
    gate: Arc<AtomicU64>,
    out: Sender<FrameRecord>,
    stop: Arc<AtomicBool>,
    sink: Option<FeedSink>,
) -> Result<JoinHandle<FeedStats>> {
    thread::Builder::new()
        .name("gvcap-sync-frames".into())
        .spawn(move || {
            let mut stats = FeedStats::default();
            while !stop.load(Ordering::Relaxed) {
                let frame = match frames.recv_timeout(Duration::from_millis(50)) {
                    Ok(frame) => frame,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => break,
                };
                stats.frames += 1;
                stats.incomplete += u64::from(frame.info.is_incomplete());
                let gate_ns = gate.load(Ordering::Acquire);
                let converted = converter.convert(&frame.info, gate_ns, clock.now());
                if let Some(sink) = &sink {
                    // The recording holds the run: frames from the gate on.
                    let in_run = matches!(converted, Converted::Record { record, .. }
                        if gate_ns != 0
                            && record.camera_timestamp_ns.saturating_add(converter.tolerance_ns)
                                >= gate_ns);
                    let info = sink.infos.get(frame.info.camera as usize);
                    match info {
                        Some(info) if in_run => {
                            // A frame the recorder refuses is counted there.
                            let offer = sink.handle.offer(RecordFrame::from_capture(frame, info));
                            stats.recorded += u64::from(offer == Offer::Queued);
                        }
                        _ => stats.before_gate += 1,
                    }
                } else {
                    drop(frame);
                }
                match converted {
                    Converted::Record { record, replaced } => {
                        stats.stamps_replaced += u64::from(replaced);
                        match out.try_send(record) {
                            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
                            Err(TrySendError::Full(_)) => stats.queue_full += 1,
                        }
                    }
                    Converted::Unusable => stats.unusable += 1,
                }
            }
            stats
        })
        .context("starting the frame feeder thread")
}

// ----------------------------------------------------------------- the capture gate

#[derive(Debug, Clone, PartialEq, Eq)]
enum GateState {
    Pending,
    Ready,
    Failed(String),
}

/// Whether the capture listens yet; the cameras' latches ask for it and
/// wait on it. The request goes through a channel of its own because the
/// control thread hands its events over only between ops, so the phase
/// change that would start the capture may still be queued behind the latch.
#[derive(Debug)]
struct CaptureGate {
    state: Mutex<GateState>,
    changed: Condvar,
    request: Sender<()>,
}

impl CaptureGate {
    /// A pending gate, and the receiver of its requests for the capture.
    fn new() -> (Self, crossbeam_channel::Receiver<()>) {
        let (request, requests) = crossbeam_channel::bounded(1);
        let gate = CaptureGate {
            state: Mutex::new(GateState::Pending),
            changed: Condvar::new(),
            request,
        };
        (gate, requests)
    }

    fn set(&self, state: GateState) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = state;
        self.changed.notify_all();
    }

    /// Asks for the capture (once is enough) and waits until it is ready.
    fn wait(&self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match &*state {
                GateState::Ready => return Ok(()),
                GateState::Failed(why) => return Err(why.clone()),
                GateState::Pending => {
                    // Full means a request is already waiting to be seen.
                    let _ = self.request.try_send(());
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "the capture was not ready within {} s",
                    timeout.as_secs()
                ));
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

/// A camera whose clock latch waits until the capture listens.
struct GatedCamera {
    inner: GenicamCamera<Arc<Camera>, Arc<FeatureMap>>,
    gate: Arc<CaptureGate>,
}

impl SyncCamera for GatedCamera {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn features(&self) -> FeatureSet {
        self.inner.features()
    }

    fn get(&self, feature: &str) -> Result<FeatureValue, OpError> {
        self.inner.get(feature)
    }

    fn set(&self, feature: &str, value: &FeatureValue) -> Result<(), OpError> {
        self.inner.set(feature, value)
    }

    fn execute(&self, command: &str) -> Result<(), OpError> {
        self.inner.execute(command)
    }

    fn range(&self, feature: &str) -> Result<Option<FeatureRange>, OpError> {
        self.inner.range(feature)
    }

    fn latch_timestamp(
        &self,
        via: LatchVia,
        clock: &dyn SyncClock,
    ) -> Result<TimestampLatch, OpError> {
        self.gate.wait(CAPTURE_WAIT).map_err(|why| {
            OpError::new(
                OpErrorKind::Refused,
                format!(
                    "camera {}: not armed because the capture is not receiving: {why}",
                    self.inner.name()
                ),
            )
        })?;
        self.inner.latch_timestamp(via, clock)
    }
}

// ----------------------------------------------------------------- the run

/// An opened camera.
struct Opened {
    camera: Arc<Camera>,
    features: Arc<FeatureMap>,
    tick_hz: u64,
    interface: String,
}

fn tick_frequency(camera: &Camera, notes: &mut Vec<String>) -> u64 {
    let read = camera
        .read_register(bootstrap::TIMESTAMP_TICK_FREQUENCY_HIGH)
        .and_then(|high| {
            camera
                .read_register(bootstrap::TIMESTAMP_TICK_FREQUENCY_LOW)
                .map(|low| (u64::from(high) << 32) | u64::from(low))
        });
    match read {
        Ok(hz) if hz > 0 => hz,
        Ok(_) => {
            notes.push(format!(
                "camera {}: timestamp tick frequency is 0; its timestamps are read as ns",
                camera.name()
            ));
            1_000_000_000
        }
        Err(e) => {
            notes.push(format!(
                "camera {}: reading the timestamp tick frequency: {e}; its timestamps are read as ns",
                camera.name()
            ));
            1_000_000_000
        }
    }
}

/// Opens every camera, checks where each is reached, and only then takes
/// control of them and reads their XML: a wrong or missing camera is found
/// before any camera is written to.
fn open_cameras(settings: &Settings, notes: &mut Vec<String>) -> Result<Vec<Opened>> {
    let mut reached: Vec<(Camera, String)> = Vec::new();
    for cam in &settings.cameras {
        let mut connection = Connection {
            interface: cam
                .interface
                .clone()
                .or_else(|| settings.lookup_interface.clone()),
            timeout_ms: u64::try_from(settings.client.timeout.as_millis()).unwrap_or(u64::MAX),
            retries: settings.client.retries,
        };
        let heartbeat = settings.client.heartbeat_timeout;
        let camera = camera_ref::open_with(&cam.id, &mut connection, |c| {
            c.heartbeat_timeout = heartbeat;
        })
        .with_context(|| format!("opening camera {}", cam.id))?;
        if let Some((other, _)) = reached.iter().find(|(o, _)| o.ip() == camera.ip()) {
            bail!(
                "{} and {} are the same camera ({}); name each camera once",
                other.name(),
                cam.id,
                camera.ip()
            );
        }
        let route = route_to(camera.ip()).with_context(|| {
            format!(
                "camera {}: finding the host interface that reaches it",
                camera.name()
            )
        })?;
        if let Some(want) = &cam.interface {
            if *want != route.interface {
                bail!(
                    "camera {} is reached through {}, not {} as the rig file says; fix the rig \
                     file or the host's addresses",
                    camera.name(),
                    route.interface,
                    want
                );
            }
        }
        reached.push((camera, route.interface));
    }
    let mut opened = Vec::with_capacity(reached.len());
    for (mut camera, interface) in reached {
        camera
            .take_control(Privilege::Control)
            .with_context(|| format!("camera {}: taking control", camera.name()))?;
        let (features, _) = FeatureMap::from_device(&camera)
            .with_context(|| format!("camera {}: loading its GenICam features", camera.name()))?;
        let tick_hz = tick_frequency(&camera, notes);
        opened.push(Opened {
            camera: Arc::new(camera),
            features: Arc::new(features),
            tick_hz,
            interface,
        });
    }
    Ok(opened)
}

fn describe_event(event: &Event, names: &[String]) -> Option<String> {
    let name = |id: &CameraId| names.get(id.0).map_or("?", String::as_str);
    Some(match event {
        Event::Phase(Phase::Done) => return None,
        Event::Phase(phase) => format!("phase: {phase}"),
        Event::Method { camera, method } => format!("{}: {method}", name(camera)),
        Event::Status { camera, status } => format!("{}: PtpStatus {status}", name(camera)),
        Event::AllLocked => "every camera is Slave".to_string(),
        Event::Started { gate } => format!("started: gate at {gate}"),
        Event::Diagnosed(d) => format!("{d}"),
        Event::Finished(Outcome::Completed) => "finished".to_string(),
        Event::Finished(Outcome::Failed { phase, reason }) => {
            format!("failed during {phase}: {reason}")
        }
    })
}

/// What the capture did, for the report.
struct CaptureSummary {
    report: Option<CaptureReport>,
    error: Option<String>,
    feed: FeedStats,
    clock: String,
    notes: Vec<String>,
}

impl CaptureSummary {
    fn json(&self) -> serde_json::Value {
        let cameras: Vec<serde_json::Value> = self
            .report
            .iter()
            .flat_map(|r| &r.cameras)
            .map(|c| {
                serde_json::json!({
                    "name": c.setup.name,
                    "interface": c.setup.interface,
                    "path": c.setup.path.name(),
                    "rx_clock": c.timestamp_source.name(),
                    "packet_size": c.setup.packet_size,
                    "frames_completed": c.stream.frames_completed,
                    "frames_incomplete": c.stream.frames_incomplete,
                    "frames_dropped": c.frames_dropped(),
                })
            })
            .collect();
        serde_json::json!({
            "host_clock": self.clock,
            "set_up": self.report.is_some(),
            "error": self.error,
            "cameras": cameras,
            "frames_fed": self.feed.frames,
            "frames_without_timestamp": self.feed.unusable,
            "rx_stamps_replaced": self.feed.stamps_replaced,
            "records_dropped": self.feed.queue_full,
            "notes": self.notes,
        })
    }

    fn text(&self) -> String {
        let mut out = format!("\ncapture: host clock {}", self.clock);
        match (&self.report, &self.error) {
            (_, Some(error)) => out += &format!("; NOT set up: {error}"),
            (None, None) => out += "; not set up (the sequence stopped before)",
            (Some(_), None) => {}
        }
        out.push('\n');
        for c in self.report.iter().flat_map(|r| &r.cameras) {
            out += &format!(
                "  {}: {} via {}, rx stamps {}, {} frames complete, {} incomplete, {} dropped\n",
                c.setup.name,
                c.setup.interface,
                c.setup.path,
                c.timestamp_source.name(),
                c.stream.frames_completed,
                c.stream.frames_incomplete,
                c.frames_dropped()
            );
        }
        if self.feed.stamps_replaced + self.feed.unusable + self.feed.queue_full > 0 {
            out += &format!(
                "  {} frames restamped on arrival (stamp not on the host clock), {} without a \
                 camera timestamp, {} not verified (queue full)\n",
                self.feed.stamps_replaced, self.feed.unusable, self.feed.queue_full
            );
        }
        for note in &self.notes {
            out += &format!("  note: {note}\n");
        }
        out
    }
}

/// Runs `gvcap sync`.
pub fn run(args: SyncArgs) -> Result<()> {
    run_with(args, None)
}

/// `gvcap record --sync`: the sync run, with every frame from the gate on
/// written by a recorder configured by `recorder`.
pub fn run_recording(
    args: SyncArgs,
    capture: CaptureOverrides,
    recorder: RecorderConfig,
) -> Result<()> {
    run_with(args, Some((capture, recorder)))
}

fn run_with(args: SyncArgs, record: Option<(CaptureOverrides, RecorderConfig)>) -> Result<()> {
    let rig = args.rig.as_deref().map(RigFile::load).transpose()?;
    let mut settings = Settings::resolve(&args, rig.as_ref())?;
    let quiet = args.quiet;
    let progress = |line: &str| {
        if !quiet {
            eprintln!("sync: {line}");
        }
    };
    let mut notes = Vec::new();
    if let Some(heartbeat) = settings.client.heartbeat_timeout {
        if settings.worst_detection() > heartbeat {
            notes.push(format!(
                "a camera that stops answering may go unnoticed for up to {} ms, longer than its \
                 heartbeat timeout of {} ms: lower --timeout-ms, --retries or --offset-interval",
                settings.worst_detection().as_millis(),
                heartbeat.as_millis()
            ));
        }
    }

    let opened = open_cameras(&settings, &mut notes)?;
    let names: Vec<String> = opened.iter().map(|o| o.camera.name().to_string()).collect();
    progress(&format!(
        "{} cameras under control: {}",
        names.len(),
        names.join(", ")
    ));
    let mut interfaces: Vec<String> = Vec::new();
    for o in &opened {
        if !interfaces.contains(&o.interface) {
            interfaces.push(o.interface.clone());
        }
    }
    let (clock, clock_kind) = choose_clock(&interfaces, &mut settings.capture, &mut notes);
    let mut recorder = None;
    let mut record_infos = Vec::new();
    if let Some((overrides, config)) = record {
        if let Some(size) = overrides.packet_size {
            settings.capture.packet_size = Some(size);
        }
        if let Some(slots) = overrides.ring_slots {
            settings.capture.ring_slots = slots;
            settings.capture.queue_depth = (slots / 2).max(1);
        }
        record_infos = opened
            .iter()
            .map(|o| super::record::camera_info(&o.camera, &o.features))
            .collect::<Result<Vec<_>>>()?;
        recorder = Some(
            Recorder::<Frame>::start(config, record_infos.clone())
                .context("starting the recorder (check --out and --stripe)")?,
        );
    }

    let (gate_state, capture_requests) = CaptureGate::new();
    let gate_state = Arc::new(gate_state);
    let cameras: Vec<Box<dyn SyncCamera + Send>> = opened
        .iter()
        .map(|o| {
            Box::new(GatedCamera {
                inner: GenicamCamera::new(
                    o.camera.name(),
                    Arc::clone(&o.camera),
                    Arc::clone(&o.features),
                ),
                gate: Arc::clone(&gate_state),
            }) as Box<dyn SyncCamera + Send>
        })
        .collect();
    let targets: Vec<(String, Ipv4Addr)> = opened
        .iter()
        .map(|o| (o.camera.name().to_string(), o.camera.ip()))
        .collect();
    let action_timeout = settings.client.timeout * (settings.client.retries + 1);
    let actions = UdpActionSender::new(targets, action_timeout)
        .context("opening the socket for scheduled ACTION commands")?;
    let parts = ControlParts {
        cameras,
        actions: Some(Box::new(actions)),
        clock: Box::new(clock.clone()),
    };
    let config = settings.config.clone();
    let converter = Converter {
        tick_hz: opened.iter().map(|o| o.tick_hz).collect(),
        clock: clock_kind,
        period_ns: config.frame_period_ns(),
        tolerance_ns: config.skew_tolerance(),
    };
    let specs: Vec<CameraSpec> = opened
        .iter()
        .map(|o| CameraSpec::new(Arc::clone(&o.camera), Arc::clone(&o.features)))
        .collect();

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing the Ctrl-C handler")?;
    }
    let (frame_tx, frame_rx) = crossbeam_channel::bounded(FRAME_QUEUE);
    let (event_tx, event_rx) = crossbeam_channel::unbounded();
    let handle = driver::spawn(
        parts,
        config,
        Some(frame_rx),
        Some(event_tx),
        Arc::clone(&stop),
    )
    .context("starting the sync control thread")?;

    let gate = Arc::new(AtomicU64::new(0));
    let feeder_stop = Arc::new(AtomicBool::new(false));
    let mut session: Option<CaptureSession> = None;
    let mut capture_error: Option<String> = None;
    let mut feeder: Option<JoinHandle<FeedStats>> = None;
    loop {
        let event = crossbeam_channel::select! {
            recv(event_rx) -> event => match event {
                Ok(event) => Some(event),
                Err(_) => break,
            },
            recv(capture_requests) -> _ => None,
        };
        if let Some(line) = event.as_ref().and_then(|e| describe_event(e, &names)) {
            progress(&line);
        }
        let wanted = match &event {
            // The settings hold on every camera: receive from now on.
            Some(Event::Phase(Phase::AwaitingLock | Phase::Latching | Phase::Arming)) | None => {
                true
            }
            Some(Event::Started { gate: at }) => {
                gate.store(at.0, Ordering::Release);
                false
            }
            Some(_) => false,
        };
        if wanted && session.is_none() && capture_error.is_none() {
            let started = CaptureSession::start(specs.clone(), settings.capture.clone())
                .map_err(|e| format!("{:#}", anyhow::Error::from(e)))
                .and_then(|s| {
                    spawn_feeder(
                        s.frames(),
                        converter.clone(),
                        clock.clone(),
                        Arc::clone(&gate),
                        frame_tx.clone(),
                        Arc::clone(&feeder_stop),
                        recorder.as_ref().map(|r| FeedSink {
                            handle: r.handle(),
                            infos: record_infos.clone(),
                        }),
                    )
                    .map(|f| (s, f))
                    .map_err(|e| format!("{e:#}"))
                });
            match started {
                Ok((s, f)) => {
                    for setup in s.setups() {
                        progress(&format!(
                            "{}: receiving on {} via {}",
                            setup.name, setup.interface, setup.path
                        ));
                    }
                    session = Some(s);
                    feeder = Some(f);
                    gate_state.set(GateState::Ready);
                }
                Err(why) => {
                    progress(&format!("capture: {why}"));
                    gate_state.set(GateState::Failed(why.clone()));
                    capture_error = Some(why);
                }
            }
        }
    }
    let outcome = handle
        .join()
        .map_err(|_| anyhow!("the sync control thread panicked"))?;
    feeder_stop.store(true, Ordering::Relaxed);
    let feed = feeder
        .map(|f| f.join().unwrap_or_default())
        .unwrap_or_default();
    let mut capture_report = None;
    if let Some(s) = session {
        notes.extend(s.notes().iter().cloned());
        match s.stop() {
            Ok(report) => capture_report = Some(report),
            Err(e) => notes.push(format!("stopping the capture: {e}")),
        }
    }
    // Every frame the capture delivered has been offered: close the files.
    let recording = recorder.map(|r| RecordingSection::new(r.stop(), &feed));
    let report: SyncReport = outcome.context("the sync could not start")?;
    let summary = CaptureSummary {
        report: capture_report,
        error: capture_error,
        feed,
        clock: clock.describe(),
        notes,
    };
    if args.json {
        let mut value = report.to_json_value();
        if let Some(object) = value.as_object_mut() {
            object.insert("capture".into(), summary.json());
            if let Some(recording) = &recording {
                object.insert("recording".into(), serde_json::to_value(recording)?);
            }
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!("{report}");
        print!("{}", summary.text());
        if let Some(recording) = &recording {
            print!("{}", recording.text());
        }
    }
    verdict(&report)?;
    match recording {
        Some(recording) => recording.verdict(),
        None => Ok(()),
    }
}

/// The `recording` section of `gvcap record --sync`'s report.
#[derive(Debug, Serialize)]
struct RecordingSection {
    frames: u64,
    bytes: u64,
    /// Frames the recorder dropped (writer behind or stopped).
    dropped: u64,
    /// Frames handed to the recorder.
    queued: u64,
    /// Frames received before the gate time, not recorded.
    before_gate: u64,
    backend: &'static str,
    cameras: Vec<RecordedCamera>,
    notes: Vec<String>,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct RecordedCamera {
    camera: String,
    serial: String,
    files: Vec<PathBuf>,
    frames: u64,
    bytes: u64,
    dropped: u64,
}

impl RecordingSection {
    fn new(summary: RecordingSummary, feed: &FeedStats) -> Self {
        let mut notes = summary.notes.clone();
        if summary.frames() == 0 && summary.error.is_none() {
            super::record::remove_files(&summary);
            notes.push("no frame was recorded; the empty files were removed".to_string());
        }
        RecordingSection {
            queued: feed.recorded,
            frames: summary.frames(),
            bytes: summary.bytes(),
            dropped: summary.cameras.iter().map(|c| c.dropped).sum(),
            before_gate: feed.before_gate,
            backend: summary.backend,
            cameras: summary
                .cameras
                .iter()
                .map(|c| RecordedCamera {
                    camera: c.identity.to_string(),
                    serial: c.identity.serial.clone(),
                    files: c.files.clone(),
                    frames: c.frames,
                    bytes: c.bytes,
                    dropped: c.dropped,
                })
                .collect(),
            notes,
            error: summary.error.as_ref().map(|e| e.to_string()),
        }
    }

    fn text(&self) -> String {
        let mut out = format!(
            "recording: {} frames, {:.1} MB, {} dropped, {} before the gate not recorded ({})\n",
            self.frames,
            self.bytes as f64 / 1e6,
            self.dropped,
            self.before_gate,
            self.backend
        );
        for camera in &self.cameras {
            let files: Vec<String> = camera
                .files
                .iter()
                .map(|f| f.display().to_string())
                .collect();
            out += &format!(
                "  {}: {} frames, {} dropped -> {}\n",
                camera.camera,
                camera.frames,
                camera.dropped,
                files.join(", ")
            );
        }
        for note in &self.notes {
            out += &format!("  note: {note}\n");
        }
        out
    }

    fn verdict(&self) -> Result<()> {
        if let Some(error) = &self.error {
            bail!(
                "recording stopped early after {} frames ({error}); the files are valid up to there",
                self.frames
            );
        }
        if self.frames == 0 {
            bail!("no frame of the synchronized run was recorded");
        }
        Ok(())
    }
}

/// Ok when the sequence completed without an error finding.
fn verdict(report: &SyncReport) -> Result<()> {
    let errors: Vec<_> = report
        .diagnoses
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    match &report.outcome {
        Some(Outcome::Failed { phase, reason }) => {
            bail!("the sync failed during {phase}: {reason}")
        }
        None => bail!("the sync did not finish"),
        Some(Outcome::Completed) if !errors.is_empty() => bail!(
            "the sync completed with {} error finding(s), the first: {}",
            errors.len(),
            errors[0]
        ),
        Some(Outcome::Completed) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use gvcap::stream::RxTimestamp;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: SyncArgs,
    }

    fn args(line: &[&str]) -> SyncArgs {
        let mut full = vec!["sync"];
        full.extend_from_slice(line);
        Wrapper::try_parse_from(full).unwrap().args
    }

    #[test]
    fn command_line_values_override_the_rig_file_and_defaults_fill_the_rest() {
        let rig = RigFile::parse(
            "ptp_mode = \"one-step\"\nframe_rate = 10.0\nduration = 2.0\npath = \"udp\"\n\
             [thresholds]\noffset_warn_ns = 300\n[[camera]]\nid = \"10.0.0.2\"\ninterface = \"eth1\"\n",
        )
        .unwrap();
        let a = args(&[
            "--rig",
            "x.toml",
            "--frame-rate",
            "25",
            "--offset-error",
            "900",
        ]);
        let s = Settings::resolve(&a, Some(&rig)).unwrap();
        assert_eq!(s.config.ptp_mode, PtpMode::OneStep);
        assert_eq!(s.config.frame_rate_hz, 25.0);
        assert_eq!(s.config.run, RunLength::Duration(Duration::from_secs(2)));
        assert_eq!(
            (s.config.offset_warn_ns, s.config.offset_error_ns),
            (300, 900)
        );
        assert_eq!(s.capture.path, PathRequest::Udp);
        assert!(
            !s.capture.start_acquisition,
            "the sequence starts acquisition"
        );
        assert_eq!(
            s.cameras,
            vec![CameraRef {
                id: "10.0.0.2".into(),
                interface: Some("eth1".into())
            }]
        );
        assert_eq!(s.client.heartbeat_timeout, Some(Duration::from_secs(3)));
        assert!(
            s.worst_detection() <= Duration::from_secs(3),
            "{:?}",
            s.worst_detection()
        );

        let plain = args(&[
            "a",
            "b",
            "--ptp-mode",
            "two-step",
            "--frame-rate",
            "20",
            "--keep-streaming",
            "--cores",
            "1,0",
        ]);
        let s = Settings::resolve(&plain, None).unwrap();
        assert_eq!(s.config.run, RunLength::Frames(100));
        assert!(!s.config.stop_streaming_first);
        assert_eq!(s.capture.cores, vec![1, 0]);
        assert_eq!(s.capture.path, PathRequest::Auto);
    }

    #[test]
    fn missing_or_contradictory_settings_say_what_to_give() {
        let no_mode = Settings::resolve(&args(&["a", "--frame-rate", "20"]), None).unwrap_err();
        assert!(format!("{no_mode}").contains("--ptp-mode"), "{no_mode}");
        let no_rate = Settings::resolve(&args(&["a", "--ptp-mode", "two-step"]), None).unwrap_err();
        assert!(format!("{no_rate}").contains("--frame-rate"), "{no_rate}");
        let twice = Settings::resolve(
            &args(&["a", "a", "--ptp-mode", "two-step", "--frame-rate", "5"]),
            None,
        )
        .unwrap_err();
        assert!(format!("{twice}").contains("twice"), "{twice}");
        let swapped = Settings::resolve(
            &args(&[
                "a",
                "--ptp-mode",
                "two-step",
                "--frame-rate",
                "5",
                "--offset-warn",
                "50",
                "--offset-error",
                "10",
            ]),
            None,
        )
        .unwrap_err();
        assert!(format!("{swapped}").contains("swap"), "{swapped}");
        assert!(
            Wrapper::try_parse_from(["sync", "a", "--frames", "3", "--duration", "1"]).is_err()
        );
        assert!(
            Wrapper::try_parse_from(["sync"]).is_err(),
            "cameras or --rig"
        );
        assert!(Wrapper::try_parse_from(["sync", "a", "--rig", "r.toml"]).is_err());
    }

    fn info(camera: u32, ticks: u64, rx: RxTimestamp) -> FrameInfo {
        FrameInfo {
            camera,
            block_id: 7,
            extended_ids: false,
            payload_type: Some(1),
            camera_timestamp: Some(ticks),
            image: None,
            trailer_size_y: None,
            first_rx: rx,
            last_rx: rx,
            len: 0,
            flags: Default::default(),
            packets_expected: 3,
            packets_received: 3,
            packets_duplicated: 0,
            packets_resent: 0,
            resend_requests: 0,
        }
    }

    #[test]
    fn frames_become_records_on_the_driver_clock_and_the_gate_grid() {
        let converter = Converter {
            tick_hz: vec![1_000_000_000, 125_000_000],
            clock: ClockKind::Tai,
            period_ns: 50_000_000,
            tolerance_ns: 50_000,
        };
        let gate = 1_000_000_000_000;
        let now = HostTime(42);
        let tai = RxTimestamp::new(5_000, TimestampSource::Kernel);
        let on_grid = converter.convert(&info(0, gate + 3 * 50_000_000 + 10, tai), gate, now);
        assert_eq!(
            on_grid,
            Converted::Record {
                record: FrameRecord {
                    camera: CameraId(0),
                    frame: 7,
                    camera_timestamp_ns: gate + 150_000_010,
                    rx_timestamp_ns: 5_000,
                    started_with_ptp: true,
                },
                replaced: false,
            }
        );
        // 125 MHz ticks are converted; 1 ms off the grid is not started with PTP.
        let ticks = (gate + 1_000_000) / 8;
        let Converted::Record { record, .. } = converter.convert(&info(1, ticks, tai), gate, now)
        else {
            panic!("no record");
        };
        assert_eq!(record.camera_timestamp_ns, gate + 1_000_000);
        assert!(!record.started_with_ptp);
        // Just before the gate (within the tolerance) counts; well before does not.
        assert!(converter.on_grid(gate - 40_000, gate));
        assert!(!converter.on_grid(gate - 60_000, gate));
        assert!(converter.on_grid(gate + 2 * 50_000_000 - 30_000, gate));
        // No gate chosen yet: not started with PTP.
        let Converted::Record { record, .. } = converter.convert(&info(0, gate, tai), 0, now)
        else {
            panic!("no record");
        };
        assert!(!record.started_with_ptp);
        // A hardware stamp is not on CLOCK_TAI: the driver's reading replaces it.
        let hw = RxTimestamp::new(9_999, TimestampSource::Hardware);
        let Converted::Record { record, replaced } =
            converter.convert(&info(0, gate, hw), gate, now)
        else {
            panic!("no record");
        };
        assert!(replaced);
        assert_eq!(record.rx_timestamp_ns, 42);
        // No leader timestamp, or an unknown camera: nothing to verify.
        let mut no_ts = info(0, 0, tai);
        no_ts.camera_timestamp = None;
        assert_eq!(converter.convert(&no_ts, gate, now), Converted::Unusable);
        assert_eq!(
            converter.convert(&info(5, 1, tai), gate, now),
            Converted::Unusable
        );
        let phc = Converter {
            clock: ClockKind::Phc,
            ..converter
        };
        assert!(phc.stamp_fits(TimestampSource::Hardware));
        assert!(!phc.stamp_fits(TimestampSource::UserTai));
    }

    #[test]
    fn the_capture_gate_releases_waiters_or_tells_them_why_not() {
        let (gate, requests) = CaptureGate::new();
        let gate = Arc::new(gate);
        assert!(requests.try_recv().is_err(), "nothing asked yet");
        assert!(gate
            .wait(Duration::from_millis(20))
            .unwrap_err()
            .contains("not ready"));
        assert!(
            requests.try_recv().is_ok(),
            "the waiter asked for the capture"
        );
        let setter = Arc::clone(&gate);
        let t = thread::spawn(move || {
            thread::sleep(Duration::from_millis(30));
            setter.set(GateState::Ready);
        });
        assert_eq!(gate.wait(Duration::from_secs(5)), Ok(()));
        t.join().unwrap();
        gate.set(GateState::Failed("no route".into()));
        assert_eq!(gate.wait(Duration::from_secs(5)), Err("no route".into()));
    }

    #[test]
    fn the_verdict_fails_on_a_failed_sequence_or_an_error_finding() {
        let mut report = SyncReport {
            outcome: Some(Outcome::Completed),
            ptp_mode: PtpMode::TwoStep,
            frame_rate_hz: 20.0,
            gate_time_ns: None,
            cameras: Vec::new(),
            aligned_fraction: 1.0,
            skew_ns: Default::default(),
            alignment: gvcap::sync::AlignmentStats {
                groups: 0,
                complete: 0,
                aligned: 0,
                incomplete: 0,
                late_frames: 0,
                trailing: 0,
                aligned_fraction: 1.0,
                tolerance_ns: 0,
                skew_ns: Default::default(),
            },
            timescale: None,
            requirements: Vec::new(),
            requirements_met: true,
            diagnoses: Vec::new(),
            duration_ns: None,
        };
        assert!(verdict(&report).is_ok());
        report
            .diagnoses
            .push(gvcap::sync::diagnose::streaming("cam2", false, None));
        let err = verdict(&report).unwrap_err().to_string();
        assert!(err.contains("cam2") && err.contains("1 error"), "{err}");
        report.outcome = Some(Outcome::Failed {
            phase: Phase::Stopping,
            reason: "cam2 is streaming".into(),
        });
        let err = verdict(&report).unwrap_err().to_string();
        assert!(err.contains("failed during stopping acquisition"), "{err}");
    }
}
