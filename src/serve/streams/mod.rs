//! Telemetry streams in: Substrate and Starknet nodes connect over WebSocket to `/submit` (their
//! messages purged after `--retention`) or `/audit` (kept until deleted). Each connection is read
//! by `connection`, within the `limits`, and what it carries is written by the `batcher`; the
//! queries over it are in `queries`.

mod batcher;
mod connection;
pub mod limits;
pub mod queries;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::http::{ApiError, AppState, PeerAddr};
use super::store::Store;
use super::store::streams::StreamStore;
use super::telemetry::{ServeTelemetry, StreamRefusal};
pub use batcher::BatchLimits;
use batcher::Batcher;
use limits::{AllowList, Blocked, PerAddress};

/// Bytes read from a connection at a time; a telemetry frame is a few hundred.
const READ_BUFFER_BYTES: usize = 16 * 1024;

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
    pub telemetry: Arc<ServeTelemetry>,
    /// Becomes true when the server stops: connections close (1001) and hand over what they hold.
    stopping: watch::Receiver<bool>,
}

impl Streams {
    /// Starts the batcher; its task ends once every connection (and this) is gone and the queue is
    /// written.
    pub fn start<S: StreamStore>(
        store: Arc<S>,
        settings: StreamSettings,
        telemetry: Arc<ServeTelemetry>,
        stopping: watch::Receiver<bool>,
    ) -> (Streams, JoinHandle<()>) {
        tokio::spawn(disconnect_stale_forever(
            Arc::clone(&store),
            settings.silence,
            stopping.clone(),
        ));
        let (batcher, task) = Batcher::start(store, settings.batch, Arc::clone(&telemetry));
        let streams = Streams {
            per_address: PerAddress::new(settings.connections_per_address),
            blocked: Blocked::new(settings.block_for),
            settings,
            batcher,
            telemetry,
            stopping,
        };
        (streams, task)
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

/// `/submit`: purged after the retention.
pub async fn submit<S: Store + StreamStore>(
    State(shared): State<AppState<S>>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    accept(shared, peer, &headers, upgrade, false)
}

/// `/audit`: kept until deleted.
pub async fn audit<S: Store + StreamStore>(
    State(shared): State<AppState<S>>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    accept(shared, peer, &headers, upgrade, true)
}

fn accept<S: Store + StreamStore>(
    shared: AppState<S>,
    peer: SocketAddr,
    headers: &HeaderMap,
    upgrade: WebSocketUpgrade,
    audit: bool,
) -> Response {
    let streams = Arc::clone(&shared.streams);
    if !streams.settings.allow.permits(peer.ip()) {
        streams
            .telemetry
            .stream_refused(StreamRefusal::NotAllowed, 1);
        tracing::warn!(%peer, "stream refused: the address is not in --submit-allow");
        return ApiError::new(StatusCode::FORBIDDEN, "this address may not submit").into_response();
    }
    let now = tokio::time::Instant::now();
    if let Some(until) = streams.blocked.until(peer.ip(), now) {
        streams.telemetry.stream_refused(StreamRefusal::Blocked, 1);
        let left = until.saturating_duration_since(now);
        tracing::debug!(%peer, "stream refused: the address broke a limit lately");
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "this address broke a stream limit and is refused for a while",
        )
        .retry_after(left)
        .into_response();
    }
    // Nodes send no Origin; a browser always does, and a page elsewhere must not inject nodes
    // through a visitor's browser (inside --submit-allow's network, say).
    if let Some(origin) = headers.get(header::ORIGIN) {
        let allowed = origin
            .to_str()
            .is_ok_and(|origin| streams.settings.origins.iter().any(|o| o == origin));
        if !allowed {
            streams
                .telemetry
                .stream_refused(StreamRefusal::NotAllowed, 1);
            tracing::warn!(%peer, ?origin, "stream refused: a browser page not in --submit-origins");
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "a browser page may not submit unless --submit-origins names it",
            )
            .into_response();
        }
    }
    // Taken before the upgrade so that a burst of connections cannot all slip in; over the limit
    // the connection is accepted and closed with 1008, which tells a node why.
    let slot = streams.per_address.take(peer.ip());
    let cap = streams.settings.max_frame_bytes;
    upgrade
        // tungstenite zeroes its whole read buffer before every read; at thousands of small
        // frames a second the default 128 KiB made that a tenth of the server's CPU.
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(cap)
        .max_frame_size(cap)
        .on_upgrade(move |socket| connection::serve(socket, peer, audit, slot, streams))
}
