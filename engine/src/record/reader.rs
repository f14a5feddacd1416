//! Reading recording files: sequential frames, the index, and a verifying scan.
//!
//! Invariants:
//! - nothing here panics or allocates more than the file holds, whatever the
//!   bytes: a record's length is checked against the file length before its
//!   payload is read;
//! - every frame handed out has passed its CRC32C; a record whose checksum
//!   fails is reported by name (sequence, block id, offset) when valid records
//!   follow it, and otherwise marks the start of the torn tail;
//! - reading stops cleanly at the last complete record; the bytes after it are
//!   split into `torn_bytes` (non-zero, i.e. partly written records) and
//!   `unused_bytes` (zeros: preallocated space never written).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use super::format::{FileHeader, FormatError, IndexEntry, RecordHeader, RecordKind, BLOCK_SIZE};

/// An error reading a recording; the message names the file and the record.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// An I/O error.
    #[error("{file}: {what}: {source}")]
    Io {
        /// The file.
        file: String,
        /// What was being read.
        what: String,
        /// The OS error.
        source: io::Error,
    },
    /// The file header is not valid.
    #[error("{file}: file header: {source}; is this a gvcap recording (.gvrec)?")]
    Header {
        /// The file.
        file: String,
        /// What is wrong with it.
        source: FormatError,
    },
    /// A record's checksum does not match its bytes: the record is corrupt.
    #[error(
        "{file}: record #{sequence} (block id {block_id}) at offset {offset}: checksum mismatch \
         (stored {stored:#010x}, computed {computed:#010x}); this record is corrupt, the others are intact"
    )]
    Checksum {
        /// The file.
        file: String,
        /// Offset of the record's header block.
        offset: u64,
        /// The record's sequence number.
        sequence: u64,
        /// The record's block id.
        block_id: u64,
        /// Checksum stored in the record.
        stored: u32,
        /// Checksum computed over its bytes.
        computed: u32,
    },
    /// No valid record at an offset a caller asked for.
    #[error("{file}: no valid record at offset {offset}: {source}")]
    NoRecord {
        /// The file.
        file: String,
        /// The offset.
        offset: u64,
        /// What is wrong there.
        source: FormatError,
    },
}

/// One verified frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Offset of the record in its file.
    pub offset: u64,
    /// The record header.
    pub header: RecordHeader,
    /// The payload (unpadded).
    pub payload: Vec<u8>,
}

/// A record whose checksum failed although valid records follow it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DamagedRecord {
    /// Offset of its header block.
    pub offset: u64,
    /// Its sequence number.
    pub sequence: u64,
    /// Its block id.
    pub block_id: u64,
    /// Checksum stored.
    pub stored: u32,
    /// Checksum computed.
    pub computed: u32,
}

/// The result of a verifying pass over a whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanReport {
    /// The file header.
    pub header: FileHeader,
    /// Frame records that verified.
    pub frames: u64,
    /// Index records that verified.
    pub index_records: u64,
    /// Records whose checksum failed, with valid records after them.
    pub damaged: Vec<DamagedRecord>,
    /// End of the last complete record.
    pub data_end: u64,
    /// Non-zero bytes after `data_end`: partly written records.
    pub torn_bytes: u64,
    /// Zero bytes after the torn ones: preallocated, never written.
    pub unused_bytes: u64,
    /// The file's length.
    pub file_len: u64,
    /// Entries for every verified frame, in file order.
    pub index: Vec<IndexEntry>,
}

/// What the record walk found at the current position.
enum Step {
    /// A record whose header is valid and which fits in the file.
    Record {
        offset: u64,
        header: RecordHeader,
        payload: Vec<u8>,
        computed: u32,
    },
    /// No further complete record: the tail starts here.
    End,
}

/// A reader over one recording file (or any `Read + Seek` holding one).
#[derive(Debug)]
pub struct RecordingReader<R> {
    src: R,
    name: String,
    header: FileHeader,
    len: u64,
    pos: u64,
}

