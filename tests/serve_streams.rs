//! `nodepulse serve` taking telemetry streams over WebSocket: Substrate frames in both forms (as
//! sc-telemetry and substrate-telemetry's shard know them), the Starknet stream of seed 002, and
//! nodepulse's own agent in either format; every query; purge against `/audit`; every limit.
//! Every store test runs against SQLite and the real PostgreSQL.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::add_key;
use crate::common::nodes::{GENESIS, PEER_ID, starknet_node, substrate_node};
use crate::common::receiver::{KINDS, Kind, Receiver, database};
use crate::common::stream::{
    StreamClient, block_import, connected, finalized, flat, grandpa, interval, masked_text_frame,
    network_state, raw_upgrade, txpool, wrapped,
};
use crate::common::{eventually, nodepulse, run, stderr};
use serde_json::{Value, json};

const ALICE: &str = "12D3KooWAliceAliceAliceAliceAliceAliceAliceAliceAli1";
const BOB: &str = "12D3KooWBobBobBobBobBobBobBobBobBobBobBobBobBobBob22";
const CAROL: &str = "12D3KooWCarolCarolCarolCarolCarolCarolCarolCarolCa3";

fn ws(receiver: &Receiver, path: &str) -> String {
    format!("ws://{}{path}", receiver.address)
}

/// The answer's `data`, once `ready` holds for it (stream writes are batched).
fn data_when(receiver: &Receiver, path: &str, key: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    let arrived = eventually(Duration::from_secs(60), || {
        last = receiver.rows(path, key);
        ready(&last)
    });
    assert!(arrived, "GET {path} never got there; last answer: {last}");
    last
}

/// The databases holding `database`'s stream messages: PostgreSQL's one, or SQLite's file and
/// its hours' files beside it.
fn message_files(database: &str) -> Vec<String> {
    let mut urls = vec![database.to_owned()];
    if let Some(path) = database.strip_prefix("sqlite://") {
        let hours = std::fs::read_dir(format!("{path}-messages")).expect("the hours' folder");
        for entry in hours {
            let path = entry.expect("an entry").path();
            if path.extension().is_some_and(|extension| extension == "db") {
                urls.push(format!("sqlite://{}", path.display()));
            }
        }
        assert!(urls.len() > 1, "no hour's file beside {database}");
    }
    urls
}

fn node<'a>(nodes: &'a Value, peer_id: &str) -> &'a Value {
    nodes
        .as_array()
        .and_then(|nodes| {
            nodes
                .iter()
                .find(|node| node["peer_id"] == peer_id || node["nodeId"] == peer_id)
        })
        .unwrap_or_else(|| panic!("no node {peer_id} in {nodes}"))
}

fn has_node(nodes: &Value, peer_id: &str) -> bool {
    nodes.as_array().is_some_and(|nodes| {
        nodes
            .iter()
            .any(|node| node["peer_id"] == peer_id || node["nodeId"] == peer_id)
    })
}

