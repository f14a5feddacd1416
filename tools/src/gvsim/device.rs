//! One camera's registers and what writing them does: the GigE Vision
//! bootstrap map, gvsim's feature registers, the XML memory, and the
//! acquisition and frame bookkeeping behind them.
//!
//! Access rules (privilege is checked by the control server before a write
//! gets here): an address that maps to nothing is `InvalidAddress`; a write
//! to a read-only register is `WriteProtect`; an invalid value (an enum
//! value with no entry, a width off its increment) is `InvalidParameter`;
//! image-format and transport registers are `WriteProtect` while
//! acquiring; write-only registers read as 0. Values a real camera clamps
//! (frame rate, exposure, gain, packet size, heartbeat timeout) are clamped.
//!
//! Invariants: AcquisitionFrameRate never exceeds AcquisitionFrameRateMax
//! (every change that lowers the maximum clamps it, as a camera does);
//! Width + OffsetX never exceed SensorWidth (same for heights); block ids
//! restart at 1 on every AcquisitionStart; the frame ring only holds frames
//! of the current acquisition.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use gvcap::wire::bootstrap as bs;
use gvcap::wire::gvcp::DiscoveryAck;
use gvcap::wire::gvsp::PixelFormat;
use gvcap::wire::Status;

use super::acquisition::{AcqSettings, Acquisition, AcquisitionMode, TriggerSource};
use super::config::CameraConfig;
use super::frames::{Frame, FrameRing, Lookup, IP_UDP_OVERHEAD};
use super::oscillator::Oscillator;
use super::pattern;
use super::ptp::{PtpMode, PtpSlave, PtpStatus};
use super::regmap as r;
use super::xml::XmlFiles;

/// Pixel formats the camera offers.
pub const PIXEL_FORMATS: [PixelFormat; 4] = [
    PixelFormat::MONO8,
    PixelFormat::MONO16,
    PixelFormat::BAYER_RG8,
    PixelFormat::RGB8,
];
/// Pixels per second the simulated sensor reads out.
pub const SENSOR_PIXEL_RATE: f64 = 1.0e9;
/// Readout overhead added to the exposure time per frame, µs.
pub const FRAME_OVERHEAD_US: f64 = 20.0;
/// Smallest and largest stream packet size (IP and UDP headers included).
pub const PACKET_SIZE_RANGE: (u32, u32) = (576, 9000);
/// How long UserSetLoad and UserSetSave take.
pub const USER_SET_TIME: Duration = Duration::from_millis(600);
/// PENDING_TIMEOUT: commands slower than this are answered with PENDING_ACK first, ms.
pub const PENDING_TIMEOUT_MS: u32 = 200;

/// GVCP capabilities gvsim implements (bootstrap 0x0934).
pub const GVCP_CAPABILITY: u32 = {
    use bs::gvcp_capability as c;
    c::USER_DEFINED_NAME
        | c::SERIAL_NUMBER
        | c::HEARTBEAT_DISABLE
        | c::LINK_SPEED
        | c::CCP_APPLICATION_PORT_IP
        | c::EXTENDED_STATUS_CODES_1_1
        | c::UNCONDITIONAL_ACTION
        | c::IEEE1588
        | c::EXTENDED_STATUS_CODES_2_0
        | c::SCHEDULED_ACTION
        | c::ACTION
        | c::PENDING_ACK
        | c::PACKET_RESEND
        | c::WRITEMEM
        | c::CONCATENATION
};

/// GVCP configuration bits a client may set.
const GVCP_CONFIGURATION_MASK: u32 = bs::GVCP_CONFIGURATION_HEARTBEAT_DISABLE
    | bs::GVCP_CONFIGURATION_PENDING_ACK_ENABLE
    | bs::GVCP_CONFIGURATION_EXTENDED_STATUS_1_1
    | bs::GVCP_CONFIGURATION_UNCONDITIONAL_ACTION
    | bs::GVCP_CONFIGURATION_EXTENDED_STATUS_2_0
    | bs::GVCP_CONFIGURATION_IEEE1588_ENABLE;

/// Device version string.
pub const DEVICE_VERSION: &str = concat!("gvsim ", env!("CARGO_PKG_VERSION"));

/// What a successful write asks of the control server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteEffect {
    /// Done at once.
    Done,
    /// Done, but the camera takes this long before it acknowledges.
    Slow(Duration),
}

/// A PACKETRESEND request waiting for the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResendRequest {
    /// Block id as the client named it (16-bit unless extended).
    pub block_id: u64,
    /// First packet id.
    pub first: u32,
    /// Last packet id (inclusive).
    pub last: u32,
    /// The request used extended ids.
    pub extended: bool,
}

/// The image settings.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Image {
    width: u32,
    height: u32,
    offset_x: u32,
    offset_y: u32,
    pixel_format: PixelFormat,
    exposure_us: f32,
    gain_db: f32,
}

/// The settings UserSetSave stores.
#[derive(Debug, Clone, Copy, PartialEq)]
struct UserSet {
    image: Image,
    acq: Acq,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Acq {
    mode: AcquisitionMode,
    frame_count: u32,
    frame_rate: f32,
    trigger_on: bool,
    trigger_source: TriggerSource,
}

/// Counters the tests and the diagnostics features read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceCounters {
    /// Frames started since power-up.
    pub frames: u64,
    /// Of those, started with PTP.
    pub frames_with_ptp: u64,
    /// Times the frame rate was lowered to a new maximum.
    pub frame_rate_clamps: u64,
    /// Action commands accepted.
    pub actions: u64,
}

