//! Fuzzes the PTP message parser gvsim's slave reads from multicast: no
//! input may panic it, and a message it accepts with a body it knows must
//! emit and parse back to the same header and body (the length field aside:
//! a datagram may declare more than the body needs).
#![no_main]

use gvcap::wire::ptp::{Body, Message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = Message::parse(data) else {
        return;
    };
    let _ = (message.header.two_step(), message.header.correction_ns());
    if message.body == Body::Other {
        return;
    }
    let mut out = vec![0u8; message.buffer_len()];
    let n = message.emit(&mut out).expect("a parsed message must emit");
    let again = Message::parse(&out[..n]).expect("an emitted message must parse");
    assert_eq!(again.body, message.body);
    let mut header = message.header;
    header.message_length = again.header.message_length;
    assert_eq!(again.header, header);
});
