//! A parsed Prometheus text exposition (format 0.0.4): families in the order they appear, and an
//! index from series name to samples for the profiles' lookups.
//!
//! This is our own line parser rather than prometheus-parse: the Pushgateway sink forwards label
//! values verbatim, and prometheus-parse corrupts valid ones (an escaped quote, or a `,`, `=` or `}`
//! inside a value) and skips malformed lines without a word. Here escapes are decoded, every
//! malformed line is counted and reported with its line number, and one bad line never costs the
//! rest of the scrape.

use std::collections::HashMap;

/// The type a family was declared with (`Untyped` when it had no `# TYPE` line). The last three
/// exist only in OpenMetrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
    Info,
    StateSet,
    GaugeHistogram,
}

impl MetricKind {
    fn parse(text: &str) -> Option<MetricKind> {
        match text {
            "counter" => Some(MetricKind::Counter),
            "gauge" => Some(MetricKind::Gauge),
            "histogram" => Some(MetricKind::Histogram),
            "summary" => Some(MetricKind::Summary),
            // OpenMetrics calls it `unknown`.
            "untyped" | "unknown" => Some(MetricKind::Untyped),
            "info" => Some(MetricKind::Info),
            "stateset" => Some(MetricKind::StateSet),
            "gaugehistogram" => Some(MetricKind::GaugeHistogram),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
            MetricKind::Summary => "summary",
            MetricKind::Untyped => "untyped",
            MetricKind::Info => "info",
            MetricKind::StateSet => "stateset",
            MetricKind::GaugeHistogram => "gaugehistogram",
        }
    }

    /// Whether a series called `series` belongs to a family of this kind called `family`, by the
    /// classic format's rules, as its reference parsers apply them: a counter owns only its own
    /// name, so an OpenMetrics-style `x_total` or `x_created` after `# TYPE x counter` stands as an
    /// untyped family of its own (lookups go by series name, so profiles see it either way).
    pub fn owns(self, family: &str, series: &str) -> bool {
        let Some(suffix) = series.strip_prefix(family) else {
            return false;
        };
        match (self, suffix) {
            (MetricKind::Histogram | MetricKind::GaugeHistogram | MetricKind::Info, "") => false,
            (_, "") => true,
            (MetricKind::Info, "_info") => true,
            (MetricKind::GaugeHistogram, "_bucket" | "_gcount" | "_gsum") => true,
            (MetricKind::Histogram, "_bucket" | "_sum" | "_count") => true,
            (MetricKind::Summary, "_sum" | "_count") => true,
            _ => false,
        }
    }
}

/// One series: its full name (with any `_bucket`/`_sum`/`_count` suffix), labels, value and the
/// timestamp it was exposed with, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
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

/// A metric family: its name, type, help text and samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: String,
    pub kind: MetricKind,
    pub help: Option<String>,
    pub samples: Vec<Sample>,
}

impl Family {
    pub fn kind(&self) -> MetricKind {
        self.kind
    }
}

/// A line that could not be read, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct LineError {
    /// 1-based.
    pub line: usize,
    pub reason: String,
}

/// Why a body could not be read as an exposition at all.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParseError {
    #[error("body is not UTF-8 (first bad byte at offset {offset})")]
    NotUtf8 { offset: usize },
    #[error(
        "no metric samples in {lines} non-comment lines: not a Prometheus text exposition{}",
        first_error.as_ref().map(|e| format!(" (line {}: {})", e.line, e.reason)).unwrap_or_default()
    )]
    NoSamples {
        lines: usize,
        first_error: Option<LineError>,
    },
}

/// How many malformed lines are kept with their reason; the rest are only counted.
const KEPT_LINE_ERRORS: usize = 16;

/// A scrape, parsed.
#[derive(Debug, Clone, Default)]
pub struct Exposition {
    families: Vec<Family>,
    family_index: HashMap<String, usize>,
    /// Series name -> (family, sample) positions.
    series_index: HashMap<String, Vec<(usize, usize)>>,
    malformed_lines: usize,
    line_errors: Vec<LineError>,
}

