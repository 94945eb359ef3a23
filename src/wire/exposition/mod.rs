//! A parsed Prometheus exposition, in the text format 0.0.4 or OpenMetrics text: families in the
//! order they appear, and an index from series name to samples for the profiles' lookups.
//!
//! This is our own parser rather than prometheus-parse: the Pushgateway sink forwards label
//! values verbatim, and prometheus-parse corrupts valid ones (an escaped quote, or a `,`, `=` or `}`
//! inside a value) and skips malformed lines without a word. Here escapes are decoded, every
//! malformed line is counted and reported with its line number, and one bad line never costs the
//! rest of the scrape.
//!
//! The parser is fed the body in chunks as they arrive (`Parser`), reads each line where it lies
//! and keeps only what it stores: the names and values of the series wanted, in one buffer that
//! every stored string is a span of. A scrape is never held whole, and a sample costs its numbers
//! and a few offsets rather than a string per name and label.

mod kind;
mod line;
pub mod negotiate;
mod parser;

pub use kind::{MetricKind, Syntax};
pub use parser::Parser;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::num::NonZeroU32;
use std::ops::Range;

/// A line that could not be read, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct LineError {
    /// 1-based.
    pub line: usize,
    pub reason: String,
}

/// Why a body could not be read as an exposition at all.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ParseError {
    #[error("body is not UTF-8 (first bad byte at offset {offset})")]
    NotUtf8 { offset: usize },
    #[error("body is over the parser's limit of {} bytes", parser::MAX_BODY_BYTES)]
    TooLarge,
    #[error(
        "no metric samples in {lines} non-comment lines: not a Prometheus text exposition{}",
        first_error.as_ref().map(|e| format!(" (line {}: {})", e.line, e.reason)).unwrap_or_default()
    )]
    NoSamples {
        lines: usize,
        first_error: Option<LineError>,
    },
}

/// Where a stored string lies in `Exposition::text`.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
}

#[derive(Debug)]
struct StoredLabel {
    name: Span,
    value: Span,
}

/// 24 bytes: a large scrape holds tens of thousands.
#[derive(Debug)]
struct StoredSample {
    /// Position in `Exposition::series`, which holds the name.
    series: u32,
    /// Positions in `Exposition::labels`.
    labels: Range<u32>,
    value: f64,
    /// Position + 1 in `Exposition::extras`: the few samples with a timestamp or an exemplar.
    extra: Option<NonZeroU32>,
}

#[derive(Debug)]
struct StoredSeries {
    name: Span,
    /// (family, sample) positions.
    samples: Vec<(u32, u32)>,
}

/// What few samples have.
#[derive(Debug)]
struct Extra {
    timestamp_ms: Option<i64>,
    exemplar: Option<StoredExemplar>,
}

#[derive(Debug)]
struct StoredExemplar {
    labels: Range<u32>,
    value: f64,
    timestamp_ms: Option<i64>,
}

#[derive(Debug)]
struct StoredFamily {
    name: Span,
    kind: MetricKind,
    help: Option<Span>,
    unit: Option<Span>,
    samples: Vec<StoredSample>,
}

/// A scrape, parsed.
pub struct Exposition {
    syntax: Syntax,
    /// Every stored name and value, end to end.
    text: String,
    families: Vec<StoredFamily>,
    labels: Vec<StoredLabel>,
    extras: Vec<Extra>,
    family_index: HashMap<Box<str>, u32>,
    series_index: HashMap<Box<str>, u32>,
    series: Vec<StoredSeries>,
    malformed_lines: usize,
    line_errors: Vec<LineError>,
}

impl fmt::Debug for Exposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exposition")
            .field("syntax", &self.syntax)
            .field("families", &self.families.len())
            .field("series", &self.series.len())
            .field("malformed_lines", &self.malformed_lines)
            .finish()
    }
}

impl Exposition {
    /// Parses a whole body, its syntax told by the body alone.
    ///
    /// An empty body is a valid, empty exposition; a body with content lines but not one sample (an
    /// HTML error page served with 200, say) is an error rather than "a node with no metrics".
    pub fn parse(body: &[u8]) -> Result<Self, ParseError> {
        Exposition::parse_wanted(body, Syntax::from_tail(body), None)
    }

    /// Parses only the series `wanted` asks for (all with `None`); every other line is skipped
    /// unparsed, which is what lets a profile that reads twenty families pay for twenty.
    pub fn parse_wanted(
        body: &[u8],
        syntax: Syntax,
        wanted: Option<&NameFilter>,
    ) -> Result<Self, ParseError> {
        let mut parser = Parser::new(syntax, wanted);
        parser.feed(body);
        parser.finish()
    }

