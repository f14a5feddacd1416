//! Inspecting recordings: per-camera counts, block-id gaps, timestamp
//! statistics, damage, and cross-camera alignment by block id.
//!
//! Invariants:
//! - files are grouped into cameras by (recording id, camera index), and a
//!   camera's frames are ordered by their record sequence number, so stripes
//!   merge back into one stream;
//! - 16-bit block ids count 1..=65535 and wrap to 1 (0 is reserved); a step
//!   of more than half the id space is counted as going backwards, not as a gap;
//! - only verified frames are counted; statistics never panic on any input
//!   (empty cameras give `None`, differences are computed in i128).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use super::format::{frame_flags, RecordHeader};
use super::reader::{DamagedRecord, ReadError, RecordingReader};

/// Everything `inspect` found, ready for JSON.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InspectReport {
    /// One entry per camera, in (recording, camera index) order.
    pub cameras: Vec<CameraReport>,
    /// Cross-camera alignment, when there are at least two cameras.
    pub alignment: Option<Alignment>,
}

/// A run of missing block ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Gap {
    /// The last block id before the gap.
    pub after: u64,
    /// The first block id after it.
    pub before: u64,
    /// How many ids are missing.
    pub missing: u64,
}

/// Summary statistics of a set of durations, in nanoseconds (or ticks when
/// the camera's tick frequency is unknown).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Stats {
    /// How many values.
    pub count: u64,
    /// Smallest.
    pub min: f64,
    /// Mean.
    pub mean: f64,
    /// Largest.
    pub max: f64,
    /// Standard deviation.
    pub stddev: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl Stats {
    /// Statistics of `values`, `None` when empty.
    pub fn of(values: &mut [f64]) -> Option<Stats> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let p99_at = ((values.len() as f64 * 0.99).ceil() as usize).clamp(1, values.len()) - 1;
        Some(Stats {
            count: values.len() as u64,
            min: values[0],
            mean,
            max: values[values.len() - 1],
            stddev: var.sqrt(),
            p99: values[p99_at],
        })
    }
}

/// One camera of a recording.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CameraReport {
    /// Vendor, model, serial (and user name).
    pub camera: String,
    /// Index within the recording.
    pub camera_index: u16,
    /// The recording this camera belongs to.
    pub recording_id: u64,
    /// Its files.
    pub files: Vec<PathBuf>,
    /// Verified frames.
    pub frames: u64,
    /// Frames flagged incomplete.
    pub incomplete: u64,
    /// Frames holding resent packets.
    pub resent: u64,
    /// Frames started with PTP locked.
    pub started_with_ptp: u64,
    /// Payload bytes.
    pub bytes: u64,
    /// Runs of missing block ids.
    pub gaps: Vec<Gap>,
    /// Block ids missing in all.
    pub missing_frames: u64,
    /// Steps where the block id went backwards or repeated.
    pub out_of_order: u64,
    /// Record sequence numbers missing (a stripe file absent, or records lost in a crash).
    pub missing_records: u64,
    /// Frames dropped by the recorder because the disk was behind (from the file headers).
    pub dropped: u64,
    /// Camera timestamp of the first frame (ticks).
    pub first_timestamp: Option<u64>,
    /// Camera timestamp of the last frame (ticks).
    pub last_timestamp: Option<u64>,
    /// Receive timestamp of the first frame (ns).
    pub first_receive_timestamp: Option<u64>,
    /// Receive timestamp of the last frame (ns).
    pub last_receive_timestamp: Option<u64>,
    /// Camera ticks per second (0: unknown, intervals then in ticks).
    pub timestamp_frequency_hz: u64,
    /// Intervals between consecutive frames' camera timestamps.
    pub frame_interval: Option<Stats>,
    /// Intervals between consecutive frames' receive timestamps (ns).
    pub receive_interval: Option<Stats>,
    /// Records whose checksum failed.
    pub damaged: Vec<DamagedRecord>,
    /// Bytes of partly written records after the last complete one (crash).
    pub torn_bytes: u64,
    /// Preallocated bytes never written.
    pub unused_bytes: u64,
    /// Whether every file was closed by the writer.
    pub closed: bool,
    /// Whether recording stopped on an error (disk full, write error).
    pub stopped_on_error: bool,
}

