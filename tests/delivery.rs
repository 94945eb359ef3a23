//! Delivery as an operator meets it: real loopback receivers that accept, refuse, fail for a while,
//! rate-limit or hang; `--once` and the `run` loop; the agent's own /metrics and /healthz; shutdown.
//! The API key must never show in a log line under any of these faults.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::{
    Reply, Running, Server, eventually, fixture_path, free_port, http_get, nodepulse, run, stderr,
};
use nodepulse::wire::exposition::Exposition;
use serde_json::Value;

const API_KEY: &str = "k3y-ShouldNeverBeLogged";

/// A receiver that answers every request with `reply`.
fn receiver(reply: Reply) -> Server {
    Server::start(move |_| reply.clone())
}

/// A receiver that answers `failure` to the first `failures` requests, then 200.
fn failing_first(failures: usize, failure: Reply) -> Server {
    let seen = AtomicUsize::new(0);
    Server::start(move |_| {
        if seen.fetch_add(1, Ordering::SeqCst) < failures {
            failure.clone()
        } else {
            Reply::ok("")
        }
    })
}

/// `nodepulse run --once` against `receiver` with the Lighthouse fixtures, keyed by `API_KEY`.
fn once_to(receiver: &Server, extra: &[&str]) -> std::process::Output {
    run(nodepulse()
        .args(["run", "--once", "--api-key", API_KEY, "--machine", "rig-1"])
        .args(["--stats-base-url", &receiver.url("")])
        .arg("--beacon-node")
        .arg(fixture_path("lighthouse/beacon.prom"))
        .arg("--validator")
        .arg(fixture_path("lighthouse/validator.prom"))
        .args(extra))
}

fn assert_key_hidden(log: &str) {
    assert!(!log.contains(API_KEY), "the key reached a log line:\n{log}");
}

fn body_of(request: &crate::common::Request) -> Vec<Value> {
    serde_json::from_slice(&request.body).expect("the body is a JSON array")
}

