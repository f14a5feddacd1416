//! Reassembler tests in virtual time: every behaviour of the module docs,
//! driven by the testkit generator and fault injector; nothing sleeps.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::*;
use crate::stream::frame::TimestampSource;
use crate::stream::pool::HeapPool;
use crate::stream::testkit::{
    first_pattern_mismatch, BlockGenerator, FaultConfig, FaultInjector, SplitMix64,
};
use crate::wire::gvsp::{GvspHeader, PacketFormat};
use crate::wire::Status;

const US: Duration = Duration::from_micros(1);
const MS: Duration = Duration::from_millis(1);

/// A reassembler with a heap pool, a virtual clock and collected outputs.
struct Rig {
    generator: BlockGenerator,
    r: Reassembler<HeapPool>,
    t0: Instant,
    now: Instant,
    frames: Vec<CompletedFrame<Box<[u8]>>>,
    requests: Vec<ResendRequest>,
}

impl Rig {
    fn new(generator: BlockGenerator, tweak: impl FnOnce(&mut StreamConfig)) -> Self {
        let mut config = generator.stream_config(3);
        tweak(&mut config);
        let pool = HeapPool::new(config.max_in_flight + 8, config.payload_size);
        let t0 = Instant::now();
        Rig {
            generator,
            r: Reassembler::new(config, pool).unwrap(),
            t0,
            now: t0,
            frames: Vec::new(),
            requests: Vec::new(),
        }
    }

    fn stamp(&self) -> RxTimestamp {
        RxTimestamp::new(
            (self.now - self.t0).as_nanos() as u64,
            TimestampSource::Hardware,
        )
    }

    fn collect(&mut self) {
        while let Some(frame) = self.r.poll_frame() {
            self.frames.push(frame);
        }
        while let Some(request) = self.r.poll_resend() {
            self.requests.push(request);
        }
    }

    fn feed(&mut self, datagram: &[u8]) -> PacketVerdict {
        self.now += US;
        let verdict = self.r.handle_packet(self.now, self.stamp(), datagram);
        self.collect();
        verdict
    }

    fn feed_all(&mut self, datagrams: &[Vec<u8>]) {
        for datagram in datagrams {
            self.feed(datagram);
        }
    }

    /// Runs every timer up to `now + span`, checking that no timer stays in the past.
    fn advance(&mut self, span: Duration) {
        let end = self.now + span;
        while let Some(at) = self.r.poll_timeout() {
            if at > end {
                break;
            }
            self.now = self.now.max(at);
            self.r.handle_timeout(self.now);
            self.collect();
            if let Some(next) = self.r.poll_timeout() {
                assert!(next > self.now, "timer left in the past: busy loop");
            }
        }
        self.now = end;
    }
}

fn assert_pattern(frame: &CompletedFrame<Box<[u8]>>, block_id: u64, len: usize) {
    assert_eq!(frame.info.block_id, block_id);
    assert_eq!(frame.data().len(), len, "frame {block_id} length");
    assert_eq!(
        first_pattern_mismatch(block_id, frame.data()),
        None,
        "frame {block_id} bytes"
    );
}

fn small() -> BlockGenerator {
    // 3200 bytes in 32 packets of 100 bytes, plus leader and trailer.
    BlockGenerator::new(64, 50, 100, false)
}

#[test]
fn in_order_block_completes_with_its_bytes_and_metadata() {
    let mut rig = Rig::new(small(), |_| {});
    let block = rig.generator.block(7);
    let t_first = rig.now + US;
    rig.feed_all(&block);
    assert_eq!(rig.frames.len(), 1);
    let frame = &rig.frames[0];
    assert_pattern(frame, 7, 3200);
    let info = frame.info;
    assert_eq!(info.camera, 3);
    assert!(!info.is_incomplete() && !info.flags.contains(FrameFlags::RESENT));
    assert_eq!(info.camera_timestamp, Some(BlockGenerator::timestamp(7)));
    assert_eq!(info.payload_type, Some(BlockGenerator::payload_type()));
    let image = info.image.unwrap();
    assert_eq!((image.size_x, image.size_y), (64, 50));
    assert_eq!(info.trailer_size_y, Some(50));
    assert_eq!(info.first_rx.ns, (t_first - rig.t0).as_nanos() as u64);
    assert_eq!(info.last_rx.ns - info.first_rx.ns, 33_000);
    assert_eq!(info.timestamp_source(), TimestampSource::Hardware);
    assert_eq!((info.packets_expected, info.packets_received), (34, 34));
    let c = rig.r.counters();
    assert_eq!(
        (c.frames_completed, c.packets_received, c.packets_accepted),
        (1, 34, 34)
    );
    assert_eq!(rig.r.frames_in_flight(), 0);
    assert_eq!(rig.r.poll_timeout(), None);
}

