//! Feature access against gvcap's own test XML (`tests/data/gvcap-test-camera.xml`)
//! over an in-memory register space: exact values, exact registers written,
//! and refusals that write nothing.

use gvcap::genicam::{
    Access, FeatureKind, FeatureMap, FeatureRange, FeatureValue, GenicamError, MemoryPort,
    RegisterSpace, Visibility,
};

const XML: &str = include_str!("data/gvcap-test-camera.xml");

const WIDTH_REG: u64 = 0x10000;
const HEIGHT_REG: u64 = 0x10004;
const WIDTH_MIN_REG: u64 = 0x10008;
const HEIGHT_MIN_REG: u64 = 0x1000C;
const SENSOR_WIDTH_REG: u64 = 0x10010;
const SENSOR_HEIGHT_REG: u64 = 0x10014;
const PIXEL_FORMAT_REG: u64 = 0x10018;
const EXPOSURE_TIME_REG: u64 = 0x1001C;
const ACQUISITION_START_REG: u64 = 0x10020;
const REVERSE_X_REG: u64 = 0x10024;
const GAIN_REG: u64 = 0x10028;
const GAIN_AVAILABLE_REG: u64 = 0x1002C;
const EXPOSURE_AUTO_REG: u64 = 0x10030;
const USER_DATA_REG: u64 = 0x10040;
const SERIAL_REG: u64 = 0x48;
const USER_ID_REG: u64 = 0xE8;

const MONO8: u32 = 0x0108_0001;
const BAYER_RG8: u32 = 0x0108_0009;

/// The test camera in a known state: 640 x 480 Mono8 on a 4096 x 3000
/// sensor, exposure 5000 us, gain available and 6, auto exposure off.
fn camera() -> (FeatureMap, RegisterSpace) {
    let map = FeatureMap::from_xml(XML).expect("our test XML builds");
    assert!(map.skipped().is_empty(), "{:?}", map.skipped());
    let space = RegisterSpace::new();
    space.put_string(SERIAL_REG, "SN-0042");
    space.put_u32(WIDTH_REG, 640);
    space.put_u32(HEIGHT_REG, 480);
    space.put_u32(WIDTH_MIN_REG, 16);
    space.put_u32(HEIGHT_MIN_REG, 2);
    space.put_u32(SENSOR_WIDTH_REG, 4096);
    space.put_u32(SENSOR_HEIGHT_REG, 3000);
    space.put_u32(PIXEL_FORMAT_REG, MONO8);
    space.put_u32(EXPOSURE_TIME_REG, 5000.0f32.to_bits());
    space.put_u32(GAIN_REG, 6);
    space.put_u32(GAIN_AVAILABLE_REG, 1);
    space.put_u32(EXPOSURE_AUTO_REG, 0);
    (map, space)
}

#[test]
fn feature_map_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FeatureMap>();
    assert_send_sync::<RegisterSpace>();
}

#[test]
fn list_describes_every_node_from_the_xml_alone() {
    let (map, _) = camera();
    let list = map.list();
    assert_eq!(list.len(), map.len());
    assert_eq!(list[0].name, "Root", "document order");
    let find = |name: &str| {
        list.iter()
            .find(|info| info.name == name)
            .unwrap_or_else(|| panic!("{name} listed"))
            .clone()
    };

    let width = find("Width");
    assert_eq!(width.kind, FeatureKind::Integer);
    assert_eq!(width.access, Some(Access::ReadWrite));
    assert_eq!(width.category, vec!["ImageFormatControl".to_string()]);
    assert_eq!(width.visibility, Visibility::Beginner);
    assert_eq!(width.unit.as_deref(), Some("px"));
    assert_eq!(width.display_name.as_deref(), Some("Width"));
    assert_eq!(
        width.description.as_deref(),
        Some("Width of the image, in pixels.")
    );

    let expectations = [
        ("SensorWidth", FeatureKind::Integer, Some(Access::ReadOnly)),
        ("PayloadSize", FeatureKind::Integer, Some(Access::ReadOnly)),
        (
            "PixelFormat",
            FeatureKind::Enumeration,
            Some(Access::ReadWrite),
        ),
        ("ExposureTime", FeatureKind::Float, Some(Access::ReadWrite)),
        ("ReverseX", FeatureKind::Boolean, Some(Access::ReadWrite)),
        (
            "AcquisitionStart",
            FeatureKind::Command,
            Some(Access::WriteOnly),
        ),
        (
            "DeviceSerialNumber",
            FeatureKind::String,
            Some(Access::ReadOnly),
        ),
        ("DeviceUserID", FeatureKind::String, Some(Access::ReadWrite)),
        ("UserData", FeatureKind::Register, Some(Access::ReadWrite)),
        ("AcquisitionControl", FeatureKind::Category, None),
    ];
    for (name, kind, access) in expectations {
        let info = find(name);
        assert_eq!((info.kind, info.access), (kind, access), "{name}");
        assert_eq!(map.kind(name).unwrap(), kind, "{name}");
    }

    let exposure = find("ExposureTime");
    assert_eq!(exposure.unit.as_deref(), Some("us"));
    assert_eq!(
        exposure.tooltip.as_deref(),
        Some("Exposure time, in microseconds.")
    );
    assert_eq!(exposure.category, vec!["AcquisitionControl".to_string()]);
    assert_eq!(find("DeviceUserID").visibility, Visibility::Expert);
    assert_eq!(find("UserData").visibility, Visibility::Guru);
    assert_eq!(find("WidthReg").visibility, Visibility::Invisible);
    assert!(find("WidthReg").category.is_empty(), "no category lists it");
    assert!(
        find("DeviceControl").category.is_empty(),
        "Root is left out"
    );
    assert_eq!(find("PayloadSize").node_type, "SwissKnife");

    assert_eq!(
        map.vendor_and_model(),
        ("gvcap".to_string(), "TestCamera".to_string())
    );
    assert_eq!(
        map.enum_entries("PixelFormat").unwrap(),
        ["Mono8", "Mono16", "BayerRG8"]
    );
}

