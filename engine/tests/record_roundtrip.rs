//! Frames written by the recorder read back byte by byte, through every kind
//! of payload buffer, both backends and several stripes; drops are counted.

mod record_support;

use std::sync::Arc;

use gvcap::record::{
    AlignedBuf, BackendChoice, FramePayload, Offer, RecordFrame, Recorder, RecorderConfig,
    RecordingReader, RegionSlice, SharedRegion,
};
use record_support::*;

/// A payload of any of the three kinds the writer handles differently.
#[derive(Debug)]
enum Payload {
    Aligned(AlignedBuf),
    Plain(Vec<u8>),
    Region(RegionSlice<AlignedBuf>),
}

impl FramePayload for Payload {
    fn bytes(&self) -> &[u8] {
        match self {
            Payload::Aligned(b) => b.bytes(),
            Payload::Plain(v) => v.bytes(),
            Payload::Region(r) => r.bytes(),
        }
    }
}

const SIZES: [usize; 5] = [4096, 10_000, 1, 65_536, 123_457];
const MAX: usize = 123_457;
const PER_CAMERA: u64 = 60;

fn round_trip(backend: BackendChoice, directories: usize) {
    let dirs: Vec<_> = (0..directories).map(|_| temp_dir()).collect();
    let mut config = RecorderConfig::new(dirs.iter().map(|d| d.path().to_path_buf()).collect());
    config.backend = backend;
    config.queue_depth = 16;
    config.channel_capacity = 4 * PER_CAMERA as usize;
    config.index_interval = 7;
    config.extent_bytes = 1 << 20;

    // A shared region registered with the ring: frames of camera 1 live in it.
    let slot = 128 * 1024;
    let mut region = AlignedBuf::zeroed(slot * PER_CAMERA as usize).unwrap();
    for b in 0..PER_CAMERA {
        let size = SIZES[b as usize % SIZES.len()];
        let at = b as usize * slot;
        fill_pattern(&mut region[at..], 1, b + 100, size);
    }
    let region = Arc::new(region);
    config.shared_regions = vec![region.clone() as SharedRegion];

    let cameras = vec![camera(0, MAX as u32, 1), camera(1, MAX as u32, 1)];
    let rec = Recorder::<Payload>::start(config, cameras).expect("start");
    let handle = rec.handle();
    for b in 0..PER_CAMERA {
        let size = SIZES[b as usize % SIZES.len()];
        // Camera 0 alternates aligned buffers and plain vectors (copied).
        let payload = if b % 2 == 0 {
            let f = aligned_frame(0, b, size);
            Payload::Aligned(f.payload)
        } else {
            let mut v = vec![0u8; size];
            fill_pattern(&mut v, 0, b, size);
            Payload::Plain(v)
        };
        let frame = RecordFrame {
            meta: meta(0, b, size as u64),
            payload,
        };
        assert_eq!(handle.offer(frame), Offer::Queued);
        let at = b as usize * slot;
        let view = RegionSlice::new(region.clone(), at..at + slot).unwrap();
        let frame = RecordFrame {
            meta: meta(1, b + 100, size as u64),
            payload: Payload::Region(view),
        };
        assert_eq!(handle.offer(frame), Offer::Queued);
    }
    let summary = rec.stop();
    assert!(summary.error.is_none(), "{:?}", summary.error);
    assert_eq!(summary.frames(), 2 * PER_CAMERA);
    assert_eq!(summary.dropped(), 0);
    assert_eq!(summary.rejected, 0);
    let expected_backend = if backend == BackendChoice::Pwrite {
        "pwrite"
    } else {
        "io_uring"
    };
    assert_eq!(summary.backend, expected_backend);
    // Camera 0's odd frames are plain vectors: copied unless malloc happened to align them.
    assert!(summary.copied > 0 && summary.copied <= PER_CAMERA / 2);
    if backend != BackendChoice::Pwrite {
        // Headers of direct frames and bounce buffers come from the writer's
        // registered pool, camera 1's payloads from the registered region;
        // camera 0's aligned buffers and the index records are not registered.
        let direct = 2 * PER_CAMERA - summary.copied;
        assert_eq!(summary.fixed_writes, direct + summary.copied + PER_CAMERA);
    }

    for cam in &summary.cameras {
        assert_eq!(cam.files.len(), directories);
        let frames = read_camera(&cam.files);
        assert_eq!(frames.len() as u64, PER_CAMERA);
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(f.header.sequence, i as u64);
            let base = if cam.camera == 0 { 0 } else { 100 };
            assert_eq!(f.header.block_id, base + i as u64);
            assert_eq!(f.payload.len(), SIZES[i % SIZES.len()]);
            check_frame(f, cam.camera);
        }
        let mut total = 0;
        for path in &cam.files {
            let mut r = RecordingReader::open(path).unwrap();
            let h = r.header().clone();
            assert!(h.is_closed());
            assert_eq!(h.stripe_count as usize, directories);
            assert_eq!(h.camera.serial, format!("SN{:04}", cam.camera));
            let scan = r.scan().unwrap();
            assert_eq!(scan.torn_bytes, 0);
            assert_eq!(scan.unused_bytes, 0, "preallocation was not cut");
            assert!(scan.damaged.is_empty());
            assert_eq!(scan.data_end, scan.file_len);
            assert_eq!(scan.frames, h.frames);
            // The index from the index records, and rebuilt from the headers, agree with the scan.
            assert_eq!(r.index().unwrap(), scan.index);
            assert_eq!(r.rebuild_index().unwrap(), scan.index);
            assert!(scan.index_records >= 1);
            for e in &scan.index {
                let f = r.read_frame_at(e.offset).unwrap();
                assert_eq!(f.header.sequence, e.sequence);
            }
            total += h.frames;
        }
        assert_eq!(total, PER_CAMERA);
    }
}