#[test]
fn extended_ids_and_a_short_last_packet() {
    // 3000 bytes in packets of 128: 24 packets, the last one 56 bytes.
    let generator = BlockGenerator::new(60, 50, 128, true);
    let mut rig = Rig::new(generator, |_| {});
    let block_id = 0x1_0000_0000_0005;
    rig.feed_all(&generator.block(block_id));
    assert_eq!(rig.frames.len(), 1);
    assert_pattern(&rig.frames[0], block_id, 3000);
    assert!(rig.frames[0].info.extended_ids);
}

#[test]
fn out_of_order_and_duplicated_packets_still_give_exact_bytes() {
    let mut rig = Rig::new(small(), |_| {});
    let mut block = rig.generator.block(9);
    let mut rng = SplitMix64(42);
    for i in (1..block.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        block.swap(i, j);
    }
    let dup_a = block[3].clone();
    let dup_b = block[10].clone();
    block.insert(5, dup_a);
    block.insert(12, dup_b);
    let verdicts: Vec<_> = block.iter().map(|d| rig.feed(d)).collect();
    assert_eq!(
        verdicts
            .iter()
            .filter(|v| **v == PacketVerdict::Duplicate)
            .count(),
        2
    );
    assert_eq!(rig.frames.len(), 1);
    assert_pattern(&rig.frames[0], 9, 3200);
    assert_eq!(rig.frames[0].info.packets_duplicated, 2);
    let c = rig.r.counters();
    assert_eq!(
        (c.packets_duplicated, c.packets_accepted, c.frames_completed),
        (2, 34, 1)
    );
    assert!(
        rig.requests.is_empty(),
        "reordering within a block is not loss"
    );
}

#[test]
fn fragmented_datagrams_match_contiguous_ones() {
    let generator = BlockGenerator::new(100, 40, 1000, true);
    let mut rig = Rig::new(generator, |_| {});
    for (n, datagram) in generator.block(4).iter().enumerate() {
        // Cut points vary: inside the header, inside the leader, mid-payload.
        let cuts = [3 + n % 17, 21 + n % 40, datagram.len() / 2 + n];
        let mut parts: Vec<&[u8]> = Vec::new();
        let mut at = 0;
        for cut in cuts {
            let cut = cut.clamp(at, datagram.len());
            parts.push(&datagram[at..cut]);
            at = cut;
        }
        parts.push(&datagram[at..]);
        rig.now += US;
        let verdict = rig
            .r
            .handle_packet_fragments(rig.now, RxTimestamp::NONE, &parts);
        assert_eq!(verdict, PacketVerdict::Accepted, "packet {n}");
    }
    rig.collect();
    assert_eq!(rig.frames.len(), 1);
    assert_pattern(&rig.frames[0], 4, 4000);
    assert_eq!(rig.frames[0].info.timestamp_source(), TimestampSource::None);
}

#[test]
fn sixteen_bit_block_ids_wrap_from_65535_to_1() {
    let mut rig = Rig::new(small(), |_| {});
    let ids: Vec<u64> = (65400..=65535).chain(1..=100).collect();
    for &id in &ids {
        let block = rig.generator.block(id);
        rig.feed_all(&block);
        let frame = rig.frames.pop().expect("frame delivered");
        assert_pattern(&frame, id, 3200);
        rig.r.pool_mut().release(frame.slot);
    }
    let c = rig.r.counters();
    assert_eq!(c.frames_completed, ids.len() as u64);
    assert_eq!(
        c.frames_incomplete + c.frames_dropped + c.packets_ignored,
        0
    );
}

#[test]
fn stragglers_of_a_finished_block_are_late_not_a_new_frame() {
    let mut rig = Rig::new(small(), |_| {});
    let block = rig.generator.block(65535);
    rig.feed_all(&block);
    rig.feed_all(&rig.generator.block(1));
    assert_eq!(rig.frames.len(), 2);
    assert_eq!(
        rig.feed(&block[5]),
        PacketVerdict::Ignored(IgnoreReason::Late)
    );
    let resent = rig.generator.packet(77, 3, true);
    assert_eq!(
        rig.feed(&resent),
        PacketVerdict::Ignored(IgnoreReason::Late)
    );
    assert_eq!(rig.r.frames_in_flight(), 0);
    assert_eq!(rig.r.counters().packets_ignored, 2);
}

