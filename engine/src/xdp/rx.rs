//! The receive path proper: rx descriptors in, UDP payloads out to a
//! [`PacketSink`], frames back to the fill ring. No syscalls, no allocation,
//! no locks: the socket and the worker add those around it, and tests drive
//! it over heap rings and an unregistered UMEM.
//!
//! Invariants:
//! - the descriptors of one packet (all but the last carrying
//!   `XDP_PKT_CONTD`) are delivered together, in order, or not at all;
//! - every frame taken from the rx ring goes back to the fill ring exactly
//!   once, after the sink has returned, whether the packet was delivered,
//!   malformed or oversized;
//! - the payload handed to the sink is exactly the UDP payload the UDP
//!   header announces (Ethernet padding removed); a packet shorter than its
//!   header says is counted as malformed and not delivered.

use std::net::SocketAddrV4;

use super::abi::{RxMeta, RX_META_SIZE};
use super::headers::UdpFrame;
use super::ring::{ConsumerRing, ProducerRing};
use super::umem::Umem;

/// Where the caller's code receives packets: the reassembler implements it.
pub trait PacketSink {
    /// One UDP datagram of a registered stream. `frags` is its payload split
    /// over the buffers it arrived in (usually one; a jumbo packet on veth
    /// arrives in three); the slices are valid only during the call.
    /// `rx_timestamp_ns` is CLOCK_TAI, or the NIC's clock when `hw_stamp`;
    /// 0 when the packet carried no timestamp.
    fn on_packet(
        &mut self,
        frags: &[&[u8]],
        src: SocketAddrV4,
        dst_port: u16,
        rx_timestamp_ns: u64,
        hw_stamp: bool,
    );

    /// Called by the receive worker before and after each blocking wait (so
    /// at least once per `WorkerConfig::poll_timeout` while no packet
    /// arrives): the place to run timers. The default does nothing.
    fn on_idle(&mut self) {}
}

/// `XDP_PKT_CONTD` (`<linux/if_xdp.h>`): more descriptors of this packet follow.
pub const XDP_PKT_CONTD: u32 = 1;

/// Buffers one packet may span: the kernel's MAX_SKB_FRAGS (17) plus the head.
pub const MAX_FRAGS: usize = 18;

/// `struct xdp_desc` (`<linux/if_xdp.h>`): one rx ring entry.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XdpDesc {
    /// UMEM offset of the data.
    pub addr: u64,
    /// Bytes of data.
    pub len: u32,
    /// `XDP_PKT_CONTD` or 0.
    pub options: u32,
}

/// What the receive path has seen (one socket, monotonic).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RxCounters {
    /// Packets handed to the sink.
    pub packets: u64,
    /// UDP payload bytes handed to the sink.
    pub payload_bytes: u64,
    /// Rx descriptors consumed.
    pub descriptors: u64,
    /// Delivered packets that spanned more than one buffer.
    pub multi_buffer: u64,
    /// Packets whose headers did not parse, or shorter than announced.
    pub malformed: u64,
    /// Packets spanning more than [`MAX_FRAGS`] buffers (dropped).
    pub too_many_frags: u64,
    /// Descriptors pointing outside the UMEM or across frames (dropped).
    pub bad_descriptors: u64,
    /// Delivered packets without gvsp_steer's metadata (timestamp 0).
    pub no_timestamp: u64,
    /// Frames that could not go back to the fill ring (should stay 0).
    pub fill_overflow: u64,
    /// Wakeup syscalls: need_wakeup requests and busy-poll rounds.
    pub wakeups: u64,
    /// Times the worker blocked in poll() after spinning idle.
    pub sleeps: u64,
}

/// What one [`RxPath::poll`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RxPoll {
    /// Descriptors consumed.
    pub descriptors: u32,
    /// Packets delivered.
    pub packets: u32,
    /// The fill ring has `XDP_RING_NEED_WAKEUP` set: make a syscall.
    pub need_wakeup: bool,
}

