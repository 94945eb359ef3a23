//! Pushing to a Prometheus Pushgateway, for a node behind a firewall that nothing can scrape.
//!
//! Each cycle replaces the group `/metrics/job/<job>/instance/<instance>` (PUT): the group then
//! holds exactly this cycle's series, and a target that stopped answering shows as
//! `nodepulse_up 0` rather than as stale numbers.
//!
//! A family the gateway cannot hold as typed (Lighthouse's gauge `process_cpu_seconds_total` against
//! the gateway's own counter, or a type another group gave the family) costs that family alone: the
//! answer names it, the family is taken out and the rest is pushed again at once. The family is then
//! left out of later pushes for an hour, after which it is tried again, since the other group may
//! have gone.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use regex::Regex;
use reqwest::Url;
use reqwest::header::CONTENT_TYPE;

use super::{Refusal, Sink};
use crate::agent::Cycle;
use crate::agent::scrape::describe;
use crate::agent::telemetry::Telemetry;
use crate::retry::{Verdict, classify};
use crate::secret::{Secret, without_credentials};
use crate::wire::pushgateway::{REFUSED, TargetSeries, encode, refused_family, without_family};

/// The classic text format: what the Pushgateway parses.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How long a family the gateway refused is left out before it is tried again: long enough that a
/// lasting conflict costs one extra request and one warning an hour, short enough that a conflict
/// that went away (another group deleted) heals without a restart.
const REFUSAL_MEMORY: Duration = Duration::from_secs(3600);

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
    /// Families the gateway refused, and when.
    refused: HashMap<String, Instant>,
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
            refused: HashMap::new(),
            telemetry,
        })
    }

    /// The families refused within the last `REFUSAL_MEMORY`.
    fn still_refused(&mut self) -> HashSet<String> {
        self.refused
            .retain(|_, when| when.elapsed() < REFUSAL_MEMORY);
        self.refused.keys().cloned().collect()
    }

    /// Takes the family the gateway's answer blames out of `body`, when the body has it.
    fn without_refused(&mut self, body: &[u8], answer: &str) -> Option<Bytes> {
        let family = refused_family(answer)?;
        let (rest, series) = without_family(std::str::from_utf8(body).ok()?, family)?;
        tracing::warn!(
            family,
            series,
            answer,
            "the Pushgateway refused a family; pushing the rest without it, and leaving it out for \
             the next hour"
        );
        self.telemetry.push_dropped(REFUSED, series);
        self.refused.insert(family.to_owned(), Instant::now());
        Some(Bytes::from(rest))
    }

    /// One PUT of `body`: the answer's status and text, or why there was none.
    async fn put(&self, body: Bytes) -> Result<(reqwest::StatusCode, Refusal), reqwest::Error> {
        let mut request = self
            .client
            .put(self.url.clone())
            .header(CONTENT_TYPE, TEXT_FORMAT)
            .body(body);
        if let Some(username) = &self.target.username {
            let password = self.target.password.as_ref().map(Secret::expose);
            request = request.basic_auth(username, password);
        }
        let response = request.send().await?;
        let status = response.status();
        Ok((status, Refusal::read(response, SystemTime::now()).await))
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
        let refused = self.still_refused();
        let (body, report) = encode(&targets, self.target.include.as_ref(), &refused);
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
        let Some(mut body) = self.pending.clone() else {
            return Verdict::Delivered;
        };
        let shown = without_credentials(&self.url);
        // Each refusal of a family takes that family out, so this ends within the body's families.
        let (status, refusal) = loop {
            let (status, refusal) = match self.put(body.clone()).await {
                Ok(answer) => answer,
                Err(err) => {
                    return Verdict::Retry {
                        reason: format!("pushing to {shown} failed: {}", describe(err)),
                        after: None,
                    };
                }
            };
            let answer = String::from_utf8_lossy(&refusal.body);
            let rest = (status == reqwest::StatusCode::BAD_REQUEST)
                .then(|| self.without_refused(&body, &answer))
                .flatten();
            match rest {
                Some(rest) => {
                    body = rest.clone();
                    self.pending = Some(rest);
                }
                None => break (status, refusal),
            }
        };
        let message = String::from_utf8_lossy(&refusal.body);
        let message = message.trim();
        let reason = if message.is_empty() {
            format!("{shown} answered HTTP {status}")
        } else {
            format!("{shown} answered HTTP {status}: {message}")
        };
        let verdict = classify(status.as_u16(), reason, refusal.retry_after);
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
