//! The body of a Pushgateway push: the targets' scraped series in the classic text format (0.0.4),
//! made acceptable to the Pushgateway, plus `nodepulse_up` per target.
//!
//! The Pushgateway refuses a whole push for one sample with a timestamp, one series given twice or
//! one family with two types. So what can be fixed is fixed (timestamps removed, families spread
//! over a scrape gathered, OpenMetrics `_total` counters renamed to the classic form) and what cannot
//! is dropped and counted (duplicates, type conflicts between targets, buckets
//! without `le`, quantiles without `quantile`).
//!
//! What only the gateway knows (its own `process_*` families, the types other groups gave a family)
//! comes back as a 400 naming one family: `refused_family` reads that name from the answer and
//! `without_family` takes the family out of a body, so the rest can go out at once.
//!
//! Every series gets a `target` label naming its role (`beacon-node`, `validator`), since two
//! targets expose the same families (`process_cpu_seconds_total`). A scraped label that collides
//! with `target` or the grouping labels keeps its value as `exported_<name>`, as Prometheus does.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use regex::Regex;

use crate::wire::exposition::{Exposition, Family, MetricKind, Sample, Syntax};

/// The family the push adds: whether each target's scrape succeeded.
const UP_FAMILY: &str = "nodepulse_up";

/// The drop reason of a family the gateway refused.
pub const REFUSED: &str = "refused";

/// Labels the push itself sets; scraped labels with these names are renamed.
const RESERVED_LABELS: [&str; 3] = ["target", "job", "instance"];

/// One target's contribution: its role, and its scrape when it answered.
#[derive(Debug, Clone, Copy)]
pub struct TargetSeries<'a> {
    pub role: &'static str,
    pub exposition: Option<&'a Exposition>,
}

/// What had to be changed or dropped to make the push acceptable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReport {
    pub timestamps_removed: usize,
    pub duplicates_dropped: usize,
    pub type_conflicts_dropped: usize,
    pub malformed_dropped: usize,
    /// Scraped series named like the push's own `nodepulse_up`.
    pub reserved_dropped: usize,
    /// Series of families the gateway refused earlier (see `refused_family`).
    pub refused_dropped: usize,
}

impl PushReport {
    /// Drop counts by reason, for metrics.
    pub fn dropped(&self) -> [(&'static str, usize); 5] {
        [
            ("duplicate", self.duplicates_dropped),
            ("type_conflict", self.type_conflicts_dropped),
            ("malformed", self.malformed_dropped),
            ("reserved", self.reserved_dropped),
            (REFUSED, self.refused_dropped),
        ]
    }
}

struct OutFamily {
    name: String,
    kind: MetricKind,
    help: Option<String>,
    lines: String,
}

struct Body<'r> {
    families: Vec<OutFamily>,
    positions: HashMap<String, usize>,
    refused: &'r HashSet<String>,
    report: PushReport,
}

