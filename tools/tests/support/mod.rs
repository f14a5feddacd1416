//! Test harness for the camera rig: network namespaces joined by veth pairs,
//! built and torn down by `scripts/rig.sh`.
//!
//! Include it from an integration test with `mod support;`. A test that needs
//! the rig starts with
//!
//! ```ignore
//! if !support::require_privileges("my_test") { return; }
//! let rig = support::Rig::up(support::RigOptions { cameras: 2, ..Default::default() });
//! ```
//!
//! Invariants:
//! - every rig has a prefix unique to this process and call, so tests run in
//!   parallel, and beside other users' rigs;
//! - the [`Rig`] guard runs `rig.sh down` when dropped, on panic too; a rig
//!   whose test process was killed is reaped by the next process that starts a
//!   rig (`rig.sh reap`, keyed on the owner's pid and start time);
//! - without root and `ip netns`, privileged tests print a loud SKIPPED line,
//!   and under `CI=true` they panic instead.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

use serde::Deserialize;

/// GVCP's well-known UDP port.
pub const GVCP_PORT: u16 = 3956;

/// How the cameras are wired to the host namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// One host interface, a bridge in a switch namespace, one port per camera;
    /// a single 169.254.0.0/16 broadcast domain.
    Switch,
    /// One host interface per camera, each link its own /24.
    Direct,
}

/// What runs in each camera namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraKind {
    /// `arv-fake-gv-camera-0.8`, Aravis's simulated GigE Vision camera.
    Aravis,
    /// Our simulator, `gvsim` (from `GVSIM_BIN` or `target/*/gvsim`).
    Gvsim,
    /// Nothing: bare namespaces and links.
    None,
}

/// Options for [`Rig::up`]; `..Default::default()` gives one Aravis camera
/// behind a switch at MTU 1500, no PTP grandmaster, and a unique prefix.
#[derive(Debug, Clone)]
pub struct RigOptions {
    pub cameras: u32,
    pub topology: Topology,
    pub mtu: u32,
    pub camera: CameraKind,
    pub grandmaster: bool,
    /// Namespace and interface name prefix; `None` picks a unique one.
    pub prefix: Option<String>,
}

impl Default for RigOptions {
    fn default() -> Self {
        RigOptions {
            cameras: 1,
            topology: Topology::Switch,
            mtu: 1500,
            camera: CameraKind::Aravis,
            grandmaster: false,
            prefix: None,
        }
    }
}

/// One interface of the host namespace, as `rig.sh up --json` describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct HostInterface {
    pub name: String,
    pub address: Ipv4Addr,
    pub prefix_len: u8,
}

/// One camera of the rig, as `rig.sh up --json` describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct CameraInfo {
    pub index: u32,
    pub ns: String,
    pub interface: String,
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    pub host_interface: String,
    pub host_address: Ipv4Addr,
    pub serial: Option<String>,
    pub pid: Option<u32>,
}

/// Everything `rig.sh up --json` prints.
#[derive(Debug, Clone, Deserialize)]
pub struct RigInfo {
    pub prefix: String,
    pub state_dir: PathBuf,
    pub topology: String,
    pub mtu: u32,
    pub camera: String,
    pub host_ns: String,
    pub switch_ns: Option<String>,
    pub host_interfaces: Vec<HostInterface>,
    pub cameras: Vec<CameraInfo>,
    pub grandmaster: bool,
    pub ptp4l_pid: Option<u32>,
}

/// A running rig. Dropping it tears the rig down.
#[derive(Debug)]
pub struct Rig {
    info: RigInfo,
}

/// Path of `scripts/rig.sh` in this checkout.
pub fn rig_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/rig.sh")
}

fn rig_sh(args: &[&str]) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(rig_script()).args(args);
    cmd
}

