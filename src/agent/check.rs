//! `nodepulse check`: map scrapes (fixtures in CI, or a live node) and either compare the payload
//! with an expected one (`--expect`, exit 1 on any difference, `--update` to rewrite it), or report
//! for people: the detected client and why, every client-stats field with its value and the metric
//! it came from, and the node's conformance to the beacon-metrics standard (seed 001). With
//! `--beacon-api`, first which of the validator view's routes the node answers.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::Error;
use crate::agent::Role;
use crate::agent::beacon::BeaconApi;
use crate::agent::config;
use crate::agent::duties::DutyWatcher;
use crate::agent::profiles::{self, ClientChoice, Profile, Profiles};
use crate::agent::scrape::{Scraper, Target};
use crate::cli::{CheckArgs, ReportFormat};
use crate::settings::ConfigError;
use crate::stdout;
use crate::wire::client_stats::{self, StatsObject};
use crate::wire::exposition::{Exposition, MetricKind};

/// The minimal metrics of the beacon-metrics standard, with the type it gives each.
const BEACON_METRICS: [(&str, MetricKind); 8] = [
    ("libp2p_peers", MetricKind::Gauge),
    ("beacon_head_slot", MetricKind::Gauge),
    ("beacon_finalized_epoch", MetricKind::Gauge),
    ("beacon_current_justified_epoch", MetricKind::Gauge),
    ("beacon_previous_justified_epoch", MetricKind::Gauge),
    ("beacon_current_active_validators", MetricKind::Gauge),
    ("beacon_reorgs_total", MetricKind::Counter),
    ("beacon_processed_deposits_total", MetricKind::Gauge),
];

/// The client-stats process of the host's object, which `run --dry-run` records beside the nodes'.
const SYSTEM_PROCESS: &str = "system";

/// One target, mapped.
struct Mapped {
    role: Role,
    target: Target,
    profile: Arc<Profile>,
    /// Why this profile: the signature metric found, or the `--client` flag.
    reason: String,
    exposition: Exposition,
    /// The client-stats object, without its timestamp.
    object: Map<String, Value>,
}

