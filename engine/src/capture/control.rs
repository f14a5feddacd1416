//! The capture's control thread: sends the resend requests the receive
//! threads queue (as GVCP PACKETRESEND on each camera's control channel),
//! and empties the kernel sockets that hold the AF_XDP streams' ports,
//! counting what arrives there.
//!
//! Why a thread of its own: a camera's control channel serialises its
//! transactions (a heartbeat or a feature read may hold it for a round
//! trip, or a timeout), and the receive workers must never wait for that.
//!
//! Invariants: every queued request is sent once or counted as failed;
//! requests and kernel datagrams are handled within `TICK` of arriving; the
//! thread ends within `TICK` of `stop`.

use std::io;
use std::net::{IpAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::device::Camera;
use crate::stream::{CameraResend, ResendSink};

use super::camera_stream::{Live, QueuedRequest};

/// Longest wait for a request before the kernel sockets are looked at.
const TICK: Duration = Duration::from_millis(5);
/// Datagrams read from one kernel socket per tick.
const KERNEL_BATCH: usize = 256;

/// Where one camera's requests go, and its counters.
#[derive(Debug)]
pub(crate) struct ControlTarget {
    pub resend: CameraResend<Arc<Camera>>,
    pub live: Arc<Live>,
}

/// A kernel socket bound to a stream port whose packets go to AF_XDP.
#[derive(Debug)]
pub(crate) struct KernelPort {
    pub socket: UdpSocket,
    pub camera: IpAddr,
    pub live: Arc<Live>,
}

/// The running control thread.
#[derive(Debug)]
pub(crate) struct Control {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Control {
    /// Starts the thread.
    pub fn spawn(
        requests: Receiver<QueuedRequest>,
        targets: Vec<ControlTarget>,
        kernel: Vec<KernelPort>,
    ) -> io::Result<Control> {
        for port in &kernel {
            port.socket.set_nonblocking(true)?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("gvcap-capture-ctl".into())
                .spawn(move || run(&requests, targets, &kernel, &stop))?
        };
        Ok(Control {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        self.halt();
    }
}

fn run(
    requests: &Receiver<QueuedRequest>,
    mut targets: Vec<ControlTarget>,
    kernel: &[KernelPort],
    stop: &AtomicBool,
) {
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::Relaxed) {
        match requests.recv_timeout(TICK) {
            Ok(first) => {
                send(&mut targets, first);
                while let Ok(next) = requests.try_recv() {
                    send(&mut targets, next);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            // Every receive thread is gone: only the kernel sockets are left.
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(TICK),
        }
        for port in kernel {
            drain_kernel(port, &mut buf);
        }
    }
}

fn send(targets: &mut [ControlTarget], (camera, request): QueuedRequest) {
    let Some(target) = targets.get_mut(camera) else {
        return;
    };
    if let Err(err) = target.resend.send_resend(&request) {
        if target.live.resend_errors.fetch_add(1, Ordering::Relaxed) == 0 {
            tracing::warn!("sending PACKETRESEND: {err}");
        }
    }
}

fn drain_kernel(port: &KernelPort, buf: &mut [u8]) {
    for _ in 0..KERNEL_BATCH {
        match port.socket.recv_from(buf) {
            Ok((_, from)) => {
                let counter = if from.ip() == port.camera {
                    &port.live.kernel_stream
                } else {
                    &port.live.kernel_foreign
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // WouldBlock: empty. Others (an ICMP error queued on the
            // socket) say nothing about the stream: stop for this tick.
            Err(_) => break,
        }
    }
}
