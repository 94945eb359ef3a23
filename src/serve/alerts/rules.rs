//! The alert rules, pure: what the fleet looks like now (`Observation`s) in, the conditions that
//! hold out. Whether a condition has held long enough to fire, and who is told, is `state.rs`'s.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::serve::figures::{disk_free_percent, field_number, memory_used_percent};

/// The rules, each with a default the config file may change or turn off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    MachineOffline,
    DiskFree,
    MemoryUsed,
    NotSynced,
    Peers,
    ValidatorsInactive,
    StreamNodeSilent,
}

impl Rule {
    /// How many rules there are: every per-rule array is this long.
    pub const COUNT: usize = Rule::StreamNodeSilent as usize + 1;

    pub const ALL: [Rule; Rule::COUNT] = [
        Rule::MachineOffline,
        Rule::DiskFree,
        Rule::MemoryUsed,
        Rule::NotSynced,
        Rule::Peers,
        Rule::ValidatorsInactive,
        Rule::StreamNodeSilent,
    ];

    /// The rule's name in the config file, notifications and `/metrics`.
    pub fn name(self) -> &'static str {
        match self {
            Rule::MachineOffline => "machine-offline",
            Rule::DiskFree => "disk-free",
            Rule::MemoryUsed => "memory-used",
            Rule::NotSynced => "not-synced",
            Rule::Peers => "peers",
            Rule::ValidatorsInactive => "validators-inactive",
            Rule::StreamNodeSilent => "stream-node-silent",
        }
    }

    pub fn from_name(name: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|rule| rule.name() == name)
    }

    /// Where the rule's settings are in an array ordered like `Rule::ALL` (declaration order).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One rule's settings: on or off, its threshold, and how long its condition must hold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RuleSettings {
    pub enabled: bool,
    /// Percent (disk, memory) or a count (peers); unused by the others.
    pub threshold: f64,
    /// Silence before offline (machine, stream node); how long the condition must hold (others).
    pub after: Duration,
}

impl RuleSettings {
    /// When `rule` fires under these settings, in words.
    pub fn describe(&self, rule: Rule) -> String {
        let after = humantime::format_duration(self.after);
        let threshold = self.threshold;
        match rule {
            Rule::MachineOffline => format!("a machine sends nothing for {after}"),
            Rule::DiskFree => format!("disk free under {threshold} %"),
            Rule::MemoryUsed => format!("memory used over {threshold} % for {after}"),
            Rule::NotSynced => format!("a beacon node not synced for {after}"),
            Rule::Peers => format!("fewer than {threshold} peers for {after}"),
            Rule::ValidatorsInactive => "fewer validators active than in total".into(),
            Rule::StreamNodeSilent => format!("a stream node silent for {after}"),
        }
    }
}

impl Rule {
    /// The defaults: beaconcha.in's 10 minutes offline, and what the issue asks for the rest.
    pub fn defaults(self) -> RuleSettings {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        let (threshold, after) = match self {
            Rule::MachineOffline => (0.0, minutes(10)),
            Rule::DiskFree => (10.0, Duration::ZERO),
            Rule::MemoryUsed => (95.0, minutes(10)),
            Rule::NotSynced => (0.0, minutes(10)),
            Rule::Peers => (5.0, minutes(10)),
            Rule::ValidatorsInactive => (0.0, Duration::ZERO),
            Rule::StreamNodeSilent => (0.0, minutes(5)),
        };
        RuleSettings {
            enabled: true,
            threshold,
            after,
        }
    }
}

/// What a subject (a client-stats machine or a stream node) looked like at its newest report.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// A client-stats machine: its newest object per process, as answered (JSON).
    Machine {
        key: String,
        machine: String,
        last_seen_ms: i64,
        system: Option<Map<String, Value>>,
        beaconnode: Option<Map<String, Value>>,
        validator: Option<Map<String, Value>>,
    },
    StreamNode {
        peer_id: String,
        name: Option<String>,
        last_seen_ms: i64,
    },
}

/// Who an alert is about: `key/machine` for a client-stats machine, the peer id for a stream node.
pub type Subject = String;

impl Observation {
    pub fn subject(&self) -> Subject {
        match self {
            Observation::Machine { key, machine, .. } => format!("{key}/{machine}"),
            Observation::StreamNode { peer_id, .. } => peer_id.clone(),
        }
    }
}

/// A condition that holds now, and what to say about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub rule: Rule,
    pub subject: Subject,
    pub detail: String,
}

/// Where the "silence" rules look: for them the condition itself is time-based, so `after` is
/// their threshold and they hold at once.
pub fn holds_at_once(rule: Rule) -> bool {
    matches!(rule, Rule::MachineOffline | Rule::StreamNodeSilent)
}

