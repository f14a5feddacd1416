//! gvsim running: the threads and sockets around the sans-IO parts.
//!
//! Per camera: a control thread (GVCP socket → [`ControlServer`], delayed
//! acknowledges, heartbeat expiry) and a stream thread (frames when due,
//! PACKETRESEND answers, test packets, stream faults). Per process: a
//! discovery thread on the interface's broadcast socket, and two PTP
//! threads (event port with kernel timestamps, general port) that feed
//! every camera's [`PtpSlave`] and apply its corrections to the camera's
//! [`Oscillator`].
//!
//! Invariants: a thread holds a camera's device lock only to read or
//! change state, never while sending or sleeping; lock order is device →
//! PTP port → oscillator; every loop wakes at least every 100 ms to notice
//! shutdown, which [`Simulator::shutdown`] (or drop) performs and waits for.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use gvcap::clock::{Clock, RealtimeClock};
use gvcap::wire::gvcp::{AckRepr, CommandRepr};
use gvcap::wire::ptp::{PortIdentity, EVENT_PORT, PRIMARY_MULTICAST};
use gvcap::wire::Status;

use super::config::CameraConfig;
use super::control::{ControlCounters, ControlServer, Outgoing};
use super::device::{Device, ResendRequest};
use super::frames::{Frame, Lookup};
use super::net;
use super::oscillator::Oscillator;
use super::pattern;
use super::ptp::{ClockAction, PtpSlave, PtpStatus};
use super::rng::Rng;

/// Most packets one PACKETRESEND is answered with.
pub const MAX_RESEND_PACKETS: u32 = 4096;
/// A frame whose start is this far in the past when the stream gets to it is skipped (sender overrun).
pub const OVERRUN_NS: i64 = 1_000_000_000;

/// What to run.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The interface the cameras are on: discovery broadcasts and PTP use it.
    /// `None` (tests on loopback): unicast GVCP and streaming only.
    pub interface: Option<String>,
    /// The cameras.
    pub cameras: Vec<CameraConfig>,
    /// Run the PTP slaves on the interface (needs `interface`).
    pub ptp: bool,
}

/// Stream counters of one camera.
#[derive(Debug, Default)]
pub struct StreamCounters {
    frames: AtomicU64,
    packets: AtomicU64,
    lost: AtomicU64,
    reordered: AtomicU64,
    duplicated: AtomicU64,
    resent: AtomicU64,
    unavailable: AtomicU64,
    overruns: AtomicU64,
    send_errors: AtomicU64,
    bytes: AtomicU64,
}

/// A snapshot of [`StreamCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Frames transmitted.
    pub frames: u64,
    /// Packets sent (first transmissions, duplicates included).
    pub packets: u64,
    /// Packets dropped by the loss fault.
    pub lost: u64,
    /// Packets sent out of order by the reorder fault.
    pub reordered: u64,
    /// Extra copies sent by the duplication fault.
    pub duplicated: u64,
    /// Packets resent on request.
    pub resent: u64,
    /// 'Unavailable' answers to resend requests.
    pub unavailable: u64,
    /// Frames skipped because the sender fell more than a second behind.
    pub overruns: u64,
    /// Sends the kernel refused (e.g. a packet larger than the MTU).
    pub send_errors: u64,
    /// UDP payload bytes sent.
    pub bytes: u64,
}

impl StreamCounters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> StreamStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StreamStats {
            frames: get(&self.frames),
            packets: get(&self.packets),
            lost: get(&self.lost),
            reordered: get(&self.reordered),
            duplicated: get(&self.duplicated),
            resent: get(&self.resent),
            unavailable: get(&self.unavailable),
            overruns: get(&self.overruns),
            send_errors: get(&self.send_errors),
            bytes: get(&self.bytes),
        }
    }
}

#[derive(Debug)]
struct Shared {
    config: CameraConfig,
    host: Arc<dyn Clock>,
    device: Arc<Mutex<Device>>,
    wake: Condvar,
    control: Mutex<ControlServer>,
    clock: Arc<Oscillator>,
    ptp: Arc<Mutex<PtpSlave>>,
    gvcp: UdpSocket,
    dead: AtomicBool,
    stream: StreamCounters,
    jitter: Mutex<Rng>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A handle on one running simulated camera.
#[derive(Debug, Clone)]
pub struct SimCamera {
    shared: Arc<Shared>,
}

impl SimCamera {
    /// Its configuration.
    pub fn config(&self) -> &CameraConfig {
        &self.shared.config
    }

