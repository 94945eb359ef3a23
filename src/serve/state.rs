//! What every handler shares, one value for the whole server: the store, the writer, the rate
//! limits, the streams, the alerts and the settings requests are answered by; and the address a
//! request came from.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use super::alerts::Alerts;
use super::feed::hub::FeedHub;
use super::metrics::ServeMetrics;
use super::rate::RateLimit;
use super::streams::Streams;
use super::writer::Writer;

/// A key's last use is written at most this often (reads would otherwise write on every request).
const LAST_USED_EVERY_MS: i64 = 60_000;

/// The state every handler gets, behind an `Arc`.
pub struct AppState<S> {
    pub store: Arc<S>,
    pub writer: Writer,
    pub rate: RateLimit,
    /// The same rate for what comes without a key (public reads, failed sign-ins), by address.
    pub address_rate: RateLimit<IpAddr>,
    /// When each key's last use was written.
    pub last_used: LastUsed,
    pub metrics: Arc<ServeMetrics>,
    pub streams: Arc<Streams>,
    /// What fires now, for the page.
    pub alerts: Arc<Alerts>,
    /// `--offline-after`, in the unit the store's times are in.
    pub offline_after_ms: i64,
    pub fleet_metrics: bool,
    /// Stream reads need no key.
    pub public_reads: bool,
    /// Stream answers carry node addresses.
    pub expose_node_ip: bool,
    /// Served over TLS: the sign-in cookie is `Secure`.
    pub secure_cookies: bool,
    /// The chains' `/metrics` families, kept a few seconds.
    pub exported_chains: KeptText,
    /// What substrate-telemetry's feed readers were told.
    pub feed: Arc<FeedHub>,
}

/// Text computed now and then and kept a while.
#[derive(Default)]
pub struct KeptText(Mutex<Option<(i64, String)>>);

impl KeptText {
    /// The text, if kept less than `max_age_ms` before `now_ms`.
    pub fn fresh(&self, now_ms: i64, max_age_ms: i64) -> Option<String> {
        let kept = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        kept.as_ref()
            .filter(|(at_ms, _)| now_ms.saturating_sub(*at_ms) < max_age_ms)
            .map(|(_, text)| text.clone())
    }

    pub fn keep(&self, now_ms: i64, text: String) {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((now_ms, text));
    }
}

/// The address a request came from (`serve/connections.rs` hands it to every request).
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// When each key's last use was written.
#[derive(Default)]
pub struct LastUsed(Mutex<HashMap<i64, i64>>);

impl LastUsed {
    /// Whether key `key_id`'s use at `now_ms` is to be written.
    pub fn due(&self, key_id: i64, now_ms: i64) -> bool {
        let mut written = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let due = written
            .get(&key_id)
            .is_none_or(|at| now_ms.saturating_sub(*at) >= LAST_USED_EVERY_MS);
        if due {
            written.insert(key_id, now_ms);
        }
        due
    }
}
