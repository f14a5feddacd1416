//! The on-disk recording format: file header, record headers, index entries.
//!
//! Invariants:
//! - everything is little-endian; every record starts on a multiple of
//!   [`BLOCK_SIZE`] and occupies one header block plus its payload padded to
//!   a multiple of [`BLOCK_SIZE`], so every write can use O_DIRECT;
//! - parsing never panics: every accessor reads through bounds-checked helpers
//!   and a short or malformed buffer is a [`FormatError`];
//! - the structs here ([`FileHeader`], [`RecordHeader`]) are the current,
//!   version-independent model; each on-disk version has its own `parse`
//!   (today only `v1`), and [`FileHeader::parse`] / [`RecordHeader::parse`]
//!   dispatch on the file's version number, so a new version adds a module
//!   and an arm without breaking old files;
//! - `emit` always writes the newest version ([`VERSION`]).
//!
//! The layout is documented byte by byte in `docs/recording-format.md`.

use core::fmt;

/// Alignment and size unit of the format: headers are one block, payloads are padded to blocks.
pub const BLOCK_SIZE: usize = 4096;
/// The version `emit` writes.
pub const VERSION: u16 = 1;
/// The oldest version this reader understands.
pub const OLDEST_VERSION: u16 = 1;
/// First 8 bytes of a recording file.
pub const FILE_MAGIC: [u8; 8] = *b"GVCAPREC";
/// First 8 bytes of every record header block.
pub const RECORD_MAGIC: [u8; 8] = *b"GVCAPRCD";
/// Bytes of one index entry in an index record's payload.
pub const INDEX_ENTRY_SIZE: usize = 24;
/// File name extension of recording files.
pub const FILE_EXTENSION: &str = "gvrec";

/// Rounds `n` up to a multiple of [`BLOCK_SIZE`], or `None` on overflow.
pub fn padded_len(n: u64) -> Option<u64> {
    let b = BLOCK_SIZE as u64;
    n.checked_add(b - 1).map(|v| v / b * b)
}

/// Why bytes are not a valid header of this format (small and `Copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatError {
    /// Fewer bytes than the structure needs.
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The magic bytes are not ours.
    BadMagic,
    /// A version this reader does not know.
    UnsupportedVersion(u16),
    /// The stored header checksum does not match the header bytes.
    HeaderChecksum {
        /// Checksum stored in the header.
        stored: u32,
        /// Checksum computed over the header bytes.
        computed: u32,
    },
    /// A field holds a value the format forbids.
    Invalid(&'static str),
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FormatError::Truncated { needed, available } => {
                write!(f, "truncated: {needed} bytes needed, {available} available")
            }
            FormatError::BadMagic => f.write_str("not a gvcap recording (bad magic bytes)"),
            FormatError::UnsupportedVersion(v) => write!(
                f,
                "format version {v} is not supported (this gvcap reads versions \
                 {OLDEST_VERSION} to {VERSION}): use a newer gvcap"
            ),
            FormatError::HeaderChecksum { stored, computed } => write!(
                f,
                "header checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
            FormatError::Invalid(what) => write!(f, "invalid header: {what}"),
        }
    }
}

impl std::error::Error for FormatError {}

/// Little-endian reads and writes at fixed offsets, bounds-checked once per call.
mod le {
    use super::FormatError;

    pub(super) fn check(buf: &[u8], needed: usize) -> Result<(), FormatError> {
        if buf.len() < needed {
            return Err(FormatError::Truncated {
                needed,
                available: buf.len(),
            });
        }
        Ok(())
    }

