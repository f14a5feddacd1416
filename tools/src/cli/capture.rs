//! `gvcap capture`: receive N frames from each camera (or receive for a
//! while) through the capture pipeline (AF_XDP or UDP sockets), then print
//! per-camera counters and throughput, optionally checking every byte
//! against gvsim's pattern.
//!
//! Invariants: control privilege is taken before anything is written and
//! released on every exit; SIGINT and SIGTERM stop the capture cleanly (the
//! XDP program is detached and the stream channels closed, and the report
//! is still printed); the exit status is non-zero when a camera delivered
//! fewer frames than asked (without `--duration-s`), or a frame failed the
//! pattern check.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use gvcap::capture::{
    CameraReport, CameraSpec, CaptureOptions, CaptureReport, CaptureSession, InterfaceReport,
    PathRequest,
};
use gvcap::device::Privilege;
use gvcap::genicam::FeatureMap;
use gvcap::stream::Frame;
use serde::Serialize;

use super::{camera_ref, Connection};
use crate::gvsim::pattern;

/// Options of `gvcap capture`.
#[derive(Debug, Clone, Args)]
pub struct CaptureArgs {
    /// The cameras (IP address, serial number or user name).
    #[arg(required = true)]
    pub cams: Vec<String>,
    /// Frames to receive from each camera.
    #[arg(long, short = 'n', required_unless_present = "duration_s")]
    pub frames: Option<u64>,
    /// Receive for this many seconds (with --frames: whichever comes first).
    #[arg(long)]
    pub duration_s: Option<f64>,
    /// Receive path: auto (AF_XDP, else UDP sockets), xdp or udp.
    #[arg(long, default_value = "auto")]
    pub path: PathRequest,
    /// Cores for the receive threads, e.g. 1 or 0,1 or 2-3 (default: unpinned).
    #[arg(long, value_parser = parse_cores)]
    pub cores: Option<Cores>,
    /// Stream packet size in bytes, IP and UDP headers included (default: the interface MTU).
    #[arg(long)]
    pub packet_size: Option<u32>,
    /// Do not test the packet size with test packets.
    #[arg(long)]
    pub no_test_packets: bool,
    /// Inter-packet delay, in camera timestamp ticks.
    #[arg(long, default_value_t = 0)]
    pub packet_delay: u32,
    /// Host UDP port of the first camera's stream (the next cameras get the next ports;
    /// default: free ports).
    #[arg(long)]
    pub port: Option<u16>,
    /// Set a feature on every camera before capturing (repeatable), e.g. --set Width=640.
    #[arg(long = "set", value_name = "FEATURE=VALUE")]
    pub set: Vec<String>,
    /// Check every byte of every frame against gvsim's test pattern.
    #[arg(long)]
    pub verify_pattern: bool,
    /// Frame slots per camera.
    #[arg(long, default_value_t = 16)]
    pub slots: usize,
    /// Never ask for resends.
    #[arg(long)]
    pub no_resend: bool,
    /// Milliseconds from a gap (or a frame going quiet) to the first resend
    /// request (default 10).
    #[arg(long, value_name = "MS")]
    pub resend_delay_ms: Option<u64>,
    /// Milliseconds between resend rounds of one frame (default 20).
    #[arg(long, value_name = "MS")]
    pub resend_interval_ms: Option<u64>,
    /// Resend rounds per frame before it is given up as incomplete (default 6).
    #[arg(long, value_name = "N")]
    pub resend_rounds: Option<u32>,
    /// Milliseconds without a packet after which a frame is finished as
    /// incomplete (default 200).
    #[arg(long, value_name = "MS")]
    pub frame_timeout_ms: Option<u64>,
    /// AF_XDP: empty polls a worker spins through before it blocks.
    #[arg(long, default_value_t = 64)]
    pub spin_polls: u32,
    /// AF_XDP: microseconds packets may gather after a wakeup before the ring is drained.
    #[arg(long, default_value_t = 200)]
    pub coalesce_us: u64,
    /// Give up when the frames have not all arrived after this many seconds.
    #[arg(long, default_value_t = 60.0)]
    pub timeout_s: f64,
    /// Print a JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// `--interface` here also pins every camera's stream to that interface
    /// (default: each camera's interface from the routing table).
    #[command(flatten)]
    pub connection: Connection,
}

