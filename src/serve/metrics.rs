//! The server's own `/metrics`: requests by route and status, objects stored and rejected by
//! reason, how long the database takes, and the streams' connections, nodes, frames and batches.

use std::future::Future;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::alerts::rules::Rule;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProcessLabels {
    process: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

/// Why objects were not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The body broke the receiver's rules (400).
    Invalid,
    /// The (machine, process, minute) was taken (dropped; 429 when the whole request was).
    SameMinute,
    /// No or an unknown key (401).
    Unauthorized,
    /// Over the per-key request rate (429).
    RateLimited,
    /// Over the body cap (413).
    TooLarge,
    /// The database was unavailable (503).
    Unavailable,
}

impl Rejection {
    fn label(self) -> &'static str {
        match self {
            Rejection::Invalid => "invalid",
            Rejection::SameMinute => "same_minute",
            Rejection::Unauthorized => "unauthorized",
            Rejection::RateLimited => "rate_limited",
            Rejection::TooLarge => "too_large",
            Rejection::Unavailable => "unavailable",
        }
    }
}

/// Why stream frames (or connections) were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamRefusal {
    /// Not JSON, not a frame of either stream, or a `system.connected` without its keys.
    Malformed,
    /// A message for a node that has not identified itself (ignored).
    BeforeConnected,
    /// A 21st node on one connection (ignored, the connection kept).
    TooManyNodes,
    /// Over the frame cap (closed with 1009).
    TooLarge,
    /// Over the bytes-per-second limit (closed with 1008).
    RateLimited,
    /// Over the connections per address (closed with 1008).
    TooManyConnections,
    /// The address is not in `--submit-allow`, or a browser page not in `--submit-origins` (403).
    NotAllowed,
    /// The address broke a limit lately and is refused for `--block-for` (403).
    Blocked,
    /// The database refused the batch for good (counted, logged).
    Unstorable,
}

impl StreamRefusal {
    pub fn label(self) -> &'static str {
        match self {
            StreamRefusal::Malformed => "malformed",
            StreamRefusal::BeforeConnected => "before_connected",
            StreamRefusal::TooManyNodes => "too_many_nodes",
            StreamRefusal::TooLarge => "too_large",
            StreamRefusal::RateLimited => "rate_limited",
            StreamRefusal::TooManyConnections => "too_many_connections",
            StreamRefusal::NotAllowed => "not_allowed",
            StreamRefusal::Blocked => "blocked",
            StreamRefusal::Unstorable => "unstorable",
        }
    }
}

/// Message kinds counted under their own name; any other is `other`, so that what nodes send
/// cannot grow the label set without bound.
const KNOWN_KINDS: &[&str] = &[
    "system.connected",
    "system.interval",
    "system.network_state",
    "block.import",
    "notify.finalized",
    "notify.leaf",
    "txpool.import",
    "afg.finalized_blocks_up_to",
    "afg.received_prevote",
    "afg.received_precommit",
    "afg.received_commit",
    "afg.authority_set",
    "sysinfo.hwbench",
    "starknet",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

pub struct ServeMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    stored: Family<ProcessLabels, Counter>,
    rejected: Family<ReasonLabels, Counter>,
    database: Family<OperationLabels, Histogram>,
    connections: Gauge,
    http_connections: Gauge,
    requests_in_flight: Gauge,
    http_refused: Counter,
    nodes: Gauge,
    frames: Family<KindLabels, Counter>,
    refused: Family<ReasonLabels, Counter>,
    batch_messages: Histogram,
    alerts_firing: Family<RuleLabels, Gauge>,
    notifications: Family<OutcomeLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabels {
    rule: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// Counts one open thing (a connection, a request in flight) until dropped.
pub struct Open<'a>(&'a Gauge);

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Default for ServeMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("nodepulse_serve");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "HTTP requests answered, by route and status",
            requests.clone(),
        );
        let stored = Family::<ProcessLabels, Counter>::default();
        registry.register(
            "objects_stored",
            "Client-stats objects committed to the store",
            stored.clone(),
        );
        let rejected = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "objects_rejected",
            "Client-stats objects (or requests, where no object was read) not stored, by reason",
            rejected.clone(),
        );
        let database = Family::<OperationLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 14))
        });
        registry.register(
            "database_seconds",
            "Time the database took, by operation",
            database.clone(),
        );
        let connections = Gauge::default();
        registry.register(
            "stream_connections",
            "Telemetry stream connections open",
            connections.clone(),
        );
        let http_connections = Gauge::default();
        registry.register(
            "http_connections",
            "HTTP connections open (a stream's counts until it is upgraded)",
            http_connections.clone(),
        );
        let requests_in_flight = Gauge::default();
        registry.register(
            "requests_in_flight",
            "HTTP requests read and not yet answered",
            requests_in_flight.clone(),
        );
        let http_refused = Counter::default();
        registry.register(
            "http_connections_refused",
            "Connections closed at once: their address held --max-http-connections-per-ip",
            http_refused.clone(),
        );
        let nodes = Gauge::default();
        registry.register(
            "stream_nodes",
            "Stream nodes connected (identified and not silent)",
            nodes.clone(),
        );
        let frames = Family::<KindLabels, Counter>::default();
        registry.register(
            "stream_frames",
            "Stream frames read, by message kind",
            frames.clone(),
        );
        let refused = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "stream_refused",
            "Stream frames or connections refused, by reason",
            refused.clone(),
        );
        let batch_messages = Histogram::new(exponential_buckets(1.0, 4.0, 7));
        registry.register(
            "stream_batch_messages",
            "Messages per stream batch written",
            batch_messages.clone(),
        );
        let alerts_firing = Family::<RuleLabels, Gauge>::default();
        registry.register(
            "alerts_firing",
            "Alerts firing now, by rule",
            alerts_firing.clone(),
        );
        let notifications = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "alert_notifications",
            "Alert notifications sent to webhooks, delivered or not",
            notifications.clone(),
        );
        ServeMetrics {
            registry,
            requests,
            stored,
            rejected,
            database,
            connections,
            http_connections,
            requests_in_flight,
            http_refused,
            nodes,
            frames,
            refused,
            batch_messages,
            alerts_firing,
            notifications,
        }
    }
}

