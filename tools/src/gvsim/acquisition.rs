//! When frames start: free-running, gated on a PTP time, or triggered by
//! software and action commands. Sans-IO: every time is camera-clock
//! nanoseconds passed in; the caller sleeps until [`Acquisition::next_deadline`].
//!
//! What AcquisitionStart does, by settings (`gated` means PtpMode ≠ Off and
//! PtpAcquisitionGateTime ≠ 0, decided by the device):
//!
//! | TriggerMode | AcquisitionMode | gate | frames |
//! |---|---|---|---|
//! | Off | Continuous | no | at start + n·period until AcquisitionStop |
//! | Off | SingleFrame / MultiFrame | no | 1 / AcquisitionFrameCount frames at start + n·period, then stops |
//! | Off | any | yes | as above, but frame n at gate + n·period |
//! | On (Software, FrameCount 1, MultiFrame) | sync workflow | yes | gate + n·period until AcquisitionStop (the PTP sync workflow's settings) |
//! | On | Continuous / SingleFrame / MultiFrame | no | one frame per trigger; stops after 1 / AcquisitionFrameCount frames (Continuous: never) |
//!
//! Invariants: frame `n` of a periodic schedule starts at exactly
//! `first + n·period`; when the gate has already passed at start, the
//! schedule skips to the first `n` whose time is not in the past, so frame
//! numbers (block ids) stay aligned across cameras that share the gate;
//! triggers closer together than the minimum frame period are dropped and
//! counted; at most [`MAX_SCHEDULED`] action times wait at once.

use std::collections::VecDeque;

/// Scheduled actions that can wait at once.
pub const MAX_SCHEDULED: usize = super::regmap::SCHEDULED_ACTION_QUEUE as usize;

/// The AcquisitionMode feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AcquisitionMode {
    /// Frames until AcquisitionStop.
    Continuous,
    /// One frame.
    SingleFrame,
    /// AcquisitionFrameCount frames.
    MultiFrame,
}

/// The TriggerSource feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriggerSource {
    /// TriggerSoftware command.
    Software,
    /// Digital input 0: gvsim has no input signal, so it never fires.
    Line0,
    /// Action signal 1 (ACTION command, immediate or scheduled).
    Action1,
}

/// The acquisition settings AcquisitionStart takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AcqSettings {
    /// AcquisitionMode.
    pub mode: AcquisitionMode,
    /// AcquisitionFrameCount.
    pub frame_count: u32,
    /// AcquisitionFrameRate in Hz (already clamped to its maximum).
    pub frame_rate: f64,
    /// The largest frame rate the sensor and link allow (bounds trigger rate).
    pub frame_rate_max: f64,
    /// TriggerMode = On.
    pub trigger_on: bool,
    /// TriggerSource.
    pub trigger_source: TriggerSource,
}

impl AcqSettings {
    /// True for the settings of the PTP sync workflow: MultiFrame, TriggerMode On,
    /// TriggerSource Software, AcquisitionFrameCount 1.
    pub fn is_sync_workflow(&self) -> bool {
        self.mode == AcquisitionMode::MultiFrame
            && self.trigger_on
            && self.trigger_source == TriggerSource::Software
            && self.frame_count == 1
    }

    /// True when a gate time (with PTP on) makes these settings a gated free run.
    pub fn gate_applies(&self) -> bool {
        !self.trigger_on || self.is_sync_workflow()
    }

    fn limit(&self) -> Option<u64> {
        match self.mode {
            AcquisitionMode::Continuous => None,
            AcquisitionMode::SingleFrame => Some(1),
            AcquisitionMode::MultiFrame => Some(u64::from(self.frame_count.max(1))),
        }
    }
}

/// Why a frame starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameCause {
    /// The free-running or gated frame clock.
    Periodic,
    /// A TriggerSoftware command.
    SoftwareTrigger,
    /// An action command (immediate or at its scheduled time).
    Action,
}

