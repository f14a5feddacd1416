//! Helpers for gvsim's integration tests: unique loopback addresses, an
//! in-process simulator, and a GVSP receiver that reassembles frames,
//! asks for resends and checks every byte against gvsim's pattern.
//!
//! Include with `mod gvsim_util;`.

#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use gvcap::device::{Camera, ClientConfig};
use gvcap::wire::gvsp::{GvspPacket, LeaderRepr, PacketFormat};
use gvcap::wire::Status;
use gvcap_tools::gvsim::config::CameraConfig;
use gvcap_tools::gvsim::pattern;
use gvcap_tools::gvsim::runtime::{SimOptions, Simulator};

/// A loopback address no other test of this process uses: 127.87.P.N.
pub fn loopback_address() -> Ipv4Addr {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    Ipv4Addr::new(127, 87, (pid % 251) as u8 + 1, (n % 250) as u8 + 2)
}

/// Starts cameras on fresh loopback addresses; `adjust` edits each config.
pub fn start(serials: &[&str], adjust: impl Fn(&mut CameraConfig)) -> Simulator {
    let cameras = serials
        .iter()
        .map(|s| {
            let mut c = CameraConfig::new(s, loopback_address());
            adjust(&mut c);
            c
        })
        .collect();
    Simulator::start(SimOptions {
        interface: None,
        cameras,
        ptp: false,
    })
    .expect("start gvsim on loopback")
}

/// A client configuration with short timeouts, for tests.
pub fn client() -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_millis(300),
        retries: 2,
        heartbeat_timeout: None,
    }
}

/// One frame as the receiver assembled it.
#[derive(Debug, Clone, Default)]
pub struct Received {
    pub timestamp: Option<u64>,
    pub size: Option<(u32, u32)>,
    pub packets: BTreeMap<u32, usize>,
    pub trailer_id: Option<u32>,
    /// The trailer id the leader's size and format imply.
    pub expected_trailer: Option<u32>,
    pub bytes: u64,
    pub resent_packets: u64,
    pub resend_requests: u64,
    pub first_seen: Option<Instant>,
    pub bad_bytes: u64,
    pub unavailable: u64,
}

impl Received {
    /// True when leader, every payload packet and trailer arrived.
    pub fn complete(&self) -> bool {
        match self.trailer_id {
            Some(t) => (0..=t).all(|id| self.packets.contains_key(&id)),
            None => false,
        }
    }

    fn missing(&self, last_seen: u32) -> Vec<u32> {
        let end = self
            .trailer_id
            .or(self.expected_trailer)
            .unwrap_or(last_seen);
        (0..=end)
            .filter(|id| !self.packets.contains_key(id))
            .collect()
    }
}

/// A GVSP receiver that checks the pattern and requests resends.
#[derive(Debug)]
pub struct Receiver {
    pub socket: UdpSocket,
    pub serial_key: u64,
    pub chunk: u64,
    pub frames: BTreeMap<u64, Received>,
    pub extended: bool,
    pub duplicates: u64,
    pub foreign: u64,
}

impl Receiver {
    /// Binds on `host:0`; `packet_size` is the camera's GevSCPSPacketSize.
    pub fn bind(host: Ipv4Addr, serial: &str, packet_size: u32, extended: bool) -> Receiver {
        let socket = UdpSocket::bind((host, 0)).expect("bind the stream receiver");
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(16 << 20);
        let header = if extended { 20 } else { 8 };
        Receiver {
            socket,
            serial_key: pattern::serial_key(serial),
            chunk: u64::from(packet_size) - 28 - header,
            frames: BTreeMap::new(),
            extended,
            duplicates: 0,
            foreign: 0,
        }
    }

    /// The port the camera must stream to.
    pub fn port(&self) -> u16 {
        self.socket.local_addr().unwrap().port()
    }