    fn array<const N: usize>(buf: &[u8], at: usize) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some(src) = buf.get(at..at + N) {
            out.copy_from_slice(src);
        }
        out
    }

    pub(super) fn u8_at(buf: &[u8], at: usize) -> u8 {
        buf.get(at).copied().unwrap_or(0)
    }
    pub(super) fn u16_at(buf: &[u8], at: usize) -> u16 {
        u16::from_le_bytes(array(buf, at))
    }
    pub(super) fn u32_at(buf: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(array(buf, at))
    }
    pub(super) fn u64_at(buf: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(array(buf, at))
    }
    pub(super) fn bytes_at<const N: usize>(buf: &[u8], at: usize) -> [u8; N] {
        array(buf, at)
    }

    pub(super) fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
        if let Some(dst) = buf.get_mut(at..at + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    }
    pub(super) fn put_u16(buf: &mut [u8], at: usize, v: u16) {
        put(buf, at, &v.to_le_bytes());
    }
    pub(super) fn put_u32(buf: &mut [u8], at: usize, v: u32) {
        put(buf, at, &v.to_le_bytes());
    }
    pub(super) fn put_u64(buf: &mut [u8], at: usize, v: u64) {
        put(buf, at, &v.to_le_bytes());
    }

    /// A string field: UTF-8 (lossy), cut at the first NUL.
    pub(super) fn text(buf: &[u8], at: usize, len: usize) -> String {
        let field = buf.get(at..at + len).unwrap_or(&[]);
        let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
        String::from_utf8_lossy(&field[..end]).into_owned()
    }

    /// Writes `s` NUL-padded into a `len`-byte field, cut on a char boundary.
    pub(super) fn put_text(buf: &mut [u8], at: usize, len: usize, s: &str) {
        let mut end = s.len().min(len);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        if let Some(field) = buf.get_mut(at..at + len) {
            field.fill(0);
            field[..end].copy_from_slice(&s.as_bytes()[..end]);
        }
    }
}

/// Flags of the file header.
pub mod file_flags {
    /// The writer finished cleanly: `frames`, `index_offset`, `data_end` and `dropped` are final.
    pub const CLOSED: u32 = 1 << 0;
    /// Recording stopped on an error; the file was cut at the end of its last complete record.
    pub const STOPPED_ON_ERROR: u32 = 1 << 1;
}

/// Flags of a frame record.
pub mod frame_flags {
    /// Packets were missing when the frame was handed over (payload holes are zero or stale).
    pub const INCOMPLETE: u32 = 1 << 0;
    /// The frame started while the camera's PTP clock was locked.
    pub const STARTED_WITH_PTP: u32 = 1 << 1;
    /// At least one packet arrived through a resend.
    pub const RESENT: u32 = 1 << 2;
}

/// The identity of the camera a file records (strings are cut to their field widths).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CameraIdentity {
    /// Manufacturer name (up to 64 bytes).
    pub vendor: String,
    /// Model name (up to 64 bytes).
    pub model: String,
    /// Serial number (up to 32 bytes).
    pub serial: String,
    /// User-defined name (up to 32 bytes).
    pub user_name: String,
}

impl fmt::Display for CameraIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} #{}", self.vendor, self.model, self.serial)?;
        if !self.user_name.is_empty() {
            write!(f, " ({})", self.user_name)?;
        }
        Ok(())
    }
}

/// The file header: block 0 of every file, describing the camera and the stripe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileHeader {
    /// Version the file was written with.
    pub version: u16,
    /// Alignment of records in bytes ([`BLOCK_SIZE`] in version 1).
    pub block_size: u32,
    /// [`file_flags`].
    pub flags: u32,
    /// Index of the camera within the recording.
    pub camera_index: u16,
    /// Which stripe of this camera the file is (0-based).
    pub stripe_index: u16,
    /// How many stripes (files) this camera's recording is spread over.
    pub stripe_count: u16,
    /// Width of the camera's block ids: 16 (GVSP standard ids) or 64 (extended ids).
    pub block_id_bits: u8,
    /// Nominal PFNC pixel format.
    pub pixel_format: u32,
    /// Nominal width in pixels.
    pub width: u32,
    /// Nominal height in pixels.
    pub height: u32,
    /// The camera's maximum payload size in bytes.
    pub payload_size: u64,
    /// Camera timestamp ticks per second, 0 when unknown.
    pub timestamp_frequency_hz: u64,
    /// Creation time, nanoseconds since the Unix epoch (CLOCK_REALTIME).
    pub created_unix_ns: u64,
    /// Identifies one recording: every stripe of every camera shares it.
    pub recording_id: u64,
    /// Records of this file (valid when `CLOSED`).
    pub frames: u64,
    /// Offset of the last index record, 0 when none (valid when `CLOSED`).
    pub index_offset: u64,
    /// End of the last record (valid when `CLOSED`).
    pub data_end: u64,
    /// Frames of this camera dropped because the disk could not keep up (valid when `CLOSED`).
    pub dropped: u64,
    /// The camera.
    pub camera: CameraIdentity,
}

