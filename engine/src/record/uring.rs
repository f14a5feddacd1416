//! The io_uring backend: registered buffers, WRITE_FIXED / WRITE submissions.
//!
//! This is the only module of `record` that uses `unsafe`: handing a pointer
//! to the kernel (buffer registration, submission-queue entries) is not
//! expressible in safe Rust. Invariants that make it sound:
//! - registered memory (the writer's [`BlockPool`] slots and the caller's
//!   shared regions) is owned by this struct and dropped after the ring (field
//!   order), and the pool's slots never move;
//! - a submitted write's memory stays valid and unwritten until its completion
//!   is reaped: pool slots are `Submitted` (no token, so no writer) and owned
//!   buffers sit in `in_flight[i]`, a vector that is never resized, so the
//!   owner does not move; the slot is only emptied when the CQE for `i` arrives;
//! - `Drop` waits for every in-flight write before the memory is released;
//! - at most `in_flight.len()` writes are outstanding and the completion queue
//!   holds twice the submission queue, so completions never overflow.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use io_uring::{opcode, types, IoUring};

use super::backend::{short_write, Completion, Owner, Source, WriteOp};
use super::pool::BlockPool;

/// Shared memory registered once with the ring (for example a frame ring's hugepages).
pub type SharedRegion = Arc<dyn AsRef<[u8]> + Send + Sync>;

struct InFlight<O> {
    user_data: u64,
    len: usize,
    owner: Option<O>,
    slot: Option<u32>,
}

/// An io_uring instance writing from registered and owned buffers.
pub(crate) struct Uring<O> {
    // Field order matters: the ring is dropped before the memory it may read.
    ring: IoUring,
    in_flight: Vec<Option<InFlight<O>>>,
    free: Vec<u32>,
    pool: BlockPool,
    /// Address ranges of `regions` (start, len), registered after the pool's slots.
    region_ranges: Vec<(usize, usize)>,
    _regions: Vec<SharedRegion>,
    registered: bool,
    fixed_writes: u64,
}

impl<O: Owner> Uring<O> {
    /// Sets up a ring for `depth` writes and registers `pool` and `regions`.
    ///
    /// Fails when io_uring is unavailable (old kernel, seccomp, sysctl
    /// `kernel.io_uring_disabled`). A failed registration is not fatal: the
    /// second value then explains why writes go without registered buffers.
    pub(crate) fn new(
        depth: u32,
        pool: BlockPool,
        regions: Vec<SharedRegion>,
    ) -> Result<(Self, Option<String>), (io::Error, BlockPool)> {
        let entries = depth.max(2).next_power_of_two();
        let ring = match IoUring::builder().setup_cqsize(entries * 2).build(entries) {
            Ok(r) => r,
            Err(e) => return Err((e, pool)),
        };
        let region_ranges: Vec<(usize, usize)> = regions
            .iter()
            .map(|r| {
                let s = (**r).as_ref();
                (s.as_ptr() as usize, s.len())
            })
            .collect();
        let iovecs: Vec<libc::iovec> = pool
            .regions()
            .map(|s| (s.as_ptr() as usize, s.len()))
            .chain(region_ranges.iter().copied())
            .map(|(base, len)| libc::iovec {
                iov_base: base as *mut libc::c_void,
                iov_len: len,
            })
            .collect();
        // Safety: every iovec describes memory owned by this struct (`pool`'s
        // slots, which never move, and `regions`, held by `Arc` here) that
        // outlives the ring: `ring` is declared first and so dropped first,
        // and `Drop` waits for all writes before that.
        let registered = unsafe { ring.submitter().register_buffers(&iovecs) };
        let note = registered.as_ref().err().map(|e| {
            format!(
                "io_uring buffer registration failed ({e}); writing without registered \
                 buffers (raise RLIMIT_MEMLOCK to register them)"
            )
        });
        let depth = depth.max(1) as usize;
        let uring = Uring {
            ring,
            in_flight: (0..depth).map(|_| None).collect(),
            free: (0..depth as u32).rev().collect(),
            pool,
            region_ranges,
            _regions: regions,
            registered: registered.is_ok(),
            fixed_writes: 0,
        };
        Ok((uring, note))
    }

    pub(crate) fn pool(&mut self) -> &mut BlockPool {
        &mut self.pool
    }

    /// Writes submitted from registered buffers (WRITE_FIXED).
    pub(crate) fn fixed_writes(&self) -> u64 {
        self.fixed_writes
    }

