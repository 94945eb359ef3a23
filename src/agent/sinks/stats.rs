//! POSTing client-stats to a beaconcha.in-style endpoint.
//!
//! The receiver answers 200 with an empty body, or an error status with
//! `{"status":"ERROR: <message>","data":null}`; that message is what an operator needs to see. It
//! keeps one insert per (key, machine, process) per wall-clock minute and drops the rest, so the
//! queue holds only the newest object per process and, unless told otherwise, sends a process at
//! most once per minute. A request holds at most one object per process: three, far below the
//! receiver's limit of ten.

use std::time::{Duration, SystemTime};

use crate::unix_millis;

use reqwest::header::CONTENT_TYPE;

use super::{Refusal, Sink};
use crate::agent::Cycle;
use crate::agent::scrape::describe;
use crate::retry::{Verdict, classify};
use crate::secret::SensitiveUrl;
use crate::wire::client_stats::{self, StatsObject};

const MINUTE_MS: u64 = 60_000;

/// The newest object per process, and when each process was last accepted.
#[derive(Debug, Clone, Default)]
pub struct StatsQueue {
    pending: Vec<StatsObject>,
    accepted_minute: Vec<(&'static str, u64)>,
    one_per_minute: bool,
}

impl StatsQueue {
    pub fn new(one_per_minute: bool) -> Self {
        StatsQueue {
            one_per_minute,
            ..StatsQueue::default()
        }
    }

    /// Takes a cycle's objects; each replaces the pending object of its process.
    pub fn offer(&mut self, objects: Vec<StatsObject>) {
        for object in objects {
            match self
                .pending
                .iter_mut()
                .find(|pending| pending.process() == object.process())
            {
                Some(slot) => *slot = object,
                None => self.pending.push(object),
            }
        }
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    fn accepted_in(&self, process: &str, minute: u64) -> bool {
        self.one_per_minute
            && self
                .accepted_minute
                .iter()
                .any(|&(accepted, at)| accepted == process && at == minute)
    }

    /// The pending objects that may go out in `minute`.
    pub fn due(&self, minute: u64) -> Vec<StatsObject> {
        self.pending
            .iter()
            .filter(|object| !self.accepted_in(object.process(), minute))
            .cloned()
            .collect()
    }

    /// How long until something pending may go out, at `now_ms` (Unix milliseconds).
    pub fn hold(&self, now_ms: u64) -> Duration {
        let minute = now_ms / MINUTE_MS;
        if self.pending.is_empty() || !self.due(minute).is_empty() {
            return Duration::ZERO;
        }
        Duration::from_millis((minute + 1) * MINUTE_MS - now_ms)
    }

    /// The receiver accepted `sent` in `minute`.
    pub fn delivered(&mut self, sent: &[StatsObject], minute: u64) {
        for object in sent {
            let process = object.process();
            self.pending.retain(|pending| pending.process() != process);
            self.accepted_minute
                .retain(|&(accepted, _)| accepted != process);
            self.accepted_minute.push((process, minute));
        }
    }

    /// The receiver refused `sent` for good.
    pub fn drop_sent(&mut self, sent: &[StatsObject]) {
        self.pending.retain(|pending| {
            !sent
                .iter()
                .any(|object| object.process() == pending.process())
        });
    }
}

/// One client-stats endpoint.
#[derive(Debug)]
pub struct StatsSink {
    client: reqwest::Client,
    endpoint: SensitiveUrl,
    queue: StatsQueue,
}

impl StatsSink {
    /// `one_per_minute`: hold a process's next object until the next wall-clock minute once one was
    /// accepted (beaconcha.in drops the extra ones anyway).
    pub fn new(
        endpoint: SensitiveUrl,
        timeout: Duration,
        one_per_minute: bool,
    ) -> Result<Self, crate::Error> {
        Ok(StatsSink {
            client: crate::http_client(timeout)?,
            endpoint,
            queue: StatsQueue::new(one_per_minute),
        })
    }
}

/// One POST of a JSON body, and what the answer means for it. Also the validator view's, whose
/// receiver (`nodepulse serve`) answers as beaconcha.in does.
pub(super) async fn post_json(
    client: &reqwest::Client,
    endpoint: &SensitiveUrl,
    body: Vec<u8>,
    now: SystemTime,
) -> Verdict {
    let result = client
        .post(endpoint.expose().clone())
        .header(CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    let response = match result {
        Ok(response) => response,
        Err(err) => {
            return Verdict::Retry {
                reason: format!("sending to {endpoint} failed: {}", describe(err)),
                after: None,
            };
        }
    };
    let status = response.status();
    if status.is_success() {
        return Verdict::Delivered;
    }
    let Refusal {
        retry_after: waited,
        body,
    } = Refusal::read(response, now).await;
    let reason = match receiver_message(&body) {
        Some(message) => format!("{endpoint} answered HTTP {status}: {message}"),
        None => format!("{endpoint} answered HTTP {status}"),
    };
    let status = status.as_u16();
    classify(status, reason, wait_before_retry(status, waited, now))
}

impl Sink for StatsSink {
    fn name(&self) -> &'static str {
        "client-stats"
    }

    fn offer(&mut self, cycle: &Cycle) {
        self.queue
            .offer(client_stats::encode(&cycle.snapshot, cycle.timestamp_ms));
    }

    fn pending(&self) -> usize {
        self.queue.len()
    }

    fn hold(&self) -> Duration {
        self.queue.hold(unix_millis(SystemTime::now()))
    }

    async fn attempt(&mut self) -> Verdict {
        let now = SystemTime::now();
        let minute = unix_millis(now) / MINUTE_MS;
        let objects = self.queue.due(minute);
        if objects.is_empty() {
            // Only reachable if the clock jumped back between `hold` and here; wait it out.
            return Verdict::Retry {
                reason: "nothing due this minute".into(),
                after: Some(until_next_minute(now)),
            };
        }
        let body = client_stats::to_body(&objects);
        let verdict = post_json(&self.client, &self.endpoint, body, now).await;
        match verdict {
            Verdict::Delivered => self.queue.delivered(&objects, minute),
            Verdict::Rejected { .. } => self.queue.drop_sent(&objects),
            Verdict::Retry { .. } => {}
        }
        verdict
    }
}

/// How long to wait before retrying after `status`: the receiver's `Retry-After` when it gave one;
/// for a 429 without one, the next wall-clock minute, since that is beaconcha.in's per-minute rule
/// speaking; otherwise the backoff decides (`None`).
fn wait_before_retry(
    status: u16,
    retry_after: Option<Duration>,
    now: SystemTime,
) -> Option<Duration> {
    match status {
        429 => retry_after.or_else(|| Some(until_next_minute(now))),
        _ => retry_after,
    }
}

fn until_next_minute(now: SystemTime) -> Duration {
    let ms = unix_millis(now);
    Duration::from_millis((ms / MINUTE_MS + 1) * MINUTE_MS - ms)
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
    fn a_429_without_retry_after_waits_for_the_next_minute() {
        // 12:34:59.250 UTC on some day: 750 ms to the next minute.
        let now = SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_419_699_250);
        assert_eq!(
            wait_before_retry(429, None, now),
            Some(Duration::from_millis(750))
        );
        assert_eq!(
            wait_before_retry(429, Some(Duration::from_secs(2)), now),
            Some(Duration::from_secs(2)),
            "Retry-After wins"
        );
        assert_eq!(
            wait_before_retry(503, None, now),
            None,
            "the backoff decides"
        );
        let on_the_minute = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_419_700);
        assert_eq!(
            wait_before_retry(429, None, on_the_minute),
            Some(Duration::from_secs(60)),
            "this minute's insert is spent: the whole next minute"
        );
    }

