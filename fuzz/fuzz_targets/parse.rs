//! The text-format parser on arbitrary bytes: it may refuse them, never panic, and what it accepts
//! re-encodes (for the Pushgateway) into text it reads back without a malformed line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodepulse::exposition::Exposition;
use nodepulse::formats::pushgateway::{TargetSeries, encode};

fuzz_target!(|body: &[u8]| {
    let Ok(exposition) = Exposition::parse(body) else {
        return;
    };
    let targets = [TargetSeries {
        role: "beacon-node",
        exposition: Some(&exposition),
    }];
    let (text, _) = encode(&targets, None);
    let again = Exposition::parse(text.as_bytes()).expect("our own push body parses");
    assert_eq!(again.malformed_lines(), 0, "our own push body is well-formed:\n{text}");
});
