//! Reading the streams back, in the shapes seed 004 (substrate-analytics) and seed 002 (the Node
//! Data API) give. Stream nodes belong to the server, not to a key: any valid key reads them, and
//! `--public-reads` opens the reads to everyone. Creating host systems and benchmarks needs an
//! admin key. Lists answer bare JSON arrays, as substrate-analytics answers them (its handlers
//! answer `HttpResponse::Ok().json(rows)`) and as seed 002's schema gives `/api/nodes`: no
//! envelope; refusals keep the server's one error shape. Times are UTC, in substrate-analytics'
//! `2019-01-01T00:00:00.000000` form, and mean when the server received the frame.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use crate::serve::auth::{Admin, Caller, Reader};
use crate::serve::error::ApiError;
use crate::serve::reply::{Answer, bare, bare_text, json_array};
use crate::serve::state::{AppState, PeersSeen};
use crate::serve::store::Database;
use crate::serve::store::streams::{Benchmark, HostSystem, LogQuery, StoredLog, StreamNode};
use crate::wire::telemetry::decode::{NodeFigures, PeerReputation, peer_reputations};

/// `/nodes/logs` without `limit`, and the most one answer holds.
const DEFAULT_LOG_LIMIT: u32 = 100;
const MAX_LOG_LIMIT: u32 = 10_000;
/// The reputation routes' defaults.
const DEFAULT_MAX_AGE_S: u64 = 300;
const DEFAULT_REPUTATION_LIMIT: usize = 100;

type Params = Query<HashMap<String, String>>;

/// Times as substrate-analytics writes them: UTC, microseconds, no zone.
pub fn timestamp(ms: i64) -> String {
    let at = SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    let text = humantime::format_rfc3339_micros(at).to_string();
    text.trim_end_matches('Z').to_owned()
}

/// `2019-01-01T00:00:00`, fractions and a `Z` allowed, read as UTC.
fn parse_time(name: &str, text: &str) -> Result<i64, ApiError> {
    humantime::parse_rfc3339_weak(text.trim_end_matches('Z'))
        .ok()
        .and_then(|at| at.duration_since(SystemTime::UNIX_EPOCH).ok())
        .and_then(|since| i64::try_from(since.as_millis()).ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("`{name}` must be a time like 2019-01-01T00:00:00, got {text:?}"),
            )
        })
}

fn query_number<T: std::str::FromStr>(
    query: &HashMap<String, String>,
    name: &str,
    default: T,
) -> Result<T, ApiError> {
    match query.get(name) {
        None => Ok(default),
        Some(text) => text.parse().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("`{name}` must be a whole number, got {text:?}"),
            )
        }),
    }
}

fn node_json(node: &StreamNode, expose_ip: bool) -> Value {
    let identity = &node.identity;
    let mut answer = json!({
        "peer_id": identity.peer_id,
        "name": identity.name,
        "chain": identity.chain,
        "genesis_hash": (!identity.genesis_hash.is_empty()).then_some(&identity.genesis_hash),
        "implementation": identity.implementation,
        "version": identity.version,
        "authority": identity.authority,
        "startup_time": identity.startup_time,
        "format": node.format.name(),
        "audit": node.audit,
        "connected_at": timestamp(node.connected_ms),
        "last_seen": timestamp(node.last_seen_ms),
        "disconnected_at": node.disconnected_ms.map(timestamp),
        "connected": node.disconnected_ms.is_none(),
        "state": node.state,
    });
    if expose_ip && let Some(object) = answer.as_object_mut() {
        object.insert("ip".into(), node.ip.clone().into());
    }
    answer
}

/// How long an answer that reads every node or counts messages (`/nodes`, `/api/nodes`,
/// `/nodes/log_stats`, `/stats/db`, the reputation routes) is answered from one read: with
/// `--public-reads` anyone may ask most of them, so many readers at once share one read and one
/// answer.
const SHARED_FOR_MS: i64 = 5_000;

/// `GET /nodes`: every node either stream told of, with its latest state.
pub async fn nodes<S: Database>(State(shared): State<Arc<AppState<S>>>, _: Reader) -> Answer {
    let answer = shared
        .nodes_answer
        .get((), shared.asked_now(), SHARED_FOR_MS, async {
            let nodes = shared.stream_nodes().await?;
            json_array(
                nodes
                    .iter()
                    .map(|node| node_json(node, shared.expose_node_ip)),
            )
        });
    bare_text(answer.await?)
}

