//! The binary as an operator runs it: targets served by a real loopback HTTP server, payloads POSTed
//! to a real loopback receiver, failures of either side, secrets, and configuration precedence.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{Reply, Server, fixture, fixture_path, nodepulse, object, payload, run, stderr};
use flate2::Compression;
use flate2::write::GzEncoder;

const API_KEY: &str = "k3y-ShouldNeverBeLogged";

#[test]
fn dry_run_prints_all_three_objects_for_every_client() {
    for client in ["prysm", "lighthouse", "teku", "nimbus", "lodestar"] {
        let mut command = nodepulse();
        command
            .args(["run", "--dry-run", "--beacon-node"])
            .arg(fixture_path(&format!("{client}/beacon.prom")));
        let has_validator = client != "nimbus";
        if has_validator {
            command
                .arg("--validator")
                .arg(fixture_path(&format!("{client}/validator.prom")));
        }
        let output = run(&mut command);
        assert!(output.status.success(), "{client}: {}", stderr(&output));
        let objects = payload(&output);
        let processes: Vec<&str> = objects
            .iter()
            .map(|object| object["process"].as_str().unwrap_or_default())
            .collect();
        let want: &[&str] = if has_validator {
            &["beaconnode", "validator", "system"]
        } else {
            &["beaconnode", "system"]
        };
        assert_eq!(processes, want, "{client}");
        for object in &objects {
            assert_eq!(object["version"], 1);
            assert!(object["timestamp"].as_u64().unwrap_or(0) > 1_600_000_000_000);
        }
        assert_eq!(
            object(&objects, "beaconnode").map(|o| &o["client_name"]),
            Some(&client.into())
        );
    }
}