#[test]
fn get_reads_every_kind_exactly() {
    let (map, space) = camera();
    space.put_bytes(USER_DATA_REG, &[1, 2, 3, 4, 0xAA, 0xBB, 0xCC, 0xDD]);
    let cases = [
        ("Width", FeatureValue::Integer(640), "640"),
        ("Height", FeatureValue::Integer(480), "480"),
        ("PayloadSize", FeatureValue::Integer(640 * 480), "307200"),
        (
            "PixelFormat",
            FeatureValue::Enumeration("Mono8".into()),
            "Mono8",
        ),
        ("ExposureTime", FeatureValue::Float(5000.0), "5000"),
        ("ReverseX", FeatureValue::Boolean(false), "false"),
        (
            "DeviceSerialNumber",
            FeatureValue::String("SN-0042".into()),
            "SN-0042",
        ),
        (
            "UserData",
            FeatureValue::Register(vec![1, 2, 3, 4, 0xAA, 0xBB, 0xCC, 0xDD]),
            "0x01020304aabbccdd",
        ),
        ("AcquisitionStart", FeatureValue::Command, "(command)"),
    ];
    for (name, expected, shown) in cases {
        let value = map
            .get(&space, name)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(value, expected, "{name}");
        assert_eq!(value.to_string(), shown, "{name}");
    }
    assert_eq!(map.get_integer(&space, "Width").unwrap(), 640);
    assert_eq!(map.get_float(&space, "ExposureTime").unwrap(), 5000.0);
    assert_eq!(map.get_enum(&space, "PixelFormat").unwrap(), "Mono8");
    assert!(!map.get_bool(&space, "ReverseX").unwrap());
    assert_eq!(
        map.get_string(&space, "DeviceSerialNumber").unwrap(),
        "SN-0042"
    );
    assert_eq!(space.write_count(), 0, "reading writes nothing");
}

#[test]
fn set_from_str_writes_the_register_by_kind() {
    let (map, space) = camera();
    map.set_from_str(&space, "Width", "1024").unwrap();
    assert_eq!(space.u32_at(WIDTH_REG), 1024);
    map.set_from_str(&space, "Width", "0x200").unwrap();
    assert_eq!(space.u32_at(WIDTH_REG), 512);
    assert_eq!(
        map.get(&space, "Width").unwrap(),
        FeatureValue::Integer(512)
    );

    map.set_from_str(&space, "Height", " 1000 ").unwrap();
    assert_eq!(space.u32_at(HEIGHT_REG), 1000);

    map.set_from_str(&space, "ExposureTime", "12.5").unwrap();
    assert_eq!(f32::from_bits(space.u32_at(EXPOSURE_TIME_REG)), 12.5);
    assert_eq!(map.get_float(&space, "ExposureTime").unwrap(), 12.5);
    map.set_from_str(&space, "ExposureTime", "1e4").unwrap();
    assert_eq!(f32::from_bits(space.u32_at(EXPOSURE_TIME_REG)), 10000.0);

    map.set_from_str(&space, "PixelFormat", "BayerRG8").unwrap();
    assert_eq!(space.u32_at(PIXEL_FORMAT_REG), BAYER_RG8);
    assert_eq!(map.get_enum(&space, "PixelFormat").unwrap(), "BayerRG8");

    map.set_from_str(&space, "ReverseX", "TRUE").unwrap();
    assert_eq!(space.u32_at(REVERSE_X_REG), 1);
    map.set_from_str(&space, "ReverseX", "0").unwrap();
    assert_eq!(space.u32_at(REVERSE_X_REG), 0);

    map.set_from_str(&space, "DeviceUserID", "left-cam")
        .unwrap();
    assert_eq!(space.bytes(USER_ID_REG, 9), b"left-cam\0");
    assert_eq!(map.get_string(&space, "DeviceUserID").unwrap(), "left-cam");

    map.set_from_str(&space, "UserData", "0x0011223344556677")
        .unwrap();
    assert_eq!(
        space.bytes(USER_DATA_REG, 8),
        [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77]
    );
}

