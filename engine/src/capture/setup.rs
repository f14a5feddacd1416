//! Programming one camera's stream channel for a capture: a host port,
//! the payload size, the id mode, the packet size (tested with test packets
//! where the camera sends them), the packet delay and the destination.
//!
//! Invariants: the port is bound (by the returned socket) before the camera
//! is told to stream to it, so no other program can take it; the packet size
//! programmed never exceeds the route's MTU; when no test packet arrives at
//! any size, the size asked for is programmed again (the probe leaves the
//! smallest candidate behind) and the setup says it was not tested.

use std::net::{SocketAddrV4, UdpSocket};
use std::time::Duration;

use crate::device::StreamDestination;
use crate::stream::StreamConfig;
use crate::wire::bootstrap::{self, sc};

use super::options::{CameraSpec, CaptureOptions};
use super::report::{CameraSetup, ReceivePath};
use super::route::Route;
use super::CaptureError;

/// How long to wait for each test packet.
const TEST_PACKET_WAIT: Duration = Duration::from_millis(150);
/// The smallest packet size GigE Vision devices must support.
const MIN_PACKET_SIZE: u32 = 576;

/// A camera whose stream channel points at a bound host port.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// What was set up.
    pub setup: CameraSetup,
    /// The reassembler's configuration for it.
    pub config: StreamConfig,
    /// The socket holding the stream port (test packets arrived here).
    pub socket: UdpSocket,
    /// Something worth a line in the report.
    pub note: Option<String>,
}

/// Binds a port for camera `index` and points its stream channel at it.
pub(crate) fn prepare(
    index: usize,
    spec: &CameraSpec,
    route: &Route,
    path: ReceivePath,
    options: &CaptureOptions,
) -> Result<Prepared, CaptureError> {
    let camera = &spec.camera;
    let name = camera.name().to_string();
    let port_wanted = match options.base_port {
        None => 0,
        Some(base) => u16::try_from(index)
            .ok()
            .and_then(|i| base.checked_add(i))
            .ok_or_else(|| {
                CaptureError::Config(format!(
                    "base port {base} + camera {index} is beyond 65535; choose a lower base port"
                ))
            })?,
    };
    let bind_what = format!(
        "binding the stream port {}:{port_wanted} (in use? pick another base port)",
        route.local
    );
    let socket =
        UdpSocket::bind(SocketAddrV4::new(route.local, port_wanted)).map_err(|source| {
            CaptureError::Io {
                camera: name.clone(),
                what: bind_what,
                source,
            }
        })?;
    let port = socket
        .local_addr()
        .map_err(|source| CaptureError::Io {
            camera: name.clone(),
            what: "reading the stream port".into(),
            source,
        })?
        .port();

    let payload = spec
        .features
        .get_integer(camera.as_ref(), "PayloadSize")
        .map_err(|source| CaptureError::Feature {
            camera: name.clone(),
            feature: "PayloadSize",
            source: Box::new(source),
        })?;
    let payload_size = usize::try_from(payload)
        .ok()
        .filter(|&p| p > 0)
        .ok_or_else(|| {
            CaptureError::Config(format!(
                "camera {name}: PayloadSize is {payload}; set Width, Height and PixelFormat first"
            ))
        })?;
    // Cameras without the register (GigE Vision 1.x) only have standard ids.
    let extended_ids = camera
        .read_register(bootstrap::GVSP_CONFIGURATION)
        .is_ok_and(|v| v & bootstrap::GVSP_CONFIGURATION_64BIT_BLOCK_ID != 0);

    let mut note = None;
    let asked = options.packet_size.unwrap_or(route.mtu);
    let mut wanted = asked.min(sc::PACKET_SIZE_MASK);
    if wanted > route.mtu {
        note = Some(format!(
            "camera {name}: packet size {asked} is above the MTU of {} ({}); using {}",
            route.interface, route.mtu, route.mtu
        ));
        wanted = route.mtu;
    }
    let wanted = wanted.max(MIN_PACKET_SIZE);
    let dest = StreamDestination {
        channel: spec.channel,
        host: route.local,
        port,
        packet_size: wanted,
        packet_delay_ticks: options.packet_delay_ticks,
    };
    let program = |dest: &StreamDestination| {
        camera
            .configure_stream(dest)
            .map_err(|source| CaptureError::Device {
                what: format!(
                    "programming stream channel {} to {}:{} (take control privilege first)",
                    dest.channel, dest.host, dest.port
                ),
                source,
            })
    };
    program(&dest)?;
    let (packet_size, packet_size_tested) = if options.test_packet_size {
        let probed = camera
            .probe_packet_size(spec.channel, &socket, wanted, TEST_PACKET_WAIT)
            .map_err(|source| CaptureError::Device {
                what: "testing the stream packet size".into(),
                source,
            })?;
        match probed {
            Some(size) => {
                if size < wanted {
                    note = Some(format!(
                        "camera {name}: test packets of {wanted} bytes do not arrive on {}; \
                         streaming with {size}-byte packets",
                        route.interface
                    ));
                }
                (size, true)
            }
            None => {
                program(&dest)?;
                (wanted, false)
            }
        }
    } else {
        (wanted, false)
    };
    let mut config =
        StreamConfig::from_packet_size(index as u32, payload_size, packet_size, extended_ids)
            .map_err(|source| CaptureError::Stream {
                camera: name.clone(),
                source,
            })?;
    config.max_in_flight = options.max_in_flight;
    config.frame_timeout = options.frame_timeout;
    config.resend = options.resend;
    config.validate().map_err(|source| CaptureError::Stream {
        camera: name.clone(),
        source,
    })?;
    Ok(Prepared {
        setup: CameraSetup {
            index,
            name,
            camera_ip: camera.ip(),
            channel: spec.channel,
            interface: route.interface.clone(),
            host: route.local,
            port,
            packet_size,
            packet_size_tested,
            payload_size,
            extended_ids,
            path,
        },
        config,
        socket,
        note,
    })
}