#[test]
fn no_targets_sends_the_system_object_alone() {
    let output = run(nodepulse().args(["run", "--dry-run"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let objects = payload(&output);
    assert_eq!(objects.len(), 1);
    let system = &objects[0];
    assert_eq!(system["process"], "system");
    assert_eq!(system["misc_os"], "lin");
    for key in [
        "cpu_threads",
        "memory_node_bytes_total",
        "cpu_node_system_seconds_total",
        "misc_node_boot_ts_seconds",
    ] {
        assert!(system[key].as_u64().unwrap_or(0) > 0, "{key} in {system}");
    }
}

#[test]
fn http_targets_are_scraped_with_text_accept_and_gzip() {
    let beacon = Server::serving(fixture("teku/beacon.prom"));
    let mut gzipped = GzEncoder::new(Vec::new(), Compression::default());
    gzipped
        .write_all(&fixture("teku/validator.prom"))
        .expect("gzip");
    let gzipped = gzipped.finish().expect("gzip");
    let validator =
        Server::start(move |_| Reply::ok(gzipped.clone()).header("Content-Encoding", "gzip"));

    let output = run(nodepulse().args([
        "run",
        "--dry-run",
        "--beacon-node",
        &beacon.url("/metrics"),
        "--validator",
        &validator.url("/metrics"),
    ]));
    assert!(output.status.success(), "{}", stderr(&output));
    let objects = payload(&output);
    assert_eq!(
        object(&objects, "validator").map(|o| &o["validator_total"]),
        Some(&33.into())
    );
    assert_eq!(
        object(&objects, "beaconnode").map(|o| &o["network_peers_connected"]),
        Some(&95.into())
    );

    let request = &beacon.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/metrics")
    );
    let accept = request.header("accept").unwrap_or_default();
    assert!(accept.starts_with("text/plain;version=0.0.4"), "{accept}");
    assert!(
        request
            .header("accept-encoding")
            .unwrap_or_default()
            .contains("gzip")
    );
    assert!(
        request
            .header("user-agent")
            .unwrap_or_default()
            .starts_with("nodepulse/")
    );
}

/// Runs a dry run whose beacon node is `target` (the validator is a good fixture) and returns the
/// payload and stderr.
fn dry_run_with_failing_beacon(target: &str, extra: &[&str]) -> (Vec<serde_json::Value>, String) {
    let started = Instant::now();
    let output = run(nodepulse()
        .args([
            "run",
            "--dry-run",
            "--timeout",
            "1s",
            "--beacon-node",
            target,
            "--validator",
        ])
        .arg(fixture_path("lodestar/validator.prom"))
        .args(extra));
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the timeout holds"
    );
    assert!(
        output.status.success(),
        "a failed target is not fatal: {}",
        stderr(&output)
    );
    let objects = payload(&output);
    assert!(
        object(&objects, "beaconnode").is_none(),
        "the failed target's object is left out"
    );
    assert!(
        object(&objects, "validator").is_some(),
        "the other target still reports"
    );
    assert!(
        object(&objects, "system").is_some(),
        "the system object always goes out"
    );
    let log = stderr(&output);
    let warnings: Vec<&str> = log.lines().filter(|line| line.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "exactly one warning:\n{log}");
    (objects, log)
}

#[test]
fn a_dead_target_costs_only_its_own_object() {
    let dead = common::dead_url();
    let (_, log) = dry_run_with_failing_beacon(&dead, &[]);
    assert!(log.contains(&dead), "the warning names the target: {log}");
    assert!(log.contains("beacon node"), "{log}");
}

#[test]
fn a_slow_target_times_out() {
    let slow =
        Server::start(|_| Reply::ok(fixture("prysm/beacon.prom")).delayed(Duration::from_secs(4)));
    let (_, log) = dry_run_with_failing_beacon(&slow.url("/metrics"), &[]);
    assert!(log.contains("within 1s"), "{log}");
}

#[test]
fn an_error_status_is_named() {
    let failing = Server::start(|_| Reply::status(503, "unavailable"));
    let (_, log) = dry_run_with_failing_beacon(&failing.url("/metrics"), &[]);
    assert!(log.contains("503"), "{log}");
}

#[test]
fn an_html_page_served_with_200_is_not_a_scrape() {
    let html = Server::serving(
        b"<!DOCTYPE html>\n<html><body><h1>Welcome to nginx!</h1></body></html>\n".to_vec(),
    );
    let (_, log) = dry_run_with_failing_beacon(&html.url("/"), &[]);
    assert!(log.contains("not a Prometheus text exposition"), "{log}");
}

#[test]
fn an_unknown_client_is_reported() {
    let other = Server::serving(b"# TYPE node_load1 gauge\nnode_load1 0.42\n".to_vec());
    let (_, log) = dry_run_with_failing_beacon(&other.url("/metrics"), &[]);
    assert!(log.contains("--client"), "{log}");
}

#[test]
fn the_body_cap_holds() {
    let mut body = fixture("prysm/beacon.prom");
    while body.len() <= 64 * 1024 {
        body.extend_from_slice(b"# padding comment line of a very large scrape\n");
    }
    let big = Server::serving(body);
    let (_, log) =
        dry_run_with_failing_beacon(&big.url("/metrics"), &["--max-scrape-size", "64KiB"]);
    assert!(log.contains("65536-byte cap"), "{log}");
}

#[test]
fn a_missing_file_is_named() {
    let (_, log) = dry_run_with_failing_beacon("/nonexistent/beacon.prom", &[]);
    assert!(log.contains("/nonexistent/beacon.prom"), "{log}");
}

/// A receiver that answers every POST with `reply`.
fn receiver(reply: Reply) -> Server {
    Server::start(move |_| reply.clone())
}

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
        request.header("content-encoding").is_none(),
        "the receiver does not decompress"
    );
    let body: Vec<serde_json::Value> = serde_json::from_slice(&request.body).expect("JSON array");
    let processes: Vec<_> = body
        .iter()
        .map(|o| o["process"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(processes, ["beaconnode", "validator", "system"]);
    assert_eq!(body[0]["sync_eth2_synced"], true);
    assert_eq!(body[1]["validator_active"], 15);
    assert!(!stderr(&output).contains(API_KEY));
}

#[test]
fn a_refusal_shows_the_receivers_message_fails_and_keeps_the_key_secret() {
    let cases = [
        (
            400,
            r#"{"status":"ERROR: could not parse stats (invalid process)","data":null}"#,
            "400",
            "ERROR: could not parse stats (invalid process)",
        ),
        (
            402,
            r#"{"status":"ERROR: reached max machine count","data":null}"#,
            "402",
            "reached max machine count",
        ),
        (500, "internal error", "500", "internal error"),
    ];
    for (status, body, code, message) in cases {
        let receiver = receiver(Reply::status(status, body));
        let output = once_to(&receiver, &["-vv"]);
        assert_eq!(output.status.code(), Some(1), "HTTP {status}");
        let log = stderr(&output);
        assert!(log.contains(code) && log.contains(message), "{log}");
        assert!(
            !log.contains(API_KEY),
            "the key never reaches a log line:\n{log}"
        );
        assert_eq!(receiver.requests().len(), 1, "one request, no retry yet");
    }
}

#[test]
fn an_unreachable_receiver_fails_without_leaking_the_key() {
    let output = run(nodepulse().args([
        "run",
        "--once",
        "--timeout",
        "2s",
        "--stats-endpoint",
        &format!(
            "{}/api/v1/stats/{API_KEY}/rig",
            common::dead_url().trim_end_matches("/metrics")
        ),
    ]));
    assert_eq!(output.status.code(), Some(1));
    let log = stderr(&output);
    assert!(log.contains("sending to http://127.0.0.1:"), "{log}");
    assert!(!log.contains(API_KEY), "{log}");
}

#[test]
fn the_key_never_appears_in_dry_run_output() {
    let output = run(nodepulse()
        .args([
            "run",
            "--dry-run",
            "-vv",
            "--api-key",
            API_KEY,
            "--machine",
            "m",
        ])
        .arg("--beacon-node")
        .arg(fixture_path("prysm/beacon.prom")));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!common::stdout(&output).contains(API_KEY));
    assert!(!stderr(&output).contains(API_KEY));
}