#[test]
fn substrate_nodes_in_both_forms_are_kept_and_answered() {
    for kind in KINDS {
        let database = database(kind, "streams-substrate");
        let key = add_key(&database, "reader", false);
        let receiver = Receiver::start(&database, &[]);

        // Two nodes on one connection in the wrapped form, as a shard multiplexes them...
        let mut shard = StreamClient::connect(&ws(&receiver, "/submit"));
        // ...where a message for an id that has not connected is ignored and counted.
        assert!(shard.send(&wrapped(3, interval(100, 1))));
        assert!(shard.send(&wrapped(1, connected("alice", ALICE))));
        assert!(shard.send(&wrapped(2, connected("bob", BOB))));
        for height in 1_000..1_003 {
            assert!(shard.send(&wrapped(1, block_import(height))));
            assert!(shard.send(&wrapped(1, interval(height, 12))));
            assert!(shard.send(&wrapped(2, interval(height - 500, 7))));
        }
        assert!(shard.send(&wrapped(1, finalized(1_001))));
        assert!(shard.send(&wrapped(1, grandpa(1_001))));
        assert!(shard.send(&wrapped(1, txpool(4))));
        assert!(shard.send(&wrapped(
            1,
            network_state(ALICE, &[(BOB, 50, true), (CAROL, -200, false)])
        )));
        assert!(shard.send(&wrapped(2, network_state(BOB, &[(ALICE, 75, true)]))));
        // ...and one node alone in the flat form, sent as binary frames.
        let mut alone = StreamClient::connect(&ws(&receiver, "/submit"));
        assert!(
            alone.send_message(tokio_tungstenite::tungstenite::Message::binary(
                flat(connected("carol", CAROL)).to_string().into_bytes()
            ))
        );
        assert!(alone.send(&flat(interval(2_000, 30))));
        alone.close();

        let nodes = data_when(&receiver, "/nodes", &key, |nodes| {
            has_node(nodes, ALICE)
                && has_node(nodes, BOB)
                && node(nodes, CAROL)["connected"] == false
        });
        let alice = node(&nodes, ALICE);
        assert_eq!(alice["name"], "alice");
        assert_eq!(alice["chain"], "Polkadot");
        assert_eq!(alice["genesis_hash"], GENESIS);
        assert_eq!(alice["implementation"], "Parity Polkadot");
        assert_eq!(alice["version"], "1.15.2-7c4a5b3a6a0");
        assert_eq!(alice["authority"], true);
        assert_eq!(alice["startup_time"], 1_764_410_000_000_i64);
        assert_eq!(alice["audit"], false);
        assert!(
            alice.get("ip").is_none(),
            "node addresses are hidden by default: {alice}"
        );
        let created = alice["connected_at"].as_str().expect("a time");
        assert_eq!(
            created.len(),
            "2026-11-29T10:00:00.123456".len(),
            "{created}"
        );
        assert_eq!(node(&nodes, CAROL)["format"], "substrate");

        let logs = data_when(
            &receiver,
            &format!("/nodes/logs?peer_id={ALICE}"),
            &key,
            |logs| logs.as_array().is_some_and(|logs| logs.len() == 11),
        );
        // Newest first; each as the node sent it.
        assert_eq!(logs[0]["msg"], "system.network_state");
        assert_eq!(logs[0]["peer_id"], ALICE);
        assert_eq!(logs[10]["msg"], "system.connected");
        assert_eq!(logs[10]["logs"], connected("alice", ALICE));
        assert_eq!(
            logs[0]["logs"],
            network_state(ALICE, &[(BOB, 50, true), (CAROL, -200, false)])
        );
        // Stored without the `msg` its column keeps, put back when read.
        let stored: Vec<String> = crate::common::store_runtime().block_on(async {
            sqlx::any::install_default_drivers();
            let mut stored = Vec::new();
            for url in message_files(&database) {
                let pool = sqlx::AnyPool::connect(&url).await.expect("the database");
                let logs: Vec<String> = sqlx::query_scalar("SELECT log FROM stream_logs")
                    .fetch_all(&pool)
                    .await
                    .expect("the messages");
                stored.extend(logs);
                pool.close().await;
            }
            stored
        });
        assert!(
            stored.len() >= 11 && stored.iter().all(|log| !log.contains(r#""msg""#)),
            "{stored:?}"
        );
        let imports = receiver.rows(
            &format!("/nodes/logs?peer_id={ALICE}&msg=block.import&limit=2"),
            &key,
        );
        assert_eq!(imports.as_array().map(Vec::len), Some(2));
        assert_eq!(imports[0]["logs"]["height"], 1_002);
        assert_eq!(imports[1]["logs"]["height"], 1_001);
        let pool = receiver.rows(&format!("/nodes/logs?peer_id={ALICE}&target=txpool"), &key);
        assert_eq!(pool.as_array().map(Vec::len), Some(1), "{pool}");
        let future = receiver.rows(
            &format!("/nodes/logs?peer_id={ALICE}&start_time=2999-01-01T00:00:00"),
            &key,
        );
        assert_eq!(future, json!([]));
        let past = receiver.rows(
            &format!("/nodes/logs?peer_id={ALICE}&end_time=2000-01-01T00:00:00"),
            &key,
        );
        assert_eq!(past, json!([]));
        let bad = receiver.get(
            &format!("/nodes/logs?peer_id={ALICE}&start_time=yesterday"),
            &key,
        );
        assert_eq!(bad.status, 400);
        assert!(bad.error().contains("start_time"), "{}", bad.error());
        assert_eq!(
            receiver.get("/nodes/logs", &key).status,
            400,
            "peer_id is required"
        );

        let stats = receiver.rows(&format!("/nodes/log_stats?peer_id={ALICE}"), &key);
        let count = |kind: &str| {
            stats
                .as_array()
                .and_then(|rows| rows.iter().find(|row| row["log_type"] == kind))
                .map(|row| row["qty"].clone())
        };
        assert_eq!(count("block.import"), Some(json!(3)));
        assert_eq!(count("system.interval"), Some(json!(3)));
        assert_eq!(count("notify.finalized"), Some(json!(1)));
        let everyone = receiver.rows("/nodes/log_stats", &key);
        let intervals = everyone
            .as_array()
            .and_then(|rows| rows.iter().find(|row| row["log_type"] == "system.interval"))
            .map(|row| row["qty"].clone());
        assert_eq!(
            intervals,
            Some(json!(7)),
            "alice 3, bob 3, carol 1; the one before connecting is not kept"
        );

        // The Node Data API of seed 002 reads the same nodes (a node's figures are written with
        // its contact, at most every 5 s).
        let api = data_when(&receiver, "/api/nodes", &key, |nodes| {
            has_node(nodes, ALICE) && node(nodes, ALICE)["blockHeight"] == 1_002.0
        });
        let alice = node(&api, ALICE);
        assert_eq!(alice["nodeName"], "alice");
        assert_eq!(alice["nodeClientType"], "Parity Polkadot");
        assert_eq!(alice["nodeClientVersion"], "1.15.2-7c4a5b3a6a0");
        assert_eq!(alice["blockHeight"], 1_002.0);
        assert_eq!(alice["networkTraffic"], 41_235.5 + 52_101.25);
        assert!(alice.get("nodeIp").is_none());

        // Reputation, from the nodes' network states.
        let carol = receiver.rows(&format!("/reputation/{CAROL}"), &key);
        assert_eq!(carol.as_array().map(Vec::len), Some(1), "{carol}");
        assert_eq!(carol[0]["reporting_peer"], ALICE);
        assert_eq!(carol[0]["reputation"], -200);
        let all = receiver.rows("/reputation", &key);
        assert_eq!(all.as_array().map(Vec::len), Some(3));
        let logged = receiver.rows("/reputation/logged", &key);
        assert_eq!(
            logged.as_array().map(Vec::len),
            Some(3),
            "carol is a node here too: {logged}"
        );
        let limited = receiver.rows("/reputation?limit=1", &key);
        assert_eq!(limited.as_array().map(Vec::len), Some(1));

        // Counted, not kept: the frame before `system.connected`.
        assert_eq!(
            receiver.metric("nodepulse_serve_stream_refused_total{reason=\"before_connected\"}"),
            1.0
        );
        assert!(
            receiver.metric("nodepulse_serve_stream_frames_total{kind=\"system.interval\"}") >= 8.0
        );
        shard.close();
    }
}

#[test]
fn a_starknet_session_identifies_first_and_later_frames_update_it() {
    for kind in KINDS {
        let database = database(kind, "streams-starknet");
        let key = add_key(&database, "reader", false);
        let receiver = Receiver::start(&database, &[]);
        // Seed 002's example feed, frame for frame.
        let mut session = StreamClient::connect(&ws(&receiver, "/submit"));
        let feed = [
            json!({"payload": {"name": "Starknode", "peer_id": "12D3KooWMo65MdEXUembrdnYTdw588mREZmQrebkmJwpPbkGbony",
                "client": "Madara", "version": "0.1.0-8bf85f6dc0b", "capability": "Full", "network": "Starknet",
                "starknet_version": "0.13.2", "json_rpc_version": "0.7.1", "operating_system": "MacOs",
                "memory": 16, "cpu": 8, "storage": 1092}, "ts": "2024-07-11T11:46:08.602688201+00:00"}),
            json!({"payload": {"current_block_hash_l2": "0x47c3637b57c2b079b93c61539950c17e868a28f46cdef28f88521067f21e943",
                "current_block_number_l2": 0, "latest_block_time": 320000, "avg_sync_time": 382, "estimate_sync": 4.5,
                "tx_number": 245, "event_number": 1890, "message_number": 3, "peer_count": 43, "node_uptime": 2.3},
                "ts": "2024-07-11T11:46:08.996351122+00:00"}),
            json!({"payload": {"current_block_hash_l2": "0x7aefb91c8e2d3a47abcfb5bda9c127a3ea9b1f94b5a6e761b4182e3f01d2f5d4",
                "current_block_number_l2": 1, "latest_block_time": 330000, "avg_sync_time": 410, "estimate_sync": 5.2,
                "tx_number": 300, "event_number": 2025, "message_number": 5, "peer_count": 48},
                "ts": "2024-07-12T09:23:11.123456789+00:00"}),
            json!({"payload": {"current_block_hash_l1": "0x1f9090aae28b8a3dceadf281b0f12828e676c326",
                "current_block_number_l1": 20289357}, "ts": "2024-07-11T11:46:09.035827447+00:00"}),
            json!({"payload": {"memory_usage": 4.4, "cpu_usage": 3, "storage_usage": 245},
                "ts": "2024-07-11T11:46:09.035827447+00:00"}),
        ];
        for frame in &feed {
            assert!(session.send(frame));
        }
        // A session that never identifies itself is ignored (and counted), frame after frame.
        let mut anonymous = StreamClient::connect(&ws(&receiver, "/submit"));
        assert!(
            anonymous.send(&json!({"payload": {"peer_count": 3}, "ts": "2024-07-11T11:46:09Z"}))
        );
        assert!(anonymous.send(
            &json!({"payload": {"current_block_number_l2": "7"}, "ts": "2024-07-11T11:46:10Z"})
        ));
        anonymous.close();

        let peer = "12D3KooWMo65MdEXUembrdnYTdw588mREZmQrebkmJwpPbkGbony";
        // The last frame's figures: the state as of the whole feed (the node stays connected
        // and quiet; its last contact is written by the batcher's sweep).
        let api = data_when(&receiver, "/api/nodes", &key, |nodes| {
            has_node(nodes, peer) && node(nodes, peer)["cpuUsage"] == 3.0
        });
        let starknode = node(&api, peer);
        assert_eq!(starknode["nodeName"], "Starknode");
        assert_eq!(starknode["nodeClientType"], "Madara");
        assert_eq!(starknode["nodeClientVersion"], "0.1.0-8bf85f6dc0b");
        assert_eq!(starknode["blockHeight"], 1.0);
        assert_eq!(starknode["cpuUsage"], 3.0);
        assert_eq!(starknode["memoryUsage"], 4.4);
        assert_eq!(
            api.as_array().map(Vec::len),
            Some(1),
            "the anonymous session made no node: {api}"
        );
        let nodes = receiver.rows("/nodes", &key);
        let state = &node(&nodes, peer)["state"];
        assert_eq!(state["current_block_number_l1"], 20_289_357);
        assert_eq!(state["peer_count"], 48);
        assert_eq!(state["storage"], 1092);
        let logs = receiver.rows(&format!("/nodes/logs?peer_id={peer}"), &key);
        assert_eq!(logs.as_array().map(Vec::len), Some(5));
        assert_eq!(logs[0]["msg"], "starknet");
        assert_eq!(
            receiver.metric("nodepulse_serve_stream_refused_total{reason=\"before_connected\"}"),
            2.0
        );
        session.close();
    }
}

#[test]
fn the_agent_streams_either_format_into_serve() {
    for kind in KINDS {
        let database = database(kind, "streams-agent");
        let key = add_key(&database, "reader", false);
        let receiver = Receiver::start(&database, &[]);
        let starknet = starknet_node();
        let output = run(nodepulse()
            .args(["run", "--once", "--node-name", "juno-sepolia"])
            .args([
                "--telemetry-url",
                &format!("{} 0", ws(&receiver, "/submit")),
            ])
            .args(["--starknet-rpc", &starknet.url("/")]));
        assert!(output.status.success(), "{}", stderr(&output));
        let substrate = substrate_node();
        let output = run(nodepulse()
            .args(["run", "--once", "--node-name", "polkadot-validator"])
            .args(["--telemetry-url", &format!("{} 0", ws(&receiver, "/audit"))])
            .args(["--substrate-rpc", &substrate.url("/")]));
        assert!(output.status.success(), "{}", stderr(&output));

        let api = data_when(&receiver, "/api/nodes", &key, |nodes| {
            has_node(nodes, PEER_ID) && has_node(nodes, "juno-sepolia")
        });
        let juno = node(&api, "juno-sepolia");
        assert_eq!(juno["nodeName"], "juno-sepolia");
        assert_eq!(juno["nodeClientType"], "Juno");
        assert!(
            juno["blockHeight"]
                .as_f64()
                .is_some_and(|height| height > 381_000.0),
            "{juno}"
        );
        let polkadot = node(&api, PEER_ID);
        assert_eq!(polkadot["nodeName"], "polkadot-validator");
        assert_eq!(polkadot["nodeClientType"], "Parity Polkadot");
        let nodes = receiver.rows("/nodes", &key);
        assert_eq!(node(&nodes, PEER_ID)["audit"], true);
        assert_eq!(node(&nodes, PEER_ID)["genesis_hash"], GENESIS);
        assert_eq!(node(&nodes, "juno-sepolia")["format"], "starknet");
        let _ = kind;
    }
}

/// The rows `/stats/db` counts in `table`.
fn table_rows(receiver: &Receiver, key: &str, table: &str) -> Option<i64> {
    receiver
        .rows("/stats/db", key)
        .as_array()
        .and_then(|tables| tables.iter().find(|t| t["table_name"] == table))
        .and_then(|t| t["rows"].as_i64())
}

#[test]
fn messages_go_after_the_raw_window_samples_after_the_retention_and_audit_never() {
    for kind in KINDS {
        let database = database(kind, "streams-purge");
        let key = add_key(&database, "reader", false);
        let mut receiver = Receiver::start(&database, &[]);
        let mut submit = StreamClient::connect(&ws(&receiver, "/submit"));
        assert!(submit.send(&wrapped(1, connected("alice", ALICE))));
        assert!(submit.send(&wrapped(1, interval(10, 3))));
        submit.close();
        let mut audit = StreamClient::connect(&ws(&receiver, "/audit"));
        assert!(audit.send(&wrapped(1, connected("bob", BOB))));
        assert!(audit.send(&wrapped(1, interval(10, 3))));
        audit.close();
        data_when(
            &receiver,
            &format!("/nodes/logs?peer_id={BOB}"),
            &key,
            |logs| logs.as_array().is_some_and(|l| l.len() == 2),
        );
        data_when(
            &receiver,
            &format!("/nodes/logs?peer_id={ALICE}"),
            &key,
            |logs| logs.as_array().is_some_and(|l| l.len() == 2),
        );
        receiver.process.terminate(Duration::from_secs(10));
        let address = receiver.address.clone();
        drop(receiver);

        // The purge runs at start: with a raw window of 1 ms, every message from /submit is older
        // than that, and goes; the nodes' minute samples (one each, or two if a minute turned
        // between their first contacts) stay for the retention.
        receiver = Receiver::start_on(&database, &address, &["--raw-window", "1ms"]);
        let alice = data_when(
            &receiver,
            &format!("/nodes/logs?peer_id={ALICE}"),
            &key,
            |logs| logs == &json!([]),
        );
        assert_eq!(alice, json!([]));
        let bob = receiver.rows(&format!("/nodes/logs?peer_id={BOB}"), &key);
        assert_eq!(bob.as_array().map(Vec::len), Some(2), "kept: {bob}");
        let samples = table_rows(&receiver, &key, "stream_samples");
        assert!(
            samples.is_some_and(|rows| (2..=4).contains(&rows)),
            "{kind:?}: {samples:?}"
        );
        receiver.process.terminate(Duration::from_secs(10));
        drop(receiver);

        // A retention of 1 ms takes the samples too; /audit's messages still stay.
        let receiver = Receiver::start_on(&database, &address, &["--retention", "1ms"]);
        assert!(eventually(Duration::from_secs(60), || {
            table_rows(&receiver, &key, "stream_samples") == Some(0)
        }));
        assert_eq!(table_rows(&receiver, &key, "stream_logs"), Some(2));
    }
}

/// A server of its own on SQLite with `extra` flags (the limit tests do not depend on the
/// database), and a reading key. Each call has its own database: tests running at once with the
/// same flags shared one, and saw each other's nodes.
fn limited(extra: &[&str]) -> (Receiver, String) {
    static SERVERS: AtomicUsize = AtomicUsize::new(0);
    let database = database(
        Kind::Sqlite,
        &format!(
            "streams-limits-{}-{}",
            SERVERS.fetch_add(1, Ordering::Relaxed),
            extra.join("").replace(['-', '/', '.'], "")
        ),
    );
    let key = add_key(&database, "reader", false);
    (Receiver::start(&database, extra), key)
}

#[test]
fn a_frame_over_the_cap_closes_its_connection_with_1009_and_no_other() {
    let (receiver, key) = limited(&["--max-frame-size", "2KiB"]);
    let mut other = StreamClient::connect(&ws(&receiver, "/submit"));
    assert!(other.send(&wrapped(1, connected("bob", BOB))));
    let mut big = StreamClient::connect(&ws(&receiver, "/submit"));
    assert!(big.send(&wrapped(1, connected("alice", ALICE))));
    let mut huge = interval(10, 1);
    huge["padding"] = json!("x".repeat(4096));
    big.send(&wrapped(1, huge));
    assert_eq!(big.close_code(), Some(1009));
    assert!(other.send(&wrapped(1, interval(11, 2))));
    data_when(
        &receiver,
        &format!("/nodes/logs?peer_id={BOB}&msg=system.interval"),
        &key,
        |logs| logs.as_array().is_some_and(|l| l.len() == 1),
    );
    assert_eq!(
        receiver.metric("nodepulse_serve_stream_refused_total{reason=\"too_large\"}"),
        1.0
    );
    other.close();
}

#[test]
fn a_21st_node_on_one_connection_is_ignored_and_the_connection_kept() {
    let (receiver, key) = limited(&[]);
    let mut shard = StreamClient::connect(&ws(&receiver, "/submit"));
    let peer = |id: u64| format!("12D3KooWNode{id:040}");
    for id in 1..=21 {
        assert!(shard.send(&wrapped(id, connected(&format!("node-{id}"), &peer(id)))));
    }
    assert!(shard.send(&wrapped(1, interval(50, 4))));
    assert!(shard.send(&wrapped(21, interval(50, 4))));
    data_when(
        &receiver,
        &format!("/nodes/logs?peer_id={}&msg=system.interval", peer(1)),
        &key,
        |logs| logs.as_array().is_some_and(|l| l.len() == 1),
    );
    let nodes = receiver.rows("/nodes", &key);
    assert_eq!(nodes.as_array().map(Vec::len), Some(20));
    assert!(!has_node(&nodes, &peer(21)));
    assert_eq!(
        receiver.metric("nodepulse_serve_stream_refused_total{reason=\"too_many_nodes\"}"),
        1.0
    );
    assert_eq!(
        receiver.metric("nodepulse_serve_stream_refused_total{reason=\"before_connected\"}"),
        1.0
    );
    shard.close();
}

#[test]
fn a_connection_over_the_byte_rate_is_closed_with_1008() {
    let (receiver, _key) = limited(&["--max-stream-rate", "1KiB"]);
    let mut fast = StreamClient::connect(&ws(&receiver, "/submit"));
    assert!(fast.send(&wrapped(1, connected("alice", ALICE))));
    // Ten seconds' worth at 1 KiB/s is 10 KiB; 16 frames of 1 KiB go over it whatever the clock.
    for height in 0..16 {
        let mut message = interval(height + 10, 1);
        message["padding"] = json!("x".repeat(1024));
        if !fast.send(&wrapped(1, message)) {
            break;
        }
    }
    assert_eq!(fast.close_code(), Some(1008));
    assert_eq!(
        receiver.metric("nodepulse_serve_stream_refused_total{reason=\"rate_limited\"}"),
        1.0
    );
}

#[test]
fn an_address_may_hold_only_so_many_connections() {
    let (receiver, key) = limited(&["--max-connections-per-ip", "2"]);
    let first = StreamClient::connect(&ws(&receiver, "/submit"));
    let _second = StreamClient::connect(&ws(&receiver, "/submit"));
    let mut third = StreamClient::connect(&ws(&receiver, "/submit"));
    assert_eq!(third.close_code(), Some(1008));
    assert_eq!(
        receiver.metric("nodepulse_serve_stream_refused_total{reason=\"too_many_connections\"}"),
        1.0
    );
    // A place freed is a place again (once the server has seen the close).
    first.close();
    let mut accepted = false;
    for _ in 0..30 {
        let mut again = StreamClient::connect(&ws(&receiver, "/submit"));
        again.send(&wrapped(1, connected("alice", ALICE)));
        accepted = eventually(Duration::from_secs(2), || {
            has_node(&receiver.rows("/nodes", &key), ALICE)
        });
        if accepted {
            break;
        }
    }
    assert!(accepted, "a connection after one closed is taken");
}

#[test]
fn only_allowed_addresses_may_submit() {
    let (receiver, _key) = limited(&["--submit-allow", "10.0.0.0/8,192.0.2.7"]);
    assert_eq!(
        StreamClient::try_connect(&ws(&receiver, "/submit")).err(),
        Some(403)
    );
    assert_eq!(
        StreamClient::try_connect(&ws(&receiver, "/audit")).err(),
        Some(403)
    );
    let (open, _key) = limited(&["--submit-allow", "127.0.0.0/8"]);
    assert!(StreamClient::try_connect(&ws(&open, "/submit")).is_ok());
    let bad = run(nodepulse().args(["serve", "--submit-allow", "10.0.0.0/33"]));
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("submit-allow"), "{}", stderr(&bad));
}

#[test]
fn garbage_is_counted_and_the_connection_goes_on() {
    let (receiver, key) = limited(&[]);
    let mut client = StreamClient::connect(&ws(&receiver, "/submit"));
    for garbage in [
        "not json",
        "[1,2]",
        r#"{"hello":"world"}"#,
        r#"{"msg":5}"#,
        r#"{"id":-1,"payload":{"msg":"system.interval"}}"#,
    ] {
        assert!(client.send_message(tokio_tungstenite::tungstenite::Message::text(garbage)));
    }
    // A system.connected without a genesis hash names no node.
    let mut headless = connected("alice", ALICE);
    headless
        .as_object_mut()
        .map(|message| message.remove("genesis_hash"));
    assert!(client.send(&wrapped(1, headless)));
    assert!(client.send(&wrapped(2, connected("bob", BOB))));
    data_when(&receiver, "/nodes", &key, |nodes| has_node(nodes, BOB));
    assert!(!has_node(&receiver.rows("/nodes", &key), ALICE));
    assert_eq!(
        receiver.metric("nodepulse_serve_stream_refused_total{reason=\"malformed\"}"),
        6.0
    );
    client.close();
}

#[test]
fn a_stalled_or_silent_node_is_marked_disconnected_and_stalls_nobody() {
    let (receiver, key) = limited(&["--node-silence", "1s"]);
    // A node that identifies itself, then stops halfway through its next frame.
    let mut stalled = raw_upgrade(&receiver.address, "/submit");
    stalled
        .write_all(&masked_text_frame(
            wrapped(1, connected("alice", ALICE)).to_string().as_bytes(),
        ))
        .expect("write");
    let half = masked_text_frame(wrapped(1, interval(10, 3)).to_string().as_bytes());
    stalled
        .write_all(&half[..half.len() / 2])
        .expect("write half");
    // Meanwhile another node streams on.
    let mut lively = StreamClient::connect(&ws(&receiver, "/submit"));
    assert!(lively.send(&wrapped(1, connected("bob", BOB))));
    for height in 0..5 {
        assert!(lively.send(&wrapped(1, interval(height + 10, 3))));
    }
    data_when(
        &receiver,
        &format!("/nodes/logs?peer_id={BOB}&msg=system.interval"),
        &key,
        |logs| logs.as_array().is_some_and(|l| l.len() == 5),
    );
    // Once silent for --node-silence, alice is disconnected (and bob, quiet too by then).
    let nodes = data_when(&receiver, "/nodes", &key, |nodes| {
        has_node(nodes, ALICE) && node(nodes, ALICE)["connected"] == false
    });
    assert!(node(&nodes, ALICE)["disconnected_at"].is_string());
    assert_eq!(
        lively.close_code(),
        Some(1008),
        "a connection silent that long is closed"
    );
}

/// A node that connected again before its old connection was let go (one the server had not yet
/// seen drop, say half-open after a network outage): the old connection's going leaves the node
/// connected, with the new connection's state.
#[test]
fn a_node_connected_again_stays_connected_when_its_old_connection_goes() {
    // No node falls silent while the test runs, however slowly.
    let (receiver, key) = limited(&["--node-silence", "10m"]);
    let intervals = format!("/nodes/logs?peer_id={ALICE}&msg=system.interval");
    let mut old = StreamClient::connect(&ws(&receiver, "/submit"));
    assert!(old.send(&wrapped(1, connected("alice", ALICE))));
    assert!(old.send(&wrapped(1, interval(10, 3))));
    data_when(&receiver, &intervals, &key, |logs| {
        logs.as_array().is_some_and(|l| l.len() == 1)
    });
    let mut new = StreamClient::connect(&ws(&receiver, "/submit"));
    assert!(new.send(&wrapped(1, connected("alice", ALICE))));
    assert!(new.send(&wrapped(1, interval(11, 3))));
    data_when(&receiver, &intervals, &key, |logs| {
        logs.as_array().is_some_and(|l| l.len() == 2)
    });
    old.close();
    // The old connection's going is queued for the writer before its node leaves the gauge;
    // carol's connect, queued after it, is written after it.
    assert!(eventually(Duration::from_secs(60), || {
        receiver.metric("nodepulse_serve_stream_nodes ") == 1.0
    }));
    let mut marker = StreamClient::connect(&ws(&receiver, "/submit"));
    assert!(marker.send(&wrapped(1, connected("carol", CAROL))));
    let nodes = data_when(&receiver, "/nodes", &key, |nodes| has_node(nodes, CAROL));
    let alice = node(&nodes, ALICE);
    assert_eq!(alice["connected"], true, "{alice}");
    // The new connection's state: written with its first contact, or by the sweep after it.
    data_when(&receiver, "/nodes", &key, |nodes| {
        node(nodes, ALICE)["state"]["best_height"] == 11
    });
    new.close();
    let nodes = data_when(&receiver, "/nodes", &key, |nodes| {
        node(nodes, ALICE)["connected"] == false
    });
    assert!(node(&nodes, ALICE)["disconnected_at"].is_string());
    marker.close();
}

#[test]
fn reads_need_a_key_unless_public_and_node_addresses_need_a_flag() {
    let (receiver, key) = limited(&[]);
    let mut client = StreamClient::connect(&ws(&receiver, "/submit"));
    assert!(client.send(&wrapped(1, connected("alice", ALICE))));
    client.close();
    data_when(&receiver, "/nodes", &key, |nodes| has_node(nodes, ALICE));
    for path in [
        "/nodes",
        "/api/nodes",
        "/nodes/log_stats",
        "/reputation",
        "/stats/db",
        "/host_systems",
        "/benchmarks",
    ] {
        assert_eq!(receiver.get(path, "").status, 401, "{path}");
        assert_eq!(receiver.get(path, "not-a-key").status, 401, "{path}");
    }
    let database = receiver.database.clone();
    drop(receiver);
    let open = Receiver::start(&database, &["--public-reads", "--expose-node-ip"]);
    let nodes = open.rows("/nodes", "");
    assert_eq!(node(&nodes, ALICE)["ip"], "127.0.0.1");
    assert_eq!(
        node(&open.rows("/api/nodes", ""), ALICE)["nodeIp"],
        "127.0.0.1"
    );
    // Client-stats stay behind keys, and so do the database's tables.
    assert_eq!(open.get("/api/v1/machines", "").status, 401);
    assert_eq!(open.get("/stats/db", "").status, 401);
    assert!(open.rows("/stats/db", &key).is_array());
}

#[test]
fn host_systems_and_benchmarks_are_created_by_admins_and_listed() {
    for kind in KINDS {
        let database = database(kind, "streams-benchmarks");
        let admin = add_key(&database, "admin", true);
        let reader = add_key(&database, "reader", false);
        let receiver = Receiver::start(&database, &[]);
        let post = |path: &str, key: &str, body: &Value| {
            crate::common::receiver::request(
                "POST",
                &receiver.url(path),
                &[("apikey", key), ("Content-Type", "application/json")],
                body.to_string().as_bytes(),
            )
            .expect("answered")
        };
        let host = json!({"cpu_clock": 2600, "cpu_qty": 4, "description": "Any notes to go here", "disk_info": "NVME", "os": "freebsd", "ram_mb": 8192});
        assert_eq!(post("/host_systems", &reader, &host).status, 403);
        let created = post("/host_systems", &admin, &host);
        assert_eq!(created.status, 200, "{}", created.text());
        let host_id = created.json()["id"].as_i64().expect("an id");
        let benchmark = json!({"benchmark_spec": {"tdb": "tbd"}, "chain_spec": {"name": "Development", "etc": "more chain spec stuff"},
            "description": "notes", "host_system_id": host_id, "ts_end": "2019-10-28T14:05:27.618903", "ts_start": "1970-01-01T00:00:01"});
        let created = post("/benchmarks", &admin, &benchmark);
        assert_eq!(created.status, 200, "{}", created.text());
        let benchmark_id = created.json()["id"].as_i64().expect("an id");

        let hosts = receiver.rows("/host_systems", &reader);
        assert_eq!(hosts[0]["id"], host_id);
        assert_eq!(hosts[0]["os"], "freebsd");
        let benchmarks = receiver.rows("/benchmarks", &reader);
        assert_eq!(benchmarks[0]["id"], benchmark_id);
        assert_eq!(benchmarks[0]["chain_spec"]["name"], "Development");
        assert_eq!(benchmarks[0]["ts_end"], "2019-10-28T14:05:27.618903");

        let mut orphan = benchmark.clone();
        orphan["host_system_id"] = json!(host_id + 100);
        assert_eq!(post("/benchmarks", &admin, &orphan).status, 409);
        let mut untimed = benchmark.clone();
        untimed["ts_start"] = json!("the beginning");
        assert_eq!(post("/benchmarks", &admin, &untimed).status, 400);
        let missing = post("/host_systems", &admin, &json!({"os": "linux"}));
        assert_eq!(missing.status, 400);

        let rows = |name: &str| table_rows(&receiver, &reader, name);
        assert_eq!(rows("host_systems"), Some(1));
        assert_eq!(rows("benchmarks"), Some(1));
        assert_eq!(rows("stream_logs"), Some(0));
        assert_eq!(rows("stream_samples"), Some(0));
        let _ = kind;
    }
}

#[test]
fn sigterm_closes_streams_with_1001_after_writing_what_they_sent() {
    for kind in KINDS {
        let database = database(kind, "streams-sigterm");
        let key = add_key(&database, "reader", false);
        let mut receiver = Receiver::start(&database, &["--db-save-latency", "10s"]);
        let mut client = StreamClient::connect(&ws(&receiver, "/submit"));
        assert!(client.send(&wrapped(1, connected("alice", ALICE))));
        for height in 0..3 {
            assert!(client.send(&wrapped(1, interval(height + 10, 3))));
        }
        // A long save latency keeps them in the batch until the stop writes it.
        let (status, _) = receiver
            .process
            .terminate(Duration::from_secs(10))
            .expect("exits on SIGTERM");
        assert!(status.success(), "{}", receiver.process.stderr());
        assert_eq!(client.close_code(), Some(1001));
        let address = receiver.address.clone();
        drop(receiver);
        let again = Receiver::start_on(&database, &address, &[]);
        let logs = again.rows(&format!("/nodes/logs?peer_id={ALICE}"), &key);
        assert_eq!(logs.as_array().map(Vec::len), Some(4), "{logs}");
        assert_eq!(node(&again.rows("/nodes", &key), ALICE)["connected"], false);
        let _ = kind;
    }
}

/// The stream bench's floor (`--bench-discard-streams`) reads and counts frames and stores none of
/// them, and says so when it starts: after it stops (having handed over all it held), the same
/// database has no node.
#[test]
fn the_bench_floor_switch_stores_nothing_and_says_so() {
    let database = database(Kind::Sqlite, "streams-floor");
    let key = add_key(&database, "reader", false);
    let mut floor = Receiver::start(&database, &["--bench-discard-streams"]);
    let mut node = StreamClient::connect(&format!("ws://{}/submit", floor.address));
    assert!(node.send(&wrapped(1, connected("alice", PEER_ID))));
    assert!(node.send(&wrapped(1, interval(100, 12))));
    let counted = eventually(Duration::from_secs(60), || {
        floor.metric("nodepulse_serve_stream_frames_total{kind=\"system.interval\"}") >= 1.0
    });
    assert!(counted, "the floor did not read the frames");
    node.close();
    let stopped = floor.process.terminate(Duration::from_secs(60));
    assert!(
        stopped.is_some_and(|(status, _)| status.success()),
        "{stopped:?}"
    );
    assert!(
        floor
            .process
            .stderr()
            .contains("--bench-discard-streams: every stream frame is dropped"),
        "{}",
        floor.process.stderr()
    );
    let receiver = Receiver::start(&database, &[]);
    assert_eq!(receiver.rows("/nodes", &key), json!([]));
}

/// A day held by a long read is not dropped under it: each try waits a moment for the read and
/// gives up, leaving the day detached halfway, while the stream's writes and the pages' reads go on
/// beside it; the purge says so, and the day goes once the read ends.
#[test]
fn postgresql_a_day_held_by_a_long_read_goes_once_the_read_ends() {
    use nodepulse::serve::store::SqlStore;
    use nodepulse::serve::store::streams::StreamStore;
    const DAY_MS: i64 = 86_400_000;
    let database = database(Kind::Postgres, "days-busy");
    let runtime = crate::common::store_runtime();
    runtime.block_on(async {
        let store = SqlStore::open(&database).await.expect("open");
        let now = crate::common::unix_ms();
        store.make_days(now - 5 * DAY_MS).await.expect("days made");
        sqlx::any::install_default_drivers();
        let reader = sqlx::AnyPool::connect(&database).await.expect("a reader");
        let mut read = reader.begin().await.expect("a transaction");
        sqlx::query("LOCK TABLE stream_logs_raw IN ACCESS SHARE MODE")
            .execute(&mut *read)
            .await
            .expect("the read's lock");
        let (raw_before, before) = (now - 2 * DAY_MS, now - 31 * DAY_MS);
        // While the purge waits on the read, the stream's writes and the pages' reads go on: they
        // would queue behind a DROP of the attached day, and wait past their short lock_timeout.
        let mut dropping = std::pin::pin!(store.drop_days(raw_before, before));
        loop {
            tokio::select! {
                result = &mut dropping => panic!("the purge never waited on the read: {result:?}"),
                waiting = waiting_on_a_lock(&reader, "stream_logs_raw_") => if waiting { break },
            }
        }
        let mut write = reader.begin().await.expect("a transaction");
        for statement in [
            "SET LOCAL lock_timeout = '100ms'",
            "INSERT INTO stream_logs (node_id, created_ms, msg, audit, log) \
             VALUES (1, (extract(epoch FROM now()) * 1000)::BIGINT, 'system.interval', 0, '{}')",
            "SELECT COUNT(*) FROM stream_logs_raw",
            "SELECT COUNT(*) FROM stream_nodes",
        ] {
            sqlx::query(statement)
                .execute(&mut *write)
                .await
                .unwrap_or_else(|err| panic!("held up by the purge: {statement}: {err}"));
        }
        write.commit().await.expect("written");
        let refused = dropping.await;
        assert!(refused.is_err(), "dropped under a read: {refused:?}");
        read.rollback().await.expect("the read ends");
        let dropped = store.drop_days(raw_before, before).await.expect("dropped");
        assert!(
            dropped
                .iter()
                .any(|day| day.starts_with("stream_logs_raw_")),
            "{dropped:?}"
        );
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_class WHERE relname::text = ANY(string_to_array($1, ','))",
        )
        .bind(dropped.join(","))
        .fetch_one(&reader)
        .await
        .expect("the tables");
        assert_eq!(left, 0, "{dropped:?}");
        reader.close().await;
        store.close().await;
    });
}

