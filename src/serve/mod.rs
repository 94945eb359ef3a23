//! `nodepulse serve`: the receiving half. Client-stats POSTs come in through `ingest`, are decoded
//! by the wire format's rules (`wire::client_stats::decode`), handed to the `writer`, which
//! commits them to the `store` in batches, and are read back through `queries`. Telemetry streams
//! (Substrate, Starknet) come in over WebSocket through `streams`, into the same store.

pub(crate) mod alerts;
mod auth;
pub mod config;
mod connections;
mod error;
mod feed;
mod figures;
mod fleet;
mod health;
mod ingest;
pub mod keys;
mod metrics;
mod network;
mod page;
mod queries;
mod rate;
mod reply;
mod router;
mod state;
pub mod store;
mod streams;
mod tls;
mod validators;
mod writer;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::Error;
use crate::cli::KeysCommand;
use crate::service;
use config::ServeConfig;
use store::{Database, SqlStore, Store, StoreError};

/// Retention deletes this many rows per statement, and after each waits as long as it took: SQLite
/// has one writer, and at 10,000 stream messages a second, 5,000-row deletes back to back took it
/// from ingest for most of two minutes (a backlog of 119,000 frames, the probes' p99 3.4 s).
/// Paced so, a statement holds the writer for tens of milliseconds, and the purge at most half
/// of its time, which still deletes faster than such a network writes.
const PURGE_BATCH: u32 = 2000;
/// How long the purge waits, while the stream ingest is behind, before it looks again.
const INGEST_FIRST: Duration = Duration::from_millis(100);

/// The server's clock in Unix ms: it decides minutes, retention and who is online.
pub(crate) fn now_ms() -> i64 {
    crate::unix_millis(SystemTime::now()) as i64
}

fn store_error(err: StoreError) -> Error {
    Error::Setup(err.to_string())
}