    fn empty(syntax: Syntax) -> Self {
        Exposition {
            syntax,
            text: String::new(),
            families: Vec::new(),
            labels: Vec::new(),
            extras: Vec::new(),
            family_index: HashMap::new(),
            series_index: HashMap::new(),
            series: Vec::new(),
            malformed_lines: 0,
            line_errors: Vec::new(),
        }
    }

    fn str(&self, span: Span) -> &str {
        &self.text[span.start as usize..span.end as usize]
    }

    pub fn syntax(&self) -> Syntax {
        self.syntax
    }

    /// Families in the order they first appeared.
    pub fn families(&self) -> impl ExactSizeIterator<Item = Family<'_>> {
        self.families.iter().map(|stored| Family {
            exposition: self,
            stored,
        })
    }

    pub fn family(&self, name: &str) -> Option<Family<'_>> {
        self.family_index.get(name).map(|&position| Family {
            exposition: self,
            stored: &self.families[position as usize],
        })
    }

    /// The samples of the series called `name` (a family name or a suffixed series name).
    pub fn samples(&self, name: &str) -> impl Iterator<Item = Sample<'_>> {
        self.series_index
            .get(name)
            .into_iter()
            .flat_map(|&series| &self.series[series as usize].samples)
            .map(|&(family, sample)| Sample {
                exposition: self,
                stored: &self.families[family as usize].samples[sample as usize],
            })
    }

    /// Whether any series is called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.series_index.contains_key(name)
    }

    /// The names of every series.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.series_index.keys().map(|name| &**name)
    }

    pub fn len(&self) -> usize {
        self.families.len()
    }

    pub fn is_empty(&self) -> bool {
        self.families.is_empty()
    }

    /// How many lines were skipped as malformed.
    pub fn malformed_lines(&self) -> usize {
        self.malformed_lines
    }

    /// The first few malformed lines, with their reasons.
    pub fn line_errors(&self) -> &[LineError] {
        &self.line_errors
    }

    fn label_pairs(
        &self,
        range: Range<u32>,
    ) -> impl ExactSizeIterator<Item = (&str, &str)> + Clone {
        self.labels[range.start as usize..range.end as usize]
            .iter()
            .map(|label| (self.str(label.name), self.str(label.value)))
    }
}

/// A metric family: its name, type, help text, unit and samples.
#[derive(Clone, Copy)]
pub struct Family<'a> {
    exposition: &'a Exposition,
    stored: &'a StoredFamily,
}

impl<'a> Family<'a> {
    pub fn name(self) -> &'a str {
        self.exposition.str(self.stored.name)
    }

    pub fn kind(self) -> MetricKind {
        self.stored.kind
    }

    pub fn help(self) -> Option<&'a str> {
        self.stored.help.map(|span| self.exposition.str(span))
    }

    /// The OpenMetrics `# UNIT`.
    pub fn unit(self) -> Option<&'a str> {
        self.stored.unit.map(|span| self.exposition.str(span))
    }

    pub fn samples(self) -> impl ExactSizeIterator<Item = Sample<'a>> {
        self.stored.samples.iter().map(move |stored| Sample {
            exposition: self.exposition,
            stored,
        })
    }
}

impl fmt::Debug for Family<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Family")
            .field("name", &self.name())
            .field("kind", &self.kind())
            .field("samples", &self.stored.samples.len())
            .finish()
    }
}

/// One series: its full name (with any `_bucket`/`_sum`/`_count`/`_total` suffix), labels, value,
/// the timestamp it was exposed with and its exemplar, if any.
#[derive(Clone, Copy)]
pub struct Sample<'a> {
    exposition: &'a Exposition,
    stored: &'a StoredSample,
}