impl Exposition {
    /// Parses the text format from raw response bytes.
    ///
    /// An empty body is a valid, empty exposition; a body with content lines but not one sample (an
    /// HTML error page served with 200, say) is an error rather than "a node with no metrics".
    pub fn parse(body: &[u8]) -> Result<Self, ParseError> {
        Exposition::parse_wanted(body, None)
    }

    /// Parses only the series `wanted` asks for (all with `None`); every other line is skipped
    /// unparsed, which is what lets a profile that reads twenty families pay for twenty.
    pub fn parse_wanted(body: &[u8], wanted: Option<&NameFilter>) -> Result<Self, ParseError> {
        let text = std::str::from_utf8(body).map_err(|err| ParseError::NotUtf8 {
            offset: err.valid_up_to(),
        })?;
        let mut exposition = Exposition::default();
        let mut current: Option<usize> = None;
        let mut content_lines = 0;
        let mut skipped = 0;
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(filter) = wanted
                && let Some(name) = leading_name(line)
                && !filter.wants(name)
            {
                skipped += 1;
                continue;
            }
            let outcome = if let Some(comment) = line.strip_prefix('#') {
                exposition.read_comment(comment, &mut current)
            } else {
                content_lines += 1;
                parse_sample(line).map(|sample| exposition.add(sample, &mut current))
            };
            if let Err(reason) = outcome {
                exposition.malformed_lines += 1;
                if exposition.line_errors.len() < KEPT_LINE_ERRORS {
                    exposition.line_errors.push(LineError {
                        line: index + 1,
                        reason,
                    });
                }
            }
        }
        if exposition.series_index.is_empty() && skipped == 0 && content_lines > 0 {
            return Err(ParseError::NoSamples {
                lines: content_lines,
                first_error: exposition.line_errors.first().cloned(),
            });
        }
        Ok(exposition)
    }

    /// `# HELP` and `# TYPE` declare or describe a family; other comments are ignored.
    fn read_comment(&mut self, comment: &str, current: &mut Option<usize>) -> Result<(), String> {
        let comment = comment.trim_start();
        let (keyword, rest) = comment.split_once([' ', '\t']).unwrap_or((comment, ""));
        if keyword != "HELP" && keyword != "TYPE" {
            return Ok(());
        }
        let rest = rest.trim_start();
        let (name, value) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
        if !is_metric_name(name) {
            return Err(format!("`# {keyword}` names no valid metric (`{name}`)"));
        }
        let position = self.family_position(name);
        let family = &mut self.families[position];
        if keyword == "HELP" {
            if family.help.is_some() {
                return Err(format!("second HELP line for `{name}`"));
            }
            family.help = Some(unescape_help(value));
        } else {
            let kind = MetricKind::parse(value.trim())
                .ok_or_else(|| format!("unknown type `{}` for `{name}`", value.trim()))?;
            if !family.samples.is_empty() || family.kind != MetricKind::Untyped {
                return Err(format!(
                    "TYPE line for `{name}` after its samples or a first TYPE"
                ));
            }
            family.kind = kind;
        }
        *current = Some(position);
        Ok(())
    }

    /// The position of the family called `name`, created (untyped, empty) when new.
    fn family_position(&mut self, name: &str) -> usize {
        if let Some(&position) = self.family_index.get(name) {
            return position;
        }
        self.families.push(Family {
            name: name.to_owned(),
            kind: MetricKind::Untyped,
            help: None,
            samples: Vec::new(),
        });
        let position = self.families.len() - 1;
        self.family_index.insert(name.to_owned(), position);
        position
    }

    /// Files a sample under the current family when it belongs there, else under the family its
    /// name belongs to (a histogram's `_sum` after another family, say), else under a new untyped
    /// family of its own.
    fn add(&mut self, sample: Sample, current: &mut Option<usize>) {
        let owner = current
            .filter(|&position| {
                let family = &self.families[position];
                family.kind.owns(&family.name, &sample.name)
            })
            .or_else(|| {
                let base = ["_bucket", "_sum", "_count", "_info", "_gcount", "_gsum"]
                    .iter()
                    .find_map(|suffix| sample.name.strip_suffix(suffix));
                [Some(sample.name.as_str()), base]
                    .into_iter()
                    .flatten()
                    .filter_map(|name| self.family_index.get(name).copied())
                    .find(|&position| {
                        let family = &self.families[position];
                        family.kind.owns(&family.name, &sample.name)
                    })
            });
        let position = owner.unwrap_or_else(|| self.family_position(&sample.name));
        let family = &mut self.families[position];
        let at = (position, family.samples.len());
        // Most series names repeat: look up before allocating a key.
        match self.series_index.get_mut(&sample.name) {
            Some(positions) => positions.push(at),
            None => {
                self.series_index.insert(sample.name.clone(), vec![at]);
            }
        }
        family.samples.push(sample);
        *current = Some(position);
    }

    /// Families in the order they first appeared.
    pub fn families(&self) -> &[Family] {
        &self.families
    }

    pub fn family(&self, name: &str) -> Option<&Family> {
        self.family_index
            .get(name)
            .map(|&position| &self.families[position])
    }

    /// The samples of the series called `name` (a family name or a suffixed series name).
    pub fn samples(&self, name: &str) -> impl Iterator<Item = &Sample> {
        self.series_index
            .get(name)
            .into_iter()
            .flatten()
            .map(|&(family, sample)| &self.families[family].samples[sample])
    }

    /// Whether any series is called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.series_index.contains_key(name)
    }

    /// The names of every series.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.series_index.keys().map(String::as_str)
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
}