    /// Its address.
    pub fn address(&self) -> Ipv4Addr {
        self.shared.config.address
    }

    /// Its serial number.
    pub fn serial(&self) -> &str {
        &self.shared.config.serial
    }

    /// Runs `f` on the device state (registers, frames) under its lock.
    pub fn with_device<R>(&self, f: impl FnOnce(&mut Device) -> R) -> R {
        let result = f(&mut lock(&self.shared.device));
        self.shared.wake.notify_all();
        result
    }

    /// The camera clock.
    pub fn clock(&self) -> &Arc<Oscillator> {
        &self.shared.clock
    }

    /// The PTP port state.
    pub fn ptp_status(&self) -> PtpStatus {
        lock(&self.shared.ptp).status()
    }

    /// The PTP port's last measured offset from the master, ns.
    pub fn ptp_offset_ns(&self) -> i64 {
        lock(&self.shared.ptp).offset_ns()
    }

    /// Runs `f` on the PTP port under its lock.
    pub fn with_ptp<R>(&self, f: impl FnOnce(&mut PtpSlave) -> R) -> R {
        f(&mut lock(&self.shared.ptp))
    }

    /// Stream counters.
    pub fn stream_stats(&self) -> StreamStats {
        self.shared.stream.snapshot()
    }

    /// GVCP counters.
    pub fn control_counters(&self) -> ControlCounters {
        lock(&self.shared.control).counters()
    }

    /// Fault injection: the camera stops (or resumes) answering and streaming.
    pub fn set_dead(&self, dead: bool) {
        self.shared.dead.store(dead, Ordering::SeqCst);
        lock(&self.shared.control).set_silent(dead);
        self.shared.wake.notify_all();
    }

    /// The pattern key of this camera's serial.
    pub fn serial_key(&self) -> u64 {
        pattern::serial_key(&self.shared.config.serial)
    }
}

/// A running simulator: its cameras and threads.
#[derive(Debug)]
pub struct Simulator {
    cameras: Vec<SimCamera>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    ptp_error: Option<String>,
}

impl Simulator {
    /// Opens every socket and starts every thread; fails (starting nothing) when a socket cannot be opened.
    pub fn start(options: SimOptions) -> io::Result<Simulator> {
        Self::start_with_clock(options, Arc::new(RealtimeClock))
    }

