//! `--fleet-metrics`: every machine's newest numbers on `/metrics`, as gauges labelled by key name,
//! machine and process, so that an existing Prometheus and Grafana chart a fleet without another
//! exporter. One family per client-stats field, named after it (`nodepulse_fleet_cpu_cores`; a
//! trailing `_total` is dropped, since these are gauges of what the machine last sent); flags are
//! 0/1; the text fields become labels of `nodepulse_fleet_client_info`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use super::network::measure::Propagation;
use super::store::MachineSummary;
use super::store::network::ChainSummary;
use crate::wire::client_stats::decode::{Value, decode};
use crate::wire::client_stats::fields::{Kind, all_fields};
use crate::wire::execution::ExecutionReport;
use crate::wire::validators::Status;

/// A chain's figures over the last hour, as `/metrics` gives them.
pub struct ChainFigures {
    pub summary: ChainSummary,
    pub block_time_ms: Option<i64>,
    pub propagation: Propagation,
}

/// OpenMetrics families for the chains: connected nodes, block time, and propagation over the
/// last hour as quantiles and as cumulative counts by delay (gauges over a window, so not a
/// Prometheus histogram, whose buckets only grow). Labelled by the chain's key and name.
pub fn encode_chains(chains: &[ChainFigures]) -> String {
    let mut out = String::new();
    let labels: Vec<String> = chains
        .iter()
        .map(|chain| {
            format!(
                "chain=\"{}\",name=\"{}\"",
                escape(&chain.summary.chain),
                escape(chain.summary.name.as_deref().unwrap_or_default())
            )
        })
        .collect();
    family(
        &mut out,
        "chain_connected_nodes",
        "Stream nodes connected on the chain.",
    );
    for (chain, labels) in chains.iter().zip(&labels) {
        let _ = writeln!(
            out,
            "nodepulse_fleet_chain_connected_nodes{{{labels}}} {}",
            chain.summary.connected
        );
    }
    family(
        &mut out,
        "chain_block_time_seconds",
        "Average time between the chain's newest blocks' first sights.",
    );
    for (chain, labels) in chains.iter().zip(&labels) {
        if let Some(ms) = chain.block_time_ms {
            let seconds = ms as f64 / 1000.0;
            let _ = writeln!(
                out,
                "nodepulse_fleet_chain_block_time_seconds{{{labels}}} {seconds}"
            );
        }
    }
    family(
        &mut out,
        "chain_propagation_seconds",
        "Median and 90th percentile of the nodes' delays behind each block's first sight, last hour.",
    );
    for (chain, labels) in chains.iter().zip(&labels) {
        let propagation = &chain.propagation;
        for (percentile, ms) in [("50", propagation.median_ms), ("90", propagation.p90_ms)] {
            if let Some(ms) = ms {
                let seconds = ms as f64 / 1000.0;
                let _ = writeln!(
                    out,
                    "nodepulse_fleet_chain_propagation_seconds{{{labels},percentile=\"{percentile}\"}} {seconds}"
                );
            }
        }
    }
    family(
        &mut out,
        "chain_propagation_reports",
        "The nodes' reports of new blocks in the last hour with a delay up to `up_to_seconds` (cumulative; gauges over a window, not a histogram).",
    );
    for (chain, labels) in chains.iter().zip(&labels) {
        let mut cumulative = 0;
        for bucket in &chain.propagation.histogram {
            cumulative += bucket.count;
            let le = bucket
                .le_ms
                .map_or("+Inf".to_owned(), |ms| (ms as f64 / 1000.0).to_string());
            let _ = writeln!(
                out,
                "nodepulse_fleet_chain_propagation_reports{{{labels},up_to_seconds=\"{le}\"}} {cumulative}"
            );
        }
    }
    out
}

