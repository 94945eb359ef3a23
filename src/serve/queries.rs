//! Reading back what was stored. Every read needs a key; a key sees its own machines, an admin key
//! all of them. Lists answer in beaconcha.in's envelope, `{"status":"OK","data":...}`, so that
//! tools written against its API read ours the same way.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::auth::{Caller, scope_of};
use super::error::ApiError;
use super::reply::{Answer, enveloped};
use super::state::AppState;
use super::store::{Scope, StatsQuery, Store, StoredObject};
use crate::wire::client_stats::fields::Process;

/// `limit` when none is given, and the most one answer holds.
const DEFAULT_LIMIT: u32 = 180;
const MAX_LIMIT: u32 = 10_080;

/// `GET /api/v1/machines`: each machine, when it was last seen, whether it is online, and its
/// newest object of each process.
pub async fn machines<S: Store>(
    State(shared): State<Arc<AppState<S>>>,
    Caller(record): Caller,
) -> Answer {
    let machines = shared
        .metrics
        .timed("machines", shared.store.machines(scope_of(&record), None))
        .await;
    let now = super::now_ms();
    let machines = machines?;
    let mut data = Vec::with_capacity(machines.len());
    for machine in &machines {
        // The newest objects are kept as answered: passed through, not parsed and written again.
        let mut processes = BTreeMap::new();
        for newest in &machine.newest {
            let raw = RawValue::from_string(newest.json.clone()).map_err(|err| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("a stored object is not JSON: {err}"),
                )
            })?;
            processes.insert(newest.process.as_str(), raw);
        }
        data.push(MachineAnswer {
            machine: &machine.machine,
            key: &machine.key,
            last_seen: machine.last_seen_ms,
            online: machine.online(now, shared.offline_after_ms),
            processes,
        });
    }
    enveloped(data)
}

#[derive(Serialize)]
struct MachineAnswer<'a> {
    machine: &'a str,
    key: &'a str,
    last_seen: i64,
    online: bool,
    processes: BTreeMap<&'static str, Box<RawValue>>,
}

/// `GET /api/v1/machines/{machine}/stats?process=P&since=MS&until=MS&limit=N`: the newest N
/// objects in the window, oldest first.
pub async fn machine_stats<S: Store>(
    State(shared): State<Arc<AppState<S>>>,
    Caller(record): Caller,
    Path(machine): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
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
    let wanted = StatsQuery {
        process,
        since_ms: number("since")?.unwrap_or(0),
        until_ms: number("until")?.unwrap_or(i64::MAX),
        limit: limit as u32,
    };
    let objects = shared
        .metrics
        .timed(
            "machine_stats",
            shared
                .store
                .machine_stats(scope_of(&record), &machine, wanted),
        )
        .await;
    let objects = objects?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no machine named {machine:?}"),
        )
    })?;
    enveloped(
        objects
            .iter()
            .map(StoredObject::to_json)
            .collect::<Vec<_>>(),
    )
}

/// `GET /api/v1/user/stats/{offset}/{limit}`: beaconcha.in's endpoint of that name. Its `data` is
/// one object with the `validator`, `node` and `system` rows of every machine, newest first, each
/// row carrying its `machine`. Unparsable numbers fall back to its defaults (0 and 180), and
/// offset + limit over the cap starts again from 0, as there.
pub async fn user_stats<S: Store>(
    State(shared): State<Arc<AppState<S>>>,
    Caller(record): Caller,
    Path((offset, limit)): Path<(String, String)>,
) -> Answer {
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
        let objects = shared
            .metrics
            .timed("recent", shared.store.recent(scope, process, offset, limit))
            .await;
        let rows: Vec<Value> = objects?
            .iter()
            .map(|object| object.to_json().into())
            .collect();
        data.insert(name.into(), rows.into());
    }
    enveloped(data)
}