/// How well cameras line up, frame by frame, matched on block id.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Alignment {
    /// Cameras compared.
    pub cameras: usize,
    /// Block ids present in every camera.
    pub matched_frames: u64,
    /// Per matched frame, latest minus earliest camera timestamp, in ns
    /// (meaningful when the cameras share a PTP time base).
    pub camera_timestamp_spread_ns: Option<Stats>,
    /// Per matched frame, latest minus earliest receive timestamp, in ns.
    pub receive_timestamp_spread_ns: Option<Stats>,
}

/// The distance from block id `prev` to `cur` in a `bits`-wide id space, or
/// `None` when the id went backwards or repeated.
pub fn block_id_step(prev: u64, cur: u64, bits: u8) -> Option<u64> {
    if bits == 16 {
        // Ids 1..=65535; map to 0..65535 and count modulo 65535.
        const SPAN: u64 = 65_535;
        let a = prev.wrapping_sub(1) % SPAN;
        let b = cur.wrapping_sub(1) % SPAN;
        let d = (b + SPAN - a) % SPAN;
        (d != 0 && d < SPAN / 2).then_some(d)
    } else {
        (cur > prev).then(|| cur - prev)
    }
}

#[derive(Default)]
struct Collected {
    report: Option<CameraReport>,
    bits: u8,
    headers: Vec<RecordHeader>,
}