fn describe(output: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// "PID STARTTIME" of this process, the key `rig.sh reap` checks.
fn owner_key() -> String {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').expect("malformed /proc/self/stat") + 2..];
    let start = rest
        .split(' ')
        .nth(19)
        .expect("no start time in /proc/self/stat");
    format!("{} {}", std::process::id(), start)
}

/// A rig prefix unique to this process and call: `<base><pid in base 36><n>`,
/// where base is `$RIG_TEST_PREFIX` (default `gt`, at most 3 characters).
pub fn unique_prefix() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let base: String = std::env::var("RIG_TEST_PREFIX")
        .unwrap_or_else(|_| "gt".into())
        .chars()
        .take(3)
        .collect();
    let prefix = format!("{base}{}{}", base36(std::process::id()), base36(n));
    assert!(
        prefix.len() <= 9,
        "rig prefix {prefix} too long (interface names are limited to 15 bytes)"
    );
    prefix
}

fn base36(mut n: u32) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ascii")
}

/// Writes to file descriptor 2 itself: libtest captures what a passing test
/// prints through `eprintln!`, and a skip must be seen.
pub fn loud(message: &str) {
    use std::io::Write;
    let fd = std::io::stderr().as_fd().try_clone_to_owned();
    let _ = match fd {
        Ok(fd) => writeln!(File::from(fd), "{message}"),
        Err(_) => writeln!(std::io::stderr(), "{message}"),
    };
}

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn skip_or_fail(test_name: &str, why: &str) -> bool {
    if under_ci() {
        panic!("{test_name}: cannot run under CI=true: {why}");
    }
    loud(&format!(
        "\n!!!!!!!! {test_name}: SKIPPED (needs root and network namespaces): {why}\n\
         !!!!!!!! run the tests as root to exercise the rig; under CI=true this is a failure\n"
    ));
    false
}

/// True when this process can build a rig: root, a working `ip netns`, and
/// `scripts/rig.sh`. Otherwise prints a loud SKIPPED line and returns false,
/// or panics under `CI=true`.
pub fn require_privileges(test_name: &str) -> bool {
    if !rustix::process::geteuid().is_root() {
        return skip_or_fail(test_name, "not running as root");
    }
    match Command::new("ip").args(["netns", "list"]).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            return skip_or_fail(
                test_name,
                &format!("'ip netns list' failed: {}", describe(&out)),
            )
        }
        Err(e) => return skip_or_fail(test_name, &format!("cannot run 'ip' (iproute2): {e}")),
    }
    if !Path::new("/proc/self/ns/net").exists() {
        return skip_or_fail(test_name, "kernel without network namespaces");
    }
    if !rig_script().exists() {
        return skip_or_fail(test_name, &format!("{} is missing", rig_script().display()));
    }
    true
}