/// Version 1 byte layout (see docs/recording-format.md).
mod v1 {
    /// Bytes of the file header covered by its checksum, which follows them.
    pub(super) const FILE_HEADER_CRC: usize = 508;
    /// Bytes of a record header covered by the header checksum, which follows them.
    pub(super) const RECORD_HEADER_CRC: usize = 88;
    /// Offset of the whole-record checksum (header + payload).
    pub(super) const RECORD_CRC: usize = 92;
    /// Bytes of a record header.
    pub(super) const RECORD_HEADER_LEN: usize = 96;
}

impl FileHeader {
    /// Bytes of the encoded header (the rest of block 0 is zero).
    pub const ENCODED_LEN: usize = 512;

    /// Parses block 0 of a file, dispatching on its version.
    pub fn parse(buf: &[u8]) -> Result<FileHeader, FormatError> {
        le::check(buf, 16)?;
        if le::bytes_at::<8>(buf, 0) != FILE_MAGIC {
            return Err(FormatError::BadMagic);
        }
        match le::u16_at(buf, 8) {
            1 => Self::parse_v1(buf),
            v => Err(FormatError::UnsupportedVersion(v)),
        }
    }

    fn parse_v1(buf: &[u8]) -> Result<FileHeader, FormatError> {
        le::check(buf, Self::ENCODED_LEN)?;
        let stored = le::u32_at(buf, v1::FILE_HEADER_CRC);
        let computed = crc32c::crc32c(&buf[..v1::FILE_HEADER_CRC]);
        if stored != computed {
            return Err(FormatError::HeaderChecksum { stored, computed });
        }
        let h = FileHeader {
            version: 1,
            block_size: le::u32_at(buf, 12),
            flags: le::u32_at(buf, 16),
            camera_index: le::u16_at(buf, 20),
            stripe_index: le::u16_at(buf, 22),
            stripe_count: le::u16_at(buf, 24),
            block_id_bits: le::u8_at(buf, 26),
            pixel_format: le::u32_at(buf, 28),
            width: le::u32_at(buf, 32),
            height: le::u32_at(buf, 36),
            payload_size: le::u64_at(buf, 40),
            timestamp_frequency_hz: le::u64_at(buf, 48),
            created_unix_ns: le::u64_at(buf, 56),
            recording_id: le::u64_at(buf, 64),
            frames: le::u64_at(buf, 72),
            index_offset: le::u64_at(buf, 80),
            data_end: le::u64_at(buf, 88),
            dropped: le::u64_at(buf, 96),
            camera: CameraIdentity {
                vendor: le::text(buf, 104, 64),
                model: le::text(buf, 168, 64),
                serial: le::text(buf, 232, 32),
                user_name: le::text(buf, 264, 32),
            },
        };
        if h.block_size as usize != BLOCK_SIZE {
            return Err(FormatError::Invalid("block size is not 4096"));
        }
        if h.stripe_count == 0 || h.stripe_index >= h.stripe_count {
            return Err(FormatError::Invalid("stripe index out of range"));
        }
        if h.block_id_bits != 16 && h.block_id_bits != 64 {
            return Err(FormatError::Invalid(
                "block id width is neither 16 nor 64 bits",
            ));
        }
        Ok(h)
    }

    /// Writes the header (newest version) into `buf`, zeroing the rest of it.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), FormatError> {
        le::check(buf, Self::ENCODED_LEN)?;
        buf.fill(0);
        le::put(buf, 0, &FILE_MAGIC);
        le::put_u16(buf, 8, VERSION);
        le::put_u16(buf, 10, Self::ENCODED_LEN as u16);
        le::put_u32(buf, 12, BLOCK_SIZE as u32);
        le::put_u32(buf, 16, self.flags);
        le::put_u16(buf, 20, self.camera_index);
        le::put_u16(buf, 22, self.stripe_index);
        le::put_u16(buf, 24, self.stripe_count);
        buf[26] = self.block_id_bits;
        le::put_u32(buf, 28, self.pixel_format);
        le::put_u32(buf, 32, self.width);
        le::put_u32(buf, 36, self.height);
        le::put_u64(buf, 40, self.payload_size);
        le::put_u64(buf, 48, self.timestamp_frequency_hz);
        le::put_u64(buf, 56, self.created_unix_ns);
        le::put_u64(buf, 64, self.recording_id);
        le::put_u64(buf, 72, self.frames);
        le::put_u64(buf, 80, self.index_offset);
        le::put_u64(buf, 88, self.data_end);
        le::put_u64(buf, 96, self.dropped);
        le::put_text(buf, 104, 64, &self.camera.vendor);
        le::put_text(buf, 168, 64, &self.camera.model);
        le::put_text(buf, 232, 32, &self.camera.serial);
        le::put_text(buf, 264, 32, &self.camera.user_name);
        let crc = crc32c::crc32c(&buf[..v1::FILE_HEADER_CRC]);
        le::put_u32(buf, v1::FILE_HEADER_CRC, crc);
        Ok(())
    }

    /// True when the writer closed the file cleanly.
    pub fn is_closed(&self) -> bool {
        self.flags & file_flags::CLOSED != 0
    }
}

