//! What the telemetry streams keep: the nodes, every message they sent, and substrate-analytics'
//! benchmark bookkeeping. A trait of its own, beside `Store`, implemented by the same `SqlStore`.

use std::future::Future;

use serde_json::{Map, Value};

use super::StoreError;
use crate::wire::telemetry::decode::Identity;

/// Which stream a node speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFormat {
    Substrate,
    Starknet,
}

impl StreamFormat {
    pub fn name(self) -> &'static str {
        match self {
            StreamFormat::Substrate => "substrate",
            StreamFormat::Starknet => "starknet",
        }
    }
}

/// The chain a node belongs to, as the network view groups nodes: a Substrate chain by its genesis
/// hash; Starknet, which has none, by the network the node names (`starknet:mainnet`).
pub fn chain_key(identity: &Identity) -> String {
    if identity.genesis_hash.is_empty() {
        format!("starknet:{}", identity.chain.as_deref().unwrap_or_default())
    } else {
        identity.genesis_hash.clone()
    }
}

/// A node announcing itself on a connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Connect {
    pub identity: Identity,
    pub format: StreamFormat,
    pub ip: String,
    /// Came in on `/audit`: its messages are never purged.
    pub audit: bool,
    pub at_ms: i64,
}

/// A node in a batch: one the database knows, or one whose `Connect` is in the same batch (its
/// index there), whose id the write learns first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeRef {
    Known(i64),
    Connecting(usize),
}

/// One message to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRow {
    pub node: NodeRef,
    pub created_ms: i64,
    pub msg: String,
    pub target: Option<String>,
    pub audit: bool,
    /// The message as JSON text.
    pub log: String,
}

/// A node reporting a new best block. The block (its chain, height and hash) was first seen at
/// the earliest any node reported it (across instances: the store keeps the minimum); the node's
/// own delay behind that is read back from the two.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockRow {
    pub node: NodeRef,
    pub chain: std::sync::Arc<str>,
    pub height: i64,
    pub hash: String,
    pub at_ms: i64,
    /// False for the first best a node reports on a connection: it may have imported that block
    /// long before, so it counts towards the block's first sight, never as the node's delay.
    pub import: bool,
}

/// A node's latest contact and, when it changed, its merged state (JSON text).
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub node: NodeRef,
    pub at_ms: i64,
    pub state: Option<String>,
    /// The state's figures, when this is the node's first contact in its minute (of the server's
    /// clock): the minute's sample, which the charts read and which is kept for the whole
    /// retention, while the messages themselves go after the raw window.
    pub sample: Option<String>,
}

/// The minute a sample taken at `at_ms` stands for (Unix ms of its start).
pub fn sample_minute(at_ms: i64) -> i64 {
    at_ms - at_ms.rem_euclid(60_000)
}

/// A node's state as its minute's sample recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSample {
    pub at_ms: i64,
    pub state: Map<String, Value>,
}

/// A node as `/nodes` and `/api/nodes` answer it.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamNode {
    pub format: StreamFormat,
    pub identity: Identity,
    pub ip: Option<String>,
    pub audit: bool,
    pub connected_ms: i64,
    pub last_seen_ms: i64,
    pub disconnected_ms: Option<i64>,
    pub state: Map<String, Value>,
}

/// A node as the alerts watch it: whom to name, and when it was last heard from. Read without
/// the node's state, which at 10,000 nodes made each look 100 MB of parsed JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeContact {
    pub peer_id: String,
    pub name: Option<String>,
    pub last_seen_ms: i64,
}

/// Which messages `/nodes/logs` wants: the newest `limit` in the window, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct LogQuery {
    pub peer_id: String,
    pub msg: Option<String>,
    pub target: Option<String>,
    pub since_ms: i64,
    pub until_ms: i64,
    pub limit: u32,
}

/// A node's newest `system.network_state`, its JSON as stored: the reputation routes read every
/// node's, each thousands of bytes and many times that parsed, so each is parsed in turn.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkState {
    pub peer_id: String,
    pub created_ms: i64,
    pub log: String,
}

/// One kept message, as `/nodes/logs` answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredLog {
    pub peer_id: String,
    pub msg: String,
    pub created_ms: i64,
    pub log: Value,
}

/// A machine benchmarks run on (substrate-analytics' `host_systems`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSystem {
    #[serde(default, skip_deserializing)]
    pub id: i64,
    pub description: String,
    pub os: String,
    pub cpu_qty: i64,
    pub cpu_clock: i64,
    pub ram_mb: i64,
    pub disk_info: String,
}

/// A benchmark run (substrate-analytics' `benchmarks`); times in its `2019-01-01T00:00:00` form.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Benchmark {
    #[serde(default, skip_deserializing)]
    pub id: i64,
    pub host_system_id: i64,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub chain_spec: Option<Value>,
    #[serde(default)]
    pub benchmark_spec: Option<Value>,
    pub ts_start: String,
    pub ts_end: String,
}

/// A table and how much it holds, for `/stats/db`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableStats {
    pub table_name: String,
    pub rows: i64,
}

