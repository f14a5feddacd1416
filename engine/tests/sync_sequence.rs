//! The sync sequence in virtual time against in-process simulated cameras:
//! the whole workflow and each failure the issue names, without a network.

mod sync_support;

use std::time::Duration;

use gvcap::genicam::FeatureValue;
use gvcap::sync::{
    CameraSetup, Check, FeatureSet, HostTime, OpId, Outcome, Phase, PtpMode, RunLength, SyncConfig,
    SyncSequence,
};
use sync_support::{emergent_cameras, Model, Rig, SimCamera, START};

fn config(mode: PtpMode) -> SyncConfig {
    let mut config = SyncConfig::new(mode, 30.0);
    config.run = RunLength::Frames(120);
    config.lock_timeout = Duration::from_secs(15);
    config
}

fn failed_reason(rig: &Rig) -> (Phase, String) {
    match rig.seq.outcome() {
        Some(Outcome::Failed { phase, reason }) => (*phase, reason.clone()),
        other => panic!("expected a failure, got {other:?}\n{}", rig.seq.report()),
    }
}

fn checks_for(rig: &Rig, check: Check) -> Vec<&gvcap::sync::Diagnosis> {
    rig.seq
        .diagnoses()
        .iter()
        .filter(|d| d.check == check)
        .collect()
}

fn started_any(rig: &Rig) -> bool {
    rig.cameras
        .iter()
        .any(|c| c.executed.iter().any(|e| e == "AcquisitionStart"))
}

