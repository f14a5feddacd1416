//! gvsim on a rig, seen by independent clients: Aravis's arv-tool lists it
//! and reads and writes its features, gvcap's CLI agrees, and the process
//! shuts down cleanly on SIGTERM. Needs root (see `support::require_privileges`).

mod gvsim_rigs;
mod gvsim_util;
mod support;

use std::process::Output;

use gvsim_rigs::GvsimRig;
use support::Topology;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn arv_tool_and_gvcap_read_and_write_gvsim_features() {
    let name = "arv_tool_and_gvcap_read_and_write_gvsim_features";
    if !support::require_privileges(name) || !support::require_programs(name, &["arv-tool-0.8"]) {
        return;
    }
    let mut sim = GvsimRig::up(2, Topology::Switch, 1500, false, |_| Vec::new());
    let rig = &sim.rig;
    let ips = rig.camera_ips();

    // Aravis discovers both by broadcast.
    let out = rig
        .host_cmd("timeout")
        .args(["30", "arv-tool-0.8"])
        .output()
        .unwrap();
    let listing = text(&out);
    assert!(out.status.success(), "{listing}");
    for (i, ip) in ips.iter().enumerate() {
        let line = format!("gvcap-gvsim-GVSIM{} ({ip})", i + 1);
        assert!(
            listing.contains(&line),
            "arv-tool did not list {line}:\n{listing}"
        );
    }

    // Aravis reads features of every kind through the XML gvsim serves.
    let ip1 = ips[0].to_string();
    let out = rig
        .host_cmd("timeout")
        .args(["30", "arv-tool-0.8", "-a", &ip1, "control"])
        .args([
            "DeviceSerialNumber",
            "Width",
            "PixelFormat",
            "AcquisitionFrameRate",
            "PtpStatus",
            "GevTimestampTickFrequency",
        ])
        .output()
        .unwrap();
    let values = text(&out);
    assert!(out.status.success(), "{values}");
    for expected in [
        "DeviceSerialNumber = GVSIM1",
        "Width = 1280",
        "PixelFormat = Mono8",
        "AcquisitionFrameRate = 30",
        "PtpStatus = Disabled",
        "GevTimestampTickFrequency = 1000000000",
    ] {
        assert!(values.contains(expected), "missing {expected:?}:\n{values}");
    }

    // Aravis writes, gvcap reads back; gvcap writes, Aravis reads back.
    let out = rig
        .host_cmd("timeout")
        .args([
            "30",
            "arv-tool-0.8",
            "-a",
            &ip1,
            "control",
            "Width=640",
            "PixelFormat=Mono16",
            "PtpMode=TwoStep",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let gvcap = env!("CARGO_BIN_EXE_gvcap");
    let out = rig
        .host_cmd(gvcap)
        .args([
            "get",
            "GVSIM1",
            "Width",
            "PixelFormat",
            "PayloadSize",
            "PtpEnable",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["Width"], 640);
    assert_eq!(json["PixelFormat"], "Mono16");
    assert_eq!(json["PayloadSize"], 640 * 1024 * 2);
    assert_eq!(json["PtpEnable"], true);
    let ip2 = ips[1].to_string();
    let out = rig
        .host_cmd(gvcap)
        .args([
            "set",
            &ip2,
            "Height=480",
            "AcquisitionMode=MultiFrame",
            "DeviceUserID=right",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let out = rig
        .host_cmd("timeout")
        .args([
            "30",
            "arv-tool-0.8",
            "-a",
            &ip2,
            "control",
            "Height",
            "AcquisitionMode",
            "DeviceUserID",
        ])
        .output()
        .unwrap();
    let values = text(&out);
    for expected in [
        "Height = 480",
        "AcquisitionMode = MultiFrame",
        "DeviceUserID = right",
    ] {
        assert!(values.contains(expected), "missing {expected:?}:\n{values}");
    }
    // An out-of-range write fails with a clear error and changes nothing.
    let out = rig
        .host_cmd(gvcap)
        .args(["set", &ip2, "Width=4000"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("Width"), "{}", text(&out));
    let out = rig
        .host_cmd(gvcap)
        .args(["get", &ip2, "Width"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "Width=1280");

    // SIGTERM: every gvsim exits 0 and says so.
    assert!(
        sim.stop_cameras(),
        "gvsim did not exit cleanly:\n{}",
        sim.logs()
    );
    let logs = sim.logs();
    assert_eq!(logs.matches("gvsim: stopped").count(), 2, "{logs}");
    assert!(
        logs.contains("gvsim: camera GVSIM1 (gvcap gvsim) at 169.254.1.1:3956"),
        "{logs}"
    );
}