/// Where a receive timestamp came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimestampSource {
    /// Not known.
    #[default]
    Unknown,
    /// The NIC's hardware receive timestamp.
    Hardware,
    /// CLOCK_TAI read at receive.
    Tai,
    /// CLOCK_REALTIME read at receive.
    Realtime,
    /// CLOCK_MONOTONIC read at receive.
    Monotonic,
}

impl TimestampSource {
    /// The on-disk code.
    pub fn code(self) -> u8 {
        match self {
            TimestampSource::Unknown => 0,
            TimestampSource::Hardware => 1,
            TimestampSource::Tai => 2,
            TimestampSource::Realtime => 3,
            TimestampSource::Monotonic => 4,
        }
    }

    /// The source of an on-disk code (unknown codes read as `Unknown`).
    pub fn from_code(code: u8) -> TimestampSource {
        match code {
            1 => TimestampSource::Hardware,
            2 => TimestampSource::Tai,
            3 => TimestampSource::Realtime,
            4 => TimestampSource::Monotonic,
            _ => TimestampSource::Unknown,
        }
    }
}

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// One camera frame; the payload is the image data.
    Frame,
    /// Index entries ([`IndexEntry`]) for the frames written since the previous index record.
    Index,
}

impl RecordKind {
    fn code(self) -> u8 {
        match self {
            RecordKind::Frame => 1,
            RecordKind::Index => 2,
        }
    }
}

/// The header block of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHeader {
    /// Frame or index.
    pub kind: RecordKind,
    /// Camera index (same as the file header's).
    pub camera_index: u16,
    /// [`frame_flags`] (frames), 0 for index records.
    pub flags: u32,
    /// Frames: the camera's record sequence number over all its stripes; index: the index record number.
    pub sequence: u64,
    /// GVSP block id (frames).
    pub block_id: u64,
    /// Camera timestamp in camera ticks (frames).
    pub camera_timestamp: u64,
    /// Receive timestamp in nanoseconds (frames).
    pub receive_timestamp_ns: u64,
    /// Clock of `receive_timestamp_ns`.
    pub timestamp_source: TimestampSource,
    /// Payload bytes (unpadded).
    pub payload_size: u64,
    /// PFNC pixel format (frames).
    pub pixel_format: u32,
    /// Width in pixels (frames).
    pub width: u32,
    /// Height in pixels (frames).
    pub height: u32,
    /// Index records: offset of the previous index record, 0 when none.
    pub prev_index_offset: u64,
    /// CRC32C over the header bytes and then the payload (filled by `emit`, checked by readers).
    pub crc: u32,
}

impl RecordHeader {
    /// Bytes of one record on disk: the header block plus the padded payload.
    pub fn record_len(&self) -> Option<u64> {
        padded_len(self.payload_size)?.checked_add(BLOCK_SIZE as u64)
    }

    /// Parses a record header block of a file of `version`; checks magic and header checksum.
    pub fn parse(version: u16, buf: &[u8]) -> Result<RecordHeader, FormatError> {
        match version {
            1 => Self::parse_v1(buf),
            v => Err(FormatError::UnsupportedVersion(v)),
        }
    }

