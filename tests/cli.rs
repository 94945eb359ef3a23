//! The binary as an operator runs it, up to the payload: targets served by a real loopback HTTP
//! server, every way a target can fail, `--dry-run` output, secrets, and configuration precedence.

use std::io::Write;
use std::time::Duration;

use crate::common::{
    Reply, Server, fixture, fixture_path, nodepulse, object, payload, run, stderr,
};
use flate2::Compression;
use flate2::write::GzEncoder;

const API_KEY: &str = "k3y-ShouldNeverBeLogged";

#[test]
fn dry_run_prints_all_three_objects_for_every_client() {
    for (client, has_validator) in crate::common::CONSENSUS_FIXTURES {
        let mut command = nodepulse();
        command
            .args(["run", "--dry-run", "--beacon-node"])
            .arg(fixture_path(&format!("{client}/beacon.prom")));
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

    let objects = dry_run_of(&beacon, &validator);
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
/// payload and stderr. The default 10 s timeout stands unless `extra` sets one: only the slow
/// target's test is about the timeout.
fn dry_run_with_failing_beacon(target: &str, extra: &[&str]) -> (Vec<serde_json::Value>, String) {
    let output = run(nodepulse()
        .args(["run", "--dry-run", "--beacon-node", target, "--validator"])
        .arg(fixture_path("lodestar/validator.prom"))
        .args(extra));
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
    // Host sampling may warn too on a machine whose /proc lacks a file: count only scrape failures.
    let failures = log
        .lines()
        .filter(|line| line.contains("WARN") && line.contains("scrape failed"))
        .count();
    assert_eq!(failures, 1, "exactly one warning for the target:\n{log}");
    (objects, log)
}

#[test]
fn a_dead_target_costs_only_its_own_object() {
    let dead = crate::common::dead_url();
    let (_, log) = dry_run_with_failing_beacon(&dead, &[]);
    assert!(log.contains(&dead), "the warning names the target: {log}");
    assert!(log.contains("beacon node"), "{log}");
}

#[test]
fn a_slow_target_times_out() {
    // Held far longer than the timeout: an answer that still arrived would map to an object.
    let slow =
        Server::start(|_| Reply::ok(fixture("prysm/beacon.prom")).delayed(Duration::from_secs(60)));
    let (_, log) = dry_run_with_failing_beacon(&slow.url("/metrics"), &["--timeout", "1s"]);
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
    assert!(!crate::common::stdout(&output).contains(API_KEY));
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
fn a_missing_config_file_and_a_busy_listen_port_are_named() {
    let output = run(nodepulse().args([
        "run",
        "--dry-run",
        "--config",
        "/nonexistent/nodepulse.toml",
    ]));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("config file /nonexistent/nodepulse.toml"),
        "{}",
        stderr(&output)
    );

    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = busy.local_addr().expect("addr").to_string();
    let output = run(nodepulse().args([
        "run",
        "--listen",
        &addr,
        "--stats-endpoint",
        "http://127.0.0.1:9/api/v1/stats/k/m",
    ]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(&format!("--listen {addr}")),
        "{}",
        stderr(&output)
    );
}

/// `--log-format json` gives one JSON object per line on stderr; `-v` adds the debug lines and
/// `-q` leaves only warnings and errors.
#[test]
fn log_format_json_and_verbosity() {
    let dead = crate::common::dead_url();
    let levels = |extra: &[&str]| {
        let output = run(nodepulse()
            .env_remove("RUST_LOG")
            .args(["run", "--dry-run", "--log-format", "json", "--beacon-node"])
            .arg(fixture_path("lighthouse/beacon.prom"))
            .args(["--validator", &dead])
            .args(extra));
        assert!(output.status.success(), "{}", stderr(&output));
        let log = stderr(&output);
        let lines: Vec<serde_json::Value> = log
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
            .collect();
        for line in &lines {
            assert!(line["fields"]["message"].is_string(), "{line}");
            assert!(line["timestamp"].is_string(), "{line}");
        }
        let warned = lines.iter().any(|line| {
            line["level"] == "WARN"
                && line["fields"]["message"]
                    .as_str()
                    .is_some_and(|message| message.contains("validator scrape failed"))
        });
        assert!(
            warned,
            "the failed target is warned about at every level: {log}"
        );
        let mut levels: Vec<String> = lines
            .iter()
            .filter_map(|line| line["level"].as_str().map(str::to_owned))
            .collect();
        levels.sort();
        levels.dedup();
        levels
    };
    let normal = levels(&[]);
    assert!(!normal.contains(&"DEBUG".to_owned()), "{normal:?}");
    let verbose = levels(&["-v"]);
    assert!(verbose.contains(&"DEBUG".to_owned()), "{verbose:?}");
    let quiet = levels(&["-q"]);
    assert!(
        quiet
            .iter()
            .all(|level| level == "WARN" || level == "ERROR"),
        "{quiet:?}"
    );
}

/// Lighthouse's scrape in the OpenMetrics form (counters declared without `_total`, `# EOF`),
/// served once with OpenMetrics' content type and once labelled `text/plain` as some servers do:
/// both map to the same object as the classic scrape.
#[test]
fn openmetrics_maps_alike_whatever_the_content_type_says() {
    let classic = String::from_utf8(fixture("lighthouse/beacon.prom")).expect("UTF-8");
    let mut openmetrics = String::new();
    for line in classic.lines() {
        let line = match line.strip_suffix("_total counter") {
            Some(declared) if line.starts_with("# TYPE ") => format!("{declared} counter"),
            _ => line.to_owned(),
        };
        openmetrics.push_str(&line);
        openmetrics.push('\n');
    }
    openmetrics.push_str("# EOF\n");
    assert!(openmetrics.contains("# TYPE libp2p_bandwidth_bytes counter\n"));
    let beacon = |body: Vec<u8>, content_type: &str| {
        let server = Server::serving_as(body, content_type);
        let output =
            run(nodepulse().args(["run", "--dry-run", "--beacon-node", &server.url("/metrics")]));
        assert!(
            output.status.success(),
            "{content_type}: {}",
            stderr(&output)
        );
        assert!(
            !stderr(&output).contains("WARN"),
            "{content_type}: {}",
            stderr(&output)
        );
        let mut object = object(&payload(&output), "beaconnode")
            .unwrap_or_else(|| panic!("{content_type}: no beacon node object"))
            .clone();
        object
            .as_object_mut()
            .expect("an object")
            .remove("timestamp");
        object
    };
    let want = beacon(classic.clone().into_bytes(), "text/plain; version=0.0.4");
    assert_eq!(
        beacon(
            openmetrics.clone().into_bytes(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        ),
        want
    );
    assert_eq!(
        beacon(openmetrics.into_bytes(), "text/plain; version=0.0.4"),
        want
    );
    assert_eq!(
        want["network_libp2p_bytes_total_receive"],
        963_990_001_024u64
    );
}

/// A procfs tree for `--procfs`: this machine's own files, with a `meminfo` whose numbers are known.
fn procfs_copy(name: &str) -> std::path::PathBuf {
    let root = crate::common::temp_dir(name).join("proc");
    for file in [
        "stat",
        "cpuinfo",
        "diskstats",
        "net/dev",
        "sys/kernel/osrelease",
    ] {
        let target = root.join(file);
        std::fs::create_dir_all(target.parent().expect("a parent")).expect("mkdir");
        let text = std::fs::read(format!("/proc/{file}")).expect("this machine's /proc");
        std::fs::write(&target, text).expect("copy");
    }
    std::fs::write(
        root.join("meminfo"),
        "MemTotal:       16384000 kB\nMemFree:         1024000 kB\nMemAvailable:    8192000 kB\n\
         Buffers:          204800 kB\nCached:          4096000 kB\nSwapCached:            0 kB\n",
    )
    .expect("meminfo");
    root
}

/// `--procfs` reads the host from another tree (a container's view of the host's /proc), a file
/// that cannot be read costs only its own fields with one warning naming it, and `--data-dir`
/// picks the filesystem whose size is reported.
#[test]
fn procfs_and_data_dir_are_where_the_host_is_read() {
    let procfs = procfs_copy("procfs");
    let system = |procfs: &std::path::Path, data_dir: &str| {
        let output = run(nodepulse()
            .args(["run", "--dry-run", "--procfs"])
            .arg(procfs)
            .args(["--data-dir", data_dir]));
        assert!(output.status.success(), "{}", stderr(&output));
        let system = object(&payload(&output), "system")
            .expect("the system object")
            .clone();
        (system, stderr(&output))
    };
    let data_dir = procfs.display().to_string();
    let (host, log) = system(&procfs, &data_dir);
    assert_eq!(host["memory_node_bytes_total"], 16_384_000u64 * 1024);
    assert_eq!(host["memory_node_bytes_buffers"], 204_800u64 * 1024);
    assert!(host["cpu_node_system_seconds_total"].is_u64(), "{host}");
    assert!(host["disk_node_bytes_total"].is_u64(), "{host}");
    assert!(!log.contains("WARN"), "{log}");

    std::fs::remove_file(procfs.join("meminfo")).expect("remove meminfo");
    let (host, log) = system(&procfs, "/nonexistent/data");
    for gone in [
        "memory_node_bytes_total",
        "memory_node_bytes_free",
        "disk_node_bytes_total",
    ] {
        assert!(
            host.get(gone).is_none(),
            "{gone} is left out, not 0: {host}"
        );
    }
    assert!(
        host["cpu_node_system_seconds_total"].is_u64(),
        "the rest still read: {host}"
    );
    assert!(host["network_node_bytes_total_receive"].is_u64(), "{host}");
    let warnings: Vec<&str> = log.lines().filter(|line| line.contains("WARN")).collect();
    assert_eq!(
        warnings.len(),
        2,
        "one for meminfo, one for the data dir:\n{log}"
    );
    assert!(
        warnings.iter().any(|line| line.contains("meminfo")),
        "{log}"
    );
    assert!(
        warnings
            .iter()
            .any(|line| line.contains("/nonexistent/data")),
        "{log}"
    );
}

/// The targets are scraped at the same time: each server answers only once both requests arrived,
/// which a one-after-the-other agent could never bring about (its first scrape would wait out the
/// servers' safety valve, and the answers would say so).
#[test]
fn targets_are_scraped_concurrently() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let arrived = Arc::new(AtomicUsize::new(0));
    let together = Arc::new(AtomicUsize::new(0));
    let target = |body: Vec<u8>| {
        let (arrived, together) = (Arc::clone(&arrived), Arc::clone(&together));
        Server::start(move |_| {
            arrived.fetch_add(1, Ordering::SeqCst);
            let both = crate::common::eventually(Duration::from_secs(30), || {
                arrived.load(Ordering::SeqCst) >= 2
            });
            if both {
                together.fetch_add(1, Ordering::SeqCst);
            }
            Reply::ok(body.clone())
        })
    };
    let beacon = target(fixture("lighthouse/beacon.prom"));
    let validator = target(fixture("lighthouse/validator.prom"));
    let objects = dry_run_of(&beacon, &validator);
    assert!(object(&objects, "beaconnode").is_some() && object(&objects, "validator").is_some());
    assert_eq!(
        together.load(Ordering::SeqCst),
        2,
        "both scrapes were in flight at once"
    );
}

/// A dry run of a beacon node and a validator client served over HTTP: the payload.
fn dry_run_of(beacon: &Server, validator: &Server) -> Vec<serde_json::Value> {
    let output = run(nodepulse().args([
        "run",
        "--dry-run",
        "--beacon-node",
        &beacon.url("/metrics"),
        "--validator",
        &validator.url("/metrics"),
    ]));
    assert!(output.status.success(), "{}", stderr(&output));
    payload(&output)
}

/// Lighthouse and Grandine answer `text/plain` with libp2p's OpenMetrics registry inside, its
/// `# EOF` at the end (Lighthouse) or in the middle (Grandine): read over HTTP as the classic text
/// it is served as, the scrape maps to the payload its file maps to.
#[test]
fn a_text_answer_with_an_openmetrics_registry_inside_maps_as_its_file() {
    for (client, release, content_type) in [
        ("lighthouse", "5.3.0", "text/plain"),
        ("grandine", "2.0.0", "text/plain; charset=utf-8"),
    ] {
        let scrape = format!("{client}/beacon-{release}.prom");
        let server = Server::serving_as(fixture(&scrape), content_type);
        let beacon = |target: &str| {
            let output = run(nodepulse().args(["run", "--dry-run", "--beacon-node", target]));
            assert!(output.status.success(), "{}", stderr(&output));
            let mut beacon = object(&payload(&output), "beaconnode")
                .cloned()
                .expect("a beacon node object");
            beacon
                .as_object_mut()
                .expect("an object")
                .remove("timestamp");
            beacon
        };
        let over_http = beacon(&server.url("/metrics"));
        assert_eq!(
            over_http,
            beacon(&fixture_path(&scrape).display().to_string()),
            "{scrape}"
        );
        let expected: serde_json::Value =
            serde_json::from_slice(&fixture(&format!("{client}/beacon-{release}.json")))
                .expect("JSON");
        assert_eq!(over_http, expected, "{scrape}");
    }
}