/// Encodes the push body. `include`, when given, keeps only the families whose whole name matches;
/// the families in `refused` (as pushed, e.g. `x_total`) are left out.
pub fn encode(
    targets: &[TargetSeries<'_>],
    include: Option<&Regex>,
    refused: &HashSet<String>,
) -> (String, PushReport) {
    let mut body = Body {
        families: Vec::new(),
        positions: HashMap::new(),
        refused,
        report: PushReport::default(),
    };
    for target in targets {
        let Some(exposition) = target.exposition else {
            continue;
        };
        for family in exposition.families() {
            if include.is_some_and(|pattern| !whole_match(pattern, family.name())) {
                continue;
            }
            for sample in family.samples() {
                body.add(target.role, exposition.syntax(), family, sample);
            }
        }
    }
    let mut up_lines = String::new();
    for target in targets {
        render_series_into(
            "nodepulse_up",
            std::iter::empty(),
            target.role,
            &mut up_lines,
        );
        let _ = writeln!(up_lines, " {}", u8::from(target.exposition.is_some()));
    }
    body.families.push(OutFamily {
        name: UP_FAMILY.into(),
        kind: MetricKind::Gauge,
        help: Some(
            "Whether nodepulse's last scrape of the target succeeded (1) or not (0).".into(),
        ),
        lines: up_lines,
    });

    let mut report = body.report;
    let mut text = String::new();
    // Each family's lines are let go once written: the body is never held twice over.
    for family in body.families {
        if family.lines.is_empty() {
            continue;
        }
        if let Some(help) = &family.help {
            let _ = writeln!(text, "# HELP {} {}", family.name, escape_help(help));
        }
        let _ = writeln!(text, "# TYPE {} {}", family.name, family.kind.as_str());
        report.duplicates_dropped += write_first_of_each_series(&family.lines, &mut text);
    }
    (text, report)
}

/// Writes each line of `lines` whose series (all but the value) no earlier line had; returns how
/// many were left out. A series can only repeat within its own family.
fn write_first_of_each_series(lines: &str, text: &mut String) -> usize {
    let mut seen = HashSet::new();
    let mut duplicates = 0;
    for line in lines.split_inclusive('\n') {
        // Label values may hold blanks; the value after the series never does.
        let series = line.rsplit_once(' ').map_or(line, |(series, _)| series);
        if seen.insert(series) {
            text.push_str(line);
        } else {
            duplicates += 1;
        }
    }
    duplicates
}

fn whole_match(pattern: &Regex, name: &str) -> bool {
    pattern
        .find(name)
        .is_some_and(|found| found.start() == 0 && found.end() == name.len())
}

/// The family a Pushgateway's 400 answer blames, when it blames one.
///
/// The gateway checks a push against its own families and every group it holds, and names the
/// first family that does not fit in one of two ways (client_golang's consistency checks):
/// `gathered metric family process_cpu_seconds_total has type GAUGE but should have COUNTER`, or
/// `collected metric "foo" { label:<...> gauge:<value:1 > } is not a COUNTER`.
pub fn refused_family(answer: &str) -> Option<&str> {
    let name = if let Some((_, rest)) = answer.split_once("gathered metric family ") {
        rest.split_once(' ').map_or(rest, |(name, _)| name)
    } else {
        let (_, rest) = answer.split_once("collected metric \"")?;
        rest.split_once('"')?.0
    };
    (!name.is_empty()).then_some(name)
}

/// The body without the family `name` (its `# HELP`, `# TYPE` and series lines), and how many series
/// that took out; `None` when the body has no such family.
pub fn without_family(body: &str, name: &str) -> Option<(String, usize)> {
    let mut kept = String::with_capacity(body.len());
    let mut removed = 0;
    let mut inside = false;
    let mut found = false;
    for line in body.split_inclusive('\n') {
        if let Some(comment) = line
            .strip_prefix("# HELP ")
            .or_else(|| line.strip_prefix("# TYPE "))
        {
            // The encoder writes each family's lines together, behind its own HELP and TYPE.
            inside = comment.split_once(' ').map(|(family, _)| family) == Some(name);
            found |= inside;
        } else if inside {
            removed += 1;
        }
        if !inside {
            kept.push_str(line);
        }
    }
    found.then_some((kept, removed))
}

impl Body<'_> {
    fn add(&mut self, role: &'static str, syntax: Syntax, family: Family<'_>, sample: Sample<'_>) {
        let (out_name, out_kind) = classic_family(syntax, family, sample.name());
        // Two families of that name would have the Pushgateway refuse the whole push.
        if out_name == UP_FAMILY {
            self.report.reserved_dropped += 1;
            return;
        }
        if self.refused.contains(out_name) {
            self.report.refused_dropped += 1;
            return;
        }
        let needs = match (out_kind, sample.name().strip_prefix(out_name)) {
            (MetricKind::Histogram, Some("_bucket")) => Some("le"),
            (MetricKind::Summary, Some("")) => Some("quantile"),
            _ => None,
        };
        if let Some(label) = needs
            && sample
                .label(label)
                .and_then(|v| v.parse::<f64>().ok())
                .is_none()
        {
            self.report.malformed_dropped += 1;
            return;
        }
        let position = match self.positions.get(out_name) {
            Some(&position) if self.families[position].kind != out_kind => {
                self.report.type_conflicts_dropped += 1;
                return;
            }
            Some(&position) => position,
            None => {
                self.families.push(OutFamily {
                    name: out_name.to_owned(),
                    kind: out_kind,
                    help: family.help().map(str::to_owned),
                    lines: String::new(),
                });
                self.positions
                    .insert(out_name.to_owned(), self.families.len() - 1);
                self.families.len() - 1
            }
        };
        if sample.timestamp_ms().is_some() {
            self.report.timestamps_removed += 1;
        }
        // Labels sorted, so that a series written twice in another order is found a duplicate.
        let lines = &mut self.families[position].lines;
        render_series_into(sample.name(), sample.labels(), role, lines);
        write_value_line(sample.value(), lines);
    }
}

