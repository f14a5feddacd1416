//! Helpers for the `capture_rig_*` tests: run `gvcap capture` in a rig's
//! host namespace and read its JSON report, check that no XDP program is
//! left on the host's interfaces, and keep the tests of one binary from
//! running at once (the machine has two cores, and every test starts a rig
//! of camera processes and a receiver).
//!
//! Include with `mod capture_util;` beside `mod support;`.

#![allow(dead_code)] // each test binary uses a different part

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::Rig;

/// The gvcap binary cargo built for these tests.
pub const GVCAP_BIN: &str = env!("CARGO_BIN_EXE_gvcap");

/// Serialises the rig tests of one test binary; a panicked test does not
/// poison the others.
pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// `gvcap ARGS` inside the rig's host namespace.
pub fn gvcap(rig: &Rig, args: &[&str]) -> Command {
    let mut cmd = rig.host_cmd(GVCAP_BIN);
    cmd.args(args);
    cmd
}

/// Everything a process printed, for failure messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `gvcap capture ARGS --json`, asserts it succeeded, returns its report.
pub fn capture_json(rig: &Rig, args: &[&str]) -> (Value, String) {
    let out = gvcap(rig, &["capture", "--json"])
        .args(args)
        .output()
        .expect("run gvcap capture");
    let all = text(&out);
    assert!(out.status.success(), "gvcap capture failed: {all}");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("gvcap capture printed no JSON ({e}): {all}"));
    (report, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A child process that is killed (and reaped) when the guard is dropped,
/// so a failing test leaves nothing running.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `gvcap capture --json` running in the background (killed if the test
/// fails before `finish`).
pub struct Running {
    child: Option<Child>,
    lines: Vec<String>,
    rest: std::sync::mpsc::Receiver<String>,
}

impl Running {
    /// Starts `gvcap capture --json ARGS` and waits until it printed the
    /// setup line of each of `cameras` (the receive path is then attached and
    /// acquisition is starting).
    pub fn start(rig: &Rig, args: &[&str], cameras: usize) -> Running {
        let mut child = gvcap(rig, &["capture", "--json"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gvcap capture");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while lines
            .iter()
            .filter(|l: &&String| l.starts_with("gvcap: camera "))
            .count()
            < cameras
        {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => lines.push(line),
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("gvcap capture did not start:\n{}", lines.join("\n"));
                }
            }
        }
        Running {
            child: Some(child),
            lines,
            rest: rx,
        }
    }

    /// Whether the capture is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Waits for the capture to end; asserts success and returns its report.
    pub fn finish(mut self) -> Value {
        let child = self.child.take().expect("finished once");
        let out = child.wait_with_output().expect("wait for gvcap capture");
        // The reader thread ends at the end of stderr, disconnecting the channel.
        while let Ok(line) = self.rest.recv_timeout(Duration::from_secs(2)) {
            self.lines.push(line);
        }
        let all = format!(
            "{}\n--- stderr\n{}\n--- stdout\n{}",
            out.status,
            self.lines.join("\n"),
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(out.status.success(), "gvcap capture failed: {all}");
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("gvcap capture printed no JSON ({e}): {all}"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The `ip link` lines of the host namespace that mention XDP (empty: none attached).
pub fn xdp_left(rig: &Rig) -> String {
    let out = Command::new("ip")
        .args(["-n", rig.host_ns(), "link", "show"])
        .output()
        .expect("ip link show");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("xdp") || l.contains("prog/"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A number from a camera's report.
pub fn num(camera: &Value, key: &str) -> u64 {
    camera[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no number {key} in {camera:#}"))
}

/// Asserts what every lossless capture must show: `frames` frames or more,
/// all complete, none dropped, nothing missing, on `path`.
pub fn assert_all_complete(camera: &Value, frames: u64, path: &str) {
    assert_eq!(camera["path"], path, "{camera:#}");
    assert!(num(camera, "frames_received") >= frames, "{camera:#}");
    assert!(num(camera, "frames_complete") >= frames, "{camera:#}");
    assert_eq!(num(camera, "frames_incomplete"), 0, "{camera:#}");
    assert_eq!(num(camera, "frames_dropped"), 0, "{camera:#}");
    assert_eq!(num(camera, "packets_missing"), 0, "{camera:#}");
}

/// [`assert_all_complete`] for a capture run with `--verify-pattern`: the
/// report must also say that every complete frame matched gvsim's pattern
/// byte for byte (a report without the check fails).
pub fn assert_all_verified(camera: &Value, frames: u64, path: &str) {
    assert_all_complete(camera, frames, path);
    let pattern = &camera["pattern"];
    assert!(
        pattern.is_object(),
        "no pattern check in the report: {camera:#}"
    );
    assert_eq!(num(pattern, "frames_mismatched"), 0, "{camera:#}");
    assert_eq!(
        num(pattern, "frames_verified"),
        num(camera, "frames_complete"),
        "{camera:#}"
    );
}
