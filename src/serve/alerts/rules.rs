//! The alert rules, pure: what the fleet looks like now (`Observation`s) in, the conditions that
//! hold out. Whether a condition has held long enough to fire, and who is told, is `state.rs`'s.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::serve::figures::{disk_free_percent, field_number, memory_used_percent};
use crate::serve::store::validators::{StoredDuty, ValidatorHistory};
use crate::wire::execution::ExecutionReport;
use crate::wire::validators::Status;

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
    AttestationsMissed,
    ProposalMissed,
    Slashed,
    BalanceDropped,
    SyncParticipation,
    ExecutionNotSynced,
    ExecutionHeadAge,
    ExecutionPeers,
    DiskForecast,
}

impl Rule {
    /// How many rules there are: every per-rule array is this long.
    pub const COUNT: usize = Rule::DiskForecast as usize + 1;

    pub const ALL: [Rule; Rule::COUNT] = [
        Rule::MachineOffline,
        Rule::DiskFree,
        Rule::MemoryUsed,
        Rule::NotSynced,
        Rule::Peers,
        Rule::ValidatorsInactive,
        Rule::StreamNodeSilent,
        Rule::AttestationsMissed,
        Rule::ProposalMissed,
        Rule::Slashed,
        Rule::BalanceDropped,
        Rule::SyncParticipation,
        Rule::ExecutionNotSynced,
        Rule::ExecutionHeadAge,
        Rule::ExecutionPeers,
        Rule::DiskForecast,
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
            Rule::AttestationsMissed => "attestations-missed",
            Rule::ProposalMissed => "proposal-missed",
            Rule::Slashed => "slashed",
            Rule::BalanceDropped => "balance-dropped",
            Rule::SyncParticipation => "sync-participation",
            Rule::ExecutionNotSynced => "execution-not-synced",
            Rule::ExecutionHeadAge => "execution-head-age",
            Rule::ExecutionPeers => "execution-peers",
            Rule::DiskForecast => "disk-forecast",
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
            Rule::AttestationsMissed => {
                format!("validators missing their attestations {threshold} epochs in a row")
            }
            Rule::ProposalMissed => "a validator missing its block proposal".into(),
            Rule::Slashed => "a validator slashed".into(),
            Rule::BalanceDropped => "a validator's balance lower than 24 h before".into(),
            Rule::SyncParticipation => {
                format!("sync-committee participation under {threshold} % in an epoch")
            }
            Rule::ExecutionNotSynced => format!("the execution client syncing for {after}"),
            Rule::ExecutionHeadAge => {
                format!("the execution client's head older than {threshold} s")
            }
            Rule::ExecutionPeers => {
                format!("the execution client with fewer than {threshold} peers for {after}")
            }
            Rule::DiskForecast => {
                format!("the disk full in under {threshold} h at the last 24 h's rate")
            }
        }
    }
}

/// Every rule's settings, and where the config file changes them for one key's machines or for
/// one machine: a machine's own beat its key's, which beat everyone's.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleBook {
    pub everyone: [RuleSettings; Rule::COUNT],
    /// By key name.
    pub keys: HashMap<String, [RuleSettings; Rule::COUNT]>,
    /// By subject, `KEY/MACHINE`.
    pub machines: HashMap<String, [RuleSettings; Rule::COUNT]>,
}

impl RuleBook {
    /// The same settings for every subject.
    pub fn everyone(everyone: [RuleSettings; Rule::COUNT]) -> RuleBook {
        RuleBook {
            everyone,
            keys: HashMap::new(),
            machines: HashMap::new(),
        }
    }

    /// The settings that apply to `subject` (a machine's `KEY/MACHINE`, or a stream node's peer id,
    /// which only everyone's apply to).
    pub fn for_subject(&self, subject: &str) -> &[RuleSettings; Rule::COUNT] {
        if let Some(own) = self.machines.get(subject) {
            return own;
        }
        let key = subject.split_once('/').map(|(key, _)| key);
        key.and_then(|key| self.keys.get(key))
            .unwrap_or(&self.everyone)
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
            // Counted in epochs and slots, not time: they hold as soon as a report shows them.
            Rule::AttestationsMissed => (2.0, Duration::ZERO),
            Rule::ProposalMissed | Rule::Slashed | Rule::BalanceDropped => (0.0, Duration::ZERO),
            Rule::SyncParticipation => (90.0, Duration::ZERO),
            Rule::ExecutionNotSynced => (0.0, minutes(10)),
            Rule::ExecutionHeadAge => (120.0, Duration::ZERO),
            Rule::ExecutionPeers => (1.0, minutes(10)),
            Rule::DiskForecast => (72.0, Duration::ZERO),
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
        validators: Option<Box<ValidatorFacts>>,
        /// Its execution client's newest report, and when it was received (Unix ms).
        execution: Option<(i64, Box<ExecutionReport>)>,
        /// Free disk over the last day, from its system objects: (received, bytes), oldest first.
        disk_free: Vec<(i64, f64)>,
    },
    StreamNode {
        peer_id: String,
        name: Option<String>,
        last_seen_ms: i64,
    },
}

