//! The rig itself, checked against Aravis's fake camera: namespaces, links,
//! addresses, MTU, discovery from the host namespace, PTP grandmaster, and
//! teardown. Needs root (see `support::require_privileges`).

mod support;

use std::net::Ipv4Addr;
use std::time::Duration;

use support::{CameraKind, Rig, RigOptions, Topology};

fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// MTU of `interface` as seen inside namespace `ns`.
fn mtu_in(ns: &str, interface: &str) -> u32 {
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", ns, "cat"])
        .arg(format!("/sys/class/net/{interface}/mtu"))
        .output()
        .expect("run ip netns exec");
    assert!(
        out.status.success(),
        "no interface {interface} in {ns}: {}",
        output_text(&out)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("numeric mtu")
}

#[test]
fn switch_rig_two_aravis_cameras_answer_discovery_and_vanish_on_drop() {
    if !support::require_privileges("switch_rig_two_aravis_cameras")
        || !support::require_programs(
            "switch_rig_two_aravis_cameras",
            &["arv-fake-gv-camera-0.8", "arv-tool-0.8"],
        )
    {
        return;
    }
    let rig = Rig::up(RigOptions {
        cameras: 2,
        topology: Topology::Switch,
        camera: CameraKind::Aravis,
        ..Default::default()
    });
    let p = rig.prefix().to_string();
    assert_eq!(
        rig.camera_ips(),
        [Ipv4Addr::new(169, 254, 1, 1), Ipv4Addr::new(169, 254, 1, 2)]
    );
    let host_ifs: Vec<&str> = rig
        .host_interfaces()
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(host_ifs, [format!("{p}h0")]);
    let namespaces = rig.namespaces();
    assert_eq!(
        namespaces.len(),
        4,
        "host, switch and two cameras: {namespaces:?}"
    );
    assert!(namespaces.iter().all(|ns| support::netns_exists(ns)));

    // Our own unicast probe: each camera answers with its address and serial.
    for cam in rig.cameras() {
        let answer = rig
            .wait_for_camera(cam.address, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(answer.current_ip, cam.address);
        assert_eq!(Some(&answer.serial), cam.serial.as_ref());
        assert_eq!(answer.manufacturer, "Aravis");
    }

    // Aravis's own client, which discovers by broadcast on every interface it
    // sees: inside the host namespace that is the rig's link only.
    let out = rig
        .host_cmd("timeout")
        .args(["30", "arv-tool-0.8"])
        .output()
        .expect("run arv-tool-0.8");
    let listing = output_text(&out);
    assert!(out.status.success(), "arv-tool-0.8 failed: {listing}");
    for (i, ip) in rig.camera_ips().iter().enumerate() {
        let line = format!("Aravis-Fake-{p}-{} ({ip})", i + 1);
        assert!(
            listing.contains(&line),
            "arv-tool-0.8 did not list '{line}':\n{listing}"
        );
    }
    assert_eq!(
        listing
            .lines()
            .filter(|l| l.contains("Aravis-Fake-"))
            .count(),
        2,
        "{listing}"
    );

    let state_dir = rig.state_dir().to_path_buf();
    drop(rig);
    for ns in &namespaces {
        assert!(
            !support::netns_exists(ns),
            "namespace {ns} survived the rig's Drop"
        );
    }
    assert!(
        !state_dir.exists(),
        "{} survived the rig's Drop",
        state_dir.display()
    );
}

#[test]
fn direct_rig_with_jumbo_frames_has_mtu_9000_on_every_link() {
    if !support::require_privileges("direct_rig_with_jumbo_frames")
        || !support::require_programs(
            "direct_rig_with_jumbo_frames",
            &["arv-fake-gv-camera-0.8", "ping"],
        )
    {
        return;
    }
    let rig = Rig::up(RigOptions {
        cameras: 2,
        topology: Topology::Direct,
        mtu: 9000,
        camera: CameraKind::Aravis,
        ..Default::default()
    });
    let p = rig.prefix().to_string();
    assert_eq!(
        rig.host_interfaces().len(),
        2,
        "one host interface per camera"
    );
    assert_eq!(rig.info().switch_ns, None);

    for cam in rig.cameras() {
        let i = cam.index;
        assert_eq!(cam.host_interface, format!("{p}h{i}"));
        assert_eq!(cam.address, Ipv4Addr::new(169, 254, i as u8, 2));
        assert_eq!(cam.host_address, Ipv4Addr::new(169, 254, i as u8, 1));
        assert_eq!(mtu_in(rig.host_ns(), &cam.host_interface), 9000);
        assert_eq!(mtu_in(&cam.ns, &cam.interface), 9000);

        // A full 9000-byte IP packet with "don't fragment" crosses the link...
        let out = rig
            .host_cmd("ping")
            .args(["-c", "1", "-W", "2", "-M", "do", "-s", "8972"])
            .arg(cam.address.to_string())
            .output()
            .expect("run ping");
        assert!(
            out.status.success(),
            "jumbo ping to {} failed: {}",
            cam.address,
            output_text(&out)
        );
        // ...and one byte more does not, so the MTU is exactly 9000.
        let out = rig
            .host_cmd("ping")
            .args(["-c", "1", "-W", "2", "-M", "do", "-s", "8973"])
            .arg(cam.address.to_string())
            .output()
            .expect("run ping");
        assert!(
            !out.status.success(),
            "9001-byte packet passed a 9000 MTU: {}",
            output_text(&out)
        );

        let answer = rig
            .wait_for_camera(cam.address, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(answer.current_ip, cam.address);
    }

    let namespaces = rig.namespaces();
    rig.down().expect("rig.sh down");
    assert!(namespaces.iter().all(|ns| !support::netns_exists(ns)));
}

#[test]
fn grandmaster_takes_the_master_role_and_empty_namespaces_do_not_answer() {
    if !support::require_privileges("grandmaster_takes_the_master_role")
        || !support::require_programs("grandmaster_takes_the_master_role", &["ptp4l"])
    {
        return;
    }
    let rig = Rig::up(RigOptions {
        cameras: 1,
        camera: CameraKind::None,
        grandmaster: true,
        ..Default::default()
    });
    assert!(rig.info().ptp4l_pid.is_some());
    // No camera process: the discovery probe must time out, not invent an answer.
    let ip = rig.camera_ips()[0];
    let silent = rig.wait_for_camera(ip, Duration::from_secs(1));
    assert!(
        silent.is_err(),
        "empty namespace answered discovery: {silent:?}"
    );
    let log = rig.state_dir().join("ptp4l.log");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("assuming the grand master role") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "ptp4l did not become grandmaster within 15 s:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn discovery_command_is_the_eight_bytes_of_the_spec() {
    assert_eq!(
        support::discovery_command(0x1234),
        [0x42, 0x11, 0x00, 0x02, 0x00, 0x00, 0x12, 0x34]
    );
}

#[test]
fn discovery_ack_parser_reads_bootstrap_fields_and_rejects_others() {
    let mut ack = vec![0u8; 8 + 0xF8];
    ack[2..4].copy_from_slice(&[0x00, 0x03]);
    ack[6..8].copy_from_slice(&7u16.to_be_bytes());
    let regs = &mut ack[8..];
    regs[0x0A..0x10].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x09]);
    regs[0x24..0x28].copy_from_slice(&[169, 254, 1, 2]);
    regs[0x48..0x4E].copy_from_slice(b"Aravis");
    regs[0xD8..0xDB].copy_from_slice(b"S42");
    let src = Ipv4Addr::new(169, 254, 1, 2);
    let answer = support::parse_discovery_ack(&ack, 7, src).expect("valid ack");
    assert_eq!(answer.current_ip, src);
    assert_eq!(answer.mac, [0x02, 0, 0, 0, 0, 0x09]);
    assert_eq!(answer.manufacturer, "Aravis");
    assert_eq!(answer.serial, "S42");
    assert!(
        support::parse_discovery_ack(&ack, 8, src).is_err(),
        "wrong request id"
    );
    assert!(
        support::parse_discovery_ack(&ack[..100], 7, src).is_err(),
        "truncated"
    );
    ack[0..2].copy_from_slice(&[0x80, 0x01]);
    assert!(
        support::parse_discovery_ack(&ack, 7, src).is_err(),
        "error status"
    );
}
