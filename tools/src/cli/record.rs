//! `gvcap record`: capture from cameras and write every frame to disk.
//!
//! ```text
//! cameras ─► CaptureSession ─► FrameStream ─► forwarder thread ─► RecorderHandle::offer (try_send)
//!                                                                    └─► writer thread (io_uring, O_DIRECT)
//! main thread: stop conditions (SIGINT/SIGTERM, --duration, --frames, recorder error), progress on stderr
//! ```
//!
//! With `--sync` the group is started by the PTP sync sequence instead (see
//! `sync.rs`): the sync's frame feeder hands every frame taken from the gate
//! time on to the same recorder, and the report is the sync's, with a
//! `recording` section.
//!
//! Invariants:
//! - capture never waits for the disk: the forwarder only moves frame
//!   handles into the recorder's bounded channel; a frame that does not fit
//!   is dropped and counted (as are frames the capture itself could not
//!   place in a slot), and every drop shows in the progress line and summary,
//!   beside the frames the cameras sent that never arrived (`missed`: block
//!   ids skipped, which are lost on the network or in the receive path);
//! - a frame goes from its ring slot to disk without a copy when the slot is
//!   4096-padded (CaptureSession allocates them so); copies are counted;
//! - however recording ends (duration, frame count, SIGINT, a full disk),
//!   acquisition is stopped, the frames in flight are drained to the
//!   recorder, and every file is closed with its final index and fsynced;
//!   a second SIGINT exits at once (files then read back up to their last
//!   complete record).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use clap::Args;
use gvcap::capture::{
    CameraReport, CameraSpec, CaptureOptions, CaptureReport, CaptureSession, FrameStream,
    PathRequest,
};
use gvcap::device::{Camera, Privilege};
use gvcap::genicam::FeatureMap;
use gvcap::record::{
    block_id_step, CameraIdentity, CameraInfo, Offer, RecordFrame, Recorder, RecorderConfig,
    RecorderHandle, RecorderStatus, RecordingSummary,
};
use gvcap::stream::Frame;
use gvcap::wire::gvsp::PixelFormat;
use serde::Serialize;

use super::sync::{PtpModeArg, SyncArgs};
use super::{camera_ref, Connection};

/// How often the main thread looks at the stop conditions.
const POLL: Duration = Duration::from_millis(50);
/// Progress refresh on a terminal.
const TTY_REFRESH: Duration = Duration::from_millis(250);
/// Progress lines when stderr is a file or a pipe.
const PLAIN_REFRESH: Duration = Duration::from_secs(1);

/// Arguments of `gvcap record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Cameras (IP address, serial number or user name).
    #[arg(required = true)]
    pub cams: Vec<String>,
    /// Output directory (created if missing); one file per camera.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Stop after this many seconds (default: record until Ctrl-C).
    #[arg(long, conflicts_with = "frames")]
    pub duration: Option<f64>,
    /// Stop once every camera delivered this many frames.
    #[arg(long)]
    pub frames: Option<u64>,
    /// More output directories (other devices): each camera's frames are
    /// striped over --out and these, one file per camera in each.
    #[arg(long = "stripe", value_name = "DIR")]
    pub stripes: Vec<PathBuf>,
    /// Receive path: auto (AF_XDP where it works, else UDP sockets), xdp or udp.
    #[arg(long, default_value = "auto")]
    pub path: PathRequest,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// File name prefix (default rec-YYYYMMDD-HHMMSS, UTC).
    #[arg(long)]
    pub name: Option<String>,
    /// Set features on every camera before recording (FEATURE=VALUE, in order).
    #[arg(long = "set", value_name = "FEATURE=VALUE")]
    pub set: Vec<String>,
    /// Stream packet size in bytes (default: the interface MTU).
    #[arg(long)]
    pub packet_size: Option<u32>,
    /// Frame slots per camera: frames being received, queued and being written.
    #[arg(long, default_value_t = 32)]
    pub ring_slots: usize,
    /// Writes in flight (io_uring queue depth; a frame is two writes). Keep
    /// it below twice the ring slots, or the writer can hold every slot.
    #[arg(long, default_value_t = 32)]
    pub io_depth: u32,
    /// Write through the page cache instead of O_DIRECT.
    #[arg(long)]
    pub buffered: bool,
    /// Start the cameras together with the PTP sync sequence (same settings,
    /// every camera Slave, one gate time) and record the synchronized run,
    /// verified as `gvcap sync` verifies it.
    #[arg(long)]
    pub sync: bool,
    /// With --sync: PtpMode for every camera; must match the grandmaster.
    #[arg(long, value_enum, requires = "sync")]
    pub ptp_mode: Option<PtpModeArg>,
    /// With --sync: AcquisitionFrameRate for every camera, in Hz.
    #[arg(long, requires = "sync")]
    pub frame_rate: Option<f64>,
    /// With --sync: seconds to wait for every camera to be PTP Slave (default 30).
    #[arg(long, requires = "sync")]
    pub lock_timeout: Option<f64>,
    #[command(flatten)]
    pub connection: Connection,
}

