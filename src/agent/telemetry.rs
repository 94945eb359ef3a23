//! The agent's own telemetry: one named event per thing that can happen, each writing the log line
//! and updating the counter together, so that logs and `/metrics` never disagree; plus the health
//! that `/healthz` reports.
//!
//! A failure that repeats (a receiver refusing the same payload every cycle, a receiver down for an
//! hour) is logged on the 1st, 10th, 100th, ... occurrence with its count, and once more when the
//! sink delivers again, instead of once per attempt.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::agent::beacon::BeaconError;
use crate::agent::rpc::RpcError;
use crate::agent::scrape::Target;
use crate::agent::{Role, TargetError};
use crate::retry::Verdict;
use crate::wire::execution::ExecutionReport;
use crate::wire::exposition::Exposition;
use crate::wire::validators::{EpochReport, Status};

/// A sink is healthy while it delivered within this many intervals (or, before its first delivery,
/// while the agent has run for less than that).
const HEALTHY_INTERVALS: u32 = 3;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabels {
    target: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SinkLabels {
    sink: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SendLabels {
    sink: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UrlLabels {
    url: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ValidatorLabels {
    validator: u64,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FigureLabels {
    figure: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// How one sink is doing, for health and for folding repeated failures.
#[derive(Debug, Default)]
struct SinkState {
    last_success: Option<Instant>,
    /// The last failure's message, and whether the sink has failed since its last success.
    failure: Option<String>,
    failing: bool,
    /// A failure line was logged and no recovery line since.
    announced: bool,
    /// How often `failure` happened in a row of episodes, and when last: a receiver that fails
    /// every other request still logs on the 1st, 10th, 100th occurrence only.
    repeats: u64,
    last_failure_at: Option<Instant>,
}

/// A failure that has not recurred for this long starts its count afresh.
const FOLD_WINDOW: Duration = Duration::from_secs(600);

/// 1, 10, 100, ...: the occurrences worth a line.
fn worth_logging(n: u64) -> bool {
    n > 0 && 10u64.pow(n.ilog10()) == n
}

pub struct Telemetry {
    registry: Registry,
    scrape_duration: Family<TargetLabels, Histogram, fn() -> Histogram>,
    scrape_failures: Family<TargetLabels, Counter>,
    malformed_lines: Family<TargetLabels, Counter>,
    sends: Family<SendLabels, Counter>,
    last_success: Family<SinkLabels, Gauge<f64, AtomicU64>>,
    queue_depth: Family<SinkLabels, Gauge>,
    push_dropped: Family<ReasonLabels, Counter>,
    stream_connected: Family<UrlLabels, Gauge>,
    stream_frames: Family<UrlLabels, Counter>,
    validators: Family<StatusLabels, Gauge>,
    attestations: Family<OutcomeLabels, Counter>,
    proposals: Family<OutcomeLabels, Counter>,
    reported_epoch: Gauge,
    beacon_api_failures: Counter,
    validator_balance: Family<ValidatorLabels, Gauge>,
    validator_attested: Family<ValidatorLabels, Gauge>,
    execution: Family<FigureLabels, Gauge>,
    started: Instant,
    interval: Duration,
    sinks: Mutex<HashMap<String, SinkState>>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry").finish_non_exhaustive()
    }
}

/// The health and failure-folding key of a telemetry stream.
pub fn stream_sink(url: &str) -> String {
    format!("telemetry {url}")
}

fn scrape_histogram() -> Histogram {
    // 5 ms to about 20 s: a local scrape takes milliseconds, a timeout takes the whole --timeout.
    Histogram::new(exponential_buckets(0.005, 2.0, 13))
}

impl Telemetry {
    pub fn new(interval: Duration) -> Self {
        let mut registry = Registry::with_prefix("nodepulse");
        let scrape_duration =
            Family::<TargetLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                scrape_histogram as fn() -> Histogram,
            );
        let scrape_failures = Family::<TargetLabels, Counter>::default();
        let malformed_lines = Family::<TargetLabels, Counter>::default();
        let sends = Family::<SendLabels, Counter>::default();
        let last_success = Family::<SinkLabels, Gauge<f64, AtomicU64>>::default();
        let queue_depth = Family::<SinkLabels, Gauge>::default();
        let push_dropped = Family::<ReasonLabels, Counter>::default();
        let stream_connected = Family::<UrlLabels, Gauge>::default();
        let stream_frames = Family::<UrlLabels, Counter>::default();
        registry.register(
            "build",
            "nodepulse build information",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        registry.register(
            "scrape_duration_seconds",
            "Time to fetch and parse a target's metrics",
            scrape_duration.clone(),
        );
        registry.register(
            "scrape_failures",
            "Scrapes of a target that gave nothing",
            scrape_failures.clone(),
        );
        registry.register(
            "scrape_malformed_lines",
            "Lines of a target's scrapes skipped as malformed",
            malformed_lines.clone(),
        );
        registry.register(
            "sends",
            "Delivery attempts per sink by outcome (delivered, retry, rejected)",
            sends.clone(),
        );
        registry.register(
            "last_success_timestamp_seconds",
            "Unix time of a sink's last accepted delivery",
            last_success.clone(),
        );
        registry.register(
            "queue_depth",
            "Payloads a sink holds for delivery",
            queue_depth.clone(),
        );
        registry.register(
            "push_series_dropped",
            "Series left out of a Pushgateway push because the Pushgateway would refuse them",
            push_dropped.clone(),
        );
        registry.register(
            "telemetry_connected",
            "Whether the WebSocket telemetry stream to a URL is connected (1) or not (0)",
            stream_connected.clone(),
        );
        registry.register(
            "telemetry_frames_sent",
            "Frames sent on the WebSocket telemetry stream to a URL",
            stream_frames.clone(),
        );
        let validators = Family::<StatusLabels, Gauge>::default();
        let attestations = Family::<OutcomeLabels, Counter>::default();
        let proposals = Family::<OutcomeLabels, Counter>::default();
        let reported_epoch = Gauge::default();
        let beacon_api_failures = Counter::default();
        registry.register(
            "validators",
            "Watched validators by status, as of the last reported epoch",
            validators.clone(),
        );
        registry.register(
            "validator_attestations",
            "Watched validators' attestations of reported epochs, attested or missed",
            attestations.clone(),
        );
        registry.register(
            "validator_proposals",
            "Watched validators' block proposals of reported epochs, proposed or missed",
            proposals.clone(),
        );
        registry.register(
            "validator_reported_epoch",
            "The last epoch the validator view reported",
            reported_epoch.clone(),
        );
        registry.register(
            "beacon_api_failures",
            "Cycles in which the beacon API gave no validator report for a failure",
            beacon_api_failures.clone(),
        );
        let validator_balance = Family::<ValidatorLabels, Gauge>::default();
        let validator_attested = Family::<ValidatorLabels, Gauge>::default();
        registry.register(
            "validator_balance_gwei",
            "A watched validator's balance in the last reported epoch (--per-validator-metrics)",
            validator_balance.clone(),
        );
        registry.register(
            "validator_attested",
            "1 when a watched validator's attestation of the last reported epoch made it, 0 when missed (--per-validator-metrics)",
            validator_attested.clone(),
        );
        let execution = Family::<FigureLabels, Gauge>::default();
        registry.register(
            "execution",
            "The execution client's figures (synced, head_block, head_age_seconds, peers, chain_id), each as it last answered",
            execution.clone(),
        );
        Telemetry {
            registry,
            execution,
            validator_balance,
            validator_attested,
            validators,
            attestations,
            proposals,
            reported_epoch,
            beacon_api_failures,
            stream_connected,
            stream_frames,
            scrape_duration,
            scrape_failures,
            malformed_lines,
            sends,
            last_success,
            queue_depth,
            push_dropped,
            started: Instant::now(),
            interval,
            sinks: Mutex::new(HashMap::new()),
        }
    }

    /// Makes a sink known, so that health covers it before its first attempt.
    pub fn register_sink(&self, sink: &str) {
        self.lock_sinks().entry(sink.to_owned()).or_default();
        self.queue_depth
            .get_or_create(&SinkLabels { sink: sink.into() })
            .set(0);
    }

    fn lock_sinks(&self) -> std::sync::MutexGuard<'_, HashMap<String, SinkState>> {
        // A panic while holding this lock cannot leave the map inconsistent; keep going.
        self.sinks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A target answered with an exposition its profile could read; malformed lines in it were
    /// skipped and are reported.
    pub fn scrape_succeeded(
        &self,
        role: Role,
        target: &Target,
        took: Duration,
        exposition: &Exposition,
    ) {
        let labels = TargetLabels {
            target: role.label(),
        };
        self.scrape_duration
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
        let malformed = exposition.malformed_lines();
        if let Some(first) = exposition.line_errors().first() {
            self.malformed_lines
                .get_or_create(&labels)
                .inc_by(malformed as u64);
            tracing::warn!(
                %target,
                "{role} scrape: {malformed} malformed lines skipped (first, line {}: {})",
                first.line,
                first.reason
            );
        }
        tracing::debug!(%target, families = exposition.len(), "scraped {role}");
    }

    /// A target gave nothing this cycle: its object is left out.
    pub fn scrape_failed(&self, role: Role, target: &Target, took: Duration, error: &TargetError) {
        let labels = TargetLabels {
            target: role.label(),
        };
        self.scrape_duration
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
        self.scrape_failures.get_or_create(&labels).inc();
        tracing::warn!(%target, "{role} scrape failed, its object is left out this cycle: {error}");
    }

    /// A finished epoch's validator report: counts by status, attestations and proposals, and with
    /// `per_validator` each validator's balance and attestation.
    pub fn epoch_reported(&self, report: &EpochReport, per_validator: bool) {
        if per_validator {
            self.validator_balance.clear();
            self.validator_attested.clear();
            for validator in &report.validators {
                let labels = ValidatorLabels {
                    validator: validator.index,
                };
                self.validator_balance
                    .get_or_create(&labels)
                    .set(i64::try_from(validator.balance).unwrap_or(i64::MAX));
                if let Some(attested) = validator.attested {
                    self.validator_attested
                        .get_or_create(&labels)
                        .set(i64::from(attested));
                }
            }
        }
        for status in Status::ALL {
            let count = report
                .validators
                .iter()
                .filter(|v| v.status == status)
                .count();
            self.validators
                .get_or_create(&StatusLabels {
                    status: status.as_str(),
                })
                .set(count as i64);
        }
        let outcome = |done: bool| if done { "attested" } else { "missed" };
        let mut missed = 0;
        for attested in report.validators.iter().filter_map(|v| v.attested) {
            missed += u64::from(!attested);
            self.attestations
                .get_or_create(&OutcomeLabels {
                    outcome: outcome(attested),
                })
                .inc();
        }
        for proposal in report.validators.iter().flat_map(|v| &v.proposals) {
            let outcome = if proposal.missed() {
                "missed"
            } else {
                "proposed"
            };
            self.proposals
                .get_or_create(&OutcomeLabels { outcome })
                .inc();
        }
        self.reported_epoch
            .set(i64::try_from(report.epoch).unwrap_or(i64::MAX));
        tracing::info!(
            epoch = report.epoch,
            validators = report.validators.len(),
            missed_attestations = missed,
            "validator report"
        );
    }

    /// The execution client's figures; one it did not answer is removed, not set to 0.
    pub fn execution_observed(&self, rpc: &str, observed: &Result<ExecutionReport, RpcError>) {
        let report = match observed {
            Ok(report) => Some(report),
            Err(err) => {
                tracing::warn!(
                    rpc,
                    "the execution client answered nothing this cycle: {err}"
                );
                None
            }
        };
        let figures = [
            ("synced", report.and_then(|r| r.synced).map(u64::from)),
            ("head_block", report.and_then(|r| r.head_block)),
            ("head_age_seconds", report.and_then(|r| r.head_age_seconds)),
            ("peers", report.and_then(|r| r.peers)),
            ("chain_id", report.and_then(|r| r.chain_id)),
        ];
        for (figure, value) in figures {
            let labels = FigureLabels { figure };
            match value {
                Some(value) => {
                    self.execution
                        .get_or_create(&labels)
                        .set(i64::try_from(value).unwrap_or(i64::MAX));
                }
                None => {
                    self.execution.remove(&labels);
                }
            }
        }
    }

    /// The beacon API failed this cycle; the report waits for the next.
    pub fn beacon_api_failed(&self, api: &str, error: &BeaconError) {
        self.beacon_api_failures.inc();
        tracing::warn!(api, "no validator report this cycle: {error}");
    }

    pub fn queue_depth(&self, sink: &str, depth: usize) {
        self.queue_depth
            .get_or_create(&SinkLabels { sink: sink.into() })
            .set(depth as i64);
    }

    pub fn push_dropped(&self, reason: &'static str, count: usize) {
        self.push_dropped
            .get_or_create(&ReasonLabels { reason })
            .inc_by(count as u64);
    }

    /// Records one delivery attempt: the counter, the health, and the log line (folded when the
    /// same failure repeats).
    pub fn delivery(&self, sink: &str, verdict: &Verdict) {
        let outcome = match verdict {
            Verdict::Delivered => "delivered",
            Verdict::Retry { .. } => "retry",
            Verdict::Rejected { .. } => "rejected",
        };
        self.sends
            .get_or_create(&SendLabels {
                sink: sink.into(),
                outcome,
            })
            .inc();
        match verdict {
            Verdict::Delivered => self.succeeded(sink),
            Verdict::Retry { reason, .. } => {
                self.failed(sink, format!("{reason}; will retry"), tracing::Level::WARN);
            }
            Verdict::Rejected { reason } => self.failed(
                sink,
                format!("{reason}; this payload is dropped, not retried"),
                tracing::Level::ERROR,
            ),
        }
    }

    /// A WebSocket telemetry stream connected.
    pub fn stream_connected(&self, url: &str) {
        self.stream_connected
            .get_or_create(&UrlLabels { url: url.into() })
            .set(1);
        tracing::info!(url, "telemetry stream connected");
    }

    /// A stream is down: a connected one was lost, or connecting failed. It will be retried.
    pub fn stream_down(&self, url: &str, what: &str) {
        self.stream_connected
            .get_or_create(&UrlLabels { url: url.into() })
            .set(0);
        self.failed(
            &stream_sink(url),
            format!("{what}; will retry"),
            tracing::Level::WARN,
        );
    }

    /// A frame went out on a stream: that stream delivers.
    pub fn stream_frame_sent(&self, url: &str) {
        self.stream_frames
            .get_or_create(&UrlLabels { url: url.into() })
            .inc();
        self.succeeded(&stream_sink(url));
    }

    fn succeeded(&self, sink: &str) {
        let mut sinks = self.lock_sinks();
        let state = sinks.entry(sink.to_owned()).or_default();
        state.last_success = Some(Instant::now());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64());
        self.last_success
            .get_or_create(&SinkLabels { sink: sink.into() })
            .set(now);
        if state.announced {
            let failure = state.failure.as_deref().unwrap_or_default();
            tracing::info!(
                sink,
                "delivering again after {} failed attempts (last: {failure})",
                state.repeats
            );
        }
        state.failing = false;
        state.announced = false;
    }

    /// Logs a failure on its 1st, 10th, 100th, ... repetition: an operator sees it at once and
    /// sees it go on, without a line per attempt.
    fn failed(&self, sink: &str, message: String, level: tracing::Level) {
        let mut sinks = self.lock_sinks();
        let state = sinks.entry(sink.to_owned()).or_default();
        let now = Instant::now();
        let recent = state
            .last_failure_at
            .is_some_and(|at| now.duration_since(at) < FOLD_WINDOW);
        if recent && state.failure.as_deref() == Some(message.as_str()) {
            state.repeats += 1;
        } else {
            state.failure = Some(message.clone());
            state.repeats = 1;
        }
        state.failing = true;
        state.last_failure_at = Some(now);
        let n = state.repeats;
        if !worth_logging(n) {
            return;
        }
        state.announced = true;
        let count = if n == 1 {
            String::new()
        } else {
            format!(" (repeated {n} times)")
        };
        if level == tracing::Level::ERROR {
            tracing::error!(sink, "{message}{count}");
        } else {
            tracing::warn!(sink, "{message}{count}");
        }
    }

    /// The last failure of a sink, if it has not delivered since.
    pub fn last_failure(&self, sink: &str) -> Option<String> {
        self.lock_sinks()
            .get(sink)
            .filter(|state| state.failing)
            .and_then(|state| state.failure.clone())
    }

    /// Whether every sink delivered recently, and a JSON body that says so per sink.
    pub fn health(&self) -> (bool, String) {
        self.health_at(Instant::now())
    }

    /// The health as of `now`.
    fn health_at(&self, now: Instant) -> (bool, String) {
        let window = self.interval * HEALTHY_INTERVALS;
        let sinks = self.lock_sinks();
        let mut names: Vec<&String> = sinks.keys().collect();
        names.sort();
        let mut all_healthy = true;
        let mut report = serde_json::Map::new();
        for name in names {
            let state = &sinks[name.as_str()];
            let since = now.duration_since(state.last_success.unwrap_or(self.started));
            let healthy = since <= window;
            all_healthy &= healthy;
            report.insert(
                name.clone(),
                serde_json::json!({
                    "healthy": healthy,
                    "last_success_seconds_ago": state.last_success.map(|at| now.duration_since(at).as_secs()),
                    "last_failure": state.failure.as_ref().filter(|_| state.failing),
                }),
            );
        }
        let body = serde_json::json!({
            "status": if all_healthy { "ok" } else { "unhealthy" },
            "sinks": report,
        });
        (all_healthy, body.to_string())
    }

    /// The metrics in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_text_has_every_family() {
        let telemetry = Telemetry::new(Duration::from_secs(90));
        telemetry.register_sink("client-stats");
        let target = Target::parse("http://127.0.0.1:5054/metrics").expect("target");
        let exposition = Exposition::parse(b"up 1\nbad line here\n0bad 1\n").expect("parses");
        telemetry.scrape_succeeded(
            Role::BeaconNode,
            &target,
            Duration::from_millis(12),
            &exposition,
        );
        let error = TargetError::Scrape(crate::agent::scrape::ScrapeError::Timeout(
            Duration::from_secs(10),
        ));
        telemetry.scrape_failed(Role::Validator, &target, Duration::from_secs(10), &error);
        telemetry.delivery(
            "client-stats",
            &Verdict::Retry {
                reason: "HTTP 503".into(),
                after: None,
            },
        );
        telemetry.delivery("client-stats", &Verdict::Delivered);
        let text = telemetry.encode();
        for line in [
            "nodepulse_build_info{version=\"",
            "nodepulse_scrape_duration_seconds_count{target=\"beacon-node\"} 1",
            "nodepulse_scrape_failures_total{target=\"validator\"} 1",
            "nodepulse_scrape_malformed_lines_total{target=\"beacon-node\"} 2",
            "nodepulse_sends_total{sink=\"client-stats\",outcome=\"retry\"} 1",
            "nodepulse_sends_total{sink=\"client-stats\",outcome=\"delivered\"} 1",
            "nodepulse_last_success_timestamp_seconds{sink=\"client-stats\"} ",
            "nodepulse_queue_depth{sink=\"client-stats\"} 0",
        ] {
            assert!(text.contains(line), "missing `{line}` in:\n{text}");
        }
    }

    #[test]
    fn health_follows_deliveries() {
        // The time is passed in, not slept through: an hour's interval, looked at from outside.
        let interval = Duration::from_secs(3600);
        let telemetry = Telemetry::new(interval);
        telemetry.register_sink("pushgateway");
        let started = telemetry.started;
        let window = interval * HEALTHY_INTERVALS;
        assert!(
            telemetry.health_at(started + window).0,
            "healthy while young"
        );
        let (healthy, body) = telemetry.health_at(started + window + Duration::from_secs(1));
        assert!(!healthy, "{body}");
        assert!(body.contains("\"status\":\"unhealthy\""), "{body}");
        let before = Instant::now();
        telemetry.delivery("pushgateway", &Verdict::Delivered);
        let (healthy, body) = telemetry.health_at(before + window);
        assert!(healthy, "a delivery at most a window ago: {body}");
        assert!(body.contains("\"last_success_seconds_ago\":"), "{body}");
        let (healthy, _) = telemetry.health_at(before + window + window);
        assert!(!healthy, "unhealthy again when deliveries stop");
    }

    #[test]
    fn a_receiver_failing_every_other_request_is_folded_too() {
        let telemetry = Telemetry::new(Duration::from_secs(1));
        let flaky = Verdict::Retry {
            reason: "HTTP 503".into(),
            after: None,
        };
        for _ in 0..25 {
            telemetry.delivery("pushgateway", &flaky);
            telemetry.delivery("pushgateway", &Verdict::Delivered);
        }
        let sinks = telemetry.lock_sinks();
        let state = &sinks["pushgateway"];
        assert_eq!(state.repeats, 25, "counted across recoveries");
        assert!(!state.failing && !state.announced);
        assert!(worth_logging(1) && worth_logging(10) && worth_logging(100));
        assert!(!worth_logging(2) && !worth_logging(25) && !worth_logging(0));
    }

    #[test]
    fn repeated_failures_are_remembered_until_delivery() {
        let telemetry = Telemetry::new(Duration::from_secs(1));
        let refused = Verdict::Rejected {
            reason: "HTTP 400: ERROR: bad".into(),
        };
        for _ in 0..25 {
            telemetry.delivery("client-stats", &refused);
        }
        assert!(
            telemetry
                .last_failure("client-stats")
                .is_some_and(|f| f.contains("ERROR: bad"))
        );
        assert_eq!(telemetry.lock_sinks()["client-stats"].repeats, 25);
        telemetry.delivery("client-stats", &Verdict::Delivered);
        assert_eq!(telemetry.last_failure("client-stats"), None);
    }
}
