//! Property tests of the reassembler: no packet sequence panics or writes
//! outside a slot's payload region, every datagram gets one outcome, slots
//! are conserved; and junk mixed into a valid stream never corrupts a frame.

use std::time::{Duration, Instant};

use gvcap::stream::testkit::{first_pattern_mismatch, BlockGenerator};
use gvcap::stream::{HeapPool, PacketVerdict, Reassembler, RxTimestamp, SlotPool, StreamConfig};
use gvcap::wire::gvsp::{GvspPacket, PacketFormat};
use proptest::prelude::*;

/// Slot bytes beyond the payload size, which nothing may write.
const GUARD: usize = 64;

#[derive(Debug, Clone)]
enum Op {
    /// A valid packet of one of a few blocks (maybe resent), maybe fragmented.
    Valid {
        block: u8,
        packet: u32,
        resent: bool,
        split: Option<usize>,
    },
    /// A valid packet with one byte changed.
    Flip {
        block: u8,
        packet: u32,
        at: usize,
        value: u8,
    },
    /// A valid packet cut short.
    Cut { block: u8, packet: u32, len: usize },
    /// Arbitrary bytes.
    Junk(Vec<u8>),
    /// Time passes; timers run.
    Wait(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..4, 0u32..40, any::<bool>(), proptest::option::of(0usize..200))
            .prop_map(|(block, packet, resent, split)| Op::Valid { block, packet, resent, split }),
        2 => (0u8..4, 0u32..40, 0usize..120, any::<u8>())
            .prop_map(|(block, packet, at, value)| Op::Flip { block, packet, at, value }),
        1 => (0u8..4, 0u32..40, 0usize..120).prop_map(|(block, packet, len)| Op::Cut { block, packet, len }),
        1 => proptest::collection::vec(any::<u8>(), 0..160).prop_map(Op::Junk),
        1 => (0u16..5000).prop_map(Op::Wait),
    ]
}

fn geometry() -> impl Strategy<Value = (BlockGenerator, usize)> {
    (1u32..40, 1u32..12, 8usize..120, any::<bool>(), 1usize..5).prop_map(
        |(width, height, pps, extended, in_flight)| {
            (BlockGenerator::new(width, height, pps, extended), in_flight)
        },
    )
}

fn block_id(generator: &BlockGenerator, block: u8) -> u64 {
    let base = if generator.extended { 1 << 40 } else { 65_534 };
    (base + u64::from(block) - 1) % if generator.extended { u64::MAX } else { 65_535 } + 1
}

fn packet_bytes(generator: &BlockGenerator, block: u8, packet: u32, resent: bool) -> Vec<u8> {
    generator.packet(
        block_id(generator, block),
        packet % (generator.trailer_id() + 1),
        resent,
    )
}

struct Harness {
    r: Reassembler<HeapPool>,
    payload_size: usize,
    slots: usize,
    delivered: Vec<(u64, bool, Vec<u8>)>,
    now: Instant,
}

impl Harness {
    fn new(generator: &BlockGenerator, in_flight: usize) -> Self {
        let mut config: StreamConfig = generator.stream_config(0);
        config.max_in_flight = in_flight;
        let slots = in_flight + 3;
        let pool = HeapPool::new(slots, config.payload_size + GUARD);
        Harness {
            r: Reassembler::new(config, pool).unwrap(),
            payload_size: config.payload_size,
            slots,
            delivered: Vec::new(),
            now: Instant::now(),
        }
    }

    fn drain(&mut self) {
        while self.r.poll_resend().is_some() {}
        while let Some(frame) = self.r.poll_frame() {
            let slot = frame.slot.as_ref();
            assert!(frame.info.len <= self.payload_size, "{:?}", frame.info);
            assert!(
                slot[self.payload_size..].iter().all(|b| *b == 0),
                "write beyond the payload region"
            );
            self.delivered.push((
                frame.info.block_id,
                frame.info.is_incomplete(),
                frame.data().to_vec(),
            ));
            self.r.pool_mut().release(frame.slot);
        }
    }

    fn feed(&mut self, datagram: &[u8], split: Option<usize>) -> PacketVerdict {
        self.now += Duration::from_micros(3);
        let verdict = match split {
            Some(at) => {
                let at = at.min(datagram.len());
                let parts = [&datagram[..at], &datagram[at..]];
                self.r
                    .handle_packet_fragments(self.now, RxTimestamp::NONE, &parts)
            }
            None => self.r.handle_packet(self.now, RxTimestamp::NONE, datagram),
        };
        self.drain();
        verdict
    }

    fn wait(&mut self, micros: u64) {
        let end = self.now + Duration::from_micros(micros);
        while let Some(at) = self.r.poll_timeout().filter(|t| *t <= end) {
            self.now = self.now.max(at);
            self.r.handle_timeout(self.now);
            self.drain();
            assert!(
                self.r.poll_timeout().is_none_or(|t| t > self.now),
                "timer in the past"
            );
        }
        self.now = end;
    }

