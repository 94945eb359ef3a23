//! Reading back what was stored. Every read needs a key; a key sees its own machines, an admin key
//! all of them. Lists answer in beaconcha.in's envelope, `{"status":"OK","data":...}`, so that
//! tools written against its API read ours the same way.

use std::collections::HashMap;
use std::time::{Instant, SystemTime};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};

use super::http::{ApiError, AppState, Shared, authenticate, key_from, scope_of};
use super::store::{KeyRecord, Scope, Store, StoredObject, Window};
use crate::formats::client_stats::fields::Process;

/// `limit` when none is given, and the most one answer holds.
const DEFAULT_LIMIT: u32 = 180;
const MAX_LIMIT: u32 = 10_080;

type Answer = Result<Json<Value>, ApiError>;

fn ok(data: Value) -> Answer {
    Ok(Json(json!({"status": "OK", "data": data})))
}

async fn reader<S: Store>(
    shared: &Shared<S>,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<KeyRecord, ApiError> {
    authenticate(
        shared,
        key_from(headers, query.get("apikey").map(String::as_str)),
    )
    .await
}

fn now_ms() -> i64 {
    crate::unix_millis(SystemTime::now()) as i64
}

/// An object as it was accepted, with where it came from.
fn row(object: &StoredObject) -> Map<String, Value> {
    let mut row = object.object.to_json();
    row.insert("machine".into(), object.machine.clone().into());
    row.insert("received".into(), object.received_ms.into());
    row
}

/// `GET /api/v1/machines`: each machine, when it was last seen, whether it is online, and its
/// newest object of each process.
pub async fn machines<S: Store>(
    State(shared): State<AppState<S>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    let record = reader(&shared, &headers, &query).await?;
    let started = Instant::now();
    let machines = shared.store.machines(scope_of(&record)).await;
    shared.telemetry.database("machines", started.elapsed());
    let now = now_ms();
    let offline_after = i64::try_from(shared.offline_after.as_millis()).unwrap_or(i64::MAX);
    let data: Vec<Value> = machines?
        .iter()
        .map(|machine| {
            let newest: Map<String, Value> = machine
                .newest
                .iter()
                .map(|object| {
                    (
                        object.object.process.as_str().to_owned(),
                        row(object).into(),
                    )
                })
                .collect();
            let online = machine
                .newest
                .iter()
                .any(|object| now.saturating_sub(object.received_ms) < offline_after);
            json!({
                "machine": machine.machine,
                "key": machine.key,
                "last_seen": machine.last_seen_ms,
                "online": online,
                "processes": newest,
            })
        })
        .collect();
    ok(data.into())
}

/// `GET /api/v1/machines/{machine}/stats?process=P&since=MS&until=MS&limit=N`: the newest N
/// objects in the window, oldest first.
pub async fn machine_stats<S: Store>(
    State(shared): State<AppState<S>>,
    Path(machine): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    let record = reader(&shared, &headers, &query).await?;
    let number = |name: &str| -> Result<Option<i64>, ApiError> {
        query
            .get(name)
            .map(|text| {
                text.parse::<i64>().map_err(|_| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        format!("`{name}` must be a whole number, got {text:?}"),
                    )
                })
            })
            .transpose()
    };
    let process = query
        .get("process")
        .map(|name| {
            Process::parse(name).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("unknown process {name:?} (validator, beaconnode, slasher or system)"),
                )
            })
        })
        .transpose()?;
    let limit = number("limit")?.unwrap_or(i64::from(DEFAULT_LIMIT));
    if !(1..=i64::from(MAX_LIMIT)).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("`limit` must be from 1 to {MAX_LIMIT}"),
        ));
    }
    let window = Window {
        process,
        since_ms: number("since")?.unwrap_or(0),
        until_ms: number("until")?.unwrap_or(i64::MAX),
        limit: limit as u32,
    };
    let started = Instant::now();
    let objects = shared
        .store
        .machine_stats(scope_of(&record), &machine, window)
        .await;
    shared
        .telemetry
        .database("machine_stats", started.elapsed());
    let objects = objects?;
    if objects.is_empty() && !machine_exists(&shared, &record, &machine).await? {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no machine named {machine:?}"),
        ));
    }
    ok(objects.iter().map(row).collect::<Vec<_>>().into())
}

async fn machine_exists<S: Store>(
    shared: &Shared<S>,
    record: &KeyRecord,
    machine: &str,
) -> Result<bool, ApiError> {
    let machines = shared.store.machines(scope_of(record)).await?;
    Ok(machines.iter().any(|known| known.machine == machine))
}

/// `GET /api/v1/user/stats/{offset}/{limit}`: beaconcha.in's endpoint of that name. Its `data` is
/// one object with the `validator`, `node` and `system` rows of every machine, newest first, each
/// row carrying its `machine`. Unparsable numbers fall back to its defaults (0 and 180), and
/// offset + limit over the cap starts again from 0, as there.
pub async fn user_stats<S: Store>(
    State(shared): State<AppState<S>>,
    Path((offset, limit)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    let record = reader(&shared, &headers, &query).await?;
    let mut offset = offset.parse::<u32>().unwrap_or(0);
    let mut limit = limit.parse::<u32>().unwrap_or(DEFAULT_LIMIT);
    if offset.saturating_add(limit) > MAX_LIMIT {
        limit = MAX_LIMIT;
        offset = 0;
    }
    let scope: Scope = scope_of(&record);
    let mut data = Map::new();
    for (name, process) in [
        ("validator", Process::Validator),
        ("node", Process::BeaconNode),
        ("system", Process::System),
    ] {
        let started = Instant::now();
        let objects = shared.store.recent(scope, process, offset, limit).await;
        shared.telemetry.database("recent", started.elapsed());
        let rows: Vec<Value> = objects?.iter().map(|object| row(object).into()).collect();
        data.insert(name.into(), rows.into());
    }
    ok(data.into())
}
