//! The small vocabulary profiles are written in: where a value comes from in a scrape.
//!
//! Each rule is data, read from a profile file (TOML): a bare metric name, or a table saying how to
//! read it. Numbers (`Source`):
//!
//! - `"libp2p_peers"`: the value of the family's only series (or of its unlabelled one);
//! - `{ metric = "p2p_peer_count", labels = { state = "Connected" } }`: the first series whose labels
//!   include these;
//! - `{ sum = "libp2p_bandwidth_bytes_total", labels = { direction = "Inbound" } }`: the sum over the
//!   matching series (all of them without `labels`);
//! - `{ count = "validator_statuses" }`, `{ count = "validator_statuses", value = 3 }`: how many
//!   matching series there are (that carry this value);
//! - `{ distinct = "engine_api_responses_total", label = "url" }`: how many different values the
//!   label takes among the matching series (one series per URL and status: how many URLs);
//! - `{ add = [rule, rule] }`: the sum of several rules, absent unless every part is present;
//! - `{ difference = [rule, rule] }`: the first minus the second;
//! - `{ first_of = [rule, rule] }`: the first rule that is present (names drift between releases).
//!
//! Flags (`Flag`) are a number rule and a test: a bare rule means "not 0"; `equals`, `at_least` or
//! `at_most` compare instead (`{ metric = "lodestar_sync_status", equals = 3 }`); and
//! `{ first_of = [flag, flag] }` takes the first flag that is known. Texts (`TextSource`) come from a
//! label of a marker series: `{ metric = "lighthouse_info", label = "version" }` (`metric` may list
//! several families, tried in order).
//!
//! A family that is absent, or a value that is not a number, is "not exposed": never a 0 or false.

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;
use toml::{Table, Value};

use crate::wire::exposition::{Exposition, Sample};

/// Where one numeric field is read from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "Value")]
pub enum Source {
    /// The family's only series (or its unlabelled one), or the first whose labels include `labels`.
    Metric { name: String, labels: Labels },
    /// The sum over the series whose labels include `labels`.
    Sum { name: String, labels: Labels },
    /// How many series' labels include `labels` (and whose value is `value`).
    Count {
        name: String,
        labels: Labels,
        value: Option<f64>,
    },
    /// How many different values `label` takes among the series whose labels include `labels`.
    Distinct {
        name: String,
        label: String,
        labels: Labels,
    },
    /// The sum of several sources; absent unless every part is present.
    Add(Vec<Source>),
    /// The first minus the second; absent unless both are present.
    Difference(Box<Source>, Box<Source>),
    /// The first of several alternatives that is present.
    FirstOf(Vec<Source>),
}

/// Label pairs a series must carry, in the order the profile gives them.
pub type Labels = Vec<(String, String)>;

/// A flag: a number and how to read it as true or false.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "Value")]
pub enum Flag {
    Test(Source, Test),
    /// The first of several flags that is known.
    FirstOf(Vec<Flag>),
}

/// How a number reads as a flag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Test {
    NonZero,
    Equals(f64),
    AtLeast(f64),
    AtMost(f64),
}

/// A string carried in a label of a marker series (value 1), such as a version.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "Value")]
pub struct TextSource {
    /// Families to try, in order.
    pub names: Vec<String>,
    pub label: String,
}

impl Source {
    /// The plain value of a family.
    pub fn metric(name: &str) -> Source {
        Source::Metric {
            name: name.to_owned(),
            labels: Vec::new(),
        }
    }

    /// The first series of a family that carries `label="value"`.
    pub fn metric_where(name: &str, label: &str, value: &str) -> Source {
        Source::Metric {
            name: name.to_owned(),
            labels: vec![(label.to_owned(), value.to_owned())],
        }
    }

    /// The sum of a family's series that carry `label="value"`.
    pub fn sum_where(name: &str, label: &str, value: &str) -> Source {
        Source::Sum {
            name: name.to_owned(),
            labels: vec![(label.to_owned(), value.to_owned())],
        }
    }

    /// Every series name this rule reads.
    pub fn names(&self) -> Vec<&str> {
        match self {
            Source::Metric { name, .. }
            | Source::Sum { name, .. }
            | Source::Count { name, .. }
            | Source::Distinct { name, .. } => vec![name],
            Source::Difference(first, second) => {
                let mut names = first.names();
                names.extend(second.names());
                names
            }
            Source::Add(parts) | Source::FirstOf(parts) => {
                parts.iter().flat_map(Source::names).collect()
            }
        }
    }

