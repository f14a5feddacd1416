//! The AF_XDP receive path of a capture, per interface: the steering
//! program attached once, one AF_XDP socket and one pinned worker per
//! receive queue, every camera of the interface registered by (camera
//! address, host port).
//!
//! Which worker reassembles a camera: the NIC spreads flows over queues by
//! hashing their addresses and ports, so all of one camera's packets land on
//! one queue, but which one is not known in advance. Each camera's
//! [`CameraStream`] therefore waits in a one-slot channel, and the first
//! worker that receives one of its packets takes it and keeps it. A packet
//! of that camera arriving on another queue (a flow moved by the NIC) is
//! counted as `wrong_queue` and dropped; resends recover it. No lock is
//! taken on the packet path.
//!
//! Invariants: the program is attached (and the sockets bound) before any
//! camera is told where to stream, and streams are registered only after
//! their test packets went through the kernel; on `stop` the workers are
//! joined, the streams unregistered, the sockets closed, then the program
//! detached (dropping [`XdpInterface`] does the same).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::stream::{RxTimestamp, TimestampSource};
use crate::xdp::{
    AttachedSteer, PacketSink, RxCounters, RxWorker, WorkerConfig, XdpError, XskSocket,
    XskStatistics,
};

use super::camera_stream::{CameraStream, Live};
use super::options::CaptureOptions;
use super::report::{add_rx, add_xsk, XdpReport};
use super::route::rx_queues;

/// Longest blocking wait of an idle worker: bounds how late timers run.
const POLL_TIMEOUT: Duration = Duration::from_millis(2);

/// Why this process cannot use XDP and AF_XDP at all (missing
/// capabilities), so that `auto` can fall back without trying.
pub(crate) fn missing_privilege() -> Option<&'static str> {
    use rustix::thread::{capabilities, CapabilitySet};
    let caps = capabilities(None).ok()?.effective;
    let bpf = caps.intersects(CapabilitySet::BPF | CapabilitySet::SYS_ADMIN);
    let net = caps.contains(CapabilitySet::NET_ADMIN | CapabilitySet::NET_RAW);
    (!(bpf && net)).then_some(
        "this process may not load XDP programs or open AF_XDP sockets: run as root, \
         or grant CAP_BPF, CAP_NET_ADMIN and CAP_NET_RAW",
    )
}

/// The program attached and the sockets bound, no camera registered yet.
#[derive(Debug)]
pub(crate) struct OpenedXdp {
    interface: String,
    steer: AttachedSteer,
    sockets: Vec<XskSocket>,
}

impl OpenedXdp {
    /// Attaches the steering program to `interface` and binds one socket per
    /// receive queue.
    pub fn open(interface: &str, options: &CaptureOptions) -> Result<OpenedXdp, XdpError> {
        let steer = AttachedSteer::attach(interface, &options.xdp)?;
        let queues = rx_queues(interface);
        let mut sockets = Vec::with_capacity(queues as usize);
        for queue in 0..queues {
            let socket = XskSocket::open(steer.ifindex(), queue, &options.xsk)?;
            steer.register_socket(queue, socket.as_fd())?;
            sockets.push(socket);
        }
        Ok(OpenedXdp {
            interface: interface.to_string(),
            steer,
            sockets,
        })
    }

    /// The interface.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// Registers the cameras' streams and starts one worker per queue,
    /// pinned to the next cores of `cores`.
    pub fn start(
        self,
        streams: Vec<(CameraStream, u16)>,
        options: &CaptureOptions,
        cores: &mut impl Iterator<Item = usize>,
    ) -> Result<XdpInterface, XdpError> {
        let OpenedXdp {
            interface,
            steer,
            sockets,
        } = self;
        let mut keys = Vec::with_capacity(streams.len());
        let mut claims = Vec::with_capacity(streams.len());
        let mut lives = Vec::with_capacity(streams.len());
        for (stream, port) in streams {
            let source = stream.source();
            let live = Arc::clone(stream.live());
            steer.register_stream(source, port, stream.index() as u32)?;
            let (tx, rx) = crossbeam_channel::bounded(1);
            // Cannot fail: the channel is empty and its receiver is held.
            let _ = tx.try_send(stream);
            keys.push((source, port));
            claims.push((tx, rx));
            lives.push(live);
        }
        let zero_copy = !sockets.is_empty() && sockets.iter().all(XskSocket::is_zero_copy);
        let queues = sockets.len() as u32;
        let mut workers = Vec::with_capacity(sockets.len());
        for socket in sockets {
            let queue = socket.queue();
            let sink = InterfaceSink {
                keys: keys.clone(),
                claims: claims.iter().map(|(_, rx)| rx.clone()).collect(),
                owned: (0..keys.len()).map(|_| None).collect(),
                lives: lives.clone(),
                unknown: 0,
            };
            let config = WorkerConfig {
                core: cores.next(),
                poll_timeout: POLL_TIMEOUT,
                spin_polls: options.spin_polls,
                coalesce: options.coalesce,
                name: format!("gvcap-xdp-{queue}"),
                ..WorkerConfig::default()
            };
            workers.push(RxWorker::spawn(socket, sink, config)?);
        }
        Ok(XdpInterface {
            interface,
            keys,
            claims,
            workers,
            queues,
            zero_copy,
            steer,
        })
    }
}

