//! GenICam: a device's XML description and feature access by name.

mod port;

pub use port::{MemoryPort, PortError};
