//! Workloads of the capture-path benchmarks, shared by the criterion bench
//! and its summary: one frame's datagrams in memory, fed to the reassembler,
//! and the memcpy baseline that copies the same payload bytes to the same
//! offsets.
//!
//! Invariants: a workload's datagrams are generated once; feeding a frame
//! rewrites only the 16-bit block id of each standard header (so every frame
//! is a new block) and then hands the datagrams to the reassembler exactly as
//! a receive path would; the baseline copies exactly the payload bytes the
//! reassembler copies.

use std::time::{Duration, Instant};

use gvcap::stream::testkit::BlockGenerator;
use gvcap::stream::{HeapPool, Reassembler, RxTimestamp, SlotPool, StreamConfig};

/// IPv4 + UDP header bytes in a stream channel packet.
const IP_UDP: usize = 28;
/// Standard GVSP header bytes.
const GVSP: usize = 8;

/// One frame's worth of GVSP datagrams for a given packet size.
#[derive(Debug)]
pub struct Workload {
    /// The stream channel packet size (IP packet, as GevSCPSPacketSize).
    pub packet_size: usize,
    /// Payload bytes per frame.
    pub frame_bytes: usize,
    /// Payload bytes per packet.
    pub packet_payload: usize,
    datagrams: Vec<Vec<u8>>,
    config: StreamConfig,
    block_id: u64,
}

impl Workload {
    /// A `width` x `height` Mono8 frame sent in packets of `packet_size` bytes.
    pub fn new(packet_size: usize, width: u32, height: u32) -> Self {
        let packet_payload = packet_size - IP_UDP - GVSP;
        let generator = BlockGenerator::new(width, height, packet_payload, false);
        Workload {
            packet_size,
            frame_bytes: generator.payload_size(),
            packet_payload,
            datagrams: generator.block(1),
            config: generator.stream_config(0),
            block_id: 1,
        }
    }

    /// Datagrams per frame (leader and trailer included).
    pub fn packets(&self) -> usize {
        self.datagrams.len()
    }

    /// A reassembler for this workload with two slots.
    pub fn reassembler(&self) -> Reassembler<HeapPool> {
        let pool = HeapPool::new(2, self.config.payload_size);
        Reassembler::new(self.config, pool).expect("valid workload geometry")
    }

    /// Feeds one whole frame and recycles its slot; returns the frame's byte count.
    pub fn reassemble_frame(&mut self, r: &mut Reassembler<HeapPool>, now: Instant) -> usize {
        self.block_id = self.block_id % 65_535 + 1;
        let id = (self.block_id as u16).to_be_bytes();
        let stamp = RxTimestamp::NONE;
        for datagram in &mut self.datagrams {
            datagram[2..4].copy_from_slice(&id);
            r.handle_packet(now, stamp, datagram);
        }
        let frame = r.poll_frame().expect("the frame completes");
        let len = frame.info.len;
        r.pool_mut().release(frame.slot);
        len
    }

    /// Copies the same payload bytes to the same offsets of `dst` with plain memcpy.
    pub fn memcpy_frame(&self, dst: &mut [u8]) -> usize {
        let last = self.datagrams.len() - 1;
        let mut total = 0;
        for (i, datagram) in self.datagrams[1..last].iter().enumerate() {
            let payload = &datagram[GVSP..];
            let offset = i * self.packet_payload;
            dst[offset..offset + payload.len()].copy_from_slice(payload);
            total += payload.len();
        }
        total
    }
}

/// Throughput of one side of a comparison.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    /// Payload gigabytes (1e9 bytes) per second.
    pub gbytes_per_s: f64,
    /// Million packets per second.
    pub mpps: f64,
}

/// Reassembly and memcpy throughput for one packet size, measured interleaved.
#[derive(Debug, Clone, Copy)]
pub struct Comparison {
    /// Stream channel packet size.
    pub packet_size: usize,
    /// The reassembler.
    pub reassembly: Rate,
    /// The memcpy baseline.
    pub memcpy: Rate,
}

impl Comparison {
    /// Reassembly throughput as a fraction of memcpy's.
    pub fn ratio(&self) -> f64 {
        self.reassembly.gbytes_per_s / self.memcpy.gbytes_per_s
    }
}

/// Measures both sides for `rounds` rounds of `frames` frames each, alternating,
/// and keeps each side's best round (the least disturbed by other processes).
pub fn compare(workload: &mut Workload, rounds: usize, frames: usize) -> Comparison {
    let mut r = workload.reassembler();
    let mut dst = vec![0u8; workload.frame_bytes];
    let mut best_reassembly = Duration::MAX;
    let mut best_memcpy = Duration::MAX;
    let now = Instant::now();
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..frames {
            std::hint::black_box(workload.reassemble_frame(&mut r, now));
        }
        best_reassembly = best_reassembly.min(start.elapsed());
        let start = Instant::now();
        for _ in 0..frames {
            std::hint::black_box(workload.memcpy_frame(std::hint::black_box(&mut dst)));
        }
        best_memcpy = best_memcpy.min(start.elapsed());
    }
    assert_eq!(
        r.counters().frames_incomplete,
        0,
        "benchmark frames must complete"
    );
    let rate = |elapsed: Duration| {
        let seconds = elapsed.as_secs_f64().max(1e-9);
        Rate {
            gbytes_per_s: (workload.frame_bytes * frames) as f64 / seconds / 1e9,
            mpps: (workload.packets() * frames) as f64 / seconds / 1e6,
        }
    };
    Comparison {
        packet_size: workload.packet_size,
        reassembly: rate(best_reassembly),
        memcpy: rate(best_memcpy),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reassembly_and_memcpy_move_the_same_bytes() {
        let mut workload = Workload::new(1500, 300, 40);
        let mut r = workload.reassembler();
        let mut dst = vec![0u8; workload.frame_bytes];
        assert_eq!(workload.memcpy_frame(&mut dst), 12_000);
        for _ in 0..3 {
            assert_eq!(workload.reassemble_frame(&mut r, Instant::now()), 12_000);
        }
        let mut slot = r.pool_mut().acquire().unwrap();
        assert_eq!(
            gvcap::stream::testkit::first_pattern_mismatch(1, &dst),
            None
        );
        assert_eq!(slot.as_mut().len(), 12_000);
        assert_eq!(r.counters().frames_completed, 3);
        let comparison = compare(&mut workload, 2, 2);
        assert!(comparison.ratio() > 0.0 && comparison.memcpy.mpps > 0.0);
    }
}