fn log_json(log: StoredLog) -> Value {
    json!({"peer_id": log.peer_id, "msg": log.msg, "created_at": timestamp(log.created_ms), "logs": log.log})
}

/// `GET /nodes/logs?peer_id=&msg=&target=&start_time=&end_time=&limit=`: newest first.
pub async fn logs<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    _: Reader,
    Query(query): Params,
) -> Answer {
    let peer_id = query
        .get("peer_id")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "`peer_id` is required"))?;
    let now = crate::serve::now_ms();
    let since_ms = query
        .get("start_time")
        .map(|text| parse_time("start_time", text))
        .transpose()?
        .unwrap_or(0);
    let until_ms = query
        .get("end_time")
        .map(|text| parse_time("end_time", text))
        .transpose()?
        .unwrap_or(now);
    let limit = query_number(&query, "limit", DEFAULT_LOG_LIMIT)?.min(MAX_LOG_LIMIT);
    let filter = LogQuery {
        peer_id: peer_id.clone(),
        msg: query.get("msg").cloned(),
        target: query.get("target").cloned(),
        since_ms,
        until_ms,
        limit,
    };
    let logs = shared
        .metrics
        .timed("stream_logs", shared.store.stream_logs(&filter))
        .await?;
    bare(logs.into_iter().map(log_json).collect())
}

/// `GET /nodes/log_stats?peer_id=`: how many messages of each kind are kept.
pub async fn log_stats<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    _: Reader,
    Query(query): Params,
) -> Answer {
    let peer_id = query.get("peer_id").cloned();
    let answer = shared
        .log_stats_answer
        .get(peer_id.clone(), shared.asked_now(), SHARED_FOR_MS, async {
            let stats = shared
                .metrics
                .timed("log_stats", shared.store.log_stats(peer_id.as_deref()))
                .await?;
            json_array(
                stats
                    .into_iter()
                    .map(|(log_type, qty)| json!({"log_type": log_type, "qty": qty})),
            )
        })
        .await?;
    bare_text(answer)
}

/// One node's view of one peer, from its newest `system.network_state`.
fn peer_row(seen: &PeersSeen, peer: &PeerReputation) -> Value {
    json!({
        "peer_id": peer.peer_id,
        "reporting_peer": seen.reporting_peer,
        "reputation": peer.reputation,
        "connected": peer.connected,
        "ts": timestamp(seen.created_ms),
    })
}

/// The reputation routes: what the nodes that sent a network state in the last `max_age_s`
/// think of their peers; `keep` picks the peers answered.
async fn reputation_of<S: Database>(
    shared: &AppState<S>,
    query: &HashMap<String, String>,
    keep: impl Fn(&str) -> bool,
) -> Answer {
    let max_age_s = query_number(query, "max_age_s", DEFAULT_MAX_AGE_S)?;
    let limit = query_number(query, "limit", DEFAULT_REPUTATION_LIMIT)?;
    let states = shared
        .network_states
        .get(max_age_s, shared.asked_now(), SHARED_FOR_MS, async {
            let since = crate::serve::now_ms()
                .saturating_sub(i64::try_from(max_age_s.saturating_mul(1000)).unwrap_or(i64::MAX));
            let states = shared
                .metrics
                .timed("network_states", shared.store.network_states(since))
                .await?;
            // Each state parsed and let go in turn: every node's parsed at once was most of the
            // memory the answer cost.
            let seen = states
                .into_iter()
                .map(|state| PeersSeen {
                    peers: peer_reputations(&state.log),
                    reporting_peer: state.peer_id,
                    created_ms: state.created_ms,
                })
                .collect();
            Ok(Arc::new(seen))
        })
        .await?;
    let rows: Vec<Value> = states
        .iter()
        .flat_map(|seen| seen.peers.iter().map(move |peer| (seen, peer)))
        .filter(|(_, peer)| keep(&peer.peer_id))
        .take(limit)
        .map(|(seen, peer)| peer_row(seen, peer))
        .collect();
    bare(Value::Array(rows))
}

/// `GET /reputation/{peer_id}`: one peer as the other nodes see it.
pub async fn reputation_of_peer<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    Path(peer_id): Path<String>,
    _: Reader,
    Query(query): Params,
) -> Answer {
    reputation_of(&shared, &query, |peer| peer == peer_id).await
}

