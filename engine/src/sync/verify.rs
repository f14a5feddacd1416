//! Verification of a running group: frame alignment by frame number, arrival
//! latency and PtpOffset, measured with HDR histograms.
//!
//! Invariants:
//! - memory is bounded and allocated up front: `window` open frame numbers,
//!   each with one timestamp slot per camera, and fixed-size histograms;
//!   recording a frame or an offset never allocates;
//! - a frame number is judged once, when it falls `window` numbers behind the
//!   newest one seen or at [`Verifier::finish`]; a frame arriving after its
//!   number was judged is counted as late and otherwise ignored;
//! - a frame number is expected from every camera that delivered that number
//!   or a later one, or that is still delivering (its latest frame arrived
//!   within `silence_ns` of the newest frame of any camera): a camera that
//!   stopped (lost, unplugged) is not expected after its last frame, while a
//!   camera that skipped a number, or lags behind the group, is;
//! - every frame counts in its camera's statistics (frames, rate, latency),
//!   also one that arrives too late to be judged for alignment;
//! - a group is aligned when every expected camera delivered the number and
//!   the spread of their timestamps is within the tolerance;
//!   `aligned_fraction` = aligned groups / judged groups;
//! - histograms saturate at their upper bound instead of failing.

use hdrhistogram::Histogram;
use serde::Serialize;

use super::op::CameraId;
use super::time::signed_diff;

/// One frame as the capture path delivered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRecord {
    /// The camera that sent it.
    pub camera: CameraId,
    /// Its frame number (the GVSP block id).
    pub frame: u64,
    /// The camera's timestamp from the leader, in ns of PTP time.
    pub camera_timestamp_ns: u64,
    /// When the host received it, in ns of the host clock.
    pub rx_timestamp_ns: u64,
    /// Whether the camera says the frame was started by PTP (gate or ACTION).
    pub started_with_ptp: bool,
}

/// What the verifier compares against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyConfig {
    /// The expected frame period, in ns.
    pub frame_period_ns: u64,
    /// The largest spread of one frame number's timestamps that is aligned, in ns.
    pub tolerance_ns: u64,
    /// |PtpOffset| above this is counted as a warning, in ns.
    pub offset_warn_ns: u64,
    /// |PtpOffset| above this is counted as an error, in ns.
    pub offset_error_ns: u64,
    /// How many frame numbers are held open for late cameras.
    pub window: usize,
    /// A camera silent for longer than this (by receive time) has stopped and
    /// is no longer expected, in ns.
    pub silence_ns: u64,
}

/// p50, p99 and max of a distribution, in ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest value recorded (exact).
    pub max: u64,
    /// How many values were recorded.
    pub count: u64,
}

/// The group's alignment so far.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AlignmentStats {
    /// Frame numbers judged.
    pub groups: u64,
    /// Judged frame numbers every expected camera delivered.
    pub complete: u64,
    /// Complete frame numbers whose spread is within the tolerance.
    pub aligned: u64,
    /// Frame numbers some expected camera did not deliver.
    pub incomplete: u64,
    /// Frames that arrived after their number was judged.
    pub late_frames: u64,
    /// Frame numbers not judged because they were taken after the run's
    /// stop began (cameras stop one after the other, so the newest numbers
    /// may legitimately be missing from some of them).
    pub trailing: u64,
    /// aligned / groups (0 when nothing was judged).
    pub aligned_fraction: f64,
    /// The tolerance used, in ns.
    pub tolerance_ns: u64,
    /// Spread of the camera timestamps per complete frame number, in ns.
    pub skew_ns: Percentiles,
}

/// One camera's frames so far.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CameraFrames {
    /// Frames received (duplicates excluded).
    pub frames: u64,
    /// Of those, frames the camera says PTP started.
    pub started_with_ptp: u64,
    /// Frames received twice.
    pub duplicates: u64,
    /// First and last frame number seen.
    pub first_frame: Option<u64>,
    /// Last (highest) frame number seen.
    pub last_frame: Option<u64>,
    /// Host receive time of the latest frame, in ns.
    pub last_rx_ns: Option<u64>,
    /// The frame rate the camera timestamps show, in Hz.
    pub measured_rate_hz: Option<f64>,
    /// Arrival latency: receive time (in PTP time) minus camera timestamp.
    pub latency_ns: Option<Percentiles>,
    /// Frames that seemed to arrive before they were taken (beyond the bound).
    pub negative_latencies: u64,
    /// Mean of (this camera's timestamp − the group's median) per frame number.
    pub mean_deviation_ns: Option<f64>,
    /// Largest |timestamp − group median| seen.
    pub max_abs_deviation_ns: u64,
}

