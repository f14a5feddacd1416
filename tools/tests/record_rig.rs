//! `gvcap record` end to end on a rig of gvsim cameras (scripts/rig.sh,
//! namespaces `gvr2*`), each test a few seconds. Needs root.
//!
//! - 4 cameras recorded with `--frames`: every frame read back and checked
//!   byte by byte against gvsim's pattern, `gvcap inspect --json` reports no
//!   gaps, nothing copied, nothing dropped;
//! - the same recording exported: PNGs decode to the recorded pixels, and
//!   tshark reads the pcapng as GVSP carrying the recorded block ids, sizes,
//!   timestamps and pixels;
//! - `kill -9` while recording: the files read back up to their last
//!   complete record, at least as many frames as the last progress line
//!   reported, and `gvcap inspect` says how many;
//! - a full disk (a small ext4 image loop-mounted by the test): recording
//!   stops with a clear message, the files are closed, valid and verified;
//! - SIGINT: acquisition stops, frames in flight are written, files closed;
//! - `--stripe` over two directories, through UDP sockets: the stripes merge back.
//!
//! The tests take turns (one lock): two rigs at once on a 2-core machine
//! would make frames late for reasons that are not the recorder's.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, Once, OnceLock};
use std::time::{Duration, Instant};

use gvcap::record::RecordingReader;
use gvcap_tools::gvsim::pattern;
use support::{CameraKind, Rig, RigOptions};

const GVCAP: &str = env!("CARGO_BIN_EXE_gvcap");
const GVSIM: &str = env!("CARGO_BIN_EXE_gvsim");
const WIDTH: usize = 640;
const HEIGHT: usize = 480;
/// Frames per camera of the shared recording.
const FRAMES: u64 = 60;

static TURN: Mutex<()> = Mutex::new(());

fn turn() -> MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn text(out: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A rig prefix in this engineer's namespace: `gvr2` + pid + counter (at most 9 characters).
fn prefix() -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut pid = std::process::id() % (36 * 36 * 36);
    let mut digits = Vec::new();
    for _ in 0..3 {
        digits.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(pid % 36) as usize]);
        pid /= 36;
    }
    digits.reverse();
    format!("gvr2{}{}", String::from_utf8(digits).unwrap(), n % 36)
}

/// A rig of `cameras` gvsim cameras (the binary cargo built for this test), jumbo frames.
fn rig(cameras: u32) -> Rig {
    static BIN: Once = Once::new();
    // rig.sh starts the simulator named by GVSIM_BIN: this build's, not a stale one.
    BIN.call_once(|| std::env::set_var("GVSIM_BIN", GVSIM));
    Rig::up(RigOptions {
        cameras,
        camera: CameraKind::Gvsim,
        mtu: 9000,
        prefix: Some(prefix()),
        ..Default::default()
    })
}

/// `gvcap record` of every camera of `rig` at 640x480 Mono8, `fps`, into `out`.
fn record_cmd(rig: &Rig, out: &Path, fps: u32, extra: &[&str]) -> Command {
    let mut cmd = rig.host_cmd(GVCAP);
    cmd.arg("record");
    for ip in rig.camera_ips() {
        cmd.arg(ip.to_string());
    }
    cmd.arg("--out").arg(out);
    for set in [
        format!("Width={WIDTH}"),
        format!("Height={HEIGHT}"),
        "PixelFormat=Mono8".into(),
        format!("AcquisitionFrameRate={fps}"),
    ] {
        cmd.args(["--set", &set]);
    }
    // 16 slots per camera keep the test's share of the machine's hugepages small.
    cmd.args(["--ring-slots", "16", "--name", "rig"])
        .args(extra);
    cmd
}

fn gvrec_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "gvrec"))
        .collect();
    files.sort();
    files
}

