//! One camera's GVCP control channel: a connected UDP socket and the
//! request/acknowledge exchange with request ids, retries, timeouts and
//! PENDING_ACK.
//!
//! Invariants: one transaction at a time per channel (the request-id lock is
//! held from send to answer), so the heartbeat and user requests share the
//! socket safely; an acknowledge whose id is not the one awaited is stale
//! (a late answer to an earlier attempt) and is dropped; a retry reuses the
//! request id, as the specification asks, so a device can tell a
//! retransmission from a new request.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::wire::gvcp::{flags, AckRepr, CommandRepr, GVCP_PORT};
use crate::wire::Status;

use super::error::{DeviceError, Operation};

/// Timing of the control channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    /// How long to wait for each acknowledge.
    pub timeout: Duration,
    /// How many times to resend an unanswered command after the first try.
    pub retries: u32,
    /// Heartbeat timeout to program into the camera when taking control
    /// (`None`: keep the camera's own).
    pub heartbeat_timeout: Option<Duration>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            timeout: Duration::from_millis(500),
            retries: 3,
            heartbeat_timeout: None,
        }
    }
}

/// The socket and request state of one camera's control channel.
#[derive(Debug)]
pub(crate) struct Channel {
    socket: UdpSocket,
    next_id: Mutex<u16>,
    pub(crate) camera: String,
    pub(crate) ip: Ipv4Addr,
    pub(crate) config: ClientConfig,
}

impl Channel {
    /// Opens a socket connected to the camera's GVCP port.
    pub(crate) fn open(
        ip: Ipv4Addr,
        camera: String,
        config: ClientConfig,
    ) -> Result<Self, DeviceError> {
        let io_err = |context: &str, source| DeviceError::Io {
            camera: camera.clone(),
            context: context.to_string(),
            source,
        };
        let socket = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
            .map_err(|e| io_err("binding a UDP socket for the control channel", e))?;
        socket
            .connect(SocketAddrV4::new(ip, GVCP_PORT))
            .map_err(|e| {
                io_err(
                    "connecting the control channel (is there a route to the camera?)",
                    e,
                )
            })?;
        Ok(Channel {
            socket,
            next_id: Mutex::new(1),
            camera,
            ip,
            config,
        })
    }

    /// The local address the camera sees requests come from.
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Sends a command that is never acknowledged (PACKETRESEND, or ACTION without ack).
    pub(crate) fn send_only(
        &self,
        operation: Operation,
        command: &CommandRepr,
        flag_bits: u8,
    ) -> Result<(), DeviceError> {
        let mut id = self.lock_ids();
        let req_id = take_id(&mut id);
        let datagram = self.encode(operation, command, req_id, flag_bits)?;
        self.send(operation, &datagram)
    }

    /// Sends one datagram to the camera; an error names the operation.
    fn send(&self, operation: Operation, datagram: &[u8]) -> Result<(), DeviceError> {
        self.socket
            .send(datagram)
            .map(drop)
            .map_err(|source| DeviceError::Io {
                camera: self.camera.clone(),
                context: format!("sending {operation}"),
                source,
            })
    }

    /// Sends `command`, waits for its acknowledge (retrying and honouring
    /// PENDING_ACK) and returns the acknowledge body on success.
    pub(crate) fn transact(
        &self,
        operation: Operation,
        command: &CommandRepr,
    ) -> Result<AckRepr, DeviceError> {
        let mut id = self.lock_ids();
        let req_id = take_id(&mut id);
        let datagram = self.encode(operation, command, req_id, flags::ACK_REQUIRED)?;
        let expected = command.ack_code();
        let attempts = self.config.retries.saturating_add(1);
        let mut buf = [0u8; 1024];
        for _ in 0..attempts {
            self.send(operation, &datagram)?;
            let mut deadline = Instant::now() + self.config.timeout;
            loop {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                self.socket
                    .set_read_timeout(Some(deadline - now))
                    .map_err(|source| self.io(operation, source))?;
                let len = match self.socket.recv(&mut buf) {
                    Ok(len) => len,
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                    {
                        break
                    }
                    // An ICMP port unreachable from an earlier send: the camera may still come up.
                    Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
                    Err(e) => return Err(self.io(operation, e)),
                };
                let Ok((header, ack)) = AckRepr::parse(&buf[..len]) else {
                    // Not an acknowledge we can read: not ours to answer, keep waiting.
                    continue;
                };
                if header.ack_id != req_id {
                    continue;
                }
                if let AckRepr::PendingAck {
                    time_to_completion_ms,
                } = ack
                {
                    deadline = Instant::now()
                        + Duration::from_millis(u64::from(time_to_completion_ms))
                        + self.config.timeout;
                    continue;
                }
                if header.status != Status::Success {
                    return Err(DeviceError::status(&self.camera, operation, header.status));
                }
                if Some(header.answer) != expected {
                    return Err(DeviceError::Protocol {
                        camera: self.camera.clone(),
                        operation,
                        detail: format!(
                            "acknowledge code {:#06x}, expected {:#06x}",
                            header.answer,
                            expected.unwrap_or(0)
                        ),
                    });
                }
                return Ok(ack);
            }
        }
        Err(DeviceError::Timeout {
            camera: self.camera.clone(),
            operation,
            attempts,
            timeout_ms: u64::try_from(self.config.timeout.as_millis()).unwrap_or(u64::MAX),
        })
    }

    fn lock_ids(&self) -> std::sync::MutexGuard<'_, u16> {
        // A panic while holding the lock leaves only a counter behind: keep going.
        self.next_id
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn encode(
        &self,
        operation: Operation,
        command: &CommandRepr,
        req_id: u16,
        flag_bits: u8,
    ) -> Result<Vec<u8>, DeviceError> {
        let mut datagram = vec![0u8; command.buffer_len()];
        command
            .emit(req_id, flag_bits, &mut datagram)
            .map_err(|source| DeviceError::Encode {
                camera: self.camera.clone(),
                operation,
                source,
            })?;
        Ok(datagram)
    }

    fn io(&self, operation: Operation, source: io::Error) -> DeviceError {
        DeviceError::Io {
            camera: self.camera.clone(),
            context: format!("waiting for the answer to {operation}"),
            source,
        }
    }
}

/// Returns the next request id, skipping 0 (which the specification reserves).
fn take_id(next: &mut u16) -> u16 {
    let id = *next;
    *next = next.wrapping_add(1);
    if *next == 0 {
        *next = 1;
    }
    id
}

#[cfg(test)]
mod tests {
    use super::take_id;

    #[test]
    fn request_ids_skip_zero_on_wrap() {
        let mut next = u16::MAX;
        assert_eq!(take_id(&mut next), u16::MAX);
        assert_eq!(take_id(&mut next), 1);
        assert_eq!(take_id(&mut next), 2);
    }
}
