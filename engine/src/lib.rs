//! gvcap: a capture engine for GigE Vision camera rigs.
//!
//! Layers, from the bytes up:
//! - [`wire`]: sans-IO views over GVCP and GVSP packets (parse and emit, no I/O);
//! - [`device`]: the GVCP client that talks to one camera (requests, retries,
//!   privilege and heartbeat, discovery);
//! - [`genicam`]: the camera's XML description and feature access by name.
//!
//! Unsafe code is denied for the whole crate; only the modules that must touch
//! the kernel (AF_XDP rings, mmap, io_uring) may allow it, block by block.

/// GigE Vision wire formats: GVCP, GVSP and the bootstrap register map.
pub mod wire;

/// GenICam: fetching a device's XML and reading and writing its features by name.
pub mod genicam;

/// The GVCP client: one camera's control channel, discovery and privilege.
pub mod device;

/// Recording raw frames to disk: the on-disk format, the io_uring writer, the reader and inspection.
pub mod record;