/// Serves until SIGINT or SIGTERM, then lets in-flight requests finish and commits what they
/// handed over.
pub async fn run(config: ServeConfig) -> Result<ExitCode, Error> {
    match service::raise_open_files_limit() {
        Ok(open_files) => tracing::info!(open_files, "descriptor limit"),
        Err(err) => tracing::warn!("cannot raise the open files limit: {err}"),
    }
    let store = Arc::new(
        SqlStore::open(config.database.expose())
            .await
            .map_err(store_error)?,
    );
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|err| Error::Setup(format!("cannot listen on {}: {err}", config.listen)))?;
    let (writer, writer_task) = writer::Writer::start(Arc::clone(&store));
    let metrics = Arc::new(metrics::ServeMetrics::default());
    // Two live instances never share a host and a listen address; a restarted one does.
    let instance = format!("{}:{}", host_name(), config.listen);
    let alerts = Arc::new(
        alerts::Alerts::new(config.alerts.clone(), instance, Arc::clone(&metrics))
            .map_err(Error::Setup)?,
    );
    if config.streams.batch.discard {
        tracing::warn!(
            "--bench-discard-streams: every stream frame is dropped once decoded, nothing is stored \
             (a switch for the stream bench's floor, never for a server in use)"
        );
    }
    let (stop, stopped) = watch::channel(false);
    let (streams, batcher_task) = streams::Streams::start(
        Arc::clone(&store),
        config.streams.clone(),
        Arc::clone(&metrics),
        stopped.clone(),
    )
    .await;
    let shared = Arc::new(state::AppState {
        store: Arc::clone(&store),
        writer,
        rate: rate::RateLimit::new(config.key_rate, config.key_burst),
        address_rate: rate::RateLimit::new(config.key_rate, config.key_burst),
        last_used: state::LastUsed::default(),
        metrics: Arc::clone(&metrics),
        streams: Arc::new(streams),
        alerts: Arc::clone(&alerts),
        offline_after_ms: i64::try_from(config.offline_after.as_millis()).unwrap_or(i64::MAX),
        fleet_metrics: config.fleet_metrics,
        exported_chains: state::Kept::default(),
        nodes_answer: state::Kept::default(),
        node_data_answer: state::Kept::default(),
        stream_table: state::Kept::default(),
        chain_answers: state::Kept::default(),
        chain_pages: state::Kept::default(),
        log_stats_answer: state::Kept::default(),
        db_stats_answer: state::Kept::default(),
        network_states: state::Kept::holding(1),
        feed: Arc::new(feed::hub::FeedHub::new(config.expose_node_ip)),
        public_reads: config.public_reads,
        expose_node_ip: config.expose_node_ip,
        secure_cookies: config.tls.is_some(),
    });
    tokio::spawn(Arc::clone(&shared.feed).run(
        Arc::clone(&store),
        Arc::clone(&metrics),
        Arc::clone(&shared.streams),
    ));
    // Weak: the batcher ends, at the stop, once every holder of the streams has let go.
    let ingest = Arc::downgrade(&shared.streams);
    let serving = connections::Serving {
        router: router::router(shared),
        limits: config.connections,
        metrics: Arc::clone(&metrics),
        stop: stopped.clone(),
    };
    let shutdown = service::shutdown_signal()?;
    let server = match &config.tls {
        None => tokio::spawn(connections::serve(listener, serving)),
        Some((cert, key)) => {
            let acceptor = tls::acceptor(cert, key).map_err(Error::Setup)?;
            let listener = tls::TlsListener::new(listener, acceptor)
                .map_err(|err| Error::Setup(format!("cannot listen: {err}")))?;
            tokio::spawn(connections::serve(listener, serving))
        }
    };
    tokio::spawn(alerts::watch(Arc::clone(&store), alerts, stopped.clone()));
    tokio::spawn(purge_forever(
        Arc::clone(&store),
        PurgeSchedule {
            retention: config.retention,
            raw_window: config.raw_window,
            every: config.purge_every,
        },
        Arc::clone(&metrics),
        ingest,
        stopped,
    ));
    tokio::spawn(service::watchdog());
    tracing::info!(listen = %config.listen, tls = config.tls.is_some(), "serving");
    service::ready();

    shutdown.await;
    tracing::info!("stopping on signal");
    service::stopping();
    let _ = stop.send(true);
    let server_abort = server.abort_handle();
    // In-flight requests get `--shutdown-grace` (4 s); systemd's stop timeout is far longer.
    let grace = config.shutdown_grace;
    match tokio::time::timeout(grace, server).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!("the server task failed: {err}"),
        Err(_) => {
            tracing::warn!(
                "requests still running after {}; stopping anyway",
                humantime::format_duration(grace)
            );
            server_abort.abort();
        }
    }
    // Stream connections outlive the HTTP server (they were upgraded); on the stop signal they
    // close and hand over their last messages, and the batcher writes them and ends.
    if let Err(unwritten) = batcher_task.finish(Duration::from_secs(3)).await {
        tracing::error!(
            "{unwritten} stream messages taken from nodes were not written: the database did not \
             take them within 3s of the stop"
        );
    }
    // The handlers' writer handles are gone with the server: the writer commits what is queued
    // and ends.
    if tokio::time::timeout(Duration::from_secs(1), writer_task)
        .await
        .is_err()
    {
        tracing::warn!("the last batch was not committed within 1s");
    }
    // A connection still busy (a hung database) does not hold up the exit.
    let _ = tokio::time::timeout(Duration::from_secs(1), store.close()).await;
    Ok(ExitCode::SUCCESS)
}

