//! The validator view end to end, on both databases: the agent against the recorded Lodestar and
//! Anvil sends its reports to `serve`, which keeps them and answers them back; reports as a client
//! could send them round-trip whole; bad reports are refused with the reason; retention purges
//! old epochs by each machine's chain clock.

use serde_json::{Value, json};

use std::time::Duration;

use crate::common::beacon::RecordedBeaconNode;
use crate::common::nodes::recorded_anvil;
use crate::common::receiver::{Answer, KINDS, Receiver, database, request};
use crate::common::{Reply, Server, add_key, eventually, nodepulse};
use crate::serve_alerts::{bodies, config, only, statuses};

fn history(receiver: &Receiver, key: &str, machine: &str, epochs: u32) -> Value {
    let answer = receiver.get(
        &format!("/api/v1/machines/{machine}/validators?epochs={epochs}"),
        key,
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body: Value = serde_json::from_str(&answer.text()).expect("JSON");
    body["data"][0].clone()
}

fn post_report(receiver: &Receiver, route: &str, key: &str, body: &Value) -> Answer {
    request(
        "POST",
        &receiver.url(&format!("/api/v1/client/{route}?machine=m1")),
        &[("Content-Type", "application/json"), ("apikey", key)],
        body.to_string().as_bytes(),
    )
    .expect("POST answered")
}

#[test]
fn the_agent_sends_the_finished_epoch_and_the_execution_client_and_serve_keeps_them() {
    for kind in KINDS {
        let database = database(kind, "validator-view");
        let key = add_key(&database, "operator", false);
        let receiver = Receiver::start(&database, &[]);
        // Epoch 7's wake: epoch 6 is the one to report, with validator client B down.
        let beacon = RecordedBeaconNode::start(7);
        beacon.stretch_clock_to_now();
        let anvil = recorded_anvil();
        let output = nodepulse()
            .args(["run", "--once", "--stats-base-url", &receiver.url("")])
            .args(["--api-key", &key, "--machine", "lodestar-dev"])
            .args([
                "--beacon-api",
                &beacon.url(),
                "--watch-validators",
                "0,1,2,3,4,5,6,7",
            ])
            .args(["--execution-rpc", &anvil.url("")])
            .output()
            .expect("run the agent");
        assert!(
            output.status.success(),
            "{kind:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );

        let machine = history(&receiver, &key, "lodestar-dev", 1);
        let validators = &machine["validators"];
        assert_eq!(validators["last_epoch"], 6, "{kind:?}");
        assert_eq!(validators["attestations_from"], "liveness");
        assert_eq!(validators["clock"]["slots_per_epoch"], 8);
        let epoch = &validators["epochs"][0];
        assert_eq!(epoch["epoch"], 6);
        let attested: Vec<bool> = epoch["validators"]
            .as_array()
            .expect("validators")
            .iter()
            .map(|v| v["attested"].as_bool().expect("attested"))
            .collect();
        assert_eq!(
            attested,
            [true, true, true, true, true, true, false, false],
            "{kind:?}"
        );
        assert_eq!(epoch["validators"][0]["status"], "active");
        assert_eq!(
            epoch["validators"][0]["effective_balance"],
            32_000_000_000u64
        );
        let execution = &machine["execution"]["report"];
        assert_eq!(execution["client_version"], "anvil/v1.7.1", "{kind:?}");
        assert_eq!(execution["head_block"], 50);
        assert!(execution.get("peers").is_none());
    }
}

fn rich_report(epoch: u64) -> Value {
    json!({
        "version": 1,
        "clock": {"genesis_time": 1_606_824_023u64, "seconds_per_slot": 12, "slots_per_epoch": 32},
        "epoch": epoch,
        "attestations_from": "rewards",
        "proposals_known": true,
        "validators": [
            {"index": 412_345, "status": "active", "balance": 32_004_512_345u64,
             "effective_balance": 32_000_000_000u64, "attested": true,
             "votes": {"head": true, "target": true, "source": true, "reward": 14_012},
             "proposals": [{"slot": epoch * 32 + 5, "block_root": "0x4d611d5b93fdab69013a7f0a2f961caca0c853f87cfe9595fe50038163079360"}],
             "sync_committee": {"participated": 31, "missed": 1}},
            {"index": 412_346, "status": "active", "balance": 31_999_990_001u64,
             "effective_balance": 32_000_000_000u64, "attested": false,
             "votes": {"head": false, "target": false, "source": false, "reward": -9_999},
             "proposals": [{"slot": epoch * 32 + 17, "block_root": null}]},
            {"index": 412_347, "status": "slashed", "balance": 30_500_000_000u64,
             "effective_balance": 30_000_000_000u64, "attested": false,
             "votes": {"head": false, "target": false, "source": true, "reward": -4_000}},
            {"index": 7, "status": "exited", "balance": 0, "effective_balance": 0},
            {"index": 900_001, "status": "pending", "balance": 32_000_000_000u64,
             "effective_balance": 32_000_000_000u64}
        ]
    })
}

#[test]
fn every_figure_of_a_report_comes_back_as_sent_but_the_reward() {
    for kind in KINDS {
        let database = database(kind, "validator-round-trip");
        let key = add_key(&database, "operator", false);
        let receiver = Receiver::start(&database, &[]);
        let now_epoch = (unix_now() - 1_606_824_023) / 384;
        for epoch in [now_epoch - 2, now_epoch - 1] {
            let answer = post_report(&receiver, "validators", &key, &rich_report(epoch));
            assert_eq!(answer.status, 200, "{kind:?}: {}", answer.text());
        }
        // Sent again (an agent that did not see the answer): stored once.
        let answer = post_report(&receiver, "validators", &key, &rich_report(now_epoch - 1));
        assert_eq!(answer.status, 200);

        let validators = &history(&receiver, &key, "m1", 5)["validators"];
        let epochs = validators["epochs"].as_array().expect("epochs");
        assert_eq!(epochs.len(), 2, "{kind:?}: {validators}");
        let sent = rich_report(now_epoch - 1);
        let stored = epochs[1]["validators"].as_array().expect("validators");
        for sent in sent["validators"].as_array().expect("sent") {
            let mut want = sent.clone();
            // The votes come back flat, and their reward (in gwei) is not kept.
            if let Some(votes) = want.as_object_mut().and_then(|v| v.remove("votes")) {
                for vote in ["head", "target", "source"] {
                    want[vote] = votes[vote].clone();
                }
            }
            let back = stored
                .iter()
                .find(|v| v["index"] == sent["index"])
                .unwrap_or_else(|| panic!("{kind:?}: validator {} came back", sent["index"]));
            assert_eq!(back, &want, "{kind:?}");
        }
        let indices: Vec<u64> = epochs[1]["validators"]
            .as_array()
            .expect("validators")
            .iter()
            .map(|v| v["index"].as_u64().expect("index"))
            .collect();
        assert_eq!(indices, [7, 412_345, 412_346, 412_347, 900_001]);
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

#[test]
fn bad_reports_are_refused_with_the_reason_and_nothing_is_stored() {
    for kind in KINDS {
        let database = database(kind, "validator-refusals");
        let key = add_key(&database, "operator", false);
        let receiver = Receiver::start(&database, &[]);
        let mut other_version = rich_report(100);
        other_version["version"] = json!(2);
        let mut no_clock = rich_report(100);
        no_clock["clock"]["slots_per_epoch"] = json!(0);
        let mut bad_status = rich_report(100);
        bad_status["validators"][0]["status"] = json!("active_ongoing");
        let mut huge = rich_report(100);
        huge["validators"][0]["balance"] = json!(u64::MAX);
        let cases = [
            (
                other_version,
                "report version 2 is not one this server reads (1)",
            ),
            (
                no_clock,
                "1 to 3600 seconds a slot and 1 to 1024 slots an epoch",
            ),
            (huge, "a number in the report is over 2^62"),
            (bad_status, "unknown variant `active_ongoing`"),
            (json!({"version": 1}), "missing field"),
        ];
        for (body, want) in cases {
            let answer = post_report(&receiver, "validators", &key, &body);
            assert_eq!(answer.status, 400, "{kind:?} {body}");
            assert!(answer.text().contains(want), "{kind:?}: {}", answer.text());
        }
        let answer = post_report(&receiver, "validators", "not-a-key", &rich_report(100));
        assert_eq!(answer.status, 401);
        let answer = post_report(&receiver, "execution", &key, &json!({"version": 3}));
        assert_eq!(answer.status, 400, "{}", answer.text());
        let answer = receiver.get("/api/v1/machines/m1/validators", &key);
        assert_eq!(answer.status, 404, "nothing stored: {}", answer.text());
    }
}

#[test]
fn retention_purges_epochs_by_the_machines_chain_clock() {
    for kind in KINDS {
        let database = database(kind, "validator-retention");
        let key = add_key(&database, "operator", false);
        // The default retention first: its purge at start, which may run after the reports are
        // in, keeps them.
        let mut receiver = Receiver::start(&database, &[]);
        let now_epoch = (unix_now() - 1_606_824_023) / 384;
        // Three days ago, and the last finished epoch.
        for epoch in [now_epoch - 3 * 225, now_epoch - 1] {
            let answer = post_report(&receiver, "validators", &key, &rich_report(epoch));
            assert_eq!(answer.status, 200, "{}", answer.text());
        }
        assert_eq!(
            history(&receiver, &key, "m1", 1575)["validators"]["epochs"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
        // The purge runs when serve starts.
        receiver.process.stop();
        let receiver = Receiver::start_on(&database, &receiver.address, &["--retention", "1d"]);
        let epochs_kept = || -> Vec<u64> {
            history(&receiver, &key, "m1", 1575)["validators"]["epochs"]
                .as_array()
                .expect("epochs")
                .iter()
                .map(|e| e["epoch"].as_u64().expect("epoch"))
                .collect()
        };
        // It runs beside the server's answers: wait for it.
        eventually(Duration::from_secs(60), || epochs_kept().len() == 1);
        assert_eq!(epochs_kept(), [now_epoch - 1], "{kind:?}");
        let validators = &history(&receiver, &key, "m1", 1575)["validators"];
        let proposals: usize = validators["epochs"][0]["validators"]
            .as_array()
            .expect("validators")
            .iter()
            .map(|v| v["proposals"].as_array().map_or(0, Vec::len))
            .sum();
        assert_eq!(proposals, 2, "the old epoch's proposals went with it");
    }
}

/// The report the agent makes against the recorded node at the wake in `epoch` (its `--dry-run`:
/// `--once` would also send a client-stats object, which the per-minute rule turns away for the
/// rest of the minute at the second wake), sent as the agent sends it.
fn report_at_wake(beacon: &RecordedBeaconNode, epoch: u64, receiver: &Receiver, key: &str) {
    beacon.set_wake(epoch);
    beacon.stretch_clock_to_now();
    let output = nodepulse()
        .args(["run", "--dry-run"])
        .args([
            "--beacon-api",
            &beacon.url(),
            "--watch-validators",
            "0,1,2,3,4,5,6,7",
        ])
        .output()
        .expect("run the agent");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bodies: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let answer = request(
        "POST",
        &receiver.url("/api/v1/client/validators?machine=lodestar-dev"),
        &[("Content-Type", "application/json"), ("apikey", key)],
        bodies["validators"].to_string().as_bytes(),
    )
    .expect("POST answered");
    assert_eq!(answer.status, 200, "{}", answer.text());
}

#[test]
fn attestations_missed_two_epochs_in_a_row_fire_one_alert_and_resolve_when_duties_resume() {
    for kind in KINDS {
        let hook = Server::start(|_| Reply::ok(""));
        let database = database(kind, "validator-alert");
        let key = add_key(&database, "ops", false);
        let path = config(
            &format!("validator-alert-{kind:?}"),
            &only("attestations-missed", "threshold = 2"),
            &[(&hook.url("/hook"), "json")],
        );
        let receiver = Receiver::start(&database, &["--config", &path]);
        let beacon = RecordedBeaconNode::start(6);
        // Epoch 5: client B's first epoch down. One miss is not yet two in a row.
        report_at_wake(&beacon, 6, &receiver, &key);
        // Epoch 6: the second.
        report_at_wake(&beacon, 7, &receiver, &key);
        let fired = eventually(Duration::from_secs(60), || {
            statuses(&hook).contains(&"firing ops/lodestar-dev".into())
        });
        assert!(
            fired,
            "{kind:?}: no firing notification: {:?}",
            statuses(&hook)
        );
        let firing: Vec<Value> = bodies(&hook)
            .into_iter()
            .filter(|b| b["status"] == "firing")
            .collect();
        assert_eq!(
            firing.len(),
            1,
            "one notification for both validators: {firing:?}"
        );
        assert_eq!(firing[0]["rule"], "attestations-missed");
        assert_eq!(
            firing[0]["detail"], "2 validator(s) missed their attestations in epochs 5 to 6: 6, 7",
            "{kind:?}"
        );
        // Epoch 8: all attested (7 missed epoch 7 alone, one in a row).
        report_at_wake(&beacon, 9, &receiver, &key);
        let resolved = eventually(Duration::from_secs(60), || {
            statuses(&hook).contains(&"resolved ops/lodestar-dev".into())
        });
        assert!(
            resolved,
            "{kind:?}: no resolved notification: {:?}",
            statuses(&hook)
        );
    }
}

/// A mainnet-shaped report of `count` validators from index 500,000; `missed` did not attest.
fn fleet_report(epoch: u64, count: u64, missed: &[u64]) -> Value {
    let validators: Vec<Value> = (500_000..500_000 + count)
        .map(|index| {
            let attested = !missed.contains(&index);
            json!({"index": index, "status": "active", "balance": 32_001_000_000u64 + index,
                   "effective_balance": 32_000_000_000u64, "attested": attested})
        })
        .collect();
    json!({"version": 1,
           "clock": {"genesis_time": 1_606_824_023u64, "seconds_per_slot": 12, "slots_per_epoch": 32},
           "epoch": epoch, "attestations_from": "liveness", "proposals_known": true,
           "validators": validators})
}

#[test]
fn the_machine_page_shows_thousands_of_validators_problems_first_and_paged_in_a_browser() {
    let database = database(crate::common::receiver::Kind::Sqlite, "validator-page");
    let key = add_key(&database, "ops", false);
    let receiver = Receiver::start(&database, &[]);
    let now_epoch = (unix_now() - 1_606_824_023) / 384;
    let missing = [500_007, 500_140, 500_141];
    for (age, missed) in [(3, &[][..]), (2, &missing[..]), (1, &missing[..])] {
        let answer = post_report(
            &receiver,
            "validators",
            &key,
            &fleet_report(now_epoch - age, 150, missed),
        );
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    let execution = json!({"version": 1, "client_version": "Geth/v1.14.12-stable-293a300d/linux-amd64/go1.23.4",
        "chain_id": 1, "synced": false, "highest_block": 21_400_000, "head_block": 21_399_000,
        "head_age_seconds": 8, "peers": 50});
    assert_eq!(
        post_report(&receiver, "execution", &key, &execution).status,
        200
    );

    let mut browser = crate::common::browser::Browser::start("validator-page");
    let cookie = receiver.sign_in(&key);
    let (name, value) = cookie.split_once('=').expect("name=value");
    browser.set_cookie(&receiver.url("/"), name, value);
    browser.open(&receiver.url("/machines/m1"));
    let text = browser.text();
    for shown in [
        &format!(
            "Validators (150, 3 with problems) in epoch {}",
            now_epoch - 1
        )[..],
        "Page 1 of 2",
        "Geth",
        "v1.14.12-stable-293a300d",
        "syncing",
        "21399000",
        "Validators' balance (ETH)",
        "Missed attestations per epoch",
    ] {
        assert!(text.contains(shown), "{shown:?} is not on screen:\n{text}");
    }
    let first_rows = browser.eval(
        "[...document.querySelectorAll('#validators tbody tr')].slice(0, 4)\
         .map(r => r.cells[0].textContent + ' ' + r.cells[5].textContent + ' ' + r.className)",
    );
    assert_eq!(
        first_rows,
        json!([
            "500007 2 problem",
            "500140 2 problem",
            "500141 2 problem",
            "500000 0 "
        ]),
        "problems first, then by index"
    );
    let effectiveness = browser
        .eval("[...document.querySelectorAll('#validators tbody tr')][0].cells[3].textContent");
    assert_eq!(
        effectiveness,
        json!("33.3 %"),
        "one of three epochs attested"
    );
    browser.screenshot("validator-page", 1280, 1400);
    browser.open(&receiver.url("/machines/m1?validators=1"));
    let rows = browser.eval("document.querySelectorAll('#validators tbody tr').length");
    assert_eq!(rows, json!(50), "the second page holds the rest");

    browser.open(&receiver.url("/"));
    let cell = browser.eval(
        "(() => { const t = document.querySelector('#machines'); \
         const i = [...t.querySelectorAll('th')].findIndex(h => h.textContent === 'Validators with problems'); \
         return t.querySelector('tbody tr').cells[i].textContent; })()",
    );
    assert_eq!(cell, json!("3"));
    let state = browser.eval("document.querySelector('#machines tbody tr').cells[1].textContent");
    assert_eq!(
        state,
        json!("online"),
        "a machine that sends only the validator view is online"
    );
}

#[test]
fn fleet_metrics_carry_the_validator_view_per_machine_never_per_validator() {
    for kind in KINDS {
        let database = database(kind, "validator-fleet");
        let key = add_key(&database, "ops", false);
        let receiver = Receiver::start(&database, &["--fleet-metrics"]);
        let now_epoch = (unix_now() - 1_606_824_023) / 384;
        let answer = post_report(&receiver, "validators", &key, &rich_report(now_epoch - 1));
        assert_eq!(answer.status, 200, "{}", answer.text());
        let execution = json!({"version": 1, "client_version": "Nethermind/v1.30.3", "synced": true,
            "head_block": 21_400_000, "head_age_seconds": 4, "peers": 48});
        assert_eq!(
            post_report(&receiver, "execution", &key, &execution).status,
            200
        );
        // Asked as promtool asks: the classic text format.
        let text = receiver.metrics_text();
        let labels = "key=\"ops\",machine=\"m1\"";
        for line in [
            format!("nodepulse_fleet_validators{{{labels},status=\"active\"}} 2"),
            format!("nodepulse_fleet_validators{{{labels},status=\"slashed\"}} 1"),
            format!("nodepulse_fleet_validators{{{labels},status=\"exited\"}} 1"),
            format!("nodepulse_fleet_validators{{{labels},status=\"pending\"}} 1"),
            format!(
                "nodepulse_fleet_validator_epoch{{{labels}}} {}",
                now_epoch - 1
            ),
            // 412346 missed, 412347 missed and is slashed: two.
            format!("nodepulse_fleet_validator_problems{{{labels}}} 2"),
            format!("nodepulse_fleet_execution_synced{{{labels}}} 1"),
            format!("nodepulse_fleet_execution_head_block{{{labels}}} 21400000"),
            format!("nodepulse_fleet_execution_peers{{{labels}}} 48"),
        ] {
            assert!(text.contains(&line), "{kind:?}: {line} is missing:\n{text}");
        }
        assert!(
            text.contains(
                "nodepulse_fleet_execution_head_age_seconds{key=\"ops\",machine=\"m1\"} "
            )
        );
        assert!(!text.contains("412345"), "no series per validator");
        let (valid, said) = crate::serve::promtool(&text);
        assert!(valid, "{kind:?}: {said}");
    }
}

#[test]
fn two_instances_on_one_postgresql_share_the_view_and_a_kill_loses_nothing_committed() {
    let database = database(crate::common::receiver::Kind::Postgres, "validator-two");
    let key = add_key(&database, "ops", false);
    let mut first = Receiver::start(&database, &[]);
    let second = Receiver::start(&database, &[]);
    let now_epoch = (unix_now() - 1_606_824_023) / 384;
    assert_eq!(
        post_report(&first, "validators", &key, &rich_report(now_epoch - 2)).status,
        200
    );
    // The next epoch through the other instance, and the first one again (an agent that retried).
    assert_eq!(
        post_report(&second, "validators", &key, &rich_report(now_epoch - 1)).status,
        200
    );
    assert_eq!(
        post_report(&second, "validators", &key, &rich_report(now_epoch - 2)).status,
        200
    );
    // kill -9 the first: what it answered 200 for is in the database.
    let _ = first.process.0.kill();
    let _ = first.process.0.wait();
    let epochs: Vec<u64> = history(&second, &key, "m1", 10)["validators"]["epochs"]
        .as_array()
        .expect("epochs")
        .iter()
        .map(|e| e["epoch"].as_u64().expect("epoch"))
        .collect();
    assert_eq!(
        epochs,
        [now_epoch - 2, now_epoch - 1],
        "each epoch once, from either instance"
    );
}
