//! `GET /`: the fleet at a glance, for people. Client-stats machines (a signed-in key's own, an
//! admin key's all) and stream nodes (any signed-in key, or everyone with `--public-reads`), the
//! problems first: offline, firing alerts, not synced, disk low. Sign-in takes an API key and opens
//! a session kept on the server, whose random id an HttpOnly, SameSite=Strict cookie holds. The page is drawn here, on the server; it loads
//! nothing from another host.

mod chart;
mod detail;
mod html;

pub use detail::{machine, stream_node};

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Form;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::alerts::Alerts;
use super::alerts::rules::Rule;
use axum::extract::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;

use super::auth::scope_of;
use super::auth::{self, SESSION_COOKIE, SESSION_LIFETIME, Viewer};
use super::figures::{
    self, CpuCounting, Object, cpu_busy_percent, disk_free_percent, memory_used_percent,
    parse_object,
};
use super::keys;
use super::state::{AppState, PeerAddr};
use super::store::streams::{StreamNode, StreamStore};
use super::store::{MachineSummary, Store, StoreError};
use super::streams;
use crate::secret::Secret;
use crate::wire::telemetry::decode::{NodeFigures, number as stream_number};
use html::{Cell, Row};

/// A page, with the headers that keep other sites from framing it and the browser from running
/// anything the page did not bring itself.
fn html_answer(status: StatusCode, body: String) -> Response {
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

fn when(ms: i64, now_ms: i64) -> String {
    let ago = Duration::from_secs(u64::try_from(now_ms.saturating_sub(ms) / 1000).unwrap_or(0));
    if ago < Duration::from_secs(5) {
        return "just now".into();
    }
    format!("{} ago", humantime::format_duration(ago))
}

/// A machine's newest object of `process`, and the one before it.
fn newest(machine: &MachineSummary, process: &str) -> (Option<Object>, Option<Object>) {
    match machine
        .newest
        .iter()
        .find(|n| n.process.as_str() == process)
    {
        Some(newest) => (
            parse_object(&newest.json),
            newest.previous.as_deref().and_then(parse_object),
        ),
        None => (None, None),
    }
}

fn number(object: Option<&Object>, field: &str) -> Option<f64> {
    object.and_then(|object| figures::number(object, field))
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

/// The overview's machine columns; `machine_row` fills them.
const MACHINE_HEADERS: [&str; 13] = [
    "Machine",
    "State",
    "Beacon node",
    "Validator",
    "Synced",
    "Head slot",
    "Peers",
    "Validators",
    "CPU",
    "Memory used",
    "Disk free",
    "Last seen",
    "Key",
];

/// Where a machine's page is.
fn machine_link(machine: &MachineSummary) -> String {
    format!(
        "/machines/{}?key={}",
        html::url_component(&machine.machine),
        html::url_component(&machine.key)
    )
}

/// A clear state: online or offline, and the alert rules firing.
fn state_cell(up: bool, up_word: &str, down_word: &str, firing: &[&str]) -> Cell {
    let word = if up { up_word } else { down_word };
    if firing.is_empty() {
        Cell::text(word).class(if up { "ok" } else { "bad" })
    } else {
        Cell::text(format!("{word}; firing: {}", firing.join(", "))).class("bad")
    }
}

/// A machine's row; `firing` are the alert rules firing for it. Offline and disk low are judged
/// as the server's settings and the disk-free rule judge them.
fn machine_row<S: Store>(
    shared: &AppState<S>,
    machine: &MachineSummary,
    now_ms: i64,
    firing: &[&str],
) -> Row {
    let online = machine.online(now_ms, shared.offline_after_ms);
    let disk_low_percent = shared.alerts.settings(Rule::DiskFree).threshold;
    let (system, previous_system) = newest(machine, "system");
    let (beacon, validator) = (
        newest(machine, "beaconnode").0,
        newest(machine, "validator").0,
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
    let validators = number(validator.as_ref(), "validator_active")
        .zip(number(validator.as_ref(), "validator_total"));
    let disk_low = disk_free.is_some_and(|free| free < disk_low_percent);
    let problem = !online || synced == Some(false) || disk_low || !firing.is_empty();
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
            Cell::number(number(beacon.as_ref(), "sync_beacon_head_slot"), |v| {
                format!("{v}")
            }),
            Cell::number(number(beacon.as_ref(), "network_peers_connected"), |v| {
                format!("{v}")
            }),
            Cell::number(validators.map(|(active, _)| active), |active| {
                format!("{active} / {}", validators.map_or(0.0, |(_, total)| total))
            }),
            Cell::number(cpu, percent),
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

/// The alert subject of a machine (see `alerts::rules::Observation::subject`).
fn machine_subject(machine: &MachineSummary) -> String {
    format!("{}/{}", machine.key, machine.machine)
}

/// A stream node's figures, from its state (either stream's).
struct StreamFigures {
    best: Option<f64>,
    finalized: Option<f64>,
    peers: Option<f64>,
}

impl StreamFigures {
    fn of(state: &Map<String, Value>) -> StreamFigures {
        let get = |key: &str| state.get(key).and_then(stream_number);
        StreamFigures {
            best: NodeFigures::of(state).block_height,
            finalized: get("finalized_height"),
            peers: get("peers").or_else(|| get("peer_count")),
        }
    }
}

const STREAM_HEADERS: [&str; 9] = [
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
fn stream_row(node: &StreamNode, now_ms: i64, firing: &[&str]) -> Row {
    let connected = node.disconnected_ms.is_none();
    let StreamFigures {
        best,
        finalized,
        peers,
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
            Cell::number(Some(node.last_seen_ms as f64), |ms| when(ms as i64, now_ms)),
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

/// A titled table of `rows`, problems first.
fn section(title: &str, id: &str, headers: &[&str], rows: Vec<Row>, empty: &str) -> String {
    format!(
        "<h2>{title} ({})</h2>{}",
        rows.len(),
        html::table(id, headers, &sorted(rows), empty)
    )
}

/// A store failure, said on the page.
fn failure(err: &impl std::fmt::Display) -> String {
    format!("<p class=\"bad\">{}</p>", html::escape(&err.to_string()))
}

const SIGN_IN_PROMPT: &str = "<p class=\"muted\">Sign in with an API key to see your machines.</p>";

/// `GET /`.
pub async fn overview<S: Store + StreamStore>(
    State(shared): State<Arc<AppState<S>>>,
    Viewer(record): Viewer,
) -> Response {
    let now_ms = super::now_ms();
    let mut main = String::new();
    // What fires for the machines and nodes this page shows, by name.
    let mut shown_firing: Vec<(String, Vec<&'static str>)> = Vec::new();
    match &record {
        Some(record) => match shared.store.machines(scope_of(record), None).await {
            Ok(machines) => {
                let rows = machines
                    .iter()
                    .map(|m| {
                        let firing = shared.alerts.firing_for(&machine_subject(m));
                        let row = machine_row(&shared, m, now_ms, &firing);
                        shown_firing.push((m.machine.clone(), firing));
                        row
                    })
                    .collect();
                main.push_str(&section(
                    "Machines",
                    "machines",
                    &MACHINE_HEADERS,
                    rows,
                    "No machine has reported with this key yet.",
                ));
            }
            Err(err) => main.push_str(&failure(&err)),
        },
        None => main.push_str(SIGN_IN_PROMPT),
    }
    if record.is_some() || shared.public_reads {
        match shared.store.stream_nodes().await {
            Ok(nodes) => {
                let rows = nodes
                    .iter()
                    .map(|node| {
                        let firing = shared.alerts.firing_for(&node.identity.peer_id);
                        let row = stream_row(node, now_ms, &firing);
                        shown_firing.push((row.cells[0].text.clone(), firing));
                        row
                    })
                    .collect();
                main.push_str(&section(
                    "Stream nodes",
                    "stream-nodes",
                    &STREAM_HEADERS,
                    rows,
                    "No stream node has connected yet.",
                ));
            }
            Err(err) => main.push_str(&failure(&err)),
        }
    }
    main.push_str(&rules_table(&shared.alerts, &shown_firing));
    main.push_str(&as_of());
    html_answer(
        StatusCode::OK,
        html::page("nodepulse", record.is_some(), &main),
    )
}

/// Names shown for a rule's firing before "and N more".
const FIRING_NAMES_SHOWN: usize = 5;

/// Each alert rule, when it fires, and its state among what the page shows.
fn rules_table(alerts: &Alerts, shown_firing: &[(String, Vec<&'static str>)]) -> String {
    let rows: Vec<Row> = alerts
        .rules()
        .map(|(rule, settings)| {
            let names: Vec<&str> = shown_firing
                .iter()
                .filter(|(_, firing)| firing.contains(&rule.name()))
                .map(|(name, _)| name.as_str())
                .collect();
            let state = if !settings.enabled {
                Cell::text("off").class("muted")
            } else if names.is_empty() {
                Cell::text("quiet").class("ok")
            } else {
                let mut text = format!(
                    "firing: {}",
                    names[..names.len().min(FIRING_NAMES_SHOWN)].join(", ")
                );
                if names.len() > FIRING_NAMES_SHOWN {
                    text.push_str(&format!(" and {} more", names.len() - FIRING_NAMES_SHOWN));
                }
                Cell::text(text).class("bad")
            };
            Row {
                problem: !names.is_empty(),
                cells: vec![
                    Cell::text(rule.name()),
                    Cell::text(settings.describe(rule)),
                    state,
                ],
            }
        })
        .collect();
    format!(
        "<h2>Alert rules</h2>{}",
        html::table("alert-rules", &["Rule", "Fires when", "State"], &rows, "")
    )
}

/// When the page was drawn.
fn as_of() -> String {
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now());
    format!("<p class=\"muted\">As of {stamp} (refreshes every 30 s).</p>")
}

#[derive(serde::Deserialize)]
pub struct SignIn {
    key: String,
}

/// The sign-in cookie: the session's id, for the session's lifetime (0 signs out).
fn cookie(value: &str, max_age_s: u64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
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

/// Whether a form was posted from this server's own page. Browsers say where a request comes
/// from: `Sec-Fetch-Site` (every current one), else `Origin`, compared with the `Host` asked for.
/// A request that says neither is no browser's (curl, a script) and so not cross-site.
fn from_own_page(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|origin| origin.split_once("://"))
        .map(|(_, host)| host);
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok());
    origin_host.is_some() && origin_host == host
}

/// A sign-in or sign-out posted by a page of another site: refused, so that no other site can
/// sign a visitor's browser in as its own key or out.
fn cross_site() -> Response {
    html_answer(
        StatusCode::FORBIDDEN,
        html::page(
            "nodepulse",
            false,
            "<p class=\"bad\">Signing in or out from another site's page is refused.</p>",
        ),
    )
}

fn unavailable(err: &StoreError) -> Response {
    html_answer(
        StatusCode::SERVICE_UNAVAILABLE,
        html::page(
            "nodepulse",
            false,
            &format!("<p class=\"bad\">{}</p>", html::escape(&err.to_string())),
        ),
    )
}

/// `POST /login` (a form with `key`): a known key opens a session, whose random id (never the
/// key) the cookie holds; it ends after `SESSION_LIFETIME`, at sign-out, or when the key is
/// removed.
pub async fn login<S: Store + StreamStore>(
    State(shared): State<Arc<AppState<S>>>,
    ConnectInfo(PeerAddr(client)): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Response {
    if !from_own_page(&headers) {
        return cross_site();
    }
    let key = Secret::new(form.key.trim().to_owned());
    let record = match auth::find_key(&shared, Some(key)).await {
        Ok(record) => record,
        // Guessing keys costs a lookup each: held to the address's rate.
        Err(refused) if refused.status == StatusCode::UNAUTHORIZED => {
            if let Err(limited) = auth::admit_client(&shared, client.ip()) {
                return limited.into_response();
            }
            return html_answer(
                StatusCode::UNAUTHORIZED,
                html::page(
                    "nodepulse",
                    false,
                    "<p class=\"bad\">That key is not known here.</p>",
                ),
            );
        }
        Err(refused) => {
            return html_answer(
                refused.status,
                html::page(
                    "nodepulse",
                    false,
                    &format!("<p class=\"bad\">{}</p>", html::escape(&refused.message)),
                ),
            );
        }
    };
    let session = match keys::generate() {
        Ok(session) => session,
        Err(err) => return unavailable(&StoreError::Failed(err)),
    };
    let now_ms = super::now_ms();
    let lifetime_ms = i64::try_from(SESSION_LIFETIME.as_millis()).unwrap_or(i64::MAX);
    match shared
        .store
        .add_session(
            &session,
            record.id,
            now_ms,
            now_ms.saturating_add(lifetime_ms),
        )
        .await
    {
        Ok(()) => to_overview(cookie(
            session.expose(),
            SESSION_LIFETIME.as_secs(),
            shared.secure_cookies,
        )),
        Err(err) => unavailable(&err),
    }
}

/// `POST /logout`: the session ends, and the cookie is dropped.
pub async fn logout<S: Store + StreamStore>(
    State(shared): State<Arc<AppState<S>>>,
    headers: HeaderMap,
) -> Response {
    if !from_own_page(&headers) {
        return cross_site();
    }
    if let Some(session) = auth::session_id(&headers)
        && let Err(err) = shared.store.remove_session(&session).await
    {
        return unavailable(&err);
    }
    to_overview(cookie("", 0, shared.secure_cookies))
}

/// `/`: the page, or, for a WebSocket upgrade, the purging stream ingest (`/submit`): seed 004
/// points nodes at the server's root (`--telemetry-url 'ws://127.0.0.1:8080 5'`), as
/// substrate-analytics took them there.
pub async fn root<S: Store + StreamStore>(
    state: State<Arc<AppState<S>>>,
    peer: ConnectInfo<PeerAddr>,
    viewer: Viewer,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match upgrade {
        Ok(upgrade) => streams::upgrade::submit(state, peer, headers, upgrade).await,
        Err(_) => overview(state, viewer).await,
    }
}
