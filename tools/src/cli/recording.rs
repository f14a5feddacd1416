//! `gvcap inspect` and `gvcap export`: reading recordings back.

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use gvcap::record::{export_frames, export_pcapng, inspect, ExportFormat, InspectReport};

/// What `gvcap export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportKind {
    /// One PNG per frame (8/16-bit grey, RGB).
    Png,
    /// One TIFF per frame.
    Tiff,
    /// One PGM/PPM per frame (Bayer as grey).
    Pgm,
    /// The payload bytes as recorded, one file per frame.
    Raw,
    /// All selected frames as GVSP packets in one pcapng file Wireshark opens.
    Pcapng,
}

/// Parses `A..B` (B excluded), `A..=B`, `A..` or a single frame `A`.
pub fn parse_frames(text: &str) -> Result<Range<u64>> {
    let bad = || {
        format!(
            "--frames {text:?}: expected A..B, A..=B, A.. or N (record sequence numbers, from 0)"
        )
    };
    if let Some((a, b)) = text.split_once("..") {
        let start: u64 = if a.is_empty() {
            0
        } else {
            a.parse().with_context(bad)?
        };
        let end: u64 = match b.strip_prefix('=') {
            Some(inclusive) => inclusive
                .parse::<u64>()
                .with_context(bad)?
                .saturating_add(1),
            None if b.is_empty() => u64::MAX,
            None => b.parse().with_context(bad)?,
        };
        if end <= start {
            bail!("--frames {text:?} selects nothing: the end must be after the start");
        }
        return Ok(start..end);
    }
    let n: u64 = text.parse().with_context(bad)?;
    Ok(n..n + 1)
}

/// `gvcap inspect FILE... [--json]`.
pub fn run_inspect(files: &[PathBuf], json: bool) -> Result<()> {
    let report = inspect(files).context("inspecting the recording")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

fn print_report(report: &InspectReport) {
    for c in &report.cameras {
        println!(
            "camera {} (index {}, {} file(s))",
            c.camera,
            c.camera_index,
            c.files.len()
        );
        println!(
            "  frames {}  incomplete {}  resent {}  started with PTP {}  bytes {}",
            c.frames, c.incomplete, c.resent, c.started_with_ptp, c.bytes
        );
        println!(
            "  gaps {} ({} block ids missing)  out of order {}  records missing {}  dropped by recorder {}",
            c.gaps.len(),
            c.missing_frames,
            c.out_of_order,
            c.missing_records,
            c.dropped
        );
        if let (Some(first), Some(last)) = (c.first_timestamp, c.last_timestamp) {
            println!("  camera timestamps {first} .. {last}");
        }
        if let Some(s) = &c.frame_interval {
            println!(
                "  frame interval: mean {:.0} min {:.0} max {:.0} p99 {:.0} stddev {:.1}",
                s.mean, s.min, s.max, s.p99, s.stddev
            );
        }
        for d in &c.damaged {
            println!("  DAMAGED: {d:?}");
        }
        if c.torn_bytes > 0 {
            println!(
                "  {} torn bytes after the last complete record (the recording was interrupted)",
                c.torn_bytes
            );
        }
        if c.stopped_on_error {
            println!("  recording stopped on an error");
        }
        if !c.closed {
            println!("  not closed by the writer: recovered by scanning records");
        }
    }
    if let Some(a) = &report.alignment {
        println!(
            "alignment over {} cameras: {} frames matched by block id",
            a.cameras, a.matched_frames
        );
        if let Some(s) = &a.camera_timestamp_spread_ns {
            println!(
                "  camera timestamp spread (ns): mean {:.0} p99 {:.0} max {:.0}",
                s.mean, s.p99, s.max
            );
        }
        if let Some(s) = &a.receive_timestamp_spread_ns {
            println!(
                "  receive timestamp spread (ns): mean {:.0} p99 {:.0} max {:.0}",
                s.mean, s.p99, s.max
            );
        }
    }
}

/// `gvcap export FILE... --frames A..B --format F --out DIR|FILE`.
pub fn run_export(files: &[PathBuf], frames: &str, format: ExportKind, out: &Path) -> Result<()> {
    let range = parse_frames(frames)?;
    if format == ExportKind::Pcapng {
        let target = if out.is_dir() {
            out.join("frames.pcapng")
        } else {
            out.to_path_buf()
        };
        let n = export_pcapng(files, range, &target).context("exporting GVSP packets to pcapng")?;
        println!("{n} frames written to {} as GVSP packets", target.display());
        return Ok(());
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let format = match format {
        ExportKind::Png => ExportFormat::Png,
        ExportKind::Tiff => ExportFormat::Tiff,
        ExportKind::Pgm => ExportFormat::Pnm,
        ExportKind::Raw => ExportFormat::Raw,
        ExportKind::Pcapng => unreachable!("handled above"),
    };
    let written = export_frames(files, range, format, out).context("exporting frames")?;
    if written.is_empty() {
        bail!("no frame of the recording is in the range {frames}; `gvcap inspect FILE` shows how many there are");
    }
    println!("{} files written to {}", written.len(), out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_frames;

    #[test]
    fn frame_ranges() {
        assert_eq!(parse_frames("3..7").unwrap(), 3..7);
        assert_eq!(parse_frames("3..=7").unwrap(), 3..8);
        assert_eq!(parse_frames("..2").unwrap(), 0..2);
        assert_eq!(parse_frames("5..").unwrap(), 5..u64::MAX);
        assert_eq!(parse_frames("9").unwrap(), 9..10);
        assert!(parse_frames("7..3").is_err());
        assert!(parse_frames("x").is_err());
    }
}
