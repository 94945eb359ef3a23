//! The Pushgateway sink against the real Pushgateway (Debian's `prometheus-pushgateway`, which
//! `scripts/test.sh` installs), started on a free loopback port for each test.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{
    Reply, Running, Server, eventually, fixture_path, free_port, http_get, nodepulse, run, stderr,
};
use nodepulse::exposition::{Exposition, MetricKind, Sample};

/// A Pushgateway listening on a free loopback port, stopped when dropped.
struct Pushgateway {
    url: String,
    _process: Running,
}

impl Pushgateway {
    fn start() -> Pushgateway {
        let binary = std::env::var("NODEPULSE_PUSHGATEWAY_BIN")
            .unwrap_or_else(|_| "prometheus-pushgateway".into());
        let port = free_port();
        let process = Running::spawn(
            Command::new(&binary).arg(format!("--web.listen-address=127.0.0.1:{port}")),
        );
        let url = format!("http://127.0.0.1:{port}");
        let ready = eventually(Duration::from_secs(10), || {
            http_get(&format!("{url}/-/ready")).is_ok_and(|(status, _)| status == 200)
        });
        assert!(
            ready,
            "the Pushgateway (`{binary}`) did not start; scripts/test.sh installs Debian's prometheus-pushgateway"
        );
        Pushgateway {
            url,
            _process: process,
        }
    }

    /// What the Pushgateway serves to Prometheus, parsed.
    fn metrics(&self) -> Exposition {
        let (status, body) = http_get(&format!("{}/metrics", self.url)).expect("gateway /metrics");
        assert_eq!(status, 200);
        Exposition::parse(body.as_bytes()).expect("the gateway serves a valid exposition")
    }
}

/// `nodepulse run --once` pushing to `gateway` as instance `instance`; targets and options to add.
fn push_once(gateway: &str, instance: &str) -> Command {
    let mut command = nodepulse();
    command.args([
        "run",
        "--once",
        "--pushgateway",
        gateway,
        "--push-instance",
        instance,
    ]);
    command
}

/// The value of the series `name` whose labels include every pair of `labels`.
fn value(metrics: &Exposition, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics
        .samples(name)
        .find(|sample| {
            labels
                .iter()
                .all(|(key, wanted)| sample.label(key) == Some(wanted))
        })
        .map(Sample::value)
}

#[test]
fn the_gateway_shows_the_pushed_series_with_job_and_instance() {
    let gateway = Pushgateway::start();
    let output = run(push_once(&gateway.url, "node-7")
        .arg("--beacon-node")
        .arg(fixture_path("lodestar/beacon.prom"))
        .arg("--validator")
        .arg(fixture_path("lodestar/validator.prom")));
    assert!(output.status.success(), "{}", stderr(&output));

    let metrics = gateway.metrics();
    let group = [("job", "nodepulse"), ("instance", "node-7")];
    let with = |target: &'static str| -> Vec<(&str, &str)> {
        let mut labels = group.to_vec();
        labels.push(("target", target));
        labels
    };
    assert_eq!(
        value(&metrics, "beacon_head_slot", &with("beacon-node")),
        Some(10_123_440.0)
    );
    assert_eq!(
        value(&metrics, "vc_signers_count", &with("validator")),
        Some(10.0)
    );
    assert_eq!(
        value(&metrics, "nodepulse_up", &with("beacon-node")),
        Some(1.0)
    );
    assert_eq!(
        value(&metrics, "nodepulse_up", &with("validator")),
        Some(1.0)
    );
    // Both targets expose the process collector: told apart by `target`, not refused as duplicates.
    assert!(
        value(
            &metrics,
            "process_resident_memory_bytes",
            &with("validator")
        )
        .is_some()
    );
    assert!(
        value(
            &metrics,
            "process_resident_memory_bytes",
            &with("beacon-node")
        )
        .is_some()
    );
    // Histograms arrive whole, and an escaped label value arrives exactly.
    assert!(
        value(
            &metrics,
            "lodestar_stfn_epoch_transition_seconds_bucket",
            &with("beacon-node")
        )
        .is_some()
    );
    let escaped = metrics
        .samples("lodestar_reqresp_outgoing_request_errors_total")
        .find(|sample| sample.label("method") == Some("status"))
        .and_then(|sample| sample.label("error").map(str::to_owned));
    assert_eq!(
        escaped.as_deref(),
        Some("DIAL_ERROR \"connection refused\"")
    );
    assert!(
        value(&metrics, "push_time_seconds", &group).unwrap_or(0.0) > 1.6e9,
        "the push was accepted"
    );
    assert_eq!(
        value(&metrics, "push_failure_time_seconds", &group),
        Some(0.0)
    );
}