/// Why recording ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum StopReason {
    /// --duration elapsed.
    Duration,
    /// Every camera delivered --frames frames.
    Frames,
    /// SIGINT or SIGTERM.
    Interrupted,
    /// The recorder stopped by itself (disk full, write error).
    RecorderStopped,
    /// The capture ended by itself.
    CaptureEnded,
}

impl StopReason {
    fn describe(self) -> &'static str {
        match self {
            StopReason::Duration => "the duration elapsed",
            StopReason::Frames => "every camera delivered the frames asked for",
            StopReason::Interrupted => "interrupted (SIGINT/SIGTERM)",
            StopReason::RecorderStopped => "the recorder stopped",
            StopReason::CaptureEnded => "the capture ended",
        }
    }
}

/// One opened camera, ready to capture and record.
struct Opened {
    spec: CameraSpec,
    info: CameraInfo,
}

/// What the forwarder thread counted per camera.
#[derive(Debug, Clone, Copy, Default)]
struct Forwarded {
    /// Frames taken from the capture and offered to the recorder.
    offered: u64,
    /// Of those, flagged incomplete.
    incomplete: u64,
    /// Frames that arrived after --frames was reached (not recorded, not drops).
    beyond_limit: u64,
    /// Block ids skipped: frames the camera sent that never arrived whole
    /// enough to be finished (lost on the network or in the receive path).
    missed: u64,
    /// The highest block id seen.
    last_block: Option<u64>,
}

impl Forwarded {
    /// Counts block id `block` (of a `bits`-wide id space): a step of more
    /// than one means frames were missed; a step back is a late frame filling a gap.
    fn see_block(&mut self, block: u64, bits: u8) -> u64 {
        let Some(last) = self.last_block else {
            self.last_block = Some(block);
            return 0;
        };
        match block_id_step(last, block, bits) {
            Some(step) => {
                self.last_block = Some(block);
                self.missed += step - 1;
                step - 1
            }
            None if block != last => {
                self.missed = self.missed.saturating_sub(1);
                0
            }
            None => 0,
        }
    }
}

/// The recorder's configuration from the command line.
fn recorder_config(args: &RecordArgs, cameras: usize) -> Result<RecorderConfig> {
    let mut directories = vec![args.out.clone()];
    directories.extend(args.stripes.iter().cloned());
    for dir in &directories {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the output directory {}", dir.display()))?;
    }
    let mut config = RecorderConfig::new(directories);
    config.name = args.name.clone().unwrap_or_else(default_name);
    config.queue_depth = args.io_depth;
    config.direct_io = !args.buffered;
    config.channel_capacity = (args.ring_slots * cameras).max(1);
    Ok(config)
}

/// `gvcap record --sync`: the sync sequence starts the group and its frames
/// are recorded.
fn run_synchronized(args: RecordArgs) -> Result<()> {
    if !args.set.is_empty() {
        bail!(
            "--set cannot be combined with --sync (the sync broadcasts its own settings); \
             set the features first with `gvcap set CAM FEATURE=VALUE`"
        );
    }
    let recorder = recorder_config(&args, args.cams.len())?;
    let capture = super::sync::CaptureOverrides {
        packet_size: args.packet_size,
        ring_slots: Some(args.ring_slots),
    };
    let sync_args = SyncArgs {
        cams: args.cams,
        ptp_mode: args.ptp_mode,
        frame_rate: args.frame_rate,
        frames: args.frames,
        duration: args.duration,
        lock_timeout: args.lock_timeout,
        path: Some(args.path),
        interface: args.connection.interface,
        timeout_ms: Some(args.connection.timeout_ms),
        retries: Some(args.connection.retries),
        json: args.json,
        ..SyncArgs::default()
    };
    super::sync::run_recording(sync_args, capture, recorder)
}

