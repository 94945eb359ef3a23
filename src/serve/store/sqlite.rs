//! SQLite, embedded: a file created with its schema on first start. Write-ahead logging lets
//! queries read while ingest writes; `synchronous = FULL` makes every commit reach the disk before
//! the request that made it is answered.

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::MigrateError;
use sqlx::{Connection, Executor};

use super::migrations::SQLITE;
use super::{ACQUIRE_TIMEOUT, StoreError};

/// A writer and a few readers: SQLite takes one writer at a time in any case.
const CONNECTIONS: u32 = 4;

pub(super) async fn open(url: &str) -> Result<AnyPool, StoreError> {
    // `mode=rwc` creates the file when it is missing.
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = if url.contains("mode=") {
        url.to_owned()
    } else {
        format!("{url}{separator}mode=rwc")
    };
    let pool = AnyPoolOptions::new()
        .max_connections(CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(|connection, _| {
            Box::pin(async move {
                connection
                    .execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                    )
                    .await
                    .map(drop)
            })
        })
        .connect(&url)
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
