//! `gvsim`: simulated GigE Vision cameras on a network interface.
//!
//! Prints one line per camera it serves, runs until SIGINT or SIGTERM, then
//! stops every thread and exits 0. A setup error is one line on stderr and
//! exit code 1.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use gvcap_tools::gvsim::cli::Args;
use gvcap_tools::gvsim::runtime::Simulator;

fn main() -> ExitCode {
    let args = Args::parse();
    gvcap_tools::init_tracing(args.verbose);
    let options = match args.options() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("gvsim: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&stop)) {
            eprintln!("gvsim: cannot handle signal {signal}: {e}");
            return ExitCode::FAILURE;
        }
    }
    let simulator = match Simulator::start(options.clone()) {
        Ok(simulator) => simulator,
        Err(e) => {
            eprintln!("gvsim: {e}");
            return ExitCode::FAILURE;
        }
    };
    let interface = options
        .interface
        .as_deref()
        .unwrap_or("(no interface: unicast only)");
    for camera in simulator.cameras() {
        let c = camera.config();
        println!(
            "gvsim: camera {} ({} {}) at {}:{} on {interface}, MAC {}, sensor {}x{}, clock offset {} ns, drift {:+.3} ppm, PtpMode {:?}",
            c.serial,
            c.vendor,
            c.model,
            c.address,
            c.gvcp_port,
            gvcap::device::format_mac(&c.mac),
            c.sensor_width,
            c.sensor_height,
            c.offset_ns,
            c.drift_ppm,
            c.ptp_mode,
        );
    }
    match (simulator.ptp_error(), options.ptp) {
        (Some(e), _) => eprintln!("gvsim: {e}; PtpStatus reports Faulty"),
        (None, true) => println!("gvsim: PTP slave on {interface} (224.0.1.129, ports 319/320)"),
        (None, false) => println!("gvsim: PTP off (no interface or --no-ptp)"),
    }
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    simulator.shutdown();
    println!("gvsim: stopped");
    ExitCode::SUCCESS
}
