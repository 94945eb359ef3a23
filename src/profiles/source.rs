//! The small vocabulary profiles are written in: where a value comes from in a scrape.
//!
//! Each rule is data ("the series of `p2p_peer_count` whose `state` is `Connected`"), so a profile
//! reads as a table and a new client needs no new code unless it reports something truly odd.

use std::fmt;

use crate::exposition::{Exposition, Sample};

/// Where one numeric field is read from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// The value of a single-series family (or of its unlabelled series when it has several).
    Value(&'static str),
    /// The value of the series whose `label` equals `value`.
    Labelled {
        name: &'static str,
        label: &'static str,
        value: &'static str,
    },
    /// The sum over every series of a family (over protocols, directions, ...).
    Sum(&'static str),
    /// The sum over the series whose `label` equals `value`.
    SumLabelled {
        name: &'static str,
        label: &'static str,
        value: &'static str,
    },
    /// How many series a family has (Prysm: one `validator_statuses` series per key).
    CountSeries(&'static str),
    /// How many series of a family carry exactly this value (a status code, say).
    CountValue { name: &'static str, value: f64 },
    /// The sum of several sources; absent unless every part is present.
    Total(&'static [Source]),
    /// The first of several alternatives that is present (names drift between releases).
    FirstOf(&'static [Source]),
}

impl Source {
    /// Every series name this rule reads.
    pub fn names(&self) -> Vec<&'static str> {
        match *self {
            Source::Value(name)
            | Source::Labelled { name, .. }
            | Source::Sum(name)
            | Source::SumLabelled { name, .. }
            | Source::CountSeries(name)
            | Source::CountValue { name, .. } => vec![name],
            Source::Total(parts) | Source::FirstOf(parts) => {
                parts.iter().flat_map(Source::names).collect()
            }
        }
    }

    /// The value in this scrape, or `None` when the family (or the wanted series) is absent.
    pub fn read(&self, exposition: &Exposition) -> Option<f64> {
        match *self {
            Source::Value(name) => single_value(exposition.samples(name).collect()),
            Source::Labelled { name, label, value } => exposition
                .samples(name)
                .find(|sample| sample.label(label) == Some(value))
                .map(Sample::value),
            Source::Sum(name) => sum(exposition.samples(name)),
            Source::SumLabelled { name, label, value } => sum(exposition
                .samples(name)
                .filter(|sample| sample.label(label) == Some(value))),
            Source::CountSeries(name) => {
                let count = exposition.samples(name).count();
                exposition.contains(name).then_some(count as f64)
            }
            Source::CountValue { name, value } => {
                let count = exposition
                    .samples(name)
                    .filter(|sample| sample.value() == value)
                    .count();
                exposition.contains(name).then_some(count as f64)
            }
            Source::Total(parts) => parts.iter().map(|part| part.read(exposition)).sum(),
            Source::FirstOf(alternatives) => alternatives
                .iter()
                .find_map(|alternative| alternative.read(exposition)),
        }
    }
}

/// The rule as a person reads it: `p2p_peer_count{state="Connected"}`,
/// `sum(libp2p_bandwidth_bytes_total{direction="Inbound"})`, `store_disk_db_size + store_freezer_db_size`.
impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |parts: &[Source], separator: &str| {
            parts
                .iter()
                .map(Source::to_string)
                .collect::<Vec<_>>()
                .join(separator)
        };
        match self {
            Source::Value(name) => write!(f, "{name}"),
            Source::Labelled { name, label, value } => write!(f, "{name}{{{label}=\"{value}\"}}"),
            Source::Sum(name) => write!(f, "sum({name})"),
            Source::SumLabelled { name, label, value } => {
                write!(f, "sum({name}{{{label}=\"{value}\"}})")
            }
            Source::CountSeries(name) => write!(f, "count({name})"),
            Source::CountValue { name, value } => write!(f, "count({name} == {value})"),
            Source::Total(parts) => f.write_str(&join(parts, " + ")),
            Source::FirstOf(parts) => write!(f, "first of: {}", join(parts, ", ")),
        }
    }
}

fn single_value(samples: Vec<Sample<'_>>) -> Option<f64> {
    match samples.as_slice() {
        [only] => Some(only.value()),
        many => many
            .iter()
            .find(|sample| sample.has_no_labels())
            .map(|sample| sample.value()),
    }
}

/// The sum of the samples, or `None` when there are none: an empty sum is "not exposed", not 0.
fn sum<'a>(samples: impl Iterator<Item = Sample<'a>>) -> Option<f64> {
    samples.fold(None, |total, sample| {
        Some(total.unwrap_or(0.0) + sample.value())
    })
}

/// A string carried in a label of a marker series (value 1), such as a version.
#[derive(Debug, Clone, Copy)]
pub struct LabelSource {
    /// Family names to try, in order.
    pub names: &'static [&'static str],
    pub label: &'static str,
}

impl fmt::Display for LabelSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self
            .names
            .iter()
            .map(|name| format!("{name}{{{}}}", self.label))
            .collect();
        f.write_str(&names.join(" or "))
    }
}

