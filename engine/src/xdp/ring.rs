//! Single-producer single-consumer descriptor rings shared with the kernel
//! (AF_XDP fill, completion and rx rings), split into the index arithmetic
//! ([`Cursor`], plain code) and the shared memory ([`ProducerRing`],
//! [`ConsumerRing`]) which is either the kernel's mmap or, for tests, ordinary
//! heap memory ([`heap_pair`]).
//!
//! Memory layout (`struct xdp_ring_offset`, `<linux/if_xdp.h>`): a `u32`
//! producer index, a `u32` consumer index, a `u32` flags word and an array of
//! `size` descriptors, at the offsets the kernel reports. Indices are free
//! running `u32`s; slot = index & (size - 1).
//!
//! Invariants:
//! - `size` is a power of two; `producer - consumer` (wrapping) never
//!   exceeds `size`;
//! - a producer writes a slot only while it is free (the consumer's index
//!   has passed it), then publishes with a release store of the producer
//!   index; a consumer reads a slot only after an acquire load of the
//!   producer index covers it, and gives it back with a release store of the
//!   consumer index. So each slot has one writer at a time;
//! - the shared indices are read only when the cached ones are exhausted
//!   (once per batch), and written only by [`ProducerRing::publish`] and
//!   [`ConsumerRing::release`].

#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use memmap2::MmapRaw;

/// `XDP_RING_NEED_WAKEUP` (`<linux/if_xdp.h>`): the kernel wants a syscall.
pub const XDP_RING_NEED_WAKEUP: u32 = 1;

/// The index arithmetic of one side of a ring, with no memory behind it.
///
/// A producer advances `producer` and learns `consumer` from the other side;
/// a consumer does the reverse. All arithmetic wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    size: u32,
    producer: u32,
    consumer: u32,
}

impl Cursor {
    /// A cursor for a ring of `size` entries (a power of two) whose indices
    /// both stand at `start`; `None` when `size` is not a power of two.
    pub fn new(size: u32, start: u32) -> Option<Cursor> {
        size.is_power_of_two().then_some(Cursor {
            size,
            producer: start,
            consumer: start,
        })
    }

    /// Number of entries.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// The producer index as this side knows it.
    pub fn producer(&self) -> u32 {
        self.producer
    }

    /// The consumer index as this side knows it.
    pub fn consumer(&self) -> u32 {
        self.consumer
    }

    /// Entries produced and not yet consumed, as this side knows it.
    pub fn filled(&self) -> u32 {
        self.producer.wrapping_sub(self.consumer)
    }

    /// Entries a producer may still write, as this side knows it.
    pub fn free(&self) -> u32 {
        self.size - self.filled()
    }

    /// The slot of index `index`.
    pub fn slot(&self, index: u32) -> usize {
        (index & (self.size - 1)) as usize
    }

    /// Producer side: takes the consumer index the other side published.
    /// Ignores a value that would make more than `size` entries filled or
    /// move backwards (a confused or hostile peer cannot make us overwrite).
    pub fn observe_consumer(&mut self, consumer: u32) {
        let advanced = consumer.wrapping_sub(self.consumer);
        if advanced <= self.filled() {
            self.consumer = consumer;
        }
    }

    /// Consumer side: takes the producer index the other side published,
    /// under the same sanity rule as [`Cursor::observe_consumer`].
    pub fn observe_producer(&mut self, producer: u32) {
        let filled = producer.wrapping_sub(self.consumer);
        if filled <= self.size {
            self.producer = producer;
        }
    }

    /// Producer side: claims the next free index; `None` when full.
    pub fn produce_one(&mut self) -> Option<u32> {
        if self.free() == 0 {
            return None;
        }
        let index = self.producer;
        self.producer = self.producer.wrapping_add(1);
        Some(index)
    }

    /// Consumer side: claims the next filled index; `None` when empty.
    pub fn consume_one(&mut self) -> Option<u32> {
        if self.filled() == 0 {
            return None;
        }
        let index = self.consumer;
        self.consumer = self.consumer.wrapping_add(1);
        Some(index)
    }
}

/// Pointers into one ring's shared memory.
#[derive(Debug)]
struct RingMemory<T> {
    producer: NonNull<AtomicU32>,
    consumer: NonNull<AtomicU32>,
    flags: NonNull<AtomicU32>,
    descs: NonNull<T>,
}

