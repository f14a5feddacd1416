//! Finding cameras: DISCOVERY broadcast on one interface or all, and FORCEIP.
//!
//! Invariants: a broadcast goes out of exactly one interface per socket
//! (SO_BINDTODEVICE), so the caller decides where discovery traffic may go;
//! answers are collected until the timeout and deduplicated by interface and
//! MAC address; a datagram that is not a valid DISCOVERY_ACK is ignored.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::wire::gvcp::{flags, AckRepr, CommandRepr, DiscoveryAck, GVCP_PORT};
use crate::wire::Status;

use super::error::DeviceError;

/// A camera that answered a discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// The identity it reported.
    pub identity: DiscoveryAck,
    /// The host interface the answer came in on.
    pub interface: String,
    /// The host's address on that interface.
    pub host_ip: Ipv4Addr,
    /// The address the answer came from.
    pub source: SocketAddrV4,
}

/// A host network interface with an IPv4 address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Interface name.
    pub name: String,
    /// Its IPv4 address.
    pub ip: Ipv4Addr,
    /// Its netmask.
    pub netmask: Ipv4Addr,
}

/// Lists the host's interfaces that have an IPv4 address (loopback excluded).
pub fn interfaces() -> Result<Vec<Interface>, DeviceError> {
    let all = if_addrs::get_if_addrs().map_err(|source| DeviceError::Io {
        camera: "(discovery)".into(),
        context: "listing network interfaces".into(),
        source,
    })?;
    Ok(all
        .into_iter()
        .filter(|i| !i.is_loopback())
        .filter_map(|i| match i.addr {
            if_addrs::IfAddr::V4(v4) => Some(Interface {
                name: i.name,
                ip: v4.ip,
                netmask: v4.netmask,
            }),
            _ => None,
        })
        .collect())
}

/// Broadcasts DISCOVERY on `interface` (or on every IPv4 interface) and
/// collects the answers that arrive within `timeout`.
pub fn discover(
    interface: Option<&str>,
    timeout: Duration,
) -> Result<Vec<Discovered>, DeviceError> {
    let all = interfaces()?;
    let chosen: Vec<Interface> = match interface {
        Some(name) => {
            let found: Vec<Interface> = all.into_iter().filter(|i| i.name == name).collect();
            if found.is_empty() {
                return Err(DeviceError::Io {
                    camera: "(discovery)".into(),
                    context: format!(
                        "interface {name} has no IPv4 address; `ip -4 addr` lists the usable ones"
                    ),
                    source: io::Error::from(io::ErrorKind::NotFound),
                });
            }
            found
        }
        None => all,
    };
    let mut sockets = Vec::new();
    for iface in &chosen {
        match broadcast_socket(iface) {
            Ok(socket) => sockets.push((iface, socket)),
            Err(source) if interface.is_some() => {
                return Err(DeviceError::Io {
                    camera: "(discovery)".into(),
                    context: format!("broadcasting DISCOVERY on {}", iface.name),
                    source,
                })
            }
            Err(err) => tracing::warn!("discovery skips interface {}: {err}", iface.name),
        }
    }
    let deadline = Instant::now() + timeout;
    let mut found: Vec<Discovered> = Vec::new();
    let mut buf = [0u8; 1024];
    // Poll the sockets in turn with short timeouts: a handful of interfaces at most.
    let slice = Duration::from_millis(20);
    while Instant::now() < deadline {
        for (iface, socket) in &sockets {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                break;
            }
            let _ = socket.set_read_timeout(Some(remaining.min(slice)));
            let Ok((len, from)) = socket.recv_from(&mut buf) else {
                continue;
            };
            let std::net::SocketAddr::V4(from) = from else {
                continue;
            };
            let Ok((header, AckRepr::Discovery(identity))) = AckRepr::parse(&buf[..len]) else {
                continue;
            };
            if header.status != Status::Success {
                continue;
            }
            if found
                .iter()
                .any(|d| d.interface == iface.name && d.identity.mac == identity.mac)
            {
                continue;
            }
            found.push(Discovered {
                identity: *identity,
                interface: iface.name.clone(),
                host_ip: iface.ip,
                source: from,
            });
        }
    }
    found.sort_by_key(|d| (d.interface.clone(), u32::from(d.identity.ip)));
    Ok(found)
}

/// A UDP socket that may broadcast, bound to one interface (SO_BINDTODEVICE)
/// on an ephemeral port, so what it sends leaves through that interface only.
fn interface_socket(interface: &str) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_broadcast(true)?;
    socket.bind_device(Some(interface.as_bytes()))?;
    socket.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0).into())?;
    Ok(socket.into())
}

/// Opens a socket bound to one interface and sends a DISCOVERY broadcast from it.
fn broadcast_socket(iface: &Interface) -> io::Result<UdpSocket> {
    let socket = interface_socket(&iface.name)?;
    let mut datagram = [0u8; 8];
    CommandRepr::Discovery
        .emit(
            1,
            flags::ACK_REQUIRED | flags::ALLOW_BROADCAST_ACK,
            &mut datagram,
        )
        .map_err(io::Error::other)?;
    socket.send_to(&datagram, SocketAddrV4::new(Ipv4Addr::BROADCAST, GVCP_PORT))?;
    Ok(socket)
}

/// Broadcasts FORCEIP on `interface`, giving the camera with `mac` a new
/// address, and waits for its acknowledge.
pub fn force_ip(
    interface: &str,
    mac: [u8; 6],
    ip: Ipv4Addr,
    mask: Ipv4Addr,
    gateway: Ipv4Addr,
    timeout: Duration,
) -> Result<(), DeviceError> {
    let camera = format!("{} on {interface}", format_mac(&mac));
    let io_err = |context: &str, source| DeviceError::Io {
        camera: camera.clone(),
        context: context.to_string(),
        source,
    };
    let socket = interface_socket(interface)
        .map_err(|e| io_err("opening a broadcast socket bound to the interface", e))?;
    let command = CommandRepr::ForceIp {
        mac,
        ip,
        mask,
        gateway,
    };
    let mut datagram = vec![0u8; command.buffer_len()];
    let req_id = 0x4650;
    command
        .emit(
            req_id,
            flags::ACK_REQUIRED | flags::ALLOW_BROADCAST_ACK,
            &mut datagram,
        )
        .map_err(|source| DeviceError::Encode {
            camera: camera.clone(),
            operation: super::Operation::ForceIp,
            source,
        })?;
    socket
        .send_to(&datagram, SocketAddrV4::new(Ipv4Addr::BROADCAST, GVCP_PORT))
        .map_err(|e| io_err("sending FORCEIP", e))?;
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 1024];
    while let Some(remaining) = deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
    {
        socket
            .set_read_timeout(Some(remaining))
            .map_err(|e| io_err("timeout", e))?;
        let Ok(len) = socket.recv(&mut buf) else {
            break;
        };
        if let Ok((header, AckRepr::ForceIp)) = AckRepr::parse(&buf[..len]) {
            if header.ack_id == req_id {
                if header.status != Status::Success {
                    return Err(DeviceError::status(
                        &camera,
                        super::Operation::ForceIp,
                        header.status,
                    ));
                }
                return Ok(());
            }
        }
    }
    Err(DeviceError::Timeout {
        camera,
        operation: super::Operation::ForceIp,
        attempts: 1,
        timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
    })
}

/// Formats a MAC address as six colon-separated hex bytes.
pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}