    fn parse_v1(buf: &[u8]) -> Result<RecordHeader, FormatError> {
        le::check(buf, v1::RECORD_HEADER_LEN)?;
        if le::bytes_at::<8>(buf, 0) != RECORD_MAGIC {
            return Err(FormatError::BadMagic);
        }
        let stored = le::u32_at(buf, v1::RECORD_HEADER_CRC);
        let computed = crc32c::crc32c(&buf[..v1::RECORD_HEADER_CRC]);
        if stored != computed {
            return Err(FormatError::HeaderChecksum { stored, computed });
        }
        let kind = match le::u8_at(buf, 8) {
            1 => RecordKind::Frame,
            2 => RecordKind::Index,
            _ => return Err(FormatError::Invalid("unknown record kind")),
        };
        let h = RecordHeader {
            kind,
            timestamp_source: TimestampSource::from_code(le::u8_at(buf, 9)),
            camera_index: le::u16_at(buf, 10),
            flags: le::u32_at(buf, 12),
            sequence: le::u64_at(buf, 16),
            block_id: le::u64_at(buf, 24),
            camera_timestamp: le::u64_at(buf, 32),
            receive_timestamp_ns: le::u64_at(buf, 40),
            payload_size: le::u64_at(buf, 48),
            pixel_format: le::u32_at(buf, 56),
            width: le::u32_at(buf, 60),
            height: le::u32_at(buf, 64),
            prev_index_offset: le::u64_at(buf, 72),
            crc: le::u32_at(buf, v1::RECORD_CRC),
        };
        if h.record_len().is_none() {
            return Err(FormatError::Invalid("payload size overflows"));
        }
        if h.kind == RecordKind::Index && h.payload_size % INDEX_ENTRY_SIZE as u64 != 0 {
            return Err(FormatError::Invalid(
                "index payload is not a whole number of entries",
            ));
        }
        Ok(h)
    }

    /// Writes the header (newest version) into `buf` (zeroing it) with the
    /// checksum over the header and `payload`; returns that checksum.
    pub fn emit(&self, payload: &[u8], buf: &mut [u8]) -> Result<u32, FormatError> {
        le::check(buf, v1::RECORD_HEADER_LEN)?;
        buf.fill(0);
        le::put(buf, 0, &RECORD_MAGIC);
        buf[8] = self.kind.code();
        buf[9] = self.timestamp_source.code();
        le::put_u16(buf, 10, self.camera_index);
        le::put_u32(buf, 12, self.flags);
        le::put_u64(buf, 16, self.sequence);
        le::put_u64(buf, 24, self.block_id);
        le::put_u64(buf, 32, self.camera_timestamp);
        le::put_u64(buf, 40, self.receive_timestamp_ns);
        le::put_u64(buf, 48, self.payload_size);
        le::put_u32(buf, 56, self.pixel_format);
        le::put_u32(buf, 60, self.width);
        le::put_u32(buf, 64, self.height);
        le::put_u64(buf, 72, self.prev_index_offset);
        let header_crc = crc32c::crc32c(&buf[..v1::RECORD_HEADER_CRC]);
        le::put_u32(buf, v1::RECORD_HEADER_CRC, header_crc);
        let crc = crc32c::crc32c_append(crc32c::crc32c(&buf[..v1::RECORD_CRC]), payload);
        le::put_u32(buf, v1::RECORD_CRC, crc);
        Ok(crc)
    }

    /// The checksum a record with this header block and `payload` should carry.
    pub fn compute_crc(version: u16, header_block: &[u8], payload: &[u8]) -> u32 {
        // Every version so far covers the same header bytes; a new layout adds an arm.
        let covered = match version {
            1 => v1::RECORD_CRC,
            _ => v1::RECORD_CRC,
        };
        let head = header_block.get(..covered).unwrap_or(header_block);
        crc32c::crc32c_append(crc32c::crc32c(head), payload)
    }
}

/// One entry of an index record: where a frame record of this file starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct IndexEntry {
    /// The frame's record sequence number.
    pub sequence: u64,
    /// The frame's block id.
    pub block_id: u64,
    /// Offset of the record's header block in the file.
    pub offset: u64,
}

impl IndexEntry {
    /// Appends the encoded entry to `out`.
    pub fn emit(&self, out: &mut [u8]) {
        le::put_u64(out, 0, self.sequence);
        le::put_u64(out, 8, self.block_id);
        le::put_u64(out, 16, self.offset);
    }

