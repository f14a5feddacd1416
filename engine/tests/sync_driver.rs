//! The sync driver: ops executed through `SyncCamera`s, a real-clock run on
//! the control thread against fake cameras fed with frames, the GenICam
//! camera over an in-memory register space, and scheduled ACTIONs over
//! loopback UDP.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use gvcap::genicam::{FeatureMap, FeatureRange, FeatureValue, RegisterSpace};
use gvcap::sync::driver::{
    ActionSender, ControlParts, Driver, GenicamCamera, SyncCamera, SyncClock, SystemClock,
    UdpActionSender,
};
use gvcap::sync::{
    ActionKeys, CameraId, Check, Event, FeatureSet, FrameRecord, HostTime, LatchVia, Op, OpError,
    OpErrorKind, Outcome, PtpMode, PtpTime, RunLength, SyncConfig, TimestampLatch, Value,
};
use gvcap::wire::gvcp::{AckRepr, CommandRepr};
use gvcap::wire::Status;

const PTP_AHEAD: u64 = 37_000_000_000;

/// A fake camera: features in a map, Slave after a few status reads, a
/// clock 37 s ahead of CLOCK_REALTIME; records every call.
#[derive(Debug)]
struct FakeCamera {
    name: String,
    state: Mutex<FakeState>,
}

#[derive(Debug, Default)]
struct FakeState {
    values: BTreeMap<String, FeatureValue>,
    status_reads: u32,
    calls: Vec<String>,
    armed_gate: Option<u64>,
}

