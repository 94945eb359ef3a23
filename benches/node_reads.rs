//! The reads that answer every stream node at once, under many readers at a time, on this machine,
//! against SQLite (and PostgreSQL when NODEPULSE_BENCH_POSTGRES names a server): `/nodes`,
//! `/api/nodes`, the status page `/` and the chain's answer and page (`/api/chains/GENESIS`,
//! `/chains/GENESIS`), keyless as `--public-reads` opens them to anyone, and one node's page beside
//! them (`/stats/db` with a key: it is the operator's).
//!
//! `--nodes` stream nodes (10,000 by default) are written straight through the store, each with
//! the identity and state the stream loader's Polkadot nodes have, and `--messages` kept messages
//! each (100), a second apart up to now, one in 60 a `system.network_state` naming 25 peers: what
//! every node's `/nodes/log_stats`, `/stats/db` and `/reputation` read, also measured (with
//! `max_age_s` an hour, and with each reader asking for a window of its own). Then, for each
//! path, `--readers` requests (32) are sent at once, `--rounds` times (3). Reported: p50/p99 latency, the answer's
//! bytes, and the peak RSS (VmHWM) of a `serve` started for the path, beside its RSS before the
//! first request: what a crowd of keyless readers costs the server in memory.
//!
//! `cargo bench --bench node_reads [-- --nodes 10000 --messages 100 --readers 32 --rounds 3]`

mod common;

use std::time::{Duration, Instant};

use nodepulse::serve::store::SqlStore;
use nodepulse::serve::store::streams::{
    Connect, LogRow, NodeRef, Seen, StreamBatch, StreamFormat, StreamStore,
};
use nodepulse::wire::telemetry::decode::{substrate_identity, substrate_state};
use serde_json::Value;

use common::streams::{connected, interval, peak_rss_kib, reset_peak_rss, rss_kib};
use common::{Served, add_key, bench_start, databases, flag_number, percentile};

struct Options {
    nodes: u64,
    messages: u64,
    readers: usize,
    rounds: usize,
}

fn options() -> Options {
    Options {
        nodes: flag_number("--nodes", 10_000),
        messages: flag_number("--messages", 100),
        readers: flag_number("--readers", 32),
        rounds: flag_number("--rounds", 3),
    }
}

/// A sent frame's payload, as the decoder sees it.
fn payload(frame: &str) -> serde_json::Map<String, Value> {
    let mut frame: Value = serde_json::from_str(frame).expect("the loader's frames are JSON");
    match frame["payload"].take() {
        Value::Object(payload) => payload,
        _ => panic!("the loader's frames carry an object"),
    }
}

/// A kept message of node `node` (the store's id), `back` seconds before `now_ms`.
fn message(node: i64, now_ms: i64, back: u64) -> LogRow {
    let created_ms = now_ms - i64::try_from(back * 1000).unwrap_or(i64::MAX);
    let (msg, log) = if back.is_multiple_of(60) {
        let peers: Vec<(String, i64, bool)> = (0..25)
            .map(|peer| (common::streams::peer_id(peer, 0), 50 - peer as i64, true))
            .collect();
        let nodes: serde_json::Map<String, Value> = peers
            .into_iter()
            .map(|(peer, reputation, connected)| {
                let seen = serde_json::json!({"reputation": reputation, "connected": connected});
                (peer, seen)
            })
            .collect();
        let state = serde_json::json!({"state": {"peerset": {"nodes": nodes}}});
        ("system.network_state", state.to_string())
    } else {
        let interval = payload(&interval(0, 20_000_000 + back));
        ("system.interval", Value::Object(interval).to_string())
    };
    LogRow {
        node: NodeRef::Known(node),
        created_ms,
        msg: msg.to_owned(),
        target: None,
        audit: false,
        log,
    }
}

