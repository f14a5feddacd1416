//! One AF_XDP socket bound to one queue of one interface, receive only: its
//! own UMEM, fill and completion rings (the completion ring is required by
//! the kernel even without transmit) and rx ring, built on rustix's
//! `net::xdp` socket options.
//!
//! Invariants:
//! - every UMEM frame is in the fill ring or owned by the receive path at
//!   all times (the fill ring holds exactly `frame_count` entries, so giving a
//!   frame back never fails);
//! - the socket binds with `XDP_USE_SG` so that packets larger than a frame
//!   arrive as chains of descriptors instead of being dropped;
//! - zero-copy is tried first (in `BindMode::Auto`) on a fresh socket, and on
//!   refusal everything is rebuilt for copy mode: a socket whose bind failed
//!   is never reused.

#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use memmap2::MmapOptions;
use rustix::net::sockopt;
use rustix::net::xdp::{
    SocketAddrXdp, SocketAddrXdpFlags, XdpOptionsFlags, XdpRingOffset, XdpUmemReg, XdpUmemRegFlags,
    XDP_PGOFF_RX_RING, XDP_UMEM_PGOFF_COMPLETION_RING, XDP_UMEM_PGOFF_FILL_RING,
};
use rustix::net::{AddressFamily, RecvFlags, SocketFlags, SocketType};

use super::error::XdpError;
use super::ring::{ConsumerRing, ProducerRing, RingOffsets};
use super::rx::{PacketSink, RxCounters, RxPath, RxPoll, XdpDesc};
use super::sys;
use super::umem::{HugePages, Umem};

/// Completion ring entries: unused for receive, but the kernel wants one.
const COMPLETION_RING_SIZE: u32 = 64;

/// How to bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BindMode {
    /// Zero-copy where the driver supports it, else copy.
    #[default]
    Auto,
    /// Zero-copy or fail.
    ZeroCopy,
    /// Copy mode (works on every driver, veth included).
    Copy,
}

/// Busy-poll socket options (`SO_PREFER_BUSY_POLL`, `SO_BUSY_POLL`,
/// `SO_BUSY_POLL_BUDGET`); the worker then drives the NAPI loop itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusyPoll {
    /// Busy-poll time per syscall, in microseconds.
    pub usecs: u32,
    /// Packets per busy-poll round.
    pub budget: u32,
}

/// Geometry and options of an [`XskSocket`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XskConfig {
    /// Bytes per UMEM frame: 2048 or 4096 (4096 keeps jumbo packets in 3 buffers).
    pub frame_size: u32,
    /// UMEM frames, a power of two; also the fill ring's size.
    pub frame_count: u32,
    /// Rx ring entries, a power of two.
    pub rx_ring_size: u32,
    /// Zero-copy or copy.
    pub bind: BindMode,
    /// Ask the kernel to say when it needs a wakeup (`XDP_USE_NEED_WAKEUP`).
    pub need_wakeup: bool,
    /// Busy polling, where the kernel allows it.
    pub busy_poll: Option<BusyPoll>,
    /// UMEM page size policy.
    pub hugepages: HugePages,
}

impl Default for XskConfig {
    /// 16384 frames of 4096 bytes (64 MiB, 32 hugepages), an 8192-entry rx ring
    /// (2730 jumbo packets, about 12 ms at 2 GB/s: a worker descheduled on a
    /// busy machine loses nothing; 2048 entries overflowed at 1.9 GB/s here),
    /// auto bind, need_wakeup, no busy polling.
    fn default() -> Self {
        XskConfig {
            frame_size: 4096,
            frame_count: 16384,
            rx_ring_size: 8192,
            bind: BindMode::Auto,
            need_wakeup: true,
            busy_poll: None,
            hugepages: HugePages::Prefer,
        }
    }
}

/// The kernel's statistics of one socket (`XDP_STATISTICS`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XskStatistics {
    /// Packets dropped for reasons other than invalid descriptors.
    pub rx_dropped: u64,
    /// Packets dropped because of an invalid descriptor.
    pub rx_invalid_descs: u64,
    /// Packets dropped because the rx ring was full.
    pub rx_ring_full: u64,
    /// Times the fill ring was empty when the kernel needed a frame.
    pub rx_fill_ring_empty_descs: u64,
}

/// A bound AF_XDP socket and its receive path.
#[derive(Debug)]
pub struct XskSocket {
    // Field order matters for drop: the rings and UMEM (in `rx`) are
    // unmapped after the socket is closed.
    fd: OwnedFd,
    rx: RxPath,
    _completion: ConsumerRing<u64>,
    ifindex: u32,
    queue: u32,
    zero_copy: bool,
    need_wakeup: bool,
    busy_poll: bool,
}

