//! The Pushgateway sink against the real Pushgateway (Debian's `prometheus-pushgateway`, which
//! `scripts/test.sh` installs), started on a free loopback port for each test.

use std::process::Command;
use std::time::Duration;

use crate::common::{
    CONSENSUS_FIXTURES, Reply, Running, Server, eventually, fixture_path, free_port, http_get,
    nodepulse, run, stderr, temp_dir,
};
use nodepulse::wire::exposition::{Exposition, MetricKind, Sample};

/// A Pushgateway listening on a free loopback port, stopped when dropped.
struct Pushgateway {
    url: String,
    _process: Running,
}

impl Pushgateway {
    /// Tests run in parallel: a port free a moment ago may be taken by another test's gateway by
    /// the time this one binds it. Ours then exits, while the other one answers `/-/ready`; so a
    /// gateway counts as started only while its own process still runs, and otherwise gets another
    /// port.
    fn start() -> Pushgateway {
        let binary = std::env::var("NODEPULSE_PUSHGATEWAY_BIN")
            .unwrap_or_else(|_| "prometheus-pushgateway".into());
        for _ in 0..10 {
            let port = free_port();
            // Debian's build persists to one shared file by default: a test's gateway would start
            // with every group an earlier run pushed.
            let mut process = Running::spawn(
                Command::new(&binary)
                    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                    .arg("--persistence.file="),
            );
            let url = format!("http://127.0.0.1:{port}");
            let mut exited = false;
            let ready = eventually(Duration::from_secs(30), || {
                exited = process.0.try_wait().ok().flatten().is_some();
                exited || http_get(&format!("{url}/-/ready")).is_ok_and(|(status, _)| status == 200)
            });
            if ready && !exited && process.0.try_wait().ok().flatten().is_none() {
                return Pushgateway {
                    url,
                    _process: process,
                };
            }
        }
        panic!(
            "the Pushgateway (`{binary}`) did not start; scripts/test.sh installs Debian's prometheus-pushgateway"
        );
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

    push(&crate::common::dead_url());
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

/// Every bundled scrape, each pushed as its own instance into one gateway, as a new user would try
/// them: the gateway refuses a whole push for one family it cannot hold as typed (Lighthouse's gauge
/// `process_cpu_seconds_total` against the gateway's own counter), so such a family must cost
/// itself alone, in the same push.
#[test]
fn every_bundled_fixture_lands_in_one_gateway() {
    let gateway = Pushgateway::start();
    // Every consensus client's scrapes, then the Substrate node's.
    let mut fixtures: Vec<(&str, Vec<(&str, String)>)> = CONSENSUS_FIXTURES
        .iter()
        .map(|&(client, has_validator)| {
            let mut targets = vec![("--beacon-node", format!("{client}/beacon.prom"))];
            if has_validator {
                targets.push(("--validator", format!("{client}/validator.prom")));
            }
            (client, targets)
        })
        .collect();
    fixtures.push(("substrate", vec![("--node", "substrate/node.prom".into())]));
    for (instance, targets) in &fixtures {
        let instance = *instance;
        let mut command = push_once(&gateway.url, instance);
        for (flag, path) in targets {
            command.arg(flag).arg(fixture_path(path));
        }
        let output = run(&mut command);
        let log = stderr(&output);
        assert!(output.status.success(), "{instance}: {log}");
        let metrics = gateway.metrics();
        // The families the gateway refused, as the warnings name them.
        let refused: Vec<&str> = log
            .lines()
            .filter(|line| line.contains("the Pushgateway refused a family"))
            .filter_map(|line| line.split("family=").nth(1))
            .filter_map(|rest| rest.split('"').nth(1))
            .collect();
        for (flag, path) in targets {
            let role = flag.trim_start_matches("--");
            let scraped =
                Exposition::parse(&std::fs::read(fixture_path(path)).expect("fixture")[..])
                    .expect("fixture parses");
            let up = [("instance", instance), ("target", role)];
            assert_eq!(
                value(&metrics, "nodepulse_up", &up),
                Some(1.0),
                "{instance}"
            );
            // Every family with series arrived but those the gateway refused. (Nimbus declares
            // counters whose series, by the classic rules, stand as families of their own.)
            for family in scraped
                .families()
                .filter(|family| family.samples().len() > 0)
            {
                let landed = family
                    .samples()
                    .flat_map(|sample| metrics.samples(sample.name()))
                    .filter(|sample| sample.label("instance") == Some(instance))
                    .filter(|sample| sample.label("target") == Some(role))
                    .count();
                if refused.contains(&family.name()) {
                    assert_eq!(landed, 0, "{instance}: {} was refused", family.name());
                } else {
                    assert!(
                        landed > 0,
                        "{instance} {role}: {} did not land",
                        family.name()
                    );
                }
            }
        }
    }
    let lighthouse_cpu = [("instance", "lighthouse"), ("target", "beacon-node")];
    assert_eq!(
        value(
            &gateway.metrics(),
            "process_cpu_seconds_total",
            &lighthouse_cpu
        ),
        None,
        "Lighthouse's gauge cannot stand beside the gateway's counter"
    );
}

/// Two nodes push a family under two types into one gateway: the second push lands without that
/// family, with one warning naming it and a count in `/metrics`, and the next cycle leaves the
/// family out by itself.
#[test]
fn a_family_pushed_under_two_types_costs_only_itself() {
    let gateway = Pushgateway::start();
    let dir = temp_dir("two-types");
    let as_gauge = dir.join("gauge.prom");
    let as_counter = dir.join("counter.prom");
    std::fs::write(
        &as_gauge,
        "# TYPE queue_depth gauge\nqueue_depth 3\nblocks 1\n",
    )
    .expect("write");
    std::fs::write(
        &as_counter,
        "# TYPE queue_depth counter\nqueue_depth 9\n# TYPE peers gauge\npeers 12\n",
    )
    .expect("write");
    let first = run(push_once(&gateway.url, "a").arg("--node").arg(&as_gauge));
    assert!(first.status.success(), "{}", stderr(&first));

    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Running::spawn(
        nodepulse()
            .args([
                "run",
                "--interval",
                "1s",
                "--pushgateway",
                &gateway.url,
                "--push-instance",
                "b",
                "--listen",
                &listen,
                "--node",
            ])
            .arg(&as_counter),
    );
    let pushes = |count: u64| {
        let listen = listen.clone();
        move || {
            http_get(&format!("http://{listen}/metrics")).is_ok_and(|(_, body)| {
                body.lines().any(|line| {
                    line.starts_with("nodepulse_sends_total{")
                        && line.contains("sink=\"pushgateway\"")
                        && line.contains("outcome=\"delivered\"")
                        && line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok())
                            >= Some(count as f64)
                })
            })
        }
    };
    let delivered_twice = eventually(Duration::from_secs(60), pushes(2));
    let (_, own) = http_get(&format!("http://{listen}/metrics")).expect("agent /metrics");
    let metrics = gateway.metrics();
    agent.stop();
    let log = agent.stderr();
    assert!(delivered_twice, "two pushes delivered:\n{log}\n{own}");
    assert_eq!(
        value(&metrics, "peers", &[("instance", "b")]),
        Some(12.0),
        "the rest landed"
    );
    assert_eq!(
        value(&metrics, "nodepulse_up", &[("instance", "b")]),
        Some(1.0)
    );
    assert_eq!(
        value(&metrics, "queue_depth", &[("instance", "a")]),
        Some(3.0),
        "the first stays"
    );
    assert_eq!(value(&metrics, "queue_depth", &[("instance", "b")]), None);
    let warnings: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("the Pushgateway refused a family"))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning, not one per cycle:\n{log}");
    assert!(
        warnings[0].contains("family=\"queue_depth\""),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[0].contains("} is not a "),
        "the gateway's reason: {}",
        warnings[0]
    );
    let dropped = own
        .lines()
        .find_map(|line| {
            line.strip_prefix("nodepulse_push_series_dropped_total{reason=\"refused\"} ")
        })
        .and_then(|value| value.parse::<f64>().ok());
    assert!(
        dropped >= Some(2.0),
        "one series left out of each push:\n{own}"
    );
}