#[test]
fn all_in_blocks_complete_in_one_packet() {
    for extended in [false, true] {
        let generator = BlockGenerator::new(30, 20, 1000, extended);
        let mut rig = Rig::new(generator, |_| {});
        let packet = generator.all_in(12);
        assert_eq!(rig.feed(&packet), PacketVerdict::Accepted);
        assert_eq!(rig.frames.len(), 1);
        assert_pattern(&rig.frames[0], 12, 600);
        assert_eq!(
            rig.frames[0].info.camera_timestamp,
            Some(BlockGenerator::timestamp(12))
        );
        assert_eq!(rig.frames[0].info.packets_expected, 1);
        // The same all-in packet again belongs to a finished block.
        assert_eq!(
            rig.feed(&packet),
            PacketVerdict::Ignored(IgnoreReason::Late)
        );
        // Fragmented.
        let parts = [&packet[..10], &packet[10..50], &packet[50..]];
        rig.now += US;
        let generator_packet = generator.all_in(13);
        let parts13 = [
            &generator_packet[..10],
            &generator_packet[10..50],
            &generator_packet[50..],
        ];
        assert_eq!(
            rig.r
                .handle_packet_fragments(rig.now, RxTimestamp::NONE, &parts13),
            PacketVerdict::Accepted
        );
        let _ = parts;
        rig.collect();
        assert_pattern(&rig.frames[1], 13, 600);
    }
}

#[test]
fn a_gap_is_requested_after_the_initial_delay_and_the_resend_completes_the_frame() {
    let mut rig = Rig::new(small(), |c| {
        c.resend.initial_delay = 2 * MS;
        c.resend.retry_interval = 10 * MS;
    });
    let block = rig.generator.block(21);
    for (id, datagram) in block.iter().enumerate() {
        if !(10..=12).contains(&id) && id != 20 {
            rig.feed(datagram);
        }
    }
    assert!(rig.frames.is_empty());
    rig.advance(MS);
    assert!(
        rig.requests.is_empty(),
        "no request before the initial delay"
    );
    rig.advance(2 * MS);
    let expected = vec![
        ResendRequest {
            block_id: 21,
            first: 10,
            last: 12,
            extended: false,
        },
        ResendRequest {
            block_id: 21,
            first: 20,
            last: 20,
            extended: false,
        },
    ];
    assert_eq!(rig.requests, expected);
    for id in [10, 11, 12, 20] {
        let verdict = rig.feed(&rig.generator.packet(21, id, true));
        assert_eq!(verdict, PacketVerdict::Accepted);
    }
    assert_eq!(rig.frames.len(), 1);
    assert_pattern(&rig.frames[0], 21, 3200);
    let info = rig.frames[0].info;
    assert!(info.flags.contains(FrameFlags::RESENT) && !info.is_incomplete());
    assert_eq!((info.packets_resent, info.resend_requests), (4, 2));
    let c = rig.r.counters();
    assert_eq!(
        (
            c.packets_resent,
            c.resend_requests,
            c.resend_packets_requested
        ),
        (4, 2, 4)
    );
    assert_eq!(c.packets_missing, 0);
}

#[test]
fn reordering_shorter_than_the_initial_delay_asks_for_nothing() {
    let mut rig = Rig::new(small(), |c| c.resend.initial_delay = 2 * MS);
    let block = rig.generator.block(5);
    rig.feed_all(&block[..8]);
    rig.feed_all(&block[9..20]);
    rig.advance(MS);
    rig.feed(&block[8]);
    rig.feed_all(&block[20..]);
    rig.advance(50 * MS);
    assert!(rig.requests.is_empty());
    assert_eq!(rig.frames.len(), 1);
    assert!(!rig.frames[0].info.is_incomplete());
}

#[test]
fn a_lost_tail_is_requested_up_to_the_largest_block_once_the_frame_goes_quiet() {
    let mut rig = Rig::new(small(), |c| c.resend.initial_delay = 2 * MS);
    let block = rig.generator.block(30);
    rig.feed_all(&block[..30]); // leader and packets 1..=29; 30..=32 and the trailer lost
    rig.advance(MS);
    assert!(rig.requests.is_empty());
    rig.advance(2 * MS);
    assert_eq!(
        rig.requests,
        vec![ResendRequest {
            block_id: 30,
            first: 30,
            last: 33,
            extended: false
        }]
    );
    for id in 30..=33 {
        rig.feed(&rig.generator.packet(30, id, true));
    }
    assert_eq!(rig.frames.len(), 1);
    assert_pattern(&rig.frames[0], 30, 3200);
}