/// A frame that starts now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameStart {
    /// Its start time on the camera clock (the leader timestamp).
    pub time: i64,
    /// Its number since AcquisitionStart, from 0 (block id = number + 1).
    pub number: u64,
    /// Started on a PTP time (gate or scheduled action) while the clock was Slave.
    pub started_with_ptp: bool,
    /// Why it started.
    pub cause: FrameCause,
}

#[derive(Debug, Clone)]
enum Schedule {
    Idle,
    Periodic {
        first: i64,
        period: i64,
        next: u64,
        limit: Option<u64>,
        on_ptp: bool,
    },
    Triggered {
        source: TriggerSource,
        limit: Option<u64>,
        produced: u64,
        min_period: i64,
        last: Option<i64>,
        queue: VecDeque<(i64, bool, FrameCause)>,
    },
}

/// The frame scheduler of one camera.
#[derive(Debug, Clone)]
pub struct Acquisition {
    schedule: Schedule,
    /// Scheduled action times with whether they were set on a locked PTP clock.
    actions: Vec<(i64, bool)>,
    overtriggers: u64,
    /// Camera time of an AcquisitionStop whose earlier frames are still to
    /// come out (see [`Acquisition::stop`]).
    stop_at: Option<i64>,
}

impl Default for Acquisition {
    fn default() -> Self {
        Acquisition {
            schedule: Schedule::Idle,
            actions: Vec::new(),
            overtriggers: 0,
            stop_at: None,
        }
    }
}

fn period_ns(rate: f64) -> i64 {
    if rate.is_finite() && rate > 0.0 {
        (1e9 / rate).round().max(1.0) as i64
    } else {
        1_000_000_000
    }
}

impl Acquisition {
    /// True while acquiring or armed (false from AcquisitionStop on).
    pub fn is_active(&self) -> bool {
        !matches!(self.schedule, Schedule::Idle) && self.stop_at.is_none()
    }

    /// Triggers dropped because they came faster than the sensor allows.
    pub fn overtriggers(&self) -> u64 {
        self.overtriggers
    }

    /// AcquisitionStart at camera time `now`; `gate` is the PTP gate time when
    /// one applies (see the module table), `on_ptp` whether frame times come
    /// from PTP time (gate set with PtpMode ≠ Off).
    pub fn start(&mut self, settings: &AcqSettings, gate: Option<i64>, now: i64) {
        self.stop_at = None;
        let period = period_ns(settings.frame_rate);
        if let (Some(gate), true) = (gate, settings.gate_applies()) {
            let limit = if settings.is_sync_workflow() {
                None
            } else {
                settings.limit()
            };
            // A gate already passed: join the frame clock at the next frame.
            let next = if now > gate {
                ((now - gate) as u64).div_ceil(period as u64)
            } else {
                0
            };
            self.schedule = Schedule::Periodic {
                first: gate,
                period,
                next,
                limit: limit.map(|l| l.saturating_add(next)),
                on_ptp: true,
            };
        } else if !settings.trigger_on {
            self.schedule = Schedule::Periodic {
                first: now,
                period,
                next: 0,
                limit: settings.limit(),
                on_ptp: false,
            };
        } else {
            self.schedule = Schedule::Triggered {
                source: settings.trigger_source,
                limit: settings.limit(),
                produced: 0,
                min_period: period_ns(settings.frame_rate_max),
                last: None,
                queue: VecDeque::new(),
            };
        }
    }

    /// AcquisitionStop at camera time `now`: no frame starts at or after
    /// `now` (scheduled actions stay queued). A frame whose start time came
    /// before `now` but that has not been polled yet still comes out: a
    /// sensor has exposed it by then, and the thread that polls may simply
    /// have woken late on a busy host.
    pub fn stop(&mut self, now: i64) {
        if !matches!(self.schedule, Schedule::Idle) {
            self.stop_at = Some(self.stop_at.map_or(now, |at| at.min(now)));
        }
    }

    /// A TriggerSoftware command at camera time `now`; false when it does nothing.
    pub fn software_trigger(&mut self, now: i64) -> bool {
        self.trigger(
            TriggerSource::Software,
            now,
            false,
            FrameCause::SoftwareTrigger,
        )
    }

