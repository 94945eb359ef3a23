//! Differential test: every fixture and the edge-case corpora parsed by ours and by the reference
//! parsers, Python's prometheus_client (scripts/test.sh installs it), must agree on every sample's
//! name, labels, value, timestamp, exemplar and family type, and in OpenMetrics on every family's
//! help and unit too. The classic corpus covers escapes, NaN/±Inf, timestamps, untyped families, a
//! family without TYPE, histograms and summaries; the OpenMetrics one adds `_total`/`_created`,
//! exemplars, fractional-second timestamps, units, info, stateset and gaugehistogram families.

use std::collections::BTreeMap;
use std::process::Command;

use nodepulse::wire::exposition::{Exposition, MetricKind, Syntax};

/// Dumps every family, then every sample, as JSON lines. The classic parser (`text`) has no units
/// or exemplars; the OpenMetrics one (`openmetrics`) has both.
const REFERENCE: &str = r#"
import json, sys
from importlib import import_module
parser = import_module({"text": "prometheus_client.parser",
                        "openmetrics": "prometheus_client.openmetrics.parser"}[sys.argv[1]])
def ms(timestamp):
    return None if timestamp is None else round(float(timestamp) * 1000)
for family in parser.text_string_to_metric_families(open(sys.argv[2], encoding="utf-8").read()):
    print(json.dumps(["family", family.name, family.type, family.documentation, family.unit]))
    for s in family.samples:
        exemplar = getattr(s, "exemplar", None)
        if exemplar is not None:
            exemplar = [sorted(exemplar.labels.items()), repr(float(exemplar.value)), ms(exemplar.timestamp)]
        print(json.dumps(["sample", family.type, s.name, sorted(s.labels.items()), repr(float(s.value)),
                          ms(s.timestamp), exemplar]))
"#;

type Labels = Vec<(String, String)>;
/// Labels, value (as comparable bits) and timestamp.
type Exemplar = (Labels, u64, Option<i64>);
/// Family type, value (as bits), timestamp, exemplar.
type Sample = (String, u64, Option<i64>, Option<Exemplar>);
/// Every sample, keyed by sample name and labels.
type Samples = BTreeMap<(String, Labels), Sample>;
/// Type, help, unit; keyed by family name.
type Families = BTreeMap<String, (String, String, String)>;

/// A value as comparable bits: every NaN is the same NaN.
fn bits(value: f64) -> u64 {
    if value.is_nan() {
        f64::NAN.to_bits()
    } else {
        value.to_bits()
    }
}

fn kind_name(kind: &str) -> String {
    match kind {
        "unknown" => "untyped".to_owned(),
        other => other.to_owned(),
    }
}

fn reference(syntax: Syntax, path: &str) -> (Families, Samples) {
    let parser = match syntax {
        Syntax::Classic => "text",
        Syntax::OpenMetrics => "openmetrics",
    };
    let output = Command::new("python3")
        .args(["-c", REFERENCE, parser, path])
        .output()
        .expect("python3 runs (scripts/test.sh installs prometheus_client)");
    assert!(
        output.status.success(),
        "{path}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (mut families, mut samples) = (Families::new(), Samples::new());
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let row: serde_json::Value =
            serde_json::from_str(line).expect("the reference dump is JSON");
        let field = |at: usize| row[at].clone();
        let text = |at: usize| field(at).as_str().unwrap_or_default().to_owned();
        if text(0) == "family" {
            families.insert(text(1), (kind_name(&text(2)), text(3), text(4)));
            continue;
        }
        let labels: Labels = serde_json::from_value(field(3)).expect("labels");
        let value: f64 = text(4).parse().expect("Python's repr of a float");
        let timestamp: Option<i64> = serde_json::from_value(field(5)).expect("timestamp");
        let exemplar: Option<(Labels, String, Option<i64>)> =
            serde_json::from_value(field(6)).expect("exemplar");
        let exemplar = exemplar.map(|(labels, value, timestamp)| {
            let value: f64 = value.parse().expect("Python's repr of a float");
            (labels, bits(value), timestamp)
        });
        samples.insert(
            (text(2), labels),
            (kind_name(&text(1)), bits(value), timestamp, exemplar),
        );
    }
    (families, samples)
}

