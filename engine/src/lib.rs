//! gvcap: a capture engine for GigE Vision camera rigs.
//!
//! Layers, from the bytes up:
//! - [`wire`]: sans-IO views over GVCP and GVSP packets (parse and emit, no I/O);
//! - [`device`]: the GVCP client that talks to one camera (requests, retries,
//!   privilege and heartbeat, discovery);
//! - [`genicam`]: the camera's XML description and feature access by name;
//! - [`xdp`]: kernel-bypass receive (XDP steering, AF_XDP sockets, workers).
//! - [`capture`]: the capture pipeline built on them (stream setup, receive
//!   paths, resends, frames of many cameras, counters).
//! - [`sync`]: the PTP-synchronized start of a group of cameras (sans-IO
//!   sequence, verification, diagnosis, report, driver).
//!
//! Unsafe code is denied for the whole crate; only the modules that must touch
//! the kernel (AF_XDP rings, mmap, io_uring) may allow it, block by block.

/// GigE Vision wire formats: GVCP, GVSP and the bootstrap register map.
pub mod wire;

/// GenICam: fetching a device's XML and reading and writing its features by name.
pub mod genicam;

/// The GVCP client: one camera's control channel, discovery and privilege.
pub mod device;

/// The capture pipeline: cameras' streams set up, received and reassembled into frames.
pub mod capture;

/// Time sources (system, TAI, PHC, test) behind the `Clock` trait.
pub mod clock;
/// Recording raw frames to disk: the on-disk format, the io_uring writer, the reader and inspection.
pub mod record;
/// Stream reception: GVSP reassembly, the hugepage frame ring, the UDP socket path.
pub mod stream;
/// The PTP-synchronized group start: sequence, verification, diagnosis, report.
pub mod sync;
/// Kernel-bypass capture: XDP steering program, AF_XDP sockets, receive workers.
pub mod xdp;
