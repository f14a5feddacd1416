//! The slave against simulated masters in virtual time: the master's clock
//! is the host clock (as ptp4l -S serves CLOCK_REALTIME), the camera's an
//! [`Oscillator`] with its own offset and drift; the link has a fixed delay.

use std::sync::Arc;

use gvcap::clock::{Clock, TestClock};
use gvcap::wire::ptp::{
    flags, Announce, Body, ClockQuality, Header, Message, MessageType, PortIdentity, PtpTimestamp,
};

use super::*;
use crate::gvsim::oscillator::Oscillator;

const START: u64 = 1_700_000_000_000_000_000;
const SECOND: u64 = 1_000_000_000;
const LINK_DELAY: u64 = 2_700;

fn port(last: u8) -> PortIdentity {
    PortIdentity {
        clock_identity: [0x02, 0x11, 0x22, 0xFF, 0xFE, 0x33, 0x44, last],
        port_number: 1,
    }
}

struct SimMaster {
    port: PortIdentity,
    two_step: bool,
    priority1: u8,
    seq: u16,
}

impl SimMaster {
    fn new(last: u8, two_step: bool, priority1: u8) -> Self {
        SimMaster {
            port: port(last),
            two_step,
            priority1,
            seq: 0,
        }
    }

    fn header(&self, kind: MessageType, seq: u16) -> Header {
        let mut header = Header::new(kind, self.port, seq);
        header.log_message_interval = 0;
        if self.two_step && kind == MessageType::Sync {
            header.flags |= flags::TWO_STEP;
        }
        header
    }

    fn bytes(message: Message) -> Vec<u8> {
        let mut out = vec![0u8; message.buffer_len()];
        message.emit(&mut out).unwrap();
        out
    }

    fn announce(&self) -> Vec<u8> {
        Self::bytes(Message {
            header: self.header(MessageType::Announce, self.seq),
            body: Body::Announce(Announce {
                origin_timestamp: PtpTimestamp::default(),
                current_utc_offset: 37,
                priority1: self.priority1,
                clock_quality: ClockQuality {
                    clock_class: 6,
                    clock_accuracy: 0xFE,
                    offset_scaled_log_variance: 0xFFFF,
                },
                priority2: 1,
                grandmaster_identity: self.port.clock_identity,
                steps_removed: 0,
                time_source: 0xA0,
            }),
        })
    }

    /// Sync (and Follow_Up if two-step) sent at host time `t1`.
    fn sync(&mut self, t1: u64) -> Vec<Vec<u8>> {
        self.seq = self.seq.wrapping_add(1);
        let ts = PtpTimestamp::from_nanos(t1);
        if self.two_step {
            vec![
                Self::bytes(Message {
                    header: self.header(MessageType::Sync, self.seq),
                    body: Body::Sync {
                        origin_timestamp: PtpTimestamp::default(),
                    },
                }),
                Self::bytes(Message {
                    header: self.header(MessageType::FollowUp, self.seq),
                    body: Body::FollowUp {
                        precise_origin_timestamp: ts,
                    },
                }),
            ]
        } else {
            vec![Self::bytes(Message {
                header: self.header(MessageType::Sync, self.seq),
                body: Body::Sync {
                    origin_timestamp: ts,
                },
            })]
        }
    }

    fn delay_resp(&self, request: &[u8], t4: u64) -> Vec<u8> {
        let req = Message::parse(request).unwrap();
        Self::bytes(Message {
            header: self.header(MessageType::DelayResp, req.header.sequence_id),
            body: Body::DelayResp {
                receive_timestamp: PtpTimestamp::from_nanos(t4),
                requesting_port: req.header.source_port,
            },
        })
    }
}

struct Bench {
    host: TestClock,
    osc: Oscillator,
    slave: PtpSlave,
}

impl Bench {
    fn new(offset_ns: i64, drift_ppm: f64, mode: PtpMode) -> Self {
        let host = TestClock::new(START);
        let osc = Oscillator::new(Arc::new(host.clone()), offset_ns, drift_ppm);
        let slave = PtpSlave::new(port(0xC1), 0, mode);
        Bench { host, osc, slave }
    }

