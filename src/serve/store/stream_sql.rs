//! The stream tables over SQL, one text for both databases as in `sql.rs`. Messages go in as
//! multi-row INSERTs and last-seen times as one UPDATE ... FROM (VALUES ...) per batch: at
//! thousands of messages a second, statements per row would be the cost.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::RangeInclusive;
use std::sync::OnceLock;

use serde_json::Value;
use sqlx::{Any, AnyConnection, AnyPool, Transaction};

use super::StoreError;
use super::postgres::{self, DAILY_LOGS, DAILY_SAMPLES, DAY_MS};
use super::rows::{BenchmarkRow, HourLogRow, LogRow, NodeRow, SampleRow, read, read_all};
use super::sql::SqlStore;
use super::sqlite::{self, HOUR_MS, HourFiles, Layout, hour_of};
use super::streams::LogRow as Message;
use super::streams::{
    Benchmark, CHAIN_CHANNEL, ChainChanges, HostSystem, LogQuery, NetworkState, NodeContact,
    NodeRef, Seen, StoredLog, StoredSample, StreamBatch, StreamNode, StreamStore, TableStats,
    chain_key, sample_minute,
};

/// How a database is handed a multi-row statement's parameters, and how many rows a statement
/// takes. Fewer statements cost less (each is a round trip to SQLite's thread or PostgreSQL),
/// but SQLite looks a named parameter (`$n`) up by walking the statement's list of names, so
/// binding them costs the square of their number: 256 rows (1,536 `$n`) spent a fifth of the
/// server's CPU there. An anonymous `?`, which PostgreSQL does not know, is bound by its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Parameters {
    /// PostgreSQL's `$1, $2, ...`.
    Numbered,
    /// SQLite's `?`.
    Anonymous,
}

impl Parameters {
    pub(super) fn of(connection: &AnyConnection) -> Parameters {
        if connection.backend_name() == "SQLite" {
            Parameters::Anonymous
        } else {
            Parameters::Numbered
        }
    }

    /// PostgreSQL's stay at the 16 they were measured with.
    pub(super) fn rows_per_statement(self) -> usize {
        match self {
            Parameters::Numbered => 16,
            Parameters::Anonymous => 256,
        }
    }

    /// The rows of `items`, a statement's each: full statements, then the rest in statements of
    /// 16 rows and a last shorter one. A connection keeps each statement text it ran prepared:
    /// with a statement for every length up to 256, `serve` held 83 and 91 MB of RSS at 10,000
    /// frames/s, against 65 to 76 MB with 16-row statements.
    pub(super) fn chunks<T>(self, items: &[T]) -> impl Iterator<Item = &[T]> {
        let (whole, rest) = items.split_at(items.len() - items.len() % self.rows_per_statement());
        whole
            .chunks(self.rows_per_statement())
            .chain(rest.chunks(Parameters::Numbered.rows_per_statement()))
    }

    /// `($1, $2, ...), ($k, ...)` or `(?, ?, ...), (?, ...)`: `rows` tuples of `columns`.
    pub(super) fn placeholders(self, rows: usize, columns: usize) -> String {
        let tuples: Vec<String> = (0..rows)
            .map(|row| {
                let parameters: Vec<String> = (1..=columns)
                    .map(|column| match self {
                        Parameters::Numbered => format!("${}", row * columns + column),
                        Parameters::Anonymous => "?".to_owned(),
                    })
                    .collect();
                format!("({})", parameters.join(", "))
            })
            .collect();
        tuples.join(", ")
    }
}

fn insert_logs_sql(parameters: Parameters, rows: usize) -> String {
    format!(
        "INSERT INTO stream_logs (node_id, created_ms, msg, target, audit, log) VALUES {}",
        parameters.placeholders(rows, 6)
    )
}

/// A kind's count, added to or taken from (`Tally`).
fn count_logs_sql(parameters: Parameters, rows: usize) -> String {
    format!(
        "INSERT INTO stream_log_counts (day, audit, msg, counter, qty) VALUES {} \
         ON CONFLICT (day, audit, msg, counter) \
         DO UPDATE SET qty = stream_log_counts.qty + excluded.qty",
        parameters.placeholders(rows, 5)
    )
}

/// A contact newer than the node's disconnection undoes it: the node was marked gone for want
/// of contact (`disconnect_stale`, say after a database outage held its contacts back), yet it
/// is heard.
fn update_seen_sql(parameters: Parameters, rows: usize) -> String {
    format!(
        "UPDATE stream_nodes SET last_seen_ms = v.column2, \
         state = COALESCE(v.column3, stream_nodes.state), \
         disconnected_ms = CASE WHEN v.column2 > stream_nodes.disconnected_ms THEN NULL \
         ELSE stream_nodes.disconnected_ms END \
         FROM (VALUES {}) AS v WHERE stream_nodes.id = v.column1 \
         AND v.column2 >= stream_nodes.last_seen_ms",
        parameters.placeholders(rows, 3)
    )
}

/// A node gone, unless it was heard after its going connection's last message (`Gone`).
fn update_gone_sql(parameters: Parameters, rows: usize) -> String {
    format!(
        "UPDATE stream_nodes SET disconnected_ms = v.column2 FROM (VALUES {}) AS v \
         WHERE stream_nodes.id = v.column1 AND stream_nodes.last_seen_ms <= v.column3",
        parameters.placeholders(rows, 3)
    )
}

/// A block's first sight is the earliest of all: a later sight, from this batch or another
/// instance's, leaves it be; its reports add up. Every row is updated, so every row is returned
/// with its id.
fn upsert_blocks_sql(parameters: Parameters, rows: usize) -> String {
    format!(
        "INSERT INTO stream_blocks (chain, height, hash, first_seen_ms, reports) VALUES {} \
         ON CONFLICT (chain, height, hash) DO UPDATE SET \
         first_seen_ms = CASE WHEN excluded.first_seen_ms < stream_blocks.first_seen_ms \
         THEN excluded.first_seen_ms ELSE stream_blocks.first_seen_ms END, \
         reports = stream_blocks.reports + excluded.reports \
         RETURNING id, chain, height, hash",
        parameters.placeholders(rows, 5)
    )
}

