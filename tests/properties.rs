//! Properties of the parser over many generated inputs (a fixed seed, so a failure reproduces):
//! whatever we encode we read back exactly; no mutation of a real scrape makes it panic; a
//! malformed line costs only itself; and however a body is cut into chunks, it reads the same.

use nodepulse::retry::Jitter;
use nodepulse::wire::exposition::{Exposition, Parser, Sample, Syntax};
use nodepulse::wire::pushgateway::{TargetSeries, encode};
use serde_json::json;

/// Characters that stress label values: quotes, backslashes, newlines, the label syntax itself,
/// and non-ASCII.
const TRICKY: [char; 14] = [
    '"', '\\', '\n', ',', '=', '{', '}', ' ', 'a', 'Z', '0', 'é', '→', '#',
];

/// A series as written: family name, labels, value.
type Series = (String, Vec<(String, String)>, f64);

struct Generator(Jitter);

impl Generator {
    fn below(&mut self, n: usize) -> usize {
        (self.0.next_unit() * n as f64) as usize
    }

    fn label_value(&mut self) -> String {
        (0..self.below(12))
            .map(|_| TRICKY[self.below(TRICKY.len())])
            .collect()
    }

    fn value(&mut self) -> f64 {
        match self.below(8) {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            3 => -(self.below(1000) as f64),
            4 => 1e300,
            5 => self.0.next_unit() * 1e-9,
            _ => (self.below(1_000_000) as f64) / 8.0,
        }
    }
}

fn same_value(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b
}

#[test]
fn what_we_encode_we_read_back_exactly() {
    let mut generate = Generator(Jitter::seeded(0x5eed));
    for round in 0..300 {
        let mut text = String::new();
        let mut written: Vec<Series> = Vec::new();
        for family in 0..1 + generate.below(5) {
            let name = format!("family_{family}");
            text.push_str(&format!("# TYPE {name} gauge\n"));
            for series in 0..1 + generate.below(4) {
                let labels = vec![
                    ("series".to_owned(), series.to_string()),
                    ("text".to_owned(), generate.label_value()),
                ];
                let value = generate.value();
                let rendered: Vec<String> = labels
                    .iter()
                    .map(|(k, v)| {
                        let escaped = v
                            .replace('\\', "\\\\")
                            .replace('"', "\\\"")
                            .replace('\n', "\\n");
                        format!("{k}=\"{escaped}\"")
                    })
                    .collect();
                let value_text = if value.is_nan() {
                    "NaN".to_owned()
                } else if value.is_infinite() {
                    if value > 0.0 {
                        "+Inf".into()
                    } else {
                        "-Inf".into()
                    }
                } else {
                    value.to_string()
                };
                text.push_str(&format!("{name}{{{}}} {value_text}\n", rendered.join(",")));
                written.push((name.clone(), labels, value));
            }
        }
        let parsed = Exposition::parse(text.as_bytes()).expect("generated text parses");
        assert_eq!(parsed.malformed_lines(), 0, "round {round}:\n{text}");
        // Through the Pushgateway encoder and back: the same series, labels and values.
        let (pushed, _) = encode(
            &[TargetSeries {
                role: "r",
                exposition: Some(&parsed),
            }],
            None,
            &Default::default(),
        );
        let reread = Exposition::parse(pushed.as_bytes()).expect("our push body parses");
        for (name, labels, value) in &written {
            for exposition in [&parsed, &reread] {
                let found: Vec<Sample> = exposition
                    .samples(name)
                    .filter(|sample| {
                        labels
                            .iter()
                            .all(|(k, v)| sample.label(k) == Some(v.as_str()))
                    })
                    .collect();
                assert_eq!(
                    found.len(),
                    1,
                    "round {round}: {name} {labels:?} in\n{text}"
                );
                assert!(
                    same_value(found[0].value(), *value),
                    "round {round}: {name} {labels:?}"
                );
            }
        }
    }
}

#[test]
fn no_mutation_of_a_real_scrape_panics_and_bad_lines_cost_only_themselves() {
    let original = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/lighthouse/beacon.prom"
    ))
    .expect("fixture");
    let good = Exposition::parse(original.as_slice()).expect("fixture parses");
    let lines = original.iter().filter(|&&b| b == b'\n').count();
    let mut generate = Generator(Jitter::seeded(0xfee1));
    for _ in 0..2000 {
        let mut body = original.clone();
        for _ in 0..1 + generate.below(8) {
            let at = generate.below(body.len());
            match generate.below(3) {
                0 => body[at] = (generate.below(256)) as u8,
                1 => {
                    body.remove(at);
                }
                _ => {
                    const SYNTAX: &[u8] = b"{}\"\\=, \n#";
                    body.insert(at, SYNTAX[generate.below(SYNTAX.len())]);
                }
            }
        }
        // Never a panic; when it parses, every line is accounted for as read or skipped.
        if let Ok(mutated) = Exposition::parse(&body) {
            assert!(mutated.malformed_lines() <= lines + 8);
        }
    }
    assert_eq!(good.malformed_lines(), 0);

    // One line damaged at a time: every series of the other lines is still read, with its labels
    // and value, exactly as it is read from the scrape without the damaged line.
    let text = String::from_utf8(original.clone()).expect("fixture is UTF-8");
    let all_lines: Vec<&str> = text.lines().collect();
    for _ in 0..500 {
        let victim = generate.below(all_lines.len());
        let mut damaged: Vec<u8> = all_lines[victim].as_bytes().to_vec();
        for _ in 0..1 + generate.below(3) {
            const SYNTAX: &[u8] = b"{}\"\\=, #";
            let at = generate.below(damaged.len() + 1);
            match generate.below(3) {
                0 if at < damaged.len() => damaged[at] = SYNTAX[generate.below(SYNTAX.len())],
                1 if at < damaged.len() => {
                    damaged.remove(at);
                }
                _ => damaged.insert(at, SYNTAX[generate.below(SYNTAX.len())]),
            }
        }
        let rebuild = |middle: Option<&[u8]>| {
            let mut body = Vec::new();
            for (index, line) in all_lines.iter().enumerate() {
                match (index == victim, middle) {
                    (true, Some(bytes)) => body.extend_from_slice(bytes),
                    (true, None) => continue,
                    (false, _) => body.extend_from_slice(line.as_bytes()),
                }
                body.push(b'\n');
            }
            body
        };
        let without = Exposition::parse(rebuild(None).as_slice()).expect("parses");
        let Ok(mutated) = Exposition::parse(rebuild(Some(&damaged)).as_slice()) else {
            continue;
        };
        let read = series(&mutated);
        for kept in series(&without) {
            assert!(
                read.contains(&kept),
                "line {victim} damaged into {:?} lost {kept:?}",
                String::from_utf8_lossy(&damaged)
            );
        }
    }
}

