//! Sinks deliver what each cycle produced. They know receivers and bytes, nothing of clients.
//!
//! Every sink runs as its own task, fed through a `watch` channel that holds only the newest
//! cycle: a slow or dead sink never delays another or the next scrape, and an outage leaves a sink
//! holding the newest payload, not a backlog. `deliver` is the one loop they all share: one attempt
//! at a time (never two requests in flight), backoff between transient failures, and a payload
//! refused for good dropped rather than retried.

pub mod pushgateway;
pub mod reports;
pub mod stats;
pub mod websocket;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio::time::Instant;

use crate::agent::Cycle;
use crate::agent::telemetry::Telemetry;
use crate::retry::{self, BASE_DELAY, Backoff, Jitter, MAX_DELAY, Verdict};

/// A receiver of cycles.
pub trait Sink: Send + 'static {
    /// The name in logs and metrics.
    fn name(&self) -> &'static str;
    /// Takes a cycle's output; it replaces whatever was pending for the same thing.
    fn offer(&mut self, cycle: &Cycle);
    /// How many payloads are waiting (for the queue-depth metric; 0 means nothing to send).
    fn pending(&self) -> usize;
    /// How long the pending payload must still wait for a rule of the receiver's (beaconcha.in's
    /// one insert per minute), apart from any backoff.
    fn hold(&self) -> Duration {
        Duration::ZERO
    }
    /// One delivery attempt of what is pending and due.
    fn attempt(&mut self) -> impl Future<Output = Verdict> + Send;
}

/// What a receiver said with its answer, for the verdict and the log: its `Retry-After` and the
/// start of its body.
pub struct Refusal {
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

impl Refusal {
    /// Enough of an error body for a message: a receiver cannot make us read megabytes of page.
    const MAX_BODY_BYTES: usize = 64 * 1024;

    pub async fn read(mut response: reqwest::Response, now: SystemTime) -> Refusal {
        let retry_after = retry::asked_wait(response.headers(), now);
        let mut body = Vec::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            body.extend_from_slice(&chunk);
            if body.len() >= Refusal::MAX_BODY_BYTES {
                break;
            }
        }
        Refusal { retry_after, body }
    }
}

/// When `deliver` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Until shutdown (`run`).
    Shutdown,
    /// Until the first payload is delivered or refused for good (`run --once`).
    Settled,
}

/// Why a `--once` delivery did not succeed.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{sink}: {reason}")]
pub struct DeliveryError {
    pub sink: String,
    pub reason: String,
}

/// Feeds `sink` the newest cycle and delivers it, retrying with backoff, until `until`.
///
/// The backoff is capped at `max_wait` (at most a minute), so that after a receiver recovers the
/// newest payload goes out within one interval.
pub async fn deliver<S: Sink>(
    mut sink: S,
    mut cycles: watch::Receiver<Option<Arc<Cycle>>>,
    mut stop: watch::Receiver<bool>,
    telemetry: Arc<Telemetry>,
    max_wait: Duration,
    until: Until,
) -> Result<(), DeliveryError> {
    let name = sink.name();
    telemetry.register_sink(name);
    let mut backoff = Backoff::new(BASE_DELAY, max_wait.min(MAX_DELAY), Jitter::from_entropy());
    let mut not_before = Instant::now();
    take_newest(&mut sink, &mut cycles, &telemetry);
    loop {
        let due = (sink.pending() > 0).then(|| not_before.max(Instant::now() + sink.hold()));
        tokio::select! {
            // Stopping wins over starting another attempt.
            biased;
            _ = stop.changed() => return Ok(()),
            changed = cycles.changed() => {
                if changed.is_err() {
                    return Ok(()); // the agent is gone
                }
                take_newest(&mut sink, &mut cycles, &telemetry);
                continue;
            }
            () = sleep_until(due) => {}
        }
        let verdict = sink.attempt().await;
        telemetry.delivery(name, &verdict);
        telemetry.queue_depth(name, sink.pending());
        match verdict {
            Verdict::Delivered => {
                backoff.reset();
                not_before = Instant::now();
                if until == Until::Settled && sink.pending() == 0 {
                    return Ok(());
                }
            }
            Verdict::Retry { after, .. } => {
                not_before = Instant::now() + after.unwrap_or_else(|| backoff.next_delay());
            }
            Verdict::Rejected { reason } => {
                backoff.reset();
                if until == Until::Settled {
                    return Err(DeliveryError {
                        sink: name.to_owned(),
                        reason,
                    });
                }
            }
        }
    }
}

fn take_newest<S: Sink>(
    sink: &mut S,
    cycles: &mut watch::Receiver<Option<Arc<Cycle>>>,
    telemetry: &Telemetry,
) {
    let newest = cycles.borrow_and_update().clone();
    if let Some(cycle) = newest {
        sink.offer(&cycle);
        telemetry.queue_depth(sink.name(), sink.pending());
    }
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
