//! UMEM: the packet memory an AF_XDP socket shares with the kernel, an
//! anonymous mapping cut into equal power-of-two frames, on 2 MiB hugepages
//! when the machine has them reserved.
//!
//! Invariants:
//! - the mapping is never exposed as a Rust slice as a whole (the kernel
//!   writes into frames it owns at any time); only a frame region user space
//!   currently owns is ever borrowed, through the unsafe accessors whose
//!   contract says so;
//! - frame `i` starts at byte `i * frame_size`; `frame_size` is a power of two
//!   between 2048 and 4096 (the kernel's limits for aligned mode on 4 KiB
//!   pages);
//! - the mapping lives as long as the `Umem`; a socket that registered it
//!   owns the `Umem`, so the memory outlives the registration.

#![allow(unsafe_code)]

use memmap2::{MmapOptions, MmapRaw};

use super::error::XdpError;

/// 2 MiB, the hugepage size used.
pub const HUGE_PAGE: usize = 2 << 20;

/// Whether to put the UMEM on hugepages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HugePages {
    /// Hugepages when reserved, else ordinary pages with a warning.
    #[default]
    Prefer,
    /// Hugepages or fail.
    Require,
    /// Ordinary pages.
    Never,
}

/// The packet memory of one AF_XDP socket.
#[derive(Debug)]
pub struct Umem {
    map: MmapRaw,
    frame_size: u32,
    frame_count: u32,
    huge: bool,
}

impl Umem {
    /// Maps `frame_count` frames of `frame_size` bytes (populated, so no page
    /// fault happens on the receive path).
    pub fn new(frame_size: u32, frame_count: u32, pages: HugePages) -> Result<Umem, XdpError> {
        if !(2048..=4096).contains(&frame_size) || !frame_size.is_power_of_two() {
            return Err(XdpError::Config(format!(
                "frame size {frame_size} must be 2048 or 4096"
            )));
        }
        if frame_count == 0 || !frame_count.is_power_of_two() {
            return Err(XdpError::Config(format!(
                "frame count {frame_count} must be a non-zero power of two"
            )));
        }
        let bytes = frame_size as usize * frame_count as usize;
        let map_huge = || {
            let rounded = bytes.div_ceil(HUGE_PAGE) * HUGE_PAGE;
            MmapOptions::new()
                .len(rounded)
                .huge(Some(21))
                .populate()
                .map_anon()
        };
        let map_normal = || MmapOptions::new().len(bytes).populate().map_anon();
        let (map, huge) = match pages {
            HugePages::Never => (map_normal(), false),
            HugePages::Require => (map_huge(), true),
            HugePages::Prefer => match map_huge() {
                Ok(m) => (Ok(m), true),
                Err(e) => {
                    tracing::warn!(
                        "UMEM of {bytes} bytes: no 2 MiB hugepages ({e}); using ordinary pages \
                         (reserve some: echo 256 > /proc/sys/vm/nr_hugepages)"
                    );
                    (map_normal(), false)
                }
            },
        };
        let map = map.map_err(|source| XdpError::Umem {
            bytes,
            what: if huge {
                "map on 2 MiB hugepages (are enough reserved in /proc/sys/vm/nr_hugepages?)"
            } else {
                "map anonymous memory"
            },
            source,
        })?;
        Ok(Umem {
            map: MmapRaw::from(map),
            frame_size,
            frame_count,
            huge,
        })
    }

    /// Bytes per frame.
    pub fn frame_size(&self) -> u32 {
        self.frame_size
    }

    /// Number of frames.
    pub fn frame_count(&self) -> u32 {
        self.frame_count
    }

    /// Bytes in frames (the registered length).
    pub fn len(&self) -> usize {
        self.frame_size as usize * self.frame_count as usize
    }

    /// Never true: a UMEM has at least one frame.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the memory is on 2 MiB hugepages.
    pub fn is_hugepages(&self) -> bool {
        self.huge
    }

