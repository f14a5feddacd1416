//! An in-memory device register space: the [`MemoryPort`] tests and the
//! camera simulator use instead of a camera.
//!
//! Invariants: memory is sparse, stored in 4 KiB pages created on first
//! write; a byte never written reads as the background (zero, or the fill
//! pattern by address); multi-byte helpers are big-endian, as GigE Vision
//! registers are; an access whose range wraps past `u64::MAX` or touches a
//! refused range fails and changes nothing.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::{Mutex, MutexGuard};

use super::port::{MemoryPort, PortError};

const PAGE_BITS: u32 = 12;
const PAGE_SIZE: usize = 1 << PAGE_BITS;

/// A sparse, byte-addressed register space implementing [`MemoryPort`].
///
/// Shared by reference: every method takes `&self`, and it is `Sync`, so a
/// simulator thread and a test can hold it together.
#[derive(Debug, Default)]
pub struct RegisterSpace {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    pages: HashMap<u64, Box<[u8; PAGE_SIZE]>>,
    /// Background bytes by address modulo its length; empty means zeros.
    fill: Vec<u8>,
    refused: Vec<Range<u64>>,
    reads: u64,
    writes: u64,
}

/// Why a [`RegisterSpace`] refused an access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRefused {
    /// First address of the access.
    pub address: u64,
    /// Its length in bytes.
    pub len: usize,
    /// What was wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for AccessRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "register space refused {} bytes at {:#010x}: {}",
            self.len, self.address, self.reason
        )
    }
}

impl std::error::Error for AccessRefused {}

impl Inner {
    fn background(&self, address: u64) -> u8 {
        if self.fill.is_empty() {
            0
        } else {
            // The remainder is below fill.len(), so it fits in usize.
            self.fill[(address % self.fill.len() as u64) as usize]
        }
    }

    fn check(&self, address: u64, len: usize) -> Result<(), AccessRefused> {
        let refuse = |reason| AccessRefused {
            address,
            len,
            reason,
        };
        let end = address
            .checked_add(len as u64)
            .ok_or_else(|| refuse("the range runs past the end of the 64-bit address space"))?;
        if self
            .refused
            .iter()
            .any(|r| r.start < end && address < r.end)
        {
            return Err(refuse("the range is marked refused"));
        }
        Ok(())
    }

    fn read(&self, address: u64, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len);
        let mut at = address;
        while out.len() < len {
            let page = at >> PAGE_BITS;
            let offset = (at as usize) & (PAGE_SIZE - 1);
            let take = (PAGE_SIZE - offset).min(len - out.len());
            match self.pages.get(&page) {
                Some(bytes) => out.extend_from_slice(&bytes[offset..offset + take]),
                None => out.extend((0..take as u64).map(|i| self.background(at + i))),
            }
            at += take as u64;
        }
        out
    }

    fn write(&mut self, address: u64, data: &[u8]) {
        let mut at = address;
        let mut rest = data;
        while !rest.is_empty() {
            let page = at >> PAGE_BITS;
            let offset = (at as usize) & (PAGE_SIZE - 1);
            let take = (PAGE_SIZE - offset).min(rest.len());
            if !self.pages.contains_key(&page) {
                let mut fresh = Box::new([0u8; PAGE_SIZE]);
                let base = page << PAGE_BITS;
                for (i, byte) in fresh.iter_mut().enumerate() {
                    *byte = self.background(base + i as u64);
                }
                self.pages.insert(page, fresh);
            }
            if let Some(bytes) = self.pages.get_mut(&page) {
                bytes[offset..offset + take].copy_from_slice(&rest[..take]);
            }
            rest = &rest[take..];
            at += take as u64;
        }
    }
}