/// `nodes` nodes, 20 to a loader connection, each connected with its latest state and `messages`
/// messages.
async fn fill(database: &str, nodes: u64, messages: u64) {
    let store = SqlStore::open(database).await.expect("store");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as i64);
    for first in (0..nodes).step_by(500) {
        let batch: Vec<u64> = (first..(first + 500).min(nodes)).collect();
        let connects = batch
            .iter()
            .map(|node| Connect {
                identity: substrate_identity(&payload(&connected(node / 20, node % 20)))
                    .expect("the loader's nodes identify themselves"),
                format: StreamFormat::Substrate,
                ip: "127.0.0.1".into(),
                audit: false,
                at_ms: now_ms,
            })
            .collect();
        let seen = batch
            .iter()
            .enumerate()
            .map(|(at, node)| Seen {
                node: NodeRef::Connecting(at),
                at_ms: now_ms,
                state: Some(
                    Value::Object(substrate_state(&payload(&interval(
                        node % 20,
                        20_000_000 + node,
                    ))))
                    .to_string(),
                ),
                sample: None,
            })
            .collect();
        let batch = StreamBatch {
            connects,
            logs: Vec::new(),
            blocks: Vec::new(),
            seen,
            disconnects: Vec::new(),
        };
        let ids = store.write_streams(&batch).await.expect("write");
        // Oldest first, as they would have come; ten seconds of the 500 nodes' a batch.
        for first_back in (0..messages).rev().step_by(10) {
            let logs: Vec<LogRow> = (first_back.saturating_sub(9)..=first_back)
                .rev()
                .flat_map(|back| ids.iter().map(move |id| message(*id, now_ms, back)))
                .collect();
            let batch = StreamBatch {
                logs,
                ..StreamBatch::default()
            };
            store.write_streams(&batch).await.expect("write");
        }
    }
    store.close().await;
}

fn main() {
    let options = options();
    let (runtime, dir) = bench_start("nodepulse-reads-bench");
    let client = reqwest::Client::new();
    for (label, database) in databases(&dir.join("reads.db"), "reads_bench") {
        let filling = Instant::now();
        runtime.block_on(fill(&database, options.nodes, options.messages));
        println!(
            "{label}: {} nodes, {} messages each, written in {:.0} s",
            options.nodes,
            options.messages,
            filling.elapsed().as_secs_f64()
        );
        // `/stats/db` is read with a key, even under `--public-reads`; the rest without.
        let key = add_key(&database, "bench", false);
        let one_node = common::streams::peer_id(0, 0);
        let chain = common::streams::GENESIS;
        for path in [
            "/nodes".to_owned(),
            "/api/nodes".to_owned(),
            "/".to_owned(),
            format!("/stream-nodes/{one_node}"),
            format!("/api/chains/{chain}"),
            format!("/chains/{chain}"),
            "/nodes/log_stats".to_owned(),
            "/stats/db".to_owned(),
            // An hour: the messages' span and the bench's own length after them.
            "/reputation?max_age_s=3600".to_owned(),
            // Each reader a window of its own, an hour and its number in seconds: a new key for
            // every request, as a reader set on making the server hold many answers asks.
            "/reputation?max_age_s={3600 + reader}".to_owned(),
        ] {
            // A server of its own for each path, so that what one path left in memory is not
            // counted to the next. Every reader comes from 127.0.0.1 (`Served` raises the rate
            // limits out of the way): the crowd stands for readers from many addresses, whom the
            // per-address limits do not stop.
            let served = Served::start(
                &database,
                &["--public-reads", "--max-http-connections-per-ip", "1024"],
            );
            let pid = served.child.id().to_string();
            let url = |reader: usize| match path.strip_suffix("{3600 + reader}") {
                Some(prefix) => format!("{}{prefix}{}", served.base, 3600 + reader),
                None => format!("{}{path}", served.base),
            };
            let before_kib = rss_kib(&pid);
            reset_peak_rss(&pid);
            let mut latencies: Vec<Duration> = Vec::new();
            let mut bytes = 0;
            let mut refused = 0;
            for _ in 0..options.rounds {
                let answers = runtime.block_on(futures_util::future::join_all(
                    (0..options.readers).map(|reader| {
                        let mut request = client.get(url(reader));
                        if path == "/stats/db" {
                            request = request.header("apikey", &key);
                        }
                        async move {
                            let started = Instant::now();
                            let answer = request.send().await.expect("answered");
                            let status = answer.status();
                            let body = answer.bytes().await.expect("body");
                            (started.elapsed(), status, body.len())
                        }
                    }),
                ));
                for (took, status, size) in answers {
                    latencies.push(took);
                    if status == 200 {
                        bytes = size;
                    } else {
                        refused += 1;
                    }
                }
            }
            latencies.sort();
            println!(
                "{label}: GET {path} x {} at once, {} rounds, {} nodes: p50 {:.0} ms, p99 {:.0} ms, \
                 {bytes} bytes, {refused} not 200; serve RSS {:.1} MB before, peak {:.1} MB",
                options.readers,
                options.rounds,
                options.nodes,
                percentile(&latencies, 0.5).as_secs_f64() * 1e3,
                percentile(&latencies, 0.99).as_secs_f64() * 1e3,
                before_kib as f64 / 1024.0,
                peak_rss_kib(&pid) as f64 / 1024.0,
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