pub async fn run(args: CheckArgs) -> Result<ExitCode, Error> {
    let watch =
        config::validator_watch(args.beacon_api.as_deref(), args.watch_validators.as_deref())?;
    if let Some(watch) = watch {
        let api = BeaconApi::new(watch.beacon_api.clone(), args.timeout)?;
        let shown = api.to_string();
        let checks = DutyWatcher::new(api, watch.watched)
            .check_routes(SystemTime::now())
            .await;
        let text = match args.format {
            ReportFormat::Text => {
                let mut text = format!("Beacon API {shown}: the validator view's routes\n");
                for check in &checks {
                    let mark = if check.answered { "answers" } else { "no" };
                    text.push_str(&format!("  {:<7} {}: {}\n", mark, check.route, check.said));
                }
                text
            }
            ReportFormat::Json => serde_json::to_string_pretty(&checks).unwrap_or_default(),
        };
        stdout::print(&text).map_err(Error::Output)?;
        if args.beacon_node.is_none() && args.validator.is_none() {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let mapped = map_targets(&args).await?;
    let objects: Vec<Value> = mapped
        .iter()
        .map(|target| Value::Object(target.object.clone()))
        .collect();
    match (&args.expect, args.update) {
        (Some(path), true) => {
            write_expected(path, &objects)?;
            eprintln!("updated {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        (Some(path), false) => {
            let mut expected = read_expected(path)?;
            let before = expected.len();
            expected.retain(|object| object["process"] != SYSTEM_PROCESS);
            if expected.len() < before {
                eprintln!(
                    "{}: not comparing the system object or timestamps: they describe the machine \
                     and the moment, not the scrapes",
                    path.display()
                );
            }
            let differences = diff(&expected, &objects);
            if differences.is_empty() {
                eprintln!("{}: the payload matches", path.display());
                return Ok(ExitCode::SUCCESS);
            }
            let text = format!(
                "{} differs from the payload the scrapes map to (- expected, + got):\n{}",
                path.display(),
                differences.join("\n")
            );
            stdout::print(&text).map_err(Error::Output)?;
            Ok(ExitCode::from(1))
        }
        (None, true) => Err(ConfigError::Invalid {
            flag: "update",
            reason: "--update rewrites the file given with --expect".into(),
        }
        .into()),
        (None, false) => {
            let report = Report::of(&mapped);
            let text = match args.format {
                ReportFormat::Text => report.to_text(),
                ReportFormat::Json => serde_json::to_string_pretty(&report).unwrap_or_default(),
            };
            stdout::print(&text).map_err(Error::Output)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn map_targets(args: &CheckArgs) -> Result<Vec<Mapped>, Error> {
    let profiles = Profiles::with_files(&args.profile).map_err(ConfigError::from)?;
    let choice = config::client_choice(args.client.as_deref(), &profiles)?;
    let targets = [
        (Role::BeaconNode, "beacon-node", &args.beacon_node),
        (Role::Validator, "validator", &args.validator),
    ];
    let scraper = Scraper::new(args.timeout, args.max_scrape_size)?;
    let mut mapped = Vec::new();
    for (role, flag, text) in targets {
        let Some(text) = text else { continue };
        let target = Target::parse(text).map_err(|reason| ConfigError::Invalid { flag, reason })?;
        let failed = |reason: String| Error::Check(format!("{role} {target}: {reason}"));
        let exposition = scraper
            .scrape(&target, None)
            .await
            .map_err(|err| failed(err.to_string()))?;
        let (profile, reason) = match &choice {
            ClientChoice::Fixed(profile) => (Arc::clone(profile), "named with --client".to_owned()),
            ClientChoice::Auto => {
                let (profile, signature) = profiles
                    .detect(&exposition)
                    .map_err(|err| failed(err.to_string()))?;
                (Arc::clone(profile), format!("the scrape has {signature}"))
            }
        };
        let object = match role {
            Role::Validator => StatsObject::Validator(client_stats::validator_client(
                &profiles::map_validator(&profile, &exposition),
                0,
            )),
            _ => StatsObject::BeaconNode(client_stats::beacon_node(
                &profiles::map_beacon_node(&profile, &exposition),
                0,
            )),
        };
        let mut object = match serde_json::to_value(object) {
            Ok(Value::Object(object)) => object,
            _ => Map::new(),
        };
        object.remove("timestamp");
        mapped.push(Mapped {
            role,
            target,
            profile,
            reason,
            exposition,
            object,
        });
    }
    if mapped.is_empty() {
        return Err(ConfigError::Invalid {
            flag: "beacon-node",
            reason: "give --beacon-node and/or --validator to check".into(),
        }
        .into());
    }
    Ok(mapped)
}

/// An expected payload: one object, or an array of them.
fn read_expected(path: &Path) -> Result<Vec<Value>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| Error::Check(format!("cannot read {}: {err}", path.display())))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|err| Error::Check(format!("{} is not JSON: {err}", path.display())))?;
    Ok(match value {
        Value::Array(objects) => objects,
        object => vec![object],
    })
}

/// Writes one object as an object, several as an array: the shape the fixtures use.
fn write_expected(path: &Path, objects: &[Value]) -> Result<(), Error> {
    let text = match objects {
        [one] => serde_json::to_string_pretty(one),
        many => serde_json::to_string_pretty(many),
    }
    .unwrap_or_default();
    std::fs::write(path, text + "\n")
        .map_err(|err| Error::Check(format!("cannot write {}: {err}", path.display())))
}

/// Every difference, one line each, ignoring `timestamp`; objects are matched by `process`.
pub fn diff(expected: &[Value], got: &[Value]) -> Vec<String> {
    let process = |object: &Value| object["process"].as_str().unwrap_or("?").to_owned();
    let mut lines = Vec::new();
    for want in expected {
        let name = process(want);
        let Some(have) = got.iter().find(|object| process(object) == name) else {
            lines.push(format!(
                "- {name}: the whole object (no such process in the scrapes)"
            ));
            continue;
        };
        let (want, have) = (fields(want), fields(have));
        let mut keys: Vec<&String> = want.keys().chain(have.keys()).collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            match (want.get(key), have.get(key)) {
                (Some(w), Some(h)) if w == h => {}
                (Some(w), Some(h)) => {
                    lines.push(format!("- {name}.{key}: {w}"));
                    lines.push(format!("+ {name}.{key}: {h}"));
                }
                (Some(w), None) => lines.push(format!("- {name}.{key}: {w}   (now absent)")),
                (None, Some(h)) => lines.push(format!("+ {name}.{key}: {h}   (not expected)")),
                (None, None) => {}
            }
        }
    }
    for have in got {
        let name = process(have);
        if !expected.iter().any(|object| process(object) == name) {
            lines.push(format!("+ {name}: a whole object that is not expected"));
        }
    }
    lines
}

fn fields(object: &Value) -> Map<String, Value> {
    let mut fields = object.as_object().cloned().unwrap_or_default();
    fields.remove("timestamp");
    fields
}

#[derive(Debug, Serialize)]
struct Report {
    targets: Vec<TargetReport>,
}

#[derive(Debug, Serialize)]
struct TargetReport {
    role: &'static str,
    target: String,
    client: String,
    detected_by: String,
    fields: Vec<FieldReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conformance: Option<Vec<ConformanceReport>>,
}

#[derive(Debug, Serialize)]
struct FieldReport {
    field: &'static str,
    value: Option<Value>,
    /// The metric (and labels) the value comes from; `None`: this client has no source for it.
    source: Option<String>,
}

#[derive(Debug, Serialize)]
struct ConformanceReport {
    metric: &'static str,
    expected_type: &'static str,
    /// `None` when the node does not expose the metric.
    found_type: Option<&'static str>,
    ok: bool,
}

impl Report {
    fn of(mapped: &[Mapped]) -> Report {
        let targets = mapped
            .iter()
            .map(|target| TargetReport {
                role: target.role.label(),
                target: target.target.to_string(),
                client: target.profile.client_name.clone(),
                detected_by: target.reason.clone(),
                fields: target
                    .profile
                    .field_sources(target.role == Role::Validator)
                    .into_iter()
                    .map(|(field, source)| FieldReport {
                        field,
                        value: target.object.get(field).cloned(),
                        source,
                    })
                    .collect(),
                conformance: (target.role == Role::BeaconNode)
                    .then(|| conformance(&target.exposition)),
            })
            .collect();
        Report { targets }
    }

    fn to_text(&self) -> String {
        let mut text = String::new();
        for target in &self.targets {
            text.push_str(&format!(
                "{} {}: {} ({})\n",
                target.role, target.target, target.client, target.detected_by
            ));
            for field in &target.fields {
                let value = field
                    .value
                    .as_ref()
                    .map_or("(absent)".to_owned(), Value::to_string);
                let source = field
                    .source
                    .clone()
                    .unwrap_or_else(|| format!("no source for {}", target.client));
                text.push_str(&format!(
                    "  {:<38} {:<22} <- {source}\n",
                    field.field, value
                ));
            }
            if let Some(conformance) = &target.conformance {
                let missing: Vec<&str> = conformance
                    .iter()
                    .filter(|check| check.found_type.is_none())
                    .map(|check| check.metric)
                    .collect();
                let passed = conformance.iter().filter(|check| check.ok).count();
                text.push_str(&format!(
                    "  beacon-metrics minimal set: {passed} of {} present with the right type\n",
                    conformance.len()
                ));
                for check in conformance.iter().filter(|check| !check.ok) {
                    match check.found_type {
                        Some(found) => text.push_str(&format!(
                            "    {}: {found}, the standard says {}\n",
                            check.metric, check.expected_type
                        )),
                        None => text.push_str(&format!("    {}: missing\n", check.metric)),
                    }
                }
                if missing.is_empty() && passed == conformance.len() {
                    text.push_str("    all present\n");
                }
            }
        }
        text.trim_end().to_owned()
    }
}

/// The minimal beacon-metrics set against this scrape: present, and with the standard's type. A
/// counter `x_total` may be declared OpenMetrics-style as `# TYPE x counter`.
fn conformance(exposition: &Exposition) -> Vec<ConformanceReport> {
    BEACON_METRICS
        .iter()
        .map(|&(metric, expected)| {
            let declared_as_counter = metric
                .strip_suffix("_total")
                .and_then(|base| exposition.family(base))
                .is_some_and(|family| family.kind() == MetricKind::Counter);
            // Classically `x_total` stands as an untyped family beside the counter `x`; in
            // OpenMetrics the counter `x` owns it.
            let found = match exposition.family(metric).filter(|f| f.samples().len() > 0) {
                Some(family) => Some(match family.kind() {
                    MetricKind::Untyped if declared_as_counter => MetricKind::Counter,
                    kind => kind,
                }),
                None => (declared_as_counter && exposition.contains(metric))
                    .then_some(MetricKind::Counter),
            };
            ConformanceReport {
                metric,
                expected_type: expected.as_str(),
                found_type: found.map(MetricKind::as_str),
                ok: found == Some(expected),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_names_each_change() {
        let expected = [json!({"process": "beaconnode", "a": 1, "b": true, "c": "x"})];
        let got = [json!({"process": "beaconnode", "a": 2, "b": true, "d": 5, "timestamp": 9})];
        assert_eq!(
            diff(&expected, &got),
            [
                "- beaconnode.a: 1",
                "+ beaconnode.a: 2",
                "- beaconnode.c: \"x\"   (now absent)",
                "+ beaconnode.d: 5   (not expected)",
            ]
        );
        assert!(diff(&got, &got).is_empty());
        let extra = [json!({"process": "validator"})];
        assert_eq!(
            diff(&[], &extra),
            ["+ validator: a whole object that is not expected"]
        );
    }

    #[test]
    fn conformance_checks_presence_and_type() {
        let exposition = Exposition::parse(
            b"# TYPE libp2p_peers gauge\nlibp2p_peers 3\n# TYPE beacon_head_slot counter\nbeacon_head_slot 5\n\
              # TYPE beacon_reorgs counter\nbeacon_reorgs_total 2\n",
        )
        .expect("valid");
        let report = conformance(&exposition);
        let by_name = |name: &str| {
            report
                .iter()
                .find(|check| check.metric == name)
                .expect("listed")
        };
        assert!(by_name("libp2p_peers").ok);
        assert!(
            !by_name("beacon_head_slot").ok,
            "a counter where the standard says gauge"
        );
        assert_eq!(by_name("beacon_head_slot").found_type, Some("counter"));
        assert!(
            by_name("beacon_reorgs_total").ok,
            "OpenMetrics counter family"
        );
        assert_eq!(by_name("beacon_finalized_epoch").found_type, None);
    }

    #[test]
    fn conformance_reads_an_openmetrics_counter_by_its_total() {
        // In OpenMetrics the counter family `beacon_reorgs` owns `beacon_reorgs_total`: there is no
        // family of that name, only the series.
        let exposition = Exposition::parse(
            b"# TYPE beacon_reorgs counter\nbeacon_reorgs_total 2\nbeacon_reorgs_created 1.7e9\n# EOF\n",
        )
        .expect("valid");
        assert!(exposition.family("beacon_reorgs_total").is_none());
        let report = conformance(&exposition);
        let reorgs = report
            .iter()
            .find(|check| check.metric == "beacon_reorgs_total")
            .expect("listed");
        assert_eq!(reorgs.found_type, Some("counter"));
        assert!(reorgs.ok);
    }
}
