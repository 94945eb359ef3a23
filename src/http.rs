//! What both halves answer over HTTP alike: `/metrics` in the format the scraper asks for.

use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use crate::wire::exposition::negotiate;

/// OpenMetrics when the scraper's `Accept` prefers it (Prometheus), the classic text format 0.0.4
/// otherwise (curl, promtool).
pub fn metrics_answer(openmetrics: String, headers: &HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok());
    let (content_type, body) = negotiate::answer(openmetrics, accept);
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}