/// True when every program is on PATH. Otherwise prints a loud SKIPPED line
/// and returns false, or panics under `CI=true` (scripts/setup.sh installs them).
pub fn require_programs(test_name: &str, programs: &[&str]) -> bool {
    let missing: Vec<&str> = programs
        .iter()
        .copied()
        .filter(|p| {
            !Command::new("sh")
                .args(["-c", &format!("command -v '{p}' >/dev/null")])
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!("missing programs {missing:?} (run scripts/setup.sh)");
    if under_ci() {
        panic!("{test_name}: cannot run under CI=true: {why}");
    }
    loud(&format!("!!!!!!!! {test_name}: SKIPPED: {why}"));
    false
}

/// Whether a named network namespace exists.
pub fn netns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

impl Rig {
    /// Builds the rig and waits until every camera answers a discovery from
    /// the host namespace (rig.sh checks that). Panics with rig.sh's output
    /// on failure; rig.sh has then already removed what it built.
    pub fn up(options: RigOptions) -> Rig {
        static REAP: Once = Once::new();
        REAP.call_once(|| {
            // Rigs left by test processes that were killed before their Drop ran.
            let _ = rig_sh(&["reap"]).output();
        });

        let prefix = options.prefix.clone().unwrap_or_else(unique_prefix);
        let cameras = options.cameras.to_string();
        let mtu = options.mtu.to_string();
        let mut args = vec![
            "up",
            "--json",
            "--prefix",
            &prefix,
            "--cameras",
            &cameras,
            "--mtu",
            &mtu,
            "--topology",
            match options.topology {
                Topology::Switch => "switch",
                Topology::Direct => "direct",
            },
            "--camera",
            match options.camera {
                CameraKind::Aravis => "aravis",
                CameraKind::Gvsim => "gvsim",
                CameraKind::None => "none",
            },
        ];
        if options.grandmaster {
            args.push("--grandmaster");
        }
        let output = rig_sh(&args)
            .env("RIG_OWNER", owner_key())
            .output()
            .expect("run scripts/rig.sh");
        if !output.status.success() {
            panic!("rig.sh {} failed: {}", args.join(" "), describe(&output));
        }
        let info: RigInfo = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "rig.sh up printed no valid JSON ({e}): {}",
                describe(&output)
            )
        });
        Rig { info }
    }

    pub fn info(&self) -> &RigInfo {
        &self.info
    }

    pub fn prefix(&self) -> &str {
        &self.info.prefix
    }

    /// The namespace the capture host lives in.
    pub fn host_ns(&self) -> &str {
        &self.info.host_ns
    }

    /// Every namespace this rig created.
    pub fn namespaces(&self) -> Vec<String> {
        let mut all = vec![self.info.host_ns.clone()];
        all.extend(self.info.switch_ns.clone());
        all.extend(self.info.cameras.iter().map(|c| c.ns.clone()));
        all
    }

    pub fn host_interfaces(&self) -> &[HostInterface] {
        &self.info.host_interfaces
    }

    pub fn cameras(&self) -> &[CameraInfo] {
        &self.info.cameras
    }

    pub fn camera_ips(&self) -> Vec<Ipv4Addr> {
        self.info.cameras.iter().map(|c| c.address).collect()
    }

    pub fn state_dir(&self) -> &Path {
        &self.info.state_dir
    }

    /// `program` to be run inside the host namespace (`ip netns exec`).
    pub fn host_cmd(&self, program: &str) -> Command {
        self.ns_cmd(&self.info.host_ns, program)
    }

    /// `program` to be run inside camera `index`'s namespace (1-based).
    pub fn camera_cmd(&self, index: u32, program: &str) -> Command {
        let cam = self
            .info
            .cameras
            .iter()
            .find(|c| c.index == index)
            .unwrap_or_else(|| panic!("rig {} has no camera {index}", self.prefix()));
        self.ns_cmd(&cam.ns, program)
    }

    fn ns_cmd(&self, ns: &str, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns, program]);
        cmd
    }

    /// Polls `ip` with unicast GVCP discovery from the host namespace until it
    /// answers or `timeout` passes.
    pub fn wait_for_camera(
        &self,
        ip: Ipv4Addr,
        timeout: Duration,
    ) -> Result<DiscoveryAnswer, String> {
        let deadline = Instant::now() + timeout;
        let mut last_error = String::from("no attempt");
        let mut req_id: u16 = 1;
        while Instant::now() < deadline {
            match gvcp_discover(&self.info.host_ns, ip, req_id, Duration::from_millis(500)) {
                Ok(answer) => return Ok(answer),
                Err(e) => last_error = e,
            }
            req_id = req_id.wrapping_add(1).max(1);
        }
        Err(format!(
            "camera {ip} did not answer within {timeout:?}: {last_error}"
        ))
    }

    /// Tears the rig down now and reports failures (Drop only prints them).
    pub fn down(mut self) -> Result<(), String> {
        let result = self.teardown();
        self.info.prefix.clear();
        result
    }

    fn teardown(&self) -> Result<(), String> {
        let output = rig_sh(&["down", "--prefix", &self.info.prefix])
            .output()
            .map_err(|e| format!("run rig.sh down: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "rig.sh down --prefix {} failed: {}",
                self.info.prefix,
                describe(&output)
            ))
        }
    }

    fn dump_logs(&self) {
        let Ok(entries) = std::fs::read_dir(&self.info.state_dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "log") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(20).collect();
                eprintln!("--- {} (last {} lines)", path.display(), tail.len());
                for line in tail.iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if self.info.prefix.is_empty() {
            return; // already torn down by `down`
        }
        if std::thread::panicking() {
            eprintln!(
                "rig {}: test panicked; logs of the rig's processes:",
                self.info.prefix
            );
            self.dump_logs();
        }
        if let Err(e) = self.teardown() {
            eprintln!("rig {}: teardown failed: {e}", self.info.prefix);
        }
    }
}

