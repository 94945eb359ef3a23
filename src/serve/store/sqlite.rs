//! SQLite, embedded: a file created with its schema on first start. Write-ahead logging lets
//! queries read while ingest writes; `synchronous = FULL` makes every commit reach the disk before
//! the request that made it is answered.
//!
//! The stream messages not from `/audit` are kept in a file an hour beside it (`HourFiles`): at
//! ten thousand messages a second, deleting them row by row cost SQLite's one writer as much as
//! writing them, and held ingest up; an hour past the raw window is a file removed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::MigrateError;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Transaction};

use super::migrations::SQLITE;
use super::{ACQUIRE_TIMEOUT, StoreError};

/// A writer and a few readers: SQLite takes one writer at a time in any case.
const CONNECTIONS: u32 = 4;
/// An hour's file has a pool for its writer and one for its readers, one connection each: the
/// writer's page cache keeps the index pages the next batch writes again (a connection's cache is
/// thrown away whenever another one wrote the file), and a read never waits for a batch's write.
const HOUR_CONNECTIONS: u32 = 1;
pub(super) const HOUR_MS: i64 = 3_600_000;

/// What every connection runs first: write-ahead logging and durable commits.
const PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                       PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;";

/// Pools of `connections`, each connection running `PRAGMAS` first, then, for an hour's writer,
/// `hour_schema`.
fn options(connections: u32, hour_writer: bool) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(move |connection, _| {
            Box::pin(async move {
                connection.execute(PRAGMAS).await?;
                if hour_writer {
                    hour_schema(connection).await?;
                }
                Ok(())
            })
        })
}

/// An hour's tables, and its index by second unless the file is indexed by node (a past hour's,
/// or one from before the index by second): checked and made in one transaction, so that a
/// writer connecting again never brings the index by second back. A new file has its counts and
/// its index of network states from the first message. A file from before them gets empty counts
/// marked incomplete (the batches add to them; the file is counted whole on reads until
/// `HourFiles::finish_past_hours` counts it, once its hour is over): nothing here reads the
/// messages, since it runs as the connection is made, within the pool's acquire timeout.
async fn hour_schema(connection: &mut AnyConnection) -> Result<(), sqlx::Error> {
    let mut tx = connection.begin_with("BEGIN IMMEDIATE").await?;
    let had = present(&mut tx).await?;
    tx.execute(HOUR_TABLE).await?;
    tx.execute(HOUR_COUNTS).await?;
    if !had.has(MESSAGES) {
        tx.execute(NETWORK_STATES).await?;
    } else if !had.has(COUNTS) {
        tx.execute(COUNTS_INCOMPLETE).await?;
    }
    if !had.has(BY_NODE_INDEX) {
        tx.execute(BY_SECOND).await?;
    }
    tx.commit().await
}

/// The tables and indexes of an hour's file, of those named below.
struct Present(Vec<String>);

impl Present {
    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|present| present == name)
    }
}

async fn present(connection: &mut AnyConnection) -> Result<Present, sqlx::Error> {
    let names = sqlx::query_scalar(&format!(
        "SELECT name FROM sqlite_master WHERE name IN ('{MESSAGES}', '{COUNTS}', \
         '{COUNTS_INCOMPLETE_TABLE}', '{BY_SECOND_INDEX}', '{BY_NODE_INDEX}', \
         '{NETWORK_STATES_INDEX}')"
    ))
    .fetch_all(connection)
    .await?;
    Ok(Present(names))
}

/// Whether a file's counts hold all of its messages (not begun after an earlier build's).
pub(super) async fn counted_whole(connection: &mut AnyConnection) -> Result<bool, StoreError> {
    let has = present(connection).await?;
    Ok(has.has(COUNTS) && !has.has(COUNTS_INCOMPLETE_TABLE))
}

/// `url` with `mode=rwc`, which creates the file when it is missing.
fn creating(url: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    if url.contains("mode=") {
        url.to_owned()
    } else {
        format!("{url}{separator}mode=rwc")
    }
}

pub(super) async fn open(url: &str) -> Result<AnyPool, StoreError> {
    let pool = options(CONNECTIONS, false)
        .connect(&creating(url))
        .await
        .map_err(|err| {
            StoreError::Unavailable(format!("cannot open the SQLite database: {err}"))
        })?;
    // Several processes may open a new file at once (a starting server and `keys add`), and
    // sqlx's migrator takes no lock on SQLite: each found the file empty, and all but the first
    // failed on a table the first had made. One IMMEDIATE transaction around the whole migration
    // makes the others wait for it and then find the schema done.
    let migrated = async {
        let mut connection = pool.acquire().await?;
        let mut migrating = connection.begin_with("BEGIN IMMEDIATE").await?;
        SQLITE.run(&mut migrating).await?;
        migrating.commit().await?;
        Ok::<_, MigrateError>(())
    };
    migrated
        .await
        .map_err(|err| StoreError::Failed(format!("cannot migrate the SQLite schema: {err}")))?;
    Ok(pool)
}