impl ServeMetrics {
    pub fn request(&self, route: &str, status: u16) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                status,
            })
            .inc();
    }

    pub fn stored(&self, process: &'static str) {
        self.stored.get_or_create(&ProcessLabels { process }).inc();
    }

    pub fn rejected(&self, reason: Rejection, count: u64) {
        self.rejected
            .get_or_create(&ReasonLabels {
                reason: reason.label(),
            })
            .inc_by(count);
    }

    pub fn database(&self, operation: &'static str, took: Duration) {
        self.database
            .get_or_create(&OperationLabels { operation })
            .observe(took.as_secs_f64());
    }

    /// Runs one database operation, its time counted under `operation`: the one way every
    /// handler and task times what it asks of the store.
    pub async fn timed<T>(&self, operation: &'static str, work: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let result = work.await;
        self.database(operation, started.elapsed());
        result
    }

    pub fn stream_connection(&self) -> Open<'_> {
        self.connections.inc();
        Open(&self.connections)
    }

    pub fn http_connection(&self) -> Open<'_> {
        self.http_connections.inc();
        Open(&self.http_connections)
    }

    /// Counts a request in flight until dropped.
    pub fn request_in_flight(&self) -> Open<'_> {
        self.requests_in_flight.inc();
        Open(&self.requests_in_flight)
    }

    pub fn http_connection_refused(&self) {
        self.http_refused.inc();
    }

    pub fn stream_node_joined(&self) {
        self.nodes.inc();
    }

    pub fn stream_node_left(&self) {
        self.nodes.dec();
    }

    pub fn stream_frame(&self, kind: &str) {
        let kind = KNOWN_KINDS
            .iter()
            .find(|known| **known == kind)
            .copied()
            .unwrap_or("other");
        self.frames.get_or_create(&KindLabels { kind }).inc();
    }

    pub fn stream_refused(&self, reason: StreamRefusal, count: u64) {
        self.refused
            .get_or_create(&ReasonLabels {
                reason: reason.label(),
            })
            .inc_by(count);
    }

    pub fn stream_batch(&self, messages: usize) {
        self.batch_messages.observe(messages as f64);
    }

    pub fn alerts_firing(&self, firing: &std::collections::BTreeMap<Rule, usize>) {
        for (rule, count) in firing {
            self.alerts_firing
                .get_or_create(&RuleLabels { rule: rule.name() })
                .set(*count as i64);
        }
    }

    pub fn alert_notification(&self, delivered: bool) {
        let outcome = if delivered { "delivered" } else { "failed" };
        self.notifications
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// OpenMetrics text, ending in `# EOF`.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
