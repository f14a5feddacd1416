//! The byte-level contract with the XDP program: Rust mirrors of
//! `bpf/gvsp_steer.h` (map keys and values, the receive metadata, counter
//! indices). Change both files together.
//!
//! Invariants: map keys carry addresses and ports in network byte order, as
//! in the packet; the metadata is written by the CPU that ran the program, so
//! its integers are in native byte order; [`RxMeta::parse`] never panics and
//! rejects anything without the magic value.

use std::net::Ipv4Addr;

/// Size in bytes of `struct rx_meta`, the prefix the program puts in front
/// of each steered packet.
pub const RX_META_SIZE: usize = 16;
/// `RX_META_HW`: the timestamp is the NIC's hardware stamp.
pub const RX_META_HW: u32 = 0x1;
/// `RX_META_MAGIC`: marks metadata written by gvsp_steer ("gvx1").
pub const RX_META_MAGIC: u32 = 0x6776_7831;

/// Name of the plain program (software timestamps; loads anywhere).
pub const PROG_PLAIN: &str = "gvsp_steer";
/// Name of the device-bound program (hardware timestamps through a kfunc).
pub const PROG_DEVICE_BOUND: &str = "gvsp_steer_hw";
/// Name of the XSKMAP: rx queue index to AF_XDP socket.
pub const MAP_XSKS: &str = "xsks";
/// Name of the hash map of registered streams.
pub const MAP_STREAMS: &str = "streams";
/// Name of the per-CPU counter array.
pub const MAP_COUNTERS: &str = "counters";

/// The receive timestamp the program prepends to each steered packet (the
/// descriptor's first [`RX_META_SIZE`] bytes; the Ethernet frame follows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxMeta {
    /// Nanoseconds: CLOCK_TAI, or the NIC's clock when `hw_stamp`.
    pub rx_timestamp_ns: u64,
    /// True when the stamp came from the NIC (`bpf_xdp_metadata_rx_timestamp`).
    pub hw_stamp: bool,
}

impl RxMeta {
    /// Reads `struct rx_meta` from exactly [`RX_META_SIZE`] bytes; `None` when
    /// the length is wrong or the magic is missing.
    pub fn parse(bytes: &[u8]) -> Option<RxMeta> {
        let bytes: &[u8; RX_META_SIZE] = bytes.try_into().ok()?;
        let (stamp, rest) = bytes.split_at(8);
        let (flags, magic) = rest.split_at(4);
        let magic = u32::from_ne_bytes(magic.try_into().ok()?);
        if magic != RX_META_MAGIC {
            return None;
        }
        let flags = u32::from_ne_bytes(flags.try_into().ok()?);
        Some(RxMeta {
            rx_timestamp_ns: u64::from_ne_bytes(stamp.try_into().ok()?),
            hw_stamp: flags & RX_META_HW != 0,
        })
    }

    /// The bytes the program would write for this metadata.
    pub fn emit(&self) -> [u8; RX_META_SIZE] {
        let mut out = [0u8; RX_META_SIZE];
        out[..8].copy_from_slice(&self.rx_timestamp_ns.to_ne_bytes());
        let flags = if self.hw_stamp { RX_META_HW } else { 0 };
        out[8..12].copy_from_slice(&flags.to_ne_bytes());
        out[12..].copy_from_slice(&RX_META_MAGIC.to_ne_bytes());
        out
    }
}

/// `struct stream_key`: one registered stream, {camera address, host UDP port}.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamKey {
    /// The camera's IPv4 address (the packets' source).
    pub source: Ipv4Addr,
    /// The UDP destination port the camera streams to.
    pub dst_port: u16,
}

impl StreamKey {
    /// The 8 key bytes the map stores (network byte order, zero padding).
    pub fn to_bytes(&self) -> [u8; 8] {
        let mut out = [0u8; 8];
        out[..4].copy_from_slice(&self.source.octets());
        out[4..6].copy_from_slice(&self.dst_port.to_be_bytes());
        out
    }
}

/// Indices of the per-CPU `counters` array (`enum counter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Counter {
    /// Redirected to an AF_XDP socket.
    Steered = 0,
    /// Not a registered stream: given to the kernel.
    Passed = 1,
    /// Truncated or invalid headers: given to the kernel.
    Malformed = 2,
    /// A registered stream, but no socket on the receiving queue.
    NoSocket = 3,
    /// No room in front of the packet for the metadata.
    NoMeta = 4,
}

impl Counter {
    /// Every counter, in index order.
    pub const ALL: [Counter; 5] = [
        Counter::Steered,
        Counter::Passed,
        Counter::Malformed,
        Counter::NoSocket,
        Counter::NoMeta,
    ];
}

/// The program's counters summed over all CPUs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SteerCounters {
    /// Packets redirected to an AF_XDP socket.
    pub steered: u64,
    /// Packets of unregistered traffic given to the kernel.
    pub passed: u64,
    /// Packets with truncated or invalid headers (given to the kernel).
    pub malformed: u64,
    /// Stream packets that found no socket on their queue (given to the kernel).
    pub no_socket: u64,
    /// Stream packets without headroom for the prefix (given to the kernel).
    pub no_meta: u64,
}

impl SteerCounters {
    /// Sets the counter `which` to `value`.
    pub fn set(&mut self, which: Counter, value: u64) {
        match which {
            Counter::Steered => self.steered = value,
            Counter::Passed => self.passed = value,
            Counter::Malformed => self.malformed = value,
            Counter::NoSocket => self.no_socket = value,
            Counter::NoMeta => self.no_meta = value,
        }
    }

    /// Total packets the program has seen.
    pub fn total(&self) -> u64 {
        self.steered + self.passed + self.malformed + self.no_socket + self.no_meta
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_round_trip() {
        let meta = RxMeta {
            rx_timestamp_ns: 0x1122_3344_5566_7788,
            hw_stamp: true,
        };
        assert_eq!(RxMeta::parse(&meta.emit()), Some(meta));
        let soft = RxMeta {
            rx_timestamp_ns: 5,
            hw_stamp: false,
        };
        assert_eq!(RxMeta::parse(&soft.emit()), Some(soft));
    }

    #[test]
    fn meta_rejects_wrong_length_and_missing_magic() {
        let bytes = RxMeta {
            rx_timestamp_ns: 1,
            hw_stamp: false,
        }
        .emit();
        assert_eq!(RxMeta::parse(&bytes[..15]), None);
        assert_eq!(RxMeta::parse(&[0u8; 16]), None);
        let mut bad = bytes;
        bad[15] ^= 0xff;
        assert_eq!(RxMeta::parse(&bad), None);
    }

    #[test]
    fn stream_key_is_network_order() {
        let key = StreamKey {
            source: Ipv4Addr::new(169, 254, 3, 4),
            dst_port: 0x1234,
        };
        assert_eq!(key.to_bytes(), [169, 254, 3, 4, 0x12, 0x34, 0, 0]);
    }
}
