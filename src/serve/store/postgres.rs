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
    Ok(pool)
}