    /// Action signal 1 fires now (an immediate ACTION command).
    pub fn action_now(&mut self, now: i64) -> bool {
        self.trigger(TriggerSource::Action1, now, false, FrameCause::Action)
    }

    /// Queues action signal 1 for camera time `at`; false when the queue is full.
    pub fn schedule_action(&mut self, at: i64, on_ptp: bool) -> bool {
        if self.actions.len() >= MAX_SCHEDULED {
            return false;
        }
        let index = self.actions.partition_point(|(t, _)| *t <= at);
        self.actions.insert(index, (at, on_ptp));
        true
    }

    /// Scheduled actions waiting.
    pub fn scheduled_actions(&self) -> usize {
        self.actions.len()
    }

    fn trigger(&mut self, source: TriggerSource, at: i64, on_ptp: bool, cause: FrameCause) -> bool {
        let Schedule::Triggered {
            source: wanted,
            queue,
            ..
        } = &mut self.schedule
        else {
            return false;
        };
        if *wanted != source {
            return false;
        }
        queue.push_back((at, on_ptp, cause));
        true
    }

    /// The next camera time at which [`Acquisition::poll`] has something to do.
    pub fn next_deadline(&self) -> Option<i64> {
        let schedule = match &self.schedule {
            Schedule::Idle => None,
            Schedule::Periodic {
                first,
                period,
                next,
                ..
            } => Some(first.saturating_add(period.saturating_mul(*next as i64))),
            Schedule::Triggered { queue, .. } => queue.front().map(|(t, _, _)| *t),
        };
        let schedule = schedule.filter(|&t| self.stop_at.is_none_or(|stop| t < stop));
        let action = self.actions.first().map(|(t, _)| *t);
        match (schedule, action) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next frame due at camera time `now`, if any; `ptp_locked` says
    /// whether the camera clock is PTP time at this moment.
    pub fn poll(&mut self, now: i64, ptp_locked: bool) -> Option<FrameStart> {
        // Due scheduled actions become triggers at their exact time.
        while let Some(&(at, on_ptp)) = self.actions.first() {
            if at > now {
                break;
            }
            self.actions.remove(0);
            self.trigger(TriggerSource::Action1, at, on_ptp, FrameCause::Action);
        }
        let stop_at = self.stop_at;
        let stopped = |time: i64| stop_at.is_some_and(|stop| time >= stop);
        loop {
            match &mut self.schedule {
                Schedule::Idle => return None,
                Schedule::Periodic {
                    first,
                    period,
                    next,
                    limit,
                    on_ptp,
                } => {
                    if limit.is_some_and(|l| *next >= l) {
                        self.schedule = Schedule::Idle;
                        return None;
                    }
                    let time = first.saturating_add(period.saturating_mul(*next as i64));
                    if stopped(time) {
                        self.schedule = Schedule::Idle;
                        self.stop_at = None;
                        return None;
                    }
                    if time > now {
                        return None;
                    }
                    let frame = FrameStart {
                        time,
                        number: *next,
                        started_with_ptp: *on_ptp && ptp_locked,
                        cause: FrameCause::Periodic,
                    };
                    *next += 1;
                    if limit.is_some_and(|l| *next >= l) {
                        self.schedule = Schedule::Idle;
                    }
                    return Some(frame);
                }
                Schedule::Triggered {
                    limit,
                    produced,
                    min_period,
                    last,
                    queue,
                    ..
                } => {
                    if limit.is_some_and(|l| *produced >= l) {
                        self.schedule = Schedule::Idle;
                        return None;
                    }
                    let Some(&(time, on_ptp, cause)) = queue.front() else {
                        if stop_at.is_some() {
                            self.schedule = Schedule::Idle;
                            self.stop_at = None;
                        }
                        return None;
                    };
                    if stopped(time) {
                        self.schedule = Schedule::Idle;
                        self.stop_at = None;
                        return None;
                    }
                    if time > now {
                        return None;
                    }
                    queue.pop_front();
                    if last.is_some_and(|l| time.saturating_sub(l) < *min_period) {
                        self.overtriggers += 1;
                        continue;
                    }
                    *last = Some(time);
                    let frame = FrameStart {
                        time,
                        number: *produced,
                        started_with_ptp: on_ptp && ptp_locked,
                        cause,
                    };
                    *produced += 1;
                    if limit.is_some_and(|l| *produced >= l) {
                        self.schedule = Schedule::Idle;
                    }
                    return Some(frame);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    fn settings(mode: AcquisitionMode, trigger_on: bool, source: TriggerSource) -> AcqSettings {
        AcqSettings {
            mode,
            frame_count: 3,
            frame_rate: 100.0,
            frame_rate_max: 200.0,
            trigger_on,
            trigger_source: source,
        }
    }

    fn drain(acq: &mut Acquisition, until: i64, locked: bool) -> Vec<FrameStart> {
        let mut frames = Vec::new();
        while let Some(t) = acq.next_deadline() {
            if t > until {
                break;
            }
            match acq.poll(t, locked) {
                Some(f) => frames.push(f),
                None if acq.next_deadline() == Some(t) => break,
                None => {}
            }
        }
        frames
    }

    #[test]
    fn continuous_free_runs_from_start_until_stop() {
        let mut acq = Acquisition::default();
        acq.start(
            &settings(AcquisitionMode::Continuous, false, TriggerSource::Software),
            None,
            1_000,
        );
        let frames = drain(&mut acq, 1_000 + 45 * MS, true);
        let times: Vec<i64> = frames.iter().map(|f| f.time).collect();
        assert_eq!(
            times,
            [
                1_000,
                1_000 + 10 * MS,
                1_000 + 20 * MS,
                1_000 + 30 * MS,
                1_000 + 40 * MS
            ]
        );
        assert!(frames.iter().all(|f| !f.started_with_ptp));
        assert_eq!(frames[4].number, 4);
        acq.stop(1_000 + 45 * MS);
        assert_eq!(acq.next_deadline(), None);
        assert!(!acq.is_active());
    }

    #[test]
    fn a_frame_due_before_the_stop_still_comes_out_when_polled_late() {
        let mut acq = Acquisition::default();
        acq.start(
            &settings(AcquisitionMode::Continuous, false, TriggerSource::Software),
            None,
            0,
        );
        assert_eq!(drain(&mut acq, 25 * MS, true).len(), 3, "0, 10, 20 ms");
        // The stop arrives at 31 ms; the stream thread wakes only at 45 ms.
        acq.stop(31 * MS);
        assert!(
            !acq.is_active(),
            "stopped as far as the control channel sees"
        );
        assert_eq!(acq.next_deadline(), Some(30 * MS));
        let late = acq.poll(45 * MS, true).expect("the 30 ms frame was taken");
        assert_eq!((late.time, late.number), (30 * MS, 3));
        assert_eq!(acq.poll(45 * MS, true), None, "the 40 ms frame was not");
        assert_eq!(acq.next_deadline(), None);
        // A stop exactly at a frame's start time stops that frame too.
        acq.start(
            &settings(AcquisitionMode::Continuous, false, TriggerSource::Software),
            None,
            0,
        );
        acq.stop(0);
        assert_eq!(acq.poll(MS, true), None);
        // And a new start is not held back by an old stop.
        acq.start(
            &settings(AcquisitionMode::Continuous, false, TriggerSource::Software),
            None,
            100 * MS,
        );
        assert!(acq.is_active());
        assert_eq!(acq.poll(100 * MS, true).map(|f| f.number), Some(0));
    }

    #[test]
    fn multi_and_single_frame_stop_by_themselves() {
        for (mode, n) in [
            (AcquisitionMode::MultiFrame, 3),
            (AcquisitionMode::SingleFrame, 1),
        ] {
            let mut acq = Acquisition::default();
            acq.start(&settings(mode, false, TriggerSource::Software), None, 0);
            let frames = drain(&mut acq, 1_000 * MS, false);
            assert_eq!(frames.len(), n, "{mode:?}");
            assert_eq!(acq.poll(2_000 * MS, false), None);
            assert!(!acq.is_active());
        }
    }

    #[test]
    fn gated_start_keeps_frame_numbers_on_the_gate_grid() {
        let gate = 5_000 * MS;
        // Armed before the gate: frame n at gate + n·period.
        let mut early = Acquisition::default();
        early.start(
            &settings(AcquisitionMode::Continuous, false, TriggerSource::Software),
            Some(gate),
            10,
        );
        assert_eq!(early.next_deadline(), Some(gate));
        let frames = drain(&mut early, gate + 25 * MS, true);
        assert_eq!(
            frames
                .iter()
                .map(|f| (f.number, f.time))
                .collect::<Vec<_>>(),
            [(0, gate), (1, gate + 10 * MS), (2, gate + 20 * MS)]
        );
        assert!(frames.iter().all(|f| f.started_with_ptp));
        // Armed after the gate passed: it joins at the next grid point with that number.
        let mut late = Acquisition::default();
        late.start(
            &settings(AcquisitionMode::Continuous, false, TriggerSource::Software),
            Some(gate),
            gate + 15 * MS,
        );
        let f = drain(&mut late, gate + 25 * MS, false);
        assert_eq!((f[0].number, f[0].time), (2, gate + 20 * MS));
        assert!(!f[0].started_with_ptp, "clock not locked");
    }

    #[test]
    fn sync_workflow_settings_free_run_from_the_gate() {
        let mut s = settings(AcquisitionMode::MultiFrame, true, TriggerSource::Software);
        s.frame_count = 1;
        assert!(s.is_sync_workflow());
        let mut acq = Acquisition::default();
        acq.start(&s, Some(MS), 0);
        let frames = drain(&mut acq, MS + 95 * MS, true);
        assert_eq!(frames.len(), 10, "not limited to AcquisitionFrameCount");
        assert!(acq.is_active());
        // Without a gate the same settings wait for software triggers.
        let mut plain = Acquisition::default();
        plain.start(&s, None, 0);
        assert_eq!(plain.next_deadline(), None);
        assert!(plain.software_trigger(7));
        assert_eq!(
            plain.poll(7, true).map(|f| f.cause),
            Some(FrameCause::SoftwareTrigger)
        );
        assert!(!plain.is_active() || plain.poll(1_000 * MS, true).is_none());
    }

    #[test]
    fn triggers_respect_source_limit_and_minimum_period() {
        let mut acq = Acquisition::default();
        acq.start(
            &settings(AcquisitionMode::MultiFrame, true, TriggerSource::Software),
            None,
            0,
        );
        assert!(!acq.action_now(0), "wrong source");
        assert!(acq.software_trigger(0));
        assert!(acq.software_trigger(MS)); // 1 ms later: faster than 200 Hz allows
        assert!(acq.software_trigger(10 * MS));
        assert!(acq.software_trigger(20 * MS));
        let frames = drain(&mut acq, 30 * MS, false);
        assert_eq!(
            frames.iter().map(|f| f.time).collect::<Vec<_>>(),
            [0, 10 * MS, 20 * MS]
        );
        assert_eq!(acq.overtriggers(), 1);
        assert!(!acq.is_active(), "MultiFrame of 3 ends");
        assert!(!acq.software_trigger(40 * MS), "idle");
    }

    #[test]
    fn scheduled_actions_fire_at_their_exact_time_in_order() {
        let mut acq = Acquisition::default();
        acq.start(
            &settings(AcquisitionMode::Continuous, true, TriggerSource::Action1),
            None,
            0,
        );
        assert!(acq.schedule_action(50 * MS, true));
        assert!(acq.schedule_action(20 * MS, true));
        assert_eq!(acq.next_deadline(), Some(20 * MS));
        assert_eq!(acq.poll(19 * MS, true), None);
        let f = acq.poll(25 * MS, true).unwrap();
        assert_eq!(
            (f.time, f.started_with_ptp, f.cause),
            (20 * MS, true, FrameCause::Action)
        );
        let f = acq.poll(60 * MS, false).unwrap();
        assert_eq!((f.time, f.started_with_ptp), (50 * MS, false));
        for k in 0..MAX_SCHEDULED as i64 {
            assert!(acq.schedule_action(100 * MS + k, false));
        }
        assert!(!acq.schedule_action(1, false), "queue full");
    }
}
