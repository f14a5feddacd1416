//! The narrow interface GenICam needs from a device: its register memory.

/// An error from the transport below a [`MemoryPort`]; it names what failed.
pub type PortError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A device's register memory as GenICam sees it: byte-addressed, big-endian
/// registers read and written in blocks.
///
/// The GVCP client implements it over READMEM/WRITEMEM; tests implement it over
/// an in-memory register space. Methods take `&self` because GenICam reads
/// happen while features are being evaluated; implementations use interior
/// mutability where they keep state.
pub trait MemoryPort {
    /// Read `len` bytes starting at `address`.
    fn read_memory(&self, address: u64, len: usize) -> Result<Vec<u8>, PortError>;
    /// Write `data` starting at `address`.
    fn write_memory(&self, address: u64, data: &[u8]) -> Result<(), PortError>;
}