    fn system(timestamp: u64) -> StatsObject {
        StatsObject::System(client_stats::system(&Default::default(), timestamp))
    }

    fn beacon(timestamp: u64) -> StatsObject {
        use crate::wire::snapshot::{BeaconSnapshot, ProcessSnapshot};
        let process = ProcessSnapshot {
            client: "teku".to_owned(),
            version: None,
            build: None,
            cpu_seconds: None,
            resident_memory_bytes: None,
        };
        let snapshot = BeaconSnapshot {
            process,
            head_slot: None,
            synced: None,
            peers: None,
            execution_connected: None,
            execution_fallback_configured: None,
            execution_fallback_connected: None,
            database_bytes: None,
            p2p_bytes_received: None,
            p2p_bytes_sent: None,
            slasher_active: None,
        };
        StatsObject::BeaconNode(client_stats::beacon_node(&snapshot, timestamp))
    }

    fn timestamps(objects: &[StatsObject]) -> Vec<(&'static str, u64)> {
        objects
            .iter()
            .map(|object| {
                let json = serde_json::to_value(object).expect("serializes");
                (object.process(), json["timestamp"].as_u64().unwrap_or(0))
            })
            .collect()
    }

    #[test]
    fn newest_object_per_process_wins() {
        let mut queue = StatsQueue::new(true);
        queue.offer(vec![beacon(1), system(1)]);
        queue.offer(vec![system(2)]);
        queue.offer(vec![system(3)]);
        assert_eq!(
            timestamps(&queue.due(0)),
            [("beaconnode", 1), ("system", 3)],
            "the beacon node missed two cycles: its last object stays; the system's newest wins"
        );
    }

    #[test]
    fn one_insert_per_process_per_minute() {
        let mut queue = StatsQueue::new(true);
        queue.offer(vec![beacon(1), system(1)]);
        let sent = queue.due(100);
        queue.delivered(&sent, 100);
        assert!(queue.is_empty());
        queue.offer(vec![beacon(2), system(2)]);
        assert!(queue.due(100).is_empty(), "both were accepted this minute");
        let now_ms = 100 * MINUTE_MS + 45_000;
        assert_eq!(
            queue.hold(now_ms),
            Duration::from_secs(15),
            "until the next minute"
        );
        assert_eq!(
            timestamps(&queue.due(101)),
            [("beaconnode", 2), ("system", 2)]
        );
        assert_eq!(queue.hold(101 * MINUTE_MS), Duration::ZERO);
    }

    #[test]
    fn without_the_minute_rule_nothing_is_held() {
        let mut queue = StatsQueue::new(false);
        queue.offer(vec![system(1)]);
        let sent = queue.due(7);
        queue.delivered(&sent, 7);
        queue.offer(vec![system(2)]);
        assert_eq!(timestamps(&queue.due(7)), [("system", 2)]);
        assert_eq!(queue.hold(7 * MINUTE_MS + 1), Duration::ZERO);
    }

    #[test]
    fn refused_objects_are_dropped() {
        let mut queue = StatsQueue::new(true);
        queue.offer(vec![beacon(1), system(1)]);
        let sent = queue.due(0);
        queue.drop_sent(&sent);
        assert!(queue.is_empty());
        assert_eq!(queue.hold(5), Duration::ZERO);
    }

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
