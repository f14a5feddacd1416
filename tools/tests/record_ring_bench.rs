//! The recorder fed the way `gvcap record` feeds it, without cameras: frames
//! published into a frame ring (4096-padded slots, hugepages when there are
//! some) and handed to `Recorder<stream::Frame>` as they are, no copy. For
//! scripts/bench-record-rig.sh (ignored by default; run in release): it
//! separates the recorder's rate from the rig's.
//!
//! Environment: BENCH_DIR (output directory, required), BENCH_MB (total,
//! default 2048), BENCH_FRAME_BYTES (payload, default 1310720), BENCH_DEPTH
//! (io depth, default 32), BENCH_SLOTS (ring slots, default 32).
//! Prints one line: `record_ring_bench: bytes=N seconds=S mb_per_s=R ...`.

use std::time::Instant;

use gvcap::record::{CameraIdentity, CameraInfo, Offer, RecordFrame, Recorder, RecorderConfig};
use gvcap::stream::{
    CompletedFrame, Frame, FrameFlags, FrameInfo, FrameRing, HugePages, RingConfig, RxTimestamp,
    SlotPool,
};
use gvcap::wire::gvsp::PixelFormat;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
#[ignore = "benchmark: run through scripts/bench-record-rig.sh"]
fn record_from_ring_slots() {
    let dir = std::env::var("BENCH_DIR").expect("BENCH_DIR: the output directory");
    let total = env("BENCH_MB", 2048) << 20;
    let payload = env("BENCH_FRAME_BYTES", 1_310_720);
    let depth = env("BENCH_DEPTH", 32) as u32;
    let slots = env("BENCH_SLOTS", 32);
    // As CaptureSession sizes them: the payload rounded up to 4096 bytes.
    let mut ring = RingConfig::new(slots, payload.next_multiple_of(4096));
    ring.queue_depth = slots;
    ring.huge_pages = HugePages::Auto;
    let (mut producer, receiver) = FrameRing::create(ring).unwrap();
    let hugepage_slots = producer.hugepage_slots();

    let camera = CameraInfo {
        identity: CameraIdentity::default(),
        pixel_format: PixelFormat::MONO8,
        width: payload as u32,
        height: 1,
        payload_size: payload as u64,
        timestamp_frequency_hz: 1_000_000_000,
        block_id_bits: 64,
    };
    let mut config = RecorderConfig::new(vec![dir.into()]);
    config.name = "ringbench".into();
    config.queue_depth = depth;
    // Room for every slot: the ring, not the channel, holds the producer back.
    config.channel_capacity = slots;
    let frames = (total / payload) as u64;
    let start = Instant::now();
    let recorder = Recorder::<Frame>::start(config, vec![camera.clone()]).unwrap();
    let mut waits = 0u64;
    for block in 1..=frames {
        let mut slot = loop {
            if let Some(slot) = producer.acquire() {
                break slot;
            }
            // Every slot is being written: wait for the disk.
            waits += 1;
            std::thread::yield_now();
        };
        slot.as_mut()[..8].copy_from_slice(&block.to_le_bytes());
        let info = FrameInfo {
            camera: 0,
            block_id: block,
            extended_ids: true,
            payload_type: Some(1),
            camera_timestamp: Some(block),
            image: None,
            trailer_size_y: None,
            first_rx: RxTimestamp::tai_now(),
            last_rx: RxTimestamp::NONE,
            len: payload,
            flags: FrameFlags::default(),
            packets_expected: 0,
            packets_received: 0,
            packets_duplicated: 0,
            packets_resent: 0,
            resend_requests: 0,
        };
        assert!(producer.publish(CompletedFrame { info, slot }));
        let frame = receiver.try_recv().expect("the frame just published");
        match recorder.offer(RecordFrame::from_capture(frame, &camera)) {
            Offer::Queued => {}
            other => panic!("frame {block} not queued: {other:?}"),
        }
    }
    let summary = recorder.stop();
    let seconds = start.elapsed().as_secs_f64();
    assert!(summary.error.is_none(), "{:?}", summary.error);
    assert_eq!(summary.frames(), frames);
    assert_eq!(summary.copied, 0, "ring slots are written as they are");
    let bytes = summary.bytes();
    println!(
        "record_ring_bench: bytes={bytes} seconds={seconds:.3} mb_per_s={:.1} backend={} \
         fixed_writes={} copied={} hugepage_slots={hugepage_slots}/{slots} slot_waits={waits}",
        bytes as f64 / seconds / 1e6,
        summary.backend,
        summary.fixed_writes,
        summary.copied,
    );
}
