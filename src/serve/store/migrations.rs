//! The schema's migrations, one list per database, in the binary. A file's name gives its version
//! and description the way sqlx's own reader gives them (`0001_client_stats.sql` is version 1,
//! "client stats"), so a database an earlier build migrated finds the same versions and checksums.
//! sqlx's `migrate!` macro would read the folders at compile time, but its proc-macro crate builds
//! a second sqlx for the build machine, SQLite's C source and rustls included. A new file is added
//! here by hand; a test checks both lists against their folders.

use std::borrow::Cow;

use futures_util::future::BoxFuture;
use sqlx::AnyConnection;
use sqlx::error::BoxDynError;
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};

pub(super) const SQLITE: Embedded = Embedded(&[
    (
        "0001_client_stats.sql",
        include_str!("../../../migrations/sqlite/0001_client_stats.sql"),
    ),
    (
        "0002_streams.sql",
        include_str!("../../../migrations/sqlite/0002_streams.sql"),
    ),
    (
        "0003_previous.sql",
        include_str!("../../../migrations/sqlite/0003_previous.sql"),
    ),
    (
        "0004_reporters.sql",
        include_str!("../../../migrations/sqlite/0004_reporters.sql"),
    ),
    (
        "0005_alert_state.sql",
        include_str!("../../../migrations/sqlite/0005_alert_state.sql"),
    ),
    (
        "0006_sessions.sql",
        include_str!("../../../migrations/sqlite/0006_sessions.sql"),
    ),
    (
        "0007_validators.sql",
        include_str!("../../../migrations/sqlite/0007_validators.sql"),
    ),
    (
        "0008_propagation.sql",
        include_str!("../../../migrations/sqlite/0008_propagation.sql"),
    ),
    (
        "0009_samples.sql",
        include_str!("../../../migrations/sqlite/0009_samples.sql"),
    ),
    (
        "0010_log_counts.sql",
        include_str!("../../../migrations/sqlite/0010_log_counts.sql"),
    ),
    (
        "0011_network_states.sql",
        include_str!("../../../migrations/sqlite/0011_network_states.sql"),
    ),
]);

pub(super) const POSTGRES: Embedded = Embedded(&[
    (
        "0001_client_stats.sql",
        include_str!("../../../migrations/postgres/0001_client_stats.sql"),
    ),
    (
        "0002_streams.sql",
        include_str!("../../../migrations/postgres/0002_streams.sql"),
    ),
    (
        "0003_previous.sql",
        include_str!("../../../migrations/postgres/0003_previous.sql"),
    ),
    (
        "0004_reporters.sql",
        include_str!("../../../migrations/postgres/0004_reporters.sql"),
    ),
    (
        "0005_alert_state.sql",
        include_str!("../../../migrations/postgres/0005_alert_state.sql"),
    ),
    (
        "0006_sessions.sql",
        include_str!("../../../migrations/postgres/0006_sessions.sql"),
    ),
    (
        "0007_validators.sql",
        include_str!("../../../migrations/postgres/0007_validators.sql"),
    ),
    (
        "0008_propagation.sql",
        include_str!("../../../migrations/postgres/0008_propagation.sql"),
    ),
    (
        "0009_samples.sql",
        include_str!("../../../migrations/postgres/0009_samples.sql"),
    ),
    (
        "0010_days_detached.sql",
        include_str!("../../../migrations/postgres/0010_days_detached.sql"),
    ),
    (
        "0011_log_counts.sql",
        include_str!("../../../migrations/postgres/0011_log_counts.sql"),
    ),
    (
        "0012_network_states.sql",
        include_str!("../../../migrations/postgres/0012_network_states.sql"),
    ),
]);

/// Migration files as (file name, contents).
#[derive(Debug)]
pub(super) struct Embedded(&'static [(&'static str, &'static str)]);

impl Embedded {
    /// Applies what the database lacks, on one connection; sqlx's migrator takes an advisory lock
    /// on PostgreSQL (on SQLite, the caller's transaction is the lock).
    pub(super) async fn run(self, connection: &mut AnyConnection) -> Result<(), MigrateError> {
        Migrator::new(self).await?.run(connection).await
    }
}

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            let mut migrations = self
                .0
                .iter()
                .map(|(file, sql)| migration(file, sql))
                .collect::<Result<Vec<_>, _>>()?;
            migrations.sort_by_key(|migration| migration.version);
            Ok(migrations)
        })
    }
}

/// `<version>_<description>.sql`, read as sqlx reads a migrations folder; a file that starts
/// with `-- no-transaction` runs outside a transaction.
fn migration(file: &str, sql: &'static str) -> Result<Migration, BoxDynError> {
    let (version, description) = file
        .strip_suffix(".sql")
        .and_then(|stem| stem.split_once('_'))
        .ok_or_else(|| format!("migration {file}: expected <version>_<description>.sql"))?;
    let version = version
        .parse()
        .map_err(|_| format!("migration {file}: the version is not an integer"))?;
    Ok(Migration::new(
        version,
        Cow::Owned(description.replace('_', " ")),
        MigrationType::Simple,
        Cow::Borrowed(sql),
        sql.starts_with("-- no-transaction"),
    ))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// What sqlx keeps of each migration and checks against a database.
    fn kept(migrator: &Migrator) -> Vec<(i64, String, bool, Vec<u8>, bool)> {
        migrator
            .iter()
            .map(|m| {
                (
                    m.version,
                    m.description.to_string(),
                    m.migration_type == MigrationType::Simple,
                    m.checksum.to_vec(),
                    m.no_tx,
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn the_embedded_lists_are_their_folders_as_sqlx_reads_them() {
        for (embedded, folder) in [
            (SQLITE, "migrations/sqlite"),
            (POSTGRES, "migrations/postgres"),
        ] {
            let ours = Migrator::new(embedded).await.expect("embedded migrations");
            let theirs = Migrator::new(Path::new(folder)).await.expect("the folder");
            assert!(!kept(&theirs).is_empty(), "{folder} read as empty");
            assert_eq!(kept(&ours), kept(&theirs), "{folder}");
        }
    }
}