/// The metric names a reader wants: exact names, and name prefixes (Nimbus's `nbc_*`).
#[derive(Debug, Clone, Default)]
pub struct NameFilter {
    names: std::collections::HashSet<&'static str>,
    prefixes: Vec<&'static str>,
}

impl NameFilter {
    pub fn new(
        names: impl IntoIterator<Item = &'static str>,
        prefixes: impl IntoIterator<Item = &'static str>,
    ) -> Self {
        NameFilter {
            names: names.into_iter().collect(),
            prefixes: prefixes.into_iter().collect(),
        }
    }

    pub fn wants(&self, name: &str) -> bool {
        self.names.contains(name) || self.prefixes.iter().any(|prefix| name.starts_with(prefix))
    }
}

/// The metric a line is about, when it is a sample or a `# HELP`/`# TYPE` line with a valid name;
/// `None` for anything else (other comments, garbage), which the parser then judges itself.
fn leading_name(line: &str) -> Option<&str> {
    let line = match line.strip_prefix('#') {
        Some(comment) => {
            let comment = comment.trim_start();
            comment
                .strip_prefix("HELP")
                .or_else(|| comment.strip_prefix("TYPE"))?
                .trim_start()
        }
        None => line,
    };
    let end = line
        .find(|c: char| c == '{' || c.is_ascii_whitespace())
        .unwrap_or(line.len());
    let name = &line[..end];
    is_metric_name(name).then_some(name)
}

fn is_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

fn is_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// HELP text escapes only `\\` and `\n`.
fn unescape_help(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some('\\')) => {
                out.push('\\');
                chars.next();
            }
            ('\\', Some('n')) => {
                out.push('\n');
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// `name{label="value",...} value [timestamp]`
fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_ascii_whitespace())
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if !is_metric_name(name) {
        return Err(format!("`{}` is not a valid metric name", truncate(name)));
    }
    // Blanks may stand between the name and its labels.
    let mut rest = line[name_end..].trim_start();
    let mut labels = Vec::new();
    if let Some(after_brace) = rest.strip_prefix('{') {
        rest = parse_labels(after_brace, &mut labels)?;
    }
    let mut fields = rest.split_ascii_whitespace();
    let value_text = fields
        .next()
        .ok_or_else(|| format!("`{name}` has no value"))?;
    let value = parse_value(value_text)
        .ok_or_else(|| format!("`{}` is not a number", truncate(value_text)))?;
    let timestamp_ms = fields
        .next()
        .map(|text| {
            text.parse::<i64>()
                .map_err(|_| format!("`{}` is not a timestamp", truncate(text)))
        })
        .transpose()?;
    if let Some(extra) = fields.next() {
        return Err(format!("unexpected `{}` after the value", truncate(extra)));
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
        timestamp_ms,
    })
}

