//! Where accepted objects live: a small trait, so that ingest and queries do not know which database
//! is behind it. `SqlStore` implements it over SQLite (embedded, the default) and PostgreSQL (for
//! fleets and several `serve` instances); `sqlite.rs` and `postgres.rs` hold what differs between
//! the two: how to connect and their migrations.

pub mod alerts;
pub mod halving;
mod migrations;
pub mod network;
mod network_sql;
mod postgres;
mod rows;
mod sql;
mod sqlite;
mod stream_sql;
pub mod streams;
mod validator_sql;
pub mod validators;

use std::future::Future;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::secret::Secret;
use crate::wire::client_stats::decode::Received;
use crate::wire::client_stats::fields::Process;

pub use sql::SqlStore;

/// How long a request waits for a database connection before it is answered 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// An API key's record, as authentication needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub id: i64,
    pub name: String,
    pub admin: bool,
}

/// A key as `keys list` shows it: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyListing {
    pub name: String,
    pub admin: bool,
    pub created_ms: i64,
    pub last_used_ms: Option<i64>,
}

/// The accepted objects of one request.
#[derive(Debug, Clone)]
pub struct Submission {
    pub key_id: i64,
    pub machine: String,
    /// The receiver's clock: it decides the minute.
    pub received_ms: i64,
    pub objects: Vec<Received>,
}

impl Submission {
    /// The wall-clock minute the one-object-per-process rule counts in.
    pub fn minute(&self) -> i64 {
        self.received_ms.div_euclid(60_000)
    }
}

/// One stored object, as queries answer it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredObject {
    pub key: String,
    pub machine: String,
    pub received_ms: i64,
    pub object: Received,
}

impl StoredObject {
    pub fn to_json(&self) -> Map<String, Value> {
        answered(&self.object, &self.machine, self.received_ms)
    }
}

/// An object as queries answer it: as it was accepted, with the machine it came from and when it
/// was received (Unix ms, the server's clock).
pub fn answered(object: &Received, machine: &str, received_ms: i64) -> Map<String, Value> {
    let mut row = object.to_json();
    row.insert("machine".into(), machine.into());
    row.insert("received".into(), received_ms.into());
    row
}

/// A machine's newest object of one process, kept answered (JSON) so that listing machines never
/// reads the history.
#[derive(Debug, Clone, PartialEq)]
pub struct Newest {
    pub process: Process,
    pub received_ms: i64,
    pub json: String,
    /// The one it replaced, if any (answered JSON).
    pub previous: Option<String>,
}

/// A machine with its newest object of each process.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineSummary {
    pub id: i64,
    pub key: String,
    /// Its key was removed: its data stays until retention, but nobody reports as it any more.
    pub key_removed: bool,
    pub machine: String,
    pub last_seen_ms: i64,
    pub newest: Vec<Newest>,
}

impl MachineSummary {
    /// Its newest object of `process`, if it sent one.
    pub fn newest_of(&self, process: Process) -> Option<&Newest> {
        self.newest.iter().find(|newest| newest.process == process)
    }

    /// Whether it sent anything within `offline_after_ms` of `now_ms`: an object, or a validator
    /// view's report (a machine may send only those).
    pub fn online(&self, now_ms: i64, offline_after_ms: i64) -> bool {
        now_ms.saturating_sub(self.last_seen_ms) < offline_after_ms
            || self
                .newest
                .iter()
                .any(|newest| now_ms.saturating_sub(newest.received_ms) < offline_after_ms)
    }
}

/// The database serve keeps everything in: client-stats objects and keys ([`Store`]), the
/// streams ([`StreamStore`](streams::StreamStore)) and the validator view
/// ([`ValidatorStore`](validators::ValidatorStore)). `SqlStore` is the one implementation, over
/// SQLite or PostgreSQL.
pub trait Database:
    Store + streams::StreamStore + network::NetworkStore + validators::ValidatorStore
{
}

impl<T> Database for T where
    T: Store + streams::StreamStore + network::NetworkStore + validators::ValidatorStore
{
}

