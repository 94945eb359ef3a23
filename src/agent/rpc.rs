//! A minimal JSON-RPC 2.0 client over HTTP, for asking a node about itself.
//!
//! Bounded like a scrape: the whole call within the timeout, the answer within a size cap.

use std::fmt;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use crate::agent::scrape::{describe, read_capped};
use crate::secret::without_credentials;

/// Node answers to the methods we call are a few kilobytes; a block with its transaction hashes can
/// reach a few hundred.
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum RpcError {
    #[error("{method}: {reason}")]
    Transport { method: String, reason: String },
    /// The node answered with a JSON-RPC error (the method may not exist on this client).
    #[error("{method}: the node answered error {code}: {message}")]
    Answered {
        method: String,
        code: i64,
        message: String,
    },
}

impl RpcError {
    /// "Method not found": the node does not implement it, which is an answer, not a failure.
    pub fn is_unknown_method(&self) -> bool {
        matches!(self, RpcError::Answered { code: -32601, .. })
    }
}

#[derive(Clone)]
pub struct RpcClient {
    client: reqwest::Client,
    url: Url,
    timeout: Duration,
}

impl fmt::Debug for RpcClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RpcClient({self})")
    }
}

impl fmt::Display for RpcClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&without_credentials(&self.url))
    }
}

impl RpcClient {
    pub fn new(url: Url, timeout: Duration) -> Result<Self, crate::Error> {
        Ok(RpcClient {
            client: crate::http_client(timeout)?,
            url,
            timeout,
        })
    }

    /// Calls `method` with `params` and returns its `result`.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let transport = |reason: String| RpcError::Transport {
            method: method.to_owned(),
            reason,
        };
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let exchange = async {
            let response = self
                .client
                .post(self.url.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(request.to_string())
                .send()
                .await
                .map_err(|err| transport(describe(err)))?;
            if !response.status().is_success() {
                return Err(transport(format!("answered HTTP {}", response.status())));
            }
            read_capped(response, MAX_ANSWER_BYTES)
                .await
                .map_err(transport)
        };
        let body = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| {
                transport(format!(
                    "no answer within {}",
                    humantime::format_duration(self.timeout)
                ))
            })??;
        let answer: Value = serde_json::from_slice(&body)
            .map_err(|err| transport(format!("the answer is not JSON: {err}")))?;
        if let Some(error) = answer.get("error") {
            return Err(RpcError::Answered {
                method: method.to_owned(),
                code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("no message")
                    .to_owned(),
            });
        }
        answer
            .get("result")
            .cloned()
            .ok_or_else(|| transport("the answer has neither result nor error".into()))
    }
}
