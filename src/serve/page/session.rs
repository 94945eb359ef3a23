//! Signing in and out of the pages: a form takes an API key and opens a session kept on the server,
//! whose random id an HttpOnly, SameSite=Strict cookie holds; forms from another site's page are
//! refused.

use std::sync::Arc;

use axum::Form;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::html;
use super::rows::html_answer;
use crate::secret::Secret;
use crate::serve::auth::{self, SESSION_COOKIE, SESSION_LIFETIME};
use crate::serve::keys;
use crate::serve::state::{AppState, PeerAddr};
use crate::serve::store::{Database, StoreError};

#[derive(serde::Deserialize)]
pub struct SignIn {
    key: String,
}

/// The sign-in cookie: the session's id, for the session's lifetime (0 signs out).
fn cookie(value: &str, max_age_s: u64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
    ))
    .ok()
}

fn to_overview(set_cookie: Option<HeaderValue>) -> Response {
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    if let Some(value) = set_cookie {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// Whether a form was posted from this server's own page. Browsers say where a request comes
/// from: `Sec-Fetch-Site` (every current one), else `Origin`, compared with the `Host` asked for.
/// A request that says neither is no browser's (curl, a script) and so not cross-site.
fn from_own_page(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|origin| origin.split_once("://"))
        .map(|(_, host)| host);
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok());
    origin_host.is_some() && origin_host == host
}

/// A sign-in or sign-out posted by a page of another site: refused, so that no other site can
/// sign a visitor's browser in as its own key or out.
fn cross_site() -> Response {
    html_answer(
        StatusCode::FORBIDDEN,
        html::page(
            "nodepulse",
            false,
            "<p class=\"bad\">Signing in or out from another site's page is refused.</p>",
        ),
    )
}

fn unavailable(err: &StoreError) -> Response {
    html_answer(
        StatusCode::SERVICE_UNAVAILABLE,
        html::page(
            "nodepulse",
            false,
            &format!("<p class=\"bad\">{}</p>", html::escape(&err.to_string())),
        ),
    )
}

/// `POST /login` (a form with `key`): a known key opens a session, whose random id (never the
/// key) the cookie holds; it ends after `SESSION_LIFETIME`, at sign-out, or when the key is
/// removed.
pub async fn login<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    ConnectInfo(PeerAddr(client)): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Response {
    if !from_own_page(&headers) {
        return cross_site();
    }
    let key = Secret::new(form.key.trim().to_owned());
    let record = match auth::find_key(&shared, Some(key)).await {
        Ok(record) => record,
        // Guessing keys costs a lookup each: held to the address's rate.
        Err(refused) if refused.status == StatusCode::UNAUTHORIZED => {
            if let Err(limited) = auth::admit_client(&shared, client.ip()) {
                return limited.into_response();
            }
            return html_answer(
                StatusCode::UNAUTHORIZED,
                html::page(
                    "nodepulse",
                    false,
                    "<p class=\"bad\">That key is not known here.</p>",
                ),
            );
        }
        Err(refused) => {
            return html_answer(
                refused.status,
                html::page(
                    "nodepulse",
                    false,
                    &format!("<p class=\"bad\">{}</p>", html::escape(&refused.message)),
                ),
            );
        }
    };
    let session = match keys::generate() {
        Ok(session) => session,
        Err(err) => return unavailable(&StoreError::Failed(err)),
    };
    let now_ms = crate::serve::now_ms();
    let lifetime_ms = i64::try_from(SESSION_LIFETIME.as_millis()).unwrap_or(i64::MAX);
    match shared
        .metrics
        .timed(
            "add_session",
            shared.store.add_session(
                &session,
                record.id,
                now_ms,
                now_ms.saturating_add(lifetime_ms),
            ),
        )
        .await
    {
        Ok(()) => to_overview(cookie(
            session.expose(),
            SESSION_LIFETIME.as_secs(),
            shared.secure_cookies,
        )),
        Err(err) => unavailable(&err),
    }
}

/// `POST /logout`: the session ends, and the cookie is dropped.
pub async fn logout<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    headers: HeaderMap,
) -> Response {
    if !from_own_page(&headers) {
        return cross_site();
    }
    if let Some(session) = auth::session_id(&headers)
        && let Err(err) = shared
            .metrics
            .timed("remove_session", shared.store.remove_session(&session))
            .await
    {
        return unavailable(&err);
    }
    to_overview(cookie("", 0, shared.secure_cookies))
}
