//! The client-stats routes beaconcha.in serves, answered as it answers them: 200 with an empty body
//! once the objects are committed, the explorer's error object otherwise.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use super::auth::Caller;
use super::error::ApiError;
use super::metrics::Rejection;
use super::state::AppState;
use super::store::{KeyRecord, Store, Submission};
use crate::wire::client_stats::decode;

/// A body must arrive within this; a client trickling bytes holds a connection no longer.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest client-stats body read.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Machine names longer than this are refused.
const MAX_MACHINE_BYTES: usize = 128;

/// `POST /api/v1/client/metrics?apikey=KEY&machine=NAME` (the key also in an `apikey` header).
pub async fn by_query<S: Store>(
    State(shared): State<Arc<AppState<S>>>,
    Caller(record): Caller,
    Query(query): Query<HashMap<String, String>>,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let machine = query.get("machine").cloned().unwrap_or_default();
    accept(&shared, record, machine, body).await
}

/// `POST /api/v1/stats/KEY/MACHINE` (`Caller` reads the key from the path).
pub async fn by_path<S: Store>(
    State(shared): State<Arc<AppState<S>>>,
    Caller(record): Caller,
    Path((_, machine)): Path<(String, String)>,
    body: Body,
) -> Result<StatusCode, ApiError> {
    accept(&shared, record, machine, body).await
}

/// `POST /api/v1/stats/KEY`: the machine `default`.
pub async fn by_path_default<S: Store>(
    State(shared): State<Arc<AppState<S>>>,
    Caller(record): Caller,
    body: Body,
) -> Result<StatusCode, ApiError> {
    accept(&shared, record, String::new(), body).await
}

/// 200 with an empty body once the objects are committed.
async fn accept<S: Store>(
    shared: &AppState<S>,
    record: KeyRecord,
    machine: String,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let machine = machine_name(machine)?;
    let body = read_body(shared, body, MAX_BODY_BYTES).await?;
    let objects = decode::decode(&body).map_err(|err| {
        shared.metrics.rejected(Rejection::Invalid, 1);
        ApiError::new(StatusCode::BAD_REQUEST, err.to_string())
    })?;
    let sent = objects.len();
    let submission = Submission {
        key_id: record.id,
        machine,
        received_ms: super::now_ms(),
        objects,
    };
    let stored = shared
        .metrics
        .timed("insert", shared.writer.submit(submission))
        .await;
    let stored = stored.map_err(|err| {
        shared.metrics.rejected(Rejection::Unavailable, sent as u64);
        tracing::warn!("{err}");
        ApiError::from(err.as_ref())
    })?;
    for process in &stored {
        shared.metrics.stored(process.as_str());
    }
    let dropped = sent - stored.len();
    if dropped > 0 {
        shared
            .metrics
            .rejected(Rejection::SameMinute, dropped as u64);
    }
    if stored.is_empty() {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "api rate limit reached, one process per machine per user each minute is allowed.",
        )
        .retry_after(Duration::from_secs(60)));
    }
    Ok(StatusCode::OK)
}

/// The machine's name: `default` when none is given.
pub(super) fn machine_name(machine: String) -> Result<String, ApiError> {
    if machine.is_empty() {
        return Ok("default".into());
    }
    if machine.len() > MAX_MACHINE_BYTES || machine.chars().any(char::is_control) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "the machine name must be at most {MAX_MACHINE_BYTES} bytes without control characters"
            ),
        ));
    }
    Ok(machine)
}

/// The whole body, refused past `limit` bytes or when it trickles in for too long.
pub(super) async fn read_body<S: Store>(
    shared: &AppState<S>,
    body: Body,
    limit: usize,
) -> Result<axum::body::Bytes, ApiError> {
    match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(err)) => {
            // `to_bytes` fails with a length-limit error when the cap is hit, else on a broken
            // connection.
            let too_large = std::error::Error::source(&err)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            if too_large {
                shared.metrics.rejected(Rejection::TooLarge, 1);
                Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the body is larger than {limit} bytes"),
                ))
            } else {
                Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "could not read body",
                ))
            }
        }
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!("the body did not arrive within {}s", BODY_TIMEOUT.as_secs()),
        )),
    }
}