/// Whether a statement containing `statement` waits on a lock in the database.
async fn waiting_on_a_lock(pool: &sqlx::AnyPool, statement: &str) -> bool {
    let waiting: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
         AND strpos(query, $1) > 0",
    )
    .bind(statement.to_owned())
    .fetch_one(pool)
    .await
    .expect("the activity");
    waiting > 0
}

/// When each stored message of `peer_id` was received (up to 100 of them).
/// Alice connecting at `at_ms`, as a batch for the store names her.
fn alice_connects(at_ms: i64) -> nodepulse::serve::store::streams::Connect {
    use nodepulse::serve::store::streams::{Connect, StreamFormat};
    let hello = connected("alice", ALICE);
    let identity = nodepulse::wire::telemetry::decode::substrate_identity(
        hello.as_object().expect("an object"),
    )
    .expect("identity");
    Connect {
        identity,
        format: StreamFormat::Substrate,
        ip: "127.0.0.1".into(),
        audit: false,
        at_ms,
    }
}

/// A `system.interval` of `node` stamped `created_ms`, as a batch for the store holds it.
fn interval_row(
    node: nodepulse::serve::store::streams::NodeRef,
    created_ms: i64,
    audit: bool,
) -> nodepulse::serve::store::streams::LogRow {
    nodepulse::serve::store::streams::LogRow {
        node,
        created_ms,
        msg: "system.interval".into(),
        target: None,
        audit,
        log: interval(10, 3).to_string(),
    }
}