    fn apply(&self, actions: Vec<ClockAction>) {
        for action in actions {
            match action {
                ClockAction::Step(ns) => self.osc.step(ns),
                ClockAction::Frequency(ppb) => self.osc.set_adjustment_ppb(ppb),
            }
        }
    }

    /// Delivers `bytes` sent by the master at host time `sent`.
    fn deliver(&mut self, bytes: &[u8], sent: u64) {
        let arrival = sent + LINK_DELAY;
        self.host.set(arrival);
        let rx_local = self.osc.local_at(arrival);
        let actions = self.slave.handle(bytes, rx_local, arrival);
        self.apply(actions);
    }

    /// One second of protocol with each master: Announce, Sync(+Follow_Up), Delay_Req/Resp.
    fn second(&mut self, masters: &mut [SimMaster], at: u64) {
        for (k, master) in masters.iter_mut().enumerate() {
            let base = at + k as u64 * 1_000_000;
            self.deliver(&master.announce(), base);
            for (i, bytes) in master.sync(base + 10_000).iter().enumerate() {
                self.deliver(bytes, base + 10_000 + i as u64 * 50_000);
            }
            let t3_host = base + 200_000;
            self.host.set(t3_host);
            if let Some(req) = self
                .slave
                .poll_delay_req(self.osc.local_at(t3_host), t3_host)
            {
                self.slave
                    .delay_req_sent(req.sequence_id, self.osc.local_at(t3_host));
                if master.port == self.slave.parent().unwrap_or_default() {
                    let resp = master.delay_resp(&req.bytes, t3_host + LINK_DELAY);
                    self.deliver(&resp, t3_host + LINK_DELAY + 30_000);
                }
            }
        }
        self.host.set(at + SECOND - 1);
        self.slave.handle_timeout(at + SECOND - 1);
    }

    fn true_offset(&self) -> i64 {
        let now = self.host.now_ns();
        self.osc.local_at(now) - now as i64
    }
}

#[test]
fn two_step_camera_locks_to_a_two_step_master_and_stays_within_100_ns() {
    for (offset, drift) in [(750_000_000i64, 40.0), (-3_000_000, -25.0), (0, 0.0)] {
        let mut bench = Bench::new(offset, drift, PtpMode::TwoStep);
        let mut masters = [SimMaster::new(1, true, 1)];
        let mut statuses = Vec::new();
        for s in 0..30 {
            bench.second(&mut masters, START + s * SECOND);
            statuses.push(bench.slave.status());
        }
        assert_eq!(statuses[0], PtpStatus::Listening, "{statuses:?}");
        let slave_at = statuses.iter().position(|s| *s == PtpStatus::Slave);
        assert!(
            matches!(slave_at, Some(t) if t <= 6),
            "offset {offset}, drift {drift}: {statuses:?}"
        );
        // Listening, then Uncalibrated, then Slave, in that order.
        let first_uncal = statuses
            .iter()
            .position(|s| *s == PtpStatus::Uncalibrated)
            .unwrap();
        assert!(first_uncal < slave_at.unwrap());
        assert!(statuses[slave_at.unwrap()..]
            .iter()
            .all(|s| *s == PtpStatus::Slave));
        assert!(
            bench.slave.offset_ns().abs() < 100,
            "{}",
            bench.slave.offset_ns()
        );
        assert!(
            bench.true_offset().abs() < 100,
            "true offset {}",
            bench.true_offset()
        );
        let delay = bench.slave.path_delay_ns().unwrap();
        assert!((delay - LINK_DELAY as i64).abs() < 10, "path delay {delay}");
        let c = bench.slave.counters();
        assert!(
            c.syncs >= 29 && c.delay_resps >= 20 && c.mode_mismatches == 0,
            "{c:?}"
        );
    }
}