/// The receive path of one socket: UMEM, fill ring, rx ring and the packet
/// being assembled.
#[derive(Debug)]
pub struct RxPath {
    umem: Umem,
    fill: ProducerRing<u64>,
    rx: ConsumerRing<XdpDesc>,
    pending: [XdpDesc; MAX_FRAGS],
    npending: usize,
    overflowed: bool,
    counters: RxCounters,
}

impl RxPath {
    /// Puts every UMEM frame into `fill` (which must hold them all) and
    /// returns the path ready to receive.
    pub fn new(umem: Umem, fill: ProducerRing<u64>, rx: ConsumerRing<XdpDesc>) -> RxPath {
        let mut path = RxPath {
            umem,
            fill,
            rx,
            pending: [XdpDesc::default(); MAX_FRAGS],
            npending: 0,
            overflowed: false,
            counters: RxCounters::default(),
        };
        for i in 0..path.umem.frame_count() {
            let addr = path.umem.frame_addr(i);
            if path.fill.push(addr).is_err() {
                path.counters.fill_overflow += 1;
            }
        }
        path.fill.publish();
        path
    }

    /// The packet memory.
    pub fn umem(&self) -> &Umem {
        &self.umem
    }

    /// Counters so far.
    pub fn counters(&self) -> &RxCounters {
        &self.counters
    }

    /// Counters, for the socket and worker to add their own events.
    pub fn counters_mut(&mut self) -> &mut RxCounters {
        &mut self.counters
    }

    /// Whether the fill ring asks for a wakeup.
    pub fn fill_needs_wakeup(&self) -> bool {
        self.fill.needs_wakeup()
    }

    /// Consumes up to `budget` rx descriptors, delivering each complete
    /// packet to `sink` and recycling its frames; never blocks.
    pub fn poll<S: PacketSink + ?Sized>(&mut self, sink: &mut S, budget: u32) -> RxPoll {
        let mut result = RxPoll::default();
        while result.descriptors < budget {
            let Some(desc) = self.rx.pop() else { break };
            result.descriptors += 1;
            if self.npending < MAX_FRAGS {
                self.pending[self.npending] = desc;
                self.npending += 1;
            } else {
                self.overflowed = true;
                self.recycle(desc.addr);
            }
            if desc.options & XDP_PKT_CONTD == 0 && self.finish_packet(sink) {
                result.packets += 1;
            }
        }
        if result.descriptors > 0 {
            self.rx.release();
            self.fill.publish();
            self.counters.descriptors += u64::from(result.descriptors);
        }
        result.need_wakeup = self.fill.needs_wakeup();
        result
    }

    fn recycle(&mut self, addr: u64) {
        if addr >= self.umem.len() as u64 {
            // Not one of ours: nothing to give back.
            self.counters.bad_descriptors += 1;
            return;
        }
        if self.fill.push(self.umem.frame_of(addr)).is_err() {
            self.counters.fill_overflow += 1;
        }
    }

    /// Delivers the pending packet (if it is sound) and recycles its frames.
    fn finish_packet<S: PacketSink + ?Sized>(&mut self, sink: &mut S) -> bool {
        let delivered = if self.overflowed {
            self.counters.too_many_frags += 1;
            false
        } else {
            self.deliver(sink)
        };
        for i in 0..self.npending {
            let addr = self.pending[i].addr;
            self.recycle(addr);
        }
        self.npending = 0;
        self.overflowed = false;
        delivered
    }