    /// Start address of the memory, for `XDP_UMEM_REG`.
    pub(crate) fn start(&self) -> u64 {
        self.map.as_mut_ptr() as u64
    }

    /// UMEM offset of frame `index`.
    pub fn frame_addr(&self, index: u32) -> u64 {
        u64::from(index) * u64::from(self.frame_size)
    }

    /// UMEM offset of the frame holding `addr`.
    pub fn frame_of(&self, addr: u64) -> u64 {
        addr & !(u64::from(self.frame_size) - 1)
    }

    /// Whether `[addr, addr + len)` lies inside one frame.
    pub fn in_one_frame(&self, addr: u64, len: usize) -> bool {
        let end = addr.checked_add(len as u64);
        match end {
            Some(end) => {
                end <= self.len() as u64
                    && (len == 0 || self.frame_of(addr) == self.frame_of(end - 1))
            }
            None => false,
        }
    }

    /// Borrows `len` bytes at UMEM offset `addr`; `None` unless they lie
    /// inside one frame.
    ///
    /// # Safety
    /// The frame must be owned by user space for the whole borrow: taken
    /// from the rx ring (or never given to the kernel) and not put in the fill
    /// ring until the borrow ends, so that nothing writes it meanwhile.
    pub(crate) unsafe fn bytes(&self, addr: u64, len: usize) -> Option<&[u8]> {
        if !self.in_one_frame(addr, len) {
            return None;
        }
        // Safety: the range lies inside the mapping (checked above), which
        // lives as long as `self`; by the caller's contract nobody writes it
        // during the borrow.
        Some(unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(addr as usize), len) })
    }

    /// Copies `data` to UMEM offset `addr` (what the kernel does on receive),
    /// for tests of the receive path; false unless it fits in one frame.
    ///
    /// # Safety
    /// As [`Umem::bytes`]: the frame must be owned by user space and not
    /// borrowed elsewhere.
    #[cfg(test)]
    pub(crate) unsafe fn write(&self, addr: u64, data: &[u8]) -> bool {
        if !self.in_one_frame(addr, data.len()) {
            return false;
        }
        // Safety: the range lies inside the mapping (checked above) and, by
        // the caller's contract, nothing else reads or writes it now.
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                self.map.as_mut_ptr().add(addr as usize),
                data.len(),
            )
        };
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_geometry() {
        assert!(Umem::new(1000, 16, HugePages::Never).is_err());
        assert!(Umem::new(8192, 16, HugePages::Never).is_err());
        assert!(Umem::new(4096, 0, HugePages::Never).is_err());
        assert!(Umem::new(4096, 12, HugePages::Never).is_err());
    }

    #[test]
    fn frames_and_bounds() {
        let umem = Umem::new(2048, 8, HugePages::Never).unwrap();
        assert_eq!(umem.len(), 16384);
        assert_eq!(umem.frame_addr(3), 6144);
        assert_eq!(umem.frame_of(6144 + 300), 6144);
        assert!(umem.in_one_frame(6144 + 256, 1792));
        assert!(!umem.in_one_frame(6144 + 256, 1793));
        assert!(!umem.in_one_frame(16383, 2));
        assert!(!umem.in_one_frame(u64::MAX, 2));
        // Safety: no socket, so user space owns every frame; no other borrow.
        unsafe {
            assert!(umem.write(6144 + 256, b"abc"));
            assert_eq!(umem.bytes(6144 + 256, 3), Some(&b"abc"[..]));
            assert_eq!(umem.bytes(6144 + 2047, 2), None);
        }
    }

    #[test]
    fn prefer_falls_back_or_uses_hugepages() {
        // Either way a usable mapping comes back.
        let umem = Umem::new(4096, 16, HugePages::Prefer).unwrap();
        assert_eq!(umem.len(), 65536);
        // Safety: as above.
        unsafe {
            assert!(umem.write(4096 * 15, &[7; 4096]));
            assert_eq!(umem.bytes(4096 * 15 + 4095, 1), Some(&[7u8][..]));
        }
    }
}
