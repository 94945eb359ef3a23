//! The text-format parser on arbitrary bytes: it may refuse them, never panic; fed in chunks it
//! reads exactly what it reads whole; and what it accepts re-encodes (for the Pushgateway) into
//! text it reads back without a malformed line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodepulse::wire::exposition::{Exposition, LineError, ParseError, Parser, Syntax};
use nodepulse::wire::pushgateway::{TargetSeries, encode};

/// What a parse came to, comparably: the push body it encodes to and the lines it refused.
fn outcome(
    parsed: &Result<Exposition, ParseError>,
) -> Result<(String, Vec<LineError>, usize), ParseError> {
    let exposition = parsed.as_ref().map_err(Clone::clone)?;
    let targets = [TargetSeries {
        role: "beacon-node",
        exposition: Some(exposition),
    }];
    Ok((
        encode(&targets, None, &Default::default()).0,
        exposition.line_errors().to_vec(),
        exposition.malformed_lines(),
    ))
}

fuzz_target!(|body: &[u8]| {
    let whole = Exposition::parse(body);
    // The last byte picks the chunk size (1 to 256 bytes), so cuts fall everywhere in lines.
    let step = body.last().map_or(1, |&b| usize::from(b) + 1);
    let mut parser = Parser::new(Syntax::from_tail(body), None);
    for chunk in body.chunks(step) {
        parser.feed(chunk);
    }
    let chunked = parser.finish();
    assert_eq!(
        outcome(&whole),
        outcome(&chunked),
        "fed in chunks of {step}"
    );

    let Ok((text, _, _)) = outcome(&whole) else {
        return;
    };
    let again = Exposition::parse(text.as_bytes()).expect("our own push body parses");
    assert_eq!(
        again.malformed_lines(),
        0,
        "our own push body is well-formed:\n{text}"
    );
});
