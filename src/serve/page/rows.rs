//! What the overview and the detail pages share: the page answer and its headers, the machine and
//! stream-node rows with their columns, and the small words pages are made of.

use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::html::{self, Cell, Row};
use crate::serve::alerts::rules::Rule;
use crate::serve::figures::{
    CpuCounting, Object, cpu_busy_percent, disk_free_percent, field_number, memory_used_percent,
    parse_object,
};
use crate::serve::state::AppState;
use crate::serve::store::streams::StreamNode;
use crate::serve::store::{MachineSummary, Store};
use crate::wire::client_stats::fields::Process;
use crate::wire::telemetry::decode::{NodeFigures, lenient_number};

/// A page, with the headers that keep other sites from framing it and the browser from running
/// anything the page did not bring itself.
pub(super) fn html_answer(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            // Machine pages' links carry `?key=` names; other sites need not see them.
            (header::REFERRER_POLICY, "no-referrer"),
            (
                header::CONTENT_SECURITY_POLICY,
                html::CONTENT_SECURITY_POLICY.as_str(),
            ),
        ],
        body,
    )
        .into_response()
}

/// How long before `now_ms` `ms` was, as people say it.
pub(super) fn ago(ms: i64, now_ms: i64) -> String {
    let ago = Duration::from_secs(u64::try_from(now_ms.saturating_sub(ms) / 1000).unwrap_or(0));
    if ago < Duration::from_secs(5) {
        return "just now".into();
    }
    format!("{} ago", humantime::format_duration(ago))
}

/// A machine's newest object of `process`, and the one before it.
pub(super) fn newest(
    machine: &MachineSummary,
    process: Process,
) -> (Option<Object>, Option<Object>) {
    match machine.newest_of(process) {
        Some(newest) => (
            parse_object(&newest.json),
            newest.previous.as_deref().and_then(parse_object),
        ),
        None => (None, None),
    }
}

/// The number in `field` of an object that may be missing.
fn number_in(object: Option<&Object>, field: &str) -> Option<f64> {
    object.and_then(|object| field_number(object, field))
}

pub(super) fn client(object: Option<&Map<String, Value>>) -> String {
    let Some(object) = object else {
        return "—".into();
    };
    let name = object
        .get("client_name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    match object.get("client_version").and_then(Value::as_str) {
        Some(version) => format!("{name} {version}"),
        None => name.to_owned(),
    }
}

/// The overview's machine columns; `machine_row` fills them.
pub(super) const MACHINE_HEADERS: [&str; 14] = [
    "Machine",
    "State",
    "Beacon node",
    "Validator",
    "Synced",
    "Head slot",
    "Peers",
    "Validators",
    "Validators with problems",
    "CPU",
    "Memory used",
    "Disk free",
    "Last seen",
    "Key",
];

/// Where a machine's page is.
pub(super) fn machine_link(machine: &MachineSummary) -> String {
    format!(
        "/machines/{}?key={}",
        html::url_component(&machine.machine),
        html::url_component(&machine.key)
    )
}

/// A clear state: online or offline, and the alert rules firing.
pub(super) fn state_cell(up: bool, up_word: &str, down_word: &str, firing: &[&str]) -> Cell {
    let word = if up { up_word } else { down_word };
    if firing.is_empty() {
        Cell::text(word).class(if up { "ok" } else { "bad" })
    } else {
        Cell::text(format!("{word}; firing: {}", firing.join(", "))).class("bad")
    }
}