/// `name{label="value",...}` with the labels sorted, reserved names moved to `exported_*`, and
/// `target` added.
fn render_series_into<'a>(
    name: &str,
    labels: impl Iterator<Item = (&'a str, &'a str)>,
    role: &'a str,
    out: &mut String,
) {
    let mut renamed: Vec<(Cow<'_, str>, &str)> = labels
        .map(|(label, value)| {
            let label = if RESERVED_LABELS.contains(&label) {
                Cow::Owned(format!("exported_{label}"))
            } else {
                Cow::Borrowed(label)
            };
            (label, value)
        })
        .collect();
    renamed.push((Cow::Borrowed("target"), role));
    renamed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    out.push_str(name);
    out.push('{');
    for (index, (label, value)) in renamed.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str(label);
        out.push_str("=\"");
        escape_label_into(value, out);
        out.push('"');
    }
    out.push('}');
}

/// The classic family a series goes out under, and its type.
fn classic_family<'a>(
    syntax: Syntax,
    family: Family<'a>,
    series: &'a str,
) -> (&'a str, MetricKind) {
    let (name, kind) = (family.name(), family.kind());
    let suffix = series.strip_prefix(name).unwrap_or(series);
    match (syntax, kind, suffix) {
        // OpenMetrics-only types: their series are plain gauges or untyped series classically.
        (_, MetricKind::Info, _) => (series, MetricKind::Gauge),
        (_, MetricKind::StateSet, _) => (name, MetricKind::Gauge),
        (_, MetricKind::GaugeHistogram, _) => (series, MetricKind::Untyped),
        // An OpenMetrics counter `x` is the classic counter `x_total`; the classic format has no
        // creation time, so `x_created` goes as a series of its own rather than be lost.
        (Syntax::OpenMetrics, MetricKind::Counter, "_total") => (series, kind),
        (Syntax::OpenMetrics, _, "_created") => (series, MetricKind::Untyped),
        _ if series.starts_with(name) => (name, kind),
        _ => (series, MetricKind::Untyped),
    }
}

