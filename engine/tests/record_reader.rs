//! The reader against damaged files: a flipped byte names its record, a cut
//! file stops at the last complete record and measures the torn bytes, and
//! no byte string makes it panic.

mod record_support;

use std::fs::{self, OpenOptions};
use std::io::Cursor;
use std::path::PathBuf;

use gvcap::record::{
    AlignedBuf, BackendChoice, ReadError, Recorder, RecorderConfig, RecordingReader,
};
use proptest::prelude::*;
use record_support::*;

const FRAME: usize = 10_000;

/// Records `n` pattern frames of camera 0 into one file and returns its bytes' path.
fn record(dir: &std::path::Path, n: u64, index_interval: u32) -> PathBuf {
    let mut config = RecorderConfig::new(vec![dir.to_path_buf()]);
    config.backend = BackendChoice::Pwrite;
    config.index_interval = index_interval;
    config.extent_bytes = 1 << 20;
    config.channel_capacity = n as usize + 1;
    let rec = Recorder::<AlignedBuf>::start(config, vec![camera(0, FRAME as u32, 1)]).unwrap();
    for b in 0..n {
        rec.offer(aligned_frame(0, b, FRAME));
    }
    let summary = rec.stop();
    assert!(summary.error.is_none());
    summary.cameras[0].files[0].clone()
}

/// Offset of frame `seq`'s record (4096 header + 12288 padded payload each, plus index records).
fn offset_of(path: &PathBuf, seq: u64) -> u64 {
    let mut r = RecordingReader::open(path).unwrap();
    r.index().unwrap()[seq as usize].offset
}

#[test]
fn a_flipped_payload_byte_names_its_record_and_the_rest_still_reads() {
    let dir = temp_dir();
    let path = record(dir.path(), 10, 1024);
    let at = offset_of(&path, 4) + 4096 + 1234;
    let mut bytes = fs::read(&path).unwrap();
    bytes[at as usize] ^= 0x40;
    fs::write(&path, &bytes).unwrap();

    let mut r = RecordingReader::open(&path).unwrap();
    let results: Vec<_> = r.frames().collect();
    assert_eq!(results.len(), 10);
    for (i, res) in results.iter().enumerate() {
        match res {
            Ok(f) => {
                assert_ne!(i, 4);
                check_frame(f, 0);
            }
            Err(
                e @ ReadError::Checksum {
                    sequence, block_id, ..
                },
            ) => {
                assert_eq!((i, *sequence, *block_id), (4, 4, 4));
                let msg = e.to_string();
                assert!(
                    msg.contains("record #4") && msg.contains("checksum mismatch"),
                    "{msg}"
                );
            }
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    let scan = r.scan().unwrap();
    assert_eq!(scan.frames, 9);
    assert_eq!(scan.damaged.len(), 1);
    assert_eq!(scan.damaged[0].sequence, 4);
    assert_eq!(scan.torn_bytes, 0);
    // A direct read of the damaged frame says the same.
    let err = r.read_frame_at(offset_of(&path, 4)).unwrap_err();
    assert!(
        matches!(err, ReadError::Checksum { sequence: 4, .. }),
        "{err}"
    );
}

#[test]
fn a_damaged_header_stops_reading_there() {
    let dir = temp_dir();
    let path = record(dir.path(), 6, 1024);
    let third = offset_of(&path, 3);
    let at = third + 30;
    let mut bytes = fs::read(&path).unwrap();
    bytes[at as usize] ^= 1;
    fs::write(&path, &bytes).unwrap();
    let mut r = RecordingReader::open(&path).unwrap();
    let scan = r.scan().unwrap();
    assert_eq!(scan.frames, 3);
    assert_eq!(scan.data_end, third);
    // Everything after it up to the last non-zero byte counts as torn.
    assert!(scan.torn_bytes > 3 * 16384, "{scan:?}");
    assert_eq!(
        scan.torn_bytes + scan.unused_bytes,
        scan.file_len - scan.data_end
    );
}

#[test]
fn a_cut_file_reads_up_to_its_last_complete_record() {
    let dir = temp_dir();
    let path = record(dir.path(), 8, 1024);
    let fifth = offset_of(&path, 5);
    let cut = fifth + 4096 + 5000;
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(cut)
        .unwrap();
    let mut r = RecordingReader::open(&path).unwrap();
    let frames: Vec<_> = r.frames().map(|f| f.unwrap()).collect();
    assert_eq!(frames.len(), 5);
    frames.iter().for_each(|f| check_frame(f, 0));
    let scan = r.scan().unwrap();
    assert_eq!(scan.data_end, fifth);
    assert_eq!(scan.torn_bytes, 4096 + 5000);
    assert_eq!(scan.unused_bytes, 0);
    // The header still says closed, but its index points past the end: rebuilt from records.
    assert_eq!(r.index().unwrap().len(), 5);
}

#[test]
fn zeros_after_the_last_record_are_unused_not_torn() {
    let dir = temp_dir();
    let path = record(dir.path(), 3, 1024);
    let len = fs::metadata(&path).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len + (1 << 20))
        .unwrap();
    let scan = RecordingReader::open(&path).unwrap().scan().unwrap();
    assert_eq!(scan.frames, 3);
    assert_eq!(scan.torn_bytes, 0);
    assert_eq!(scan.unused_bytes, 1 << 20);
}

#[test]
fn index_records_chain_across_the_file() {
    let dir = temp_dir();
    let path = record(dir.path(), 23, 4);
    let mut r = RecordingReader::open(&path).unwrap();
    let scan = r.scan().unwrap();
    assert_eq!(scan.index_records, 6); // 5 full ones of 4 frames, then the final 3
    let index = r.index().unwrap();
    assert_eq!(index, scan.index);
    assert_eq!(
        index.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        (0..23).collect::<Vec<_>>()
    );
}

#[test]
fn not_a_recording_is_a_clear_error() {
    let err = RecordingReader::with_name(Cursor::new(vec![7u8; 9000]), "junk".into()).unwrap_err();
    assert!(err.to_string().contains("junk: file header"), "{err}");
}

fn small_recording() -> Vec<u8> {
    let dir = temp_dir();
    let path = record(dir.path(), 4, 2);
    fs::read(path).unwrap()
}

/// Runs every reader entry point; only panics (the test harness) count as failures.
fn exercise(bytes: Vec<u8>) -> u64 {
    let Ok(mut r) = RecordingReader::with_name(Cursor::new(bytes), "fuzz".into()) else {
        return 0;
    };
    let n = r.frames().filter(|f| f.is_ok()).count() as u64;
    let _ = r.index();
    let _ = r.rebuild_index();
    let _ = r.read_frame_at(4096);
    let _ = r.read_frame_at(u64::MAX - 10);
    if let Ok(scan) = r.scan() {
        assert_eq!(scan.frames, n);
        assert!(scan.data_end <= scan.file_len);
        assert_eq!(
            scan.data_end + scan.torn_bytes + scan.unused_bytes,
            scan.file_len
        );
    }
    n
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_byte_string_panics_the_reader(bytes in proptest::collection::vec(any::<u8>(), 0..20_000)) {
        exercise(bytes);
    }

    #[test]
    fn no_damage_to_a_real_file_panics_the_reader(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = small_recording();
        for (at, x) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        let keep = cut.index(bytes.len() + 1);
        bytes.truncate(keep.max(bytes.len() / 2));
        let n = exercise(bytes);
        prop_assert!(n <= 4);
    }
}