/// What the gateway would refuse whole is mended or dropped before the push: a summary sample
/// without `quantile` is dropped and counted, a family scattered over the scrape is gathered.
#[test]
fn quantile_less_samples_are_dropped_and_scattered_families_gathered() {
    let gateway = Pushgateway::start();
    let scrape = temp_dir("scattered").join("node.prom");
    std::fs::write(
        &scrape,
        concat!(
            "# HELP rpc_seconds Time per call.\n",
            "# TYPE rpc_seconds summary\n",
            "rpc_seconds{quantile=\"0.5\"} 0.2\n",
            "rpc_seconds{method=\"x\"} 0.9\n",
            "rpc_seconds_sum 12\n",
            "rpc_seconds_count 40\n",
            "# TYPE queue gauge\n",
            "queue{name=\"a\"} 1\n",
            "# TYPE other gauge\n",
            "other 2\n",
            "queue{name=\"b\"} 3\n",
        ),
    )
    .expect("write");
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Running::spawn(
        nodepulse()
            .args(["run", "--interval", "1h", "--pushgateway", &gateway.url])
            .args(["--push-instance", "s", "--listen", &listen, "--node"])
            .arg(&scrape),
    );
    let own = || {
        http_get(&format!("http://{listen}/metrics"))
            .map(|(_, body)| body)
            .unwrap_or_default()
    };
    let delivered = || {
        own().lines().any(|line| {
            line.starts_with("nodepulse_sends_total{")
                && line.contains("outcome=\"delivered\"")
                && line.ends_with(" 1")
        })
    };
    assert!(eventually(Duration::from_secs(60), delivered), "{}", own());
    let metrics = gateway.metrics();
    let own = own();
    agent.stop();
    let at = [("instance", "s")];
    assert_eq!(
        value(&metrics, "queue", &[("instance", "s"), ("name", "b")]),
        Some(3.0)
    );
    assert_eq!(
        value(&metrics, "queue", &[("instance", "s"), ("name", "a")]),
        Some(1.0)
    );
    assert_eq!(value(&metrics, "rpc_seconds_count", &at), Some(40.0));
    assert_eq!(
        value(
            &metrics,
            "rpc_seconds",
            &[("instance", "s"), ("quantile", "0.5")]
        ),
        Some(0.2)
    );
    assert!(
        metrics
            .samples("rpc_seconds")
            .all(|sample| sample.label("method").is_none()),
        "the sample without a quantile was not pushed"
    );
    assert!(
        own.lines()
            .any(|line| line == "nodepulse_push_series_dropped_total{reason=\"malformed\"} 1"),
        "{own}"
    );
}
