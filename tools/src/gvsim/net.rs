//! The sockets gvsim needs: GVCP (unicast per camera, broadcast per
//! interface), GVSP senders, and the PTP event and general sockets with
//! kernel receive timestamps.
//!
//! Invariants: every socket that may share its port with another camera
//! (GVCP 3956, PTP 319/320) sets SO_REUSEADDR; sockets tied to an interface
//! use SO_BINDTODEVICE so several namespaces' or interfaces' cameras never
//! see each other's traffic; PTP receive times are the kernel's software
//! timestamps (SO_TIMESTAMPNS, CLOCK_REALTIME), not the time the thread woke,
//! and a Delay_Req's send time is the kernel's software transmit timestamp
//! (SO_TIMESTAMPING, read back from the socket's error queue).

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Duration;

use std::sync::Mutex;
use std::time::Instant;

use nix::sys::socket::{
    recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrIn, TimestampingFlag,
};
use socket2::{Domain, Protocol, Socket, Type};

/// Names what failed on which socket, keeping the kind.
fn context(err: io::Error, what: &str) -> io::Error {
    io::Error::new(err.kind(), format!("{what}: {err}"))
}

/// A UDP socket bound to `addr` with SO_REUSEADDR (and to `device`, if given).
pub fn bound_udp(addr: SocketAddrV4, device: Option<&str>) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    if let Some(device) = device {
        socket.bind_device(Some(device.as_bytes())).map_err(|e| {
            context(
                e,
                &format!("binding to interface {device} (needs root or CAP_NET_RAW)"),
            )
        })?;
    }
    socket
        .bind(&addr.into())
        .map_err(|e| context(e, &format!("binding UDP {addr}")))?;
    Ok(socket.into())
}

/// The GVCP socket of one camera: its address and port.
pub fn gvcp_unicast(address: Ipv4Addr, port: u16) -> io::Result<UdpSocket> {
    let socket = bound_udp(SocketAddrV4::new(address, port), None)?;
    socket.set_read_timeout(Some(Duration::from_millis(20)))?;
    Ok(socket)
}

/// The socket that hears GVCP broadcasts (discovery) on an interface.
pub fn gvcp_broadcast(interface: &str, port: u16) -> io::Result<UdpSocket> {
    let socket = bound_udp(
        SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port),
        Some(interface),
    )?;
    socket.set_broadcast(true)?;
    socket.set_read_timeout(Some(Duration::from_millis(100)))?;
    Ok(socket)
}

/// A GVSP sender bound to the camera's address, with a large send buffer.
pub fn gvsp_sender(address: Ipv4Addr) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    // Bursts of jumbo packets: let the kernel queue a few frames' worth.
    let _ = socket.set_send_buffer_size(8 << 20);
    socket
        .bind(&SocketAddrV4::new(address, 0).into())
        .map_err(|e| context(e, &format!("binding the stream socket to {address}")))?;
    Ok(socket.into())
}

/// The local port a socket is bound to.
pub fn local_port(socket: &UdpSocket) -> u16 {
    socket.local_addr().map_or(0, |a| a.port())
}

/// The PTP sockets of one interface: event (319) and general (320), both
/// members of 224.0.1.129 on `address`'s interface.
#[derive(Debug)]
pub struct PtpSockets {
    /// Port 319: Sync in, Delay_Req out; receive and transmit timestamps on.
    pub event: UdpSocket,
    /// Port 320: Follow_Up, Delay_Resp, Announce in.
    pub general: UdpSocket,
    /// Held from a send on `event` until its transmit timestamp is read.
    send_lock: Mutex<()>,
}