/// `gvcap record`.
pub fn run_record(args: RecordArgs) -> Result<()> {
    if args.duration.is_some_and(|d| !(d > 0.0 && d.is_finite())) {
        bail!("--duration must be a positive number of seconds");
    }
    if args.frames == Some(0) {
        bail!("--frames must be at least 1");
    }
    if args.sync {
        return run_synchronized(args);
    }
    let assignments = args
        .set
        .iter()
        .map(|a| {
            a.split_once('=')
                .map(|(f, v)| (f.trim().to_string(), v.trim().to_string()))
                .with_context(|| format!("--set {a:?} is not FEATURE=VALUE (e.g. Width=640)"))
        })
        .collect::<Result<Vec<_>>>()?;
    let interrupted = Interrupt::install()?;

    let config = recorder_config(&args, args.cams.len())?;

    let opened = args
        .cams
        .iter()
        .map(|cam| open_camera(cam, &args.connection, &assignments))
        .collect::<Result<Vec<_>>>()?;
    if interrupted.is_set() {
        bail!("interrupted before recording started");
    }

    let infos: Vec<CameraInfo> = opened.iter().map(|o| o.info.clone()).collect();
    let recorder = Recorder::<Frame>::start(config, infos.clone())
        .context("starting the recorder (check --out and --stripe)")?;

    let options = CaptureOptions {
        path: args.path,
        interface: args.connection.interface.clone(),
        packet_size: args.packet_size,
        ring_slots: args.ring_slots,
        queue_depth: (args.ring_slots / 2).max(1),
        ..CaptureOptions::default()
    };
    let specs: Vec<CameraSpec> = opened.into_iter().map(|o| o.spec).collect();
    let session = match CaptureSession::start(specs, options) {
        Ok(s) => s,
        Err(err) => {
            let summary = recorder.stop();
            remove_files(&summary);
            return Err(err).context("starting the capture");
        }
    };
    for note in session.notes() {
        eprintln!("gvcap record: {note}");
    }
    let paths: Vec<&'static str> = session.setups().iter().map(|s| s.path.name()).collect();

    let started = Instant::now();
    let missed = Arc::new(AtomicU64::new(0));
    let (done_tx, done_rx) = sync_channel(1);
    let forwarder = spawn_forwarder(
        session.frames(),
        recorder.handle(),
        infos.clone(),
        args.frames,
        done_tx,
        Arc::clone(&missed),
    )?;
    let live = session.frames();
    let mut progress = Progress::new(started);
    let deadline = args.duration.map(|d| started + Duration::from_secs_f64(d));
    let reason = loop {
        if interrupted.is_set() {
            break StopReason::Interrupted;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break StopReason::Duration;
        }
        let status = recorder.status();
        if !status.running || status.error.is_some() {
            break StopReason::RecorderStopped;
        }
        progress.tick(
            &status,
            capture_drops(&live),
            missed.load(Ordering::Relaxed),
            false,
        );
        match done_rx.recv_timeout(POLL) {
            Ok(ForwarderDone::Limit) => break StopReason::Frames,
            Ok(ForwarderDone::RecorderStopped) => break StopReason::RecorderStopped,
            Err(RecvTimeoutError::Disconnected) => break StopReason::CaptureEnded,
            Err(RecvTimeoutError::Timeout) => {}
        }
    };

    // Stop acquisition and drain; the forwarder keeps handing frames to the
    // recorder meanwhile, and ends when the frame stream disconnects.
    let capture = session.stop();
    let forwarded = forwarder
        .join()
        .map_err(|_| anyhow::anyhow!("the frame forwarder thread panicked"))?;
    progress.tick(
        &recorder.status(),
        capture_drops(&live),
        missed.load(Ordering::Relaxed),
        true,
    );
    progress.finish();
    // Frames offered after the writer stopped on an error are counted only
    // in the live counters; a normal stop's summary counts everything.
    let last_status = recorder.status();
    let summary = recorder.stop();
    // From the capture's start to every file closed and synced.
    let seconds = started.elapsed().as_secs_f64();
    let report = Report::new(
        &summary,
        &last_status,
        &capture,
        &forwarded,
        &infos,
        &paths,
        (reason, seconds),
    );
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        report.print();
    }
    let frames = summary.frames();
    if let Some(err) = summary.error {
        return Err(anyhow::Error::new(err).context(format!(
            "recording stopped early after {frames} frames; the files are valid up to there"
        )));
    }
    if let Err(err) = &capture {
        eprintln!("gvcap record: stopping the capture: {err}");
    }
    if frames == 0 {
        bail!(
            "no frame was recorded: the cameras sent nothing that reached this host \
             (check `gvcap get CAM AcquisitionFrameRate`, the route to the cameras, and firewalls)"
        );
    }
    Ok(())
}

