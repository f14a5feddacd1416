//! The frame ring: preallocated slots (one anonymous mapping each, on 2 MiB
//! hugepages when reserved) and the bounded crossbeam queue that carries
//! finished frames to consumers.
//!
//! A [`RingProducer`] is the reassembler's [`SlotPool`] and publishes its
//! finished frames; consumers receive [`Frame`] handles from a
//! [`FrameReceiver`]. Dropping a handle (or a [`Slot`]) returns the memory to
//! the free list, from any thread.
//!
//! Each slot is its own mapping so that it is an owned, `Send` value that
//! moves between threads without unsafe code; the recorder can register each
//! slot with io_uring as one buffer.
//!
//! Invariants:
//! - exactly `slots` mappings exist for the ring's lifetime; a slot is owned
//!   by the free list, the reassembler, the queue or one consumer, never two;
//! - the producer never blocks: when the queue is full it drops a frame by
//!   policy (the newest, or the oldest queued) and counts it; when no slot is
//!   free, `DropOldest` reclaims the oldest queued frame, `DropNewest` refuses
//!   the new frame (the reassembler counts it as dropped);
//! - `Slot::as_ref()` is exactly `slot_size` bytes; the mapping behind it may
//!   be longer (rounded to the page size).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError, TrySendError};
use memmap2::MmapMut;

use super::frame::{CompletedFrame, FrameInfo};
use super::memory::map_slot;
use super::pool::SlotPool;
use super::StreamError;

/// What to drop when consumers fall behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropPolicy {
    /// Keep what is queued; drop the frame being published (or refuse a new one).
    DropNewest,
    /// Drop the oldest queued frame to make room for the newest.
    DropOldest,
}

/// Whether slot memory comes from 2 MiB hugepages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HugePages {
    /// Use hugepages when reserved, else normal pages with a warning.
    Auto,
    /// Fail when hugepages cannot be had.
    Require,
    /// Normal pages only.
    Never,
}

/// Size and behaviour of a frame ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingConfig {
    /// Number of slots (frames in flight + queued + held by consumers).
    pub slots: usize,
    /// Bytes per slot: the camera's PayloadSize.
    pub slot_size: usize,
    /// Finished frames the queue holds before the drop policy applies.
    pub queue_depth: usize,
    /// What to drop when consumers fall behind.
    pub policy: DropPolicy,
    /// Hugepage use.
    pub huge_pages: HugePages,
}

impl RingConfig {
    /// `slots` slots of `slot_size` bytes, a queue as deep as half the slots,
    /// dropping the oldest frame, hugepages when available.
    pub fn new(slots: usize, slot_size: usize) -> Self {
        RingConfig {
            slots,
            slot_size,
            queue_depth: (slots / 2).max(1),
            policy: DropPolicy::DropOldest,
            huge_pages: HugePages::Auto,
        }
    }
}

/// Counters of a ring, shared by its producer and receivers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingCounters {
    /// Frames put on the queue.
    pub published: u64,
    /// Frames dropped because consumers fell behind (queue full, or reclaimed for a new frame).
    pub dropped_consumer_behind: u64,
    /// Times the reassembler asked for a slot and none was free.
    pub no_free_slot: u64,
}

#[derive(Debug, Default)]
struct Shared {
    published: AtomicU64,
    dropped_consumer_behind: AtomicU64,
    no_free_slot: AtomicU64,
}

impl Shared {
    fn snapshot(&self) -> RingCounters {
        RingCounters {
            published: self.published.load(Ordering::Relaxed),
            dropped_consumer_behind: self.dropped_consumer_behind.load(Ordering::Relaxed),
            no_free_slot: self.no_free_slot.load(Ordering::Relaxed),
        }
    }

    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A slot's mapping while it sits on the free list.
#[derive(Debug)]
struct FreeSlot {
    mem: MmapMut,
    index: u32,
}

/// One frame slot; returns itself to the ring's free list when dropped.
#[derive(Debug)]
pub struct Slot {
    mem: Option<MmapMut>,
    index: u32,
    len: usize,
    home: Sender<FreeSlot>,
}

impl Slot {
    /// The slot's number in its ring (0-based).
    pub fn index(&self) -> u32 {
        self.index
    }
}

impl AsRef<[u8]> for Slot {
    fn as_ref(&self) -> &[u8] {
        match &self.mem {
            Some(mem) => &mem[..self.len],
            None => &[],
        }
    }
}

impl AsMut<[u8]> for Slot {
    fn as_mut(&mut self) -> &mut [u8] {
        match &mut self.mem {
            Some(mem) => &mut mem[..self.len],
            None => &mut [],
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(mem) = self.mem.take() {
            // The free list has room for every slot; if the ring is gone the
            // mapping is simply unmapped.
            let _ = self.home.try_send(FreeSlot {
                mem,
                index: self.index,
            });
        }
    }
}

/// A finished frame on its way to a consumer; dropping it frees the slot.
#[derive(Debug)]
pub struct Frame {
    /// Ids, timestamps, flags and counters.
    pub info: FrameInfo,
    slot: Slot,
}

impl Frame {
    /// The payload bytes (`info.len` of them).
    pub fn data(&self) -> &[u8] {
        let slot = self.slot.as_ref();
        &slot[..self.info.len.min(slot.len())]
    }

