//! The API-level error of the AF_XDP path: one enum, each variant saying what
//! failed and what to do about it.
//!
//! Invariant: per-packet anomalies are never errors (they are counted); an
//! `XdpError` only comes from setting things up or tearing them down.

use std::io;

/// What went wrong while loading, attaching or opening the AF_XDP path.
#[derive(Debug, thiserror::Error)]
pub enum XdpError {
    /// The interface name could not be resolved in this network namespace.
    #[error("network interface {name:?}: {source} (is the name right, and is it in this network namespace?)")]
    Interface {
        /// The name asked for.
        name: String,
        /// What the kernel said.
        #[source]
        source: io::Error,
    },
    /// libbpf could not open or load the program (verifier, privileges, kernel).
    #[error("loading XDP program {program}: {source} (needs root, or CAP_BPF and CAP_NET_ADMIN, and Linux 6.6 or later; RUST_LOG=libbpf=debug shows libbpf's log)")]
    Load {
        /// Which of the two programs.
        program: &'static str,
        /// libbpf's error.
        #[source]
        source: libbpf_rs::Error,
    },
    /// The kernel refused the attachment.
    #[error("attaching XDP program to {ifname} in {mode} mode: {source}")]
    Attach {
        /// The interface.
        ifname: String,
        /// "native" or "generic".
        mode: &'static str,
        /// What the kernel said.
        #[source]
        source: io::Error,
    },
    /// Another XDP program holds the interface and is not ours to replace.
    #[error("{ifname} already runs XDP program {name:?} (id {id}, {how}); stop its owner or remove it with `ip link set dev {ifname} xdp off`")]
    Busy {
        /// The interface.
        ifname: String,
        /// The attached program's name.
        name: String,
        /// The attached program's id.
        id: u32,
        /// Why it cannot be replaced.
        how: &'static str,
    },
    /// A BPF map operation failed.
    #[error("BPF map {map}: {what}: {source}")]
    Map {
        /// The map's name.
        map: &'static str,
        /// What was attempted.
        what: String,
        /// libbpf's error.
        #[source]
        source: libbpf_rs::Error,
    },
    /// An AF_XDP socket operation failed.
    #[error("AF_XDP socket on interface {ifindex} queue {queue}: {what}: {source}")]
    Socket {
        /// The interface index.
        ifindex: u32,
        /// The queue.
        queue: u32,
        /// What was attempted, and what to check.
        what: String,
        /// What the kernel said.
        #[source]
        source: io::Error,
    },
    /// The UMEM could not be allocated.
    #[error("UMEM of {bytes} bytes: {what}: {source}")]
    Umem {
        /// The size asked for.
        bytes: usize,
        /// What was attempted.
        what: &'static str,
        /// What the kernel said.
        #[source]
        source: io::Error,
    },
    /// A configuration value is out of range.
    #[error("invalid AF_XDP configuration: {0}")]
    Config(String),
    /// A receive worker could not be started or stopped.
    #[error("receive worker: {0}")]
    Worker(String),
}
