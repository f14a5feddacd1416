//! Reassembly throughput per core from memory, beside memcpy of the same
//! bytes: criterion groups for 1500- and 8000-byte packets, then a summary
//! table measured in the same run with the ratio to memcpy.
//!
//! Run: `cargo bench -p gvcap-benches --bench reassembly`
//! Goals: >= 0.8x memcpy at 8000 bytes, >= 10 Mpps at 1500 bytes.

use std::time::Instant;

use criterion::{Criterion, Throughput};
use gvcap_benches::{compare, Workload};

/// A 5 MP Mono8 frame (2448 x 2048), as from a common machine-vision sensor.
const WIDTH: u32 = 2448;
const HEIGHT: u32 = 2048;

fn bench(c: &mut Criterion) {
    for packet_size in [1500usize, 8000] {
        let mut workload = Workload::new(packet_size, WIDTH, HEIGHT);
        let mut r = workload.reassembler();
        let mut dst = vec![0u8; workload.frame_bytes];
        let mut group = c.benchmark_group(format!("frame_{packet_size}B_packets"));
        group.throughput(Throughput::Bytes(workload.frame_bytes as u64));
        group.sample_size(30);
        group.bench_function("reassemble", |b| {
            b.iter(|| workload.reassemble_frame(&mut r, Instant::now()))
        });
        group.bench_function("memcpy", |b| b.iter(|| workload.memcpy_frame(&mut dst)));
        group.finish();
    }
}

/// A 1024 x 768 Mono8 frame: with its datagrams (1.6 MB in all) it stays in
/// a core's L2 cache here, so the packet rate shows the reassembler's cost
/// per packet rather than the memory's bandwidth.
const SMALL_WIDTH: u32 = 1024;
const SMALL_HEIGHT: u32 = 768;

fn summary(quick: bool) {
    let (rounds, frames) = if quick { (1, 1) } else { (15, 20) };
    for (width, height, what) in [
        (WIDTH, HEIGHT, "5 MP frames, memory-bound"),
        (
            SMALL_WIDTH,
            SMALL_HEIGHT,
            "cache-resident frames, per-packet cost",
        ),
    ] {
        println!();
        println!("reassembly vs memcpy, one core, {width}x{height} Mono8 {what} (best of {rounds} rounds of {frames} frames):");
        println!(
            "{:>8} {:>10} {:>10} {:>10} {:>10} {:>7}",
            "packet", "reasm GB/s", "reasm Mpps", "memcpy GB/s", "memcpy Mpps", "ratio"
        );
        for packet_size in [1500usize, 8000] {
            let mut workload = Workload::new(packet_size, width, height);
            let c = compare(
                &mut workload,
                rounds,
                frames * (WIDTH * HEIGHT / (width * height)).max(1) as usize,
            );
            println!(
                "{:>7}B {:>10.2} {:>10.2} {:>11.2} {:>11.2} {:>6.2}x",
                c.packet_size,
                c.reassembly.gbytes_per_s,
                c.reassembly.mpps,
                c.memcpy.gbytes_per_s,
                c.memcpy.mpps,
                c.ratio()
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let quick = args.iter().any(|a| a == "--test");
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
    summary(quick);
}
