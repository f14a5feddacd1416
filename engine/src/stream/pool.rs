//! Where frame slots come from: the `SlotPool` trait the reassembler draws
//! on, and `HeapPool`, a plain preallocated pool for tests, benchmarks and
//! fuzzing (the capture path uses the hugepage `FrameRing`).
//!
//! Invariants: a pool hands out each slot to one owner at a time; `acquire`
//! returning `None` means "no free slot now", never an error; `HeapPool`
//! allocates all its slots in `new` and never again.

/// A source of frame slots for one reassembler.
pub trait SlotPool {
    /// A slot: writable memory at least `payload_size` long.
    type Slot: AsRef<[u8]> + AsMut<[u8]>;

    /// Takes a free slot, or `None` when none is free.
    fn acquire(&mut self) -> Option<Self::Slot>;

    /// Gives back a slot whose frame will not be delivered.
    fn release(&mut self, slot: Self::Slot);
}

/// A pool of heap slots, all allocated up front.
#[derive(Debug)]
pub struct HeapPool {
    free: Vec<Box<[u8]>>,
    capacity: usize,
}

impl HeapPool {
    /// `count` zeroed slots of `slot_len` bytes.
    pub fn new(count: usize, slot_len: usize) -> Self {
        let free = (0..count)
            .map(|_| vec![0u8; slot_len].into_boxed_slice())
            .collect();
        HeapPool {
            free,
            capacity: count,
        }
    }

    /// Slots currently free.
    pub fn free_slots(&self) -> usize {
        self.free.len()
    }

    /// Slots the pool was created with.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl SlotPool for HeapPool {
    type Slot = Box<[u8]>;

    fn acquire(&mut self) -> Option<Box<[u8]>> {
        self.free.pop()
    }

    fn release(&mut self, slot: Box<[u8]>) {
        // The vector was allocated with room for every slot; a foreign extra slot is dropped.
        if self.free.len() < self.capacity {
            self.free.push(slot);
        }
    }
}
