//! What a capture is asked to do: the cameras ([`CameraSpec`]) and how to
//! receive them ([`CaptureOptions`]).
//!
//! Invariant: `CaptureOptions::default()` is a working configuration for any
//! camera on any interface: automatic path choice, the interface's MTU as
//! packet size (tested with test packets), 16 hugepage frame slots per
//! camera, resend requests 10 ms after a gap (or a frame going quiet), then
//! every 20 ms, at most 6 rounds per frame; AF_XDP workers tuned for
//! latency (2000 empty polls before blocking, no wakeup coalescing).
//! `gvcap capture` trades up to 200 µs of latency for far fewer wakeups
//! (64 polls, 200 µs coalescing; the rx ring of 2048 descriptors lasts about
//! 2.5 ms at 10 Gbit/s of 1500-byte packets, so nothing overflows meanwhile).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::device::Camera;
use crate::genicam::FeatureMap;
use crate::stream::{DropPolicy, HugePages, ResendConfig};
use crate::xdp::{AttachConfig, XskConfig};

/// One camera to capture from.
#[derive(Debug, Clone)]
pub struct CameraSpec {
    /// The camera's control channel; it should hold control privilege
    /// (`Camera::take_control` before wrapping it in an `Arc`), since the
    /// stream channel registers are written through it.
    pub camera: Arc<Camera>,
    /// Its features: PayloadSize is read, and AcquisitionMode,
    /// TLParamsLocked, AcquisitionStart and AcquisitionStop are used when
    /// the session starts acquisition.
    pub features: Arc<FeatureMap>,
    /// Stream channel index (0 on nearly every camera).
    pub channel: u16,
}

impl CameraSpec {
    /// Stream channel 0 of `camera`.
    pub fn new(camera: Arc<Camera>, features: Arc<FeatureMap>) -> Self {
        CameraSpec {
            camera,
            features,
            channel: 0,
        }
    }
}

/// Which receive path to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PathRequest {
    /// AF_XDP where it can be set up, else the UDP socket path with a
    /// one-line explanation.
    #[default]
    Auto,
    /// AF_XDP or fail.
    Xdp,
    /// The plain UDP socket path.
    Udp,
}

impl PathRequest {
    /// "auto", "xdp" or "udp".
    pub fn name(self) -> &'static str {
        match self {
            PathRequest::Auto => "auto",
            PathRequest::Xdp => "xdp",
            PathRequest::Udp => "udp",
        }
    }
}

impl fmt::Display for PathRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PathRequest {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "auto" => Ok(PathRequest::Auto),
            "xdp" => Ok(PathRequest::Xdp),
            "udp" => Ok(PathRequest::Udp),
            other => Err(format!("receive path {other:?}: use auto, xdp or udp")),
        }
    }
}

/// How to set up and run a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureOptions {
    /// Receive path.
    pub path: PathRequest,
    /// Receive every camera on this interface (its IPv4 address becomes the
    /// stream destination); `None` takes each camera's interface from the
    /// routing table.
    pub interface: Option<String>,
    /// Cores to pin receive threads to, used in order (AF_XDP: one per
    /// interface queue; UDP: one per camera) and reused round robin; empty
    /// leaves them to the scheduler.
    pub cores: Vec<usize>,
    /// Stream packet size (IP datagram bytes, as GevSCPSPacketSize counts
    /// them); `None` uses the interface MTU. Capped at the MTU.
    pub packet_size: Option<u32>,
    /// Fire test packets to find the largest size the path carries (cameras
    /// without test packets keep the size asked for).
    pub test_packet_size: bool,
    /// Inter-packet delay, in camera timestamp ticks (GevSCPD).
    pub packet_delay_ticks: u32,
    /// Host UDP port of camera 0's stream; camera `i` gets `base_port + i`.
    /// `None` lets the kernel pick free ports.
    pub base_port: Option<u16>,
    /// Frame slots per camera (frames in flight, queued and held by consumers).
    pub ring_slots: usize,
    /// Finished frames queued per camera before the drop policy applies.
    pub queue_depth: usize,
    /// What to drop when the consumer falls behind.
    pub drop_policy: DropPolicy,
    /// Whether frame slots come from 2 MiB hugepages.
    pub huge_pages: HugePages,
    /// Frames reassembled at once per camera.
    pub max_in_flight: usize,
    /// A frame without a packet for this long is finished as incomplete.
    pub frame_timeout: Duration,
    /// Resend policy (PACKETRESEND on the control channel).
    pub resend: ResendConfig,
    /// Set AcquisitionMode=Continuous and run AcquisitionStart after setup
    /// (and AcquisitionStop in `stop`); off when the caller starts
    /// acquisition itself (e.g. a synchronized start).
    pub start_acquisition: bool,
    /// XDP attach mode and timestamp source.
    pub xdp: AttachConfig,
    /// Empty polls an AF_XDP worker spins through before it blocks (more:
    /// lower latency, more CPU).
    pub spin_polls: u32,
    /// After an AF_XDP worker woke on a quiet socket, let packets gather
    /// this long before draining (fewer wakeups per packet, frames
    /// delivered that much later; see `WorkerConfig::coalesce`). Zero drains
    /// at once.
    pub coalesce: Duration,
    /// AF_XDP socket geometry (UMEM, rings, bind mode).
    pub xsk: XskConfig,
    /// How long `stop` waits, after AcquisitionStop, for frames in flight to
    /// finish (resends included) before it cuts them off.
    pub drain_timeout: Duration,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            path: PathRequest::Auto,
            interface: None,
            cores: Vec::new(),
            packet_size: None,
            test_packet_size: true,
            packet_delay_ticks: 0,
            base_port: None,
            ring_slots: 16,
            queue_depth: 8,
            drop_policy: DropPolicy::DropOldest,
            huge_pages: HugePages::Auto,
            max_in_flight: 4,
            frame_timeout: Duration::from_millis(200),
            resend: ResendConfig {
                // A sender descheduled for a few ms must not look like loss.
                initial_delay: Duration::from_millis(10),
                retry_interval: Duration::from_millis(20),
                max_rounds: 6,
                ..ResendConfig::default()
            },
            start_acquisition: true,
            xdp: AttachConfig::default(),
            spin_polls: 2000,
            coalesce: Duration::ZERO,
            xsk: XskConfig::default(),
            drain_timeout: Duration::from_secs(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_names_round_trip_and_junk_is_refused() {
        for path in [PathRequest::Auto, PathRequest::Xdp, PathRequest::Udp] {
            assert_eq!(path.name().parse::<PathRequest>(), Ok(path));
        }
        let err = "dpdk".parse::<PathRequest>().unwrap_err();
        assert!(err.contains("auto, xdp or udp"), "{err}");
    }
}
