//! The recorder: a writer thread fed by a bounded channel, writing each
//! camera's frames to its stripe files through io_uring (or pwrite).
//!
//! Invariants:
//! - the producer never blocks: [`RecorderHandle::offer`] uses `try_send`;
//!   a frame that does not fit in the channel is dropped and counted per camera;
//! - a frame's payload is dropped (its slot released) as soon as the kernel
//!   has written it, or at once when it was copied into a bounce buffer;
//! - each camera's records get consecutive sequence numbers over all its
//!   stripes; a record goes to the stripe with the fewest bytes in flight, so
//!   a slower device receives fewer frames;
//! - on stop or on the first error the writer takes no more frames, waits for
//!   every write in flight, writes the final index records, cuts each file at
//!   its last complete record, rewrites the headers and fsyncs: every file is
//!   valid whatever stopped the recording.
//!
//! Striping: with N directories every camera writes N files, one per
//! directory, and spreads its records over them. Whole files per directory
//! would leave devices idle whenever cameras are fewer than devices or their
//! rates differ; per-record striping adds the devices' bandwidth even for one
//! camera while each file is still written sequentially.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::wire::gvsp::PixelFormat;

use super::backend::{Backend, Completion, Owner, Source, WriteOp};
use super::buffer::{AlignedBuf, FramePayload};
use super::format::{
    file_flags, frame_flags, padded_len, CameraIdentity, FileHeader, IndexEntry, RecordHeader,
    RecordKind, TimestampSource, BLOCK_SIZE, FILE_EXTENSION, INDEX_ENTRY_SIZE, VERSION,
};
use super::pool::{BlockPool, SlotClass};
use super::stripe::{Pending, SpaceError, StripeFile};
use super::uring::{SharedRegion, Uring};

/// What the recorder needs to know about one camera before recording.
#[derive(Debug, Clone)]
pub struct CameraInfo {
    /// Vendor, model, serial, user name.
    pub identity: CameraIdentity,
    /// Nominal pixel format.
    pub pixel_format: PixelFormat,
    /// Nominal width.
    pub width: u32,
    /// Nominal height.
    pub height: u32,
    /// Largest payload the camera sends (its PayloadSize).
    pub payload_size: u64,
    /// Camera timestamp ticks per second (0 when unknown).
    pub timestamp_frequency_hz: u64,
    /// 16 for standard GVSP block ids, 64 for extended ids.
    pub block_id_bits: u8,
}

/// Per-frame flags recorded with the frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameFlags {
    /// Packets were missing.
    pub incomplete: bool,
    /// The frame started while the camera was PTP-locked.
    pub started_with_ptp: bool,
    /// Some packets came through a resend.
    pub resent: bool,
}

impl FrameFlags {
    /// The on-disk bits ([`frame_flags`]).
    pub fn bits(self) -> u32 {
        (if self.incomplete {
            frame_flags::INCOMPLETE
        } else {
            0
        }) | (if self.started_with_ptp {
            frame_flags::STARTED_WITH_PTP
        } else {
            0
        }) | (if self.resent { frame_flags::RESENT } else { 0 })
    }
}

/// Everything recorded about a frame besides its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameMeta {
    /// Index of the camera in the list given to [`Recorder::start`].
    pub camera: u16,
    /// GVSP block id.
    pub block_id: u64,
    /// Camera timestamp (ticks).
    pub camera_timestamp: u64,
    /// Receive timestamp (ns).
    pub receive_timestamp_ns: u64,
    /// Clock of the receive timestamp.
    pub timestamp_source: TimestampSource,
    /// Pixel format of this frame.
    pub pixel_format: PixelFormat,
    /// Width of this frame.
    pub width: u32,
    /// Height of this frame.
    pub height: u32,
    /// Payload bytes at the start of the buffer.
    pub payload_size: u64,
    /// Flags.
    pub flags: FrameFlags,
}

/// One frame handed to the recorder: metadata and the buffer holding the payload.
#[derive(Debug)]
pub struct RecordFrame<P> {
    /// Metadata.
    pub meta: FrameMeta,
    /// The payload buffer (kept until written, then dropped).
    pub payload: P,
}

/// Which write backend to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// io_uring, or pwrite when io_uring is unavailable.
    #[default]
    Auto,
    /// io_uring only (starting fails without it).
    IoUring,
    /// Synchronous pwrite.
    Pwrite,
}

