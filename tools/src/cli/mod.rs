//! `gvcap` commands: discover, features, get, set, exec, control, xml,
//! capture, sync, inspect, export.
//!
//! A camera (`CAM`) is named by its IP address, its serial number or its
//! user-defined name; names are resolved by a discovery broadcast on the
//! interfaces the host has (or the one `--interface` names).

mod camera_ref;
/// `gvcap capture`: frames from cameras through the capture pipeline.
pub mod capture;
mod commands;
mod output;
mod recording;
/// The rig file of `gvcap sync --rig`.
pub mod rig_file;
/// `gvcap sync`: the PTP-synchronized group start.
pub mod sync;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

pub use commands::run;

/// Find GigE Vision cameras and read and write their features.
#[derive(Debug, Parser)]
#[command(name = "gvcap", version, about)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options for reaching a camera.
#[derive(Debug, Clone, Args)]
pub struct Connection {
    /// Interface to search when CAM is a serial number or user name (default: all).
    #[arg(long, short = 'i')]
    pub interface: Option<String>,
    /// How long to wait for each GVCP answer, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub timeout_ms: u64,
    /// How often to resend an unanswered GVCP command.
    #[arg(long, default_value_t = 2)]
    pub retries: u32,
}

impl Connection {
    pub(crate) fn client_config(&self) -> gvcap::device::ClientConfig {
        gvcap::device::ClientConfig {
            timeout: Duration::from_millis(self.timeout_ms),
            retries: self.retries,
            heartbeat_timeout: None,
        }
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the cameras that answer a discovery broadcast.
    Discover {
        /// Broadcast on this interface only (default: every IPv4 interface).
        #[arg(long, short = 'i')]
        interface: Option<String>,
        /// How long to collect answers, in milliseconds.
        #[arg(long, default_value_t = 1000)]
        timeout_ms: u64,
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List a camera's features, or those of a GenICam XML file (offline).
    Features {
        /// The camera (IP address, serial number or user name).
        #[arg(required_unless_present = "xml", conflicts_with = "xml")]
        cam: Option<String>,
        /// Read the features from this XML file instead of a camera.
        #[arg(long)]
        xml: Option<PathBuf>,
        /// Also list Expert, Guru and invisible features.
        #[arg(long)]
        all: bool,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        connection: Connection,
    },
    /// Read features.
    Get {
        /// The camera (IP address, serial number or user name).
        cam: String,
        /// Feature names.
        #[arg(required = true)]
        features: Vec<String>,
        /// Print a JSON object feature → value.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        connection: Connection,
    },
    /// Write features, in the order given (FEATURE=VALUE ...).
    Set {
        /// The camera (IP address, serial number or user name).
        cam: String,
        /// Assignments FEATURE=VALUE.
        #[arg(required = true)]
        assignments: Vec<String>,
        /// Print the values read back as a JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        connection: Connection,
    },
    /// Execute a command feature (e.g. AcquisitionStart).
    Exec {
        /// The camera (IP address, serial number or user name).
        cam: String,
        /// The command feature.
        command: String,
        #[command(flatten)]
        connection: Connection,
    },
    /// Take control privilege of a camera and keep it with heartbeats for a while
    /// (reserves the camera for this host; released on exit).
    Control {
        /// The camera (IP address, serial number or user name).
        cam: String,
        /// Ask for exclusive access (others may not even read) instead of control access.
        #[arg(long)]
        exclusive: bool,
        /// How long to hold it, in seconds.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Heartbeat timeout to program into the camera, in milliseconds.
        #[arg(long)]
        heartbeat_timeout_ms: Option<u64>,
        #[command(flatten)]
        connection: Connection,
    },
    /// Summarise recordings: per camera counts, block-id gaps, timestamps, alignment.
    Inspect {
        /// Recording files (all stripes and cameras of a recording).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export recorded frames as images, raw payloads or a pcapng of GVSP packets.
    Export {
        /// Recording files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Record sequence numbers: A..B, A..=B, A.. or N.
        #[arg(long, default_value = "0..")]
        frames: String,
        /// Output format.
        #[arg(long, value_enum)]
        format: recording::ExportKind,
        /// Output directory (a file for pcapng).
        #[arg(long, short = 'o')]
        out: PathBuf,
    },
    /// Receive N frames from each camera (AF_XDP or UDP sockets) and print
    /// per-camera counters and throughput.
    Capture(capture::CaptureArgs),
    /// Start cameras together at one PTP time and verify the result: PTP lock,
    /// gated start, frame alignment, offsets (see `gvcap sync --help`).
    Sync(sync::SyncArgs),
    /// Print the camera's GenICam XML (or write it to a file).
    Xml {
        /// The camera (IP address, serial number or user name).
        cam: String,
        /// Write the XML here instead of standard output.
        #[arg(long, short = 'o')]
        out: Option<PathBuf>,
        #[command(flatten)]
        connection: Connection,
    },
}