#[test]
fn flags_beat_env_beat_file() {
    let dir = std::env::temp_dir().join(format!("nodepulse-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("nodepulse.toml");
    std::fs::write(
        &config,
        format!(
            "beacon-node = \"{}\"\nclient = \"teku\"\n",
            fixture_path("lighthouse/beacon.prom").display()
        ),
    )
    .expect("write config");
    let client_name = |env: Option<&str>, flag: Option<&str>| {
        let mut command = nodepulse();
        command.args(["run", "--dry-run", "--config"]).arg(&config);
        if let Some(env) = env {
            command.env("NODEPULSE_CLIENT", env);
        }
        if let Some(flag) = flag {
            command.args(["--client", flag]);
        }
        let output = run(&mut command);
        assert!(output.status.success(), "{}", stderr(&output));
        let objects = payload(&output);
        object(&objects, "beaconnode").expect("beacon object from the file's target")["client_name"]
            .clone()
    };
    assert_eq!(client_name(None, None), "teku", "the file");
    assert_eq!(
        client_name(Some("prysm"), None),
        "prysm",
        "env beats the file"
    );
    assert_eq!(
        client_name(Some("prysm"), Some("lighthouse")),
        "lighthouse",
        "the flag beats env"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn configuration_errors_name_the_culprit_and_exit_2() {
    let output = run(nodepulse().args(["run", "--dry-run", "--client", "geth"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--client: unknown client `geth`; valid: auto, prysm"),
        "{}",
        stderr(&output)
    );

    let output = run(nodepulse().args(["run", "--once"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("nothing to send to"),
        "{}",
        stderr(&output)
    );

    let dir = std::env::temp_dir().join(format!("nodepulse-badcfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("bad.toml");
    std::fs::write(&config, "interval = \"90s\"\nbeacon_node = \"x\"\n").expect("write");
    let output = run(nodepulse()
        .args(["run", "--dry-run", "--config"])
        .arg(&config));
    assert_eq!(output.status.code(), Some(2));
    let log = stderr(&output);
    assert!(
        log.contains("bad.toml") && log.contains("beacon_node"),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn run_loops_every_interval_and_stops_on_sigterm() {
    let receiver = receiver(Reply::ok(""));
    let mut child = nodepulse()
        .args([
            "run",
            "--interval",
            "300ms",
            "--stats-endpoint",
            &receiver.url("/api/v1/stats/k/m"),
        ])
        .arg("--beacon-node")
        .arg(fixture_path("nimbus/beacon.prom"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start nodepulse");
    let deadline = Instant::now() + Duration::from_secs(10);
    while receiver.requests().len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(receiver.requests().len() >= 3, "three cycles within 10 s");
    let stopping = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(2),
            "gone within 2 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "clean exit on SIGTERM: {status}");
    for request in receiver.requests() {
        let body: Vec<serde_json::Value> = serde_json::from_slice(&request.body).expect("JSON");
        assert_eq!(body.len(), 2, "beacon node and system each cycle");
    }
}
