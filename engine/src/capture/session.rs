//! A running capture: set up in [`CaptureSession::start`], torn down in
//! [`CaptureSession::stop`] (or on drop).
//!
//! Start, in order: routes (interface, host address, MTU per camera);
//! AcquisitionStop (a camera left streaming by a crashed run ignores a new
//! destination until it restarts); the receive path per interface; each camera's stream channel (port, packet
//! size tested, destination); the frame rings and reassemblers; the receive
//! threads; the control thread; then acquisition.
//!
//! Stop, in order: AcquisitionStop; a drain that waits until every camera
//! is quiet and has no frame in flight (resends included), bounded by
//! `drain_timeout`; the receive threads (open frames are then finished as
//! incomplete); the control thread; the stream channels closed; the XDP
//! program detached.
//!
//! Invariants: whatever `start` set up before failing is torn down before
//! it returns the error; a session dropped without `stop` is stopped the
//! same way (the report is lost); frames already queued stay readable from
//! a [`FrameStream`] after `stop`, which then ends with `Disconnected`;
//! every frame slot is a multiple of 4096 bytes (PayloadSize rounded up), so
//! a frame can be written to disk with O_DIRECT straight from its slot.

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::stream::{FrameRing, Reassembler, RingConfig};

use super::camera_stream::{CameraStream, Finished, Live, QueuedResend};
use super::control::{Control, ControlTarget, KernelPort};
use super::frames::FrameStream;
use super::options::{CameraSpec, CaptureOptions, PathRequest};
use super::report::{
    CameraReport, CameraSetup, CaptureReport, InterfaceReport, ReceivePath, RxClock,
};
use super::route::{route_to, route_via, Route};
use super::setup::{prepare, Prepared};
use super::udp_path::UdpCamera;
use super::xdp_path::{missing_privilege, OpenedXdp, XdpInterface};
use super::CaptureError;

/// Resend requests queued between the receive threads and the control thread.
const RESEND_QUEUE: usize = 4096;
/// How often the drain looks at the cameras.
const DRAIN_POLL: Duration = Duration::from_millis(5);
/// Frame slot sizes are rounded up to this (the recorder's O_DIRECT block).
const SLOT_ALIGN: usize = 4096;

/// A capture in progress.
#[derive(Debug)]
pub struct CaptureSession {
    specs: Vec<CameraSpec>,
    setups: Vec<CameraSetup>,
    lives: Vec<Arc<Live>>,
    frames: FrameStream,
    opened: Vec<OpenedXdp>,
    xdp: Vec<XdpInterface>,
    udp: Vec<UdpCamera>,
    control: Option<Control>,
    notes: Vec<String>,
    options: CaptureOptions,
    epoch: Instant,
    acquiring: Vec<bool>,
    stopped: bool,
}