#[test]
fn four_cameras_lock_start_at_one_gate_and_stay_aligned() {
    let mut rig = Rig::new(emergent_cameras(4), config(PtpMode::TwoStep));
    rig.run();
    let report = rig.seq.report();
    assert_eq!(rig.seq.outcome(), Some(&Outcome::Completed), "{report}");
    assert!(report.requirements_met, "{report}");
    assert!(rig.seq.diagnoses().is_empty(), "{report}");

    // Every camera got the workflow's settings, in order, then the same gate.
    let gate = rig.seq.gate_time().expect("a gate time");
    for cam in &rig.cameras {
        let written: Vec<String> = cam.writes.iter().map(|(f, v)| format!("{f}={v}")).collect();
        assert_eq!(
            written,
            [
                "TriggerSelector=FrameStart".to_string(),
                "AcquisitionMode=MultiFrame".into(),
                "TriggerMode=On".into(),
                "TriggerSource=Software".into(),
                "AcquisitionFrameCount=1".into(),
                "PtpMode=TwoStep".into(),
                "AcquisitionFrameRate=30".into(),
                format!("PtpAcquisitionGateTime={}", gate.0),
            ],
            "{}",
            cam.name
        );
        assert_eq!(
            cam.executed.first().map(String::as_str),
            Some("AcquisitionStop")
        );
        assert!(cam.executed.iter().any(|e| e == "AcquisitionStart"));
    }
    // The gate is in the cameras' PTP time (37 s ahead of the host), after
    // the latch and within the margin plus the error bound.
    let timescale = report.timescale.clone().expect("timescale measured");
    assert_eq!(timescale.host_clock, "virtual host clock");
    assert!(timescale.error_bound_ns <= 100_000, "{timescale:?}");
    assert!(
        (timescale.mean_offset_ns - 37_000_000_000).abs() < 1_000,
        "{timescale:?}"
    );
    let gate_host = gate.0 - sync_support::PTP_MINUS_HOST;
    assert!(
        gate_host > START && gate_host < START + 12_000_000_000,
        "{gate}"
    );

    // Every frame aligned, sub-microsecond skew, every frame started with PTP.
    assert_eq!(report.aligned_fraction, 1.0, "{report}");
    assert!(report.alignment.groups >= 120, "{report}");
    assert!(report.skew_ns.p99 < 1_000, "{report}");
    assert!(report.skew_ns.max < 1_000, "{report}");
    for camera in &report.cameras {
        assert_eq!(camera.ptp_status.as_deref(), Some("Slave"));
        assert!(camera.frames >= 120, "{}: {}", camera.name, camera.frames);
        assert!(camera.started_with_ptp);
        assert_eq!(camera.statuses_seen, ["Listening", "Uncalibrated", "Slave"]);
        let offset = camera.offset_ns.expect("offset sampled");
        assert!(offset.samples >= 3 && offset.abs_ns.max < 400, "{offset:?}");
        let latency = camera.latency_ns.expect("latency measured");
        assert!((50_000..200_000).contains(&latency.p50), "{latency:?}");
        assert_eq!(
            camera.method.as_deref(),
            Some("Emergent PtpMode, gate PtpAcquisitionGateTime")
        );
    }
    // The run stopped acquisition on every camera at the end.
    for cam in &rig.cameras {
        assert_eq!(
            cam.executed.last().map(String::as_str),
            Some("AcquisitionStop")
        );
    }

    // JSON keys the CLI promises.
    let json = report.to_json_value();
    for key in [
        "cameras",
        "aligned_fraction",
        "skew_ns",
        "diagnoses",
        "timescale",
        "requirements",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    for key in ["p50", "p99", "max"] {
        assert!(json["skew_ns"][key].is_u64(), "skew_ns.{key}");
    }
    assert_eq!(json["cameras"].as_array().unwrap().len(), 4);
    assert_eq!(json["cameras"][0]["ptp_status"], "Slave");
    assert_eq!(json["cameras"][0]["started_with_ptp"], true);
    assert_eq!(json["outcome"]["result"], "completed");
    assert!(json["timescale"]["error_bound_ns"].is_u64());
    let text = report.to_string();
    assert!(
        text.starts_with("sync: completed; requirements met"),
        "{text}"
    );
    assert!(text.contains("cam3: status Slave"), "{text}");
}

#[test]
fn frames_in_flight_at_the_stop_are_awaited_and_frames_after_it_are_not_held_against_the_run() {
    // The final AcquisitionStops take 20 ms each, so the last cameras take
    // one or two frames more than the first; camera 4's frames arrive
    // 200 ms late, after every stop was answered (80 ms).
    let mut config = config(PtpMode::TwoStep);
    config.run = RunLength::Duration(Duration::from_secs(2));
    let mut cameras = emergent_cameras(4);
    cameras[3].extra_latency = 200_000_000;
    let mut rig = Rig::new(cameras, config);
    rig.rtt = 20_000_000;
    rig.run();
    let report = rig.seq.report();
    assert_eq!(rig.seq.outcome(), Some(&Outcome::Completed), "{report}");
    assert!(report.requirements_met, "{report}");
    let alignment = report.alignment;
    assert_eq!(alignment.incomplete, 0, "{report}");
    assert_eq!(report.aligned_fraction, 1.0, "{report}");
    assert!(alignment.trailing >= 1, "{alignment:?}");
    // Frame 61, at the gate plus 2 s, is taken the instant the stop begins:
    // it is the first that is not judged. Frames 1 to 60 are, camera 4's too.
    assert_eq!(alignment.groups, 60, "{alignment:?}");
    let cam4 = &report.cameras[3];
    assert_eq!(cam4.frames, 60, "{report}");
    // Camera 3 was stopped 40 ms after camera 1 and took a frame more.
    assert!(
        report.cameras[0].frames < report.cameras[2].frames,
        "{report}"
    );
}

#[test]
fn one_step_request_against_a_two_step_master_stops_before_starting() {
    let mut rig = Rig::new(emergent_cameras(4), config(PtpMode::OneStep));
    rig.run();
    let (phase, reason) = failed_reason(&rig);
    assert_eq!(phase, Phase::AwaitingLock);
    assert!(reason.contains("cam1, cam2, cam3, cam4"), "{reason}");
    assert!(!started_any(&rig), "no camera may be started");
    let not_slave = checks_for(&rig, Check::NotSlave);
    assert_eq!(not_slave.len(), 4);
    for d in not_slave {
        assert!(
            d.cause
                .contains("PtpMode OneStep does not match the timing source"),
            "{}",
            d.cause
        );
        assert!(d.action.contains("--ptp-mode two-step"), "{}", d.action);
    }
    // It waited the lock timeout, polling, and no longer.
    let report = rig.seq.report();
    let waited = report.duration_ns.unwrap();
    assert!(
        (15_000_000_000..17_000_000_000).contains(&waited),
        "{waited}"
    );
    assert_eq!(report.cameras[0].statuses_seen, ["Listening"]);
}

#[test]
fn one_camera_that_never_locks_stops_the_start_and_is_named_alone() {
    let mut cameras = emergent_cameras(4);
    cameras[2].never_locks = true;
    let mut rig = Rig::new(cameras, config(PtpMode::TwoStep));
    rig.run();
    let (_, reason) = failed_reason(&rig);
    assert!(reason.contains("on cam3 "), "{reason}");
    assert!(!started_any(&rig));
    let not_slave = checks_for(&rig, Check::NotSlave);
    assert_eq!(not_slave.len(), 1);
    assert_eq!(not_slave[0].camera.as_deref(), Some("cam3"));
    assert!(
        not_slave[0]
            .cause
            .contains("3 of the other 3 cameras reached Slave"),
        "{}",
        not_slave[0].cause
    );
}

#[test]
fn no_grandmaster_is_diagnosed_as_the_likely_cause() {
    let mut rig = Rig::new(emergent_cameras(2), config(PtpMode::TwoStep));
    rig.master.present = false;
    rig.run();
    failed_reason(&rig);
    let d = checks_for(&rig, Check::NotSlave);
    assert_eq!(d.len(), 2);
    assert!(
        d[0].cause.contains("no grandmaster is reachable"),
        "{}",
        d[0].cause
    );
    assert!(d[0].action.contains("ptp4l"), "{}", d[0].action);
}

#[test]
fn a_clamped_frame_rate_is_diagnosed_before_streaming() {
    let mut cameras = emergent_cameras(4);
    cameras[1].max_rate = 24.5;
    let mut rig = Rig::new(cameras, config(PtpMode::TwoStep));
    rig.run();
    let (phase, reason) = failed_reason(&rig);
    assert_eq!(phase, Phase::ReadingRanges);
    assert!(reason.contains("cam2 (max 24.500 Hz)"), "{reason}");
    assert!(!started_any(&rig), "streaming must not start");
    let clamped = checks_for(&rig, Check::FrameRateClamped);
    assert_eq!(clamped.len(), 1);
    assert_eq!(clamped[0].camera.as_deref(), Some("cam2"));
    assert!(
        clamped[0].cause.contains("its maximum is 24.500 Hz"),
        "{}",
        clamped[0].cause
    );
    assert!(
        clamped[0].action.contains("at most 24.500 Hz"),
        "{}",
        clamped[0].action
    );
    let report = rig.seq.report();
    assert_eq!(report.cameras[1].frame_rate_max_hz, Some(24.5));
    assert_eq!(report.cameras[1].frame_rate_hz, Some(24.5));
    // The lock was never awaited.
    assert!(rig
        .events
        .iter()
        .all(|e| !matches!(e, gvcap::sync::Event::Phase(Phase::AwaitingLock))));
}

#[test]
fn a_streaming_camera_refuses_the_broadcast_and_nothing_is_written() {
    let mut cameras = emergent_cameras(4);
    cameras[1].stuck_streaming = true;
    let stuck = std::mem::replace(&mut cameras[1], SimCamera::new("x", Model::Emergent, 9));
    cameras[1] = stuck.streaming_now(START - 1_000_000_000);
    let mut rig = Rig::new(cameras, config(PtpMode::TwoStep));
    rig.run();
    let (phase, reason) = failed_reason(&rig);
    assert_eq!(phase, Phase::Stopping);
    assert!(reason.contains("cam2 is streaming"), "{reason}");
    assert!(
        reason.contains("nothing was written on any camera"),
        "{reason}"
    );
    assert_eq!(rig.all_writes(), Vec::new(), "no camera may be written");
    assert!(!started_any(&rig));
    let d = checks_for(&rig, Check::BroadcastWhileStreaming);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].camera.as_deref(), Some("cam2"));
    assert!(
        d[0].cause.contains("still streaming after AcquisitionStop"),
        "{}",
        d[0].cause
    );
}

