//! Exporting recorded frames: raw payloads, PGM/PPM, PNG and TIFF images,
//! and pcapng captures of GVSP packets.
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
use super::pcapng::PcapngWriter;
use super::reader::{Frame, ReadError, RecordingReader};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// The payload bytes as recorded.
    Raw,
    /// Netpbm: PGM for Mono8/10/12/16 and 8-bit Bayer (as grey), PPM for RGB8/BGR8.
    Pnm,
    /// PNG (8- or 16-bit grey, RGB), through the `image` crate.
    Png,
    /// TIFF (8- or 16-bit grey, RGB), through the `image` crate.
    Tiff,
}

impl ExportFormat {
    /// The file name extension for a frame of `pixel_format`.
    pub fn extension(self, pixel_format: PixelFormat) -> &'static str {
        match self {
            ExportFormat::Raw => "raw",
            ExportFormat::Pnm if pixel_format.bits_per_pixel() == 24 => "ppm",
            ExportFormat::Pnm => "pgm",
            ExportFormat::Png => "png",
            ExportFormat::Tiff => "tiff",
        }
    }
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
    /// The image encoder failed.
    #[error("frame #{sequence}: encoding the image failed: {message}")]
    Encode {
        /// Its sequence number.
        sequence: u64,
        /// The encoder's message.
        message: String,
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

/// How a frame's pixels are laid out, checked against its payload.
struct Pixels<'a> {
    channels: u64,
    /// Bytes per sample: 1 or 2 (little-endian).
    bytes: u64,
    maxval: u32,
    bgr: bool,
    data: &'a [u8],
}

fn pixels<'a>(header: &RecordHeader, payload: &'a [u8]) -> Result<Pixels<'a>, ExportError> {
    let pf = PixelFormat(header.pixel_format);
    let not = |why| ExportError::NotAnImage {
        sequence: header.sequence,
        pixel_format: pf,
        width: header.width,
        height: header.height,
        payload: header.payload_size,
        why,
    };
    let (channels, bytes, maxval) = match pf {
        PixelFormat::MONO8
        | PixelFormat::BAYER_GR8
        | PixelFormat::BAYER_RG8
        | PixelFormat::BAYER_GB8
        | PixelFormat::BAYER_BG8 => (1, 1, 255u32),
        PixelFormat::MONO10 => (1, 2, 1023),
        PixelFormat::MONO12 => (1, 2, 4095),
        PixelFormat::MONO16 => (1, 2, 65535),
        PixelFormat::RGB8 | PixelFormat::BGR8 => (3, 1, 255),
        _ => return Err(not("pixel format not supported for images")),
    };
    let pixels = u64::from(header.width) * u64::from(header.height);
    let need = pixels * channels * bytes;
    if pixels == 0 || need > payload.len() as u64 {
        return Err(not("payload smaller than width x height pixels"));
    }
    Ok(Pixels {
        channels,
        bytes,
        maxval,
        bgr: pf == PixelFormat::BGR8,
        data: &payload[..need as usize],
    })
}

/// Encodes one frame as a PGM (grey) or PPM (colour) image.
pub fn to_pnm(header: &RecordHeader, payload: &[u8]) -> Result<Vec<u8>, ExportError> {
    let px = pixels(header, payload)?;
    let magic = if px.channels == 3 { "P6" } else { "P5" };
    let mut out = format!(
        "{magic}\n{} {}\n{}\n",
        header.width, header.height, px.maxval
    )
    .into_bytes();
    out.reserve(px.data.len());
    if px.bytes == 2 {
        for s in px.data.chunks_exact(2) {
            out.extend_from_slice(&[s[1], s[0]]);
        }
    } else if px.bgr {
        for p in px.data.chunks_exact(3) {
            out.extend_from_slice(&[p[2], p[1], p[0]]);
        }
    } else {
        out.extend_from_slice(px.data);
    }
    Ok(out)
}

/// Encodes one frame as PNG or TIFF (8-bit grey for Mono8 and Bayer 8-bit,
/// 16-bit grey for Mono10/12/16 as stored, RGB for RGB8/BGR8).
pub fn to_image(
    header: &RecordHeader,
    payload: &[u8],
    format: image::ImageFormat,
) -> Result<Vec<u8>, ExportError> {
    use image::{DynamicImage, ImageBuffer};
    let px = pixels(header, payload)?;
    let (w, h) = (header.width, header.height);
    let img = if px.bytes == 2 {
        let samples = px
            .data
            .chunks_exact(2)
            .map(|s| u16::from_le_bytes([s[0], s[1]]))
            .collect();
        ImageBuffer::from_raw(w, h, samples).map(DynamicImage::ImageLuma16)
    } else if px.channels == 3 {
        let mut rgb = px.data.to_vec();
        if px.bgr {
            rgb.chunks_exact_mut(3).for_each(|p| p.swap(0, 2));
        }
        ImageBuffer::from_raw(w, h, rgb).map(DynamicImage::ImageRgb8)
    } else {
        ImageBuffer::from_raw(w, h, px.data.to_vec()).map(DynamicImage::ImageLuma8)
    };
    let img = img.ok_or(ExportError::NotAnImage {
        sequence: header.sequence,
        pixel_format: PixelFormat(header.pixel_format),
        width: w,
        height: h,
        payload: header.payload_size,
        why: "payload smaller than width x height pixels",
    })?;
    let mut out = io::Cursor::new(Vec::new());
    img.write_to(&mut out, format)
        .map_err(|e| ExportError::Encode {
            sequence: header.sequence,
            message: e.to_string(),
        })?;
    Ok(out.into_inner())
}