    /// Like [`Simulator::start`] with another host clock (the one the oscillators run against).
    pub fn start_with_clock(options: SimOptions, host: Arc<dyn Clock>) -> io::Result<Simulator> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut cameras = Vec::new();
        for config in &options.cameras {
            let clock = Arc::new(Oscillator::new(
                Arc::clone(&host),
                config.offset_ns,
                config.drift_ppm,
            ));
            let identity = PortIdentity {
                clock_identity: PortIdentity::clock_identity_from_mac(config.mac),
                port_number: 1,
            };
            let mut slave = PtpSlave::new(identity, 0, config.ptp_mode);
            slave.set_never_lock(config.faults.ptp_never_lock);
            let ptp = Arc::new(Mutex::new(slave));
            let device = Arc::new(Mutex::new(Device::new(
                config,
                Arc::clone(&clock),
                Arc::clone(&ptp),
            )));
            let control = ControlServer::new(
                Arc::clone(&device),
                config.faults.seed,
                config.faults.gvcp_drop,
            );
            let gvcp = net::gvcp_unicast(config.address, config.gvcp_port).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "camera {}: GVCP socket on {}:{}: {e}",
                        config.serial, config.address, config.gvcp_port
                    ),
                )
            })?;
            cameras.push(SimCamera {
                shared: Arc::new(Shared {
                    config: config.clone(),
                    host: Arc::clone(&host),
                    device,
                    wake: Condvar::new(),
                    control: Mutex::new(control),
                    clock,
                    ptp,
                    gvcp,
                    dead: AtomicBool::new(false),
                    stream: StreamCounters::default(),
                    jitter: Mutex::new(Rng::new(
                        config.faults.seed ^ pattern::serial_key(&config.serial),
                    )),
                }),
            });
        }
        let mut streams = Vec::new();
        for camera in &cameras {
            streams.push(net::gvsp_sender(camera.address()).map_err(|e| {
                io::Error::new(e.kind(), format!("camera {}: {e}", camera.serial()))
            })?);
        }
        let broadcast = match &options.interface {
            Some(interface) => Some(net::gvcp_broadcast(
                interface,
                options
                    .cameras
                    .first()
                    .map_or(gvcap::wire::gvcp::GVCP_PORT, |c| c.gvcp_port),
            )?),
            None => None,
        };
        let mut threads = Vec::new();
        let spawn = |name: String, f: Box<dyn FnOnce() + Send>| -> io::Result<JoinHandle<()>> {
            thread::Builder::new().name(name).spawn(f)
        };
        for (camera, socket) in cameras.iter().zip(streams) {
            let shared = Arc::clone(&camera.shared);
            let stop_c = Arc::clone(&stop);
            threads.push(spawn(
                format!("gvcp-{}", camera.serial()),
                Box::new(move || control_loop(&shared, &stop_c)),
            )?);
            let shared = Arc::clone(&camera.shared);
            let stop_s = Arc::clone(&stop);
            threads.push(spawn(
                format!("gvsp-{}", camera.serial()),
                Box::new(move || stream_loop(&shared, socket, &stop_s)),
            )?);
        }
        if let Some(socket) = broadcast {
            let all: Vec<Arc<Shared>> = cameras.iter().map(|c| Arc::clone(&c.shared)).collect();
            let stop_b = Arc::clone(&stop);
            threads.push(spawn(
                "gvcp-broadcast".into(),
                Box::new(move || broadcast_loop(&all, &socket, &stop_b)),
            )?);
        }
        let mut ptp_error = None;
        if let (true, Some(interface), Some(first)) =
            (options.ptp, &options.interface, cameras.first())
        {
            match net::PtpSockets::open(interface, first.address()) {
                Ok(sockets) => {
                    let sockets = Arc::new(sockets);
                    for general in [false, true] {
                        let all: Vec<Arc<Shared>> =
                            cameras.iter().map(|c| Arc::clone(&c.shared)).collect();
                        let sockets = Arc::clone(&sockets);
                        let stop_p = Arc::clone(&stop);
                        threads.push(spawn(
                            if general { "ptp-general" } else { "ptp-event" }.into(),
                            Box::new(move || ptp_loop(&all, &sockets, general, &stop_p)),
                        )?);
                    }
                }
                Err(e) => {
                    for camera in &cameras {
                        camera.with_ptp(|p| p.set_faulty(true));
                    }
                    ptp_error = Some(format!("PTP on {interface}: {e}"));
                }
            }
        }
        Ok(Simulator {
            cameras,
            stop,
            threads,
            ptp_error,
        })
    }

    /// The cameras.
    pub fn cameras(&self) -> &[SimCamera] {
        &self.cameras
    }

    /// Why PTP is not running, if it could not start (the cameras then report Faulty).
    pub fn ptp_error(&self) -> Option<&str> {
        self.ptp_error.as_deref()
    }

    /// Stops every thread and waits for them.
    pub fn shutdown(mut self) {
        self.stop_threads();
    }

    fn stop_threads(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for camera in &self.cameras {
            camera.shared.wake.notify_all();
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop_threads();
    }
}

// ---------------------------------------------------------------- control

fn control_loop(shared: &Shared, stop: &AtomicBool) {
    let started = Instant::now();
    let mut pending: Vec<(Instant, Outgoing)> = Vec::new();
    let mut buf = [0u8; 2048];
    let silence_after = shared
        .config
        .faults
        .stop_answering_after_ms
        .map(Duration::from_millis);
    while !stop.load(Ordering::Relaxed) {
        if silence_after.is_some_and(|after| started.elapsed() >= after)
            && !shared.dead.load(Ordering::Relaxed)
        {
            shared.dead.store(true, Ordering::SeqCst);
            lock(&shared.control).set_silent(true);
            tracing::info!(
                "camera {} stops answering (fault injection)",
                shared.config.serial
            );
        }
        match net::recv_from(&shared.gvcp, &mut buf) {
            Ok(Some((len, from))) => {
                let now = shared.host.now_ns();
                let out = lock(&shared.control).handle(now, from, &buf[..len]);
                shared.wake.notify_all();
                for o in out {
                    if o.delay.is_zero() {
                        send(&shared.gvcp, &o);
                    } else {
                        pending.push((Instant::now() + o.delay, o));
                    }
                }
            }
            Ok(None) => {
                let before = lock(&shared.control).primary();
                lock(&shared.control).poll(shared.host.now_ns());
                if before.is_some() && lock(&shared.control).primary().is_none() {
                    tracing::info!(
                        "camera {}: control privilege of {before:?} expired",
                        shared.config.serial
                    );
                    shared.wake.notify_all();
                }
            }
            Err(e) => {
                tracing::warn!("camera {}: GVCP receive: {e}", shared.config.serial);
                thread::sleep(Duration::from_millis(50));
            }
        }
        let now = Instant::now();
        pending.retain(|(due, o)| {
            if *due <= now {
                send(&shared.gvcp, o);
                false
            } else {
                true
            }
        });
    }
}

