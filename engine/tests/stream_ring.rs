//! Frame ring tests: slots come back on drop, consumers that fall behind
//! cost counted drops by policy and never block the producer, hugepages are
//! used when asked and fall back (or fail) cleanly.

use std::thread;
use std::time::{Duration, Instant};

use gvcap::stream::testkit::{first_pattern_mismatch, BlockGenerator};
use gvcap::stream::{
    CompletedFrame, DropPolicy, FrameInfo, FrameRing, HugePages, Reassembler, RingConfig,
    RxTimestamp, SlotPool, StreamError,
};

fn config(slots: usize, queue_depth: usize, policy: DropPolicy) -> RingConfig {
    RingConfig {
        slots,
        slot_size: 10_000,
        queue_depth,
        policy,
        huge_pages: HugePages::Never,
    }
}

/// A finished frame whose slot starts with `tag`, as a reassembler would publish it.
fn frame_from(
    producer: &mut gvcap::stream::RingProducer,
    tag: u8,
) -> Option<CompletedFrame<gvcap::stream::Slot>> {
    let mut slot = producer.acquire()?;
    slot.as_mut()[0] = tag;
    let mut info = reference_info();
    info.block_id = u64::from(tag);
    info.len = 1;
    Some(CompletedFrame { info, slot })
}

fn reference_info() -> FrameInfo {
    // A real info, produced by reassembling one tiny block.
    let generator = BlockGenerator::new(4, 1, 4, false);
    let config = generator.stream_config(0);
    let mut r = Reassembler::new(config, gvcap::stream::HeapPool::new(1, 4)).unwrap();
    for datagram in generator.block(1) {
        r.handle_packet(Instant::now(), RxTimestamp::NONE, &datagram);
    }
    r.poll_frame().unwrap().info
}

#[test]
fn slots_cycle_through_consumers_and_come_back_on_drop() {
    let (mut producer, receiver) = FrameRing::create(config(3, 3, DropPolicy::DropNewest)).unwrap();
    assert_eq!(
        (
            producer.slots(),
            producer.free_slots(),
            producer.slot_size()
        ),
        (3, 3, 10_000)
    );
    for tag in 1..=3 {
        let frame = frame_from(&mut producer, tag).unwrap();
        assert_eq!(frame.slot.as_ref().len(), 10_000);
        assert!(producer.publish(frame));
    }
    assert_eq!(producer.free_slots(), 0);
    assert!(
        producer.acquire().is_none(),
        "DropNewest never reclaims queued frames"
    );
    let first = receiver.recv().unwrap();
    assert_eq!((first.info.block_id, first.data()), (1, &[1u8][..]));
    let index = first.slot().index();
    drop(first);
    assert_eq!(producer.free_slots(), 1);
    let again = producer.acquire().unwrap();
    assert_eq!(again.index(), index, "the dropped frame's slot is reused");
    drop(again);
    assert_eq!(producer.free_slots(), 1);
    let counters = receiver.counters();
    assert_eq!((counters.published, counters.no_free_slot), (3, 1));
}

#[test]
fn drop_newest_keeps_the_queue_and_counts_the_drop() {
    let (mut producer, receiver) = FrameRing::create(config(4, 2, DropPolicy::DropNewest)).unwrap();
    for tag in 1..=3 {
        let frame = frame_from(&mut producer, tag).unwrap();
        producer.publish(frame);
    }
    let tags: Vec<_> = std::iter::from_fn(|| receiver.try_recv().ok())
        .map(|f| f.info.block_id)
        .collect();
    assert_eq!(tags, vec![1, 2]);
    assert_eq!(producer.counters().dropped_consumer_behind, 1);
    assert_eq!(producer.free_slots(), 4);
}

#[test]
fn drop_oldest_replaces_queued_frames_and_reclaims_slots() {
    let (mut producer, receiver) = FrameRing::create(config(3, 2, DropPolicy::DropOldest)).unwrap();
    for tag in 1..=3 {
        let frame = frame_from(&mut producer, tag).unwrap();
        producer.publish(frame);
    }
    // Queue full (2, 3); frame 1 was dropped to make room. One slot is free.
    assert_eq!(producer.counters().dropped_consumer_behind, 1);
    let held = frame_from(&mut producer, 4).unwrap(); // takes the last free slot
                                                      // No free slot: the oldest queued frame (2) is reclaimed for the next one.
    let reclaimed = frame_from(&mut producer, 5).unwrap();
    assert_eq!(producer.counters().dropped_consumer_behind, 2);
    producer.publish(held);
    producer.publish(reclaimed);
    let tags: Vec<_> = std::iter::from_fn(|| receiver.try_recv().ok())
        .map(|f| f.info.block_id)
        .collect();
    assert_eq!(tags, vec![4, 5]);
    assert_eq!(producer.counters().dropped_consumer_behind, 3);
}

