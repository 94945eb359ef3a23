//! The server's connections, before any request: accepted from the listener (plain TCP or TLS),
//! capped per address, and served by hyper's HTTP/1.1 with a bounded request head that must
//! arrive within `--header-timeout` (an idle kept-alive connection is closed after it too). A
//! client that opens connections and never finishes a request holds each for that long at most.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::header::{self, HeaderMap};
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower_service::Service;

use super::metrics::ServeMetrics;
use super::state::PeerAddr;
use super::streams::limits::{Cidr, PerAddress};

/// Largest request head (request line and headers) read; a longer one is answered 431 and the
/// connection closed. Keys, cookies and paths come nowhere near it.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// `--max-http-connections-per-ip`.
    pub per_address: usize,
    /// `--header-timeout`.
    pub header_timeout: Duration,
    /// `--trusted-proxies`.
    pub trusted_proxies: Vec<Cidr>,
}

impl ConnectionLimits {
    fn trusts(&self, address: IpAddr) -> bool {
        self.trusted_proxies
            .iter()
            .any(|range| range.contains(address))
    }

    /// Who a request came from: the peer, or, when the peer is a trusted proxy, the client its
    /// `X-Forwarded-For` (else `Forwarded`) names: the nearest address in the chain that is not
    /// itself a trusted proxy. A client's own header sent straight here is not believed.
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> SocketAddr {
        if !self.trusts(peer.ip()) {
            return peer;
        }
        let forwarded_for = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(|hop| hop.trim().parse::<IpAddr>().ok())
            .collect::<Vec<_>>();
        let chain = if forwarded_for.is_empty() {
            headers
                .get_all(header::FORWARDED)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(|value| value.split(','))
                .map(forwarded_for_address)
                .collect()
        } else {
            forwarded_for
        };
        // From the nearest hop back: trusted proxies are skipped; the first other is the client.
        // An unreadable hop ends the walk: what is beyond it cannot be told apart from a lie.
        for hop in chain.iter().rev() {
            match hop {
                Some(address) if self.trusts(*address) => continue,
                Some(address) => return SocketAddr::new(*address, 0),
                None => break,
            }
        }
        peer
    }
}

/// The address of one `Forwarded` element's `for=` (RFC 7239: `for=192.0.2.1`,
/// `for="[2001:db8::1]:4711"`), if it is one.
fn forwarded_for_address(element: &str) -> Option<IpAddr> {
    let value = element
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| name.eq_ignore_ascii_case("for"))
        .map(|(_, value)| value.trim().trim_matches('"'))?;
    if let Some(bracketed) = value.strip_prefix('[') {
        return bracketed.split(']').next()?.parse().ok();
    }
    value.parse().ok().or_else(|| {
        value
            .rsplit_once(':')
            .and_then(|(address, _)| address.parse().ok())
    })
}

/// What serves each connection, whichever listener gives it.
pub struct Serving {
    pub router: Router,
    pub limits: ConnectionLimits,
    pub metrics: Arc<ServeMetrics>,
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
        metrics,
        mut stop,
    } = serving;
    let per_address = PerAddress::new(limits.per_address);
    let limits = Arc::new(limits);
    let mut connections = JoinSet::new();
    loop {
        let (io, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => break,
        };
        // Reap the finished ones, so the set holds only what is open.
        while connections.try_join_next().is_some() {}
        // A trusted proxy carries many clients: they are counted where they are told apart, as
        // streams by the address it forwards.
        let slot = if limits.trusts(peer.ip()) {
            None
        } else {
            match per_address.take(peer.ip()) {
                Some(slot) => Some(slot),
                None => {
                    metrics.http_connection_refused();
                    tracing::debug!(%peer, "connection closed at once: its address holds {} already", limits.per_address);
                    continue;
                }
            }
        };
        let header_timeout = limits.header_timeout;
        let (router, named) = (router.clone(), Arc::clone(&limits));
        // Handlers read the client's address as axum's `ConnectInfo`.
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            let client = named.client(peer, request.headers());
            request
                .extensions_mut()
                .insert(ConnectInfo(PeerAddr(client)));
            let mut router = router.clone();
            async move { router.call(request.map(Body::new)).await }
        });
        let (metrics, mut stop) = (Arc::clone(&metrics), stop.clone());
        connections.spawn(async move {
            let _slot = slot;
            let _open = metrics.http_connection();
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn behind(proxies: &[&str]) -> ConnectionLimits {
        ConnectionLimits {
            per_address: 1,
            header_timeout: Duration::from_secs(1),
            trusted_proxies: proxies
                .iter()
                .map(|range| range.parse().expect("a range"))
                .collect(),
        }
    }

    fn client(limits: &ConnectionLimits, peer: &str, headers: &[(&str, &str)]) -> String {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                header::HeaderName::from_bytes(name.as_bytes()).expect("a name"),
                value.parse().expect("a value"),
            );
        }
        limits
            .client(peer.parse().expect("a peer"), &map)
            .ip()
            .to_string()
    }

    #[test]
    fn only_a_trusted_proxy_names_the_client() {
        let proxy = behind(&["10.0.0.0/8"]);
        let xff = [("X-Forwarded-For", "203.0.113.7")];
        assert_eq!(client(&proxy, "10.1.2.3:5000", &xff), "203.0.113.7");
        // A client that sends the header itself is not believed.
        assert_eq!(client(&proxy, "198.51.100.1:5000", &xff), "198.51.100.1");
        assert_eq!(client(&behind(&[]), "10.1.2.3:5000", &xff), "10.1.2.3");
    }

    #[test]
    fn the_nearest_address_that_is_no_trusted_proxy_is_the_client() {
        let proxies = behind(&["10.0.0.0/8"]);
        // A client's forged first hop, the real client, then a second proxy of ours.
        let chain = [("X-Forwarded-For", "1.1.1.1, 203.0.113.7, 10.9.9.9")];
        assert_eq!(client(&proxies, "10.1.2.3:5000", &chain), "203.0.113.7");
        let split = [
            ("X-Forwarded-For", "1.1.1.1"),
            ("X-Forwarded-For", "203.0.113.7"),
        ];
        assert_eq!(client(&proxies, "10.1.2.3:5000", &split), "203.0.113.7");
        // Garbage nearest: nothing beyond it is believed.
        let garbage = [("X-Forwarded-For", "203.0.113.7, unknown")];
        assert_eq!(client(&proxies, "10.1.2.3:5000", &garbage), "10.1.2.3");
        let forwarded = [(
            "Forwarded",
            "for=192.0.2.60;proto=https, for=\"[2001:db8::1]:4711\"",
        )];
        assert_eq!(client(&proxies, "10.1.2.3:5000", &forwarded), "2001:db8::1");
        let with_port = [("Forwarded", "for=\"192.0.2.60:8080\"")];
        assert_eq!(client(&proxies, "10.1.2.3:5000", &with_port), "192.0.2.60");
    }
}