#[test]
fn one_step_camera_locks_to_a_one_step_master() {
    let mut bench = Bench::new(123_456, 12.5, PtpMode::OneStep);
    let mut masters = [SimMaster::new(1, false, 1)];
    for s in 0..12 {
        bench.second(&mut masters, START + s * SECOND);
    }
    assert_eq!(bench.slave.status(), PtpStatus::Slave);
    assert!(bench.true_offset().abs() < 200, "{}", bench.true_offset());
}

#[test]
fn wrong_mode_never_locks_either_way() {
    for (camera, master_two_step) in [(PtpMode::OneStep, true), (PtpMode::TwoStep, false)] {
        let mut bench = Bench::new(5_000_000, 30.0, camera);
        let mut masters = [SimMaster::new(1, master_two_step, 1)];
        for s in 0..30 {
            bench.second(&mut masters, START + s * SECOND);
            assert_ne!(bench.slave.status(), PtpStatus::Slave, "{camera:?} at {s}s");
        }
        assert_eq!(bench.slave.status(), PtpStatus::Uncalibrated);
        assert!(bench.slave.counters().mode_mismatches >= 28);
        // The clock was never touched: still 5 ms plus 30 ppm off.
        assert!(bench.true_offset() > 5_000_000);
    }
}

#[test]
fn never_lock_fault_measures_but_does_not_correct() {
    let mut bench = Bench::new(2_000_000, 10.0, PtpMode::TwoStep);
    bench.slave.set_never_lock(true);
    let mut masters = [SimMaster::new(1, true, 1)];
    for s in 0..15 {
        bench.second(&mut masters, START + s * SECOND);
    }
    assert_eq!(bench.slave.status(), PtpStatus::Uncalibrated);
    // The reported offset is the real one (2 ms plus 10 µs per second of drift).
    let reported = bench.slave.offset_ns();
    assert!(
        (reported - bench.true_offset()).abs() < 10_000,
        "{reported}"
    );
    assert!(reported > 2_000_000);
}

#[test]
fn follows_the_best_master_and_falls_back_when_it_goes_silent() {
    let mut bench = Bench::new(1_000_000, 5.0, PtpMode::TwoStep);
    let mut both = [SimMaster::new(1, true, 100), SimMaster::new(2, true, 50)];
    for s in 0..8 {
        bench.second(&mut both, START + s * SECOND);
    }
    assert_eq!(bench.slave.parent(), Some(port(2)), "lower priority1 wins");
    assert_eq!(bench.slave.status(), PtpStatus::Slave);
    // Master 2 stops; after three announce intervals master 1 takes over.
    let mut only_one = [SimMaster::new(1, true, 100)];
    let mut parents = Vec::new();
    for s in 8..20 {
        bench.second(&mut only_one, START + s * SECOND);
        parents.push(bench.slave.parent());
    }
    assert_eq!(bench.slave.parent(), Some(port(1)), "{parents:?}");
    assert_eq!(bench.slave.status(), PtpStatus::Slave);
    // Everyone stops: Listening.
    for s in 20..25 {
        bench.host.set(START + s * SECOND);
        bench.slave.handle_timeout(START + s * SECOND);
    }
    assert_eq!(bench.slave.status(), PtpStatus::Listening);
    assert_eq!(bench.slave.parent(), None);
}

#[test]
fn mode_off_disables_and_ignores_everything() {
    let mut bench = Bench::new(0, 0.0, PtpMode::Off);
    let mut masters = [SimMaster::new(1, true, 1)];
    for s in 0..5 {
        bench.second(&mut masters, START + s * SECOND);
    }
    assert_eq!(bench.slave.status(), PtpStatus::Disabled);
    assert_eq!(bench.slave.counters(), PtpCounters::default());
    bench.slave.set_mode(PtpMode::TwoStep);
    assert_eq!(bench.slave.status(), PtpStatus::Listening);
    for s in 5..12 {
        bench.second(&mut masters, START + s * SECOND);
    }
    assert_eq!(bench.slave.status(), PtpStatus::Slave);
    bench.slave.set_mode(PtpMode::Off);
    assert_eq!(bench.slave.status(), PtpStatus::Disabled);
}

