//! A fixed-size packet bitmap: one bit per packet id of a block.
//!
//! Invariants: the words are allocated once by `new` and never resized, so
//! using a bitmap never allocates; ids at or beyond the size given to `new` are refused
//! (`insert` returns `None`, `contains` returns false) instead of panicking;
//! `missing_ranges(limit)` yields disjoint, ascending, inclusive ranges of
//! unset ids, all `<= limit` and below the size given to `new`.

/// One bit per packet id, preallocated for the largest block of a stream.
#[derive(Debug, Clone)]
pub(crate) struct PacketBitmap {
    words: Box<[u64]>,
    bits: u32,
}

impl PacketBitmap {
    /// A cleared bitmap for ids `0..bits`.
    pub(crate) fn new(bits: u32) -> Self {
        let words = (bits as usize).div_ceil(64).max(1);
        PacketBitmap {
            words: vec![0; words].into_boxed_slice(),
            bits,
        }
    }

    /// True when `id` is in range and set.
    pub(crate) fn contains(&self, id: u32) -> bool {
        id < self.bits && self.words[(id / 64) as usize] & (1u64 << (id % 64)) != 0
    }

    /// Sets `id`: `Some(true)` if it was unset, `Some(false)` if already set,
    /// `None` if out of range.
    pub(crate) fn insert(&mut self, id: u32) -> Option<bool> {
        if id >= self.bits {
            return None;
        }
        let word = &mut self.words[(id / 64) as usize];
        let mask = 1u64 << (id % 64);
        let fresh = *word & mask == 0;
        *word |= mask;
        Some(fresh)
    }

    /// Clears every bit.
    pub(crate) fn clear(&mut self) {
        self.words.fill(0);
    }

    /// The first id `>= from` whose bit equals `set`, or `None` before `end`.
    fn next_with(&self, from: u32, end: u32, set: bool) -> Option<u32> {
        let mut id = from;
        while id < end {
            let word_index = (id / 64) as usize;
            let word = if set {
                self.words[word_index]
            } else {
                !self.words[word_index]
            };
            let masked = word & (u64::MAX << (id % 64));
            if masked != 0 {
                let found = (word_index as u32) * 64 + masked.trailing_zeros();
                return (found < end).then_some(found);
            }
            id = (word_index as u32 + 1) * 64;
        }
        None
    }

    /// Ranges of unset ids in `0..=limit` (clipped to the capacity).
    pub(crate) fn missing_ranges(&self, limit: u32) -> MissingRanges<'_> {
        MissingRanges {
            bitmap: self,
            next: 0,
            end: limit.saturating_add(1).min(self.bits),
        }
    }
}

/// Iterator over inclusive ranges of unset ids, see [`PacketBitmap::missing_ranges`].
#[derive(Debug)]
pub(crate) struct MissingRanges<'a> {
    bitmap: &'a PacketBitmap,
    next: u32,
    end: u32,
}

impl Iterator for MissingRanges<'_> {
    type Item = (u32, u32);

    fn next(&mut self) -> Option<(u32, u32)> {
        let first = self.bitmap.next_with(self.next, self.end, false)?;
        let stop = self
            .bitmap
            .next_with(first, self.end, true)
            .unwrap_or(self.end);
        self.next = stop;
        Some((first, stop - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_reports_fresh_duplicate_and_out_of_range() {
        let mut bitmap = PacketBitmap::new(130);
        assert_eq!(bitmap.insert(0), Some(true));
        assert_eq!(bitmap.insert(0), Some(false));
        assert_eq!(bitmap.insert(129), Some(true));
        assert_eq!(bitmap.insert(130), None);
        assert!(bitmap.contains(129));
        assert!(!bitmap.contains(128));
        assert!(!bitmap.contains(u32::MAX));
        bitmap.clear();
        assert!(!bitmap.contains(0));
    }

    #[test]
    fn missing_ranges_cross_word_boundaries() {
        let mut bitmap = PacketBitmap::new(200);
        for id in (0..200).filter(|id| !(60..70).contains(id) && *id != 128 && *id < 190) {
            bitmap.insert(id);
        }
        let ranges: Vec<_> = bitmap.missing_ranges(199).collect();
        assert_eq!(ranges, vec![(60, 69), (128, 128), (190, 199)]);
        let clipped: Vec<_> = bitmap.missing_ranges(65).collect();
        assert_eq!(clipped, vec![(60, 65)]);
        let beyond: Vec<_> = bitmap.missing_ranges(u32::MAX).collect();
        assert_eq!(beyond.last(), Some(&(190, 199)));
    }

    #[test]
    fn full_and_empty_bitmaps() {
        let mut bitmap = PacketBitmap::new(64);
        assert_eq!(bitmap.missing_ranges(63).collect::<Vec<_>>(), vec![(0, 63)]);
        for id in 0..64 {
            bitmap.insert(id);
        }
        assert_eq!(bitmap.missing_ranges(63).count(), 0);
    }
}
