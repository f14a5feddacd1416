//! Rigs of gvsim cameras for the privileged tests: the namespaces come from
//! `scripts/rig.sh` (through `support::Rig`, without cameras), and each test
//! starts the gvsim binary cargo built, with its own arguments, in every
//! camera namespace. Needs `mod support;` and `mod gvsim_util;` beside it.
//!
//! Invariant: the gvsim processes are stopped (SIGTERM, then waited for)
//! before the rig is torn down, also when the test panics.

#![allow(dead_code)]

use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::gvsim_util::GVSIM_BIN;
use crate::support::{CameraInfo, CameraKind, Rig, RigOptions, Topology};

/// A rig whose cameras are gvsim processes this test started.
pub struct GvsimRig {
    procs: Vec<Child>,
    pub rig: Rig,
}

impl GvsimRig {
    /// Builds the rig and starts `gvsim --interface IF --address IP --serial GVSIM<i> ARGS(i)`
    /// in each camera namespace, then waits until every camera answers discovery.
    pub fn up(
        cameras: u32,
        topology: Topology,
        mtu: u32,
        grandmaster: bool,
        args: impl Fn(&CameraInfo) -> Vec<String>,
    ) -> GvsimRig {
        let rig = Rig::up(RigOptions {
            cameras,
            topology,
            mtu,
            camera: CameraKind::None,
            grandmaster,
            prefix: None,
        });
        let mut procs = Vec::new();
        for cam in rig.cameras() {
            let log = File::create(rig.state_dir().join(format!("gvsim{}.log", cam.index)))
                .expect("create gvsim log");
            let child = rig
                .camera_cmd(cam.index, GVSIM_BIN)
                .args(["--interface", &cam.interface])
                .args(["--address", &cam.address.to_string()])
                .args(["--serial", &format!("GVSIM{}", cam.index)])
                .args(args(cam))
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone log"))
                .stderr(log)
                .spawn()
                .expect("start gvsim in the camera namespace");
            procs.push(child);
        }
        let me = GvsimRig { procs, rig };
        for cam in me.rig.cameras() {
            me.rig
                .wait_for_camera(cam.address, Duration::from_secs(10))
                .unwrap_or_else(|e| panic!("{e}\n{}", me.logs()));
        }
        me
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

    /// Stops the camera processes (SIGTERM, then wait); true when all exited cleanly.
    pub fn stop_cameras(&mut self) -> bool {
        let mut clean = true;
        for child in &mut self.procs {
            if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            }
        }
        for child in &mut self.procs {
            let mut exited = None;
            for _ in 0..50 {
                if let Ok(Some(status)) = child.try_wait() {
                    exited = Some(status);
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            match exited {
                Some(status) => clean &= status.success(),
                None => {
                    clean = false;
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
        self.procs.clear();
        clean
    }
}

impl Drop for GvsimRig {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
        self.stop_cameras();
    }
}

/// Runs `f` on a thread that has joined network namespace `ns`: sockets it
/// creates live there, and may then be used from any thread.
pub fn in_namespace<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = Path::new("/run/netns").join(ns);
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        rustix::thread::move_into_link_name_space(
            file.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .unwrap_or_else(|e| panic!("setns {}: {e}", path.display()));
        f()
    })
    .join()
    .expect("namespace thread panicked")
}