/// Recorder settings; [`RecorderConfig::new`] gives working defaults.
#[derive(Clone)]
pub struct RecorderConfig {
    /// Output directories: one stripe file per camera in each.
    pub directories: Vec<PathBuf>,
    /// File name prefix: files are `{name}-cam{NN}-s{S}.gvrec`.
    pub name: String,
    /// Writes in flight at most.
    pub queue_depth: u32,
    /// Frames waiting for the writer at most; beyond, frames are dropped.
    pub channel_capacity: usize,
    /// Preallocation step per file, in bytes.
    pub extent_bytes: u64,
    /// Frames per index record.
    pub index_interval: u32,
    /// Write backend.
    pub backend: BackendChoice,
    /// Open files with O_DIRECT (falls back when the filesystem refuses).
    pub direct_io: bool,
    /// Buffers for frames that must be copied (unaligned or too short for padding).
    pub bounce_buffers: usize,
    /// Memory to register with io_uring once (for example the frame ring's hugepages),
    /// so payloads inside it are written with WRITE_FIXED.
    pub shared_regions: Vec<SharedRegion>,
}

impl fmt::Debug for RecorderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecorderConfig")
            .field("directories", &self.directories)
            .field("name", &self.name)
            .field("queue_depth", &self.queue_depth)
            .field("channel_capacity", &self.channel_capacity)
            .field("extent_bytes", &self.extent_bytes)
            .field("index_interval", &self.index_interval)
            .field("backend", &self.backend)
            .field("direct_io", &self.direct_io)
            .field("bounce_buffers", &self.bounce_buffers)
            .field("shared_regions", &self.shared_regions.len())
            .finish()
    }
}

impl RecorderConfig {
    /// Defaults: depth 64, 256 queued frames, 256 MiB extents, an index record every 1024 frames.
    pub fn new(directories: Vec<PathBuf>) -> Self {
        RecorderConfig {
            directories,
            name: "rec".into(),
            queue_depth: 64,
            channel_capacity: 256,
            extent_bytes: 256 << 20,
            index_interval: 1024,
            backend: BackendChoice::Auto,
            direct_io: true,
            bounce_buffers: 4,
            shared_regions: Vec::new(),
        }
    }
}

/// Why recording failed or stopped early; the message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The configuration cannot work.
    #[error("invalid recorder configuration: {0}")]
    Config(String),
    /// A file or the backend could not be set up.
    #[error("cannot start recording: {what}: {source}")]
    Setup {
        /// What failed.
        what: String,
        /// The OS error.
        source: io::Error,
    },
    /// The filesystem is full.
    #[error(
        "disk full: {path} cannot grow beyond {bytes} bytes; recording stopped, and every \
         file is complete up to its last frame. Free space or record to more directories"
    )]
    DiskFull {
        /// The file that could not grow.
        path: PathBuf,
        /// Its size.
        bytes: u64,
    },
    /// A write failed.
    #[error(
        "write to {path} at offset {offset} failed: {source}; recording stopped, the file was \
         cut after its last complete record"
    )]
    Write {
        /// The file.
        path: PathBuf,
        /// Where.
        offset: u64,
        /// The OS error.
        source: io::Error,
    },
    /// The io_uring instance failed.
    #[error("io_uring failed: {0}; recording stopped")]
    Backend(io::Error),
    /// Closing a file failed (truncate, header, fsync).
    #[error("closing {path}: {source}; the file may need `inspect` to rebuild its index")]
    Close {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The writer thread panicked (a bug).
    #[error("the recorder thread panicked; files are readable up to their last complete record")]
    Panicked,
}

/// What happened to an offered frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Queued for writing.
    Queued,
    /// The writer is behind: dropped and counted.
    Dropped,
    /// The recorder has stopped (finished or failed): dropped and counted.
    Stopped,
    /// `meta.camera` is not one of the recorder's cameras: dropped.
    UnknownCamera,
}

enum Msg<P> {
    Frame(RecordFrame<P>),
    Stop,
}

#[derive(Debug, Default)]
struct CameraCounters {
    offered: AtomicU64,
    dropped: AtomicU64,
    written: AtomicU64,
    bytes: AtomicU64,
}

#[derive(Debug)]
struct Shared {
    cameras: Vec<CameraCounters>,
    rejected: AtomicU64,
    copied: AtomicU64,
    stopped: AtomicBool,
    error: Mutex<Option<String>>,
}

/// Live counters of one camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct CameraStatus {
    /// Frames offered.
    pub offered: u64,
    /// Frames dropped (writer behind, or stopped).
    pub dropped: u64,
    /// Frames written completely.
    pub written: u64,
    /// Payload bytes written completely.
    pub bytes: u64,
}

/// A snapshot of the recorder, for progress displays.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecorderStatus {
    /// Per camera, in camera order.
    pub cameras: Vec<CameraStatus>,
    /// Frames refused as malformed (payload shorter than its size, too large).
    pub rejected: u64,
    /// Frames copied into a bounce buffer because their memory was not
    /// 4096-aligned or not padded to a multiple of 4096 bytes.
    pub copied: u64,
    /// Frames waiting in the channel.
    pub queued: usize,
    /// False once the writer has stopped.
    pub running: bool,
    /// The error that stopped recording, if any.
    pub error: Option<String>,
}