#[test]
fn round_trip_io_uring_two_stripes() {
    round_trip(BackendChoice::Auto, 2);
}

#[test]
fn round_trip_pwrite_one_stripe() {
    round_trip(BackendChoice::Pwrite, 1);
}

#[test]
fn a_full_channel_drops_and_counts() {
    let dir = temp_dir();
    let mut config = RecorderConfig::new(vec![dir.path().to_path_buf()]);
    config.channel_capacity = 1;
    config.queue_depth = 4;
    let rec = Recorder::<AlignedBuf>::start(config, vec![camera(0, 1 << 20, 1)]).unwrap();
    let frames: Vec<_> = (0..200).map(|b| aligned_frame(0, b, 1 << 20)).collect();
    let mut dropped = 0;
    for f in frames {
        match rec.offer(f) {
            Offer::Queued => {}
            Offer::Dropped => dropped += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(dropped > 0, "a one-frame channel should overflow");
    let status = rec.status();
    assert_eq!(status.cameras[0].offered, 200);
    assert_eq!(status.cameras[0].dropped, dropped);
    let summary = rec.stop();
    assert!(summary.error.is_none());
    assert_eq!(summary.cameras[0].dropped, dropped);
    assert_eq!(summary.cameras[0].frames, 200 - dropped);
    let frames = read_camera(&summary.cameras[0].files);
    assert_eq!(frames.len() as u64, 200 - dropped);
    frames.iter().for_each(|f| check_frame(f, 0));
    let r = RecordingReader::open(&summary.cameras[0].files[0]).unwrap();
    assert_eq!(r.header().dropped, dropped);
}

#[test]
fn an_existing_file_is_never_overwritten() {
    let dir = temp_dir();
    let config = RecorderConfig::new(vec![dir.path().to_path_buf()]);
    let rec = Recorder::<AlignedBuf>::start(config.clone(), vec![camera(0, 64, 1)]).unwrap();
    rec.stop();
    let err = Recorder::<AlignedBuf>::start(config, vec![camera(0, 64, 1)]).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
}
