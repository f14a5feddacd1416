//! The device through its registers, and the XML evaluated against it.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use gvcap::clock::TestClock;
use gvcap::genicam::{
    fetch_xml, Access, FeatureKind, FeatureMap, FeatureValue, MemoryPort, PortError,
};
use gvcap::wire::bootstrap as bs;
use gvcap::wire::Status;

use super::*;
use crate::gvsim::ptp::PtpSlave;

const START: u64 = 1_700_000_000_000_000_000;

fn device() -> (Device, TestClock) {
    let host = TestClock::new(START);
    let config = CameraConfig::new("DEV1", Ipv4Addr::new(127, 0, 0, 1));
    let clock = Arc::new(Oscillator::new(Arc::new(host.clone()), 0, 0.0));
    let ptp = Arc::new(Mutex::new(PtpSlave::new(
        Default::default(),
        0,
        PtpMode::Off,
    )));
    (Device::new(&config, clock, ptp), host)
}

/// The device as GenICam sees it: memory reads and writes, privilege not involved.
struct Port(Mutex<Device>);

impl MemoryPort for Port {
    fn read_memory(&self, address: u64, len: usize) -> Result<Vec<u8>, PortError> {
        let device = self.0.lock().unwrap();
        device
            .read_memory(address as u32, len)
            .map_err(|s| format!("READMEM {address:#x}+{len}: {s}").into())
    }

    fn write_memory(&self, address: u64, data: &[u8]) -> Result<(), PortError> {
        let mut device = self.0.lock().unwrap();
        device
            .write_memory(address as u32, data)
            .map(|_| ())
            .map_err(|(i, s)| format!("WRITEMEM {address:#x} (byte {i}): {s}").into())
    }
}

#[test]
fn the_xml_it_serves_reads_back_and_every_readable_feature_evaluates() {
    let (device, _) = device();
    let port = Port(Mutex::new(device));
    let fetched = fetch_xml(&port).unwrap();
    assert!(
        fetched.url_text.starts_with("Local:gvsim.zip;"),
        "{}",
        fetched.url_text
    );
    let map = FeatureMap::from_xml(&fetched.text).unwrap();
    let mut read = 0;
    for info in map.list() {
        if matches!(info.kind, FeatureKind::Category | FeatureKind::Command)
            || matches!(info.access, Some(Access::WriteOnly) | None)
            // The privilege register belongs to the control server, not the device.
            || info.name.starts_with("GevCCP")
        {
            continue;
        }
        map.get(&port, &info.name)
            .unwrap_or_else(|e| panic!("{}: {e}", info.name));
        read += 1;
    }
    assert!(read >= 50, "only {read} features read");
    let get = |name: &str| map.get(&port, name).unwrap();
    assert_eq!(
        get("DeviceSerialNumber"),
        FeatureValue::String("DEV1".into())
    );
    assert_eq!(
        get("DeviceVendorName"),
        FeatureValue::String("gvcap".into())
    );
    assert_eq!(get("Width"), FeatureValue::Integer(1280));
    assert_eq!(
        get("PixelFormat"),
        FeatureValue::Enumeration("Mono8".into())
    );
    assert_eq!(get("PayloadSize"), FeatureValue::Integer(1280 * 1024));
    assert_eq!(
        get("PtpStatus"),
        FeatureValue::Enumeration("Disabled".into())
    );
    assert_eq!(
        get("GevTimestampTickFrequency"),
        FeatureValue::Integer(1_000_000_000)
    );
    // Writes through the features reach the device and derived values follow.
    map.set_from_str(&port, "Width", "640").unwrap();
    map.set_from_str(&port, "PixelFormat", "RGB8").unwrap();
    map.invalidate_all();
    assert_eq!(get("PayloadSize"), FeatureValue::Integer(640 * 1024 * 3));
    map.set_from_str(&port, "PtpMode", "TwoStep").unwrap();
    assert_eq!(get("PtpEnable"), FeatureValue::Boolean(true));
    assert_eq!(
        get("PtpStatus"),
        FeatureValue::Enumeration("Listening".into())
    );
    map.set_from_str(&port, "PtpAcquisitionGateTime", "6000000000000000001")
        .unwrap();
    map.invalidate_all();
    assert_eq!(
        get("PtpAcquisitionGateTimeHigh"),
        FeatureValue::Integer((6_000_000_000_000_000_001u64 >> 32) as i64)
    );
    assert_eq!(
        get("PtpAcquisitionGateTimeLow"),
        FeatureValue::Integer((6_000_000_000_000_000_001u64 & 0xFFFF_FFFF) as i64)
    );
    map.set_from_str(&port, "DeviceUserID", "left-cam").unwrap();
    map.invalidate_all();
    assert_eq!(get("DeviceUserID"), FeatureValue::String("left-cam".into()));
    map.execute(&port, "GevTimestampControlLatch").unwrap();
    map.invalidate_all();
    assert_eq!(
        get("GevTimestampValue"),
        FeatureValue::Integer(START as i64)
    );
    map.set_from_str(&port, "ActionSelector", "2").unwrap();
    map.set_from_str(&port, "ActionGroupKey", "77").unwrap();
    assert_eq!(
        port.0
            .lock()
            .unwrap()
            .read_register(bs::action_group_key(1)),
        Ok(77)
    );
}