/// The result of one camera.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CameraSummary {
    /// Camera index.
    pub camera: u16,
    /// Identity.
    pub identity: CameraIdentity,
    /// Its stripe files.
    pub files: Vec<PathBuf>,
    /// Frames written.
    pub frames: u64,
    /// Payload bytes written.
    pub bytes: u64,
    /// Frames dropped.
    pub dropped: u64,
}

/// The result of a recording.
#[derive(Debug)]
pub struct RecordingSummary {
    /// Per camera.
    pub cameras: Vec<CameraSummary>,
    /// Frames refused as malformed.
    pub rejected: u64,
    /// Frames that had to be copied (unaligned or unpadded buffers).
    pub copied: u64,
    /// Writes issued from io_uring registered buffers (WRITE_FIXED).
    pub fixed_writes: u64,
    /// From start to the last file closed.
    pub elapsed: Duration,
    /// "io_uring" or "pwrite".
    pub backend: &'static str,
    /// Degradations worth telling the user (no O_DIRECT, no io_uring, ...).
    pub notes: Vec<String>,
    /// The error that stopped recording, if it did not end by `stop`.
    pub error: Option<RecordError>,
}

impl RecordingSummary {
    /// Payload bytes written over all cameras.
    pub fn bytes(&self) -> u64 {
        self.cameras.iter().map(|c| c.bytes).sum()
    }

    /// Frames written over all cameras.
    pub fn frames(&self) -> u64 {
        self.cameras.iter().map(|c| c.frames).sum()
    }

    /// Frames dropped over all cameras.
    pub fn dropped(&self) -> u64 {
        self.cameras.iter().map(|c| c.dropped).sum()
    }
}

/// The producer side: cheap to clone, never blocks.
#[derive(Debug)]
pub struct RecorderHandle<P> {
    tx: Sender<Msg<P>>,
    shared: Arc<Shared>,
}

impl<P> Clone for RecorderHandle<P> {
    fn clone(&self) -> Self {
        RecorderHandle {
            tx: self.tx.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<P> fmt::Debug for Msg<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Msg::Frame(fr) => write!(f, "Frame({:?})", fr.meta),
            Msg::Stop => f.write_str("Stop"),
        }
    }
}

impl<P: FramePayload> RecorderHandle<P> {
    /// Queues a frame without blocking; when the writer is behind or stopped,
    /// the frame is dropped (its buffer released) and counted.
    pub fn offer(&self, frame: RecordFrame<P>) -> Offer {
        let Some(counters) = self.shared.cameras.get(usize::from(frame.meta.camera)) else {
            return Offer::UnknownCamera;
        };
        counters.offered.fetch_add(1, Ordering::Relaxed);
        if self.shared.stopped.load(Ordering::Acquire) {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            return Offer::Stopped;
        }
        match self.tx.try_send(Msg::Frame(frame)) {
            Ok(()) => Offer::Queued,
            Err(TrySendError::Full(_)) => {
                counters.dropped.fetch_add(1, Ordering::Relaxed);
                Offer::Dropped
            }
            Err(TrySendError::Disconnected(_)) => {
                counters.dropped.fetch_add(1, Ordering::Relaxed);
                Offer::Stopped
            }
        }
    }

    /// A snapshot of the counters.
    pub fn status(&self) -> RecorderStatus {
        status(&self.shared, self.tx.len())
    }
}

fn status(shared: &Shared, queued: usize) -> RecorderStatus {
    RecorderStatus {
        cameras: shared
            .cameras
            .iter()
            .map(|c| CameraStatus {
                offered: c.offered.load(Ordering::Relaxed),
                dropped: c.dropped.load(Ordering::Relaxed),
                written: c.written.load(Ordering::Relaxed),
                bytes: c.bytes.load(Ordering::Relaxed),
            })
            .collect(),
        rejected: shared.rejected.load(Ordering::Relaxed),
        copied: shared.copied.load(Ordering::Relaxed),
        queued,
        running: !shared.stopped.load(Ordering::Acquire),
        error: shared.error.lock().ok().and_then(|e| e.clone()),
    }
}

/// A running recording; `stop` finishes it (dropping it also stops and waits).
#[derive(Debug)]
pub struct Recorder<P> {
    handle: RecorderHandle<P>,
    thread: Option<JoinHandle<RecordingSummary>>,
}

