//! One line of an exposition, read into parts that borrow from it. Only a label value or help
//! text with an escape in it is copied (decoded); everything else stays a slice of the body.

use std::borrow::Cow;

use super::Syntax;

/// A label as read: its name, and its value with escapes decoded.
pub(super) type LabelPair<'t> = (&'t str, Cow<'t, str>);

/// A sample line, its labels left in the caller's buffers (reused from line to line).
#[derive(Debug)]
pub(super) struct SampleLine<'t> {
    pub name: &'t str,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
    pub exemplar: Option<ExemplarLine>,
}

/// An OpenMetrics exemplar: `# {labels} value [timestamp]` after a sample's value.
#[derive(Debug)]
pub(super) struct ExemplarLine {
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

/// A metadata comment.
#[derive(Debug, PartialEq)]
pub(super) enum Comment<'t> {
    Help {
        name: &'t str,
        text: Cow<'t, str>,
    },
    Type {
        name: &'t str,
        kind: &'t str,
    },
    Unit {
        name: &'t str,
        unit: &'t str,
    },
    Eof,
    /// Any other comment, which both formats let through.
    Other,
}

/// The metric a line is about, when it is a sample or a `# HELP`/`# TYPE`/`# UNIT` line with a
/// valid name; `None` for anything else, which the parser then judges itself.
pub(super) fn leading_name(line: &str) -> Option<&str> {
    let line = match line.strip_prefix('#') {
        Some(comment) => {
            let comment = comment.trim_start();
            comment
                .strip_prefix("HELP")
                .or_else(|| comment.strip_prefix("TYPE"))
                .or_else(|| comment.strip_prefix("UNIT"))?
                .trim_start()
        }
        None => line,
    };
    let name = &line[..name_end(line)];
    is_metric_name(name).then_some(name)
}

/// Reads a `#` line (without the `#`).
pub(super) fn parse_comment(comment: &str, syntax: Syntax) -> Result<Comment<'_>, String> {
    let comment = comment.trim_start();
    // An absent part is the empty end of the line, not a literal: what is returned stays a slice
    // of the body.
    let (keyword, rest) = comment
        .split_once([' ', '\t'])
        .unwrap_or((comment, &comment[comment.len()..]));
    if !matches!(keyword, "HELP" | "TYPE" | "UNIT") {
        return Ok(if keyword == "EOF" && rest.trim().is_empty() {
            Comment::Eof
        } else {
            Comment::Other
        });
    }
    let rest = rest.trim_start();
    let (name, value) = rest
        .split_once([' ', '\t'])
        .unwrap_or((rest, &rest[rest.len()..]));
    if !is_metric_name(name) {
        return Err(format!(
            "`# {keyword}` names no valid metric (`{}`)",
            truncate(name)
        ));
    }
    Ok(match keyword {
        "HELP" => Comment::Help {
            name,
            text: unescape_help(value, syntax),
        },
        "TYPE" => Comment::Type {
            name,
            kind: value.trim(),
        },
        _ => Comment::Unit {
            name,
            unit: value.trim(),
        },
    })
}

/// `name{label="value",...} value [timestamp] [# {label="value",...} value [timestamp]]`, the
/// exemplar only in OpenMetrics. The sample's labels go to `labels`, the exemplar's to
/// `exemplar_labels`; both are cleared first.
pub(super) fn parse_sample<'t>(
    line: &'t str,
    syntax: Syntax,
    labels: &mut Vec<LabelPair<'t>>,
    exemplar_labels: &mut Vec<LabelPair<'t>>,
) -> Result<SampleLine<'t>, String> {
    labels.clear();
    exemplar_labels.clear();
    let name = &line[..name_end(line)];
    if !is_metric_name(name) {
        return Err(format!("`{}` is not a valid metric name", truncate(name)));
    }
    // Blanks may stand between the name and its labels.
    let mut rest = line[name.len()..].trim_start();
    if let Some(after_brace) = rest.strip_prefix('{') {
        rest = parse_labels(after_brace, labels)?;
    }
    let (rest, exemplar_text) = match syntax {
        Syntax::OpenMetrics => match rest.split_once('#') {
            Some((sample, exemplar)) => (sample, Some(exemplar)),
            None => (rest, None),
        },
        Syntax::Classic => (rest, None),
    };
    let (value, timestamp_ms) =
        parse_value_and_timestamp(rest, syntax).map_err(|reason| format!("`{name}`: {reason}"))?;
    let exemplar = exemplar_text
        .map(|text| parse_exemplar(text, exemplar_labels))
        .transpose()
        .map_err(|reason| format!("`{name}`: exemplar: {reason}"))?;
    Ok(SampleLine {
        name,
        value,
        timestamp_ms,
        exemplar,
    })
}

