//! Letting a stream in: `/submit` and `/audit` take a WebSocket upgrade from an address that is
//! allowed, not blocked, not a browser page elsewhere, and within its connection count.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::connection;
use crate::serve::error::ApiError;
use crate::serve::metrics::StreamRefusal;
use crate::serve::state::{AppState, PeerAddr};
use crate::serve::store::Database;

/// Bytes read from a connection at a time; a telemetry frame is a few hundred bytes, and a larger
/// one is read whole into a buffer of its own size, this many bytes a read.
const READ_BUFFER_BYTES: usize = 4096;

/// `/submit`: purged after the retention.
pub async fn submit<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    accept(shared, peer, &headers, upgrade, false)
}

/// `/audit`: kept until deleted.
pub async fn audit<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    accept(shared, peer, &headers, upgrade, true)
}

fn accept<S: Database>(
    shared: Arc<AppState<S>>,
    peer: SocketAddr,
    headers: &HeaderMap,
    upgrade: WebSocketUpgrade,
    audit: bool,
) -> Response {
    let streams = Arc::clone(&shared.streams);
    if !streams.settings.allow.permits(peer.ip()) {
        streams.metrics.stream_refused(StreamRefusal::NotAllowed, 1);
        tracing::warn!(%peer, "stream refused: the address is not in --submit-allow");
        return ApiError::new(StatusCode::FORBIDDEN, "this address may not submit").into_response();
    }
    let now = tokio::time::Instant::now();
    if let Some(until) = streams.blocked.until(peer.ip(), now) {
        streams.metrics.stream_refused(StreamRefusal::Blocked, 1);
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
            streams.metrics.stream_refused(StreamRefusal::NotAllowed, 1);
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
        // tungstenite zeroes its whole read buffer before every read: at thousands of small frames
        // a second the default 128 KiB made that a tenth of the server's CPU, and 16 KiB still 3 %.
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(cap)
        .max_frame_size(cap)
        .on_upgrade(move |socket| connection::serve(socket, peer, audit, slot, streams))
}
