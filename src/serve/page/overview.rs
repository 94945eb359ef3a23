//! `GET /`: the fleet at a glance, for people. Client-stats machines (a signed-in key's own, an
//! admin key's all), and the chains and stream nodes (any signed-in key, or everyone with
//! `--public-reads`), the problems first: offline, firing alerts, not synced, disk low.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{ConnectInfo, Query, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::http::header::HeaderMap;
use axum::response::Response;

use super::html::{self, Cell, Row, url_component};
use super::rows::{
    MACHINE_HEADERS, SIGN_IN_PROMPT, STREAM_HEADERS, ago, as_of, failure, html_answer, machine_row,
    machine_subject, stream_row,
};
use crate::serve::alerts::Alerts;
use crate::serve::auth::{Viewer, scope_of};
use crate::serve::network::read::chains_with_best;
use crate::serve::state::{AppState, PeerAddr, RenderedTable};
use crate::serve::store::network::{ChainBlock, ChainSummary};
use crate::serve::store::{Database, StoreError};
use crate::serve::streams;

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

/// How long the stream nodes' table is shown from one read: it reads every node, and with
/// `--public-reads` anyone may ask for it. (The page refreshes itself every 30 s.)
const STREAM_TABLE_FOR_MS: i64 = 5_000;

/// Stream nodes on one page of the status page's table.
const STREAM_PAGE_SIZE: usize = 100;

/// The stream nodes' table, problems first, in pages of `STREAM_PAGE_SIZE`: kept
/// `STREAM_TABLE_FOR_MS`, so that a crowd of readers costs one read and one rendering.
async fn stream_table<S: Database>(
    shared: &AppState<S>,
    now_ms: i64,
) -> Result<Arc<RenderedTable>, StoreError> {
    shared
        .stream_table
        .get((), shared.asked_now(), STREAM_TABLE_FOR_MS, async {
            let nodes = shared.stream_nodes().await?;
            let mut firing = Vec::new();
            let rows: Vec<Row> = nodes
                .iter()
                .map(|node| {
                    let fires = shared.alerts.firing_for(&node.identity.peer_id);
                    let row = stream_row(node, now_ms, &fires);
                    if !fires.is_empty() {
                        firing.push((row.cells[0].text.clone(), fires));
                    }
                    row
                })
                .collect();
            let total = rows.len();
            let rows = sorted(rows);
            let empty = "No stream node has connected yet.";
            let pages = if rows.is_empty() {
                vec![html::table("stream-nodes", &STREAM_HEADERS, &[], empty)]
            } else {
                rows.chunks(STREAM_PAGE_SIZE)
                    .map(|page| html::table("stream-nodes", &STREAM_HEADERS, page, empty))
                    .collect()
            };
            Ok(Arc::new(RenderedTable {
                pages,
                rows: total,
                firing,
            }))
        })
        .await
}

/// `GET /?nodes=N`: the page, its stream nodes' table at page `nodes` (from 0).
async fn overview<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    Viewer(record): Viewer,
    page: usize,
) -> Response {
    let now_ms = crate::serve::now_ms();
    let mut main = String::new();
    // What fires for the machines and nodes this page shows, by name.
    let mut shown_firing: Vec<(String, Vec<&'static str>)> = Vec::new();
    match &record {
        Some(record) => match shared
            .metrics
            .timed("machines", shared.store.machines(scope_of(record), None))
            .await
        {
            Ok(machines) => {
                // Machines without a validator view have no entry; a store failure here costs
                // the column, not the page.
                let problems: HashMap<i64, u64> = shared
                    .metrics
                    .timed("validator_problems", shared.store.validator_problems())
                    .await
                    .map(|problems| problems.into_iter().collect())
                    .unwrap_or_default();
                let watched = shared
                    .metrics
                    .timed("validator_machines", shared.store.validator_machines())
                    .await
                    .unwrap_or_default();
                let rows = machines
                    .iter()
                    .map(|m| {
                        let firing = shared.alerts.firing_for(&machine_subject(m));
                        let problems = watched
                            .contains(&m.id)
                            .then(|| problems.get(&m.id).copied().unwrap_or(0));
                        let row = machine_row(&shared, m, now_ms, &firing, problems);
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
        match chains_with_best(&*shared.store, &shared.metrics).await {
            Ok(chains) => main.push_str(&section(
                "Chains",
                "chains",
                &["Chain", "Connected", "Nodes", "Best block", "Last block"],
                chains
                    .iter()
                    .map(|(chain, best)| chain_row(chain, best.as_ref(), now_ms))
                    .collect(),
                "No stream node has connected yet.",
            )),
            Err(err) => main.push_str(&failure(&err)),
        }
        match stream_table(&shared, now_ms).await {
            Ok(table) => {
                let page = page.min(table.pages.len().saturating_sub(1));
                main.push_str(&format!(
                    "<h2>Stream nodes ({})</h2>{}{}",
                    table.rows,
                    table.pages.get(page).map_or("", String::as_str),
                    html::page_links(page, table.pages.len(), "/?nodes=")
                ));
                shown_firing.extend(table.firing.iter().cloned());
            }
            Err(err) => main.push_str(&failure(&err)),
        }
    }
    main.push_str(&rules_table(&shared.alerts, &shown_firing));
    if record.is_some() || shared.public_reads {
        main.push_str(&html::live_marker("/events"));
    }
    main.push_str(&as_of());
    html_answer(
        StatusCode::OK,
        html::page("nodepulse", record.is_some(), &main),
    )
}

/// A chain's line, linking to its page, with its best block and when it was first seen; one
/// without connected nodes sorts first, marked.
fn chain_row(chain: &ChainSummary, best: Option<&ChainBlock>, now_ms: i64) -> Row {
    let name = chain.name.clone().unwrap_or_else(|| chain.chain.clone());
    let count = |n: Option<i64>| Cell::number(n.map(|n| n as f64), |n| format!("{n:.0}"));
    Row {
        problem: chain.connected == 0,
        cells: vec![
            Cell::text(name).link(format!("/chains/{}", url_component(&chain.chain))),
            count(Some(chain.connected)),
            count(Some(chain.nodes)),
            count(best.map(|block| block.height)),
            Cell::number(best.map(|block| block.first_seen_ms as f64), |ms| {
                ago(ms as i64, now_ms)
            }),
        ],
    }
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

/// `/`: the page, or, for a WebSocket upgrade, the purging stream ingest (`/submit`): seed 004
/// points nodes at the server's root (`--telemetry-url 'ws://127.0.0.1:8080 5'`), as
/// substrate-analytics took them there.
pub async fn root<S: Database>(
    state: State<Arc<AppState<S>>>,
    peer: ConnectInfo<PeerAddr>,
    viewer: Viewer,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match upgrade {
        Ok(upgrade) => streams::upgrade::submit(state, peer, headers, upgrade).await,
        Err(_) => {
            // A query that does not parse shows the first page rather than refusing the page.
            let page = query
                .ok()
                .and_then(|Query(query)| query.get("nodes")?.parse().ok())
                .unwrap_or(0);
            overview(state, viewer, page).await
        }
    }
}
