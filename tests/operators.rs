//! What operators and CI pipelines use beside `run`: `check` against every fixture, its readable
//! diff and `--update`, the report for people and for machines, completions, the man page, and the
//! systemd unit's validity and hardening score.

use std::process::Command;

use crate::common::{
    NEWEST_FIXTURES, fixture, fixture_path, nodepulse, run, stderr, stdout, temp_dir,
};
use serde_json::Value;

use crate::common::CONSENSUS_FIXTURES as FIXTURES;

#[test]
fn check_passes_on_every_fixture() {
    for (client, has_validator) in FIXTURES {
        let mut processes = vec!["beacon"];
        if has_validator {
            processes.push("validator");
        }
        for process in processes {
            let flag = if process == "beacon" {
                "--beacon-node"
            } else {
                "--validator"
            };
            let output = run(nodepulse()
                .args(["check", flag])
                .arg(fixture_path(&format!("{client}/{process}.prom")))
                .arg("--expect")
                .arg(fixture_path(&format!("{client}/{process}.json"))));
            assert!(
                output.status.success(),
                "{client}/{process}: {}{}",
                stdout(&output),
                stderr(&output)
            );
        }
    }
}

#[test]
fn check_fails_with_a_readable_diff_and_update_rewrites() {
    let dir = temp_dir("check");
    let expected = dir.join("beacon.json");
    let mut wanted: Value =
        serde_json::from_slice(&fixture("lighthouse/beacon.json")).expect("json");
    wanted["network_peers_connected"] = 87.into();
    wanted["sync_eth2_synced"] = false.into();
    wanted["client_build"] = 7.into();
    std::fs::write(&expected, wanted.to_string()).expect("write");
    let check = || {
        run(nodepulse()
            .args(["check", "--beacon-node"])
            .arg(fixture_path("lighthouse/beacon.prom"))
            .arg("--expect")
            .arg(&expected))
    };
    let output = check();
    assert_eq!(output.status.code(), Some(1));
    let diff = stdout(&output);
    for line in [
        "- beaconnode.network_peers_connected: 87",
        "+ beaconnode.network_peers_connected: 88",
        "- beaconnode.sync_eth2_synced: false",
        "+ beaconnode.sync_eth2_synced: true",
        "- beaconnode.client_build: 7   (now absent)",
    ] {
        assert!(
            diff.lines().any(|l| l == line),
            "missing `{line}` in:\n{diff}"
        );
    }

    let update = run(nodepulse()
        .args(["check", "--update", "--beacon-node"])
        .arg(fixture_path("lighthouse/beacon.prom"))
        .arg("--expect")
        .arg(&expected));
    assert!(update.status.success(), "{}", stderr(&update));
    assert!(check().status.success(), "passes after --update");
    let rewritten: Value =
        serde_json::from_slice(&std::fs::read(&expected).expect("read")).expect("json");
    let original: Value = serde_json::from_slice(&fixture("lighthouse/beacon.json")).expect("json");
    assert_eq!(rewritten, original);
    let _ = std::fs::remove_dir_all(dir);
}