    /// Receives for `duration`; with `camera`, missing packets of frames whose
    /// trailer (or a later frame) arrived are requested again, at most `max_requests` times per frame.
    pub fn run(&mut self, duration: Duration, camera: Option<&Camera>, max_requests: u64) {
        let deadline = Instant::now() + duration;
        let mut buf = vec![0u8; 10_000];
        let mut last_request = Instant::now();
        while Instant::now() < deadline {
            match self.socket.recv_from(&mut buf) {
                Ok((len, SocketAddr::V4(_))) => self.packet(&buf[..len]),
                Ok(_) => {}
                Err(_) => {}
            }
            if let Some(camera) = camera {
                if last_request.elapsed() > Duration::from_millis(5) {
                    last_request = Instant::now();
                    self.request_missing(camera, max_requests);
                }
            }
        }
    }

    fn packet(&mut self, data: &[u8]) {
        let Ok(p) = GvspPacket::new_checked(data) else {
            self.foreign += 1;
            return;
        };
        let block = p.block_id();
        let id = p.packet_id();
        let resent = p.is_resent();
        let status = p.status();
        let frame = self.frames.entry(block).or_default();
        frame.first_seen.get_or_insert_with(Instant::now);
        if status != Status::Success && status != Status::PacketResend {
            frame.unavailable += 1;
            return;
        }
        if frame.packets.contains_key(&id) {
            self.duplicates += 1;
            return;
        }
        if resent {
            frame.resent_packets += 1;
        }
        match p.packet_format() {
            PacketFormat::Leader => {
                if let Ok(LeaderRepr::Image(l)) = p.leader() {
                    frame.timestamp = Some(l.timestamp);
                    frame.size = Some((l.size_x, l.size_y));
                    let payload = l.pixel_format.image_size(l.size_x, l.size_y).unwrap_or(0);
                    frame.expected_trailer = u32::try_from(payload.div_ceil(self.chunk) + 1).ok();
                }
            }
            PacketFormat::Trailer => frame.trailer_id = Some(id),
            PacketFormat::Payload => {
                let offset = u64::from(id - 1) * self.chunk;
                let key = pattern::block_key(self.serial_key, block);
                if pattern::verify(key, offset, p.payload()).is_err() {
                    frame.bad_bytes += 1;
                }
                frame.bytes += p.payload().len() as u64;
            }
            _ => {}
        }
        frame.packets.insert(id, data.len());
    }

    fn request_missing(&mut self, camera: &Camera, max_requests: u64) {
        let newest = self.frames.keys().next_back().copied().unwrap_or(0);
        for (&block, frame) in self.frames.iter_mut() {
            if frame.complete() || frame.resend_requests >= max_requests {
                continue;
            }
            let age = frame.first_seen.map_or(Duration::ZERO, |t| t.elapsed());
            // Ask once the frame is over (trailer seen, or a newer frame began), then every 30 ms.
            let over = frame.trailer_id.is_some() || block < newest;
            if !over || age < Duration::from_millis(5 + 30 * frame.resend_requests) {
                continue;
            }
            let last_seen = frame.packets.keys().next_back().copied().unwrap_or(0);
            let missing = frame.missing(last_seen);
            for run in runs(&missing) {
                let _ = camera.request_resend(0, block, run.0, run.1, self.extended);
            }
            frame.resend_requests += 1;
        }
    }
}

/// Consecutive runs of ids, as (first, last).
pub fn runs(ids: &[u32]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for &id in ids {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == id => *last = id,
            _ => out.push((id, id)),
        }
    }
    out
}

/// Opens a control channel to a simulated camera and takes control.
pub fn control(ip: Ipv4Addr) -> Camera {
    let mut camera = Camera::open(ip, client()).expect("open control channel");
    camera
        .take_control(gvcap::device::Privilege::Control)
        .expect("take control");
    camera
}

/// Path of the gvsim binary cargo built for these tests.
pub const GVSIM_BIN: &str = env!("CARGO_BIN_EXE_gvsim");
