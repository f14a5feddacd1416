//! The socket receive path of a capture: one thread per camera, each
//! running a [`UdpStreamReceiver`] into the camera's [`CameraStream`].
//!
//! Invariants: the socket is bound before the thread starts (a busy port is
//! an error of `spawn`, not of the thread); datagrams from any address but
//! the camera's are counted as foreign and dropped; the thread sees `stop`
//! within one receive tick and hands its stream back.

use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::stream::{UdpReceiverConfig, UdpStreamReceiver};

use super::camera_stream::CameraStream;
use super::CaptureError;

/// Socket receive buffer asked for (the kernel caps it at net.core.rmem_max).
const RECV_BUFFER: usize = 32 << 20;
/// Longest wait in `recv` before timers run.
const TICK: Duration = Duration::from_millis(1);
/// Datagrams per poll before timers and live counters are looked at.
const BATCH: usize = 256;

/// One camera's receive thread.
#[derive(Debug)]
pub(crate) struct UdpCamera {
    index: usize,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<(CameraStream, io::Result<()>)>>,
}

impl UdpCamera {
    /// Binds `bind`, accepting datagrams from `camera` only, and starts the
    /// thread (pinned to `core` when given).
    pub fn spawn(
        stream: CameraStream,
        name: &str,
        bind: SocketAddrV4,
        camera: IpAddr,
        core: Option<usize>,
    ) -> Result<UdpCamera, CaptureError> {
        let index = stream.index();
        let config = UdpReceiverConfig {
            bind: SocketAddr::V4(bind),
            source: Some(camera),
            recv_buffer: RECV_BUFFER,
            tick: TICK,
        };
        let mut receiver =
            UdpStreamReceiver::bind(config).map_err(|source| CaptureError::Stream {
                camera: name.to_string(),
                source,
            })?;
        let core = match core {
            None => None,
            Some(id) => Some(
                core_affinity::get_core_ids()
                    .unwrap_or_default()
                    .into_iter()
                    .find(|c| c.id == id)
                    .ok_or_else(|| {
                        CaptureError::Config(format!(
                            "core {id} is not in this process's CPU set (see taskset -p {})",
                            std::process::id()
                        ))
                    })?,
            ),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            let mut stream = stream;
            std::thread::Builder::new()
                .name(format!("gvcap-udp-{index}"))
                .spawn(move || {
                    if let Some(core) = core {
                        if !core_affinity::set_for_current(core) {
                            tracing::warn!(
                                "camera {index}: could not pin the receive thread to core {}",
                                core.id
                            );
                        }
                    }
                    let mut result = Ok(());
                    while !stop.load(Ordering::Relaxed) {
                        if let Err(err) = stream.poll_socket(&mut receiver, BATCH) {
                            result = Err(err);
                            break;
                        }
                    }
                    (stream, result)
                })
                .map_err(|e| CaptureError::Thread(format!("starting a receive thread: {e}")))?
        };
        Ok(UdpCamera {
            index,
            stop,
            thread: Some(thread),
        })
    }

    /// The camera index.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Stops the thread and hands back the stream (with the socket error
    /// that ended it early, if any).
    pub fn stop(mut self) -> Result<(CameraStream, io::Result<()>), CaptureError> {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self
            .thread
            .take()
            .ok_or_else(|| CaptureError::Thread("receive thread already stopped".into()))?;
        thread.join().map_err(|_| {
            CaptureError::Thread(format!("camera {}: receive thread panicked", self.index))
        })
    }
}

impl Drop for UdpCamera {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