impl<'a> Sample<'a> {
    pub fn name(self) -> &'a str {
        let series = &self.exposition.series[self.stored.series as usize];
        self.exposition.str(series.name)
    }

    pub fn value(self) -> f64 {
        self.stored.value
    }

    /// The sample's own timestamp, in Unix milliseconds.
    pub fn timestamp_ms(self) -> Option<i64> {
        self.extra().and_then(|extra| extra.timestamp_ms)
    }

    fn extra(self) -> Option<&'a Extra> {
        let position = self.stored.extra?.get() - 1;
        self.exposition.extras.get(position as usize)
    }

    /// Labels in the order they were written.
    pub fn labels(self) -> impl ExactSizeIterator<Item = (&'a str, &'a str)> + Clone {
        self.exposition.label_pairs(self.stored.labels.clone())
    }

    pub fn label(self, name: &str) -> Option<&'a str> {
        self.labels()
            .find(|&(key, _)| key == name)
            .map(|(_, value)| value)
    }

    pub fn has_no_labels(self) -> bool {
        self.stored.labels.is_empty()
    }

    pub fn exemplar(self) -> Option<Exemplar<'a>> {
        let stored = self.extra()?.exemplar.as_ref()?;
        Some(Exemplar {
            exposition: self.exposition,
            stored,
        })
    }
}

impl fmt::Debug for Sample<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sample")
            .field("name", &self.name())
            .field("labels", &self.labels().collect::<Vec<_>>())
            .field("value", &self.value())
            .field("timestamp_ms", &self.timestamp_ms())
            .finish()
    }
}

/// An OpenMetrics exemplar: an example event behind a counter or bucket, with its own labels.
#[derive(Clone, Copy)]
pub struct Exemplar<'a> {
    exposition: &'a Exposition,
    stored: &'a StoredExemplar,
}

impl<'a> Exemplar<'a> {
    pub fn labels(self) -> impl ExactSizeIterator<Item = (&'a str, &'a str)> + Clone {
        self.exposition.label_pairs(self.stored.labels.clone())
    }

    pub fn value(self) -> f64 {
        self.stored.value
    }

    /// In Unix milliseconds.
    pub fn timestamp_ms(self) -> Option<i64> {
        self.stored.timestamp_ms
    }
}

/// The metric names a reader wants: exact names, and name prefixes (Nimbus's `nbc_*`).
#[derive(Debug, Clone, Default)]
pub struct NameFilter {
    names: HashSet<String>,
    prefixes: Vec<String>,
}

