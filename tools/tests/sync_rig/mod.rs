//! A rig for the `gvcap sync` tests: network namespaces from
//! `scripts/rig.sh` (direct topology, one link per camera, ptp4l as
//! grandmaster on the host side), a gvsim process per camera started here
//! with the test's own arguments, and `gvcap` run inside the host namespace.
//! Needs `mod support;` beside it.
//!
//! Invariants: every gvsim process this rig started is stopped (SIGTERM,
//! then SIGKILL) before the namespaces go, also when the test panics, and is
//! only ever signalled by the pid of the child it owns; `gvcap` runs are
//! bounded in time.

#![allow(dead_code)]

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::{CameraKind, Rig, RigOptions, Topology};

/// The gvcap binary cargo built for these tests.
pub const GVCAP: &str = env!("CARGO_BIN_EXE_gvcap");
/// The gvsim binary cargo built for these tests.
pub const GVSIM: &str = env!("CARGO_BIN_EXE_gvsim");

/// A rig of gvsim cameras with ptp4l as grandmaster.
pub struct SyncRig {
    procs: Vec<Option<Child>>,
    pub rig: Rig,
}

/// CLOCK_TAI now, in ns: the clock `gvcap sync` runs on here (veth has no
/// PTP hardware clock).
pub fn tai_now_ns() -> u64 {
    let t =
        rustix::time::clock_gettime_dynamic(rustix::time::DynamicClockId::Tai).expect("CLOCK_TAI");
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// Stdout and stderr of a run, for messages.
pub fn text(out: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl SyncRig {
    /// Builds the rig and starts, in camera namespace i, `gvsim --interface
    /// IF --address IP --serial GVSIM<i> --ptp-mode two-step --sensor 320x240
    /// --resend-frames 256` followed by `args[i]`; waits until every camera
    /// answers discovery.
    pub fn up(args: &[Vec<&str>]) -> SyncRig {
        let rig = Rig::up(RigOptions {
            cameras: args.len() as u32,
            topology: Topology::Direct,
            mtu: 1500,
            camera: CameraKind::None,
            grandmaster: true,
            prefix: None,
        });
        let mut procs = Vec::new();
        for (cam, extra) in rig.cameras().iter().zip(args) {
            let log = File::create(rig.state_dir().join(format!("gvsim{}.log", cam.index)))
                .expect("create the gvsim log");
            let child = rig
                .camera_cmd(cam.index, GVSIM)
                .args(["--interface", &cam.interface])
                .args(["--address", &cam.address.to_string()])
                .args(["--serial", &format!("GVSIM{}", cam.index)])
                .args(["--ptp-mode", "two-step", "--sensor", "320x240"])
                .args(["--resend-frames", "256"])
                .args(extra)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone the log"))
                .stderr(log)
                .spawn()
                .expect("start gvsim in the camera namespace");
            procs.push(Some(child));
        }
        let me = SyncRig { procs, rig };
        for cam in me.rig.cameras() {
            me.rig
                .wait_for_camera(cam.address, Duration::from_secs(10))
                .unwrap_or_else(|e| panic!("{e}\n{}", me.logs()));
        }
        me
    }

    /// Camera `i`'s address (0-based).
    pub fn ip(&self, i: usize) -> String {
        self.rig.cameras()[i].address.to_string()
    }

    /// The host interface camera `i` is reached through.
    pub fn host_interface(&self, i: usize) -> String {
        self.rig.cameras()[i].host_interface.clone()
    }

    /// Camera `i`'s host-side address.
    pub fn host_ip(&self, i: usize) -> Ipv4Addr {
        self.rig.cameras()[i].host_address
    }

    /// `gvcap ARGS` in the host namespace, at most `limit` long.
    pub fn gvcap(&self, args: &[&str], limit: Duration) -> Output {
        let mut child = self
            .gvcap_cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run gvcap");
        let deadline = Instant::now() + limit;
        loop {
            if child.try_wait().expect("wait for gvcap").is_some() {
                return child.wait_with_output().expect("gvcap output");
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let out = child.wait_with_output().expect("gvcap output");
                panic!("gvcap {args:?} ran longer than {limit:?}\n{}", text(&out));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The command `gvcap ARGS` in the host namespace, not started.
    pub fn gvcap_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = self.rig.host_cmd(GVCAP);
        cmd.args(args);
        cmd
    }

    /// `gvcap get IP FEATURE...` as a JSON object.
    pub fn get(&self, i: usize, features: &[&str]) -> serde_json::Value {
        let ip = self.ip(i);
        let mut args = vec!["get", ip.as_str()];
        args.extend_from_slice(features);
        args.push("--json");
        let out = self.gvcap(&args, Duration::from_secs(20));
        assert!(out.status.success(), "gvcap get: {}", text(&out));
        serde_json::from_slice(&out.stdout).expect("gvcap get --json prints JSON")
    }

    /// Asserts that camera `i`'s first frame was started on PTP time at
    /// `gate` (as the camera itself recorded it), and returns when it really
    /// started (gvsim's ground truth: the host clock, ns).
    pub fn first_frame_at(&self, i: usize, gate: u64) -> u64 {
        self.set(i, &["GvsimFrameInfoBlockId=1"]);
        let first = self.get(
            i,
            &[
                "GvsimFrameInfoTimestamp",
                "GvsimFrameInfoStartedWithPtp",
                "GvsimFrameInfoTrueStart",
            ],
        );
        assert_eq!(
            first["GvsimFrameInfoTimestamp"], gate,
            "camera {i}: {first}"
        );
        assert_eq!(
            first["GvsimFrameInfoStartedWithPtp"], 1,
            "camera {i}: {first}"
        );
        first["GvsimFrameInfoTrueStart"]
            .as_u64()
            .unwrap_or_else(|| panic!("camera {i}: {first}"))
    }

    /// `gvcap set IP ASSIGNMENT...`.
    pub fn set(&self, i: usize, assignments: &[&str]) {
        let ip = self.ip(i);
        let mut args = vec!["set", ip.as_str()];
        args.extend_from_slice(assignments);
        let out = self.gvcap(&args, Duration::from_secs(20));
        assert!(out.status.success(), "gvcap set: {}", text(&out));
    }

    /// `gvcap exec IP COMMAND`.
    pub fn exec(&self, i: usize, command: &str) {
        let ip = self.ip(i);
        let out = self.gvcap(&["exec", &ip, command], Duration::from_secs(20));
        assert!(out.status.success(), "gvcap exec: {}", text(&out));
    }

    /// A UDP socket bound to `addr` inside the host namespace (the socket
    /// stays there; it is used from this thread).
    pub fn udp_in_host(&self, addr: std::net::SocketAddrV4) -> std::net::UdpSocket {
        let path = std::path::Path::new("/run/netns").join(self.rig.host_ns());
        std::thread::spawn(move || {
            let ns = File::open(&path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
            rustix::thread::move_into_link_name_space(
                std::os::fd::AsFd::as_fd(&ns),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .expect("join the host namespace");
            std::net::UdpSocket::bind(addr).expect("bind in the host namespace")
        })
        .join()
        .expect("namespace thread")
    }

    /// Polls camera `i`'s PtpStatus until it is Slave or `limit` passed.
    pub fn wait_for_slave(&self, i: usize, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.get(i, &["PtpStatus"])["PtpStatus"] == "Slave" {
                return true;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        false
    }

    /// Kills camera `i`'s gvsim process (SIGKILL, by the pid of the child
    /// this rig started) and returns CLOCK_TAI just before the signal.
    pub fn kill_camera(&mut self, i: usize) -> u64 {
        let mut child = self.procs[i].take().expect("camera already stopped");
        let at = tai_now_ns();
        child.kill().expect("kill gvsim");
        child.wait().expect("reap gvsim");
        at
    }

    /// The camera processes' output so far.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for cam in self.rig.cameras() {
            let path = self.rig.state_dir().join(format!("gvsim{}.log", cam.index));
            out += &format!(
                "--- {}\n{}",
                path.display(),
                std::fs::read_to_string(&path).unwrap_or_default()
            );
        }
        out
    }

    fn stop_cameras(&mut self) {
        for child in self.procs.iter_mut().flatten() {
            if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            }
        }
        for slot in &mut self.procs {
            let Some(mut child) = slot.take() else {
                continue;
            };
            let mut exited = false;
            for _ in 0..50 {
                if let Ok(Some(_)) = child.try_wait() {
                    exited = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            if !exited {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl Drop for SyncRig {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
        self.stop_cameras();
    }
}

/// A running `gvcap` whose stderr lines arrive on a channel as they are written.
pub struct Running {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
    stdout: std::thread::JoinHandle<String>,
}

impl Running {
    /// Starts `cmd` with stdout piped and stderr read line by line.
    pub fn start(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gvcap");
        let mut out = child.stdout.take().expect("piped stdout");
        let stdout = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut out, &mut text);
            text
        });
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
            stdout,
        }
    }

    /// Waits for a stderr line containing `needle`; false after `limit`.
    pub fn wait_for_line(&mut self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.contains(needle);
                    self.seen.push(line);
                    if hit {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
    }

    /// Waits for the process to end (killing it after `limit`); its status,
    /// stdout and every stderr line.
    pub fn finish(mut self, limit: Duration) -> (std::process::ExitStatus, String, Vec<String>) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for gvcap") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break self.child.wait().expect("reap gvcap");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stdout = self.stdout.join().unwrap_or_default();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(line);
        }
        (status, stdout, self.seen)
    }
}
