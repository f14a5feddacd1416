//! Programming a camera's stream channel: where GVSP goes (destination
//! address and port), how big its packets are and how far apart.
//!
//! Invariants: the packet size written is the whole IP datagram size, as
//! the SCPS register defines it (IP header 20 + UDP header 8 + GVSP); a size
//! is only kept when a test packet of that size made it through the path,
//! or when the caller said not to test.

use std::io;
use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use crate::wire::bootstrap::{self, sc};

use super::camera::Camera;
use super::error::DeviceError;

/// IPv4 (20) and UDP (8) headers: what SCPS counts beyond the GVSP bytes.
pub const IP_UDP_OVERHEAD: u32 = 28;

/// Where and how a camera should stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamDestination {
    /// Stream channel index (0 on nearly every camera).
    pub channel: u16,
    /// The host address the stream goes to.
    pub host: Ipv4Addr,
    /// The host UDP port.
    pub port: u16,
    /// IP datagram size of stream packets (e.g. 1500 or 9000).
    pub packet_size: u32,
    /// Inter-packet delay, in the camera's timestamp ticks.
    pub packet_delay_ticks: u32,
}

impl Camera {
    /// Writes the stream channel registers: packet size (with do-not-fragment),
    /// delay, destination address, then the port (which opens the channel).
    pub fn configure_stream(&self, dest: &StreamDestination) -> Result<(), DeviceError> {
        let reg = |r| bootstrap::stream_channel(dest.channel, r);
        self.write_register(
            reg(sc::PACKET_SIZE),
            sc::PACKET_SIZE_DO_NOT_FRAGMENT | (dest.packet_size & sc::PACKET_SIZE_MASK),
        )?;
        self.write_register(reg(sc::PACKET_DELAY), dest.packet_delay_ticks)?;
        self.write_register(reg(sc::DESTINATION_ADDRESS), u32::from(dest.host))?;
        self.write_register(reg(sc::PORT), u32::from(dest.port))?;
        Ok(())
    }

    /// Closes the stream channel (destination port 0).
    pub fn close_stream(&self, channel: u16) -> Result<(), DeviceError> {
        self.write_register(bootstrap::stream_channel(channel, sc::PORT), 0)
    }

    /// The stream's source UDP port, when the camera reports it (SCSP).
    pub fn stream_source_port(&self, channel: u16) -> Result<Option<u16>, DeviceError> {
        let capability = self.read_register(bootstrap::GVSP_CAPABILITY)?;
        if capability & bootstrap::GVSP_CAPABILITY_SCSP == 0 {
            return Ok(None);
        }
        let port = self.read_register(bootstrap::stream_channel(channel, sc::SOURCE_PORT))?;
        Ok(Some((port & 0xFFFF) as u16))
    }

    /// Finds the largest packet size, at most `wanted`, whose test packet
    /// reaches `receiver` (a socket bound to the stream's destination port,
    /// which the stream channel must already point at), trying `wanted` and
    /// then the usual smaller sizes.
    ///
    /// Returns `Ok(None)` when no test packet arrived at any size: the camera
    /// may not implement test packets, and the caller keeps its size.
    pub fn probe_packet_size(
        &self,
        channel: u16,
        receiver: &UdpSocket,
        wanted: u32,
        wait: Duration,
    ) -> Result<Option<u32>, DeviceError> {
        let reg = bootstrap::stream_channel(channel, sc::PACKET_SIZE);
        let mut buf = vec![0u8; 65536];
        for size in candidate_sizes(wanted) {
            self.write_register(
                reg,
                sc::PACKET_SIZE_FIRE_TEST_PACKET | sc::PACKET_SIZE_DO_NOT_FRAGMENT | size,
            )?;
            match wait_for_datagram(receiver, &mut buf, size - IP_UDP_OVERHEAD, wait) {
                Ok(true) => {
                    self.write_register(reg, sc::PACKET_SIZE_DO_NOT_FRAGMENT | size)?;
                    return Ok(Some(size));
                }
                Ok(false) => continue,
                Err(source) => {
                    return Err(DeviceError::Io {
                        camera: self.name().to_string(),
                        context: "waiting for a test packet".into(),
                        source,
                    })
                }
            }
        }
        Ok(None)
    }
}

/// `wanted`, then the common path sizes below it, largest first.
fn candidate_sizes(wanted: u32) -> Vec<u32> {
    let mut sizes = vec![wanted];
    sizes.extend(
        [9000, 8192, 4096, 1500, 1400, 576]
            .into_iter()
            .filter(|&s| s < wanted),
    );
    sizes
}

/// Waits up to `wait` for a datagram of exactly `len` bytes; others are ignored.
fn wait_for_datagram(
    socket: &UdpSocket,
    buf: &mut [u8],
    len: u32,
    wait: Duration,
) -> io::Result<bool> {
    let deadline = Instant::now() + wait;
    while let Some(left) = deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
    {
        socket.set_read_timeout(Some(left))?;
        match socket.recv(buf) {
            Ok(n) if n as u32 == len => return Ok(true),
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(false)
            }
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::candidate_sizes;

    #[test]
    fn candidates_start_with_the_wanted_size_and_shrink() {
        assert_eq!(
            candidate_sizes(9000),
            vec![9000, 8192, 4096, 1500, 1400, 576]
        );
        assert_eq!(candidate_sizes(1500), vec![1500, 1400, 576]);
        assert_eq!(candidate_sizes(2000), vec![2000, 1500, 1400, 576]);
    }
}