/// A list of core ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cores(pub Vec<usize>);

/// Parses "1", "0,2" or "2-3,5" into core ids.
pub fn parse_cores(text: &str) -> Result<Cores, String> {
    let mut cores = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let parse = |s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| format!("{s:?} in --cores {text:?} is not a core number"))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (parse(a)?, parse(b)?);
                if a > b || b - a > 1024 {
                    return Err(format!("core range {part:?} is empty or too long"));
                }
                cores.extend(a..=b);
            }
            None => cores.push(parse(part)?),
        }
    }
    if cores.is_empty() {
        return Err("--cores needs at least one core, e.g. 1 or 0,1 or 2-3".into());
    }
    Ok(Cores(cores))
}

/// Checks frames against gvsim's deterministic pattern, one camera at a time.
#[derive(Debug, Clone)]
pub struct PatternCheck {
    serial_key: u64,
    extended: bool,
    last_wire: Option<u64>,
    base: u64,
    /// Frames whose every byte matched.
    pub verified: u64,
    /// Frames with at least one wrong byte.
    pub mismatched: u64,
    /// The first wrong byte seen: (full block id, offset).
    pub first_mismatch: Option<(u64, u64)>,
}

/// Standard GVSP block ids count 1..=65535 and wrap back to 1.
const STANDARD_BLOCK_IDS: u64 = 0xFFFF;

impl PatternCheck {
    /// A checker for the camera with serial number `serial`.
    pub fn new(serial: &str, extended: bool) -> Self {
        PatternCheck {
            serial_key: pattern::serial_key(serial),
            extended,
            last_wire: None,
            base: 0,
            verified: 0,
            mismatched: 0,
            first_mismatch: None,
        }
    }

    /// gvsim's 64-bit block id of a frame that carried `wire` (16 bits, wrapping, unless extended).
    pub fn full_block_id(&mut self, wire: u64) -> u64 {
        if self.extended {
            return wire;
        }
        if let Some(last) = self.last_wire {
            // Frames arrive nearly in order: a big step back is a wrap.
            if wire + STANDARD_BLOCK_IDS / 2 < last {
                self.base += STANDARD_BLOCK_IDS;
            } else if last + STANDARD_BLOCK_IDS / 2 < wire && self.base >= STANDARD_BLOCK_IDS {
                // A late frame from before the last wrap.
                return self.base - STANDARD_BLOCK_IDS + wire;
            }
        }
        self.last_wire = Some(wire);
        self.base + wire
    }

    /// Checks one complete frame; true when every byte matched.
    pub fn check(&mut self, block_id: u64, data: &[u8]) -> bool {
        let full = self.full_block_id(block_id);
        let key = pattern::block_key(self.serial_key, full);
        match pattern::verify(key, 0, data) {
            Ok(()) => {
                self.verified += 1;
                true
            }
            Err(offset) => {
                self.mismatched += 1;
                self.first_mismatch.get_or_insert((full, offset));
                false
            }
        }
    }
}

/// What the consumer saw of one camera.
#[derive(Debug, Clone, Default)]
struct Seen {
    frames: u64,
    complete: u64,
    incomplete: u64,
    bytes: u64,
    first_at: Option<Instant>,
    last_at: Option<Instant>,
    first: Option<FrameStamps>,
    last: Option<FrameStamps>,
}

/// The timestamps of one frame, for the report.
#[derive(Debug, Clone, Copy, Serialize)]
struct FrameStamps {
    block_id: u64,
    camera_timestamp: Option<u64>,
    first_rx_ns: u64,
    last_rx_ns: u64,
}