/// `GET /reputation/logged`: only peers that are themselves nodes reporting here.
pub async fn reputation_logged<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    _: Reader,
    Query(query): Params,
) -> Answer {
    let nodes = shared
        .metrics
        .timed("node_contacts", shared.store.node_contacts())
        .await?;
    let logged: std::collections::HashSet<String> =
        nodes.into_iter().map(|node| node.peer_id).collect();
    reputation_of(&shared, &query, |peer| logged.contains(peer)).await
}

/// `GET /reputation`: every peer reported, unfiltered.
pub async fn reputation<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    _: Reader,
    Query(query): Params,
) -> Answer {
    reputation_of(&shared, &query, |_| true).await
}

/// `GET /stats/db`: each table and its rows. A key's read even under `--public-reads`: the
/// database is the operator's, and counting reads every page of the largest tables (a
/// 10,000-node network's week of block reports: a billion rows).
pub async fn db_stats<S: Database>(State(shared): State<Arc<AppState<S>>>, _: Caller) -> Answer {
    let answer = shared
        .db_stats_answer
        .get((), shared.asked_now(), SHARED_FOR_MS, async {
            let tables = shared
                .metrics
                .timed("table_stats", shared.store.table_stats())
                .await?;
            json_array(
                tables
                    .into_iter()
                    .map(|table| json!({"table_name": table.table_name, "rows": table.rows})),
            )
        })
        .await?;
    bare_text(answer)
}

/// `GET /api/nodes`: seed 002's Node Data API, for every node of either stream.
pub async fn node_data<S: Database>(State(shared): State<Arc<AppState<S>>>, _: Reader) -> Answer {
    let answer = shared
        .node_data_answer
        .get((), shared.asked_now(), SHARED_FOR_MS, async {
            let nodes = shared.stream_nodes().await?;
            json_array(nodes.iter().map(|node| {
                let figures = NodeFigures::of(&node.state);
                let mut answer = Map::new();
                let mut put = |key: &str, value: Option<Value>| {
                    if let Some(value) = value {
                        answer.insert(key.to_owned(), value);
                    }
                };
                put("nodeId", Some(node.identity.peer_id.clone().into()));
                put(
                    "nodeIp",
                    node.ip
                        .clone()
                        .filter(|_| shared.expose_node_ip)
                        .map(Value::from),
                );
                put("nodeName", node.identity.name.clone().map(Value::from));
                put(
                    "nodeClientVersion",
                    node.identity.version.clone().map(Value::from),
                );
                put(
                    "nodeClientType",
                    node.identity.implementation.clone().map(Value::from),
                );
                put("cpuUsage", figures.cpu_usage.map(Value::from));
                put("memoryUsage", figures.memory_usage.map(Value::from));
                put("networkTraffic", figures.network_traffic.map(Value::from));
                put("blockHeight", figures.block_height.map(Value::from));
                Value::Object(answer)
            }))
        });
    bare_text(answer.await?)
}

fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(value)| value)
        .map_err(|err| ApiError::new(StatusCode::BAD_REQUEST, err.body_text()))
}

/// `GET /host_systems`.
pub async fn host_systems<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    _: Reader,
) -> Answer {
    let hosts = shared
        .metrics
        .timed("host_systems", shared.store.host_systems())
        .await?;
    bare(serde_json::to_value(hosts).unwrap_or_default())
}

/// `POST /host_systems`: answers `{"id": N}`.
pub async fn add_host_system<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    _: Admin,
    host: Result<Json<HostSystem>, JsonRejection>,
) -> Answer {
    let host = body(host)?;
    let id = shared
        .metrics
        .timed("add_host_system", shared.store.add_host_system(&host))
        .await?;
    bare(json!({"id": id}))
}

/// `GET /benchmarks`.
pub async fn benchmarks<S: Database>(State(shared): State<Arc<AppState<S>>>, _: Reader) -> Answer {
    let benchmarks = shared
        .metrics
        .timed("benchmarks", shared.store.benchmarks())
        .await?;
    bare(serde_json::to_value(benchmarks).unwrap_or_default())
}

/// `POST /benchmarks`: answers `{"id": N}`; the times must read as times.
pub async fn add_benchmark<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    _: Admin,
    benchmark: Result<Json<Benchmark>, JsonRejection>,
) -> Answer {
    let benchmark = body(benchmark)?;
    parse_time("ts_start", &benchmark.ts_start)?;
    parse_time("ts_end", &benchmark.ts_end)?;
    let id = shared
        .metrics
        .timed(
            "add_benchmark",
            shared
                .store
                .add_benchmark(&benchmark, crate::serve::now_ms()),
        )
        .await?;
    bare(json!({"id": id}))
}
