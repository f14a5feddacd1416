//! The plain UDP receive path: one socket per stream, feeding the same
//! reassembler as the AF_XDP path and producing the same frames.
//!
//! How it receives, and why: neither rustix nor socket2 offers `recvmmsg`
//! or reading `SO_TIMESTAMPING` control messages without unsafe code
//! (rustix's `recvmsg` decodes only SCM_RIGHTS and SCM_CREDENTIALS; socket2
//! hands the control buffer back uninitialised), so this path calls
//! `recv_from` in a loop and stamps each datagram with CLOCK_TAI read right
//! after it returns (`TimestampSource::UserTai`).
//!
//! Invariants: datagrams from a source other than the configured camera are
//! counted as foreign and never reach the reassembler; timers run at least
//! every `tick` even without traffic; every finished frame is handed to the
//! caller's `on_frame` and every resend request to its `ResendSink` before
//! the next datagram is read; per datagram the loop makes one `recv_from`
//! and one clock read and allocates nothing.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use super::frame::{CompletedFrame, RxTimestamp};
use super::pool::SlotPool;
use super::reassembler::Reassembler;
use super::resend::ResendSink;
use super::StreamError;

/// Largest UDP payload (an IPv4 datagram of 65535 bytes minus headers).
const MAX_DATAGRAM: usize = 65_507;

/// Where and how the socket path listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpReceiverConfig {
    /// Local address and port to bind (port 0 picks one; program it into the camera).
    pub bind: SocketAddr,
    /// Accept datagrams only from this address (the camera's); others are counted as foreign.
    pub source: Option<IpAddr>,
    /// Socket receive buffer to ask for, in bytes (capped by net.core.rmem_max).
    pub recv_buffer: usize,
    /// Longest wait in `recv` before timers are run.
    pub tick: Duration,
}

impl UdpReceiverConfig {
    /// Listens on `bind`, any source, 8 MiB receive buffer, 1 ms tick.
    pub fn new(bind: SocketAddr) -> Self {
        UdpReceiverConfig {
            bind,
            source: None,
            recv_buffer: 8 << 20,
            tick: Duration::from_millis(1),
        }
    }
}

/// Counters of the socket path itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    /// Datagrams read from the socket.
    pub datagrams: u64,
    /// Resend requests the sink failed to send.
    pub resend_send_errors: u64,
}

/// A UDP socket receiving one camera's GVSP stream.
#[derive(Debug)]
pub struct UdpStreamReceiver {
    socket: UdpSocket,
    buf: Box<[u8]>,
    source: Option<IpAddr>,
    stats: ReceiverStats,
}

impl UdpStreamReceiver {
    /// Binds the socket, sets its receive buffer and its `tick` read timeout.
    pub fn bind(config: UdpReceiverConfig) -> Result<Self, StreamError> {
        let socket_err = |context| move |source| StreamError::Socket { context, source };
        let domain = Domain::for_address(config.bind);
        let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))
            .map_err(socket_err("creating the stream socket"))?;
        // A smaller buffer than asked for is not fatal: it only makes loss more likely.
        let _ = socket.set_recv_buffer_size(config.recv_buffer);
        socket.bind(&config.bind.into()).map_err(socket_err(
            "binding the stream socket (is the port in use?)",
        ))?;
        let tick = config.tick.max(Duration::from_micros(100));
        socket
            .set_read_timeout(Some(tick))
            .map_err(socket_err("setting the stream socket timeout"))?;
        Ok(UdpStreamReceiver {
            socket: socket.into(),
            buf: vec![0u8; MAX_DATAGRAM].into_boxed_slice(),
            source: config.source,
            stats: ReceiverStats::default(),
        })
    }

    /// The bound address (to program into the camera's stream channel).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The socket receive buffer the kernel granted, in bytes.
    pub fn recv_buffer(&self) -> io::Result<usize> {
        socket2::SockRef::from(&self.socket).recv_buffer_size()
    }

    /// Counters of this receive path.
    pub fn stats(&self) -> ReceiverStats {
        self.stats
    }

    /// Receives until `stop` is set, then flushes the open frames.
    pub fn run<P, R, F>(
        &mut self,
        reassembler: &mut Reassembler<P>,
        resend: &mut R,
        mut on_frame: F,
        stop: &AtomicBool,
    ) -> io::Result<()>
    where
        P: SlotPool,
        R: ResendSink,
        F: FnMut(CompletedFrame<P::Slot>),
    {
        while !stop.load(Ordering::Relaxed) {
            self.poll(reassembler, resend, &mut on_frame, 1024)?;
        }
        reassembler.flush();
        self.drain(reassembler, resend, &mut on_frame);
        Ok(())
    }

    /// Receives up to `max_datagrams`, returning early when the socket stays
    /// quiet for one tick; runs due timers; returns the datagrams read.
    pub fn poll<P, R, F>(
        &mut self,
        reassembler: &mut Reassembler<P>,
        resend: &mut R,
        on_frame: &mut F,
        max_datagrams: usize,
    ) -> io::Result<usize>
    where
        P: SlotPool,
        R: ResendSink,
        F: FnMut(CompletedFrame<P::Slot>),
    {
        let mut read = 0;
        let mut next_timer = reassembler.poll_timeout();
        while read < max_datagrams {
            match self.socket.recv_from(&mut self.buf) {
                Ok((len, from)) => {
                    let rx = RxTimestamp::tai_now();
                    let now = Instant::now();
                    read += 1;
                    self.stats.datagrams += 1;
                    if self.source.is_some_and(|ip| ip != from.ip()) {
                        reassembler.count_foreign_packet();
                        continue;
                    }
                    reassembler.handle_packet(now, rx, &self.buf[..len]);
                    if next_timer.is_some_and(|t| t <= now) {
                        reassembler.handle_timeout(now);
                    }
                    self.drain(reassembler, resend, on_frame);
                    next_timer = reassembler.poll_timeout();
                }
                Err(err)
                    if matches!(
                        err.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    break;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        }
        let now = Instant::now();
        if reassembler.poll_timeout().is_some_and(|t| t <= now) {
            reassembler.handle_timeout(now);
        }
        self.drain(reassembler, resend, on_frame);
        Ok(read)
    }

    fn drain<P, R, F>(&mut self, reassembler: &mut Reassembler<P>, resend: &mut R, on_frame: &mut F)
    where
        P: SlotPool,
        R: ResendSink,
        F: FnMut(CompletedFrame<P::Slot>),
    {
        while let Some(request) = reassembler.poll_resend() {
            if resend.send_resend(&request).is_err() {
                self.stats.resend_send_errors += 1;
            }
        }
        while let Some(frame) = reassembler.poll_frame() {
            on_frame(frame);
        }
    }
}
