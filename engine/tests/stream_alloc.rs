//! The reassembler allocates nothing in the steady state: after a warm-up,
//! a counting global allocator sees no allocation while 200 frames go through
//! loss, resend requests, resent packets, duplicates, timeouts and fragments.
//! (One test per binary: the allocator counts every thread.)

use std::alloc::System;
use std::time::{Duration, Instant};

use gvcap::stream::testkit::{BlockGenerator, FaultConfig, FaultInjector};
use gvcap::stream::{HeapPool, Reassembler, RxTimestamp, SlotPool};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// A block's id, the datagrams the link delivers, and its packets as resent.
type PreparedBlock = (u64, Vec<Vec<u8>>, Vec<Vec<u8>>);

#[test]
fn steady_state_reassembly_does_not_allocate() {
    let generator = BlockGenerator::new(400, 100, 1464, false);
    let mut config = generator.stream_config(0);
    config.resend.initial_delay = Duration::from_millis(1);
    config.resend.retry_interval = Duration::from_millis(2);
    let mut r = Reassembler::new(config, HeapPool::new(16, config.payload_size)).unwrap();
    let loss = FaultConfig {
        loss: 0.02,
        burst: 0.005,
        burst_max: 6,
        duplicate: 0.02,
        reorder: 0.02,
        reorder_distance: 3,
    };
    let mut faults = FaultInjector::new(11, loss);
    // Everything the link will carry, prepared before measuring.
    let blocks: Vec<PreparedBlock> = (1..=210u64)
        .map(|id| {
            let resent: Vec<Vec<u8>> = (0..=generator.trailer_id())
                .map(|p| generator.packet(id, p, true))
                .collect();
            (id, faults.apply(generator.block(id)), resent)
        })
        .collect();
    let mut now = Instant::now();
    let mut delivered = 0u64;
    let mut run =
        |r: &mut Reassembler<HeapPool>, range: std::ops::Range<usize>, now: &mut Instant| {
            for (_, datagrams, _) in &blocks[range.clone()] {
                for (k, datagram) in datagrams.iter().enumerate() {
                    *now += Duration::from_micros(5);
                    if k % 3 == 0 && datagram.len() > 40 {
                        let parts: [&[u8]; 2] = [&datagram[..30], &datagram[30..]];
                        r.handle_packet_fragments(*now, RxTimestamp::NONE, &parts);
                    } else {
                        r.handle_packet(*now, RxTimestamp::NONE, datagram);
                    }
                }
                // Let timers fire and answer the requests from the prepared packets.
                for _ in 0..20 {
                    *now += Duration::from_micros(500);
                    r.handle_timeout(*now);
                    while let Some(request) = r.poll_resend() {
                        let index = blocks
                            .iter()
                            .position(|(id, _, _)| *id == request.block_id)
                            .unwrap_or(0);
                        for p in request.first..=request.last {
                            if let Some(packet) = blocks[index].2.get(p as usize) {
                                r.handle_packet(*now, RxTimestamp::NONE, packet);
                            }
                        }
                    }
                    while let Some(frame) = r.poll_frame() {
                        delivered += u64::from(!frame.info.is_incomplete());
                        r.pool_mut().release(frame.slot);
                    }
                }
            }
        };
    run(&mut r, 0..10, &mut now);
    let region = Region::new(GLOBAL);
    run(&mut r, 10..210, &mut now);
    let change = region.change();
    assert_eq!(
        (change.allocations, change.reallocations),
        (0, 0),
        "allocations in the steady state: {change:?}"
    );
    let counters = r.counters();
    assert_eq!(counters.frames_completed, 210, "{counters:?}");
    assert!(
        counters.packets_resent > 50 && counters.packets_duplicated > 0,
        "{counters:?}"
    );
    assert_eq!(delivered, 210);
    assert_eq!(r.pool().free_slots(), 16);
    let _ = r.pool_mut().acquire();
}