    pub(crate) fn free_ops(&self) -> usize {
        self.free.len()
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.len() - self.free.len()
    }

    /// Queues one write; errors only if the op is malformed or the queue cannot take it.
    pub(crate) fn push(&mut self, file: &File, op: WriteOp<O>) -> io::Result<()> {
        let len = u32::try_from(op.len)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "write larger than 4 GiB"))?;
        let Some(index) = self.free.pop() else {
            return Err(io::Error::other("io_uring queue full"));
        };
        let fd = types::Fd(file.as_raw_fd());
        let slot_count = self.pool.len();
        let (ptr, buf_index) = match op.source {
            Source::Slot(token) => {
                let slot = token.index();
                let bytes = self.pool.submit(token);
                if bytes.len() < op.len {
                    self.pool.release(slot);
                    self.free.push(index);
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "write beyond its slot",
                    ));
                }
                self.in_flight[index as usize] = Some(InFlight {
                    user_data: op.user_data,
                    len: op.len,
                    owner: None,
                    slot: Some(slot),
                });
                (bytes.as_ptr(), Some(slot as usize))
            }
            Source::Owned(owner) => {
                let entry = self.in_flight[index as usize].insert(InFlight {
                    user_data: op.user_data,
                    len: op.len,
                    owner: Some(owner),
                    slot: None,
                });
                let bytes = entry.owner.as_ref().map_or(&[][..], |o| o.bytes());
                if bytes.len() < op.len {
                    self.in_flight[index as usize] = None;
                    self.free.push(index);
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "write beyond its buffer",
                    ));
                }
                let start = bytes.as_ptr() as usize;
                let region = self
                    .region_ranges
                    .iter()
                    .position(|&(base, rlen)| start >= base && start + op.len <= base + rlen);
                (bytes.as_ptr(), region.map(|r| slot_count + r))
            }
        };
        let entry = match buf_index.and_then(|i| u16::try_from(i).ok()) {
            Some(buf_index) if self.registered => {
                self.fixed_writes += 1;
                opcode::WriteFixed::new(fd, ptr, len, buf_index)
                    .offset(op.offset)
                    .build()
            }
            _ => opcode::Write::new(fd, ptr, len).offset(op.offset).build(),
        }
        .user_data(u64::from(index));
        loop {
            // Safety: the entry points at `len` bytes that stay valid and
            // unwritten until its completion is reaped (module invariants:
            // the pool slot is Submitted, or the owner sits unmoved in
            // `in_flight[index]`), and for WRITE_FIXED inside registered buffer
            // `buf_index`, which `position` / the slot index established.
            let pushed = unsafe { self.ring.submission().push(&entry) };
            if pushed.is_ok() {
                return Ok(());
            }
            // The submission queue is full of entries not yet handed over.
            self.ring.submit()?;
        }
    }

    pub(crate) fn submit(&mut self) -> io::Result<()> {
        loop {
            match self.ring.submit() {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) fn wait(&mut self) -> io::Result<()> {
        if self.in_flight() == 0 {
            return Ok(());
        }
        loop {
            match self.ring.submit_and_wait(1) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) fn reap(&mut self, out: &mut Vec<Completion<O>>) {
        let cq = self.ring.completion();
        for cqe in cq {
            let index = cqe.user_data() as usize;
            let Some(done) = self.in_flight.get_mut(index).and_then(Option::take) else {
                continue;
            };
            self.free.push(index as u32);
            if let Some(slot) = done.slot {
                self.pool.release(slot);
            }
            let r = cqe.result();
            let result = if r < 0 {
                Err(io::Error::from_raw_os_error(-r))
            } else if r as usize != done.len {
                Err(short_write(r as usize, done.len))
            } else {
                Ok(())
            };
            out.push(Completion {
                user_data: done.user_data,
                result,
                owner: done.owner,
            });
        }
    }
}

impl<O> Drop for Uring<O> {
    fn drop(&mut self) {
        // Wait for the kernel to finish with every buffer before they are freed.
        let mut outstanding = self.in_flight.iter().filter(|s| s.is_some()).count();
        while outstanding > 0 {
            if self.ring.submit_and_wait(1).is_err() {
                break;
            }
            for cqe in self.ring.completion() {
                if let Some(slot) = self.in_flight.get_mut(cqe.user_data() as usize) {
                    if slot.take().is_some() {
                        outstanding -= 1;
                    }
                }
            }
        }
    }
}
