//! The routes, and the layers around them: which handler answers which path, the access log and
//! compression. Handlers live with what they serve (`ingest`, `queries`, `streams`, `validators`,
//! `page`, `health`) and take extractors for who may ask (`auth`); nothing here answers a request itself.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use tower_http::compression::CompressionLayer;

use super::feed;
use super::health;
use super::ingest;
use super::network;
use super::page;
use super::queries;
use super::state::AppState;
use super::store::{Database, Store};
use super::streams;
use super::validators;

pub fn router<S: Database>(shared: Arc<AppState<S>>) -> Router {
    Router::new()
        .route("/api/v1/client/metrics", post(ingest::by_query::<S>))
        .route(
            "/api/v1/stats/{apikey}/{machine}",
            post(ingest::by_path::<S>),
        )
        .route("/api/v1/stats/{apikey}", post(ingest::by_path_default::<S>))
        .route(
            "/api/v1/client/validators",
            post(validators::epoch_report::<S>),
        )
        .route(
            "/api/v1/client/execution",
            post(validators::execution_report::<S>),
        )
        .route("/submit", get(streams::upgrade::submit::<S>))
        .route("/audit", get(streams::upgrade::audit::<S>))
        .route("/login", post(page::login::<S>))
        .route("/logout", post(page::logout::<S>))
        .route("/healthz", get(health::healthz::<S>))
        .route("/metrics", get(health::metrics::<S>))
        .merge(reads::<S>())
        .layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            access_log::<S>,
        ))
        .with_state(shared)
}

/// What people and tools read: gzip-compressed when the client takes it (the page of a
/// 1,000-machine fleet is 400 KB of HTML, 10 times less so).
fn reads<S: Database>() -> Router<Arc<AppState<S>>> {
    use streams::queries as stream_queries;
    Router::new()
        .route("/api/v1/machines", get(queries::machines::<S>))
        .route(
            "/api/v1/machines/{machine}/stats",
            get(queries::machine_stats::<S>),
        )
        .route(
            "/api/v1/machines/{machine}/validators",
            get(validators::history::<S>),
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
        .route("/api/chains", get(network::chains::<S>))
        .route("/api/chains/{chain}", get(network::chain::<S>))
        .route("/", get(page::root::<S>))
        .route("/machines/{machine}", get(page::machine::<S>))
        .route("/stream-nodes/{peer_id}", get(page::stream_node::<S>))
        .route("/chains/{chain}", get(page::chain::<S>))
        .route("/events", get(page::events::<S>))
        // The frontend's own default on an https page ends in a slash.
        .route("/feed", get(feed::feed::<S>))
        .route("/feed/", get(feed::feed::<S>))
        .layer(CompressionLayer::new())
}

/// Counts and logs each request by its route pattern, never its path: paths and query strings
/// carry API keys.
async fn access_log<S: Store>(
    State(shared): State<Arc<AppState<S>>>,
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
    let in_flight = shared.metrics.request_in_flight();
    let response = next.run(request).await;
    drop(in_flight);
    let status = response.status();
    shared.metrics.request(&route, status.as_u16());
    if status.is_server_error() {
        tracing::warn!(%method, route, status = status.as_u16(), took = ?started.elapsed(), "request failed");
    } else {
        tracing::debug!(%method, route, status = status.as_u16(), took = ?started.elapsed(), "request");
    }
    response
}
