//! Family types, the two text syntaxes, and which series names a family owns under each.

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
    pub(super) fn parse(text: &str) -> Option<MetricKind> {
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
}

/// Which text format a body is written in. They differ in which series a family owns (an
/// OpenMetrics counter `x` owns `x_total` and `x_created`, a classic one only `x`), in timestamps
/// (milliseconds against seconds), in exemplars (OpenMetrics only) and in the closing `# EOF`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// The Prometheus text format 0.0.4.
    Classic,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
}

/// Series name suffixes that may tie a series to a family of another name.
pub(super) const SUFFIXES: [&str; 8] = [
    "_bucket", "_sum", "_count", "_total", "_created", "_info", "_gcount", "_gsum",
];

impl Syntax {
    /// The syntax a body's end tells: OpenMetrics ends with `# EOF`, whatever it was labelled
    /// (servers that build OpenMetrics text often send it as `text/plain`).
    pub fn from_tail(tail: &[u8]) -> Syntax {
        if tail.trim_ascii_end().ends_with(b"# EOF") {
            Syntax::OpenMetrics
        } else {
            Syntax::Classic
        }
    }

    /// The syntax a response's Content-Type names; the classic format unless it names OpenMetrics.
    pub fn from_content_type(content_type: Option<&str>) -> Syntax {
        let media_type = content_type
            .and_then(|value| value.split(';').next())
            .map(str::trim);
        match media_type {
            Some(media) if media.eq_ignore_ascii_case("application/openmetrics-text") => {
                Syntax::OpenMetrics
            }
            _ => Syntax::Classic,
        }
    }

    /// Whether a series called `series` belongs to a family of type `kind` called `family`.
    ///
    /// Classically a counter owns only its own name, so an OpenMetrics-style `x_total` after
    /// `# TYPE x counter` stands as an untyped family of its own, as the format's reference parsers
    /// read it (lookups go by series name, so profiles see it either way).
    pub fn owns(self, kind: MetricKind, family: &str, series: &str) -> bool {
        let Some(suffix) = series.strip_prefix(family) else {
            return false;
        };
        match (self, kind, suffix) {
            (_, MetricKind::GaugeHistogram, "_bucket" | "_gcount" | "_gsum") => true,
            (_, MetricKind::Info, "_info") => true,
            (_, MetricKind::Histogram, "_bucket" | "_sum" | "_count") => true,
            (_, MetricKind::Summary, "_sum" | "_count") => true,
            (Syntax::OpenMetrics, MetricKind::Counter, "_total") => true,
            (
                Syntax::OpenMetrics,
                MetricKind::Counter | MetricKind::Histogram | MetricKind::Summary,
                "_created",
            ) => true,
            (Syntax::OpenMetrics, MetricKind::Counter, "") => false,
            (_, MetricKind::Histogram | MetricKind::GaugeHistogram | MetricKind::Info, "") => false,
            (_, _, suffix) => suffix.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_owns_total_and_created_only_in_openmetrics() {
        let owns = |syntax: Syntax, series| syntax.owns(MetricKind::Counter, "bytes", series);
        assert!(owns(Syntax::Classic, "bytes"));
        assert!(!owns(Syntax::Classic, "bytes_total"));
        assert!(!owns(Syntax::Classic, "bytes_created"));
        assert!(!owns(Syntax::OpenMetrics, "bytes"));
        assert!(owns(Syntax::OpenMetrics, "bytes_total"));
        assert!(owns(Syntax::OpenMetrics, "bytes_created"));
    }

    #[test]
    fn histograms_and_summaries_own_their_series() {
        for syntax in [Syntax::Classic, Syntax::OpenMetrics] {
            let histogram = |series| syntax.owns(MetricKind::Histogram, "rtt", series);
            assert!(histogram("rtt_bucket") && histogram("rtt_sum") && histogram("rtt_count"));
            assert!(!histogram("rtt") && !histogram("rtt_total") && !histogram("rttx_sum"));
            let summary = |series| syntax.owns(MetricKind::Summary, "rtt", series);
            assert!(summary("rtt") && summary("rtt_sum") && summary("rtt_count"));
            assert!(!summary("rtt_bucket"));
            assert_eq!(
                histogram("rtt_created"),
                syntax == Syntax::OpenMetrics,
                "{syntax:?}"
            );
        }
        let owns = |kind, series| Syntax::OpenMetrics.owns(kind, "q", series);
        assert!(
            owns(MetricKind::GaugeHistogram, "q_gsum") && !owns(MetricKind::GaugeHistogram, "q")
        );
        assert!(owns(MetricKind::Info, "q_info") && !owns(MetricKind::Info, "q"));
        assert!(owns(MetricKind::StateSet, "q") && owns(MetricKind::Gauge, "q"));
        assert!(!owns(MetricKind::Gauge, "q_total"));
    }

    #[test]
    fn detects_openmetrics_by_eof_or_content_type() {
        assert_eq!(Syntax::from_tail(b"up 1\n"), Syntax::Classic);
        assert_eq!(Syntax::from_tail(b"up 1\n# EOF\n"), Syntax::OpenMetrics);
        assert_eq!(Syntax::from_tail(b"up 1\n# EOF"), Syntax::OpenMetrics);
        assert_eq!(
            Syntax::from_content_type(Some(
                "application/openmetrics-text; version=1.0.0; charset=utf-8"
            )),
            Syntax::OpenMetrics
        );
        assert_eq!(
            Syntax::from_content_type(Some("text/plain; version=0.0.4")),
            Syntax::Classic
        );
        assert_eq!(Syntax::from_content_type(None), Syntax::Classic);
    }
}
