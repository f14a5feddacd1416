//! The writer's own aligned buffers: record header blocks and bounce buffers.
//!
//! Invariants:
//! - every slot is its own page-aligned mapping, allocated once at start and
//!   never moved or resized, so its address can be registered with io_uring;
//! - a slot is Free, Acquired (the holder of its [`SlotToken`] may write it)
//!   or Submitted (the kernel may read it: nobody writes it); the token is not
//!   `Clone`, and submitting consumes it, so a submitted slot cannot be written;
//! - a slot goes back to Free only through [`BlockPool::release`], which the
//!   backend calls when the write from it has completed.

use std::io;

use super::buffer::AlignedBuf;

/// The right to write one acquired slot, consumed by submitting it.
#[derive(Debug)]
pub(crate) struct SlotToken {
    index: u32,
}

impl SlotToken {
    /// The slot's index (also its registered-buffer index).
    pub(crate) fn index(&self) -> u32 {
        self.index
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Free,
    Acquired,
    Submitted,
}

/// Which size of slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotClass {
    /// One block: a record header.
    Header,
    /// A header block plus the largest padded payload: frames that must be copied.
    Bounce,
}

/// Slots of two sizes; see the module invariants.
#[derive(Debug)]
pub(crate) struct BlockPool {
    slots: Vec<(AlignedBuf, State, SlotClass)>,
    free_header: Vec<u32>,
    free_bounce: Vec<u32>,
}

impl BlockPool {
    /// Allocates `headers` one-block slots and `bounce` slots of `bounce_len` bytes.
    pub(crate) fn new(headers: usize, bounce: usize, bounce_len: usize) -> io::Result<Self> {
        let mut slots = Vec::with_capacity(headers + bounce);
        for _ in 0..headers {
            slots.push((AlignedBuf::zeroed(1)?, State::Free, SlotClass::Header));
        }
        for _ in 0..bounce {
            slots.push((
                AlignedBuf::zeroed(bounce_len)?,
                State::Free,
                SlotClass::Bounce,
            ));
        }
        let free_header = (0..headers as u32).rev().collect();
        let free_bounce = (headers as u32..(headers + bounce) as u32).rev().collect();
        Ok(BlockPool {
            slots,
            free_header,
            free_bounce,
        })
    }

    /// Number of slots.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Bytes of a bounce slot (0 when there are none).
    pub(crate) fn bounce_len(&self) -> usize {
        self.slots
            .iter()
            .find(|s| s.2 == SlotClass::Bounce)
            .map_or(0, |s| s.0.len())
    }

    /// Takes a free slot of `class`, if any.
    pub(crate) fn acquire(&mut self, class: SlotClass) -> Option<SlotToken> {
        let free = match class {
            SlotClass::Header => &mut self.free_header,
            SlotClass::Bounce => &mut self.free_bounce,
        };
        let index = free.pop()?;
        self.slots[index as usize].1 = State::Acquired;
        Some(SlotToken { index })
    }

    /// The writable bytes of an acquired slot.
    pub(crate) fn slot_mut(&mut self, token: &SlotToken) -> &mut [u8] {
        &mut self.slots[token.index as usize].0
    }

    /// Marks the slot submitted and returns its bytes for the kernel to read.
    pub(crate) fn submit(&mut self, token: SlotToken) -> &[u8] {
        let slot = &mut self.slots[token.index as usize];
        slot.1 = State::Submitted;
        &slot.0
    }

    /// Returns a submitted slot whose write has completed to the free list.
    pub(crate) fn release(&mut self, index: u32) {
        if let Some(slot) = self.slots.get_mut(index as usize) {
            if slot.1 != State::Free {
                slot.1 = State::Free;
                match slot.2 {
                    SlotClass::Header => self.free_header.push(index),
                    SlotClass::Bounce => self.free_bounce.push(index),
                }
            }
        }
    }

    /// Every slot's memory, in index order (for registration).
    pub(crate) fn regions(&self) -> impl Iterator<Item = &[u8]> {
        self.slots.iter().map(|s| &*s.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_cycle_through_states() {
        let mut pool = BlockPool::new(2, 1, 10_000).unwrap();
        assert_eq!(pool.len(), 3);
        assert_eq!(pool.bounce_len(), 12_288);
        let a = pool.acquire(SlotClass::Header).unwrap();
        let b = pool.acquire(SlotClass::Header).unwrap();
        assert!(pool.acquire(SlotClass::Header).is_none());
        pool.slot_mut(&a)[0] = 1;
        let ia = a.index();
        assert_eq!(pool.submit(a)[0], 1);
        pool.release(ia);
        pool.release(ia); // a second release is ignored
        assert!(pool.acquire(SlotClass::Header).is_some());
        assert!(pool.acquire(SlotClass::Header).is_none());
        let c = pool.acquire(SlotClass::Bounce).unwrap();
        assert_eq!(pool.slot_mut(&c).len(), 12_288);
        assert_ne!(b.index(), c.index());
    }
}
