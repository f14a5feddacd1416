//! Recorder throughput, for scripts/bench-record.sh (ignored by default; run in release):
//! writes synthetic frames from one registered region, as a frame ring would.
//!
//! Environment: BENCH_DIR (output directory, required), BENCH_MB (total, default 512),
//! BENCH_FRAME_KB (frame size, default 1024), BENCH_DEPTH (queue depth, default 64).
//! Prints one line: `record_bench: bytes=N seconds=S mb_per_s=R backend=B ...`.

use std::sync::Arc;
use std::time::Instant;

use gvcap::record::{
    AlignedBuf, CameraIdentity, CameraInfo, FrameFlags, FrameMeta, Offer, RecordFrame, Recorder,
    RecorderConfig, RegionSlice, SharedRegion, TimestampSource,
};
use gvcap::wire::gvsp::PixelFormat;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
#[ignore = "benchmark: run through scripts/bench-record.sh"]
fn record_throughput() {
    let dir = std::env::var("BENCH_DIR").expect("BENCH_DIR: the output directory");
    let total = env("BENCH_MB", 512) << 20;
    let frame = env("BENCH_FRAME_KB", 1024) << 10;
    let depth = env("BENCH_DEPTH", 64) as u32;
    let slots = 64;
    let mut region = AlignedBuf::hugepages(slots * frame)
        .or_else(|_| AlignedBuf::zeroed(slots * frame))
        .unwrap();
    for (i, b) in region.iter_mut().enumerate() {
        *b = (i % 251) as u8;
    }
    let region = Arc::new(region);
    let mut config = RecorderConfig::new(vec![dir.into()]);
    config.name = "bench".into();
    config.queue_depth = depth;
    config.channel_capacity = slots;
    config.shared_regions = vec![region.clone() as SharedRegion];
    let camera = CameraInfo {
        identity: CameraIdentity::default(),
        pixel_format: PixelFormat::MONO8,
        width: frame as u32,
        height: 1,
        payload_size: frame as u64,
        timestamp_frequency_hz: 1_000_000_000,
        block_id_bits: 64,
    };
    let frames = total / frame;
    let start = Instant::now();
    let rec = Recorder::<RegionSlice<AlignedBuf>>::start(config, vec![camera]).unwrap();
    let mut retries = 0u64;
    for b in 0..frames as u64 {
        let at = (b as usize % slots) * frame;
        loop {
            let meta = FrameMeta {
                camera: 0,
                block_id: b + 1,
                camera_timestamp: b,
                receive_timestamp_ns: b,
                timestamp_source: TimestampSource::Monotonic,
                pixel_format: PixelFormat::MONO8,
                width: frame as u32,
                height: 1,
                payload_size: frame as u64,
                flags: FrameFlags::default(),
            };
            let payload = RegionSlice::new(region.clone(), at..at + frame).unwrap();
            // The bench measures the disk path: wait for room instead of dropping.
            match rec.offer(RecordFrame { meta, payload }) {
                Offer::Queued => break,
                Offer::Dropped => {
                    retries += 1;
                    std::thread::yield_now();
                }
                other => panic!("recorder stopped: {other:?}"),
            }
        }
    }
    let summary = rec.stop();
    let seconds = start.elapsed().as_secs_f64();
    assert!(summary.error.is_none(), "{:?}", summary.error);
    assert_eq!(summary.frames(), frames as u64);
    let bytes = summary.bytes();
    println!(
        "record_bench: bytes={bytes} seconds={seconds:.3} mb_per_s={:.1} backend={} fixed_writes={} copied={} offers_retried={retries}",
        bytes as f64 / seconds / 1e6,
        summary.backend,
        summary.fixed_writes,
        summary.copied,
    );
}