fn processes(body: &[Value]) -> Vec<String> {
    body.iter()
        .map(|object| object["process"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn once_posts_one_array_and_exits_zero() {
    let receiver = receiver(Reply::ok(""));
    let output = once_to(&receiver, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1, "one request");
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, format!("/api/v1/stats/{API_KEY}/rig-1"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert!(
        request
            .header("user-agent")
            .unwrap_or_default()
            .starts_with("nodepulse/")
    );
    assert!(
        request.header("content-encoding").is_none(),
        "the receiver does not decompress"
    );
    let body = body_of(request);
    assert_eq!(processes(&body), ["beaconnode", "validator", "system"]);
    assert_eq!(body[0]["sync_eth2_synced"], true);
    assert_eq!(body[1]["validator_active"], 15);
    assert_key_hidden(&stderr(&output));
}

#[test]
fn a_permanent_refusal_is_not_retried_and_shows_the_receivers_message() {
    let cases = [
        (400, "ERROR: could not parse stats (invalid process)"),
        (402, "ERROR: reached max machine count"),
    ];
    for (status, message) in cases {
        let receiver = receiver(Reply::status(
            status,
            format!(r#"{{"status":"{message}","data":null}}"#),
        ));
        let output = once_to(&receiver, &["-vv"]);
        assert_eq!(output.status.code(), Some(1), "HTTP {status}");
        let log = stderr(&output);
        assert!(
            log.contains(&format!("HTTP {status}")) && log.contains(message),
            "{log}"
        );
        assert!(log.contains("not retried"), "{log}");
        assert_key_hidden(&log);
        assert_eq!(
            receiver.requests().len(),
            1,
            "HTTP {status} is never retried"
        );
    }
}

#[test]
fn server_errors_are_retried_with_growing_spacing_and_logged_once() {
    let receiver = failing_first(3, Reply::status(503, "upstream unavailable"));
    let output = once_to(&receiver, &["--interval", "30s"]);
    let log = stderr(&output);
    assert!(output.status.success(), "{log}");
    let times = receiver.request_times();
    assert_eq!(times.len(), 4, "three failures, then the accepted one");
    // A wait cannot be shorter than asked; how much longer depends on the machine, and the
    // backoff's own sequence is tested on paused time in sinks/retry.rs.
    for gap in times.windows(2).map(|pair| pair[1] - pair[0]) {
        assert!(
            gap >= Duration::from_millis(90),
            "retries are spaced: {gap:?}"
        );
    }
    // Host sampling may warn on a machine whose /proc lacks a file: count the sink's lines.
    let warnings = log
        .lines()
        .filter(|line| line.contains("WARN") && line.contains("client-stats"))
        .count();
    assert_eq!(
        warnings, 1,
        "one warning for three identical failures:\n{log}"
    );
    assert!(log.contains("after 3 failed attempts"), "{log}");
    let bodies: Vec<Vec<Value>> = receiver.requests().iter().map(body_of).collect();
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "the same payload each time"
    );
    assert_key_hidden(&log);
}

#[test]
fn too_many_requests_waits_as_long_as_retry_after_says() {
    let receiver = failing_first(
        1,
        Reply::status(429, "Too Many Requests").header("Retry-After", "2"),
    );
    let output = once_to(&receiver, &["--interval", "30s"]);
    let log = stderr(&output);
    assert!(output.status.success(), "{log}");
    let times = receiver.request_times();
    assert_eq!(times.len(), 2, "{log}");
    assert!(
        times[1] - times[0] >= Duration::from_millis(1900),
        "Retry-After: 2 honoured, waited {:?}",
        times[1] - times[0]
    );
    assert_key_hidden(&log);
}

#[test]
fn once_gives_up_after_one_interval() {
    let dead = crate::common::dead_url();
    let base = dead.trim_end_matches("/metrics");
    let started = Instant::now();
    let output = run(nodepulse().args([
        "run",
        "--once",
        "--interval",
        "2s",
        "--timeout",
        "1s",
        "--stats-endpoint",
        &format!("{base}/api/v1/stats/{API_KEY}/rig"),
    ]));
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(1));
    // One interval of retries is what is tested: never less; the upper bound only catches a hang.
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(60),
        "{took:?}"
    );
    let log = stderr(&output);
    assert!(log.contains("gave up after 2s"), "{log}");
    assert!(
        log.contains("Connection refused"),
        "the last error is named: {log}"
    );
    assert_key_hidden(&log);
}

/// `nodepulse run` every 200 ms against `receiver`, with the Nimbus beacon fixture.
fn run_against(receiver: &Server, extra: &[&str]) -> Running {
    Running::spawn(
        nodepulse()
            .args([
                "run",
                "--interval",
                "200ms",
                "--api-key",
                API_KEY,
                "--machine",
                "m",
            ])
            .args(["--stats-base-url", &receiver.url("")])
            .arg("--beacon-node")
            .arg(fixture_path("nimbus/beacon.prom"))
            .args(extra),
    )
}

fn unix_ms_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

#[test]
fn after_an_outage_only_the_newest_sample_per_process_is_sent() {
    let down = Arc::new(AtomicBool::new(true));
    let receiver = {
        let down = Arc::clone(&down);
        Server::start(move |_| {
            if down.load(Ordering::SeqCst) {
                Reply::status(503, "down for maintenance")
            } else {
                Reply::ok("")
            }
        })
    };
    let mut agent = run_against(&receiver, &["--stats-minute-limit", "false"]);
    let stamp = |request: &crate::common::Request| body_of(request)[0]["timestamp"].as_u64();
    // Wait until the failed attempts carried two different cycles: a backlog would then send the
    // oldest first, newest-wins the latest.
    let retried_newer = || {
        let mut stamps: Vec<Option<u64>> = receiver.requests().iter().map(stamp).collect();
        stamps.dedup();
        stamps.len() >= 2
    };
    assert!(
        eventually(Duration::from_secs(120), retried_newer),
        "it kept trying, each time with the newest cycle"
    );
    down.store(false, Ordering::SeqCst);
    let failed = receiver.requests();
    let failed_attempts = failed.len();
    // A tight loop would retry within milliseconds; the backoff waits at least 100 ms.
    for pair in failed.windows(2) {
        let gap = pair[1].received - pair[0].received;
        assert!(
            gap >= Duration::from_millis(90),
            "retries are spaced: {gap:?}"
        );
    }
    let attempted: Vec<Option<u64>> = failed.iter().map(stamp).collect();
    assert!(
        attempted.windows(2).all(|pair| pair[0] <= pair[1]),
        "each retry sends the newest cycle, never an older one: {attempted:?}"
    );
    assert!(
        eventually(Duration::from_secs(60), || receiver.requests().len()
            > failed_attempts + 2),
        "deliveries resume"
    );
    let requests = receiver.requests();
    let first_success = body_of(&requests[failed_attempts]);
    assert_eq!(
        processes(&first_success),
        ["beaconnode", "system"],
        "one object per process, no backlog"
    );
    assert!(
        stamp(&requests[failed_attempts]) >= attempted.last().copied().flatten(),
        "the payload sent after recovery is the newest, not the oldest kept: {attempted:?}"
    );
    for request in &requests[failed_attempts..] {
        let body = body_of(request);
        let mut kinds = processes(&body);
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), body.len(), "never two objects of one process");
    }
    agent.stop();
    assert_key_hidden(&agent.stderr());
}