/// A node reports a block once per connection; a second report (a reconnect) keeps the first.
fn insert_imports_sql(parameters: Parameters, rows: usize) -> String {
    format!(
        "INSERT INTO stream_block_imports (block_id, node_id, imported_ms) VALUES {} \
         ON CONFLICT (block_id, node_id) DO NOTHING",
        parameters.placeholders(rows, 3)
    )
}

/// A multi-row statement, its full-size text built once for each database; a batch's last,
/// shorter chunk is built when needed.
struct MultiRow {
    build: fn(Parameters, usize) -> String,
    numbered: OnceLock<String>,
    anonymous: OnceLock<String>,
}

impl MultiRow {
    const fn new(build: fn(Parameters, usize) -> String) -> MultiRow {
        MultiRow {
            build,
            numbered: OnceLock::new(),
            anonymous: OnceLock::new(),
        }
    }

    fn text(&self, parameters: Parameters, rows: usize) -> Cow<'_, str> {
        if rows != parameters.rows_per_statement() {
            return Cow::Owned((self.build)(parameters, rows));
        }
        let full = match parameters {
            Parameters::Numbered => &self.numbered,
            Parameters::Anonymous => &self.anonymous,
        };
        Cow::Borrowed(full.get_or_init(|| (self.build)(parameters, rows)))
    }
}

static INSERT_LOGS: MultiRow = MultiRow::new(insert_logs_sql);
static COUNT_LOGS: MultiRow = MultiRow::new(count_logs_sql);
static UPDATE_SEEN: MultiRow = MultiRow::new(update_seen_sql);
static UPSERT_BLOCKS: MultiRow = MultiRow::new(upsert_blocks_sql);
static INSERT_IMPORTS: MultiRow = MultiRow::new(insert_imports_sql);
static INSERT_SAMPLES: MultiRow = MultiRow::new(insert_samples_sql);
static UPDATE_GONE: MultiRow = MultiRow::new(update_gone_sql);

const UPSERT_NODE: &str = "INSERT INTO stream_nodes (peer_id, genesis_hash, format, name, chain, \
     implementation, version, authority, startup_time_ms, ip, audit, connected_ms, last_seen_ms, \
     state, chain_key, machine) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, '{}', $13, $14) \
     ON CONFLICT (peer_id, genesis_hash) DO UPDATE SET format = excluded.format, \
     name = excluded.name, chain = excluded.chain, chain_key = excluded.chain_key, \
     machine = excluded.machine, \
     implementation = excluded.implementation, \
     version = excluded.version, authority = excluded.authority, \
     startup_time_ms = excluded.startup_time_ms, ip = excluded.ip, audit = excluded.audit, \
     connected_ms = excluded.connected_ms, last_seen_ms = excluded.connected_ms, \
     disconnected_ms = NULL RETURNING id";

pub(super) const NODE_COLUMNS: &str = "format, peer_id, genesis_hash, name, chain, implementation, version, \
     authority, startup_time_ms, ip, audit, connected_ms, last_seen_ms, disconnected_ms, state, \
     machine";

fn resolve(node: NodeRef, connected: &[i64]) -> Result<i64, StoreError> {
    match node {
        NodeRef::Known(id) => Ok(id),
        NodeRef::Connecting(index) => connected.get(index).copied().ok_or_else(|| {
            StoreError::Failed(format!("a message refers to connect {index} of the batch"))
        }),
    }
}

