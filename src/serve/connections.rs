//! The server's connections, before any request: accepted from the listener (plain TCP or TLS),
//! capped per address, and served by hyper's HTTP/1.1 with a bounded request head that must
//! arrive within `--header-timeout` (an idle kept-alive connection is closed after it too). A
//! client that opens connections and never finishes a request holds each for that long at most.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower_service::Service;

use super::http::PeerAddr;
use super::streams::limits::PerAddress;
use super::telemetry::ServeTelemetry;

/// Largest request head (request line and headers) read; a longer one is answered 431 and the
/// connection closed. Keys, cookies and paths come nowhere near it.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// `--max-http-connections-per-ip`.
    pub per_address: usize,
    /// `--header-timeout`.
    pub header_timeout: Duration,
}

/// What serves each connection, whichever listener gives it.
pub struct Serving {
    pub router: Router,
    pub limits: ConnectionLimits,
    pub telemetry: Arc<ServeTelemetry>,
    /// Becomes true when the server stops.
    pub stop: watch::Receiver<bool>,
}

/// Serves every connection `listener` gives until the stop, then lets the requests in flight
/// finish (the caller bounds how long).
pub async fn serve<L>(mut listener: L, serving: Serving)
where
    L: Listener<Addr = SocketAddr>,
{
    let Serving {
        router,
        limits,
        telemetry,
        mut stop,
    } = serving;
    let per_address = PerAddress::new(limits.per_address);
    let mut connections = JoinSet::new();
    loop {
        let (io, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => break,
        };
        // Reap the finished ones, so the set holds only what is open.
        while connections.try_join_next().is_some() {}
        let Some(slot) = per_address.take(peer.ip()) else {
            telemetry.http_connection_refused();
            tracing::debug!(%peer, "connection closed at once: its address holds {} already", limits.per_address);
            continue;
        };
        let router = router.clone();
        // Handlers read the peer's address as axum's `ConnectInfo`.
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(PeerAddr(peer)));
            let mut router = router.clone();
            async move { router.call(request.map(Body::new)).await }
        });
        let (telemetry, mut stop) = (Arc::clone(&telemetry), stop.clone());
        connections.spawn(async move {
            let _slot = slot;
            let _open = telemetry.http_connection();
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .max_header_size(MAX_HEAD_BYTES);
            let connection = builder
                .serve_connection(TokioIo::new(io), service)
                .with_upgrades();
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(err) = result {
                tracing::debug!(%peer, "connection ended: {err}");
            }
        });
    }
    // New connections are refused from here on; those open finish their requests.
    drop(listener);
    while connections.join_next().await.is_some() {}
}
