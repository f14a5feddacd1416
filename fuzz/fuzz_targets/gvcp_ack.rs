//! Fuzzes GVCP acknowledge parsing: no input may panic, and whatever parses
//! and re-emits must parse back to the same status, id and body.
#![no_main]

use gvcap::wire::gvcp::AckRepr;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((header, repr)) = AckRepr::parse(data) else {
        return;
    };
    let mut out = vec![0u8; repr.buffer_len()];
    // Strings longer than their field minus the NUL parse but do not emit.
    let Ok(n) = repr.emit(header.status, header.ack_id, &mut out) else {
        return;
    };
    let (again_header, again) = AckRepr::parse(&out[..n]).expect("emitted ack must parse");
    assert_eq!(again, repr);
    assert_eq!(again_header.status, header.status);
    assert_eq!(again_header.ack_id, header.ack_id);
});
