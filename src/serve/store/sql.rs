//! The store over SQL, one text for both databases through sqlx's `Any` driver: the statements use
//! `$n` parameters and syntax both SQLite and PostgreSQL take (`ON CONFLICT`, `RETURNING`,
//! row values). Integers are bound and read as `i64` and flags as 0/1, which both databases'
//! columns hold.

use std::collections::HashMap;
use std::sync::LazyLock;

use sqlx::AnyPool;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, FromRow, Row, Transaction};

use super::rows::{KeyListingRow, KeyRow, LatestRow, MachineRow, read_all};
use super::{
    KeyListing, KeyRecord, MachineSummary, Newest, Scope, StatsQuery, Store, StoreError,
    StoredObject, Submission, answered,
};
use crate::secret::Secret;
use crate::serve::keys;
use crate::wire::client_stats::decode::{Received, Value};
use crate::wire::client_stats::fields::{Kind, Process, all_fields};

/// The columns of a stored object, in `stats` order after the key columns.
static OBJECT_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    let fields: Vec<&str> = all_fields().map(|field| field.name).collect();
    format!(
        "s.process, s.received_ms, s.version, s.timestamp_ms, s.extensions, s.{}",
        fields.join(", s.")
    )
});

static INSERT_OBJECT: LazyLock<String> = LazyLock::new(|| {
    let fields: Vec<&str> = all_fields().map(|field| field.name).collect();
    let columns = 7 + fields.len();
    let parameters: Vec<String> = (1..=columns).map(|n| format!("${n}")).collect();
    format!(
        "INSERT INTO stats (machine_id, process, minute, received_ms, version, timestamp_ms, \
         extensions, {}) \
         VALUES ({}) ON CONFLICT DO NOTHING",
        fields.join(", "),
        parameters.join(", ")
    )
});

/// A query that reads objects from `source` (the `stats` table, or rows of it, as `s`), with the
/// names of their machine and key; callers add conditions.
fn select_objects_from(source: &str) -> String {
    format!(
        "SELECT k.name AS key_name, m.name AS machine_name, {} FROM {source} \
         JOIN machines m ON m.id = s.machine_id JOIN api_keys k ON k.id = m.key_id",
        *OBJECT_COLUMNS
    )
}

/// Every query that reads objects starts so, and adds its joins' conditions.
static SELECT_OBJECTS: LazyLock<String> = LazyLock::new(|| select_objects_from("stats s"));

/// A machine's objects of one process in a window, the newest of each bucket: numbered within
/// their bucket by a window function, so that both databases read the range once. (A join with
/// the buckets' newest minutes let PostgreSQL's generic plan run the grouping once per row: 24 s
/// for a week.)
static SELECT_SERIES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} WHERE s.newest_first = 1 ORDER BY s.minute",
        select_objects_from(
            "(SELECT *, ROW_NUMBER() OVER (PARTITION BY minute / $7 ORDER BY minute DESC) \
             AS newest_first FROM stats WHERE machine_id = $1 AND process = $2 \
             AND minute >= $3 AND minute <= $4 AND received_ms >= $5 AND received_ms < $6) s"
        )
    )
});

/// The id of key `key_id`'s machine `name`, made when new, seen at `at_ms`.
pub(super) async fn upsert_machine(
    tx: &mut Transaction<'_, Any>,
    key_id: i64,
    name: &str,
    at_ms: i64,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO machines (key_id, name, last_seen_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (key_id, name) DO UPDATE SET last_seen_ms = CASE \
         WHEN excluded.last_seen_ms > machines.last_seen_ms THEN excluded.last_seen_ms \
         ELSE machines.last_seen_ms END RETURNING id",
    )
    .bind(key_id)
    .bind(name.to_owned())
    .bind(at_ms)
    .fetch_one(&mut **tx)
    .await?)
}

/// A connection pool on either database, migrated.
pub struct SqlStore {
    pool: AnyPool,
    /// PostgreSQL's URL, for the connection that listens for other instances' changes; none for
    /// SQLite, which one instance has to itself.
    shared_url: Option<Secret>,
    /// PostgreSQL: where the row-by-row purge of a day's partition has got to.
    purge_cursor: super::postgres::PurgeCursor,
    /// SQLite (in a file): the stream messages' files, one an hour.
    hour_files: Option<super::sqlite::HourFiles>,
    /// The rows of `stream_log_counts` this instance adds to: on PostgreSQL a number picked at
    /// start, so that instances on one database do not wait on each other's rows; 0 on SQLite.
    counter: i64,
}

