//! `nodepulse serve` alerts against loopback webhook receivers: a machine that stops posting and
//! resumes (firing, then resolved), a disk rule, the one summary of a mass outage, a webhook that
//! fails (retried, and the others not held up), each webhook kind's shape, and `--test-alert`.
//! Thresholds are shortened by the config file; nothing waits a fixed time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::add_key;
use crate::common::receiver::{Kind, Receiver, database};
use crate::common::{
    Reply, Server, dead_url, eventually, fixture, nodepulse, run, stderr, temp_dir,
};
use serde_json::{Value, json};

/// A config file: rules evaluated every 200 ms, `rules` (TOML) and one webhook per `hooks` entry.
pub fn config(name: &str, rules: &str, hooks: &[(&str, &str)]) -> String {
    let mut text = format!("[alerts]\nevaluate-every = \"200ms\"\n{rules}\n");
    for (url, kind) in hooks {
        text.push_str(&format!(
            "[[alerts.webhooks]]\nurl = \"{url}\"\nkind = \"{kind}\"\n"
        ));
    }
    let path = temp_dir(name).join("serve.toml");
    std::fs::write(&path, text).expect("write the config");
    path.display().to_string()
}

/// Every other rule off, so that only the one under test speaks.
pub fn only(rule: &str, settings: &str) -> String {
    let rules = [
        "machine-offline",
        "disk-free",
        "memory-used",
        "not-synced",
        "peers",
        "validators-inactive",
        "stream-node-silent",
        "attestations-missed",
        "proposal-missed",
        "slashed",
        "balance-dropped",
        "sync-participation",
        "execution-not-synced",
        "execution-head-age",
        "execution-peers",
        "disk-forecast",
    ];
    rules
        .iter()
        .map(|name| {
            if *name == rule {
                format!("[alerts.rules.{name}]\n{settings}\n")
            } else {
                format!("[alerts.rules.{name}]\nenabled = false\n")
            }
        })
        .collect()
}

/// The JSON bodies a webhook was sent.
pub fn bodies(hook: &Server) -> Vec<Value> {
    hook.requests()
        .iter()
        .filter_map(|request| serde_json::from_slice(&request.body).ok())
        .collect()
}