/// The parts of a GVCP DISCOVERY_ACK the tests look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryAnswer {
    /// Where the answer came from.
    pub source: Ipv4Addr,
    /// The device's current IP, from the bootstrap registers.
    pub current_ip: Ipv4Addr,
    pub mac: [u8; 6],
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
}

/// A GVCP DISCOVERY_CMD: key 0x42, flags "ack required, broadcast ack allowed",
/// command 0x0002, no payload, request id.
pub fn discovery_command(req_id: u16) -> [u8; 8] {
    let id = req_id.to_be_bytes();
    [0x42, 0x11, 0x00, 0x02, 0x00, 0x00, id[0], id[1]]
}

/// Parses a DISCOVERY_ACK for `req_id`: 8-byte ack header, then the first
/// 0xF8 bytes of the bootstrap register map.
pub fn parse_discovery_ack(
    bytes: &[u8],
    req_id: u16,
    source: Ipv4Addr,
) -> Result<DiscoveryAnswer, String> {
    if bytes.len() < 8 + 0xF8 {
        return Err(format!("discovery ack too short: {} bytes", bytes.len()));
    }
    let be16 = |at: usize| u16::from_be_bytes([bytes[at], bytes[at + 1]]);
    let (status, answer, ack_id) = (be16(0), be16(2), be16(6));
    if answer != 0x0003 || ack_id != req_id {
        return Err(format!(
            "not our discovery ack: answer {answer:#06x}, id {ack_id}"
        ));
    }
    if status != 0 {
        return Err(format!("discovery ack with status {status:#06x}"));
    }
    let regs = &bytes[8..];
    let text = |at: usize, len: usize| {
        let field = &regs[at..at + len];
        let end = field.iter().position(|&b| b == 0).unwrap_or(len);
        String::from_utf8_lossy(&field[..end]).into_owned()
    };
    Ok(DiscoveryAnswer {
        source,
        current_ip: Ipv4Addr::new(regs[0x24], regs[0x25], regs[0x26], regs[0x27]),
        mac: [
            regs[0x0A], regs[0x0B], regs[0x0C], regs[0x0D], regs[0x0E], regs[0x0F],
        ],
        manufacturer: text(0x48, 32),
        model: text(0x68, 32),
        serial: text(0xD8, 16),
    })
}

