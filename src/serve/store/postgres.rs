//! PostgreSQL, for fleets: several `serve` instances share one database, and the rules that must
//! hold across them (one object per machine, process and minute) are its constraints.

use std::sync::Mutex;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Connection};

use super::migrations::POSTGRES;
use super::{ACQUIRE_TIMEOUT, StoreError};

const CONNECTIONS: u32 = 16;

pub(super) async fn open(url: &str) -> Result<AnyPool, StoreError> {
    // The URL carries the password: errors name the database's host, never the URL.
    let pool = AnyPoolOptions::new()
        .max_connections(CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect(url)
        .await
        .map_err(|err| StoreError::Unavailable(format!("cannot connect to PostgreSQL: {err}")))?;
    // Several instances may start at once; the migrator takes an advisory lock, so one migrates
    // and the others find it done.
    let migrated = async {
        let mut connection = pool.acquire().await?;
        POSTGRES.run(&mut connection).await
    };
    migrated.await.map_err(|err| {
        StoreError::Failed(format!("cannot migrate the PostgreSQL schema: {err}"))
    })?;
    // Without today's partitions no stream message can be stored: refused at start, not found
    // message by message.
    make_days(&pool, crate::serve::now_ms()).await?;
    Ok(pool)
}

/// The tables kept in one partition per day (UTC): the messages not from /audit, and the samples.
/// They have no default partition: a row whose day has none is refused (`is_missing_day`), and the
/// writer makes the days and writes again.
pub(super) const DAILY_LOGS: &str = "stream_logs_raw";
pub(super) const DAILY_SAMPLES: &str = "stream_samples";
pub(super) const DAY_MS: i64 = 86_400_000;
/// Days made ahead of today: a day's partition exists long before its first row, and a failure to
/// make one is tried again, every purge, for two days.
const DAYS_AHEAD: i64 = 2;
/// Making a partition locks its parent table briefly, and waits for the writes in flight; writes
/// that come meanwhile queue behind it. So it waits this long at most: a long read holding the
/// table makes it give up rather than hold every write up behind it (measured under 10,000
/// messages a second: at 1 s, each try held ingest up for that second).
const MAKE_LOCK_TIMEOUT: &str = "SET LOCAL lock_timeout = '200ms'";
/// A day is detached concurrently, which waits for the reads and writes that may see it but holds
/// none up, so it may wait longer: past `deadlock_timeout` (1 s by default), after which an
/// autovacuum of the day yields to it.
const DETACH_LOCK_TIMEOUT: &str = "SET lock_timeout = '2s'";
/// A change that gave up tries again this many times, a second apart, then at the next purge.
const DDL_ATTEMPTS: u32 = 10;
/// PostgreSQL's SQLSTATE for a lock not had within `lock_timeout`.
const LOCK_NOT_AVAILABLE: &str = "55P03";
/// PostgreSQL's SQLSTATE for a row no partition takes (these tables have no CHECK constraints).
const NO_PARTITION: &str = "23514";
/// Instances sharing the database make and drop days one at a time: two making the same day
/// would both find it missing.
const DAYS_LOCK: i64 = 0x6e70_6461_7973; // "npdays"

/// A number for this instance's rows of `stream_log_counts`, from its process id and start time:
/// instances (on one host or several) rarely pick the same, and two that do only share rows.
/// Never 0: the purge folds past days' rows into counter 0 (`fold_counts_of_past_days`).
pub(super) fn counter() -> i64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    // SMALLINT's range, above 0.
    i64::from((std::process::id() ^ nanos) % 32_767 + 1)
}

/// `table_YYYYMMDD`: the partition of `table` holding day `day` (days since 1970-01-01).
fn day_partition(table: &str, day: i64) -> String {
    let start = std::time::UNIX_EPOCH
        + std::time::Duration::from_millis(u64::try_from(day * DAY_MS).unwrap_or(0));
    let date = humantime::format_rfc3339_seconds(start).to_string();
    format!(
        "{table}_{}",
        date.get(..10).unwrap_or_default().replace('-', "")
    )
}

