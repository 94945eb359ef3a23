//! Differential test: every fixture and an edge-case corpus (escapes, NaN/±Inf, timestamps, untyped
//! families, a family without TYPE, histograms and summaries) parsed by ours and by the reference
//! parser, Python's prometheus_client (scripts/test.sh installs it), must agree on every sample's
//! name, labels, value, timestamp and family type.

use std::collections::BTreeMap;
use std::process::Command;

use nodepulse::exposition::{Exposition, MetricKind};

/// Dumps every sample as JSON lines: family type, sample name, labels, value (as text), timestamp.
const REFERENCE: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
for family in text_string_to_metric_families(open(sys.argv[1], encoding="utf-8").read()):
    for s in family.samples:
        print(json.dumps([family.type, s.name, sorted(s.labels.items()), repr(float(s.value)),
                          None if s.timestamp is None else round(float(s.timestamp) * 1000)]))
"#;

type Key = (String, Vec<(String, String)>);
type Seen = BTreeMap<Key, (String, u64, Option<i64>)>;

fn reference(path: &str) -> Seen {
    let output = Command::new("python3")
        .args(["-c", REFERENCE, path])
        .output()
        .expect("python3 runs (scripts/test.sh installs prometheus_client)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let (kind, name, labels, value, timestamp): (
                String,
                String,
                Vec<(String, String)>,
                String,
                Option<i64>,
            ) = serde_json::from_str(line).expect("the reference dump is JSON");
            let kind = if kind == "unknown" {
                "untyped".to_owned()
            } else {
                kind
            };
            let value: f64 = value.parse().expect("Python's repr of a float");
            ((name, labels), (kind, bits(value), timestamp))
        })
        .collect()
}

/// A value as comparable bits: every NaN is the same NaN.
fn bits(value: f64) -> u64 {
    if value.is_nan() {
        f64::NAN.to_bits()
    } else {
        value.to_bits()
    }
}

fn ours(path: &str) -> Seen {
    let body = std::fs::read(path).expect("corpus file");
    let exposition = Exposition::parse(&body).expect("ours parses it");
    assert_eq!(
        exposition.malformed_lines(),
        0,
        "{path}: {:?}",
        exposition.line_errors()
    );
    let mut seen = Seen::new();
    for family in exposition.families() {
        // The reference names a counter `x` whose samples are `x_total`, and calls a family with
        // no TYPE `unknown`: only the type is compared.
        let kind = match family.kind() {
            MetricKind::Untyped => "untyped",
            other => other.as_str(),
        };
        for sample in &family.samples {
            let mut labels = sample.labels.clone();
            labels.sort();
            // The reference renames a counter's sample `x` to `x_total`, as OpenMetrics spells it.
            let name = if family.kind() == MetricKind::Counter
                && !sample.name.ends_with("_total")
                && !sample.name.ends_with("_created")
            {
                format!("{}_total", sample.name)
            } else {
                sample.name.clone()
            };
            seen.insert(
                (name, labels),
                (kind.to_owned(), bits(sample.value()), sample.timestamp_ms),
            );
        }
    }
    seen
}

#[test]
fn ours_and_the_reference_parser_agree_on_every_sample() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut corpus: Vec<String> = std::fs::read_dir(format!("{root}/fixtures"))
        .expect("fixtures")
        .flatten()
        .flat_map(|client| {
            std::fs::read_dir(client.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|file| file.path().display().to_string())
        .filter(|path| path.ends_with(".prom"))
        .collect();
    corpus.push(format!("{root}/tests/corpus/edge-cases.prom"));
    assert!(corpus.len() >= 11);
    for path in corpus {
        let (theirs, mine) = (reference(&path), ours(&path));
        assert_eq!(mine.len(), theirs.len(), "{path}: sample counts differ");
        for (key, want) in &theirs {
            assert_eq!(mine.get(key), Some(want), "{path}: {key:?}");
        }
    }
}
