//! gvsim's GVCP server driven in-process by gvcap's own client over
//! loopback: identity, the XML and every feature, privilege and heartbeat,
//! error statuses, PENDING_ACK, and bad datagrams.

mod gvsim_util;

use std::net::{SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

use gvcap::device::{Camera, ClientConfig, Privilege};
use gvcap::genicam::{Access, FeatureKind, FeatureMap, FeatureValue};
use gvcap::wire::bootstrap as bs;
use gvcap::wire::gvcp::{AckPacket, AckRepr};
use gvcap::wire::Status;
use gvcap_tools::gvsim::regmap as r;

#[test]
fn identity_xml_and_every_feature_through_the_client() {
    let sim = gvsim_util::start(&["GVSIM-A"], |_| {});
    let cam = &sim.cameras()[0];
    let camera = Camera::open(cam.address(), gvsim_util::client()).unwrap();
    let identity = camera.identify().unwrap();
    assert_eq!(identity.serial, "GVSIM-A");
    assert_eq!(identity.ip, cam.address());
    assert_eq!(identity.mac, cam.config().mac);
    assert_eq!(
        (identity.spec_version_major, identity.spec_version_minor),
        (2, 0)
    );

    let (map, xml) = FeatureMap::from_device(&camera).unwrap();
    assert!(
        xml.url_text.starts_with("Local:gvsim.zip;100000;"),
        "{}",
        xml.url_text
    );
    let mut read = 0;
    for info in map.list() {
        if matches!(info.kind, FeatureKind::Category | FeatureKind::Command)
            || matches!(info.access, Some(Access::WriteOnly) | None)
        {
            continue;
        }
        map.get(&camera, &info.name)
            .unwrap_or_else(|e| panic!("reading {} over GVCP: {e}", info.name));
        read += 1;
    }
    assert!(read > 50, "{read}");
    assert_eq!(
        map.get(&camera, "GevCCP").unwrap(),
        FeatureValue::Enumeration("OpenAccess".into())
    );

    // Capability bits are what the server does.
    let caps = camera.read_register(bs::GVCP_CAPABILITY).unwrap();
    for bit in [
        bs::gvcp_capability::PACKET_RESEND,
        bs::gvcp_capability::PENDING_ACK,
        bs::gvcp_capability::ACTION,
        bs::gvcp_capability::SCHEDULED_ACTION,
        bs::gvcp_capability::IEEE1588,
        bs::gvcp_capability::WRITEMEM,
        bs::gvcp_capability::CONCATENATION,
    ] {
        assert_ne!(caps & bit, 0, "capability {bit:#x}");
    }
    for bit in [
        bs::gvcp_capability::EVENT,
        bs::gvcp_capability::MANIFEST_TABLE,
    ] {
        assert_eq!(
            caps & bit,
            0,
            "capability {bit:#x} claimed but not implemented"
        );
    }
    assert_eq!(
        camera
            .read_register(bs::NUMBER_OF_MESSAGE_CHANNELS)
            .unwrap(),
        0
    );
    // Multi-register READREG (concatenation).
    assert_eq!(
        camera
            .read_registers(&[r::SENSOR_WIDTH, r::SENSOR_HEIGHT])
            .unwrap(),
        vec![1280, 1024]
    );
}

#[test]
fn writes_need_control_and_refusals_name_the_status() {
    let sim = gvsim_util::start(&["GVSIM-B"], |_| {});
    let ip = sim.cameras()[0].address();
    let mut owner = Camera::open(ip, gvsim_util::client()).unwrap();
    let (map, _) = FeatureMap::from_device(&owner).unwrap();
    // Without privilege: refused, nothing changed.
    let err = map.set_from_str(&owner, "Width", "640").unwrap_err();
    assert!(
        err.to_string().contains("AccessDenied") || err.to_string().contains("access denied"),
        "{err}"
    );
    owner.take_control(Privilege::Exclusive).unwrap();
    map.set_from_str(&owner, "Width", "640").unwrap();
    map.set_from_str(&owner, "PixelFormat", "Mono16").unwrap();
    map.invalidate_all();
    assert_eq!(
        map.get(&owner, "PayloadSize").unwrap(),
        FeatureValue::Integer(640 * 1024 * 2)
    );
    // Read-only and unknown registers.
    let e = owner.write_register(r::SENSOR_WIDTH, 1).unwrap_err();
    assert_eq!(e.gev_status(), Some(Status::WriteProtect), "{e}");
    let e = owner.write_register(bs::SERIAL_NUMBER, 1).unwrap_err();
    assert_eq!(e.gev_status(), Some(Status::WriteProtect), "{e}");
    let e = owner.read_register(0x0000_0F00).unwrap_err();
    assert_eq!(e.gev_status(), Some(Status::InvalidAddress), "{e}");
    let e = owner.write_register(r::WIDTH, 641).unwrap_err();
    assert_eq!(e.gev_status(), Some(Status::InvalidParameter), "{e}");
    // Exclusive: a second application can neither write nor read.
    let other = Camera::open(ip, gvsim_util::client()).unwrap();
    let e = other.read_register(r::WIDTH).unwrap_err();
    assert_eq!(e.gev_status(), Some(Status::AccessDenied), "{e}");
    let mut other = other;
    let e = other.take_control(Privilege::Control).unwrap_err();
    assert_eq!(e.gev_status(), Some(Status::AccessDenied), "{e}");
    // Discovery is always answered.
    assert_eq!(other.identify().unwrap().serial, "GVSIM-B");
    owner.release_control().unwrap();
    other.take_control(Privilege::Control).unwrap();
    assert_eq!(other.read_register(r::WIDTH).unwrap(), 640);
}

#[test]
fn privilege_expires_after_the_heartbeat_timeout() {
    let sim = gvsim_util::start(&["GVSIM-C"], |_| {});
    let ip = sim.cameras()[0].address();
    let config = ClientConfig {
        heartbeat_timeout: Some(Duration::from_millis(600)),
        ..gvsim_util::client()
    };
    let mut first = Camera::open(ip, config).unwrap();
    first.take_control(Privilege::Control).unwrap();
    assert_eq!(first.read_register(bs::HEARTBEAT_TIMEOUT).unwrap(), 600);
    // Its heartbeat thread keeps control well past the timeout.
    std::thread::sleep(Duration::from_millis(1500));
    let mut second = Camera::open(ip, gvsim_util::client()).unwrap();
    assert_eq!(
        second
            .take_control(Privilege::Control)
            .unwrap_err()
            .gev_status(),
        Some(Status::AccessDenied)
    );
    drop(first);
    // A holder that vanishes without releasing: it takes control, then goes quiet.
    let quiet = UdpSocket::bind("127.0.0.1:0").unwrap();
    quiet
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let to = SocketAddrV4::new(ip, 3956);
    let take = [0x42, 1, 0, 0x82, 0, 8, 0, 1, 0, 0, 0x0A, 0, 0, 0, 0, 2];
    assert_eq!(
        AckRepr::parse(&raw_exchange(&quiet, to, &take).unwrap())
            .unwrap()
            .0
            .status,
        Status::Success
    );
    let set_timeout = [
        0x42, 1, 0, 0x82, 0, 8, 0, 2, 0, 0, 0x09, 0x38, 0, 0, 0x02, 0x58,
    ];
    assert_eq!(
        AckRepr::parse(&raw_exchange(&quiet, to, &set_timeout).unwrap())
            .unwrap()
            .0
            .status,
        Status::Success
    );
    let started = Instant::now();
    loop {
        match second.take_control(Privilege::Control) {
            Ok(()) => break,
            Err(e) => {
                assert_eq!(e.gev_status(), Some(Status::AccessDenied));
                assert!(
                    started.elapsed() < Duration::from_secs(3),
                    "privilege never expired"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(450),
        "expired too early: {waited:?}"
    );
    assert!(sim.cameras()[0].control_counters().heartbeat_expiries >= 1);
}

fn raw_exchange(socket: &UdpSocket, to: SocketAddrV4, datagram: &[u8]) -> Option<Vec<u8>> {
    socket.send_to(datagram, to).unwrap();
    let mut buf = [0u8; 1500];
    match socket.recv(&mut buf) {
        Ok(len) => Some(buf[..len].to_vec()),
        Err(_) => None,
    }
}

#[test]
fn bad_datagrams_get_statuses_and_the_server_survives() {
    let sim = gvsim_util::start(&["GVSIM-D"], |_| {});
    let cam = SocketAddrV4::new(sim.cameras()[0].address(), 3956);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let status = |reply: Option<Vec<u8>>| {
        let reply = reply.expect("an answer");
        let ack = AckPacket::new_checked(&reply[..]).unwrap();
        (ack.status(), ack.answer(), ack.ack_id())
    };
    // Not GVCP at all: silence.
    assert_eq!(raw_exchange(&socket, cam, b"hello"), None);
    assert_eq!(
        raw_exchange(&socket, cam, &[0x99, 1, 0, 0x80, 0, 4, 0, 1, 0, 0, 0, 0]),
        None
    );
    // Truncated: INVALID_HEADER for its command.
    assert_eq!(
        status(raw_exchange(
            &socket,
            cam,
            &[0x42, 1, 0, 0x80, 0, 8, 0, 7, 0, 0, 0, 0]
        )),
        (Status::InvalidHeader, 0x0081, 7)
    );
    // Unknown command: NOT_IMPLEMENTED.
    assert_eq!(
        status(raw_exchange(
            &socket,
            cam,
            &[0x42, 1, 0x0F, 0x00, 0, 0, 0, 8]
        )),
        (Status::NotImplemented, 0x0F01, 8)
    );
    // Misaligned register: BAD_ALIGNMENT.
    assert_eq!(
        status(raw_exchange(
            &socket,
            cam,
            &[0x42, 1, 0, 0x80, 0, 4, 0, 9, 0, 0, 0, 2]
        )),
        (Status::BadAlignment, 0x0081, 9)
    );
    // Write to a read-only register without privilege: ACCESS_DENIED before anything else.
    assert_eq!(
        status(raw_exchange(
            &socket,
            cam,
            &[0x42, 1, 0, 0x82, 0, 8, 0, 10, 0, 0, 0, 0, 0, 0, 0, 1]
        )),
        (Status::AccessDenied, 0x0083, 10)
    );
    // A flood of junk, then the camera still answers properly.
    for k in 0..2000u32 {
        let len = (k % 64) as usize;
        let mut junk: Vec<u8> = (0..len).map(|i| (k as usize * 31 + i * 7) as u8).collect();
        if len > 0 {
            junk[0] = 0x42;
        }
        socket.send_to(&junk, cam).unwrap();
    }
    std::thread::sleep(Duration::from_millis(200));
    while socket.recv(&mut [0u8; 1500]).is_ok() {}
    let camera = Camera::open(*cam.ip(), gvsim_util::client()).unwrap();
    assert_eq!(camera.identify().unwrap().serial, "GVSIM-D");
}

#[test]
fn slow_commands_answer_pending_ack_and_the_client_waits() {
    let sim = gvsim_util::start(&["GVSIM-E"], |_| {});
    let ip = sim.cameras()[0].address();
    // A client whose timeout (150 ms) is shorter than UserSetSave (600 ms).
    let config = ClientConfig {
        timeout: Duration::from_millis(150),
        retries: 0,
        heartbeat_timeout: None,
    };
    let mut camera = Camera::open(ip, config).unwrap();
    camera.take_control(Privilege::Control).unwrap();
    camera.write_register(r::USER_SET_SELECTOR, 1).unwrap();
    // Without PENDING_ACK the short timeout expires.
    assert!(camera.write_register(r::USER_SET_SAVE, 1).is_err());
    // Enabled: PENDING_ACK stretches the wait and the write succeeds.
    let config_reg = camera.read_register(bs::GVCP_CONFIGURATION).unwrap();
    camera
        .write_register(
            bs::GVCP_CONFIGURATION,
            config_reg | bs::GVCP_CONFIGURATION_PENDING_ACK_ENABLE,
        )
        .unwrap();
    let started = Instant::now();
    camera.write_register(r::USER_SET_SAVE, 1).unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(550),
        "{:?}",
        started.elapsed()
    );
    // And on the wire: PENDING_ACK first, then the acknowledge, both with the request id.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    drop(camera);
    let taker = [0x42, 1, 0, 0x82, 0, 8, 0, 40, 0, 0, 0x0A, 0, 0, 0, 0, 2];
    let to = SocketAddrV4::new(ip, 3956);
    std::thread::sleep(Duration::from_millis(100));
    let reply = raw_exchange(&socket, to, &taker).unwrap();
    assert_eq!(AckRepr::parse(&reply).unwrap().0.status, Status::Success);
    let enable = [
        0x42, 1, 0, 0x82, 0, 8, 0, 41, 0, 0, 0x09, 0x54, 0, 0x04, 0, 0x06,
    ];
    assert_eq!(
        AckRepr::parse(&raw_exchange(&socket, to, &enable).unwrap())
            .unwrap()
            .0
            .status,
        Status::Success
    );
    let save = [
        0x42, 1, 0, 0x82, 0, 16, 0, 42, 0, 1, 0, 0xD0, 0, 0, 0, 1, 0, 1, 0, 0xD8, 0, 0, 0, 1,
    ];
    let first = raw_exchange(&socket, to, &save).unwrap();
    let (h, ack) = AckRepr::parse(&first).unwrap();
    assert_eq!(h.ack_id, 42);
    assert!(matches!(ack, AckRepr::PendingAck { .. }), "{ack:?}");
    let mut buf = [0u8; 64];
    let len = socket.recv(&mut buf).unwrap();
    let (h, ack) = AckRepr::parse(&buf[..len]).unwrap();
    assert_eq!(
        (h.ack_id, h.status, ack),
        (42, Status::Success, AckRepr::WriteReg { index: 2 })
    );
}

#[test]
fn one_process_serves_several_cameras_and_gvcp_faults_apply() {
    let sim = gvsim_util::start(&["MULTI-1", "MULTI-2", "MULTI-3"], |c| {
        if c.serial == "MULTI-3" {
            c.faults.gvcp_drop = 0.2;
        }
    });
    for (cam, serial) in sim.cameras().iter().zip(["MULTI-1", "MULTI-2", "MULTI-3"]) {
        let patient = ClientConfig {
            retries: 6,
            ..gvsim_util::client()
        };
        let camera = Camera::open(cam.address(), patient).unwrap();
        assert_eq!(camera.identify().unwrap().serial, serial);
        // Dropped acknowledges are covered by the client's retries.
        for _ in 0..40 {
            camera.read_register(r::WIDTH).unwrap();
        }
    }
    assert!(sim.cameras()[2].control_counters().withheld >= 3);
    assert_eq!(sim.cameras()[0].control_counters().withheld, 0);
    // A camera that stops answering times out with an error naming it.
    sim.cameras()[1].set_dead(true);
    let camera = Camera::open(sim.cameras()[1].address(), gvsim_util::client()).unwrap();
    let err = camera.read_register(r::WIDTH).unwrap_err();
    assert!(
        err.to_string()
            .contains(&sim.cameras()[1].address().to_string()),
        "{err}"
    );
}
