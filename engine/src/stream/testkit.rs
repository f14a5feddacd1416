//! In-memory GVSP traffic for tests, benchmarks and fuzzing: a block
//! generator built on the wire emitters, a deterministic pixel pattern, and a
//! seeded fault injector (loss, burst loss, duplication, reordering) in the
//! manner of smoltcp's `phy::FaultInjector`.
//!
//! Invariants: the same inputs and seed give the same bytes and the same
//! faults on every run and machine; the pattern depends only on the block id
//! and the byte offset, so a byte written at the wrong offset or into the
//! wrong frame shows; every datagram the generator emits parses with
//! `GvspPacket::new_checked`. This module allocates freely: it is not part
//! of the receive path.

use crate::wire::gvsp::{
    payload_type, GvspHeader, ImageLeader, LeaderRepr, PacketFormat, PixelFormat, TrailerRepr,
};
use crate::wire::Status;

use super::config::StreamConfig;

/// The pattern byte at `offset` of block `block_id`.
pub fn pattern_byte(block_id: u64, offset: usize) -> u8 {
    let x = (offset as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(block_id.wrapping_mul(0xC2B2_AE3D_27D4_EB4F));
    (x >> 56) as u8 ^ (offset as u8)
}

/// Fills `dst` with block `block_id`'s pattern.
pub fn fill_pattern(block_id: u64, dst: &mut [u8]) {
    for (offset, byte) in dst.iter_mut().enumerate() {
        *byte = pattern_byte(block_id, offset);
    }
}

/// Offset of the first byte of `data` that differs from block `block_id`'s pattern.
pub fn first_pattern_mismatch(block_id: u64, data: &[u8]) -> Option<usize> {
    data.iter()
        .enumerate()
        .position(|(offset, byte)| *byte != pattern_byte(block_id, offset))
}

/// Emits the datagrams of Mono8 image blocks carrying the pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockGenerator {
    /// Image width in pixels (bytes per line).
    pub width: u32,
    /// Image height in lines.
    pub height: u32,
    /// Data bytes per payload packet.
    pub packet_payload_size: usize,
    /// Emit extended-id (20-byte) headers.
    pub extended: bool,
}

impl BlockGenerator {
    /// A generator of `width` x `height` Mono8 blocks.
    pub fn new(width: u32, height: u32, packet_payload_size: usize, extended: bool) -> Self {
        BlockGenerator {
            width,
            height,
            packet_payload_size,
            extended,
        }
    }

    /// Bytes per block.
    pub fn payload_size(&self) -> usize {
        self.width as usize * self.height as usize
    }

    /// Payload packets per block.
    pub fn data_packets(&self) -> u32 {
        self.payload_size().div_ceil(self.packet_payload_size) as u32
    }

    /// The trailer's packet id.
    pub fn trailer_id(&self) -> u32 {
        self.data_packets() + 1
    }

    /// A stream config matching this generator, with default policy.
    pub fn stream_config(&self, camera: u32) -> StreamConfig {
        StreamConfig::new(camera, self.payload_size(), self.packet_payload_size)
    }

    /// The camera timestamp the generator puts in block `block_id`'s leader.
    pub fn timestamp(block_id: u64) -> u64 {
        block_id.wrapping_mul(1_000_000).wrapping_add(17)
    }

    fn header(&self, block_id: u64, packet_id: u32, resent: bool, status: Status) -> GvspHeader {
        let mut header = GvspHeader {
            status,
            block_id,
            packet_id,
            extended: self.extended,
            flags: 0,
        };
        if resent {
            if self.extended {
                header.flags = crate::wire::gvsp::packet::flags::PACKET_RESEND;
            } else if status == Status::Success {
                header.status = Status::PacketResend;
            }
        }
        header
    }

