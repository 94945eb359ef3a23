//! The validator view against a real beacon node's recorded answers: Lodestar 1.5.1 running a dev
//! chain with two validator clients, the one with validators 6 and 7 stopped for two epochs
//! (`fixtures/beacon-api/lodestar-1.5.1/README.md`). The watcher walks the recorded epochs with the
//! clock of each recording; the binary's `--dry-run` runs on the real clock, stretched by the node.

use std::collections::BTreeMap;

use nodepulse::agent::beacon::BeaconApi;
use nodepulse::agent::duties::{DutyWatcher, ValidatorId, When};
use nodepulse::wire::validators::{AttestationSource, EpochReport, Status};
use serde_json::Value;

use crate::common::beacon::RecordedBeaconNode;
use crate::common::{nodepulse, run, stderr, stdout, temp_dir};

/// Validator client B (validators 6 and 7) was stopped for exactly these epochs.
const STOPPED: [u64; 2] = [5, 6];
const CLIENT_B: [u64; 2] = [6, 7];

/// The attestations missed, by epoch, as the recording's README works them out: B's two
/// validators while it was down, and validator 7 once more in epoch 7, whose attestation slot came
/// before B was up again (B restarted 0.3 s into the epoch and published 7's block for slot 56 at
/// 1.6 s, too late for the slot's attestation).
fn missed_attestations(epoch: u64) -> &'static [u64] {
    match epoch {
        5 | 6 => &CLIENT_B,
        7 => &[7],
        _ => &[],
    }
}

/// The proposals missed (slot, validator): the empty slots of epoch 6, all B's (epoch 5 gave B no
/// proposer duty).
const MISSED_PROPOSALS: [(u64, u64); 4] = [(48, 6), (51, 6), (53, 7), (55, 6)];

fn all_eight() -> Vec<ValidatorId> {
    (0..8).map(ValidatorId::Index).collect()
}

fn watcher(node: &RecordedBeaconNode) -> DutyWatcher {
    let url = node.url().parse().expect("a URL");
    let api = BeaconApi::new(url, std::time::Duration::from_secs(10)).expect("a client");
    DutyWatcher::new(api, all_eight())
}

/// Every epoch's report, walking the recorded wakes in order as `run` would.
async fn walk(node: &RecordedBeaconNode) -> BTreeMap<u64, (EpochReport, usize)> {
    let watcher = watcher(node);
    let mut reports = BTreeMap::new();
    for epoch in node.recording.wake_epochs() {
        node.set_wake(epoch);
        let asked_before = node.server.requests().len();
        let report = watcher
            .observe(node.recording.wake_time(epoch), When::Due)
            .await
            .unwrap_or_else(|err| panic!("wake in epoch {epoch}: {err}"));
        let requests = node.server.requests().len() - asked_before;
        // The next cycle in the same epoch finds nothing due and asks nothing.
        let asked = node.server.requests().len();
        let again = watcher
            .observe(node.recording.wake_time(epoch), When::Due)
            .await
            .unwrap_or_else(|err| panic!("again in epoch {epoch}: {err}"));
        assert_eq!(again, None, "epoch {epoch} is reported once");
        assert_eq!(
            node.server.requests().len(),
            asked,
            "no request when nothing is due"
        );
        if let Some(report) = report {
            assert_eq!(
                report.epoch + 1,
                epoch,
                "liveness reports the previous epoch"
            );
            reports.insert(report.epoch, (report, requests));
        }
    }
    reports
}