impl CaptureSession {
    /// Sets up every camera's stream and the receive paths, then (unless
    /// `options.start_acquisition` is off) starts acquisition.
    pub fn start(
        cameras: Vec<CameraSpec>,
        options: CaptureOptions,
    ) -> Result<CaptureSession, CaptureError> {
        if cameras.is_empty() {
            return Err(CaptureError::NoCameras);
        }
        if options.ring_slots <= options.max_in_flight || options.queue_depth == 0 {
            return Err(CaptureError::Config(format!(
                "{} frame slots for {} frames in flight and a queue of {}: \
                 give more slots than frames in flight, and a queue of at least 1",
                options.ring_slots, options.max_in_flight, options.queue_depth
            )));
        }
        let routes = cameras
            .iter()
            .map(|spec| {
                match &options.interface {
                    Some(name) => route_via(name),
                    None => route_to(spec.camera.ip()),
                }
                .map_err(|source| CaptureError::Io {
                    camera: spec.camera.name().to_string(),
                    what: "finding the host interface".into(),
                    source,
                })
            })
            .collect::<Result<Vec<Route>, _>>()?;

        let n = cameras.len();
        let mut session = CaptureSession {
            specs: cameras,
            setups: Vec::with_capacity(n),
            lives: (0..n).map(|_| Arc::new(Live::default())).collect(),
            frames: FrameStream::new(Vec::new()),
            opened: Vec::new(),
            xdp: Vec::new(),
            udp: Vec::new(),
            control: None,
            notes: Vec::new(),
            options,
            epoch: Instant::now(),
            acquiring: vec![false; n],
            stopped: false,
        };

        if session.options.start_acquisition {
            // A camera left acquiring (by a run that crashed) keeps streaming
            // to its old destination and ignores a new AcquisitionStart.
            for spec in &session.specs {
                let mut ignored = Vec::new();
                stop_acquisition(spec, &mut ignored);
            }
        }
        let paths = session.choose_paths(&routes)?;
        let mut prepared: Vec<Prepared> = Vec::with_capacity(n);
        for (index, route) in routes.iter().enumerate() {
            let path = paths
                .iter()
                .find(|(name, _)| *name == route.interface)
                .map_or(ReceivePath::Udp, |(_, path)| *path);
            let p = prepare(index, &session.specs[index], route, path, &session.options)?;
            session.setups.push(p.setup.clone());
            session.notes.extend(p.note.clone());
            prepared.push(p);
        }

        let (requests_tx, requests_rx) = crossbeam_channel::bounded(RESEND_QUEUE);
        let mut receivers = Vec::with_capacity(n);
        let mut streams = Vec::with_capacity(n);
        for p in &prepared {
            let index = p.setup.index;
            let options = &session.options;
            // Slots a whole number of 4096-byte blocks long: the recorder then
            // writes a frame with O_DIRECT straight from its slot, padding
            // included, instead of copying it (docs/recording-format.md).
            let ring = RingConfig {
                slots: options.ring_slots,
                slot_size: p.setup.payload_size.next_multiple_of(SLOT_ALIGN),
                queue_depth: options.queue_depth,
                policy: options.drop_policy,
                huge_pages: options.huge_pages,
            };
            let stream_err = |source| CaptureError::Stream {
                camera: p.setup.name.clone(),
                source,
            };
            let (producer, receiver) = FrameRing::create(ring).map_err(stream_err)?;
            let reassembler = Reassembler::new(p.config, producer).map_err(stream_err)?;
            let live = Arc::clone(&session.lives[index]);
            streams.push(CameraStream::new(
                index,
                p.setup.camera_ip,
                reassembler,
                QueuedResend::new(index, requests_tx.clone(), Arc::clone(&live)),
                live,
                session.epoch,
            ));
            receivers.push(receiver);
        }
        drop(requests_tx);
        session.frames = FrameStream::new(receivers);

        let mut cores = session.options.cores.clone().into_iter().cycle();
        let mut kernel_ports = Vec::new();
        let mut groups: Vec<Vec<(CameraStream, u16)>> =
            session.opened.iter().map(|_| Vec::new()).collect();
        for (p, stream) in prepared.into_iter().zip(streams) {
            let Prepared { setup, socket, .. } = p;
            match setup.path {
                ReceivePath::Xdp => {
                    // The kernel socket keeps the port ours and counts what the
                    // program passes to the kernel for it.
                    kernel_ports.push(KernelPort {
                        socket,
                        camera: IpAddr::V4(setup.camera_ip),
                        live: Arc::clone(stream.live()),
                    });
                    let group = session
                        .opened
                        .iter()
                        .position(|o| o.interface() == setup.interface)
                        .ok_or_else(|| {
                            CaptureError::Thread(format!(
                                "no AF_XDP socket open on {} for camera {}",
                                setup.interface, setup.index
                            ))
                        })?;
                    groups[group].push((stream, setup.port));
                }
                ReceivePath::Udp => {
                    // The socket path binds the port itself.
                    drop(socket);
                    let udp = UdpCamera::spawn(
                        stream,
                        &setup.name,
                        std::net::SocketAddrV4::new(setup.host, setup.port),
                        IpAddr::V4(setup.camera_ip),
                        cores.next(),
                    )?;
                    session.udp.push(udp);
                }
            }
        }
        for (opened, group) in std::mem::take(&mut session.opened).into_iter().zip(groups) {
            let interface = opened.interface().to_string();
            let running = opened
                .start(group, &session.options, &mut cores)
                .map_err(|source| CaptureError::Xdp { interface, source })?;
            session.xdp.push(running);
        }

        let targets = session
            .specs
            .iter()
            .zip(&session.lives)
            .map(|(spec, live)| ControlTarget {
                resend: crate::stream::CameraResend::new(Arc::clone(&spec.camera), spec.channel),
                live: Arc::clone(live),
            })
            .collect();
        session.control = Some(
            Control::spawn(requests_rx, targets, kernel_ports)
                .map_err(|e| CaptureError::Thread(format!("starting the control thread: {e}")))?,
        );

        if session.options.start_acquisition {
            for index in 0..n {
                start_acquisition(&session.specs[index])?;
                session.acquiring[index] = true;
            }
        }
        Ok(session)
    }