/// An operator records the expectation with `run --dry-run`: the system object and timestamps in it
/// describe the machine and the moment, so `check` says it leaves them out, and passes; a changed
/// node value still fails.
#[test]
fn check_accepts_an_expectation_recorded_with_dry_run() {
    let dir = temp_dir("recorded");
    let expected = dir.join("expect.json");
    let targets = [
        "--beacon-node".into(),
        fixture_path("lighthouse/beacon.prom").into_os_string(),
        "--validator".into(),
        fixture_path("lighthouse/validator.prom").into_os_string(),
    ];
    let recorded = run(nodepulse().args(["run", "--dry-run"]).args(&targets));
    assert!(recorded.status.success(), "{}", stderr(&recorded));
    std::fs::write(&expected, &recorded.stdout).expect("write");

    let check = || {
        run(nodepulse()
            .arg("check")
            .args(&targets)
            .arg("--expect")
            .arg(&expected))
    };
    let output = check();
    assert!(
        output.status.success(),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    let notes: Vec<String> = stderr(&output)
        .lines()
        .filter(|line| line.contains("not comparing the system object or timestamps"))
        .map(str::to_owned)
        .collect();
    assert_eq!(notes.len(), 1, "{}", stderr(&output));

    let mut edited: Value = serde_json::from_slice(&recorded.stdout).expect("JSON");
    for object in edited.as_array_mut().expect("an array") {
        if object["process"] == "beaconnode" {
            object["network_peers_connected"] = Value::from(1);
        }
    }
    std::fs::write(&expected, edited.to_string()).expect("write");
    let output = check();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("- beaconnode.network_peers_connected: 1"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn check_reports_sources_and_conformance_for_people_and_machines() {
    let text = run(nodepulse()
        .args(["check", "--beacon-node"])
        .arg(fixture_path("teku/beacon.prom")));
    assert!(text.status.success(), "{}", stderr(&text));
    let report = stdout(&text);
    assert!(
        report.contains("teku (the scrape has beacon_teku_version_total)"),
        "{report}"
    );
    assert!(report.contains("<- libp2p_peers"), "{report}");
    assert!(
        report.contains("disk_beaconchain_bytes_total") && report.contains("no source for teku"),
        "{report}"
    );
    assert!(report.contains("beacon-metrics minimal set"), "{report}");

    let json = run(nodepulse()
        .args(["check", "--format", "json", "--beacon-node"])
        .arg(fixture_path("prysm/beacon.prom"))
        .arg("--validator")
        .arg(fixture_path("prysm/validator.prom")));
    assert!(json.status.success(), "{}", stderr(&json));
    let report: Value = serde_json::from_slice(&json.stdout).expect("JSON report");
    let beacon = &report["targets"][0];
    assert_eq!(beacon["client"], "prysm");
    let field = |target: &Value, name: &str| -> Value {
        target["fields"]
            .as_array()
            .and_then(|fields| fields.iter().find(|f| f["field"] == name).cloned())
            .unwrap_or(Value::Null)
    };
    assert_eq!(field(beacon, "network_peers_connected")["value"], 72);
    assert_eq!(
        field(beacon, "network_peers_connected")["source"],
        "first of: p2p_peer_count{state=\"Connected\"}, sum(connected_libp2p_peers)"
    );
    assert_eq!(
        field(beacon, "network_libp2p_bytes_total_receive")["source"],
        Value::Null
    );
    let conformance = beacon["conformance"].as_array().expect("conformance");
    assert_eq!(conformance.len(), 8);
    assert!(
        conformance
            .iter()
            .any(|c| c["metric"] == "beacon_reorgs_total" && c["ok"] == true)
    );
    let validator = &report["targets"][1];
    assert_eq!(
        field(validator, "validator_active")["source"],
        "count(validator_statuses == 3)"
    );
    assert!(validator.get("conformance").is_none());
}

#[test]
fn check_without_targets_names_the_flag() {
    let output = run(nodepulse().args(["check"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--beacon-node"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn completions_man_page_and_version() {
    for shell in ["bash", "zsh", "fish"] {
        let output = run(nodepulse().args(["completions", shell]));
        assert!(output.status.success());
        assert!(
            stdout(&output).contains("telemetry-url"),
            "{shell} completes every flag"
        );
    }
    let man = run(nodepulse().arg("man"));
    assert!(man.status.success());
    assert!(
        stdout(&man).starts_with(".ie") || stdout(&man).contains(".TH nodepulse"),
        "roff"
    );
    let version = run(nodepulse().arg("--version"));
    let text = stdout(&version);
    assert!(
        text.starts_with("nodepulse 0.") && text.contains('('),
        "release and commit: {text}"
    );
}

/// `nodepulse man | head` and the like: a reader that went away is not an error (nor a panic).
#[test]
fn printing_into_a_closed_pipe_is_not_an_error() {
    for args in [
        &["completions", "fish"][..],
        &["man"],
        &["profiles", "show", "lighthouse"],
    ] {
        let mut child = nodepulse()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start");
        // Close the reading end before the process writes: its write meets a broken pipe.
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("wait");
        let log = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{args:?}: {}\n{log}",
            output.status
        );
        assert!(!log.contains("panicked"), "{args:?}: {log}");
    }
}

/// A unit as installed would be, with ExecStart pointing at the binary under test.
fn unit_under_test(name: &str) -> std::path::PathBuf {
    let unit = std::fs::read_to_string(format!("{}/systemd/{name}", env!("CARGO_MANIFEST_DIR")))
        .expect("the unit");
    let dir = temp_dir("unit");
    let path = dir.join(name);
    std::fs::write(
        &path,
        unit.replace("/usr/bin/nodepulse", env!("CARGO_BIN_EXE_nodepulse")),
    )
    .expect("write unit");
    path
}

#[test]
fn both_systemd_units_verify_and_are_hardened() {
    assert!(
        Command::new("systemd-analyze")
            .arg("--version")
            .output()
            .is_ok(),
        "systemd-analyze is missing; scripts/test.sh installs Debian's systemd package"
    );
    for name in ["nodepulse.service", "nodepulse-serve.service"] {
        unit_verifies_and_is_hardened(name);
    }
}

fn unit_verifies_and_is_hardened(name: &str) {
    let unit = unit_under_test(name);
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&unit)
        .output()
        .expect("run systemd-analyze verify");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );

    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&unit)
        .output()
        .expect("run systemd-analyze security");
    let text = String::from_utf8_lossy(&security.stdout);
    let exposure: f64 = text
        .lines()
        .find_map(|line| {
            line.split(&format!("Overall exposure level for {name}: "))
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    assert!(
        exposure <= 2.0,
        "{name}: exposure {exposure} > 2.0:\n{text}"
    );
}

/// Every built-in profile, printed by `profiles show` and loaded back with `--profile`, gives the
/// same payload on every bundled fixture as the built-in one: the printed form is the real thing.
#[test]
fn every_builtin_profile_round_trips_through_a_profile_file() {
    let dir = temp_dir("round-trip");
    let list = run(nodepulse().args(["profiles", "list"]));
    assert!(list.status.success(), "{}", stderr(&list));
    let names: Vec<String> = stdout(&list)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    assert_eq!(
        names,
        [
            "prysm",
            "lighthouse",
            "teku",
            "lodestar",
            "grandine",
            "nimbus"
        ]
    );
    // Every bundled scrape, the older shapes and the newest releases', with the flag it is given by.
    let mut scrapes = Vec::new();
    for (client, has_validator) in FIXTURES {
        scrapes.push((format!("{client}/beacon.prom"), "--beacon-node"));
        if has_validator {
            scrapes.push((format!("{client}/validator.prom"), "--validator"));
        }
    }
    for (client, release, validator_scrape) in NEWEST_FIXTURES {
        scrapes.push((format!("{client}/beacon-{release}.prom"), "--beacon-node"));
        scrapes.push((
            format!("{client}/{validator_scrape}-{release}.prom"),
            "--validator",
        ));
    }
    let mut compared = 0;
    for name in &names {
        let shown = run(nodepulse().args(["profiles", "show", name]));
        assert!(shown.status.success(), "{}", stderr(&shown));
        let text = stdout(&shown);
        // What each profile reads since it was checked against the newest release, and what it
        // no longer pretends to read.
        let (rule, gone) = match name.as_str() {
            "teku" => (
                "distinct = \"validator_remote_beacon_nodes_requests_total\", label = \"endpoint\"",
                Some("count = \"validator_remote_beacon_nodes_requests_total\""),
            ),
            "nimbus" => ("validator_total = \"validators\"", None),
            "grandine" => ("libp2p_bandwidth_bytes_total", None),
            "prysm" => ("blob_disk_bytes", Some("powchain_sync_eth1_fallback")),
            "lighthouse" => (
                "vc_beacon_nodes_synced_count",
                Some("sync_eth1_fallback_configured ="),
            ),
            _ => ("el_offline", None),
        };
        assert!(text.contains(rule), "{name} shows {rule}:\n{text}");
        if let Some(gone) = gone {
            assert!(
                !text.contains(gone),
                "{name} no longer shows {gone}:\n{text}"
            );
        }
        let file = dir.join(format!("{name}.toml"));
        std::fs::write(&file, &shown.stdout).expect("write");
        for (scrape, flag) in &scrapes {
            let scrape = fixture_path(scrape);
            let payload = |profile: Option<&std::path::Path>| {
                let mut command = nodepulse();
                command
                    .args(["run", "--dry-run", "--client", name, flag])
                    .arg(&scrape);
                if let Some(profile) = profile {
                    command.arg("--profile").arg(profile);
                }
                let output = run(&mut command);
                assert!(output.status.success(), "{}", stderr(&output));
                let objects: Vec<Value> =
                    serde_json::from_slice(&output.stdout).expect("a JSON array");
                objects
                    .into_iter()
                    .filter(|object| object["process"] != "system")
                    .map(|mut object| {
                        object
                            .as_object_mut()
                            .expect("an object")
                            .remove("timestamp");
                        object
                    })
                    .collect::<Vec<Value>>()
            };
            assert_eq!(
                payload(Some(&file)),
                payload(None),
                "{name} on {}",
                scrape.display()
            );
            compared += 1;
        }
    }
    assert_eq!(compared, names.len() * scrapes.len());
}

/// A renamed metric fixed in minutes: a user's file replaces the built-in Lighthouse profile, a new
/// client is detected by its own signature, and `check` says where each field came from.
#[test]
fn a_profile_file_adds_a_client_and_check_reports_its_sources() {
    let dir = temp_dir("user-profile");
    let profile = dir.join("acme.toml");
    std::fs::write(
        &profile,
        r#"
client_name = "acme"
detect = ["acme_build_info"]

[fields]
client_version = { metric = "acme_build_info", label = "version" }
sync_beacon_head_slot = "acme_head_slot"
network_peers_connected = { sum = "acme_peers", labels = { state = "connected" } }
sync_eth2_synced = { metric = "acme_sync_distance", at_most = 2 }
"#,
    )
    .expect("write");
    let scrape = dir.join("acme.prom");
    std::fs::write(
        &scrape,
        "# TYPE acme_build_info gauge\nacme_build_info{version=\"acme/v0.4.1\"} 1\n\
         # TYPE acme_head_slot gauge\nacme_head_slot 10123456\n\
         # TYPE acme_peers gauge\nacme_peers{state=\"connected\",dir=\"in\"} 20\n\
         acme_peers{state=\"connected\",dir=\"out\"} 31\nacme_peers{state=\"banned\",dir=\"in\"} 4\n\
         # TYPE acme_sync_distance gauge\nacme_sync_distance 1\n\
         process_cpu_seconds_total 12\n",
    )
    .expect("write");
    let output = run(nodepulse()
        .args(["run", "--dry-run", "--profile"])
        .arg(&profile)
        .arg("--beacon-node")
        .arg(&scrape));
    assert!(output.status.success(), "{}", stderr(&output));
    let objects: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON");
    let beacon = objects
        .iter()
        .find(|object| object["process"] == "beaconnode")
        .expect("a beacon node object");
    assert_eq!(beacon["client_name"], "acme");
    assert_eq!(beacon["client_version"], "v0.4.1");
    assert_eq!(beacon["sync_beacon_head_slot"], 10_123_456);
    assert_eq!(beacon["network_peers_connected"], 51);
    assert_eq!(beacon["sync_eth2_synced"], true);
    assert!(
        beacon.get("cpu_process_seconds_total").is_none(),
        "a field the file does not name is left out: {beacon}"
    );

    let check = run(nodepulse()
        .args(["check", "--profile"])
        .arg(&profile)
        .arg("--beacon-node")
        .arg(&scrape));
    assert!(check.status.success(), "{}", stderr(&check));
    let report = stdout(&check);
    assert!(
        report.contains("acme (the scrape has acme_build_info)"),
        "{report}"
    );
    assert!(
        report
            .lines()
            .any(|line| line.contains("network_peers_connected")
                && line.contains("51")
                && line.contains("sum(acme_peers{state=\"connected\"})")),
        "{report}"
    );
    assert!(
        report
            .lines()
            .any(|line| line.contains("disk_beaconchain_bytes_total")
                && line.contains("no source for acme")),
        "{report}"
    );
}

/// A wrong profile file stops start-up with exit 2, naming the file, the line and the key, and what
/// was expected.
#[test]
fn a_wrong_profile_file_is_refused_at_start_up() {
    let dir = temp_dir("bad-profile");
    let cases = [
        (
            "client_name = \"x\"\ndetect = [\"x_info\"]\n[fields]\nvalidator_totl = \"a\"\n",
            vec!["line 4", "validator_totl", "validator_total"],
        ),
        (
            "client_name = \"x\"\ndetect = [\"x_info\"]\n[fields]\n\
             network_peers_connected = { sum = \"peers\", lables = { a = \"b\" } }\n",
            vec!["line 4", "unknown key `lables`", "`labels`"],
        ),
        (
            "client_name = \"x\"\ndetect = [\"x info\"]\n",
            vec!["line 2", "not a metric name"],
        ),
    ];
    for (index, (text, wanted)) in cases.into_iter().enumerate() {
        let file = dir.join(format!("bad-{index}.toml"));
        std::fs::write(&file, text).expect("write");
        let output = run(nodepulse()
            .args(["run", "--dry-run", "--profile"])
            .arg(&file)
            .arg("--beacon-node")
            .arg(fixture_path("lighthouse/beacon.prom")));
        let log = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{log}");
        assert!(
            log.contains(&file.display().to_string()),
            "names the file: {log}"
        );
        for part in wanted {
            assert!(log.contains(part), "{part:?} in {log}");
        }
    }
    let missing = run(nodepulse().args(["run", "--dry-run", "--profile", "/nonexistent/p.toml"]));
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("/nonexistent/p.toml"),
        "{}",
        stderr(&missing)
    );
}

/// The complete example in README loads as a profile: what users copy works.
#[test]
fn the_readme_example_profile_loads() {
    let readme = std::fs::read_to_string(fixture_path("../README.md")).expect("README");
    let example = readme
        .split("```toml\n# /etc/nodepulse/acme.toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("README has the Acme example");
    let profile =
        nodepulse::agent::profiles::Profile::from_toml(example).expect("the example loads");
    assert_eq!(profile.client_name, "acme");
    assert!(profile.fields.sync_eth2_fallback_configured.is_some());
}

#[test]
fn profiles_show_of_an_unknown_name_lists_the_built_in_ones() {
    let output = run(nodepulse().args(["profiles", "show", "geth"]));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let log = stderr(&output);
    assert!(log.contains("no built-in profile `geth`"), "{log}");
    assert!(
        log.contains("prysm, lighthouse, teku, lodestar, grandine, nimbus"),
        "{log}"
    );
}

/// Under systemd (`Type=notify`): READY=1 once running, WATCHDOG=1 at half the watchdog timeout,
/// STOPPING=1 on SIGTERM, all on the socket systemd names in NOTIFY_SOCKET.
#[test]
fn systemd_hears_ready_watchdog_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let socket_path = temp_dir("notify").join("notify.sock");
    let _ = std::fs::remove_file(&socket_path);
    let socket = UnixDatagram::bind(&socket_path).expect("bind the notify socket");
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .expect("timeout");
    let receiver = crate::common::Server::start(|_| crate::common::Reply::ok(""));
    let mut agent = crate::common::Running::spawn(
        nodepulse()
            .env("NOTIFY_SOCKET", &socket_path)
            .env("WATCHDOG_USEC", "400000")
            .env_remove("WATCHDOG_PID")
            .args(["run", "--interval", "1h", "--stats-endpoint"])
            .arg(receiver.url("/api/v1/stats/k/m"))
            .arg("--beacon-node")
            .arg(fixture_path("lighthouse/beacon.prom")),
    );
    let mut heard = Vec::new();
    let next = || {
        let mut buffer = [0u8; 512];
        let length = socket
            .recv(&mut buffer)
            .expect("a notification within a minute");
        String::from_utf8_lossy(&buffer[..length]).trim().to_owned()
    };
    while heard
        .iter()
        .filter(|state: &&String| state.as_str() == "WATCHDOG=1")
        .count()
        < 2
    {
        heard.push(next());
    }
    assert_eq!(heard[0], "READY=1", "ready first: {heard:?}");
    agent.stop();
    let stopping = (0..100)
        .map(|_| next())
        .find(|state| state != "WATCHDOG=1")
        .expect("a state after the pings");
    assert_eq!(stopping, "STOPPING=1");
}
