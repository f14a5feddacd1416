//! What one simulated camera is: identity, sensor, link, oscillator and
//! injected faults. The command line and the tests build these.
//!
//! Invariants: `CameraConfig::new` gives a working camera whose oscillator
//! offset and drift are derived from the serial, so cameras with different
//! serials disagree like real ones do; every fault is off by default, and
//! every random fault draws from one generator seeded with `Faults::seed`.

use std::net::Ipv4Addr;

use super::pattern::serial_key;
use super::rng::mix64;

/// Injected faults; all off by default.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Seed of every random fault.
    pub seed: u64,
    /// Probability that a stream packet (first transmission) is lost.
    pub loss: f64,
    /// Lost packets come in runs of this length (1: independent losses).
    pub burst: u32,
    /// Probability that a stream packet is held back and sent after the next one.
    pub reorder: f64,
    /// Probability that a stream packet is sent twice.
    pub duplicate: f64,
    /// Extra delay before each frame's first packet, in microseconds.
    pub frame_delay_us: u64,
    /// Probability that a GVCP acknowledge is not sent.
    pub gvcp_drop: f64,
    /// Stop answering GVCP (and streaming) this many milliseconds after start.
    pub stop_answering_after_ms: Option<u64>,
    /// Upper limit of AcquisitionFrameRate, below what sensor and link allow.
    pub max_frame_rate: Option<f64>,
    /// The PTP slave measures but never corrects its clock: it never reaches Slave.
    pub ptp_never_lock: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            seed: 1,
            loss: 0.0,
            burst: 1,
            reorder: 0.0,
            duplicate: 0.0,
            frame_delay_us: 0,
            gvcp_drop: 0.0,
            stop_answering_after_ms: None,
            max_frame_rate: None,
            ptp_never_lock: false,
        }
    }
}

/// One simulated camera.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraConfig {
    /// Serial number (at most 15 bytes).
    pub serial: String,
    /// Model name (at most 31 bytes).
    pub model: String,
    /// Manufacturer name (at most 31 bytes).
    pub vendor: String,
    /// User-defined name at power-up (at most 15 bytes).
    pub user_name: String,
    /// The camera's address; GVCP listens there.
    pub address: Ipv4Addr,
    /// Subnet mask reported in the bootstrap registers.
    pub netmask: Ipv4Addr,
    /// MAC address reported in discovery (and the PTP clock identity).
    pub mac: [u8; 6],
    /// UDP port of GVCP (3956; tests may choose another).
    pub gvcp_port: u16,
    /// Sensor width in pixels.
    pub sensor_width: u32,
    /// Sensor height in pixels.
    pub sensor_height: u32,
    /// Link speed in Mbit/s: reported, and bounds the frame rate.
    pub link_speed_mbps: u32,
    /// Offset of the camera clock from the host clock at start, ns.
    pub offset_ns: i64,
    /// Frequency error of the camera oscillator, ppm.
    pub drift_ppm: f64,
    /// Standard deviation of the noise on the camera's PTP timestamps, ns.
    pub jitter_ns: f64,
    /// PtpMode at power-up.
    pub ptp_mode: super::ptp::PtpMode,
    /// Which PTP feature names the XML declares.
    pub ptp_features: super::xml::PtpFeatures,
    /// Frames kept for PACKETRESEND.
    pub resend_frames: usize,
    /// Injected faults.
    pub faults: Faults,
}

impl CameraConfig {
    /// A camera with this serial at this address; everything else defaulted,
    /// the clock offset (±0.5 s) and drift (±40 ppm) derived from the serial.
    pub fn new(serial: &str, address: Ipv4Addr) -> Self {
        let key = serial_key(serial);
        let offset_draw = mix64(key ^ 0x6F66_6673_6574);
        let drift_draw = mix64(key ^ 0x0064_7269_6674);
        let mac_bytes = mix64(key).to_be_bytes();
        CameraConfig {
            serial: serial.to_string(),
            model: "gvsim".to_string(),
            vendor: "gvcap".to_string(),
            user_name: String::new(),
            address,
            netmask: Ipv4Addr::new(255, 255, 0, 0),
            // Locally administered, unicast.
            mac: [
                0x02,
                0x67,
                mac_bytes[0],
                mac_bytes[1],
                mac_bytes[2],
                mac_bytes[3],
            ],
            gvcp_port: gvcap::wire::gvcp::GVCP_PORT,
            sensor_width: 1280,
            sensor_height: 1024,
            link_speed_mbps: 10_000,
            offset_ns: (offset_draw % 1_000_000_000) as i64 - 500_000_000,
            drift_ppm: (drift_draw % 80_001) as f64 / 1000.0 - 40.0,
            jitter_ns: 0.0,
            ptp_mode: super::ptp::PtpMode::Off,
            ptp_features: super::xml::PtpFeatures::All,
            resend_frames: 64,
            faults: Faults::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_give_distinct_bounded_oscillators() {
        let a = CameraConfig::new("GVSIM1", Ipv4Addr::LOCALHOST);
        let b = CameraConfig::new("GVSIM2", Ipv4Addr::LOCALHOST);
        assert_ne!(a.drift_ppm, b.drift_ppm);
        assert_ne!(a.offset_ns, b.offset_ns);
        assert_ne!(a.mac, b.mac);
        for c in [&a, &b] {
            assert!(c.drift_ppm.abs() <= 40.0);
            assert!(c.offset_ns.abs() <= 500_000_000);
            assert_eq!(c.mac[0] & 0x03, 0x02, "locally administered unicast");
        }
        assert_eq!(a, CameraConfig::new("GVSIM1", Ipv4Addr::LOCALHOST));
    }
}