    /// The whole slot (e.g. for an O_DIRECT write of a padded length).
    pub fn slot(&self) -> &Slot {
        &self.slot
    }
}

/// Builds frame rings.
#[derive(Debug)]
pub struct FrameRing;

impl FrameRing {
    /// Maps the slots and returns the producer (for the receive worker) and a
    /// receiver (clone it for more consumers).
    pub fn create(config: RingConfig) -> Result<(RingProducer, FrameReceiver), StreamError> {
        if config.slots == 0 || config.slot_size == 0 || config.queue_depth == 0 {
            return Err(StreamError::InvalidConfig(
                "frame ring needs at least one slot, a non-zero slot size (PayloadSize) and queue depth",
            ));
        }
        let slots = u32::try_from(config.slots).map_err(|_| {
            StreamError::InvalidConfig("frame ring slot count exceeds u32; use fewer slots")
        })?;
        let (free_tx, free_rx) = crossbeam_channel::bounded(config.slots);
        let mut huge = config.huge_pages != HugePages::Never;
        let mut fell_back = 0usize;
        let mut hugepage_slots = 0usize;
        for index in 0..slots {
            let mem = match map_slot(config.slot_size, huge) {
                Ok(mem) => {
                    hugepage_slots += usize::from(huge);
                    mem
                }
                Err(source) if huge && config.huge_pages == HugePages::Auto => {
                    if fell_back == 0 {
                        tracing::warn!(
                            "no 2 MiB hugepages for frame slots ({source}); using normal pages. \
                             Reserve some with `sysctl vm.nr_hugepages=N` for fewer TLB misses"
                        );
                    }
                    fell_back += 1;
                    huge = false;
                    map_slot(config.slot_size, false).map_err(|source| StreamError::Memory {
                        bytes: config.slot_size,
                        what: "normal pages",
                        source,
                    })?
                }
                Err(source) => {
                    return Err(StreamError::Memory {
                        bytes: config.slot_size,
                        what: if huge {
                            "2 MiB hugepages"
                        } else {
                            "normal pages"
                        },
                        source,
                    })
                }
            };
            // Cannot fail: the channel has room for every slot.
            let _ = free_tx.try_send(FreeSlot { mem, index });
        }
        let (ready_tx, ready_rx) = crossbeam_channel::bounded(config.queue_depth);
        let shared = Arc::new(Shared::default());
        let producer = RingProducer {
            free_tx,
            free_rx,
            publisher: FramePublisher {
                ready_tx,
                ready_rx: ready_rx.clone(),
                policy: config.policy,
                shared: Arc::clone(&shared),
            },
            slot_size: config.slot_size,
            slots: config.slots,
            hugepage_slots,
        };
        Ok((
            producer,
            FrameReceiver {
                rx: ready_rx,
                shared,
            },
        ))
    }
}

/// The receive worker's end of a ring: a [`SlotPool`] that also publishes frames.
#[derive(Debug)]
pub struct RingProducer {
    free_tx: Sender<FreeSlot>,
    free_rx: Receiver<FreeSlot>,
    publisher: FramePublisher,
    slot_size: usize,
    slots: usize,
    hugepage_slots: usize,
}

/// The publishing half of a ring producer, usable while the producer itself
/// is lent to a reassembler (e.g. inside a socket path's `on_frame`).
#[derive(Debug, Clone)]
pub struct FramePublisher {
    ready_tx: Sender<Frame>,
    ready_rx: Receiver<Frame>,
    policy: DropPolicy,
    shared: Arc<Shared>,
}

impl FramePublisher {
    /// Queues a finished frame for consumers; returns false when it was
    /// dropped instead (an older queued frame dropped by policy still returns true).
    pub fn publish(&self, frame: CompletedFrame<Slot>) -> bool {
        let mut frame = Frame {
            info: frame.info,
            slot: frame.slot,
        };
        for _ in 0..4 {
            match self.ready_tx.try_send(frame) {
                Ok(()) => {
                    Shared::count(&self.shared.published);
                    return true;
                }
                Err(TrySendError::Full(back)) if self.policy == DropPolicy::DropOldest => {
                    if let Ok(oldest) = self.ready_rx.try_recv() {
                        drop(oldest);
                        Shared::count(&self.shared.dropped_consumer_behind);
                        // The new frame is still queued below: one drop, not two.
                        frame = back;
                        continue;
                    }
                    frame = back;
                }
                Err(TrySendError::Full(back) | TrySendError::Disconnected(back)) => {
                    drop(back);
                    Shared::count(&self.shared.dropped_consumer_behind);
                    return false;
                }
            }
        }
        drop(frame);
        Shared::count(&self.shared.dropped_consumer_behind);
        false
    }

