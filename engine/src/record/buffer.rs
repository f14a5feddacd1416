//! Frame payload buffers the writer accepts, and page-aligned memory for them.
//!
//! Invariants:
//! - [`FramePayload::bytes`] returns the same memory for as long as the value
//!   lives and is not mutated; the writer keeps the value until the kernel has
//!   finished writing from it, then drops it (which is how a frame slot goes
//!   back to its ring);
//! - a payload is written straight from its memory (no copy) when that memory
//!   starts on a 4096-byte boundary and holds the payload padded to a multiple
//!   of 4096 bytes; otherwise the writer copies it into its own aligned buffer;
//! - [`AlignedBuf`] is always page-aligned and its length a multiple of 4096.

use std::io;
use std::ops::{Deref, DerefMut, Range};
use std::sync::Arc;

use memmap2::{MmapMut, MmapOptions};

use super::format::{padded_len, BLOCK_SIZE};

/// A frame's payload as handed to the recorder: it owns (or pins) the bytes until dropped.
pub trait FramePayload: Send + 'static {
    /// The payload bytes first, then any spare capacity of the buffer.
    ///
    /// The writer uses the first `payload_size` bytes; when the slice starts
    /// 4096-aligned and is at least the payload rounded up to 4096 bytes long,
    /// the bytes after the payload up to that boundary are written too, as
    /// padding (readers ignore them).
    fn bytes(&self) -> &[u8];
}

impl FramePayload for Vec<u8> {
    fn bytes(&self) -> &[u8] {
        self
    }
}

impl FramePayload for Box<[u8]> {
    fn bytes(&self) -> &[u8] {
        self
    }
}

impl FramePayload for Arc<[u8]> {
    fn bytes(&self) -> &[u8] {
        self
    }
}

/// Page-aligned, zero-initialised memory (an anonymous mapping), optionally on 2 MiB hugepages.
#[derive(Debug)]
pub struct AlignedBuf {
    map: MmapMut,
    len: usize,
}

impl AlignedBuf {
    /// Allocates `len` bytes rounded up to a multiple of 4096, zeroed.
    pub fn zeroed(len: usize) -> io::Result<AlignedBuf> {
        let len = Self::round(len)?;
        let map = MmapOptions::new().len(len).map_anon()?;
        Ok(AlignedBuf { map, len })
    }

    /// Allocates `len` bytes rounded up to 2 MiB on hugepages, pre-faulted; fails
    /// when the system has no free hugepages (see /proc/sys/vm/nr_hugepages).
    pub fn hugepages(len: usize) -> io::Result<AlignedBuf> {
        const HUGE: usize = 2 << 20;
        let len = len
            .checked_next_multiple_of(HUGE)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "size overflows"))?
            .max(HUGE);
        let map = MmapOptions::new()
            .len(len)
            .huge(Some(21))
            .populate()
            .map_anon()?;
        Ok(AlignedBuf { map, len })
    }

    fn round(len: usize) -> io::Result<usize> {
        let padded = padded_len(len as u64)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "size overflows"))?;
        Ok((padded as usize).max(BLOCK_SIZE))
    }

    /// Capacity in bytes (a multiple of 4096).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a buffer holds at least one block.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map[..self.len]
    }
}

impl DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.map[..self.len]
    }
}

impl AsRef<[u8]> for AlignedBuf {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl FramePayload for AlignedBuf {
    fn bytes(&self) -> &[u8] {
        self
    }
}

/// A read-only window into shared memory (for example a registered region of
/// frames): the payload starts at `range.start`, the window ends at `range.end`.
#[derive(Debug, Clone)]
pub struct RegionSlice<M> {
    region: Arc<M>,
    range: Range<usize>,
}

impl<M: AsRef<[u8]>> RegionSlice<M> {
    /// A window of `region`; `None` when `range` is outside it.
    pub fn new(region: Arc<M>, range: Range<usize>) -> Option<Self> {
        let len = (*region).as_ref().len();
        (range.start <= range.end && range.end <= len).then_some(RegionSlice { region, range })
    }
}

impl<M: AsRef<[u8]> + Send + Sync + 'static> FramePayload for RegionSlice<M> {
    fn bytes(&self) -> &[u8] {
        (*self.region)
            .as_ref()
            .get(self.range.clone())
            .unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_buf_is_aligned_and_rounded() {
        let mut b = AlignedBuf::zeroed(5000).unwrap();
        assert_eq!(b.len(), 8192);
        assert_eq!(b.as_ptr() as usize % BLOCK_SIZE, 0);
        b[8191] = 7;
        assert_eq!(b.bytes()[8191], 7);
        assert!(b.iter().take(8191).all(|&x| x == 0));
    }

    #[test]
    fn region_slice_checks_bounds() {
        let region = Arc::new(AlignedBuf::zeroed(8192).unwrap());
        assert!(RegionSlice::new(region.clone(), 4096..8192).is_some());
        assert!(RegionSlice::new(region.clone(), 4096..8193).is_none());
        let s = RegionSlice::new(region, 4096..6000).unwrap();
        assert_eq!(s.bytes().len(), 1904);
    }
}