#[test]
fn statuses_for_bad_accesses() {
    let (mut d, _) = device();
    assert_eq!(d.read_register(0x0002), Err(Status::BadAlignment));
    assert_eq!(d.read_register(0x0F00), Err(Status::InvalidAddress));
    assert_eq!(d.read_register(0xFFFF_FFFC), Err(Status::InvalidAddress));
    assert_eq!(d.write_register(bs::VERSION, 1), Err(Status::WriteProtect));
    assert_eq!(
        d.write_register(r::SENSOR_WIDTH, 1),
        Err(Status::WriteProtect)
    );
    assert_eq!(
        d.write_register(r::PAYLOAD_SIZE, 1),
        Err(Status::WriteProtect)
    );
    assert_eq!(
        d.write_register(bs::SERIAL_NUMBER, 1),
        Err(Status::WriteProtect)
    );
    assert_eq!(d.write_register(0x0F00, 1), Err(Status::InvalidAddress));
    assert_eq!(d.write_register(r::WIDTH, 3), Err(Status::InvalidParameter));
    assert_eq!(
        d.write_register(r::WIDTH, 4096),
        Err(Status::InvalidParameter)
    );
    assert_eq!(
        d.write_register(r::PIXEL_FORMAT, 0x1234),
        Err(Status::InvalidParameter)
    );
    assert_eq!(
        d.write_register(r::PTP_MODE, 3),
        Err(Status::InvalidParameter)
    );
    assert_eq!(
        d.write_register(r::ACQUISITION_FRAME_RATE, f32::NAN.to_bits()),
        Err(Status::InvalidParameter)
    );
    assert_eq!(d.read_memory(0x0001, 4), Err(Status::BadAlignment));
    assert_eq!(d.read_memory(0x0F00, 8), Err(Status::InvalidAddress));
    assert_eq!(
        d.write_memory(bs::FIRST_URL, &[0; 8]),
        Err((0, Status::WriteProtect))
    );
    // A WRITEMEM that runs into a read-only register stops there and says where.
    assert_eq!(
        d.write_memory(r::HEIGHT, &[0, 0, 0, 64, 0, 0, 0, 1]),
        Err((4, Status::InvalidParameter))
    );
    assert_eq!(d.read_register(r::HEIGHT), Ok(64));
    // Nothing changed by the failures.
    assert_eq!(d.read_register(r::WIDTH), Ok(1280));
}