impl XskSocket {
    /// Creates, configures and binds a socket on queue `queue` of interface
    /// `ifindex` (of the calling thread's network namespace).
    pub fn open(ifindex: u32, queue: u32, config: &XskConfig) -> Result<XskSocket, XdpError> {
        if !config.rx_ring_size.is_power_of_two() {
            return Err(XdpError::Config(format!(
                "rx ring size {} must be a power of two",
                config.rx_ring_size
            )));
        }
        match config.bind {
            BindMode::Copy => Self::open_once(ifindex, queue, config, false),
            BindMode::ZeroCopy => Self::open_once(ifindex, queue, config, true),
            BindMode::Auto => match Self::open_once(ifindex, queue, config, true) {
                Ok(socket) => Ok(socket),
                Err(XdpError::Socket { source, what, .. }) if what.starts_with("bind") => {
                    tracing::info!(
                        "interface {ifindex} queue {queue}: zero-copy refused ({source}); using copy mode"
                    );
                    Self::open_once(ifindex, queue, config, false)
                }
                Err(e) => Err(e),
            },
        }
    }

    fn open_once(
        ifindex: u32,
        queue: u32,
        config: &XskConfig,
        zero_copy: bool,
    ) -> Result<XskSocket, XdpError> {
        let fail = |what: &str, source: io::Error| XdpError::Socket {
            ifindex,
            queue,
            what: what.to_string(),
            source,
        };
        let fd = rustix::net::socket_with(
            AddressFamily::XDP,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            None,
        )
        .map_err(|e| fail("create (needs root or CAP_NET_RAW)", e.into()))?;

        let umem = Umem::new(config.frame_size, config.frame_count, config.hugepages)?;
        let reg = XdpUmemReg {
            addr: umem.start(),
            len: umem.len() as u64,
            chunk_size: umem.frame_size(),
            headroom: 0,
            flags: XdpUmemRegFlags::empty(),
            tx_metadata_len: 0,
        };
        sockopt::set_xdp_umem_reg(&fd, reg).map_err(|e| {
            fail(
                "register the UMEM (XDP_UMEM_REG; needs CAP_IPC_LOCK or enough RLIMIT_MEMLOCK)",
                e.into(),
            )
        })?;
        sockopt::set_xdp_umem_fill_ring_size(&fd, config.frame_count)
            .map_err(|e| fail("size the fill ring", e.into()))?;
        sockopt::set_xdp_umem_completion_ring_size(&fd, COMPLETION_RING_SIZE)
            .map_err(|e| fail("size the completion ring", e.into()))?;
        sockopt::set_xdp_rx_ring_size(&fd, config.rx_ring_size)
            .map_err(|e| fail("size the rx ring", e.into()))?;
        let offsets =
            sockopt::xdp_mmap_offsets(&fd).map_err(|e| fail("read ring offsets", e.into()))?;

        let map = |what: &str, off: &XdpRingOffset, pgoff: u64, size: u32, entry: usize| {
            let flags = off.flags.ok_or_else(|| {
                fail(
                    what,
                    io::Error::new(
                        io::ErrorKind::Unsupported,
                        "kernel without ring flags (< 5.4)",
                    ),
                )
            })?;
            let len = off.desc as usize + size as usize * entry;
            let raw = MmapOptions::new()
                .offset(pgoff)
                .len(len)
                .populate()
                .map_raw(fd.as_raw_fd())
                .map_err(|e| fail(what, e))?;
            Ok::<_, XdpError>((
                raw,
                RingOffsets {
                    producer: off.producer,
                    consumer: off.consumer,
                    flags,
                    desc: off.desc,
                },
            ))
        };
        let layout_error = |what: &str, e: &str| {
            fail(
                what,
                io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
            )
        };

        let (fill_map, fill_off) = map(
            "map the fill ring",
            &offsets.fr,
            XDP_UMEM_PGOFF_FILL_RING,
            config.frame_count,
            std::mem::size_of::<u64>(),
        )?;
        // Safety: the mapping is the fill ring of this socket at the offsets
        // the kernel just reported, sized for `frame_count` u64 entries (the
        // fill ring's descriptor type, <linux/if_xdp.h>); this process is
        // its only producer.
        let fill =
            unsafe { ProducerRing::<u64>::from_mmap(fill_map, fill_off, config.frame_count) }
                .map_err(|e| layout_error("map the fill ring", e))?;

        let (comp_map, comp_off) = map(
            "map the completion ring",
            &offsets.cr,
            XDP_UMEM_PGOFF_COMPLETION_RING,
            COMPLETION_RING_SIZE,
            std::mem::size_of::<u64>(),
        )?;
        // Safety: as above, for the completion ring (u64 entries), of which
        // this process is the only consumer.
        let completion =
            unsafe { ConsumerRing::<u64>::from_mmap(comp_map, comp_off, COMPLETION_RING_SIZE) }
                .map_err(|e| layout_error("map the completion ring", e))?;

        let (rx_map, rx_off) = map(
            "map the rx ring",
            &offsets.rx,
            XDP_PGOFF_RX_RING,
            config.rx_ring_size,
            std::mem::size_of::<XdpDesc>(),
        )?;
        // Safety: as above, for the rx ring, whose entries are `struct
        // xdp_desc` (mirrored by `XdpDesc`, 16 bytes, <linux/if_xdp.h>).
        let rx_ring =
            unsafe { ConsumerRing::<XdpDesc>::from_mmap(rx_map, rx_off, config.rx_ring_size) }
                .map_err(|e| layout_error("map the rx ring", e))?;

        let mut busy_poll = false;
        if let Some(bp) = config.busy_poll {
            let set = sys::set_prefer_busy_poll(fd.as_fd(), true)
                .and_then(|()| sys::set_busy_poll_usecs(fd.as_fd(), bp.usecs))
                .and_then(|()| sys::set_busy_poll_budget(fd.as_fd(), bp.budget));
            match set {
                Ok(()) => busy_poll = true,
                Err(e) => tracing::warn!(
                    "interface {ifindex} queue {queue}: busy polling not available ({e}); using interrupts"
                ),
            }
        }

        // Fill the fill ring before binding so a zero-copy driver finds
        // buffers as soon as the queue restarts.
        let rx = RxPath::new(umem, fill, rx_ring);

        let mut flags = SocketAddrXdpFlags::XDP_USE_SG;
        flags |= if zero_copy {
            SocketAddrXdpFlags::XDP_ZEROCOPY
        } else {
            SocketAddrXdpFlags::XDP_COPY
        };
        if config.need_wakeup {
            flags |= SocketAddrXdpFlags::XDP_USE_NEED_WAKEUP;
        }
        rustix::net::bind(&fd, &SocketAddrXdp::new(flags, ifindex, queue)).map_err(|e| {
            fail(
                if zero_copy {
                    "bind in zero-copy mode"
                } else {
                    "bind in copy mode (is the queue index below the interface's queue count, and the kernel 6.6 or later for XDP_USE_SG?)"
                },
                e.into(),
            )
        })?;
        let zero_copy = sockopt::xdp_options(&fd)
            .map(|o| o.contains(XdpOptionsFlags::XDP_OPTIONS_ZEROCOPY))
            .unwrap_or(zero_copy);

        Ok(XskSocket {
            fd,
            rx,
            _completion: completion,
            ifindex,
            queue,
            zero_copy,
            need_wakeup: config.need_wakeup,
            busy_poll,
        })
    }