    /// The value in this scrape, or `None` when the family (or the wanted series) is absent.
    pub fn read(&self, exposition: &Exposition) -> Option<f64> {
        match self {
            Source::Metric { name, labels } if labels.is_empty() => {
                single_value(exposition.samples(name).collect())
            }
            Source::Metric { name, labels } => exposition
                .samples(name)
                .find(|sample| carries(*sample, labels))
                .map(Sample::value),
            Source::Sum { name, labels } => sum(exposition
                .samples(name)
                .filter(|sample| carries(*sample, labels))),
            Source::Count {
                name,
                labels,
                value,
            } => {
                let count = exposition
                    .samples(name)
                    .filter(|sample| carries(*sample, labels))
                    .filter(|sample| value.is_none_or(|wanted| sample.value() == wanted))
                    .count();
                exposition.contains(name).then_some(count as f64)
            }
            Source::Distinct {
                name,
                label,
                labels,
            } => {
                let values: HashSet<&str> = exposition
                    .samples(name)
                    .filter(|sample| carries(*sample, labels))
                    .filter_map(|sample| sample.label(label))
                    // An empty label value is no value, as in Prometheus.
                    .filter(|value| !value.is_empty())
                    .collect();
                exposition.contains(name).then_some(values.len() as f64)
            }
            Source::Add(parts) => parts.iter().map(|part| part.read(exposition)).sum(),
            Source::Difference(first, second) => {
                Some(first.read(exposition)? - second.read(exposition)?)
            }
            Source::FirstOf(alternatives) => alternatives
                .iter()
                .find_map(|alternative| alternative.read(exposition)),
        }
    }

    fn is_compound(&self) -> bool {
        matches!(
            self,
            Source::Add(_) | Source::Difference(..) | Source::FirstOf(_)
        )
    }
}

impl Flag {
    /// Every series name this flag reads.
    pub fn names(&self) -> Vec<&str> {
        match self {
            Flag::Test(source, _) => source.names(),
            Flag::FirstOf(flags) => flags.iter().flat_map(Flag::names).collect(),
        }
    }

    /// The flag in this scrape; `None` when its number is absent or not a number.
    pub fn read(&self, exposition: &Exposition) -> Option<bool> {
        match self {
            Flag::Test(source, test) => {
                let value = source.read(exposition).filter(|value| !value.is_nan())?;
                Some(match *test {
                    Test::NonZero => value != 0.0,
                    Test::Equals(wanted) => value == wanted,
                    Test::AtLeast(bound) => value >= bound,
                    Test::AtMost(bound) => value <= bound,
                })
            }
            Flag::FirstOf(flags) => flags.iter().find_map(|flag| flag.read(exposition)),
        }
    }
}

impl TextSource {
    pub fn read<'a>(&self, exposition: &'a Exposition) -> Option<&'a str> {
        self.names.iter().find_map(|name| {
            exposition
                .samples(name)
                .find_map(|sample| sample.label(&self.label))
                .filter(|value| !value.is_empty())
        })
    }
}

