//! Write backends behind one interface: io_uring ([`super::uring`]) and a
//! synchronous `pwrite` fallback for systems where io_uring is unavailable.
//!
//! Invariants:
//! - a write's memory (a pool slot or an owned buffer) is held by the backend
//!   from `push` until its [`Completion`] is handed out by `reap`, and is
//!   neither written nor freed in between;
//! - a completion is `Ok` only when every byte was written; a short write is
//!   an error naming both lengths;
//! - at most `depth` writes are in flight.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use super::pool::{BlockPool, SlotToken};
use super::uring::Uring;

/// Memory a write reads from, kept alive by the backend until the write completes.
pub(crate) trait Owner: Send {
    /// The bytes; the first `len` of them are written.
    fn bytes(&self) -> &[u8];
}

/// Where a write's bytes come from.
pub(crate) enum Source<O> {
    /// A slot of the writer's pool.
    Slot(SlotToken),
    /// A buffer the backend owns until completion.
    Owned(O),
}

/// One write: `len` bytes of `source` at `offset` of a file.
pub(crate) struct WriteOp<O> {
    /// Byte offset in the file (block-aligned).
    pub offset: u64,
    /// The bytes.
    pub source: Source<O>,
    /// How many bytes (block-aligned).
    pub len: usize,
    /// Returned in the completion.
    pub user_data: u64,
}

/// The outcome of one write.
pub(crate) struct Completion<O> {
    /// The op's `user_data`.
    pub user_data: u64,
    /// `Ok` when all bytes were written.
    pub result: io::Result<()>,
    /// The owned buffer, handed back to be dropped.
    pub owner: Option<O>,
}

/// Error for a write that wrote fewer bytes than asked.
pub(crate) fn short_write(written: usize, len: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::WriteZero,
        format!("short write: {written} of {len} bytes (is the disk full?)"),
    )
}

/// The synchronous fallback: each push writes at once with `pwrite`.
pub(crate) struct Pwrite<O> {
    pool: BlockPool,
    done: VecDeque<Completion<O>>,
}

impl<O: Owner> Pwrite<O> {
    fn push(&mut self, file: &File, op: WriteOp<O>) {
        let (result, owner) = match op.source {
            Source::Slot(token) => {
                let index = token.index();
                let bytes = self.pool.submit(token);
                let r = write_at(file, bytes, op.len, op.offset);
                self.pool.release(index);
                (r, None)
            }
            Source::Owned(owner) => (
                write_at(file, owner.bytes(), op.len, op.offset),
                Some(owner),
            ),
        };
        self.done.push_back(Completion {
            user_data: op.user_data,
            result,
            owner,
        });
    }
}

fn write_at(file: &File, bytes: &[u8], len: usize, offset: u64) -> io::Result<()> {
    let data = bytes
        .get(..len)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "write beyond its buffer"))?;
    file.write_all_at(data, offset)
}

/// One of the two backends.
pub(crate) enum Backend<O> {
    /// io_uring with registered buffers.
    Uring(Box<Uring<O>>),
    /// Synchronous pwrite.
    Pwrite(Pwrite<O>),
}

impl<O: Owner> Backend<O> {
    /// The synchronous fallback over `pool`.
    pub(crate) fn pwrite(pool: BlockPool) -> Self {
        Backend::Pwrite(Pwrite {
            pool,
            done: VecDeque::new(),
        })
    }

    /// A short name for reports.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Backend::Uring(_) => "io_uring",
            Backend::Pwrite(_) => "pwrite",
        }
    }

    /// The writer's pool.
    pub(crate) fn pool(&mut self) -> &mut BlockPool {
        match self {
            Backend::Uring(u) => u.pool(),
            Backend::Pwrite(p) => &mut p.pool,
        }
    }

    /// Writes submitted from registered buffers.
    pub(crate) fn fixed_writes(&self) -> u64 {
        match self {
            Backend::Uring(u) => u.fixed_writes(),
            Backend::Pwrite(_) => 0,
        }
    }

    /// How many more writes can be pushed now.
    pub(crate) fn free_ops(&self) -> usize {
        match self {
            Backend::Uring(u) => u.free_ops(),
            Backend::Pwrite(_) => usize::MAX,
        }
    }

    /// Writes in flight (pushed, completion not yet reaped by the kernel).
    pub(crate) fn in_flight(&self) -> usize {
        match self {
            Backend::Uring(u) => u.in_flight(),
            Backend::Pwrite(p) => p.done.len(),
        }
    }

    /// Queues a write; the caller checked `free_ops() > 0`.
    pub(crate) fn push(&mut self, file: &File, op: WriteOp<O>) -> io::Result<()> {
        match self {
            Backend::Uring(u) => u.push(file, op),
            Backend::Pwrite(p) => {
                p.push(file, op);
                Ok(())
            }
        }
    }

    /// Hands queued writes to the kernel.
    pub(crate) fn submit(&mut self) -> io::Result<()> {
        match self {
            Backend::Uring(u) => u.submit(),
            Backend::Pwrite(_) => Ok(()),
        }
    }

    /// Submits and blocks until at least one write has completed.
    pub(crate) fn wait(&mut self) -> io::Result<()> {
        match self {
            Backend::Uring(u) => u.wait(),
            Backend::Pwrite(_) => Ok(()),
        }
    }

    /// Moves every available completion into `out`.
    pub(crate) fn reap(&mut self, out: &mut Vec<Completion<O>>) {
        match self {
            Backend::Uring(u) => u.reap(out),
            Backend::Pwrite(p) => out.extend(p.done.drain(..)),
        }
    }
}
