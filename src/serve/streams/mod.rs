//! Telemetry streams in: Substrate and Starknet nodes connect over WebSocket to `/submit` (their
//! messages purged after `--retention`) or `/audit` (kept until deleted). Each connection is read
//! by `connection`, within the `limits`, once `upgrade` let it in, and what it carries is written
//! by the `batcher`; the queries over it are in `queries`. This module owns what every connection
//! shares.

mod batcher;
mod connection;
pub mod limits;
pub mod live;
pub mod queries;
pub mod upgrade;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::metrics::ServeMetrics;
use super::store::streams::StreamStore;
pub use batcher::BatchLimits;
use batcher::{Batcher, BatcherTask};
use limits::{AllowList, Blocked, PerAddress};
use live::Live;

/// The stream limits and batching, as configured.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    pub max_frame_bytes: usize,
    pub bytes_per_second: u64,
    pub connections_per_address: usize,
    /// A node silent this long is marked disconnected.
    pub silence: Duration,
    pub allow: AllowList,
    /// `--submit-origins`: the browser pages that may stream.
    pub origins: Vec<String>,
    /// `--block-for`: how long an address that broke a limit is refused.
    pub block_for: Duration,
    pub batch: BatchLimits,
}

/// What every connection shares.
pub struct Streams {
    pub settings: StreamSettings,
    batcher: Batcher,
    per_address: PerAddress,
    /// Addresses refused for a while: they broke a limit.
    pub blocked: Blocked,
    pub metrics: Arc<ServeMetrics>,
    /// What open pages hear of committed writes.
    pub live: Arc<Live>,
    /// Becomes true when the server stops: connections close (1001) and hand over what they hold.
    stopping: watch::Receiver<bool>,
}

impl Streams {
    /// Starts the batcher and the news for open pages; the batcher's task ends once every connection (and this) is gone and the queue is
    /// written.
    pub async fn start<S: StreamStore>(
        store: Arc<S>,
        settings: StreamSettings,
        metrics: Arc<ServeMetrics>,
        stopping: watch::Receiver<bool>,
    ) -> (Streams, BatcherTask) {
        tokio::spawn(disconnect_stale_forever(
            Arc::clone(&store),
            settings.silence,
            stopping.clone(),
        ));
        let live = Arc::new(Live::start(&*store, stopping.clone()).await);
        let (batcher, task) = Batcher::start(
            store,
            settings.batch,
            Arc::clone(&metrics),
            Arc::clone(&live),
        );
        let streams = Streams {
            per_address: PerAddress::new(settings.connections_per_address),
            blocked: Blocked::new(settings.block_for),
            settings,
            batcher,
            metrics,
            live,
            stopping,
        };
        (streams, task)
    }
}

impl Streams {
    /// Becomes true when the server stops.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.clone()
    }

    /// More is waiting for the batcher than one batch takes: the database is behind the nodes.
    pub fn behind(&self) -> bool {
        self.batcher.waiting() > self.settings.batch.messages
    }
}

/// Marks nodes disconnected whose connection died without telling (an instance killed with
/// `kill -9`, a crash): at start, then every `--node-silence`. A node on a live connection, of
/// this instance or another sharing the database, has its contact written every few seconds while
/// it sends, and is marked gone by its own connection after `silence` without a frame; one not
/// heard from for `silence` and two contact periods more has no live connection anywhere.
/// (Instances sharing a database are meant to share `--node-silence`.)
async fn disconnect_stale_forever<S: StreamStore>(
    store: Arc<S>,
    silence: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let stale_after_ms =
        i64::try_from(silence.as_millis()).unwrap_or(i64::MAX) + 2 * batcher::CONTACT_EVERY_MS;
    loop {
        let before = crate::serve::now_ms().saturating_sub(stale_after_ms);
        match store.disconnect_stale(before).await {
            Ok(0) => {}
            Ok(nodes) => tracing::info!(
                nodes,
                "stream nodes left connected by a connection that died are disconnected"
            ),
            Err(err) => tracing::warn!(
                "stale stream nodes were not marked disconnected (tried again later): {err}"
            ),
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(silence) => {}
        }
    }
}
