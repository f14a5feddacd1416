//! Shared by the `xdp_*` integration tests: the privilege check and a pair of
//! network namespaces joined by a veth, named with the `gvx` prefix.
//!
//! Invariants:
//! - without root (or the `ip` tool) a test prints a loud SKIPPED line and
//!   returns, except under `CI=true`, where it fails;
//! - a [`VethPair`] deletes its namespaces when dropped, on panic too; names
//!   carry this process's pid, so parallel tests and runs never collide, and
//!   pairs left by a killed process are removed by the next one;
//! - namespace-bound work runs on a dedicated thread that enters the
//!   namespace (`setns`); the test's own thread never changes namespace.

#![allow(dead_code)] // each test binary uses a different part

use std::fs::File;
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;

/// Writes straight to fd 2: libtest captures `eprintln!` of passing tests.
pub fn loud(message: &str) {
    let fd = std::io::stderr().as_fd().try_clone_to_owned();
    let _ = match fd {
        Ok(fd) => writeln!(File::from(fd), "{message}"),
        Err(_) => writeln!(std::io::stderr(), "{message}"),
    };
}

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// True when this process is root and has `ip netns`; else a loud SKIPPED
/// (false), or a panic under `CI=true`.
pub fn require_root(test: &str) -> bool {
    let why = if !rustix::process::geteuid().is_root() {
        Some("not running as root".to_string())
    } else {
        match Command::new("ip").args(["netns", "list"]).output() {
            Ok(o) if o.status.success() => None,
            Ok(o) => Some(format!("'ip netns list' failed: {}", describe(&o))),
            Err(e) => Some(format!("cannot run ip (iproute2): {e}")),
        }
    };
    let Some(why) = why else { return true };
    if under_ci() {
        panic!("{test}: cannot run under CI=true: {why}");
    }
    loud(&format!(
        "\n!!!!!!!! {test}: SKIPPED (needs root for BPF and AF_XDP): {why}\n\
         !!!!!!!! run the tests as root to exercise XDP; under CI=true this is a failure\n"
    ));
    false
}

pub fn describe(o: &Output) -> String {
    format!(
        "{}; stdout: {}; stderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout).trim(),
        String::from_utf8_lossy(&o.stderr).trim()
    )
}

/// Runs `ip ARGS`, panicking with its output on failure.
pub fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        describe(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `ip ARGS`, returning whether it worked.
pub fn ip_ok(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Two namespaces, `sender` and `receiver`, joined by a veth at MTU 9000.
/// Addresses: sender 169.254.N.1, receiver 169.254.N.2 on a /24.
#[derive(Debug)]
pub struct VethPair {
    pub sender_ns: String,
    pub receiver_ns: String,
    /// The veth end in the sender namespace.
    pub sender_if: String,
    /// The veth end in the receiver namespace (XDP goes here).
    pub receiver_if: String,
    pub sender_ip: Ipv4Addr,
    pub receiver_ip: Ipv4Addr,
}

/// Removes gvx namespaces whose owning process is gone.
fn reap() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("gvx") else {
            continue;
        };
        let Some(pid) = rest
            .split(['s', 'r'])
            .next()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("ip").args(["netns", "del", &name]).output();
        }
    }
}

impl VethPair {
    /// Builds the pair (the caller has checked privileges).
    pub fn up() -> VethPair {
        static REAP: Once = Once::new();
        REAP.call_once(reap);
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let subnet = u8::try_from((pid * 7 + n) % 200 + 20).unwrap_or(20);
        let pair = VethPair {
            sender_ns: format!("gvx{pid}s{n}"),
            receiver_ns: format!("gvx{pid}r{n}"),
            sender_if: "gvxs".into(),
            receiver_if: "gvxr".into(),
            sender_ip: Ipv4Addr::new(169, 254, subnet, 1),
            receiver_ip: Ipv4Addr::new(169, 254, subnet, 2),
        };
        ip(&["netns", "add", &pair.sender_ns]);
        ip(&["netns", "add", &pair.receiver_ns]);
        ip(&[
            "-n",
            &pair.sender_ns,
            "link",
            "add",
            &pair.sender_if,
            "mtu",
            "9000",
            "type",
            "veth",
            "peer",
            "name",
            &pair.receiver_if,
            "netns",
            &pair.receiver_ns,
            "mtu",
            "9000",
        ]);
        for (ns, ifname, addr) in [
            (&pair.sender_ns, &pair.sender_if, pair.sender_ip),
            (&pair.receiver_ns, &pair.receiver_if, pair.receiver_ip),
        ] {
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                ifname,
            ]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            ip(&["-n", ns, "link", "set", ifname, "up"]);
        }
        pair
    }

    /// `ip link show` of the receiver's interface.
    pub fn receiver_link(&self) -> String {
        ip(&[
            "-n",
            &self.receiver_ns,
            "-d",
            "link",
            "show",
            "dev",
            &self.receiver_if,
        ])
    }

    /// Whether an XDP program is attached to the receiver's interface.
    pub fn receiver_has_xdp(&self) -> bool {
        self.receiver_link().contains("xdp")
    }

    /// Waits up to 5 s for the receiver's program to go: a bpf_link is only
    /// released when the last copy of its fd closes, and a test running in
    /// parallel that forks a command holds copies until the child execs.
    pub fn receiver_xdp_gone(&self) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while self.receiver_has_xdp() {
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        true
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        for ns in [&self.sender_ns, &self.receiver_ns] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// Runs `f` on a new thread inside namespace `ns` and returns its result.
pub fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        enter_netns(&path);
        f()
    })
    .join()
    .expect("namespace thread panicked")
}

/// Moves the calling thread into the namespace at `path` (a /run/netns file).
pub fn enter_netns(path: &str) {
    let file = File::open(path).unwrap_or_else(|e| panic!("open {path}: {e}"));
    rustix::thread::move_into_link_name_space(
        file.as_fd(),
        Some(rustix::thread::LinkNameSpaceType::Network),
    )
    .unwrap_or_else(|e| panic!("setns {path}: {e}"));
}
