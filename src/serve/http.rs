//! The HTTP surface: the router, the shared state, the explorer's error shape, key extraction and
//! the access log. Ingest and queries are in their own modules.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{ConnectInfo, MatchedPath, Request, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tower_http::compression::CompressionLayer;

use super::alerts::Alerts;
use super::auth::{LastUsed, Viewer};
use super::fleet;
use super::ingest;
use super::page;
use super::queries;
use super::rate::RateLimit;
use super::store::streams::StreamStore;
use super::store::{KeyRecord, Scope, Store, StoreError};
use super::streams::{self, Streams};
use super::telemetry::ServeTelemetry;
use super::writer::Writer;

/// Largest request body read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// What a 503 tells the sender to wait before trying again.
pub const RETRY_AFTER_UNAVAILABLE: Duration = Duration::from_secs(5);

pub struct Shared<S> {
    pub store: Arc<S>,
    pub writer: Writer,
    pub rate: RateLimit,
    /// The same rate for what comes without a key (public reads, failed sign-ins), by address.
    pub address_rate: RateLimit<IpAddr>,
    /// When each key's last use was written.
    pub last_used: LastUsed,
    pub telemetry: Arc<ServeTelemetry>,
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
}

/// The address a request came from (`serve/connections.rs` hands it to every request).
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// The state every handler gets.
pub type AppState<S> = Arc<Shared<S>>;

/// An answer other than success, in beaconcha.in's shape: `{"status":"ERROR: ...","data":null}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn retry_after(mut self, wait: Duration) -> ApiError {
        // Whole seconds, rounded up: 0 would invite an immediate retry.
        self.retry_after = Some(Duration::from_secs(
            wait.as_secs_f64().ceil().max(1.0) as u64
        ));
        self
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "no user found with api key")
    }
}

impl From<&StoreError> for ApiError {
    fn from(err: &StoreError) -> ApiError {
        match err {
            StoreError::Unavailable(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "service temporarily unavailable",
            )
            .retry_after(RETRY_AFTER_UNAVAILABLE),
            StoreError::Conflict(message) => ApiError::new(StatusCode::CONFLICT, message.clone()),
            StoreError::Failed(_) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "could not store")
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        if !matches!(err, StoreError::Conflict(_)) {
            tracing::warn!("{err}");
        }
        ApiError::from(&err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"status": format!("ERROR: {}", self.message), "data": null});
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(wait) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&wait.as_secs().to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// What a key may read.
pub fn scope_of(record: &KeyRecord) -> Scope {
    if record.admin {
        Scope::All
    } else {
        Scope::Key(record.id)
    }
}

pub fn router<S: Store + StreamStore>(shared: AppState<S>) -> Router {
    Router::new()
        .route("/api/v1/client/metrics", post(ingest::by_query::<S>))
        .route(
            "/api/v1/stats/{apikey}/{machine}",
            post(ingest::by_path::<S>),
        )
        .route("/api/v1/stats/{apikey}", post(ingest::by_path_default::<S>))
        .route("/submit", get(streams::submit::<S>))
        .route("/audit", get(streams::audit::<S>))
        .route("/login", post(page::login::<S>))
        .route("/logout", post(page::logout::<S>))
        .route("/healthz", get(healthz::<S>))
        .route("/metrics", get(metrics::<S>))
        .merge(reads::<S>())
        .layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            access_log::<S>,
        ))
        .with_state(shared)
}

/// What people and tools read: gzip-compressed when the client takes it (the page of a
/// 1,000-machine fleet is 400 KB of HTML, 10 times less so).
fn reads<S: Store + StreamStore>() -> Router<AppState<S>> {
    use streams::queries as stream_queries;
    Router::new()
        .route("/api/v1/machines", get(queries::machines::<S>))
        .route(
            "/api/v1/machines/{machine}/stats",
            get(queries::machine_stats::<S>),
        )
        .route(
            "/api/v1/user/stats/{offset}/{limit}",
            get(queries::user_stats::<S>),
        )
        .route("/nodes", get(stream_queries::nodes::<S>))
        .route("/nodes/logs", get(stream_queries::logs::<S>))
        .route("/nodes/log_stats", get(stream_queries::log_stats::<S>))
        .route("/reputation", get(stream_queries::reputation::<S>))
        .route(
            "/reputation/logged",
            get(stream_queries::reputation_logged::<S>),
        )
        .route(
            "/reputation/{peer_id}",
            get(stream_queries::reputation_of_peer::<S>),
        )
        .route("/stats/db", get(stream_queries::db_stats::<S>))
        .route(
            "/host_systems",
            get(stream_queries::host_systems::<S>).post(stream_queries::add_host_system::<S>),
        )
        .route(
            "/benchmarks",
            get(stream_queries::benchmarks::<S>).post(stream_queries::add_benchmark::<S>),
        )
        .route("/api/nodes", get(stream_queries::node_data::<S>))
        .route("/", get(root::<S>))
        .route("/machines/{machine}", get(page::machine::<S>))
        .route("/stream-nodes/{peer_id}", get(page::stream_node::<S>))
        .layer(CompressionLayer::new())
}

/// `/`: the page, or, for a WebSocket upgrade, the purging stream ingest (`/submit`): seed 004
/// points nodes at the server's root (`--telemetry-url 'ws://127.0.0.1:8080 5'`), as
/// substrate-analytics took them there.
async fn root<S: Store + StreamStore>(
    state: State<AppState<S>>,
    peer: ConnectInfo<PeerAddr>,
    viewer: Viewer,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match upgrade {
        Ok(upgrade) => streams::submit(state, peer, headers, upgrade).await,
        Err(_) => page::overview(state, viewer).await,
    }
}

/// Counts and logs each request by its route pattern, never its path: paths and query strings
/// carry API keys.
async fn access_log<S: Store>(
    State(shared): State<AppState<S>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status();
    shared.telemetry.request(&route, status.as_u16());
    if status.is_server_error() {
        tracing::warn!(%method, route, status = status.as_u16(), took = ?started.elapsed(), "request failed");
    } else {
        tracing::debug!(%method, route, status = status.as_u16(), took = ?started.elapsed(), "request");
    }
    response
}

async fn healthz<S: Store>(State(shared): State<AppState<S>>) -> Response {
    let started = Instant::now();
    let reachable = shared.store.ping().await;
    shared.telemetry.database("ping", started.elapsed());
    match reachable {
        Ok(()) => (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response(),
        Err(err) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "unavailable", "reason": err.to_string()})),
        )
            .into_response(),
    }
}

async fn metrics<S: Store>(State(shared): State<AppState<S>>, headers: HeaderMap) -> Response {
    let mut text = shared.telemetry.encode();
    if shared.fleet_metrics {
        let started = Instant::now();
        let machines = shared.store.machines(Scope::All, None).await;
        shared.telemetry.database("machines", started.elapsed());
        match machines {
            Ok(machines) => {
                let fleet = fleet::encode(&machines, super::now_ms(), shared.offline_after_ms);
                // The registry's text ends in `# EOF`; the fleet's families go before it.
                let end = text.rfind("# EOF").unwrap_or(text.len());
                text.insert_str(end, &fleet);
            }
            // Better the server's own metrics without the fleet than no answer: a scrape that
            // fails would hide them too.
            Err(err) => tracing::warn!("--fleet-metrics: {err}"),
        }
    }
    crate::http::metrics_answer(text, &headers)
}
