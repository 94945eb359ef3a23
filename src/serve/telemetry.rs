//! The server's own `/metrics`: requests by route and status, objects stored and rejected by
//! reason, and how long the database takes.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

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

pub struct ServeTelemetry {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    stored: Family<ProcessLabels, Counter>,
    rejected: Family<ReasonLabels, Counter>,
    database: Family<OperationLabels, Histogram>,
}

impl Default for ServeTelemetry {
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
        ServeTelemetry {
            registry,
            requests,
            stored,
            rejected,
            database,
        }
    }
}

impl ServeTelemetry {
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

    /// OpenMetrics text, ending in `# EOF`.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