/// OpenMetrics families (no `# EOF`) for `machines`, `now_ms` deciding `online`.
pub fn encode(machines: &[MachineSummary], now_ms: i64, offline_after_ms: i64) -> String {
    let mut out = String::new();
    let labels: Vec<String> = machines
        .iter()
        .map(|machine| {
            format!(
                "key=\"{}\",machine=\"{}\"",
                escape(&machine.key),
                escape(&machine.machine)
            )
        })
        .collect();
    family(
        &mut out,
        "last_seen_timestamp_seconds",
        "When the machine last reported (Unix seconds).",
    );
    for (machine, labels) in machines.iter().zip(&labels) {
        let seen = machine.last_seen_ms as f64 / 1000.0;
        let _ = writeln!(
            out,
            "nodepulse_fleet_last_seen_timestamp_seconds{{{labels}}} {seen}"
        );
    }
    family(
        &mut out,
        "online",
        "1 when the machine sent an object within --offline-after.",
    );
    for (machine, labels) in machines.iter().zip(&labels) {
        let online = machine.online(now_ms, offline_after_ms);
        let _ = writeln!(
            out,
            "nodepulse_fleet_online{{{labels}}} {}",
            u8::from(online)
        );
    }

    // Field by field, so that each family's samples stay together.
    let mut numbers: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut clients = Vec::new();
    for (machine, machine_labels) in machines.iter().zip(&labels) {
        for newest in &machine.newest {
            // Kept as answered; read back by the same rules it was accepted by.
            let Some(object) = decode(newest.json.as_bytes())
                .ok()
                .and_then(|objects| objects.into_iter().next())
            else {
                continue;
            };
            let labels = format!("{machine_labels},process=\"{}\"", object.process.as_str());
            let mut texts = Vec::new();
            for (field, value) in &object.values {
                let number = match value {
                    Value::Integer(number) => *number as f64,
                    Value::Flag(flag) => f64::from(u8::from(*flag)),
                    Value::Text(text) => {
                        texts.push(format!("{}=\"{}\"", field.name, escape(text)));
                        continue;
                    }
                };
                let index = all_fields()
                    .position(|known| std::ptr::eq(known, *field))
                    .unwrap_or(usize::MAX);
                numbers
                    .entry(index)
                    .or_default()
                    .push(format!("{{{labels}}} {number}"));
            }
            if !texts.is_empty() {
                clients.push(format!("{{{labels},{}}} 1", texts.join(",")));
            }
        }
    }
    for (index, field) in all_fields().enumerate() {
        let Some(samples) = numbers.get(&index) else {
            continue;
        };
        let name = field.name.strip_suffix("_total").unwrap_or(field.name);
        let help = match field.kind {
            Kind::Flag => format!("The newest `{}` each machine sent, 1 for true.", field.name),
            _ => format!("The newest `{}` each machine sent.", field.name),
        };
        family(&mut out, name, &help);
        for sample in samples {
            let _ = writeln!(out, "nodepulse_fleet_{name}{sample}");
        }
    }
    if !clients.is_empty() {
        family(
            &mut out,
            "client_info",
            "The client name and version, and the OS, each machine sent.",
        );
        for sample in clients {
            let _ = writeln!(out, "nodepulse_fleet_client_info{sample}");
        }
    }
    out
}

/// What the validator view of the fleet holds, for `encode_validator_view`.
pub struct ValidatorFleet {
    /// (machine id, its last epoch, a status, how many of its validators have it).
    pub status_counts: Vec<(i64, u64, Status, u64)>,
    /// (machine id, validators with a problem in its last epoch).
    pub problems: Vec<(i64, u64)>,
    /// (machine id, received, its execution client's newest report).
    pub executions: Vec<(i64, i64, ExecutionReport)>,
}