    fn leader(&self, block_id: u64) -> LeaderRepr<'static> {
        LeaderRepr::Image(ImageLeader {
            field_info: 0,
            chunk: false,
            timestamp: Self::timestamp(block_id),
            pixel_format: PixelFormat::MONO8,
            size_x: self.width,
            size_y: self.height,
            offset_x: 0,
            offset_y: 0,
            padding_x: 0,
            padding_y: 0,
        })
    }

    fn trailer(&self) -> TrailerRepr<'static> {
        TrailerRepr::Image {
            chunk: false,
            size_y: self.height,
        }
    }

    /// One packet of block `block_id`: the leader (0), payload (1..=n) or trailer (n + 1);
    /// `resent` marks it as a retransmission. Ids beyond the trailer give an empty vector.
    pub fn packet(&self, block_id: u64, packet_id: u32, resent: bool) -> Vec<u8> {
        let header = self.header(block_id, packet_id, resent, Status::Success);
        let mut buf = vec![0u8; 20 + self.packet_payload_size.max(64)];
        let len = if packet_id == 0 {
            header.emit_leader(&self.leader(block_id), &mut buf)
        } else if packet_id == self.trailer_id() {
            header.emit_trailer(&self.trailer(), &mut buf)
        } else if packet_id < self.trailer_id() {
            let start = (packet_id as usize - 1) * self.packet_payload_size;
            let end = (start + self.packet_payload_size).min(self.payload_size());
            let data: Vec<u8> = (start..end).map(|o| pattern_byte(block_id, o)).collect();
            header.emit_payload(&data, &mut buf)
        } else {
            return Vec::new();
        };
        // The emitters cannot fail here: the buffer fits the largest packet and ids fit.
        buf.truncate(len.unwrap_or(0));
        buf
    }

    /// All datagrams of block `block_id`, leader to trailer, in order.
    pub fn block(&self, block_id: u64) -> Vec<Vec<u8>> {
        (0..=self.trailer_id())
            .map(|id| self.packet(block_id, id, false))
            .collect()
    }

    /// The whole block as one all-in packet (leader, trailer, then the data).
    pub fn all_in(&self, block_id: u64) -> Vec<u8> {
        let header = self.header(block_id, 0, false, Status::Success);
        let leader = self.leader(block_id);
        let trailer = self.trailer();
        let header_len = header.header_len();
        let mut buf = vec![0u8; header_len + leader.body_len() + trailer.body_len()];
        let _ = header.emit(PacketFormat::AllIn, &mut buf);
        let leader_end = header_len + leader.body_len();
        let _ = leader.emit(&mut buf[header_len..leader_end]);
        let _ = trailer.emit(&mut buf[leader_end..]);
        buf.extend((0..self.payload_size()).map(|o| pattern_byte(block_id, o)));
        buf
    }

    /// A header-only packet with an error `status` (e.g. `PacketUnavailable`) for one packet id.
    pub fn status_packet(&self, block_id: u64, packet_id: u32, status: Status) -> Vec<u8> {
        let header = self.header(block_id, packet_id, true, status);
        let mut buf = vec![0u8; header.header_len()];
        let _ = header.emit(PacketFormat::Payload, &mut buf);
        buf
    }

    /// The payload type the generator's leaders carry.
    pub fn payload_type() -> u16 {
        payload_type::IMAGE
    }
}

/// A small, fast, seedable generator (SplitMix64); deterministic across platforms.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform value in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform value in `0..n` (`0` when `n == 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.next_f64() < p
    }
}

/// Fault probabilities of an injected link (all per packet).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultConfig {
    /// Independent loss.
    pub loss: f64,
    /// Start of a burst of consecutive losses.
    pub burst: f64,
    /// Longest burst (lengths are uniform in `1..=burst_max`).
    pub burst_max: usize,
    /// Delivery of an extra copy.
    pub duplicate: f64,
    /// Moving a packet later by up to `reorder_distance` places.
    pub reorder: f64,
    /// Farthest a reordered packet moves.
    pub reorder_distance: usize,
}

impl FaultConfig {
    /// A perfect link.
    pub const NONE: FaultConfig = FaultConfig {
        loss: 0.0,
        burst: 0.0,
        burst_max: 0,
        duplicate: 0.0,
        reorder: 0.0,
        reorder_distance: 0,
    };
}

/// What a fault injector did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Packets offered.
    pub offered: u64,
    /// Packets dropped (independent and burst losses).
    pub dropped: u64,
    /// Extra copies delivered.
    pub duplicated: u64,
    /// Packets moved later.
    pub reordered: u64,
}

/// Applies seeded loss, burst loss, duplication and reordering to packet sequences.
#[derive(Debug, Clone)]
pub struct FaultInjector {
    rng: SplitMix64,
    config: FaultConfig,
    burst_left: usize,
    stats: FaultStats,
}

impl FaultInjector {
    /// An injector with its own seed.
    pub fn new(seed: u64, config: FaultConfig) -> Self {
        FaultInjector {
            rng: SplitMix64(seed),
            config,
            burst_left: 0,
            stats: FaultStats::default(),
        }
    }

    /// What was done so far.
    pub fn stats(&self) -> FaultStats {
        self.stats
    }

    /// True when the next packet is lost (bursts carry over between calls).
    pub fn lose(&mut self) -> bool {
        self.stats.offered += 1;
        if self.burst_left > 0 {
            self.burst_left -= 1;
            self.stats.dropped += 1;
            return true;
        }
        if self.rng.chance(self.config.burst) {
            let len = 1 + self.rng.below(self.config.burst_max.max(1) as u64) as usize;
            self.burst_left = len - 1;
            self.stats.dropped += 1;
            return true;
        }
        if self.rng.chance(self.config.loss) {
            self.stats.dropped += 1;
            return true;
        }
        false
    }