#[test]
fn a_lost_leader_is_requested_as_packet_zero() {
    let mut rig = Rig::new(small(), |_| {});
    let block = rig.generator.block(31);
    rig.feed_all(&block[1..]);
    rig.advance(5 * MS);
    assert_eq!(
        rig.requests,
        vec![ResendRequest {
            block_id: 31,
            first: 0,
            last: 0,
            extended: false
        }]
    );
    rig.feed(&rig.generator.packet(31, 0, true));
    assert_eq!(rig.frames.len(), 1);
    assert_eq!(
        rig.frames[0].info.camera_timestamp,
        Some(BlockGenerator::timestamp(31))
    );
}

#[test]
fn unanswered_requests_are_retried_then_the_frame_is_given_up() {
    let mut rig = Rig::new(small(), |c| {
        c.resend.initial_delay = 2 * MS;
        c.resend.retry_interval = 10 * MS;
        c.resend.max_rounds = 3;
        c.frame_timeout = Duration::from_secs(1);
    });
    let block = rig.generator.block(40);
    for (id, datagram) in block.iter().enumerate() {
        if id != 7 {
            rig.feed(datagram);
        }
    }
    let start = rig.now;
    let mut request_times = Vec::new();
    for _ in 0..100 {
        let before = rig.requests.len();
        rig.advance(MS);
        if rig.requests.len() > before {
            request_times.push(rig.now - start);
        }
        if !rig.frames.is_empty() {
            break;
        }
    }
    assert_eq!(rig.requests.len(), 3, "{:?}", rig.requests);
    assert!(rig.requests.iter().all(|r| (r.first, r.last) == (7, 7)));
    assert_eq!(request_times, vec![2 * MS, 12 * MS, 22 * MS]);
    assert_eq!(rig.frames.len(), 1);
    let info = rig.frames[0].info;
    assert!(info.is_incomplete());
    assert!(
        !info.flags.contains(FrameFlags::TIMED_OUT),
        "given up, not timed out"
    );
    assert_eq!(info.packets_missing(), 1);
    assert!(
        rig.now - start <= 33 * MS,
        "given up one retry interval after the last round"
    );
    let c = rig.r.counters();
    assert_eq!(
        (c.frames_incomplete, c.packets_missing, c.resend_requests),
        (1, 1, 3)
    );
}

#[test]
fn the_packet_budget_truncates_requests() {
    let mut rig = Rig::new(small(), |c| {
        c.resend.max_packets_per_frame = 5;
        c.resend.max_rounds = 10;
    });
    let block = rig.generator.block(41);
    let keep = |id: usize| !(3..=6).contains(&id) && !(20..=25).contains(&id);
    for (id, datagram) in block.iter().enumerate() {
        if keep(id) {
            rig.feed(datagram);
        }
    }
    rig.advance(200 * MS);
    assert_eq!(
        rig.requests,
        vec![
            ResendRequest {
                block_id: 41,
                first: 3,
                last: 6,
                extended: false
            },
            ResendRequest {
                block_id: 41,
                first: 20,
                last: 20,
                extended: false
            },
        ]
    );
    assert_eq!(rig.r.counters().resend_packets_requested, 5);
    assert!(rig.frames[0].info.is_incomplete());
}

#[test]
fn ranges_per_round_are_bounded() {
    let mut rig = Rig::new(small(), |c| {
        c.resend.max_ranges_per_round = 2;
        c.resend.max_rounds = 1;
    });
    let block = rig.generator.block(42);
    for (id, datagram) in block.iter().enumerate() {
        if id % 4 != 2 {
            rig.feed(datagram);
        }
    }
    rig.advance(5 * MS);
    assert_eq!(rig.requests.len(), 2);
    assert_eq!((rig.requests[0].first, rig.requests[1].first), (2, 6));
}

#[test]
fn an_unavailable_answer_stops_resends_for_that_frame() {
    let mut rig = Rig::new(small(), |c| {
        c.resend.retry_interval = 10 * MS;
        c.resend.max_rounds = 5;
        c.frame_timeout = Duration::from_secs(1);
    });
    let block = rig.generator.block(50);
    for (id, datagram) in block.iter().enumerate() {
        if id != 4 {
            rig.feed(datagram);
        }
    }
    rig.advance(5 * MS);
    assert_eq!(rig.requests.len(), 1);
    let answer = rig
        .generator
        .status_packet(50, 4, Status::PacketUnavailable);
    assert_eq!(
        rig.feed(&answer),
        PacketVerdict::Ignored(IgnoreReason::ErrorStatus)
    );
    rig.advance(100 * MS);
    assert_eq!(
        rig.requests.len(),
        1,
        "no more requests after PACKET_UNAVAILABLE"
    );
    assert_eq!(rig.frames.len(), 1);
    let info = rig.frames[0].info;
    assert!(info.is_incomplete() && info.flags.contains(FrameFlags::UNAVAILABLE));
}