fn parse_exemplar<'t>(
    text: &'t str,
    labels: &mut Vec<LabelPair<'t>>,
) -> Result<ExemplarLine, String> {
    let after_brace = text
        .trim_start()
        .strip_prefix('{')
        .ok_or("no `{` opens its labels")?;
    let rest = parse_labels(after_brace, labels)?;
    let (value, timestamp_ms) = parse_value_and_timestamp(rest, Syntax::OpenMetrics)?;
    Ok(ExemplarLine {
        value,
        timestamp_ms,
    })
}

/// `value [timestamp]`: the timestamp in integer milliseconds classically, in (fractional) seconds
/// in OpenMetrics; either way returned as milliseconds.
fn parse_value_and_timestamp(text: &str, syntax: Syntax) -> Result<(f64, Option<i64>), String> {
    let mut fields = text.split_ascii_whitespace();
    let value_text = fields.next().ok_or("no value")?;
    let value = value_text
        .parse::<f64>()
        .map_err(|_| format!("`{}` is not a number", truncate(value_text)))?;
    let timestamp_ms = fields
        .next()
        .map(|text| {
            let milliseconds = match syntax {
                Syntax::Classic => text.parse::<i64>().ok(),
                Syntax::OpenMetrics => text
                    .parse::<f64>()
                    .ok()
                    .map(|seconds| (seconds * 1000.0).round())
                    // Within i64 milliseconds; `as` would saturate a wild value silently.
                    .filter(|ms| ms.is_finite() && ms.abs() < 9.2e18)
                    .map(|ms| ms as i64),
            };
            milliseconds.ok_or_else(|| format!("`{}` is not a timestamp", truncate(text)))
        })
        .transpose()?;
    if let Some(extra) = fields.next() {
        return Err(format!("unexpected `{}` after the value", truncate(extra)));
    }
    Ok((value, timestamp_ms))
}

/// Reads `label="value",...}` and returns what follows the closing brace.
fn parse_labels<'t>(mut rest: &'t str, labels: &mut Vec<LabelPair<'t>>) -> Result<&'t str, String> {
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
        if labels.iter().any(|(existing, _)| *existing == name) {
            return Err(format!("label `{name}` given twice"));
        }
        let quoted = after_name
            .trim_start()
            .strip_prefix('"')
            .ok_or_else(|| format!("the value of label `{name}` is not quoted"))?;
        let (value, after_value) = read_quoted(quoted)
            .ok_or_else(|| format!("the value of label `{name}` has no closing quote"))?;
        labels.push((name, value));
        rest = after_value.trim_start();
        if let Some(after_comma) = rest.strip_prefix(',') {
            rest = after_comma;
        } else if !rest.starts_with('}') {
            return Err(format!("expected `,` or `}}` after label `{name}`"));
        }
    }
}

/// A label value up to its closing quote, with `\\`, `\"` and `\n` decoded; and the rest. Borrowed
/// when the value has no escape, as almost every value has none.
fn read_quoted(text: &str) -> Option<(Cow<'_, str>, &str)> {
    let bytes = text.as_bytes();
    let end = bytes.iter().position(|&b| b == b'"' || b == b'\\')?;
    if bytes[end] == b'"' {
        return Some((Cow::Borrowed(&text[..end]), &text[end + 1..]));
    }
    let mut value = String::with_capacity(text.len().min(64));
    value.push_str(&text[..end]);
    let mut chars = text[end..].char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((Cow::Owned(value), &text[end + at + 1..])),
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

/// HELP text escapes `\\` and `\n`, and in OpenMetrics `\"` too.
fn unescape_help(text: &str, syntax: Syntax) -> Cow<'_, str> {
    if !text.contains('\\') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some('\\')) => out.push('\\'),
            ('\\', Some('n')) => out.push('\n'),
            ('\\', Some('"')) if syntax == Syntax::OpenMetrics => out.push('"'),
            _ => {
                out.push(c);
                continue;
            }
        }
        chars.next();
    }
    Cow::Owned(out)
}