/// The conditions that hold for `observation` at `now_ms` under `settings` (indexed like
/// `Rule::ALL`). A rule whose figures the subject does not report does not hold: missing is not
/// zero.
pub fn conditions(
    observation: &Observation,
    settings: &[RuleSettings; Rule::COUNT],
    now_ms: i64,
) -> Vec<Condition> {
    let setting = |rule: Rule| settings[rule.index()];
    let subject = observation.subject();
    let mut held = Vec::new();
    let mut hold = |rule: Rule, detail: String| {
        if setting(rule).enabled {
            held.push(Condition {
                rule,
                subject: subject.clone(),
                detail,
            });
        }
    };
    let silent_for = |last_seen_ms: i64| {
        Duration::from_millis(now_ms.saturating_sub(last_seen_ms).max(0) as u64)
    };
    match observation {
        Observation::Machine {
            last_seen_ms,
            system,
            beaconnode,
            validator,
            ..
        } => {
            let silent = silent_for(*last_seen_ms);
            if silent >= setting(Rule::MachineOffline).after {
                hold(
                    Rule::MachineOffline,
                    format!(
                        "nothing received for {}",
                        humantime::format_duration(round_to_seconds(silent))
                    ),
                );
            }
            if let Some(system) = system {
                let free = disk_free_percent(system);
                if let Some(free) = free.filter(|free| *free < setting(Rule::DiskFree).threshold) {
                    hold(Rule::DiskFree, format!("disk {free:.1} % free"));
                }
                let used = memory_used_percent(system);
                if let Some(used) = used.filter(|used| *used > setting(Rule::MemoryUsed).threshold)
                {
                    hold(Rule::MemoryUsed, format!("memory {used:.1} % used"));
                }
            }
            if let Some(beaconnode) = beaconnode {
                if beaconnode.get("sync_eth2_synced") == Some(&Value::Bool(false)) {
                    hold(Rule::NotSynced, "the beacon node is not synced".into());
                }
                if let Some(peers) = field_number(beaconnode, "network_peers_connected")
                    .filter(|peers| *peers < setting(Rule::Peers).threshold)
                {
                    hold(Rule::Peers, format!("{peers} peers"));
                }
            }
            if let Some(validator) = validator {
                let active = field_number(validator, "validator_active");
                let total = field_number(validator, "validator_total");
                if let Some((active, total)) = active.zip(total).filter(|(a, t)| a < t) {
                    hold(
                        Rule::ValidatorsInactive,
                        format!("{active} of {total} validators active"),
                    );
                }
            }
        }
        Observation::StreamNode {
            last_seen_ms, name, ..
        } => {
            let silent = silent_for(*last_seen_ms);
            if silent >= setting(Rule::StreamNodeSilent).after {
                hold(
                    Rule::StreamNodeSilent,
                    format!(
                        "{} silent for {}",
                        name.as_deref().unwrap_or("the node"),
                        humantime::format_duration(round_to_seconds(silent))
                    ),
                );
            }
        }
    }
    held
}

fn round_to_seconds(duration: Duration) -> Duration {
    Duration::from_secs(duration.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Option<Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    fn defaults() -> [RuleSettings; Rule::COUNT] {
        Rule::ALL.map(Rule::defaults)
    }

    fn machine(last_seen_ms: i64) -> Observation {
        Observation::Machine {
            key: "ops".into(),
            machine: "rig-1".into(),
            last_seen_ms,
            system: object(
                json!({"disk_node_bytes_total": 1000, "disk_node_bytes_free": 50,
                "memory_node_bytes_total": 1000, "memory_node_bytes_free": 10,
                "memory_node_bytes_cached": 20, "memory_node_bytes_buffers": 10}),
            ),
            beaconnode: object(json!({"sync_eth2_synced": false, "network_peers_connected": 3})),
            validator: object(json!({"validator_active": 9, "validator_total": 12})),
        }
    }

    fn rules(conditions: &[Condition]) -> Vec<Rule> {
        conditions.iter().map(|c| c.rule).collect()
    }

    #[test]
    fn every_machine_rule_reads_its_figures() {
        let now = 1_000_000;
        let held = conditions(&machine(now - 1_000), &defaults(), now);
        assert_eq!(
            rules(&held),
            [
                Rule::DiskFree,
                Rule::MemoryUsed,
                Rule::NotSynced,
                Rule::Peers,
                Rule::ValidatorsInactive
            ]
        );
        assert_eq!(held[0].subject, "ops/rig-1");
        assert_eq!(held[0].detail, "disk 5.0 % free");
        assert_eq!(held[1].detail, "memory 96.0 % used");
        assert_eq!(held[4].detail, "9 of 12 validators active");
        let quiet = conditions(&machine(now - 600_000), &defaults(), now);
        assert_eq!(quiet[0].rule, Rule::MachineOffline);
        assert_eq!(quiet[0].detail, "nothing received for 10m");
    }

    #[test]
    fn missing_figures_hold_nothing_and_a_rule_turned_off_is_off() {
        let bare = Observation::Machine {
            key: "ops".into(),
            machine: "rig-2".into(),
            last_seen_ms: 0,
            system: object(json!({"cpu_cores": 8})),
            beaconnode: None,
            validator: None,
        };
        assert!(conditions(&bare, &defaults(), 1).is_empty());
        let mut settings = defaults();
        settings[1].enabled = false;
        settings[4].threshold = 2.0;
        let held = conditions(&machine(0), &settings, 1);
        assert_eq!(
            rules(&held),
            [Rule::MemoryUsed, Rule::NotSynced, Rule::ValidatorsInactive]
        );
    }

    #[test]
    fn rules_index_their_settings_in_declaration_order() {
        for (at, rule) in Rule::ALL.into_iter().enumerate() {
            assert_eq!(rule.index(), at);
        }
    }

    #[test]
    fn rules_say_when_they_fire() {
        let said: Vec<String> = Rule::ALL
            .iter()
            .map(|rule| rule.defaults().describe(*rule))
            .collect();
        assert_eq!(said[0], "a machine sends nothing for 10m");
        assert_eq!(said[2], "memory used over 95 % for 10m");
        assert_eq!(said[4], "fewer than 5 peers for 10m");
    }

    #[test]
    fn a_stream_node_is_silent_after_five_minutes() {
        let node = Observation::StreamNode {
            peer_id: "12D3KooW".into(),
            name: None,
            last_seen_ms: 0,
        };
        assert!(conditions(&node, &defaults(), 299_000).is_empty());
        assert_eq!(
            rules(&conditions(&node, &defaults(), 300_000)),
            [Rule::StreamNodeSilent]
        );
        assert_eq!(
            Rule::from_name("stream-node-silent"),
            Some(Rule::StreamNodeSilent)
        );
    }
}