#[test]
fn other_error_statuses_do_not_stop_resends() {
    let mut rig = Rig::new(small(), |c| c.resend.max_rounds = 3);
    let block = rig.generator.block(51);
    for (id, datagram) in block.iter().enumerate() {
        if id != 4 {
            rig.feed(datagram);
        }
    }
    rig.advance(5 * MS);
    let answer = rig
        .generator
        .status_packet(51, 4, Status::PacketTemporarilyUnavailable);
    assert_eq!(
        rig.feed(&answer),
        PacketVerdict::Ignored(IgnoreReason::ErrorStatus)
    );
    rig.advance(15 * MS);
    assert_eq!(rig.requests.len(), 2);
}

#[test]
fn without_resends_a_quiet_frame_times_out() {
    let mut rig = Rig::new(small(), |c| {
        c.resend.enabled = false;
        c.frame_timeout = 50 * MS;
    });
    let block = rig.generator.block(60);
    rig.feed_all(&block[..20]);
    rig.advance(49 * MS);
    assert!(rig.frames.is_empty());
    rig.advance(2 * MS);
    assert!(rig.requests.is_empty());
    assert_eq!(rig.frames.len(), 1);
    let info = rig.frames[0].info;
    assert!(info.is_incomplete() && info.flags.contains(FrameFlags::TIMED_OUT));
    assert_eq!(info.len, 1900);
    assert_eq!(info.packets_missing(), 14);
    assert_eq!(rig.r.counters().packets_missing, 14);
}

#[test]
fn frames_in_flight_are_bounded_by_evicting_the_oldest() {
    let mut rig = Rig::new(small(), |c| {
        c.max_in_flight = 2;
        c.resend.enabled = false;
    });
    let a = rig.generator.block(1);
    let b = rig.generator.block(2);
    let c = rig.generator.block(3);
    rig.feed_all(&a[..5]);
    rig.feed_all(&b[..5]);
    assert_eq!(rig.r.frames_in_flight(), 2);
    rig.feed_all(&c);
    assert_eq!(rig.r.frames_in_flight(), 1);
    let ids: Vec<_> = rig.frames.iter().map(|f| f.info.block_id).collect();
    assert_eq!(ids, vec![1, 3]);
    assert!(rig.frames[0].info.flags.contains(FrameFlags::EVICTED));
    assert_pattern(&rig.frames[1], 3, 3200);
    // The evicted block's later packets are late.
    assert_eq!(rig.feed(&a[6]), PacketVerdict::Ignored(IgnoreReason::Late));
    rig.feed_all(&b[5..]);
    assert_pattern(&rig.frames[2], 2, 3200);
}

#[test]
fn malformed_packets_are_counted_and_never_change_a_frame() {
    let mut rig = Rig::new(small(), |_| {});
    let generator = rig.generator;
    let block = generator.block(70);
    let header = |id: u32, extended: bool| GvspHeader {
        status: Status::Success,
        block_id: 70,
        packet_id: id,
        extended,
        flags: 0,
    };
    let emit_payload = |id: u32, data: &[u8]| {
        let mut buf = vec![0u8; 8 + data.len()];
        header(id, false).emit_payload(data, &mut buf).unwrap();
        buf
    };
    let mut leader_wrong_id = block[0].clone();
    leader_wrong_id[7] = 1;
    let mut unknown_format = block[3].clone();
    unknown_format[4] = 0x55;
    let mut short_trailer = block[33].clone();
    short_trailer.truncate(8 + 2);
    let mut truncated_extended = block[3].clone();
    truncated_extended[4] |= 0x80; // announces a 20-byte header; the datagram has 108 bytes but junk ids
    truncated_extended.truncate(12);
    let cases: Vec<(Vec<u8>, Malformation)> = vec![
        (vec![], Malformation::Header),
        (block[3][..7].to_vec(), Malformation::Header),
        (truncated_extended, Malformation::Header),
        (unknown_format, Malformation::UnknownFormat),
        (emit_payload(3, &[0xEE; 101]), Malformation::PayloadTooLong),
        (emit_payload(3, &[]), Malformation::EmptyPayload),
        (
            emit_payload(0, &[0xEE; 10]),
            Malformation::PacketIdOutOfRange,
        ),
        (
            emit_payload(33, &[0xEE; 10]),
            Malformation::PacketIdOutOfRange,
        ),
        (
            emit_payload(0xFF_FFFF, &[0xEE; 10]),
            Malformation::PacketIdOutOfRange,
        ),
        (leader_wrong_id, Malformation::PacketIdOutOfRange),
        (block[0][..8 + 20].to_vec(), Malformation::LeaderBody),
        (short_trailer, Malformation::TrailerBody),
    ];
    // Interleave the junk with the real block; junk of the same block id comes first.
    let n = cases.len();
    for (i, datagram) in block.iter().enumerate() {
        if let Some((junk, why)) = cases.get(i) {
            assert_eq!(rig.feed(junk), PacketVerdict::Malformed(*why), "case {i}");
        }
        rig.feed(datagram);
    }
    assert_eq!(rig.frames.len(), 1);
    assert_pattern(&rig.frames[0], 70, 3200);
    // A last packet longer than what is left of the payload would end beyond the slot.
    let short_last = BlockGenerator::new(60, 50, 128, false); // 24 packets, the last 56 bytes
    let mut rig2 = Rig::new(short_last, |_| {});
    let mut beyond = short_last.packet(71, 23, false);
    beyond[5..8].copy_from_slice(&[0, 0, 24]);
    assert_eq!(
        rig2.feed(&beyond),
        PacketVerdict::Malformed(Malformation::BeyondSlot)
    );
    rig2.feed_all(&short_last.block(71));
    assert_pattern(&rig2.frames[0], 71, 3000);
    let c = rig.r.counters();
    assert_eq!(c.packets_malformed, n as u64);
    assert_eq!(c.packets_received, (n + block.len()) as u64);
    assert_eq!(c.packets_accepted, block.len() as u64);
}