#[test]
fn frame_rate_clamps_when_exposure_size_or_fault_lower_the_maximum() {
    let (mut d, _) = device();
    assert_eq!(
        f32::from_bits(d.read_register(r::ACQUISITION_FRAME_RATE).unwrap()),
        30.0
    );
    d.write_register(r::ACQUISITION_FRAME_RATE, 500f32.to_bits())
        .unwrap();
    let max = f32::from_bits(d.read_register(r::ACQUISITION_FRAME_RATE_MAX).unwrap());
    // 10 ms exposure + 20 µs readout: just under 100 Hz.
    assert!((99.0..100.0).contains(&max), "{max}");
    assert_eq!(
        f32::from_bits(d.read_register(r::ACQUISITION_FRAME_RATE).unwrap()),
        max
    );
    d.write_register(r::EXPOSURE_TIME, 1000f32.to_bits())
        .unwrap();
    d.write_register(r::ACQUISITION_FRAME_RATE, 500f32.to_bits())
        .unwrap();
    assert_eq!(
        f32::from_bits(d.read_register(r::ACQUISITION_FRAME_RATE).unwrap()),
        500.0
    );
    // A longer exposure clamps the rate down, as a camera does.
    d.write_register(r::EXPOSURE_TIME, 20_000f32.to_bits())
        .unwrap();
    let rate = f32::from_bits(d.read_register(r::ACQUISITION_FRAME_RATE).unwrap());
    assert!((49.0..50.0).contains(&rate), "{rate}");
    assert_eq!(d.counters().frame_rate_clamps, 2);
    // The link bounds it too: RGB8 full frame at 1 Gbit/s.
    let host = TestClock::new(START);
    let mut config = CameraConfig::new("DEV2", Ipv4Addr::LOCALHOST);
    config.link_speed_mbps = 1000;
    config.faults.max_frame_rate = Some(7.5);
    let clock = Arc::new(Oscillator::new(Arc::new(host), 0, 0.0));
    let ptp = Arc::new(Mutex::new(PtpSlave::new(
        Default::default(),
        0,
        PtpMode::Off,
    )));
    let d = Device::new(&config, clock, ptp);
    assert_eq!(d.frame_rate_max(), 7.5);
    assert_eq!(
        f32::from_bits(d.read_register(r::ACQUISITION_FRAME_RATE).unwrap()),
        7.5
    );
}

#[test]
fn acquisition_locks_format_and_frames_carry_block_ids_and_timestamps() {
    let (mut d, host) = device();
    d.write_register(r::WIDTH, 64).unwrap();
    d.write_register(r::HEIGHT, 8).unwrap();
    d.write_register(r::ACQUISITION_START, 1).unwrap();
    assert_eq!(d.read_register(r::ACQUISITION_STATUS), Ok(1));
    assert_eq!(d.write_register(r::WIDTH, 128), Err(Status::WriteProtect));
    assert_eq!(
        d.write_register(r::EXTENDED_ID_MODE, 1),
        Err(Status::WriteProtect)
    );
    let f1 = d.poll_frame(d.clock().now()).unwrap();
    assert_eq!(
        (f1.block_id, f1.timestamp, f1.payload_size),
        (1, START, 512)
    );
    assert_eq!(d.poll_frame(d.clock().now()), None);
    host.advance_ns(34_000_000);
    let f2 = d.poll_frame(d.clock().now()).unwrap();
    assert_eq!(f2.block_id, 2);
    assert_eq!(f2.timestamp, START + 33_333_333);
    d.write_register(r::FRAME_INFO_BLOCK_ID + 4, 2).unwrap();
    assert_eq!(
        d.read_register(r::FRAME_INFO_TIMESTAMP + 4),
        Ok((f2.timestamp & 0xFFFF_FFFF) as u32)
    );
    assert_eq!(d.read_register(r::FRAME_INFO_STARTED_WITH_PTP), Ok(0));
    d.write_register(r::FRAME_INFO_BLOCK_ID + 4, 99).unwrap();
    assert_eq!(d.read_register(r::FRAME_INFO_STARTED_WITH_PTP), Ok(2));
    d.write_register(r::ACQUISITION_STOP, 1).unwrap();
    assert_eq!(d.read_register(r::ACQUISITION_STATUS), Ok(0));
    d.write_register(r::WIDTH, 128).unwrap();
    assert_eq!(d.read_register(r::FRAMES_STARTED), Ok(2));
}

