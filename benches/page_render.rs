//! The status page under a real fleet's history, on this machine, against SQLite (and PostgreSQL
//! when NODEPULSE_BENCH_POSTGRES names a server):
//!
//! - `GET /` signed in with an admin key, 1,000 machines;
//! - `GET /machines/NAME` over 1 h, 24 h and 7 d for a machine with a full week of history (one
//!   object per process per minute: 30,240 objects);
//! - `GET /stream-nodes/PEER_ID` over the same windows for a Polkadot node with a full week of
//!   `system.interval` messages every 5 s (120,960 messages) and its minute samples (10,080),
//!   which the charts read.
//!
//! History is written straight through the store. p50/p99 latency of 30 gzipped requests each, and
//! the page's bytes, as HTML and as sent gzipped.
//! `cargo bench --bench page_render`

mod common;

use std::time::{Duration, Instant, SystemTime};

use nodepulse::serve::store::streams::{
    Connect, LogRow, NodeRef, Seen, StreamBatch, StreamFormat, StreamStore,
};
use nodepulse::serve::store::{SqlStore, Store, Submission};
use nodepulse::wire::client_stats::decode;
use nodepulse::wire::telemetry::decode::{substrate_identity, substrate_state};
use serde_json::{Value, json};

use common::{BODY, Served, add_key, bench_start, databases, percentile};

const WEEK_MINUTES: i64 = 7 * 1440;
const PEER_ID: &str = "12D3KooWBenchBenchBenchBench1";
const GENESIS: &str = "0x91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as i64)
}

/// The request body `minutes` before the newest: counters lower by what the host and its beacon
/// node add, the load changing every half hour.
fn body_at(minutes: i64) -> Vec<u8> {
    let mut objects: Vec<Value> = serde_json::from_str(BODY).expect("the body is JSON");
    for object in &mut objects {
        for (field, back) in [
            ("cpu_node_idle_seconds_total", 80 * minutes),
            (
                "cpu_node_user_seconds_total",
                30 * minutes + 10 * (minutes / 30),
            ),
            ("cpu_node_system_seconds_total", 10 * minutes),
            ("network_node_bytes_total_receive", 9_000_000 * minutes),
            ("network_node_bytes_total_transmit", 3_000_000 * minutes),
            ("sync_beacon_head_slot", 5 * minutes),
        ] {
            if let Some(value) = object[field].as_i64() {
                object[field] = (value - back).into();
            }
        }
    }
    serde_json::to_vec(&objects).expect("json")
}

/// 1,000 machines' newest objects, a week of one of them, and a week of one stream node.
async fn fill(database: &str, key_id: i64) {
    let store = SqlStore::open(database).await.expect("store");
    let now = now_ms();
    let newest = decode::decode(BODY.as_bytes()).expect("the body decodes");
    let fleet: Vec<Submission> = (1..1000)
        .map(|machine| Submission {
            key_id,
            machine: format!("rig-{machine:04}"),
            received_ms: now,
            objects: newest.clone(),
        })
        .collect();
    store.insert(&fleet).await.expect("insert");
    let week: Vec<Submission> = (0..WEEK_MINUTES)
        .rev()
        .map(|minutes| Submission {
            key_id,
            machine: "rig-0000".into(),
            received_ms: now - minutes * 60_000,
            objects: decode::decode(&body_at(minutes)).expect("decodes"),
        })
        .collect();
    for batch in week.chunks(500) {
        store.insert(batch).await.expect("insert");
    }

    let hello = json!({
        "msg": "system.connected", "chain": "Polkadot", "genesis_hash": GENESIS, "name": "bench",
        "implementation": "Parity Polkadot", "version": "1.15.2", "network_id": PEER_ID,
    });
    let identity = substrate_identity(hello.as_object().expect("an object")).expect("identity");
    // A batch a minute, as the batcher writes them: its twelve messages, and the node's first
    // contact of the minute with its sample.
    let started_ms = now - WEEK_MINUTES * 60_000;
    let mut node = None;
    for minute in 0..WEEK_MINUTES {
        let reference = node.map_or(NodeRef::Connecting(0), NodeRef::Known);
        let messages: Vec<(i64, Value)> = (0..12)
            .map(|n| {
                let height = 20_000_000 + minute * 12 + n;
                let message = json!({
                    "msg": "system.interval", "peers": 20 + (minute + n) % 30, "height": height,
                    "best": format!("0x{height:064x}"), "finalized_height": height - 2,
                    "finalized_hash": format!("0x{:064x}", height - 2), "txcount": 3,
                    "bandwidth_upload": 41_235.5, "bandwidth_download": 52_101.25,
                    "used_state_cache_size": 5_369_088
                });
                (started_ms + minute * 60_000 + n * 5_000, message)
            })
            .collect();
        let (first_ms, first) = &messages[0];
        let sample = substrate_state(first.as_object().expect("an object"));
        let batch = StreamBatch {
            connects: match node {
                Some(_) => Vec::new(),
                None => vec![Connect {
                    identity: identity.clone(),
                    format: StreamFormat::Substrate,
                    ip: "127.0.0.1".into(),
                    audit: false,
                    at_ms: started_ms,
                }],
            },
            logs: messages
                .iter()
                .map(|(at_ms, message)| LogRow {
                    node: reference,
                    created_ms: *at_ms,
                    msg: "system.interval".into(),
                    target: None,
                    audit: false,
                    log: message.to_string(),
                })
                .collect(),
            blocks: Vec::new(),
            seen: vec![Seen {
                node: reference,
                at_ms: *first_ms,
                state: None,
                sample: Some(Value::Object(sample).to_string()),
            }],
            disconnects: Vec::new(),
        };
        let ids = store.write_streams(&batch).await.expect("write");
        node = node.or(ids.first().copied());
    }
    store.close().await;
}