fn carries(sample: Sample<'_>, labels: &Labels) -> bool {
    labels
        .iter()
        .all(|(label, value)| sample.label(label) == Some(value.as_str()))
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

// ---- As people read them (`nodepulse check`) ----

fn with_labels(name: &str, labels: &Labels) -> String {
    if labels.is_empty() {
        return name.to_owned();
    }
    let pairs: Vec<String> = labels
        .iter()
        .map(|(label, value)| format!("{label}=\"{value}\""))
        .collect();
    format!("{name}{{{}}}", pairs.join(","))
}

fn join<T: fmt::Display>(parts: &[T], separator: &str) -> String {
    parts
        .iter()
        .map(T::to_string)
        .collect::<Vec<_>>()
        .join(separator)
}

/// `p2p_peer_count{state="Connected"}`, `sum(libp2p_bandwidth_bytes_total{direction="Inbound"})`,
/// `store_disk_db_size + store_freezer_db_size`, `count(validator_statuses == 3)`.
impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Metric { name, labels } => f.write_str(&with_labels(name, labels)),
            Source::Sum { name, labels } => write!(f, "sum({})", with_labels(name, labels)),
            Source::Count {
                name,
                labels,
                value: None,
            } => write!(f, "count({})", with_labels(name, labels)),
            Source::Count {
                name,
                labels,
                value: Some(value),
            } => write!(f, "count({} == {value})", with_labels(name, labels)),
            Source::Distinct {
                name,
                label,
                labels,
            } => write!(
                f,
                "count(count by ({label}) ({}))",
                with_labels(name, labels)
            ),
            Source::Add(parts) => f.write_str(&join(parts, " + ")),
            Source::Difference(first, second) => {
                let part = |source: &Source| {
                    if source.is_compound() {
                        format!("({source})")
                    } else {
                        source.to_string()
                    }
                };
                write!(f, "{} - {}", part(first), part(second))
            }
            Source::FirstOf(parts) => write!(f, "first of: {}", join(parts, ", ")),
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flag::Test(source, Test::NonZero) => write!(f, "{source} != 0"),
            Flag::Test(source, Test::Equals(value)) => write!(f, "{source} == {value}"),
            Flag::Test(source, Test::AtLeast(value)) => write!(f, "{source} >= {value}"),
            Flag::Test(source, Test::AtMost(value)) => write!(f, "{source} <= {value}"),
            Flag::FirstOf(flags) => write!(f, "first of: {}", join(flags, "; ")),
        }
    }
}

impl fmt::Display for TextSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self
            .names
            .iter()
            .map(|name| format!("{name}{{{}}}", self.label))
            .collect();
        f.write_str(&names.join(" or "))
    }
}

// ---- Read from a profile file ----

/// What a number rule may be, for error messages.
const SOURCE_FORMS: &str = "a metric name, or a table with one of `metric`, `sum`, `count`, \
     `distinct` (each with optional `labels`), `add`, `difference`, `first_of`";

/// Whether `name` can be a Prometheus metric or label name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn name_in(value: &Value, what: &str) -> Result<String, String> {
    match value {
        Value::String(name) if is_valid_name(name) => Ok(name.clone()),
        Value::String(name) => Err(format!(
            "`{name}` is not a valid {what} name (letters, digits, `_` and `:`, not starting with a digit)"
        )),
        other => Err(format!(
            "expected a {what} name as a string, found {}",
            other.type_str()
        )),
    }
}

fn number_in(value: &Value, key: &str) -> Result<f64, String> {
    match value {
        Value::Integer(number) => Ok(*number as f64),
        Value::Float(number) => Ok(*number),
        other => Err(format!(
            "`{key}` takes a number, found {}",
            other.type_str()
        )),
    }
}

fn labels_in(table: &Table) -> Result<Labels, String> {
    let Some(labels) = table.get("labels") else {
        return Ok(Vec::new());
    };
    let Value::Table(labels) = labels else {
        return Err(
            "`labels` takes a table of label names and values, like { state = \"Connected\" }"
                .into(),
        );
    };
    labels
        .iter()
        .map(|(label, value)| {
            let label = name_in(&Value::String(label.clone()), "label")?;
            match value {
                Value::String(value) => Ok((label, value.clone())),
                other => Err(format!(
                    "label `{label}` takes a string value, found {}",
                    other.type_str()
                )),
            }
        })
        .collect()
}

fn list_in<T>(
    value: &Value,
    key: &str,
    want: usize,
    item: impl Fn(Value) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    let Value::Array(items) = value else {
        return Err(format!("`{key}` takes a list of rules"));
    };
    if items.len() < want {
        return Err(format!("`{key}` takes at least {want} rules"));
    }
    items.iter().cloned().map(item).collect()
}

