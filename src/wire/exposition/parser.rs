//! The streaming parser: fed a body in chunks as they arrive, it reads every complete line where it
//! lies in the chunk and stores what it keeps (the wanted series' names and values) in the
//! exposition's one text buffer.

use std::num::NonZeroU32;
use std::ops::Range;

use super::line::{self, Comment, LabelPair, SampleLine};
use super::{
    Exposition, Extra, LineError, MetricKind, NameFilter, ParseError, Span, StoredExemplar,
    StoredFamily, StoredLabel, StoredSample, StoredSeries, Syntax, kind,
};

/// How many malformed lines are kept with their reason; the rest are only counted.
const KEPT_LINE_ERRORS: usize = 16;

/// Stored strings are found by 32-bit offsets, and never outgrow the body they came from.
pub(super) const MAX_BODY_BYTES: usize = u32::MAX as usize;

/// Builds an `Exposition` from a body fed in chunks of any size.
pub struct Parser<'f> {
    wanted: Option<&'f NameFilter>,
    exposition: Exposition,
    /// The start of a line whose end has not arrived yet.
    partial: Vec<u8>,
    /// Body bytes fed so far.
    fed: usize,
    /// Where `partial` starts in the body.
    partial_offset: usize,
    lines: usize,
    content_lines: usize,
    skipped_lines: usize,
    failure: Option<ParseError>,
    /// The line of an OpenMetrics `# EOF`.
    eof_line: Option<usize>,
    /// The family the last sample or metadata line went to.
    current: Option<u32>,
    /// The last sample's series: a family's samples come in a run, so most need no hashing.
    last_series: Option<u32>,
    /// The last sample's labels: their names (and often values) repeat on the next, and are
    /// stored once.
    last_labels: Range<u32>,
    /// The last filter decision, by name: one per family run rather than one per line.
    last_decision: Option<(String, bool)>,
}

impl<'f> Parser<'f> {
    /// A parser for a body in `syntax` that keeps only the series `wanted` names (all, with `None`).
    pub fn new(syntax: Syntax, wanted: Option<&'f NameFilter>) -> Self {
        Parser {
            wanted,
            exposition: Exposition::empty(syntax),
            partial: Vec::new(),
            fed: 0,
            partial_offset: 0,
            lines: 0,
            content_lines: 0,
            skipped_lines: 0,
            failure: None,
            eof_line: None,
            current: None,
            last_series: None,
            last_labels: 0..0,
            last_decision: None,
        }
    }

