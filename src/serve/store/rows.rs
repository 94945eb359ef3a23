//! Rows as the database gives them, one type per query shape, read by name (`sqlx::FromRow`); each
//! becomes the store's own type through `From`, where flags stored as integers become booleans and
//! JSON text becomes values. A client-stats object's row is read by `sql.rs` itself: its columns
//! are the field table's.

use serde_json::{Map, Value};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, FromRow, Row};

use super::network::{ChainBlock, ChainNode, ChainSummary, Delay};
use super::streams::{
    Benchmark, HostSystem, NetworkState, NodeContact, StoredLog, StoredSample, StreamFormat,
    StreamNode, TableStats,
};
use super::{KeyListing, KeyRecord, MachineSummary, StoreError};
use crate::wire::telemetry::decode::Identity;

/// `FromRow` for a row type, each field read from the column of its name: what sqlx's
/// `#[derive(FromRow)]` writes, without its proc-macro crate, which builds a second sqlx for the
/// build machine (SQLite's C source and rustls included: about a minute of CPU in every clean
/// build). A field left out of the list does not compile.
macro_rules! read_by_name {
    ($row:ident { $($field:ident),* $(,)? }) => {
        impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for $row {
            fn from_row(row: &'r sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
                use sqlx::Row as _;
                Ok($row { $($field: row.try_get(stringify!($field))?),* })
            }
        }
    };
}
pub(super) use read_by_name;

/// A read of the stream tables, planned for its own parameters each time it runs, never from the
/// generic plan PostgreSQL caches for a prepared statement after five runs. A generic plan made
/// while the tables were nearly empty (a fresh database that a fleet fills within seconds) stays
/// until autovacuum analyses them: in the stream bench, `/nodes/logs` then scanned `stream_nodes`
/// whole for a minute (33 ms a read; PostgreSQL's CPU per frame five times what it is with this).
/// And a generic plan of an optional filter (`$1 IS NULL OR n.peer_id = $1`) can use no index.
/// Writes keep their cached plans: planning every batch's inserts again (`plan_cache_mode =
/// force_custom_plan`) cost PostgreSQL 70 % more CPU per frame.
pub(super) fn read(sql: &str) -> Query<'_, Any, AnyArguments<'_>> {
    sqlx::query(sql).persistent(false)
}

/// Every row read as `R`, then made the store's own `T`.
pub(super) fn read_all<R, T>(rows: &[AnyRow]) -> Result<Vec<T>, StoreError>
where
    R: for<'r> FromRow<'r, AnyRow>,
    T: From<R>,
{
    Ok(rows
        .iter()
        .map(|row| R::from_row(row).map(T::from))
        .collect::<Result<_, _>>()?)
}

/// `api_keys`, as authentication reads it.
pub(super) struct KeyRow {
    id: i64,
    name: String,
    admin: i64,
}
read_by_name!(KeyRow { id, name, admin });

impl From<KeyRow> for KeyRecord {
    fn from(row: KeyRow) -> KeyRecord {
        KeyRecord {
            id: row.id,
            name: row.name,
            admin: row.admin != 0,
        }
    }
}

/// `api_keys`, as `keys list` shows it.
pub(super) struct KeyListingRow {
    name: String,
    admin: i64,
    created_ms: i64,
    last_used_ms: Option<i64>,
}
read_by_name!(KeyListingRow {
    name,
    admin,
    created_ms,
    last_used_ms
});

impl From<KeyListingRow> for KeyListing {
    fn from(row: KeyListingRow) -> KeyListing {
        KeyListing {
            name: row.name,
            admin: row.admin != 0,
            created_ms: row.created_ms,
            last_used_ms: row.last_used_ms,
        }
    }
}

/// A machine with its key, before its newest objects are added.
pub(super) struct MachineRow {
    pub(super) id: i64,
    machine_name: String,
    key_name: String,
    removed_ms: Option<i64>,
    last_seen_ms: i64,
}
read_by_name!(MachineRow {
    id,
    machine_name,
    key_name,
    removed_ms,
    last_seen_ms
});

impl From<MachineRow> for MachineSummary {
    fn from(row: MachineRow) -> MachineSummary {
        MachineSummary {
            id: row.id,
            key: row.key_name,
            key_removed: row.removed_ms.is_some(),
            machine: row.machine_name,
            last_seen_ms: row.last_seen_ms,
            newest: Vec::new(),
        }
    }
}

