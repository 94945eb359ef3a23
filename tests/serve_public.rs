//! `nodepulse serve` as a public endpoint: what one sender, without a key, can cost another.
//! Every store test runs against SQLite and the real PostgreSQL.

mod common;

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::receiver::{KINDS, Receiver, add_key, database};
use common::stream::{StreamClient, connected, interval, wrapped};
use common::{eventually, fixture};
use serde_json::{Value, json};

const GOOD: &str = "12D3KooWGoodGoodGoodGoodGoodGoodGoodGoodGoodGoodGo1";
const EVIL: &str = "12D3KooWEvilEvilEvilEvilEvilEvilEvilEvilEvilEvilEv2";

fn ws(receiver: &Receiver, path: &str) -> String {
    format!("ws://{}{path}", receiver.address)
}

/// The value of the first `/metrics` line that starts with `line_start`.
fn metric(receiver: &Receiver, line_start: &str) -> f64 {
    receiver
        .get("/metrics", "")
        .text()
        .lines()
        .find(|line| line.starts_with(line_start))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

/// How many messages of `peer_id` are stored, once `ready` holds for that count.
fn stored_messages(
    receiver: &Receiver,
    key: &str,
    peer_id: &str,
    ready: impl Fn(u64) -> bool,
) -> u64 {
    let mut count = 0;
    let arrived = eventually(Duration::from_secs(60), || {
        let stats = receiver.data(&format!("/nodes/log_stats?peer_id={peer_id}"), key);
        count = stats
            .as_array()
            .map(|rows| rows.iter().filter_map(|row| row["qty"].as_u64()).sum())
            .unwrap_or(0);
        ready(count)
    });
    assert!(arrived, "{peer_id}: {count} messages stored");
    count
}

#[test]
fn a_poisoned_request_among_31_at_once_costs_only_itself() {
    // Lighthouse's system object, as its reporter sends it.
    let bodies: Value = serde_json::from_slice(&fixture("reporters/lighthouse-beacon-node.json"))
        .expect("the reporter fixture is JSON");
    let system = bodies[1].clone();
    assert_eq!(system["process"], "system");
    for kind in KINDS {
        let database = database(kind, "public-poisoned-request");
        let key = add_key(&database, "operator", false);
        let receiver = Arc::new(Receiver::start(&database, &[]));
        let start = Arc::new(Barrier::new(31));
        let senders: Vec<_> = (0..31)
            .map(|index| {
                let (receiver, start, key) =
                    (Arc::clone(&receiver), Arc::clone(&start), key.clone());
                let mut body = system.clone();
                if index == 15 {
                    // PostgreSQL's text cannot hold it: the one request refused, and said why.
                    body["misc_os"] = json!("lin\u{0}ux");
                }
                thread::spawn(move || {
                    start.wait();
                    let answer = receiver.post(
                        &format!("/api/v1/stats/{key}/rig-{index}"),
                        body.to_string().as_bytes(),
                    );
                    (answer.status, answer.text())
                })
            })
            .collect();
        for (index, sender) in senders.into_iter().enumerate() {
            let (status, text) = sender.join().expect("sender thread");
            if index == 15 {
                assert_eq!(status, 400, "{kind:?}: {text}");
                assert!(
                    text.contains("object 0: `misc_os`") && text.contains("NUL"),
                    "{kind:?}: {text}"
                );
            } else {
                assert_eq!(status, 200, "{kind:?} rig-{index}: {text}");
            }
        }
        let machines = receiver.data("/api/v1/machines", &key);
        let names: Vec<&str> = machines
            .as_array()
            .expect("machines")
            .iter()
            .filter_map(|machine| machine["machine"].as_str())
            .collect();
        assert_eq!(names.len(), 30, "{kind:?}: {names:?}");
        assert!(!names.contains(&"rig-15"), "{kind:?}");
    }
}

#[test]
fn a_poisoning_stream_beside_a_good_node_costs_the_good_node_nothing() {
    for kind in KINDS {
        let database = database(kind, "public-poisoning-stream");
        let key = add_key(&database, "reader", false);
        let receiver = Receiver::start(&database, &["--db-save-latency", "50ms"]);
        let mut good = StreamClient::connect(&ws(&receiver, "/submit"));
        let mut evil = StreamClient::connect(&ws(&receiver, "/submit"));
        let mut name = connected("evil\u{0}node", EVIL);
        name["chain"] = json!("Pol\u{0}kadot");
        assert!(evil.send(&wrapped(1, name)));
        assert!(good.send(&wrapped(1, connected("good", GOOD))));
        let mut poisoned_state = interval(7, 1);
        poisoned_state["best"] = json!("0x\u{0}");
        for height in 1..=300 {
            assert!(good.send(&wrapped(1, interval(height + 10, 5))));
            // Interleaved, so that every batch holds the good node's messages and these.
            let poison = match height % 3 {
                0 => json!({"msg": "evil\u{0}msg", "x": 1}),
                1 => json!({"msg": "txpool.import", "target": "tx\u{0}pool", "ready": 1}),
                _ => poisoned_state.clone(),
            };
            assert!(evil.send(&wrapped(1, poison)));
        }
        good.close();
        evil.close();
        // All the good node sent: its system.connected and 300 intervals.
        assert_eq!(
            stored_messages(&receiver, &key, GOOD, |count| count >= 301),
            301,
            "{kind:?}"
        );
        // The poisoning node's messages with a storable `msg` are kept, the character replaced;
        // the 100 with NUL in `msg` itself are refused alone and counted as malformed.
        assert_eq!(
            stored_messages(&receiver, &key, EVIL, |count| count >= 201),
            201,
            "{kind:?}"
        );
        let nodes = receiver.data("/nodes", &key);
        let evil_node = nodes
            .as_array()
            .and_then(|nodes| nodes.iter().find(|node| node["peer_id"] == EVIL))
            .unwrap_or_else(|| panic!("{kind:?}: no {EVIL} in {nodes}"));
        assert_eq!(evil_node["name"], "evil\u{FFFD}node", "{kind:?}");
        assert_eq!(evil_node["chain"], "Pol\u{FFFD}kadot", "{kind:?}");
        assert_eq!(
            metric(
                &receiver,
                "nodepulse_serve_stream_refused_total{reason=\"malformed\"}"
            ),
            100.0,
            "{kind:?}"
        );
        assert_eq!(
            metric(
                &receiver,
                "nodepulse_serve_stream_refused_total{reason=\"unstorable\"}"
            ),
            0.0,
            "{kind:?}"
        );
    }
}