/// `serve --test-alert`: one test notification to every webhook; exit 0 when each took it.
pub async fn test_alert(config: ServeConfig) -> Result<ExitCode, Error> {
    let metrics = Arc::new(metrics::ServeMetrics::default());
    let alerts =
        alerts::Alerts::new(config.alerts, "test-alert".into(), metrics).map_err(Error::Setup)?;
    Ok(if alerts.test().await {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The kernel's name for this host.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into())
}

/// What the purge keeps, and how often it runs.
struct PurgeSchedule {
    retention: Duration,
    raw_window: Duration,
    every: Duration,
}

/// Deletes validator-epochs, objects and stream nodes' minute samples older than the retention,
/// stream messages (not those from `/audit`) older than the raw window, and blocks (with their
/// nodes' reports) older than the network view's longest window (at most the retention): at
/// start, then every `--purge-every`. Validator-epochs go first: the objects'
/// purge then removes the machines silent since. First the past days' tables are dropped (SQLite:
/// the hours' files), so that the row-by-row purges find little, then the coming ones made (SQLite:
/// the past hours' files finished, which need not be done for a file just removed). Each step's time
/// is in `/metrics` (`database_seconds`, operations `purge_*`, `make_days`, `drop_days`).
async fn purge_forever<S: Database>(
    store: Arc<S>,
    schedule: PurgeSchedule,
    metrics: Arc<metrics::ServeMetrics>,
    ingest: std::sync::Weak<streams::Streams>,
    mut stop: watch::Receiver<bool>,
) {
    let behind = || ingest.upgrade().is_some_and(|streams| streams.behind());
    let millis = |window: Duration| i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    loop {
        let now = now_ms();
        let before = now.saturating_sub(millis(schedule.retention));
        let raw_before = now.saturating_sub(millis(schedule.raw_window));
        let blocks_before = now.saturating_sub(millis(schedule.retention.min(network::MAX_WINDOW)));
        match metrics
            .timed("drop_days", store.drop_days(raw_before, before))
            .await
        {
            Ok(days) if days.is_empty() => {}
            Ok(days) => tracing::info!(?days, "dropped the partitions of days past their window"),
            Err(err) => tracing::warn!(
                "days past their window were not dropped (tried again at the next purge): {err}"
            ),
        }
        if let Err(err) = metrics.timed("make_days", store.make_days(now)).await {
            tracing::warn!("{err} (tried again at the next purge)");
        }
        let validator_epochs = purge_in_batches(&stop, &behind, |batch| {
            metrics.timed("purge_validators", store.purge_validators(before, batch))
        })
        .await;
        let objects = purge_in_batches(&stop, &behind, |batch| {
            metrics.timed("purge_objects", store.purge(before, batch))
        })
        .await;
        let messages = purge_in_batches(&stop, &behind, |batch| {
            metrics.timed("purge_logs", store.purge_logs(raw_before, batch))
        })
        .await;
        let samples = purge_in_batches(&stop, &behind, |batch| {
            metrics.timed("purge_samples", store.purge_samples(before, batch))
        })
        .await;
        let blocks = purge_in_batches(&stop, &behind, |batch| {
            metrics.timed("purge_blocks", store.purge_blocks(blocks_before, batch))
        })
        .await;
        match store.purge_sessions(now_ms()).await {
            Ok(0) => {}
            Ok(sessions) => tracing::debug!(sessions, "purged expired and revoked sign-ins"),
            Err(err) => {
                tracing::warn!("sign-ins were not purged (tried again at the next purge): {err}")
            }
        }
        if validator_epochs + objects + messages + samples + blocks > 0 {
            tracing::info!(
                validator_epochs,
                objects,
                messages,
                samples,
                blocks,
                "purged what is older than the retention (messages: the raw window)"
            );
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(schedule.every) => {}
        }
    }
}

/// Runs `purge` (deleting up to a batch), each batch followed by a pause as long as it took,
/// until a batch comes back short or the server stops; returns how many rows went. While the
/// stream ingest is `behind`, the purge waits: it takes only the time ingest leaves, and falls
/// behind its window rather than the nodes' messages behind their arrival.
async fn purge_in_batches<F, P>(
    stop: &watch::Receiver<bool>,
    behind: &(dyn Fn() -> bool + Sync),
    purge: P,
) -> u64
where
    P: Fn(u32) -> F,
    F: Future<Output = Result<u64, StoreError>>,
{
    let mut purged = 0;
    loop {
        while behind() && !*stop.borrow() {
            tokio::time::sleep(INGEST_FIRST).await;
        }
        let started = tokio::time::Instant::now();
        match purge(PURGE_BATCH).await {
            Ok(deleted) => {
                purged += deleted;
                if deleted < u64::from(PURGE_BATCH) || *stop.borrow() {
                    return purged;
                }
                tokio::time::sleep(started.elapsed()).await;
            }
            Err(err) => {
                tracing::warn!("retention purge failed (tried again at the next purge): {err}");
                return purged;
            }
        }
    }
}

/// `nodepulse keys add|list|remove`.
pub async fn manage_keys(
    command: KeysCommand,
    database: Option<String>,
) -> Result<ExitCode, Error> {
    let url = config::database_url(database)?;
    let store = SqlStore::open(url.expose()).await.map_err(store_error)?;
    match command {
        KeysCommand::Add { name, admin } => {
            if name.is_empty() || name.chars().any(char::is_control) {
                return Err(Error::Setup(
                    "a key's name must be non-empty, without control characters".into(),
                ));
            }
            let key = keys::generate().map_err(Error::Setup)?;
            store
                .add_key(&name, &key, admin, now_ms())
                .await
                .map_err(store_error)?;
            eprintln!(
                "added key {name:?}{}; it is shown once:",
                if admin { " (admin)" } else { "" }
            );
            crate::stdout::print(key.expose()).map_err(Error::Output)?;
        }
        KeysCommand::List => {
            let mut lines = vec![format!(
                "{:<24} {:<5} {:<20} {}",
                "NAME", "ADMIN", "CREATED", "LAST USED"
            )];
            for key in store.list_keys().await.map_err(store_error)? {
                lines.push(format!(
                    "{:<24} {:<5} {:<20} {}",
                    key.name,
                    if key.admin { "yes" } else { "no" },
                    utc_or_never(Some(key.created_ms)),
                    utc_or_never(key.last_used_ms),
                ));
            }
            crate::stdout::print(&lines.join("\n")).map_err(Error::Output)?;
        }
        KeysCommand::Remove { name } => {
            if !store
                .remove_key(&name, now_ms())
                .await
                .map_err(store_error)?
            {
                return Err(Error::Setup(format!("no key named {name:?}")));
            }
            eprintln!("removed key {name:?}; its data stays until retention purges it");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A time in Unix milliseconds as an RFC 3339 UTC time, for `keys list`; none is "never".
fn utc_or_never(ms: Option<i64>) -> String {
    match ms.and_then(|ms| u64::try_from(ms).ok()) {
        Some(ms) => {
            humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_millis(ms))
                .to_string()
        }
        None => "never".into(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn the_purge_waits_while_ingest_is_behind_and_stops_at_a_short_batch() {
        let (_stop, stop) = watch::channel(false);
        // Behind for the first three looks, then caught up.
        let looks = AtomicU32::new(0);
        let behind = || looks.fetch_add(1, Ordering::SeqCst) < 3;
        let deletes = AtomicU32::new(0);
        let purged = purge_in_batches(&stop, &behind, |batch| {
            let first = deletes.fetch_add(1, Ordering::SeqCst) == 0;
            let looked = looks.load(Ordering::SeqCst);
            async move {
                assert!(looked > 3, "a delete ran while ingest was behind");
                // A full batch, then a short one: the last.
                Ok(if first { u64::from(batch) } else { 7 })
            }
        })
        .await;
        assert_eq!(purged, u64::from(PURGE_BATCH) + 7);
        assert_eq!(deletes.load(Ordering::SeqCst), 2);
    }
}
