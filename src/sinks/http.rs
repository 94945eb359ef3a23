//! POSTing client-stats to a beaconcha.in-style endpoint.
//!
//! The receiver answers 200 with an empty body, or an error status with
//! `{"status":"ERROR: <message>","data":null}`; that message is what an operator needs to see.

use std::time::Duration;

use reqwest::header::CONTENT_TYPE;

use crate::scrape::describe;
use crate::secret::SensitiveUrl;

/// How much of an error response we read for its message: the receiver's are a line of JSON.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SendError {
    #[error("{endpoint} answered HTTP {status}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Rejected {
        endpoint: String,
        status: u16,
        message: Option<String>,
    },
    #[error("sending to {endpoint} failed: {reason}")]
    Transport { endpoint: String, reason: String },
}

/// One client-stats endpoint.
#[derive(Debug, Clone)]
pub struct StatsSink {
    client: reqwest::Client,
    endpoint: SensitiveUrl,
}

impl StatsSink {
    pub fn new(endpoint: SensitiveUrl, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .user_agent(crate::USER_AGENT)
            .timeout(timeout)
            .build()?;
        Ok(StatsSink { client, endpoint })
    }

    /// One POST of one JSON body.
    pub async fn send(&self, body: Vec<u8>) -> Result<(), SendError> {
        let transport = |err: reqwest::Error| SendError::Transport {
            endpoint: self.endpoint.to_string(),
            reason: describe(err),
        };
        let mut response = self
            .client
            .post(self.endpoint.expose().clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let mut error_body = Vec::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            error_body.extend_from_slice(&chunk);
            if error_body.len() >= MAX_ERROR_BODY_BYTES {
                break;
            }
        }
        Err(SendError::Rejected {
            endpoint: self.endpoint.to_string(),
            status: status.as_u16(),
            message: receiver_message(&error_body),
        })
    }
}

/// The `status` of the receiver's JSON error, or the start of a plain-text one.
fn receiver_message(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        status: String,
    }
    if let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) {
        return Some(parsed.status);
    }
    let text = String::from_utf8_lossy(body);
    let first_line = text.lines().map(str::trim).find(|line| !line.is_empty())?;
    Some(first_line.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receiver_messages() {
        assert_eq!(
            receiver_message(br#"{"status":"ERROR: invalid process","data":null}"#),
            Some("ERROR: invalid process".into())
        );
        assert_eq!(
            receiver_message(b"Too Many Requests\n"),
            Some("Too Many Requests".into())
        );
        assert_eq!(receiver_message(b""), None);
    }
}
