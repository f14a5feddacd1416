//! The adapter that lets viva-genapi read and write device memory through
//! any [`MemoryPort`].
//!
//! Invariants: no access sent to the port is longer than the chunk size
//! (512 bytes by default, one GVCP READMEM or WRITEMEM); a port error reaches
//! viva-genapi as a [`PortFailure`] carrying the failed address, which
//! [`GenicamError::from_genapi`](super::GenicamError) recovers; a port that
//! answers with the wrong number of bytes is an error, never a short value.

use std::fmt;

use viva_genapi::{GenApiError, RegisterIo};

use super::error::PortFailure;
use super::fetch::READMEM_MAX;
use super::port::MemoryPort;

/// viva-genapi's [`RegisterIo`] over a [`MemoryPort`], splitting long
/// accesses into chunks the port can carry.
pub struct PortIo<'a> {
    port: &'a dyn MemoryPort,
    chunk: usize,
}

impl fmt::Debug for PortIo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortIo")
            .field("chunk", &self.chunk)
            .finish_non_exhaustive()
    }
}

impl<'a> PortIo<'a> {
    /// An adapter sending accesses of at most [`READMEM_MAX`] bytes.
    pub fn new(port: &'a dyn MemoryPort) -> Self {
        Self::with_chunk(port, READMEM_MAX)
    }

    /// An adapter sending accesses of at most `chunk` bytes (at least 1).
    pub fn with_chunk(port: &'a dyn MemoryPort, chunk: usize) -> Self {
        Self {
            port,
            chunk: chunk.max(1),
        }
    }
}

fn failure(
    operation: &'static str,
    address: u64,
    len: usize,
    source: super::PortError,
) -> GenApiError {
    GenApiError::io(PortFailure {
        operation,
        address,
        len,
        source,
    })
}

impl RegisterIo for PortIo<'_> {
    fn read(&self, addr: u64, len: usize) -> Result<Vec<u8>, GenApiError> {
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let at = addr.wrapping_add(out.len() as u64);
            let n = (len - out.len()).min(self.chunk);
            let bytes = self
                .port
                .read_memory(at, n)
                .map_err(|source| failure("reading", at, n, source))?;
            if bytes.len() != n {
                let problem = format!("the port returned {} bytes", bytes.len());
                return Err(failure("reading", at, n, problem.into()));
            }
            out.extend_from_slice(&bytes);
        }
        Ok(out)
    }

    fn write(&self, addr: u64, data: &[u8]) -> Result<(), GenApiError> {
        for (i, piece) in data.chunks(self.chunk).enumerate() {
            let at = addr.wrapping_add((i * self.chunk) as u64);
            self.port
                .write_memory(at, piece)
                .map_err(|source| failure("writing", at, piece.len(), source))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genicam::RegisterSpace;

    #[test]
    fn long_accesses_are_split_into_chunks() {
        let space = RegisterSpace::new();
        let io = PortIo::with_chunk(&space, 8);
        let data: Vec<u8> = (1..=20).collect();
        io.write(0x100, &data).unwrap();
        assert_eq!(space.write_count(), 3);
        assert_eq!(io.read(0x100, 20).unwrap(), data);
        assert_eq!(space.read_count(), 3);
    }

    #[test]
    fn port_errors_keep_the_address() {
        let space = RegisterSpace::new();
        space.refuse(0x208..0x20C);
        let io = PortIo::with_chunk(&space, 8);
        let err = io.read(0x200, 16).unwrap_err();
        let GenApiError::Io(source) = err else {
            panic!("expected an I/O error, got {err:?}");
        };
        let failure = source.downcast::<PortFailure>().expect("a PortFailure");
        assert_eq!((failure.address, failure.len), (0x208, 8));
        assert_eq!(failure.operation, "reading");
    }
}
