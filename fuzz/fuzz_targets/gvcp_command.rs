//! Fuzzes GVCP command parsing: no input may panic, and whatever parses and
//! re-emits must parse back to the same header fields and body.
#![no_main]

use gvcap::wire::gvcp::CommandRepr;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((header, repr)) = CommandRepr::parse(data) else {
        return;
    };
    let mut out = vec![0u8; repr.buffer_len()];
    // Bodies a device would reject (e.g. READMEM of 3 bytes) parse but do not emit.
    let Ok(n) = repr.emit(header.req_id, header.flags, &mut out) else {
        return;
    };
    let (again_header, again) = CommandRepr::parse(&out[..n]).expect("emitted command must parse");
    assert_eq!(again, repr);
    assert_eq!(again_header.req_id, header.req_id);
    assert_eq!(again_header.flags, repr.effective_flags(header.flags));
});