#[test]
fn a_second_trailer_or_data_past_the_trailer_is_inconsistent() {
    let generator = small();
    let mut rig = Rig::new(generator, |_| {});
    let block = generator.block(80);
    rig.feed_all(&block[..10]);
    // A trailer claiming the block ends at packet 5, after packet 9 arrived.
    let mut early_trailer = block[33].clone();
    early_trailer[5..8].copy_from_slice(&[0, 0, 5]);
    assert_eq!(
        rig.feed(&early_trailer),
        PacketVerdict::Malformed(Malformation::Inconsistent)
    );
    rig.feed(&block[33]);
    let mut second_trailer = block[33].clone();
    second_trailer[5..8].copy_from_slice(&[0, 0, 20]);
    assert_eq!(
        rig.feed(&second_trailer),
        PacketVerdict::Malformed(Malformation::Inconsistent)
    );
    rig.feed_all(&block[10..33]);
    assert_pattern(&rig.frames[0], 80, 3200);
}

#[test]
fn unsupported_formats_are_ignored() {
    let mut rig = Rig::new(small(), |_| {});
    let mut h264 = rig.generator.packet(90, 1, false);
    h264[4] = 5;
    assert_eq!(
        rig.feed(&h264),
        PacketVerdict::Ignored(IgnoreReason::UnsupportedFormat)
    );
    let mut multipart = rig.generator.packet(90, 1, false);
    multipart[4] = 7;
    assert_eq!(
        rig.feed(&multipart),
        PacketVerdict::Ignored(IgnoreReason::UnsupportedFormat)
    );
    assert_eq!(
        rig.r.frames_in_flight(),
        0,
        "ignored packets never open a frame"
    );
    let _ = PacketFormat::H264;
}

#[test]
fn no_free_slot_drops_the_frame_and_ignores_its_other_packets() {
    let generator = small();
    let config = generator.stream_config(0);
    let mut r = Reassembler::new(config, HeapPool::new(1, config.payload_size)).unwrap();
    let now = Instant::now();
    for datagram in generator.block(1) {
        r.handle_packet(now, RxTimestamp::NONE, &datagram);
    }
    let held = r.poll_frame().unwrap(); // the only slot, held by the caller
    let block2 = generator.block(2);
    assert_eq!(
        r.handle_packet(now, RxTimestamp::NONE, &block2[0]),
        PacketVerdict::FrameDropped
    );
    assert_eq!(
        r.handle_packet(now, RxTimestamp::NONE, &block2[1]),
        PacketVerdict::Ignored(IgnoreReason::Late)
    );
    r.pool_mut().release(held.slot);
    for datagram in generator.block(3) {
        r.handle_packet(now, RxTimestamp::NONE, &datagram);
    }
    assert_eq!(r.poll_frame().unwrap().info.block_id, 3);
    let c = r.counters();
    assert_eq!(
        (c.frames_dropped, c.frames_completed, c.packets_ignored),
        (1, 2, 2)
    );
}