impl PtpSockets {
    /// Opens both sockets on `interface`, joined on the interface address `address`.
    pub fn open(interface: &str, address: Ipv4Addr) -> io::Result<Self> {
        use gvcap::wire::ptp::{EVENT_PORT, GENERAL_PORT, PRIMARY_MULTICAST};
        let open = |port: u16| -> io::Result<UdpSocket> {
            let socket = bound_udp(
                SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port),
                Some(interface),
            )?;
            socket
                .join_multicast_v4(&PRIMARY_MULTICAST, &address)
                .map_err(|e| context(e, &format!("joining {PRIMARY_MULTICAST} on {interface}")))?;
            socket.set_multicast_loop_v4(false)?;
            socket.set_multicast_ttl_v4(1)?;
            socket.set_read_timeout(Some(Duration::from_millis(100)))?;
            let s2 = socket2::SockRef::from(&socket);
            s2.set_multicast_if_v4(&address)?;
            Ok(socket)
        };
        let event = open(EVENT_PORT)?;
        setsockopt(&event, sockopt::ReceiveTimestampns, &true)
            .map_err(|e| context(io::Error::from(e), "enabling SO_TIMESTAMPNS"))?;
        let tx = TimestampingFlag::SOF_TIMESTAMPING_TX_SOFTWARE
            | TimestampingFlag::SOF_TIMESTAMPING_SOFTWARE
            | TimestampingFlag::SOF_TIMESTAMPING_OPT_TSONLY;
        setsockopt(&event, sockopt::Timestamping, &tx)
            .map_err(|e| context(io::Error::from(e), "enabling software transmit timestamps"))?;
        let general = open(GENERAL_PORT)?;
        Ok(PtpSockets {
            event,
            general,
            send_lock: Mutex::new(()),
        })
    }

    /// Sends `bytes` on the event port to `to` and returns the kernel's
    /// transmit time (CLOCK_REALTIME ns), or `None` when none came back within 2 ms.
    pub fn send_event_stamped(&self, bytes: &[u8], to: SocketAddrV4) -> io::Result<Option<u64>> {
        let _guard = self.send_lock.lock().unwrap_or_else(|p| p.into_inner());
        // Stale stamps of earlier sends whose wait timed out.
        while let Ok(Some(_)) = read_tx_stamp(&self.event) {}
        self.event.send_to(bytes, to)?;
        let deadline = Instant::now() + Duration::from_millis(2);
        while Instant::now() < deadline {
            if let Some(ns) = read_tx_stamp(&self.event)? {
                return Ok(Some(ns));
            }
            std::thread::sleep(Duration::from_micros(20));
        }
        Ok(None)
    }
}

/// One transmit timestamp from the socket's error queue, without waiting.
fn read_tx_stamp(socket: &UdpSocket) -> io::Result<Option<u64>> {
    let mut cmsg = nix::cmsg_space!(nix::sys::socket::Timestamps, [u8; 64]);
    let mut data = [0u8; 256];
    let mut iov = [io::IoSliceMut::new(&mut data)];
    let flags = MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT;
    let msg = match recvmsg::<SockaddrIn>(socket.as_raw_fd(), &mut iov, Some(&mut cmsg), flags) {
        Ok(msg) => msg,
        Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => return Ok(None),
        Err(e) => return Err(io::Error::from(e)),
    };
    let Ok(cmsgs) = msg.cmsgs() else {
        return Ok(None);
    };
    for c in cmsgs {
        if let ControlMessageOwned::ScmTimestampsns(ts) = c {
            return Ok(timespec_ns(ts.system));
        }
    }
    Ok(None)
}

fn timespec_ns(ts: nix::sys::time::TimeSpec) -> Option<u64> {
    let ns = i128::from(ts.tv_sec()) * 1_000_000_000 + i128::from(ts.tv_nsec());
    u64::try_from(ns).ok().filter(|&n| n > 0)
}

/// Receives one datagram with its kernel receive time (CLOCK_REALTIME ns,
/// `None` when the kernel attached none). `Ok(None)` on timeout.
pub fn recv_timestamped(
    socket: &UdpSocket,
    buf: &mut [u8],
) -> io::Result<Option<(usize, Option<u64>)>> {
    let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec, nix::sys::socket::Timestamps);
    let mut iov = [io::IoSliceMut::new(buf)];
    let msg = match recvmsg::<SockaddrIn>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    ) {
        Ok(msg) => msg,
        Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => return Ok(None),
        Err(e) => return Err(io::Error::from(e)),
    };
    let mut stamp = None;
    if let Ok(cmsgs) = msg.cmsgs() {
        for c in cmsgs {
            match c {
                ControlMessageOwned::ScmTimestampns(ts) => stamp = stamp.or(timespec_ns(ts)),
                ControlMessageOwned::ScmTimestampsns(ts) => {
                    stamp = stamp.or(timespec_ns(ts.system))
                }
                _ => {}
            }
        }
    }
    Ok(Some((msg.bytes, stamp)))
}

/// Receives one datagram from an IPv4 peer; `Ok(None)` on timeout.
pub fn recv_from(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<Option<(usize, SocketAddrV4)>> {
    match socket.recv_from(buf) {
        Ok((len, SocketAddr::V4(from))) => Ok(Some((len, from))),
        Ok(_) => Ok(None),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The first IPv4 address of `interface`.
pub fn interface_address(interface: &str) -> io::Result<Ipv4Addr> {
    if_addrs::get_if_addrs()?
        .into_iter()
        .filter(|i| i.name == interface)
        .find_map(|i| match i.addr {
            if_addrs::IfAddr::V4(v4) => Some(v4.ip),
            _ => None,
        })
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("interface {interface} has no IPv4 address (`ip -4 addr show {interface}`); give --address"),
            )
        })
}
