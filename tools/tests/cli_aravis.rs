//! The `gvcap` CLI against an independent peer: Aravis's fake camera in a rig
//! namespace, cross-checked with Aravis's own `arv-tool-0.8` and decoded by
//! tshark's GVCP dissector. Needs root (see `support::require_privileges`).

mod support;

use std::net::Ipv4Addr;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{CameraKind, Rig, RigOptions, Topology};

const GVCAP: &str = env!("CARGO_BIN_EXE_gvcap");

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs gvcap inside the rig's host namespace.
fn gvcap(rig: &Rig, args: &[&str]) -> Output {
    rig.host_cmd(GVCAP).args(args).output().expect("run gvcap")
}

/// Width as Aravis's own client reads it.
fn arv_width(rig: &Rig, ip: Ipv4Addr) -> String {
    let out = rig
        .host_cmd("timeout")
        .args([
            "30",
            "arv-tool-0.8",
            "-a",
            &ip.to_string(),
            "control",
            "Width",
        ])
        .output()
        .expect("run arv-tool-0.8");
    assert!(out.status.success(), "arv-tool-0.8 failed: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn aravis_rig(test: &str) -> Option<Rig> {
    if !support::require_privileges(test)
        || !support::require_programs(test, &["arv-fake-gv-camera-0.8", "arv-tool-0.8"])
    {
        return None;
    }
    Some(Rig::up(RigOptions {
        cameras: 1,
        topology: Topology::Switch,
        camera: CameraKind::Aravis,
        ..Default::default()
    }))
}

#[test]
fn discover_get_set_against_the_aravis_fake_camera() {
    let Some(rig) = aravis_rig("discover_get_set_against_the_aravis_fake_camera") else {
        return;
    };
    let cam = rig.cameras()[0].clone();
    let serial = cam
        .serial
        .clone()
        .expect("rig names the Aravis camera's serial");
    let ip = cam.address.to_string();

    // discover --json lists it with serial and IP.
    let out = gvcap(&rig, &["discover", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let found: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("discover prints JSON");
    let found = found.as_array().expect("a JSON array");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["ip"], ip.as_str());
    assert_eq!(found[0]["serial"], serial.as_str());
    assert_eq!(found[0]["vendor"], "Aravis");
    for key in ["mac", "model", "user_name"] {
        assert!(found[0].get(key).is_some(), "discover --json lacks {key}");
    }

    // get, by IP and by serial number.
    for cam_ref in [ip.as_str(), serial.as_str()] {
        let out = gvcap(
            &rig,
            &["get", cam_ref, "Width", "Height", "PixelFormat", "--json"],
        );
        assert!(out.status.success(), "{}", text(&out));
        let values: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(values["Width"], 512);
        assert_eq!(values["Height"], 512);
        assert_eq!(values["PixelFormat"], "Mono8");
    }
    let out = gvcap(&rig, &["get", &ip, "Width", "Height", "PixelFormat"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Width=512\nHeight=512\nPixelFormat=Mono8\n"
    );

    // set, checked by Aravis's own client.
    let out = gvcap(&rig, &["set", &serial, "Width=640"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(arv_width(&rig, cam.address).contains("Width = 640"));

    // An out-of-range write fails with a clear error and changes nothing.
    let out = gvcap(&rig, &["set", &ip, "Width=100000"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("Width")
            && err.contains("100000")
            && err.contains("maximum")
            && err.contains("2048"),
        "error should name the feature, the value and the range: {err}"
    );
    assert!(arv_width(&rig, cam.address).contains("Width = 640"));

    // A misspelt feature says how to find the right name.
    let out = gvcap(&rig, &["get", &ip, "Widht"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("gvcap features"));

    // features lists the camera's XML; the offline mode reads the same from a file.
    let out = gvcap(&rig, &["features", &ip, "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let online: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(online
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "Width"));
    let xml = std::env::temp_dir().join(format!("gvcap-aravis-{}.xml", rig.prefix()));
    let out = gvcap(&rig, &["xml", &ip, "--out", xml.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let out = Command::new(GVCAP)
        .args(["features", "--json", "--xml", xml.to_str().unwrap()])
        .output()
        .expect("run gvcap");
    assert!(out.status.success(), "{}", text(&out));
    let offline: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(online, offline);
    let _ = std::fs::remove_file(xml);
}

#[test]
fn a_camera_that_does_not_answer_is_named_within_the_timeout() {
    let Some(rig) = aravis_rig("a_camera_that_does_not_answer_is_named_within_the_timeout") else {
        return;
    };
    // An address on the rig's link where nothing answers.
    let silent = "169.254.1.200";
    let started = Instant::now();
    let out = gvcap(
        &rig,
        &[
            "get",
            silent,
            "Width",
            "--timeout-ms",
            "200",
            "--retries",
            "1",
        ],
    );
    let took = started.elapsed();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(silent) && err.contains("no answer"), "{err}");
    assert!(err.contains("2 attempts of 200 ms"), "{err}");
    // Two attempts of 200 ms really waited for; the upper bound leaves room
    // for starting gvcap in the namespace on a loaded 2-core machine.
    assert!(took >= Duration::from_millis(400), "took {took:?}");
    assert!(took < Duration::from_millis(2500), "took {took:?}");
}

#[test]
fn control_privilege_is_exclusive_and_expires_with_the_heartbeat() {
    let Some(rig) = aravis_rig("control_privilege_is_exclusive_and_expires_with_the_heartbeat")
    else {
        return;
    };
    let ip = rig.cameras()[0].address.to_string();
    let try_set = |width: &str| {
        gvcap(
            &rig,
            &[
                "set",
                &ip,
                &format!("Width={width}"),
                "--timeout-ms",
                "200",
                "--retries",
                "0",
            ],
        )
    };

    // A clean exit gives control back at once.
    let out = gvcap(&rig, &["control", &ip, "--exclusive", "--seconds", "0.5"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = try_set("600");
    assert!(
        out.status.success(),
        "control was not released on exit: {}",
        text(&out)
    );

    // While gvcap holds it, another client is refused.
    let mut holder = rig
        .host_cmd(GVCAP)
        .args(["control", &ip, "--exclusive", "--seconds", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start gvcap control");
    let mut line = String::new();
    {
        use std::io::BufRead;
        let stdout = holder.stdout.as_mut().expect("piped stdout");
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read");
    }
    assert!(line.starts_with("holding Exclusive"), "{line}");
    // Longer than the camera's 3 s heartbeat timeout: the heartbeat keeps it.
    std::thread::sleep(Duration::from_secs(4));
    let out = try_set("700");
    assert!(
        !out.status.success(),
        "a second client got control: {}",
        text(&out)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("control privilege not granted"), "{err}");

    // Killed without releasing: the camera frees it once the heartbeat times out.
    holder.kill().expect("kill the holder");
    let _ = holder.wait();
    let killed = Instant::now();
    let freed = loop {
        if try_set("704").status.success() {
            break killed.elapsed();
        }
        assert!(
            killed.elapsed() < Duration::from_secs(12),
            "control still held 12 s after the holder died"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(
        freed > Duration::from_millis(1500),
        "freed after {freed:?}: too early for a 3 s heartbeat timeout, so it was never held"
    );
    assert!(arv_width(&rig, rig.cameras()[0].address).contains("Width = 704"));
}

#[test]
fn tshark_decodes_our_gvcp_without_warnings() {
    let test = "tshark_decodes_our_gvcp_without_warnings";
    if !support::require_programs(test, &["tshark"]) {
        return;
    }
    let Some(rig) = aravis_rig(test) else {
        return;
    };
    let ip = rig.cameras()[0].address.to_string();
    let host = rig.host_interfaces()[0].clone();
    let capture = support::GvcpCapture::start(&rig, &host.name);
    for args in [
        vec!["discover"],
        vec!["get", &ip, "Width", "PixelFormat"],
        vec!["set", &ip, "Width=256", "PixelFormat=Mono8"],
        vec!["exec", &ip, "AcquisitionStop"],
    ] {
        let out = gvcap(&rig, &args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
    }
    let decoded = capture.finish(host.address);
    decoded.assert_clean_with(&[
        "DISCOVERY_CMD",
        "READMEM_CMD",
        "READREG_CMD",
        "WRITEREG_CMD",
    ]);
    assert!(
        decoded.acks.len() >= decoded.commands.len() - 1,
        "acks {} for {} commands",
        decoded.acks.len(),
        decoded.commands.len()
    );
}