/// A machine's row; `firing` are the alert rules firing for it, `validator_problems` how many of
/// its watched validators missed or were slashed in its last reported epoch (`None` without a
/// validator view). Offline and disk low are judged as the server's settings and the disk-free
/// rule judge them.
pub(super) fn machine_row<S: Store>(
    shared: &AppState<S>,
    machine: &MachineSummary,
    now_ms: i64,
    firing: &[&str],
    validator_problems: Option<u64>,
) -> Row {
    let online = machine.online(now_ms, shared.offline_after_ms);
    let disk_low_percent = shared
        .alerts
        .settings(Rule::DiskFree, &machine_subject(machine))
        .threshold;
    let (system, previous_system) = newest(machine, Process::System);
    let (beacon, validator) = (
        newest(machine, Process::BeaconNode).0,
        newest(machine, Process::Validator).0,
    );
    let synced = beacon
        .as_ref()
        .and_then(|b| b.get("sync_eth2_synced"))
        .and_then(Value::as_bool);
    let disk_free = system.as_ref().and_then(disk_free_percent);
    let memory_used = system.as_ref().and_then(memory_used_percent);
    let cpu = previous_system
        .as_ref()
        .zip(system.as_ref())
        .and_then(|(earlier, later)| {
            let counting = CpuCounting::of(beacon.as_ref().or(validator.as_ref()), later);
            cpu_busy_percent(counting, earlier, later)
        });
    let validators = number_in(validator.as_ref(), "validator_active")
        .zip(number_in(validator.as_ref(), "validator_total"));
    let disk_low = disk_free.is_some_and(|free| free < disk_low_percent);
    let problem = !online
        || synced == Some(false)
        || disk_low
        || !firing.is_empty()
        || validator_problems.is_some_and(|n| n > 0);
    let percent = |v: f64| format!("{v:.1} %");
    Row {
        problem,
        cells: vec![
            Cell::text(&machine.machine).link(machine_link(machine)),
            state_cell(online, "online", "offline", firing),
            Cell::text(client(beacon.as_ref())),
            Cell::text(client(validator.as_ref())),
            match synced {
                Some(true) => Cell::text("yes").class("ok"),
                Some(false) => Cell::text("no").class("bad"),
                None => Cell::text("—"),
            },
            Cell::number(number_in(beacon.as_ref(), "sync_beacon_head_slot"), |v| {
                format!("{v}")
            }),
            Cell::number(number_in(beacon.as_ref(), "network_peers_connected"), |v| {
                format!("{v}")
            }),
            Cell::number(validators.map(|(active, _)| active), |active| {
                format!("{active} / {}", validators.map_or(0.0, |(_, total)| total))
            }),
            match validator_problems {
                Some(n) if n > 0 => Cell::number(Some(n as f64), |n| format!("{n}")).class("bad"),
                other => Cell::number(other.map(|n| n as f64), |n| format!("{n}")),
            },
            Cell::number(cpu, percent),
            Cell::number(memory_used, percent),
            if disk_low {
                Cell::number(disk_free, percent).class("bad")
            } else {
                Cell::number(disk_free, percent)
            },
            Cell::number(Some(machine.last_seen_ms as f64), |ms| {
                ago(ms as i64, now_ms)
            }),
            Cell::text(&machine.key),
        ],
    }
}

/// The alert subject of a machine (see `alerts::rules::Observation::subject`).
pub(super) fn machine_subject(machine: &MachineSummary) -> String {
    format!("{}/{}", machine.key, machine.machine)
}

/// A stream node's figures, from its state (either stream's).
pub(super) struct StreamFigures {
    pub(super) best: Option<f64>,
    pub(super) finalized: Option<f64>,
    pub(super) peers: Option<f64>,
    /// Substrate's: bytes per second each way, and the transactions ready in its pool.
    pub(super) upload: Option<f64>,
    pub(super) download: Option<f64>,
    pub(super) transactions: Option<f64>,
}

impl StreamFigures {
    pub(super) fn of(state: &Map<String, Value>) -> StreamFigures {
        let get = |key: &str| state.get(key).and_then(lenient_number);
        StreamFigures {
            best: NodeFigures::of(state).block_height,
            finalized: get("finalized_height"),
            peers: get("peers").or_else(|| get("peer_count")),
            upload: get("bandwidth_upload"),
            download: get("bandwidth_download"),
            transactions: get("txcount"),
        }
    }
}

pub(super) const STREAM_HEADERS: [&str; 9] = [
    "Node",
    "State",
    "Chain",
    "Implementation",
    "Version",
    "Best",
    "Finalized",
    "Peers",
    "Last seen",
];

/// A stream node's row; `firing` are the alert rules firing for it.
pub(super) fn stream_row(node: &StreamNode, now_ms: i64, firing: &[&str]) -> Row {
    let connected = node.disconnected_ms.is_none();
    let StreamFigures {
        best,
        finalized,
        peers,
        ..
    } = StreamFigures::of(&node.state);
    let or_dash = |text: &Option<String>| text.clone().unwrap_or_else(|| "—".into());
    let name = node
        .identity
        .name
        .clone()
        .unwrap_or_else(|| node.identity.peer_id.clone());
    let count = |v: f64| format!("{v}");
    Row {
        problem: !connected || !firing.is_empty(),
        cells: vec![
            Cell::text(name).link(format!(
                "/stream-nodes/{}",
                html::url_component(&node.identity.peer_id)
            )),
            state_cell(connected, "connected", "disconnected", firing),
            Cell::text(or_dash(&node.identity.chain)),
            Cell::text(or_dash(&node.identity.implementation)),
            Cell::text(or_dash(&node.identity.version)),
            Cell::number(best, count),
            Cell::number(finalized, count),
            Cell::number(peers, count),
            Cell::number(Some(node.last_seen_ms as f64), |ms| ago(ms as i64, now_ms)),
        ],
    }
}

/// A store failure, said on the page.
pub(super) fn failure(err: &impl std::fmt::Display) -> String {
    format!("<p class=\"bad\">{}</p>", html::escape(&err.to_string()))
}

pub(super) const SIGN_IN_PROMPT: &str =
    "<p class=\"muted\">Sign in with an API key to see your machines.</p>";

/// When the page was drawn.
pub(super) fn as_of() -> String {
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now());
    format!("<p class=\"muted\">As of {stamp} (refreshes every 30 s).</p>")
}