/// Opens `cam`, takes control, applies `--set`, and reads what the recorder needs.
fn open_camera(cam: &str, connection: &Connection, set: &[(String, String)]) -> Result<Opened> {
    let mut camera = camera_ref::open(cam, connection)?;
    camera
        .take_control(Privilege::Control)
        .with_context(|| format!("camera {}: taking control to record", camera.name()))?;
    let (features, _xml) = FeatureMap::from_device(&camera)
        .with_context(|| format!("camera {}: loading its GenICam features", camera.name()))?;
    for (feature, value) in set {
        features
            .set_from_str(&camera, feature, value)
            .with_context(|| format!("camera {}: setting {feature}={value}", camera.name()))?;
        features.invalidate_all();
    }
    let info = camera_info(&camera, &features)?;
    Ok(Opened {
        spec: CameraSpec::new(Arc::new(camera), Arc::new(features)),
        info,
    })
}

/// What the recording's header says of a camera: identity, image format
/// and sizes, read from the camera and its features.
pub(crate) fn camera_info(camera: &Camera, features: &FeatureMap) -> Result<CameraInfo> {
    let identity = camera
        .identify()
        .with_context(|| format!("camera {}: reading its identity", camera.name()))?;
    let integer = |name: &str| features.get_integer(camera, name).ok();
    let payload_size = integer("PayloadSize")
        .and_then(|v| u64::try_from(v).ok())
        .filter(|&v| v > 0)
        .with_context(|| format!("camera {}: reading PayloadSize", camera.name()))?;
    let pixel_format = features
        .get_enum(camera, "PixelFormat")
        .ok()
        .map_or(PixelFormat(0), |n| pixel_format_named(&n));
    let extended = features
        .get_enum(camera, "GevGVSPExtendedIDMode")
        .is_ok_and(|v| v == "On");
    let info = CameraInfo {
        identity: CameraIdentity {
            vendor: identity.manufacturer,
            model: identity.model,
            serial: identity.serial,
            user_name: identity.user_name,
        },
        pixel_format,
        width: integer("Width")
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(0),
        height: integer("Height")
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(0),
        payload_size,
        timestamp_frequency_hz: integer("GevTimestampTickFrequency")
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(0),
        block_id_bits: if extended { 64 } else { 16 },
    };
    Ok(info)
}

/// The PFNC code of a PixelFormat entry name (0 when this tool does not know it;
/// frames still carry their own format from their leaders).
fn pixel_format_named(name: &str) -> PixelFormat {
    [
        PixelFormat::MONO8,
        PixelFormat::MONO10,
        PixelFormat::MONO12,
        PixelFormat::MONO16,
        PixelFormat::BAYER_GR8,
        PixelFormat::BAYER_RG8,
        PixelFormat::BAYER_GB8,
        PixelFormat::BAYER_BG8,
        PixelFormat::RGB8,
        PixelFormat::BGR8,
    ]
    .into_iter()
    .find(|f| f.name() == Some(name))
    .unwrap_or(PixelFormat(0))
}