/// A label value escaped as the format wants: `\\`, `\"` and `\n`.
fn escape_label_into(value: &str, out: &mut String) {
    if !value.contains(['\\', '"', '\n']) {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
}

fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// ` value` and the line's end, the value as Go's parser reads it back.
fn write_value_line(value: f64, out: &mut String) {
    let _ = if value.is_nan() {
        writeln!(out, " NaN")
    } else if value == f64::INFINITY {
        writeln!(out, " +Inf")
    } else if value == f64::NEG_INFINITY {
        writeln!(out, " -Inf")
    } else {
        writeln!(out, " {value}")
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(text: &str) -> Exposition {
        Exposition::parse(text.as_bytes()).expect("valid test exposition")
    }

    /// The push body and report for one beacon-node target.
    fn encode_beacon(exposition: &Exposition, include: Option<&Regex>) -> (String, PushReport) {
        let targets = [TargetSeries {
            role: "beacon-node",
            exposition: Some(exposition),
        }];
        encode(&targets, include, &HashSet::new())
    }

    #[test]
    fn golden_body_with_fixes_and_drops() {
        let beacon = scrape(concat!(
            "# HELP process_cpu_seconds_total CPU time\n",
            "# TYPE process_cpu_seconds_total counter\n",
            "process_cpu_seconds_total 10.5 1700000000000\n",
            "# TYPE lat histogram\n",
            "lat_bucket{le=\"1\"} 2\n",
            "lat_bucket{le=\"+Inf\"} 3\n",
            "lat_sum 1.5\n",
            "lat_count 3\n",
            "# TYPE bytes counter\n",
            "bytes_total{dir=\"in\",target=\"x\"} 7\n",
            "bytes_created{dir=\"in\"} 1700000000\n",
            "errors{msg=\"a \\\"quoted\\\" word\"} 1\n",
            "errors{msg=\"a \\\"quoted\\\" word\"} 2\n",
        ));
        let validator = scrape(
            "# TYPE process_cpu_seconds_total gauge\nprocess_cpu_seconds_total 3\nvc_up NaN\n",
        );
        let (body, report) = encode(
            &[
                TargetSeries {
                    role: "beacon-node",
                    exposition: Some(&beacon),
                },
                TargetSeries {
                    role: "validator",
                    exposition: Some(&validator),
                },
                TargetSeries {
                    role: "node",
                    exposition: None,
                },
            ],
            None,
            &HashSet::new(),
        );
        assert_eq!(
            body,
            concat!(
                "# HELP process_cpu_seconds_total CPU time\n",
                "# TYPE process_cpu_seconds_total counter\n",
                "process_cpu_seconds_total{target=\"beacon-node\"} 10.5\n",
                "# TYPE lat histogram\n",
                "lat_bucket{le=\"1\",target=\"beacon-node\"} 2\n",
                "lat_bucket{le=\"+Inf\",target=\"beacon-node\"} 3\n",
                "lat_sum{target=\"beacon-node\"} 1.5\n",
                "lat_count{target=\"beacon-node\"} 3\n",
                "# TYPE bytes_total untyped\n",
                "bytes_total{dir=\"in\",exported_target=\"x\",target=\"beacon-node\"} 7\n",
                "# TYPE bytes_created untyped\n",
                "bytes_created{dir=\"in\",target=\"beacon-node\"} 1700000000\n",
                "# TYPE errors untyped\n",
                "errors{msg=\"a \\\"quoted\\\" word\",target=\"beacon-node\"} 1\n",
                "# TYPE vc_up untyped\n",
                "vc_up{target=\"validator\"} NaN\n",
                "# HELP nodepulse_up Whether nodepulse's last scrape of the target succeeded (1) or not (0).\n",
                "# TYPE nodepulse_up gauge\n",
                "nodepulse_up{target=\"beacon-node\"} 1\n",
                "nodepulse_up{target=\"validator\"} 1\n",
                "nodepulse_up{target=\"node\"} 0\n",
            )
        );
        assert_eq!(
            report,
            PushReport {
                timestamps_removed: 1,
                duplicates_dropped: 1,
                type_conflicts_dropped: 1,
                malformed_dropped: 0,
                reserved_dropped: 0,
                refused_dropped: 0,
            }
        );
        // What we send, we can read back whole.
        let back = scrape(&body);
        assert_eq!(back.malformed_lines(), 0);
        assert_eq!(
            back.samples("errors").next().and_then(|s| s.label("msg")),
            Some("a \"quoted\" word")
        );
    }

    #[test]
    fn openmetrics_families_go_out_in_the_classic_form() {
        let node = scrape(concat!(
            "# HELP bytes Bytes received.\n",
            "# TYPE bytes counter\n",
            "bytes_total{dir=\"in\"} 7 # {trace_id=\"ab\"} 1 1700000000.5\n",
            "bytes_created{dir=\"in\"} 1700000000.25\n",
            "# TYPE build info\n",
            "build_info{version=\"1.2\"} 1\n",
            "# EOF\n",
        ));
        let (body, report) = encode(
            &[TargetSeries {
                role: "node",
                exposition: Some(&node),
            }],
            None,
            &HashSet::new(),
        );
        assert_eq!(
            body,
            concat!(
                "# HELP bytes_total Bytes received.\n",
                "# TYPE bytes_total counter\n",
                "bytes_total{dir=\"in\",target=\"node\"} 7\n",
                "# HELP bytes_created Bytes received.\n",
                "# TYPE bytes_created untyped\n",
                "bytes_created{dir=\"in\",target=\"node\"} 1700000000.25\n",
                "# TYPE build_info gauge\n",
                "build_info{target=\"node\",version=\"1.2\"} 1\n",
                "# HELP nodepulse_up Whether nodepulse's last scrape of the target succeeded (1) or not (0).\n",
                "# TYPE nodepulse_up gauge\n",
                "nodepulse_up{target=\"node\"} 1\n",
            )
        );
        assert_eq!(report, PushReport::default());
        let back = scrape(&body);
        assert_eq!(back.syntax(), Syntax::Classic);
        assert_eq!(
            back.family("bytes_total").map(Family::kind),
            Some(MetricKind::Counter)
        );
    }

    #[test]
    fn include_filter_matches_whole_family_names() {
        let beacon = scrape("beacon_head_slot 5\nbeacon_head_slot_extra 1\nlibp2p_peers 3\n");
        let include = Regex::new("beacon_head_slot|libp2p_.*").expect("regex");
        let (body, _) = encode_beacon(&beacon, Some(&include));
        assert!(
            body.contains("beacon_head_slot{target=\"beacon-node\"} 5"),
            "{body}"
        );
        assert!(body.contains("libp2p_peers{"), "{body}");
        assert!(!body.contains("beacon_head_slot_extra"), "{body}");
        assert!(
            body.contains("nodepulse_up{target=\"beacon-node\"} 1"),
            "up is always pushed"
        );
    }

    #[test]
    fn the_same_series_with_labels_in_another_order_is_a_duplicate() {
        let beacon = scrape("x{a=\"1\",b=\"2\"} 1\nx{b=\"2\",a=\"1\"} 2\n");
        let (body, report) = encode_beacon(&beacon, None);
        assert_eq!(report.duplicates_dropped, 1);
        assert!(
            body.contains("x{a=\"1\",b=\"2\",target=\"beacon-node\"} 1\n"),
            "{body}"
        );
    }

    #[test]
    fn a_scraped_nodepulse_up_is_dropped_for_ours() {
        // Found by fuzzing: the push declared `nodepulse_up` twice, which the gateway refuses.
        let beacon = scrape("nodepulse_up 42\n# TYPE nodepulse_up_x gauge\nnodepulse_up_x 1\n");
        let (body, report) = encode_beacon(&beacon, None);
        assert_eq!(report.reserved_dropped, 1);
        assert!(!body.contains("42"), "{body}");
        assert!(
            body.contains("nodepulse_up_x{target=\"beacon-node\"} 1"),
            "{body}"
        );
        let back = scrape(&body);
        assert_eq!(back.malformed_lines(), 0, "{:?}", back.line_errors());
        assert_eq!(back.samples(UP_FAMILY).count(), 1);
    }

    #[test]
    fn buckets_without_le_are_dropped() {
        let beacon = scrape("# TYPE h histogram\nh_bucket{x=\"1\"} 2\nh_sum 1\nh_count 2\n");
        let (body, report) = encode_beacon(&beacon, None);
        assert_eq!(report.malformed_dropped, 1);
        assert!(!body.contains("h_bucket"), "{body}");
        assert!(body.contains("h_count{target=\"beacon-node\"} 2"), "{body}");
    }

    #[test]
    fn the_family_a_gateway_answer_blames() {
        assert_eq!(
            refused_family(
                "pushed metrics are invalid or inconsistent with existing metrics: gathered metric \
                 family process_cpu_seconds_total has type GAUGE but should have COUNTER\n"
            ),
            Some("process_cpu_seconds_total")
        );
        assert_eq!(
            refused_family(
                "pushed metrics are invalid or inconsistent with existing metrics: collected metric \
                 \"foo\" { label:<name:\"instance\" value:\"b\" > gauge:<value:1 > } is not a COUNTER"
            ),
            Some("foo")
        );
        assert_eq!(refused_family("unauthorized"), None);
        assert_eq!(refused_family("collected metric \"\" {"), None);
    }

    #[test]
    fn a_refused_family_is_taken_out_whole_and_left_out_later() {
        let beacon = scrape(concat!(
            "# HELP process_cpu_seconds_total CPU time\n",
            "# TYPE process_cpu_seconds_total gauge\n",
            "process_cpu_seconds_total 10\n",
            "# TYPE lat histogram\n",
            "lat_bucket{le=\"+Inf\"} 3\n",
            "lat_sum 1.5\n",
            "lat_count 3\n",
            "libp2p_peers 4\n",
        ));
        let (body, _) = encode_beacon(&beacon, None);
        let (without_cpu, removed) =
            without_family(&body, "process_cpu_seconds_total").expect("in the body");
        assert_eq!(removed, 1);
        let (without_both, removed) = without_family(&without_cpu, "lat").expect("in the body");
        assert_eq!(removed, 3);
        assert_eq!(
            without_both,
            concat!(
                "# TYPE libp2p_peers untyped\n",
                "libp2p_peers{target=\"beacon-node\"} 4\n",
                "# HELP nodepulse_up Whether nodepulse's last scrape of the target succeeded (1) or not (0).\n",
                "# TYPE nodepulse_up gauge\n",
                "nodepulse_up{target=\"beacon-node\"} 1\n",
            )
        );
        assert_eq!(without_family(&without_both, "lat"), None);
        assert_eq!(
            without_family(&body, "process_cpu"),
            None,
            "whole names only"
        );

        let refused = HashSet::from(["process_cpu_seconds_total".to_owned(), "lat".to_owned()]);
        let targets = [TargetSeries {
            role: "beacon-node",
            exposition: Some(&beacon),
        }];
        let (again, report) = encode(&targets, None, &refused);
        assert_eq!(again, without_both, "the next cycle leaves them out itself");
        assert_eq!(report.refused_dropped, 4);
    }
}
