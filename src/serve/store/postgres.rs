//! PostgreSQL, for fleets: several `serve` instances share one database, and the rules that must
//! hold across them (one object per machine, process and minute) are its constraints.

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

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
    // Without today's partitions the day's rows go to the default ones, which cost a delete per
    // row to purge: worth a warning, not a refusal to start.
    if let Err(err) = make_days(&pool, crate::serve::now_ms()).await {
        tracing::warn!("{err}; the messages go to the default partition meanwhile");
    }
    Ok(pool)
}

/// The tables kept in one partition per day (UTC): the messages not from /audit, and the samples.
pub(super) const DAILY_LOGS: &str = "stream_logs_raw";
pub(super) const DAILY_SAMPLES: &str = "stream_samples";
const DAY_MS: i64 = 86_400_000;
/// Days made ahead of today: a day's partition exists long before its first row, and a failure to
/// make one is tried again, every purge, for two days.
const DAYS_AHEAD: i64 = 2;
/// Making or dropping a partition locks its parent table briefly, and waits for the writes in
/// flight; writes that come meanwhile queue behind it. So it waits this long at most: a long read
/// holding the table makes it give up rather than hold every write up behind it (measured under
/// 10,000 messages a second: at 1 s, each try held ingest up for that second).
const DDL_LOCK_TIMEOUT: &str = "SET LOCAL lock_timeout = '200ms'";
/// A change that gave up tries again this many times, a second apart, then at the next purge.
const DDL_ATTEMPTS: u32 = 10;
/// PostgreSQL's SQLSTATE for a lock not had within `lock_timeout`.
const LOCK_NOT_AVAILABLE: &str = "55P03";
/// Instances sharing the database make and drop days one at a time: two making the same day
/// would both find it missing.
const DAYS_LOCK: i64 = 0x6e70_6461_7973; // "npdays"

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

/// Runs one statement that changes the schema, in a transaction of its own holding `DAYS_LOCK`;
/// while its table is busy, up to `DDL_ATTEMPTS` times.
async fn change_days(pool: &AnyPool, ddl: &str) -> Result<(), StoreError> {
    let mut attempt = 1;
    loop {
        match try_change_days(pool, ddl).await {
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

async fn try_change_days(pool: &AnyPool, ddl: &str) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(DAYS_LOCK)
        .execute(&mut *tx)
        .await?;
    sqlx::query(DDL_LOCK_TIMEOUT).execute(&mut *tx).await?;
    sqlx::query(ddl).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Makes the partitions of today and the `DAYS_AHEAD` days after it that do not exist yet.
pub(super) async fn make_days(pool: &AnyPool, now_ms: i64) -> Result<(), StoreError> {
    let today = now_ms.div_euclid(DAY_MS);
    for table in [DAILY_LOGS, DAILY_SAMPLES] {
        for day in today..=today + DAYS_AHEAD {
            change_days(
                pool,
                &format!(
                    "CREATE TABLE IF NOT EXISTS {} PARTITION OF {table} FOR VALUES FROM ({}) TO ({})",
                    day_partition(table, day),
                    day * DAY_MS,
                    (day + 1) * DAY_MS
                ),
            )
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

/// The partitions of `table` whose rows before `before_ms` are deleted row by row: the default
/// one, and, for a window shorter than a day, the day's partition holding `before_ms` (a longer
/// window's rows stay until their day goes whole: kept up to a day longer).
pub(super) fn purged_row_by_row(table: &str, before_ms: i64, now_ms: i64) -> Vec<String> {
    let mut tables = vec![format!("{table}_default")];
    if now_ms.saturating_sub(before_ms) < DAY_MS {
        tables.push(day_partition(table, before_ms.div_euclid(DAY_MS)));
    }
    tables
}

/// Drops the day partitions of `table` wholly before `before_ms`; returns their names.
pub(super) async fn drop_days(
    pool: &AnyPool,
    table: &str,
    before_ms: i64,
) -> Result<Vec<String>, StoreError> {
    let days: Vec<(String,)> = sqlx::query_as(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = $1::regclass ORDER BY c.relname",
    )
    .bind(table.to_owned())
    .fetch_all(pool)
    .await?;
    // Names sort as their dates; the default partition's does not look like a date.
    let first_kept = day_partition(table, before_ms.div_euclid(DAY_MS));
    let prefix_len = table.len() + 1;
    let mut dropped = Vec::new();
    for (name,) in days {
        let dated = name
            .get(prefix_len..)
            .is_some_and(|date| date.len() == 8 && date.bytes().all(|byte| byte.is_ascii_digit()));
        if dated && name < first_kept {
            change_days(pool, &format!("DROP TABLE IF EXISTS {name}")).await?;
            dropped.push(name);
        }
    }
    Ok(dropped)
}