async fn stored_at(store: &nodepulse::serve::store::SqlStore, peer_id: &str) -> Vec<i64> {
    newest_stored_at(store, peer_id, 100).await
}

/// The stamps of `peer_id`'s `limit` newest messages, newest first.
async fn newest_stored_at(
    store: &nodepulse::serve::store::SqlStore,
    peer_id: &str,
    limit: u32,
) -> Vec<i64> {
    use nodepulse::serve::store::streams::{LogQuery, StreamStore};
    let logs = store
        .stream_logs(&LogQuery {
            peer_id: peer_id.into(),
            msg: None,
            target: None,
            since_ms: 0,
            until_ms: i64::MAX,
            limit,
        })
        .await
        .expect("the messages");
    logs.iter().map(|log| log.created_ms).collect()
}

/// The file of the hour holding `at_ms` beside SQLite's `database`.
fn hour_file(database: &str, at_ms: i64) -> String {
    const HOUR_MS: i64 = 3_600_000;
    let start = std::time::UNIX_EPOCH
        + Duration::from_millis((at_ms - at_ms.rem_euclid(HOUR_MS)).unsigned_abs());
    let stamp = humantime::format_rfc3339_seconds(start).to_string();
    format!(
        "{}-messages/{}.db",
        database.trim_start_matches("sqlite://"),
        &stamp[..13]
    )
}