/// A running AF_XDP receive path on one interface.
#[derive(Debug)]
pub(crate) struct XdpInterface {
    interface: String,
    keys: Vec<(Ipv4Addr, u16)>,
    claims: Vec<(Sender<CameraStream>, Receiver<CameraStream>)>,
    workers: Vec<RxWorker<InterfaceSink>>,
    queues: u32,
    zero_copy: bool,
    // Last: detached after the workers and sockets are gone.
    steer: AttachedSteer,
}

/// What stopping an interface hands back.
#[derive(Debug)]
pub(crate) struct StoppedXdp {
    pub interface: String,
    pub streams: Vec<CameraStream>,
    pub report: XdpReport,
    /// Set when a worker panicked (its cameras' streams are lost).
    pub failure: Option<XdpError>,
}

impl XdpInterface {
    /// Joins the workers, collects the streams, unregisters them and
    /// detaches the program.
    pub fn stop(mut self) -> StoppedXdp {
        let mut streams = Vec::new();
        let mut rx = RxCounters::default();
        let mut kernel_drops = XskStatistics::default();
        let mut unknown = 0;
        let mut failure = None;
        for worker in self.workers.drain(..) {
            match worker.stop() {
                Ok(report) => {
                    add_rx(&mut rx, &report.counters);
                    if let Ok(stats) = report.socket.statistics() {
                        add_xsk(&mut kernel_drops, &stats);
                    }
                    unknown += report.sink.unknown;
                    streams.extend(report.sink.owned.into_iter().flatten());
                    // The socket closes here; the XSKMAP entry goes with it.
                }
                Err(err) => {
                    failure.get_or_insert(err);
                }
            }
        }
        // Streams no worker claimed (no packet ever arrived) still wait in their slot.
        for (_, slot) in &self.claims {
            streams.extend(slot.try_recv());
        }
        let steer_counters = self.steer.counters().unwrap_or_default();
        for &(source, port) in &self.keys {
            let _ = self.steer.unregister_stream(source, port);
        }
        StoppedXdp {
            interface: self.interface.clone(),
            streams,
            report: XdpReport {
                mode: self.steer.mode(),
                device_bound: self.steer.device_bound(),
                queues: self.queues,
                zero_copy: self.zero_copy,
                steer: steer_counters,
                rx,
                kernel_drops,
                unknown_stream: unknown,
            },
            failure,
        }
    }
}

/// A worker's packet sink: dispatches packets to the cameras it owns.
#[derive(Debug)]
pub(crate) struct InterfaceSink {
    keys: Vec<(Ipv4Addr, u16)>,
    claims: Vec<Receiver<CameraStream>>,
    owned: Vec<Option<CameraStream>>,
    lives: Vec<Arc<Live>>,
    unknown: u64,
}

impl PacketSink for InterfaceSink {
    fn on_packet(
        &mut self,
        frags: &[&[u8]],
        src: SocketAddrV4,
        dst_port: u16,
        rx_timestamp_ns: u64,
        hw_stamp: bool,
    ) {
        let key = (*src.ip(), dst_port);
        let Some(k) = self.keys.iter().position(|&k| k == key) else {
            self.unknown += 1;
            return;
        };
        if self.owned[k].is_none() {
            match self.claims[k].try_recv() {
                Ok(stream) => self.owned[k] = Some(stream),
                Err(_) => {
                    self.lives[k].wrong_queue.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
        let now = Instant::now();
        let rx = match (rx_timestamp_ns, hw_stamp) {
            (0, _) => RxTimestamp::NONE,
            (ns, true) => RxTimestamp::new(ns, TimestampSource::Hardware),
            (ns, false) => RxTimestamp::new(ns, TimestampSource::Kernel),
        };
        for (i, stream) in self.owned.iter_mut().enumerate() {
            let Some(stream) = stream else { continue };
            if i == k {
                stream.handle(now, rx, frags);
            } else {
                stream.tick_if_due(now);
            }
        }
    }

    fn on_idle(&mut self) {
        let now = Instant::now();
        for stream in self.owned.iter_mut().flatten() {
            stream.tick(now);
        }
    }
}