/// The day (days since 1970-01-01) of `name` if it is one of `table`'s days, as `day_partition`
/// names them.
fn partition_day(table: &str, name: &str) -> Option<i64> {
    let date = name.strip_prefix(table)?.strip_prefix('_')?;
    if date.len() != 8 || !date.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let midnight = format!("{}-{}-{}T00:00:00Z", &date[..4], &date[4..6], &date[6..]);
    let since = humantime::parse_rfc3339(&midnight)
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(i64::try_from(since.as_millis()).ok()? / DAY_MS)
}

/// Whether a write failed for a row whose day has no partition.
pub(super) fn is_missing_day(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().as_deref() == Some(NO_PARTITION))
}

/// Runs `change` while a table it needs is busy, up to `DDL_ATTEMPTS` times, a second apart.
async fn while_busy<F, Change>(change: F) -> Result<(), StoreError>
where
    F: Fn() -> Change,
    Change: Future<Output = Result<(), sqlx::Error>>,
{
    let mut attempt = 1;
    loop {
        match change().await {
            Err(sqlx::Error::Database(err))
                if err.code().as_deref() == Some(LOCK_NOT_AVAILABLE) && attempt < DDL_ATTEMPTS =>
            {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            result => return result.map_err(StoreError::from),
        }
    }
}

/// Makes one day's partition, in a transaction of its own holding `DAYS_LOCK`.
async fn try_make_day(pool: &AnyPool, ddl: &str) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(DAYS_LOCK)
        .execute(&mut *tx)
        .await?;
    sqlx::query(MAKE_LOCK_TIMEOUT).execute(&mut *tx).await?;
    sqlx::query(ddl).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Makes the partitions of today and the `DAYS_AHEAD` days after it that do not exist yet.
pub(super) async fn make_days(pool: &AnyPool, now_ms: i64) -> Result<(), StoreError> {
    let today = now_ms.div_euclid(DAY_MS);
    make_days_of(pool, today..=today + DAYS_AHEAD).await
}

/// Makes the partitions of `days` (days since 1970-01-01) that do not exist yet.
pub(super) async fn make_days_of(
    pool: &AnyPool,
    days: impl IntoIterator<Item = i64> + Clone,
) -> Result<(), StoreError> {
    for table in [DAILY_LOGS, DAILY_SAMPLES] {
        for day in days.clone() {
            let ddl = format!(
                "CREATE TABLE IF NOT EXISTS {} PARTITION OF {table} FOR VALUES FROM ({}) TO ({})",
                day_partition(table, day),
                day * DAY_MS,
                (day + 1) * DAY_MS
            );
            while_busy(|| try_make_day(pool, &ddl))
                .await
                .map_err(|err| {
                    StoreError::Failed(format!(
                        "cannot make {table}'s partition of {}: {err}",
                        day_partition(table, day)
                    ))
                })?;
        }
    }
    Ok(())
}

/// The partition of `table` whose rows before `before_ms` are deleted row by row: for a window
/// shorter than a day, the day's partition holding `before_ms` (a longer window's rows stay until
/// their day goes whole: kept up to a day longer).
pub(super) fn purged_row_by_row(table: &str, before_ms: i64, now_ms: i64) -> Option<String> {
    (now_ms.saturating_sub(before_ms) < DAY_MS)
        .then(|| day_partition(table, before_ms.div_euclid(DAY_MS)))
}

/// Where the row-by-row purge's last batch ended: the next batch of the same purge (the same
/// partition, the same `before_ms`) reads on from there. A batch that read the partition from its
/// first page read again every page the batches before it had emptied: under 10,000 messages a
/// second with a 10-minute window, 14 s for the last 616 rows of a 5 GB day. A purge with a new
/// `before_ms` starts again from the first page, so that a row a batch passed over (a scan that
/// did not go in page order) waits only for the next purge. One purge runs at a time, table after
/// table: one cursor is enough, and one that does not match only costs a read from the start.
#[derive(Default)]
pub(super) struct PurgeCursor(Mutex<Option<BatchEnd>>);

struct BatchEnd {
    partition: String,
    before_ms: i64,
    /// The last row deleted, as PostgreSQL writes a `tid`.
    last: String,
}

/// Before every row of a partition.
const FIRST_ROW: &str = "(0,0)";

impl PurgeCursor {
    /// The row after which the batch of `partition` purging before `before_ms` starts.
    pub(super) fn start(&self, partition: &str, before_ms: i64) -> String {
        self.lock()
            .as_ref()
            .filter(|end| end.partition == partition && end.before_ms == before_ms)
            .map_or_else(|| FIRST_ROW.to_owned(), |end| end.last.clone())
    }

    /// The batch ended at `last` (none: it deleted nothing, and the purge of the partition ends).
    pub(super) fn reached(&self, partition: &str, before_ms: i64, last: Option<String>) {
        *self.lock() = last.map(|last| BatchEnd {
            partition: partition.to_owned(),
            before_ms,
            last,
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<BatchEnd>> {
        // A panic while holding it left nothing half-written: a whole cursor or none.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Drops the days' tables of `table` wholly before `before_ms`, attached or left detached by a
/// purge that stopped before dropping them; returns their names.
pub(super) async fn drop_days(
    pool: &AnyPool,
    table: &str,
    before_ms: i64,
) -> Result<Vec<String>, StoreError> {
    let first_kept = before_ms.div_euclid(DAY_MS);
    let mut dropped = Vec::new();
    for (name, day) in day_tables(pool, table).await? {
        if day < first_kept {
            while_busy(|| try_drop_day(pool, table, &name, day)).await?;
            dropped.push(name);
        }
    }
    if table == DAILY_LOGS {
        forget_counts_of_gone_days(pool, first_kept).await?;
        fold_counts_of_past_days(pool).await?;
    }
    Ok(dropped)
}

/// The days' tables of `table` there are, attached or not, with their days.
async fn day_tables<'c>(
    connection: impl sqlx::Executor<'c, Database = sqlx::Any>,
    table: &str,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT relname::text FROM pg_class WHERE relkind = 'r' \
         AND relnamespace = current_schema()::regnamespace \
         AND starts_with(relname::text, $1) ORDER BY relname",
    )
    .bind(format!("{table}_"))
    .fetch_all(connection)
    .await?;
    Ok(names
        .into_iter()
        .filter_map(|(name,)| partition_day(table, &name).map(|day| (name, day)))
        .collect())
}

/// Deletes the message counts of days before `first_kept` that have no table: days an instance
/// of an earlier build dropped without their counts (during a rolling upgrade), which would
/// otherwise be counted for ever. Under `DAYS_LOCK`, so that no day is made meanwhile: a day
/// made again by a late batch has its table, and keeps its counts.
async fn forget_counts_of_gone_days(pool: &AnyPool, first_kept: i64) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(DAYS_LOCK)
        .execute(&mut *tx)
        .await?;
    let present: Vec<String> = day_tables(&mut *tx, DAILY_LOGS)
        .await?
        .into_iter()
        .map(|(_, day)| day.to_string())
        .collect();
    // Days are numbers read back from table names: nothing of a sender's is written here.
    let kept = if present.is_empty() {
        String::new()
    } else {
        format!(" AND day NOT IN ({})", present.join(", "))
    };
    sqlx::query(&format!(
        "DELETE FROM stream_log_counts WHERE audit = 0 AND day < $1{kept}"
    ))
    .bind(first_kept)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Sums the message counts of days before today into counter 0: each instance's start adds rows
/// of its own counter (`counter`), which would otherwise pile up with every restart for as long
/// as their day is kept (an audit day's, for ever). A batch written late into such a day meanwhile
/// adds to its counter's row again: its upsert waits for the row's delete here, then inserts it
/// anew. Two instances folding at once delete each row once. The rows are locked in their key's
/// order, the order a batch's or a purge's counts take theirs in (`Tally::write`): a delete in
/// the table's order could hold a row such a transaction wants next while waiting for one it
/// holds, and one of the two would be aborted as a deadlock.
async fn fold_counts_of_past_days(pool: &AnyPool) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH locked AS (SELECT day, audit, msg, counter FROM stream_log_counts \
         WHERE day < $1 AND counter <> 0 ORDER BY day, audit, msg, counter FOR UPDATE), \
         folded AS (DELETE FROM stream_log_counts c USING locked l \
         WHERE (c.day, c.audit, c.msg, c.counter) = (l.day, l.audit, l.msg, l.counter) \
         RETURNING c.day, c.audit, c.msg, c.qty) \
         INSERT INTO stream_log_counts (day, audit, msg, counter, qty) \
         SELECT day, audit, msg, 0, CAST(SUM(qty) AS BIGINT) FROM folded GROUP BY day, audit, msg \
         ORDER BY day, audit, msg \
         ON CONFLICT (day, audit, msg, counter) \
         DO UPDATE SET qty = stream_log_counts.qty + excluded.qty",
    )
    .bind(crate::serve::now_ms().div_euclid(DAY_MS))
    .execute(pool)
    .await?;
    Ok(())
}

/// Detaches day `name` from `table` if it is still attached, then drops it. A partition's DROP
/// would lock `table` ACCESS EXCLUSIVE, and every write would queue behind it; `DETACH ...
/// CONCURRENTLY` holds none up. It cannot run in a transaction: a connection of its own holds
/// `DAYS_LOCK` meanwhile, and is closed after, its settings with it. A detach that gave up (or
/// whose server stopped) midway leaves the day pending, and is finished here next time. A day of
/// messages takes its counts with it, in the drop's transaction and under the lock: a late batch
/// that makes the day again (`make_days_of`) counts what it writes there after both.
async fn try_drop_day(
    pool: &AnyPool,
    table: &str,
    name: &str,
    day: i64,
) -> Result<(), sqlx::Error> {
    let mut connection = pool.acquire().await?.detach();
    let dropped = async {
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(DAYS_LOCK)
            .execute(&mut connection)
            .await?;
        sqlx::query(DETACH_LOCK_TIMEOUT)
            .execute(&mut connection)
            .await?;
        let pending: Option<bool> = sqlx::query_scalar(
            "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = $1::regclass",
        )
        .bind(name.to_owned())
        .fetch_optional(&mut connection)
        .await?;
        let detach = match pending {
            Some(false) => Some("CONCURRENTLY"),
            Some(true) => Some("FINALIZE"),
            None => None,
        };
        if let Some(how) = detach {
            sqlx::query(&format!(
                "ALTER TABLE {table} DETACH PARTITION {name} {how}"
            ))
            .execute(&mut connection)
            .await?;
        }
        let mut drop = connection.begin().await?;
        sqlx::query(&format!("DROP TABLE IF EXISTS {name}"))
            .execute(&mut *drop)
            .await?;
        if table == DAILY_LOGS {
            sqlx::query("DELETE FROM stream_log_counts WHERE audit = 0 AND day = $1")
                .bind(day)
                .execute(&mut *drop)
                .await?;
        }
        drop.commit().await
    }
    .await;
    // Closing ends the session and its advisory lock; a failed close has lost it already.
    let _closed = connection.close().await;
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_days_table_is_read_back_as_its_day() {
        for day in [0, 20_425, 20_789] {
            let name = day_partition(DAILY_LOGS, day);
            assert_eq!(partition_day(DAILY_LOGS, &name), Some(day), "{name}");
        }
        assert_eq!(
            day_partition(DAILY_LOGS, 20_790),
            "stream_logs_raw_20261203"
        );
        // Another table's day, and tables that are not days.
        assert_eq!(
            partition_day(DAILY_SAMPLES, "stream_logs_raw_20261203"),
            None
        );
        assert_eq!(partition_day(DAILY_LOGS, "stream_logs_raw_2026120"), None);
        assert_eq!(partition_day(DAILY_LOGS, "stream_logs_raw_old"), None);
        assert_eq!(partition_day(DAILY_LOGS, "stream_logs_raw_20261340"), None);
    }

    #[test]
    fn a_purge_reads_on_from_its_last_batch_and_a_new_purge_from_the_first_row() {
        let cursor = PurgeCursor::default();
        assert_eq!(cursor.start("day", 100), FIRST_ROW);
        cursor.reached("day", 100, Some("(7,12)".into()));
        assert_eq!(cursor.start("day", 100), "(7,12)");
        assert_eq!(cursor.start("other day", 100), FIRST_ROW);
        // The next purge deletes before a later time: from the first row again.
        assert_eq!(cursor.start("day", 200), FIRST_ROW);
        // A batch that deleted nothing ends the partition's purge.
        cursor.reached("day", 100, None);
        assert_eq!(cursor.start("day", 100), FIRST_ROW);
    }
}
