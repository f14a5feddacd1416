//! Exporting recorded frames: raw payloads and PGM/PPM images.
//!
//! Invariants:
//! - only verified frames are exported (a damaged record is an error naming it);
//! - an image is written only when the payload holds at least
//!   width x height pixels of its format; 16-bit samples are written
//!   big-endian as PGM requires, BGR is reordered to RGB;
//! - frames are selected by record sequence number over all of a camera's
//!   stripes; output names are `cam{NN}-{sequence:06}-b{block id}.{ext}`.

use std::fs;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::wire::gvsp::PixelFormat;

use super::format::RecordHeader;
use super::reader::{ReadError, RecordingReader};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// The payload bytes as recorded.
    Raw,
    /// Netpbm: PGM for Mono8/10/12/16 and 8-bit Bayer (as grey), PPM for RGB8/BGR8.
    Pnm,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the recording failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Writing an output file failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The output file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The frame cannot be an image in this format.
    #[error(
        "frame #{sequence} ({pixel_format}, {width}x{height}, {payload} bytes): {why}; export it as raw"
    )]
    NotAnImage {
        /// Its sequence number.
        sequence: u64,
        /// Its pixel format.
        pixel_format: PixelFormat,
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// Payload bytes.
        payload: u64,
        /// What is wrong.
        why: &'static str,
    },
}

/// Encodes one frame as a PGM (grey) or PPM (colour) image.
pub fn to_pnm(header: &RecordHeader, payload: &[u8]) -> Result<Vec<u8>, ExportError> {
    let pf = PixelFormat(header.pixel_format);
    let not = |why| ExportError::NotAnImage {
        sequence: header.sequence,
        pixel_format: pf,
        width: header.width,
        height: header.height,
        payload: header.payload_size,
        why,
    };
    let (magic, channels, bytes, maxval) = match pf {
        PixelFormat::MONO8
        | PixelFormat::BAYER_GR8
        | PixelFormat::BAYER_RG8
        | PixelFormat::BAYER_GB8
        | PixelFormat::BAYER_BG8 => ("P5", 1, 1, 255u32),
        PixelFormat::MONO10 => ("P5", 1, 2, 1023),
        PixelFormat::MONO12 => ("P5", 1, 2, 4095),
        PixelFormat::MONO16 => ("P5", 1, 2, 65535),
        PixelFormat::RGB8 | PixelFormat::BGR8 => ("P6", 3, 1, 255),
        _ => return Err(not("pixel format not supported for images")),
    };
    let pixels = u64::from(header.width) * u64::from(header.height);
    let need = pixels * channels * bytes;
    if pixels == 0 || need > payload.len() as u64 {
        return Err(not("payload smaller than width x height pixels"));
    }
    let data = &payload[..need as usize];
    let mut out = format!("{magic}\n{} {}\n{maxval}\n", header.width, header.height).into_bytes();
    out.reserve(data.len());
    match (bytes, pf) {
        (2, _) => {
            for s in data.chunks_exact(2) {
                out.extend_from_slice(&[s[1], s[0]]);
            }
        }
        (_, PixelFormat::BGR8) => {
            for p in data.chunks_exact(3) {
                out.extend_from_slice(&[p[2], p[1], p[0]]);
            }
        }
        _ => out.extend_from_slice(data),
    }
    Ok(out)
}

/// Exports the frames with sequence numbers in `sequences` from a camera's
/// stripe files into `out_dir`; returns the files written, in sequence order.
pub fn export_frames(
    files: &[PathBuf],
    sequences: Range<u64>,
    format: ExportFormat,
    out_dir: &Path,
) -> Result<Vec<PathBuf>, ExportError> {
    let mut wanted = Vec::new();
    for path in files {
        let mut reader = RecordingReader::open(path)?;
        for entry in reader.index()? {
            if sequences.contains(&entry.sequence) {
                wanted.push((entry.sequence, path.clone(), entry.offset));
            }
        }
    }
    wanted.sort();
    let mut written = Vec::with_capacity(wanted.len());
    let mut readers: Vec<(PathBuf, RecordingReader<fs::File>)> = Vec::new();
    for (_, path, offset) in wanted {
        let reader = match readers.iter().position(|(p, _)| *p == path) {
            Some(i) => &mut readers[i].1,
            None => {
                readers.push((path.clone(), RecordingReader::open(&path)?));
                &mut readers.last_mut().expect("just pushed").1
            }
        };
        let frame = reader.read_frame_at(offset)?;
        let h = &frame.header;
        let (bytes, ext) = match format {
            ExportFormat::Raw => (frame.payload.clone(), "raw"),
            ExportFormat::Pnm => {
                let ext = if PixelFormat(h.pixel_format).bits_per_pixel() == 24 {
                    "ppm"
                } else {
                    "pgm"
                };
                (to_pnm(h, &frame.payload)?, ext)
            }
        };
        let out = out_dir.join(format!(
            "cam{:02}-{:06}-b{}.{ext}",
            h.camera_index, h.sequence, h.block_id
        ));
        fs::write(&out, bytes).map_err(|source| ExportError::Write {
            path: out.clone(),
            source,
        })?;
        written.push(out);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::format::{RecordKind, TimestampSource};

    fn header(pf: PixelFormat, w: u32, h: u32, payload: u64) -> RecordHeader {
        RecordHeader {
            kind: RecordKind::Frame,
            camera_index: 0,
            flags: 0,
            sequence: 9,
            block_id: 1,
            camera_timestamp: 0,
            receive_timestamp_ns: 0,
            timestamp_source: TimestampSource::Unknown,
            payload_size: payload,
            pixel_format: pf.0,
            width: w,
            height: h,
            prev_index_offset: 0,
            crc: 0,
        }
    }

    #[test]
    fn mono8_pgm() {
        let img = to_pnm(&header(PixelFormat::MONO8, 2, 2, 4), &[1, 2, 3, 4]).unwrap();
        assert_eq!(img, b"P5\n2 2\n255\n\x01\x02\x03\x04");
    }

    #[test]
    fn mono16_is_big_endian() {
        let img = to_pnm(
            &header(PixelFormat::MONO16, 2, 1, 4),
            &[0x34, 0x12, 0xCD, 0xAB],
        )
        .unwrap();
        assert_eq!(img, b"P5\n2 1\n65535\n\x12\x34\xAB\xCD");
    }

    #[test]
    fn bgr8_becomes_rgb_ppm() {
        let img = to_pnm(&header(PixelFormat::BGR8, 1, 1, 3), &[1, 2, 3]).unwrap();
        assert_eq!(img, b"P6\n1 1\n255\n\x03\x02\x01");
    }

    #[test]
    fn short_payloads_and_unknown_formats_are_refused() {
        let e = to_pnm(&header(PixelFormat::MONO8, 4, 4, 3), &[0; 3]).unwrap_err();
        assert!(e.to_string().contains("frame #9"), "{e}");
        assert!(to_pnm(&header(PixelFormat(0x0123_4567), 1, 1, 8), &[0; 8]).is_err());
    }
}