/// What the validator rules read of a machine's validator view.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatorFacts {
    /// Its last epochs, as many as the attestation rule's threshold.
    pub history: ValidatorHistory,
    /// Its validators' balances (index, gwei) a day before its last epoch; empty when unknown.
    pub day_before: Vec<(u64, u64)>,
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
            validators,
            execution,
            disk_free,
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
            if let Some(facts) = validators {
                for (rule, detail) in validator_conditions(facts, settings) {
                    hold(rule, detail);
                }
            }
            if let Some((received_ms, report)) = execution {
                for (rule, detail) in execution_conditions(report, *received_ms, settings, now_ms) {
                    hold(rule, detail);
                }
            }
            if let Some(hours) = hours_until_full(disk_free)
                .filter(|hours| *hours < setting(Rule::DiskForecast).threshold)
            {
                hold(
                    Rule::DiskForecast,
                    format!("the disk fills in about {hours:.0} h at the last day's rate"),
                );
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

/// Validator indices for a message: the first ten, then how many more.
fn indices(list: &[u64]) -> String {
    let shown: Vec<String> = list.iter().take(10).map(u64::to_string).collect();
    match list.len() {
        0..=10 => shown.join(", "),
        n => format!("{} and {} more", shown.join(", "), n - 10),
    }
}

/// The validator rules: one condition per rule and machine, naming every validator it holds for.
fn validator_conditions(
    facts: &ValidatorFacts,
    settings: &[RuleSettings; Rule::COUNT],
) -> Vec<(Rule, String)> {
    let history = &facts.history;
    let last = history.last_epoch;
    let mut held = Vec::new();
    let in_a_row = settings[Rule::AttestationsMissed.index()]
        .threshold
        .max(1.0) as u64;
    let first = (last + 1).saturating_sub(in_a_row);
    let mut missed: BTreeMap<u64, u64> = BTreeMap::new();
    for duty in history.duties.iter().filter(|duty| duty.epoch >= first) {
        if duty.attested == Some(false) {
            *missed.entry(duty.index).or_default() += 1;
        }
    }
    let missed: Vec<u64> = missed
        .into_iter()
        .filter(|(_, epochs)| *epochs >= in_a_row)
        .map(|(index, _)| index)
        .collect();
    if !missed.is_empty() && last + 1 >= in_a_row {
        held.push((
            Rule::AttestationsMissed,
            format!(
                "{} validator(s) missed their attestations in epochs {first} to {last}: {}",
                missed.len(),
                indices(&missed)
            ),
        ));
    }
    let proposals: Vec<String> = history
        .proposals
        .iter()
        .filter(|(_, proposal)| proposal.missed() && history.clock.epoch_of(proposal.slot) >= first)
        .map(|(index, proposal)| format!("{index} at slot {}", proposal.slot))
        .collect();
    if !proposals.is_empty() {
        held.push((
            Rule::ProposalMissed,
            format!("missed proposals: {}", proposals.join(", ")),
        ));
    }
    let newest: Vec<&StoredDuty> = history
        .duties
        .iter()
        .filter(|duty| duty.epoch == last)
        .collect();
    let slashed: Vec<u64> = newest
        .iter()
        .filter(|duty| duty.status == Status::Slashed)
        .map(|duty| duty.index)
        .collect();
    if !slashed.is_empty() {
        held.push((Rule::Slashed, format!("slashed: {}", indices(&slashed))));
    }
    let before: HashMap<u64, u64> = facts.day_before.iter().copied().collect();
    let dropped: Vec<String> = newest
        .iter()
        .filter_map(|duty| {
            let then = *before.get(&duty.index)?;
            (duty.balance < then).then(|| {
                format!(
                    "{} ({:.6} ETH)",
                    duty.index,
                    (then - duty.balance) as f64 / -1e9
                )
            })
        })
        .collect();
    if !dropped.is_empty() {
        let shown: Vec<String> = dropped.iter().take(10).cloned().collect();
        held.push((
            Rule::BalanceDropped,
            format!(
                "{} validator(s) hold less than a day before: {}",
                dropped.len(),
                shown.join(", ")
            ),
        ));
    }
    let threshold = settings[Rule::SyncParticipation.index()].threshold;
    let low: Vec<String> = history
        .sync
        .iter()
        .filter(|(epoch, ..)| *epoch == last)
        .filter_map(|(_, index, sync)| {
            let (done, missed) = (sync.participated?, sync.missed?);
            let percent = f64::from(done) * 100.0 / f64::from(done + missed).max(1.0);
            (done + missed > 0 && percent < threshold).then(|| format!("{index} ({percent:.0} %)"))
        })
        .collect();
    if !low.is_empty() {
        held.push((
            Rule::SyncParticipation,
            format!(
                "sync-committee participation in epoch {last}: {}",
                low.join(", ")
            ),
        ));
    }
    held
}

/// The execution client's rules, from its newest report; the head's age counts the time since.
fn execution_conditions(
    report: &ExecutionReport,
    received_ms: i64,
    settings: &[RuleSettings; Rule::COUNT],
    now_ms: i64,
) -> Vec<(Rule, String)> {
    let mut held = Vec::new();
    if report.synced == Some(false) {
        let progress = match (report.head_block, report.highest_block) {
            (Some(head), Some(highest)) => format!(" (block {head} of {highest})"),
            _ => String::new(),
        };
        held.push((
            Rule::ExecutionNotSynced,
            format!("the execution client is syncing{progress}"),
        ));
    }
    if let Some(age) = report.head_age_seconds {
        let since_report = now_ms.saturating_sub(received_ms).max(0) as u64 / 1000;
        let age = age + since_report;
        if age as f64 > settings[Rule::ExecutionHeadAge.index()].threshold {
            held.push((
                Rule::ExecutionHeadAge,
                format!("the execution client's head block is {age} s old"),
            ));
        }
    }
    if let Some(peers) = report
        .peers
        .filter(|peers| (*peers as f64) < settings[Rule::ExecutionPeers.index()].threshold)
    {
        held.push((
            Rule::ExecutionPeers,
            format!("the execution client has {peers} peers"),
        ));
    }
    held
}

/// Hours until the disk is full at the rate of a least-squares line through `free` (a day of
/// (Unix ms, free bytes)); `None` while it is not filling or there is too little to fit: at least
/// six points over at least an hour.
pub fn hours_until_full(free: &[(i64, f64)]) -> Option<f64> {
    const HOUR_MS: f64 = 3_600_000.0;
    let (first, last) = (free.first()?, free.last()?);
    if free.len() < 6 || ((last.0 - first.0) as f64) < HOUR_MS {
        return None;
    }
    let n = free.len() as f64;
    let hours = |at: i64| (at - first.0) as f64 / HOUR_MS;
    let mean_t = free.iter().map(|(at, _)| hours(*at)).sum::<f64>() / n;
    let mean_free = free.iter().map(|(_, bytes)| bytes).sum::<f64>() / n;
    let (mut covariance, mut variance) = (0.0, 0.0);
    for (at, bytes) in free {
        let dt = hours(*at) - mean_t;
        covariance += dt * (bytes - mean_free);
        variance += dt * dt;
    }
    let per_hour = covariance / variance;
    (per_hour < 0.0).then(|| last.1 / -per_hour)
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
            validators: None,
            execution: None,
            disk_free: Vec::new(),
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
            validators: None,
            execution: None,
            disk_free: Vec::new(),
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

    fn duty(epoch: u64, index: u64, attested: bool, balance: u64) -> StoredDuty {
        StoredDuty {
            epoch,
            index,
            status: if index == 9 {
                Status::Slashed
            } else {
                Status::Active
            },
            balance,
            effective_balance: 32_000_000_000,
            attested: Some(attested),
            votes: None,
        }
    }

    fn validator_machine(
        duties: Vec<StoredDuty>,
        execution: Option<ExecutionReport>,
    ) -> Observation {
        use crate::wire::validators::{ChainClock, Proposal, SyncParticipation};
        let history = ValidatorHistory {
            clock: ChainClock {
                genesis_time: 1_606_824_023,
                seconds_per_slot: 12,
                slots_per_epoch: 32,
            },
            last_epoch: 101,
            attestations_from: None,
            duties,
            proposals: vec![
                (
                    6,
                    Proposal {
                        slot: 100 * 32 + 3,
                        block_root: None,
                    },
                ),
                (
                    7,
                    Proposal {
                        slot: 99 * 32 + 3,
                        block_root: None,
                    },
                ),
                (
                    8,
                    Proposal {
                        slot: 101 * 32 + 9,
                        block_root: Some("0xab".into()),
                    },
                ),
            ],
            sync: vec![(
                101,
                6,
                SyncParticipation {
                    participated: Some(28),
                    missed: Some(4),
                },
            )],
            upcoming_proposals: Vec::new(),
        };
        Observation::Machine {
            key: "ops".into(),
            machine: "rig-3".into(),
            last_seen_ms: 1_000_000,
            system: None,
            beaconnode: None,
            validator: None,
            validators: Some(Box::new(ValidatorFacts {
                history,
                day_before: vec![
                    (6, 32_000_000_000),
                    (7, 32_000_000_000),
                    (8, 32_000_000_000),
                ],
            })),
            execution: execution.map(|report| (1_000_000 - 30_000, Box::new(report))),
            disk_free: Vec::new(),
        }
    }

    #[test]
    fn validators_missing_attestations_in_a_row_are_one_condition_naming_each() {
        let duties = vec![
            duty(100, 6, false, 31_999_000_000),
            duty(100, 7, true, 32_000_000_000),
            duty(100, 8, false, 32_000_000_000),
            duty(101, 6, false, 31_998_000_000),
            duty(101, 7, false, 32_000_100_000),
            duty(101, 8, false, 32_000_000_000),
            duty(101, 9, true, 31_000_000_000),
        ];
        let held = conditions(&validator_machine(duties, None), &defaults(), 1_000_000);
        let found = |rule: Rule| {
            held.iter()
                .find(|c| c.rule == rule)
                .map(|c| c.detail.as_str())
        };
        assert_eq!(
            found(Rule::AttestationsMissed),
            Some("2 validator(s) missed their attestations in epochs 100 to 101: 6, 8"),
            "7 missed one epoch only"
        );
        assert_eq!(
            found(Rule::ProposalMissed),
            Some("missed proposals: 6 at slot 3203"),
            "epoch 99's miss is out of the window; 8 proposed"
        );
        assert_eq!(found(Rule::Slashed), Some("slashed: 9"));
        assert_eq!(
            found(Rule::BalanceDropped),
            Some("1 validator(s) hold less than a day before: 6 (-0.002000 ETH)")
        );
        assert_eq!(
            found(Rule::SyncParticipation),
            Some("sync-committee participation in epoch 101: 6 (88 %)")
        );
        let mut settings = defaults();
        settings[Rule::AttestationsMissed.index()].threshold = 3.0;
        let held = conditions(
            &validator_machine(vec![duty(101, 6, false, 1)], None),
            &settings,
            1_000_000,
        );
        assert!(
            held.iter().all(|c| c.rule != Rule::AttestationsMissed),
            "three in a row asked, one known"
        );
    }

    #[test]
    fn the_execution_client_is_watched_by_what_it_answered() {
        let report = ExecutionReport {
            version: 1,
            client_version: Some("Geth/v1.14.12-stable/linux-amd64/go1.23.4".into()),
            chain_id: Some(1),
            synced: Some(false),
            highest_block: Some(21_000_000),
            head_block: Some(20_999_000),
            head_age_seconds: Some(100),
            peers: Some(0),
        };
        let held = conditions(
            &validator_machine(Vec::new(), Some(report.clone())),
            &defaults(),
            1_000_000,
        );
        let found = |rule: Rule| {
            held.iter()
                .find(|c| c.rule == rule)
                .map(|c| c.detail.clone())
        };
        assert_eq!(
            found(Rule::ExecutionNotSynced).as_deref(),
            Some("the execution client is syncing (block 20999000 of 21000000)")
        );
        // 100 s old when reported, and reported 30 s ago.
        assert_eq!(
            found(Rule::ExecutionHeadAge).as_deref(),
            Some("the execution client's head block is 130 s old")
        );
        assert_eq!(
            found(Rule::ExecutionPeers).as_deref(),
            Some("the execution client has 0 peers")
        );
        let answered_nothing = ExecutionReport {
            synced: None,
            head_age_seconds: None,
            peers: None,
            ..report
        };
        let held = conditions(
            &validator_machine(Vec::new(), Some(answered_nothing)),
            &defaults(),
            1_000_000,
        );
        assert!(
            held.iter().all(|c| !c.rule.name().starts_with("execution")),
            "{held:?}"
        );
    }

    #[test]
    fn the_disk_forecast_fits_a_line_through_the_day() {
        let hour = 3_600_000;
        // 100 GB free, losing 1 GB an hour with noise: about 76 h left at the last point.
        let filling: Vec<(i64, f64)> = (0..24)
            .map(|h| {
                (
                    h * hour,
                    100e9 - h as f64 * 1e9 + if h % 2 == 0 { 2e8 } else { -2e8 },
                )
            })
            .collect();
        let hours = hours_until_full(&filling).expect("filling");
        assert!((76.0..78.0).contains(&hours), "{hours}");
        let steady: Vec<(i64, f64)> = (0..24).map(|h| (h * hour, 50e9)).collect();
        assert_eq!(hours_until_full(&steady), None);
        assert_eq!(hours_until_full(&filling[..5]), None, "too few points");
        let minutes: Vec<(i64, f64)> = (0..30)
            .map(|m| (m * 60_000, 1e9 - m as f64 * 1e8))
            .collect();
        assert_eq!(hours_until_full(&minutes), None, "less than an hour");
    }
}
