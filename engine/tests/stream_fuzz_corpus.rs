//! Replays the reassembler fuzz target's committed seed corpus
//! (`fuzz/corpus/reassembler/`) and a few thousand seeded random scripts
//! through `testkit::exercise` on the stable toolchain, so the target's
//! invariants are checked by every `cargo test`, not only under cargo-fuzz.

use std::path::Path;

use gvcap::stream::testkit::{exercise, SplitMix64};

#[test]
fn seed_corpus_runs_clean_and_reaches_frames() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/reassembler");
    let mut seeds = 0;
    let mut frames = 0;
    for entry in std::fs::read_dir(&dir).expect("the seed corpus is committed") {
        let script = std::fs::read(entry.unwrap().path()).unwrap();
        let counters = exercise(&script);
        frames += counters.frames_completed + counters.frames_incomplete;
        seeds += 1;
    }
    assert!(seeds >= 5, "only {seeds} seeds in {}", dir.display());
    assert!(frames >= 5, "the seeds should reach finished frames");
}

#[test]
fn random_scripts_keep_every_invariant() {
    let mut rng = SplitMix64(0x0067_7663_6170);
    for _ in 0..3000 {
        let len = rng.below(400) as usize;
        let mut script: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        // Bias toward valid packets (ops 0 and 1) so that frames complete.
        for (i, byte) in script.iter_mut().enumerate().skip(4) {
            if i % 3 == 1 && rng.chance(0.6) {
                *byte &= 0x01;
            }
        }
        exercise(&script);
    }
}