/// One camera's PtpOffset samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OffsetStats {
    /// Samples taken.
    pub samples: u64,
    /// Mean offset, in ns.
    pub mean_ns: f64,
    /// Standard deviation, in ns.
    pub stddev_ns: f64,
    /// Smallest (most negative) offset, in ns.
    pub min_ns: i64,
    /// Largest offset, in ns.
    pub max_ns: i64,
    /// |offset| percentiles, in ns.
    pub abs_ns: Percentiles,
    /// Samples above the warning level.
    pub over_warn: u64,
    /// Samples above the error level.
    pub over_error: u64,
    /// The latest sample, in ns.
    pub last_ns: Option<i64>,
}

const SKEW_MAX_NS: u64 = 60_000_000_000;
const LATENCY_MAX_NS: u64 = 60_000_000_000;
const OFFSET_MAX_NS: u64 = 60_000_000_000;

fn histogram(high: u64, sigfig: u8) -> Histogram<u64> {
    // Constant, valid bounds (checked by `histograms_are_created` below).
    Histogram::new_with_bounds(1, high, sigfig).expect("valid histogram bounds")
}

fn percentiles(histogram: &Histogram<u64>, exact_max: u64) -> Percentiles {
    Percentiles {
        p50: histogram.value_at_quantile(0.5).min(exact_max),
        p99: histogram.value_at_quantile(0.99).min(exact_max),
        max: exact_max,
        count: histogram.len(),
    }
}

#[derive(Debug)]
struct OffsetTrack {
    abs: Histogram<u64>,
    abs_max: u64,
    samples: u64,
    sum: f64,
    sum_sq: f64,
    min: i64,
    max: i64,
    over_warn: u64,
    over_error: u64,
    last: Option<i64>,
}

impl OffsetTrack {
    fn new() -> Self {
        OffsetTrack {
            abs: histogram(OFFSET_MAX_NS, 2),
            abs_max: 0,
            samples: 0,
            sum: 0.0,
            sum_sq: 0.0,
            min: i64::MAX,
            max: i64::MIN,
            over_warn: 0,
            over_error: 0,
            last: None,
        }
    }

    fn stats(&self) -> OffsetStats {
        let n = self.samples as f64;
        let mean = if self.samples > 0 { self.sum / n } else { 0.0 };
        let variance = if self.samples > 1 {
            ((self.sum_sq - n * mean * mean) / (n - 1.0)).max(0.0)
        } else {
            0.0
        };
        OffsetStats {
            samples: self.samples,
            mean_ns: mean,
            stddev_ns: variance.sqrt(),
            min_ns: if self.samples > 0 { self.min } else { 0 },
            max_ns: if self.samples > 0 { self.max } else { 0 },
            abs_ns: percentiles(&self.abs, self.abs_max),
            over_warn: self.over_warn,
            over_error: self.over_error,
            last_ns: self.last,
        }
    }
}

#[derive(Debug)]
struct CameraTrack {
    frames: u64,
    with_ptp: u64,
    duplicates: u64,
    first: Option<(u64, u64)>,
    last: Option<(u64, u64)>,
    max_frame: Option<u64>,
    last_rx: Option<u64>,
    host_offset: Option<i64>,
    latency: Histogram<u64>,
    latency_max: u64,
    negative_latencies: u64,
    negative_slack: u64,
    deviation_sum: i128,
    deviation_count: u64,
    deviation_max: u64,
    offsets: OffsetTrack,
}