    /// Decides the receive path of each interface, attaching AF_XDP where
    /// it is asked for (or allowed, in `Auto`) and works.
    fn choose_paths(
        &mut self,
        routes: &[Route],
    ) -> Result<Vec<(String, ReceivePath)>, CaptureError> {
        let mut paths: Vec<(String, ReceivePath)> = Vec::new();
        for route in routes {
            let interface = &route.interface;
            if paths.iter().any(|(name, _)| name == interface) {
                continue;
            }
            let path = match self.options.path {
                PathRequest::Udp => ReceivePath::Udp,
                PathRequest::Auto if missing_privilege().is_some() => {
                    let why = missing_privilege().unwrap_or_default();
                    self.notes.push(format!(
                        "AF_XDP is not usable on {interface} ({why}); receiving through UDP sockets"
                    ));
                    ReceivePath::Udp
                }
                PathRequest::Xdp | PathRequest::Auto => {
                    match OpenedXdp::open(interface, &self.options) {
                        Ok(opened) => {
                            self.opened.push(opened);
                            ReceivePath::Xdp
                        }
                        Err(source) if self.options.path == PathRequest::Auto => {
                            let note = format!(
                                "AF_XDP is not usable on {interface} ({source}); receiving through UDP sockets"
                            );
                            tracing::info!("{note}");
                            self.notes.push(note);
                            ReceivePath::Udp
                        }
                        Err(source) => {
                            return Err(CaptureError::Xdp {
                                interface: interface.clone(),
                                source,
                            })
                        }
                    }
                }
            };
            paths.push((interface.clone(), path));
        }
        Ok(paths)
    }

    /// How each camera's stream was set up, by index.
    pub fn setups(&self) -> &[CameraSetup] {
        &self.setups
    }

    /// One-line notes on choices made during setup (path fallbacks, packet sizes).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The finished frames of every camera; clone it for several consumers.
    pub fn frames(&self) -> FrameStream {
        self.frames.clone()
    }

    /// Frames finished so far (complete or not) by camera `index`.
    pub fn frames_finished(&self, index: usize) -> u64 {
        self.lives
            .get(index)
            .map_or(0, |l| l.frames.load(Ordering::Relaxed))
    }

    /// Stops acquisition, drains, stops the receive path and returns every
    /// camera's counters.
    pub fn stop(mut self) -> Result<CaptureReport, CaptureError> {
        let (report, failure) = self.shutdown();
        match failure {
            Some(err) => Err(err),
            None => Ok(report),
        }
    }