/// Where a line's metric name ends: at `{`, a blank, or the end.
fn name_end(line: &str) -> usize {
    line.bytes()
        .position(|b| b == b'{' || b.is_ascii_whitespace())
        .unwrap_or(line.len())
}

pub(super) fn is_metric_name(name: &str) -> bool {
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

/// At most 60 characters of `text`, for an error message.
pub(super) fn truncate(text: &str) -> String {
    const SHOWN: usize = 60;
    match text.char_indices().nth(SHOWN) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(line: &str, syntax: Syntax) -> Result<(SampleLine<'_>, Vec<LabelPair<'_>>), String> {
        let (mut labels, mut exemplar) = (Vec::new(), Vec::new());
        parse_sample(line, syntax, &mut labels, &mut exemplar).map(|parsed| (parsed, labels))
    }

    #[test]
    fn plain_values_are_borrowed_and_escaped_ones_decoded() {
        let (parsed, labels) =
            sample(r#"m{a="plain",b="say \"hi\"\n"} 2"#, Syntax::Classic).expect("valid");
        assert_eq!(parsed.name, "m");
        assert!(matches!(labels[0].1, Cow::Borrowed("plain")));
        assert!(matches!(&labels[1].1, Cow::Owned(v) if v == "say \"hi\"\n"));
    }

    #[test]
    fn timestamps_are_milliseconds_classically_and_seconds_in_openmetrics() {
        let (classic, _) = sample("m 1 1700000000123", Syntax::Classic).expect("valid");
        assert_eq!(classic.timestamp_ms, Some(1_700_000_000_123));
        let (open, _) = sample("m 1 1700000000.123", Syntax::OpenMetrics).expect("valid");
        assert_eq!(open.timestamp_ms, Some(1_700_000_000_123));
        assert!(sample("m 1 1700000000.5", Syntax::Classic).is_err());
        assert!(sample("m 1 1e300", Syntax::OpenMetrics).is_err());
    }

    #[test]
    fn exemplars_are_read_in_openmetrics_only() {
        let line = r#"rpc_bucket{le="0.5"} 7 # {trace_id="abc"} 0.31 1700000000.5"#;
        let (mut labels, mut exemplar_labels) = (Vec::new(), Vec::new());
        let parsed = parse_sample(line, Syntax::OpenMetrics, &mut labels, &mut exemplar_labels)
            .expect("valid");
        let exemplar = parsed.exemplar.expect("an exemplar");
        assert_eq!(
            (exemplar.value, exemplar.timestamp_ms),
            (0.31, Some(1_700_000_000_500))
        );
        assert_eq!(exemplar_labels, [("trace_id", Cow::Borrowed("abc"))]);
        assert_eq!(parsed.value, 7.0);
        assert!(sample(line, Syntax::Classic).is_err());
        let broken = sample(r#"c_total 1 # trace_id="abc" 1"#, Syntax::OpenMetrics);
        assert!(broken.expect_err("no braces").contains("exemplar"));
    }

    #[test]
    fn comments() {
        let help = parse_comment(
            r#" HELP m a \"quoted\" \\ and\nnewline"#,
            Syntax::OpenMetrics,
        );
        assert_eq!(
            help,
            Ok(Comment::Help {
                name: "m",
                text: Cow::Owned("a \"quoted\" \\ and\nnewline".into())
            })
        );
        let classic = parse_comment(r#" HELP m a \"quoted\""#, Syntax::Classic);
        assert_eq!(
            classic,
            Ok(Comment::Help {
                name: "m",
                text: Cow::Owned(r#"a \"quoted\""#.into())
            })
        );
        assert_eq!(
            parse_comment(" UNIT m seconds", Syntax::OpenMetrics),
            Ok(Comment::Unit {
                name: "m",
                unit: "seconds"
            })
        );
        assert_eq!(parse_comment(" EOF", Syntax::OpenMetrics), Ok(Comment::Eof));
        assert_eq!(
            parse_comment(" a remark", Syntax::Classic),
            Ok(Comment::Other)
        );
        assert!(parse_comment(" TYPE 0bad gauge", Syntax::Classic).is_err());
    }
}