/// Reads `label="value",...}` and returns what follows the closing brace.
fn parse_labels<'a>(
    mut rest: &'a str,
    labels: &mut Vec<(String, String)>,
) -> Result<&'a str, String> {
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            return Ok(after);
        }
        let (name, after_name) = rest.split_once('=').ok_or("a label without `=`")?;
        let name = name.trim();
        if !is_label_name(name) {
            return Err(format!("`{}` is not a valid label name", truncate(name)));
        }
        if labels.iter().any(|(existing, _)| existing == name) {
            return Err(format!("label `{name}` given twice"));
        }
        let quoted = after_name
            .trim_start()
            .strip_prefix('"')
            .ok_or_else(|| format!("the value of label `{name}` is not quoted"))?;
        let (value, after_value) = read_quoted(quoted)
            .ok_or_else(|| format!("the value of label `{name}` has no closing quote"))?;
        labels.push((name.to_owned(), value));
        rest = after_value.trim_start();
        if let Some(after_comma) = rest.strip_prefix(',') {
            rest = after_comma;
        } else if !rest.starts_with('}') {
            return Err(format!("expected `,` or `}}` after label `{name}`"));
        }
    }
}

/// A label value up to its closing quote, with `\\`, `\"` and `\n` decoded; and the rest.
fn read_quoted(text: &str) -> Option<(String, &str)> {
    let bytes = text.as_bytes();
    // Most values have no escape: find the closing quote and copy the slice once.
    let end = bytes.iter().position(|&b| b == b'"' || b == b'\\')?;
    if bytes[end] == b'"' {
        return Some((text[..end].to_owned(), &text[end + 1..]));
    }
    let mut value = String::with_capacity(text.len().min(64));
    value.push_str(&text[..end]);
    let mut chars = text[end..].char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[end + at + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                other @ ('\\' | '"') => value.push(other),
                // Not an escape the format defines: keep it as written.
                other => {
                    value.push('\\');
                    value.push(other);
                }
            },
            other => value.push(other),
        }
    }
    None
}

/// A sample value as Go's `ParseFloat` reads it: decimal or exponent forms, `NaN`, `+Inf`, `-Inf`.
fn parse_value(text: &str) -> Option<f64> {
    text.parse::<f64>().ok()
}

fn truncate(text: &str) -> String {
    const SHOWN: usize = 60;
    match text.char_indices().nth(SHOWN) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
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
        assert_eq!(family.samples.len(), 4);
        assert_eq!(
            family.help.as_deref(),
            Some("Time to process a block\nin seconds")
        );
        assert!(
            exposition
                .family("beacon_block_processing_seconds_sum")
                .is_none()
        );
        let names: Vec<&str> = exposition
            .families()
            .iter()
            .map(|f| f.name.as_str())
            .collect();
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
        assert_eq!(c.timestamp_ms, Some(1_700_000_000_000));
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
        assert!(family.samples.is_empty());
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
            .iter()
            .map(|f| (f.name.as_str(), f.kind(), f.samples.len()))
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
        assert_eq!(exposition.family("peers").map(|f| f.samples.len()), Some(1));
    }

    #[test]
    fn a_name_filter_reads_only_the_wanted_series() {
        let filter = NameFilter::new(
            ["libp2p_peers", "beacon_block_processing_seconds_count"],
            ["p2p_"],
        );
        let exposition = Exposition::parse_wanted(BODY.as_bytes(), Some(&filter)).expect("parses");
        assert!(exposition.contains("libp2p_peers"));
        assert!(exposition.contains("p2p_peer_count"), "by prefix");
        assert!(exposition.contains("beacon_block_processing_seconds_count"));
        assert!(!exposition.contains("process_cpu_seconds_total"));
        assert!(!exposition.contains("beacon_block_processing_seconds_sum"));
        assert_eq!(exposition.malformed_lines(), 0);
        // A scrape with nothing wanted is still a scrape, not garbage.
        let none = NameFilter::new(["absent"], []);
        assert!(Exposition::parse_wanted(BODY.as_bytes(), Some(&none)).is_ok());
        assert!(Exposition::parse_wanted(b"<html>\n</html>\n", Some(&none)).is_err());
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
}
