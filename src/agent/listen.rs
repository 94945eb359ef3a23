//! `--listen`: the agent's own `/metrics` (OpenMetrics or the classic text format, as the scraper
//! asks) and `/healthz` (JSON), on the same HTTP library `serve` uses.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::agent::telemetry::Telemetry;

/// Answers until `stop` changes. Only GET (and HEAD, which axum answers from GET without the
/// body) is routed; anything else is 405, an unknown path 404.
pub async fn serve(
    listener: TcpListener,
    telemetry: Arc<Telemetry>,
    mut stop: watch::Receiver<bool>,
) {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                "not found: try /metrics or /healthz\n",
            )
        })
        .with_state(telemetry);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stop.changed().await;
        })
        .await;
    if let Err(err) = served {
        tracing::warn!("--listen stopped: {err}");
    }
}

async fn metrics(State(telemetry): State<Arc<Telemetry>>, headers: HeaderMap) -> Response {
    crate::http::metrics_answer(telemetry.encode(), &headers)
}

async fn healthz(State(telemetry): State<Arc<Telemetry>>) -> Response {
    let (healthy, body) = telemetry.health();
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