impl RecordingReader<File> {
    /// Opens a recording file and parses its header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ReadError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file = File::open(path).map_err(|source| ReadError::Io {
            file: name.clone(),
            what: "open".into(),
            source,
        })?;
        Self::with_name(file, name)
    }
}

impl<R: Read + Seek> RecordingReader<R> {
    /// Reads the header of a recording held by `src`; `name` is used in messages.
    pub fn with_name(mut src: R, name: String) -> Result<Self, ReadError> {
        let len = src.seek(SeekFrom::End(0)).map_err(|source| ReadError::Io {
            file: name.clone(),
            what: "seek to end".into(),
            source,
        })?;
        let mut reader = RecordingReader {
            src,
            name,
            header: FileHeader::default(),
            len,
            pos: BLOCK_SIZE as u64,
        };
        let block = reader.read_at(0, FileHeader::ENCODED_LEN.min(len as usize), "file header")?;
        reader.header = FileHeader::parse(&block).map_err(|source| ReadError::Header {
            file: reader.name.clone(),
            source,
        })?;
        Ok(reader)
    }

    /// The file header.
    pub fn header(&self) -> &FileHeader {
        &self.header
    }

    /// The file's length in bytes.
    pub fn file_len(&self) -> u64 {
        self.len
    }

    /// The name used in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn io_error(&self, what: String, source: io::Error) -> ReadError {
        ReadError::Io {
            file: self.name.clone(),
            what,
            source,
        }
    }

    fn read_at(&mut self, offset: u64, len: usize, what: &str) -> Result<Vec<u8>, ReadError> {
        let mut buf = vec![0u8; len];
        self.src
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.src.read_exact(&mut buf))
            .map_err(|e| self.io_error(format!("{what} at offset {offset}"), e))?;
        Ok(buf)
    }

    /// Parses the header block at `offset` if a whole record fits in the file there.
    fn header_at(&mut self, offset: u64) -> Result<Result<RecordHeader, FormatError>, ReadError> {
        let block = BLOCK_SIZE as u64;
        if offset.checked_add(block).is_none_or(|end| end > self.len) {
            return Ok(Err(FormatError::Truncated {
                needed: BLOCK_SIZE,
                available: self.len.saturating_sub(offset) as usize,
            }));
        }
        let buf = self.read_at(offset, BLOCK_SIZE, "record header")?;
        let header = match RecordHeader::parse(self.header.version, &buf) {
            Ok(h) => h,
            Err(e) => return Ok(Err(e)),
        };
        let fits = header
            .record_len()
            .and_then(|l| offset.checked_add(l))
            .is_some_and(|end| end <= self.len);
        if !fits {
            return Ok(Err(FormatError::Truncated {
                needed: header.record_len().unwrap_or(u64::MAX) as usize,
                available: self.len.saturating_sub(offset) as usize,
            }));
        }
        Ok(Ok(header))
    }

    /// Reads the record at `offset` (header valid and fitting in the file) with its computed checksum.
    fn record_at(&mut self, offset: u64) -> Result<Step, ReadError> {
        let header = match self.header_at(offset)? {
            Ok(h) => h,
            Err(_) => return Ok(Step::End),
        };
        let block = self.read_at(offset, BLOCK_SIZE, "record header")?;
        // The header fits in the file, so the payload size is bounded by the file length.
        let payload = self.read_at(
            offset + BLOCK_SIZE as u64,
            header.payload_size as usize,
            "record payload",
        )?;
        let computed = RecordHeader::compute_crc(self.header.version, &block, &payload);
        Ok(Step::Record {
            offset,
            header,
            payload,
            computed,
        })
    }

    /// Reads and verifies the frame whose record starts at `offset`.
    pub fn read_frame_at(&mut self, offset: u64) -> Result<Frame, ReadError> {
        match self.header_at(offset)? {
            Err(source) => Err(ReadError::NoRecord {
                file: self.name.clone(),
                offset,
                source,
            }),
            Ok(_) => match self.record_at(offset)? {
                Step::Record {
                    offset,
                    header,
                    payload,
                    computed,
                } => {
                    if computed != header.crc {
                        return Err(self.checksum_error(offset, &header, computed));
                    }
                    Ok(Frame {
                        offset,
                        header,
                        payload,
                    })
                }
                Step::End => Err(ReadError::NoRecord {
                    file: self.name.clone(),
                    offset,
                    source: FormatError::Invalid("record vanished while reading"),
                }),
            },
        }
    }

    fn checksum_error(&self, offset: u64, header: &RecordHeader, computed: u32) -> ReadError {
        ReadError::Checksum {
            file: self.name.clone(),
            offset,
            sequence: header.sequence,
            block_id: header.block_id,
            stored: header.crc,
            computed,
        }
    }

    /// Goes back to the first record.
    pub fn rewind(&mut self) {
        self.pos = BLOCK_SIZE as u64;
    }

    /// The next verified record of any kind, `Some(Err(Checksum))` for a damaged
    /// record followed by a valid one, `None` at the last complete record.
    pub fn next_record(&mut self) -> Option<Result<Frame, ReadError>> {
        let step = match self.record_at(self.pos) {
            Ok(s) => s,
            Err(e) => {
                self.pos = self.len;
                return Some(Err(e));
            }
        };
        match step {
            Step::End => None,
            Step::Record {
                offset,
                header,
                payload,
                computed,
            } => {
                // record_at checked that the record fits: no overflow.
                let next = offset + header.record_len().unwrap_or(0);
                if computed == header.crc {
                    self.pos = next;
                    return Some(Ok(Frame {
                        offset,
                        header,
                        payload,
                    }));
                }
                // A bad checksum is damage only if the walk can go on after it;
                // otherwise this record is where the torn tail begins.
                let mut probe = next;
                loop {
                    match self.header_at(probe) {
                        Ok(Ok(h)) => {
                            if self.verify_record(probe, &h) {
                                self.pos = next;
                                return Some(Err(self.checksum_error(offset, &header, computed)));
                            }
                            probe += h.record_len().unwrap_or(0);
                        }
                        Ok(Err(_)) => return None,
                        Err(e) => return Some(Err(e)),
                    }
                }
            }
        }
    }

    fn verify_record(&mut self, offset: u64, header: &RecordHeader) -> bool {
        matches!(self.record_at(offset), Ok(Step::Record { computed, .. }) if computed == header.crc)
    }

    /// Iterates over verified frames (index records are skipped); a damaged
    /// frame is an `Err` naming it, and iteration ends at the last complete record.
    pub fn frames(&mut self) -> Frames<'_, R> {
        self.rewind();
        Frames { reader: self }
    }

    /// Verifies every record and measures the tail after the last complete one.
    pub fn scan(&mut self) -> Result<ScanReport, ReadError> {
        self.scan_with(|_| {})
    }

    /// Like [`scan`](Self::scan), calling `visit` with the header of every verified frame in file order.
    pub fn scan_with(
        &mut self,
        mut visit: impl FnMut(&RecordHeader),
    ) -> Result<ScanReport, ReadError> {
        self.rewind();
        let mut report = ScanReport {
            header: self.header.clone(),
            frames: 0,
            index_records: 0,
            damaged: Vec::new(),
            data_end: BLOCK_SIZE as u64,
            torn_bytes: 0,
            unused_bytes: 0,
            file_len: self.len,
            index: Vec::new(),
        };
        while let Some(item) = self.next_record() {
            match item {
                Ok(frame) => {
                    match frame.header.kind {
                        RecordKind::Frame => {
                            visit(&frame.header);
                            report.frames += 1;
                            report.index.push(IndexEntry {
                                sequence: frame.header.sequence,
                                block_id: frame.header.block_id,
                                offset: frame.offset,
                            });
                        }
                        RecordKind::Index => report.index_records += 1,
                    }
                    report.data_end = self.pos;
                }
                Err(ReadError::Checksum {
                    offset,
                    sequence,
                    block_id,
                    stored,
                    computed,
                    ..
                }) => {
                    report.damaged.push(DamagedRecord {
                        offset,
                        sequence,
                        block_id,
                        stored,
                        computed,
                    });
                    report.data_end = self.pos;
                }
                Err(e) => return Err(e),
            }
        }
        report.data_end = report.data_end.min(self.len);
        let (torn, unused) = self.measure_tail(report.data_end)?;
        report.torn_bytes = torn;
        report.unused_bytes = unused;
        Ok(report)
    }

    /// Splits the bytes after `from` into (non-zero span, trailing zeros).
    fn measure_tail(&mut self, from: u64) -> Result<(u64, u64), ReadError> {
        const CHUNK: u64 = 1 << 20;
        let mut last_nonzero_end = from;
        let mut at = from;
        while at < self.len {
            let n = CHUNK.min(self.len - at);
            let buf = self.read_at(at, n as usize, "tail")?;
            if let Some(i) = buf.iter().rposition(|&b| b != 0) {
                last_nonzero_end = at + i as u64 + 1;
            }
            at += n;
        }
        Ok((last_nonzero_end - from, self.len - last_nonzero_end))
    }

    /// The frame index: from the index records when the file was closed
    /// cleanly (checked), otherwise rebuilt by walking the record headers.
    pub fn index(&mut self) -> Result<Vec<IndexEntry>, ReadError> {
        if self.header.is_closed() && self.header.index_offset != 0 {
            if let Some(entries) = self.index_from_chain()? {
                return Ok(entries);
            }
        }
        self.rebuild_index()
    }

    /// Follows the index records backwards from the header's `index_offset`;
    /// `None` when any of them fails verification.
    fn index_from_chain(&mut self) -> Result<Option<Vec<IndexEntry>>, ReadError> {
        let mut entries = Vec::new();
        let mut offset = self.header.index_offset;
        let mut hops = 0u64;
        while offset != 0 {
            hops += 1;
            if hops > self.len / BLOCK_SIZE as u64 {
                return Ok(None);
            }
            let frame = match self.read_frame_at(offset) {
                Ok(f) if f.header.kind == RecordKind::Index => f,
                Ok(_) | Err(ReadError::NoRecord { .. } | ReadError::Checksum { .. }) => {
                    return Ok(None)
                }
                Err(e) => return Err(e),
            };
            if frame.header.prev_index_offset >= offset {
                return Ok(None);
            }
            entries.extend(IndexEntry::parse_all(&frame.payload));
            offset = frame.header.prev_index_offset;
        }
        entries.sort_by_key(|e| e.offset);
        Ok(Some(entries))
    }

    /// Rebuilds the index from the record headers alone (payloads are not read or verified).
    pub fn rebuild_index(&mut self) -> Result<Vec<IndexEntry>, ReadError> {
        let mut entries = Vec::new();
        let mut offset = BLOCK_SIZE as u64;
        while let Ok(h) = self.header_at(offset)? {
            if h.kind == RecordKind::Frame {
                entries.push(IndexEntry {
                    sequence: h.sequence,
                    block_id: h.block_id,
                    offset,
                });
            }
            offset += h.record_len().unwrap_or(0);
        }
        Ok(entries)
    }
}

/// Iterator over the verified frames of a file; see [`RecordingReader::frames`].
#[derive(Debug)]
pub struct Frames<'a, R> {
    reader: &'a mut RecordingReader<R>,
}

impl<R: Read + Seek> Iterator for Frames<'_, R> {
    type Item = Result<Frame, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.reader.next_record()? {
                Ok(f) if f.header.kind == RecordKind::Index => continue,
                other => return Some(other),
            }
        }
    }
}
