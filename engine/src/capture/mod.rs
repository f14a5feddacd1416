//! Capture: the pipeline from cameras to frames that `gvcap capture`,
//! `record` and `sync` build on.
//!
//! ```text
//! CameraSpec × N ──► CaptureSession::start ──► per camera: route, stream channel, ring, reassembler
//!                                          ──► per interface: AF_XDP (program, socket + worker per queue)
//!                                              or per camera: a UDP socket thread
//!                                          ──► control thread: PACKETRESEND, kernel-side counters
//! session.frames() ──► FrameStream: every camera's finished frames, tagged by index
//! session.stop()   ──► CaptureReport: per camera counters, per interface XDP counters
//! ```
//!
//! # Public API
//!
//! ```text
//! CaptureSession::start(Vec<CameraSpec>, CaptureOptions) -> Result<CaptureSession, CaptureError>
//!   .setups() -> &[CameraSetup]        .notes() -> &[String]
//!   .frames() -> FrameStream            .frames_finished(index) -> u64
//!   .stop() -> Result<CaptureReport, CaptureError>
//! FrameStream::recv_timeout(&mut self, Duration) / try_recv / recv -> Frame (frame.info.camera = index)
//! route_to(camera_ip) -> io::Result<Route>, route_via(interface), rx_queues(interface)
//! ```
//!
//! Invariants of the module as a whole:
//! - safe code only (the AF_XDP module below it holds the unsafe code);
//! - a camera's reassembler is owned by exactly one receive thread, which
//!   never waits on a lock, the control channel or the consumer;
//! - every datagram a capture receives is counted in exactly one place:
//!   the reassembler's outcomes, or beside them in the report (foreign
//!   source, wrong queue, unknown stream, kernel socket);
//! - whatever was set up is torn down on every exit (error, `stop`, drop),
//!   and a stopped capture leaves no stream channel open.

mod camera_stream;
mod control;
mod frames;
mod options;
mod report;
mod route;
mod session;
mod setup;
mod udp_path;
mod xdp_path;

pub use frames::FrameStream;
pub use options::{CameraSpec, CaptureOptions, PathRequest};
pub use report::{
    CameraReport, CameraSetup, CaptureReport, InterfaceReport, ReceivePath, RxClock, XdpReport,
};
pub use route::{route_to, route_via, rx_queues, Route};
pub use session::CaptureSession;

use crate::device::DeviceError;
use crate::genicam::GenicamError;
use crate::stream::StreamError;
use crate::xdp::XdpError;

/// Why a capture could not be set up (or torn down cleanly).
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// `start` was given no camera.
    #[error("capture needs at least one camera")]
    NoCameras,
    /// A GVCP operation on a camera failed (the source names the camera).
    #[error("{what}: {source}")]
    Device {
        /// What was being done.
        what: String,
        /// The GVCP client's error.
        #[source]
        source: DeviceError,
    },
    /// A camera feature could not be read, written or executed.
    #[error("camera {camera}: {feature}: {source}")]
    Feature {
        /// The camera.
        camera: String,
        /// The feature.
        feature: &'static str,
        /// The GenICam error (boxed: it is large, and this is a cold path).
        #[source]
        source: Box<GenicamError>,
    },
    /// A socket or system call failed while setting up a camera.
    #[error("camera {camera}: {what}: {source}")]
    Io {
        /// The camera.
        camera: String,
        /// What was being done, and what to check.
        what: String,
        /// The system error.
        #[source]
        source: std::io::Error,
    },
    /// A camera's stream could not be configured (geometry, ring memory, socket).
    #[error("camera {camera}: {source}")]
    Stream {
        /// The camera.
        camera: String,
        /// The stream module's error.
        #[source]
        source: StreamError,
    },
    /// The AF_XDP path could not be set up on an interface (with `--path xdp`).
    #[error(
        "AF_XDP receive on {interface}: {source} (`--path udp` receives through sockets instead)"
    )]
    Xdp {
        /// The interface.
        interface: String,
        /// The AF_XDP error.
        #[source]
        source: XdpError,
    },
    /// The options cannot work; the message says which and what to change.
    #[error("invalid capture options: {0}")]
    Config(String),
    /// A receive or control thread could not be started, or panicked.
    #[error("capture thread: {0}")]
    Thread(String),
}