impl SqlStore {
    /// Connects to `sqlite://PATH` or `postgres://...`, creating (SQLite) and migrating the schema.
    /// The URL's password never appears in the error.
    pub async fn open(url: &str) -> Result<SqlStore, StoreError> {
        sqlx::any::install_default_drivers();
        let (pool, shared_url, hour_files, counter) = if url.starts_with("sqlite:") {
            let pool = super::sqlite::open(url).await?;
            (pool, None, super::sqlite::HourFiles::open(url)?, 0)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = super::postgres::open(url).await?;
            let counter = super::postgres::counter();
            (pool, Some(Secret::new(url.to_owned())), None, counter)
        } else {
            return Err(StoreError::Failed(
                "the database URL must start with sqlite:// or postgres://".into(),
            ));
        };
        Ok(SqlStore {
            pool,
            shared_url,
            purge_cursor: Default::default(),
            hour_files,
            counter,
        })
    }

    pub(super) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub(super) fn shared_url(&self) -> Option<&Secret> {
        self.shared_url.as_ref()
    }

    pub(super) fn purge_cursor(&self) -> &super::postgres::PurgeCursor {
        &self.purge_cursor
    }

    pub(super) fn hour_files(&self) -> Option<&super::sqlite::HourFiles> {
        self.hour_files.as_ref()
    }

    pub(super) fn counter(&self) -> i64 {
        self.counter
    }

    /// Closes every connection: SQLite checkpoints its write-ahead log into the database file.
    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(hours) = &self.hour_files {
            hours.close().await;
        }
    }
}

/// What went wrong, split by whether trying again later can help.
impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> StoreError {
        match err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => StoreError::Unavailable(err.to_string()),
            sqlx::Error::Database(db) if may_pass(db.code().as_deref()) => {
                StoreError::Unavailable(db.to_string())
            }
            sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("40001" | "40P01")) =>
            {
                StoreError::Aborted(db.to_string())
            }
            other => StoreError::Failed(other.to_string()),
        }
    }
}

/// Whether a database error may pass with time, so that what was to be written waits rather than
/// being refused: SQLite busy or locked, or a file it cannot open, read or write, on a full disk
/// or gone read-only (what an operator mends); PostgreSQL shutting down, out of reach or out of
/// resources (disk, memory, connections).
fn may_pass(code: Option<&str>) -> bool {
    let Some(code) = code else {
        return false;
    };
    // SQLite's codes come extended (517, busy on a snapshot; 778, a write's I/O error), the
    // primary code in their low byte; PostgreSQL's are five characters.
    if code.len() < 5
        && let Ok(extended) = code.parse::<u32>()
    {
        // BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN.
        return matches!(extended & 0xff, 5 | 6 | 8 | 10 | 13 | 14);
    }
    matches!(code, "57P01" | "57P02" | "57P03") || code.starts_with("08") || code.starts_with("53")
}

fn bind_value<'q>(
    query: Query<'q, Any, AnyArguments<'q>>,
    kind: Kind,
    value: Option<&Value>,
) -> Query<'q, Any, AnyArguments<'q>> {
    match (kind, value) {
        (_, Some(Value::Integer(number))) => query.bind(*number as i64),
        (_, Some(Value::Flag(flag))) => query.bind(i64::from(*flag)),
        (_, Some(Value::Text(text))) => query.bind(text.clone()),
        (Kind::Text, None) => query.bind(None::<String>),
        (_, None) => query.bind(None::<i64>),
    }
}

fn object_of(row: &AnyRow) -> Result<StoredObject, sqlx::Error> {
    let code: i64 = row.try_get("process")?;
    let process = Process::from_code(code)
        .ok_or_else(|| sqlx::Error::Decode(format!("unknown process code {code}").into()))?;
    let mut values = Vec::new();
    for field in process.fields() {
        let value = match field.kind {
            Kind::Integer => row
                .try_get::<Option<i64>, _>(field.name)?
                .map(|number| Value::Integer(number.max(0) as u64)),
            Kind::Flag => row
                .try_get::<Option<i64>, _>(field.name)?
                .map(|flag| Value::Flag(flag != 0)),
            Kind::Text => row
                .try_get::<Option<String>, _>(field.name)?
                .map(Value::Text),
        };
        if let Some(value) = value {
            values.push((field, value));
        }
    }
    let version: i64 = row.try_get("version")?;
    let timestamp: Option<i64> = row.try_get("timestamp_ms")?;
    // Written from a JSON object; anything else reads as none.
    let extensions = match row.try_get::<Option<String>, _>("extensions")? {
        Some(json) => match serde_json::from_str(&json) {
            Ok(serde_json::Value::Object(extensions)) => extensions,
            _ => serde_json::Map::new(),
        },
        None => serde_json::Map::new(),
    };
    Ok(StoredObject {
        key: row.try_get("key_name")?,
        machine: row.try_get("machine_name")?,
        received_ms: row.try_get("received_ms")?,
        object: Received {
            version: version.max(0) as u64,
            timestamp: timestamp.map(|ms| ms.max(0) as u64),
            process,
            values,
            extensions,
        },
    })
}