impl<P: FramePayload> Recorder<P> {
    /// Creates one file per camera and directory, sets up the backend and
    /// starts the writer thread.
    pub fn start(config: RecorderConfig, cameras: Vec<CameraInfo>) -> Result<Self, RecordError> {
        let (writer, tx, shared) = Writer::<P>::new(&config, cameras)?;
        let thread = std::thread::Builder::new()
            .name("gvcap-record".into())
            .spawn(move || writer.run())
            .map_err(|source| RecordError::Setup {
                what: "spawn the writer thread".into(),
                source,
            })?;
        Ok(Recorder {
            handle: RecorderHandle { tx, shared },
            thread: Some(thread),
        })
    }

    /// A producer handle (clone it for each capture thread).
    pub fn handle(&self) -> RecorderHandle<P> {
        self.handle.clone()
    }

    /// Queues a frame; see [`RecorderHandle::offer`].
    pub fn offer(&self, frame: RecordFrame<P>) -> Offer {
        self.handle.offer(frame)
    }

    /// A snapshot of the counters.
    pub fn status(&self) -> RecorderStatus {
        self.handle.status()
    }

    /// Writes what is queued, finishes every file and returns the summary.
    pub fn stop(mut self) -> RecordingSummary {
        self.finish()
    }

    fn finish(&mut self) -> RecordingSummary {
        // The writer drains the channel up to this message, so no queued frame is lost.
        let _ = self.handle.tx.send(Msg::Stop);
        let joined = self.thread.take().map(JoinHandle::join);
        self.handle.shared.stopped.store(true, Ordering::Release);
        match joined {
            Some(Ok(summary)) => summary,
            _ => RecordingSummary {
                cameras: Vec::new(),
                rejected: 0,
                copied: 0,
                fixed_writes: 0,
                elapsed: Duration::ZERO,
                backend: "none",
                notes: Vec::new(),
                error: Some(RecordError::Panicked),
            },
        }
    }
}

impl<P> Drop for Recorder<P> {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = self.handle.tx.send(Msg::Stop);
            let _ = thread.join();
        }
    }
}

/// What the backend holds until a write completes.
enum Held<P> {
    Payload(P),
    Buf(AlignedBuf),
}

impl<P: FramePayload> Owner for Held<P> {
    fn bytes(&self) -> &[u8] {
        match self {
            Held::Payload(p) => p.bytes(),
            Held::Buf(b) => b,
        }
    }
}

struct CameraState {
    info: CameraInfo,
    files: Vec<usize>,
    next_seq: u64,
    rr: usize,
}

const RECORD_NO_BITS: u32 = 48;
const RECORD_NO_MASK: u64 = (1 << RECORD_NO_BITS) - 1;
/// Writes a frame may need: header, payload, and an index record it triggers.
const OPS_PER_FRAME: usize = 3;

struct Writer<P> {
    rx: Receiver<Msg<P>>,
    shared: Arc<Shared>,
    backend: Backend<Held<P>>,
    files: Vec<StripeFile>,
    cameras: Vec<CameraState>,
    extent: u64,
    index_interval: usize,
    reserve: u64,
    batch: usize,
    error: Option<RecordError>,
    notes: Vec<String>,
    completions: Vec<Completion<Held<P>>>,
    started: Instant,
}

fn now_unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

