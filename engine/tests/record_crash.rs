//! kill -9 during recording: the test re-executes itself as a child that
//! records without end, kills it with SIGKILL once some frames are on disk,
//! and reads the file back up to its last complete record.

mod record_support;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gvcap::record::{AlignedBuf, Recorder, RecorderConfig, RecordingReader};
use record_support::*;

const CHILD_ENV: &str = "GVCAP_RECORD_CRASH_CHILD";
const FRAME: usize = 50_000;

/// The child: records camera 0 forever, printing how many frames are complete.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return; // only meaningful when spawned by the test below
    };
    let mut config = RecorderConfig::new(vec![PathBuf::from(dir)]);
    config.queue_depth = 32;
    config.index_interval = 16;
    config.extent_bytes = 4 << 20;
    let rec = Recorder::<AlignedBuf>::start(config, vec![camera(0, FRAME as u32, 1)]).unwrap();
    let mut out = std::io::stdout().lock();
    for b in 0.. {
        // Keep the queue full but do not drop: the parent checks every sequence number.
        while rec.status().queued > 8 {
            std::thread::sleep(Duration::from_micros(200));
        }
        rec.offer(aligned_frame(0, b, FRAME));
        if b % 10 == 0 {
            let _ = writeln!(out, "written {}", rec.status().cameras[0].written);
            let _ = out.flush();
        }
    }
}

#[test]
fn kill_9_leaves_a_file_readable_up_to_its_last_complete_record() {
    let dir = temp_dir();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the recording child");
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut reported = 0;
    for line in lines {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("written ") {
            reported = n.trim().parse().unwrap();
            if reported >= 300 {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the child wrote only {reported} frames in 60 s"
        );
    }
    child.kill().expect("SIGKILL the child");
    child.wait().unwrap();
    assert!(
        reported >= 300,
        "the child stopped early at {reported} frames"
    );

    let path = dir.path().join("rec-cam00-s0.gvrec");
    let mut reader = RecordingReader::open(&path).unwrap();
    assert!(
        !reader.header().is_closed(),
        "a killed writer cannot have closed the file"
    );
    let scan = reader.scan().unwrap();
    assert!(
        scan.frames >= reported,
        "{} frames read back, but {reported} were complete before the kill",
        scan.frames
    );
    assert!(scan.damaged.is_empty(), "{:?}", scan.damaged);
    assert_eq!(
        scan.data_end + scan.torn_bytes + scan.unused_bytes,
        scan.file_len
    );
    let frames: Vec<_> = reader.frames().map(|f| f.unwrap()).collect();
    assert_eq!(frames.len() as u64, scan.frames);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.header.sequence, i as u64);
        assert_eq!(f.header.block_id, i as u64);
        check_frame(f, 0);
    }
    // Without a closed header the index is rebuilt from the record headers.
    assert_eq!(reader.index().unwrap(), scan.index);
    let report = gvcap::record::inspect(&[path]).unwrap();
    assert_eq!(report.cameras[0].frames, scan.frames);
    assert_eq!(report.cameras[0].torn_bytes, scan.torn_bytes);
    eprintln!(
        "kill -9 after {reported} complete frames: {} recovered, {} torn bytes, {} unused bytes",
        scan.frames, scan.torn_bytes, scan.unused_bytes
    );
}