impl Seen {
    fn add(&mut self, frame: &Frame, now: Instant) {
        let info = &frame.info;
        self.frames += 1;
        if info.is_incomplete() {
            self.incomplete += 1;
        } else {
            self.complete += 1;
            self.bytes += frame.data().len() as u64;
        }
        self.first_at.get_or_insert(now);
        self.last_at = Some(now);
        let stamps = FrameStamps {
            block_id: info.block_id,
            camera_timestamp: info.camera_timestamp,
            first_rx_ns: info.first_rx.ns,
            last_rx_ns: info.last_rx.ns,
        };
        self.first.get_or_insert(stamps);
        self.last = Some(stamps);
    }

    fn seconds(&self) -> f64 {
        match (self.first_at, self.last_at) {
            (Some(a), Some(b)) => (b - a).as_secs_f64(),
            _ => 0.0,
        }
    }
}

/// Runs `gvcap capture`.
pub fn run(args: CaptureArgs) -> Result<()> {
    if args.frames == Some(0) {
        bail!("--frames must be at least 1");
    }
    if args.duration_s.is_some_and(|d| !(d > 0.0 && d.is_finite())) {
        bail!("--duration-s must be a positive number of seconds");
    }
    let assignments = args
        .set
        .iter()
        .map(|a| {
            a.split_once('=')
                .map(|(f, v)| (f.trim().to_string(), v.trim().to_string()))
                .with_context(|| format!("--set {a:?} is not FEATURE=VALUE (e.g. Width=640)"))
        })
        .collect::<Result<Vec<_>>>()?;

    let mut specs = Vec::new();
    let mut serials = Vec::new();
    for cam in &args.cams {
        let mut camera = camera_ref::open(cam, &args.connection)?;
        camera
            .take_control(Privilege::Control)
            .with_context(|| format!("camera {}: taking control privilege", camera.name()))?;
        let (features, _) = FeatureMap::from_device(&camera)
            .with_context(|| format!("camera {}: loading its GenICam features", camera.name()))?;
        for (name, value) in &assignments {
            features
                .set_from_str(&camera, name, value)
                .with_context(|| format!("camera {}: setting {name}={value}", camera.name()))?;
            features.invalidate_all();
        }
        let serial = camera
            .identify()
            .map(|id| id.serial)
            .with_context(|| format!("camera {}: reading its serial number", camera.name()))?;
        serials.push(serial);
        specs.push(CameraSpec::new(Arc::new(camera), Arc::new(features)));
    }

    let mut options = CaptureOptions {
        path: args.path,
        interface: args.connection.interface.clone(),
        cores: args.cores.clone().map(|c| c.0).unwrap_or_default(),
        packet_size: args.packet_size,
        test_packet_size: !args.no_test_packets,
        packet_delay_ticks: args.packet_delay,
        base_port: args.port,
        ring_slots: args.slots,
        queue_depth: (args.slots / 2).max(1),
        spin_polls: args.spin_polls,
        coalesce: Duration::from_micros(args.coalesce_us),
        ..CaptureOptions::default()
    };
    apply_resend_args(&args, &mut options);

    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&interrupted))
            .context("installing the SIGINT/SIGTERM handler")?;
    }

    let session = CaptureSession::start(specs, options).context("starting the capture")?;
    for note in session.notes() {
        eprintln!("gvcap: {note}");
    }
    for s in session.setups() {
        eprintln!(
            "gvcap: camera {} {}: {} on {}, stream to {}:{}, {}-byte packets{}, {}-byte frames{}",
            s.index,
            s.name,
            s.path,
            s.interface,
            s.host,
            s.port,
            s.packet_size,
            if s.packet_size_tested {
                " (tested)"
            } else {
                " (untested)"
            },
            s.payload_size,
            if s.extended_ids { ", extended ids" } else { "" },
        );
    }

    let n = session.setups().len();
    let mut checks: Vec<Option<PatternCheck>> = session
        .setups()
        .iter()
        .zip(&serials)
        .map(|(s, serial)| {
            args.verify_pattern
                .then(|| PatternCheck::new(serial, s.extended_ids))
        })
        .collect();
    let mut seen = vec![Seen::default(); n];
    let mut frames = session.frames();
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.timeout_s.max(0.1));
    let until = args
        .duration_s
        .map(|d| started + Duration::from_secs_f64(d));
    let wanted = args.frames.unwrap_or(u64::MAX);
    let consume = |frame: Frame, seen: &mut [Seen], checks: &mut [Option<PatternCheck>]| {
        let camera = frame.info.camera as usize;
        let Some(stats) = seen.get_mut(camera) else {
            return;
        };
        stats.add(&frame, Instant::now());
        if let Some(Some(check)) = checks.get_mut(camera) {
            if !frame.info.is_incomplete()
                && !check.check(frame.info.block_id, frame.data())
                && check.mismatched <= 3
            {
                eprintln!(
                    "gvcap: camera {camera}: frame {} differs from the pattern",
                    frame.info.block_id
                );
            }
        }
    };
    while seen.iter().any(|s| s.frames < wanted)
        && Instant::now() < deadline
        && until.is_none_or(|t| Instant::now() < t)
        && !interrupted.load(Ordering::Relaxed)
    {
        if let Ok(frame) = frames.recv_timeout(Duration::from_millis(100)) {
            consume(frame, &mut seen, &mut checks);
        }
    }
    // Keep consuming while the session drains and stops, so the queue never
    // overflows; then take what is left.
    let stopper = std::thread::spawn(move || session.stop());
    while !stopper.is_finished() {
        if let Ok(frame) = frames.recv_timeout(Duration::from_millis(20)) {
            consume(frame, &mut seen, &mut checks);
        }
    }
    let report = stopper
        .join()
        .map_err(|_| anyhow::anyhow!("the capture's stop panicked"))?
        .context("stopping the capture")?;
    while let Ok(frame) = frames.try_recv() {
        consume(frame, &mut seen, &mut checks);
    }

    let rows: Vec<CameraJson> = report
        .cameras
        .iter()
        .zip(&seen)
        .zip(&checks)
        .map(|((c, s), check)| CameraJson::new(c, s, check.as_ref()))
        .collect();
    if args.json {
        let out = ReportJson {
            cameras: rows,
            interfaces: report.interfaces.iter().map(InterfaceJson::from).collect(),
            notes: report.notes.clone(),
            interrupted: interrupted.load(Ordering::Relaxed),
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_table(&rows, &report);
    }

    // With --duration-s, fewer frames than --frames is not a failure.
    let short: Vec<String> = match (args.frames, args.duration_s) {
        (Some(frames), None) => seen
            .iter()
            .enumerate()
            .filter(|(_, s)| s.frames < frames)
            .map(|(i, s)| format!("camera {i}: {} of {frames} frames", s.frames))
            .collect(),
        _ => Vec::new(),
    };
    let mismatched: u64 = checks.iter().flatten().map(|c| c.mismatched).sum();
    if interrupted.load(Ordering::Relaxed) {
        bail!("interrupted ({})", short.join(", "));
    }
    if !short.is_empty() {
        bail!(
            "not every camera delivered its frames within {} s: {} \
             (is the camera streaming? see the counters above)",
            args.timeout_s,
            short.join(", ")
        );
    }
    if mismatched > 0 {
        bail!("{mismatched} frame(s) differ from gvsim's pattern");
    }
    Ok(())
}