/// The names of the indexes of the SQLite file at `path`, in order.
async fn indexes(path: &str) -> Vec<String> {
    schema_names(path, "index").await
}

/// The names of the SQLite file's `kind`s (`table`, `index`), in order.
async fn schema_names(path: &str, kind: &str) -> Vec<String> {
    let pool = sqlx::AnyPool::connect(&format!("sqlite://{path}"))
        .await
        .expect("the hour's file");
    let names = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = $1 ORDER BY name")
        .bind(kind.to_owned())
        .fetch_all(&pool)
        .await
        .expect("its schema");
    pool.close().await;
    names
}

/// On SQLite the messages are kept in a file an hour: the hour being written is read second by
/// second (its first and last milliseconds included, a limit carried from its newest minute to
/// the rest), a past hour by node once the purge's first step has indexed it so; the purge
/// removes the files of the hours wholly past the raw window, with no row deleted, and the reads
/// find the messages of the others, whichever file holds them; `/audit`'s messages, in the main
/// file, stay. A restart finds the files again.
#[test]
fn sqlite_removes_the_hours_past_the_raw_window_whole() {
    use nodepulse::serve::store::SqlStore;
    use nodepulse::serve::store::streams::{NodeRef, StreamBatch, StreamStore};
    const HOUR_MS: i64 = 3_600_000;
    let database = database(Kind::Sqlite, "hours_past_the_window");
    let runtime = crate::common::store_runtime();
    runtime.block_on(async {
        let store = SqlStore::open(&database).await.expect("open");
        let now = crate::common::unix_ms();
        let this_hour = now - now.rem_euclid(HOUR_MS);
        let log = |created_ms, audit| interval_row(NodeRef::Connecting(0), created_ms, audit);
        let three_hours_ago = now - 3 * HOUR_MS;
        store
            .write_streams(&StreamBatch {
                connects: vec![alice_connects(three_hours_ago)],
                logs: vec![
                    log(three_hours_ago, false),
                    log(three_hours_ago, true),
                    log(now - HOUR_MS, false),
                    log(this_hour - 1, false),
                    log(this_hour, false),
                    log(now, false),
                ],
                ..StreamBatch::default()
            })
            .await
            .expect("stored");
        let all = [
            now,
            this_hour,
            this_hour - 1,
            now - HOUR_MS,
            three_hours_ago,
            three_hours_ago,
        ];
        let counted = [("system.interval".to_owned(), 6)];
        let by_second = ["stream_logs_by_second", "stream_logs_network_states"];
        let by_node = ["stream_logs_by_node", "stream_logs_network_states"];
        assert_eq!(
            indexes(&hour_file(&database, now - HOUR_MS)).await,
            by_second
        );
        assert_eq!(stored_at(&store, ALICE).await, all);
        assert_eq!(newest_stored_at(&store, ALICE, 2).await, all[..2]);
        assert_eq!(
            store.log_stats(Some(ALICE)).await.expect("counted"),
            counted
        );
        assert_eq!(store.log_stats(None).await.expect("counted"), counted);
        // The purge's first step a minute into the next hour: every hour but it indexed by node;
        // the reads find the same.
        store
            .make_days(this_hour + HOUR_MS + 60_000)
            .await
            .expect("indexed by node");
        for at in [this_hour, now - HOUR_MS, three_hours_ago] {
            assert_eq!(indexes(&hour_file(&database, at)).await, by_node);
        }
        assert_eq!(stored_at(&store, ALICE).await, all);
        assert_eq!(newest_stored_at(&store, ALICE, 2).await, all[..2]);
        assert_eq!(
            store.log_stats(Some(ALICE)).await.expect("counted"),
            counted
        );
        let dropped = store
            .drop_days(now - 2 * HOUR_MS, now - 31 * 24 * HOUR_MS)
            .await
            .expect("dropped");
        assert_eq!(dropped.len(), 1, "{dropped:?}");
        // Nothing left to delete row by row: the window is longer than an hour.
        assert_eq!(
            store
                .purge_logs(now - 2 * HOUR_MS, 100)
                .await
                .expect("purged"),
            0
        );
        let kept = &all[..5];
        assert_eq!(
            stored_at(&store, ALICE).await,
            kept,
            "the audit message stays"
        );
        let stats = store.log_stats(Some(ALICE)).await.expect("counted");
        assert_eq!(stats, [("system.interval".to_owned(), 5)]);
        let everyone = store.log_stats(None).await.expect("counted");
        assert_eq!(everyone, stats, "the file's counts went with it");
        store.close().await;

        let restarted = SqlStore::open(&database).await.expect("open again");
        assert_eq!(stored_at(&restarted, ALICE).await, kept);
        // A writer connecting again to a file indexed by node leaves it so.
        let write_again = StreamBatch {
            logs: vec![interval_row(NodeRef::Known(1), this_hour + 1, false)],
            ..StreamBatch::default()
        };
        restarted.write_streams(&write_again).await.expect("stored");
        assert_eq!(indexes(&hour_file(&database, this_hour)).await, by_node);
        let tables = restarted.table_stats().await.expect("the tables");
        let logs = tables
            .iter()
            .find(|table| table.table_name == "stream_logs");
        assert_eq!(logs.map(|table| table.rows), Some(6));
        assert_eq!(
            restarted.log_stats(None).await.expect("counted"),
            [("system.interval".to_owned(), 6)]
        );
        restarted.close().await;
    });
}