impl<T> RingMemory<T> {
    fn producer(&self) -> &AtomicU32 {
        // Safety: the pointer comes from a mapping or heap block that the
        // ring's `_backing` keeps alive, is 4-byte aligned (checked at
        // construction), and is only accessed atomically.
        unsafe { self.producer.as_ref() }
    }

    fn consumer(&self) -> &AtomicU32 {
        // Safety: as for `producer`.
        unsafe { self.consumer.as_ref() }
    }

    fn flags(&self) -> &AtomicU32 {
        // Safety: as for `producer`.
        unsafe { self.flags.as_ref() }
    }
}

/// What keeps a ring's memory alive.
#[derive(Debug)]
enum Backing<T> {
    /// The kernel's ring, mapped from the socket.
    Mmap(#[allow(dead_code)] MmapRaw),
    /// Heap memory shared by a test producer and consumer.
    Heap(#[allow(dead_code)] Arc<HeapRing<T>>),
}

/// The producing side of a ring (fill ring: user space gives buffers to the
/// kernel).
#[derive(Debug)]
pub struct ProducerRing<T> {
    cursor: Cursor,
    memory: RingMemory<T>,
    _backing: Backing<T>,
}

/// The consuming side of a ring (rx and completion rings: the kernel hands
/// descriptors to user space).
#[derive(Debug)]
pub struct ConsumerRing<T> {
    cursor: Cursor,
    memory: RingMemory<T>,
    _backing: Backing<T>,
    _not_sync: PhantomData<UnsafeCell<()>>,
}

// Safety: a ring side is owned by one thread at a time (methods take &mut
// self); its shared memory is accessed only through atomics and the slot
// protocol described in the module docs, whichever thread that is. `T` is a
// plain descriptor (Copy).
unsafe impl<T: Copy + Send> Send for ProducerRing<T> {}
// Safety: as for ProducerRing.
unsafe impl<T: Copy + Send> Send for ConsumerRing<T> {}

/// Checks that a ring of `size` entries of `T` at these offsets fits in
/// `len` bytes and that every field is aligned.
fn check_layout<T>(
    len: usize,
    producer: u64,
    consumer: u64,
    flags: u64,
    desc: u64,
    size: u32,
) -> Result<(), &'static str> {
    if !size.is_power_of_two() {
        return Err("ring size is not a power of two");
    }
    let desc_end = (size as u64)
        .checked_mul(std::mem::size_of::<T>() as u64)
        .and_then(|b| b.checked_add(desc))
        .ok_or("ring too large")?;
    for (offset, bytes) in [(producer, 4), (consumer, 4), (flags, 4)] {
        if offset % 4 != 0 || offset + bytes > len as u64 {
            return Err("index offset out of the mapping or misaligned");
        }
    }
    if desc % std::mem::align_of::<T>() as u64 != 0 || desc_end > len as u64 {
        return Err("descriptor array out of the mapping or misaligned");
    }
    Ok(())
}

fn memory_from_mmap<T>(
    map: &MmapRaw,
    producer: u64,
    consumer: u64,
    flags: u64,
    desc: u64,
    size: u32,
) -> Result<RingMemory<T>, &'static str> {
    check_layout::<T>(map.len(), producer, consumer, flags, desc, size)?;
    let base = map.as_mut_ptr();
    let at = |offset: u64| -> Result<NonNull<u8>, &'static str> {
        // Offsets were checked to lie within the mapping above.
        NonNull::new(base.wrapping_add(offset as usize)).ok_or("null mapping")
    };
    Ok(RingMemory {
        producer: at(producer)?.cast(),
        consumer: at(consumer)?.cast(),
        flags: at(flags)?.cast(),
        descs: at(desc)?.cast(),
    })
}

/// Where a ring lies in its mapping (`struct xdp_ring_offset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingOffsets {
    /// Offset of the producer index.
    pub producer: u64,
    /// Offset of the consumer index.
    pub consumer: u64,
    /// Offset of the flags word.
    pub flags: u64,
    /// Offset of the descriptor array.
    pub desc: u64,
}