/// One row of `latest`: a machine's newest object of a process, and the one before it.
pub(super) struct LatestRow {
    pub(super) machine_id: i64,
    pub(super) process: i64,
    pub(super) received_ms: i64,
    pub(super) object: String,
    pub(super) previous: Option<String>,
}
read_by_name!(LatestRow {
    machine_id,
    process,
    received_ms,
    object,
    previous
});

/// `stream_nodes`.
pub(super) struct NodeRow {
    format: String,
    peer_id: String,
    genesis_hash: String,
    name: Option<String>,
    chain: Option<String>,
    implementation: Option<String>,
    version: Option<String>,
    authority: Option<i64>,
    startup_time_ms: Option<i64>,
    ip: Option<String>,
    audit: i64,
    connected_ms: i64,
    last_seen_ms: i64,
    disconnected_ms: Option<i64>,
    state: String,
    machine: String,
}
read_by_name!(NodeRow {
    format,
    peer_id,
    genesis_hash,
    name,
    chain,
    implementation,
    version,
    authority,
    startup_time_ms,
    ip,
    audit,
    connected_ms,
    last_seen_ms,
    disconnected_ms,
    state,
    machine
});

read_by_name!(NodeContact {
    peer_id,
    name,
    last_seen_ms
});

impl From<NodeRow> for StreamNode {
    fn from(row: NodeRow) -> StreamNode {
        StreamNode {
            format: if row.format == StreamFormat::Starknet.name() {
                StreamFormat::Starknet
            } else {
                StreamFormat::Substrate
            },
            identity: Identity {
                peer_id: row.peer_id,
                genesis_hash: row.genesis_hash,
                name: row.name,
                chain: row.chain,
                implementation: row.implementation,
                version: row.version,
                authority: row.authority.map(|flag| flag != 0),
                startup_time: row.startup_time_ms,
                machine: json_object(&row.machine),
            },
            ip: row.ip,
            audit: row.audit != 0,
            connected_ms: row.connected_ms,
            last_seen_ms: row.last_seen_ms,
            disconnected_ms: row.disconnected_ms,
            state: json_object(&row.state),
        }
    }
}

/// `stream_nodes` with its id, as the network view reads a chain's nodes.
pub(super) struct ChainNodeRow {
    id: i64,
    node: NodeRow,
}

impl<'r> FromRow<'r, AnyRow> for ChainNodeRow {
    fn from_row(row: &'r AnyRow) -> Result<Self, sqlx::Error> {
        Ok(ChainNodeRow {
            id: row.try_get("id")?,
            node: NodeRow::from_row(row)?,
        })
    }
}

impl From<ChainNodeRow> for ChainNode {
    fn from(row: ChainNodeRow) -> ChainNode {
        ChainNode {
            id: row.id,
            node: row.node.into(),
        }
    }
}

/// One chain and its node counts.
pub(super) struct ChainRow {
    chain: String,
    name: Option<String>,
    nodes: i64,
    connected: i64,
}
read_by_name!(ChainRow {
    chain,
    name,
    nodes,
    connected
});

impl From<ChainRow> for ChainSummary {
    fn from(row: ChainRow) -> ChainSummary {
        ChainSummary {
            chain: row.chain,
            name: row.name,
            nodes: row.nodes,
            connected: row.connected,
        }
    }
}

/// `stream_blocks`; a delay is one of these with a node's report.
pub(super) struct BlockRow {
    height: i64,
    hash: String,
    first_seen_ms: i64,
    reports: i64,
}
read_by_name!(BlockRow {
    height,
    hash,
    first_seen_ms,
    reports
});

impl From<BlockRow> for ChainBlock {
    fn from(row: BlockRow) -> ChainBlock {
        ChainBlock {
            height: row.height,
            hash: row.hash,
            first_seen_ms: row.first_seen_ms,
            reports: row.reports,
        }
    }
}

/// One node's delay for one block.
pub(super) struct DelayRow {
    node_id: i64,
    height: i64,
    hash: String,
    imported_ms: i64,
    delay_ms: i64,
    reports: i64,
}
read_by_name!(DelayRow {
    node_id,
    height,
    hash,
    imported_ms,
    delay_ms,
    reports
});

