//! Recording raw frames to disk: the on-disk format, the io_uring writer, the
//! reader, inspection and export.
//!
//! Invariants:
//! - the format ([`format`]) is versioned and every parser is panic-free;
//! - the writer never blocks its producer and leaves valid files however the
//!   recording ends (stop, disk full, write error); after a crash every file
//!   reads back up to its last complete record;
//! - all `unsafe` of this module tree lives in `uring` (io_uring submissions
//!   and buffer registration); every other file is safe Rust.
//!
//! # Public API
//!
//! Writing:
//! - `Recorder::<P>::start(RecorderConfig, Vec<CameraInfo>) -> Result<Recorder<P>, RecordError>`
//!   with `P: FramePayload` (the frame buffer type: a frame-ring slot handle,
//!   [`AlignedBuf`], [`RegionSlice`], `Vec<u8>`);
//! - `Recorder::handle(&self) -> RecorderHandle<P>`, then per frame
//!   `RecorderHandle::offer(&self, RecordFrame<P>) -> Offer` (never blocks);
//! - `Recorder::status(&self) -> RecorderStatus` for progress displays;
//! - `Recorder::stop(self) -> RecordingSummary` (drains, finishes files; `error` set if recording stopped early).
//!
//! Reading:
//! - `RecordingReader::open(path) -> Result<RecordingReader<File>, ReadError>`, then
//!   `header()`, `frames()` (verified frames), `read_frame_at(offset)`, `index()`, `scan() -> ScanReport`;
//! - `inspect(&[PathBuf]) -> Result<InspectReport, ReadError>` (serde `Serialize`);
//! - `export_frames(&[PathBuf], Range<u64>, ExportFormat, &Path) -> Result<Vec<PathBuf>, ExportError>`
//!   (frames by sequence number; raw, PGM/PPM, PNG, TIFF), `to_pnm(&RecordHeader, &[u8])`,
//!   `to_image(&RecordHeader, &[u8], image::ImageFormat)`;
//! - `export_pcapng(&[PathBuf], Range<u64>, &Path) -> Result<u64, ExportError>` (GVSP packets for Wireshark).

pub mod format;

mod backend;
mod buffer;
mod export;
mod inspect;
mod pcapng;
mod pool;
mod reader;
mod stripe;
mod uring;
mod writer;

pub use buffer::{AlignedBuf, FramePayload, RegionSlice};
pub use export::{export_frames, export_pcapng, to_image, to_pnm, ExportError, ExportFormat};
pub use format::{
    CameraIdentity, FileHeader, IndexEntry, RecordHeader, RecordKind, TimestampSource,
};
pub use inspect::{block_id_step, inspect, Alignment, CameraReport, Gap, InspectReport, Stats};
pub use pcapng::{PcapngWriter, CAMERA_PORT as PCAPNG_GVSP_PORT};
pub use reader::{DamagedRecord, Frame, Frames, ReadError, RecordingReader, ScanReport};
pub use uring::SharedRegion;
pub use writer::{
    BackendChoice, CameraInfo, CameraStatus, CameraSummary, FrameFlags, FrameMeta, Offer,
    RecordError, RecordFrame, Recorder, RecorderConfig, RecorderHandle, RecorderStatus,
    RecordingSummary,
};