    fn deliver<S: PacketSink + ?Sized>(&mut self, sink: &mut S) -> bool {
        let pending = &self.pending[..self.npending];
        let umem = &self.umem;
        let mut bufs: [&[u8]; MAX_FRAGS] = [&[]; MAX_FRAGS];
        for (buf, desc) in bufs.iter_mut().zip(pending) {
            // Safety: these frames came off the rx ring and go back to the
            // fill ring only after this function returns; until then only
            // this path can touch them.
            #[allow(unsafe_code)]
            match unsafe { umem.bytes(desc.addr, desc.len as usize) } {
                Some(bytes) => *buf = bytes,
                None => {
                    self.counters.bad_descriptors += 1;
                    return false;
                }
            }
        }
        let Some(head) = bufs.first().copied().filter(|_| !pending.is_empty()) else {
            return false;
        };
        // gvsp_steer prepends its metadata to the packet (see
        // bpf/gvsp_steer.bpf.c): strip it when its magic is there.
        let (meta, first) = match head.get(..RX_META_SIZE).and_then(RxMeta::parse) {
            Some(meta) => (Some(meta), &head[RX_META_SIZE..]),
            None => (None, head),
        };
        let Ok(udp) = UdpFrame::parse(first) else {
            self.counters.malformed += 1;
            return false;
        };

        // Cut the payload out of the buffers: the head's tail, then whole
        // continuation buffers, stopping at the UDP length.
        let mut frags: [&[u8]; MAX_FRAGS] = [&[]; MAX_FRAGS];
        let mut nfrags = 0;
        let mut remaining = udp.payload_len;
        let head = first.get(udp.payload_offset..).unwrap_or(&[]);
        for buf in std::iter::once(head).chain(bufs[1..pending.len()].iter().copied()) {
            if remaining == 0 {
                break;
            }
            let take = buf.len().min(remaining);
            if take > 0 {
                frags[nfrags] = &buf[..take];
                nfrags += 1;
                remaining -= take;
            }
        }
        if remaining > 0 {
            self.counters.malformed += 1;
            return false;
        }

        let (stamp, hw) = match meta {
            Some(m) => (m.rx_timestamp_ns, m.hw_stamp),
            None => {
                self.counters.no_timestamp += 1;
                (0, false)
            }
        };
        sink.on_packet(&frags[..nfrags], udp.source, udp.dst_port, stamp, hw);
        self.counters.packets += 1;
        self.counters.payload_bytes += udp.payload_len as u64;
        if pending.len() > 1 {
            self.counters.multi_buffer += 1;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xdp::headers::build_udp_frame;
    use crate::xdp::ring::{heap_pair, HeapRing};
    use crate::xdp::umem::HugePages;
    use std::net::Ipv4Addr;
    use std::sync::Arc;

    const FRAME: u32 = 4096;
    const HEADROOM: u64 = 256;

    /// One delivered packet: payload fragments, source, port, stamp, hw flag.
    type Delivered = (Vec<Vec<u8>>, SocketAddrV4, u16, u64, bool);

    #[derive(Default)]
    struct Collect {
        packets: Vec<Delivered>,
    }

    impl PacketSink for Collect {
        fn on_packet(&mut self, frags: &[&[u8]], src: SocketAddrV4, port: u16, ts: u64, hw: bool) {
            let frags = frags.iter().map(|f| f.to_vec()).collect();
            self.packets.push((frags, src, port, ts, hw));
        }
    }

    /// A receive path plus the "kernel" ends of its rings.
    struct Rig {
        path: RxPath,
        kernel_fill: ConsumerRing<u64>,
        kernel_rx: ProducerRing<XdpDesc>,
        fill_ring: Arc<HeapRing<u64>>,
    }

    fn rig(frames: u32) -> Rig {
        let umem = Umem::new(FRAME, frames, HugePages::Never).unwrap();
        let (fill, kernel_fill, fill_ring) = heap_pair::<u64>(frames, u32::MAX - 3).unwrap();
        let (kernel_rx, rx, _) = heap_pair::<XdpDesc>(frames, 7).unwrap();
        Rig {
            path: RxPath::new(umem, fill, rx),
            kernel_fill,
            kernel_rx,
            fill_ring,
        }
    }

    impl Rig {
        /// Does what the program and the kernel do in copy mode: prepends
        /// the metadata, takes frames from the fill ring, writes the packet
        /// split into buffers of `FRAME - HEADROOM` bytes, posts the
        /// descriptors.
        fn receive(&mut self, packet: &[u8], meta: Option<RxMeta>) {
            let per_buf = (FRAME as u64 - HEADROOM) as usize;
            let mut wire = meta.map(|m| m.emit().to_vec()).unwrap_or_default();
            wire.extend_from_slice(packet);
            let chunks: Vec<&[u8]> = wire.chunks(per_buf).collect();
            for (i, chunk) in chunks.iter().enumerate() {
                let frame = self.kernel_fill.pop().expect("fill ring has a frame");
                let addr = frame + HEADROOM;
                // Safety: the frame came off the fill ring, so the "kernel"
                // owns it; the receive path does not look at it yet.
                #[allow(unsafe_code)]
                unsafe {
                    assert!(self.path.umem.write(addr, chunk));
                }
                let options = if i + 1 < chunks.len() {
                    XDP_PKT_CONTD
                } else {
                    0
                };
                let desc = XdpDesc {
                    addr,
                    len: chunk.len() as u32,
                    options,
                };
                self.kernel_rx.push(desc).expect("rx ring has room");
            }
            self.kernel_fill.release();
            self.kernel_rx.publish();
        }
    }

    fn addr(a: u8, port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::new(169, 254, 7, a), port)
    }

    fn payload(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    #[test]
    fn delivers_single_and_multi_buffer_packets_with_timestamps() {
        let mut rig = rig(16);
        let meta = RxMeta {
            rx_timestamp_ns: 123_456_789,
            hw_stamp: false,
        };
        let small = payload(1400, 1);
        let jumbo = payload(8000, 2);
        rig.receive(
            &build_udp_frame(addr(2, 5000), addr(1, 40000), None, &small),
            Some(meta),
        );
        rig.receive(
            &build_udp_frame(addr(2, 5000), addr(1, 40000), Some(5), &jumbo),
            Some(meta),
        );
        let mut sink = Collect::default();
        let polled = rig.path.poll(&mut sink, 64);
        assert_eq!(polled.packets, 2);
        assert_eq!(polled.descriptors, 1 + 3);
        let (frags, src, port, ts, hw) = &sink.packets[0];
        assert_eq!(frags.concat(), small);
        assert_eq!(
            (*src, *port, *ts, *hw),
            (addr(2, 5000), 40000, 123_456_789, false)
        );
        let (frags, ..) = &sink.packets[1];
        assert_eq!(
            frags.len(),
            3,
            "8000 + 46 header bytes over 3840-byte buffers"
        );
        assert_eq!(frags.concat(), jumbo);
        let c = rig.path.counters();
        assert_eq!((c.packets, c.multi_buffer, c.payload_bytes), (2, 1, 9400));
        assert_eq!(c.no_timestamp, 0);
        // All four frames went back to the fill ring.
        assert_eq!(rig.kernel_fill.available(), 16);
    }

    #[test]
    fn strips_ethernet_padding_and_counts_missing_metadata() {
        let mut rig = rig(4);
        let mut frame = build_udp_frame(addr(2, 1), addr(1, 2), None, b"abc");
        frame.resize(60, 0xee); // minimum Ethernet frame, padded
        rig.receive(&frame, None);
        let mut sink = Collect::default();
        rig.path.poll(&mut sink, 64);
        assert_eq!(sink.packets[0].0.concat(), b"abc");
        assert_eq!(sink.packets[0].3, 0);
        assert_eq!(rig.path.counters().no_timestamp, 1);
    }

    #[test]
    fn malformed_and_truncated_packets_are_counted_and_recycled() {
        let mut rig = rig(8);
        rig.receive(&[0u8; 20], None); // not IPv4
        let mut short = build_udp_frame(addr(2, 1), addr(1, 2), None, &payload(100, 0));
        short.truncate(short.len() - 10); // shorter than the UDP length says
        rig.receive(&short, None);
        let mut sink = Collect::default();
        let polled = rig.path.poll(&mut sink, 64);
        assert_eq!(polled.packets, 0);
        assert!(sink.packets.is_empty());
        assert_eq!(rig.path.counters().malformed, 2);
        assert_eq!(rig.kernel_fill.available(), 8, "frames recycled");
    }

    #[test]
    fn a_packet_split_across_polls_is_delivered_whole() {
        let mut rig = rig(8);
        let jumbo = payload(8000, 9);
        rig.receive(&build_udp_frame(addr(2, 1), addr(1, 2), None, &jumbo), None);
        let mut sink = Collect::default();
        assert_eq!(rig.path.poll(&mut sink, 2).packets, 0);
        assert!(sink.packets.is_empty());
        // The two consumed descriptors are not back in the fill ring yet.
        assert_eq!(rig.kernel_fill.available(), 5);
        assert_eq!(rig.path.poll(&mut sink, 2).packets, 1);
        assert_eq!(sink.packets[0].0.concat(), jumbo);
        assert_eq!(rig.kernel_fill.available(), 8);
    }

    #[test]
    fn oversized_chains_and_bad_descriptors_are_dropped() {
        let mut rig = rig(32);
        for i in 0..(MAX_FRAGS as u64 + 2) {
            let frame = rig.kernel_fill.pop().unwrap();
            let options = if i < MAX_FRAGS as u64 + 1 {
                XDP_PKT_CONTD
            } else {
                0
            };
            rig.kernel_rx
                .push(XdpDesc {
                    addr: frame + HEADROOM,
                    len: 100,
                    options,
                })
                .unwrap();
        }
        rig.kernel_rx
            .push(XdpDesc {
                addr: 1 << 40,
                len: 64,
                options: 0,
            })
            .unwrap();
        let frame = rig.kernel_fill.pop().unwrap();
        rig.kernel_rx
            .push(XdpDesc {
                addr: frame + 4000,
                len: 200,
                options: 0,
            })
            .unwrap();
        rig.kernel_fill.release();
        rig.kernel_rx.publish();
        let mut sink = Collect::default();
        rig.path.poll(&mut sink, 64);
        assert!(sink.packets.is_empty());
        let c = *rig.path.counters();
        assert_eq!(c.too_many_frags, 1);
        assert_eq!(
            c.bad_descriptors,
            1 + 1 + 1,
            "out of UMEM (deliver + recycle), across a frame"
        );
        assert_eq!(
            rig.kernel_fill.available(),
            32,
            "every real frame came back"
        );
    }

    #[test]
    fn many_rounds_keep_every_frame_in_circulation() {
        let mut rig = rig(8);
        let mut sink = Collect::default();
        for round in 0..200u32 {
            let data = payload(1000 + (round as usize * 37) % 7000, round as u8);
            let frame = build_udp_frame(addr(3, 9), addr(1, 10), None, &data);
            rig.receive(
                &frame,
                Some(RxMeta {
                    rx_timestamp_ns: u64::from(round),
                    hw_stamp: true,
                }),
            );
            rig.path.poll(&mut sink, 1 + round % 3);
            rig.path.poll(&mut sink, 64);
            let (frags, _, _, ts, hw) = sink.packets.pop().expect("delivered");
            assert_eq!(frags.concat(), data);
            assert_eq!((ts, hw), (u64::from(round), true));
        }
        assert!(!rig.fill_ring_needs_wakeup());
        rig.fill_ring.set_need_wakeup(true);
        assert!(rig.path.poll(&mut sink, 1).need_wakeup);
    }

    impl Rig {
        fn fill_ring_needs_wakeup(&self) -> bool {
            self.path.fill_needs_wakeup()
        }
    }
}