fn ours(syntax: Syntax, path: &str) -> (Families, Samples) {
    let body = std::fs::read(path).expect("corpus file");
    // Parsed as the reference is told to: a client's text answer may carry an OpenMetrics registry
    // with its `# EOF` inside (Lighthouse and Grandine append libp2p's), yet it is served, and
    // read, as the classic format.
    let exposition = Exposition::parse_wanted(&body, syntax, None).expect("ours parses it");
    assert_eq!(
        exposition.malformed_lines(),
        0,
        "{path}: {:?}",
        exposition.line_errors()
    );
    let (mut families, mut samples) = (Families::new(), Samples::new());
    for family in exposition.families() {
        let kind = family.kind().as_str().to_owned();
        families.insert(
            family.name().to_owned(),
            (
                kind.clone(),
                family.help().unwrap_or_default().to_owned(),
                family.unit().unwrap_or_default().to_owned(),
            ),
        );
        for sample in family.samples() {
            let sorted = |labels: &mut dyn Iterator<Item = (&str, &str)>| {
                let mut labels: Labels = labels
                    .map(|(name, value)| (name.to_owned(), value.to_owned()))
                    .collect();
                labels.sort();
                labels
            };
            // The classic reference renames a counter's sample `x` to `x_total`, as OpenMetrics
            // spells it.
            let name = match (syntax, family.kind()) {
                (Syntax::Classic, MetricKind::Counter)
                    if !sample.name().ends_with("_total")
                        && !sample.name().ends_with("_created") =>
                {
                    format!("{}_total", sample.name())
                }
                _ => sample.name().to_owned(),
            };
            let exemplar = sample.exemplar().map(|exemplar| {
                (
                    sorted(&mut exemplar.labels()),
                    bits(exemplar.value()),
                    exemplar.timestamp_ms(),
                )
            });
            samples.insert(
                (name, sorted(&mut sample.labels())),
                (
                    kind.clone(),
                    bits(sample.value()),
                    sample.timestamp_ms(),
                    exemplar,
                ),
            );
        }
    }
    (families, samples)
}

fn corpus(extension: &str) -> Vec<String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let fixtures = std::fs::read_dir(format!("{root}/fixtures"))
        .expect("fixtures")
        .flatten()
        .map(|client| client.path());
    std::iter::once(format!("{root}/tests/corpus").into())
        .chain(fixtures)
        .flat_map(|dir| std::fs::read_dir(dir).into_iter().flatten().flatten())
        .map(|file| file.path().display().to_string())
        .filter(|path| path.ends_with(extension))
        .collect()
}

/// Whether a classic sample the reference read as untyped belongs to a family that carries
/// `_created` samples. nim-metrics (Nimbus before 2025) writes them inside its classic gauges and
/// histograms, which that format does not know: Python's parser ends the family at the first one
/// and reads the rest as untyped, ours keeps them in their family, as Prometheus types a series by
/// its family's TYPE line. Only there may the types differ.
fn typed_past_created(
    syntax: Syntax,
    mine: &Sample,
    want: &Sample,
    (text, samples): (&str, &Samples),
    name: &str,
) -> bool {
    let family = ["_bucket", "_sum", "_count", "_created"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(name);
    // Ours must give the type the family's own TYPE line declares.
    let type_line = format!("# TYPE {family} ");
    let declared = text
        .lines()
        .find_map(|line| line.strip_prefix(type_line.as_str()))
        .map(str::trim);
    syntax == Syntax::Classic
        && want.0 == "untyped"
        && declared == Some(mine.0.as_str())
        && (&mine.1, &mine.2, &mine.3) == (&want.1, &want.2, &want.3)
        && samples
            .keys()
            .any(|(other, _)| *other == format!("{family}_created"))
}

fn agree_on_samples(syntax: Syntax, paths: &[String]) {
    for path in paths {
        let ((_, theirs), (_, mine)) = (reference(syntax, path), ours(syntax, path));
        let text = std::fs::read_to_string(path).expect("corpus file");
        assert_eq!(mine.len(), theirs.len(), "{path}: sample counts differ");
        for (key, want) in &theirs {
            match mine.get(key) {
                Some(got) if typed_past_created(syntax, got, want, (&text, &theirs), &key.0) => {}
                got => assert_eq!(got, Some(want), "{path}: {key:?}"),
            }
        }
    }
}

#[test]
fn ours_and_the_reference_parser_agree_on_every_classic_sample() {
    let paths = corpus(".prom");
    assert!(paths.len() >= 11, "{paths:?}");
    agree_on_samples(Syntax::Classic, &paths);
}

#[test]
fn ours_and_the_reference_parser_agree_on_every_openmetrics_family_and_sample() {
    let paths = corpus(".om");
    assert!(!paths.is_empty());
    for path in &paths {
        let body = std::fs::read(path).expect("corpus file");
        assert_eq!(Syntax::from_tail(&body), Syntax::OpenMetrics, "{path}");
    }
    agree_on_samples(Syntax::OpenMetrics, &paths);
    for path in &paths {
        let ((theirs, _), (mine, _)) = (
            reference(Syntax::OpenMetrics, path),
            ours(Syntax::OpenMetrics, path),
        );
        assert_eq!(mine, theirs, "{path}");
    }
}