    /// Tears everything down; the first hard failure is handed back beside
    /// the report of what could still be counted.
    fn shutdown(&mut self) -> (CaptureReport, Option<CaptureError>) {
        self.stopped = true;
        let mut failure = None;
        for (spec, acquiring) in self.specs.iter().zip(self.acquiring.iter_mut()) {
            if std::mem::take(acquiring) {
                stop_acquisition(spec, &mut self.notes);
            }
        }
        self.drain();

        // Nothing more is expected: close the channels before the receivers
        // go, so no packet meets a closed port.
        for setup in &self.setups {
            if let Some(spec) = self.specs.get(setup.index) {
                if let Err(err) = spec.camera.close_stream(setup.channel) {
                    self.notes
                        .push(format!("closing the stream channel: {err}"));
                }
            }
        }

        let n = self.specs.len();
        let mut finished: Vec<Option<Finished>> = (0..n).map(|_| None).collect();
        let mut xdp_reports = Vec::new();
        for xdp in self.xdp.drain(..) {
            let stopped = xdp.stop();
            for stream in stopped.streams {
                let index = stream.index();
                if let Some(slot) = finished.get_mut(index) {
                    *slot = Some(stream.finish());
                }
            }
            if let Some(source) = stopped.failure {
                failure.get_or_insert(CaptureError::Xdp {
                    interface: stopped.interface.clone(),
                    source,
                });
            }
            xdp_reports.push((stopped.interface, stopped.report));
        }
        // Opened but never started (start failed half way): detach.
        self.opened.clear();
        for udp in self.udp.drain(..) {
            let index = udp.index();
            match udp.stop() {
                Ok((stream, result)) => {
                    if let Err(err) = result {
                        self.notes
                            .push(format!("camera {index}: receive socket failed: {err}"));
                    }
                    if let Some(slot) = finished.get_mut(index) {
                        *slot = Some(stream.finish());
                    }
                }
                Err(err) => {
                    failure.get_or_insert(err);
                }
            }
        }
        if let Some(control) = self.control.take() {
            control.stop();
        }

        let mut interfaces: Vec<InterfaceReport> = Vec::new();
        let mut cameras = Vec::with_capacity(self.setups.len());
        for setup in &self.setups {
            if !interfaces.iter().any(|i| i.name == setup.interface) {
                interfaces.push(InterfaceReport {
                    name: setup.interface.clone(),
                    path: setup.path,
                    xdp: xdp_reports
                        .iter()
                        .find(|(name, _)| *name == setup.interface)
                        .map(|(_, report)| report.clone()),
                });
            }
            let live = &self.lives[setup.index];
            let (stream, ring) = finished[setup.index]
                .as_ref()
                .map(|f| (f.stream, f.ring))
                .unwrap_or_default();
            let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
            cameras.push(CameraReport {
                setup: setup.clone(),
                stream,
                ring,
                timestamp_source: RxClock::of(setup.path, live.timestamp_source()),
                resend_send_errors: load(&live.resend_errors),
                kernel_foreign: load(&live.kernel_foreign),
                kernel_stream: load(&live.kernel_stream),
                wrong_queue: load(&live.wrong_queue),
            });
        }
        let report = CaptureReport {
            cameras,
            interfaces,
            notes: self.notes.clone(),
        };
        (report, failure)
    }

    /// Waits until every camera with a receive thread is quiet and has no
    /// frame in flight, or `drain_timeout` passed.
    fn drain(&self) {
        if self.udp.is_empty() && self.xdp.is_empty() {
            return;
        }
        let resend = &self.options.resend;
        let quiet = (resend.retry_interval * 2)
            .max(resend.initial_delay * 2)
            .max(Duration::from_millis(20));
        let deadline = Instant::now() + self.options.drain_timeout;
        loop {
            let now = Instant::now();
            let settled = self.lives.iter().all(|live| {
                live.in_flight.load(Ordering::Relaxed) == 0
                    && live
                        .quiet_for(self.epoch, now)
                        .is_none_or(|idle| idle >= quiet)
            });
            if settled || now >= deadline {
                return;
            }
            std::thread::sleep(DRAIN_POLL);
        }
    }
}

impl Drop for CaptureSession {
    fn drop(&mut self) {
        if !self.stopped {
            let _ = self.shutdown();
        }
    }
}

/// AcquisitionMode=Continuous, TLParamsLocked=1 where the camera has it,
/// then AcquisitionStart.
fn start_acquisition(spec: &CameraSpec) -> Result<(), CaptureError> {
    let camera = spec.camera.as_ref();
    let features = &spec.features;
    let feature_err = |feature| {
        move |source| CaptureError::Feature {
            camera: camera.name().to_string(),
            feature,
            source: Box::new(source),
        }
    };
    features
        .set_enum(camera, "AcquisitionMode", "Continuous")
        .map_err(feature_err("AcquisitionMode"))?;
    if features
        .is_writable(camera, "TLParamsLocked")
        .unwrap_or(false)
    {
        features
            .set_from_str(camera, "TLParamsLocked", "1")
            .map_err(feature_err("TLParamsLocked"))?;
    }
    features
        .execute(camera, "AcquisitionStart")
        .map_err(feature_err("AcquisitionStart"))
}

/// AcquisitionStop, then TLParamsLocked=0; failures become notes.
fn stop_acquisition(spec: &CameraSpec, notes: &mut Vec<String>) {
    let camera = spec.camera.as_ref();
    if let Err(err) = spec.features.execute(camera, "AcquisitionStop") {
        notes.push(format!("camera {}: AcquisitionStop: {err}", camera.name()));
    }
    if spec
        .features
        .is_writable(camera, "TLParamsLocked")
        .unwrap_or(false)
    {
        let _ = spec.features.set_from_str(camera, "TLParamsLocked", "0");
    }
}