impl RegisterSpace {
    /// An empty space: every byte reads 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty space whose unwritten byte at address `a` reads
    /// `pattern[a % pattern.len()]`; an empty pattern means zeros.
    pub fn with_fill(pattern: &[u8]) -> Self {
        let space = Self::default();
        space.lock().fill = pattern.to_vec();
        space
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves bytes, not broken
        // invariants: keep serving them.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Place `data` at `address` (not counted as a port write).
    ///
    /// # Panics
    /// If the range wraps past `u64::MAX`: a test's own mistake.
    pub fn put_bytes(&self, address: u64, data: &[u8]) {
        assert!(
            address.checked_add(data.len() as u64).is_some(),
            "put_bytes at {address:#x} with {} bytes wraps the address space",
            data.len()
        );
        self.lock().write(address, data);
    }

    /// Place a big-endian 32-bit register value at `address`.
    pub fn put_u32(&self, address: u64, value: u32) {
        self.put_bytes(address, &value.to_be_bytes());
    }

    /// Place a big-endian 64-bit register value at `address`.
    pub fn put_u64(&self, address: u64, value: u64) {
        self.put_bytes(address, &value.to_be_bytes());
    }

    /// Place `text` followed by a NUL at `address`.
    pub fn put_string(&self, address: u64, text: &str) {
        let mut bytes = Vec::with_capacity(text.len() + 1);
        bytes.extend_from_slice(text.as_bytes());
        bytes.push(0);
        self.put_bytes(address, &bytes);
    }

    /// The `len` bytes at `address` (not counted as a port read).
    pub fn bytes(&self, address: u64, len: usize) -> Vec<u8> {
        self.lock().read(address, len)
    }

    /// The big-endian 32-bit value at `address`.
    pub fn u32_at(&self, address: u64) -> u32 {
        let bytes = self.bytes(address, 4);
        u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
    }

    /// Make every port access that touches `range` fail, as a device answers
    /// an address it does not have.
    pub fn refuse(&self, range: Range<u64>) {
        self.lock().refused.push(range);
    }

    /// How many port reads have succeeded so far.
    pub fn read_count(&self) -> u64 {
        self.lock().reads
    }

    /// How many port writes have succeeded so far.
    pub fn write_count(&self) -> u64 {
        self.lock().writes
    }
}

impl MemoryPort for RegisterSpace {
    fn read_memory(&self, address: u64, len: usize) -> Result<Vec<u8>, PortError> {
        let mut inner = self.lock();
        inner.check(address, len)?;
        inner.reads += 1;
        Ok(inner.read(address, len))
    }

    fn write_memory(&self, address: u64, data: &[u8]) -> Result<(), PortError> {
        let mut inner = self.lock();
        inner.check(address, data.len())?;
        inner.writes += 1;
        inner.write(address, data);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwritten_bytes_read_zero_and_written_ones_read_back() {
        let space = RegisterSpace::new();
        assert_eq!(space.read_memory(0x1000, 8).unwrap(), vec![0; 8]);
        space.write_memory(0x1002, &[1, 2, 3]).unwrap();
        assert_eq!(
            space.read_memory(0x1000, 6).unwrap(),
            vec![0, 0, 1, 2, 3, 0]
        );
        assert_eq!((space.read_count(), space.write_count()), (2, 1));
    }

    #[test]
    fn accesses_span_page_boundaries() {
        let space = RegisterSpace::new();
        let data: Vec<u8> = (0..=255u8).cycle().take(3 * PAGE_SIZE + 17).collect();
        let start = PAGE_SIZE as u64 - 5;
        space.write_memory(start, &data).unwrap();
        assert_eq!(space.read_memory(start, data.len()).unwrap(), data);
        assert_eq!(space.bytes(start - 1, 1), vec![0]);
        assert_eq!(space.bytes(start + data.len() as u64, 1), vec![0]);
    }

    #[test]
    fn helpers_are_big_endian_and_strings_nul_terminated() {
        let space = RegisterSpace::new();
        space.put_u32(0x10, 0x0102_0304);
        assert_eq!(space.bytes(0x10, 4), vec![1, 2, 3, 4]);
        assert_eq!(space.u32_at(0x10), 0x0102_0304);
        space.put_u64(0x20, 0x1122_3344_5566_7788);
        assert_eq!(space.u32_at(0x24), 0x5566_7788);
        space.put_u32(0x40, 0xFFFF_FFFF);
        space.put_string(0x40, "ab");
        assert_eq!(space.bytes(0x40, 4), vec![b'a', b'b', 0, 0xFF]);
    }

    #[test]
    fn fill_pattern_is_by_address_and_survives_partial_writes() {
        let space = RegisterSpace::with_fill(&[0xFF, 0xFE, 0xFD, 0xFC]);
        assert_eq!(space.bytes(0x101, 4), vec![0xFE, 0xFD, 0xFC, 0xFF]);
        space.put_bytes(0x2002, &[7]);
        assert_eq!(space.bytes(0x2000, 4), vec![0xFF, 0xFE, 7, 0xFC]);
    }

    #[test]
    fn refused_ranges_and_wrapping_accesses_fail_without_effect() {
        let space = RegisterSpace::new();
        space.refuse(0x100..0x104);
        let err = space.read_memory(0xFE, 4).unwrap_err();
        assert!(err.to_string().contains("0x000000fe"), "{err}");
        assert!(space.write_memory(0x103, &[1]).is_err());
        assert_eq!(space.bytes(0x103, 1), vec![0]);
        assert!(space.read_memory(0x104, 4).is_ok());
        assert!(space.read_memory(u64::MAX - 1, 4).is_err());
        assert_eq!((space.read_count(), space.write_count()), (1, 0));
    }

    #[test]
    fn shared_between_threads() {
        let space = RegisterSpace::new();
        std::thread::scope(|scope| {
            for t in 0..4u64 {
                let space = &space;
                scope.spawn(move || space.write_memory(t * 4, &[t as u8 + 1; 4]).unwrap());
            }
        });
        assert_eq!(
            space.bytes(0, 16),
            [[1; 4], [2; 4], [3; 4], [4; 4]].concat()
        );
    }
}
