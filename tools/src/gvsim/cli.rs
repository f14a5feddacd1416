//! The `gvsim` command line: options, turned into [`SimOptions`].
//!
//! Invariant: every option has a working default; `--cameras N` serves N
//! cameras on consecutive addresses from `--address` (which must all be
//! configured on the interface), with serials `SERIAL-1`..`SERIAL-N`.

use std::net::Ipv4Addr;

use clap::{Parser, ValueEnum};

use super::config::{CameraConfig, Faults};
use super::net;
use super::ptp::PtpMode;
use super::runtime::SimOptions;
use super::xml::PtpFeatures;

/// PtpMode at power-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PtpModeArg {
    /// PTP off.
    Off,
    /// Expect one-step Syncs.
    OneStep,
    /// Expect two-step Syncs (Follow_Up).
    TwoStep,
}

/// Which PTP feature names the cameras' XML declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PtpFeaturesArg {
    /// Emergent's (PtpMode, PtpOffset, PtpAcquisitionGateTime), SFNC's and
    /// the GigE Vision 2.0 ones (GevIEEE1588*).
    All,
    /// SFNC's only (PtpEnable, PtpStatus, PtpDataSetLatch,
    /// PtpOffsetFromMaster) and no gate time: started by scheduled ACTIONs.
    Sfnc,
    /// The GigE Vision 2.0 names only (GevIEEE1588*), no gate time.
    Legacy,
}

/// Simulated GigE Vision cameras: GVCP, GVSP with resend, PTP slave, faults.
#[derive(Debug, Parser)]
#[command(name = "gvsim", version, about)]
pub struct Args {
    /// Network interface the cameras are on (discovery broadcasts and PTP use it).
    #[arg(long, short = 'i', required_unless_present = "address")]
    pub interface: Option<String>,
    /// Address of the (first) camera; default: the interface's IPv4 address.
    #[arg(long, short = 'a')]
    pub address: Option<Ipv4Addr>,
    /// Serial number (at most 15 characters).
    #[arg(long, short = 's', default_value = "GVSIM0")]
    pub serial: String,
    /// Model name.
    #[arg(long, default_value = "gvsim")]
    pub model: String,
    /// How many cameras this process serves (consecutive addresses).
    #[arg(long, default_value_t = 1)]
    pub cameras: u8,
    /// Sensor size, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x1024", value_parser = parse_size)]
    pub sensor: (u32, u32),
    /// Link speed in Mbit/s (reported; bounds the frame rate).
    #[arg(long, default_value_t = 10_000)]
    pub link_mbps: u32,
    /// PtpMode at power-up.
    #[arg(long, value_enum, default_value = "off")]
    pub ptp_mode: PtpModeArg,
    /// PTP feature names in the XML.
    #[arg(long, value_enum, default_value = "all")]
    pub ptp_features: PtpFeaturesArg,
    /// Do not open the PTP sockets (PtpStatus then never leaves Listening).
    #[arg(long)]
    pub no_ptp: bool,
    /// Frequency error of the camera oscillator in ppm (default: derived from the serial, within ±40).
    #[arg(long, allow_hyphen_values = true)]
    pub drift_ppm: Option<f64>,
    /// Offset of the camera clock from the host's at start, ns (default: derived from the serial, within ±0.5 s).
    #[arg(long, allow_hyphen_values = true)]
    pub offset_ns: Option<i64>,
    /// Standard deviation of noise on the camera's PTP timestamps, ns.
    #[arg(long, default_value_t = 0.0)]
    pub jitter_ns: f64,
    /// Share of stream packets lost (e.g. 0.02).
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
    /// Lost packets come in runs of this length.
    #[arg(long, default_value_t = 1)]
    pub burst: u32,
    /// Share of stream packets sent after their successor.
    #[arg(long, default_value_t = 0.0)]
    pub reorder: f64,
    /// Share of stream packets sent twice.
    #[arg(long, default_value_t = 0.0)]
    pub duplicate: f64,
    /// Delay before each frame's first packet, µs.
    #[arg(long, default_value_t = 0)]
    pub frame_delay_us: u64,
    /// Share of GVCP acknowledges not sent.
    #[arg(long, default_value_t = 0.0)]
    pub gvcp_drop: f64,
    /// Stop answering GVCP and streaming after this many ms.
    #[arg(long)]
    pub stop_answering_after_ms: Option<u64>,
    /// Cap AcquisitionFrameRate at this many Hz (the camera clamps to it).
    #[arg(long)]
    pub max_frame_rate: Option<f64>,
    /// The PTP slave measures but never corrects its clock (never reaches Slave).
    #[arg(long)]
    pub ptp_never_lock: bool,
    /// Seed of every random fault.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// GVCP port (3956; other values only for tests).
    #[arg(long, default_value_t = gvcap::wire::gvcp::GVCP_PORT)]
    pub gvcp_port: u16,
    /// Frames kept for PACKETRESEND.
    #[arg(long, default_value_t = 64)]
    pub resend_frames: usize,
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("{text:?} is not WIDTHxHEIGHT (e.g. 1920x1080)"))?;
    let parse = |s: &str| s.trim().parse::<u32>().map_err(|e| format!("{s:?}: {e}"));
    let (w, h) = (parse(w)?, parse(h)?);
    if !(16..=16384).contains(&w) || w % 4 != 0 || !(2..=16384).contains(&h) || h % 2 != 0 {
        return Err(format!(
            "sensor {w}x{h}: width must be 16..=16384 and a multiple of 4, height 2..=16384 and even"
        ));
    }
    Ok((w, h))
}