/// An hour's messages: the main database's `stream_logs` without its purge index (the file goes
/// whole) and without a reference to `stream_nodes`, which is in the other file.
const HOUR_TABLE: &str = "CREATE TABLE IF NOT EXISTS stream_logs (
    id INTEGER PRIMARY KEY,
    node_id INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    msg TEXT NOT NULL,
    target TEXT,
    audit INTEGER NOT NULL,
    log TEXT NOT NULL
);";

/// The names `present` looks for.
const MESSAGES: &str = "stream_logs";
const COUNTS: &str = "stream_log_counts";
const COUNTS_INCOMPLETE_TABLE: &str = "stream_log_counts_incomplete";
const BY_SECOND_INDEX: &str = "stream_logs_by_second";
const BY_NODE_INDEX: &str = "stream_logs_by_node";
const NETWORK_STATES_INDEX: &str = "stream_logs_network_states";

/// The hour's messages counted by day, whether from /audit and kind, as the main file's
/// `stream_log_counts` (migration 0010).
const HOUR_COUNTS: &str = "CREATE TABLE IF NOT EXISTS stream_log_counts (\
     day INTEGER NOT NULL, audit INTEGER NOT NULL, msg TEXT NOT NULL, counter INTEGER NOT NULL, \
     qty INTEGER NOT NULL, PRIMARY KEY (day, audit, msg, counter)) WITHOUT ROWID";
/// A file whose counts lack the messages written before them (by an earlier build).
const COUNTS_INCOMPLETE: &str = "CREATE TABLE stream_log_counts_incomplete (mark INTEGER)";
/// A past hour's counts made whole: its messages counted once, the mark removed.
const COUNTED_WHOLE: [&str; 3] = [
    "DELETE FROM stream_log_counts",
    "INSERT INTO stream_log_counts (day, audit, msg, counter, qty) \
     SELECT created_ms / 86400000, audit, msg, 0, COUNT(*) FROM stream_logs GROUP BY 1, 2, 3",
    "DROP TABLE stream_log_counts_incomplete",
];
/// The main file's index of each node's `system.network_state` messages (migration 0011).
const NETWORK_STATES: &str = "CREATE INDEX IF NOT EXISTS stream_logs_network_states \
     ON stream_logs (node_id, id) WHERE msg = 'system.network_state'";

/// A new hour's messages are found by second, then node. Indexed by node (then time) as
/// they come, each batch's thousand messages from as many nodes landed on as many index pages,
/// each rewritten whole into the write-ahead log and again at its checkpoint: 130 MB/s written
/// for 4 MB/s of messages, and the one writer fell behind within minutes of a 10,000-node load.
/// By second, a batch lands on the few pages of the current second. Once the hour is over,
/// `HourFiles::finish_past_hours` swaps this index for one by node, built in one sorted pass.
const BY_SECOND: &str =
    "CREATE INDEX IF NOT EXISTS stream_logs_by_second ON stream_logs (created_ms / 1000, node_id)";

/// A past hour's file, indexed by node instead of by second (dropped first: its pages are
/// reused for the new index, and the file does not grow by an index it no longer has).
const BY_NODE: [&str; 2] = [
    "DROP INDEX stream_logs_by_second",
    "CREATE INDEX stream_logs_by_node ON stream_logs (node_id, created_ms)",
];

/// The stream messages, a file an hour (UTC) in a folder beside the database:
/// `nodepulse.db-messages/2026-12-03T15.db` holds those stamped 15:00 to 16:00 that day.
pub(super) struct HourFiles {
    folder: PathBuf,
    /// Each hour's pools, by the hour's start (Unix ms).
    open: Mutex<BTreeMap<i64, Hour>>,
}

/// An hour's file, to write and to read. Its pools open the file at their first query, making it
/// and its table when missing, and close a connection idle for `HOUR_IDLE`: a month's raw window
/// is 745 files, and a server holds descriptors only for those it is using.
#[derive(Clone)]
struct Hour {
    writer: AnyPool,
    reader: AnyPool,
}