impl<P: FramePayload> Writer<P> {
    #[allow(clippy::type_complexity)]
    fn new(
        config: &RecorderConfig,
        cameras: Vec<CameraInfo>,
    ) -> Result<(Self, Sender<Msg<P>>, Arc<Shared>), RecordError> {
        if config.directories.is_empty() {
            return Err(RecordError::Config("no output directory".into()));
        }
        if cameras.is_empty() || cameras.len() > usize::from(u16::MAX) {
            return Err(RecordError::Config("between 1 and 65535 cameras".into()));
        }
        if config.directories.len() > usize::from(u16::MAX) {
            return Err(RecordError::Config("at most 65535 directories".into()));
        }
        if config.queue_depth < OPS_PER_FRAME as u32 || config.queue_depth > 4096 {
            return Err(RecordError::Config(
                "queue depth must be between 3 and 4096".into(),
            ));
        }
        if config.index_interval == 0 {
            return Err(RecordError::Config(
                "index interval must be at least 1".into(),
            ));
        }
        if config.channel_capacity == 0 {
            return Err(RecordError::Config(
                "channel capacity must be at least 1".into(),
            ));
        }
        let stripes = config.directories.len();
        let index_len = padded_len((config.index_interval as usize * INDEX_ENTRY_SIZE) as u64)
            .unwrap_or(u64::MAX);
        let reserve = BLOCK_SIZE as u64 + index_len;
        let max_payload = cameras.iter().map(|c| c.payload_size).max().unwrap_or(0);
        let bounce_len = padded_len(max_payload)
            .and_then(|p| usize::try_from(p + BLOCK_SIZE as u64).ok())
            .ok_or_else(|| RecordError::Config("payload size too large".into()))?;
        let mut notes = Vec::new();
        let recording_id = now_unix_ns() ^ (u64::from(std::process::id()) << 40);
        let created = now_unix_ns();
        let mut files = Vec::new();
        let mut states = Vec::new();
        for (ci, cam) in cameras.iter().enumerate() {
            let mut ids = Vec::new();
            for (si, dir) in config.directories.iter().enumerate() {
                let path = dir.join(format!("{}-cam{ci:02}-s{si}.{FILE_EXTENSION}", config.name));
                let header = FileHeader {
                    version: VERSION,
                    block_size: BLOCK_SIZE as u32,
                    flags: 0,
                    camera_index: ci as u16,
                    stripe_index: si as u16,
                    stripe_count: stripes as u16,
                    block_id_bits: if cam.block_id_bits == 64 { 64 } else { 16 },
                    pixel_format: cam.pixel_format.0,
                    width: cam.width,
                    height: cam.height,
                    payload_size: cam.payload_size,
                    timestamp_frequency_hz: cam.timestamp_frequency_hz,
                    created_unix_ns: created,
                    recording_id,
                    frames: 0,
                    index_offset: 0,
                    data_end: 0,
                    dropped: 0,
                    camera: cam.identity.clone(),
                };
                let (file, n) = StripeFile::create(
                    path.clone(),
                    header,
                    config.direct_io,
                    config.extent_bytes,
                    reserve,
                )
                .map_err(|source| {
                    let what = if source.raw_os_error() == Some(libc::EEXIST) {
                        format!(
                            "{} already exists (choose another name or directory)",
                            path.display()
                        )
                    } else {
                        format!("create {}", path.display())
                    };
                    RecordError::Setup { what, source }
                })?;
                notes.extend(n);
                ids.push(files.len());
                files.push(file);
            }
            states.push(CameraState {
                info: cam.clone(),
                files: ids,
                next_seq: 0,
                rr: 0,
            });
        }
        let depth = config.queue_depth as usize;
        let pool =
            BlockPool::new(depth, config.bounce_buffers.max(1), bounce_len).map_err(|source| {
                RecordError::Setup {
                    what: "allocate the writer's buffers".into(),
                    source,
                }
            })?;
        let backend = match config.backend {
            BackendChoice::Pwrite => Backend::pwrite(pool),
            choice => match Uring::new(config.queue_depth, pool, config.shared_regions.clone()) {
                Ok((u, note)) => {
                    notes.extend(note);
                    Backend::Uring(Box::new(u))
                }
                Err((source, _)) if choice == BackendChoice::IoUring => {
                    return Err(RecordError::Setup {
                        what: "set up io_uring".into(),
                        source,
                    })
                }
                Err((e, pool)) => {
                    notes.push(format!(
                        "io_uring unavailable ({e}; seccomp or kernel.io_uring_disabled?): \
                         writing with synchronous pwrite, expect lower throughput"
                    ));
                    Backend::pwrite(pool)
                }
            },
        };
        let (tx, rx) = crossbeam_channel::bounded(config.channel_capacity);
        let shared = Arc::new(Shared {
            cameras: cameras.iter().map(|_| CameraCounters::default()).collect(),
            rejected: AtomicU64::new(0),
            copied: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            error: Mutex::new(None),
        });
        for n in &notes {
            tracing::warn!("{n}");
        }
        let writer = Writer {
            rx,
            shared: shared.clone(),
            backend,
            files,
            cameras: states,
            extent: config.extent_bytes.max(BLOCK_SIZE as u64),
            index_interval: config.index_interval as usize,
            reserve,
            batch: (depth / OPS_PER_FRAME).max(1),
            error: None,
            notes,
            completions: Vec::with_capacity(depth),
            started: Instant::now(),
        };
        Ok((writer, tx, shared))
    }

    fn run(mut self) -> RecordingSummary {
        let mut stopping = false;
        while !stopping || self.backend.in_flight() > 0 {
            self.reap();
            stopping |= self.error.is_some();
            let mut taken = 0;
            while !stopping && taken < self.batch && self.backend.free_ops() >= OPS_PER_FRAME {
                let msg = if self.backend.in_flight() == 0 && taken == 0 {
                    self.rx.recv().ok()
                } else {
                    match self.rx.try_recv() {
                        Ok(m) => Some(m),
                        Err(crossbeam_channel::TryRecvError::Empty) => break,
                        Err(crossbeam_channel::TryRecvError::Disconnected) => None,
                    }
                };
                match msg {
                    Some(Msg::Frame(frame)) => {
                        self.write_frame(frame);
                        taken += 1;
                        stopping |= self.error.is_some();
                    }
                    Some(Msg::Stop) | None => stopping = true,
                }
            }
            if let Err(e) = self.backend.submit() {
                self.fail(RecordError::Backend(e));
                stopping = true;
            }
            let busy = self.backend.free_ops() < OPS_PER_FRAME || self.rx.is_empty() || stopping;
            if self.backend.in_flight() > 0 && busy {
                if let Err(e) = self.backend.wait() {
                    self.fail(RecordError::Backend(e));
                    break;
                }
            }
        }
        self.finish()
    }

