//! One output file (one stripe of one camera): creation, preallocation, the
//! bookkeeping of records in flight, and closing.
//!
//! Invariants:
//! - `next` (where the next record goes) is block-aligned, and
//!   `next + reserve <= allocated` after every successful [`StripeFile::make_room`],
//!   so the final index record always fits in space already allocated;
//! - `pending` holds the records not yet retired, in file order; `durable_end`
//!   only advances over a prefix of records whose every write succeeded, and
//!   never again once a write has failed (`failed_at`);
//! - the file header at offset 0 is written at creation and rewritten once at
//!   close; the file is then cut to the end of its last complete record.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::PathBuf;

use rustix::fs::{fallocate, FallocateFlags};
use rustix::io::Errno;

use super::buffer::AlignedBuf;
use super::format::{FileHeader, IndexEntry, BLOCK_SIZE};

/// Why space could not be allocated.
#[derive(Debug)]
pub(crate) enum SpaceError {
    /// The filesystem is full.
    Full,
    /// Another error.
    Io(io::Error),
}

/// A record submitted but not yet retired.
#[derive(Debug)]
pub(crate) struct Pending {
    /// Offset of its header block.
    pub offset: u64,
    /// Offset just past it.
    pub end: u64,
    /// Writes still in flight.
    pub ops: u32,
    /// Payload bytes when it is a frame, `None` for an index record.
    pub frame_payload: Option<u64>,
    /// The first error of its writes.
    pub error: Option<io::Error>,
}

/// One stripe file.
#[derive(Debug)]
pub(crate) struct StripeFile {
    pub file: File,
    pub path: PathBuf,
    pub header: FileHeader,
    /// Whether fallocate works here.
    pub prealloc: bool,
    pub next: u64,
    pub allocated: u64,
    pub pending: VecDeque<Pending>,
    /// Record number of `pending.front()`.
    pub base_no: u64,
    pub in_flight_bytes: u64,
    pub durable_end: u64,
    pub durable_frames: u64,
    pub failed_at: Option<u64>,
    pub index_pending: Vec<IndexEntry>,
    pub last_index_offset: u64,
    pub index_records: u64,
}

impl StripeFile {
    /// Creates the file (never overwriting one), writes its header and
    /// preallocates `initial` bytes after it. The note says why O_DIRECT or
    /// preallocation could not be used, if so.
    pub(crate) fn create(
        path: PathBuf,
        header: FileHeader,
        want_direct: bool,
        initial: u64,
        minimum: u64,
    ) -> io::Result<(StripeFile, Vec<String>)> {
        let mut notes = Vec::new();
        let open = |direct: bool| {
            let mut o = OpenOptions::new();
            o.write(true).read(true).create_new(true);
            if direct {
                o.custom_flags(libc::O_DIRECT);
            }
            o.open(&path)
        };
        let file = match open(want_direct) {
            Ok(f) => f,
            Err(e) if want_direct && e.raw_os_error() == Some(libc::EINVAL) => {
                notes.push(format!(
                    "{}: the filesystem refuses O_DIRECT; writing through the page cache",
                    path.display()
                ));
                open(false)?
            }
            Err(e) => return Err(e),
        };
        let mut f = StripeFile {
            file,
            path,
            header,
            prealloc: true,
            next: BLOCK_SIZE as u64,
            allocated: 0,
            pending: VecDeque::new(),
            base_no: 0,
            in_flight_bytes: 0,
            durable_end: BLOCK_SIZE as u64,
            durable_frames: 0,
            failed_at: None,
            index_pending: Vec::new(),
            last_index_offset: 0,
            index_records: 0,
        };
        f.write_header()?;
        f.allocated = BLOCK_SIZE as u64;
        match f.grow_to(BLOCK_SIZE as u64 + initial) {
            Ok(()) => {}
            Err(SpaceError::Full) => match f.grow_to(BLOCK_SIZE as u64 + minimum) {
                Ok(()) => {}
                Err(SpaceError::Full) => {
                    return Err(io::Error::from_raw_os_error(libc::ENOSPC));
                }
                Err(SpaceError::Io(e)) => return Err(e),
            },
            Err(SpaceError::Io(e)) => return Err(e),
        }
        if !f.prealloc {
            notes.push(format!(
                "{}: the filesystem cannot preallocate (fallocate unsupported); files grow as written",
                f.path.display()
            ));
        }
        Ok((f, notes))
    }

    /// Writes the header block at offset 0 (synchronously).
    pub(crate) fn write_header(&mut self) -> io::Result<()> {
        let mut block = AlignedBuf::zeroed(BLOCK_SIZE)?;
        self.header
            .emit(&mut block)
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.file.write_all_at(&block, 0)
    }

    /// Extends the allocation to at least `end` bytes.
    fn grow_to(&mut self, end: u64) -> Result<(), SpaceError> {
        if end <= self.allocated {
            return Ok(());
        }
        if !self.prealloc {
            self.allocated = end;
            return Ok(());
        }
        match fallocate(
            &self.file,
            FallocateFlags::empty(),
            self.allocated,
            end - self.allocated,
        ) {
            Ok(()) => {
                self.allocated = end;
                Ok(())
            }
            Err(Errno::NOSPC) => {
                // ext4 keeps what it allocated before running out: give it
                // back, or this file would hold the space the other files
                // (and its own smaller retry) need.
                self.release_beyond(end);
                Err(SpaceError::Full)
            }
            Err(Errno::OPNOTSUPP) => {
                self.prealloc = false;
                self.allocated = end;
                Ok(())
            }
            Err(e) => Err(SpaceError::Io(e.into())),
        }
    }

    /// Frees whatever a failed preallocation left between `allocated` and
    /// `end`, and cuts the size back if it grew; best effort.
    fn release_beyond(&mut self, end: u64) {
        let _ = fallocate(
            &self.file,
            FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE,
            self.allocated,
            end - self.allocated,
        );
        if self.file.metadata().is_ok_and(|m| m.len() > self.allocated) {
            let _ = self.file.set_len(self.allocated);
        }
    }

    /// Makes sure `len` more bytes plus `reserve` fit in the allocation,
    /// growing it by `extent` (or, when the disk is nearly full, by just enough).
    pub(crate) fn make_room(
        &mut self,
        len: u64,
        reserve: u64,
        extent: u64,
    ) -> Result<(), SpaceError> {
        let need = self.next + len + reserve;
        if need <= self.allocated {
            return Ok(());
        }
        let block = BLOCK_SIZE as u64;
        let generous = need.max(self.allocated + extent).div_ceil(block) * block;
        match self.grow_to(generous) {
            Err(SpaceError::Full) => self.grow_to(need),
            other => other,
        }
    }

    /// Closes the file: cuts it at its last complete record, rewrites the
    /// header with the final counts, and flushes it to the device.
    pub(crate) fn close(&mut self, flags: u32, dropped: u64) -> io::Result<()> {
        let end = if self.failed_at.is_some() {
            self.durable_end
        } else {
            self.next
        };
        self.header.flags = flags;
        self.header.frames = self.durable_frames;
        self.header.index_offset = if self.failed_at.is_some() {
            0
        } else {
            self.last_index_offset
        };
        self.header.data_end = end;
        self.header.dropped = dropped;
        self.file.set_len(end)?;
        self.write_header()?;
        self.file.sync_all()
    }
}
