//! A parsed Prometheus text exposition, indexed by metric name.
//!
//! This type is the only place that knows which parser reads the text: profiles look series up by
//! family name and label here and never see the parser's own types, so the parser can be replaced
//! (the performance work plans its own streaming parser) without touching a profile.
//!
//! Histogram and summary families keep only their `_sum`/`_count` series, as plain samples: nothing
//! we map reads a bucket, and a uniform "name -> samples" shape keeps every lookup simple.

use std::collections::HashMap;

/// The type a family was declared with (or `Untyped` when it had no `# TYPE` line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

/// One series: its labels (sorted by name) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    labels: Vec<(String, String)>,
    value: f64,
}

impl Sample {
    pub fn value(&self) -> f64 {
        self.value
    }

    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn has_no_labels(&self) -> bool {
        self.labels.is_empty()
    }
}

/// All series of one metric name.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    kind: MetricKind,
    samples: Vec<Sample>,
}

impl Family {
    pub fn kind(&self) -> MetricKind {
        self.kind
    }

    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }
}

/// Why a body could not be read as an exposition at all.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParseError {
    #[error("body is not UTF-8 (first bad byte at offset {offset})")]
    NotUtf8 { offset: usize },
    #[error("no metric samples in {lines} non-comment lines: not a Prometheus text exposition")]
    NoSamples { lines: usize },
}

/// A scrape, parsed and indexed by metric name.
#[derive(Debug, Clone, Default)]
pub struct Exposition {
    families: HashMap<String, Family>,
}

impl Exposition {
    /// Parses the text format from raw response bytes.
    ///
    /// An empty body is a valid, empty exposition; a body with content lines but not one sample
    /// (an HTML error page served with 200, say) is an error rather than "a node with no metrics".
    pub fn parse(body: &[u8]) -> Result<Self, ParseError> {
        let text = std::str::from_utf8(body).map_err(|err| ParseError::NotUtf8 {
            offset: err.valid_up_to(),
        })?;
        let lines = text.lines().map(|line| Ok(line.to_owned()));
        // prometheus-parse only fails when the line iterator does, and ours never does.
        let scrape =
            prometheus_parse::Scrape::parse(lines).unwrap_or_else(|_| prometheus_parse::Scrape {
                docs: HashMap::new(),
                samples: Vec::new(),
            });

        let mut families: HashMap<String, Family> = HashMap::new();
        for raw in scrape.samples {
            let Some((kind, value)) = scalar(raw.value) else {
                continue;
            };
            let mut labels: Vec<(String, String)> = raw
                .labels
                .iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            labels.sort();
            families
                .entry(raw.metric)
                .or_insert_with(|| Family {
                    kind,
                    samples: Vec::new(),
                })
                .samples
                .push(Sample { labels, value });
        }

        if families.is_empty() {
            let lines = text
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .count();
            if lines > 0 {
                return Err(ParseError::NoSamples { lines });
            }
        }
        Ok(Exposition { families })
    }

    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.get(name)
    }

    /// The series of a family, empty when the family is absent.
    pub fn samples(&self, name: &str) -> &[Sample] {
        self.families
            .get(name)
            .map_or(&[], |family| family.samples())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.families.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.families.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.families.len()
    }

    pub fn is_empty(&self) -> bool {
        self.families.is_empty()
    }
}

/// The plain kind and value of one parsed sample. Histogram and summary samples hold only their
/// buckets and quantiles, which nothing reads: the parser reports `_sum`/`_count` separately.
fn scalar(value: prometheus_parse::Value) -> Option<(MetricKind, f64)> {
    use prometheus_parse::Value;
    match value {
        Value::Counter(v) => Some((MetricKind::Counter, v)),
        Value::Gauge(v) => Some((MetricKind::Gauge, v)),
        Value::Untyped(v) => Some((MetricKind::Untyped, v)),
        Value::Histogram(_) | Value::Summary(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "\
# HELP libp2p_peers Connected peers
# TYPE libp2p_peers gauge
libp2p_peers 42
# TYPE p2p_peer_count gauge
p2p_peer_count{state=\"Connected\"} 37
p2p_peer_count{state=\"Bad\"} 1
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 1.5e+03
# TYPE beacon_block_processing_seconds histogram
beacon_block_processing_seconds_bucket{le=\"0.1\"} 3
beacon_block_processing_seconds_bucket{le=\"+Inf\"} 5
beacon_block_processing_seconds_sum 0.9
beacon_block_processing_seconds_count 5
";

    #[test]
    fn looks_up_by_name_and_label() {
        let exposition = Exposition::parse(BODY.as_bytes()).expect("valid body");
        assert_eq!(exposition.samples("libp2p_peers")[0].value(), 42.0);
        let connected = exposition
            .samples("p2p_peer_count")
            .iter()
            .find(|s| s.label("state") == Some("Connected"))
            .map(Sample::value);
        assert_eq!(connected, Some(37.0));
        assert_eq!(
            exposition
                .family("process_cpu_seconds_total")
                .map(Family::kind),
            Some(MetricKind::Counter)
        );
        assert_eq!(
            exposition.samples("beacon_block_processing_seconds_count")[0].value(),
            5.0
        );
        assert!(exposition.samples("absent").is_empty());
    }

    #[test]
    fn html_page_is_not_an_exposition() {
        let err = Exposition::parse(b"<html>\n<body>502 Bad Gateway</body>\n</html>\n")
            .expect_err("html must be rejected");
        assert_eq!(err, ParseError::NoSamples { lines: 3 });
    }

    #[test]
    fn invalid_utf8_names_the_offset() {
        let err = Exposition::parse(b"up 1\n\xff\xfe").expect_err("bad utf-8");
        assert_eq!(err, ParseError::NotUtf8 { offset: 5 });
    }

    #[test]
    fn empty_body_is_empty_exposition() {
        let exposition = Exposition::parse(b"").expect("empty is valid");
        assert!(exposition.is_empty());
    }
}
