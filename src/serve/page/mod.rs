//! `GET /`: the fleet at a glance, for people. Client-stats machines (a signed-in key's own, an
//! admin key's all) and stream nodes (any signed-in key, or everyone with `--public-reads`), the
//! problems first: offline, firing alerts, not synced, disk low. Sign-in takes an API key and keeps
//! it in an HttpOnly, SameSite=Strict cookie. The page is drawn here, on the server; it loads
//! nothing from another host.

mod html;

use std::time::{Duration, SystemTime};

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::alerts::rules::{disk_free_percent, memory_used_percent};
use super::http::{AppState, Shared, scope_of};
use super::store::streams::StreamStore;
use super::store::{KeyRecord, MachineSummary, Store};
use crate::secret::Secret;
use html::{Cell, Row};

const COOKIE: &str = "nodepulse_key";
/// A sign-in lasts 30 days.
const COOKIE_MAX_AGE_S: u64 = 30 * 86_400;
/// Disk free under this is shown as a problem (the disk-free alert's default).
const DISK_LOW_PERCENT: f64 = 10.0;

/// The key in the request's cookie, if any.
fn cookie_key(headers: &HeaderMap) -> Option<Secret> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, key)| Secret::new(key.to_owned()))
        .filter(|key| !key.expose().is_empty())
}

/// Who is looking: the cookie's key when it is a valid one. A stale cookie is nobody.
async fn viewer<S: Store>(shared: &Shared<S>, headers: &HeaderMap) -> Option<KeyRecord> {
    let key = cookie_key(headers)?;
    shared.store.find_key(&key).await.ok().flatten()
}

fn html_answer(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn when(ms: i64, now_ms: i64) -> String {
    let ago = Duration::from_secs(u64::try_from(now_ms.saturating_sub(ms) / 1000).unwrap_or(0));
    if ago < Duration::from_secs(5) {
        return "just now".into();
    }
    format!("{} ago", humantime::format_duration(ago))
}

fn newest(machine: &MachineSummary, process: &str) -> Option<Map<String, Value>> {
    let newest = machine
        .newest
        .iter()
        .find(|n| n.process.as_str() == process)?;
    match serde_json::from_str(&newest.json) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    }
}

fn number(object: Option<&Map<String, Value>>, field: &str) -> Option<f64> {
    object?.get(field)?.as_f64()
}