#[test]
fn without_stopping_first_a_streaming_camera_leaves_every_camera_untouched() {
    let mut cameras = emergent_cameras(3);
    let streaming = std::mem::replace(&mut cameras[2], SimCamera::new("x", Model::Emergent, 9));
    cameras[2] = streaming.streaming_now(START - 500_000_000);
    let mut config = config(PtpMode::TwoStep);
    config.stop_streaming_first = false;
    let mut rig = Rig::new(cameras, config);
    rig.run();
    let (_, reason) = failed_reason(&rig);
    assert!(reason.contains("cam3 is streaming"), "{reason}");
    for cam in &rig.cameras {
        assert!(
            cam.writes.is_empty(),
            "{} was written: {:?}",
            cam.name,
            cam.writes
        );
        assert!(
            cam.executed.is_empty(),
            "{} executed {:?}",
            cam.name,
            cam.executed
        );
    }
    // Its frames before the start were seen, and were not started by PTP.
    assert!(rig.seq.report().cameras[2].frames_before_start > 0);
}

#[test]
fn a_camera_that_stops_answering_mid_run_is_reported_while_the_others_go_on() {
    let mut cameras = emergent_cameras(4);
    // The group is locked after about 5 s of virtual time; the gate is 1 s
    // later; the camera dies 2 s into the run.
    cameras[3].dies_at = Some(START + 9_000_000_000);
    let mut config = config(PtpMode::TwoStep);
    config.run = RunLength::Frames(150);
    let mut rig = Rig::new(cameras, config);
    rig.run();
    let report = rig.seq.report();
    assert_eq!(rig.seq.outcome(), Some(&Outcome::Completed), "{report}");
    let gate_host = rig.seq.gate_time().unwrap().0 - sync_support::PTP_MINUS_HOST;
    assert!(
        gate_host < START + 9_000_000_000,
        "the camera must die during the run"
    );

    let lost = checks_for(&rig, Check::CameraLost);
    assert_eq!(lost.len(), 1, "{report}");
    assert_eq!(lost[0].camera.as_deref(), Some("cam4"));
    assert!(
        lost[0].cause.contains("the other cameras went on"),
        "{}",
        lost[0].cause
    );
    let cam4 = &report.cameras[3];
    let lost_text = cam4.lost.as_deref().expect("reported lost");
    assert!(lost_text.contains("during the run"), "{lost_text}");
    // Detected within a heartbeat timeout (3 s) of going silent.
    let detected_at: u64 = lost_text
        .split("at ")
        .nth(1)
        .and_then(|t| t.split('.').next())
        .and_then(|s| s.parse::<u64>().ok())
        .expect("a time in the text")
        * 1_000_000_000;
    assert!(
        detected_at <= START + 9_000_000_000 + 3_000_000_000,
        "{lost_text}"
    );
    // The others delivered every frame and stayed aligned.
    for camera in &report.cameras[..3] {
        assert!(camera.frames >= 150, "{}: {}", camera.name, camera.frames);
    }
    assert!(cam4.frames > 0 && cam4.frames < 150, "{}", cam4.frames);
    assert_eq!(report.aligned_fraction, 1.0, "{report}");
    // The final stop went to the three live cameras only.
    assert!(!rig.cameras[3]
        .executed
        .iter()
        .skip(2)
        .any(|e| e == "AcquisitionStop"));
    assert!(report.to_string().contains("cam4: status"), "{report}");
    assert!(
        report
            .to_string()
            .contains("LOST: stopped answering during the run"),
        "{report}"
    );
    let json = report.to_json_value();
    assert!(json["cameras"][3]["lost"].is_string());
}