pub fn statuses(hook: &Server) -> Vec<String> {
    bodies(hook)
        .iter()
        .map(|body| {
            format!(
                "{} {}",
                body["status"].as_str().unwrap_or("?"),
                body["subject"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn post(receiver: &Receiver, key: &str, machine: &str, body: &[u8]) {
    let answer = receiver.post(&format!("/api/v1/stats/{key}/{machine}"), body);
    assert_eq!(answer.status, 200, "{}", answer.text());
}

#[test]
fn a_machine_that_goes_quiet_fires_and_resolves_when_it_is_back() {
    let hook = Server::start(|_| Reply::ok(""));
    let database = database(Kind::Sqlite, "alerts-offline");
    let key = add_key(&database, "ops", false);
    let path = config(
        "alerts-offline",
        &only("machine-offline", "after = \"2s\""),
        &[(&hook.url("/hook"), "json")],
    );
    let receiver = Receiver::start(&database, &["--config", &path]);
    let body = fixture("reporters/lighthouse-beacon-node.json");
    post(&receiver, &key, "rig-1", &body);

    let fired = eventually(Duration::from_secs(60), || {
        statuses(&hook).contains(&"firing ops/rig-1".into())
    });
    assert!(fired, "no firing notification: {:?}", statuses(&hook));
    let firing = bodies(&hook)
        .into_iter()
        .find(|b| b["status"] == "firing")
        .expect("firing");
    assert_eq!(firing["rule"], "machine-offline");
    assert!(
        firing["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("nothing received for")),
        "{firing}"
    );
    let metrics = receiver.get("/metrics", "").text();
    assert!(
        metrics.contains("nodepulse_serve_alerts_firing{rule=\"machine-offline\"} 1"),
        "{metrics}"
    );

    // Back (another process: the minute's beacon node object is taken): the next round sees it
    // and tells that it resolved.
    post(
        &receiver,
        &key,
        "rig-1",
        &fixture("reporters/lighthouse-validator.json"),
    );
    let resolved = eventually(Duration::from_secs(60), || {
        statuses(&hook).contains(&"resolved ops/rig-1".into())
    });
    assert!(resolved, "no resolved notification: {:?}", statuses(&hook));
    let order = statuses(&hook);
    let first_firing = order.iter().position(|s| s == "firing ops/rig-1");
    let first_resolved = order.iter().position(|s| s == "resolved ops/rig-1");
    assert!(first_firing < first_resolved, "{order:?}");
}

/// A system object whose disk has `free` of 2 TB free.
fn system_with_disk_free(free: u64) -> Vec<u8> {
    json!({"version": 1, "timestamp": 1_764_410_000_000_u64, "process": "system",
        "cpu_cores": 8, "disk_node_bytes_total": 2_000_000_000_000_u64, "disk_node_bytes_free": free,
        "memory_node_bytes_total": 67_326_246_912_u64, "memory_node_bytes_free": 2_203_217_920_u64, "misc_os": "lin"})
    .to_string()
    .into_bytes()
}

#[test]
fn a_disk_running_full_fires_at_once_but_not_for_a_removed_key() {
    let database = database(Kind::Sqlite, "alerts-disk");
    let key = add_key(&database, "ops", false);
    // A key removed after its machine reported: that machine is no longer watched.
    let gone = add_key(&database, "gone", false);
    let before = Receiver::start(&database, &[]);
    post(
        &before,
        &gone,
        "old",
        &system_with_disk_free(10_000_000_000),
    );
    drop(before);
    let removed = run(nodepulse().args(["keys", "remove", "gone", "--database", &database]));
    assert!(removed.status.success(), "{}", stderr(&removed));

    let hook = Server::start(|_| Reply::ok(""));
    let path = config(
        "alerts-disk",
        &only("disk-free", "threshold = 10.0"),
        &[(&hook.url("/hook"), "json")],
    );
    let receiver = Receiver::start(&database, &["--config", &path]);
    post(
        &receiver,
        &key,
        "full",
        &system_with_disk_free(120_000_000_000),
    );
    post(
        &receiver,
        &key,
        "roomy",
        &system_with_disk_free(1_200_000_000_000),
    );
    let fired = eventually(Duration::from_secs(60), || {
        statuses(&hook).contains(&"firing ops/full".into())
    });
    assert!(fired, "{:?}", statuses(&hook));
    let body = bodies(&hook)
        .into_iter()
        .find(|b| b["subject"] == "ops/full")
        .expect("the alert");
    assert_eq!(body["rule"], "disk-free");
    assert_eq!(body["detail"], "disk 6.0 % free");
    // The same round saw every machine: the roomy one and the removed key's are not told.
    assert_eq!(statuses(&hook), ["firing ops/full"]);
}

#[test]
fn most_of_the_fleet_quiet_at_once_is_one_summary() {
    let database = database(Kind::Sqlite, "alerts-outage");
    let key = add_key(&database, "ops", false);
    let body = fixture("reporters/lighthouse-beacon-node.json");
    // Ten machines report to a server without alerts...
    let quiet = Receiver::start(&database, &[]);
    for n in 0..10 {
        post(&quiet, &key, &format!("rig-{n}"), &body);
    }
    drop(quiet);
    // ...which comes back with alerts after they all went quiet: its first round sees the ten
    // offline at once.
    let hook = Server::start(|_| Reply::ok(""));
    let path = config(
        "alerts-outage",
        &only("machine-offline", "after = \"1ms\""),
        &[(&hook.url("/hook"), "json")],
    );
    let receiver = Receiver::start(&database, &["--config", &path]);
    let told = eventually(Duration::from_secs(60), || !bodies(&hook).is_empty());
    assert!(told);
    // Give later rounds their chance to (wrongly) tell each machine; one more round is enough.
    let rounds = eventually(Duration::from_secs(60), || {
        receiver
            .get("/metrics", "")
            .text()
            .contains("nodepulse_serve_alerts_firing{rule=\"machine-offline\"} 10")
    });
    assert!(rounds);
    let sent = bodies(&hook);
    assert_eq!(sent.len(), 1, "one summary, not one per machine: {sent:?}");
    assert_eq!(sent[0]["status"], "outage");
    assert_eq!(
        (sent[0]["firing"].clone(), sent[0]["watched"].clone()),
        (json!(10), json!(10))
    );
}

#[test]
fn a_failing_webhook_is_retried_and_holds_up_no_other() {
    let failures = Arc::new(AtomicUsize::new(0));
    let failing = {
        let failures = Arc::clone(&failures);
        Server::start(move |_| {
            if failures.fetch_add(1, Ordering::SeqCst) < 2 {
                Reply::status(503, "busy")
            } else {
                Reply::ok("")
            }
        })
    };
    let refusing = Server::start(|_| Reply::status(404, "no such hook"));
    let working = Server::start(|_| Reply::ok(""));
    let database = database(Kind::Sqlite, "alerts-retry");
    let key = add_key(&database, "ops", false);
    let path = config(
        "alerts-retry",
        &only("machine-offline", "after = \"1ms\""),
        &[
            (&failing.url("/a"), "slack"),
            (&refusing.url("/b"), "json"),
            (&working.url("/c"), "discord"),
        ],
    );
    let mut receiver = Receiver::start(&database, &["--config", &path]);
    post(
        &receiver,
        &key,
        "rig-1",
        &fixture("reporters/lighthouse-beacon-node.json"),
    );
    assert!(eventually(Duration::from_secs(60), || !working
        .requests()
        .is_empty()));
    let discord = &bodies(&working)[0];
    assert!(
        discord["content"]
            .as_str()
            .is_some_and(|text| text.contains("ops/rig-1")),
        "{discord}"
    );
    // The failing one is tried again until it takes it; the refusing one once only.
    assert!(eventually(Duration::from_secs(60), || failing
        .requests()
        .len()
        >= 3));
    let slack = &bodies(&failing)[2];
    assert!(
        slack["text"]
            .as_str()
            .is_some_and(|text| text.contains("machine-offline")),
        "{slack}"
    );
    assert_eq!(refusing.requests().len(), 1);
    let metrics = receiver.get("/metrics", "").text();
    assert!(
        metrics.contains("nodepulse_serve_alert_notifications_total{outcome=\"failed\"} 1"),
        "{metrics}"
    );
    // The refusal is logged, without the URL's path (webhook URLs carry tokens).
    let log = receiver.process.stderr();
    assert!(log.contains("an alert was not delivered"), "{log}");
    assert!(!log.contains("token-"), "{log}");
}

#[test]
fn test_alert_exits_0_when_every_webhook_took_it_and_1_otherwise() {
    let ntfy = Server::start(|_| Reply::ok("{}"));
    let json_hook = Server::start(|_| Reply::ok(""));
    let path = config(
        "alerts-test-ok",
        "",
        &[
            (&ntfy.url("/secret-topic"), "ntfy"),
            (&json_hook.url("/x"), "json"),
        ],
    );
    let output = run(nodepulse().args(["serve", "--test-alert", "--config", &path]));
    assert!(output.status.success(), "{}", stderr(&output));
    let sent = &ntfy.requests()[0];
    assert_eq!(sent.header("Title"), Some("nodepulse test alert"));
    assert_eq!(
        sent.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    // Webhooks go out like every other request of ours.
    assert!(
        sent.header("User-Agent")
            .is_some_and(|agent| agent.starts_with("nodepulse/")),
        "{:?}",
        sent.header("User-Agent")
    );
    assert_eq!(bodies(&json_hook)[0]["status"], "test");
    assert!(
        !stderr(&output).contains("secret-topic"),
        "the topic is a secret: {}",
        stderr(&output)
    );

    let refusing = Server::start(|_| Reply::status(403, "forbidden"));
    let path = config(
        "alerts-test-bad",
        "",
        &[
            (&json_hook.url("/x"), "json"),
            (&refusing.url("/y"), "json"),
        ],
    );
    let output = run(nodepulse().args(["serve", "--test-alert", "--config", &path]));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("not delivered"),
        "{}",
        stderr(&output)
    );

    // A webhook nobody listens at: retried, then said to have failed, its path not shown.
    let down = dead_url().replace("/metrics", "/token-down");
    let path = config("alerts-test-down", "", &[(&down, "json")]);
    let output = run(nodepulse().args(["serve", "--test-alert", "--config", &path]));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("after 6 attempts") && !stderr(&output).contains("token-down"),
        "{}",
        stderr(&output)
    );

    let path = config("alerts-test-kind", "", &[(&json_hook.url("/x"), "pager")]);
    let output = run(nodepulse().args(["serve", "--test-alert", "--config", &path]));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("kind `pager`"),
        "{}",
        stderr(&output)
    );
}

/// How many notifications a webhook was sent that read `status subject`.
fn told(hook: &Server, notification: &str) -> usize {
    statuses(hook)
        .iter()
        .filter(|status| *status == notification)
        .count()
}

#[test]
fn alert_state_outlives_kill_9_and_two_instances_on_one_postgresql_notify_once() {
    for kind in [Kind::Sqlite, Kind::Postgres] {
        let hook = Server::start(|_| Reply::ok(""));
        let name = format!("alerts-restart-{kind:?}").to_lowercase();
        let database = database(kind, &name);
        let staying = add_key(&database, "staying", false);
        let leaving = add_key(&database, "leaving", false);
        let path = config(
            &name,
            &only("machine-offline", "after = \"2s\""),
            &[(&hook.url("/hook"), "json")],
        );
        let mut first = Receiver::start(&database, &["--config", &path]);
        // On PostgreSQL, a second instance beside it, with the same rules and webhook.
        let mut second =
            (kind == Kind::Postgres).then(|| Receiver::start(&database, &["--config", &path]));
        let body = fixture("reporters/lighthouse-beacon-node.json");
        post(&first, &staying, "rig-1", &body);
        post(&first, &leaving, "rig-2", &body);
        let both = eventually(Duration::from_secs(60), || {
            told(&hook, "firing staying/rig-1") == 1 && told(&hook, "firing leaving/rig-2") == 1
        });
        assert!(both, "{kind:?}: {:?}", statuses(&hook));

        // Every instance gone, one by kill -9; meanwhile rig-2's condition ends (its key is
        // removed: nobody reports as it any more).
        first.process.0.kill().expect("kill -9");
        let _ = first.process.0.wait();
        if let Some(second) = &mut second {
            second.process.stop();
        }
        let removed = run(nodepulse().args(["keys", "remove", "leaving", "--database", &database]));
        assert!(removed.status.success(), "{}", stderr(&removed));

        // Restarted: rig-2 is told resolved; rig-1, still offline, is not told again within the
        // repeat interval.
        let restarted = Receiver::start_on(&database, &first.address, &["--config", &path]);
        let resolved = eventually(Duration::from_secs(60), || {
            told(&hook, "resolved leaving/rig-2") == 1
        });
        assert!(resolved, "{kind:?}: {:?}", statuses(&hook));
        let shown = eventually(Duration::from_secs(60), || {
            restarted
                .get("/metrics", "")
                .text()
                .contains("nodepulse_serve_alerts_firing{rule=\"machine-offline\"} 1")
        });
        assert!(shown, "{kind:?}: the restarted instance shows rig-1 firing");
        let mut all = statuses(&hook);
        all.sort();
        assert_eq!(
            all,
            [
                "firing leaving/rig-2",
                "firing staying/rig-1",
                "resolved leaving/rig-2"
            ],
            "{kind:?}: each told once"
        );
    }
}