    /// The interface index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The queue.
    pub fn queue(&self) -> u32 {
        self.queue
    }

    /// Whether the kernel runs this socket in zero-copy mode.
    pub fn is_zero_copy(&self) -> bool {
        self.zero_copy
    }

    /// Whether need_wakeup is in use.
    pub fn uses_need_wakeup(&self) -> bool {
        self.need_wakeup
    }

    /// Whether the busy-poll options were accepted.
    pub fn busy_poll(&self) -> bool {
        self.busy_poll
    }

    /// Whether the UMEM is on hugepages.
    pub fn umem_on_hugepages(&self) -> bool {
        self.rx.umem().is_hugepages()
    }

    /// The receive path's counters.
    pub fn counters(&self) -> RxCounters {
        *self.rx.counters()
    }

    /// The kernel's drop statistics for this socket.
    pub fn statistics(&self) -> Result<XskStatistics, XdpError> {
        let s = sockopt::xdp_statistics(&self.fd).map_err(|e| XdpError::Socket {
            ifindex: self.ifindex,
            queue: self.queue,
            what: "read XDP_STATISTICS".into(),
            source: e.into(),
        })?;
        Ok(XskStatistics {
            rx_dropped: s.rx_dropped,
            rx_invalid_descs: s.rx_invalid_descs,
            rx_ring_full: s.rx_ring_full.unwrap_or(0),
            rx_fill_ring_empty_descs: s.rx_fill_ring_empty_descs.unwrap_or(0),
        })
    }

    /// Delivers up to `budget` descriptors' worth of packets to `sink`
    /// without blocking, and wakes the kernel if it asked for it.
    pub fn receive<S: PacketSink + ?Sized>(&mut self, sink: &mut S, budget: u32) -> RxPoll {
        let polled = self.rx.poll(sink, budget);
        if polled.need_wakeup || (self.busy_poll && polled.descriptors == 0) {
            self.wake();
        }
        polled
    }

    /// Kicks the kernel (`recvfrom` with `MSG_DONTWAIT`): refills a
    /// zero-copy driver's queue, or runs a busy-poll round.
    pub fn wake(&mut self) {
        self.rx.counters_mut().wakeups += 1;
        // EAGAIN and friends only mean there was nothing to do.
        let _ = rustix::net::recv(&self.fd, &mut [0u8; 0][..], RecvFlags::DONTWAIT);
    }

    /// Blocks until the rx ring has something or `timeout` passes; true
    /// when readable.
    pub fn wait(&mut self, timeout: Duration) -> bool {
        self.rx.counters_mut().sleeps += 1;
        let timeout = rustix::time::Timespec {
            tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        let mut fds = [rustix::event::PollFd::new(
            &self.fd,
            rustix::event::PollFlags::IN,
        )];
        matches!(rustix::event::poll(&mut fds, Some(&timeout)), Ok(n) if n > 0)
    }
}

impl AsFd for XskSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
