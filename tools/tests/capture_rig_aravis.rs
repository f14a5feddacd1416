//! `gvcap capture` against Aravis's fake camera on a rig, through AF_XDP:
//! every frame complete; GVCP (a second client reading a feature) and PTP
//! (a grandmaster in the host namespace, a slave that never touches the
//! clock in the camera's) keep flowing while the program is attached; the
//! program is gone after a normal exit, after SIGINT and after SIGKILL.
//! Needs root.

mod capture_util;
mod support;

use std::fs::File;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use capture_util::{
    assert_all_complete, gvcap, num, one_at_a_time, text, xdp_left, KillOnDrop, Running,
};
use support::{Rig, RigOptions};

/// Waits until `path` contains `needle`, or panics after `timeout`.
fn wait_for_text(path: &std::path::Path, needle: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if std::fs::read_to_string(path).is_ok_and(|t| t.contains(needle)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "{needle:?} did not appear in {} within {timeout:?}:\n{}",
        path.display(),
        std::fs::read_to_string(path).unwrap_or_default()
    );
}

#[test]
fn aravis_camera_over_xdp_while_gvcp_and_ptp_keep_flowing() {
    let name = "aravis_camera_over_xdp_while_gvcp_and_ptp_keep_flowing";
    if !support::require_privileges(name)
        || !support::require_programs(name, &["arv-fake-gv-camera-0.8", "ptp4l", "tshark"])
    {
        return;
    }
    let _one = one_at_a_time();
    let rig = Rig::up(RigOptions {
        grandmaster: true,
        ..RigOptions::default()
    });
    let cam = rig.cameras()[0].clone();
    let ip = cam.address.to_string();
    let host_if = rig.host_interfaces()[0].name.clone();

    // A PTP slave in the camera namespace: free_running, so it measures
    // and never adjusts the (shared) system clock. Its Delay_Req messages
    // enter the host through the interface the XDP program is attached to.
    let slave_log = rig.state_dir().join("ptp-slave.log");
    let log = File::create(&slave_log).unwrap();
    // Killed when the test ends, passing or not (before the rig goes).
    let _slave = KillOnDrop(
        rig.camera_cmd(1, "ptp4l")
            .args(["-i", &cam.interface, "-S", "-s", "-m", "-q"])
            .args(["--free_running", "1"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start the ptp4l slave"),
    );
    // ptp4l logs "minimum delay request interval" once its first Delay_Req
    // was answered: Sync, Follow_Up, Delay_Req and Delay_Resp all flow. (Its
    // per-sample "master offset" lines turn into a summary every few seconds
    // when the master sends more than one Sync a second, as the rig's does.)
    wait_for_text(
        &slave_log,
        "minimum delay request interval",
        Duration::from_secs(30),
    );

    // 175 frames at the fake camera's 25 fps: about 7 s attached.
    let mut running = Running::start(&rig, &[&ip, "--frames", "175", "--path", "xdp"], 1);
    assert!(
        !xdp_left(&rig).is_empty(),
        "the program is attached while capturing"
    );
    let pcap = rig.state_dir().join("ptp.pcapng");
    let mut tshark = rig
        .host_cmd("tshark")
        .args(["-q", "-i", &host_if, "-a", "duration:4"])
        .args(["-f", "udp port 319 or udp port 320", "-w"])
        .arg(&pcap)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tshark");
    // GVCP: another client reads features while the stream goes to AF_XDP.
    let get = gvcap(&rig, &["get", &ip, "Width", "PayloadSize"])
        .output()
        .expect("run gvcap get");
    assert!(
        get.status.success(),
        "gvcap get during capture: {}",
        text(&get)
    );
    assert!(
        String::from_utf8_lossy(&get.stdout).contains("Width=512"),
        "{}",
        text(&get)
    );
    tshark.wait().expect("tshark");
    assert!(
        running.is_running(),
        "the capture (and the program) outlived the PTP observation"
    );
    let report = running.finish();

    let ptp = Command::new("tshark")
        .arg("-r")
        .arg(&pcap)
        .args(["-T", "fields", "-e", "ptp.v2.messagetype", "-e", "ip.src"])
        .output()
        .expect("tshark -r");
    let fields = String::from_utf8_lossy(&ptp.stdout);
    let count = |id: &str| fields.lines().filter(|l| l.starts_with(id)).count();
    // Message ids: 0x01 Delay_Req (slave to host), 0x09 Delay_Resp (host to slave).
    let (requests, responses) = (count("0x01\t"), count("0x09\t"));
    assert!(
        requests >= 2 && responses >= 2,
        "PTP while attached: {requests} Delay_Req in, {responses} Delay_Resp out:\n{fields}"
    );

    let camera = &report["cameras"][0];
    assert_all_complete(camera, 175, "xdp");
    assert_eq!(
        num(camera, "frames_complete"),
        num(camera, "frames_received")
    );
    assert_eq!(camera["timestamp_source"], "xdp-clock-tai", "{camera:#}");
    assert_eq!(num(camera, "packets_foreign"), 0, "{camera:#}");
    let xdp = &report["interfaces"][0]["xdp"];
    assert_eq!(
        num(xdp, "steered"),
        num(camera, "packets_received"),
        "{report:#}"
    );
    assert!(
        num(xdp, "passed") >= (requests as u64),
        "GVCP, ARP and PTP were passed to the kernel: {report:#}"
    );
    assert!(
        xdp_left(&rig).is_empty(),
        "XDP program left after exit: {}",
        xdp_left(&rig)
    );
}

/// Waits until the process is gone, up to 10 s.
fn wait_gone(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        assert!(Instant::now() < deadline, "gvcap did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn program_is_gone_after_sigint_and_after_sigkill() {
    let name = "program_is_gone_after_sigint_and_after_sigkill";
    if !support::require_privileges(name)
        || !support::require_programs(name, &["arv-fake-gv-camera-0.8"])
    {
        return;
    }
    let _one = one_at_a_time();
    let rig = Rig::up(RigOptions::default());
    let ip = rig.cameras()[0].address.to_string();
    for signal in [rustix::process::Signal::INT, rustix::process::Signal::KILL] {
        let capture = gvcap(
            &rig,
            &["capture", &ip, "--frames", "100000", "--path", "xdp"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start gvcap capture");
        let mut child = KillOnDrop(capture);
        // `ip netns exec` execs gvcap: the child's pid is gvcap's.
        let deadline = Instant::now() + Duration::from_secs(15);
        while xdp_left(&rig).is_empty() {
            assert!(Instant::now() < deadline, "the program was never attached");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(500));
        let pid = rustix::process::Pid::from_raw(child.0.id() as i32).expect("pid");
        rustix::process::kill_process(pid, signal).expect("signal gvcap");
        let status = wait_gone(&mut child.0);
        if signal == rustix::process::Signal::INT {
            // Interrupted before its frames: reported as a failure, cleanly.
            assert_eq!(status.code(), Some(1), "{status}");
        }
        assert!(
            xdp_left(&rig).is_empty(),
            "XDP program left after {signal:?}: {}",
            xdp_left(&rig)
        );
    }
    // A new capture after a killed one attaches and works, once the killed
    // one's control privilege expired with its heartbeat.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = gvcap(
            &rig,
            &["capture", "--json", &ip, "--frames", "10", "--path", "xdp"],
        )
        .output()
        .expect("run gvcap capture");
        if out.status.success() {
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_all_complete(&report["cameras"][0], 10, "xdp");
            break;
        }
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("control privilege")
                && Instant::now() < deadline,
            "{}",
            text(&out)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(xdp_left(&rig).is_empty(), "{}", xdp_left(&rig));
}