#[test]
fn typed_setters_write_and_check_like_text() {
    let (map, space) = camera();
    map.set_integer(&space, "Width", 2048).unwrap();
    assert_eq!(space.u32_at(WIDTH_REG), 2048);
    map.set_float(&space, "ExposureTime", 250.0).unwrap();
    assert_eq!(f32::from_bits(space.u32_at(EXPOSURE_TIME_REG)), 250.0);
    map.set_enum(&space, "PixelFormat", "Mono16").unwrap();
    assert_eq!(space.u32_at(PIXEL_FORMAT_REG), 0x0110_0007);
    map.set_bool(&space, "ReverseX", true).unwrap();
    assert_eq!(space.u32_at(REVERSE_X_REG), 1);
    let writes = space.write_count();
    assert!(matches!(
        map.set_integer(&space, "Width", 4097),
        Err(GenicamError::OutOfRange { .. })
    ));
    assert!(matches!(
        map.set_float(&space, "ExposureTime", f64::NAN),
        Err(GenicamError::InvalidText { .. })
    ));
    assert_eq!(space.write_count(), writes);
}

#[test]
fn ranges_come_from_the_device() {
    let (map, space) = camera();
    assert_eq!(
        map.range(&space, "Width").unwrap(),
        Some(FeatureRange::Integer {
            min: 16,
            max: 4096,
            inc: 4
        })
    );
    assert_eq!(
        map.range(&space, "Height").unwrap(),
        Some(FeatureRange::Integer {
            min: 2,
            max: 3000,
            inc: 2
        })
    );
    assert_eq!(
        map.range(&space, "ExposureTime").unwrap(),
        Some(FeatureRange::Float {
            min: 10.0,
            max: 1_000_000.0,
            inc: None
        })
    );
    assert_eq!(
        map.range(&space, "Gain").unwrap(),
        Some(FeatureRange::Integer {
            min: 0,
            max: 48,
            inc: 1
        })
    );
    // A smaller sensor mode: the device's pMax changes; after the caches are
    // dropped the range follows, and a write above it is refused.
    space.put_u32(SENSOR_WIDTH_REG, 2048);
    map.invalidate_all();
    assert_eq!(
        map.range(&space, "Width").unwrap(),
        Some(FeatureRange::Integer {
            min: 16,
            max: 2048,
            inc: 4
        })
    );
    let err = map.set_from_str(&space, "Width", "4096").unwrap_err();
    assert!(
        err.to_string().contains("16 to 2048 in steps of 4"),
        "{err}"
    );
    assert!(matches!(
        map.range(&space, "PixelFormat"),
        Err(GenicamError::WrongKind { .. })
    ));
}

#[test]
fn out_of_range_writes_are_refused_before_anything_is_sent() {
    let (map, space) = camera();
    let cases = [
        (
            "Width",
            "8",
            "below the minimum",
            "16 to 4096 in steps of 4",
        ),
        (
            "Width",
            "4100",
            "above the maximum",
            "16 to 4096 in steps of 4",
        ),
        (
            "Width",
            "642",
            "multiple of the increment",
            "16 to 4096 in steps of 4",
        ),
        (
            "Height",
            "3001",
            "above the maximum",
            "2 to 3000 in steps of 2",
        ),
        ("Gain", "49", "above the maximum", "0 to 48"),
        ("ExposureTime", "0.5", "below the minimum", "10 to 1000000"),
        ("ExposureTime", "2e6", "above the maximum", "10 to 1000000"),
    ];
    for (name, text, problem, range) in cases {
        let err = map.set_from_str(&space, name, text).unwrap_err();
        assert!(
            matches!(&err, GenicamError::OutOfRange { feature, .. } if feature == name),
            "{name}={text}: {err:?}"
        );
        let message = err.to_string();
        for part in [name, problem, range] {
            assert!(message.contains(part), "{message:?} lacks {part:?}");
        }
    }
    let message = map
        .set_from_str(&space, "Width", "642")
        .unwrap_err()
        .to_string();
    assert!(message.contains("642"), "{message}");
    assert_eq!(
        space.write_count(),
        0,
        "no refused write reached the device"
    );
    assert_eq!(space.u32_at(WIDTH_REG), 640);
    assert_eq!(f32::from_bits(space.u32_at(EXPOSURE_TIME_REG)), 5000.0);
}

