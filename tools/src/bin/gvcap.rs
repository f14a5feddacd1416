//! `gvcap`: find GigE Vision cameras, read and write their features.
//!
//! Every command that prints data takes `--json`. An error is one line on
//! stderr saying what failed and what to do, and the exit code is non-zero.

use std::process::ExitCode;

use clap::Parser;
use gvcap_tools::cli::{run, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    gvcap_tools::init_tracing(cli.verbose);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gvcap: {err:#}");
            ExitCode::FAILURE
        }
    }
}
