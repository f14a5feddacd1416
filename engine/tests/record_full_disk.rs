//! A full disk: recording into a small loop-mounted ext4 filesystem created by
//! the test stops with a clear message and leaves a valid file.
//!
//! Needs root (mount). Without it the test says SKIPPED loudly, and fails
//! under CI=true, where a missing privilege must not pass silently.

mod record_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use gvcap::record::{
    format::file_flags, inspect, AlignedBuf, BackendChoice, Offer, RecordError, Recorder,
    RecorderConfig, RecordingReader,
};
use record_support::*;

const FRAME: usize = 1 << 20;

fn run(cmd: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A 32 MiB ext4 image mounted on a temporary directory; unmounted and deleted on drop.
struct SmallDisk {
    _dir: tempfile::TempDir,
    mount: PathBuf,
}

impl SmallDisk {
    fn new() -> Result<SmallDisk, String> {
        let dir = temp_dir();
        let image = dir.path().join("disk.img");
        let mount = dir.path().join("mnt");
        std::fs::create_dir(&mount).map_err(|e| e.to_string())?;
        std::fs::File::create(&image)
            .and_then(|f| f.set_len(32 << 20))
            .map_err(|e| e.to_string())?;
        run("mkfs.ext4", &["-q", "-F", path(&image)])?;
        run("mount", &["-o", "loop", path(&image), path(&mount)])?;
        Ok(SmallDisk { _dir: dir, mount })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        if let Err(e) = run("umount", &[path(&self.mount)]) {
            eprintln!("cleanup: {e}");
        }
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

fn full_disk(backend: BackendChoice) {
    if !rustix::process::geteuid().is_root() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "record_full_disk needs root to mount a loop filesystem, and CI=true"
        );
        eprintln!(
            "SKIPPED: record_full_disk needs root (mount -o loop); run as root to test a full disk"
        );
        return;
    }
    let disk = match SmallDisk::new() {
        Ok(d) => d,
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "cannot create the loop filesystem: {e}"
            );
            eprintln!("SKIPPED: record_full_disk: cannot create the loop filesystem: {e}");
            return;
        }
    };
    let mut config = RecorderConfig::new(vec![disk.mount.clone()]);
    config.backend = backend;
    config.extent_bytes = 4 << 20;
    config.channel_capacity = 8;
    let rec = Recorder::<AlignedBuf>::start(config, vec![camera(0, FRAME as u32, 1)]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut b = 0;
    loop {
        match rec.offer(aligned_frame(0, b, FRAME)) {
            Offer::Queued => b += 1,
            Offer::Dropped => std::thread::sleep(Duration::from_millis(1)),
            Offer::Stopped => break,
            Offer::UnknownCamera => unreachable!(),
        }
        if !rec.status().running || rec.status().error.is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "32 MiB never filled up after {b} frames"
        );
    }
    let summary = rec.stop();
    let err = summary
        .error
        .expect("recording into a full disk must stop with an error");
    assert!(matches!(err, RecordError::DiskFull { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("disk full: ") && msg.contains("rec-cam00-s0.gvrec"),
        "{msg}"
    );
    let frames = summary.cameras[0].frames;
    assert!(frames >= 10, "only {frames} frames fit in 32 MiB");

    // The file is valid: closed, flagged, cut after its last record, every frame intact.
    let file = &summary.cameras[0].files[0];
    let mut reader = RecordingReader::open(file).unwrap();
    let h = reader.header().clone();
    assert!(h.is_closed());
    assert_ne!(h.flags & file_flags::STOPPED_ON_ERROR, 0);
    assert_eq!(h.frames, frames);
    let scan = reader.scan().unwrap();
    assert_eq!(scan.frames, frames);
    assert_eq!((scan.torn_bytes, scan.unused_bytes), (0, 0));
    assert!(scan.damaged.is_empty());
    assert_eq!(reader.index().unwrap(), scan.index);
    let read: Vec<_> = reader.frames().map(|f| f.unwrap()).collect();
    read.iter().for_each(|f| check_frame(f, 0));
    let report = inspect(std::slice::from_ref(file)).unwrap();
    assert!(report.cameras[0].stopped_on_error);
    eprintln!("{}: {frames} frames, then: {msg}", summary.backend);
}

#[test]
fn a_full_disk_stops_recording_cleanly_io_uring() {
    full_disk(BackendChoice::IoUring);
}

#[test]
fn a_full_disk_stops_recording_cleanly_pwrite() {
    full_disk(BackendChoice::Pwrite);
}