impl Args {
    /// The simulator options these arguments describe.
    pub fn options(&self) -> Result<SimOptions, String> {
        if self.serial.is_empty() || self.serial.len() > 12 || !self.serial.is_ascii() {
            return Err(format!(
                "--serial {:?}: give 1 to 12 ASCII characters (room for a -N suffix within 15)",
                self.serial
            ));
        }
        if self.model.len() > 31 {
            return Err("--model: at most 31 bytes".into());
        }
        if self.cameras == 0 {
            return Err("--cameras must be at least 1".into());
        }
        for (name, ratio) in [
            ("--loss", self.loss),
            ("--reorder", self.reorder),
            ("--duplicate", self.duplicate),
            ("--gvcp-drop", self.gvcp_drop),
        ] {
            if !(0.0..=1.0).contains(&ratio) {
                return Err(format!(
                    "{name} {ratio}: give a ratio from 0 to 1 (0.02 is 2 %)"
                ));
            }
        }
        let base = match (self.address, &self.interface) {
            (Some(address), _) => address,
            (None, Some(interface)) => {
                net::interface_address(interface).map_err(|e| e.to_string())?
            }
            (None, None) => return Err("give --interface or --address".into()),
        };
        let mut cameras = Vec::new();
        for i in 0..self.cameras {
            let address = Ipv4Addr::from(u32::from(base).wrapping_add(u32::from(i)));
            let serial = if self.cameras == 1 {
                self.serial.clone()
            } else {
                format!("{}-{}", self.serial, i + 1)
            };
            let mut config = CameraConfig::new(&serial, address);
            config.model = self.model.clone();
            config.sensor_width = self.sensor.0;
            config.sensor_height = self.sensor.1;
            config.link_speed_mbps = self.link_mbps;
            config.gvcp_port = self.gvcp_port;
            config.resend_frames = self.resend_frames;
            config.jitter_ns = self.jitter_ns.max(0.0);
            if let Some(drift) = self.drift_ppm {
                config.drift_ppm = drift;
            }
            if let Some(offset) = self.offset_ns {
                config.offset_ns = offset;
            }
            config.ptp_mode = match self.ptp_mode {
                PtpModeArg::Off => PtpMode::Off,
                PtpModeArg::OneStep => PtpMode::OneStep,
                PtpModeArg::TwoStep => PtpMode::TwoStep,
            };
            config.ptp_features = match self.ptp_features {
                PtpFeaturesArg::All => PtpFeatures::All,
                PtpFeaturesArg::Sfnc => PtpFeatures::Sfnc,
                PtpFeaturesArg::Legacy => PtpFeatures::Legacy,
            };
            config.faults = Faults {
                seed: self.seed.wrapping_add(u64::from(i)),
                loss: self.loss,
                burst: self.burst.max(1),
                reorder: self.reorder,
                duplicate: self.duplicate,
                frame_delay_us: self.frame_delay_us,
                gvcp_drop: self.gvcp_drop,
                stop_answering_after_ms: self.stop_answering_after_ms,
                max_frame_rate: self.max_frame_rate,
                ptp_never_lock: self.ptp_never_lock,
            };
            cameras.push(config);
        }
        Ok(SimOptions {
            interface: self.interface.clone(),
            cameras,
            ptp: !self.no_ptp && self.interface.is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_from_arguments() {
        let args = Args::parse_from([
            "gvsim",
            "--address",
            "10.1.2.3",
            "--serial",
            "CAM",
            "--cameras",
            "3",
            "--loss",
            "0.02",
            "--burst",
            "4",
            "--drift-ppm",
            "-12.5",
            "--sensor",
            "640x480",
            "--seed",
            "9",
        ]);
        let options = args.options().unwrap();
        assert_eq!(options.cameras.len(), 3);
        assert!(!options.ptp, "no interface, no PTP");
        let c = &options.cameras[2];
        assert_eq!(c.serial, "CAM-3");
        assert_eq!(c.address, Ipv4Addr::new(10, 1, 2, 5));
        assert_eq!((c.sensor_width, c.sensor_height), (640, 480));
        assert_eq!(c.drift_ppm, -12.5);
        assert_eq!(
            (c.faults.loss, c.faults.burst, c.faults.seed),
            (0.02, 4, 11)
        );
        let bad = Args::parse_from(["gvsim", "--address", "10.1.2.3", "--loss", "2"]);
        assert!(bad.options().unwrap_err().contains("--loss"));
        assert!(
            Args::try_parse_from(["gvsim", "--address", "1.2.3.4", "--sensor", "15x3"]).is_err()
        );
        assert!(
            Args::try_parse_from(["gvsim"]).is_err(),
            "needs an interface or an address"
        );
    }
}