    fn fail(&mut self, error: RecordError) {
        if self.error.is_none() {
            tracing::error!("{error}");
            if let Ok(mut e) = self.shared.error.lock() {
                *e = Some(error.to_string());
            }
            self.error = Some(error);
        }
    }

    fn reap(&mut self) {
        let mut done = std::mem::take(&mut self.completions);
        self.backend.reap(&mut done);
        for c in done.drain(..) {
            self.on_completion(c);
        }
        self.completions = done;
    }

    fn on_completion(&mut self, c: Completion<Held<P>>) {
        drop(c.owner);
        let fi = (c.user_data >> RECORD_NO_BITS) as usize;
        let no = c.user_data & RECORD_NO_MASK;
        let Some(file) = self.files.get_mut(fi) else {
            return;
        };
        let cam = usize::from(file.header.camera_index);
        if let Some(p) = no
            .checked_sub(file.base_no)
            .and_then(|i| file.pending.get_mut(i as usize))
        {
            p.ops = p.ops.saturating_sub(1);
            if let Err(e) = c.result {
                p.error.get_or_insert(e);
            }
        }
        let mut failure = None;
        while file.pending.front().is_some_and(|p| p.ops == 0) {
            let Some(p) = file.pending.pop_front() else {
                break;
            };
            file.base_no += 1;
            file.in_flight_bytes = file.in_flight_bytes.saturating_sub(p.end - p.offset);
            if file.failed_at.is_some() {
                continue;
            }
            match p.error {
                Some(source) => {
                    file.failed_at = Some(p.offset);
                    failure = Some(if source.raw_os_error() == Some(libc::ENOSPC) {
                        RecordError::DiskFull {
                            path: file.path.clone(),
                            bytes: p.offset,
                        }
                    } else {
                        RecordError::Write {
                            path: file.path.clone(),
                            offset: p.offset,
                            source,
                        }
                    });
                }
                None => {
                    file.durable_end = p.end;
                    if let Some(bytes) = p.frame_payload {
                        file.durable_frames += 1;
                        let counters = &self.shared.cameras[cam];
                        counters.written.fetch_add(1, Ordering::Relaxed);
                        counters.bytes.fetch_add(bytes, Ordering::Relaxed);
                    }
                }
            }
        }
        if let Some(f) = failure {
            self.fail(f);
        }
    }

    /// Blocks until a write completes and retires it; false when nothing is in flight.
    fn wait_one(&mut self) -> bool {
        if self.backend.in_flight() == 0 {
            return false;
        }
        if let Err(e) = self.backend.wait() {
            self.fail(RecordError::Backend(e));
            return false;
        }
        self.reap();
        true
    }

    fn reject(&mut self, why: &str) {
        if self.shared.rejected.fetch_add(1, Ordering::Relaxed) == 0 {
            let note = format!("frames rejected: {why}");
            tracing::warn!("{note}");
            self.notes.push(note);
        }
    }

    fn pick_stripe(&mut self, cam: usize) -> usize {
        let state = &mut self.cameras[cam];
        let n = state.files.len();
        let mut best = state.files[state.rr % n];
        let mut best_bytes = self.files[best].in_flight_bytes;
        for k in 1..n {
            let fi = state.files[(state.rr + k) % n];
            if self.files[fi].in_flight_bytes < best_bytes {
                best = fi;
                best_bytes = self.files[fi].in_flight_bytes;
            }
        }
        state.rr = (state.rr + 1) % n;
        best
    }