impl<T: Copy> ProducerRing<T> {
    /// Wraps the kernel's ring mapped in `map`.
    ///
    /// # Safety
    /// `map` must be the mapping of an AF_XDP ring whose layout the kernel
    /// reported as `offsets`, with `size` descriptors of type `T` (the
    /// kernel's descriptor type for this ring), on which this process is the
    /// only producer. Bounds and alignment are checked here; the layout's
    /// meaning cannot be.
    pub(crate) unsafe fn from_mmap(
        map: MmapRaw,
        offsets: RingOffsets,
        size: u32,
    ) -> Result<ProducerRing<T>, &'static str> {
        let memory = memory_from_mmap(
            &map,
            offsets.producer,
            offsets.consumer,
            offsets.flags,
            offsets.desc,
            size,
        )?;
        // The kernel's indices start at 0 when the ring is created; take them
        // from memory anyway.
        let start = memory.producer().load(Ordering::Acquire);
        let mut cursor = Cursor::new(size, start).ok_or("ring size is not a power of two")?;
        cursor.observe_consumer(memory.consumer().load(Ordering::Acquire));
        Ok(ProducerRing {
            cursor,
            memory,
            _backing: Backing::Mmap(map),
        })
    }

    /// Number of entries.
    pub fn size(&self) -> u32 {
        self.cursor.size()
    }

    /// Entries that can be pushed now (looks at the consumer index).
    pub fn free(&mut self) -> u32 {
        self.cursor
            .observe_consumer(self.memory.consumer().load(Ordering::Acquire));
        self.cursor.free()
    }

    /// Writes `value` into the next free slot, unpublished until
    /// [`ProducerRing::publish`]; gives it back when the ring is full.
    pub fn push(&mut self, value: T) -> Result<(), T> {
        if self.cursor.free() == 0 {
            self.cursor
                .observe_consumer(self.memory.consumer().load(Ordering::Acquire));
        }
        let Some(index) = self.cursor.produce_one() else {
            return Err(value);
        };
        let slot = self.cursor.slot(index);
        // Safety: `slot < size` and the descriptor array holds `size`
        // entries (checked at construction); the slot is free (the consumer
        // index, loaded with Acquire, has passed it), so the consumer does
        // not read it until we publish.
        unsafe { self.memory.descs.as_ptr().add(slot).write_volatile(value) };
        Ok(())
    }

    /// Makes every pushed entry visible to the consumer.
    pub fn publish(&mut self) {
        self.memory
            .producer()
            .store(self.cursor.producer(), Ordering::Release);
    }

    /// Whether the kernel asked for a wakeup (`XDP_RING_NEED_WAKEUP`).
    pub fn needs_wakeup(&self) -> bool {
        self.memory.flags().load(Ordering::Relaxed) & XDP_RING_NEED_WAKEUP != 0
    }

    /// This side's cursor.
    pub fn cursor(&self) -> Cursor {
        self.cursor
    }
}

impl<T: Copy> ConsumerRing<T> {
    /// Wraps the kernel's ring mapped in `map`.
    ///
    /// # Safety
    /// As [`ProducerRing::from_mmap`], with this process the only consumer.
    pub(crate) unsafe fn from_mmap(
        map: MmapRaw,
        offsets: RingOffsets,
        size: u32,
    ) -> Result<ConsumerRing<T>, &'static str> {
        let memory = memory_from_mmap(
            &map,
            offsets.producer,
            offsets.consumer,
            offsets.flags,
            offsets.desc,
            size,
        )?;
        let start = memory.consumer().load(Ordering::Acquire);
        let mut cursor = Cursor::new(size, start).ok_or("ring size is not a power of two")?;
        cursor.observe_producer(memory.producer().load(Ordering::Acquire));
        Ok(ConsumerRing {
            cursor,
            memory,
            _backing: Backing::Mmap(map),
            _not_sync: PhantomData,
        })
    }

    /// Number of entries.
    pub fn size(&self) -> u32 {
        self.cursor.size()
    }

    /// Entries ready to be popped (looks at the producer index).
    pub fn available(&mut self) -> u32 {
        self.cursor
            .observe_producer(self.memory.producer().load(Ordering::Acquire));
        self.cursor.filled()
    }

    /// Takes the next entry; the slot is given back at the next
    /// [`ConsumerRing::release`].
    pub fn pop(&mut self) -> Option<T> {
        if self.cursor.filled() == 0 {
            self.cursor
                .observe_producer(self.memory.producer().load(Ordering::Acquire));
        }
        let index = self.cursor.consume_one()?;
        let slot = self.cursor.slot(index);
        // Safety: `slot < size` within the descriptor array (checked at
        // construction); the producer published this index (Acquire load
        // above or earlier) and will not rewrite it until we release it.
        Some(unsafe { self.memory.descs.as_ptr().add(slot).read_volatile() })
    }

    /// Gives every popped slot back to the producer.
    pub fn release(&mut self) {
        self.memory
            .consumer()
            .store(self.cursor.consumer(), Ordering::Release);
    }

    /// Whether the kernel set `XDP_RING_NEED_WAKEUP` on this ring.
    pub fn needs_wakeup(&self) -> bool {
        self.memory.flags().load(Ordering::Relaxed) & XDP_RING_NEED_WAKEUP != 0
    }

    /// This side's cursor.
    pub fn cursor(&self) -> Cursor {
        self.cursor
    }
}

