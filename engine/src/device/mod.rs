//! The GVCP client for one camera: request ids, retries and timeouts,
//! PENDING_ACK, control privilege kept by a heartbeat, and discovery.
//!
//! Everything here is blocking and meant for the control thread; the stream
//! path never waits on it.

mod camera;
mod channel;
mod discovery;
mod error;
mod stream_setup;

pub use camera::{Camera, Privilege};
pub use channel::ClientConfig;
pub use discovery::{discover, force_ip, format_mac, interfaces, Discovered, Interface};
pub use error::{DeviceError, Operation};
pub use stream_setup::{StreamDestination, IP_UDP_OVERHEAD};