impl LabelSource {
    pub fn read<'a>(&self, exposition: &'a Exposition) -> Option<&'a str> {
        self.names.iter().find_map(|name| {
            exposition
                .samples(name)
                .find_map(|sample| sample.label(self.label))
                .filter(|value| !value.is_empty())
        })
    }
}

impl SyncSignal {
    /// The series this signal reads.
    pub fn names(&self) -> Vec<&'static str> {
        match self {
            SyncSignal::SyncedFlag(source)
            | SyncSignal::SyncingFlag(source)
            | SyncSignal::StatusEquals(source, _) => source.names(),
            SyncSignal::SlotDistance => Vec::new(),
        }
    }
}

/// How a client says whether its beacon node is in sync with the network.
#[derive(Debug, Clone, Copy)]
pub enum SyncSignal {
    /// A 0/1 gauge where 1 means synced.
    SyncedFlag(Source),
    /// A 0/1 gauge where 1 means still syncing (Teku's).
    SyncingFlag(Source),
    /// A status gauge; this value means synced (Lodestar's 3).
    StatusEquals(Source, f64),
    /// No signal of its own: compare the head slot with the wall-clock slot.
    SlotDistance,
}

impl fmt::Display for SyncSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncSignal::SyncedFlag(source) => write!(f, "{source} == 1"),
            SyncSignal::SyncingFlag(source) => write!(f, "{source} == 0 (1 means syncing)"),
            SyncSignal::StatusEquals(source, value) => write!(f, "{source} == {value}"),
            SyncSignal::SlotDistance => write!(
                f,
                "head slot within {SYNC_TOLERANCE_SLOTS} slots of the wall-clock slot"
            ),
        }
    }
}

/// How far the head may trail the wall-clock slot on a node that is in sync.
///
/// A missed proposal leaves the head one slot behind on a healthy node, and a scrape that lands
/// just after a slot boundary sees the clock tick before the block arrives; four slots (48 s on
/// mainnet) absorbs both, even twice in a row, while a node that has really fallen behind trails by
/// far more. Prysm's exact equality reports a synced node as "not synced" after every missed block.
pub const SYNC_TOLERANCE_SLOTS: f64 = 4.0;

/// Whether a head at `head` is in sync with a wall clock at `clock`. A head ahead of the clock (the
/// node's clock and ours disagree by a moment) is in sync.
pub fn in_sync_by_slots(head: f64, clock: f64) -> bool {
    clock - head <= SYNC_TOLERANCE_SLOTS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(text: &str) -> Exposition {
        Exposition::parse(text.as_bytes()).expect("valid test exposition")
    }

    #[test]
    fn sum_of_absent_family_is_absent_not_zero() {
        let exposition = scrape("up 1\n");
        assert_eq!(
            Source::Sum("libp2p_bandwidth_bytes_total").read(&exposition),
            None
        );
        assert_eq!(
            Source::CountSeries("validator_statuses").read(&exposition),
            None
        );
    }

    #[test]
    fn count_value_counts_matching_series() {
        let exposition = scrape(
            "validator_statuses{pubkey=\"a\"} 3\nvalidator_statuses{pubkey=\"b\"} 1\n\
             validator_statuses{pubkey=\"c\"} 3\n",
        );
        let active = Source::CountValue {
            name: "validator_statuses",
            value: 3.0,
        };
        assert_eq!(active.read(&exposition), Some(2.0));
        assert_eq!(
            Source::CountSeries("validator_statuses").read(&exposition),
            Some(3.0)
        );
    }

    #[test]
    fn total_needs_every_part() {
        const DB: Source = Source::Total(&[
            Source::Value("store_disk_db_size"),
            Source::Value("store_freezer_db_size"),
        ]);
        assert_eq!(DB.read(&scrape("store_disk_db_size 10\n")), None);
        assert_eq!(
            DB.read(&scrape("store_disk_db_size 10\nstore_freezer_db_size 5\n")),
            Some(15.0)
        );
    }

    #[test]
    fn first_of_takes_the_first_present() {
        const HEAD: Source = Source::FirstOf(&[
            Source::Value("beacon_head_slot"),
            Source::Value("notifier_head_slot"),
        ]);
        assert_eq!(HEAD.read(&scrape("notifier_head_slot 7\n")), Some(7.0));
        assert_eq!(
            HEAD.read(&scrape("notifier_head_slot 7\nbeacon_head_slot 8\n")),
            Some(8.0)
        );
    }

    #[test]
    fn value_of_many_labelled_series_is_ambiguous() {
        let exposition = scrape("libp2p_peers{dir=\"in\"} 3\nlibp2p_peers{dir=\"out\"} 4\n");
        assert_eq!(Source::Value("libp2p_peers").read(&exposition), None);
    }

    #[test]
    fn sync_tolerance() {
        assert!(in_sync_by_slots(100.0, 100.0));
        assert!(
            in_sync_by_slots(99.0, 100.0),
            "one missed block is still synced"
        );
        assert!(in_sync_by_slots(101.0, 100.0), "head ahead of our clock");
        assert!(!in_sync_by_slots(90.0, 100.0));
    }
}