    /// The ring's counters.
    pub fn counters(&self) -> RingCounters {
        self.shared.snapshot()
    }
}

impl RingProducer {
    /// Queues a finished frame for consumers (see [`FramePublisher::publish`]).
    pub fn publish(&self, frame: CompletedFrame<Slot>) -> bool {
        self.publisher.publish(frame)
    }

    /// A publisher for this ring, to publish while the producer is lent out.
    pub fn publisher(&self) -> FramePublisher {
        self.publisher.clone()
    }

    /// The ring's counters.
    pub fn counters(&self) -> RingCounters {
        self.publisher.counters()
    }

    /// Slots currently on the free list.
    pub fn free_slots(&self) -> usize {
        self.free_rx.len()
    }

    /// Total slots of the ring.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Bytes per slot.
    pub fn slot_size(&self) -> usize {
        self.slot_size
    }

    /// Slots backed by 2 MiB hugepages (the rest fell back to normal pages).
    pub fn hugepage_slots(&self) -> usize {
        self.hugepage_slots
    }

    fn wrap(&self, free: FreeSlot) -> Slot {
        Slot {
            mem: Some(free.mem),
            index: free.index,
            len: self.slot_size,
            home: self.free_tx.clone(),
        }
    }
}

impl SlotPool for RingProducer {
    type Slot = Slot;

    fn acquire(&mut self) -> Option<Slot> {
        if let Ok(free) = self.free_rx.try_recv() {
            return Some(self.wrap(free));
        }
        let publisher = &self.publisher;
        if publisher.policy == DropPolicy::DropOldest {
            if let Ok(oldest) = publisher.ready_rx.try_recv() {
                drop(oldest);
                Shared::count(&publisher.shared.dropped_consumer_behind);
                if let Ok(free) = self.free_rx.try_recv() {
                    return Some(self.wrap(free));
                }
            }
        }
        Shared::count(&publisher.shared.no_free_slot);
        None
    }

    fn release(&mut self, slot: Slot) {
        drop(slot);
    }
}

/// A consumer's end of a ring; clone it to share frames among consumers.
#[derive(Debug, Clone)]
pub struct FrameReceiver {
    rx: Receiver<Frame>,
    shared: Arc<Shared>,
}

impl FrameReceiver {
    /// Waits for the next frame; `None` once the producer is gone and the queue is empty.
    pub fn recv(&self) -> Option<Frame> {
        self.rx.recv().ok()
    }

    /// Waits up to `timeout` for the next frame.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Frame, RecvTimeoutError> {
        self.rx.recv_timeout(timeout)
    }

    /// The next frame if one is queued.
    pub fn try_recv(&self) -> Result<Frame, TryRecvError> {
        self.rx.try_recv()
    }

    /// Frames queued now.
    pub fn queued(&self) -> usize {
        self.rx.len()
    }

    /// The ring's counters.
    pub fn counters(&self) -> RingCounters {
        self.shared.snapshot()
    }

    /// The underlying crossbeam receiver (for `select!`).
    pub fn as_crossbeam(&self) -> &Receiver<Frame> {
        &self.rx
    }
}