#[test]
fn a_stalled_consumer_never_blocks_the_producer() {
    for policy in [DropPolicy::DropNewest, DropPolicy::DropOldest] {
        let (mut producer, receiver) = FrameRing::create(config(6, 3, policy)).unwrap();
        let consumer = thread::spawn(move || {
            let mut seen = Vec::new();
            while let Some(frame) = receiver.recv() {
                seen.push(frame.info.block_id);
                thread::sleep(Duration::from_millis(2)); // a slow consumer
            }
            seen
        });
        let start = Instant::now();
        let mut published = 0;
        let mut refused = 0;
        for tag in 0..=255u8 {
            match frame_from(&mut producer, tag) {
                Some(frame) => published += u64::from(producer.publish(frame)),
                None => refused += 1,
            }
        }
        let elapsed = start.elapsed();
        let counters = producer.counters();
        drop(producer);
        let seen = consumer.join().unwrap();
        assert!(
            elapsed < Duration::from_millis(300),
            "{policy:?}: producer stalled {elapsed:?}"
        );
        assert_eq!(counters.published, published);
        assert_eq!(counters.no_free_slot, refused);
        assert!(
            counters.dropped_consumer_behind + refused > 100,
            "{policy:?}: {counters:?}"
        );
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "frames arrive in order"
        );
        assert!(seen.len() as u64 <= published && !seen.is_empty());
    }
}

#[test]
fn reassembled_frames_flow_through_the_ring() {
    let generator = BlockGenerator::new(100, 30, 256, false);
    let ring = RingConfig {
        huge_pages: HugePages::Never,
        queue_depth: 3,
        ..RingConfig::new(4, generator.payload_size())
    };
    let (producer, receiver) = FrameRing::create(ring).unwrap();
    let mut r = Reassembler::new(generator.stream_config(1), producer).unwrap();
    for block_id in 1..=3 {
        for datagram in generator.block(block_id) {
            r.handle_packet(Instant::now(), RxTimestamp::tai_now(), &datagram);
        }
        while let Some(frame) = r.poll_frame() {
            assert!(r.pool().publish(frame));
        }
    }
    for block_id in 1..=3 {
        let frame = receiver.recv_timeout(Duration::from_secs(1)).unwrap();
        assert_eq!(frame.info.block_id, block_id);
        assert_eq!(frame.data().len(), 3000);
        assert_eq!(first_pattern_mismatch(block_id, frame.data()), None);
        assert!(frame.info.first_rx.ns > 0, "CLOCK_TAI stamp");
    }
}

#[test]
fn hugepage_slots_when_reserved_or_a_clear_error() {
    let ring = RingConfig {
        huge_pages: HugePages::Require,
        ..RingConfig::new(2, 3 << 20)
    };
    match FrameRing::create(ring) {
        Ok((mut producer, _receiver)) => {
            assert_eq!(producer.hugepage_slots(), 2);
            let mut slot = producer.acquire().unwrap();
            assert_eq!(slot.as_ref().len(), 3 << 20);
            slot.as_mut()[(3 << 20) - 1] = 9;
            assert_eq!(slot.as_ref()[(3 << 20) - 1], 9);
        }
        Err(err @ StreamError::Memory { .. }) => {
            assert!(err.to_string().contains("nr_hugepages"), "{err}");
        }
        Err(other) => panic!("unexpected error {other}"),
    }
    // Auto always succeeds, with hugepages or without.
    let auto = RingConfig::new(2, 1 << 20);
    let (producer, _receiver) = FrameRing::create(auto).unwrap();
    assert!(producer.hugepage_slots() <= 2);
    assert_eq!(producer.free_slots(), 2);
}

#[test]
fn invalid_ring_configs_are_refused() {
    for bad in [
        config(0, 1, DropPolicy::DropOldest),
        config(1, 0, DropPolicy::DropOldest),
    ] {
        assert!(matches!(
            FrameRing::create(bad),
            Err(StreamError::InvalidConfig(_))
        ));
    }
}