fn main() {
    let (runtime, dir) = bench_start("nodepulse-page-bench");
    // Its own gzip handling off, so that what crossed the wire can be counted; the sign-in's
    // answer (a redirect) kept, for its cookie.
    let client = reqwest::Client::builder()
        .no_gzip()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for (label, database) in databases(&dir.join("page.db"), "page_bench") {
        add_key(&database, "fleet", false);
        let admin = add_key(&database, "root", true);
        let started = Instant::now();
        runtime.block_on(fill(&database, 1));
        println!(
            "{label}: history written in {:.0} s",
            started.elapsed().as_secs_f64()
        );
        let served = Served::start(&database, &["--public-reads"]);
        // The pages are read as an operator signed in with the admin key reads them.
        let signed_in = runtime
            .block_on(
                client
                    .post(format!("{}/login", served.base))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(format!("key={admin}"))
                    .send(),
            )
            .expect("signed in");
        let session = signed_in
            .headers()
            .get("Set-Cookie")
            .and_then(|cookie| cookie.to_str().ok())
            .and_then(|cookie| cookie.split(';').next())
            .expect("a session cookie")
            .to_owned();
        for path in [
            "/".to_owned(),
            "/machines/rig-0000?key=fleet&window=1h".to_owned(),
            "/machines/rig-0000?key=fleet&window=24h".to_owned(),
            "/machines/rig-0000?key=fleet&window=7d".to_owned(),
            format!("/stream-nodes/{PEER_ID}?window=1h"),
            format!("/stream-nodes/{PEER_ID}?window=24h"),
            format!("/stream-nodes/{PEER_ID}?window=7d"),
        ] {
            let url = format!("{}{path}", served.base);
            let get = |gzip: bool| {
                let mut request = client.get(&url).header("Cookie", &session);
                if gzip {
                    request = request.header("Accept-Encoding", "gzip");
                }
                let answer = runtime.block_on(request.send()).expect("answered");
                assert_eq!(answer.status(), 200, "{path}");
                runtime.block_on(answer.bytes()).expect("body")
            };
            let html = get(false);
            let shown = String::from_utf8_lossy(&html);
            assert!(
                shown.contains("<polyline") || path == "/",
                "{path}: no chart"
            );
            let mut latencies: Vec<Duration> = Vec::new();
            let mut gzipped = 0;
            for _ in 0..30 {
                let started = Instant::now();
                gzipped = get(true).len();
                latencies.push(started.elapsed());
            }
            latencies.sort();
            println!(
                "{label}: GET {path}: p50 {:.1} ms, p99 {:.1} ms, {} bytes ({gzipped} gzipped)",
                percentile(&latencies, 0.5).as_secs_f64() * 1e3,
                percentile(&latencies, 0.99).as_secs_f64() * 1e3,
                html.len(),
            );
        }
        drop(served);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