fn inspect_json(files: &[PathBuf]) -> serde_json::Value {
    let out = Command::new(GVCAP)
        .arg("inspect")
        .args(files)
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "gvcap inspect: {}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What one file reads back as.
struct ReadBack {
    /// The camera's serial, from the file header.
    serial: String,
    /// The frames whose checksum verified.
    frames: Vec<gvcap::record::Frame>,
    /// Records whose checksum failed although complete records follow.
    damaged: u64,
}

/// Reads every frame of `file` (the reader verifies each checksum) and
/// checks every payload byte against gvsim's pattern for its serial and block id.
fn read_and_verify(file: &Path) -> ReadBack {
    let back = read_and_verify_damaged(file);
    assert_eq!(back.damaged, 0, "{}: damaged records", file.display());
    back
}

/// Like [`read_and_verify`], counting damaged records instead of failing on them.
fn read_and_verify_damaged(file: &Path) -> ReadBack {
    let mut reader =
        RecordingReader::open(file).unwrap_or_else(|e| panic!("open {}: {e}", file.display()));
    let serial = reader.header().camera.serial.clone();
    assert!(serial.starts_with("GVSIM"), "{serial}");
    let key = pattern::serial_key(&serial);
    let mut frames: Vec<gvcap::record::Frame> = Vec::new();
    let mut damaged = 0;
    for f in reader.frames() {
        match f {
            Ok(f) => frames.push(f),
            Err(gvcap::record::ReadError::Checksum { .. }) => damaged += 1,
            Err(e) => panic!("{}: {e}", file.display()),
        }
    }
    for f in &frames {
        let h = &f.header;
        assert_eq!(h.flags & 1, 0, "{serial} block {} incomplete", h.block_id);
        assert_eq!((h.width, h.height), (WIDTH as u32, HEIGHT as u32));
        assert_eq!(
            f.payload.len(),
            WIDTH * HEIGHT,
            "{serial} block {}",
            h.block_id
        );
        if let Err(offset) = pattern::verify(pattern::block_key(key, h.block_id), 0, &f.payload) {
            panic!(
                "{}: {serial} block {} (record {}) differs from the pattern at byte {offset}",
                file.display(),
                h.block_id,
                h.sequence
            );
        }
    }
    ReadBack {
        serial,
        frames,
        damaged,
    }
}

/// The recording the export tests share: 4 cameras, [`FRAMES`] each.
struct Recording {
    files: Vec<PathBuf>,
    summary: serde_json::Value,
    stderr: String,
}

/// Records once per test process (the rig is gone when this returns); `None` when skipped.
///
/// A static is never dropped, so the files live in cargo's scratch
/// directory for tests (target/tmp), replaced by the next run, not in /tmp.
fn recording() -> Option<&'static Recording> {
    static RECORDING: OnceLock<Option<Recording>> = OnceLock::new();
    RECORDING
        .get_or_init(|| {
            if !support::require_privileges("record_rig") {
                return None;
            }
            let rig = rig(4);
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("record_rig_shared");
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let out = record_cmd(&rig, &dir, 25, &["--frames", &FRAMES.to_string()])
                .arg("--json")
                .output()
                .unwrap();
            assert!(out.status.success(), "gvcap record: {}", text(&out));
            let summary: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("summary is not JSON ({e}): {}", text(&out)));
            drop(rig);
            Some(Recording {
                files: gvrec_files(&dir),
                summary,
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            })
        })
        .as_ref()
}

