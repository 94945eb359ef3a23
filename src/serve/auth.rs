//! Who is asking, for every route that needs to know, as axum extractors: a handler names the
//! caller it needs (`Caller`, `Admin`, `Reader` or `Viewer`) and the request never reaches it
//! otherwise. Each looks its key up timed (`database_seconds{operation="find_key"}`), counts a
//! refusal, holds the key to its rate (`--key-rate`/`--key-burst`, writes and reads alike) and
//! notes when the key was last used. What comes without a valid key (public reads, wrong keys)
//! is held to the same rate by address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts, Query, RawPathParams};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap};
use axum::http::request::Parts;

use super::error::ApiError;
use super::metrics::Rejection;
use super::state::{AppState, PeerAddr};
use super::store::{KeyRecord, Scope, Store};
use crate::secret::Secret;

/// The page's sign-in cookie: a session id, never the key.
pub const SESSION_COOKIE: &str = "nodepulse_session";

/// A request made with a valid API key.
pub struct Caller(pub KeyRecord);

/// A request made with a valid admin key (403 for another key).
pub struct Admin;

/// A read of what belongs to the server (the streams): a valid key, or nobody's with
/// `--public-reads`.
pub struct Reader;

/// Who looks at a page: the key its session cookie stands for, if any (a stale cookie is nobody).
pub struct Viewer(pub Option<KeyRecord>);

impl<S: Store> FromRequestParts<Arc<AppState<S>>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<AppState<S>>,
    ) -> Result<Caller, ApiError> {
        let key = request_key(parts).await;
        let record = match find_key(shared, key).await {
            Ok(record) => record,
            // Guessing keys costs a lookup each: held to the address's rate.
            Err(refused) if refused.status == StatusCode::UNAUTHORIZED => {
                admit_address(shared, parts)?;
                return Err(refused);
            }
            Err(refused) => return Err(refused),
        };
        admit(shared, &record).await?;
        Ok(Caller(record))
    }
}

impl<S: Store> FromRequestParts<Arc<AppState<S>>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<AppState<S>>,
    ) -> Result<Admin, ApiError> {
        let Caller(record) = Caller::from_request_parts(parts, shared).await?;
        if record.admin {
            Ok(Admin)
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "this needs an admin key",
            ))
        }
    }
}

impl<S: Store> FromRequestParts<Arc<AppState<S>>> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<AppState<S>>,
    ) -> Result<Reader, ApiError> {
        if shared.public_reads && request_key(parts).await.is_none() {
            admit_address(shared, parts)?;
            return Ok(Reader);
        }
        Caller::from_request_parts(parts, shared).await?;
        Ok(Reader)
    }
}

impl<S: Store> FromRequestParts<Arc<AppState<S>>> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<AppState<S>>,
    ) -> Result<Viewer, ApiError> {
        let Some(session) = session_id(&parts.headers) else {
            return Ok(Viewer(None));
        };
        let found = shared
            .metrics
            .timed(
                "find_session",
                shared.store.find_session(&session, super::now_ms()),
            )
            .await;
        // The page says so when the database is down; here that is nobody signed in.
        let Some(record) = found.ok().flatten() else {
            return Ok(Viewer(None));
        };
        admit(shared, &record).await?;
        Ok(Viewer(Some(record)))
    }
}

/// The key a request carries: in the path (`/api/v1/stats/{apikey}/...`), the `apikey` query
/// parameter, the `apikey` header, or `Authorization: Bearer`.
async fn request_key(parts: &mut Parts) -> Option<Secret> {
    let in_path = RawPathParams::from_request_parts(parts, &())
        .await
        .ok()
        .and_then(|params| {
            params
                .iter()
                .find(|(name, _)| *name == "apikey")
                .map(|(_, key)| key.to_owned())
        });
    let in_query = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
        .ok()
        .and_then(|Query(mut query)| query.remove("apikey"));
    let headers = &parts.headers;
    let in_header = headers
        .get("apikey")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|key| key.trim().to_owned());
    [in_path, in_query, in_header, bearer]
        .into_iter()
        .flatten()
        .find(|key| !key.is_empty())
        .map(Secret::new)
}

/// The session id in the request's cookie, if any.
pub fn session_id(headers: &HeaderMap) -> Option<Secret> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, id)| Secret::new(id.to_owned()))
        .filter(|id| !id.expose().is_empty())
}

/// The key's record, or 401; timed, and the refusal counted.
pub async fn find_key<S: Store>(
    shared: &AppState<S>,
    key: Option<Secret>,
) -> Result<KeyRecord, ApiError> {
    let Some(key) = key else {
        shared.metrics.rejected(Rejection::Unauthorized, 1);
        return Err(ApiError::unauthorized());
    };
    let found = shared
        .metrics
        .timed("find_key", shared.store.find_key(&key))
        .await;
    match found? {
        Some(record) => Ok(record),
        None => {
            shared.metrics.rejected(Rejection::Unauthorized, 1);
            Err(ApiError::unauthorized())
        }
    }
}

/// Holds a request without a key to its address's rate (429 with `Retry-After` past it).
fn admit_address<S: Store>(shared: &AppState<S>, parts: &Parts) -> Result<(), ApiError> {
    match parts.extensions.get::<ConnectInfo<PeerAddr>>() {
        Some(ConnectInfo(PeerAddr(client))) => admit_client(shared, client.ip()),
        None => Ok(()),
    }
}

/// Holds `client`, which has no valid key, to its address's rate.
pub fn admit_client<S: Store>(shared: &AppState<S>, client: IpAddr) -> Result<(), ApiError> {
    shared
        .address_rate
        .take(client, Instant::now())
        .map_err(|wait| {
            shared.metrics.rejected(Rejection::RateLimited, 1);
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate limit reached for this address",
            )
            .retry_after(wait)
        })
}

/// Holds the key to its rate (429 with `Retry-After` past it) and notes its use.
async fn admit<S: Store>(shared: &AppState<S>, record: &KeyRecord) -> Result<(), ApiError> {
    if let Err(wait) = shared.rate.take(record.id, Instant::now()) {
        shared.metrics.rejected(Rejection::RateLimited, 1);
        return Err(
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "api rate limit reached")
                .retry_after(wait),
        );
    }
    let now_ms = super::now_ms();
    if shared.last_used.due(record.id, now_ms) {
        let touched = shared
            .metrics
            .timed("touch_key", shared.store.touch_key(record.id, now_ms))
            .await;
        if let Err(err) = touched {
            // The request is answered all the same: a key's last use is for `keys list`.
            tracing::debug!("a key's last use was not written: {err}");
        }
    }
    Ok(())
}

/// How long a sign-in lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(30 * 86_400);

/// What a key may read.
pub fn scope_of(record: &KeyRecord) -> Scope {
    if record.admin {
        Scope::All
    } else {
        Scope::Key(record.id)
    }
}