#[test]
fn a_camera_at_another_frame_rate_is_diagnosed_as_such() {
    let mut cameras = emergent_cameras(3);
    cameras[0].real_rate = Some(25.0);
    let mut rig = Rig::new(cameras, config(PtpMode::TwoStep));
    rig.run();
    let report = rig.seq.report();
    assert_eq!(rig.seq.outcome(), Some(&Outcome::Completed));
    assert!(!report.requirements_met, "{report}");
    let mismatch = checks_for(&rig, Check::FrameRateMismatch);
    assert_eq!(mismatch.len(), 1, "{report}");
    assert_eq!(mismatch[0].camera.as_deref(), Some("cam1"));
    assert!(
        mismatch[0].cause.contains("25.000 Hz"),
        "{}",
        mismatch[0].cause
    );
    assert!(report.aligned_fraction < 0.5, "{report}");
    assert!(!checks_for(&rig, Check::RequirementNotMet).is_empty());
    assert!(report
        .requirements
        .iter()
        .any(|r| r.name == "frame_alignment" && !r.met));
}

#[test]
fn a_gate_too_close_to_reach_every_camera_stops_the_group() {
    let mut config = config(PtpMode::TwoStep);
    config.gate_margin = Duration::from_micros(300);
    let mut rig = Rig::new(emergent_cameras(4), config);
    rig.run();
    let (phase, reason) = failed_reason(&rig);
    assert_eq!(phase, Phase::Arming);
    assert!(reason.contains("armed after the gate time"), "{reason}");
    let missed = checks_for(&rig, Check::GateMissed);
    assert!(!missed.is_empty());
    assert!(
        missed[0].action.contains("gate margin"),
        "{}",
        missed[0].action
    );
    // Every started camera was stopped again.
    for cam in &rig.cameras {
        assert_eq!(
            cam.executed.last().map(String::as_str),
            Some("AcquisitionStop"),
            "{}",
            cam.name
        );
    }
}

