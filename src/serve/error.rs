//! Every answer other than success, in beaconcha.in's shape: `{"status":"ERROR: ...","data":null}`,
//! with `Retry-After` where waiting helps; and what a store error answers.

use std::time::Duration;

use axum::http::StatusCode;
use axum::http::header::{self, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::store::StoreError;

/// What a 503 tells the sender to wait before trying again.
pub const RETRY_AFTER_UNAVAILABLE: Duration = Duration::from_secs(5);

/// An answer other than success, in beaconcha.in's shape: `{"status":"ERROR: ...","data":null}`.
#[derive(Debug, Clone)]
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
            StoreError::Unavailable(_) | StoreError::Aborted(_) => ApiError::new(
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