impl CameraTrack {
    fn new() -> Self {
        CameraTrack {
            frames: 0,
            with_ptp: 0,
            duplicates: 0,
            first: None,
            last: None,
            max_frame: None,
            last_rx: None,
            host_offset: None,
            latency: histogram(LATENCY_MAX_NS, 2),
            latency_max: 0,
            negative_latencies: 0,
            negative_slack: 0,
            deviation_sum: 0,
            deviation_count: 0,
            deviation_max: 0,
            offsets: OffsetTrack::new(),
        }
    }

    fn measured_rate(&self) -> Option<f64> {
        let (first_frame, first_ts) = self.first?;
        let (last_frame, last_ts) = self.last?;
        if last_frame <= first_frame || last_ts <= first_ts {
            return None;
        }
        Some((last_frame - first_frame) as f64 * 1e9 / (last_ts - first_ts) as f64)
    }
}

/// Timestamps of one open frame number, one slot per camera.
#[derive(Debug)]
struct Slot {
    frame: Option<u64>,
    stamps: Vec<Option<u64>>,
}

/// Alignment, latency and offset verification for a group of cameras.
#[derive(Debug)]
pub struct Verifier {
    config: VerifyConfig,
    cameras: Vec<CameraTrack>,
    slots: Vec<Slot>,
    /// Frame numbers below this were judged.
    horizon: Option<u64>,
    newest: Option<u64>,
    skew: Histogram<u64>,
    skew_max: u64,
    groups: u64,
    complete: u64,
    aligned: u64,
    incomplete: u64,
    late: u64,
    trailing: u64,
    newest_rx: u64,
    scratch: Vec<u64>,
}

