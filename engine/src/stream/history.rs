//! The ids of recently finished or dropped blocks, so that stragglers and
//! late resends of a block never start a new frame for it.
//!
//! Invariants: fixed capacity allocated once; `push` overwrites the oldest
//! entry; `contains` looks only at the entries pushed so far.

/// A small ring of block ids, newest overwriting oldest.
#[derive(Debug, Clone)]
pub(crate) struct BlockHistory {
    ids: Box<[u64]>,
    next: usize,
    len: usize,
}

impl BlockHistory {
    /// An empty history remembering up to `capacity` (at least 1) blocks.
    pub(crate) fn new(capacity: usize) -> Self {
        BlockHistory {
            ids: vec![0; capacity.max(1)].into_boxed_slice(),
            next: 0,
            len: 0,
        }
    }

    /// Remembers `block_id`, forgetting the oldest entry when full.
    pub(crate) fn push(&mut self, block_id: u64) {
        self.ids[self.next] = block_id;
        self.next = (self.next + 1) % self.ids.len();
        self.len = (self.len + 1).min(self.ids.len());
    }

    /// True when `block_id` is among the remembered entries.
    pub(crate) fn contains(&self, block_id: u64) -> bool {
        self.ids[..self.len].contains(&block_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_only_the_newest_entries() {
        let mut history = BlockHistory::new(3);
        assert!(!history.contains(0));
        for id in 1..=4 {
            history.push(id);
        }
        assert!(!history.contains(1));
        assert!(history.contains(2) && history.contains(3) && history.contains(4));
    }
}