/// Reads every file (verifying every record) and reports per camera and across cameras.
pub fn inspect(paths: &[PathBuf]) -> Result<InspectReport, ReadError> {
    let mut groups: BTreeMap<(u64, u16), Collected> = BTreeMap::new();
    for path in paths {
        let mut reader = RecordingReader::open(path)?;
        let h = reader.header().clone();
        let group = groups.entry((h.recording_id, h.camera_index)).or_default();
        let mut headers = Vec::new();
        let scan = reader.scan_with(|rh| headers.push(rh.clone()))?;
        group.bits = h.block_id_bits;
        group.headers.extend(headers);
        let r = group.report.get_or_insert_with(|| {
            let id = h.camera.to_string();
            CameraReport {
                camera: if h.camera.serial.is_empty() && h.camera.model.is_empty() {
                    format!("camera {}", h.camera_index)
                } else {
                    id
                },
                camera_index: h.camera_index,
                recording_id: h.recording_id,
                files: Vec::new(),
                frames: 0,
                incomplete: 0,
                resent: 0,
                started_with_ptp: 0,
                bytes: 0,
                gaps: Vec::new(),
                missing_frames: 0,
                out_of_order: 0,
                missing_records: 0,
                dropped: 0,
                first_timestamp: None,
                last_timestamp: None,
                first_receive_timestamp: None,
                last_receive_timestamp: None,
                timestamp_frequency_hz: h.timestamp_frequency_hz,
                frame_interval: None,
                receive_interval: None,
                damaged: Vec::new(),
                torn_bytes: 0,
                unused_bytes: 0,
                closed: true,
                stopped_on_error: false,
            }
        });
        r.files.push(path.clone());
        r.dropped = r.dropped.max(h.dropped);
        r.damaged.extend(scan.damaged);
        r.torn_bytes += scan.torn_bytes;
        r.unused_bytes += scan.unused_bytes;
        r.closed &= h.is_closed();
        r.stopped_on_error |= h.flags & super::format::file_flags::STOPPED_ON_ERROR != 0;
    }

    // Per camera: order by sequence, then count, find gaps and intervals.
    let mut cameras = Vec::new();
    let mut by_block: Vec<HashMap<u64, (i128, u64)>> = Vec::new();
    for (_, mut g) in groups {
        let Some(mut r) = g.report.take() else {
            continue;
        };
        g.headers.sort_by_key(|h| h.sequence);
        // Integer nanoseconds: exact for the usual 1 GHz (PTP) tick rate.
        let freq = i128::from(r.timestamp_frequency_hz);
        let to_ns = |ticks: i128| -> i128 {
            if freq == 0 {
                ticks
            } else {
                ticks * 1_000_000_000 / freq
            }
        };
        let mut intervals = Vec::new();
        let mut rx_intervals = Vec::new();
        let mut unwrapped = HashMap::new();
        let mut id = 0u64;
        for (i, h) in g.headers.iter().enumerate() {
            r.frames += 1;
            r.bytes += h.payload_size;
            r.incomplete += u64::from(h.flags & frame_flags::INCOMPLETE != 0);
            r.resent += u64::from(h.flags & frame_flags::RESENT != 0);
            r.started_with_ptp += u64::from(h.flags & frame_flags::STARTED_WITH_PTP != 0);
            if i == 0 {
                id = h.block_id;
                r.missing_records += h.sequence;
            } else {
                let p = &g.headers[i - 1];
                r.missing_records += h.sequence.saturating_sub(p.sequence + 1);
                match block_id_step(p.block_id, h.block_id, g.bits) {
                    Some(d) => {
                        id = id.wrapping_add(d);
                        if d > 1 {
                            r.gaps.push(Gap {
                                after: p.block_id,
                                before: h.block_id,
                                missing: d - 1,
                            });
                            r.missing_frames += d - 1;
                        }
                    }
                    None => r.out_of_order += 1,
                }
                intervals.push(to_ns(
                    i128::from(h.camera_timestamp) - i128::from(p.camera_timestamp),
                ) as f64);
                rx_intervals.push(
                    (i128::from(h.receive_timestamp_ns) - i128::from(p.receive_timestamp_ns))
                        as f64,
                );
            }
            unwrapped.insert(
                id,
                (
                    to_ns(i128::from(h.camera_timestamp)),
                    h.receive_timestamp_ns,
                ),
            );
        }
        r.first_timestamp = g.headers.first().map(|h| h.camera_timestamp);
        r.last_timestamp = g.headers.last().map(|h| h.camera_timestamp);
        r.first_receive_timestamp = g.headers.first().map(|h| h.receive_timestamp_ns);
        r.last_receive_timestamp = g.headers.last().map(|h| h.receive_timestamp_ns);
        r.frame_interval = Stats::of(&mut intervals);
        r.receive_interval = Stats::of(&mut rx_intervals);
        by_block.push(unwrapped);
        cameras.push(r);
    }

    let alignment = (by_block.len() >= 2).then(|| {
        let mut cam_spread = Vec::new();
        let mut rx_spread = Vec::new();
        if let Some((first, rest)) = by_block.split_first() {
            for (id, &(ts, rx)) in first {
                let (mut tmin, mut tmax, mut rmin, mut rmax) = (ts, ts, rx, rx);
                let all = rest.iter().all(|m| match m.get(id) {
                    Some(&(t, r)) => {
                        tmin = tmin.min(t);
                        tmax = tmax.max(t);
                        rmin = rmin.min(r);
                        rmax = rmax.max(r);
                        true
                    }
                    None => false,
                });
                if all {
                    cam_spread.push((tmax - tmin) as f64);
                    rx_spread.push((rmax - rmin) as f64);
                }
            }
        }
        Alignment {
            cameras: by_block.len(),
            matched_frames: cam_spread.len() as u64,
            camera_timestamp_spread_ns: Stats::of(&mut cam_spread),
            receive_timestamp_spread_ns: Stats::of(&mut rx_spread),
        }
    });
    Ok(InspectReport { cameras, alignment })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bit_ids_wrap_past_zero() {
        assert_eq!(block_id_step(65_534, 65_535, 16), Some(1));
        assert_eq!(block_id_step(65_535, 1, 16), Some(1));
        assert_eq!(block_id_step(65_535, 3, 16), Some(3));
        assert_eq!(block_id_step(65_400, 2, 16), Some(137));
        assert_eq!(block_id_step(10, 10, 16), None);
        assert_eq!(block_id_step(10, 9, 16), None);
    }

    #[test]
    fn wide_ids_count_forward_only() {
        assert_eq!(block_id_step(70_000, 70_005, 64), Some(5));
        assert_eq!(block_id_step(70_000, 69_999, 64), None);
        assert_eq!(block_id_step(u64::MAX - 1, u64::MAX, 64), Some(1));
    }

    #[test]
    fn stats() {
        let s = Stats::of(&mut [3.0, 1.0, 2.0, 2.0]).unwrap();
        assert_eq!((s.count, s.min, s.max, s.mean), (4, 1.0, 3.0, 2.0));
        assert!((s.stddev - 0.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(s.p99, 3.0);
        assert!(Stats::of(&mut []).is_none());
    }
}