/// One camera's registers and state.
#[derive(Debug)]
pub struct Device {
    config: CameraConfig,
    serial_key: u64,
    xml: XmlFiles,
    clock: Arc<Oscillator>,
    ptp: Arc<Mutex<PtpSlave>>,
    user_name: [u8; bs::USER_DEFINED_NAME_LEN],
    nic_config: u32,
    persistent: [u32; 3],
    heartbeat_timeout_ms: u32,
    gvcp_config: u32,
    gvsp_config: u32,
    timestamp_latch: u64,
    action_device_key: u32,
    action_groups: [(u32, u32); r::ACTION_SIGNALS as usize],
    action_selector: u32,
    scp_port: u16,
    scps: u32,
    scpd: u32,
    scda: Ipv4Addr,
    scsp: u16,
    image: Image,
    acq: Acq,
    gate_time: u64,
    tl_locked: u32,
    user_set_selector: u32,
    user_set: Option<UserSet>,
    offset_latched: i64,
    frame_info_block: u64,
    acquisition: Acquisition,
    ring: FrameRing,
    resends: VecDeque<ResendRequest>,
    test_packet: bool,
    counters: DeviceCounters,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Device {
    /// A camera in its power-up state.
    pub fn new(config: &CameraConfig, clock: Arc<Oscillator>, ptp: Arc<Mutex<PtpSlave>>) -> Self {
        let mut user_name = [0u8; bs::USER_DEFINED_NAME_LEN];
        let name = config.user_name.as_bytes();
        let n = name.len().min(bs::USER_DEFINED_NAME_LEN - 1);
        user_name[..n].copy_from_slice(&name[..n]);
        let mut gvcp_config =
            bs::GVCP_CONFIGURATION_EXTENDED_STATUS_1_1 | bs::GVCP_CONFIGURATION_EXTENDED_STATUS_2_0;
        if config.ptp_mode != PtpMode::Off {
            gvcp_config |= bs::GVCP_CONFIGURATION_IEEE1588_ENABLE;
        }
        let mut device = Device {
            serial_key: pattern::serial_key(&config.serial),
            config: config.clone(),
            xml: XmlFiles::build(config.ptp_features),
            clock,
            ptp,
            user_name,
            nic_config: 0x0000_0004,
            persistent: [0; 3],
            heartbeat_timeout_ms: 3000,
            gvcp_config,
            gvsp_config: 0,
            timestamp_latch: 0,
            action_device_key: 0,
            action_groups: [(0, 0); r::ACTION_SIGNALS as usize],
            action_selector: 1,
            scp_port: 0,
            scps: 1500,
            scpd: 0,
            scda: Ipv4Addr::UNSPECIFIED,
            scsp: 0,
            image: Image {
                width: config.sensor_width,
                height: config.sensor_height,
                offset_x: 0,
                offset_y: 0,
                pixel_format: PixelFormat::MONO8,
                exposure_us: 10_000.0,
                gain_db: 0.0,
            },
            acq: Acq {
                mode: AcquisitionMode::Continuous,
                frame_count: 1,
                frame_rate: 30.0,
                trigger_on: false,
                trigger_source: TriggerSource::Software,
            },
            gate_time: 0,
            tl_locked: 0,
            user_set_selector: 0,
            user_set: None,
            offset_latched: 0,
            frame_info_block: 0,
            acquisition: Acquisition::default(),
            ring: FrameRing::new(config.resend_frames),
            resends: VecDeque::new(),
            test_packet: false,
            counters: DeviceCounters::default(),
        };
        device.clamp_frame_rate();
        device
    }

    /// The configuration the camera was built from.
    pub fn config(&self) -> &CameraConfig {
        &self.config
    }

    /// The camera clock.
    pub fn clock(&self) -> &Arc<Oscillator> {
        &self.clock
    }

    /// The PTP port.
    pub fn ptp(&self) -> &Arc<Mutex<PtpSlave>> {
        &self.ptp
    }

    /// Counters.
    pub fn counters(&self) -> DeviceCounters {
        self.counters
    }

    /// The heartbeat timeout, unless the client disabled the heartbeat.
    pub fn heartbeat_timeout(&self) -> Option<Duration> {
        (self.gvcp_config & bs::GVCP_CONFIGURATION_HEARTBEAT_DISABLE == 0)
            .then(|| Duration::from_millis(u64::from(self.heartbeat_timeout_ms)))
    }

    /// True when the client allowed PENDING_ACK.
    pub fn pending_ack_enabled(&self) -> bool {
        self.gvcp_config & bs::GVCP_CONFIGURATION_PENDING_ACK_ENABLE != 0
    }

    /// True when ACTION commands are honoured without a primary application.
    pub fn unconditional_action(&self) -> bool {
        self.gvcp_config & bs::GVCP_CONFIGURATION_UNCONDITIONAL_ACTION != 0
    }

    /// Maps a GigE Vision 2.0 status to what a client that did not enable
    /// extended status codes understands.
    pub fn status_for_client(&self, status: Status) -> Status {
        let ext11 = self.gvcp_config & bs::GVCP_CONFIGURATION_EXTENDED_STATUS_1_1 != 0;
        let ext20 = self.gvcp_config & bs::GVCP_CONFIGURATION_EXTENDED_STATUS_2_0 != 0;
        match status {
            Status::PacketNotYetAvailable | Status::PacketRemovedFromMemory if !ext11 => {
                Status::PacketUnavailable
            }
            Status::ActionLate if !ext20 => Status::Success,
            Status::NoRefTime | Status::Overflow if !ext20 => Status::Error,
            other => other,
        }
    }

    /// The identity a DISCOVERY_ACK carries.
    pub fn discovery_ack(&self) -> DiscoveryAck {
        let c = &self.config;
        DiscoveryAck {
            spec_version_major: 2,
            spec_version_minor: 0,
            device_mode: 0x8000_0001,
            mac: c.mac,
            ip_config_options: 0x0000_0005,
            ip_config_current: self.nic_config,
            ip: c.address,
            mask: c.netmask,
            gateway: Ipv4Addr::UNSPECIFIED,
            manufacturer: truncate(&c.vendor, bs::MANUFACTURER_NAME_LEN - 1),
            model: truncate(&c.model, bs::MODEL_NAME_LEN - 1),
            device_version: truncate(DEVICE_VERSION, bs::DEVICE_VERSION_LEN - 1),
            manufacturer_info: truncate("simulated camera", bs::MANUFACTURER_INFO_LEN - 1),
            serial: truncate(&c.serial, bs::SERIAL_NUMBER_LEN - 1),
            user_name: {
                let end = self
                    .user_name
                    .iter()
                    .position(|&b| b == 0)
                    .unwrap_or(self.user_name.len());
                String::from_utf8_lossy(&self.user_name[..end]).into_owned()
            },
        }
    }

    // ------------------------------------------------------------ derived values

    fn payload_size(&self) -> u64 {
        self.image
            .pixel_format
            .image_size(self.image.width, self.image.height)
            .unwrap_or(0)
    }

    fn packet_size(&self) -> u32 {
        self.scps & bs::sc::PACKET_SIZE_MASK
    }

    fn extended_ids(&self) -> bool {
        self.gvsp_config & bs::GVSP_CONFIGURATION_64BIT_BLOCK_ID != 0
    }

    /// The largest frame rate size, format, exposure, link and faults allow.
    pub fn frame_rate_max(&self) -> f64 {
        let pixels = f64::from(self.image.width) * f64::from(self.image.height);
        let sensor = SENSOR_PIXEL_RATE / pixels.max(1.0);
        let exposure = 1e6 / (f64::from(self.image.exposure_us) + FRAME_OVERHEAD_US);
        let payload = self.payload_size() as f64;
        let header = if self.extended_ids() { 20.0 } else { 8.0 };
        let chunk = (f64::from(self.packet_size()) - f64::from(IP_UDP_OVERHEAD) - header).max(1.0);
        let packets = (payload / chunk).ceil() + 2.0;
        // Per packet on the wire: IP/UDP/GVSP headers, Ethernet header and FCS, preamble and gap.
        let wire_bytes = payload + packets * (f64::from(IP_UDP_OVERHEAD) + header + 18.0 + 20.0);
        let link = f64::from(self.config.link_speed_mbps) * 1e6 / (wire_bytes * 8.0);
        let mut max = sensor.min(exposure).min(link);
        if let Some(limit) = self.config.faults.max_frame_rate {
            max = max.min(limit);
        }
        // The register holds a float32: round down so the stored maximum never exceeds the true one.
        let as_f32 = max as f32;
        if f64::from(as_f32) > max {
            f64::from(f32::from_bits(as_f32.to_bits() - 1))
        } else {
            f64::from(as_f32)
        }
    }

    fn clamp_frame_rate(&mut self) {
        let max = self.frame_rate_max() as f32;
        if self.acq.frame_rate > max {
            self.acq.frame_rate = max;
            self.counters.frame_rate_clamps += 1;
        }
    }

    fn ptp_status(&self) -> PtpStatus {
        lock(&self.ptp).status()
    }

    fn acq_settings(&self) -> AcqSettings {
        AcqSettings {
            mode: self.acq.mode,
            frame_count: self.acq.frame_count,
            frame_rate: f64::from(self.acq.frame_rate),
            frame_rate_max: self.frame_rate_max(),
            trigger_on: self.acq.trigger_on,
            trigger_source: self.acq.trigger_source,
        }
    }

    /// True while acquiring or armed.
    pub fn acquiring(&self) -> bool {
        self.acquisition.is_active()
    }

    // ------------------------------------------------------------ registers

    /// Reads one 32-bit register.
    pub fn read_register(&self, address: u32) -> Result<u32, Status> {
        if address % 4 != 0 {
            return Err(Status::BadAlignment);
        }
        if let Some(bytes) = self.byte_area(address) {
            return Ok(u32::from_be_bytes(
                bytes
                    .get(..4)
                    .and_then(|b| b.try_into().ok())
                    .unwrap_or([0; 4]),
            ));
        }
        let high_low = |value: u64, base: u32| {
            if address == base {
                (value >> 32) as u32
            } else {
                value as u32
            }
        };
        let v = match address {
            bs::VERSION => 0x0002_0000,
            bs::DEVICE_MODE => 0x8000_0001,
            bs::MAC_HIGH => u32::from(u16::from_be_bytes([self.config.mac[0], self.config.mac[1]])),
            bs::MAC_LOW => u32::from_be_bytes([
                self.config.mac[2],
                self.config.mac[3],
                self.config.mac[4],
                self.config.mac[5],
            ]),
            bs::NETWORK_INTERFACE_CAPABILITY => 0x0000_0005,
            bs::NETWORK_INTERFACE_CONFIGURATION => self.nic_config,
            bs::CURRENT_IP => u32::from(self.config.address),
            bs::CURRENT_SUBNET_MASK => u32::from(self.config.netmask),
            bs::CURRENT_GATEWAY => 0,
            bs::NUMBER_OF_NETWORK_INTERFACES => 1,
            bs::PERSISTENT_IP => self.persistent[0],
            bs::PERSISTENT_SUBNET_MASK => self.persistent[1],
            bs::PERSISTENT_GATEWAY => self.persistent[2],
            bs::LINK_SPEED => self.config.link_speed_mbps,
            bs::NUMBER_OF_MESSAGE_CHANNELS => 0,
            bs::NUMBER_OF_STREAM_CHANNELS => 1,
            bs::NUMBER_OF_ACTION_SIGNALS => r::ACTION_SIGNALS,
            bs::ACTION_DEVICE_KEY => 0,
            bs::NUMBER_OF_ACTIVE_LINKS => 1,
            bs::GVSP_CAPABILITY => {
                bs::GVSP_CAPABILITY_SCSP | bs::GVSP_CAPABILITY_LEGACY_16BIT_BLOCK_ID
            }
            bs::MESSAGE_CHANNEL_CAPABILITY => 0,
            bs::GVCP_CAPABILITY => GVCP_CAPABILITY,
            bs::HEARTBEAT_TIMEOUT => self.heartbeat_timeout_ms,
            bs::TIMESTAMP_TICK_FREQUENCY_HIGH => 0,
            bs::TIMESTAMP_TICK_FREQUENCY_LOW => 1_000_000_000,
            bs::TIMESTAMP_CONTROL => 0,
            bs::TIMESTAMP_VALUE_HIGH | bs::TIMESTAMP_VALUE_LOW => {
                high_low(self.timestamp_latch, bs::TIMESTAMP_VALUE_HIGH)
            }
            bs::GVCP_CONFIGURATION => self.gvcp_config,
            bs::PENDING_TIMEOUT => PENDING_TIMEOUT_MS,
            bs::GVSP_CONFIGURATION => self.gvsp_config,
            bs::PHYSICAL_LINK_CAPABILITY => 1,
            bs::PHYSICAL_LINK_CONFIGURATION => 0,
            bs::IEEE1588_STATUS => self.ptp_status().value(),
            bs::SCHEDULED_ACTION_QUEUE_SIZE => r::SCHEDULED_ACTION_QUEUE,
            a if a == bs::stream_channel(0, bs::sc::PORT) => u32::from(self.scp_port),
            a if a == bs::stream_channel(0, bs::sc::PACKET_SIZE) => self.scps,
            a if a == bs::stream_channel(0, bs::sc::PACKET_DELAY) => self.scpd,
            a if a == bs::stream_channel(0, bs::sc::DESTINATION_ADDRESS) => u32::from(self.scda),
            a if a == bs::stream_channel(0, bs::sc::SOURCE_PORT) => u32::from(self.scsp),
            a if a == bs::stream_channel(0, bs::sc::CAPABILITY) => 0,
            a if a == bs::stream_channel(0, bs::sc::CONFIGURATION) => 0,
            a if (bs::action_group_key(0)..bs::action_group_key(r::ACTION_SIGNALS as u16))
                .contains(&a)
                && (a - bs::ACTION_GROUP_BASE) % bs::ACTION_GROUP_STRIDE < 8 =>
            {
                let n = ((a - bs::ACTION_GROUP_BASE) / bs::ACTION_GROUP_STRIDE) as usize;
                if (a - bs::ACTION_GROUP_BASE) % bs::ACTION_GROUP_STRIDE == 0 {
                    self.action_groups[n].0
                } else {
                    self.action_groups[n].1
                }
            }
            r::SENSOR_WIDTH => self.config.sensor_width,
            r::SENSOR_HEIGHT => self.config.sensor_height,
            r::WIDTH => self.image.width,
            r::HEIGHT => self.image.height,
            r::OFFSET_X => self.image.offset_x,
            r::OFFSET_Y => self.image.offset_y,
            r::PIXEL_FORMAT => self.image.pixel_format.0,
            r::PAYLOAD_SIZE => u32::try_from(self.payload_size()).unwrap_or(u32::MAX),
            r::WIDTH_MAX => self.config.sensor_width - self.image.offset_x,
            r::HEIGHT_MAX => self.config.sensor_height - self.image.offset_y,
            r::OFFSET_X_MAX => self.config.sensor_width - self.image.width,
            r::OFFSET_Y_MAX => self.config.sensor_height - self.image.height,
            r::ACQUISITION_MODE => match self.acq.mode {
                AcquisitionMode::Continuous => 0,
                AcquisitionMode::SingleFrame => 1,
                AcquisitionMode::MultiFrame => 2,
            },
            r::ACQUISITION_FRAME_COUNT => self.acq.frame_count,
            r::ACQUISITION_FRAME_RATE => self.acq.frame_rate.to_bits(),
            r::ACQUISITION_FRAME_RATE_MAX => (self.frame_rate_max() as f32).to_bits(),
            r::ACQUISITION_START | r::ACQUISITION_STOP | r::TRIGGER_SOFTWARE => 0,
            r::ACQUISITION_STATUS => u32::from(self.acquiring()),
            r::TRIGGER_SELECTOR => 0,
            r::TRIGGER_MODE => u32::from(self.acq.trigger_on),
            r::TRIGGER_SOURCE => match self.acq.trigger_source {
                TriggerSource::Software => 0,
                TriggerSource::Line0 => 1,
                TriggerSource::Action1 => 2,
            },
            r::EXPOSURE_TIME => self.image.exposure_us.to_bits(),
            r::GAIN => self.image.gain_db.to_bits(),
            r::PTP_MODE => lock(&self.ptp).mode().value(),
            r::PTP_ENABLE => u32::from(lock(&self.ptp).mode() != PtpMode::Off),
            r::PTP_DATASET_LATCH => 0,
            a if a == r::PTP_OFFSET || a == r::PTP_OFFSET + 4 => {
                high_low(lock(&self.ptp).offset_ns() as u64, r::PTP_OFFSET)
            }
            a if a == r::PTP_OFFSET_FROM_MASTER || a == r::PTP_OFFSET_FROM_MASTER + 4 => {
                high_low(self.offset_latched as u64, r::PTP_OFFSET_FROM_MASTER)
            }
            a if a == r::PTP_GATE_TIME || a == r::PTP_GATE_TIME + 4 => {
                high_low(self.gate_time, r::PTP_GATE_TIME)
            }
            r::ACTION_SELECTOR => self.action_selector,
            r::ACTION_GROUP_KEY => self.action_groups[(self.action_selector - 1) as usize].0,
            r::ACTION_GROUP_MASK => self.action_groups[(self.action_selector - 1) as usize].1,
            r::SCPS_PACKET_SIZE => self.packet_size(),
            r::SCP_HOST_PORT => u32::from(self.scp_port),
            r::EXTENDED_ID_MODE => u32::from(self.extended_ids()),
            r::TL_PARAMS_LOCKED => self.tl_locked,
            r::USER_SET_SELECTOR => self.user_set_selector,
            r::USER_SET_LOAD | r::USER_SET_SAVE => 0,
            r::FRAMES_STARTED => self.counters.frames as u32,
            r::FRAMES_STARTED_WITH_PTP => self.counters.frames_with_ptp as u32,
            a if a == r::FRAME_INFO_BLOCK_ID || a == r::FRAME_INFO_BLOCK_ID + 4 => {
                high_low(self.frame_info_block, r::FRAME_INFO_BLOCK_ID)
            }
            a if a == r::FRAME_INFO_TIMESTAMP || a == r::FRAME_INFO_TIMESTAMP + 4 => {
                let ts = match self.ring.lookup(self.frame_info_block, true) {
                    Lookup::Found(f) => f.timestamp,
                    _ => 0,
                };
                high_low(ts, r::FRAME_INFO_TIMESTAMP)
            }
            r::FRAME_INFO_STARTED_WITH_PTP => match self.ring.lookup(self.frame_info_block, true) {
                Lookup::Found(f) => u32::from(f.started_with_ptp),
                _ => 2,
            },
            a if a == r::FRAME_INFO_TRUE_START || a == r::FRAME_INFO_TRUE_START + 4 => {
                let at = match self.ring.lookup(self.frame_info_block, true) {
                    Lookup::Found(f) => f.true_start_ns,
                    _ => 0,
                };
                high_low(at, r::FRAME_INFO_TRUE_START)
            }
            _ => return Err(Status::InvalidAddress),
        };
        Ok(v)
    }

    /// The bytes of a string, URL or XML area starting at `address`, to its end.
    fn byte_area(&self, address: u32) -> Option<Vec<u8>> {
        let areas: [(u32, usize, &[u8]); 6] = [
            (
                bs::MANUFACTURER_NAME,
                bs::MANUFACTURER_NAME_LEN,
                self.config.vendor.as_bytes(),
            ),
            (
                bs::MODEL_NAME,
                bs::MODEL_NAME_LEN,
                self.config.model.as_bytes(),
            ),
            (
                bs::DEVICE_VERSION,
                bs::DEVICE_VERSION_LEN,
                DEVICE_VERSION.as_bytes(),
            ),
            (
                bs::MANUFACTURER_INFO,
                bs::MANUFACTURER_INFO_LEN,
                b"simulated camera",
            ),
            (
                bs::SERIAL_NUMBER,
                bs::SERIAL_NUMBER_LEN,
                self.config.serial.as_bytes(),
            ),
            (
                bs::USER_DEFINED_NAME,
                bs::USER_DEFINED_NAME_LEN,
                &self.user_name,
            ),
        ];
        for (base, len, text) in areas {
            if (base..base + len as u32).contains(&address) {
                let mut field = vec![0u8; len];
                let n = text.len().min(len - 1);
                field[..n].copy_from_slice(&text[..n]);
                return Some(field[(address - base) as usize..].to_vec());
            }
        }
        let blobs: [(u32, u32, &[u8]); 4] = [
            (
                bs::FIRST_URL,
                bs::URL_LEN as u32,
                self.xml.first_url.as_bytes(),
            ),
            (
                bs::SECOND_URL,
                bs::URL_LEN as u32,
                self.xml.second_url.as_bytes(),
            ),
            (r::XML_ZIP_ADDRESS, r::XML_MAX_LEN, &self.xml.zip),
            (r::XML_PLAIN_ADDRESS, r::XML_MAX_LEN, &self.xml.plain),
        ];
        for (base, len, data) in blobs {
            if (base..base + len).contains(&address) {
                let at = (address - base) as usize;
                // Zero-padded to a whole word so that a READMEM of the last bytes works.
                let end = (data.len().div_ceil(4) * 4).max(at + 4).min(len as usize);
                let mut out = data.get(at..).unwrap_or(&[]).to_vec();
                out.resize(end.saturating_sub(at), 0);
                return Some(out);
            }
        }
        None
    }

    /// Reads `len` bytes of device memory (READMEM): address and length are multiples of 4.
    pub fn read_memory(&self, address: u32, len: usize) -> Result<Vec<u8>, Status> {
        if address % 4 != 0 || len % 4 != 0 {
            return Err(Status::BadAlignment);
        }
        let mut out = Vec::with_capacity(len);
        let mut at = address;
        while out.len() < len {
            if let Some(bytes) = self.byte_area(at) {
                let take = bytes.len().min(len - out.len());
                if take == 0 {
                    return Err(Status::InvalidAddress);
                }
                out.extend_from_slice(&bytes[..take]);
                at = at.checked_add(take as u32).ok_or(Status::InvalidAddress)?;
            } else {
                out.extend_from_slice(&self.read_register(at)?.to_be_bytes());
                at = at.checked_add(4).ok_or(Status::InvalidAddress)?;
            }
        }
        Ok(out)
    }

    /// Writes device memory (WRITEMEM); on failure, the index of the first byte not written.
    pub fn write_memory(
        &mut self,
        address: u32,
        data: &[u8],
    ) -> Result<WriteEffect, (usize, Status)> {
        if address % 4 != 0 || data.len() % 4 != 0 {
            return Err((0, Status::BadAlignment));
        }
        let mut effect = WriteEffect::Done;
        let mut index = 0;
        while index < data.len() {
            let at = address.wrapping_add(index as u32);
            if (bs::USER_DEFINED_NAME..bs::USER_DEFINED_NAME + bs::USER_DEFINED_NAME_LEN as u32)
                .contains(&at)
            {
                let start = (at - bs::USER_DEFINED_NAME) as usize;
                let take = (bs::USER_DEFINED_NAME_LEN - start).min(data.len() - index);
                self.user_name[start..start + take].copy_from_slice(&data[index..index + take]);
                // The register always ends with a NUL.
                self.user_name[bs::USER_DEFINED_NAME_LEN - 1] = 0;
                index += take;
                continue;
            }
            if self.byte_area(at).is_some() {
                return Err((index, Status::WriteProtect));
            }
            let word = u32::from_be_bytes([
                data[index],
                data[index + 1],
                data[index + 2],
                data[index + 3],
            ]);
            match self.write_register(at, word) {
                Ok(WriteEffect::Slow(d)) => effect = WriteEffect::Slow(d),
                Ok(WriteEffect::Done) => {}
                Err(status) => return Err((index, status)),
            }
            index += 4;
        }
        Ok(effect)
    }

    /// Writes one 32-bit register.
    pub fn write_register(&mut self, address: u32, value: u32) -> Result<WriteEffect, Status> {
        if address % 4 != 0 {
            return Err(Status::BadAlignment);
        }
        if (bs::USER_DEFINED_NAME..bs::USER_DEFINED_NAME + bs::USER_DEFINED_NAME_LEN as u32)
            .contains(&address)
        {
            return self
                .write_memory(address, &value.to_be_bytes())
                .map_err(|(_, status)| status);
        }
        let set_half = |old: u64, base: u32| -> u64 {
            if address == base {
                (old & 0xFFFF_FFFF) | (u64::from(value) << 32)
            } else {
                (old & !0xFFFF_FFFF) | u64::from(value)
            }
        };
        let acquiring = self.acquiring();
        let locked = |acquiring: bool| {
            if acquiring {
                Err(Status::WriteProtect)
            } else {
                Ok(())
            }
        };
        match address {
            bs::NETWORK_INTERFACE_CONFIGURATION => self.nic_config = (value & 0x7) | 0x4,
            bs::PERSISTENT_IP => self.persistent[0] = value,
            bs::PERSISTENT_SUBNET_MASK => self.persistent[1] = value,
            bs::PERSISTENT_GATEWAY => self.persistent[2] = value,
            bs::ACTION_DEVICE_KEY => self.action_device_key = value,
            bs::HEARTBEAT_TIMEOUT => self.heartbeat_timeout_ms = value.clamp(500, 600_000),
            bs::TIMESTAMP_CONTROL => {
                if value & bs::TIMESTAMP_CONTROL_RESET != 0
                    && lock(&self.ptp).mode() == PtpMode::Off
                {
                    self.clock.set_now(0);
                }
                if value & bs::TIMESTAMP_CONTROL_LATCH != 0 {
                    self.timestamp_latch = u64::try_from(self.clock.now().max(0)).unwrap_or(0);
                }
            }
            bs::GVCP_CONFIGURATION => {
                let old_ptp = self.gvcp_config & bs::GVCP_CONFIGURATION_IEEE1588_ENABLE != 0;
                self.gvcp_config = value & GVCP_CONFIGURATION_MASK;
                let new_ptp = value & bs::GVCP_CONFIGURATION_IEEE1588_ENABLE != 0;
                if old_ptp != new_ptp {
                    self.set_ptp_enable(new_ptp);
                }
            }
            bs::GVSP_CONFIGURATION => {
                locked(acquiring)?;
                self.gvsp_config = value & bs::GVSP_CONFIGURATION_64BIT_BLOCK_ID;
                self.clamp_frame_rate();
            }
            bs::PHYSICAL_LINK_CONFIGURATION => {
                if value != 0 {
                    return Err(Status::InvalidParameter);
                }
            }
            a if a == bs::stream_channel(0, bs::sc::PORT) => {
                if value & bs::sc::PORT_INTERFACE_MASK != 0 {
                    return Err(Status::InvalidParameter);
                }
                self.scp_port = (value & bs::sc::PORT_HOST_PORT_MASK) as u16;
            }
            a if a == bs::stream_channel(0, bs::sc::PACKET_SIZE) => {
                if value & bs::sc::PACKET_SIZE_FIRE_TEST_PACKET != 0 {
                    self.test_packet = true;
                }
                let size = value & bs::sc::PACKET_SIZE_MASK;
                if size != self.packet_size() {
                    locked(acquiring)?;
                }
                self.scps = (value & bs::sc::PACKET_SIZE_DO_NOT_FRAGMENT) | clamp_packet_size(size);
                self.clamp_frame_rate();
            }
            a if a == bs::stream_channel(0, bs::sc::PACKET_DELAY) => self.scpd = value,
            a if a == bs::stream_channel(0, bs::sc::DESTINATION_ADDRESS) => {
                self.scda = Ipv4Addr::from(value)
            }
            a if a == bs::stream_channel(0, bs::sc::CONFIGURATION) => {}
            a if (bs::action_group_key(0)..bs::action_group_key(r::ACTION_SIGNALS as u16))
                .contains(&a)
                && (a - bs::ACTION_GROUP_BASE) % bs::ACTION_GROUP_STRIDE < 8 =>
            {
                let n = ((a - bs::ACTION_GROUP_BASE) / bs::ACTION_GROUP_STRIDE) as usize;
                if (a - bs::ACTION_GROUP_BASE) % bs::ACTION_GROUP_STRIDE == 0 {
                    self.action_groups[n].0 = value;
                } else {
                    self.action_groups[n].1 = value;
                }
            }
            r::WIDTH => {
                locked(acquiring)?;
                if value < 16
                    || value % 4 != 0
                    || value > self.config.sensor_width - self.image.offset_x
                {
                    return Err(Status::InvalidParameter);
                }
                self.image.width = value;
                self.clamp_frame_rate();
            }
            r::HEIGHT => {
                locked(acquiring)?;
                if value < 2
                    || value % 2 != 0
                    || value > self.config.sensor_height - self.image.offset_y
                {
                    return Err(Status::InvalidParameter);
                }
                self.image.height = value;
                self.clamp_frame_rate();
            }
            r::OFFSET_X => {
                locked(acquiring)?;
                if value % 4 != 0 || value > self.config.sensor_width - self.image.width {
                    return Err(Status::InvalidParameter);
                }
                self.image.offset_x = value;
            }
            r::OFFSET_Y => {
                locked(acquiring)?;
                if value % 2 != 0 || value > self.config.sensor_height - self.image.height {
                    return Err(Status::InvalidParameter);
                }
                self.image.offset_y = value;
            }
            r::PIXEL_FORMAT => {
                locked(acquiring)?;
                let format = PIXEL_FORMATS
                    .into_iter()
                    .find(|f| f.0 == value)
                    .ok_or(Status::InvalidParameter)?;
                self.image.pixel_format = format;
                self.clamp_frame_rate();
            }
            r::ACQUISITION_MODE => {
                self.acq.mode = match value {
                    0 => AcquisitionMode::Continuous,
                    1 => AcquisitionMode::SingleFrame,
                    2 => AcquisitionMode::MultiFrame,
                    _ => return Err(Status::InvalidParameter),
                }
            }
            r::ACQUISITION_FRAME_COUNT => {
                if !(1..=65_535).contains(&value) {
                    return Err(Status::InvalidParameter);
                }
                self.acq.frame_count = value;
            }
            r::ACQUISITION_FRAME_RATE => {
                let rate = f32::from_bits(value);
                if !rate.is_finite() || rate <= 0.0 {
                    return Err(Status::InvalidParameter);
                }
                self.acq.frame_rate = rate.max(0.1);
                self.clamp_frame_rate();
            }
            r::ACQUISITION_START => {
                if value != 0 {
                    self.start_acquisition();
                }
            }
            r::ACQUISITION_STOP => {
                if value != 0 {
                    self.acquisition.stop(self.clock.now());
                }
            }
            r::TRIGGER_SELECTOR => {
                if value != 0 {
                    return Err(Status::InvalidParameter);
                }
            }
            r::TRIGGER_MODE => {
                if value > 1 {
                    return Err(Status::InvalidParameter);
                }
                self.acq.trigger_on = value == 1;
            }
            r::TRIGGER_SOURCE => {
                self.acq.trigger_source = match value {
                    0 => TriggerSource::Software,
                    1 => TriggerSource::Line0,
                    2 => TriggerSource::Action1,
                    _ => return Err(Status::InvalidParameter),
                }
            }
            r::TRIGGER_SOFTWARE => {
                if value != 0 {
                    let now = self.clock.now();
                    self.acquisition.software_trigger(now);
                }
            }
            r::EXPOSURE_TIME => {
                let us = f32::from_bits(value);
                if !us.is_finite() {
                    return Err(Status::InvalidParameter);
                }
                self.image.exposure_us = us.clamp(10.0, 1_000_000.0);
                self.clamp_frame_rate();
            }
            r::GAIN => {
                let db = f32::from_bits(value);
                if !db.is_finite() {
                    return Err(Status::InvalidParameter);
                }
                self.image.gain_db = db.clamp(0.0, 24.0);
            }
            r::PTP_MODE => {
                let mode = PtpMode::from_value(value).ok_or(Status::InvalidParameter)?;
                self.set_ptp_mode(mode);
            }
            r::PTP_ENABLE => {
                if value > 1 {
                    return Err(Status::InvalidParameter);
                }
                self.set_ptp_enable(value == 1);
            }
            r::PTP_DATASET_LATCH => {
                if value != 0 {
                    self.offset_latched = lock(&self.ptp).offset_ns();
                }
            }
            a if a == r::PTP_GATE_TIME || a == r::PTP_GATE_TIME + 4 => {
                self.gate_time = set_half(self.gate_time, r::PTP_GATE_TIME)
            }
            r::ACTION_SELECTOR => {
                if !(1..=r::ACTION_SIGNALS).contains(&value) {
                    return Err(Status::InvalidParameter);
                }
                self.action_selector = value;
            }
            r::ACTION_GROUP_KEY => {
                self.action_groups[(self.action_selector - 1) as usize].0 = value
            }
            r::ACTION_GROUP_MASK => {
                self.action_groups[(self.action_selector - 1) as usize].1 = value
            }
            r::SCPS_PACKET_SIZE => {
                let size = clamp_packet_size(value);
                if size != self.packet_size() {
                    locked(acquiring)?;
                }
                self.scps = (self.scps & !bs::sc::PACKET_SIZE_MASK) | size;
                self.clamp_frame_rate();
            }
            r::SCP_HOST_PORT => {
                if value > 0xFFFF {
                    return Err(Status::InvalidParameter);
                }
                self.scp_port = value as u16;
            }
            r::EXTENDED_ID_MODE => {
                if value > 1 {
                    return Err(Status::InvalidParameter);
                }
                locked(acquiring)?;
                if value == 1 {
                    self.gvsp_config |= bs::GVSP_CONFIGURATION_64BIT_BLOCK_ID;
                } else {
                    self.gvsp_config &= !bs::GVSP_CONFIGURATION_64BIT_BLOCK_ID;
                }
                self.clamp_frame_rate();
            }
            r::TL_PARAMS_LOCKED => {
                if value > 1 {
                    return Err(Status::InvalidParameter);
                }
                self.tl_locked = value;
            }
            r::USER_SET_SELECTOR => {
                if value > 1 {
                    return Err(Status::InvalidParameter);
                }
                self.user_set_selector = value;
            }
            r::USER_SET_SAVE => {
                if value != 0 {
                    if self.user_set_selector == 0 {
                        // The factory default cannot be overwritten.
                        return Err(Status::WriteProtect);
                    }
                    self.user_set = Some(UserSet {
                        image: self.image,
                        acq: self.acq,
                    });
                    return Ok(WriteEffect::Slow(USER_SET_TIME));
                }
            }
            r::USER_SET_LOAD => {
                if value != 0 {
                    locked(acquiring)?;
                    let set = match (self.user_set_selector, self.user_set) {
                        (1, Some(set)) => set,
                        (1, None) => return Err(Status::InvalidParameter),
                        _ => {
                            let fresh = Device::new(
                                &self.config,
                                Arc::clone(&self.clock),
                                Arc::clone(&self.ptp),
                            );
                            UserSet {
                                image: fresh.image,
                                acq: fresh.acq,
                            }
                        }
                    };
                    self.image = set.image;
                    self.acq = set.acq;
                    self.clamp_frame_rate();
                    return Ok(WriteEffect::Slow(USER_SET_TIME));
                }
            }
            a if a == r::FRAME_INFO_BLOCK_ID || a == r::FRAME_INFO_BLOCK_ID + 4 => {
                self.frame_info_block = set_half(self.frame_info_block, r::FRAME_INFO_BLOCK_ID)
            }
            _ => {
                // Known but read-only, or unknown.
                return Err(
                    if self.read_register(address).is_ok() || self.byte_area(address).is_some() {
                        Status::WriteProtect
                    } else {
                        Status::InvalidAddress
                    },
                );
            }
        }
        Ok(WriteEffect::Done)
    }

    fn set_ptp_mode(&mut self, mode: PtpMode) {
        lock(&self.ptp).set_mode(mode);
        if mode == PtpMode::Off {
            self.gvcp_config &= !bs::GVCP_CONFIGURATION_IEEE1588_ENABLE;
        } else {
            self.gvcp_config |= bs::GVCP_CONFIGURATION_IEEE1588_ENABLE;
        }
    }

    fn set_ptp_enable(&mut self, enable: bool) {
        let current = lock(&self.ptp).mode();
        match (enable, current) {
            (true, PtpMode::Off) => self.set_ptp_mode(PtpMode::TwoStep),
            (false, _) => self.set_ptp_mode(PtpMode::Off),
            (true, mode) => self.set_ptp_mode(mode),
        }
    }

    // ------------------------------------------------------------ acquisition

    fn start_acquisition(&mut self) {
        let settings = self.acq_settings();
        let ptp_on = lock(&self.ptp).mode() != PtpMode::Off;
        let gate = (ptp_on && self.gate_time != 0)
            .then(|| i64::try_from(self.gate_time).unwrap_or(i64::MAX));
        self.ring.clear();
        self.resends.clear();
        let now = self.clock.now();
        self.acquisition.start(&settings, gate, now);
    }

    /// Control privilege lost (heartbeat expired): stop and close the stream channel.
    pub fn control_lost(&mut self) {
        self.acquisition.stop(self.clock.now());
        self.scp_port = 0;
    }

    /// An ACTION command; `None` when its keys do not address this camera
    /// (no acknowledge then), else the status to answer.
    pub fn action(
        &mut self,
        device_key: u32,
        group_key: u32,
        group_mask: u32,
        time: Option<u64>,
    ) -> Option<Status> {
        if device_key != self.action_device_key {
            return None;
        }
        let signals: Vec<usize> = (0..self.action_groups.len())
            .filter(|&n| {
                let (key, mask) = self.action_groups[n];
                key == group_key && mask & group_mask != 0
            })
            .collect();
        if signals.is_empty() {
            return None;
        }
        self.counters.actions += 1;
        // Only action signal 1 drives something (TriggerSource Action1).
        let drives = signals.contains(&0);
        let now = self.clock.now();
        let status = match time {
            None => {
                if drives {
                    self.acquisition.action_now(now);
                }
                Status::Success
            }
            Some(at) => {
                if !lock(&self.ptp).is_locked() {
                    Status::NoRefTime
                } else {
                    let at = i64::try_from(at).unwrap_or(i64::MAX);
                    if at <= now {
                        if drives {
                            self.acquisition.action_now(now);
                        }
                        Status::ActionLate
                    } else if !drives || self.acquisition.schedule_action(at, true) {
                        Status::Success
                    } else {
                        Status::Overflow
                    }
                }
            }
        };
        Some(self.status_for_client(status))
    }

    /// Queues a PACKETRESEND for the stream.
    pub fn request_resend(&mut self, request: ResendRequest) {
        if self.resends.len() < 1024 {
            self.resends.push_back(request);
        }
    }

    /// The next PACKETRESEND to serve.
    pub fn take_resend(&mut self) -> Option<ResendRequest> {
        self.resends.pop_front()
    }

    /// A test packet was asked for (SCPS fire bit); clears the request.
    pub fn take_test_packet(&mut self) -> bool {
        std::mem::take(&mut self.test_packet)
    }

    /// Looks up a retained frame for a resend.
    pub fn lookup_frame(&self, block_id: u64, extended: bool) -> Lookup {
        self.ring.lookup(block_id, extended)
    }

    /// Where the stream goes: the channel's destination, once the host port is set.
    pub fn stream_target(&self) -> Option<SocketAddrV4> {
        (self.scp_port != 0 && !self.scda.is_unspecified())
            .then(|| SocketAddrV4::new(self.scda, self.scp_port))
    }

    /// The packet size in bytes (IP and UDP headers included).
    pub fn stream_packet_size(&self) -> u32 {
        self.packet_size()
    }

    /// The inter-packet delay in ns (timestamp ticks are ns).
    pub fn packet_delay_ns(&self) -> u64 {
        u64::from(self.scpd)
    }

    /// Records the stream socket's source port (SCSP).
    pub fn set_source_port(&mut self, port: u16) {
        self.scsp = port;
    }

    /// The next camera time the stream must wake at, if any.
    pub fn next_deadline(&self) -> Option<i64> {
        self.acquisition.next_deadline()
    }

    /// The next frame due at camera time `now`, recorded in the ring.
    pub fn poll_frame(&mut self, now: i64) -> Option<Frame> {
        let locked = lock(&self.ptp).is_locked();
        let start = self.acquisition.poll(now, locked)?;
        let block_id = start.number + 1;
        let frame = Frame {
            block_id,
            timestamp: u64::try_from(start.time.max(0)).unwrap_or(0),
            true_start_ns: self.clock.host_at(start.time),
            started_with_ptp: start.started_with_ptp,
            width: self.image.width,
            height: self.image.height,
            offset_x: self.image.offset_x,
            offset_y: self.image.offset_y,
            pixel_format: self.image.pixel_format,
            payload_size: self.payload_size(),
            packet_size: self.packet_size(),
            extended: self.extended_ids(),
            key: pattern::block_key(self.serial_key, block_id),
        };
        self.ring.push(frame);
        self.counters.frames += 1;
        if frame.started_with_ptp {
            self.counters.frames_with_ptp += 1;
        }
        Some(frame)
    }

    /// The newest frame started.
    pub fn newest_frame(&self) -> Option<Frame> {
        self.ring.newest().copied()
    }
}

fn clamp_packet_size(size: u32) -> u32 {
    (size.clamp(PACKET_SIZE_RANGE.0, PACKET_SIZE_RANGE.1) / 4) * 4
}

fn truncate(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[cfg(test)]
mod tests;
