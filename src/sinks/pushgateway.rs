//! Pushing to a Prometheus Pushgateway, for a node behind a firewall that nothing can scrape.
//!
//! Each cycle replaces the group `/metrics/job/<job>/instance/<instance>` (PUT): the group then
//! holds exactly this cycle's series, and a target that stopped answering shows as
//! `nodepulse_up 0` rather than as stale numbers.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use regex::Regex;
use reqwest::Url;
use reqwest::header::CONTENT_TYPE;

use super::retry::{Verdict, classify};
use super::{Refusal, Sink};
use crate::agent::Cycle;
use crate::formats::pushgateway::{TargetSeries, encode};
use crate::scrape::describe;
use crate::secret::{Secret, without_credentials};
use crate::telemetry::Telemetry;

/// The classic text format: what the Pushgateway parses.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Where and how to push.
#[derive(Debug, Clone)]
pub struct PushTarget {
    /// The Pushgateway's base URL.
    pub base: Url,
    pub job: String,
    pub instance: String,
    pub include: Option<Regex>,
    pub username: Option<String>,
    pub password: Option<Secret>,
}

impl PushTarget {
    /// `BASE/metrics/job/<job>/instance/<instance>`.
    pub fn group_url(&self) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend([
                "metrics",
                "job",
                &self.job,
                "instance",
                &self.instance,
            ]);
        }
        url
    }
}

#[derive(Debug)]
pub struct PushSink {
    client: reqwest::Client,
    target: PushTarget,
    url: Url,
    /// Shared with each attempt's request, not copied: a push body can be megabytes.
    pending: Option<Bytes>,
    telemetry: Arc<Telemetry>,
}

impl PushSink {
    pub fn new(
        target: PushTarget,
        timeout: Duration,
        telemetry: Arc<Telemetry>,
    ) -> Result<Self, crate::Error> {
        Ok(PushSink {
            client: crate::http_client(timeout)?,
            url: target.group_url(),
            target,
            pending: None,
            telemetry,
        })
    }
}

impl Sink for PushSink {
    fn name(&self) -> &'static str {
        "pushgateway"
    }

    fn offer(&mut self, cycle: &Cycle) {
        let targets: Vec<TargetSeries<'_>> = cycle
            .scrapes
            .iter()
            .map(|scrape| TargetSeries {
                role: scrape.role.label(),
                exposition: scrape.exposition.as_ref(),
            })
            .collect();
        let (body, report) = encode(&targets, self.target.include.as_ref());
        for (reason, count) in report.dropped() {
            if count > 0 {
                self.telemetry.push_dropped(reason, count);
                tracing::debug!(reason, count, "series left out of the push");
            }
        }
        self.pending = Some(Bytes::from(body));
    }

    fn pending(&self) -> usize {
        usize::from(self.pending.is_some())
    }

    async fn attempt(&mut self) -> Verdict {
        let Some(body) = self.pending.clone() else {
            return Verdict::Delivered;
        };
        let shown = without_credentials(&self.url);
        let mut request = self
            .client
            .put(self.url.clone())
            .header(CONTENT_TYPE, TEXT_FORMAT)
            .body(body);
        if let Some(username) = &self.target.username {
            let password = self.target.password.as_ref().map(Secret::expose);
            request = request.basic_auth(username, password);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => {
                return Verdict::Retry {
                    reason: format!("pushing to {shown} failed: {}", describe(err)),
                    after: None,
                };
            }
        };
        let status = response.status();
        let Refusal {
            retry_after: waited,
            body,
        } = Refusal::read(response, SystemTime::now()).await;
        let message = String::from_utf8_lossy(&body);
        let message = message.trim();
        let reason = if message.is_empty() {
            format!("{shown} answered HTTP {status}")
        } else {
            format!("{shown} answered HTTP {status}: {message}")
        };
        let verdict = classify(status.as_u16(), reason, waited);
        if !matches!(verdict, Verdict::Retry { .. }) {
            // Delivered, or refused for good: either way this body is done.
            self.pending = None;
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_url() {
        let target = PushTarget {
            base: Url::parse("http://127.0.0.1:9091/").expect("url"),
            job: "nodepulse".into(),
            instance: "node 1".into(),
            include: None,
            username: None,
            password: None,
        };
        assert_eq!(
            target.group_url().as_str(),
            "http://127.0.0.1:9091/metrics/job/nodepulse/instance/node%201"
        );
    }
}
