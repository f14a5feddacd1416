//! Fuzz target: the GVSP reassembler driven by an arbitrary operation script
//! (valid, resent, mutated, truncated, fragmented and raw datagrams, error
//! answers, time passing); see `gvcap::stream::testkit::exercise`, which
//! panics on any broken invariant. Seeds: `fuzz/corpus/reassembler/`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|script: &[u8]| {
    gvcap::stream::testkit::exercise(script);
});