impl FakeCamera {
    fn new(name: &str) -> Self {
        let mut values = BTreeMap::new();
        for (k, v) in [
            (
                "AcquisitionMode",
                FeatureValue::Enumeration("Continuous".into()),
            ),
            ("TriggerMode", FeatureValue::Enumeration("Off".into())),
            (
                "TriggerSource",
                FeatureValue::Enumeration("Software".into()),
            ),
            ("AcquisitionFrameCount", FeatureValue::Integer(1)),
            ("AcquisitionFrameRate", FeatureValue::Float(10.0)),
            ("PtpMode", FeatureValue::Enumeration("Off".into())),
            ("PtpAcquisitionGateTime", FeatureValue::Integer(0)),
            ("PtpOffset", FeatureValue::Integer(25)),
            ("TLParamsLocked", FeatureValue::Integer(0)),
        ] {
            values.insert(k.to_string(), v);
        }
        FakeCamera {
            name: name.to_string(),
            state: Mutex::new(FakeState {
                values,
                ..FakeState::default()
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap()
    }
}

impl SyncCamera for FakeCamera {
    fn name(&self) -> &str {
        &self.name
    }

    fn features(&self) -> FeatureSet {
        FeatureSet::new()
            .with_enum("AcquisitionMode", &["Continuous", "MultiFrame"])
            .with_enum("TriggerMode", &["Off", "On"])
            .with_enum("TriggerSource", &["Software"])
            .with_enum("PtpMode", &["Off", "OneStep", "TwoStep"])
            .with_enum("PtpStatus", &["Listening", "Slave"])
            .with("AcquisitionFrameCount")
            .with("AcquisitionFrameRate")
            .with("PtpOffset")
            .with("PtpAcquisitionGateTime")
            .with("AcquisitionStart")
            .with("AcquisitionStop")
            .with("TLParamsLocked")
            .with("GevTimestampControlLatch")
            .with("GevTimestampValue")
    }

    fn get(&self, feature: &str) -> Result<FeatureValue, OpError> {
        let mut state = self.state();
        state.calls.push(format!("get {feature}"));
        if feature == "PtpStatus" {
            state.status_reads += 1;
            let status = if state.status_reads > 2 {
                "Slave"
            } else {
                "Listening"
            };
            return Ok(FeatureValue::Enumeration(status.into()));
        }
        state
            .values
            .get(feature)
            .cloned()
            .ok_or_else(|| OpError::new(OpErrorKind::Unavailable, format!("no {feature}")))
    }

    fn set(&self, feature: &str, value: &FeatureValue) -> Result<(), OpError> {
        let mut state = self.state();
        state.calls.push(format!("set {feature}={value}"));
        state.values.insert(feature.to_string(), value.clone());
        Ok(())
    }

    fn execute(&self, command: &str) -> Result<(), OpError> {
        let mut state = self.state();
        state.calls.push(format!("execute {command}"));
        if command == "AcquisitionStart" {
            if let Some(FeatureValue::Integer(gate)) = state.values.get("PtpAcquisitionGateTime") {
                state.armed_gate = Some(*gate as u64);
            }
        }
        Ok(())
    }

    fn range(&self, _feature: &str) -> Result<Option<FeatureRange>, OpError> {
        Ok(None)
    }

    fn latch_timestamp(
        &self,
        via: LatchVia,
        clock: &dyn SyncClock,
    ) -> Result<TimestampLatch, OpError> {
        self.state().calls.push(format!("latch via {via}"));
        let host_before = clock.now();
        let camera = PtpTime(clock.now().0 + PTP_AHEAD);
        let host_after = clock.now();
        Ok(TimestampLatch {
            camera,
            host_before,
            host_after,
        })
    }
}

#[derive(Debug, Default)]
struct RecordingSender {
    sent: Mutex<Vec<(Vec<CameraId>, PtpTime, ActionKeys)>>,
}

impl ActionSender for RecordingSender {
    fn scheduled_action(
        &self,
        cameras: &[CameraId],
        time: PtpTime,
        keys: ActionKeys,
    ) -> Result<(), OpError> {
        self.sent
            .lock()
            .unwrap()
            .push((cameras.to_vec(), time, keys));
        Ok(())
    }
}

#[test]
fn execute_maps_every_op_to_the_camera_or_the_action_sender() {
    let cam = FakeCamera::new("fake1");
    let clock = SystemClock::Realtime;
    let driver = Driver::new(vec![&cam], &clock);
    let id = CameraId(0);
    let set = Op::Set {
        camera: id,
        feature: "AcquisitionFrameRate",
        value: FeatureValue::Float(42.5),
    };
    assert_eq!(driver.execute(&set), Ok(Value::Done));
    let got = driver.execute(&Op::Get {
        camera: id,
        feature: "AcquisitionFrameRate",
    });
    assert_eq!(got, Ok(Value::Feature(FeatureValue::Float(42.5))));
    assert_eq!(
        driver.execute(&Op::Execute {
            camera: id,
            command: "AcquisitionStop"
        }),
        Ok(Value::Done)
    );
    let Ok(Value::Latch(latch)) = driver.execute(&Op::LatchTimestamp {
        camera: id,
        via: LatchVia::Bootstrap,
    }) else {
        panic!("a latch");
    };
    assert!(latch.host_before <= latch.host_after);
    assert!(latch.camera.0 >= latch.host_before.0 + PTP_AHEAD);
    // An unknown camera and a missing ACTION sender are errors that say so.
    let err = driver
        .execute(&Op::Get {
            camera: CameraId(5),
            feature: "PtpStatus",
        })
        .unwrap_err();
    assert!(err.message.contains("no camera #5"), "{err}");
    let action = Op::ScheduledAction {
        cameras: vec![id],
        time: PtpTime(123),
        keys: SyncConfig::new(PtpMode::TwoStep, 1.0).action_keys,
    };
    let err = driver.execute(&action).unwrap_err();
    assert!(err.message.contains("no ACTION sender"), "{err}");
    let sender = RecordingSender::default();
    let driver = Driver::new(vec![&cam], &clock).with_actions(&sender);
    assert_eq!(driver.execute(&action), Ok(Value::Done));
    assert_eq!(sender.sent.lock().unwrap()[0].1, PtpTime(123));
    assert_eq!(
        cam.state().calls,
        [
            "set AcquisitionFrameRate=42.5",
            "get AcquisitionFrameRate",
            "execute AcquisitionStop",
            "latch via bootstrap timestamp latch registers"
        ]
    );
}

#[test]
fn a_real_clock_run_locks_gates_verifies_frames_and_stops_on_request() {
    let cameras: Vec<Arc<FakeCamera>> = (1..=3)
        .map(|i| Arc::new(FakeCamera::new(&format!("fake{i}"))))
        .collect();
    let clock = SystemClock::Realtime;
    let (frame_tx, frame_rx) = crossbeam_channel::unbounded();
    let stop = AtomicBool::new(false);

    let mut config = SyncConfig::new(PtpMode::TwoStep, 500.0);
    config.run = RunLength::UntilStopped;
    config.status_poll_interval = Duration::from_millis(2);
    config.gate_margin = Duration::from_millis(250);
    config.offset_interval = Duration::from_millis(5);
    config.first_frame_timeout = Duration::from_millis(500);

    let refs: Vec<&dyn SyncCamera> = cameras
        .iter()
        .map(|c| c.as_ref() as &dyn SyncCamera)
        .collect();
    let driver = Driver::new(refs, &clock)
        .with_frames(frame_rx)
        .with_stop(&stop);
    let mut seq = driver.sequence(config).unwrap();
    let mut events = Vec::new();

    thread::scope(|scope| {
        // The capture path: once every camera is armed, 20 frames each at
        // gate + n × 2 ms, sent when they would arrive; then stop.
        let producer_cams = cameras.clone();
        let stop = &stop;
        scope.spawn(move || {
            let gate = loop {
                let gates: Vec<Option<u64>> =
                    producer_cams.iter().map(|c| c.state().armed_gate).collect();
                if let Some(all) = gates.iter().copied().collect::<Option<Vec<u64>>>() {
                    assert!(
                        all.windows(2).all(|w| w[0] == w[1]),
                        "one gate for all: {all:?}"
                    );
                    break all[0];
                }
                thread::sleep(Duration::from_millis(1));
            };
            for n in 0..20u64 {
                let due = gate + n * 2_000_000;
                while SystemClock::Realtime.now().0 + PTP_AHEAD < due + 50_000 {
                    thread::sleep(Duration::from_micros(200));
                }
                for (i, _) in producer_cams.iter().enumerate() {
                    let record = FrameRecord {
                        camera: CameraId(i),
                        frame: n + 1,
                        camera_timestamp_ns: due + 100 * i as u64,
                        rx_timestamp_ns: SystemClock::Realtime.now().0,
                        started_with_ptp: true,
                    };
                    frame_tx.send(record).unwrap();
                }
            }
            thread::sleep(Duration::from_millis(20));
            stop.store(true, Ordering::Relaxed);
        });
        let report = driver.run(&mut seq, |event| events.push(event.clone()));
        assert_eq!(report.outcome, Some(Outcome::Completed), "{report}");
        assert_eq!(report.aligned_fraction, 1.0, "{report}");
        assert_eq!(report.alignment.groups, 20, "{report}");
        assert_eq!(report.skew_ns.max, 200, "{report}");
        assert!(report
            .timescale
            .as_ref()
            .unwrap()
            .host_clock
            .contains("CLOCK_REALTIME"));
        for camera in &report.cameras {
            assert_eq!(camera.frames, 20, "{report}");
            assert!(camera.started_with_ptp);
            assert!(camera
                .offset_ns
                .is_some_and(|o| o.samples >= 1 && o.abs_ns.max == 25));
            // Receive time is after the camera timestamp, by the simulated 50 µs and scheduling.
            let latency = camera.latency_ns.unwrap();
            assert!(
                latency.p50 >= 40_000 && latency.p50 < 100_000_000,
                "{latency:?}"
            );
        }
        assert!(
            !report
                .diagnoses
                .iter()
                .any(|d| d.check == Check::NoLiveVideo),
            "{report}"
        );
    });
    assert!(events.contains(&Event::AllLocked));
    assert!(events.iter().any(|e| matches!(e, Event::Started { .. })));
    for cam in &cameras {
        let calls = cam.state().calls.clone();
        assert_eq!(
            calls.first().map(String::as_str),
            Some("execute AcquisitionStop")
        );
        assert_eq!(
            calls.last().map(String::as_str),
            Some("execute AcquisitionStop")
        );
        assert!(calls.iter().filter(|c| *c == "get PtpStatus").count() >= 3);
    }
}

#[test]
fn the_control_thread_reports_a_camera_without_frames() {
    let parts = ControlParts {
        cameras: vec![Box::new(FakeCamera::new("silent"))],
        actions: None,
        clock: Box::new(SystemClock::Tai),
    };
    let mut config = SyncConfig::new(PtpMode::OneStep, 100.0);
    config.run = RunLength::Duration(Duration::from_millis(30));
    config.status_poll_interval = Duration::from_millis(1);
    config.gate_margin = Duration::from_millis(250);
    config.first_frame_timeout = Duration::from_millis(10);
    let (events_tx, events_rx) = crossbeam_channel::unbounded();
    let handle = gvcap::sync::driver::spawn(
        parts,
        config,
        None,
        Some(events_tx),
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap();
    let report = handle.join().unwrap().unwrap();
    assert_eq!(report.outcome, Some(Outcome::Completed), "{report}");
    let no_video: Vec<_> = report
        .diagnoses
        .iter()
        .filter(|d| d.check == Check::NoLiveVideo)
        .collect();
    assert_eq!(no_video.len(), 1, "{report}");
    assert_eq!(no_video[0].camera.as_deref(), Some("silent"));
    assert!(!report.requirements_met);
    assert!(report.timescale.unwrap().host_clock.contains("CLOCK_TAI"));
    let events: Vec<Event> = events_rx.try_iter().collect();
    assert!(matches!(
        events.last(),
        Some(Event::Finished(Outcome::Completed))
    ));
}

const XML: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<RegisterDescription ModelName="SyncTest" VendorName="gvcap" StandardNameSpace="GEV"
    SchemaMajorVersion="1" SchemaMinorVersion="1" SchemaSubMinorVersion="0"
    MajorVersion="1" MinorVersion="0" SubMinorVersion="0"
    ProductGuid="5D1E2A60-0000-4000-8000-000000000011" VersionGuid="5D1E2A60-0000-4000-8000-000000000012"
    xmlns="http://www.genicam.org/GenApi/Version_1_1">
  <Category Name="Root" NameSpace="Standard">
    <pFeature>AcquisitionFrameRate</pFeature>
    <pFeature>PtpMode</pFeature>
    <pFeature>PtpStatus</pFeature>
    <pFeature>AcquisitionStart</pFeature>
    <pFeature>GevTimestampControlLatch</pFeature>
    <pFeature>GevTimestampValue</pFeature>
    <pFeature>GevTimestampTickFrequency</pFeature>
  </Category>
  <Float Name="AcquisitionFrameRate" NameSpace="Standard">
    <pValue>AcquisitionFrameRateReg</pValue>
    <Min>1</Min>
    <Max>120</Max>
  </Float>
  <FloatReg Name="AcquisitionFrameRateReg" NameSpace="Custom">
    <Address>0x20000</Address><Length>4</Length><AccessMode>RW</AccessMode>
    <pPort>Device</pPort><Endianess>BigEndian</Endianess>
  </FloatReg>
  <Enumeration Name="PtpMode" NameSpace="Custom">
    <EnumEntry Name="Off"><Value>0</Value></EnumEntry>
    <EnumEntry Name="OneStep"><Value>1</Value></EnumEntry>
    <EnumEntry Name="TwoStep"><Value>2</Value></EnumEntry>
    <pValue>PtpModeReg</pValue>
  </Enumeration>
  <IntReg Name="PtpModeReg" NameSpace="Custom">
    <Address>0x20004</Address><Length>4</Length><AccessMode>RW</AccessMode>
    <pPort>Device</pPort><Sign>Unsigned</Sign><Endianess>BigEndian</Endianess>
  </IntReg>
  <Enumeration Name="PtpStatus" NameSpace="Custom">
    <EnumEntry Name="Listening"><Value>1</Value></EnumEntry>
    <EnumEntry Name="Slave"><Value>3</Value></EnumEntry>
    <pValue>PtpStatusReg</pValue>
  </Enumeration>
  <IntReg Name="PtpStatusReg" NameSpace="Custom">
    <Address>0x20008</Address><Length>4</Length><AccessMode>RO</AccessMode>
    <pPort>Device</pPort><Cachable>NoCache</Cachable><Sign>Unsigned</Sign><Endianess>BigEndian</Endianess>
  </IntReg>
  <Command Name="AcquisitionStart" NameSpace="Standard">
    <pValue>AcquisitionStartReg</pValue>
    <CommandValue>1</CommandValue>
  </Command>
  <IntReg Name="AcquisitionStartReg" NameSpace="Custom">
    <Address>0x2000C</Address><Length>4</Length><AccessMode>WO</AccessMode>
    <pPort>Device</pPort><Sign>Unsigned</Sign><Endianess>BigEndian</Endianess>
  </IntReg>
  <Command Name="GevTimestampControlLatch" NameSpace="Standard">
    <pValue>TimestampControlReg</pValue>
    <CommandValue>2</CommandValue>
  </Command>
  <IntReg Name="TimestampControlReg" NameSpace="Custom">
    <Address>0x0944</Address><Length>4</Length><AccessMode>WO</AccessMode>
    <pPort>Device</pPort><Sign>Unsigned</Sign><Endianess>BigEndian</Endianess>
  </IntReg>
  <IntReg Name="GevTimestampValue" NameSpace="Standard">
    <Address>0x0948</Address><Length>8</Length><AccessMode>RO</AccessMode>
    <pPort>Device</pPort><Cachable>NoCache</Cachable><Sign>Unsigned</Sign><Endianess>BigEndian</Endianess>
  </IntReg>
  <IntReg Name="GevTimestampTickFrequency" NameSpace="Standard">
    <Address>0x093C</Address><Length>8</Length><AccessMode>RO</AccessMode>
    <pPort>Device</pPort><Sign>Unsigned</Sign><Endianess>BigEndian</Endianess>
  </IntReg>
  <Port Name="Device" NameSpace="Standard"/>
</RegisterDescription>
"#;

/// A clock that advances 1 µs per reading, so before < after is visible.
#[derive(Debug)]
struct SteppingClock(Mutex<u64>);

impl SyncClock for SteppingClock {
    fn now(&self) -> HostTime {
        let mut t = self.0.lock().unwrap();
        *t += 1_000;
        HostTime(*t)
    }
    fn describe(&self) -> String {
        "stepping test clock".into()
    }
}

#[test]
fn the_genicam_camera_sets_reads_executes_and_latches_through_its_port() {
    let map = FeatureMap::from_xml(XML).expect("test XML builds");
    let space = RegisterSpace::new();
    space.put_u32(0x20008, 3); // PtpStatus = Slave
    space.put_u64(0x0948, 250_000_000); // 2 s at 125 MHz
    space.put_u64(0x093C, 125_000_000);
    let cam = GenicamCamera::new("regcam", &space, &map);

    let features = cam.features();
    assert!(features.has("GevTimestampValue"));
    assert!(features.has_entry("PtpMode", "TwoStep"));

    cam.set("PtpMode", &FeatureValue::Enumeration("TwoStep".into()))
        .unwrap();
    assert_eq!(space.u32_at(0x20004), 2);
    cam.set("AcquisitionFrameRate", &FeatureValue::Float(60.0))
        .unwrap();
    assert_eq!(
        cam.get("AcquisitionFrameRate").unwrap(),
        FeatureValue::Float(60.0)
    );
    assert_eq!(
        cam.get("PtpStatus").unwrap(),
        FeatureValue::Enumeration("Slave".into())
    );
    // A changed register is read again: Get never answers from a cache.
    space.put_u32(0x20008, 1);
    assert_eq!(
        cam.get("PtpStatus").unwrap(),
        FeatureValue::Enumeration("Listening".into())
    );

    let err = cam
        .set("AcquisitionFrameRate", &FeatureValue::Float(500.0))
        .unwrap_err();
    assert_eq!(err.kind, OpErrorKind::OutOfRange, "{err}");
    assert!(err.message.contains("regcam"), "{err}");
    match cam.range("AcquisitionFrameRate").unwrap() {
        Some(FeatureRange::Float { max, .. }) => assert_eq!(max, 120.0),
        other => panic!("{other:?}"),
    }
    assert_eq!(cam.get("Nope").unwrap_err().kind, OpErrorKind::Unavailable);

    cam.execute("AcquisitionStart").unwrap();
    assert_eq!(space.u32_at(0x2000C), 1);

    let clock = SteppingClock(Mutex::new(5_000_000));
    let via = LatchVia::Features {
        latch: "GevTimestampControlLatch",
        value: "GevTimestampValue",
        tick_frequency: Some("GevTimestampTickFrequency"),
    };
    let latch = cam.latch_timestamp(via, &clock).unwrap();
    assert_eq!(space.u32_at(0x0944), 2, "the latch bit was written");
    assert_eq!(latch.camera, PtpTime(2_000_000_000));
    assert_eq!(latch.host_after.0 - latch.host_before.0, 1_000);

    // The bootstrap registers give the same.
    space.put_u32(0x0944, 0);
    let latch = cam.latch_timestamp(LatchVia::Bootstrap, &clock).unwrap();
    assert_eq!(space.u32_at(0x0944), 2);
    assert_eq!(latch.camera, PtpTime(2_000_000_000));
    // A camera without a counter says so.
    space.put_u64(0x093C, 0);
    let err = cam
        .latch_timestamp(LatchVia::Bootstrap, &clock)
        .unwrap_err();
    assert!(err.message.contains("no timestamp counter"), "{err}");
}

#[test]
fn scheduled_actions_go_to_each_camera_and_missing_acknowledges_are_named() {
    // A loopback GVCP responder that acknowledges ACTIONs and records them.
    let responder = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::new(127, 71, 3, 5), 3956)).unwrap();
    responder
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_by_responder = Arc::clone(&seen);
    let server = thread::spawn(move || {
        let mut buf = [0u8; 600];
        for _ in 0..2 {
            let Ok((len, from)) = responder.recv_from(&mut buf) else {
                return;
            };
            let (header, command) = CommandRepr::parse(&buf[..len]).unwrap();
            seen_by_responder
                .lock()
                .unwrap()
                .push((header.flags, command));
            let ack = AckRepr::Action;
            let mut out = vec![0u8; ack.buffer_len()];
            let n = ack.emit(Status::Success, header.req_id, &mut out).unwrap();
            responder.send_to(&out[..n], from).unwrap();
        }
    });
    let keys = ActionKeys {
        device_key: 0x1234_5678,
        group_key: 7,
        group_mask: 1,
    };
    let sender = UdpActionSender::new(
        vec![
            ("answers".into(), Ipv4Addr::new(127, 71, 3, 5)),
            ("silent".into(), Ipv4Addr::new(127, 71, 3, 6)),
        ],
        Duration::from_millis(300),
    )
    .unwrap();
    sender
        .scheduled_action(&[CameraId(0)], PtpTime(1_700_000_000_123_456_789), keys)
        .unwrap();
    let err = sender
        .scheduled_action(&[CameraId(0), CameraId(1)], PtpTime(5), keys)
        .unwrap_err();
    assert_eq!(err.kind, OpErrorKind::NoAnswer);
    assert!(
        err.message.contains("silent") && !err.message.contains("answers"),
        "{err}"
    );
    server.join().unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let (flags, command) = &seen[0];
    assert_eq!(flags & 0x80, 0x80, "SCHEDULED_ACTION flag");
    assert_eq!(
        *command,
        CommandRepr::Action {
            device_key: 0x1234_5678,
            group_key: 7,
            group_mask: 1,
            action_time: Some(1_700_000_000_123_456_789),
        }
    );
}