#[test]
fn cameras_without_a_gate_feature_start_by_scheduled_action_with_the_group() {
    let mut cameras = emergent_cameras(2);
    let mut sfnc = SimCamera::new("sfnc", Model::SfncActionStart, 7);
    sfnc.clock_error_ns = 60;
    let mut legacy = SimCamera::new("legacy", Model::LegacyActionPerFrame, 8);
    legacy.clock_error_ns = -90;
    cameras.push(sfnc);
    cameras.push(legacy);
    let mut rig = Rig::new(cameras, config(PtpMode::TwoStep));
    rig.run();
    let report = rig.seq.report();
    assert_eq!(rig.seq.outcome(), Some(&Outcome::Completed), "{report}");
    assert!(report.requirements_met, "{report}");
    assert_eq!(report.aligned_fraction, 1.0, "{report}");
    let gate = rig.seq.gate_time().unwrap().0;
    // One ACTION at the gate started the SFNC camera; the legacy camera got
    // one per frame from the gate on.
    assert_eq!(rig.cameras[2].actions.first(), Some(&gate));
    let legacy_actions = &rig.cameras[3].actions;
    assert!(legacy_actions.len() >= 120, "{}", legacy_actions.len());
    assert_eq!(legacy_actions[0], gate);
    assert_eq!(legacy_actions[1] - legacy_actions[0], 33_333_333);
    assert!(report.cameras[2]
        .method
        .as_deref()
        .unwrap()
        .contains("scheduled ACTION"));
    assert!(report.cameras[3]
        .method
        .as_deref()
        .unwrap()
        .starts_with("legacy GevIEEE1588"));
    let keys: Vec<&str> = rig.cameras[2]
        .writes
        .iter()
        .map(|(f, _)| f.as_str())
        .collect();
    assert!(
        keys.contains(&"ActionDeviceKey") && keys.contains(&"PtpEnable"),
        "{keys:?}"
    );
    assert!(rig.cameras[2]
        .writes
        .iter()
        .any(|(f, v)| f == "TriggerSource" && *v == FeatureValue::Enumeration("Action1".into())));
}

#[test]
fn a_camera_lacking_ptp_features_stops_everything_before_any_op() {
    let cameras = emergent_cameras(2);
    let mut setups: Vec<CameraSetup> = cameras
        .iter()
        .map(|c| CameraSetup {
            name: c.name.clone(),
            features: c.features(),
        })
        .collect();
    // A camera whose XML has acquisition features but no PTP at all.
    let mut plain = FeatureSet::new();
    for name in [
        "AcquisitionStart",
        "AcquisitionStop",
        "AcquisitionFrameRate",
    ] {
        plain.insert(name);
    }
    setups.push(CameraSetup {
        name: "plain".into(),
        features: plain,
    });
    let mut seq = SyncSequence::new(HostTime(START), config(PtpMode::TwoStep), setups).unwrap();
    assert!(seq.is_done());
    assert!(seq.poll_op().is_none(), "no op may be issued");
    let (phase, reason) = match seq.outcome() {
        Some(Outcome::Failed { phase, reason }) => (*phase, reason.clone()),
        other => panic!("{other:?}"),
    };
    assert_eq!(phase, Phase::Checking);
    assert!(reason.contains("plain lack"), "{reason}");
    let d = seq.diagnoses();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].check, Check::Unsupported);
    assert_eq!(d[0].camera.as_deref(), Some("plain"));
    assert!(d[0].cause.contains("no PTP control"), "{}", d[0].cause);
    assert!(
        d[0].cause.contains("no way to start at a PTP time"),
        "{}",
        d[0].cause
    );
}

#[test]
fn results_for_unknown_ops_and_frames_of_unknown_cameras_are_ignored() {
    let mut rig = Rig::new(emergent_cameras(1), config(PtpMode::TwoStep));
    rig.seq
        .handle_result(HostTime(START), OpId(999_999), Ok(gvcap::sync::Value::Done));
    rig.seq.handle_frame(
        HostTime(START),
        &gvcap::sync::FrameRecord {
            camera: gvcap::sync::CameraId(7),
            frame: 1,
            camera_timestamp_ns: 1,
            rx_timestamp_ns: 1,
            started_with_ptp: true,
        },
    );
    rig.run();
    assert_eq!(rig.seq.outcome(), Some(&Outcome::Completed));
}

#[test]
fn when_every_camera_is_lost_the_run_ends_at_once() {
    let mut cameras = emergent_cameras(1);
    cameras[0].dies_at = Some(START + 8_000_000_000);
    let mut config = config(PtpMode::TwoStep);
    config.run = RunLength::UntilStopped;
    let mut rig = Rig::new(cameras, config);
    rig.run();
    let report = rig.seq.report();
    assert_eq!(rig.seq.outcome(), Some(&Outcome::Completed), "{report}");
    assert!(report.cameras[0].lost.is_some());
    assert!(
        rig.now < START + 12_000_000_000,
        "it ended {} ns after the start",
        rig.now - START
    );
    assert!(!checks_for(&rig, Check::CameraLost).is_empty());
}
