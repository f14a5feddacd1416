//! Where a camera's stream comes in: the host interface, the host address
//! the camera should stream to, the path MTU, and the interface's receive
//! queues.
//!
//! How: a UDP socket connected to the camera (no packet is sent) makes the
//! kernel choose the route; its local address is the host address, `IP_MTU`
//! is the route's MTU, and the interface is the one that holds the address.
//!
//! Invariants: everything is looked up in the calling thread's network
//! namespace; a failed lookup is an error naming the camera and what to
//! check, never a guess.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::path::Path;

use crate::wire::gvcp::GVCP_PORT;

/// The host side of one camera's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The host interface the camera is reached through.
    pub interface: String,
    /// The host's IPv4 address on it: the stream destination.
    pub local: Ipv4Addr,
    /// MTU of the route (the largest IP datagram without fragmentation).
    pub mtu: u32,
}

/// The route the kernel would use to reach `camera`.
pub fn route_to(camera: Ipv4Addr) -> io::Result<Route> {
    let socket = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
    socket
        .connect(SocketAddrV4::new(camera, GVCP_PORT))
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("no route to camera {camera} ({e}); `ip route get {camera}` shows why"),
            )
        })?;
    let local = match socket.local_addr()? {
        std::net::SocketAddr::V4(v4) => *v4.ip(),
        std::net::SocketAddr::V6(v6) => {
            return Err(io::Error::other(format!(
                "camera {camera} is reached through IPv6 address {v6}; GigE Vision needs IPv4"
            )))
        }
    };
    let mtu = rustix::net::sockopt::ip_mtu(&socket).unwrap_or(1500);
    let interface = interface_of(local)?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "the route to camera {camera} leaves from {local}, which no interface holds \
                 (`ip -4 addr` lists them)"
            ),
        )
    })?;
    Ok(Route {
        interface,
        local,
        mtu,
    })
}

/// The route through a named interface, for cameras the caller pins to it:
/// its first IPv4 address and its MTU.
pub fn route_via(interface: &str) -> io::Result<Route> {
    let local = if_addrs::get_if_addrs()?
        .into_iter()
        .filter(|i| i.name == interface)
        .find_map(|i| match i.addr {
            if_addrs::IfAddr::V4(v4) => Some(v4.ip),
            _ => None,
        })
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "interface {interface} has no IPv4 address in this network namespace \
                     (`ip -4 addr` lists the usable ones)"
                ),
            )
        })?;
    let mtu = read_number(&Path::new("/sys/class/net").join(interface).join("mtu"))
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(1500);
    Ok(Route {
        interface: interface.to_string(),
        local,
        mtu,
    })
}

/// The interface holding IPv4 address `local` (loopback included).
fn interface_of(local: Ipv4Addr) -> io::Result<Option<String>> {
    Ok(if_addrs::get_if_addrs()?
        .into_iter()
        .find(|i| matches!(&i.addr, if_addrs::IfAddr::V4(v4) if v4.ip == local))
        .map(|i| i.name))
}

/// Receive queues of `interface`, from sysfs (`queues/rx-N`); 1 when sysfs
/// does not say (e.g. a thread that joined another network namespace sees
/// the sysfs of the namespace it was mounted for).
pub fn rx_queues(interface: &str) -> u32 {
    let dir = Path::new("/sys/class/net").join(interface).join("queues");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 1;
    };
    let count = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
        .count();
    u32::try_from(count).unwrap_or(1).max(1)
}

fn read_number(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_routes_through_lo() {
        let route = route_to(Ipv4Addr::LOCALHOST).unwrap();
        assert_eq!(route.interface, "lo");
        assert_eq!(route.local, Ipv4Addr::LOCALHOST);
        assert!(route.mtu >= 1500, "{route:?}");
        let via = route_via("lo").unwrap();
        assert_eq!(via.local, Ipv4Addr::LOCALHOST);
    }

    #[test]
    fn unknown_interfaces_are_errors_that_say_what_to_do() {
        let err = route_via("gvc-no-such-if").unwrap_err();
        assert!(err.to_string().contains("ip -4 addr"), "{err}");
        assert_eq!(rx_queues("gvc-no-such-if"), 1);
    }
}