#[test]
fn actions_need_matching_keys_and_a_locked_clock_when_scheduled() {
    let (mut d, _) = device();
    d.write_register(bs::ACTION_DEVICE_KEY, 0x1234).unwrap();
    d.write_register(bs::action_group_key(0), 7).unwrap();
    d.write_register(bs::action_group_mask(0), 0b0110).unwrap();
    d.write_register(r::TRIGGER_MODE, 1).unwrap();
    d.write_register(r::TRIGGER_SOURCE, 2).unwrap();
    d.write_register(r::ACQUISITION_START, 1).unwrap();
    assert_eq!(d.action(0x9999, 7, 0b0010, None), None, "wrong device key");
    assert_eq!(d.action(0x1234, 8, 0b0010, None), None, "wrong group key");
    assert_eq!(
        d.action(0x1234, 7, 0b1000, None),
        None,
        "mask does not overlap"
    );
    assert_eq!(d.action(0x1234, 7, 0b0010, None), Some(Status::Success));
    assert!(
        d.poll_frame(d.clock().now()).is_some(),
        "the action triggered a frame"
    );
    assert_eq!(
        d.action(0x1234, 7, 0b0010, Some(START + 1_000_000_000)),
        Some(Status::NoRefTime)
    );
    // Without extended status codes 2.0 the client sees a generic error.
    d.write_register(bs::GVCP_CONFIGURATION, 0).unwrap();
    assert_eq!(
        d.action(0x1234, 7, 0b0010, Some(START + 1_000_000_000)),
        Some(Status::Error)
    );
}

#[test]
fn ptp_enable_mode_and_gvcp_configuration_agree() {
    let (mut d, _) = device();
    assert_eq!(
        d.read_register(bs::IEEE1588_STATUS),
        Ok(PtpStatus::Disabled.value())
    );
    d.write_register(r::PTP_ENABLE, 1).unwrap();
    assert_eq!(d.read_register(r::PTP_MODE), Ok(2));
    assert_ne!(
        d.read_register(bs::GVCP_CONFIGURATION).unwrap() & bs::GVCP_CONFIGURATION_IEEE1588_ENABLE,
        0
    );
    d.write_register(r::PTP_MODE, 1).unwrap();
    assert_eq!(d.read_register(r::PTP_ENABLE), Ok(1));
    d.write_register(bs::GVCP_CONFIGURATION, 0).unwrap();
    assert_eq!(d.read_register(r::PTP_MODE), Ok(0));
    assert_eq!(
        d.read_register(bs::IEEE1588_STATUS),
        Ok(PtpStatus::Disabled.value())
    );
    d.write_register(
        bs::GVCP_CONFIGURATION,
        bs::GVCP_CONFIGURATION_IEEE1588_ENABLE,
    )
    .unwrap();
    assert_eq!(d.read_register(r::PTP_MODE), Ok(2));
    assert_eq!(
        d.read_register(bs::IEEE1588_STATUS),
        Ok(PtpStatus::Listening.value())
    );
}

#[test]
fn user_sets_save_and_load_slowly() {
    let (mut d, _) = device();
    assert_eq!(
        d.write_register(r::USER_SET_SAVE, 1),
        Err(Status::WriteProtect),
        "Default is read-only"
    );
    d.write_register(r::USER_SET_SELECTOR, 1).unwrap();
    assert_eq!(
        d.write_register(r::USER_SET_LOAD, 1),
        Err(Status::InvalidParameter),
        "nothing saved yet"
    );
    d.write_register(r::WIDTH, 320).unwrap();
    assert_eq!(
        d.write_register(r::USER_SET_SAVE, 1),
        Ok(WriteEffect::Slow(USER_SET_TIME))
    );
    d.write_register(r::WIDTH, 640).unwrap();
    assert_eq!(
        d.write_register(r::USER_SET_LOAD, 1),
        Ok(WriteEffect::Slow(USER_SET_TIME))
    );
    assert_eq!(d.read_register(r::WIDTH), Ok(320));
    d.write_register(r::USER_SET_SELECTOR, 0).unwrap();
    d.write_register(r::USER_SET_LOAD, 1).unwrap();
    assert_eq!(d.read_register(r::WIDTH), Ok(1280));
}