/// Ordinary memory laid out like a kernel ring, for tests and simulations.
#[derive(Debug)]
pub struct HeapRing<T> {
    producer: AtomicU32,
    consumer: AtomicU32,
    flags: AtomicU32,
    descs: Box<[UnsafeCell<T>]>,
}

impl<T> HeapRing<T> {
    /// Sets or clears `XDP_RING_NEED_WAKEUP`, as the kernel would.
    pub fn set_need_wakeup(&self, on: bool) {
        self.flags
            .store(if on { XDP_RING_NEED_WAKEUP } else { 0 }, Ordering::Relaxed);
    }
}

/// A producer and a consumer over one heap ring of `size` entries (a power
/// of two) whose indices start at `start` (to exercise wrap-around); `None`
/// for a bad size. The [`HeapRing`] is returned too, to flip its flags.
#[allow(clippy::type_complexity)]
pub fn heap_pair<T: Copy + Default>(
    size: u32,
    start: u32,
) -> Option<(ProducerRing<T>, ConsumerRing<T>, Arc<HeapRing<T>>)> {
    let cursor = Cursor::new(size, start)?;
    let ring = Arc::new(HeapRing {
        producer: AtomicU32::new(start),
        consumer: AtomicU32::new(start),
        flags: AtomicU32::new(0),
        descs: (0..size).map(|_| UnsafeCell::new(T::default())).collect(),
    });
    let memory = || RingMemory {
        producer: NonNull::from(&ring.producer),
        consumer: NonNull::from(&ring.consumer),
        flags: NonNull::from(&ring.flags),
        // UnsafeCell<T> has T's layout; the descriptors are only accessed
        // through these raw pointers, under the slot protocol.
        descs: NonNull::new(UnsafeCell::raw_get(ring.descs.as_ptr()))
            .unwrap_or(NonNull::dangling()),
    };
    let producer = ProducerRing {
        cursor,
        memory: memory(),
        _backing: Backing::Heap(Arc::clone(&ring)),
    };
    let consumer = ConsumerRing {
        cursor,
        memory: memory(),
        _backing: Backing::Heap(Arc::clone(&ring)),
        _not_sync: PhantomData,
    };
    Some((producer, consumer, ring))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_rejects_bad_sizes() {
        assert!(Cursor::new(0, 0).is_none());
        assert!(Cursor::new(3, 0).is_none());
        assert!(Cursor::new(4096, 0).is_some());
    }

    #[test]
    fn cursor_fills_drains_and_wraps() {
        let start = u32::MAX - 2;
        let mut p = Cursor::new(4, start).unwrap();
        let mut c = p;
        for expect in 0..4u32 {
            assert_eq!(p.produce_one(), Some(start.wrapping_add(expect)));
        }
        assert_eq!(p.produce_one(), None, "a full ring takes nothing");
        assert_eq!(p.free(), 0);
        c.observe_producer(p.producer());
        assert_eq!(c.filled(), 4);
        let slots: Vec<usize> = std::iter::from_fn(|| c.consume_one().map(|i| c.slot(i))).collect();
        assert_eq!(slots, vec![1, 2, 3, 0], "indices wrap through u32::MAX");
        p.observe_consumer(c.consumer());
        assert_eq!(p.free(), 4);
    }

    #[test]
    fn cursor_ignores_impossible_peer_indices() {
        let mut p = Cursor::new(8, 10).unwrap();
        for _ in 0..3 {
            p.produce_one();
        }
        p.observe_consumer(100); // beyond what was produced
        assert_eq!(p.consumer(), 10);
        p.observe_consumer(5); // backwards
        assert_eq!(p.consumer(), 10);
        p.observe_consumer(12);
        assert_eq!(p.free(), 7);

        let mut c = Cursor::new(8, 10).unwrap();
        c.observe_producer(10 + 9); // more than size
        assert_eq!(c.filled(), 0);
        c.observe_producer(10 + 8);
        assert_eq!(c.filled(), 8);
    }

    #[test]
    fn heap_ring_passes_values_in_order_across_wrap() {
        let (mut tx, mut rx, _ring) = heap_pair::<u64>(8, u32::MAX - 5).unwrap();
        let mut next_in = 0u64;
        let mut next_out = 0u64;
        for round in 0..50 {
            let burst = round % 9 + 1;
            for _ in 0..burst {
                if tx.push(next_in).is_ok() {
                    next_in += 1;
                }
            }
            tx.publish();
            let take = round % 5 + 1;
            for _ in 0..take {
                match rx.pop() {
                    Some(v) => {
                        assert_eq!(v, next_out);
                        next_out += 1;
                    }
                    None => break,
                }
            }
            rx.release();
        }
        while let Some(v) = rx.pop() {
            assert_eq!(v, next_out);
            next_out += 1;
        }
        assert_eq!(next_in, next_out);
        assert!(next_in > 100);
    }

    #[test]
    fn heap_ring_unpublished_and_unreleased_entries_stay_hidden() {
        let (mut tx, mut rx, _ring) = heap_pair::<u64>(4, 0).unwrap();
        for v in 0..4 {
            tx.push(v).unwrap();
        }
        assert_eq!(rx.available(), 0, "nothing visible before publish");
        tx.publish();
        assert_eq!(tx.push(9), Err(9), "full");
        assert_eq!(rx.pop(), Some(0));
        assert_eq!(rx.pop(), Some(1));
        assert_eq!(tx.free(), 0, "popped but not released");
        rx.release();
        assert_eq!(tx.free(), 2);
        tx.push(4).unwrap();
        tx.push(5).unwrap();
        tx.publish();
        let rest: Vec<u64> = std::iter::from_fn(|| rx.pop()).collect();
        assert_eq!(rest, vec![2, 3, 4, 5]);
    }

    #[test]
    fn heap_ring_flags() {
        let (tx, rx, ring) = heap_pair::<u64>(4, 0).unwrap();
        assert!(!tx.needs_wakeup() && !rx.needs_wakeup());
        ring.set_need_wakeup(true);
        assert!(tx.needs_wakeup() && rx.needs_wakeup());
    }

    #[test]
    fn heap_ring_across_threads() {
        let (mut tx, mut rx, _ring) = heap_pair::<u64>(64, u32::MAX - 100).unwrap();
        const N: u64 = 200_000;
        let producer = std::thread::spawn(move || {
            let mut v = 0;
            while v < N {
                while v < N && tx.push(v).is_ok() {
                    v += 1;
                }
                tx.publish();
                std::hint::spin_loop();
            }
        });
        let mut expect = 0;
        while expect < N {
            while let Some(v) = rx.pop() {
                assert_eq!(v, expect);
                expect += 1;
            }
            rx.release();
            std::thread::yield_now();
        }
        producer.join().unwrap();
    }

    #[test]
    fn layout_checks() {
        assert!(check_layout::<u64>(4096, 0, 64, 128, 192, 32).is_ok());
        assert!(check_layout::<u64>(4096, 0, 64, 128, 192, 1024).is_err());
        assert!(check_layout::<u64>(4096, 1, 64, 128, 192, 32).is_err());
        assert!(check_layout::<u64>(4096, 0, 64, 128, 196, 32).is_err());
        assert!(check_layout::<u64>(4096, 0, 64, 128, 192, 3).is_err());
    }
}
