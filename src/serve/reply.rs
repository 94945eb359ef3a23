//! How successful answers look: beaconcha.in's routes wrap theirs in its envelope,
//! `{"status":"OK","data":...}`, so that tools written against its API read ours the same way; the
//! stream routes answer bare, as substrate-analytics does. Refusals are `error.rs`'s.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

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

/// JSON text written before, as it is: an answer many readers share.
pub fn bare_text(json: Bytes) -> Answer {
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// A JSON array written out one element at a time, without the whole array as one `Value`.
pub fn json_array(elements: impl Iterator<Item = Value>) -> Result<Bytes, ApiError> {
    let mut text = vec![b'['];
    for (at, element) in elements.enumerate() {
        if at > 0 {
            text.push(b',');
        }
        write_json(&mut text, &element)?;
    }
    text.push(b']');
    Ok(Bytes::from(text))
}

/// `value` written out, to be kept and sent as it is.
pub fn json_text(value: &Value) -> Result<Bytes, ApiError> {
    let mut text = Vec::new();
    write_json(&mut text, value)?;
    Ok(Bytes::from(text))
}

fn write_json(text: &mut Vec<u8>, value: &Value) -> Result<(), ApiError> {
    serde_json::to_writer(text, value).map_err(|err| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the answer could not be written as JSON: {err}"),
        )
    })
}