/// A sample as (name, sorted labels, value bits): hashable, unlike the value.
type SeriesBits = (String, Vec<(String, String)>, u64);

/// Every sample of a scrape.
fn series(exposition: &Exposition) -> std::collections::HashSet<SeriesBits> {
    exposition
        .families()
        .flat_map(|family| family.samples())
        .map(|sample| {
            let mut labels: Vec<(String, String)> = sample
                .labels()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect();
            labels.sort();
            (sample.name().to_owned(), labels, sample.value().to_bits())
        })
        .collect()
}

/// Everything a parse yields, in order: families with type, help and unit, then their samples.
fn everything(exposition: &Exposition) -> Vec<String> {
    exposition
        .families()
        .flat_map(|family| {
            let header = format!(
                "{} {:?} {:?} {:?}",
                family.name(),
                family.kind(),
                family.help(),
                family.unit()
            );
            std::iter::once(header).chain(family.samples().map(|sample| {
                format!(
                    "{}{:?} {:?} {:?} {:?}",
                    sample.name(),
                    sample.labels().collect::<Vec<_>>(),
                    sample.value().to_bits(),
                    sample.timestamp_ms(),
                    sample.exemplar().map(|e| (
                        e.labels().collect::<Vec<_>>(),
                        e.value(),
                        e.timestamp_ms()
                    ))
                )
            }))
        })
        .chain(
            exposition
                .line_errors()
                .iter()
                .map(|error| format!("{}: {}", error.line, error.reason)),
        )
        .collect()
}

#[test]
fn any_cut_into_chunks_reads_as_the_whole_body() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut bodies: Vec<Vec<u8>> = [
        "lighthouse/beacon.prom",
        "teku/validator.prom",
        "nimbus/beacon.prom",
    ]
    .iter()
    .map(|fixture| std::fs::read(format!("{root}/fixtures/{fixture}")).expect("fixture"))
    .collect();
    for corpus in ["edge-cases.prom", "openmetrics.om"] {
        bodies.push(std::fs::read(format!("{root}/tests/corpus/{corpus}")).expect("corpus"));
    }
    let mut generate = Generator(Jitter::seeded(0xc0ffee));
    for body in &bodies {
        let syntax = Syntax::from_tail(body);
        let whole = everything(&Exposition::parse_wanted(body, syntax, None).expect("parses"));
        assert!(whole.len() > 30);
        for _ in 0..50 {
            let mut parser = Parser::new(syntax, None);
            let mut rest = body.as_slice();
            let mut cuts = Vec::new();
            while !rest.is_empty() {
                let size = (1 + generate.below(300)).min(rest.len());
                cuts.push(size);
                parser.feed(&rest[..size]);
                rest = &rest[size..];
            }
            let chunked = everything(&parser.finish().expect("parses"));
            assert_eq!(chunked, whole, "chunks {cuts:?}");
        }
    }
}

/// Strings that test what may be stored: NUL, which PostgreSQL's text cannot hold, escapes,
/// multi-byte characters cut anywhere, and lengths past every bound.
fn hostile_text(generate: &mut Generator) -> String {
    const PIECES: [&str; 8] = ["\0", "a", "é", "→", "\\", "\"", "\u{1F600}", "x\0y"];
    let pieces = match generate.below(4) {
        0 => generate.below(4),
        1 => 20 + generate.below(40),
        2 => 200 + generate.below(200),
        _ => 900 + generate.below(400),
    };
    (0..pieces)
        .map(|_| PIECES[generate.below(PIECES.len())])
        .collect()
}

#[test]
fn every_row_the_decoders_accept_is_storable_on_postgresql() {
    let mut generate = Generator(Jitter::seeded(0x5702));
    let genesis = format!("0x{}", "ab".repeat(32));
    for _ in 0..1_000 {
        let mut text = || hostile_text(&mut generate);
        let bodies = [
            json!({"version": 1, "process": "beaconnode", "client_name": text(),
                   "client_version": text(), text(): text(), "exporter_version": text()}),
            json!({"version": 1, "process": "system", "misc_os": text()}),
            json!({"id": 1, "ts": "x", "payload": {"msg": text(), "target": text(), "x": 1}}),
            json!({"msg": "system.connected", "genesis_hash": genesis, "network_id": text(),
                   "name": text(), "chain": text(), "implementation": text(), "version": text()}),
            json!({"msg": "system.interval", "height": 5, "best": text(), "peers": text()}),
            json!({"payload": {"Node": {"name": text(), "peer_id": text(), "client": text()},
                   "System": {text(): text(), "cpu_usage": 3}}, "ts": "x"}),
        ];
        for body in bodies {
            crate::common::storable::check(body.to_string().as_bytes());
        }
    }
}