impl From<DelayRow> for Delay {
    fn from(row: DelayRow) -> Delay {
        Delay {
            node_id: row.node_id,
            height: row.height,
            hash: row.hash,
            imported_ms: row.imported_ms,
            delay_ms: row.delay_ms,
            reports: row.reports,
        }
    }
}

/// A JSON object written as text; anything else reads as none.
fn json_object(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(object)) => object,
        _ => Map::new(),
    }
}

/// One stored stream message, with its node's format.
pub(super) struct LogRow {
    peer_id: String,
    format: String,
    msg: String,
    created_ms: i64,
    log: String,
}
read_by_name!(LogRow {
    peer_id,
    format,
    msg,
    created_ms,
    log
});

impl From<LogRow> for StoredLog {
    fn from(row: LogRow) -> StoredLog {
        // Stored from a parsed message; text that no longer parses is shown as text.
        let mut log = serde_json::from_str(&row.log).unwrap_or(Value::String(row.log));
        // A Substrate message's `msg` was stored in its column only (one stored before kept it).
        if let Value::Object(fields) = &mut log
            && row.format == StreamFormat::Substrate.name()
            && !row.msg.is_empty()
        {
            fields
                .entry("msg")
                .or_insert_with(|| Value::String(row.msg.clone()));
        }
        StoredLog {
            peer_id: row.peer_id,
            msg: row.msg,
            created_ms: row.created_ms,
            log,
        }
    }
}

impl From<LogRow> for NetworkState {
    fn from(row: LogRow) -> NetworkState {
        NetworkState {
            peer_id: row.peer_id,
            created_ms: row.created_ms,
            log: row.log,
        }
    }
}

/// A message read from an hour's file (SQLite), which knows its node by id only.
pub(super) struct HourLogRow {
    node_id: i64,
    msg: String,
    created_ms: i64,
    log: String,
}
read_by_name!(HourLogRow {
    node_id,
    msg,
    created_ms,
    log
});

impl HourLogRow {
    pub(super) fn node_id(&self) -> i64 {
        self.node_id
    }

    pub(super) fn created_ms(&self) -> i64 {
        self.created_ms
    }

    /// The message of node `peer_id`, which streams in `format`.
    pub(super) fn of_node(self, peer_id: String, format: String) -> LogRow {
        LogRow {
            peer_id,
            format,
            msg: self.msg,
            created_ms: self.created_ms,
            log: self.log,
        }
    }
}

/// A node's minute sample, its state stored as JSON text.
pub(super) struct SampleRow {
    at_ms: i64,
    state: String,
}
read_by_name!(SampleRow { at_ms, state });

impl From<SampleRow> for StoredSample {
    fn from(row: SampleRow) -> StoredSample {
        StoredSample {
            at_ms: row.at_ms,
            // Written from a map; anything else (written by hand) charts as nothing.
            state: serde_json::from_str(&row.state).unwrap_or_default(),
        }
    }
}

/// One benchmark run, its specs stored as JSON text.
pub(super) struct BenchmarkRow {
    id: i64,
    host_system_id: i64,
    description: Option<String>,
    chain_spec: Option<String>,
    benchmark_spec: Option<String>,
    ts_start: String,
    ts_end: String,
}
read_by_name!(BenchmarkRow {
    id,
    host_system_id,
    description,
    chain_spec,
    benchmark_spec,
    ts_start,
    ts_end
});

impl From<BenchmarkRow> for Benchmark {
    fn from(row: BenchmarkRow) -> Benchmark {
        // Written from JSON values; text that no longer parses reads as none.
        let spec = |text: Option<String>| text.and_then(|text| serde_json::from_str(&text).ok());
        Benchmark {
            id: row.id,
            host_system_id: row.host_system_id,
            description: row.description,
            chain_spec: spec(row.chain_spec),
            benchmark_spec: spec(row.benchmark_spec),
            ts_start: row.ts_start,
            ts_end: row.ts_end,
        }
    }
}

read_by_name!(HostSystem {
    id,
    description,
    os,
    cpu_qty,
    cpu_clock,
    ram_mb,
    disk_info
});

/// `/stats/db`'s count is `qty` in every query that reads it, as substrate-analytics names it.
impl<'r> FromRow<'r, AnyRow> for TableStats {
    fn from_row(row: &'r AnyRow) -> Result<Self, sqlx::Error> {
        Ok(TableStats {
            table_name: row.try_get("table_name")?,
            rows: row.try_get("qty")?,
        })
    }
}