fn send(socket: &UdpSocket, out: &Outgoing) {
    if let Err(e) = socket.send_to(&out.bytes, out.to) {
        tracing::debug!("GVCP send to {}: {e}", out.to);
    }
}

fn broadcast_loop(cameras: &[Arc<Shared>], socket: &UdpSocket, stop: &AtomicBool) {
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        let Ok(Some((len, from))) = net::recv_from(socket, &mut buf) else {
            continue;
        };
        // Only discovery-type commands are meant for everyone.
        let for_all = matches!(
            CommandRepr::parse(&buf[..len]),
            Ok((_, CommandRepr::Discovery | CommandRepr::ForceIp { .. }))
        );
        if !for_all {
            continue;
        }
        for camera in cameras {
            let now = camera.host.now_ns();
            let out = lock(&camera.control).handle(now, from, &buf[..len]);
            for o in out {
                // Sent from the camera's own socket, so the answer carries its address.
                send(&camera.gvcp, &o);
            }
        }
    }
}

// ---------------------------------------------------------------- stream

/// Per-camera state of the stream faults.
struct StreamFaults {
    rng: Rng,
    loss: f64,
    burst: u32,
    burst_left: u32,
    reorder: f64,
    duplicate: f64,
    held: Option<Vec<u8>>,
}

impl StreamFaults {
    fn new(config: &CameraConfig) -> Self {
        let f = &config.faults;
        let burst = f.burst.max(1);
        StreamFaults {
            rng: Rng::new(f.seed ^ 0x7374_7265_616D ^ pattern::serial_key(&config.serial)),
            // A run starts with this chance, so that `loss` is the share of packets lost.
            loss: (f.loss / f64::from(burst)).clamp(0.0, 1.0),
            burst,
            burst_left: 0,
            reorder: f.reorder,
            duplicate: f.duplicate,
            held: None,
        }
    }

    fn active(&self) -> bool {
        self.loss > 0.0 || self.reorder > 0.0 || self.duplicate > 0.0
    }
}

fn stream_loop(shared: &Shared, socket: UdpSocket, stop: &AtomicBool) {
    lock(&shared.device).set_source_port(net::local_port(&socket));
    let mut faults = StreamFaults::new(&shared.config);
    let mut buf = vec![0u8; 9216];
    let frame_delay = Duration::from_micros(shared.config.faults.frame_delay_us);
    while !stop.load(Ordering::Relaxed) {
        let mut device = lock(&shared.device);
        if shared.dead.load(Ordering::Relaxed) {
            let _ = shared.wake.wait_timeout(device, Duration::from_millis(100));
            continue;
        }
        // Resend requests first: they concern frames already out.
        let mut resends = Vec::new();
        while let Some(request) = device.take_resend() {
            let found = device.lookup_frame(request.block_id, request.extended);
            let not_yet = device.status_for_client(Status::PacketNotYetAvailable);
            resends.push((request, found, not_yet));
        }
        let test_packet = device.take_test_packet();
        let target = device.stream_target();
        let packet_size = device.stream_packet_size();
        let delay_ns = device.packet_delay_ns();
        let now = shared.clock.now();
        let frame = device.poll_frame(now);
        let deadline = device.next_deadline();
        if frame.is_none() && resends.is_empty() && !test_packet {
            let wait = match deadline {
                Some(at) => {
                    let host_at = shared.clock.host_at(at);
                    Duration::from_nanos(host_at.saturating_sub(shared.host.now_ns()))
                        .min(Duration::from_millis(100))
                }
                None => Duration::from_millis(100),
            };
            let _ = shared.wake.wait_timeout(device, wait);
            continue;
        }
        drop(device);
        let Some(target) = target else {
            continue;
        };
        for (request, found, not_yet) in resends {
            serve_resend(shared, &socket, target, request, found, not_yet, &mut buf);
        }
        if test_packet {
            send_test_packet(shared, &socket, target, packet_size, &mut buf);
        }
        if let Some(frame) = frame {
            if now.saturating_sub(frame.timestamp as i64) > OVERRUN_NS {
                StreamCounters::add(&shared.stream.overruns, 1);
                continue;
            }
            if !frame_delay.is_zero() {
                thread::sleep(frame_delay);
            }
            send_frame(
                shared,
                &socket,
                target,
                &frame,
                delay_ns,
                &mut faults,
                &mut buf,
            );
        }
    }
}