#[test]
fn four_cameras_record_every_frame_byte_exact_without_gaps() {
    let _turn = turn();
    let Some(rec) = recording() else { return };
    let s = &rec.summary;
    assert_eq!(s["stopped_by"], "frames", "{s}");
    assert_eq!(s["frames"], 4 * FRAMES, "{s}");
    assert_eq!(s["dropped"], 0, "{s}");
    assert_eq!(s["missed"], 0, "{s}");
    // Frame-ring slots go to disk as they are: no frame was copied.
    assert_eq!(s["copied"], 0, "{s}");
    assert_eq!(s["error"], serde_json::Value::Null, "{s}");
    let cams = s["cameras"].as_array().unwrap();
    assert_eq!(cams.len(), 4);
    let mut listed: Vec<PathBuf> = Vec::new();
    for c in cams {
        assert_eq!(c["frames"], FRAMES, "{c}");
        assert_eq!(c["bytes"], FRAMES * (WIDTH * HEIGHT) as u64, "{c}");
        listed.extend(
            c["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| PathBuf::from(f.as_str().unwrap())),
        );
    }
    listed.sort();
    assert_eq!(listed, rec.files, "the summary names the files written");
    // The progress line went to stderr (plain lines: stderr is a pipe here).
    assert!(
        rec.stderr.contains("gvcap record: ") && rec.stderr.contains(" MB/s  frames "),
        "{}",
        rec.stderr
    );

    let mut serials = Vec::new();
    for file in &rec.files {
        let back = read_and_verify(file);
        assert_eq!(back.frames.len() as u64, FRAMES, "{}", file.display());
        // Consecutive block ids and record numbers.
        for (pair, seq) in back.frames.windows(2).zip(1u64..) {
            assert_eq!(pair[1].header.block_id, pair[0].header.block_id + 1);
            assert_eq!(pair[1].header.sequence, seq);
        }
        serials.push(back.serial);
    }
    serials.sort();
    assert_eq!(serials, ["GVSIM1", "GVSIM2", "GVSIM3", "GVSIM4"]);

    let report = inspect_json(&rec.files);
    let cameras = report["cameras"].as_array().unwrap();
    assert_eq!(cameras.len(), 4, "{report}");
    for c in cameras {
        assert_eq!(c["frames"], FRAMES, "{c}");
        assert_eq!(c["incomplete"], 0, "{c}");
        assert_eq!(c["gaps"].as_array().unwrap().len(), 0, "{c}");
        assert_eq!(c["missing_records"], 0, "{c}");
        assert_eq!(c["dropped"], 0, "{c}");
        assert_eq!(c["closed"], true, "{c}");
        assert_eq!(c["damaged"].as_array().unwrap().len(), 0, "{c}");
        // 25 frames/s: the camera timestamps are 40 ms apart.
        let first = c["first_timestamp"].as_u64().unwrap();
        let last = c["last_timestamp"].as_u64().unwrap();
        let span = (last - first) as f64 / c["timestamp_frequency_hz"].as_u64().unwrap() as f64;
        assert!((span - (FRAMES - 1) as f64 / 25.0).abs() < 0.01, "{span} s");
    }
    assert_eq!(report["alignment"]["cameras"], 4, "{report}");
}

#[test]
fn exported_pngs_of_a_gvsim_recording_decode_to_the_recorded_pixels() {
    let _turn = turn();
    let Some(rec) = recording() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(GVCAP)
        .arg("export")
        .args(&rec.files)
        .args(["--frames", "10..13", "--format", "png", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    // Records 10..13 of each camera, by camera index, record number and block id.
    let mut recorded = BTreeMap::new();
    for file in &rec.files {
        let back = read_and_verify(file);
        let camera = RecordingReader::open(file).unwrap().header().camera_index;
        for f in back.frames {
            recorded.insert((camera, f.header.sequence), (back.serial.clone(), f));
        }
    }
    let mut pngs: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pngs.sort();
    assert_eq!(pngs.len(), 12, "{pngs:?}");
    for png in &pngs {
        let name = png.file_stem().unwrap().to_str().unwrap();
        // camNN-SEQUENCE-bBLOCK
        let parts: Vec<&str> = name.split('-').collect();
        let camera: u16 = parts[0].trim_start_matches("cam").parse().unwrap();
        let sequence: u64 = parts[1].parse().unwrap();
        let block: u64 = parts[2].trim_start_matches('b').parse().unwrap();
        assert!((10..13).contains(&sequence), "{name}");
        let (serial, frame) = &recorded[&(camera, sequence)];
        assert_eq!(frame.header.block_id, block, "{name}");
        let image = image::open(png)
            .unwrap_or_else(|e| panic!("{}: {e}", png.display()))
            .into_luma8();
        assert_eq!(image.dimensions(), (WIDTH as u32, HEIGHT as u32));
        assert_eq!(
            image.as_raw(),
            &frame.payload,
            "{name}: pixels differ from the record"
        );
        let key = pattern::block_key(pattern::serial_key(serial), block);
        assert_eq!(pattern::verify(key, 0, image.as_raw()), Ok(()), "{name}");
    }
}

#[test]
fn exported_pcapng_of_a_gvsim_recording_reads_as_gvsp_in_tshark() {
    let _turn = turn();
    let Some(rec) = recording() else { return };
    if !support::require_programs("exported_pcapng_of_a_gvsim_recording", &["tshark"]) {
        return;
    }
    // One camera's file, records 0..4.
    let file = &rec.files[0];
    let back = read_and_verify(file);
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("cam0.pcapng");
    let out = Command::new(GVCAP)
        .arg("export")
        .arg(file)
        .args(["--frames", "0..4", "--format", "pcapng", "--out"])
        .arg(&pcap)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let port = gvcap::record::PCAPNG_GVSP_PORT.to_string();
    let decode = format!("udp.port=={port},gvsp");
    let tshark = |filter: &str, fields: &[&str]| -> Vec<Vec<String>> {
        let mut cmd = Command::new("tshark");
        cmd.arg("-r")
            .arg(&pcap)
            .args(["-d", &decode, "-Y", filter, "-T", "fields"]);
        for f in fields {
            cmd.args(["-e", f]);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "tshark: {}", text(&out));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect()
    };
    // Leaders: the recorded block ids, sizes and camera timestamps.
    let leaders = tshark(
        "gvsp.format == 1",
        &[
            "gvsp.blockid16",
            "gvsp.sizex",
            "gvsp.sizey",
            "gvsp.timestamp",
        ],
    );
    assert_eq!(leaders.len(), 4, "{leaders:?}");
    for (row, f) in leaders.iter().zip(&back.frames) {
        let h = &f.header;
        assert_eq!(row[0], h.block_id.to_string(), "{row:?}");
        assert_eq!(row[1], WIDTH.to_string());
        assert_eq!(row[2], HEIGHT.to_string());
        let ts = row[3].trim_start_matches("0x");
        assert_eq!(
            u64::from_str_radix(ts, 16).ok(),
            Some(h.camera_timestamp),
            "{row:?}"
        );
    }
    // Payload packets reassemble to the recorded pixels.
    let packets = tshark(
        "gvsp.payloaddata",
        &["gvsp.blockid16", "gvsp.packetid24", "gvsp.payloaddata"],
    );
    let mut frames: BTreeMap<u64, BTreeMap<u32, Vec<u8>>> = BTreeMap::new();
    for row in &packets {
        let block: u64 = row[0].parse().unwrap();
        let id: u32 = row[1].parse().unwrap();
        let hex: String = row[2].chars().filter(|c| c.is_ascii_hexdigit()).collect();
        let bytes: Vec<u8> = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        frames.entry(block).or_default().insert(id, bytes);
    }
    assert_eq!(frames.len(), 4);
    for f in &back.frames[..4] {
        let packets = &frames[&f.header.block_id];
        let ids: Vec<u32> = packets.keys().copied().collect();
        assert_eq!(
            ids,
            (1..=ids.len() as u32).collect::<Vec<_>>(),
            "consecutive ids"
        );
        let joined: Vec<u8> = packets.values().flatten().copied().collect();
        assert!(
            joined == f.payload,
            "block {}: GVSP payload differs",
            f.header.block_id
        );
    }
    let malformed = tshark(
        "_ws.malformed || _ws.expert.severity >= warning",
        &["frame.number"],
    );
    assert!(malformed.is_empty(), "malformed packets: {malformed:?}");
}

#[test]
fn striped_over_two_directories_through_udp_sockets() {
    let _turn = turn();
    if !support::require_privileges("striped_over_two_directories") {
        return;
    }
    let rig = rig(1);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let out = record_cmd(
        &rig,
        a.path(),
        25,
        &["--frames", "40", "--path", "udp", "--json"],
    )
    .arg("--stripe")
    .arg(b.path())
    .output()
    .unwrap();
    drop(rig);
    assert!(out.status.success(), "{}", text(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cam = &summary["cameras"][0];
    assert_eq!(cam["path"], "udp", "{summary}");
    assert_eq!(cam["frames"], 40, "{summary}");
    assert_eq!(summary["copied"], 0, "{summary}");
    let mut files = gvrec_files(a.path());
    files.extend(gvrec_files(b.path()));
    assert_eq!(files.len(), 2, "one file per directory: {files:?}");
    let mut sequences = Vec::new();
    for file in &files {
        let back = read_and_verify(file);
        assert!(!back.frames.is_empty(), "{} got no frame", file.display());
        sequences.extend(back.frames.iter().map(|f| f.header.sequence));
    }
    sequences.sort_unstable();
    assert_eq!(
        sequences,
        (0..40).collect::<Vec<u64>>(),
        "the stripes merge back"
    );
    let report = inspect_json(&files);
    let cameras = report["cameras"].as_array().unwrap();
    assert_eq!(cameras.len(), 1, "{report}");
    let c = &cameras[0];
    assert_eq!(c["frames"], 40, "{c}");
    assert_eq!(c["gaps"].as_array().unwrap().len(), 0, "{c}");
    assert_eq!(c["missing_records"], 0, "{c}");
}

/// Reads `gvcap record`'s plain progress lines, returns the "frames N" of each.
fn progress_frames(line: &str) -> Option<u64> {
    let rest = line.strip_prefix("gvcap record: ")?;
    let after = rest.split("  frames ").nth(1)?;
    after.split_whitespace().next()?.parse().ok()
}

#[test]
fn kill_9_while_recording_leaves_files_readable_to_the_last_complete_record() {
    let _turn = turn();
    if !support::require_privileges("kill_9_while_recording") {
        return;
    }
    let rig = rig(4);
    let dir = tempfile::tempdir().unwrap();
    let mut child = record_cmd(&rig, dir.path(), 25, &["--duration", "60"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // `ip netns exec` executes gvcap in its own process: the pid is gvcap's.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(n) = progress_frames(&line) {
                let _ = tx.send(n);
            }
            all += &line;
            all.push('\n');
        }
        all
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut reported = 0;
    while reported < 100 && Instant::now() < deadline {
        if let Ok(n) = rx.recv_timeout(Duration::from_millis(200)) {
            reported = n;
        }
    }
    // Mid-recording, at an arbitrary point after a progress line.
    std::thread::sleep(Duration::from_millis(370));
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    let log = reader.join().unwrap();
    assert!(reported >= 100, "no progress before the deadline:\n{log}");
    assert!(!status.success(), "{status}");
    drop(rig);

    let files = gvrec_files(dir.path());
    assert_eq!(files.len(), 4, "{files:?}");
    let (mut read_back, mut damaged) = (0, 0);
    for file in &files {
        // Writes the kernel had not started when the process died may leave
        // a record damaged before complete ones: counted, never read as good.
        let back = read_and_verify_damaged(file);
        assert!(!back.frames.is_empty(), "{}", file.display());
        read_back += back.frames.len() as u64;
        damaged += back.damaged;
    }
    // Everything reported written before the kill is on disk, and more may be.
    assert!(
        read_back >= reported,
        "{read_back} frames read back, {reported} reported written before the kill"
    );
    let report = inspect_json(&files);
    let (mut counted, mut damaged_seen) = (0, 0);
    for c in report["cameras"].as_array().unwrap() {
        assert_eq!(c["closed"], false, "not closed by the writer: {c}");
        damaged_seen += c["damaged"].as_array().unwrap().len() as u64;
        counted += c["frames"].as_u64().unwrap();
    }
    assert_eq!(
        counted, read_back,
        "inspect counts the frames that read back"
    );
    assert_eq!(damaged_seen, damaged, "inspect names the damaged records");
    let out = Command::new(GVCAP)
        .arg("inspect")
        .args(&files)
        .output()
        .unwrap();
    let human = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        human.contains("not closed by the writer: recovered by scanning records"),
        "{human}"
    );
    assert_eq!(
        human
            .lines()
            .filter_map(|l| l.trim().strip_prefix("frames "))
            .map(|l| l.split_whitespace().next().unwrap().parse::<u64>().unwrap())
            .sum::<u64>(),
        read_back,
        "{human}"
    );
}

#[test]
fn sigint_stops_acquisition_drains_and_closes_every_file() {
    let _turn = turn();
    if !support::require_privileges("sigint_stops_recording") {
        return;
    }
    let rig = rig(2);
    let dir = tempfile::tempdir().unwrap();
    let mut child = record_cmd(&rig, dir.path(), 25, &["--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(n) = progress_frames(&line) {
                let _ = tx.send(n);
            }
            all += &line;
            all.push('\n');
        }
        all
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut reported = 0;
    while reported < 40 && Instant::now() < deadline {
        if let Ok(n) = rx.recv_timeout(Duration::from_millis(200)) {
            reported = n;
        }
    }
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let out = child.wait_with_output().unwrap();
    let log = reader.join().unwrap();
    drop(rig);
    assert!(reported >= 40, "no progress before the deadline:\n{log}");
    assert!(
        out.status.success(),
        "Ctrl-C is a normal end: {}\n{log}",
        out.status
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["stopped_by"], "interrupted", "{summary}");
    assert_eq!(summary["dropped"], 0, "{summary}");
    let files = gvrec_files(dir.path());
    assert_eq!(files.len(), 2);
    let mut read_back = 0;
    for file in &files {
        let back = read_and_verify(file);
        for pair in back.frames.windows(2) {
            assert_eq!(pair[1].header.block_id, pair[0].header.block_id + 1);
        }
        read_back += back.frames.len() as u64;
    }
    assert!(read_back >= reported, "{read_back} < {reported}");
    assert_eq!(summary["frames"], read_back, "{summary}");
    let report = inspect_json(&files);
    for c in report["cameras"].as_array().unwrap() {
        assert_eq!(c["closed"], true, "{c}");
        assert_eq!(c["stopped_on_error"], false, "{c}");
        assert_eq!(c["torn_bytes"], 0, "{c}");
        assert_eq!(c["gaps"].as_array().unwrap().len(), 0, "{c}");
    }
}

/// A small ext4 filesystem in a file, loop-mounted; unmounted and removed on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
    mounted: bool,
}

impl SmallDisk {
    fn new(mib: u32) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("disk.img");
        let mount = dir.path().join("mnt");
        std::fs::create_dir(&mount).unwrap();
        let run = |cmd: &mut Command| {
            let out = cmd.output().unwrap();
            assert!(out.status.success(), "{cmd:?}: {}", text(&out));
        };
        run(Command::new("truncate")
            .arg("-s")
            .arg(format!("{mib}M"))
            .arg(&image));
        run(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&image));
        run(Command::new("mount")
            .args(["-o", "loop"])
            .arg(&image)
            .arg(&mount));
        SmallDisk { dir, mounted: true }
    }

    fn mount(&self) -> PathBuf {
        self.dir.path().join("mnt")
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        if self.mounted {
            // The loop device goes with the mount (mount -o loop sets autoclear).
            let ok = Command::new("umount")
                .arg(self.mount())
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                let _ = Command::new("umount").arg("-l").arg(self.mount()).status();
            }
        }
    }
}