async fn write_logs(
    tx: &mut Transaction<'static, Any>,
    logs: &[&Message],
    connected: &[i64],
) -> Result<(), Unwritten> {
    let parameters = Parameters::of(tx);
    for chunk in parameters.chunks(logs) {
        let sql = INSERT_LOGS.text(parameters, chunk.len());
        let mut query = sqlx::query(&sql);
        for log in chunk {
            query = query
                .bind(resolve(log.node, connected)?)
                .bind(log.created_ms)
                .bind(log.msg.clone())
                .bind(log.target.clone())
                .bind(i64::from(log.audit))
                .bind(log.log.clone());
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// SQLite's one counter: one instance writes a file.
const ONE_COUNTER: i64 = 0;

/// Messages by day, whether from `/audit`, and kind, as `stream_log_counts` keeps them: what a
/// batch adds to a file's counts or a purge takes off them, in the transaction that writes or
/// deletes the messages.
#[derive(Default)]
struct Tally<'a>(BTreeMap<(i64, i64, &'a str), i64>);

impl<'a> Tally<'a> {
    /// The messages a batch writes.
    fn written(logs: &[&'a Message]) -> Tally<'a> {
        Tally::of(
            logs.iter()
                .map(|log| (log.created_ms, i64::from(log.audit), log.msg.as_str())),
            1,
        )
    }

    /// `each` for every row, given as (created_ms, audit, msg): -1 for rows deleted.
    fn of(rows: impl IntoIterator<Item = (i64, i64, &'a str)>, each: i64) -> Tally<'a> {
        let mut tally = Tally::default();
        for (created_ms, audit, msg) in rows {
            *tally
                .0
                .entry((created_ms.div_euclid(DAY_MS), audit, msg))
                .or_default() += each;
        }
        tally
    }

    /// Adds the tally to the counts of `counter` (`SqlStore::counter`): the rows this instance
    /// adds to, in the key's order. It is written last before the commit, which holds the rows.
    async fn write(
        &self,
        tx: &mut Transaction<'static, Any>,
        counter: i64,
    ) -> Result<(), sqlx::Error> {
        let parameters = Parameters::of(tx);
        let counts: Vec<_> = self.0.iter().collect();
        for chunk in parameters.chunks(&counts) {
            let sql = COUNT_LOGS.text(parameters, chunk.len());
            let mut query = sqlx::query(&sql);
            for ((day, audit, msg), qty) in chunk {
                query = query
                    .bind(*day)
                    .bind(*audit)
                    .bind((*msg).to_owned())
                    .bind(counter)
                    .bind(**qty);
            }
            query.execute(&mut **tx).await?;
        }
        Ok(())
    }
}

/// SQLite: writes the messages not from `/audit` into their hours' files, each in a transaction
/// left open for the caller to commit; returns the rest, for the main file.
async fn write_hour_logs<'b>(
    hours: &HourFiles,
    batch: &'b StreamBatch,
    connected: &[i64],
) -> Result<(Vec<Transaction<'static, Any>>, Vec<&'b Message>), Unwritten> {
    let mut by_hour: BTreeMap<i64, Vec<&Message>> = BTreeMap::new();
    let mut rest = Vec::new();
    for log in &batch.logs {
        if log.audit {
            rest.push(log);
        } else {
            by_hour
                .entry(hour_of(log.created_ms))
                .or_default()
                .push(log);
        }
    }
    let mut open = Vec::with_capacity(by_hour.len());
    for (hour, logs) in by_hour {
        let mut tx = hours.begin(hour).await?;
        write_logs(&mut tx, &logs, connected).await?;
        Tally::written(&logs).write(&mut tx, ONE_COUNTER).await?;
        open.push(tx);
    }
    Ok((open, rest))
}

/// A minute's first sample stays: one written again (a batch retried after it committed, or a
/// node reconnecting to another instance within the minute) changes nothing.
fn insert_samples_sql(parameters: Parameters, rows: usize) -> String {
    format!(
        "INSERT INTO stream_samples (node_id, minute_ms, at_ms, state) VALUES {} \
         ON CONFLICT (node_id, minute_ms) DO NOTHING",
        parameters.placeholders(rows, 4)
    )
}

/// A block as the batch's sightings name it: chain, height, hash.
type BlockKey<'a> = (&'a str, i64, &'a str);

/// The batch's block sightings: each block once, at its earliest sight, in key order (two
/// instances upserting the same blocks then take their row locks in one order and never
/// deadlock), then each node's report of it.
async fn write_blocks(
    tx: &mut Transaction<'static, Any>,
    batch: &StreamBatch,
    connected: &[i64],
) -> Result<(), StoreError> {
    if batch.blocks.is_empty() {
        return Ok(());
    }
    let parameters = Parameters::of(tx);
    // Per block: its earliest sight in the batch, and how many reports.
    let mut blocks: BTreeMap<BlockKey, (i64, i64)> = BTreeMap::new();
    for block in &batch.blocks {
        let (first_ms, reports) = blocks
            .entry((&block.chain, block.height, &block.hash))
            .or_insert((block.at_ms, 0));
        *first_ms = (*first_ms).min(block.at_ms);
        *reports += 1;
    }
    let blocks: Vec<_> = blocks.into_iter().collect();
    let mut ids: HashMap<(String, i64, String), i64> = HashMap::with_capacity(blocks.len());
    for chunk in parameters.chunks(&blocks) {
        let sql = UPSERT_BLOCKS.text(parameters, chunk.len());
        let mut query = sqlx::query_as::<_, (i64, String, i64, String)>(&sql);
        for ((chain, height, hash), (first_ms, reports)) in chunk {
            query = query
                .bind(chain.to_string())
                .bind(*height)
                .bind(hash.to_string())
                .bind(*first_ms)
                .bind(*reports);
        }
        for (id, chain, height, hash) in query.fetch_all(&mut **tx).await? {
            ids.insert((chain, height, hash), id);
        }
    }
    let mut imports = BTreeMap::new();
    for block in batch.blocks.iter().filter(|block| block.import) {
        let node = resolve(block.node, connected)?;
        let key = (block.chain.to_string(), block.height, block.hash.clone());
        let block_id = *ids.get(&key).ok_or_else(|| {
            StoreError::Failed(format!("block {} of {} was not returned", key.1, key.0))
        })?;
        imports.entry((block_id, node)).or_insert(block.at_ms);
    }
    let imports: Vec<_> = imports.into_iter().collect();
    for chunk in parameters.chunks(&imports) {
        let sql = INSERT_IMPORTS.text(parameters, chunk.len());
        let mut query = sqlx::query(&sql);
        for ((block_id, node), at_ms) in chunk {
            query = query.bind(*block_id).bind(*node).bind(*at_ms);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn write_seen(
    tx: &mut Transaction<'static, Any>,
    batch: &StreamBatch,
    connected: &[i64],
) -> Result<(), Unwritten> {
    let parameters = Parameters::of(tx);
    for chunk in parameters.chunks(&batch.seen) {
        let sql = UPDATE_SEEN.text(parameters, chunk.len());
        let mut query = sqlx::query(&sql);
        for seen in chunk {
            query = query
                .bind(resolve(seen.node, connected)?)
                .bind(seen.at_ms)
                .bind(seen.state.clone());
        }
        query.execute(&mut **tx).await?;
    }
    let samples: Vec<(&Seen, &String)> = batch
        .seen
        .iter()
        .filter_map(|seen| Some((seen, seen.sample.as_ref()?)))
        .collect();
    for chunk in parameters.chunks(&samples) {
        let sql = INSERT_SAMPLES.text(parameters, chunk.len());
        let mut query = sqlx::query(&sql);
        for (seen, state) in chunk {
            query = query
                .bind(resolve(seen.node, connected)?)
                .bind(sample_minute(seen.at_ms))
                .bind(seen.at_ms)
                .bind((*state).clone());
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// A table the purge deletes from by time.
struct Purged {
    table: &'static str,
    /// The columns that pick a row out, on SQLite.
    key: &'static str,
    /// What it is purged by (Unix ms).
    column: &'static str,
    /// Which rows may go, besides their time.
    only: &'static str,
    /// PostgreSQL's table of day partitions.
    daily: &'static str,
    /// Counted in `stream_log_counts`: a purge takes off what it deletes.
    counted: bool,
}

const LOGS_PURGED: Purged = Purged {
    table: "stream_logs",
    key: "id",
    column: "created_ms",
    only: "audit = 0",
    daily: DAILY_LOGS,
    counted: true,
};

const SAMPLES_PURGED: Purged = Purged {
    table: "stream_samples",
    key: "node_id, minute_ms",
    column: "minute_ms",
    only: "TRUE",
    daily: DAILY_SAMPLES,
    counted: false,
};

/// Deletes up to `batch` rows of `purged` from before `before_ms`: on SQLite from the table, on
/// PostgreSQL from the day's partition `drop_days` leaves them in, if any (`purged_row_by_row`).
async fn purge_before(
    store: &SqlStore,
    purged: &Purged,
    before_ms: i64,
    batch: u32,
) -> Result<u64, StoreError> {
    let Purged {
        table,
        key,
        column,
        only,
        daily,
        counted,
    } = purged;
    if store.shared_url().is_none() {
        let doomed = format!("SELECT {key} FROM {table} WHERE {only} AND {column} < $1 LIMIT $2");
        let deleted = if *counted {
            delete_counted(store.pool(), &doomed, before_ms, batch).await?
        } else {
            sqlx::query(&format!("DELETE FROM {table} WHERE ({key}) IN ({doomed})"))
                .bind(before_ms)
                .bind(i64::from(batch))
                .execute(store.pool())
                .await?
                .rows_affected()
        };
        return match store.hour_files() {
            Some(hours) if *table == LOGS_PURGED.table && deleted < u64::from(batch) => {
                let left = batch - u32::try_from(deleted).unwrap_or(batch);
                Ok(deleted + purge_hour_before(hours, before_ms, left).await?)
            }
            _ => Ok(deleted),
        };
    }
    let Some(partition) = postgres::purged_row_by_row(daily, before_ms, crate::serve::now_ms())
    else {
        return Ok(0);
    };
    // A day's partition not made yet holds nothing.
    let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
        .bind(partition.clone())
        .fetch_one(store.pool())
        .await?;
    if exists.is_none() {
        return Ok(0);
    }
    // Read on from where the purge's last batch ended, in page order (a TID range scan).
    let cursor = store.purge_cursor();
    let start = cursor.start(&partition, before_ms);
    let delete = format!(
        "DELETE FROM {partition} WHERE ctid = ANY(ARRAY( \
         SELECT ctid FROM {partition} WHERE ctid > $3::tid AND {column} < $1 LIMIT $2))"
    );
    let mut tx = store.pool().begin().await?;
    let (deleted, last) = if *counted {
        let gone: Vec<(i64, i64, String, Option<String>)> = sqlx::query_as(&format!(
            "WITH gone AS ({delete} RETURNING ctid, created_ms, audit, msg) \
             SELECT created_ms, audit::BIGINT, msg, (SELECT max(ctid) FROM gone)::text FROM gone"
        ))
        .bind(before_ms)
        .bind(i64::from(batch))
        .bind(start)
        .fetch_all(&mut *tx)
        .await?;
        let rows = gone.iter().map(|row| (row.0, row.1, row.2.as_str()));
        Tally::of(rows, -1).write(&mut tx, store.counter()).await?;
        let last = gone.first().and_then(|row| row.3.clone());
        (i64::try_from(gone.len()).unwrap_or(i64::MAX), last)
    } else {
        sqlx::query_as(&format!(
            "WITH gone AS ({delete} RETURNING ctid) SELECT count(*), max(ctid)::text FROM gone"
        ))
        .bind(before_ms)
        .bind(i64::from(batch))
        .bind(start)
        .fetch_one(&mut *tx)
        .await?
    };
    tx.commit().await?;
    cursor.reached(&partition, before_ms, last);
    Ok(u64::try_from(deleted).unwrap_or(0))
}

/// SQLite: deletes the messages whose ids `doomed` selects (given the time `$1` and the batch
/// `$2`) and takes them off the file's counts, in one transaction.
async fn delete_counted(
    pool: &AnyPool,
    doomed: &str,
    before_ms: i64,
    batch: u32,
) -> Result<u64, StoreError> {
    let mut tx = pool.begin().await?;
    let gone: Vec<(i64, i64, String)> = sqlx::query_as(&format!(
        "DELETE FROM stream_logs WHERE id IN ({doomed}) RETURNING created_ms, audit, msg"
    ))
    .bind(before_ms)
    .bind(i64::from(batch))
    .fetch_all(&mut *tx)
    .await?;
    let rows = gone.iter().map(|row| (row.0, row.1, row.2.as_str()));
    Tally::of(rows, -1).write(&mut tx, ONE_COUNTER).await?;
    tx.commit().await?;
    Ok(u64::try_from(gone.len()).unwrap_or(u64::MAX))
}

/// SQLite: deletes up to `batch` of the messages before `before_ms` from the file of the hour
/// holding it, for a raw window under an hour (a longer window's messages stay until their hour
/// goes whole: kept up to an hour longer). The file has no index on the time, but its rows are in
/// the order they came: a batch reads the first `batch` rows and deletes those past the window,
/// and a batch that finds one inside it ends the purge (the rows after it wait for the next).
async fn purge_hour_before(
    hours: &HourFiles,
    before_ms: i64,
    batch: u32,
) -> Result<u64, StoreError> {
    // A window of an hour or more leaves only whole hours behind it, which `drop_days` removes.
    if crate::serve::now_ms().saturating_sub(before_ms) >= HOUR_MS {
        return Ok(0);
    }
    let Some(pool) = hours.existing_writer(hour_of(before_ms)) else {
        return Ok(0);
    };
    delete_counted(
        &pool,
        "SELECT id FROM (SELECT id, created_ms FROM stream_logs ORDER BY id LIMIT $2) \
         WHERE created_ms < $1",
        before_ms,
        batch,
    )
    .await
}

/// Why a batch was not written: on PostgreSQL, a row whose day has no partition (made, then the
/// batch written again), or anything else.
enum Unwritten {
    MissingDay(sqlx::Error),
    Store(StoreError),
}

impl From<sqlx::Error> for Unwritten {
    fn from(err: sqlx::Error) -> Unwritten {
        if postgres::is_missing_day(&err) {
            Unwritten::MissingDay(err)
        } else {
            Unwritten::Store(err.into())
        }
    }
}

impl From<StoreError> for Unwritten {
    fn from(err: StoreError) -> Unwritten {
        Unwritten::Store(err)
    }
}

impl From<Unwritten> for StoreError {
    fn from(err: Unwritten) -> StoreError {
        match err {
            Unwritten::MissingDay(err) => err.into(),
            Unwritten::Store(err) => err,
        }
    }
}

/// The days (since 1970-01-01) of the batch's rows kept in a partition a day: its messages not
/// from `/audit`, and its minute samples.
fn days_of(batch: &StreamBatch) -> BTreeSet<i64> {
    let messages = batch
        .logs
        .iter()
        .filter(|log| !log.audit)
        .map(|log| log.created_ms);
    let samples = batch
        .seen
        .iter()
        .filter(|seen| seen.sample.is_some())
        .map(|seen| sample_minute(seen.at_ms));
    messages
        .chain(samples)
        .map(|at_ms| at_ms.div_euclid(DAY_MS))
        .collect()
}

/// Writes the batch in one transaction; returns the ids of its connecting nodes.
async fn write_batch(store: &SqlStore, batch: &StreamBatch) -> Result<Vec<i64>, Unwritten> {
    let mut tx = store.pool().begin().await?;
    let parameters = Parameters::of(&tx);
    let mut connected = Vec::with_capacity(batch.connects.len());
    for connect in &batch.connects {
        let identity = &connect.identity;
        let id: i64 = sqlx::query_scalar(UPSERT_NODE)
            .bind(identity.peer_id.clone())
            .bind(identity.genesis_hash.clone())
            .bind(connect.format.name())
            .bind(identity.name.clone())
            .bind(identity.chain.clone())
            .bind(identity.implementation.clone())
            .bind(identity.version.clone())
            .bind(identity.authority.map(i64::from))
            .bind(identity.startup_time)
            .bind(connect.ip.clone())
            .bind(i64::from(connect.audit))
            .bind(connect.at_ms)
            .bind(chain_key(identity))
            .bind(Value::Object(identity.machine.clone()).to_string())
            .fetch_one(&mut *tx)
            .await?;
        connected.push(id);
    }
    let (hour_txs, main_logs) = match store.hour_files() {
        Some(hours) => write_hour_logs(hours, batch, &connected).await?,
        None => (Vec::new(), batch.logs.iter().collect()),
    };
    write_logs(&mut tx, &main_logs, &connected).await?;
    write_blocks(&mut tx, batch, &connected).await?;
    write_seen(&mut tx, batch, &connected).await?;
    // Delivered to every instance's listener once the write commits, and only then.
    if store.shared_url().is_some() {
        for chain in batch.chains() {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHAIN_CHANNEL)
                .bind(chain)
                .execute(&mut *tx)
                .await?;
        }
    }
    // A server stopping under a whole network marks every node gone at once.
    for chunk in parameters.chunks(&batch.disconnects) {
        let sql = UPDATE_GONE.text(parameters, chunk.len());
        let mut query = sqlx::query(&sql);
        for gone in chunk {
            query = query
                .bind(resolve(gone.node, &connected)?)
                .bind(gone.at_ms)
                .bind(gone.heard_ms);
        }
        query.execute(&mut *tx).await?;
    }
    Tally::written(&main_logs)
        .write(&mut tx, store.counter())
        .await?;
    // The messages' hours first: a failure before any commit leaves nothing of the batch, so it
    // can be written again whole. (A commit failing after another, the main file's or a second
    // hour's when a batch spans an hour's turn, stores the committed hours' messages twice when
    // the batch is written again; a stop between them only loses the nodes' latest contact.)
    for hour_tx in hour_txs {
        hour_tx.commit().await?;
    }
    tx.commit().await?;
    Ok(connected)
}

/// The nodes (id, then peer id and format) named `peer_id`, or all of them: messages are read by
/// their node's id (the hours' files know no other).
async fn nodes_named(
    store: &SqlStore,
    peer_id: Option<&str>,
) -> Result<BTreeMap<i64, (String, String)>, StoreError> {
    // One node's look-up goes by the key's index (the form `$1 IS NULL OR peer_id = $1` read the
    // whole table, 10,000 nodes' states, for every `/nodes/logs`).
    let nodes = match peer_id {
        Some(peer_id) => {
            sqlx::query_as("SELECT id, peer_id, format FROM stream_nodes WHERE peer_id = $1")
                .bind(peer_id.to_owned())
        }
        None => sqlx::query_as("SELECT id, peer_id, format FROM stream_nodes"),
    };
    let rows: Vec<(i64, String, String)> = nodes.fetch_all(store.pool()).await?;
    Ok(rows
        .into_iter()
        .map(|(id, peer_id, format)| (id, (peer_id, format)))
        .collect())
}

/// Where messages stamped in `[since_ms, until_ms]` may be, newest first: on SQLite the hours'
/// files (with their hour's start), then the main file (messages from `/audit`, and those stored
/// before the hours' files); on PostgreSQL the database.
fn message_sources(
    store: &SqlStore,
    hours: Option<&HourFiles>,
    since_ms: i64,
    until_ms: i64,
) -> Vec<(Option<i64>, AnyPool)> {
    let mut sources: Vec<_> = hours
        .map(|hours| hours.between(since_ms, until_ms))
        .unwrap_or_default()
        .into_iter()
        .map(|(hour, pool)| (Some(hour), pool))
        .collect();
    sources.push((None, store.pool().clone()));
    sources
}

/// A file's read of the messages stamped in `[since_ms, until_ms]`: a transaction on it, and the
/// seconds to walk if it is the hour being written (indexed by second); none for an hour's file
/// without messages. Each file is read in turn, so that a read holds one connection at a time.
async fn begin_source(
    hour: Option<i64>,
    pool: &AnyPool,
    since_ms: i64,
    until_ms: i64,
) -> Result<Option<(Transaction<'static, Any>, Option<RangeInclusive<i64>>)>, StoreError> {
    let Some(hour) = hour else {
        return Ok(Some((pool.begin().await?, None)));
    };
    let (tx, layout) = sqlite::begin_read(pool).await?;
    Ok(match layout {
        Layout::Empty => None,
        Layout::ByNode => Some((tx, None)),
        // From the window's start in the hour to its newest message (not the hour's end, so that
        // the newest minute walked first is one that has messages).
        Layout::BySecond { newest_second } => {
            let first = since_ms.max(hour).div_euclid(1000);
            let last = until_ms.div_euclid(1000).min(newest_second);
            Some((tx, Some(first..=last)))
        }
    })
}

/// A query of a file indexed by second, walking its seconds `$2` down to `$1` as `l` (a look-up
/// a second, for one node or a few): `SELECT {columns}` where `{filter}`.
fn by_second(columns: &str, filter: &str) -> String {
    format!(
        "WITH RECURSIVE second(at) AS (SELECT $2 UNION ALL SELECT at - 1 FROM second \
         WHERE at > $1) SELECT {columns} FROM second CROSS JOIN stream_logs l \
         WHERE l.created_ms / 1000 = second.at AND {filter}"
    )
}

/// A node's newest messages in a file matching `query`: by its node index, or second by second,
/// the newest minute first (most reads want only the newest, and find them there).
async fn newest_of_node(
    tx: &mut Transaction<'static, Any>,
    seconds: Option<RangeInclusive<i64>>,
    node_id: i64,
    query: &LogQuery,
) -> Result<Vec<HourLogRow>, StoreError> {
    let Some(seconds) = seconds else {
        let rows = read(
            "SELECT node_id, msg, created_ms, log FROM stream_logs WHERE node_id = $1 \
             AND ($2 IS NULL OR msg = $2) AND ($3 IS NULL OR target = $3) \
             AND created_ms >= $4 AND created_ms <= $5 \
             ORDER BY created_ms DESC, id DESC LIMIT $6",
        )
        .bind(node_id)
        .bind(query.msg.clone())
        .bind(query.target.clone())
        .bind(query.since_ms)
        .bind(query.until_ms)
        .bind(i64::from(query.limit))
        .fetch_all(&mut **tx)
        .await?;
        return read_all::<HourLogRow, HourLogRow>(&rows);
    };
    let sql = by_second(
        "l.node_id, l.msg, l.created_ms, l.log",
        "l.node_id = $3 AND ($4 IS NULL OR l.msg = $4) AND ($5 IS NULL OR l.target = $5) \
         AND l.created_ms >= $6 AND l.created_ms <= $7 \
         ORDER BY l.created_ms DESC, l.id DESC LIMIT $8",
    );
    let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
    let (first, last) = seconds.into_inner();
    let minute = last.saturating_sub(59).max(first);
    let mut rows = Vec::new();
    for (from, to) in [(minute, last), (first, minute - 1)] {
        if from > to || rows.len() >= limit {
            continue;
        }
        let found = read(&sql)
            .bind(from)
            .bind(to)
            .bind(node_id)
            .bind(query.msg.clone())
            .bind(query.target.clone())
            .bind(query.since_ms)
            .bind(query.until_ms)
            .bind(i64::try_from(limit - rows.len()).unwrap_or(i64::MAX))
            .fetch_all(&mut **tx)
            .await?;
        rows.extend(read_all::<HourLogRow, HourLogRow>(&found)?);
    }
    Ok(rows)
}

/// `/nodes/logs`: each node named `peer_id` looked up first, then its newest messages from each
/// source, merged. By the node's id its index gives the newest first and stops at the limit;
/// joined to `stream_nodes` by peer id, PostgreSQL read every message of the node in the window
/// and sorted them (a day at one a second: 86,400 rows for `limit=1`).
async fn newest_logs(
    store: &SqlStore,
    hours: Option<&HourFiles>,
    query: &LogQuery,
) -> Result<Vec<StoredLog>, StoreError> {
    let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
    let nodes = nodes_named(store, Some(&query.peer_id)).await?;
    if nodes.is_empty() {
        return Ok(Vec::new());
    }
    let (since_ms, until_ms) = (query.since_ms, query.until_ms);
    let mut found: Vec<StoredLog> = Vec::new();
    for (hour, pool) in message_sources(store, hours, since_ms, until_ms) {
        // An hour's messages are all older than a newer hour's: once those give the limit, the
        // older hours' files are not opened (reading each kept every hour of the raw window
        // open, with its cache). The main file is read still: `/audit`'s messages have any time.
        if hour.is_some() && found.len() >= limit {
            continue;
        }
        let Some((mut tx, seconds)) = begin_source(hour, &pool, since_ms, until_ms).await? else {
            continue;
        };
        for (&node_id, (peer_id, format)) in &nodes {
            for row in newest_of_node(&mut tx, seconds.clone(), node_id, query).await? {
                found.push(row.of_node(peer_id.clone(), format.clone()).into());
            }
        }
    }
    // Newest first across the sources (the order within one kept for equal times).
    found.sort_by_key(|log| std::cmp::Reverse(log.created_ms));
    found.truncate(limit);
    Ok(found)
}

/// `/nodes/log_stats` of every node: the counts each file keeps of its messages (the main file
/// or database, and each hour's file), added up by kind. An hour's file whose counts began after
/// an earlier build's messages is counted whole until the purge has counted it.
async fn kept_counts(store: &SqlStore) -> Result<BTreeMap<String, i64>, StoreError> {
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    for (hour, pool) in message_sources(store, store.hour_files(), i64::MIN, i64::MAX) {
        let since_ms = hour.unwrap_or(i64::MIN);
        let Some((mut tx, _)) = begin_source(hour, &pool, since_ms, i64::MAX).await? else {
            continue;
        };
        let counted = hour.is_none() || sqlite::counted_whole(&mut tx).await?;
        let counts = if counted {
            "SELECT msg, CAST(SUM(qty) AS BIGINT) AS qty FROM stream_log_counts GROUP BY msg"
        } else {
            "SELECT msg, COUNT(*) AS qty FROM stream_logs GROUP BY msg"
        };
        let rows = read(counts).fetch_all(&mut *tx).await?;
        for (msg, qty) in read_all::<(String, i64), (String, i64)>(&rows)? {
            *totals.entry(msg).or_default() += qty;
        }
    }
    // A kind whose messages were all purged row by row is left at 0.
    totals.retain(|_, qty| *qty != 0);
    Ok(totals)
}

/// `/nodes/log_stats` of one node: its messages counted in each file by its index (a node's raw
/// window, not every node's).
async fn node_log_stats(
    store: &SqlStore,
    peer_id: &str,
) -> Result<BTreeMap<String, i64>, StoreError> {
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    let ids: Vec<String> = nodes_named(store, Some(peer_id))
        .await?
        .keys()
        .map(i64::to_string)
        .collect();
    if ids.is_empty() {
        return Ok(totals);
    }
    let ids = ids.join(", ");
    for (hour, pool) in message_sources(store, store.hour_files(), i64::MIN, i64::MAX) {
        let since_ms = hour.unwrap_or(i64::MIN);
        let Some((mut tx, seconds)) = begin_source(hour, &pool, since_ms, i64::MAX).await? else {
            continue;
        };
        let rows = match seconds {
            None => {
                read(&format!(
                    "SELECT msg, COUNT(*) AS qty FROM stream_logs WHERE node_id IN ({ids}) \
                     GROUP BY msg"
                ))
                .fetch_all(&mut *tx)
                .await?
            }
            Some(seconds) => {
                let (first, last) = seconds.into_inner();
                read(&by_second(
                    "l.msg AS msg, COUNT(*) AS qty",
                    &format!("l.node_id IN ({ids}) GROUP BY l.msg"),
                ))
                .bind(first)
                .bind(last)
                .fetch_all(&mut *tx)
                .await?
            }
        };
        for (msg, qty) in read_all::<(String, i64), (String, i64)>(&rows)? {
            *totals.entry(msg).or_default() += qty;
        }
    }
    Ok(totals)
}

/// SQLite's network states: each node's newest `system.network_state` over every file, if
/// stamped at `since_ms` or later, by peer id (each file's by its index of those messages).
async fn sqlite_network_states(
    store: &SqlStore,
    since_ms: i64,
) -> Result<Vec<NetworkState>, StoreError> {
    let mut newest: BTreeMap<i64, HourLogRow> = BTreeMap::new();
    for (hour, pool) in message_sources(store, store.hour_files(), since_ms, i64::MAX) {
        let Some((mut tx, _)) = begin_source(hour, &pool, since_ms, i64::MAX).await? else {
            continue;
        };
        let rows = read(
            "SELECT node_id, msg, created_ms, log FROM stream_logs WHERE id IN \
             (SELECT MAX(id) FROM stream_logs WHERE msg = 'system.network_state' \
             AND created_ms >= $1 GROUP BY node_id)",
        )
        .bind(since_ms)
        .fetch_all(&mut *tx)
        .await?;
        for row in read_all::<HourLogRow, HourLogRow>(&rows)? {
            match newest.get(&row.node_id()) {
                Some(kept) if kept.created_ms() >= row.created_ms() => {}
                _ => {
                    newest.insert(row.node_id(), row);
                }
            }
        }
    }
    let nodes = nodes_named(store, None).await?;
    let mut states: Vec<NetworkState> = newest
        .into_iter()
        .filter_map(|(node_id, row)| {
            let (peer_id, format) = nodes.get(&node_id)?.clone();
            Some(row.of_node(peer_id, format).into())
        })
        .collect();
    states.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
    Ok(states)
}

impl StreamStore for SqlStore {
    async fn write_streams(&self, batch: &StreamBatch) -> Result<Vec<i64>, StoreError> {
        match write_batch(self, batch).await {
            // Days are made ahead; one could not be (a clock that jumped, a failing purge).
            Err(Unwritten::MissingDay(err)) => {
                tracing::warn!(
                    "a day had no partition ({err}): making the days, then writing again"
                );
                postgres::make_days(self.pool(), crate::serve::now_ms()).await?;
                // And the days of the batch's own rows, if before today (a clock set back, or a
                // batch stamped before midnight written after it into a new database).
                postgres::make_days_of(self.pool(), days_of(batch)).await?;
                Ok(write_batch(self, batch).await?)
            }
            written => Ok(written?),
        }
    }

    async fn stream_nodes(&self) -> Result<Vec<StreamNode>, StoreError> {
        let rows = read(&format!(
            "SELECT {NODE_COLUMNS} FROM stream_nodes ORDER BY id"
        ))
        .fetch_all(self.pool())
        .await?;
        read_all::<NodeRow, StreamNode>(&rows)
    }

    async fn stream_node(&self, peer_id: &str) -> Result<Option<StreamNode>, StoreError> {
        let rows = read(&format!(
            "SELECT {NODE_COLUMNS} FROM stream_nodes WHERE peer_id = $1 ORDER BY id LIMIT 1"
        ))
        .bind(peer_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        Ok(read_all::<NodeRow, StreamNode>(&rows)?.pop())
    }

    async fn node_contacts(&self) -> Result<Vec<NodeContact>, StoreError> {
        let rows = read("SELECT peer_id, name, last_seen_ms FROM stream_nodes ORDER BY id")
            .fetch_all(self.pool())
            .await?;
        read_all::<NodeContact, NodeContact>(&rows)
    }

    async fn stream_logs(&self, query: &LogQuery) -> Result<Vec<StoredLog>, StoreError> {
        newest_logs(self, self.hour_files(), query).await
    }

    async fn stream_series(
        &self,
        peer_id: &str,
        since_ms: i64,
        until_ms: i64,
        bucket_ms: i64,
    ) -> Result<Vec<StoredSample>, StoreError> {
        // The minutes' bounds let the key (node, minute) find the window; the times themselves
        // then bound it exactly.
        let rows = read(
            "SELECT s.at_ms, s.state FROM stream_samples s JOIN \
             (SELECT x.node_id, MAX(x.minute_ms) AS minute_ms FROM stream_samples x \
             JOIN stream_nodes n ON n.id = x.node_id WHERE n.peer_id = $1 \
             AND x.minute_ms >= $2 AND x.minute_ms < $3 AND x.at_ms >= $4 AND x.at_ms < $3 \
             GROUP BY x.node_id, x.minute_ms / $5) newest \
             ON s.node_id = newest.node_id AND s.minute_ms = newest.minute_ms \
             ORDER BY s.at_ms",
        )
        .bind(peer_id.to_owned())
        .bind(sample_minute(since_ms))
        .bind(until_ms)
        .bind(since_ms)
        .bind(bucket_ms.max(60_000))
        .fetch_all(self.pool())
        .await?;
        read_all::<SampleRow, StoredSample>(&rows)
    }

    async fn log_stats(&self, peer_id: Option<&str>) -> Result<Vec<(String, i64)>, StoreError> {
        let counts = match peer_id {
            None => kept_counts(self).await?,
            Some(peer_id) => node_log_stats(self, peer_id).await?,
        };
        Ok(counts.into_iter().collect())
    }

    async fn network_states(&self, since_ms: i64) -> Result<Vec<NetworkState>, StoreError> {
        if self.shared_url().is_none() {
            return sqlite_network_states(self, since_ms).await;
        }
        // A look-up a node in the index of these messages (a node that sent none in the window
        // costs one look-up a day's partition, not a read of its messages).
        let rows = read(
            "SELECT n.peer_id, n.format, l.msg, l.created_ms, l.log FROM stream_nodes n \
             CROSS JOIN LATERAL (SELECT x.msg, x.created_ms, x.log FROM stream_logs x \
             WHERE x.node_id = n.id AND x.msg = 'system.network_state' \
             AND x.created_ms >= $1 ORDER BY x.created_ms DESC, x.id DESC LIMIT 1) l \
             ORDER BY n.peer_id",
        )
        .bind(since_ms)
        .fetch_all(self.pool())
        .await?;
        read_all::<LogRow, NetworkState>(&rows)
    }

    async fn purge_logs(&self, before_ms: i64, batch: u32) -> Result<u64, StoreError> {
        purge_before(self, &LOGS_PURGED, before_ms, batch).await
    }

    async fn make_days(&self, now_ms: i64) -> Result<(), StoreError> {
        match (self.shared_url(), self.hour_files()) {
            (Some(_), _) => postgres::make_days(self.pool(), now_ms).await,
            (None, Some(hours)) => hours.finish_past_hours(now_ms).await,
            (None, None) => Ok(()),
        }
    }

    async fn drop_days(
        &self,
        logs_before_ms: i64,
        samples_before_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        if self.shared_url().is_none() {
            return match self.hour_files() {
                Some(hours) => hours.remove_before(logs_before_ms).await,
                None => Ok(Vec::new()),
            };
        }
        let mut dropped = postgres::drop_days(self.pool(), DAILY_LOGS, logs_before_ms).await?;
        dropped.extend(postgres::drop_days(self.pool(), DAILY_SAMPLES, samples_before_ms).await?);
        Ok(dropped)
    }

    async fn purge_samples(&self, before_ms: i64, batch: u32) -> Result<u64, StoreError> {
        purge_before(self, &SAMPLES_PURGED, before_ms, batch).await
    }

    async fn purge_blocks(&self, before_ms: i64, batch: u32) -> Result<u64, StoreError> {
        // The oldest blocks' reports, then the blocks, in one transaction: no report is left
        // without its block, nor a block half purged.
        const OLDEST: &str = "SELECT id FROM stream_blocks WHERE first_seen_ms < $1 \
                              ORDER BY first_seen_ms, id LIMIT $2";
        let mut tx = self.pool().begin().await?;
        sqlx::query(&format!(
            "DELETE FROM stream_block_imports WHERE block_id IN ({OLDEST})"
        ))
        .bind(before_ms)
        .bind(i64::from(batch))
        .execute(&mut *tx)
        .await?;
        let blocks = sqlx::query(&format!("DELETE FROM stream_blocks WHERE id IN ({OLDEST})"))
            .bind(before_ms)
            .bind(i64::from(batch))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(blocks)
    }

    async fn disconnect_stale(&self, before_ms: i64) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE stream_nodes SET disconnected_ms = last_seen_ms \
             WHERE disconnected_ms IS NULL AND last_seen_ms < $1",
        )
        .bind(before_ms)
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected())
    }

    async fn table_stats(&self) -> Result<Vec<TableStats>, StoreError> {
        const TABLES: [&str; 10] = [
            "api_keys",
            "machines",
            "stats",
            "stream_nodes",
            "stream_logs",
            "stream_samples",
            "stream_blocks",
            "stream_block_imports",
            "host_systems",
            "benchmarks",
        ];
        // The messages are counted as they are kept (`kept_counts`); the rest here.
        const MESSAGES: &str = "stream_logs";
        let counts: Vec<String> = TABLES
            .iter()
            .filter(|table| **table != MESSAGES)
            .map(|table| format!("SELECT '{table}' AS table_name, COUNT(*) AS qty FROM {table}"))
            .collect();
        let rows = read(&counts.join(" UNION ALL "))
            .fetch_all(self.pool())
            .await?;
        let mut rows_of: HashMap<String, i64> = read_all::<TableStats, TableStats>(&rows)?
            .into_iter()
            .map(|table| (table.table_name, table.rows))
            .collect();
        rows_of.insert(MESSAGES.to_owned(), kept_counts(self).await?.values().sum());
        Ok(TABLES
            .iter()
            .filter_map(|table| {
                let rows = rows_of.remove(*table)?;
                Some(TableStats {
                    table_name: (*table).to_owned(),
                    rows,
                })
            })
            .collect())
    }

    async fn chain_changes(&self) -> Result<Option<ChainChanges>, StoreError> {
        match self.shared_url() {
            Some(url) => Ok(Some(ChainChanges::listen(url.expose()).await?)),
            None => Ok(None),
        }
    }

    async fn host_systems(&self) -> Result<Vec<HostSystem>, StoreError> {
        let rows = read(
            "SELECT id, description, os, cpu_qty, cpu_clock, ram_mb, disk_info \
             FROM host_systems ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?;
        read_all::<HostSystem, HostSystem>(&rows)
    }

    async fn add_host_system(&self, host: &HostSystem) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "INSERT INTO host_systems (description, os, cpu_qty, cpu_clock, ram_mb, disk_info) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(host.description.clone())
        .bind(host.os.clone())
        .bind(host.cpu_qty)
        .bind(host.cpu_clock)
        .bind(host.ram_mb)
        .bind(host.disk_info.clone())
        .fetch_one(self.pool())
        .await
        .map_err(StoreError::from)
    }

    async fn benchmarks(&self) -> Result<Vec<Benchmark>, StoreError> {
        let rows = read(
            "SELECT id, host_system_id, description, chain_spec, benchmark_spec, ts_start, ts_end \
             FROM benchmarks ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?;
        read_all::<BenchmarkRow, Benchmark>(&rows)
    }

    async fn add_benchmark(&self, benchmark: &Benchmark, now_ms: i64) -> Result<i64, StoreError> {
        let spec = |value: &Option<Value>| value.as_ref().map(Value::to_string);
        let result = sqlx::query_scalar(
            "INSERT INTO benchmarks (host_system_id, description, chain_spec, benchmark_spec, \
             ts_start, ts_end, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(benchmark.host_system_id)
        .bind(benchmark.description.clone())
        .bind(spec(&benchmark.chain_spec))
        .bind(spec(&benchmark.benchmark_spec))
        .bind(benchmark.ts_start.clone())
        .bind(benchmark.ts_end.clone())
        .bind(now_ms)
        .fetch_one(self.pool())
        .await;
        match result {
            Err(sqlx::Error::Database(db)) if db.is_foreign_key_violation() => Err(
                StoreError::Conflict(format!("no host system {}", benchmark.host_system_id)),
            ),
            other => other.map_err(StoreError::from),
        }
    }
}