/// How long an hour's connection stays open unused.
const HOUR_IDLE: std::time::Duration = std::time::Duration::from_secs(60);

impl HourFiles {
    /// The hour files of the database at `url`, those there already known (none opened yet);
    /// none for a database in memory.
    pub(super) fn open(url: &str) -> Result<Option<HourFiles>, StoreError> {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() || path.starts_with(":memory:") {
            return Ok(None);
        }
        let folder = PathBuf::from(format!("{path}-messages"));
        let cannot = |err: std::io::Error| {
            StoreError::Failed(format!(
                "cannot use the folder of the stream messages, {}: {err}",
                folder.display()
            ))
        };
        std::fs::create_dir_all(&folder).map_err(cannot)?;
        let files = HourFiles {
            folder: folder.clone(),
            open: Mutex::new(BTreeMap::new()),
        };
        for entry in std::fs::read_dir(&folder).map_err(cannot)? {
            let name = entry.map_err(cannot)?.file_name();
            // Anything else there (the files' -wal and -shm, an operator's copy) is left be.
            if let Some(hour) = name.to_str().and_then(hour_of_file) {
                let opened = Hour::at(&folder.join(&name))?;
                files.lock().insert(hour, opened);
            }
        }
        Ok(Some(files))
    }

    /// A transaction on hour `hour`'s file (the start of the hour, Unix ms), made when missing;
    /// the hour is read from once its file is made. A file that cannot be opened or made (a full
    /// disk, a folder gone read-only) is the database unavailable: the batch waits for it.
    pub(super) async fn begin(&self, hour: i64) -> Result<Transaction<'static, Any>, StoreError> {
        let known = self.lock().get(&hour).cloned();
        let path = self.folder.join(file_of_hour(hour));
        let opened = match known {
            Some(opened) => opened,
            None => Hour::at(&path)?,
        };
        let tx = opened.writer.begin().await.map_err(|err| {
            StoreError::Unavailable(format!(
                "cannot write the stream messages' file {}: {err}",
                path.display()
            ))
        })?;
        // Only the stream writer makes files, so no other pool for this hour came meanwhile.
        self.lock().entry(hour).or_insert(opened);
        Ok(tx)
    }

    /// Hour `hour`'s writer, if the hour has a file.
    pub(super) fn existing_writer(&self, hour: i64) -> Option<AnyPool> {
        self.lock().get(&hour).map(|opened| opened.writer.clone())
    }

    /// The readers of the hours holding messages stamped in `[since_ms, until_ms]`, newest first,
    /// each with its hour's start.
    pub(super) fn between(&self, since_ms: i64, until_ms: i64) -> Vec<(i64, AnyPool)> {
        let first = hour_of(since_ms);
        if first > until_ms {
            return Vec::new();
        }
        self.lock()
            .range(first..=until_ms)
            .rev()
            .map(|(hour, opened)| (*hour, opened.reader.clone()))
            .collect()
    }

    /// Finishes the files of the hours that ended a minute or more before `now_ms`: indexed by
    /// node instead of by second, counted whole if their counts were begun by this build after
    /// an earlier one's messages, their network states indexed if an earlier build made them.
    /// SQLite builds an index, or counts, in one pass over the file, on the hour's own writer:
    /// the current hour's writes and every read go on beside it (a batch written late into that
    /// hour waits for it), and a stop halfway leaves the file as it was, for the next purge. A
    /// file that cannot be finished is named in the error, after the others are done.
    pub(super) async fn finish_past_hours(&self, now_ms: i64) -> Result<(), StoreError> {
        let past: Vec<(i64, AnyPool)> = self
            .lock()
            .range(..hour_of(now_ms.saturating_sub(60_000)))
            .map(|(hour, opened)| (*hour, opened.writer.clone()))
            .collect();
        let mut failed = Vec::new();
        for (hour, writer) in past {
            let name = file_of_hour(hour);
            let finished = async {
                let mut connection = writer.acquire().await?;
                // IMMEDIATE: the write lock before the first read, so that the read cannot
                // fail to turn into a write halfway.
                let mut tx = connection.begin_with("BEGIN IMMEDIATE").await?;
                let has = present(&mut tx).await?;
                let mut done = Vec::new();
                if has.has(BY_SECOND_INDEX) {
                    for statement in BY_NODE {
                        sqlx::query(statement).execute(&mut *tx).await?;
                    }
                    done.push("indexed by node");
                }
                if has.has(COUNTS_INCOMPLETE_TABLE) {
                    for statement in COUNTED_WHOLE {
                        sqlx::query(statement).execute(&mut *tx).await?;
                    }
                    done.push("counted");
                }
                if !has.has(NETWORK_STATES_INDEX) {
                    sqlx::query(NETWORK_STATES).execute(&mut *tx).await?;
                    done.push("its network states indexed");
                }
                if !done.is_empty() {
                    tx.commit().await?;
                }
                Ok::<_, sqlx::Error>(done)
            };
            match finished.await {
                Ok(done) if !done.is_empty() => {
                    let done = done.join(", ");
                    tracing::info!(file = %name, "an hour's stream messages: {done}");
                }
                Ok(_) => {}
                Err(err) => failed.push(format!("{name}: {err}")),
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Unavailable(format!(
                "cannot finish the stream messages' files {}",
                failed.join("; ")
            )))
        }
    }

    /// Removes the files of the hours that ended by `before_ms`; returns their names. A query
    /// reading one meanwhile finishes first: closing its pool waits for it.
    pub(super) async fn remove_before(&self, before_ms: i64) -> Result<Vec<String>, StoreError> {
        let past: Vec<(i64, Hour)> = {
            let mut open = self.lock();
            let kept = open.split_off(&(before_ms.saturating_sub(HOUR_MS) + 1));
            std::mem::replace(&mut *open, kept).into_iter().collect()
        };
        let mut removed = Vec::with_capacity(past.len());
        for (hour, opened) in past {
            opened.close().await;
            let name = file_of_hour(hour);
            let path = self.folder.join(&name);
            for file in [
                path.clone(),
                suffixed(&path, "-wal"),
                suffixed(&path, "-shm"),
            ] {
                match std::fs::remove_file(&file) {
                    Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                        return Err(StoreError::Failed(format!(
                            "cannot remove {}: {err}",
                            file.display()
                        )));
                    }
                    _ => {}
                }
            }
            removed.push(name);
        }
        Ok(removed)
    }

    /// Closes every hour's pool: SQLite checkpoints each file's write-ahead log into it.
    pub(super) async fn close(&self) {
        let hours: Vec<Hour> = self.lock().values().cloned().collect();
        for opened in hours {
            opened.close().await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<i64, Hour>> {
        // A panic while holding it left a map that is still whole.
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Hour {
    /// The pools of the hour's file at `path`, none of them connected yet.
    fn at(path: &Path) -> Result<Hour, StoreError> {
        let url = creating(&format!("sqlite://{}", path.display()));
        let pool = |hour_writer| {
            options(HOUR_CONNECTIONS, hour_writer)
                .idle_timeout(HOUR_IDLE)
                .connect_lazy(&url)
                .map_err(|err| {
                    StoreError::Failed(format!(
                        "cannot open the stream messages' file {}: {err}",
                        path.display()
                    ))
                })
        };
        Ok(Hour {
            writer: pool(true)?,
            reader: pool(false)?,
        })
    }

    async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

/// How an hour's file finds its messages, as a read sees it.
pub(super) enum Layout {
    /// No table yet (a file its writer had only begun to make when the server stopped), or no
    /// message.
    Empty,
    /// The hour being written: by second, its newest message stamped in `newest_second`.
    BySecond { newest_second: i64 },
    /// A past hour's file, or one from before the index by second.
    ByNode,
}

/// Begins a read of an hour's file, and tells how it is indexed: one snapshot of the file, so
/// that an index swapped by `HourFiles::finish_past_hours` meanwhile is not seen half. A reader takes
/// no lock: the writer makes what the file holds.
pub(super) async fn begin_read(
    reader: &AnyPool,
) -> Result<(Transaction<'static, Any>, Layout), StoreError> {
    let mut tx = reader.begin().await?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master \
         WHERE name IN ('stream_logs', 'stream_logs_by_second')",
    )
    .fetch_all(&mut *tx)
    .await?;
    let has = |wanted: &str| names.iter().any(|name| name == wanted);
    let layout = if !has("stream_logs") {
        Layout::Empty
    } else if has("stream_logs_by_second") {
        // One look-up: the index's last entry.
        let newest: Option<i64> =
            sqlx::query_scalar("SELECT MAX(created_ms / 1000) FROM stream_logs")
                .fetch_one(&mut *tx)
                .await?;
        newest.map_or(Layout::Empty, |newest_second| Layout::BySecond {
            newest_second,
        })
    } else {
        Layout::ByNode
    };
    Ok((tx, layout))
}

/// The start (Unix ms) of the hour holding `at_ms`.
pub(super) fn hour_of(at_ms: i64) -> i64 {
    at_ms.saturating_sub(at_ms.rem_euclid(HOUR_MS))
}

/// `2026-12-03T15.db`: the file of the hour starting at `hour` (Unix ms, UTC).
fn file_of_hour(hour: i64) -> String {
    let start =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(hour).unwrap_or(0));
    let stamp = humantime::format_rfc3339_seconds(start).to_string();
    format!("{}.db", stamp.get(..13).unwrap_or_default())
}

/// The hour a file's name stands for, if it is an hour's file.
fn hour_of_file(name: &str) -> Option<i64> {
    let stamp = name.strip_suffix(".db")?;
    let start = humantime::parse_rfc3339(&format!("{stamp}:00:00Z")).ok()?;
    let millis = start
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_millis();
    i64::try_from(millis).ok()
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_is_named_by_its_start_and_read_back_from_the_name() {
        let hour = hour_of(1_796_310_000_000 + 1_234_567);
        assert_eq!(hour % HOUR_MS, 0);
        let name = file_of_hour(hour);
        assert_eq!(name, "2026-12-03T15.db");
        assert_eq!(hour_of_file(&name), Some(hour));
        assert_eq!(hour_of_file("2026-12-03T15.db-wal"), None);
        assert_eq!(hour_of_file("notes.txt"), None);
    }

    #[tokio::test]
    async fn past_hours_are_indexed_by_node_then_removed_and_the_others_found_again_at_start() {
        sqlx::any::install_default_drivers();
        let folder = std::env::temp_dir().join(format!("nodepulse-hours-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("a folder");
        let url = format!("sqlite://{}/serve.db", folder.display());
        let hour = hour_of(1_796_310_000_000);
        let files = HourFiles::open(&url).expect("open").expect("a file");
        for back in 0..3 {
            let mut made = files.begin(hour - back * HOUR_MS).await.expect("made");
            sqlx::query(
                "INSERT INTO stream_logs (node_id, created_ms, msg, audit, log) \
                         VALUES (1, $1, 'system.interval', 0, '{}')",
            )
            .bind(hour - back * HOUR_MS)
            .execute(&mut *made)
            .await
            .expect("written");
            made.commit().await.expect("committed");
        }
        assert_eq!(files.between(hour - HOUR_MS + 1, hour).len(), 2);
        let indexes = |pool: AnyPool| async move {
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name",
            )
            .fetch_all(&pool)
            .await
            .expect("the indexes");
            names
        };
        let by_second = ["stream_logs_by_second", "stream_logs_network_states"];
        let by_node = ["stream_logs_by_node", "stream_logs_network_states"];
        // Half a minute into `hour`, the hour before ended too lately to be indexed by node.
        files
            .finish_past_hours(hour + 30_000)
            .await
            .expect("indexed");
        let hour_before = files.existing_writer(hour - HOUR_MS).expect("an hour");
        let hour_before_last = files.existing_writer(hour - 2 * HOUR_MS).expect("an hour");
        assert_eq!(indexes(hour_before.clone()).await, by_second);
        assert_eq!(indexes(hour_before_last.clone()).await, by_node);
        files
            .finish_past_hours(hour + 60_000)
            .await
            .expect("indexed");
        assert_eq!(indexes(hour_before).await, by_node);
        assert_eq!(indexes(hour_before_last).await, by_node);
        assert_eq!(
            indexes(files.existing_writer(hour).expect("an hour")).await,
            by_second
        );
        assert!(
            files.between(hour + 1, hour - 1).is_empty(),
            "an empty window"
        );
        // The hour before last ends at `hour - HOUR_MS`: it goes, the two after it stay.
        let removed = files
            .remove_before(hour - HOUR_MS + 59_999)
            .await
            .expect("removed");
        assert_eq!(removed, ["2026-12-03T13.db"]);
        assert_eq!(files.between(i64::MIN, i64::MAX).len(), 2);
        files.close().await;

        let mut names: Vec<String> = std::fs::read_dir(folder.join("serve.db-messages"))
            .expect("the hours")
            .map(|entry| {
                entry
                    .expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        assert_eq!(names, ["2026-12-03T14.db", "2026-12-03T15.db"]);
        let again = HourFiles::open(&url).expect("open").expect("a file");
        assert_eq!(again.between(i64::MIN, i64::MAX).len(), 2, "found at start");
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stream_logs")
            .fetch_one(&again.existing_writer(hour).expect("this hour"))
            .await
            .expect("counted");
        assert_eq!(rows, 1);
        again.close().await;
        std::fs::remove_dir_all(&folder).expect("cleaned");
    }
}
