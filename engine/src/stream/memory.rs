//! Slot memory: anonymous mappings, on 2 MiB hugepages when asked, pre-faulted.
//!
//! Invariants: every mapping is private, anonymous, at least the requested
//! length (rounded up to the page size used) and populated before it is
//! returned, so the receive path never takes a page fault on a fresh slot.
//! memmap2's `map_anon` is a safe function: no unsafe code here.

use std::io;

use memmap2::{MmapMut, MmapOptions};

/// Size of an x86-64 / arm64 huge page (2 MiB, `1 << 21`).
pub(crate) const HUGE_PAGE: usize = 1 << 21;
const PAGE: usize = 4096;

/// Maps `len` bytes (at least one page), on hugepages when `huge`.
pub(crate) fn map_slot(len: usize, huge: bool) -> io::Result<MmapMut> {
    let unit = if huge { HUGE_PAGE } else { PAGE };
    let rounded = len
        .max(1)
        .checked_next_multiple_of(unit)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "slot size overflows"))?;
    let mut options = MmapOptions::new();
    options.len(rounded).populate();
    if huge {
        options.huge(Some(21));
    }
    options.map_anon()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_pages_round_up_and_are_writable() {
        let mut map = map_slot(5000, false).unwrap();
        assert_eq!(map.len(), 8192);
        map[4999] = 7;
        assert_eq!(map[4999], 7);
    }

    #[test]
    fn hugepages_either_map_2mib_multiples_or_fail_cleanly() {
        // Without reserved hugepages the kernel refuses (ENOMEM); with them
        // the mapping is a whole number of huge pages.
        match map_slot(3 << 20, true) {
            Ok(map) => assert_eq!(map.len(), 4 << 20),
            Err(err) => assert!(err.raw_os_error().is_some(), "{err}"),
        }
    }
}