fn send_packet(shared: &Shared, socket: &UdpSocket, target: SocketAddrV4, bytes: &[u8]) {
    match socket.send_to(bytes, target) {
        Ok(n) => {
            StreamCounters::add(&shared.stream.packets, 1);
            StreamCounters::add(&shared.stream.bytes, n as u64);
        }
        Err(e) => {
            if shared.stream.send_errors.fetch_add(1, Ordering::Relaxed) == 0 {
                tracing::warn!(
                    "camera {}: sending {} bytes to {target}: {e} (is the packet size above the MTU?)",
                    shared.config.serial,
                    bytes.len()
                );
            }
        }
    }
}

fn send_frame(
    shared: &Shared,
    socket: &UdpSocket,
    target: SocketAddrV4,
    frame: &Frame,
    delay_ns: u64,
    faults: &mut StreamFaults,
    buf: &mut [u8],
) {
    let started = Instant::now();
    let last = frame.trailer_id();
    for id in 0..=last {
        if delay_ns > 0 && id > 0 {
            pace(
                started,
                Duration::from_nanos(delay_ns.saturating_mul(u64::from(id))),
            );
        }
        let Ok(len) = frame.emit_packet(id, false, buf) else {
            continue;
        };
        if !faults.active() {
            send_packet(shared, socket, target, &buf[..len]);
            continue;
        }
        if faults.burst_left > 0 {
            faults.burst_left -= 1;
            StreamCounters::add(&shared.stream.lost, 1);
            continue;
        }
        if faults.rng.chance(faults.loss) {
            faults.burst_left = faults.burst - 1;
            StreamCounters::add(&shared.stream.lost, 1);
            continue;
        }
        if faults.held.is_none() && id < last && faults.rng.chance(faults.reorder) {
            faults.held = Some(buf[..len].to_vec());
            StreamCounters::add(&shared.stream.reordered, 1);
            continue;
        }
        send_packet(shared, socket, target, &buf[..len]);
        if faults.rng.chance(faults.duplicate) {
            send_packet(shared, socket, target, &buf[..len]);
            StreamCounters::add(&shared.stream.duplicated, 1);
        }
        if let Some(held) = faults.held.take() {
            send_packet(shared, socket, target, &held);
        }
    }
    if let Some(held) = faults.held.take() {
        send_packet(shared, socket, target, &held);
    }
    StreamCounters::add(&shared.stream.frames, 1);
}

/// Waits until `offset` after `start`: sleeps for long waits, spins for short ones.
fn pace(start: Instant, offset: Duration) {
    let due = start + offset;
    loop {
        let now = Instant::now();
        if now >= due {
            return;
        }
        let left = due - now;
        if left > Duration::from_micros(200) {
            thread::sleep(left - Duration::from_micros(100));
        } else {
            std::hint::spin_loop();
        }
    }
}

fn serve_resend(
    shared: &Shared,
    socket: &UdpSocket,
    target: SocketAddrV4,
    request: ResendRequest,
    found: Lookup,
    not_yet: Status,
    buf: &mut [u8],
) {
    let last = request
        .last
        .min(request.first.saturating_add(MAX_RESEND_PACKETS - 1));
    match found {
        Lookup::Found(frame) => {
            for id in request.first..=last {
                let len = if id <= frame.trailer_id() {
                    StreamCounters::add(&shared.stream.resent, 1);
                    frame.emit_packet(id, true, buf)
                } else {
                    StreamCounters::add(&shared.stream.unavailable, 1);
                    Frame::emit_unavailable(
                        request.block_id,
                        id,
                        request.extended,
                        Status::PacketUnavailable,
                        buf,
                    )
                };
                if let Ok(len) = len {
                    send_packet(shared, socket, target, &buf[..len]);
                }
            }
        }
        Lookup::Gone | Lookup::NotYet => {
            let status = if found == Lookup::Gone {
                Status::PacketUnavailable
            } else {
                not_yet
            };
            for id in request.first..=last.min(request.first.saturating_add(63)) {
                StreamCounters::add(&shared.stream.unavailable, 1);
                if let Ok(len) =
                    Frame::emit_unavailable(request.block_id, id, request.extended, status, buf)
                {
                    send_packet(shared, socket, target, &buf[..len]);
                }
            }
        }
    }
}

