//! Answering a scraper in the format it asks for. Our registries write OpenMetrics; Prometheus asks
//! for it in its `Accept` header, but curl, promtool and older scrapers expect the classic text
//! format 0.0.4, which has no `info` or `unit` and spells counters' families with `_total`.

pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
pub const CLASSIC: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Whether the `Accept` header prefers OpenMetrics to plain text (by its `q` weights; at equal
/// weight OpenMetrics, the richer format). No header, or one that does not name OpenMetrics, gets
/// the classic format.
pub fn wants_openmetrics(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return false };
    let (mut openmetrics, mut other) = (0.0f32, 0.0f32);
    for range in accept.split(',') {
        let mut parameters = range.split(';');
        let media = parameters.next().unwrap_or_default().trim();
        let weight = parameters
            .find_map(|parameter| parameter.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            openmetrics = openmetrics.max(weight);
        } else if ["text/plain", "text/*", "*/*"]
            .iter()
            .any(|plain| media.eq_ignore_ascii_case(plain))
        {
            other = other.max(weight);
        }
    }
    openmetrics > 0.0 && openmetrics >= other
}

/// The content type and body of a `/metrics` answer to a scraper that sent `accept`, from what a
/// registry wrote in OpenMetrics.
pub fn answer(openmetrics: String, accept: Option<&str>) -> (&'static str, String) {
    if wants_openmetrics(accept) {
        (OPENMETRICS, openmetrics)
    } else {
        (CLASSIC, to_classic(&openmetrics))
    }
}

/// OpenMetrics text rewritten as the classic format: `# EOF`, `# UNIT` and `_created` samples
/// dropped, counters' HELP and TYPE named after their `_total` samples, `info` families as gauges
/// named `_info`, `unknown` as `untyped`.
pub fn to_classic(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    // HELP comes before TYPE, but its classic name depends on the type.
    let mut help: Option<(&str, String)> = None;
    let mut family_type = "";
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            help = Some((name, text.replace("\\\"", "\"")));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "unknown"));
            family_type = kind;
            let (classic_name, classic_type) = match kind {
                "counter" => (format!("{name}_total"), "counter"),
                "info" => (format!("{name}_info"), "gauge"),
                "unknown" => (name.to_owned(), "untyped"),
                other => (name.to_owned(), other),
            };
            if let Some((_, text)) = help.take().filter(|(helped, _)| *helped == name) {
                out.push_str(&format!("# HELP {classic_name} {text}\n"));
            }
            out.push_str(&format!("# TYPE {classic_name} {classic_type}\n"));
        } else if line.starts_with('#') {
            // `# UNIT` and `# EOF` have no classic form.
        } else if is_created_sample(line, family_type) {
        } else if !line.is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn is_created_sample(line: &str, family_type: &str) -> bool {
    let name_end = line.find(['{', ' ']).unwrap_or(line.len());
    matches!(family_type, "counter" | "histogram" | "summary")
        && line[..name_end].ends_with("_created")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_gets_openmetrics_and_curl_the_classic_format() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert!(wants_openmetrics(Some(prometheus)));
        assert!(!wants_openmetrics(Some("*/*")));
        assert!(!wants_openmetrics(None));
        assert!(!wants_openmetrics(Some("text/plain;version=0.0.4")));
        assert!(!wants_openmetrics(Some(
            "application/openmetrics-text;q=0.2,text/plain;q=0.9"
        )));
        assert!(!wants_openmetrics(Some("application/openmetrics-text;q=0")));
    }

    #[test]
    fn counters_info_units_and_created_samples_become_classic() {
        let openmetrics = "\
# HELP requests Requests \\\"served\\\".
# TYPE requests counter
requests_total{route=\"/a\"} 3
requests_created{route=\"/a\"} 1.7e9
# HELP build Build.
# TYPE build info
build_info{version=\"0.1.0\"} 1
# HELP latency_seconds Latency.
# TYPE latency_seconds histogram
# UNIT latency_seconds seconds
latency_seconds_sum 0.5
latency_seconds_count 2
latency_seconds_bucket{le=\"+Inf\"} 2
# TYPE odd unknown
odd 1
# EOF
";
        let classic = "\
# HELP requests_total Requests \"served\".
# TYPE requests_total counter
requests_total{route=\"/a\"} 3
# HELP build_info Build.
# TYPE build_info gauge
build_info{version=\"0.1.0\"} 1
# HELP latency_seconds Latency.
# TYPE latency_seconds histogram
latency_seconds_sum 0.5
latency_seconds_count 2
latency_seconds_bucket{le=\"+Inf\"} 2
# TYPE odd untyped
odd 1
";
        assert_eq!(to_classic(openmetrics), classic);
    }
}