/// The writes the stream ingest makes and the reads its queries make. Writes are committed
/// before they return.
pub trait StreamStore: Send + Sync + 'static {
    /// Stores one batch in one transaction: the nodes that connected (their ids returned, in
    /// order), the messages, when each node was last seen, and the nodes that went away.
    fn write_streams(
        &self,
        batch: &StreamBatch,
    ) -> impl Future<Output = Result<Vec<i64>, StoreError>> + Send;

    /// Every node, in the order they first connected.
    fn stream_nodes(&self) -> impl Future<Output = Result<Vec<StreamNode>, StoreError>> + Send;
    /// The node with `peer_id` (the first to connect, should it be on more than one chain), if
    /// one connected.
    fn stream_node(
        &self,
        peer_id: &str,
    ) -> impl Future<Output = Result<Option<StreamNode>, StoreError>> + Send;
    fn node_contacts(&self) -> impl Future<Output = Result<Vec<NodeContact>, StoreError>> + Send;
    fn stream_logs(
        &self,
        query: &LogQuery,
    ) -> impl Future<Output = Result<Vec<StoredLog>, StoreError>> + Send;
    /// The minute samples of the nodes with `peer_id` taken in `[since_ms, until_ms)`, thinned
    /// to each node's newest of each `bucket_ms` (a whole number of minutes), oldest first: a
    /// chart's points.
    fn stream_series(
        &self,
        peer_id: &str,
        since_ms: i64,
        until_ms: i64,
        bucket_ms: i64,
    ) -> impl Future<Output = Result<Vec<StoredSample>, StoreError>> + Send;
    /// How many messages of each kind are kept, of one node or of all.
    fn log_stats(
        &self,
        peer_id: Option<&str>,
    ) -> impl Future<Output = Result<Vec<(String, i64)>, StoreError>> + Send;
    /// The newest `system.network_state` message of each node, received at or after `since_ms`.
    fn network_states(
        &self,
        since_ms: i64,
    ) -> impl Future<Output = Result<Vec<NetworkState>, StoreError>> + Send;
    /// Deletes up to `batch` messages not from `/audit` received before `before_ms`.
    fn purge_logs(
        &self,
        before_ms: i64,
        batch: u32,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// PostgreSQL keeps the messages and the samples in one partition per day: makes those of
    /// today and the next days that are missing. SQLite keeps the messages in a file an hour,
    /// indexed by second while it is written: indexes the past hours' files by node.
    fn make_days(&self, now_ms: i64) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Drops the days of messages wholly before `logs_before_ms` and of samples wholly before
    /// `samples_before_ms` (PostgreSQL's partitions); returns the partitions dropped. What the
    /// purges then delete row by row is only what no day's partition holds.
    fn drop_days(
        &self,
        logs_before_ms: i64,
        samples_before_ms: i64,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// Deletes up to `batch` minute samples taken before `before_ms`.
    fn purge_samples(
        &self,
        before_ms: i64,
        batch: u32,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Deletes up to `batch` blocks first seen before `before_ms` (the propagation history), with
    /// every node's report of them.
    fn purge_blocks(
        &self,
        before_ms: i64,
        batch: u32,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Marks the nodes still connected but heard from last before `before_ms` as disconnected
    /// then (their connection died with a killed instance); returns how many.
    fn disconnect_stale(
        &self,
        before_ms: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    fn table_stats(&self) -> impl Future<Output = Result<Vec<TableStats>, StoreError>> + Send;

    /// The chains whose nodes' writes other instances sharing the database commit, as they
    /// commit them (`write_streams` announces its own there too): `None` when no other instance
    /// can share it (SQLite), and the caller hears only its own writes.
    fn chain_changes(
        &self,
    ) -> impl Future<Output = Result<Option<ChainChanges>, StoreError>> + Send;

    fn host_systems(&self) -> impl Future<Output = Result<Vec<HostSystem>, StoreError>> + Send;
    fn add_host_system(
        &self,
        host: &HostSystem,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;
    fn benchmarks(&self) -> impl Future<Output = Result<Vec<Benchmark>, StoreError>> + Send;
    /// `Conflict` when its host system does not exist.
    fn add_benchmark(
        &self,
        benchmark: &Benchmark,
        now_ms: i64,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;
}

/// PostgreSQL's `LISTEN` on the channel `write_streams` notifies: each chain a committed write
/// touched. A lost connection is made again (what was announced meanwhile is missed).
pub struct ChainChanges(sqlx::postgres::PgListener);

/// The channel instances announce changed chains on.
pub(super) const CHAIN_CHANNEL: &str = "nodepulse_chains";

impl ChainChanges {
    pub(super) async fn listen(url: &str) -> Result<ChainChanges, StoreError> {
        let mut listener = sqlx::postgres::PgListener::connect(url).await?;
        listener.listen(CHAIN_CHANNEL).await?;
        Ok(ChainChanges(listener))
    }

    /// The next chain announced.
    pub async fn next(&mut self) -> Result<String, StoreError> {
        Ok(self.0.recv().await?.payload().to_owned())
    }
}

/// What one stream write holds, applied in this order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamBatch {
    pub connects: Vec<Connect>,
    pub logs: Vec<LogRow>,
    pub blocks: Vec<BlockRow>,
    pub seen: Vec<Seen>,
    pub disconnects: Vec<Gone>,
}

/// A node whose connection went away at `at_ms`. It is marked gone only if nothing newer than
/// `heard_ms`, the newest message on that connection, was written for it since: a node that
/// connected again (on another connection, or to another instance) before the server let the
/// old connection go is still connected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gone {
    pub node: NodeRef,
    pub at_ms: i64,
    pub heard_ms: i64,
}

impl StreamBatch {
    /// The chains whose pages the batch changes: those a node connected to or reported a block
    /// of, each once.
    pub fn chains(&self) -> Vec<String> {
        let mut chains: Vec<String> = self
            .connects
            .iter()
            .map(|connect| chain_key(&connect.identity))
            .chain(self.blocks.iter().map(|block| block.chain.to_string()))
            .collect();
        chains.sort_unstable();
        chains.dedup();
        chains
    }
}