    /// Reads the complete lines of the body so far; the start of an unfinished line waits for the
    /// next chunk.
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.failure.is_some() {
            return;
        }
        self.fed += chunk.len();
        if self.fed > MAX_BODY_BYTES {
            self.failure = Some(ParseError::TooLarge);
            return;
        }
        let mut rest = chunk;
        if !self.partial.is_empty() {
            let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                self.partial.extend_from_slice(rest);
                return;
            };
            let mut line = std::mem::take(&mut self.partial);
            line.extend_from_slice(&rest[..=end]);
            self.read_lines(&line, self.partial_offset);
            line.clear();
            self.partial = line;
            rest = &rest[end + 1..];
        }
        let complete = rest
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |last| last + 1);
        let start = self.fed - rest.len();
        self.read_lines(&rest[..complete], start);
        self.partial.extend_from_slice(&rest[complete..]);
        self.partial_offset = start + complete;
    }

    /// The exposition, once the whole body has been fed.
    pub fn finish(mut self) -> Result<Exposition, ParseError> {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.read_lines(&line, self.partial_offset);
        }
        if let Some(failure) = self.failure {
            return Err(failure);
        }
        if self.exposition.syntax == Syntax::OpenMetrics
            && self.eof_line.is_none()
            && self.lines > 0
        {
            self.malformed(
                self.lines + 1,
                "the OpenMetrics body does not end with `# EOF`: it may be cut short".into(),
            );
        }
        if self.exposition.series.is_empty() && self.skipped_lines == 0 && self.content_lines > 0 {
            return Err(ParseError::NoSamples {
                lines: self.content_lines,
                first_error: self.exposition.line_errors.first().cloned(),
            });
        }
        Ok(self.exposition)
    }

    /// Reads whole lines that start at `offset` in the body.
    fn read_lines(&mut self, bytes: &[u8], offset: usize) {
        if self.failure.is_some() {
            return;
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(err) => {
                self.failure = Some(ParseError::NotUtf8 {
                    offset: offset + err.valid_up_to(),
                });
                return;
            }
        };
        let mut labels = Vec::new();
        let mut exemplar_labels = Vec::new();
        for line in text.lines() {
            self.lines += 1;
            self.read_line(line.trim(), &mut labels, &mut exemplar_labels);
        }
    }

    fn read_line<'t>(
        &mut self,
        line: &'t str,
        labels: &mut Vec<LabelPair<'t>>,
        exemplar_labels: &mut Vec<LabelPair<'t>>,
    ) {
        if line.is_empty() {
            return;
        }
        if self.wanted.is_some()
            && let Some(name) = line::leading_name(line)
            && !self.wants(name)
        {
            self.skipped_lines += 1;
            return;
        }
        let syntax = self.exposition.syntax;
        let outcome = if let Some(eof) = self.eof_line {
            Err(format!("content after `# EOF` on line {eof}"))
        } else if let Some(comment) = line.strip_prefix('#') {
            match line::parse_comment(comment, syntax) {
                Ok(Comment::Eof) if syntax == Syntax::OpenMetrics => {
                    self.eof_line = Some(self.lines);
                    Ok(())
                }
                Ok(comment) => self.comment(comment),
                Err(reason) => Err(reason),
            }
        } else {
            self.content_lines += 1;
            line::parse_sample(line, syntax, labels, exemplar_labels)
                .map(|sample| self.add(sample, labels, exemplar_labels))
        };
        if let Err(reason) = outcome {
            self.malformed(self.lines, reason);
        }
    }

    fn wants(&mut self, name: &str) -> bool {
        let Some(filter) = self.wanted else {
            return true;
        };
        match &mut self.last_decision {
            Some((last, decision)) if last == name => *decision,
            Some((last, decision)) => {
                last.clear();
                last.push_str(name);
                *decision = filter.wants(name);
                *decision
            }
            None => {
                let decision = filter.wants(name);
                self.last_decision = Some((name.to_owned(), decision));
                decision
            }
        }
    }

    fn malformed(&mut self, line: usize, reason: String) {
        let exposition = &mut self.exposition;
        exposition.malformed_lines += 1;
        if exposition.line_errors.len() < KEPT_LINE_ERRORS {
            exposition.line_errors.push(LineError { line, reason });
        }
    }

    /// `# HELP`, `# TYPE` and `# UNIT` declare or describe a family; other comments are ignored.
    fn comment(&mut self, comment: Comment<'_>) -> Result<(), String> {
        let (name, position) = match &comment {
            Comment::Help { name, .. }
            | Comment::Type { name, .. }
            | Comment::Unit { name, .. } => (*name, self.family_position(name)),
            Comment::Eof | Comment::Other => return Ok(()),
        };
        let at = position as usize;
        match comment {
            Comment::Help { text, .. } => {
                if self.exposition.families[at].help.is_some() {
                    return Err(format!("second HELP line for `{name}`"));
                }
                let help = self.store(&text);
                self.exposition.families[at].help = Some(help);
            }
            Comment::Unit { unit, .. } => {
                let unit = self.store(unit);
                self.exposition.families[at].unit = Some(unit);
            }
            Comment::Type { kind, .. } => {
                let kind = MetricKind::parse(kind).ok_or_else(|| {
                    format!("unknown type `{}` for `{name}`", line::truncate(kind))
                })?;
                let family = &mut self.exposition.families[at];
                if !family.samples.is_empty() || family.kind != MetricKind::Untyped {
                    return Err(format!(
                        "TYPE line for `{name}` after its samples or a first TYPE"
                    ));
                }
                family.kind = kind;
            }
            Comment::Eof | Comment::Other => {}
        }
        self.current = Some(position);
        Ok(())
    }

    /// The position of the family called `name`, created (untyped, empty) when new.
    fn family_position(&mut self, name: &str) -> u32 {
        if let Some(&position) = self.exposition.family_index.get(name) {
            return position;
        }
        let position = self.exposition.families.len() as u32;
        let stored_name = self.store(name);
        self.exposition.families.push(StoredFamily {
            name: stored_name,
            kind: MetricKind::Untyped,
            help: None,
            unit: None,
            samples: Vec::new(),
        });
        self.exposition.family_index.insert(name.into(), position);
        position
    }

    /// Whether the family at `position` owns the series `name`.
    fn owns(&self, position: u32, name: &str) -> bool {
        let family = &self.exposition.families[position as usize];
        let family_name = self.exposition.str(family.name);
        self.exposition.syntax.owns(family.kind, family_name, name)
    }

    /// Files a sample under the current family when it belongs there, else under the family its
    /// name belongs to (a histogram's `_sum` after another family, say), else under a new untyped
    /// family of its own.
    fn add<'t>(
        &mut self,
        sample: SampleLine<'t>,
        labels: &mut Vec<LabelPair<'t>>,
        exemplar_labels: &mut Vec<LabelPair<'t>>,
    ) {
        let name = sample.name;
        let owner = self
            .current
            .filter(|&position| self.owns(position, name))
            .or_else(|| {
                let base = kind::SUFFIXES
                    .iter()
                    .filter_map(|suffix| name.strip_suffix(suffix));
                std::iter::once(name)
                    .chain(base)
                    .filter_map(|candidate| self.exposition.family_index.get(candidate).copied())
                    .find(|&position| self.owns(position, name))
            });
        let position = owner.unwrap_or_else(|| self.family_position(name));
        let series = self.series(name);
        let labels = self.store_labels(labels, true);
        let exemplar = sample.exemplar.map(|exemplar| StoredExemplar {
            labels: self.store_labels(exemplar_labels, false),
            value: exemplar.value,
            timestamp_ms: exemplar.timestamp_ms,
        });
        let extra = (sample.timestamp_ms.is_some() || exemplar.is_some()).then(|| {
            let extras = &mut self.exposition.extras;
            extras.push(Extra {
                timestamp_ms: sample.timestamp_ms,
                exemplar,
            });
            NonZeroU32::new(extras.len() as u32)
        });
        let samples = &mut self.exposition.families[position as usize].samples;
        self.exposition.series[series as usize]
            .samples
            .push((position, samples.len() as u32));
        samples.push(StoredSample {
            series,
            labels,
            value: sample.value,
            extra: extra.flatten(),
        });
        self.current = Some(position);
    }

    /// The position of the series called `name`, created when new.
    fn series(&mut self, name: &str) -> u32 {
        if let Some(series) = self.last_series
            && self
                .exposition
                .str(self.exposition.series[series as usize].name)
                == name
        {
            return series;
        }
        let series = match self.exposition.series_index.get(name) {
            Some(&series) => series,
            None => {
                let stored = StoredSeries {
                    name: self.store(name),
                    samples: Vec::new(),
                };
                let exposition = &mut self.exposition;
                exposition.series.push(stored);
                let series = (exposition.series.len() - 1) as u32;
                exposition.series_index.insert(name.into(), series);
                series
            }
        };
        self.last_series = Some(series);
        series
    }

    /// Stores a sample's or exemplar's labels; a sample's names and values that repeat the last
    /// sample's, label for label, are stored once.
    fn store_labels(&mut self, labels: &mut Vec<LabelPair<'_>>, of_sample: bool) -> Range<u32> {
        let start = self.exposition.labels.len() as u32;
        let last = self.last_labels.clone();
        for (index, (name, value)) in labels.drain(..).enumerate() {
            let previous = of_sample
                .then(|| last.start as usize + index)
                .filter(|&at| at < last.end as usize)
                .map(|at| {
                    (
                        self.exposition.labels[at].name,
                        self.exposition.labels[at].value,
                    )
                });
            let (name, value) = match previous {
                Some((old_name, old_value)) if self.exposition.str(old_name) == name => {
                    let value = if self.exposition.str(old_value) == value {
                        old_value
                    } else {
                        self.store(&value)
                    };
                    (old_name, value)
                }
                _ => (self.store(name), self.store(&value)),
            };
            self.exposition.labels.push(StoredLabel { name, value });
        }
        let stored = start..self.exposition.labels.len() as u32;
        if of_sample {
            self.last_labels = stored.clone();
        }
        stored
    }

    /// Appends `value` to the exposition's text.
    fn store(&mut self, value: &str) -> Span {
        let text = &mut self.exposition.text;
        let start = text.len() as u32;
        text.push_str(value);
        Span {
            start,
            end: text.len() as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "\
# HELP peers Connected peers, \\\\ by \\nstate
# TYPE peers gauge
peers{state=\"connected\",client=\"Lighthouse/v5.3.0\"} 37
peers{state=\"bad\",client=\"Lighthouse/v5.3.0\"} 1
# TYPE slot gauge
slot 9000
";

    /// What the parser makes of `body` fed in pieces of `size` bytes.
    fn fed_in_pieces(body: &[u8], size: usize) -> Result<Vec<String>, ParseError> {
        let mut parser = Parser::new(Syntax::Classic, None);
        for piece in body.chunks(size) {
            parser.feed(piece);
        }
        let exposition = parser.finish()?;
        Ok(exposition
            .families()
            .flat_map(|family| {
                let help = family.help().unwrap_or_default().to_owned();
                family.samples().map(move |sample| {
                    format!(
                        "{help}|{}{:?}={}",
                        sample.name(),
                        sample.labels().collect::<Vec<_>>(),
                        sample.value()
                    )
                })
            })
            .collect())
    }

    #[test]
    fn any_chunking_reads_the_same() {
        let whole = fed_in_pieces(BODY.as_bytes(), BODY.len()).expect("parses");
        assert_eq!(whole.len(), 3);
        assert_eq!(
            whole[0],
            "Connected peers, \\ by \nstate|peers[(\"state\", \"connected\"), (\"client\", \"Lighthouse/v5.3.0\")]=37"
        );
        for size in 1..BODY.len() {
            assert_eq!(
                fed_in_pieces(BODY.as_bytes(), size),
                Ok(whole.clone()),
                "pieces of {size}"
            );
        }
    }

    #[test]
    fn bad_utf8_is_placed_in_the_body_whatever_the_chunking() {
        let mut body = BODY.as_bytes().to_vec();
        body.extend_from_slice(b"up 1\nbroken{a=\"\xff\"} 1\n");
        let offset = BODY.len() + "up 1\nbroken{a=\"".len();
        for size in [1, 3, 7, body.len()] {
            assert_eq!(
                fed_in_pieces(&body, size),
                Err(ParseError::NotUtf8 { offset }),
                "pieces of {size}"
            );
        }
    }

    #[test]
    fn repeated_names_and_values_are_stored_once() {
        let exposition = Exposition::parse(BODY.as_bytes()).expect("parses");
        let stored = exposition.text.len();
        // Stored: the family names, the help, one `peers`, `state`, `client`, both states, the
        // client once, `slot`.
        let expected = "peers".len() * 2
            + "Connected peers, \\ by \nstate".len()
            + "state".len()
            + "connected".len()
            + "client".len()
            + "Lighthouse/v5.3.0".len()
            + "bad".len()
            + "slot".len() * 2;
        assert_eq!(stored, expected, "{:?}", exposition.text);
    }
}