/// Sends one unicast discovery to `ip` from inside namespace `ns` and waits up
/// to `wait` for the answer. The socket lives on a thread that joins the
/// namespace (setns affects only the calling thread), so the test process
/// itself stays where it is.
pub fn gvcp_discover(
    ns: &str,
    ip: Ipv4Addr,
    req_id: u16,
    wait: Duration,
) -> Result<DiscoveryAnswer, String> {
    let ns_path = Path::new("/run/netns").join(ns);
    std::thread::spawn(move || {
        let ns_file =
            File::open(&ns_path).map_err(|e| format!("open {}: {e}", ns_path.display()))?;
        rustix::thread::move_into_link_name_space(
            ns_file.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .map_err(|e| format!("setns {}: {e}", ns_path.display()))?;
        let socket = UdpSocket::bind("0.0.0.0:0").map_err(|e| format!("bind: {e}"))?;
        socket
            .set_read_timeout(Some(wait))
            .map_err(|e| e.to_string())?;
        socket
            .send_to(&discovery_command(req_id), SocketAddrV4::new(ip, GVCP_PORT))
            .map_err(|e| format!("send to {ip}: {e}"))?;
        let deadline = Instant::now() + wait;
        let mut buf = [0u8; 1500];
        loop {
            let (len, from) = socket
                .recv_from(&mut buf)
                .map_err(|e| format!("no answer from {ip}: {e}"))?;
            let std::net::SocketAddr::V4(from) = from else {
                continue;
            };
            if *from.ip() == ip {
                return parse_discovery_ack(&buf[..len], req_id, *from.ip());
            }
            if Instant::now() >= deadline {
                return Err(format!("no answer from {ip}"));
            }
        }
    })
    .join()
    .map_err(|_| "discovery thread panicked".to_string())?
}

/// tshark capturing the GVCP port (UDP 3956) on one of the rig's host
/// interfaces, from the host namespace, into a file in the rig's state
/// directory; [`GvcpCapture::finish`] stops it and decodes what it saw.
pub struct GvcpCapture {
    child: std::process::Child,
    file: PathBuf,
}

/// What tshark made of a [`GvcpCapture`].
pub struct GvcpDecoded {
    /// tshark's one-line summaries of the commands gvcap's host sent.
    pub commands: Vec<String>,
    /// Summaries of the acknowledges that came back.
    pub acks: Vec<String>,
    /// Packets tshark flagged as malformed or with an expert finding.
    pub flagged: Vec<String>,
}

impl GvcpCapture {
    /// Starts tshark on `interface` and returns once it captures.
    pub fn start(rig: &Rig, interface: &str) -> GvcpCapture {
        use std::io::Read;
        let file = rig.state_dir().join(format!("gvcp-{interface}.pcapng"));
        let _ = std::fs::remove_file(&file);
        let mut child = rig
            .host_cmd("tshark")
            .args(["-q", "-i", interface, "-f", "udp port 3956", "-w"])
            .arg(&file)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start tshark");
        // tshark announces "Capturing on" once the capture runs.
        let stderr = child.stderr.as_mut().expect("piped");
        let mut seen = Vec::new();
        let mut byte = [0u8; 1];
        while !String::from_utf8_lossy(&seen).contains("Capturing on") {
            if stderr.read(&mut byte).unwrap_or(0) == 0 {
                panic!("tshark exited: {}", String::from_utf8_lossy(&seen));
            }
            seen.push(byte[0]);
        }
        GvcpCapture { child, file }
    }

    /// Stops tshark (SIGINT, so it closes the file) and decodes the capture;
    /// `host` is the address the commands came from.
    pub fn finish(mut self, host: Ipv4Addr) -> GvcpDecoded {
        std::thread::sleep(Duration::from_millis(300));
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("pid");
        rustix::process::kill_process(pid, rustix::process::Signal::INT).expect("stop tshark");
        let _ = self.child.wait();
        let read = |filter: &str| -> Vec<String> {
            let out = Command::new("tshark")
                .arg("-r")
                .arg(&self.file)
                .args(["-Y", filter])
                .output()
                .expect("run tshark -r");
            assert!(
                out.status.success(),
                "tshark -r: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_string)
                .collect()
        };
        GvcpDecoded {
            commands: read(&format!("gvcp && ip.src == {host}")),
            acks: read(&format!("gvcp && ip.src != {host}")),
            flagged: read("_ws.malformed || _ws.expert"),
        }
    }
}

impl GvcpDecoded {
    /// Asserts that tshark decoded a command of each `kind` (its name as
    /// tshark prints it, e.g. `PACKETRESEND_CMD`) and flagged nothing.
    pub fn assert_clean_with(&self, kinds: &[&str]) {
        for kind in kinds {
            assert!(
                self.commands.iter().any(|l| l.contains(kind)),
                "tshark saw no {kind} from the host:\n{}",
                self.commands.join("\n")
            );
        }
        assert!(
            self.flagged.is_empty(),
            "malformed or expert-flagged GVCP packets:\n{}",
            self.flagged.join("\n")
        );
    }
}
