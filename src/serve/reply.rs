//! How successful answers look: beaconcha.in's routes wrap theirs in its envelope,
//! `{"status":"OK","data":...}`, so that tools written against its API read ours the same way; the
//! stream routes answer bare, as substrate-analytics does. Refusals are `error.rs`'s.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::ApiError;

/// What a read handler answers.
pub type Answer = Result<Response, ApiError>;

#[derive(Serialize)]
struct Envelope<T> {
    status: &'static str,
    data: T,
}

/// `data` in beaconcha.in's envelope.
pub fn enveloped<T: Serialize>(data: T) -> Answer {
    Ok(Json(Envelope { status: "OK", data }).into_response())
}

/// `rows` as they are, without an envelope.
pub fn bare(rows: serde_json::Value) -> Answer {
    Ok(Json(rows).into_response())
}
