//! The gvcap command-line tools: the `gvcap` CLI and the `gvsim` camera
//! simulator as library modules, so tests can drive them in-process.

/// The `gvcap` command line: argument parsing and the commands.
pub mod cli;

/// The `gvsim` camera simulator: GVCP server, GVSP streamer, PTP slave, faults.
pub mod gvsim;

/// Sets up logging to stderr: warnings by default, more with each `-v`,
/// or whatever `RUST_LOG` says.
pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