/// The validator view's families: per machine, never per validator, so that the series stay as
/// many as the machines whatever their validators number.
pub fn encode_validator_view(
    machines: &[MachineSummary],
    fleet: &ValidatorFleet,
    now_ms: i64,
) -> String {
    let labels: HashMap<i64, String> = machines
        .iter()
        .map(|m| {
            (
                m.id,
                format!(
                    "key=\"{}\",machine=\"{}\"",
                    escape(&m.key),
                    escape(&m.machine)
                ),
            )
        })
        .collect();
    let mut out = String::new();
    let mut samples = |name: &str, help: &str, rows: Vec<(String, String)>| {
        if rows.is_empty() {
            return;
        }
        family(&mut out, name, help);
        for (labels, value) in rows {
            let _ = writeln!(out, "nodepulse_fleet_{name}{{{labels}}} {value}");
        }
    };
    let mut epochs = BTreeMap::new();
    let counts = fleet
        .status_counts
        .iter()
        .filter_map(|(id, epoch, status, count)| {
            let labels = labels.get(id)?;
            epochs.insert(*id, *epoch);
            Some((
                format!("{labels},status=\"{}\"", status.as_str()),
                count.to_string(),
            ))
        })
        .collect();
    samples(
        "validators",
        "The machine's watched validators by status, in its last reported epoch.",
        counts,
    );
    let last = epochs
        .iter()
        .filter_map(|(id, epoch)| Some((labels.get(id)?.clone(), epoch.to_string())))
        .collect();
    samples(
        "validator_epoch",
        "The machine's last reported epoch.",
        last,
    );
    let problems = epochs
        .keys()
        .filter_map(|id| {
            let count = fleet
                .problems
                .iter()
                .find(|(m, _)| m == id)
                .map_or(0, |(_, n)| *n);
            Some((labels.get(id)?.clone(), count.to_string()))
        })
        .collect();
    samples(
        "validator_problems",
        "The machine's validators that missed their attestation or are slashed, in its last reported epoch.",
        problems,
    );
    let figure = |pick: &dyn Fn(&ExecutionReport, i64) -> Option<u64>| -> Vec<(String, String)> {
        fleet
            .executions
            .iter()
            .filter_map(|(id, received_ms, report)| {
                let value = pick(report, *received_ms)?;
                Some((labels.get(id)?.clone(), value.to_string()))
            })
            .collect()
    };
    samples(
        "execution_synced",
        "1 when the machine's execution client said it is not syncing.",
        figure(&|r, _| r.synced.map(u64::from)),
    );
    samples(
        "execution_head_block",
        "The machine's execution client's head block.",
        figure(&|r, _| r.head_block),
    );
    samples(
        "execution_head_age_seconds",
        "The age of the machine's execution client's head block now.",
        figure(&|r, received_ms| {
            let since = now_ms.saturating_sub(received_ms).max(0) as u64 / 1000;
            r.head_age_seconds.map(|age| age + since)
        }),
    );
    samples(
        "execution_peers",
        "The machine's execution client's peers.",
        figure(&|r, _| r.peers),
    );
    out
}

fn family(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP nodepulse_fleet_{name} {help}");
    let _ = writeln!(out, "# TYPE nodepulse_fleet_{name} gauge");
}

/// A label value as the text formats escape it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::store::{Newest, answered};

    #[test]
    fn each_field_is_a_gauge_family_and_labels_are_escaped() {
        let body = br#"[{"version":1,"process":"beaconnode","client_name":"lighthouse","client_version":"5.3.0","sync_eth2_synced":true,"network_libp2p_bytes_total_receive":7,"cpu_process_seconds_total":5},{"version":1,"process":"system","cpu_cores":8}]"#;
        let newest = decode(body)
            .expect("decodes")
            .into_iter()
            .map(|object| Newest {
                process: object.process,
                received_ms: 1_000_000,
                json: serde_json::Value::Object(answered(&object, "rig \"1\"", 1_000_000))
                    .to_string(),
                previous: None,
            })
            .collect();
        let machines = [MachineSummary {
            id: 1,
            key_removed: false,
            key: "ops".into(),
            machine: "rig \"1\"".into(),
            last_seen_ms: 1_000_000,
            newest,
        }];
        let text = encode(&machines, 1_000_000 + 60_000, 600_000);
        let labels = r#"key="ops",machine="rig \"1\"""#;
        for line in [
            format!("nodepulse_fleet_last_seen_timestamp_seconds{{{labels}}} 1000"),
            format!("nodepulse_fleet_online{{{labels}}} 1"),
            "# TYPE nodepulse_fleet_cpu_process_seconds gauge".to_owned(),
            format!("nodepulse_fleet_cpu_process_seconds{{{labels},process=\"beaconnode\"}} 5"),
            format!(
                "nodepulse_fleet_network_libp2p_bytes_total_receive{{{labels},process=\"beaconnode\"}} 7"
            ),
            format!("nodepulse_fleet_sync_eth2_synced{{{labels},process=\"beaconnode\"}} 1"),
            format!("nodepulse_fleet_cpu_cores{{{labels},process=\"system\"}} 8"),
            format!(
                "nodepulse_fleet_client_info{{{labels},process=\"beaconnode\",client_name=\"lighthouse\",client_version=\"5.3.0\"}} 1"
            ),
        ] {
            assert!(
                text.lines().any(|got| got == line),
                "no `{line}` in:\n{text}"
            );
        }
        // Offline past --offline-after.
        let text = encode(&machines, 1_000_000 + 600_000, 600_000);
        assert!(
            text.contains(&format!("nodepulse_fleet_online{{{labels}}} 0")),
            "{text}"
        );
    }
}