/// One camera in the report.
#[derive(Debug, Serialize)]
struct CameraJson {
    index: usize,
    camera: String,
    ip: String,
    interface: String,
    path: &'static str,
    timestamp_source: &'static str,
    timestamp_clock: &'static str,
    host: String,
    port: u16,
    packet_size: u32,
    packet_size_tested: bool,
    payload_size: usize,
    extended_ids: bool,
    frames_received: u64,
    frames_complete: u64,
    frames_incomplete: u64,
    frames_dropped: u64,
    packets_received: u64,
    packets_accepted: u64,
    packets_missing: u64,
    packets_resent: u64,
    packets_duplicated: u64,
    packets_ignored: u64,
    packets_malformed: u64,
    packets_foreign: u64,
    packets_wrong_queue: u64,
    packets_to_kernel: u64,
    resend_requests: u64,
    resend_packets_requested: u64,
    resend_send_errors: u64,
    bytes: u64,
    seconds: f64,
    mb_per_s: f64,
    frames_per_s: f64,
    first_frame: Option<FrameStamps>,
    last_frame: Option<FrameStamps>,
    pattern: Option<PatternJson>,
}

#[derive(Debug, Serialize)]
struct PatternJson {
    frames_verified: u64,
    frames_mismatched: u64,
    first_mismatch_block: Option<u64>,
    first_mismatch_offset: Option<u64>,
}