#[test]
fn a_failed_target_is_pushed_as_down_and_the_group_replaced() {
    let gateway = Pushgateway::start();
    let push = |validator: &str| {
        let output = run(push_once(&gateway.url, "n")
            .args(["--push-include", "beacon_.*|process_.*"])
            .arg("--beacon-node")
            .arg(fixture_path("teku/beacon.prom"))
            .args(["--validator", validator]));
        assert!(output.status.success(), "{}", stderr(&output));
    };
    push(&fixture_path("teku/validator.prom").display().to_string());
    let metrics = gateway.metrics();
    assert!(
        value(
            &metrics,
            "process_cpu_seconds_total",
            &[("target", "validator")]
        )
        .is_some()
    );
    assert!(
        !metrics.contains("jvm_threads_current"),
        "--push-include filters families"
    );

    push(&common::dead_url());
    let metrics = gateway.metrics();
    assert_eq!(
        value(&metrics, "nodepulse_up", &[("target", "validator")]),
        Some(0.0)
    );
    assert_eq!(
        value(&metrics, "nodepulse_up", &[("target", "beacon-node")]),
        Some(1.0)
    );
    assert!(
        value(
            &metrics,
            "process_cpu_seconds_total",
            &[("target", "validator")]
        )
        .is_none(),
        "PUT replaced the group: the validator's old series are gone"
    );
    assert_eq!(
        value(&metrics, "beacon_slot", &[("target", "beacon-node")]),
        Some(10_123_456.0)
    );
}

#[test]
fn basic_auth_is_sent_and_the_password_never_logged() {
    const PASSWORD: &str = "pushgateway-Pa55word";
    let gateway = Server::start(|_| Reply::status(401, "Unauthorized"));
    let output = run(push_once(&gateway.url(""), "n")
        .arg("-vv")
        .args(["--pushgateway-user", "ops"])
        .env("NODEPULSE_PUSHGATEWAY_PASSWORD", PASSWORD)
        .arg("--beacon-node")
        .arg(fixture_path("nimbus/beacon.prom")));
    assert_eq!(output.status.code(), Some(1), "401 is a permanent refusal");
    let requests = gateway.requests();
    assert_eq!(requests.len(), 1);
    // base64("ops:pushgateway-Pa55word")
    assert_eq!(
        requests[0].header("authorization"),
        Some("Basic b3BzOnB1c2hnYXRld2F5LVBhNTV3b3Jk")
    );
    let log = stderr(&output);
    assert!(log.contains("401"), "{log}");
    assert!(!log.contains(PASSWORD), "{log}");
}

#[test]
fn a_pushgateway_answering_500_is_retried_until_it_accepts() {
    let served = std::sync::atomic::AtomicUsize::new(0);
    let gateway = Server::start(move |_| {
        if served.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            Reply::status(500, "storage unavailable")
        } else {
            Reply::ok("")
        }
    });
    let output = run(push_once(&gateway.url(""), "n")
        .args(["--interval", "30s"])
        .arg("--beacon-node")
        .arg(fixture_path("nimbus/beacon.prom")));
    assert!(output.status.success(), "{}", stderr(&output));
    let requests = gateway.requests();
    assert_eq!(requests.len(), 2, "one failure, one accepted push");
    assert_eq!(requests[0].body, requests[1].body, "the same push again");
    assert!(stderr(&output).contains("500"), "{}", stderr(&output));
}

#[test]
fn an_openmetrics_target_is_pushed_in_the_classic_form_the_gateway_accepts() {
    let gateway = Pushgateway::start();
    let corpus = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/corpus/openmetrics.om"
    ))
    .expect("the OpenMetrics corpus");
    let node = Server::start(move |_| {
        Reply::ok(corpus.clone()).header(
            "Content-Type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )
    });
    let output = run(push_once(&gateway.url, "n").args(["--node", &node.url("/metrics")]));
    assert!(output.status.success(), "{}", stderr(&output));
    let metrics = gateway.metrics();
    let node_labels = [("target", "node")];
    // The OpenMetrics counter `x` is the classic counter `x_total`; its exemplar is dropped.
    let counter = metrics
        .family("libp2p_gossipsub_topic_msg_recv_bytes_total")
        .expect("the counter, renamed");
    assert_eq!(counter.kind(), MetricKind::Counter);
    assert_eq!(
        value(
            &metrics,
            "libp2p_gossipsub_topic_msg_recv_bytes_total",
            &[("hash", "say \"hi\", a=b {x} C:\\dir\\ line\nbreak")]
        ),
        Some(4096.0)
    );
    assert_eq!(
        value(
            &metrics,
            "libp2p_swarm_connections_incoming_created",
            &[("protocols", "/ip4/tcp"), ("target", "node")]
        ),
        Some(1_731_542_400.25)
    );
    assert_eq!(
        metrics
            .family("block_import_duration_seconds")
            .map(|family| (family.kind(), family.samples().len())),
        Some((MetricKind::Histogram, 14)),
        "buckets, sums and counts, without `_created`"
    );
    assert_eq!(value(&metrics, "node_build_info", &node_labels), Some(1.0));
    assert_eq!(value(&metrics, "nodepulse_up", &node_labels), Some(1.0));
}