#[test]
fn one_insert_per_process_per_wall_clock_minute_by_default() {
    let receiver = receiver(Reply::ok(""));
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = run_against(&receiver, &["--listen", &listen]);
    let minute = || unix_ms_now() / 60_000;
    let first_minute = minute();
    let twelve_cycles = || scraped_cycles(&listen) >= 12.0 && !receiver.requests().is_empty();
    assert!(
        eventually(Duration::from_secs(120), twelve_cycles),
        "twelve cycles ran"
    );
    // However slowly the machine ran the cycles, no minute saw two inserts.
    let minutes_spanned = minute() - first_minute + 1;
    let count = receiver.requests().len() as u64;
    assert!(
        (1..=minutes_spanned).contains(&count),
        "12 cycles over {minutes_spanned} wall-clock minute(s): {count} requests"
    );
    agent.stop();
}

/// How many cycles the agent listening on `listen` has scraped its beacon node in.
fn scraped_cycles(listen: &str) -> f64 {
    let Ok((_, text)) = http_get(&format!("http://{listen}/metrics")) else {
        return 0.0;
    };
    text.lines()
        .filter(|line| line.starts_with("nodepulse_scrape_duration_seconds_count{"))
        .filter(|line| line.contains("target=\"beacon-node\""))
        .find_map(|line| line.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn healthz_follows_the_receiver_and_metrics_parse() {
    let down = Arc::new(AtomicBool::new(false));
    let receiver = {
        let down = Arc::clone(&down);
        Server::start(move |_| {
            if down.load(Ordering::SeqCst) {
                Reply::status(500, "boom")
            } else {
                Reply::ok("")
            }
        })
    };
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut agent = run_against(
        &receiver,
        &["--stats-minute-limit", "false", "--listen", &listen],
    );
    let health = |want: u16| {
        let url = format!("http://{listen}/healthz");
        move || http_get(&url).is_ok_and(|(status, _)| status == want)
    };
    // A young agent is healthy too: wait for the health a delivery gives.
    let delivered = || {
        http_get(&format!("http://{listen}/healthz")).is_ok_and(|(status, body)| {
            let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            status == 200 && json["sinks"]["client-stats"]["last_success_seconds_ago"].is_u64()
        })
    };
    assert!(
        eventually(Duration::from_secs(60), delivered),
        "healthy once delivering"
    );
    down.store(true, Ordering::SeqCst);
    assert!(
        eventually(Duration::from_secs(60), health(503)),
        "503 after 3 intervals without a delivery"
    );
    let (_, body) = http_get(&format!("http://127.0.0.1:{port}/healthz")).expect("healthz");
    let json: Value = serde_json::from_str(&body).expect("healthz is JSON");
    assert_eq!(json["sinks"]["client-stats"]["healthy"], false, "{body}");
    down.store(false, Ordering::SeqCst);
    assert!(
        eventually(Duration::from_secs(60), health(200)),
        "healthy again after recovery"
    );

    // Two deliveries (before and after the outage), and at least one retry, counted.
    let counted = |outcome: &str, text: &str| {
        text.lines()
            .filter(|line| line.starts_with("nodepulse_sends_total{"))
            .filter(|line| line.contains(&format!("outcome=\"{outcome}\"")))
            .find_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let metrics_url = format!("http://127.0.0.1:{port}/metrics");
    assert!(
        eventually(Duration::from_secs(60), || {
            http_get(&metrics_url).is_ok_and(|(_, text)| counted("delivered", &text) >= 2.0)
        }),
        "two deliveries counted"
    );
    let (status, text) = http_get(&metrics_url).expect("metrics");
    assert_eq!(status, 200);
    let metrics = Exposition::parse(text.as_bytes()).expect("valid exposition");
    assert_eq!(
        metrics.malformed_lines(),
        0,
        "{:?}\n{text}",
        metrics.line_errors()
    );
    let value = |name: &str, label: &str, wanted: &str| {
        metrics
            .samples(name)
            .find(|sample| sample.label(label) == Some(wanted))
            .map(|sample| sample.value())
    };
    assert!(
        value("nodepulse_sends_total", "outcome", "delivered").unwrap_or(0.0) >= 2.0,
        "{text}"
    );
    assert!(
        value("nodepulse_sends_total", "outcome", "retry").unwrap_or(0.0) >= 1.0,
        "{text}"
    );
    assert!(
        value(
            "nodepulse_scrape_duration_seconds_count",
            "target",
            "beacon-node"
        )
        .unwrap_or(0.0)
            >= 3.0
    );
    assert!(
        value(
            "nodepulse_last_success_timestamp_seconds",
            "sink",
            "client-stats"
        )
        .unwrap_or(0.0)
            > 1.6e9
    );
    assert!(value("nodepulse_queue_depth", "sink", "client-stats").is_some());
    assert!(metrics.contains("nodepulse_build_info"), "{text}");
    agent.stop();
    assert_key_hidden(&agent.stderr());
}

#[test]
fn a_slow_sink_delays_neither_another_sink_nor_the_scrapes() {
    // The stats receiver holds its first answer until the test has seen what it waits for.
    let release = Arc::new(AtomicBool::new(false));
    let slow = {
        let release = Arc::clone(&release);
        Server::start(move |_| {
            while !release.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(10));
            }
            Reply::ok("")
        })
    };
    let gateway = receiver(Reply::ok(""));
    let mut agent = run_against(
        &slow,
        &[
            "--stats-minute-limit",
            "false",
            "--pushgateway",
            &gateway.url(""),
            "--push-instance",
            "n1",
            // Longer than the test: the held request must not time out and be sent again.
            "--timeout",
            "600s",
        ],
    );
    assert!(
        eventually(Duration::from_secs(120), || gateway.requests().len() >= 5
            && slow.requests().len() == 1),
        "the Pushgateway got a push every cycle while the stats receiver hung: {}",
        gateway.requests().len()
    );
    assert_eq!(slow.requests().len(), 1, "one request in flight at a time");
    release.store(true, Ordering::SeqCst);
    let push = &gateway.requests()[0];
    assert_eq!(push.method, "PUT");
    assert_eq!(push.path, "/metrics/job/nodepulse/instance/n1");
    agent.stop();
}

#[test]
fn sigterm_when_idle_exits_without_waiting_out_a_grace() {
    let receiver = receiver(Reply::ok(""));
    let mut agent = Running::spawn(nodepulse().args([
        "run",
        "--interval",
        "1h",
        "--stats-endpoint",
        &receiver.url("/api/v1/stats/k/m"),
    ]));
    assert!(
        eventually(Duration::from_secs(60), || receiver.requests().len() == 1),
        "first cycle sent"
    );
    agent.stop();
    // Nothing was in flight: no grace was waited out, nothing abandoned (not a clock reading, which
    // a busy machine would stretch).
    let log = agent.stderr();
    assert!(log.contains("stopping on signal"), "{log}");
    assert!(!log.contains("abandoned"), "{log}");
}

#[test]
fn sigterm_gives_an_in_flight_send_a_short_grace() {
    let hanging = receiver(Reply::ok("").delayed(Duration::from_secs(30)));
    let mut agent = Running::spawn(nodepulse().args([
        "run",
        "--interval",
        "1h",
        "--timeout",
        "60s",
        "--stats-endpoint",
        &hanging.url("/api/v1/stats/k/m"),
    ]));
    assert!(
        eventually(Duration::from_secs(60), || hanging.requests().len() == 1),
        "send in flight"
    );
    // The grace is what is tested: at least its 3 s (less a tick), and far less than the 30 s the
    // receiver would hold the send (the upper bound leaves a busy machine room).
    let (status, took) = agent
        .terminate(Duration::from_secs(28))
        .expect("gone after the grace, long before the receiver answers");
    assert!(status.success(), "{status}");
    assert!(took >= Duration::from_secs(2), "{took:?}");
    assert!(agent.stderr().contains("abandoned"));
}