impl CameraJson {
    fn new(c: &CameraReport, s: &Seen, check: Option<&PatternCheck>) -> Self {
        let st = &c.stream;
        let seconds = s.seconds();
        // Frames per second over the intervals between the frames seen.
        let rate = |count: f64| {
            if seconds > 0.0 {
                count / seconds
            } else {
                0.0
            }
        };
        CameraJson {
            index: c.setup.index,
            camera: c.setup.name.clone(),
            ip: c.setup.camera_ip.to_string(),
            interface: c.setup.interface.clone(),
            path: c.setup.path.name(),
            timestamp_source: c.timestamp_source.name(),
            timestamp_clock: c.timestamp_source.describe(),
            host: c.setup.host.to_string(),
            port: c.setup.port,
            packet_size: c.setup.packet_size,
            packet_size_tested: c.setup.packet_size_tested,
            payload_size: c.setup.payload_size,
            extended_ids: c.setup.extended_ids,
            frames_received: s.frames,
            frames_complete: st.frames_completed,
            frames_incomplete: st.frames_incomplete,
            frames_dropped: c.frames_dropped(),
            packets_received: st.packets_received,
            packets_accepted: st.packets_accepted,
            packets_missing: st.packets_missing,
            packets_resent: st.packets_resent,
            packets_duplicated: st.packets_duplicated,
            packets_ignored: st.packets_ignored,
            packets_malformed: st.packets_malformed,
            packets_foreign: st.packets_foreign.saturating_add(c.kernel_foreign),
            packets_wrong_queue: c.wrong_queue,
            packets_to_kernel: c.kernel_stream,
            resend_requests: st.resend_requests,
            resend_packets_requested: st.resend_packets_requested,
            resend_send_errors: c.resend_send_errors,
            bytes: s.bytes,
            seconds,
            // From the first frame's arrival to the last's: frames after the first.
            mb_per_s: rate(s.bytes.saturating_sub(bytes_of_first(s)) as f64) / 1e6,
            frames_per_s: rate(s.frames.saturating_sub(1) as f64),
            first_frame: s.first,
            last_frame: s.last,
            pattern: check.map(|p| PatternJson {
                frames_verified: p.verified,
                frames_mismatched: p.mismatched,
                first_mismatch_block: p.first_mismatch.map(|m| m.0),
                first_mismatch_offset: p.first_mismatch.map(|m| m.1),
            }),
        }
    }
}

/// Bytes of the first frame (the interval that rates are measured over starts after it).
fn bytes_of_first(s: &Seen) -> u64 {
    s.bytes.checked_div(s.complete).unwrap_or(0)
}

/// One interface in the report.
#[derive(Debug, Serialize)]
struct InterfaceJson {
    name: String,
    path: &'static str,
    xdp: Option<XdpJson>,
}

#[derive(Debug, Serialize)]
struct XdpJson {
    mode: &'static str,
    device_bound: bool,
    queues: u32,
    zero_copy: bool,
    steered: u64,
    passed: u64,
    malformed: u64,
    no_socket: u64,
    no_meta: u64,
    rx_packets: u64,
    rx_malformed: u64,
    rx_multi_buffer: u64,
    rx_ring_full: u64,
    rx_dropped: u64,
    unknown_stream: u64,
}

