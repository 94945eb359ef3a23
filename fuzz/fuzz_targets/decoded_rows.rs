//! Every row the decoders accept, from any bytes, is storable on PostgreSQL: no NUL in a text
//! column, each string within its bound, every JSON text valid. The invariant is the one the
//! property test checks in CI (tests/common/storable.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/storable.rs"]
mod storable;

fuzz_target!(|body: &[u8]| {
    storable::check(body);
});