#[test]
fn full_disk_stops_recording_with_a_clear_message_and_valid_files() {
    let _turn = turn();
    if !support::require_privileges("full_disk_stops_recording")
        || !support::require_programs("full_disk_stops_recording", &["mkfs.ext4", "mount"])
    {
        return;
    }
    let disk = SmallDisk::new(32);
    let rig = rig(2);
    let out = record_cmd(&rig, &disk.mount(), 30, &["--duration", "30", "--json"])
        .output()
        .unwrap();
    drop(rig);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a full disk is a failure: {}",
        text(&out)
    );
    assert!(
        stderr.contains("disk full") && stderr.contains("Free space"),
        "{}",
        text(&out)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("summary is not JSON ({e}): {}", text(&out)));
    assert_eq!(summary["stopped_by"], "recorder-stopped", "{summary}");
    assert!(
        summary["error"].as_str().unwrap().contains("disk full"),
        "{summary}"
    );

    let files = gvrec_files(&disk.mount());
    assert_eq!(files.len(), 2, "{files:?}");
    let mut read_back = 0;
    for file in &files {
        read_back += read_and_verify(file).frames.len() as u64;
    }
    // 32 MiB hold about a hundred 300 KiB frames, less the filesystem's own.
    assert!((20..110).contains(&read_back), "{read_back} frames");
    assert_eq!(summary["frames"], read_back, "{summary}");
    let report = inspect_json(&files);
    for c in report["cameras"].as_array().unwrap() {
        assert_eq!(c["closed"], true, "the writer closed the file: {c}");
        assert_eq!(c["stopped_on_error"], true, "{c}");
        assert_eq!(c["torn_bytes"], 0, "{c}");
        assert_eq!(c["damaged"].as_array().unwrap().len(), 0, "{c}");
        assert_eq!(c["gaps"].as_array().unwrap().len(), 0, "{c}");
    }
}