    /// The sequence a receiver sees when `packets` cross the link.
    pub fn apply<T: Clone>(&mut self, packets: Vec<T>) -> Vec<T> {
        let mut out = Vec::with_capacity(packets.len() + packets.len() / 8);
        for packet in packets {
            if self.lose() {
                continue;
            }
            if self.rng.chance(self.config.duplicate) {
                self.stats.duplicated += 1;
                out.push(packet.clone());
            }
            out.push(packet);
        }
        let distance = self.config.reorder_distance;
        if distance > 0 {
            let mut i = 0;
            while i + 1 < out.len() {
                if self.rng.chance(self.config.reorder) {
                    let to = (i + 1 + self.rng.below(distance as u64) as usize).min(out.len() - 1);
                    let packet = out.remove(i);
                    out.insert(to, packet);
                    self.stats.reordered += 1;
                }
                i += 1;
            }
        }
        out
    }
}

/// Error statuses a scripted camera can answer with.
const SCRIPT_STATUSES: [Status; 4] = [
    Status::PacketUnavailable,
    Status::PacketTemporarilyUnavailable,
    Status::PacketRemovedFromMemory,
    Status::Error,
];

/// Drives a reassembler with a script decoded from arbitrary bytes (the fuzz
/// target and its corpus replay): valid, resent, mutated, fragmented and raw
/// datagrams of a few blocks, error answers, and time passing. Panics only
/// when an invariant breaks: a write beyond a slot's payload region, a frame
/// longer than the payload size, a timer left in the past, a datagram
/// without exactly one outcome, or a slot lost. Returns the final counters.
pub fn exercise(script: &[u8]) -> super::counters::StreamCounters {
    use std::time::{Duration, Instant};

    use super::frame::RxTimestamp;
    use super::pool::{HeapPool, SlotPool};
    use super::reassembler::Reassembler;

    const GUARD: usize = 32;
    let mut bytes = script.iter().copied();
    let mut next = move || bytes.next();
    let (Some(w), Some(h), Some(pps), Some(mode)) = (next(), next(), next(), next()) else {
        return Default::default();
    };
    let generator = BlockGenerator::new(
        u32::from(w % 64) + 1,
        u32::from(h % 16) + 1,
        usize::from(pps % 96) + 4,
        mode & 1 != 0,
    );
    let mut config = generator.stream_config(0);
    config.max_in_flight = usize::from((mode >> 1) % 4) + 1;
    config.resend.enabled = mode & 0x10 == 0;
    config.deliver_incomplete = mode & 0x20 == 0;
    config.resend.max_ranges_per_round = u32::from((mode >> 6) % 3) + 1;
    let slots = config.max_in_flight + 2;
    let payload_size = config.payload_size;
    let Ok(mut r) = Reassembler::new(config, HeapPool::new(slots, payload_size + GUARD)) else {
        return Default::default();
    };
    let base: u64 = if generator.extended {
        u64::MAX - 2
    } else {
        65_533
    };
    let block_id = |sel: u8| {
        let id = base.wrapping_add(u64::from(sel % 5));
        if generator.extended {
            id
        } else {
            (id - 1) % 65_535 + 1
        }
    };
    let mut now = Instant::now();
    let check = |r: &mut Reassembler<HeapPool>| {
        while r.poll_resend().is_some() {}
        while let Some(frame) = r.poll_frame() {
            let slot = frame.slot.as_ref();
            assert!(
                frame.info.len <= payload_size,
                "frame longer than the payload size"
            );
            assert!(
                slot[payload_size..].iter().all(|b| *b == 0),
                "write beyond the payload region"
            );
            r.pool_mut().release(frame.slot);
        }
        if r.poll_timeout().is_some() {
            assert!(r.frames_in_flight() > 0, "a timer without an open frame");
        }
    };
    while let Some(op) = next() {
        now += Duration::from_micros(2);
        let sel = next().unwrap_or(0);
        let id = u32::from(next().unwrap_or(0)) % (generator.trailer_id() + 2);
        let datagram = match op % 8 {
            0 => generator.packet(block_id(sel), id, false),
            1 => generator.packet(block_id(sel), id, true),
            2 => {
                let len = usize::from(next().unwrap_or(0));
                (0..len).map(|_| next().unwrap_or(0)).collect()
            }
            3 => {
                let mut packet = generator.packet(block_id(sel), id, false);
                let at = usize::from(next().unwrap_or(0));
                let value = next().unwrap_or(0);
                if !packet.is_empty() {
                    let len = packet.len();
                    packet[at % len] = value;
                }
                packet
            }
            4 => {
                now += Duration::from_micros(u64::from(sel) * 200);
                r.handle_timeout(now);
                check(&mut r);
                if let Some(at) = r.poll_timeout() {
                    assert!(at > now, "timer left in the past");
                }
                continue;
            }
            5 => {
                let mut packet = generator.packet(block_id(sel), id, false);
                packet.truncate(usize::from(next().unwrap_or(0)));
                packet
            }
            6 => {
                let status = SCRIPT_STATUSES[usize::from(sel) % SCRIPT_STATUSES.len()];
                generator.status_packet(block_id(sel), id, status)
            }
            _ => {
                let whole = generator.packet(block_id(sel), id, false);
                let cut = usize::from(next().unwrap_or(0)).min(whole.len());
                let parts = [&whole[..cut], &whole[cut..]];
                r.handle_packet_fragments(now, RxTimestamp::NONE, &parts);
                check(&mut r);
                continue;
            }
        };
        r.handle_packet(now, RxTimestamp::NONE, &datagram);
        check(&mut r);
    }
    r.flush();
    check(&mut r);
    let c = r.counters();
    assert_eq!(
        c.packets_received,
        c.packets_accepted + c.packets_duplicated + c.packets_ignored + c.packets_malformed,
        "a datagram without exactly one outcome"
    );
    assert_eq!(r.pool().free_slots(), slots, "a slot was lost");
    assert_eq!(r.frames_in_flight(), 0);
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::gvsp::GvspPacket;

    #[test]
    fn scripts_run_whole_blocks_through() {
        // width 10, height 2, 4 + 6 = 10 bytes per packet, standard ids; then
        // every packet of block 0 in order.
        let mut script = vec![9, 1, 6, 0];
        for id in 0..=3u8 {
            script.extend([0, 0, id]);
        }
        let whole = exercise(&script);
        assert_eq!((whole.frames_completed, whole.packets_accepted), (1, 4));
        // Without packet 1 the frame is flushed incomplete.
        let mut lossy = vec![9, 1, 6, 0];
        for id in [0u8, 2, 3] {
            lossy.extend([0, 0, id]);
        }
        let lossy = exercise(&lossy);
        assert_eq!((lossy.frames_completed, lossy.frames_incomplete), (0, 1));
        assert_eq!(exercise(&[]), Default::default());
        let junk = exercise(&[1, 2, 3, 0xFF, 2, 0, 0, 200, 1, 2, 3]);
        assert_eq!(junk.packets_received, 1);
    }

    #[test]
    fn generated_blocks_parse_and_carry_the_pattern() {
        for extended in [false, true] {
            let generator = BlockGenerator::new(50, 7, 64, extended);
            let block = generator.block(300);
            assert_eq!(block.len(), generator.data_packets() as usize + 2);
            let mut data = Vec::new();
            for (id, datagram) in block.iter().enumerate() {
                let packet = GvspPacket::new_checked(&datagram[..]).unwrap();
                assert_eq!(packet.packet_id(), id as u32);
                assert_eq!(packet.block_id(), 300);
                assert_eq!(packet.is_extended(), extended);
                if packet.packet_format() == PacketFormat::Payload {
                    data.extend_from_slice(packet.payload());
                }
            }
            assert_eq!(data.len(), 350);
            assert_eq!(first_pattern_mismatch(300, &data), None);
            assert!(first_pattern_mismatch(301, &data).is_some());
            let resent = generator.packet(300, 1, true);
            assert!(GvspPacket::new_checked(&resent[..]).unwrap().is_resent());
        }
    }

    #[test]
    fn fault_injection_is_deterministic_and_does_what_it_says() {
        let config = FaultConfig {
            loss: 0.05,
            burst: 0.01,
            burst_max: 10,
            duplicate: 0.02,
            reorder: 0.05,
            reorder_distance: 4,
        };
        let packets: Vec<u32> = (0..10_000).collect();
        let a = FaultInjector::new(7, config).apply(packets.clone());
        let b = FaultInjector::new(7, config).apply(packets.clone());
        assert_eq!(a, b);
        let mut injector = FaultInjector::new(8, config);
        let c = injector.apply(packets);
        let stats = injector.stats();
        assert_ne!(a, c);
        assert!(stats.dropped > 500 && stats.dropped < 1500, "{stats:?}");
        assert!(stats.duplicated > 100 && stats.reordered > 300, "{stats:?}");
        assert_eq!(
            c.len() as u64,
            stats.offered - stats.dropped + stats.duplicated
        );
        assert!(c.windows(2).any(|w| w[0] > w[1]), "some packet moved later");
    }
}
