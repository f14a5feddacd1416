//! Shared helpers of the recording tests: camera descriptions, pattern
//! frames, and reading a camera's stripes back in sequence order.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use gvcap::record::{
    AlignedBuf, CameraIdentity, CameraInfo, Frame, FrameFlags, FrameMeta, RecordFrame,
    RecordingReader, TimestampSource,
};
use gvcap::wire::gvsp::PixelFormat;

/// A Mono8 camera of `width` x `height` named after its index.
pub fn camera(index: u16, width: u32, height: u32) -> CameraInfo {
    CameraInfo {
        identity: CameraIdentity {
            vendor: "gvcap-test".into(),
            model: "pattern".into(),
            serial: format!("SN{index:04}"),
            user_name: format!("cam{index}"),
        },
        pixel_format: PixelFormat::MONO8,
        width,
        height,
        payload_size: u64::from(width) * u64::from(height),
        timestamp_frequency_hz: 1_000_000_000,
        block_id_bits: 16,
    }
}

/// The byte at `i` of camera `cam`'s frame `block_id`.
pub fn pattern_byte(cam: u16, block_id: u64, i: usize) -> u8 {
    ((u64::from(cam) * 31 + block_id * 7 + i as u64) % 251) as u8
}

/// Fills `buf[..len]` with the pattern.
pub fn fill_pattern(buf: &mut [u8], cam: u16, block_id: u64, len: usize) {
    for (i, b) in buf[..len].iter_mut().enumerate() {
        *b = pattern_byte(cam, block_id, i);
    }
}

/// The metadata the tests record for frame `block_id` of `cam`.
pub fn meta(cam: u16, block_id: u64, size: u64) -> FrameMeta {
    FrameMeta {
        camera: cam,
        block_id,
        camera_timestamp: block_id * 10_000_000 + u64::from(cam) * 1_000,
        receive_timestamp_ns: 1_700_000_000_000_000_000 + block_id * 10_000_000,
        timestamp_source: TimestampSource::Tai,
        pixel_format: PixelFormat::MONO8,
        width: size as u32,
        height: 1,
        payload_size: size,
        flags: FrameFlags {
            incomplete: block_id % 5 == 0,
            started_with_ptp: true,
            resent: block_id % 7 == 0,
        },
    }
}

/// An aligned pattern frame.
pub fn aligned_frame(cam: u16, block_id: u64, size: usize) -> RecordFrame<AlignedBuf> {
    let mut buf = AlignedBuf::zeroed(size).expect("allocate frame");
    fill_pattern(&mut buf, cam, block_id, size);
    RecordFrame {
        meta: meta(cam, block_id, size as u64),
        payload: buf,
    }
}

/// Checks a frame read back against the pattern and metadata; panics with the frame named.
pub fn check_frame(frame: &Frame, cam: u16) {
    let h = &frame.header;
    let expected = meta(cam, h.block_id, h.payload_size);
    assert_eq!(h.camera_index, cam);
    assert_eq!(h.camera_timestamp, expected.camera_timestamp);
    assert_eq!(h.receive_timestamp_ns, expected.receive_timestamp_ns);
    assert_eq!(h.timestamp_source, TimestampSource::Tai);
    assert_eq!(h.flags, expected.flags.bits());
    assert_eq!(h.pixel_format, PixelFormat::MONO8.0);
    assert_eq!(h.width as u64, h.payload_size);
    assert_eq!(frame.payload.len() as u64, h.payload_size);
    for (i, &b) in frame.payload.iter().enumerate() {
        assert_eq!(
            b,
            pattern_byte(cam, h.block_id, i),
            "camera {cam} block {} byte {i}",
            h.block_id
        );
    }
}

/// Every verified frame of the given stripe files, in sequence order.
pub fn read_camera(files: &[PathBuf]) -> Vec<Frame> {
    let mut frames = Vec::new();
    for f in files {
        let mut r = RecordingReader::open(f).expect("open recording");
        for fr in r.frames() {
            frames.push(fr.expect("frame verifies"));
        }
    }
    frames.sort_by_key(|f| f.header.sequence);
    frames
}

/// A fresh temporary directory for recordings (on a disk filesystem, for O_DIRECT).
pub fn temp_dir() -> tempfile::TempDir {
    let base = Path::new("/var/tmp");
    if base.is_dir() {
        tempfile::tempdir_in(base).expect("temp dir")
    } else {
        tempfile::tempdir().expect("temp dir")
    }
}