impl Verifier {
    /// A verifier for `cameras` cameras; everything is allocated here.
    pub fn new(config: VerifyConfig, cameras: usize) -> Self {
        let window = config.window.max(1);
        Verifier {
            config: VerifyConfig { window, ..config },
            cameras: (0..cameras).map(|_| CameraTrack::new()).collect(),
            slots: (0..window)
                .map(|_| Slot {
                    frame: None,
                    stamps: vec![None; cameras],
                })
                .collect(),
            horizon: None,
            newest: None,
            skew: histogram(SKEW_MAX_NS, 3),
            skew_max: 0,
            groups: 0,
            complete: 0,
            aligned: 0,
            incomplete: 0,
            late: 0,
            trailing: 0,
            newest_rx: 0,
            scratch: Vec::with_capacity(cameras),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &VerifyConfig {
        &self.config
    }

    /// Relates this camera's PTP time to the host clock of receive timestamps
    /// (`PTP − host`, ns) with its error bound, so latency can be measured.
    pub fn set_host_offset(&mut self, camera: CameraId, offset_ns: i64, error_bound_ns: u64) {
        if let Some(track) = self.cameras.get_mut(camera.0) {
            track.host_offset = Some(offset_ns);
            track.negative_slack = error_bound_ns;
        }
    }

    /// Records one frame. Frames of unknown cameras are ignored.
    pub fn record_frame(&mut self, record: &FrameRecord) {
        let index = record.camera.0;
        if index >= self.cameras.len() {
            return;
        }
        let n = record.frame;
        let window = self.slots.len() as u64;
        let late = self.horizon.is_some_and(|h| n < h)
            || self.slots[(n % window) as usize]
                .frame
                .is_some_and(|held| held > n);
        if late {
            self.late += 1;
            self.count_frame(record);
            return;
        }
        if self.newest.is_none_or(|newest| n > newest) {
            self.newest = Some(n);
            if let Some(cutoff) = (n + 1).checked_sub(window) {
                self.judge_below(cutoff);
            }
        }
        let slot = &mut self.slots[(n % window) as usize];
        if slot.frame == Some(n) && slot.stamps[index].is_some() {
            self.cameras[index].duplicates += 1;
            return;
        }
        slot.frame = Some(n);
        slot.stamps[index] = Some(record.camera_timestamp_ns);
        self.count_frame(record);
    }

    fn count_frame(&mut self, record: &FrameRecord) {
        let n = record.frame;
        self.newest_rx = self.newest_rx.max(record.rx_timestamp_ns);
        let track = &mut self.cameras[record.camera.0];
        track.frames += 1;
        if record.started_with_ptp {
            track.with_ptp += 1;
        }
        let here = (n, record.camera_timestamp_ns);
        if track.first.is_none_or(|(f, _)| n < f) {
            track.first = Some(here);
        }
        if track.last.is_none_or(|(l, _)| n > l) {
            track.last = Some(here);
        }
        track.max_frame = Some(track.max_frame.map_or(n, |m| m.max(n)));
        track.last_rx = Some(
            track
                .last_rx
                .map_or(record.rx_timestamp_ns, |r| r.max(record.rx_timestamp_ns)),
        );
        if let Some(offset) = track.host_offset {
            let rx_ptp = i128::from(record.rx_timestamp_ns) + i128::from(offset);
            let latency = rx_ptp - i128::from(record.camera_timestamp_ns);
            if latency < 0 {
                if latency.unsigned_abs() > u128::from(track.negative_slack) {
                    track.negative_latencies += 1;
                }
                track.latency.saturating_record(0);
            } else {
                let latency = u64::try_from(latency).unwrap_or(u64::MAX);
                track.latency.saturating_record(latency);
                track.latency_max = track.latency_max.max(latency);
            }
        }
    }

    /// Records one PtpOffset sample of a camera, in ns.
    pub fn record_offset(&mut self, camera: CameraId, offset_ns: i64) {
        let (warn, error) = (self.config.offset_warn_ns, self.config.offset_error_ns);
        let Some(track) = self.cameras.get_mut(camera.0) else {
            return;
        };
        let offsets = &mut track.offsets;
        let magnitude = offset_ns.unsigned_abs();
        offsets.abs.saturating_record(magnitude);
        offsets.abs_max = offsets.abs_max.max(magnitude);
        offsets.samples += 1;
        offsets.sum += offset_ns as f64;
        offsets.sum_sq += (offset_ns as f64) * (offset_ns as f64);
        offsets.min = offsets.min.min(offset_ns);
        offsets.max = offsets.max.max(offset_ns);
        offsets.over_warn += u64::from(magnitude > warn);
        offsets.over_error += u64::from(magnitude > error);
        offsets.last = Some(offset_ns);
    }

    /// Judges every frame number still open (end of the run).
    pub fn finish(&mut self) {
        if let Some(newest) = self.newest {
            self.judge_below(newest.saturating_add(1));
        }
    }

    /// Judges every frame number still open (end of the run), except
    /// incomplete ones whose frames were all taken at or after `stop_ptp_ns`
    /// (PTP time), the earliest moment any camera may have been stopped:
    /// those are counted as trailing, since cameras stop one after another.
    pub fn finish_before(&mut self, stop_ptp_ns: u64) {
        for index in 0..self.slots.len() {
            let Some(frame) = self.slots[index].frame else {
                continue;
            };
            let (expected, present) = self.attendance(index, frame);
            let slot = &mut self.slots[index];
            let taken_before = slot.stamps.iter().flatten().any(|&ts| ts < stop_ptp_ns);
            if !taken_before && present < expected {
                slot.frame = None;
                slot.stamps.iter_mut().for_each(|s| *s = None);
                self.trailing += 1;
            }
        }
        self.finish();
    }

    /// The camera timestamp (PTP ns) of a camera's highest frame number.
    pub fn last_timestamp(&self, camera: CameraId) -> Option<u64> {
        self.cameras.get(camera.0)?.last.map(|(_, ts)| ts)
    }

    fn judge_below(&mut self, cutoff: u64) {
        // Judge in frame order so the horizon only moves forward.
        loop {
            let next = self
                .slots
                .iter()
                .enumerate()
                .filter_map(|(i, slot)| slot.frame.filter(|&f| f < cutoff).map(|f| (f, i)))
                .min();
            let Some((frame, index)) = next else { break };
            self.judge(frame, index);
        }
        self.horizon = Some(self.horizon.map_or(cutoff, |h| h.max(cutoff)));
    }

    /// How many cameras are expected to deliver `frame` (held in slot
    /// `slot_index`), and how many did.
    fn attendance(&self, slot_index: usize, frame: u64) -> (usize, usize) {
        let silence = self.config.silence_ns;
        let newest_rx = self.newest_rx;
        let mut expected = 0usize;
        let mut present = 0usize;
        for (camera, stamp) in self.slots[slot_index].stamps.iter().enumerate() {
            let track = &self.cameras[camera];
            let delivering = track
                .last_rx
                .is_some_and(|rx| newest_rx.saturating_sub(rx) <= silence);
            if track.max_frame.is_some_and(|m| m >= frame) || delivering {
                expected += 1;
            }
            present += usize::from(stamp.is_some());
        }
        (expected, present)
    }

    fn judge(&mut self, frame: u64, slot_index: usize) {
        let (expected, present) = self.attendance(slot_index, frame);
        self.scratch.clear();
        let mut min = u64::MAX;
        let mut max = 0u64;
        for ts in self.slots[slot_index].stamps.iter().flatten() {
            self.scratch.push(*ts);
            min = min.min(*ts);
            max = max.max(*ts);
        }
        self.groups += 1;
        if present > 0 && present >= expected {
            self.complete += 1;
            let spread = max - min;
            self.skew.saturating_record(spread);
            self.skew_max = self.skew_max.max(spread);
            if spread <= self.config.tolerance_ns {
                self.aligned += 1;
            }
            if present >= 2 {
                self.scratch.sort_unstable();
                let median = self.scratch[self.scratch.len() / 2];
                for (camera, stamp) in self.slots[slot_index].stamps.iter().enumerate() {
                    if let Some(ts) = *stamp {
                        let deviation = signed_diff(ts, median);
                        let track = &mut self.cameras[camera];
                        track.deviation_sum += i128::from(deviation);
                        track.deviation_count += 1;
                        track.deviation_max = track.deviation_max.max(deviation.unsigned_abs());
                    }
                }
            }
        } else {
            self.incomplete += 1;
        }
        let slot = &mut self.slots[slot_index];
        slot.frame = None;
        slot.stamps.iter_mut().for_each(|s| *s = None);
    }

    /// The alignment of the frame numbers judged so far.
    pub fn alignment(&self) -> AlignmentStats {
        AlignmentStats {
            groups: self.groups,
            complete: self.complete,
            aligned: self.aligned,
            incomplete: self.incomplete,
            late_frames: self.late,
            trailing: self.trailing,
            aligned_fraction: if self.groups == 0 {
                0.0
            } else {
                self.aligned as f64 / self.groups as f64
            },
            tolerance_ns: self.config.tolerance_ns,
            skew_ns: percentiles(&self.skew, self.skew_max),
        }
    }

    /// One camera's frames so far.
    pub fn camera_frames(&self, camera: CameraId) -> Option<CameraFrames> {
        let track = self.cameras.get(camera.0)?;
        Some(CameraFrames {
            frames: track.frames,
            started_with_ptp: track.with_ptp,
            duplicates: track.duplicates,
            first_frame: track.first.map(|(f, _)| f),
            last_frame: track.last.map(|(f, _)| f),
            last_rx_ns: track.last_rx,
            measured_rate_hz: track.measured_rate(),
            latency_ns: track
                .host_offset
                .filter(|_| !track.latency.is_empty())
                .map(|_| percentiles(&track.latency, track.latency_max)),
            negative_latencies: track.negative_latencies,
            mean_deviation_ns: (track.deviation_count > 0)
                .then(|| track.deviation_sum as f64 / track.deviation_count as f64),
            max_abs_deviation_ns: track.deviation_max,
        })
    }

    /// One camera's PtpOffset statistics so far.
    pub fn offset_stats(&self, camera: CameraId) -> Option<OffsetStats> {
        self.cameras.get(camera.0).map(|t| t.offsets.stats())
    }

    /// How many cameras the verifier tracks.
    pub fn camera_count(&self) -> usize {
        self.cameras.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: u64 = 10_000_000; // 100 Hz

    fn config() -> VerifyConfig {
        VerifyConfig {
            frame_period_ns: PERIOD,
            tolerance_ns: 1_000,
            offset_warn_ns: 500,
            offset_error_ns: 5_000,
            window: 4,
            silence_ns: 2 * PERIOD,
        }
    }

    fn frame(camera: usize, frame: u64, ts: u64) -> FrameRecord {
        FrameRecord {
            camera: CameraId(camera),
            frame,
            camera_timestamp_ns: ts,
            rx_timestamp_ns: ts + 50_000,
            started_with_ptp: true,
        }
    }

    #[test]
    fn histograms_are_created() {
        let _ = histogram(SKEW_MAX_NS, 3);
        let _ = histogram(LATENCY_MAX_NS, 2);
    }

    #[test]
    fn aligned_cameras_give_small_skew_and_full_fraction() {
        let mut v = Verifier::new(config(), 3);
        for n in 1..=100u64 {
            for cam in 0..3 {
                // Camera c is c × 100 ns late: spread 200 ns per frame.
                v.record_frame(&frame(
                    cam,
                    n,
                    1_000_000_000 + n * PERIOD + cam as u64 * 100,
                ));
            }
        }
        v.finish();
        let a = v.alignment();
        assert_eq!(
            (a.groups, a.complete, a.aligned, a.incomplete),
            (100, 100, 100, 0)
        );
        assert_eq!(a.aligned_fraction, 1.0);
        assert_eq!(a.skew_ns.max, 200);
        assert!((199..=200).contains(&a.skew_ns.p99), "{:?}", a.skew_ns);
        let c2 = v.camera_frames(CameraId(2)).unwrap();
        assert_eq!(c2.frames, 100);
        assert_eq!(c2.started_with_ptp, 100);
        assert!((c2.measured_rate_hz.unwrap() - 100.0).abs() < 1e-6);
        assert_eq!(c2.mean_deviation_ns, Some(100.0));
        // No host offset given: no latency.
        assert_eq!(c2.latency_ns, None);
    }

    #[test]
    fn a_camera_one_frame_late_is_misaligned_and_shows_its_deviation() {
        let mut v = Verifier::new(config(), 2);
        for n in 1..=20u64 {
            v.record_frame(&frame(0, n, n * PERIOD));
            v.record_frame(&frame(1, n, (n + 1) * PERIOD));
        }
        v.finish();
        let a = v.alignment();
        assert_eq!(a.aligned, 0);
        assert_eq!(a.complete, 20);
        assert_eq!(a.skew_ns.max, PERIOD);
        // The median of two is the later one: camera 0 shows −1 period.
        assert_eq!(
            v.camera_frames(CameraId(0)).unwrap().mean_deviation_ns,
            Some(-(PERIOD as f64))
        );
    }

    #[test]
    fn skipped_frames_are_incomplete_and_a_stopped_camera_is_not_expected() {
        let mut v = Verifier::new(config(), 2);
        for n in 1..=30u64 {
            v.record_frame(&frame(0, n, n * PERIOD));
            // Camera 1 skips frame 5 and stops after frame 20.
            if n != 5 && n <= 20 {
                v.record_frame(&frame(1, n, n * PERIOD));
            }
        }
        v.finish();
        let a = v.alignment();
        assert_eq!(a.groups, 30);
        assert_eq!(a.incomplete, 1);
        assert_eq!(a.aligned, 29);
        assert!((a.aligned_fraction - 29.0 / 30.0).abs() < 1e-12);
    }

    #[test]
    fn late_and_duplicate_frames_are_counted_not_judged_twice() {
        let mut v = Verifier::new(config(), 2);
        for n in 1..=10u64 {
            v.record_frame(&frame(0, n, n * PERIOD));
        }
        // Frame 2 of camera 1 arrives after the window moved past it.
        v.record_frame(&frame(1, 2, 2 * PERIOD));
        v.record_frame(&frame(0, 10, 10 * PERIOD));
        v.finish();
        let a = v.alignment();
        assert_eq!(a.late_frames, 1);
        assert_eq!(v.camera_frames(CameraId(0)).unwrap().duplicates, 1);
        assert_eq!(a.groups, 10);
    }

    #[test]
    fn frames_arriving_out_of_order_within_the_window_are_grouped() {
        let mut v = Verifier::new(config(), 2);
        for n in [3u64, 1, 2, 4] {
            v.record_frame(&frame(0, n, n * PERIOD));
        }
        for n in [2u64, 4, 1, 3] {
            v.record_frame(&frame(1, n, n * PERIOD + 10));
        }
        v.finish();
        let a = v.alignment();
        assert_eq!((a.groups, a.aligned), (4, 4));
        assert_eq!(a.skew_ns.max, 10);
    }

    #[test]
    fn a_lagging_camera_is_still_expected_and_counts_all_its_frames() {
        let mut v = Verifier::new(config(), 2);
        // Camera 1 runs at half the rate: its frame n comes at 2n periods.
        let mut records = Vec::new();
        for n in 1..=40u64 {
            records.push(frame(0, n, n * PERIOD));
            if n <= 20 {
                records.push(frame(1, n, 2 * n * PERIOD));
            }
        }
        records.sort_by_key(|r| r.rx_timestamp_ns);
        for r in &records {
            v.record_frame(r);
        }
        v.finish();
        let a = v.alignment();
        assert_eq!(a.groups, 40);
        assert!(a.aligned <= 2, "{a:?}");
        assert!(a.late_frames > 10, "{a:?}");
        let lagging = v.camera_frames(CameraId(1)).unwrap();
        assert_eq!(lagging.frames, 20);
        assert!((lagging.measured_rate_hz.unwrap() - 50.0).abs() < 1e-6);
    }

    #[test]
    fn a_camera_at_another_rate_shows_its_measured_rate() {
        let mut v = Verifier::new(config(), 2);
        for n in 1..=50u64 {
            v.record_frame(&frame(0, n, n * PERIOD));
            v.record_frame(&frame(1, n, n * PERIOD * 2));
        }
        v.finish();
        let rate = v
            .camera_frames(CameraId(1))
            .unwrap()
            .measured_rate_hz
            .unwrap();
        assert!((rate - 50.0).abs() < 1e-6, "{rate}");
        assert!(v.alignment().aligned < 5);
    }

    #[test]
    fn latency_uses_the_host_offset_and_flags_impossible_arrivals() {
        let mut v = Verifier::new(config(), 1);
        // PTP is 37 s ahead of the host clock; bound 2 µs.
        let offset = 37_000_000_000i64;
        v.set_host_offset(CameraId(0), offset, 2_000);
        let cam_ts = 100_000_000_000u64;
        let rx = |latency: i64| (cam_ts as i64 - offset + latency) as u64;
        for latency in [40_000i64, 50_000, 60_000, -1_000, -10_000] {
            v.record_frame(&FrameRecord {
                camera: CameraId(0),
                frame: 1 + v.camera_frames(CameraId(0)).unwrap().frames,
                camera_timestamp_ns: cam_ts,
                rx_timestamp_ns: rx(latency),
                started_with_ptp: false,
            });
        }
        let c = v.camera_frames(CameraId(0)).unwrap();
        let latency = c.latency_ns.unwrap();
        assert_eq!(latency.max, 60_000);
        assert_eq!(latency.count, 5);
        // −1 µs is within the 2 µs bound; −10 µs is not.
        assert_eq!(c.negative_latencies, 1);
        assert_eq!(c.started_with_ptp, 0);
    }

    #[test]
    fn offsets_give_mean_spread_and_level_counts() {
        let mut v = Verifier::new(config(), 1);
        for offset in [-100i64, 100, 300, -300, 6_000] {
            v.record_offset(CameraId(0), offset);
        }
        let s = v.offset_stats(CameraId(0)).unwrap();
        assert_eq!(s.samples, 5);
        assert_eq!((s.min_ns, s.max_ns), (-300, 6_000));
        assert!((s.mean_ns - 1_200.0).abs() < 1e-9);
        assert!(s.stddev_ns > 2_000.0);
        assert_eq!((s.over_warn, s.over_error), (1, 1));
        assert_eq!(s.abs_ns.max, 6_000);
        assert_eq!(s.last_ns, Some(6_000));
        // Unknown cameras are ignored, not a panic.
        v.record_offset(CameraId(9), 1);
        v.record_frame(&frame(9, 1, 1));
        assert!(v.offset_stats(CameraId(9)).is_none());
    }
}