#[test]
fn read_only_features_refuse_writes() {
    let (map, space) = camera();
    for (name, text) in [
        ("SensorWidth", "100"),
        ("PayloadSize", "100"),
        ("DeviceSerialNumber", "x"),
    ] {
        let err = map.set_from_str(&space, name, text).unwrap_err();
        assert!(
            matches!(&err, GenicamError::ReadOnly { feature } if feature == name),
            "{name}: {err:?}"
        );
        assert!(err.to_string().contains("read-only"), "{err}");
        assert!(!map.is_writable(&space, name).unwrap(), "{name}");
    }
    assert!(map.is_writable(&space, "Width").unwrap());
    assert_eq!(space.write_count(), 0);
    assert_eq!(space.u32_at(SENSOR_WIDTH_REG), 4096);
}

#[test]
fn unavailable_features_refuse_reads_and_writes() {
    let (map, space) = camera();
    space.put_u32(GAIN_AVAILABLE_REG, 0);
    assert!(!map.is_available(&space, "Gain").unwrap());
    assert!(!map.is_writable(&space, "Gain").unwrap());
    for result in [
        map.get(&space, "Gain").map(drop),
        map.set_from_str(&space, "Gain", "12"),
    ] {
        let err = result.unwrap_err();
        assert!(
            matches!(&err, GenicamError::NotAvailable { feature } if feature == "Gain"),
            "{err:?}"
        );
        assert!(err.to_string().contains("not available"), "{err}");
    }
    assert_eq!(space.write_count(), 0);
    assert_eq!(space.u32_at(GAIN_REG), 6);

    // Negative control: once the device makes it available, it works.
    space.put_u32(GAIN_AVAILABLE_REG, 1);
    map.invalidate_all();
    map.set_from_str(&space, "Gain", "12").unwrap();
    assert_eq!(space.u32_at(GAIN_REG), 12);
    assert_eq!(map.get(&space, "Gain").unwrap(), FeatureValue::Integer(12));
}