#[test]
fn incomplete_frames_can_be_withheld() {
    let mut rig = Rig::new(small(), |c| {
        c.deliver_incomplete = false;
        c.resend.enabled = false;
        c.frame_timeout = 10 * MS;
    });
    let free = rig.r.pool().free_slots();
    rig.feed_all(&rig.generator.block(5)[..10]);
    assert_eq!(rig.r.pool().free_slots(), free - 1);
    rig.advance(20 * MS);
    assert!(rig.frames.is_empty());
    assert_eq!(rig.r.pool().free_slots(), free);
    assert_eq!(rig.r.counters().frames_incomplete, 1);
}

#[test]
fn unpolled_frames_are_dropped_oldest_first_not_accumulated() {
    let generator = small();
    let mut config = generator.stream_config(0);
    config.max_in_flight = 1;
    let mut r = Reassembler::new(config, HeapPool::new(10, config.payload_size)).unwrap();
    let now = Instant::now();
    for id in 1..=6 {
        for datagram in generator.block(id) {
            r.handle_packet(now, RxTimestamp::NONE, &datagram);
        }
    }
    // Room for 2 * in_flight + 2 = 4 finished frames: 1 and 2 were dropped.
    let ids: Vec<_> = std::iter::from_fn(|| r.poll_frame())
        .map(|f| f.info.block_id)
        .collect();
    assert_eq!(ids, vec![3, 4, 5, 6]);
    assert_eq!(r.counters().frames_dropped, 2);
    assert_eq!(r.pool().free_slots(), 6);
}

#[test]
fn flush_finishes_open_frames_oldest_first() {
    let mut rig = Rig::new(small(), |c| c.ptp = true);
    let b = rig.generator.block(2);
    let a = rig.generator.block(1);
    rig.feed_all(&b[..3]);
    rig.feed_all(&a[..3]);
    rig.r.flush();
    rig.collect();
    let ids: Vec<_> = rig.frames.iter().map(|f| f.info.block_id).collect();
    assert_eq!(ids, vec![2, 1]);
    assert!(rig
        .frames
        .iter()
        .all(|f| f.info.is_incomplete() && f.info.flags.contains(FrameFlags::PTP)));
}

/// A virtual camera and link: the camera sends blocks every `period`, the
/// link applies faults in both directions, the camera answers resend
/// requests after a round-trip delay. Events are processed in time order.
fn run_lossy_stream(seed: u64, generator: BlockGenerator, blocks: u64, faults: FaultConfig) -> Rig {
    let mut rig = Rig::new(generator, |c| {
        c.max_in_flight = 4;
        c.resend.initial_delay = MS;
        c.resend.retry_interval = 3 * MS;
        c.resend.max_rounds = 8;
        c.frame_timeout = 200 * MS;
    });
    let mut forward = FaultInjector::new(seed, faults);
    let mut answers = FaultInjector::new(
        seed ^ 0xA5A5,
        FaultConfig {
            loss: faults.loss,
            ..FaultConfig::NONE
        },
    );
    let packet_gap = 2 * US;
    let period = 2 * MS;
    let rtt = 200 * US;
    // Deliveries keyed by (time, sequence number) so equal times keep their order.
    let mut schedule: BTreeMap<(Instant, u64), Vec<u8>> = BTreeMap::new();
    let mut seq = 0u64;
    for (n, block_id) in (1..=blocks).enumerate() {
        let start = rig.t0 + period * n as u32;
        for (k, datagram) in forward
            .apply(generator.block(block_id))
            .into_iter()
            .enumerate()
        {
            schedule.insert((start + packet_gap * k as u32, seq), datagram);
            seq += 1;
        }
    }
    let mut delivered = 0;
    let end = rig.t0 + period * (blocks as u32 + 200);
    loop {
        let next_packet = schedule.keys().next().map(|k| k.0);
        let next_timer = rig.r.poll_timeout();
        let (at, is_packet) = match (next_packet, next_timer) {
            (Some(p), Some(t)) if t < p => (t, false),
            (Some(p), _) => (p, true),
            (None, Some(t)) => (t, false),
            (None, None) => break,
        };
        if at > end {
            break;
        }
        rig.now = rig.now.max(at);
        if is_packet {
            let (_, datagram) = schedule.pop_first().unwrap();
            let stamp = rig.stamp();
            rig.r.handle_packet(rig.now, stamp, &datagram);
        } else {
            rig.r.handle_timeout(rig.now);
            if let Some(next) = rig.r.poll_timeout() {
                assert!(next > rig.now, "timer left in the past");
            }
        }
        rig.collect();
        for request in rig.requests.drain(..) {
            for id in request.first..=request.last {
                let answer = generator.packet(request.block_id, id, true);
                if !answer.is_empty() && !answers.lose() {
                    schedule.insert((rig.now + rtt, seq), answer);
                    seq += 1;
                }
            }
        }
        for frame in rig.frames.drain(..) {
            assert!(
                !frame.info.is_incomplete(),
                "frame {} incomplete: {:?}",
                frame.info.block_id,
                frame.info
            );
            assert_eq!(
                first_pattern_mismatch(frame.info.block_id, frame.data()),
                None
            );
            assert_eq!(frame.data().len(), generator.payload_size());
            delivered += 1;
            rig.r.pool_mut().release(frame.slot);
        }
    }
    assert_eq!(delivered, blocks, "every block delivered");
    rig
}