/// An hour's file is made by the store's own statements, not by the migrations: its messages'
/// columns, its counts and its index of network states are those of the main file, so that one
/// query reads either (a migration changed without them fails here).
#[test]
fn sqlite_an_hours_file_is_shaped_as_the_main_file() {
    use nodepulse::serve::store::SqlStore;
    use nodepulse::serve::store::streams::{NodeRef, StreamBatch, StreamStore};
    let database = database(Kind::Sqlite, "hours_shape");
    let runtime = crate::common::store_runtime();
    runtime.block_on(async {
        let store = SqlStore::open(&database).await.expect("open");
        let now = crate::common::unix_ms();
        store
            .write_streams(&StreamBatch {
                connects: vec![alice_connects(now)],
                logs: vec![interval_row(NodeRef::Connecting(0), now, false)],
                ..StreamBatch::default()
            })
            .await
            .expect("stored");
        store.close().await;
        let main_file = database.trim_start_matches("sqlite://").to_owned();
        let shape = |path: String| async move {
            let pool = sqlx::AnyPool::connect(&format!("sqlite://{path}"))
                .await
                .expect("the file");
            let described = [
                "SELECT name || ' ' || type || ' ' || \"notnull\" || ' ' || pk \
                 FROM pragma_table_xinfo('stream_logs') ORDER BY cid",
                "SELECT name || ' ' || type || ' ' || \"notnull\" || ' ' || pk \
                 FROM pragma_table_xinfo('stream_log_counts') ORDER BY cid",
                "SELECT coalesce(name, '(row id)') || ' ' || \"desc\" || ' ' || key \
                 FROM pragma_index_xinfo('stream_logs_network_states') ORDER BY seqno",
            ];
            let mut shape = Vec::new();
            for description in described {
                let lines: Vec<String> = sqlx::query_scalar(description)
                    .fetch_all(&pool)
                    .await
                    .unwrap_or_else(|err| panic!("{description} in {path}: {err}"));
                shape.push(lines.join(", "));
            }
            let partial: String = sqlx::query_scalar(
                "SELECT sql FROM sqlite_master WHERE name = 'stream_logs_network_states'",
            )
            .fetch_one(&pool)
            .await
            .expect("the index's definition");
            let condition = partial
                .split_once(" WHERE ")
                .map(|(_, condition)| condition);
            shape.push(format!(
                "where: {}",
                condition
                    .unwrap_or_default()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
            pool.close().await;
            shape
        };
        let main = shape(main_file).await;
        assert!(main.iter().all(|part| !part.is_empty()), "{main:?}");
        assert_eq!(shape(hour_file(&database, now)).await, main);
    });
}

/// An hour's file an earlier build wrote, without the counts of its messages or the index of
/// their network states: every node's `/nodes/log_stats` and `/stats/db` count it whole, with a
/// batch written into that hour since, until the purge's first step counts it and indexes it; then
/// they read its counts, which agree.
#[test]
fn sqlite_an_hours_file_from_before_the_counts_is_counted() {
    use nodepulse::serve::store::SqlStore;
    use nodepulse::serve::store::streams::{NodeRef, StreamBatch, StreamStore};
    let database = database(Kind::Sqlite, "hours_before_counts");
    let runtime = crate::common::store_runtime();
    runtime.block_on(async {
        let store = SqlStore::open(&database).await.expect("open");
        let now = crate::common::unix_ms();
        let ids = store
            .write_streams(&StreamBatch {
                connects: vec![alice_connects(now)],
                ..StreamBatch::default()
            })
            .await
            .expect("stored");
        store.close().await;
        // The file of the hour before last, as the build before the counts made it.
        let earlier = now - 2 * 3_600_000;
        let path = hour_file(&database, earlier);
        let legacy = sqlx::AnyPool::connect(&format!("sqlite://{path}?mode=rwc"))
            .await
            .expect("an hour's file");
        for statement in [
            "CREATE TABLE stream_logs (id INTEGER PRIMARY KEY, node_id INTEGER NOT NULL, \
             created_ms INTEGER NOT NULL, msg TEXT NOT NULL, target TEXT, \
             audit INTEGER NOT NULL, log TEXT NOT NULL)",
            "CREATE INDEX stream_logs_by_node ON stream_logs (node_id, created_ms)",
        ] {
            sqlx::query(statement)
                .execute(&legacy)
                .await
                .expect("the old shape");
        }
        for msg in ["system.interval", "system.interval", "block.import"] {
            sqlx::query(
                "INSERT INTO stream_logs (node_id, created_ms, msg, audit, log) \
                 VALUES ($1, $2, $3, 0, '{}')",
            )
            .bind(ids[0])
            .bind(earlier)
            .bind(msg)
            .execute(&legacy)
            .await
            .expect("a message");
        }
        legacy.close().await;

        let store = SqlStore::open(&database).await.expect("open again");
        let expected = |intervals: i64| {
            vec![
                ("block.import".to_owned(), 1),
                ("system.interval".to_owned(), intervals),
            ]
        };
        assert_eq!(store.log_stats(None).await.expect("counted"), expected(2));
        assert_eq!(
            store.log_stats(Some(ALICE)).await.expect("counted"),
            expected(2)
        );
        let late = StreamBatch {
            logs: vec![interval_row(NodeRef::Known(ids[0]), earlier + 1, false)],
            ..StreamBatch::default()
        };
        store.write_streams(&late).await.expect("stored");
        assert_eq!(store.log_stats(None).await.expect("counted"), expected(3));
        let incomplete = "stream_log_counts_incomplete";
        assert!(
            schema_names(&path, "table")
                .await
                .iter()
                .any(|name| name == incomplete)
        );
        store.make_days(now).await.expect("the past hours finished");
        assert!(
            !schema_names(&path, "table")
                .await
                .iter()
                .any(|name| name == incomplete)
        );
        assert_eq!(
            indexes(&path).await,
            ["stream_logs_by_node", "stream_logs_network_states"]
        );
        assert_eq!(store.log_stats(None).await.expect("counted"), expected(3));
        let tables = store.table_stats().await.expect("the tables");
        let logs = tables
            .iter()
            .find(|table| table.table_name == "stream_logs");
        assert_eq!(logs.map(|table| table.rows), Some(4));
        store.close().await;
    });
}

/// How many of this process's descriptors are open on the file at `path`.
fn descriptors_on(path: &str) -> usize {
    let file = std::fs::canonicalize(path).expect("the file");
    std::fs::read_dir("/proc/self/fd")
        .expect("this process's descriptors")
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter(|target| *target == file)
        .count()
}

/// A node's newest messages are read from the newest hours only as far back as the limit needs:
/// an older hour's file is not opened when the newer ones hold enough (every read opened every
/// hour of the raw window, and kept each one's connection and cache), and is when they do not.
#[test]
fn sqlite_reads_back_only_as_many_hours_as_the_limit_needs() {
    use nodepulse::serve::store::SqlStore;
    use nodepulse::serve::store::streams::{NodeRef, StreamBatch, StreamStore};
    const HOUR_MS: i64 = 3_600_000;
    let database = database(Kind::Sqlite, "hours_read_back");
    let runtime = crate::common::store_runtime();
    runtime.block_on(async {
        let now = crate::common::unix_ms();
        let this_hour = now - now.rem_euclid(HOUR_MS);
        let hour_before = this_hour - 1;
        let store = SqlStore::open(&database).await.expect("open");
        store
            .write_streams(&StreamBatch {
                connects: vec![alice_connects(hour_before - HOUR_MS)],
                logs: [hour_before - 1, hour_before, this_hour, now]
                    .into_iter()
                    .map(|at| interval_row(NodeRef::Connecting(0), at, false))
                    .collect(),
                ..StreamBatch::default()
            })
            .await
            .expect("stored");
        store.close().await;

        // Opened again, no hour's file is open until a read uses it.
        let store = SqlStore::open(&database).await.expect("open again");
        let older = hour_file(&database, hour_before);
        assert_eq!(descriptors_on(&older), 0);
        assert_eq!(newest_stored_at(&store, ALICE, 2).await, [now, this_hour]);
        assert_eq!(descriptors_on(&older), 0, "the hour before was opened");
        assert_eq!(
            newest_stored_at(&store, ALICE, 3).await,
            [now, this_hour, hour_before]
        );
        assert_eq!(descriptors_on(&older), 1, "the hour before was not read");
        store.close().await;
    });
}

/// A batch is written in statements of many rows each (16 on PostgreSQL; on SQLite, whose
/// parameters are bound by their place, 256, then 16 for the rest): 600 messages, some of them
/// from `/audit` (SQLite's main file), are stored whole, each with its own time.
#[test]
fn a_batch_of_many_statements_is_stored_whole() {
    use nodepulse::serve::store::SqlStore;
    use nodepulse::serve::store::streams::{NodeRef, StreamBatch, StreamStore};
    for kind in KINDS {
        let database = database(kind, "many_statements");
        let runtime = crate::common::store_runtime();
        runtime.block_on(async {
            let store = SqlStore::open(&database).await.expect("open");
            let now = crate::common::unix_ms();
            let stamps: Vec<i64> = (0..600).map(|back| now - back * 7).collect();
            store
                .write_streams(&StreamBatch {
                    connects: vec![alice_connects(now - 600 * 7)],
                    logs: stamps
                        .iter()
                        .enumerate()
                        .map(|(at, stamp)| {
                            interval_row(NodeRef::Connecting(0), *stamp, at % 9 == 0)
                        })
                        .collect(),
                    ..StreamBatch::default()
                })
                .await
                .expect("stored");
            assert_eq!(
                newest_stored_at(&store, ALICE, 1_000).await,
                stamps,
                "{kind:?}"
            );
            store.close().await;
        });
    }
}

/// A store on `database` with alice connected a minute ago: the store, her node, and now.
async fn alice_a_minute_ago(
    database: &str,
) -> (
    nodepulse::serve::store::SqlStore,
    nodepulse::serve::store::streams::NodeRef,
    i64,
) {
    use nodepulse::serve::store::streams::{NodeRef, StreamBatch, StreamStore};
    let store = nodepulse::serve::store::SqlStore::open(database)
        .await
        .expect("open");
    let now = crate::common::unix_ms();
    let ids = store
        .write_streams(&StreamBatch {
            connects: vec![alice_connects(now - 60_000)],
            ..StreamBatch::default()
        })
        .await
        .expect("connected");
    (store, NodeRef::Known(ids[0]), now)
}

/// The alerts read each node's name and last contact alone (not its state): what they read agrees
/// with the whole node's row, after a later contact moved it on.
#[test]
fn node_contacts_agree_with_the_nodes_rows() {
    use nodepulse::serve::store::streams::{NodeContact, Seen, StreamBatch, StreamStore};
    for kind in KINDS {
        let database = database(kind, "node_contacts");
        let runtime = crate::common::store_runtime();
        runtime.block_on(async {
            let (store, alice, now) = alice_a_minute_ago(&database).await;
            let contact = Seen {
                node: alice,
                at_ms: now,
                state: Some(r#"{"best_height":10}"#.into()),
                sample: None,
            };
            store
                .write_streams(&StreamBatch {
                    seen: vec![contact],
                    ..StreamBatch::default()
                })
                .await
                .expect("seen");
            let whole: Vec<NodeContact> = store
                .stream_nodes()
                .await
                .expect("nodes")
                .into_iter()
                .map(|node| NodeContact {
                    peer_id: node.identity.peer_id,
                    name: node.identity.name,
                    last_seen_ms: node.last_seen_ms,
                })
                .collect();
            let contacts = store.node_contacts().await.expect("contacts");
            assert_eq!(contacts, whole, "{kind:?}");
            assert_eq!(
                contacts,
                vec![NodeContact {
                    peer_id: ALICE.into(),
                    name: Some("alice".into()),
                    last_seen_ms: now,
                }],
                "{kind:?}"
            );
            store.close().await;
        });
    }
}

/// A connection's going marks its node gone unless a newer contact was written for it since its
/// last message there (it connected again on another connection, or to another instance).
#[test]
fn a_going_connection_marks_its_node_gone_only_if_it_was_not_heard_since() {
    use nodepulse::serve::store::streams::{Gone, Seen, StreamBatch, StreamStore};
    for kind in KINDS {
        let database = database(kind, "node_going");
        let runtime = crate::common::store_runtime();
        runtime.block_on(async {
            let (store, alice, now) = alice_a_minute_ago(&database).await;
            let going = |heard_ms| StreamBatch {
                disconnects: vec![Gone {
                    node: alice,
                    at_ms: now,
                    heard_ms,
                }],
                ..StreamBatch::default()
            };
            let disconnected = || async {
                let nodes = store.stream_nodes().await.expect("nodes");
                nodes[0].disconnected_ms
            };
            // The new connection's contact, then the old one's going, last heard before it.
            let again = Seen {
                node: alice,
                at_ms: now - 1_000,
                state: None,
                sample: None,
            };
            store
                .write_streams(&StreamBatch {
                    seen: vec![again],
                    ..going(now - 30_000)
                })
                .await
                .expect("written");
            assert_eq!(disconnected().await, None, "{kind:?}");
            // The going of the connection that was heard last.
            store
                .write_streams(&going(now - 1_000))
                .await
                .expect("written");
            assert_eq!(disconnected().await, Some(now), "{kind:?}");
            store.close().await;
        });
    }
}

/// One node read by its peer id agrees with the whole list: a node's page reads it so, not every
/// node whole. A peer id on two chains reads as the node that connected first.
#[test]
fn one_node_read_by_its_peer_id_agrees_with_the_whole_list() {
    use nodepulse::serve::store::SqlStore;
    use nodepulse::serve::store::streams::{StreamBatch, StreamStore};
    for kind in KINDS {
        let database = database(kind, "one_node");
        let runtime = crate::common::store_runtime();
        runtime.block_on(async {
            let store = SqlStore::open(&database).await.expect("open");
            let now = crate::common::unix_ms();
            let named = |name: &str, peer_id: &str| {
                let mut connect = alice_connects(now);
                connect.identity.name = Some(name.into());
                connect.identity.peer_id = peer_id.into();
                connect
            };
            let mut alice_elsewhere = named("alice on a test net", ALICE);
            alice_elsewhere.identity.genesis_hash = format!("0x{}", "ab".repeat(32));
            for connect in [
                alice_connects(now),
                named("bob", BOB),
                named("carol", CAROL),
                alice_elsewhere,
            ] {
                store
                    .write_streams(&StreamBatch {
                        connects: vec![connect],
                        ..StreamBatch::default()
                    })
                    .await
                    .expect("connected");
            }
            let all = store.stream_nodes().await.expect("nodes");
            let names: Vec<Option<&str>> = all
                .iter()
                .map(|node| node.identity.name.as_deref())
                .collect();
            assert_eq!(
                names,
                [
                    Some("alice"),
                    Some("bob"),
                    Some("carol"),
                    Some("alice on a test net")
                ],
                "{kind:?}"
            );
            let one = |peer_id: &'static str| store.stream_node(peer_id);
            assert_eq!(
                one(BOB).await.expect("bob"),
                Some(all[1].clone()),
                "{kind:?}"
            );
            assert_eq!(
                one(ALICE).await.expect("alice"),
                Some(all[0].clone()),
                "{kind:?}"
            );
            assert_eq!(
                one("12D3KooWNobody").await.expect("nobody"),
                None,
                "{kind:?}"
            );
            store.close().await;
        });
    }
}

/// Every node's `/nodes/log_stats` reads the counts kept beside the messages, each node's
/// counts its messages: after a kill -9, a restart and (PostgreSQL) a second instance writing on
/// the same database, the kept counts still agree with the messages, on each instance.
#[test]
fn kept_message_counts_agree_with_the_messages_after_kill_9_and_beside_a_second_instance() {
    let total = |answer: &Value| -> u64 {
        answer.as_array().map_or(0, |rows| {
            rows.iter().filter_map(|row| row["qty"].as_u64()).sum()
        })
    };
    for kind in KINDS {
        let database = database(kind, "streams-counts-kill-9");
        let key = add_key(&database, "reader", false);
        let mut receiver = Receiver::start(&database, &[]);
        let mut client = StreamClient::connect(&ws(&receiver, "/submit"));
        assert!(client.send(&wrapped(1, connected("alice", ALICE))));
        for height in 0..3 {
            assert!(client.send(&wrapped(1, interval(height + 10, 3))));
        }
        data_when(&receiver, "/nodes/log_stats", &key, |answer| {
            total(answer) == 4
        });
        receiver.process.0.kill().expect("kill -9");
        receiver.process.0.wait().expect("reaped");
        drop(client);

        let again = Receiver::start_on(&database, &receiver.address, &[]);
        let second = (kind == Kind::Postgres).then(|| Receiver::start(&database, &[]));
        let mut alice = StreamClient::connect(&ws(&again, "/submit"));
        assert!(alice.send(&wrapped(1, connected("alice", ALICE))));
        assert!(alice.send(&wrapped(1, interval(13, 3))));
        let mut bob = StreamClient::connect(&ws(second.as_ref().unwrap_or(&again), "/submit"));
        assert!(bob.send(&wrapped(1, connected("bob", BOB))));
        assert!(bob.send(&wrapped(1, interval(20, 3))));
        for instance in std::iter::once(&again).chain(second.as_ref()) {
            let everyone = data_when(instance, "/nodes/log_stats", &key, |answer| {
                total(answer) == 8
            });
            let alice = instance.rows(&format!("/nodes/log_stats?peer_id={ALICE}"), &key);
            let bob = instance.rows(&format!("/nodes/log_stats?peer_id={BOB}"), &key);
            assert_eq!((total(&alice), total(&bob)), (6, 2), "{kind:?}");
            let of = |answer: &Value, kind: &str| {
                answer.as_array().and_then(|rows| {
                    rows.iter()
                        .find(|row| row["log_type"] == kind)
                        .and_then(|row| row["qty"].as_u64())
                })
            };
            for msg in ["system.connected", "system.interval"] {
                assert_eq!(
                    of(&everyone, msg).unwrap_or(0),
                    of(&alice, msg).unwrap_or(0) + of(&bob, msg).unwrap_or(0),
                    "{kind:?} {msg}: {everyone}"
                );
            }
        }
    }
}

/// SQLite's hours' files are as durable as the main file: what was queryable is there after a
/// kill -9 that left it in an hour's write-ahead log only, and the restarted server writes on
/// into the hours it found.
#[test]
fn sqlite_hours_files_outlive_kill_9() {
    let database = database(Kind::Sqlite, "streams-hours-kill-9");
    let key = add_key(&database, "reader", false);
    let logs = format!("/nodes/logs?peer_id={ALICE}");
    let count = |logs: &Value| logs.as_array().map_or(0, Vec::len);
    let mut receiver = Receiver::start(&database, &[]);
    let mut client = StreamClient::connect(&ws(&receiver, "/submit"));
    assert!(client.send(&wrapped(1, connected("alice", ALICE))));
    for height in 0..3 {
        assert!(client.send(&wrapped(1, interval(height + 10, 3))));
    }
    data_when(&receiver, &logs, &key, |answer| count(answer) == 4);
    receiver.process.0.kill().expect("kill -9");
    receiver.process.0.wait().expect("reaped");
    let in_logs_only = message_files(&database).iter().any(|url| {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        std::fs::metadata(format!("{path}-wal")).is_ok_and(|wal| wal.len() > 0)
    });
    assert!(
        in_logs_only,
        "no hour's write-ahead log was left to recover"
    );

    let again = Receiver::start_on(&database, &receiver.address, &[]);
    assert_eq!(count(&again.rows(&logs, &key)), 4);
    let mut client = StreamClient::connect(&ws(&again, "/submit"));
    assert!(client.send(&wrapped(1, connected("alice", ALICE))));
    assert!(client.send(&wrapped(1, interval(13, 3))));
    data_when(&again, &logs, &key, |answer| count(answer) == 6);
}

/// An hour's file that cannot be made (a folder stands where it goes, as a full disk or a
/// read-only folder would refuse it) holds its batch back, the warning naming the file; once it
/// can be made, the batch is stored whole.
#[test]
fn sqlite_an_hours_file_that_cannot_be_made_holds_its_batch_back() {
    let database = database(Kind::Sqlite, "streams-hour-refused");
    let key = add_key(&database, "reader", false);
    let mut receiver = Receiver::start(&database, &[]);
    // This hour's file and the next's, should the hour end meanwhile.
    let now = crate::common::unix_ms();
    let blocked = [
        hour_file(&database, now),
        hour_file(&database, now + 3_600_000),
    ];
    for path in &blocked {
        std::fs::create_dir(path).expect("a folder in the file's place");
    }
    let mut client = StreamClient::connect(&ws(&receiver, "/submit"));
    assert!(client.send(&wrapped(1, connected("alice", ALICE))));
    assert!(client.send(&wrapped(1, interval(10, 3))));
    let warned = eventually(Duration::from_secs(60), || {
        let stderr = receiver.process.stderr();
        blocked
            .iter()
            .any(|path| stderr.contains(&format!("cannot write the stream messages' file {path}")))
    });
    assert!(warned, "{}", receiver.process.stderr());
    // The node's connect is in the batch held back.
    assert!(!has_node(&receiver.rows("/nodes", &key), ALICE));
    for path in &blocked {
        std::fs::remove_dir(path).expect("the folder removed");
    }
    let logs = data_when(
        &receiver,
        &format!("/nodes/logs?peer_id={ALICE}"),
        &key,
        |logs| logs.as_array().map(Vec::len) == Some(2),
    );
    assert_eq!(logs[0]["msg"], "system.interval", "{logs}");
    assert_eq!(
        receiver.metric("nodepulse_serve_stream_refused_total{reason=\"unstorable\"}"),
        0.0
    );
}

/// On PostgreSQL the purge drops whole days: the partitions of days wholly past the raw window
/// (messages) or the retention (samples) go, with their rows, and today's stay; the coming days'
/// partitions are made ahead, by each instance at start and at each purge, once between them; a
/// batch whose day has none makes it.
#[test]
fn postgresql_drops_the_days_past_their_window_whole() {
    use nodepulse::serve::store::SqlStore;
    use nodepulse::serve::store::streams::{NodeRef, Seen, StreamBatch, StreamStore};
    const DAY_MS: i64 = 86_400_000;
    let database = database(Kind::Postgres, "days");
    let runtime = crate::common::store_runtime();
    runtime.block_on(async {
        let store = SqlStore::open(&database).await.expect("open");
        let now = crate::common::unix_ms();
        // Five days ago two instances on the database made that day's partitions and the next
        // two at once (one after the other, under their lock); a later start found them made.
        let then = now - 5 * DAY_MS;
        let second = SqlStore::open(&database).await.expect("a second instance");
        let (first_made, second_made) = tokio::join!(store.make_days(then), second.make_days(then));
        first_made.expect("days made");
        second_made.expect("days made beside another instance");
        second.close().await;
        store.make_days(then).await.expect("made once");
        let batch = |at_ms: i64, node: NodeRef| StreamBatch {
            connects: match node {
                NodeRef::Connecting(_) => vec![alice_connects(at_ms)],
                NodeRef::Known(_) => Vec::new(),
            },
            logs: vec![interval_row(node, at_ms, false)],
            seen: vec![Seen {
                node,
                at_ms,
                state: None,
                sample: Some(r#"{"best_height":10}"#.into()),
            }],
            ..StreamBatch::default()
        };
        let ids = store
            .write_streams(&batch(then, NodeRef::Connecting(0)))
            .await
            .expect("stored");
        let node = NodeRef::Known(ids[0]);
        store
            .write_streams(&batch(now - 3 * DAY_MS, node))
            .await
            .expect("stored");
        store
            .write_streams(&batch(now, node))
            .await
            .expect("stored");

        // Messages past two days, samples past four: the days wholly before go.
        let mut dropped = store
            .drop_days(now - 2 * DAY_MS, now - 4 * DAY_MS)
            .await
            .expect("dropped");
        dropped.sort();
        let day = |ms: i64| {
            let at = std::time::UNIX_EPOCH + Duration::from_millis(ms as u64);
            humantime::format_rfc3339_seconds(at).to_string()[..10].replace('-', "")
        };
        let mut expected: Vec<String> = (3..=5)
            .map(|back| format!("stream_logs_raw_{}", day(now - back * DAY_MS)))
            .chain([format!("stream_samples_{}", day(then))])
            .collect();
        expected.sort();
        assert_eq!(dropped, expected);
        // What stays: today's message, and the samples of three days ago and today. Nothing
        // went to the default partitions, which the row-by-row purges then find empty.
        assert_eq!(stored_at(&store, ALICE).await, [now]);
        let interval = |qty: i64| vec![("system.interval".to_owned(), qty)];
        assert_eq!(
            store.log_stats(None).await.expect("counted"),
            interval(1),
            "the days' counts went with them"
        );
        let samples = store
            .stream_series(ALICE, 0, i64::MAX, 60_000)
            .await
            .expect("the samples");
        let kept: Vec<i64> = samples.iter().map(|sample| sample.at_ms).collect();
        assert_eq!(kept, [now - 3 * DAY_MS, now]);
        assert_eq!(
            store
                .purge_logs(now - 2 * DAY_MS, 100)
                .await
                .expect("purged"),
            0
        );
        assert_eq!(
            store
                .purge_samples(now - 4 * DAY_MS, 100)
                .await
                .expect("purged"),
            0
        );
        // Dropping again finds nothing more but a day detached by a purge that stopped before
        // dropping it.
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&database)
            .await
            .expect("the database");
        let detached = format!("stream_logs_raw_{}", day(now - 10 * DAY_MS));
        sqlx::query(&format!("CREATE TABLE {detached} (LIKE stream_logs_raw)"))
            .execute(&pool)
            .await
            .expect("a detached day");
        let again = store
            .drop_days(now - 2 * DAY_MS, now - 4 * DAY_MS)
            .await
            .expect("dropped");
        assert_eq!(again, [detached]);
        // Today's partitions gone (never made, or dropped by hand), a message is stored all the
        // same: the writer makes the days, then writes again.
        for table in ["stream_logs_raw", "stream_samples"] {
            sqlx::query(&format!("DROP TABLE {table}_{}", day(now)))
                .execute(&pool)
                .await
                .expect("today's partition dropped");
        }
        store
            .write_streams(&batch(now + 1, node))
            .await
            .expect("stored once its day was made");
        let homes: Vec<String> = sqlx::query_scalar(
            "SELECT tableoid::regclass::text FROM stream_logs_raw UNION ALL \
             SELECT tableoid::regclass::text FROM stream_samples ORDER BY 1",
        )
        .fetch_all(&pool)
        .await
        .expect("the partitions");
        assert_eq!(
            homes,
            [
                format!("stream_logs_raw_{}", day(now + 1)),
                format!("stream_samples_{}", day(now - 3 * DAY_MS)),
                format!("stream_samples_{}", day(now + 1)),
            ]
        );
        // A batch stamped before today (a clock set back, or one stamped before midnight and
        // written after it) into days that were never made: the writer makes its days too.
        let long_ago = now - 10 * DAY_MS;
        store
            .write_streams(&batch(long_ago, node))
            .await
            .expect("stored once its own day was made");
        let home: String = sqlx::query_scalar(
            "SELECT tableoid::regclass::text FROM stream_logs_raw WHERE created_ms = $1",
        )
        .bind(long_ago)
        .fetch_one(&pool)
        .await
        .expect("the message");
        assert_eq!(home, format!("stream_logs_raw_{}", day(long_ago)));
        // Counts of a day with no table, as an instance of an earlier build left them when it
        // dropped the day: forgotten at the next drop, where they would be counted for ever.
        sqlx::query(
            "INSERT INTO stream_log_counts (day, audit, msg, counter, qty) \
             VALUES ($1, 0, 'system.interval', 7, 40)",
        )
        .bind(now.div_euclid(DAY_MS) - 20)
        .execute(&pool)
        .await
        .expect("a gone day's counts");
        assert_eq!(store.log_stats(None).await.expect("counted"), interval(43));
        // That day is past the window: the next purge drops it again, its count with it.
        let again = store
            .drop_days(now - 2 * DAY_MS, now - 4 * DAY_MS)
            .await
            .expect("dropped");
        assert_eq!(
            again,
            [
                format!("stream_logs_raw_{}", day(long_ago)),
                format!("stream_samples_{}", day(long_ago)),
            ]
        );
        assert_eq!(store.log_stats(None).await.expect("counted"), interval(2));
        // Yesterday's counts as three restarts left them (three counters, one an audit count):
        // summed into counter 0 by the next purge, the totals as they were; today's stay apart.
        let yesterday = now.div_euclid(DAY_MS) - 1;
        for (audit, counter, qty) in [(0, 7, 40), (0, 9, 2), (1, 8, 5)] {
            sqlx::query(
                "INSERT INTO stream_log_counts (day, audit, msg, counter, qty) \
                 VALUES ($1, $2, 'system.interval', $3, $4)",
            )
            .bind(yesterday)
            .bind(audit)
            .bind(counter)
            .bind(qty)
            .execute(&pool)
            .await
            .expect("a restart's counts");
        }
        let counts = || async {
            sqlx::query_as::<_, (i64, i64, i64, i64)>(
                "SELECT day, CAST(audit AS BIGINT), CAST(counter AS BIGINT), qty \
                 FROM stream_log_counts ORDER BY 1, 2, 3",
            )
            .fetch_all(&pool)
            .await
            .expect("the counts")
        };
        let today: Vec<_> = counts()
            .await
            .into_iter()
            .filter(|row| row.0 > yesterday)
            .collect();
        // Two instances on the database purge at once: each row is folded once.
        let second = SqlStore::open(&database).await.expect("a second instance");
        let (mine, theirs) = tokio::join!(
            store.drop_days(now - 2 * DAY_MS, now - 4 * DAY_MS),
            second.drop_days(now - 2 * DAY_MS, now - 4 * DAY_MS)
        );
        mine.expect("purged");
        theirs.expect("purged by the second");
        second.close().await;
        assert_eq!(store.log_stats(None).await.expect("counted"), interval(49));
        let mut folded = vec![(yesterday, 0, 0, 42), (yesterday, 1, 0, 5)];
        folded.extend(today);
        assert_eq!(counts().await, folded);
        pool.close().await;
        store.close().await;
    });
}

/// A raw window under an hour: the messages past it are deleted row by row (on PostgreSQL from the
/// day's partition), a batch at a time, each batch reading on from where the last one ended; all
/// of them go, and only they. A message older than the window written after a purge ended is
/// found by the next one.
#[test]
fn a_raw_window_under_a_day_purges_its_messages_batch_after_batch() {
    use nodepulse::serve::store::SqlStore;
    use nodepulse::serve::store::streams::{NodeRef, StreamBatch, StreamStore};
    const HOUR_MS: i64 = 3_600_000;
    for kind in KINDS {
        let database = database(kind, "raw_window_batches");
        let runtime = crate::common::store_runtime();
        runtime.block_on(async {
            let store = SqlStore::open(&database).await.expect("open");
            let now = crate::common::unix_ms();
            // A minute's window, its edge at least a second into its hour (and so its day): every
            // message past it lies in the same hour as the edge, which SQLite's file of that hour
            // holds (the hours before go whole).
            let hour_start = (now - 60_000).div_euclid(HOUR_MS) * HOUR_MS;
            let before = (now - 60_000).max(hour_start + 1_000);
            let log = |node, created_ms| interval_row(node, created_ms, false);
            let old: Vec<i64> = (1..=25).map(|back| before - back).collect();
            let ids = store
                .write_streams(&StreamBatch {
                    connects: vec![alice_connects(before - 25)],
                    logs: old
                        .iter()
                        .map(|&at| log(NodeRef::Connecting(0), at))
                        .chain((0..5).map(|_| log(NodeRef::Connecting(0), now)))
                        .collect(),
                    ..StreamBatch::default()
                })
                .await
                .expect("stored");
            let mut batches = Vec::new();
            loop {
                let deleted = store.purge_logs(before, 10).await.expect("purged");
                batches.push(deleted);
                if deleted < 10 {
                    break;
                }
            }
            assert_eq!(batches, [10, 10, 5], "{kind:?}");
            assert_eq!(store.purge_logs(before, 10).await.expect("purged"), 0);
            let late = StreamBatch {
                logs: (1..=3)
                    .map(|back| log(NodeRef::Known(ids[0]), before - back))
                    .collect(),
                ..StreamBatch::default()
            };
            store.write_streams(&late).await.expect("stored");
            assert_eq!(
                store.purge_logs(before, 10).await.expect("purged"),
                3,
                "{kind:?}: the late messages"
            );
            if kind == Kind::Postgres {
                // A second instance on the database (or this one restarted) has a cursor of its
                // own: it purges from the first row, and the first instance, reading on past
                // rows the other deleted, finds nothing more and no error.
                let more = StreamBatch {
                    logs: (1..=15)
                        .map(|back| log(NodeRef::Known(ids[0]), before - back))
                        .collect(),
                    ..StreamBatch::default()
                };
                store.write_streams(&more).await.expect("stored");
                let second = SqlStore::open(&database).await.expect("a second instance");
                assert_eq!(store.purge_logs(before, 10).await.expect("purged"), 10);
                assert_eq!(second.purge_logs(before, 10).await.expect("purged"), 5);
                assert_eq!(store.purge_logs(before, 10).await.expect("purged"), 0);
                second.close().await;
            }
            assert_eq!(stored_at(&store, ALICE).await, [now; 5], "{kind:?}");
            // What each batch deleted was taken off the counts, on either instance.
            assert_eq!(
                store.log_stats(None).await.expect("counted"),
                [("system.interval".to_owned(), 5)],
                "{kind:?}"
            );
            let tables = store.table_stats().await.expect("the tables");
            let logs = tables
                .iter()
                .find(|table| table.table_name == "stream_logs");
            assert_eq!(logs.map(|table| table.rows), Some(5), "{kind:?}");
            store.close().await;
        });
    }
}
