//! A client of the beacon node's standard REST API (`--beacon-api`), bounded like a scrape: each
//! request within the timeout, each answer within a size cap. It tells a route the node lacks (an
//! answer in itself: the caller falls back) from a request the node refused or could not answer.

use std::fmt;
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;

use crate::agent::scrape::{describe, read_capped};
use crate::secret::without_credentials;
use crate::wire::beacon_api;

/// Validator states for 1,000 validators are about 300 KB; a whole epoch's committees more.
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// Why one request gave nothing.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BeaconError {
    /// The node could not be asked, or its answer could not be read.
    #[error("{route}: {reason}")]
    Transport { route: String, reason: String },
    /// The node answered, refusing.
    #[error("{route}: the node answered HTTP {status}: {message}")]
    Refused {
        route: String,
        status: u16,
        message: String,
    },
}

impl BeaconError {
    /// The node does not have this route (404, 405 or 501 from its router): it predates it or
    /// serves it elsewhere. Clients answer a missing resource (a past state, an empty slot) with a
    /// 404 too, so the callers ask this only of routes whose resource always exists.
    pub fn is_missing_route(&self) -> bool {
        matches!(self, BeaconError::Refused { status, .. } if matches!(status, 404 | 405 | 501))
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, BeaconError::Refused { status: 404, .. })
    }
}

#[derive(Clone)]
pub struct BeaconApi {
    client: reqwest::Client,
    base: Url,
}

impl fmt::Debug for BeaconApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BeaconApi({self})")
    }
}

impl fmt::Display for BeaconApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&without_credentials(&self.base))
    }
}

impl BeaconApi {
    pub fn new(base: Url, timeout: Duration) -> Result<Self, crate::Error> {
        Ok(BeaconApi {
            client: crate::http_client(timeout)?,
            base,
        })
    }

    /// `GET path?query`, and the answer's `data` as `T`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, BeaconError> {
        self.exchange(Method::GET, path, query, None).await
    }

    /// `POST path` with a JSON body, and the answer's `data` as `T`.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: String,
    ) -> Result<T, BeaconError> {
        self.exchange(Method::POST, path, &[], Some(body)).await
    }

    async fn exchange<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<String>,
    ) -> Result<T, BeaconError> {
        let route = format!("{method} {path}");
        let transport = |reason: String| BeaconError::Transport {
            route: route.clone(),
            reason,
        };
        let mut url = self.base.clone();
        url.set_path(&format!("{}{path}", self.base.path().trim_end_matches('/')));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut request = self
            .client
            .request(method, url)
            .header(ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, "application/json").body(body);
        }
        let response = request
            .send()
            .await
            .map_err(|err| transport(describe(err)))?;
        let status = response.status();
        let body = read_capped(response, MAX_ANSWER_BYTES)
            .await
            .map_err(&transport)?;
        if status != StatusCode::OK {
            return Err(BeaconError::Refused {
                route,
                status: status.as_u16(),
                message: beacon_api::refusal_message(&body),
            });
        }
        beacon_api::decode(&body).map_err(transport)
    }
}