#[test]
fn lossy_reordering_duplicating_link_delivers_every_frame_after_resends() {
    let faults = FaultConfig {
        loss: 0.01,
        burst: 0.002,
        burst_max: 20,
        duplicate: 0.01,
        reorder: 0.01,
        reorder_distance: 5,
    };
    for (seed, extended) in [(1u64, false), (2, true), (3, false)] {
        let generator = BlockGenerator::new(200, 100, 512, extended);
        let rig = run_lossy_stream(seed, generator, 300, faults);
        let c = rig.r.counters();
        assert_eq!(c.frames_completed, 300);
        assert_eq!(
            c.frames_incomplete + c.frames_dropped + c.packets_missing,
            0
        );
        assert!(c.packets_resent > 100, "{c:?}");
        assert!(c.resend_requests > 10 && c.packets_duplicated > 0, "{c:?}");
        // Every datagram has exactly one outcome.
        assert_eq!(
            c.packets_received,
            c.packets_accepted + c.packets_duplicated + c.packets_ignored + c.packets_malformed
        );
        assert_eq!(c.packets_malformed, 0);
        // Accepted = one per packet of every block.
        assert_eq!(
            c.packets_accepted,
            300 * (u64::from(generator.data_packets()) + 2)
        );
    }
}

#[test]
fn virtual_time_runs_are_reproducible() {
    let faults = FaultConfig {
        loss: 0.02,
        burst: 0.005,
        burst_max: 8,
        duplicate: 0.02,
        reorder: 0.02,
        reorder_distance: 3,
    };
    let generator = BlockGenerator::new(100, 100, 256, false);
    let a = run_lossy_stream(9, generator, 100, faults).r.counters();
    let b = run_lossy_stream(9, generator, 100, faults).r.counters();
    assert_eq!(a, b);
}

#[test]
fn af_xdp_multi_buffer_layout_is_copied_once_into_place() {
    // An 8042-byte frame arrives as 3840 + 3840 + 362-byte descriptors; the
    // worker passes the UDP payload: the first descriptor minus the 42 bytes
    // of Ethernet, IPv4 and UDP headers, then the other two whole.
    let generator = BlockGenerator::new(8000, 4, 8000 - 20, true);
    let mut rig = Rig::new(generator, |_| {});
    for datagram in generator.block(77) {
        if datagram.len() == 8000 {
            let parts = [
                &datagram[..3840 - 42],
                &datagram[3840 - 42..7680 - 42],
                &datagram[7680 - 42..],
            ];
            assert_eq!(parts[2].len(), 362);
            rig.now += US;
            assert_eq!(
                rig.r
                    .handle_packet_fragments(rig.now, RxTimestamp::NONE, &parts),
                PacketVerdict::Accepted
            );
        } else {
            rig.feed(&datagram);
        }
    }
    rig.collect();
    assert_eq!(rig.frames.len(), 1);
    assert_pattern(&rig.frames[0], 77, 32_000);
}

#[test]
fn huge_durations_disable_timers_instead_of_overflowing() {
    let mut rig = Rig::new(small(), |c| {
        c.frame_timeout = Duration::MAX;
        c.resend.initial_delay = Duration::MAX;
        c.resend.retry_interval = Duration::MAX;
    });
    let block = rig.generator.block(3);
    rig.feed_all(&block[..10]);
    rig.feed_all(&block[12..20]);
    assert_eq!(rig.r.poll_timeout(), None);
    rig.r.handle_timeout(rig.now + Duration::from_secs(3600));
    assert!(rig.requests.is_empty() && rig.frames.is_empty());
    rig.feed(
        &rig.generator
            .status_packet(3, 10, Status::PacketUnavailable),
    );
    assert_eq!(rig.r.poll_timeout(), None);
    assert_eq!(rig.r.frames_in_flight(), 1);
}