#[test]
fn a_locked_feature_names_its_lock_and_unlocks_after_our_write() {
    let (map, space) = camera();
    // Our own write of ExposureAuto must invalidate the lock's cached value.
    assert!(map.is_writable(&space, "ExposureTime").unwrap());
    map.set_enum(&space, "ExposureAuto", "Continuous").unwrap();
    assert_eq!(space.u32_at(EXPOSURE_AUTO_REG), 2);
    let writes = space.write_count();
    let err = map.set_from_str(&space, "ExposureTime", "100").unwrap_err();
    assert!(
        matches!(&err, GenicamError::Locked { feature, locked_by }
            if feature == "ExposureTime" && locked_by == "ExposureTimeLocked"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("change ExposureTimeLocked first"),
        "{err}"
    );
    assert!(!map.is_writable(&space, "ExposureTime").unwrap());
    assert_eq!(space.write_count(), writes);

    map.set_from_str(&space, "ExposureAuto", "Off").unwrap();
    map.set_from_str(&space, "ExposureTime", "100").unwrap();
    assert_eq!(f32::from_bits(space.u32_at(EXPOSURE_TIME_REG)), 100.0);
}

#[test]
fn a_write_invalidates_what_depends_on_it() {
    let (map, space) = camera();
    assert_eq!(map.get_integer(&space, "PayloadSize").unwrap(), 640 * 480);
    map.set_integer(&space, "Width", 1024).unwrap();
    assert_eq!(map.get_integer(&space, "PayloadSize").unwrap(), 1024 * 480);
    map.set_from_str(&space, "Height", "100").unwrap();
    assert_eq!(map.get_integer(&space, "PayloadSize").unwrap(), 1024 * 100);
}

#[test]
fn bad_text_is_refused_with_what_was_expected() {
    let (map, space) = camera();
    for (name, text, expected) in [
        ("Width", "wide", "an integer"),
        ("Width", "1.5", "an integer"),
        ("ExposureTime", "fast", "a finite number"),
        ("ExposureTime", "inf", "a finite number"),
        ("ReverseX", "maybe", "true, false, 1 or 0"),
        ("UserData", "0x123", "bytes in hex"),
    ] {
        let err = map.set_from_str(&space, name, text).unwrap_err();
        assert!(
            matches!(&err, GenicamError::InvalidText { feature, .. } if feature == name),
            "{name}={text}: {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(expected) && message.contains(text),
            "{message}"
        );
    }
    let err = map
        .set_from_str(&space, "PixelFormat", "Mono9")
        .unwrap_err();
    assert!(
        matches!(&err, GenicamError::NoSuchEntry { entries, .. } if entries.len() == 3),
        "{err:?}"
    );
    assert!(err.to_string().contains("Mono8, Mono16, BayerRG8"), "{err}");
    assert_eq!(space.write_count(), 0);
}

#[test]
fn strings_and_registers_must_fit() {
    let (map, space) = camera();
    let err = map
        .set_from_str(&space, "DeviceUserID", "a-name-of-17-byte")
        .unwrap_err();
    assert!(matches!(err, GenicamError::ValueRefused { .. }), "{err:?}");
    assert!(err.to_string().contains("16 bytes"), "{err}");
    map.set_from_str(&space, "DeviceUserID", "exactly-16-bytes")
        .unwrap();
    assert_eq!(space.bytes(USER_ID_REG, 16), b"exactly-16-bytes");

    let writes = space.write_count();
    let err = map.set_from_str(&space, "UserData", "0x0102").unwrap_err();
    assert!(err.to_string().contains("8 bytes"), "{err}");
    assert_eq!(space.write_count(), writes);
}

#[test]
fn commands_execute_and_are_not_set() {
    let (map, space) = camera();
    map.execute(&space, "AcquisitionStart").unwrap();
    assert_eq!(space.u32_at(ACQUISITION_START_REG), 1);
    assert!(
        map.is_done(&space, "AcquisitionStart").unwrap(),
        "WO: done at once"
    );
    let err = map
        .set_from_str(&space, "AcquisitionStart", "1")
        .unwrap_err();
    assert!(matches!(err, GenicamError::WrongKind { .. }), "{err:?}");
    assert!(err.to_string().contains("executed"), "{err}");
    assert!(matches!(
        map.execute(&space, "Width"),
        Err(GenicamError::WrongKind { .. })
    ));
}

#[test]
fn unknown_names_and_wrong_kinds_say_what_to_do() {
    let (map, space) = camera();
    let err = map.get(&space, "Widht").unwrap_err();
    assert!(
        matches!(&err, GenicamError::UnknownFeature { feature } if feature == "Widht"),
        "{err:?}"
    );
    assert!(err.to_string().contains("gvcap features"), "{err}");
    assert!(matches!(
        map.set_from_str(&space, "Widht", "1"),
        Err(GenicamError::UnknownFeature { .. })
    ));
    assert!(map.info("Widht").is_err());

    let err = map.get_integer(&space, "ExposureTime").unwrap_err();
    assert!(
        err.to_string().contains("is a Float, not an Integer"),
        "{err}"
    );
    let err = map.get(&space, "ImageFormatControl").unwrap_err();
    assert!(err.to_string().contains("a Category"), "{err}");
}

#[test]
fn port_errors_name_the_feature_and_the_address() {
    let (map, space) = camera();
    space.refuse(WIDTH_REG..WIDTH_REG + 4);
    let err = map.get(&space, "Width").unwrap_err();
    match &err {
        GenicamError::Port {
            operation,
            address,
            len,
            ..
        } => assert_eq!((*operation, *address, *len), ("reading", WIDTH_REG, 4)),
        other => panic!("expected a port error, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("0x00010000") && message.contains("feature Width"),
        "{message}"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn read_back_through_the_trait_object() {
    // The map takes any MemoryPort, not only RegisterSpace.
    let (map, space) = camera();
    let port: &dyn MemoryPort = &space;
    assert_eq!(map.get_integer(port, "Height").unwrap(), 480);
}

#[test]
fn malformed_xml_is_a_parse_error() {
    let err = FeatureMap::from_xml("<RegisterDescription><Integer").unwrap_err();
    assert!(matches!(err, GenicamError::XmlParse { .. }), "{err:?}");
}