impl From<&InterfaceReport> for InterfaceJson {
    fn from(i: &InterfaceReport) -> Self {
        InterfaceJson {
            name: i.name.clone(),
            path: i.path.name(),
            xdp: i.xdp.as_ref().map(|x| XdpJson {
                mode: match x.mode {
                    gvcap::xdp::XdpMode::Native => "native",
                    gvcap::xdp::XdpMode::Generic => "generic",
                },
                device_bound: x.device_bound,
                queues: x.queues,
                zero_copy: x.zero_copy,
                steered: x.steer.steered,
                passed: x.steer.passed,
                malformed: x.steer.malformed,
                no_socket: x.steer.no_socket,
                no_meta: x.steer.no_meta,
                rx_packets: x.rx.packets,
                rx_malformed: x.rx.malformed + x.rx.bad_descriptors + x.rx.too_many_frags,
                rx_multi_buffer: x.rx.multi_buffer,
                rx_ring_full: x.kernel_drops.rx_ring_full,
                rx_dropped: x.kernel_drops.rx_dropped,
                unknown_stream: x.unknown_stream,
            }),
        }
    }
}

#[derive(Debug, Serialize)]
struct ReportJson {
    cameras: Vec<CameraJson>,
    interfaces: Vec<InterfaceJson>,
    notes: Vec<String>,
    interrupted: bool,
}

fn print_table(rows: &[CameraJson], report: &CaptureReport) {
    println!(
        "{:<4} {:<26} {:<4} {:>8} {:>6} {:>6} {:>10} {:>8} {:>7} {:>7} {:>9} {:>9}  TIMESTAMPS",
        "CAM",
        "CAMERA",
        "PATH",
        "COMPLETE",
        "INCOMP",
        "DROP",
        "PACKETS",
        "MISSING",
        "RESENT",
        "REQUESTS",
        "MB/s",
        "FRAMES/s"
    );
    for r in rows {
        println!(
            "{:<4} {:<26} {:<4} {:>8} {:>6} {:>6} {:>10} {:>8} {:>7} {:>7} {:>9.1} {:>9.1}  {}",
            r.index,
            r.camera,
            r.path,
            r.frames_complete,
            r.frames_incomplete,
            r.frames_dropped,
            r.packets_received,
            r.packets_missing,
            r.packets_resent,
            r.resend_requests,
            r.mb_per_s,
            r.frames_per_s,
            r.timestamp_source
        );
        let odd = r.packets_malformed
            + r.packets_foreign
            + r.packets_duplicated
            + r.packets_ignored
            + r.packets_wrong_queue;
        if odd > 0 {
            println!(
                "     also: {} malformed, {} foreign, {} duplicated, {} ignored, {} on the wrong queue",
                r.packets_malformed,
                r.packets_foreign,
                r.packets_duplicated,
                r.packets_ignored,
                r.packets_wrong_queue
            );
        }
        if let Some(p) = &r.pattern {
            println!(
                "     pattern: {} frames verified, {} differ{}",
                p.frames_verified,
                p.frames_mismatched,
                match (p.first_mismatch_block, p.first_mismatch_offset) {
                    (Some(b), Some(o)) => format!(" (first: block {b}, byte {o})"),
                    _ => String::new(),
                }
            );
        }
    }
    for i in &report.interfaces {
        if let Some(x) = &i.xdp {
            println!(
                "interface {}: AF_XDP {:?}{}, {} queue(s){}; program steered {}, passed {}, malformed {}",
                i.name,
                x.mode,
                if x.device_bound { " device-bound" } else { "" },
                x.queues,
                if x.zero_copy { ", zero-copy" } else { ", copy mode" },
                x.steer.steered,
                x.steer.passed,
                x.steer.malformed
            );
        } else {
            println!("interface {}: UDP sockets", i.name);
        }
    }
    if let Some(clock) = report.cameras.first().map(|c| c.timestamp_source) {
        println!("receive timestamps: {}", clock.describe());
    }
}