/// Refuses keys other than `allowed`, naming them.
fn only_keys(table: &Table, allowed: &[&str]) -> Result<(), String> {
    match table.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(format!(
            "unknown key `{key}` here; expected {}",
            allowed
                .iter()
                .map(|key| format!("`{key}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => Ok(()),
    }
}

/// The comparison keys of a flag.
const TESTS: [&str; 3] = ["equals", "at_least", "at_most"];

fn source_from_table(table: &Table, extra: &[&str]) -> Result<Source, String> {
    const KINDS: [&str; 7] = [
        "metric",
        "sum",
        "count",
        "distinct",
        "add",
        "difference",
        "first_of",
    ];
    let kinds: Vec<&str> = KINDS
        .into_iter()
        .filter(|kind| table.contains_key(*kind))
        .collect();
    let [kind] = kinds.as_slice() else {
        return Err(format!(
            "expected {SOURCE_FORMS}; found {}",
            if kinds.is_empty() {
                "none of them".to_owned()
            } else {
                format!("{} together", kinds.join(" and "))
            }
        ));
    };
    let value = &table[*kind];
    let mut allowed = vec![*kind];
    allowed.extend(extra);
    match *kind {
        "metric" | "sum" => allowed.push("labels"),
        "count" => allowed.extend(["labels", "value"]),
        "distinct" => allowed.extend(["labels", "label"]),
        _ => {}
    }
    only_keys(table, &allowed)?;
    Ok(match *kind {
        "metric" => Source::Metric {
            name: name_in(value, "metric")?,
            labels: labels_in(table)?,
        },
        "sum" => Source::Sum {
            name: name_in(value, "metric")?,
            labels: labels_in(table)?,
        },
        "count" => Source::Count {
            name: name_in(value, "metric")?,
            labels: labels_in(table)?,
            value: table
                .get("value")
                .map(|value| number_in(value, "value"))
                .transpose()?,
        },
        "distinct" => Source::Distinct {
            name: name_in(value, "metric")?,
            label: match table.get("label") {
                Some(label) => name_in(label, "label")?,
                None => {
                    return Err("`distinct` needs `label`: the label whose values it counts".into());
                }
            },
            labels: labels_in(table)?,
        },
        "add" => Source::Add(list_in(value, "add", 2, Source::try_from)?),
        "first_of" => Source::FirstOf(list_in(value, "first_of", 1, Source::try_from)?),
        _ => {
            let parts = list_in(value, "difference", 2, Source::try_from)?;
            let [first, second] = <[Source; 2]>::try_from(parts)
                .map_err(|_| "`difference` takes exactly two rules".to_owned())?;
            Source::Difference(Box::new(first), Box::new(second))
        }
    })
}

impl TryFrom<Value> for Source {
    type Error = String;

    fn try_from(value: Value) -> Result<Source, String> {
        match value {
            Value::String(_) => Ok(Source::metric(&name_in(&value, "metric")?)),
            Value::Table(table) => source_from_table(&table, &[]),
            other => Err(format!(
                "expected {SOURCE_FORMS}; found {}",
                other.type_str()
            )),
        }
    }
}

impl TryFrom<Value> for Flag {
    type Error = String;

    fn try_from(value: Value) -> Result<Flag, String> {
        let Value::Table(table) = value else {
            return Source::try_from(value).map(|source| Flag::Test(source, Test::NonZero));
        };
        let tests: Vec<&str> = TESTS
            .into_iter()
            .filter(|test| table.contains_key(*test))
            .collect();
        match tests.as_slice() {
            // Without a comparison, `first_of` lists flags, each with its own test.
            [] if table.contains_key("first_of") => {
                only_keys(&table, &["first_of"])?;
                Ok(Flag::FirstOf(list_in(
                    &table["first_of"],
                    "first_of",
                    1,
                    Flag::try_from,
                )?))
            }
            [] => Ok(Flag::Test(source_from_table(&table, &[])?, Test::NonZero)),
            [test] => {
                let bound = number_in(&table[*test], test)?;
                let source = source_from_table(&table, &[test])?;
                Ok(Flag::Test(
                    source,
                    match *test {
                        "equals" => Test::Equals(bound),
                        "at_least" => Test::AtLeast(bound),
                        _ => Test::AtMost(bound),
                    },
                ))
            }
            many => Err(format!(
                "a flag takes one comparison; found {}",
                many.join(" and ")
            )),
        }
    }
}

impl TryFrom<Value> for TextSource {
    type Error = String;

    fn try_from(value: Value) -> Result<TextSource, String> {
        let how = "expected a table like { metric = \"lighthouse_info\", label = \"version\" }";
        let Value::Table(table) = value else {
            return Err(how.into());
        };
        only_keys(&table, &["metric", "label"])?;
        let (Some(metric), Some(label)) = (table.get("metric"), table.get("label")) else {
            return Err(format!("{how}: both `metric` and `label`"));
        };
        let names = match metric {
            Value::Array(names) if !names.is_empty() => names
                .iter()
                .map(|name| name_in(name, "metric"))
                .collect::<Result<_, _>>()?,
            single => vec![name_in(single, "metric")?],
        };
        Ok(TextSource {
            names,
            label: name_in(label, "label")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(text: &str) -> Exposition {
        Exposition::parse(text.as_bytes()).expect("valid test exposition")
    }

    fn rule<T: TryFrom<Value, Error = String>>(toml_value: &str) -> Result<T, String> {
        let table: Table = toml::from_str(&format!("rule = {toml_value}")).expect("valid TOML");
        T::try_from(table["rule"].clone())
    }

    #[test]
    fn sum_and_count_of_an_absent_family_are_absent_not_zero() {
        let exposition = scrape("up 1\n");
        let sum: Source = rule("{ sum = \"libp2p_bandwidth_bytes_total\" }").expect("rule");
        let count: Source = rule("{ count = \"validator_statuses\" }").expect("rule");
        assert_eq!(sum.read(&exposition), None);
        assert_eq!(count.read(&exposition), None);
    }

    #[test]
    fn count_by_value_counts_matching_series() {
        let exposition = scrape(
            "validator_statuses{pubkey=\"a\"} 3\nvalidator_statuses{pubkey=\"b\"} 1\n\
             validator_statuses{pubkey=\"c\"} 3\n",
        );
        let active: Source = rule("{ count = \"validator_statuses\", value = 3 }").expect("rule");
        let all: Source = rule("{ count = \"validator_statuses\" }").expect("rule");
        assert_eq!(active.read(&exposition), Some(2.0));
        assert_eq!(all.read(&exposition), Some(3.0));
        assert_eq!(active.to_string(), "count(validator_statuses == 3)");
    }

    #[test]
    fn distinct_counts_label_values_not_series() {
        // Teku's failover handler counts its requests per endpoint, method and outcome.
        let requests = "validator_remote_beacon_nodes_requests_total";
        let endpoints: Source = rule(&format!(
            "{{ distinct = \"{requests}\", label = \"endpoint\" }}"
        ))
        .expect("rule");
        let one = scrape(&format!(
            "{requests}{{endpoint=\"http://bn:5051/\",method=\"get_duties\",outcome=\"success\"}} 40\n\
             {requests}{{endpoint=\"http://bn:5051/\",method=\"publish_block\",outcome=\"success\"}} 2\n\
             {requests}{{endpoint=\"http://bn:5051/\",method=\"get_duties\",outcome=\"error\"}} 1\n"
        ));
        assert_eq!(
            endpoints.read(&one),
            Some(1.0),
            "three series, one endpoint"
        );
        let two = scrape(&format!(
            "{requests}{{endpoint=\"http://bn:5051/\",method=\"get_duties\"}} 40\n\
             {requests}{{endpoint=\"http://bn2:5051/\",method=\"get_duties\"}} 3\n\
             {requests}{{endpoint=\"\",method=\"get_duties\"}} 3\n"
        ));
        assert_eq!(endpoints.read(&two), Some(2.0), "an empty value is none");
        assert_eq!(endpoints.read(&scrape("up 1\n")), None);
        let empty = scrape(&format!("# TYPE {requests} counter\n"));
        assert_eq!(
            endpoints.read(&empty),
            None,
            "a labelled family with no series yet (no request made) says nothing"
        );
        assert_eq!(
            endpoints.to_string(),
            format!("count(count by (endpoint) ({requests}))")
        );
        let successes: Source = rule(&format!(
            "{{ distinct = \"{requests}\", label = \"endpoint\", labels = {{ outcome = \"success\" }} }}"
        ))
        .expect("rule");
        assert_eq!(successes.read(&one), Some(1.0));
        assert!(
            rule::<Source>(&format!("{{ distinct = \"{requests}\" }}"))
                .expect_err("no label")
                .contains("needs `label`")
        );
    }

    #[test]
    fn add_needs_every_part() {
        let db: Source =
            rule("{ add = [\"store_disk_db_size\", \"store_freezer_db_size\"] }").expect("rule");
        assert_eq!(db.read(&scrape("store_disk_db_size 10\n")), None);
        assert_eq!(
            db.read(&scrape("store_disk_db_size 10\nstore_freezer_db_size 5\n")),
            Some(15.0)
        );
    }

    #[test]
    fn first_of_takes_the_first_present() {
        let head: Source =
            rule("{ first_of = [\"beacon_head_slot\", \"notifier_head_slot\"] }").expect("rule");
        assert_eq!(head.read(&scrape("notifier_head_slot 7\n")), Some(7.0));
        assert_eq!(
            head.read(&scrape("notifier_head_slot 7\nbeacon_head_slot 8\n")),
            Some(8.0)
        );
    }

    #[test]
    fn labels_select_a_series_and_a_bare_name_is_ambiguous_among_labelled_ones() {
        let exposition = scrape("libp2p_peers{dir=\"in\"} 3\nlibp2p_peers{dir=\"out\"} 4\n");
        assert_eq!(Source::metric("libp2p_peers").read(&exposition), None);
        let outbound: Source =
            rule("{ metric = \"libp2p_peers\", labels = { dir = \"out\" } }").expect("rule");
        assert_eq!(outbound.read(&exposition), Some(4.0));
        assert_eq!(outbound.to_string(), "libp2p_peers{dir=\"out\"}");
        let both: Source = rule("{ sum = \"libp2p_peers\" }").expect("rule");
        assert_eq!(both.read(&exposition), Some(7.0));
    }

    #[test]
    fn flags_compare_and_a_nan_is_unknown() {
        let status = scrape("lodestar_sync_status 3\nurls 2\nsyncing 1\nbroken NaN\n");
        let synced: Flag = rule("{ metric = \"lodestar_sync_status\", equals = 3 }").expect("rule");
        let fallback: Flag = rule("{ metric = \"urls\", at_least = 2 }").expect("rule");
        let not_syncing: Flag = rule("{ metric = \"syncing\", equals = 0 }").expect("rule");
        let broken: Flag = rule("\"broken\"").expect("rule");
        assert_eq!(synced.read(&status), Some(true));
        assert_eq!(fallback.read(&status), Some(true));
        assert_eq!(not_syncing.read(&status), Some(false));
        assert_eq!(broken.read(&status), None);
        assert_eq!(fallback.to_string(), "urls >= 2");
    }

    /// The slot-distance rule the built-in profiles use: the boundary is exactly four slots.
    #[test]
    fn synced_by_slot_distance_allows_four_slots_and_not_five() {
        let synced: Flag = rule(
            "{ first_of = [\"sync_eth2_synced\", \
               { difference = [\"clock\", \"beacon_head_slot\"], at_most = 4 }] }",
        )
        .expect("rule");
        let at = |head: u64, clock: u64| {
            synced.read(&scrape(&format!(
                "beacon_head_slot {head}\nclock {clock}\n"
            )))
        };
        assert_eq!(at(96, 100), Some(true), "four behind");
        assert_eq!(at(95, 100), Some(false), "five behind");
        assert_eq!(at(101, 100), Some(true), "head ahead of our clock");
        assert_eq!(
            synced.read(&scrape(
                "sync_eth2_synced 0\nbeacon_head_slot 100\nclock 100\n"
            )),
            Some(false),
            "the client's own signal first"
        );
        assert_eq!(synced.read(&scrape("beacon_head_slot 5\n")), None);
    }

    #[test]
    fn a_wrong_rule_says_what_was_expected() {
        let cases: [(&str, &str); 7] = [
            ("3", "expected a metric name, or a table"),
            (
                "\"beacon head\"",
                "`beacon head` is not a valid metric name",
            ),
            ("{ metric = \"a\", sum = \"b\" }", "metric and sum together"),
            ("{ metric = \"a\", lables = {} }", "unknown key `lables`"),
            ("{ count = \"a\", value = \"x\" }", "`value` takes a number"),
            (
                "{ difference = [\"a\", \"b\", \"c\"] }",
                "exactly two rules",
            ),
            ("{ add = [\"a\"] }", "at least 2 rules"),
        ];
        for (text, wanted) in cases {
            let err = rule::<Source>(text).expect_err(text);
            assert!(err.contains(wanted), "{text}: {err}");
        }
        let err = rule::<Flag>("{ metric = \"a\", equals = 1, at_most = 2 }").expect_err("two");
        assert!(err.contains("one comparison"), "{err}");
        let err = rule::<TextSource>("{ metric = \"v\" }").expect_err("no label");
        assert!(err.contains("both `metric` and `label`"), "{err}");
    }
}