/// Writes the frames with sequence numbers in `sequences` from a camera's
/// stripe files as GVSP packets into a pcapng capture at `out`.
pub fn export_pcapng(
    files: &[PathBuf],
    sequences: Range<u64>,
    out: &Path,
) -> Result<u64, ExportError> {
    let write_err = |source| ExportError::Write {
        path: out.to_path_buf(),
        source,
    };
    let file = fs::File::create(out).map_err(write_err)?;
    let mut pcap = PcapngWriter::new(io::BufWriter::new(file)).map_err(write_err)?;
    let mut frames = 0;
    for_each_selected(files, &sequences, |frame| {
        pcap.write_frame(&frame).map_err(write_err)?;
        frames += 1;
        Ok(())
    })?;
    pcap.finish().map_err(write_err)?;
    Ok(frames)
}

/// Calls `f` with every verified frame of `files` whose sequence number is in
/// `sequences`, in sequence order (one reader per file, records found through the index).
fn for_each_selected(
    files: &[PathBuf],
    sequences: &Range<u64>,
    mut f: impl FnMut(Frame) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let mut readers = Vec::with_capacity(files.len());
    let mut wanted = Vec::new();
    for (i, path) in files.iter().enumerate() {
        let mut reader = RecordingReader::open(path)?;
        for entry in reader.index()? {
            if sequences.contains(&entry.sequence) {
                wanted.push((entry.sequence, i, entry.offset));
            }
        }
        readers.push(reader);
    }
    wanted.sort_unstable();
    for (_, i, offset) in wanted {
        f(readers[i].read_frame_at(offset)?)?;
    }
    Ok(())
}

/// Exports the frames with sequence numbers in `sequences` from a camera's
/// stripe files into `out_dir`; returns the files written, in sequence order.
pub fn export_frames(
    files: &[PathBuf],
    sequences: Range<u64>,
    format: ExportFormat,
    out_dir: &Path,
) -> Result<Vec<PathBuf>, ExportError> {
    let mut written = Vec::new();
    for_each_selected(files, &sequences, |frame| {
        let h = &frame.header;
        let ext = format.extension(PixelFormat(h.pixel_format));
        let bytes = match format {
            ExportFormat::Raw => frame.payload.clone(),
            ExportFormat::Pnm => to_pnm(h, &frame.payload)?,
            ExportFormat::Png => to_image(h, &frame.payload, image::ImageFormat::Png)?,
            ExportFormat::Tiff => to_image(h, &frame.payload, image::ImageFormat::Tiff)?,
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
        Ok(())
    })?;
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
    fn png_and_tiff_decode_to_the_same_pixels() {
        let mono16 = [0x34, 0x12, 0xCD, 0xAB, 0, 0, 0xFF, 0xFF];
        for format in [image::ImageFormat::Png, image::ImageFormat::Tiff] {
            let bytes = to_image(&header(PixelFormat::MONO16, 2, 2, 8), &mono16, format).unwrap();
            let img = image::load_from_memory_with_format(&bytes, format)
                .unwrap()
                .into_luma16();
            assert_eq!(img.into_raw(), vec![0x1234, 0xABCD, 0, 0xFFFF]);
            let bytes = to_image(&header(PixelFormat::BGR8, 1, 1, 3), &[1, 2, 3], format).unwrap();
            let img = image::load_from_memory_with_format(&bytes, format)
                .unwrap()
                .into_rgb8();
            assert_eq!(img.into_raw(), vec![3, 2, 1]);
        }
    }

    #[test]
    fn short_payloads_and_unknown_formats_are_refused() {
        let e = to_pnm(&header(PixelFormat::MONO8, 4, 4, 3), &[0; 3]).unwrap_err();
        assert!(e.to_string().contains("frame #9"), "{e}");
        assert!(to_pnm(&header(PixelFormat(0x0123_4567), 1, 1, 8), &[0; 8]).is_err());
        let png = image::ImageFormat::Png;
        assert!(to_image(&header(PixelFormat::MONO8, 4, 4, 3), &[0; 3], png).is_err());
    }
}