/// The resend and frame-timeout options; what is not given keeps the
/// capture's defaults (the ones the option help names).
fn apply_resend_args(args: &CaptureArgs, options: &mut CaptureOptions) {
    options.resend.enabled = !args.no_resend;
    if let Some(ms) = args.resend_delay_ms {
        options.resend.initial_delay = Duration::from_millis(ms);
    }
    if let Some(ms) = args.resend_interval_ms {
        options.resend.retry_interval = Duration::from_millis(ms);
    }
    if let Some(rounds) = args.resend_rounds {
        options.resend.max_rounds = rounds;
    }
    if let Some(ms) = args.frame_timeout_ms {
        options.frame_timeout = Duration::from_millis(ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Line {
        #[command(flatten)]
        capture: CaptureArgs,
    }

    #[test]
    fn resend_options_default_to_what_their_help_says_and_override_it() {
        let plain = Line::parse_from(["gvcap", "10.0.0.1", "--frames", "1"]).capture;
        let mut options = CaptureOptions::default();
        apply_resend_args(&plain, &mut options);
        assert!(options.resend.enabled);
        assert_eq!(options.resend.initial_delay, Duration::from_millis(10));
        assert_eq!(options.resend.retry_interval, Duration::from_millis(20));
        assert_eq!(options.resend.max_rounds, 6);
        assert_eq!(options.frame_timeout, Duration::from_millis(200));

        let tuned = Line::parse_from([
            "gvcap",
            "10.0.0.1",
            "--frames",
            "1",
            "--resend-delay-ms",
            "30",
            "--resend-interval-ms",
            "50",
            "--resend-rounds",
            "9",
            "--frame-timeout-ms",
            "900",
        ])
        .capture;
        apply_resend_args(&tuned, &mut options);
        assert_eq!(options.resend.initial_delay, Duration::from_millis(30));
        assert_eq!(options.resend.retry_interval, Duration::from_millis(50));
        assert_eq!(options.resend.max_rounds, 9);
        assert_eq!(options.frame_timeout, Duration::from_millis(900));
    }

    #[test]
    fn core_lists_parse_and_junk_is_refused() {
        assert_eq!(parse_cores("1").unwrap().0, vec![1]);
        assert_eq!(parse_cores("0, 2-4").unwrap().0, vec![0, 2, 3, 4]);
        assert!(parse_cores("").is_err());
        assert!(parse_cores("a").unwrap_err().contains("not a core"));
        assert!(parse_cores("4-2").is_err());
    }

    #[test]
    fn standard_block_ids_are_unwrapped_across_the_16_bit_wrap() {
        let mut check = PatternCheck::new("GVSIM1", false);
        assert_eq!(check.full_block_id(65_534), 65_534);
        assert_eq!(check.full_block_id(65_535), 65_535);
        assert_eq!(check.full_block_id(1), 65_536);
        // A frame from before the wrap, late.
        assert_eq!(check.full_block_id(65_535), 65_535);
        assert_eq!(check.full_block_id(2), 65_537);
        let mut extended = PatternCheck::new("GVSIM1", true);
        assert_eq!(extended.full_block_id(70_000), 70_000);
    }

    #[test]
    fn the_check_finds_a_wrong_byte_and_names_it() {
        let key = pattern::block_key(pattern::serial_key("GVSIM7"), 5);
        let mut data = vec![0u8; 4096];
        pattern::fill(key, 0, &mut data);
        let mut check = PatternCheck::new("GVSIM7", true);
        assert!(check.check(5, &data));
        data[1234] ^= 0x40;
        assert!(!check.check(5, &data));
        assert!(!check.check(6, &data[..16]), "another block's bytes");
        assert_eq!(
            (check.verified, check.mismatched, check.first_mismatch),
            (1, 2, Some((5, 1234)))
        );
    }
}
