//! The validator view's reports, to the `nodepulse serve` that `--stats-base-url`, `--api-key` and
//! `--machine` name: each finished epoch's report once, oldest first, and the execution client's
//! newest. Never to beaconcha.in: client-stats has no such process, and it answers 400.
//!
//! Unlike client-stats, an epoch's report is not replaced by the next: each is kept until
//! delivered or refused, up to `MAX_QUEUED_EPOCHS` (a day of mainnet's), the oldest dropped first,
//! so that an outage of the receiver costs no epoch shorter than that.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use super::Sink;
use super::stats::post_json;
use crate::agent::Cycle;
use crate::retry::Verdict;
use crate::secret::SensitiveUrl;
use crate::wire::execution::ExecutionReport;
use crate::wire::validators::EpochReport;

/// Epoch reports held through an outage.
const MAX_QUEUED_EPOCHS: usize = 225;

/// Where the reports go: the two routes, the key and machine in each URL.
#[derive(Debug, Clone)]
pub struct ReportRoutes {
    pub validators: SensitiveUrl,
    pub execution: SensitiveUrl,
}

#[derive(Debug)]
pub struct ReportSink {
    client: reqwest::Client,
    routes: ReportRoutes,
    epochs: VecDeque<EpochReport>,
    execution: Option<ExecutionReport>,
}

impl ReportSink {
    pub fn new(routes: ReportRoutes, timeout: Duration) -> Result<Self, crate::Error> {
        Ok(ReportSink {
            client: crate::http_client(timeout)?,
            routes,
            epochs: VecDeque::new(),
            execution: None,
        })
    }
}

impl Sink for ReportSink {
    fn name(&self) -> &'static str {
        "validator-view"
    }

    fn offer(&mut self, cycle: &Cycle) {
        if let Some(report) = &cycle.validators {
            if self
                .epochs
                .back()
                .is_some_and(|last| last.epoch >= report.epoch)
            {
                return; // the same cycle offered again
            }
            if self.epochs.len() == MAX_QUEUED_EPOCHS {
                let dropped = self.epochs.pop_front().map(|r| r.epoch);
                tracing::warn!(
                    ?dropped,
                    "the receiver has been away for {MAX_QUEUED_EPOCHS} epochs: the oldest report is dropped"
                );
            }
            self.epochs.push_back(report.clone());
        }
        if let Some(report) = &cycle.execution {
            self.execution = Some(report.clone());
        }
    }

    fn pending(&self) -> usize {
        self.epochs.len() + usize::from(self.execution.is_some())
    }

    /// One request: the execution report first (it is small and only the newest matters), then the
    /// oldest epoch.
    async fn attempt(&mut self) -> Verdict {
        let now = SystemTime::now();
        let (route, body) = match (&self.execution, self.epochs.front()) {
            (Some(report), _) => (&self.routes.execution, serde_json::to_vec(report)),
            (None, Some(report)) => (&self.routes.validators, serde_json::to_vec(report)),
            (None, None) => {
                return Verdict::Retry {
                    reason: "nothing to send".into(),
                    after: None,
                };
            }
        };
        let verdict = match body {
            Ok(body) => post_json(&self.client, route, body, now).await,
            Err(err) => Verdict::Rejected {
                reason: format!("the report does not serialize: {err}"),
            },
        };
        if !matches!(verdict, Verdict::Retry { .. }) {
            if self.execution.is_some() {
                self.execution = None;
            } else {
                self.epochs.pop_front();
            }
        }
        verdict
    }
}