/// Whose data a query may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One key's machines.
    Key(i64),
    /// Every key's (an admin key).
    All,
}

/// Which stored objects of a machine a query wants: the newest `limit` in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsQuery {
    pub process: Option<Process>,
    /// Received at or after (Unix ms).
    pub since_ms: i64,
    /// Received before (Unix ms).
    pub until_ms: i64,
    pub limit: u32,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached now; the caller may retry.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A key of that name exists already.
    #[error("{0}")]
    Conflict(String),
    /// PostgreSQL aborted the transaction as a deadlock's victim (two instances writing the same
    /// rows in opposite orders) or for a serialization failure, and asks for it to be tried again.
    #[error("the database aborted the write; it may be tried again: {0}")]
    Aborted(String),
    #[error("the database failed: {0}")]
    Failed(String),
}

/// The operations ingest, queries and `keys` need. Every write is committed before it returns.
pub trait Store: Send + Sync + 'static {
    /// Reachable and answering.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn add_key(
        &self,
        name: &str,
        key: &Secret,
        admin: bool,
        now_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn list_keys(&self) -> impl Future<Output = Result<Vec<KeyListing>, StoreError>> + Send;
    /// False when no key of that name exists.
    fn remove_key(
        &self,
        name: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The key that `key` is, unless unknown or removed.
    fn find_key(
        &self,
        key: &Secret,
    ) -> impl Future<Output = Result<Option<KeyRecord>, StoreError>> + Send;

    /// Notes that key `key_id` was used at `at_ms` (a read; writes note it with their objects).
    fn touch_key(
        &self,
        key_id: i64,
        at_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A page sign-in: session `id` stands for key `key_id` until `expires_ms`.
    fn add_session(
        &self,
        id: &Secret,
        key_id: i64,
        now_ms: i64,
        expires_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The key session `id` stands for, unless it expired by `now_ms`, was signed out, or its key
    /// was removed.
    fn find_session(
        &self,
        id: &Secret,
        now_ms: i64,
    ) -> impl Future<Output = Result<Option<KeyRecord>, StoreError>> + Send;
    /// Signs session `id` out.
    fn remove_session(&self, id: &Secret) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores a batch of requests in one transaction. For each submission, the processes of the
    /// objects that were stored; the others fell on a (machine, process, minute) already taken.
    fn insert(
        &self,
        batch: &[Submission],
    ) -> impl Future<Output = Result<Vec<Vec<Process>>, StoreError>> + Send;

    /// The machines in the scope, or only those named `name`.
    fn machines(
        &self,
        scope: Scope,
        name: Option<&str>,
    ) -> impl Future<Output = Result<Vec<MachineSummary>, StoreError>> + Send;
    /// The newest `window.limit` objects of machines of that name in the scope, oldest first;
    /// `None` when the scope has no machine of that name.
    fn machine_stats(
        &self,
        scope: Scope,
        machine: &str,
        query: StatsQuery,
    ) -> impl Future<Output = Result<Option<Vec<StoredObject>>, StoreError>> + Send;
    /// Machine `machine_id`'s objects of `process` received in `[since_ms, until_ms)`, thinned to
    /// the newest of each `bucket_minutes`, oldest first: a chart's points.
    fn machine_series(
        &self,
        machine_id: i64,
        process: Process,
        since_ms: i64,
        until_ms: i64,
        bucket_minutes: i64,
    ) -> impl Future<Output = Result<Vec<StoredObject>, StoreError>> + Send;
    /// beaconcha.in's `user/stats`: one process's objects of every machine in the scope, newest
    /// first, `offset` rows skipped.
    fn recent(
        &self,
        scope: Scope,
        process: Process,
        offset: u32,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredObject>, StoreError>> + Send;

    /// Deletes the sessions expired by `now_ms` and those of removed keys; returns how many.
    fn purge_sessions(&self, now_ms: i64) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes up to `batch` objects received before `before_ms`; returns how many.
    fn purge(
        &self,
        before_ms: i64,
        batch: u32,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