#[test]
fn garbage_other_domains_and_own_messages_are_ignored() {
    let mut bench = Bench::new(0, 0.0, PtpMode::TwoStep);
    assert!(bench.slave.handle(&[0x0B, 0x02, 0x00], 0, START).is_empty());
    let master = SimMaster::new(1, true, 1);
    let mut other_domain = master.announce();
    other_domain[4] = 7;
    bench.slave.handle(&other_domain, 0, START);
    assert_eq!(bench.slave.counters().ignored, 2);
    assert_eq!(bench.slave.counters().announces, 0);
    for cut in 0..64 {
        bench.slave.handle(&master.announce()[..cut], 0, START);
    }
    assert_eq!(bench.slave.status(), PtpStatus::Listening);
}

/// Four Syncs a second through a link whose queues add up to 20 µs of random
/// delay to every message (one-sided, as queues are), with Follow_Ups that
/// sometimes overtake their Syncs: the port still locks, its clock stays
/// within half a microsecond, and the offset it reports within two.
#[test]
fn locks_through_a_noisy_link_at_four_syncs_a_second() {
    use crate::gvsim::rng::Rng;
    let mut rng = Rng::new(3);
    let mut bench = Bench::new(-80_000_000, 33.0, PtpMode::TwoStep);
    let mut master = SimMaster::new(1, true, 1);
    let quarter = SECOND / 4;
    let queue = |rng: &mut Rng| (rng.next_f64().powi(4) * 20_000.0) as u64;
    let mut slave_at = None;
    let mut worst_true = 0i64;
    let mut worst_reported = 0i64;
    for tick in 0..(60 * 4) {
        let at = START + tick * quarter;
        if tick % 4 == 0 {
            bench.deliver(&master.announce(), at);
        }
        let mut header_sync = master.sync(at + 10_000);
        let header_mut = |m: &mut Vec<u8>| {
            // Sync interval 2^-2 s in the log message interval field.
            m[33] = (-2i8) as u8;
        };
        header_mut(&mut header_sync[0]);
        let sync_arrival = at + 10_000 + LINK_DELAY + queue(&mut rng);
        let fu_arrival = at + 10_000 + 20_000 + LINK_DELAY + queue(&mut rng);
        // Deliver in arrival order: the Follow_Up may come first.
        let (first, second) = if fu_arrival < sync_arrival {
            ((1, fu_arrival), (0, sync_arrival))
        } else {
            ((0, sync_arrival), (1, fu_arrival))
        };
        for (index, arrival) in [first, second] {
            bench.deliver(&header_sync[index], arrival - LINK_DELAY);
        }
        let t3_host = at + 100_000;
        bench.host.set(t3_host);
        if let Some(req) = bench
            .slave
            .poll_delay_req(bench.osc.local_at(t3_host), t3_host)
        {
            bench
                .slave
                .delay_req_sent(req.sequence_id, bench.osc.local_at(t3_host));
            let t4 = t3_host + LINK_DELAY + queue(&mut rng);
            let resp = master.delay_resp(&req.bytes, t4);
            bench.deliver(&resp, t4 + 5_000);
        }
        bench.host.set(at + quarter - 1);
        bench.slave.handle_timeout(at + quarter - 1);
        if bench.slave.status() == PtpStatus::Slave {
            slave_at.get_or_insert(tick);
            if tick > slave_at.unwrap_or(0) + 4 * 10 {
                worst_true = worst_true.max(bench.true_offset().abs());
                worst_reported = worst_reported.max(bench.slave.offset_ns().abs());
            }
        }
    }
    let slave_at = slave_at.expect("never reached Slave");
    assert!(slave_at < 4 * 20, "Slave after {} s", slave_at / 4);
    assert_eq!(bench.slave.status(), PtpStatus::Slave);
    assert!(worst_true < 300, "clock off by up to {worst_true} ns");
    assert!(
        worst_reported < 2_000,
        "reported offsets up to {worst_reported} ns"
    );
    assert!(bench.slave.path_delay_ns().unwrap() - (LINK_DELAY as i64) < 1_000);
}