impl NameFilter {
    pub fn new<'a>(
        names: impl IntoIterator<Item = &'a str>,
        prefixes: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        NameFilter {
            names: names.into_iter().map(str::to_owned).collect(),
            prefixes: prefixes.into_iter().map(str::to_owned).collect(),
        }
    }

    pub fn wants(&self, name: &str) -> bool {
        self.names.contains(name)
            || self
                .prefixes
                .iter()
                .any(|prefix| name.starts_with(prefix.as_str()))
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
# HELP beacon_block_processing_seconds Time to process a block\\nin seconds
# TYPE beacon_block_processing_seconds histogram
beacon_block_processing_seconds_bucket{le=\"0.1\"} 3
beacon_block_processing_seconds_bucket{le=\"+Inf\"} 5
beacon_block_processing_seconds_sum 0.9
beacon_block_processing_seconds_count 5
";

    fn parse(text: &str) -> Exposition {
        Exposition::parse(text.as_bytes()).expect("valid test exposition")
    }

    #[test]
    fn looks_up_by_name_and_label() {
        let exposition = parse(BODY);
        let values = |name: &str| {
            exposition
                .samples(name)
                .map(Sample::value)
                .collect::<Vec<_>>()
        };
        assert_eq!(values("libp2p_peers"), [42.0]);
        let connected = exposition
            .samples("p2p_peer_count")
            .find(|s| s.label("state") == Some("Connected"))
            .map(Sample::value);
        assert_eq!(connected, Some(37.0));
        assert_eq!(values("process_cpu_seconds_total"), [1500.0]);
        assert_eq!(values("beacon_block_processing_seconds_count"), [5.0]);
        assert!(values("absent").is_empty());
        assert_eq!(exposition.malformed_lines(), 0);
    }

    #[test]
    fn histogram_series_belong_to_their_family() {
        let exposition = parse(BODY);
        let family = exposition
            .family("beacon_block_processing_seconds")
            .expect("histogram family");
        assert_eq!(family.kind(), MetricKind::Histogram);
        assert_eq!(family.samples().len(), 4);
        assert_eq!(family.help(), Some("Time to process a block\nin seconds"));
        assert!(
            exposition
                .family("beacon_block_processing_seconds_sum")
                .is_none()
        );
        let names: Vec<&str> = exposition.families().map(|f| f.name()).collect();
        assert_eq!(
            names,
            [
                "libp2p_peers",
                "p2p_peer_count",
                "process_cpu_seconds_total",
                "beacon_block_processing_seconds"
            ]
        );
    }

    #[test]
    fn label_values_are_decoded_exactly() {
        let exposition = parse(concat!(
            r#"errors_total{msg="say \"hi\", a=b {x}",path="C:\\dir\\",nl="a\nb",} 3"#,
            "\n"
        ));
        let sample = exposition.samples("errors_total").next().expect("sample");
        assert_eq!(sample.label("msg"), Some("say \"hi\", a=b {x}"));
        assert_eq!(sample.label("path"), Some("C:\\dir\\"));
        assert_eq!(sample.label("nl"), Some("a\nb"));
        assert_eq!(sample.value(), 3.0);
    }

    #[test]
    fn special_values_and_timestamps() {
        let exposition = parse("a NaN\nb +Inf\nc -Inf 1700000000000\nd 1.5E3\n");
        let value = |name: &str| exposition.samples(name).next().map(Sample::value);
        assert!(value("a").is_some_and(f64::is_nan));
        assert_eq!(value("b"), Some(f64::INFINITY));
        assert_eq!(value("c"), Some(f64::NEG_INFINITY));
        assert_eq!(value("d"), Some(1500.0));
        let c = exposition.samples("c").next().expect("c");
        assert_eq!(c.timestamp_ms(), Some(1_700_000_000_000));
    }

    #[test]
    fn malformed_lines_are_counted_with_line_numbers_and_skipped() {
        let exposition = parse(
            "good 1\nbad{label=\"unterminated} 2\n9starts_with_digit 3\nno_value\n\
             x{a=\"1\"} notanumber\nalso_good{a=\"1\"} 2\n# TYPE t wibble\n",
        );
        assert_eq!(exposition.malformed_lines(), 5);
        let lines: Vec<usize> = exposition.line_errors().iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 7]);
        assert!(exposition.contains("good") && exposition.contains("also_good"));
    }

    #[test]
    fn a_counter_owns_only_its_own_name() {
        let exposition = parse(
            "# TYPE libp2p_network_bytes counter\nlibp2p_network_bytes_total{direction=\"in\"} 5\n\
             libp2p_network_bytes_created{direction=\"in\"} 1700000000\n",
        );
        let family = exposition.family("libp2p_network_bytes").expect("family");
        assert_eq!(family.kind(), MetricKind::Counter);
        assert!(family.samples().len() == 0);
        assert_eq!(exposition.samples("libp2p_network_bytes_total").count(), 1);
        assert_eq!(
            exposition
                .family("libp2p_network_bytes_total")
                .map(Family::kind),
            Some(MetricKind::Untyped)
        );
        assert_eq!(
            exposition
                .family("libp2p_network_bytes_created")
                .map(Family::kind),
            Some(MetricKind::Untyped)
        );
    }

    #[test]
    fn openmetrics_types() {
        let exposition = parse(
            "# TYPE build info\nbuild_info{version=\"1\"} 1\n# TYPE state stateset\nstate{state=\"a\"} 1\n\
             # TYPE queue gaugehistogram\nqueue_bucket{le=\"+Inf\"} 3\nqueue_gcount 3\nqueue_gsum 7\n# EOF\n",
        );
        assert_eq!(
            exposition.malformed_lines(),
            0,
            "{:?}",
            exposition.line_errors()
        );
        let kinds: Vec<(&str, MetricKind, usize)> = exposition
            .families()
            .map(|f| (f.name(), f.kind(), f.samples().len()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("build", MetricKind::Info, 1),
                ("state", MetricKind::StateSet, 1),
                ("queue", MetricKind::GaugeHistogram, 3)
            ]
        );
    }

    #[test]
    fn a_series_that_fits_no_family_gets_its_own() {
        let exposition = parse("# TYPE peers gauge\npeers 3\npeers_total 5\n");
        assert_eq!(
            exposition.family("peers_total").map(Family::kind),
            Some(MetricKind::Untyped)
        );
        assert_eq!(
            exposition.family("peers").map(|f| f.samples().len()),
            Some(1)
        );
    }

    #[test]
    fn a_name_filter_reads_only_the_wanted_series() {
        let filter = NameFilter::new(
            ["libp2p_peers", "beacon_block_processing_seconds_count"],
            ["p2p_"],
        );
        let exposition = Exposition::parse_wanted(BODY.as_bytes(), Syntax::Classic, Some(&filter))
            .expect("parses");
        assert!(exposition.contains("libp2p_peers"));
        assert!(exposition.contains("p2p_peer_count"), "by prefix");
        assert!(exposition.contains("beacon_block_processing_seconds_count"));
        assert!(!exposition.contains("process_cpu_seconds_total"));
        assert!(!exposition.contains("beacon_block_processing_seconds_sum"));
        assert_eq!(exposition.malformed_lines(), 0);
        // A scrape with nothing wanted is still a scrape, not garbage.
        let none = NameFilter::new(["absent"], []);
        assert!(Exposition::parse_wanted(BODY.as_bytes(), Syntax::Classic, Some(&none)).is_ok());
        assert!(
            Exposition::parse_wanted(b"<html>\n</html>\n", Syntax::Classic, Some(&none)).is_err()
        );
    }

    #[test]
    fn html_page_is_not_an_exposition() {
        let err = Exposition::parse(b"<html>\n<body>502 Bad Gateway</body>\n</html>\n")
            .expect_err("html must be rejected");
        assert!(
            matches!(err, ParseError::NoSamples { lines: 3, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn invalid_utf8_names_the_offset() {
        let err = Exposition::parse(b"up 1\n\xff\xfe").expect_err("bad utf-8");
        assert_eq!(err, ParseError::NotUtf8 { offset: 5 });
    }

    #[test]
    fn empty_body_is_empty_exposition() {
        assert!(parse("").is_empty());
        assert!(parse("# just a comment\n").is_empty());
    }

    #[test]
    fn openmetrics_counters_own_total_and_created_and_keep_exemplars() {
        let exposition = parse(concat!(
            "# TYPE bytes counter\n",
            "# UNIT bytes bytes\n",
            "bytes_total{dir=\"in\"} 5 # {trace_id=\"ab\"} 2 1700000000.25\n",
            "bytes_created{dir=\"in\"} 1700000000.5\n",
            "# EOF\n",
        ));
        assert_eq!(exposition.syntax(), Syntax::OpenMetrics);
        assert_eq!(
            exposition.malformed_lines(),
            0,
            "{:?}",
            exposition.line_errors()
        );
        let family = exposition.family("bytes").expect("the counter family");
        assert_eq!(
            (family.kind(), family.unit()),
            (MetricKind::Counter, Some("bytes"))
        );
        let names: Vec<&str> = family.samples().map(Sample::name).collect();
        assert_eq!(names, ["bytes_total", "bytes_created"]);
        assert_eq!(
            exposition.len(),
            1,
            "no family of its own for `bytes_total`"
        );
        let total = exposition
            .samples("bytes_total")
            .next()
            .expect("by series name");
        let exemplar = total.exemplar().expect("an exemplar");
        assert_eq!(exemplar.labels().collect::<Vec<_>>(), [("trace_id", "ab")]);
        assert_eq!(
            (exemplar.value(), exemplar.timestamp_ms()),
            (2.0, Some(1_700_000_000_250))
        );
    }

    #[test]
    fn openmetrics_eof_ends_the_body() {
        let after = parse("# TYPE up gauge\nup 1\n# EOF\nlate 2\n");
        assert_eq!(after.syntax(), Syntax::Classic, "no trailing `# EOF`");
        let after =
            Exposition::parse_wanted(b"up 1\n# EOF\nlate 2\n# EOF\n", Syntax::OpenMetrics, None)
                .expect("parses");
        assert!(!after.contains("late"));
        assert_eq!(after.malformed_lines(), 2, "{:?}", after.line_errors());
        assert!(after.line_errors()[0].reason.contains("after `# EOF`"));
        let cut = Exposition::parse_wanted(b"up 1\nother 2\n", Syntax::OpenMetrics, None)
            .expect("parses");
        assert_eq!(cut.malformed_lines(), 1);
        assert_eq!(cut.line_errors()[0].line, 3);
        assert!(cut.line_errors()[0].reason.contains("cut short"));
        // Classically `# EOF` is a comment like any other.
        let classic = Exposition::parse_wanted(b"up 1\n# EOF\nlate 2\n", Syntax::Classic, None)
            .expect("parses");
        assert!(classic.contains("late") && classic.malformed_lines() == 0);
    }

    #[test]
    fn only_wanted_series_are_stored() {
        let filter = NameFilter::new(["libp2p_peers"], []);
        let exposition = Exposition::parse_wanted(BODY.as_bytes(), Syntax::Classic, Some(&filter))
            .expect("parses");
        assert_eq!(exposition.text, "libp2p_peersConnected peerslibp2p_peers");
    }
}