fn client(object: Option<&Map<String, Value>>) -> String {
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

/// A machine's row; `firing` are the alert rules firing for it.
fn machine_row(
    machine: &MachineSummary,
    now_ms: i64,
    offline_after_ms: i64,
    firing: &[&str],
) -> Row {
    let online = machine.online(now_ms, offline_after_ms);
    let (system, beacon, validator) = (
        newest(machine, "system"),
        newest(machine, "beaconnode"),
        newest(machine, "validator"),
    );
    let synced = beacon
        .as_ref()
        .and_then(|b| b.get("sync_eth2_synced"))
        .and_then(Value::as_bool);
    let disk_free = system.as_ref().and_then(disk_free_percent);
    let memory_used = system.as_ref().and_then(memory_used_percent);
    let validators = number(validator.as_ref(), "validator_active")
        .zip(number(validator.as_ref(), "validator_total"));
    let disk_low = disk_free.is_some_and(|free| free < DISK_LOW_PERCENT);
    let problem = !online || synced == Some(false) || disk_low || !firing.is_empty();
    let state = match (online, firing.is_empty()) {
        (true, true) => Cell::text("online").class("ok"),
        (true, false) => Cell::text(format!("online; firing: {}", firing.join(", "))).class("bad"),
        (false, true) => Cell::text("offline").class("bad"),
        (false, false) => {
            Cell::text(format!("offline; firing: {}", firing.join(", "))).class("bad")
        }
    };
    let percent = |v: f64| format!("{v:.1} %");
    Row {
        problem,
        cells: vec![
            Cell::text(&machine.machine),
            state,
            Cell::text(client(beacon.as_ref())),
            Cell::text(client(validator.as_ref())),
            match synced {
                Some(true) => Cell::text("yes").class("ok"),
                Some(false) => Cell::text("no").class("bad"),
                None => Cell::text("—"),
            },
            Cell::number(number(beacon.as_ref(), "sync_beacon_head_slot"), |v| {
                format!("{v}")
            }),
            Cell::number(number(beacon.as_ref(), "network_peers_connected"), |v| {
                format!("{v}")
            }),
            Cell::number(validators.map(|(active, _)| active), |active| {
                format!("{active} / {}", validators.map_or(0.0, |(_, total)| total))
            }),
            Cell::number(memory_used, percent),
            if disk_low {
                Cell::number(disk_free, percent).class("bad")
            } else {
                Cell::number(disk_free, percent)
            },
            Cell::number(Some(machine.last_seen_ms as f64), |ms| {
                when(ms as i64, now_ms)
            }),
            Cell::text(&machine.key),
        ],
    }
}

/// Problems first, then by name (the first cell).
fn sorted(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_by(|a, b| {
        b.problem
            .cmp(&a.problem)
            .then_with(|| a.cells[0].text.cmp(&b.cells[0].text))
    });
    rows
}

/// `GET /`.
pub async fn overview<S: Store + StreamStore>(
    State(shared): State<AppState<S>>,
    headers: HeaderMap,
) -> Response {
    let record = viewer(&shared, &headers).await;
    let now_ms = super::now_ms();
    let mut main = String::new();
    match &record {
        Some(record) => match shared.store.machines(scope_of(record)).await {
            Ok(machines) => {
                let rows = machines
                    .iter()
                    .map(|m| {
                        let firing = shared
                            .alerts
                            .firing_for(&format!("{}/{}", m.key, m.machine));
                        machine_row(m, now_ms, shared.offline_after_ms, &firing)
                    })
                    .collect();
                let headers = [
                    "Machine",
                    "State",
                    "Beacon node",
                    "Validator",
                    "Synced",
                    "Head slot",
                    "Peers",
                    "Validators",
                    "Memory used",
                    "Disk free",
                    "Last seen",
                    "Key",
                ];
                main.push_str(&format!("<h2>Machines ({})</h2>", machines.len()));
                main.push_str(&html::table(
                    "machines",
                    &headers,
                    &sorted(rows),
                    "No machine has reported with this key yet.",
                ));
            }
            Err(err) => main.push_str(&format!(
                "<p class=\"bad\">{}</p>",
                html::escape(&err.to_string())
            )),
        },
        None => {
            main.push_str("<p class=\"muted\">Sign in with an API key to see your machines.</p>")
        }
    }
    if record.is_some() || shared.public_reads {
        match shared.store.stream_nodes().await {
            Ok(nodes) => {
                let rows = nodes
                    .iter()
                    .map(|node| {
                        let connected = node.disconnected_ms.is_none();
                        let state = |key: &str| node.state.get(key).and_then(Value::as_f64);
                        let name = node
                            .identity
                            .name
                            .clone()
                            .unwrap_or_else(|| node.identity.peer_id.clone());
                        Row {
                            problem: !connected,
                            cells: vec![
                                Cell::text(name),
                                if connected {
                                    Cell::text("connected").class("ok")
                                } else {
                                    Cell::text("disconnected").class("bad")
                                },
                                Cell::text(
                                    node.identity.chain.clone().unwrap_or_else(|| "—".into()),
                                ),
                                Cell::text(
                                    node.identity
                                        .implementation
                                        .clone()
                                        .unwrap_or_else(|| "—".into()),
                                ),
                                Cell::text(
                                    node.identity.version.clone().unwrap_or_else(|| "—".into()),
                                ),
                                Cell::number(
                                    state("best_height")
                                        .or_else(|| state("current_block_number_l2")),
                                    |v| format!("{v}"),
                                ),
                                Cell::number(state("finalized_height"), |v| format!("{v}")),
                                Cell::number(state("peers").or_else(|| state("peer_count")), |v| {
                                    format!("{v}")
                                }),
                                Cell::number(Some(node.last_seen_ms as f64), |ms| {
                                    when(ms as i64, now_ms)
                                }),
                            ],
                        }
                    })
                    .collect();
                let headers = [
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
                main.push_str(&format!("<h2>Stream nodes ({})</h2>", nodes.len()));
                main.push_str(&html::table(
                    "stream-nodes",
                    &headers,
                    &sorted(rows),
                    "No stream node has connected yet.",
                ));
            }
            Err(err) => main.push_str(&format!(
                "<p class=\"bad\">{}</p>",
                html::escape(&err.to_string())
            )),
        }
    }
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now());
    main.push_str(&format!(
        "<p class=\"muted\">As of {stamp} (refreshes every 30 s).</p>"
    ));
    html_answer(
        StatusCode::OK,
        html::page("nodepulse", record.is_some(), &main),
    )
}

#[derive(serde::Deserialize)]
pub struct SignIn {
    key: String,
}

fn cookie(value: &str, max_age_s: u64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
    ))
    .ok()
}

fn to_overview(set_cookie: Option<HeaderValue>) -> Response {
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    if let Some(value) = set_cookie {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `POST /login` (a form with `key`): a known key is kept in the cookie.
pub async fn login<S: Store + StreamStore>(
    State(shared): State<AppState<S>>,
    Form(form): Form<SignIn>,
) -> Response {
    let key = Secret::new(form.key.trim().to_owned());
    match shared.store.find_key(&key).await {
        Ok(Some(_)) => to_overview(cookie(
            key.expose(),
            COOKIE_MAX_AGE_S,
            shared.secure_cookies,
        )),
        Ok(None) => html_answer(
            StatusCode::UNAUTHORIZED,
            html::page(
                "nodepulse",
                false,
                "<p class=\"bad\">That key is not known here.</p>",
            ),
        ),
        Err(err) => html_answer(
            StatusCode::SERVICE_UNAVAILABLE,
            html::page(
                "nodepulse",
                false,
                &format!("<p class=\"bad\">{}</p>", html::escape(&err.to_string())),
            ),
        ),
    }
}

/// `POST /logout`: the cookie is dropped.
pub async fn logout<S: Store + StreamStore>(State(shared): State<AppState<S>>) -> Response {
    to_overview(cookie("", 0, shared.secure_cookies))
}