/// A test packet: a datagram of the configured packet size (IP and UDP
/// headers included), which a client uses to find the largest packet the
/// path carries; its content is zeros.
fn send_test_packet(
    shared: &Shared,
    socket: &UdpSocket,
    target: SocketAddrV4,
    packet_size: u32,
    buf: &mut [u8],
) {
    let len = (packet_size.saturating_sub(super::frames::IP_UDP_OVERHEAD) as usize).min(buf.len());
    buf[..len].fill(0);
    send_packet(shared, socket, target, &buf[..len]);
}

// ---------------------------------------------------------------- PTP

fn ptp_loop(cameras: &[Arc<Shared>], sockets: &net::PtpSockets, general: bool, stop: &AtomicBool) {
    let mut buf = [0u8; 1500];
    let mut last_timeout_check = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let received = if general {
            net::recv_from(&sockets.general, &mut buf).map(|r| r.map(|(len, _)| (len, None)))
        } else {
            net::recv_timestamped(&sockets.event, &mut buf)
        };
        match received {
            Ok(Some((len, stamp))) => {
                for camera in cameras {
                    let now = camera.host.now_ns();
                    let rx_host = stamp.unwrap_or(now);
                    let rx_local = camera.clock.local_at(rx_host) + jitter(camera);
                    let actions = lock(&camera.ptp).handle(&buf[..len], rx_local, now);
                    apply(camera, actions);
                    send_delay_req(camera, sockets);
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!("PTP receive: {e}");
                thread::sleep(Duration::from_millis(100));
            }
        }
        if !general && last_timeout_check.elapsed() > Duration::from_millis(200) {
            last_timeout_check = Instant::now();
            for camera in cameras {
                let now = camera.host.now_ns();
                lock(&camera.ptp).handle_timeout(now);
            }
        }
    }
}

fn jitter(camera: &Shared) -> i64 {
    if camera.config.jitter_ns > 0.0 {
        lock(&camera.jitter).normal(camera.config.jitter_ns).round() as i64
    } else {
        0
    }
}

fn apply(camera: &Shared, actions: Vec<ClockAction>) {
    for action in actions {
        match action {
            ClockAction::Step(ns) => camera.clock.step(ns),
            ClockAction::Frequency(ppb) => camera.clock.set_adjustment_ppb(ppb),
        }
    }
}

fn send_delay_req(camera: &Shared, sockets: &net::PtpSockets) {
    let request = {
        let mut ptp = lock(&camera.ptp);
        ptp.poll_delay_req(camera.clock.now(), camera.host.now_ns())
    };
    let Some(request) = request else {
        return;
    };
    let before = camera.host.now_ns();
    match sockets.send_event_stamped(
        &request.bytes,
        SocketAddrV4::new(PRIMARY_MULTICAST, EVENT_PORT),
    ) {
        Ok(stamp) => {
            if stamp.is_none() {
                tracing::debug!(
                    "camera {}: no kernel transmit timestamp for Delay_Req",
                    camera.config.serial
                );
            }
            // The kernel's transmit time, or (without one) the time just before sending.
            let t3 = camera.clock.local_at(stamp.unwrap_or(before)) + jitter(camera);
            lock(&camera.ptp).delay_req_sent(request.sequence_id, t3);
        }
        Err(e) => tracing::debug!("camera {}: Delay_Req: {e}", camera.config.serial),
    }
}

/// Answers a DISCOVERY sent to the simulator's GVCP port on `address`, for
/// callers that want to check a camera is up without the engine's client.
pub fn probe(address: Ipv4Addr, port: u16, timeout: Duration) -> io::Result<bool> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    socket.set_read_timeout(Some(timeout))?;
    let mut datagram = [0u8; 8];
    CommandRepr::Discovery
        .emit(1, gvcap::wire::gvcp::flags::ACK_REQUIRED, &mut datagram)
        .map_err(io::Error::other)?;
    socket.send_to(&datagram, (address, port))?;
    let mut buf = [0u8; 1024];
    match socket.recv(&mut buf) {
        Ok(len) => Ok(matches!(
            AckRepr::parse(&buf[..len]),
            Ok((_, AckRepr::Discovery(_)))
        )),
        Err(_) => Ok(false),
    }
}