fn objects_of(rows: Vec<AnyRow>) -> Result<Vec<StoredObject>, StoreError> {
    rows.iter()
        .map(object_of)
        .collect::<Result<_, _>>()
        .map_err(StoreError::from)
}

/// `Scope::All` binds NULL: `($n IS NULL OR m.key_id = $n)` then holds for every key.
fn key_filter(scope: Scope) -> Option<i64> {
    match scope {
        Scope::Key(id) => Some(id),
        Scope::All => None,
    }
}

impl Store for SqlStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(StoreError::from)
    }

    async fn add_key(
        &self,
        name: &str,
        key: &Secret,
        admin: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO api_keys (name, key_hash, admin, created_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(name.to_owned())
        .bind(keys::hash(key))
        .bind(i64::from(admin))
        .bind(now_ms)
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Err(
                StoreError::Conflict(format!("a key named {name:?} exists already")),
            ),
            Err(err) => Err(err.into()),
        }
    }

    async fn list_keys(&self) -> Result<Vec<KeyListing>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, admin, created_ms, last_used_ms FROM api_keys \
             WHERE removed_ms IS NULL ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        read_all::<KeyListingRow, KeyListing>(&rows)
    }

    async fn remove_key(&self, name: &str, now_ms: i64) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE api_keys SET removed_ms = $1 WHERE name = $2 AND removed_ms IS NULL",
        )
        .bind(now_ms)
        .bind(name.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() > 0)
    }

    async fn find_key(&self, key: &Secret) -> Result<Option<KeyRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, admin, key_hash FROM api_keys \
             WHERE key_hash = $1 AND removed_ms IS NULL",
        )
        .bind(keys::hash(key))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let stored: Vec<u8> = row.try_get("key_hash")?;
        // The lookup found the hash; comparing it again in constant time keeps the answer's timing
        // from depending on how much of a guess was right, whatever the database's index does.
        if !keys::matches(&stored, key) {
            return Ok(None);
        }
        Ok(Some(KeyRow::from_row(&row)?.into()))
    }

    async fn touch_key(&self, key_id: i64, at_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE api_keys SET last_used_ms = $1 WHERE id = $2 \
             AND (last_used_ms IS NULL OR last_used_ms < $1)",
        )
        .bind(at_ms)
        .bind(key_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn add_session(
        &self,
        id: &Secret,
        key_id: i64,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, key_id, created_ms, expires_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(keys::hash(id))
        .bind(key_id)
        .bind(now_ms)
        .bind(expires_ms)
        .execute(&self.pool)
        .await
        ?;
        Ok(())
    }

    async fn find_session(
        &self,
        id: &Secret,
        now_ms: i64,
    ) -> Result<Option<KeyRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT k.id, k.name, k.admin FROM sessions s JOIN api_keys k ON k.id = s.key_id \
             WHERE s.id_hash = $1 AND s.expires_ms > $2 AND k.removed_ms IS NULL",
        )
        .bind(keys::hash(id))
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .map(|row| KeyRow::from_row(&row))
            .transpose()?
            .map(KeyRecord::from))
    }

    async fn remove_session(&self, id: &Secret) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(keys::hash(id))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn purge_sessions(&self, now_ms: i64) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "DELETE FROM sessions WHERE expires_ms <= $1 OR key_id IN \
             (SELECT id FROM api_keys WHERE removed_ms IS NOT NULL)",
        )
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    async fn insert(&self, batch: &[Submission]) -> Result<Vec<Vec<Process>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut stored = Vec::with_capacity(batch.len());
        for submission in batch {
            let machine_id = upsert_machine(
                &mut tx,
                submission.key_id,
                &submission.machine,
                submission.received_ms,
            )
            .await?;
            let mut kept = Vec::with_capacity(submission.objects.len());
            for object in &submission.objects {
                let mut query = sqlx::query(INSERT_OBJECT.as_str())
                    .bind(machine_id)
                    .bind(object.process.code())
                    .bind(submission.minute())
                    .bind(submission.received_ms)
                    .bind(object.version as i64)
                    .bind(object.timestamp.map(|ms| ms as i64))
                    .bind(
                        (!object.extensions.is_empty())
                            .then(|| serde_json::to_string(&object.extensions).ok())
                            .flatten(),
                    );
                for field in all_fields() {
                    let value = object
                        .values
                        .iter()
                        .find(|(known, _)| std::ptr::eq(*known, field))
                        .map(|(_, value)| value);
                    query = bind_value(query, field.kind, value);
                }
                let result = query.execute(&mut *tx).await?;
                if result.rows_affected() == 0 {
                    continue;
                }
                kept.push(object.process);
                let json = answered(object, &submission.machine, submission.received_ms);
                sqlx::query(
                    "INSERT INTO latest (machine_id, process, received_ms, object) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (machine_id, process) DO UPDATE SET \
                     received_ms = excluded.received_ms, object = excluded.object, \
                     previous = latest.object WHERE excluded.received_ms >= latest.received_ms",
                )
                .bind(machine_id)
                .bind(object.process.code())
                .bind(submission.received_ms)
                .bind(serde_json::Value::Object(json).to_string())
                .execute(&mut *tx)
                .await?;
            }
            stored.push(kept);
        }
        let mut last_used: Vec<(i64, i64)> = batch
            .iter()
            .map(|submission| (submission.key_id, submission.received_ms))
            .collect();
        last_used.sort_unstable_by(|a, b| b.cmp(a));
        last_used.dedup_by_key(|(key_id, _)| *key_id);
        for (key_id, at) in last_used {
            sqlx::query("UPDATE api_keys SET last_used_ms = $1 WHERE id = $2")
                .bind(at)
                .bind(key_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(stored)
    }

    async fn machines(
        &self,
        scope: Scope,
        name: Option<&str>,
    ) -> Result<Vec<MachineSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.id, m.name AS machine_name, k.name AS key_name, k.removed_ms, m.last_seen_ms \
             FROM machines m JOIN api_keys k ON k.id = m.key_id \
             WHERE ($1 IS NULL OR m.key_id = $1) AND ($2 IS NULL OR m.name = $2) \
             ORDER BY k.name, m.name",
        )
        .bind(key_filter(scope))
        .bind(name.map(str::to_owned))
        .fetch_all(&self.pool)
        .await?;
        let mut machines = read_all::<MachineRow, MachineSummary>(&rows)?;
        let rows = sqlx::query(
            "SELECT l.machine_id, l.process, l.received_ms, l.object, l.previous FROM latest l \
             JOIN machines m ON m.id = l.machine_id \
             WHERE ($1 IS NULL OR m.key_id = $1) AND ($2 IS NULL OR m.name = $2)",
        )
        .bind(key_filter(scope))
        .bind(name.map(str::to_owned))
        .fetch_all(&self.pool)
        .await?;
        let index: HashMap<i64, usize> = machines
            .iter()
            .enumerate()
            .map(|(at, machine)| (machine.id, at))
            .collect();
        for row in read_all::<LatestRow, LatestRow>(&rows)? {
            let (Some(at), Some(process)) =
                (index.get(&row.machine_id), Process::from_code(row.process))
            else {
                continue;
            };
            machines[*at].newest.push(Newest {
                process,
                received_ms: row.received_ms,
                json: row.object,
                previous: row.previous,
            });
        }
        Ok(machines)
    }

    async fn machine_stats(
        &self,
        scope: Scope,
        machine: &str,
        query: StatsQuery,
    ) -> Result<Option<Vec<StoredObject>>, StoreError> {
        let processes: Vec<Process> = match query.process {
            Some(process) => vec![process],
            None => Process::ALL.to_vec(),
        };
        // The machines of that name first, then one indexed range per machine and process,
        // newest first, merged here: the primary key is (machine, process, minute), so each range
        // is a seek and a short walk, whatever the planner would make of one join.
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM machines m WHERE m.name = $1 AND ($2 IS NULL OR m.key_id = $2)",
        )
        .bind(machine.to_owned())
        .bind(key_filter(scope))
        .fetch_all(&self.pool)
        .await?;
        if ids.is_empty() {
            return Ok(None);
        }
        let sql = format!(
            "{} WHERE s.machine_id = $1 AND s.process = $2 AND s.minute >= $3 AND s.minute <= $4 \
             AND s.received_ms >= $5 AND s.received_ms < $6 ORDER BY s.minute DESC LIMIT $7",
            *SELECT_OBJECTS
        );
        let mut objects = Vec::new();
        for id in ids {
            for process in &processes {
                let rows = sqlx::query(&sql)
                    .bind(id)
                    .bind(process.code())
                    .bind(query.since_ms.div_euclid(60_000))
                    .bind(query.until_ms.div_euclid(60_000))
                    .bind(query.since_ms)
                    .bind(query.until_ms)
                    .bind(i64::from(query.limit))
                    .fetch_all(&self.pool)
                    .await?;
                objects.extend(objects_of(rows)?);
            }
        }
        objects.sort_by_key(|object| std::cmp::Reverse(object.received_ms));
        objects.truncate(query.limit as usize);
        objects.reverse();
        Ok(Some(objects))
    }

    async fn machine_series(
        &self,
        machine_id: i64,
        process: Process,
        since_ms: i64,
        until_ms: i64,
        bucket_minutes: i64,
    ) -> Result<Vec<StoredObject>, StoreError> {
        let rows = sqlx::query(&SELECT_SERIES)
            .bind(machine_id)
            .bind(process.code())
            .bind(since_ms.div_euclid(60_000))
            .bind(until_ms.div_euclid(60_000))
            .bind(since_ms)
            .bind(until_ms)
            .bind(bucket_minutes.max(1))
            .fetch_all(&self.pool)
            .await?;
        objects_of(rows)
    }

    async fn recent(
        &self,
        scope: Scope,
        process: Process,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<StoredObject>, StoreError> {
        let rows = sqlx::query(&format!(
            "{} WHERE ($1 IS NULL OR m.key_id = $1) AND s.process = $2 \
             ORDER BY s.minute DESC, s.received_ms DESC LIMIT $3 OFFSET $4",
            *SELECT_OBJECTS
        ))
        .bind(key_filter(scope))
        .bind(process.code())
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all(&self.pool)
        .await?;
        objects_of(rows)
    }

    async fn purge(&self, before_ms: i64, batch: u32) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "DELETE FROM stats WHERE (machine_id, process, minute) IN \
             (SELECT machine_id, process, minute FROM stats \
             WHERE process IN (0, 1, 2, 3) AND minute <= $1 AND received_ms < $2 LIMIT $3)",
        )
        .bind(before_ms.div_euclid(60_000))
        .bind(before_ms)
        .bind(i64::from(batch))
        .execute(&self.pool)
        .await?;
        let deleted = result.rows_affected();
        if deleted < u64::from(batch) {
            // Nothing old is left: machines silent since, and removed keys with no machines left,
            // go too.
            let mut tx = self.pool.begin().await?;
            sqlx::query("DELETE FROM latest WHERE received_ms < $1")
                .bind(before_ms)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "DELETE FROM machines WHERE last_seen_ms < $1 \
                 AND NOT EXISTS (SELECT 1 FROM stats s WHERE s.machine_id = machines.id)",
            )
            .bind(before_ms)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "DELETE FROM api_keys WHERE removed_ms IS NOT NULL \
                 AND NOT EXISTS (SELECT 1 FROM machines m WHERE m.key_id = api_keys.id)",
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::may_pass;

    #[test]
    fn errors_that_pass_with_time_are_told_from_the_others() {
        // SQLite: busy (and on a snapshot, after its timeout), locked, a full disk, a file it
        // cannot open, a write's and an fsync's I/O error, read-only; PostgreSQL: shut down,
        // connection lost, disk full, too many connections.
        for code in [
            "5", "517", "773", "6", "13", "14", "778", "1034", "8", "57P01", "08006", "53100",
            "53300",
        ] {
            assert!(may_pass(Some(code)), "{code}");
        }
        // SQLite: an error, a constraint (and a unique one), corruption; PostgreSQL: a unique
        // violation, a missing table, a serialization failure and a deadlock (aborted, not
        // unavailable), a transaction whose commit's outcome is unknown.
        for code in [
            "1", "19", "2067", "11", "23505", "42P01", "40001", "40P01", "40003",
        ] {
            assert!(!may_pass(Some(code)), "{code}");
        }
        assert!(!may_pass(None));
    }
}