    fn finish(&mut self) {
        self.r.flush();
        self.drain();
        let c = self.r.counters();
        assert_eq!(
            c.packets_received,
            c.packets_accepted + c.packets_duplicated + c.packets_ignored + c.packets_malformed,
            "{c:?}"
        );
        assert_eq!(self.r.pool().free_slots(), self.slots, "slots conserved");
        assert_eq!(self.r.frames_in_flight(), 0);
    }
}

/// True when `datagram` could be taken for a real packet of one of the stream's blocks.
fn looks_like_stream_data(generator: &BlockGenerator, datagram: &[u8]) -> bool {
    let Ok(packet) = GvspPacket::new_checked(datagram) else {
        return false;
    };
    let ours = (0..4).any(|b| block_id(generator, b) == packet.block_id());
    let usable = matches!(
        packet.packet_format(),
        PacketFormat::Leader | PacketFormat::Payload | PacketFormat::Trailer | PacketFormat::AllIn
    );
    ours && usable && !packet.status().is_error()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_sequence_panics_or_writes_outside_a_slot(
        (generator, in_flight) in geometry(),
        ops in proptest::collection::vec(op(), 0..300),
    ) {
        let mut h = Harness::new(&generator, in_flight);
        for op in ops {
            match op {
                Op::Valid { block, packet, resent, split } => {
                    let bytes = packet_bytes(&generator, block, packet, resent);
                    h.feed(&bytes, split);
                }
                Op::Flip { block, packet, at, value } => {
                    let mut bytes = packet_bytes(&generator, block, packet, false);
                    if let Some(byte) = bytes.get_mut(at) {
                        *byte = value;
                    }
                    h.feed(&bytes, None);
                }
                Op::Cut { block, packet, len } => {
                    let mut bytes = packet_bytes(&generator, block, packet, false);
                    bytes.truncate(len);
                    h.feed(&bytes, Some(len / 2));
                }
                Op::Junk(bytes) => {
                    h.feed(&bytes, None);
                }
                Op::Wait(micros) => h.wait(u64::from(micros)),
            }
        }
        h.finish();
    }

    #[test]
    fn junk_never_corrupts_and_every_block_completes(
        (generator, in_flight) in geometry(),
        junk in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..160), 0..60),
        flips in proptest::collection::vec((0usize..1000, 0usize..120, any::<u8>()), 0..40),
        seed in any::<u64>(),
        blocks in 1u8..4,
    ) {
        // The valid packets of `blocks` blocks, each block shuffled and some duplicated.
        let mut rng = gvcap::stream::testkit::SplitMix64(seed);
        let mut stream: Vec<Vec<u8>> = Vec::new();
        for block in 0..blocks {
            let mut packets = generator.block(block_id(&generator, block));
            for i in (1..packets.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                packets.swap(i, j);
            }
            if rng.chance(0.5) {
                let k = rng.below(packets.len() as u64) as usize;
                packets.push(packets[k].clone());
            }
            stream.extend(packets);
        }
        // Junk: random datagrams and corrupted copies, minus anything that
        // could pass for real data of these blocks.
        let mut junk: Vec<Vec<u8>> = junk;
        for (index, at, value) in flips {
            let mut copy = stream[index % stream.len()].clone();
            if let Some(byte) = copy.get_mut(at) {
                *byte = value;
            }
            junk.push(copy);
        }
        junk.retain(|datagram| !looks_like_stream_data(&generator, datagram));
        // Junk for other block ids opens frames of its own: leave room so that
        // it cannot evict the real ones.
        let _ = in_flight;
        let mut h = Harness::new(&generator, usize::from(blocks) + 128);
        let mut junk = junk.into_iter();
        for datagram in &stream {
            if rng.chance(0.3) {
                if let Some(bad) = junk.next() {
                    h.feed(&bad, None);
                }
            }
            h.feed(datagram, if rng.chance(0.3) { Some(rng.below(100) as usize) } else { None });
        }
        h.finish();
        // Junk with other block ids may deliver frames of its own; the real
        // blocks are each delivered once, complete and exact.
        let ours: Vec<u64> = (0..blocks).map(|b| block_id(&generator, b)).collect();
        let real: Vec<_> = h.delivered.iter().filter(|(id, _, _)| ours.contains(id)).collect();
        prop_assert_eq!(real.len(), usize::from(blocks));
        for (block_id, incomplete, data) in real {
            prop_assert!(!incomplete, "block {} incomplete", block_id);
            prop_assert_eq!(data.len(), generator.payload_size());
            prop_assert_eq!(first_pattern_mismatch(*block_id, data), None);
        }
    }
}