#[tokio::test(flavor = "current_thread")]
async fn the_stopped_client_misses_exactly_its_epochs_and_no_other_validator_does() {
    let node = RecordedBeaconNode::start(2);
    let reports = walk(&node).await;
    let first = *node.recording.wake_epochs().first().expect("wakes");
    assert_eq!(
        reports.keys().copied().collect::<Vec<_>>(),
        (first - 1..first - 1 + reports.len() as u64).collect::<Vec<_>>(),
        "one report per epoch, none skipped"
    );
    for (epoch, (report, _)) in &reports {
        assert_eq!(
            report.attestations_from,
            Some(AttestationSource::Liveness),
            "Lodestar 1.5.1 has no rewards API"
        );
        assert_eq!(report.validators.len(), 8, "epoch {epoch}");
        for validator in &report.validators {
            assert_eq!(validator.status, Status::Active);
            assert!(
                validator.effective_balance == 32_000_000_000,
                "{validator:?}"
            );
            let missed = missed_attestations(*epoch).contains(&validator.index);
            assert_eq!(
                validator.attested,
                Some(!missed),
                "validator {} in epoch {epoch}",
                validator.index
            );
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn proposals_of_the_stopped_client_are_missed_and_the_others_proposed() {
    let node = RecordedBeaconNode::start(2);
    let reports = walk(&node).await;
    let mut seen = 0;
    let mut missed = Vec::new();
    let (first, (report, _)) = reports.first_key_value().expect("reports");
    assert!(
        !report.proposals_known,
        "epoch {first} ran before the watcher began, and Lodestar answers no past duties"
    );
    for (epoch, (report, _)) in reports.iter().skip(1) {
        assert!(
            report.proposals_known,
            "duties kept from when epoch {epoch} ran"
        );
        for validator in &report.validators {
            for proposal in &validator.proposals {
                seen += 1;
                if proposal.missed() {
                    missed.push((proposal.slot, validator.index));
                }
                assert_eq!(proposal.slot / 8, *epoch);
                if let Some(root) = &proposal.block_root {
                    assert!(root.starts_with("0x") && root.len() == 66, "{root}");
                }
            }
        }
    }
    missed.sort_unstable();
    assert_eq!(missed, MISSED_PROPOSALS);
    // Eight validators share eight slots an epoch: every slot is someone's duty.
    assert_eq!(
        seen,
        8 * (reports.len() - 1),
        "every slot of every epoch after the first"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn requests_per_epoch_do_not_grow_with_the_validators() {
    let node = RecordedBeaconNode::start(2);
    let reports = walk(&node).await;
    for (epoch, (report, requests)) in reports.iter().skip(1) {
        let proposals: usize = report.validators.iter().map(|v| v.proposals.len()).sum();
        // Next epoch's and this epoch's duties, the states, liveness, sync duties, and one header per
        // proposal: nothing per validator.
        assert!(
            *requests <= 5 + proposals,
            "epoch {epoch}: {requests} requests for {proposals} proposals"
        );
    }
}

#[test]
fn dry_run_reports_the_last_finished_epoch_as_far_as_the_node_answers() {
    let node = RecordedBeaconNode::start(STOPPED[1] + 1);
    node.stretch_clock_to_now();
    let output = run(nodepulse().args([
        "run",
        "--dry-run",
        "--beacon-api",
        &node.url(),
        "--watch-validators",
        "0,1,2,3,4,5,6,7",
    ]));
    assert!(output.status.success(), "{}", stderr(&output));
    let bodies: Value = serde_json::from_str(&stdout(&output)).expect("one JSON object");
    let report = &bodies["validators"];
    assert_eq!(report["version"], 1);
    assert_eq!(report["epoch"], STOPPED[1]);
    assert_eq!(report["attestations_from"], "liveness");
    // Lodestar answers proposer duties only for the current and next epoch.
    assert_eq!(report["proposals_known"], false);
    // The wake was at slot 62: the rest of epoch 7 and all of epoch 8 are the watched ones' duty.
    let upcoming: Vec<u64> = report["upcoming_proposals"]
        .as_array()
        .expect("upcoming proposals")
        .iter()
        .map(|p| p["slot"].as_u64().expect("slot"))
        .collect();
    assert_eq!(upcoming, (63..=71).collect::<Vec<u64>>());
    let attested: Vec<(u64, bool)> = report["validators"]
        .as_array()
        .expect("validators")
        .iter()
        .map(|v| {
            (
                v["index"].as_u64().expect("index"),
                v["attested"].as_bool().expect("attested"),
            )
        })
        .collect();
    let want: Vec<(u64, bool)> = (0..8).map(|i| (i, !CLIENT_B.contains(&i))).collect();
    assert_eq!(attested, want);
    assert_eq!(
        bodies["client_stats"].as_array().map(Vec::len),
        Some(1),
        "the system object, as always"
    );
}

#[test]
fn watched_validators_are_checked_with_their_place() {
    let dir = temp_dir("watch-validators");
    let file = dir.join("validators.txt");
    std::fs::write(&file, "# ours\n12\n0xabc\n").expect("write");
    let cases: [(&[&str], &str); 4] = [
        (
            &["--beacon-api", "http://127.0.0.1:9"],
            "--beacon-api needs the validators to watch",
        ),
        (
            &["--watch-validators", "1"],
            "--watch-validators needs the beacon node's REST API",
        ),
        (
            &[
                "--beacon-api",
                "http://127.0.0.1:9",
                "--watch-validators",
                "1,x2",
            ],
            "entry 2: \"x2\" is neither a validator index nor a public key",
        ),
        (
            &[
                "--beacon-api",
                "http://127.0.0.1:9",
                "--watch-validators",
                file.to_str().expect("path"),
            ],
            "validators.txt, line 3: \"0xabc\" is not a validator public key",
        ),
    ];
    for (args, want) in cases {
        let output = run(nodepulse().args(["run", "--dry-run"]).args(args));
        assert!(!output.status.success(), "{args:?}");
        assert!(
            stderr(&output).contains(want),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn the_execution_client_reports_what_it_answers_and_leaves_out_what_it_refuses() {
    let anvil = crate::common::nodes::recorded_anvil();
    let recording: Value =
        serde_json::from_slice(&crate::common::fixture("execution-rpc/anvil-1.7.1.json"))
            .expect("JSON");
    let head_time = recording["exchanges"]
        .as_array()
        .and_then(|exchanges| {
            exchanges
                .iter()
                .find(|x| x["request"]["method"] == "eth_getBlockByNumber")
        })
        .and_then(|x| x["answer"]["result"]["timestamp"].as_str())
        .and_then(|hex| u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok())
        .expect("the recorded head's timestamp");
    let unix_now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs()
    };
    let before = unix_now();
    let output = run(nodepulse().args(["run", "--dry-run", "--execution-rpc", &anvil.url("")]));
    let after = unix_now();
    assert!(output.status.success(), "{}", stderr(&output));
    let bodies: Value = serde_json::from_str(&stdout(&output)).expect("one JSON object");
    let execution = &bodies["execution"];
    assert_eq!(execution["version"], 1);
    assert_eq!(execution["client_version"], "anvil/v1.7.1");
    assert_eq!(execution["chain_id"], 31337);
    assert_eq!(execution["synced"], true);
    assert_eq!(execution["head_block"], 0x32);
    let age = execution["head_age_seconds"].as_u64().expect("head age");
    assert!(
        (before - head_time..=after - head_time).contains(&age),
        "{age}"
    );
    assert!(
        execution.get("peers").is_none(),
        "Anvil has no net_peerCount: {execution}"
    );
    assert!(bodies["validators"].is_null());
}

#[test]
fn an_execution_client_that_answers_nothing_gives_no_report_and_says_so() {
    let output = run(nodepulse().args([
        "run",
        "--dry-run",
        "--execution-rpc",
        &crate::common::dead_url(),
    ]));
    assert!(output.status.success(), "{}", stderr(&output));
    let bodies: Value = serde_json::from_str(&stdout(&output)).expect("one JSON object");
    assert!(bodies["execution"].is_null(), "{bodies}");
    assert!(
        stderr(&output).contains("the execution client answered nothing"),
        "{}",
        stderr(&output)
    );
}

/// `run` with `--listen` and nothing else to send to: its `/metrics` once the epoch is reported.
fn listened_metrics(extra: &[&str]) -> String {
    let node = RecordedBeaconNode::start(7);
    node.stretch_clock_to_now();
    let port = crate::common::free_port();
    let mut agent = crate::common::Running::spawn(
        nodepulse()
            .args([
                "run",
                "--beacon-api",
                &node.url(),
                "--watch-validators",
                "0,1,2,3,4,5,6,7",
            ])
            .args(["--listen", &format!("127.0.0.1:{port}"), "--interval", "1s"])
            .args(extra),
    );
    let url = format!("http://127.0.0.1:{port}/metrics");
    let mut text = String::new();
    let reported = crate::common::eventually(std::time::Duration::from_secs(60), || {
        text = crate::common::http_get(&url)
            .map(|(_, body)| body)
            .unwrap_or_default();
        text.contains("nodepulse_validator_reported_epoch 6")
    });
    agent.stop();
    assert!(
        reported,
        "no report on /metrics:\n{text}\n{}",
        agent.stderr()
    );
    text
}

#[test]
fn listen_counts_the_validators_and_only_when_asked_shows_each() {
    let text = listened_metrics(&[]);
    for line in [
        "nodepulse_validators{status=\"active\"} 8",
        "nodepulse_validator_attestations_total{outcome=\"attested\"} 6",
        "nodepulse_validator_attestations_total{outcome=\"missed\"} 2",
    ] {
        assert!(text.contains(line), "{line} is missing:\n{text}");
    }
    assert!(
        !text.contains("nodepulse_validator_balance_gwei{"),
        "{text}"
    );
    let text = listened_metrics(&["--per-validator-metrics", "true"]);
    for line in [
        "nodepulse_validator_attested{validator=\"6\"} 0",
        "nodepulse_validator_attested{validator=\"5\"} 1",
        "nodepulse_validator_balance_gwei{validator=\"0\"} ",
    ] {
        assert!(text.contains(line), "{line} is missing:\n{text}");
    }
}

/// A node with the rewards API, answering from the specification's shapes
/// (`fixtures/beacon-api/spec/`) on mainnet's clock: epoch 98's rewards, 1001 on the sync
/// committee, 1002 due to propose at slot 3141 (left empty), slot 3139 empty and 1001's signature
/// missing from the block at slot 3150.
fn node_with_rewards() -> crate::common::Server {
    use crate::common::{Reply, fixture};
    let entries: Vec<Value> = [1001, 1002, 1003]
        .iter()
        .map(|index| {
            serde_json::json!({"index": index.to_string(), "balance": "32011000000",
            "status": "active_ongoing", "validator": {"pubkey": format!("0x{index:096x}"),
            "withdrawal_credentials": "0x01", "effective_balance": "32000000000", "slashed": false,
            "activation_eligibility_epoch": "0", "activation_epoch": "0",
            "exit_epoch": "18446744073709551615", "withdrawable_epoch": "18446744073709551615"}})
        })
        .collect();
    let states =
        serde_json::json!({"execution_optimistic": false, "finalized": false, "data": entries});
    crate::common::Server::start(move |request| {
        let path = request.path.as_str();
        let json = |body: Vec<u8>| Reply::ok(body).header("Content-Type", "application/json");
        let missing = || Reply::status(404, r#"{"code":404,"message":"Block not found"}"#);
        match (request.method.as_str(), path) {
            ("GET", "/eth/v1/beacon/genesis") => json(br#"{"data":{"genesis_time":"1606824023","genesis_validators_root":"0x4b36","genesis_fork_version":"0x00000000"}}"#.to_vec()),
            ("GET", "/eth/v1/config/spec") => json(br#"{"data":{"SECONDS_PER_SLOT":"12","SLOTS_PER_EPOCH":"32"}}"#.to_vec()),
            ("GET", p) if p.starts_with("/eth/v1/validator/duties/proposer/") => {
                let epoch: u64 = p.rsplit('/').next().and_then(|e| e.parse().ok()).unwrap_or(0);
                json(serde_json::json!({"dependent_root": "0x00", "execution_optimistic": false, "data": [
                    {"pubkey": format!("0x{:096x}", 1002), "validator_index": "1002", "slot": (epoch * 32 + 5).to_string()}
                ]}).to_string().into_bytes())
            }
            ("POST", "/eth/v1/beacon/states/head/validators") => json(states.to_string().into_bytes()),
            ("POST", "/eth/v1/beacon/rewards/attestations/98") => json(fixture("beacon-api/spec/rewards-attestations-98.json")),
            ("POST", "/eth/v1/validator/duties/sync/98") => json(fixture("beacon-api/spec/duties-sync-98.json")),
            ("POST", "/eth/v1/beacon/rewards/sync_committee/3139") => missing(),
            ("POST", "/eth/v1/beacon/rewards/sync_committee/3150") => json(
                String::from_utf8(fixture("beacon-api/spec/rewards-sync-committee.json"))
                    .expect("text")
                    .replace("\"21952\"", "\"-21952\"")
                    .into_bytes(),
            ),
            ("POST", p) if p.starts_with("/eth/v1/beacon/rewards/sync_committee/") => {
                json(fixture("beacon-api/spec/rewards-sync-committee.json"))
            }
            ("GET", "/eth/v1/beacon/headers/3141") => missing(),
            _ => Reply::status(404, format!(r#"{{"code":404,"message":"no route {path}"}}"#)),
        }
    })
}

#[tokio::test(flavor = "current_thread")]
async fn with_the_rewards_api_an_epoch_is_reported_once_the_next_has_ended_with_each_vote() {
    let node = node_with_rewards();
    let api = BeaconApi::new(
        node.url("").parse().expect("URL"),
        std::time::Duration::from_secs(10),
    )
    .expect("client");
    let watched = [1001, 1002, 1003].map(ValidatorId::Index).to_vec();
    let watcher = DutyWatcher::new(api, watched);
    // Slot 10 of epoch 100: epoch 98's inclusion window closed with epoch 99.
    let now = std::time::UNIX_EPOCH
        + std::time::Duration::from_secs(1_606_824_023 + (100 * 32 + 10) * 12);
    let report = watcher
        .observe(now, When::Due)
        .await
        .expect("observed")
        .expect("epoch 98 is due");
    assert_eq!(report.epoch, 98);
    assert_eq!(report.attestations_from, Some(AttestationSource::Rewards));
    let by_index = |index: u64| {
        report
            .validators
            .iter()
            .find(|v| v.index == index)
            .unwrap_or_else(|| panic!("validator {index}"))
    };
    let votes = |index: u64| by_index(index).votes.expect("votes");
    assert_eq!(by_index(1001).attested, Some(true));
    assert_eq!(
        (votes(1001).head, votes(1001).target, votes(1001).source),
        (true, true, true)
    );
    assert_eq!(votes(1001).reward, 2856 + 5320 + 2862);
    assert_eq!(by_index(1002).attested, Some(false));
    assert_eq!(
        (votes(1002).head, votes(1002).target, votes(1002).source),
        (false, false, false)
    );
    assert_eq!(votes(1002).reward, -5320 - 2862);
    assert_eq!(
        by_index(1003).attested,
        Some(true),
        "included with the wrong head"
    );
    assert!(!votes(1003).head && votes(1003).target);
    // Past duties answered (this node keeps them): 1002's slot stayed empty.
    assert!(report.proposals_known);
    assert_eq!(by_index(1002).proposals.len(), 1);
    assert!(by_index(1002).proposals[0].missed());
    assert_eq!(by_index(1002).proposals[0].slot, 98 * 32 + 5);
    // 32 slots: one empty, one block without 1001's signature, 30 with it.
    let sync = by_index(1001).sync_committee.expect("a member");
    assert_eq!((sync.participated, sync.missed), (Some(30), Some(1)));
    assert_eq!(by_index(1002).sync_committee, None);
    // The same moment again: nothing new is due.
    assert_eq!(
        watcher.observe(now, When::Due).await.expect("observed"),
        None
    );
}

#[test]
fn check_says_which_routes_the_node_answers_and_what_it_refused() {
    let node = RecordedBeaconNode::start(7);
    node.stretch_clock_to_now();
    let output = run(nodepulse().args([
        "check",
        "--beacon-api",
        &node.url(),
        "--watch-validators",
        "0,1,2,3,4,5,6,7",
    ]));
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for line in [
        "answers GET /eth/v1/beacon/genesis and /config/spec: genesis ",
        "no      POST /eth/v1/beacon/states/head/validators: HTTP 404: Route POST:/eth/v1/beacon/states/head/validators not found",
        "answers GET /eth/v1/beacon/states/head/validators?id=...: 8 of the 8 watched validators known",
        "answers GET /eth/v1/validator/duties/proposer/7: 8 duties",
        "no      GET /eth/v1/validator/duties/proposer/6: HTTP 500: Requested epoch 6 must equal current 7 or next epoch 8",
        "no      POST /eth/v1/beacon/rewards/attestations/5: HTTP 404",
        "no      POST /eth/v1/validator/liveness/6: HTTP 404",
        "answers GET /eth/v1/validator/liveness?epoch=6&indices=...: 8 validators",
        "no      POST /eth/v1/validator/duties/sync/7: HTTP 500: Empty SyncCommitteeCache",
    ] {
        assert!(text.contains(line), "{line:?} is missing:\n{text}");
    }
}

#[test]
fn a_receiver_answering_500_gets_the_same_epoch_report_again() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let node = RecordedBeaconNode::start(7);
    node.stretch_clock_to_now();
    let refused = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = std::sync::Arc::clone(&refused);
    let receiver = crate::common::Server::start(move |request| {
        let first_report = request.path.starts_with("/api/v1/client/validators")
            && seen.fetch_add(1, Ordering::SeqCst) == 0;
        if first_report {
            crate::common::Reply::status(
                500,
                r#"{"status":"ERROR: the database is unavailable","data":null}"#,
            )
        } else {
            crate::common::Reply::ok("")
        }
    });
    let output = run(nodepulse()
        .args([
            "run",
            "--once",
            "--stats-base-url",
            &receiver.url(""),
            "--api-key",
            "k3y",
            "--machine",
            "m",
        ])
        .args([
            "--beacon-api",
            &node.url(),
            "--watch-validators",
            "0,1,2,3,4,5,6,7",
        ]));
    assert!(output.status.success(), "{}", stderr(&output));
    let reports: Vec<Value> = receiver
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/client/validators"))
        .map(|r| serde_json::from_slice(&r.body).expect("JSON"))
        .collect();
    assert_eq!(reports.len(), 2, "refused once, then sent again");
    assert_eq!(reports[0], reports[1]);
    assert_eq!(reports[1]["epoch"], 6);
    assert!(
        stderr(&output).contains("the database is unavailable"),
        "{}",
        stderr(&output)
    );
}