    fn write_frame(&mut self, frame: RecordFrame<P>) {
        let meta = frame.meta;
        let cam = usize::from(meta.camera);
        if cam >= self.cameras.len() {
            return self.reject("unknown camera index");
        }
        let bytes = frame.payload.bytes();
        let Ok(size) = usize::try_from(meta.payload_size) else {
            return self.reject("payload size does not fit in memory");
        };
        if bytes.len() < size {
            return self.reject("payload buffer shorter than its payload size");
        }
        let padded = padded_len(meta.payload_size).unwrap_or(u64::MAX);
        if padded > u64::from(u32::MAX) - BLOCK_SIZE as u64 {
            return self.reject("payload larger than 4 GiB");
        }
        let padded = padded as usize;
        let direct = bytes.as_ptr() as usize % BLOCK_SIZE == 0 && bytes.len() >= padded;
        if !direct && BLOCK_SIZE + padded > self.backend.pool().bounce_len() {
            return self.reject("unaligned payload larger than the camera's payload size");
        }
        // Room for every write of this record (and an index record it may trigger).
        while self.backend.free_ops() < OPS_PER_FRAME {
            if !self.wait_one() {
                break;
            }
        }
        let class = if direct {
            SlotClass::Header
        } else {
            SlotClass::Bounce
        };
        let token = loop {
            if let Some(t) = self.backend.pool().acquire(class) {
                break t;
            }
            if !self.wait_one() {
                self.shared.cameras[cam]
                    .dropped
                    .fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let fi = self.pick_stripe(cam);
        let rec_len = (BLOCK_SIZE + padded) as u64;
        let extent = self.extent;
        let reserve = self.reserve;
        if let Err(e) = self.files[fi].make_room(rec_len, reserve, extent) {
            self.shared.cameras[cam]
                .dropped
                .fetch_add(1, Ordering::Relaxed);
            self.backend.pool().release(token.index());
            let file = &self.files[fi];
            return self.fail(match e {
                SpaceError::Full => RecordError::DiskFull {
                    path: file.path.clone(),
                    bytes: file.allocated,
                },
                SpaceError::Io(source) => RecordError::Write {
                    path: file.path.clone(),
                    offset: file.allocated,
                    source,
                },
            });
        }
        let state = &mut self.cameras[cam];
        let sequence = state.next_seq;
        state.next_seq += 1;
        let header = RecordHeader {
            kind: RecordKind::Frame,
            camera_index: meta.camera,
            flags: meta.flags.bits(),
            sequence,
            block_id: meta.block_id,
            camera_timestamp: meta.camera_timestamp,
            receive_timestamp_ns: meta.receive_timestamp_ns,
            timestamp_source: meta.timestamp_source,
            payload_size: meta.payload_size,
            pixel_format: meta.pixel_format.0,
            width: meta.width,
            height: meta.height,
            prev_index_offset: 0,
            crc: 0,
        };
        let payload = &bytes[..size];
        let slot = self.backend.pool().slot_mut(&token);
        // The slot is at least one block (header) or one record (bounce): emit cannot fail.
        let _ = header.emit(payload, &mut slot[..BLOCK_SIZE]);
        let file = &mut self.files[fi];
        let offset = file.next;
        file.next += rec_len;
        file.in_flight_bytes += rec_len;
        let no = file.base_no + file.pending.len() as u64;
        let user_data = ((fi as u64) << RECORD_NO_BITS) | (no & RECORD_NO_MASK);
        let mut ops = Vec::with_capacity(2);
        if direct {
            ops.push(WriteOp {
                offset,
                source: Source::Slot(token),
                len: BLOCK_SIZE,
                user_data,
            });
            ops.push(WriteOp {
                offset: offset + BLOCK_SIZE as u64,
                source: Source::Owned(Held::Payload(frame.payload)),
                len: padded,
                user_data,
            });
        } else {
            self.shared.copied.fetch_add(1, Ordering::Relaxed);
            slot[BLOCK_SIZE..BLOCK_SIZE + size].copy_from_slice(payload);
            slot[BLOCK_SIZE + size..BLOCK_SIZE + padded].fill(0);
            drop(frame);
            ops.push(WriteOp {
                offset,
                source: Source::Slot(token),
                len: BLOCK_SIZE + padded,
                user_data,
            });
        }
        file.pending.push_back(Pending {
            offset,
            end: offset + rec_len,
            ops: ops.len() as u32,
            frame_payload: Some(meta.payload_size),
            error: None,
        });
        file.index_pending.push(IndexEntry {
            sequence,
            block_id: meta.block_id,
            offset,
        });
        self.push_ops(fi, ops);
        if self.files[fi].index_pending.len() >= self.index_interval {
            self.write_index(fi);
        }
    }

    /// Pushes the writes of the newest pending record of file `fi`; a refused
    /// push marks the record failed.
    fn push_ops(&mut self, fi: usize, ops: Vec<WriteOp<Held<P>>>) {
        for op in ops {
            let pushed = self.backend.push(&self.files[fi].file, op);
            if let Err(e) = pushed {
                let file = &mut self.files[fi];
                if let Some(p) = file.pending.back_mut() {
                    p.ops = p.ops.saturating_sub(1);
                    p.error.get_or_insert(e);
                }
            }
        }
    }

    /// Writes an index record with the entries gathered since the previous one.
    fn write_index(&mut self, fi: usize) {
        let entries = std::mem::take(&mut self.files[fi].index_pending);
        if entries.is_empty() {
            return;
        }
        let payload_len = entries.len() * INDEX_ENTRY_SIZE;
        let padded = padded_len(payload_len as u64).unwrap_or(0) as usize;
        let rec_len = BLOCK_SIZE + padded;
        let mut buf = match AlignedBuf::zeroed(rec_len) {
            Ok(b) => b,
            Err(source) => {
                let path = self.files[fi].path.clone();
                return self.fail(RecordError::Write {
                    path,
                    offset: self.files[fi].next,
                    source,
                });
            }
        };
        // The reserve kept by make_room holds this record; growing is only a safeguard.
        let extent = self.extent;
        if self.files[fi].make_room(rec_len as u64, 0, extent).is_err() {
            let file = &self.files[fi];
            let (path, bytes) = (file.path.clone(), file.allocated);
            return self.fail(RecordError::DiskFull { path, bytes });
        }
        while self.backend.free_ops() == 0 {
            if !self.wait_one() {
                break;
            }
        }
        let file = &mut self.files[fi];
        let (head, body) = buf.split_at_mut(BLOCK_SIZE);
        for (i, e) in entries.iter().enumerate() {
            e.emit(&mut body[i * INDEX_ENTRY_SIZE..]);
        }
        let header = RecordHeader {
            kind: RecordKind::Index,
            camera_index: file.header.camera_index,
            flags: 0,
            sequence: file.index_records,
            block_id: 0,
            camera_timestamp: 0,
            receive_timestamp_ns: 0,
            timestamp_source: TimestampSource::Unknown,
            payload_size: payload_len as u64,
            pixel_format: 0,
            width: 0,
            height: 0,
            prev_index_offset: file.last_index_offset,
            crc: 0,
        };
        let _ = header.emit(&body[..payload_len], head);
        let offset = file.next;
        file.next += rec_len as u64;
        file.in_flight_bytes += rec_len as u64;
        file.last_index_offset = offset;
        file.index_records += 1;
        let no = file.base_no + file.pending.len() as u64;
        file.pending.push_back(Pending {
            offset,
            end: offset + rec_len as u64,
            ops: 1,
            frame_payload: None,
            error: None,
        });
        let op = WriteOp {
            offset,
            source: Source::Owned(Held::Buf(buf)),
            len: rec_len,
            user_data: ((fi as u64) << RECORD_NO_BITS) | (no & RECORD_NO_MASK),
        };
        self.push_ops(fi, vec![op]);
    }

    fn drain(&mut self) {
        loop {
            if let Err(e) = self.backend.submit() {
                self.fail(RecordError::Backend(e));
            }
            self.reap();
            if !self.wait_one() {
                break;
            }
        }
    }

    fn finish(mut self) -> RecordingSummary {
        self.drain();
        for fi in 0..self.files.len() {
            if self.files[fi].failed_at.is_none() {
                self.write_index(fi);
            }
        }
        self.drain();
        // Frames still queued were offered but will not be written.
        self.shared.stopped.store(true, Ordering::Release);
        while let Ok(msg) = self.rx.try_recv() {
            if let Msg::Frame(f) = msg {
                if let Some(c) = self.shared.cameras.get(usize::from(f.meta.camera)) {
                    c.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        let stopped_on_error = self.error.is_some();
        let flags = file_flags::CLOSED
            | if stopped_on_error {
                file_flags::STOPPED_ON_ERROR
            } else {
                0
            };
        let mut close_error = None;
        for file in &mut self.files {
            let cam = usize::from(file.header.camera_index);
            let dropped = self.shared.cameras[cam].dropped.load(Ordering::Relaxed);
            if let Err(source) = file.close(flags, dropped) {
                close_error.get_or_insert(RecordError::Close {
                    path: file.path.clone(),
                    source,
                });
            }
        }
        if let Some(e) = close_error {
            self.fail(e);
        }
        let counters = status(&self.shared, 0);
        let cameras = self
            .cameras
            .iter()
            .enumerate()
            .map(|(i, c)| CameraSummary {
                camera: i as u16,
                identity: c.info.identity.clone(),
                files: c
                    .files
                    .iter()
                    .map(|&f| self.files[f].path.clone())
                    .collect(),
                frames: counters.cameras[i].written,
                bytes: counters.cameras[i].bytes,
                dropped: counters.cameras[i].dropped,
            })
            .collect();
        RecordingSummary {
            cameras,
            rejected: counters.rejected,
            copied: counters.copied,
            fixed_writes: self.backend.fixed_writes(),
            elapsed: self.started.elapsed(),
            backend: self.backend.name(),
            notes: std::mem::take(&mut self.notes),
            error: self.error.take(),
        }
    }
}