/// `rec-YYYYMMDD-HHMMSS` in UTC.
fn default_name() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    format!(
        "rec-{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Year, month, day of a day count since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Removes the (empty) files of a recording that never started.
pub(crate) fn remove_files(summary: &RecordingSummary) {
    for camera in &summary.cameras {
        for file in &camera.files {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// SIGINT/SIGTERM set a flag; a second SIGINT or SIGTERM exits at once.
struct Interrupt {
    flag: Arc<AtomicBool>,
    ids: Vec<signal_hook::SigId>,
}

impl Interrupt {
    fn install() -> Result<Interrupt> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let flag = Arc::new(AtomicBool::new(false));
        let mut ids = Vec::new();
        for signal in [SIGINT, SIGTERM] {
            // Registered first, so it sees the flag as it was before this signal.
            ids.push(
                signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&flag))
                    .context("installing the signal handler")?,
            );
            ids.push(
                signal_hook::flag::register(signal, Arc::clone(&flag))
                    .context("installing the signal handler")?,
            );
        }
        Ok(Interrupt { flag, ids })
    }

    fn is_set(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Why the forwarder tells the main thread to stop.
enum ForwarderDone {
    /// Every camera reached --frames.
    Limit,
    /// The recorder refuses frames (it stopped on an error).
    RecorderStopped,
}

/// Moves frames from the capture to the recorder until the stream disconnects.
fn spawn_forwarder(
    mut frames: FrameStream,
    handle: RecorderHandle<Frame>,
    infos: Vec<CameraInfo>,
    limit: Option<u64>,
    done: SyncSender<ForwarderDone>,
    missed: Arc<AtomicU64>,
) -> Result<JoinHandle<Vec<Forwarded>>> {
    std::thread::Builder::new()
        .name("gvcap-forward".into())
        .spawn(move || {
            let mut counts = vec![Forwarded::default(); infos.len()];
            let mut reached = 0usize;
            let mut stopped = false;
            while let Some(frame) = frames.recv() {
                let camera = frame.info.camera as usize;
                let (Some(count), Some(info)) = (counts.get_mut(camera), infos.get(camera)) else {
                    continue;
                };
                if limit.is_some_and(|n| count.offered >= n) {
                    count.beyond_limit += 1;
                    continue;
                }
                count.offered += 1;
                count.incomplete += u64::from(frame.info.is_incomplete());
                let skipped = count.see_block(frame.info.block_id, info.block_id_bits);
                if skipped > 0 {
                    missed.fetch_add(skipped, Ordering::Relaxed);
                }
                if limit == Some(count.offered) {
                    reached += 1;
                    if reached == infos.len() {
                        let _ = done.try_send(ForwarderDone::Limit);
                    }
                }
                if handle.offer(RecordFrame::from_capture(frame, info)) == Offer::Stopped
                    && !stopped
                {
                    stopped = true;
                    let _ = done.try_send(ForwarderDone::RecorderStopped);
                }
            }
            counts
        })
        .context("starting the frame forwarder thread")
}

/// Frames the capture lost before they reached the recorder, per camera
/// (no free slot, or the ring's queue was full).
fn capture_drops(frames: &FrameStream) -> u64 {
    frames
        .ring_counters()
        .iter()
        .map(|c| c.dropped_consumer_behind + c.no_free_slot)
        .sum()
}

/// The progress line on stderr.
struct Progress {
    tty: bool,
    started: Instant,
    last: Option<(Instant, u64)>,
    printed: bool,
}

impl Progress {
    fn new(started: Instant) -> Self {
        Progress {
            tty: std::io::stderr().is_terminal(),
            started,
            last: None,
            printed: false,
        }
    }

    fn tick(&mut self, status: &RecorderStatus, capture_drops: u64, missed: u64, force: bool) {
        let now = Instant::now();
        let every = if self.tty { TTY_REFRESH } else { PLAIN_REFRESH };
        let bytes: u64 = status.cameras.iter().map(|c| c.bytes).sum();
        let Some((at, before)) = self.last else {
            self.last = Some((now, bytes));
            return;
        };
        let dt = now.duration_since(at);
        if dt < every && !force {
            return;
        }
        let rate = if dt.is_zero() {
            0.0
        } else {
            bytes.saturating_sub(before) as f64 / dt.as_secs_f64() / 1e6
        };
        self.last = Some((now, bytes));
        let written: u64 = status.cameras.iter().map(|c| c.written).sum();
        let disk_drops: u64 = status.cameras.iter().map(|c| c.dropped).sum();
        let line = format!(
            "gvcap record: {:.1} s  {rate:.1} MB/s  frames {written}  drops {}  (disk {disk_drops}, capture {capture_drops})  missed {missed}  queued {}",
            now.duration_since(self.started).as_secs_f64(),
            disk_drops + capture_drops,
            status.queued,
        );
        let mut err = std::io::stderr().lock();
        let _ = if self.tty {
            write!(err, "\r{line}\x1b[K")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
        self.printed = true;
    }

    fn finish(&mut self) {
        if self.tty && self.printed {
            eprintln!();
        }
    }
}

/// One camera in the summary.
#[derive(Debug, Serialize)]
struct CameraLine {
    camera: String,
    serial: String,
    path: String,
    files: Vec<PathBuf>,
    frames: u64,
    bytes: u64,
    incomplete: u64,
    dropped: u64,
    dropped_disk: u64,
    dropped_capture: u64,
    missed: u64,
    beyond_limit: u64,
}

/// The summary, printed as text or JSON.
#[derive(Debug, Serialize)]
struct Report {
    stopped_by: StopReason,
    seconds: f64,
    frames: u64,
    bytes: u64,
    mb_per_s: f64,
    dropped: u64,
    missed: u64,
    copied: u64,
    fixed_writes: u64,
    backend: &'static str,
    cameras: Vec<CameraLine>,
    notes: Vec<String>,
    error: Option<String>,
}

impl Report {
    fn new(
        summary: &RecordingSummary,
        last_status: &RecorderStatus,
        capture: &Result<CaptureReport, gvcap::capture::CaptureError>,
        forwarded: &[Forwarded],
        infos: &[CameraInfo],
        paths: &[&str],
        (reason, seconds): (StopReason, f64),
    ) -> Report {
        let capture_cams: &[CameraReport] = capture.as_ref().map_or(&[], |r| &r.cameras);
        let cameras: Vec<CameraLine> = infos
            .iter()
            .enumerate()
            .map(|(i, info)| {
                let written = summary.cameras.get(i);
                let dropped_disk = written
                    .map_or(0, |c| c.dropped)
                    .max(last_status.cameras.get(i).map_or(0, |c| c.dropped));
                let dropped_capture = capture_cams.get(i).map_or(0, |c| c.frames_dropped());
                let fwd = forwarded.get(i).copied().unwrap_or_default();
                CameraLine {
                    camera: info.identity.to_string(),
                    serial: info.identity.serial.clone(),
                    path: paths.get(i).copied().unwrap_or("?").to_string(),
                    files: written.map(|c| c.files.clone()).unwrap_or_default(),
                    frames: written.map_or(0, |c| c.frames),
                    bytes: written.map_or(0, |c| c.bytes),
                    incomplete: fwd.incomplete,
                    dropped: dropped_disk + dropped_capture,
                    dropped_disk,
                    dropped_capture,
                    missed: fwd.missed,
                    beyond_limit: fwd.beyond_limit,
                }
            })
            .collect();
        let mut notes = summary.notes.clone();
        if let Ok(report) = capture {
            notes.extend(report.notes.iter().cloned());
        }
        if let Err(err) = capture {
            notes.push(format!("stopping the capture: {err}"));
        }
        Report {
            stopped_by: reason,
            seconds,
            frames: summary.frames(),
            bytes: summary.bytes(),
            mb_per_s: if seconds > 0.0 {
                summary.bytes() as f64 / seconds / 1e6
            } else {
                0.0
            },
            dropped: cameras.iter().map(|c| c.dropped).sum(),
            missed: cameras.iter().map(|c| c.missed).sum(),
            copied: summary.copied,
            fixed_writes: summary.fixed_writes,
            backend: summary.backend,
            cameras,
            notes,
            error: summary.error.as_ref().map(ToString::to_string),
        }
    }

    fn print(&self) {
        println!(
            "recorded {} frames, {:.1} MB in {:.1} s ({:.1} MB/s); dropped {}; missed {}; copied {}; stopped: {}",
            self.frames,
            self.bytes as f64 / 1e6,
            self.seconds,
            self.mb_per_s,
            self.dropped,
            self.missed,
            self.copied,
            self.stopped_by.describe()
        );
        for (i, c) in self.cameras.iter().enumerate() {
            println!(
                "camera {i} {} ({}): {} frames, {} incomplete, dropped {} (disk {}, capture {}), missed {}",
                c.camera,
                c.path,
                c.frames,
                c.incomplete,
                c.dropped,
                c.dropped_disk,
                c.dropped_capture,
                c.missed
            );
            for f in &c.files {
                println!("  {}", f.display());
            }
        }
        for note in &self.notes {
            println!("note: {note}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_pixel_formats() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(pixel_format_named("Mono8"), PixelFormat::MONO8);
        assert_eq!(pixel_format_named("RGB8"), PixelFormat::RGB8);
        assert_eq!(pixel_format_named("Weird42"), PixelFormat(0));
        let mut f = Forwarded::default();
        assert_eq!(f.see_block(65_534, 16), 0);
        assert_eq!(f.see_block(2, 16), 2, "65535 and 1 skipped over the wrap");
        assert_eq!(f.see_block(1, 16), 0, "a late frame fills the gap");
        assert_eq!(f.missed, 1);
        assert_eq!(f.see_block(2, 16), 0, "a repeat changes nothing");
        assert_eq!(f.missed, 1);
        let name = default_name();
        assert!(name.starts_with("rec-2") && name.len() == 19, "{name}");
    }
}