    /// Decodes the entries of an index record's payload (a trailing partial entry is ignored).
    pub fn parse_all(payload: &[u8]) -> Vec<IndexEntry> {
        payload
            .chunks_exact(INDEX_ENTRY_SIZE)
            .map(|e| IndexEntry {
                sequence: le::u64_at(e, 0),
                block_id: le::u64_at(e, 8),
                offset: le::u64_at(e, 16),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_file_header() -> FileHeader {
        FileHeader {
            version: VERSION,
            block_size: BLOCK_SIZE as u32,
            flags: file_flags::CLOSED,
            camera_index: 3,
            stripe_index: 1,
            stripe_count: 2,
            block_id_bits: 16,
            pixel_format: 0x0108_0001,
            width: 640,
            height: 480,
            payload_size: 640 * 480,
            timestamp_frequency_hz: 1_000_000_000,
            created_unix_ns: 1_700_000_000_000_000_000,
            recording_id: 0xDEAD_BEEF,
            frames: 10,
            index_offset: 8192,
            data_end: 1 << 20,
            dropped: 2,
            camera: CameraIdentity {
                vendor: "Aravis".into(),
                model: "Fake".into(),
                serial: "GV01".into(),
                user_name: "left".into(),
            },
        }
    }

    #[test]
    fn file_header_round_trip_and_fixed_bytes() {
        let h = sample_file_header();
        let mut block = vec![0xAAu8; BLOCK_SIZE];
        h.emit(&mut block).unwrap();
        assert_eq!(&block[..8], b"GVCAPREC");
        assert_eq!(&block[8..10], &[1, 0]);
        assert_eq!(&block[28..32], &[0x01, 0x00, 0x08, 0x01]);
        assert_eq!(&block[104..110], b"Aravis");
        assert!(block[512..].iter().all(|&b| b == 0));
        assert_eq!(FileHeader::parse(&block).unwrap(), h);
    }

    #[test]
    fn file_header_rejects_damage() {
        let mut block = vec![0u8; BLOCK_SIZE];
        sample_file_header().emit(&mut block).unwrap();
        let mut bad = block.clone();
        bad[40] ^= 1;
        assert!(matches!(
            FileHeader::parse(&bad),
            Err(FormatError::HeaderChecksum { .. })
        ));
        let mut newer = block.clone();
        newer[8] = 9;
        assert_eq!(
            FileHeader::parse(&newer),
            Err(FormatError::UnsupportedVersion(9))
        );
        assert!(FileHeader::parse(&block[..100]).is_err());
        assert_eq!(FileHeader::parse(&[0u8; 600]), Err(FormatError::BadMagic));
    }

    #[test]
    fn long_identity_strings_are_cut_on_char_boundaries() {
        let mut h = sample_file_header();
        h.camera.serial = "é".repeat(40);
        let mut block = vec![0u8; BLOCK_SIZE];
        h.emit(&mut block).unwrap();
        let back = FileHeader::parse(&block).unwrap();
        assert_eq!(back.camera.serial, "é".repeat(16));
    }

    #[test]
    fn record_header_round_trip_and_crc_covers_payload() {
        let h = RecordHeader {
            kind: RecordKind::Frame,
            camera_index: 1,
            flags: frame_flags::INCOMPLETE | frame_flags::RESENT,
            sequence: 42,
            block_id: 65535,
            camera_timestamp: 123_456_789,
            receive_timestamp_ns: 987_654_321,
            timestamp_source: TimestampSource::Tai,
            payload_size: 5,
            pixel_format: 0x0108_0001,
            width: 5,
            height: 1,
            prev_index_offset: 0,
            crc: 0,
        };
        let mut block = vec![0u8; BLOCK_SIZE];
        let crc = h.emit(b"hello", &mut block).unwrap();
        let back = RecordHeader::parse(1, &block).unwrap();
        assert_eq!(back, RecordHeader { crc, ..h.clone() });
        assert_eq!(RecordHeader::compute_crc(1, &block, b"hello"), crc);
        assert_ne!(RecordHeader::compute_crc(1, &block, b"hellp"), crc);
        assert_eq!(back.record_len(), Some(2 * BLOCK_SIZE as u64));
        block[30] ^= 0x10;
        assert!(matches!(
            RecordHeader::parse(1, &block),
            Err(FormatError::HeaderChecksum { .. })
        ));
    }

    #[test]
    fn index_entries_round_trip() {
        let entries = [
            IndexEntry {
                sequence: 1,
                block_id: 2,
                offset: 4096,
            },
            IndexEntry {
                sequence: 7,
                block_id: u64::MAX,
                offset: 1 << 40,
            },
        ];
        let mut buf = vec![0u8; 2 * INDEX_ENTRY_SIZE + 5];
        for (i, e) in entries.iter().enumerate() {
            e.emit(&mut buf[i * INDEX_ENTRY_SIZE..]);
        }
        assert_eq!(IndexEntry::parse_all(&buf), entries);
    }

    #[test]
    fn padding() {
        assert_eq!(padded_len(0), Some(0));
        assert_eq!(padded_len(1), Some(4096));
        assert_eq!(padded_len(4096), Some(4096));
        assert_eq!(padded_len(u64::MAX), None);
    }
}
