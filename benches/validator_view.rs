//! The validator view's costs, on this machine:
//!
//! - the agent, per epoch, for 1 and 1,000 watched validators: requests, bytes read and CPU time of
//!   the watcher's thread, against a beacon node (in this process, on its own thread) that answers
//!   the standard routes, the rewards API included, for mainnet's clock;
//! - `serve`, for a day of 1,000 validators (225 epoch reports): the time to store a report (p50,
//!   p99) and the bytes on disk per validator-epoch, on SQLite (and PostgreSQL when
//!   NODEPULSE_BENCH_POSTGRES names a server).
//!
//! `cargo bench --bench validator_view`

mod common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use nodepulse::agent::beacon::BeaconApi;
use nodepulse::agent::duties::{DutyWatcher, ValidatorId, When};

use common::{Served, add_key, databases, percentile};

const GENESIS: u64 = 1_606_824_023;
const SLOTS: u64 = 32;
const SECONDS_PER_SLOT: u64 = 12;
const EPOCHS: u64 = 20;

/// What the fake node counts: requests and bytes answered.
#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    bytes: AtomicU64,
}

async fn count(State(counts): State<Arc<Counts>>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    counts.requests.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    counts
        .bytes
        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

fn ids(body: &Bytes) -> Vec<u64> {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let list = value.get("ids").cloned().unwrap_or(value);
    list.as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(|id| id.as_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// A beacon node with mainnet's clock, answering for any validator index it is asked about.
fn node(validators: u64) -> Router {
    let pubkey = |index: u64| format!("0x{index:096x}");
    Router::new()
        .route(
            "/eth/v1/beacon/genesis",
            get(|| async { json!({"data": {"genesis_time": GENESIS.to_string()}}).to_string() }),
        )
        .route(
            "/eth/v1/config/spec",
            get(|| async {
                json!({"data": {"SECONDS_PER_SLOT": SECONDS_PER_SLOT.to_string(), "SLOTS_PER_EPOCH": SLOTS.to_string()}})
                    .to_string()
            }),
        )
        .route(
            "/eth/v1/validator/duties/proposer/{epoch}",
            get(move |Path(epoch): Path<u64>| async move {
                // One of ours proposes in the epoch's first slot; the rest are strangers'.
                let duties: Vec<Value> = (0..SLOTS)
                    .map(|n| {
                        let index = if n == 0 { epoch % validators } else { 5_000_000 + n };
                        json!({"pubkey": pubkey(index), "validator_index": index.to_string(), "slot": (epoch * SLOTS + n).to_string()})
                    })
                    .collect();
                json!({"dependent_root": "0x00", "execution_optimistic": false, "data": duties}).to_string()
            }),
        )
        .route(
            "/eth/v1/beacon/states/head/validators",
            post(move |body: Bytes| async move {
                let states: Vec<Value> = ids(&body)
                    .into_iter()
                    .map(|index| json!({"index": index.to_string(), "balance": "32001234567", "status": "active_ongoing",
                        "validator": {"pubkey": pubkey(index), "withdrawal_credentials": format!("0x01{:062x}", index),
                        "effective_balance": "32000000000", "slashed": false, "activation_eligibility_epoch": "0",
                        "activation_epoch": "0", "exit_epoch": "18446744073709551615", "withdrawable_epoch": "18446744073709551615"}}))
                    .collect();
                json!({"execution_optimistic": false, "finalized": false, "data": states}).to_string()
            }),
        )
        .route(
            "/eth/v1/beacon/rewards/attestations/{epoch}",
            post(|body: Bytes| async move {
                let rewards: Vec<Value> = ids(&body)
                    .into_iter()
                    .map(|index| json!({"validator_index": index.to_string(), "head": "2856", "target": "5320", "source": "2862", "inactivity": "0"}))
                    .collect();
                json!({"execution_optimistic": false, "finalized": true, "data": {"ideal_rewards": [], "total_rewards": rewards}}).to_string()
            }),
        )
        .route(
            "/eth/v1/validator/duties/sync/{epoch}",
            post(|| async { json!({"execution_optimistic": false, "data": []}).to_string() }),
        )
        .route(
            "/eth/v1/beacon/headers/{slot}",
            get(move |Path(slot): Path<u64>| async move {
                let proposer = if slot % SLOTS == 0 { (slot / SLOTS) % validators } else { 5_000_000 + slot % SLOTS };
                json!({"data": {"root": format!("0x{slot:064x}"), "canonical": true, "header": {"message": {
                    "slot": slot.to_string(), "proposer_index": proposer.to_string(),
                    "parent_root": "0x00", "state_root": "0x00", "body_root": "0x00"}, "signature": "0x00"}}})
                .to_string()
            }),
        )
}

/// The watcher over `EPOCHS` epochs of `validators`: requests, bytes and CPU per epoch.
fn agent_cost(validators: u64) -> (f64, f64, Duration) {
    let counts = Arc::new(Counts::default());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let address = listener.local_addr().expect("address");
    let app = node(validators).layer(middleware::from_fn_with_state(Arc::clone(&counts), count));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let api = BeaconApi::new(
        format!("http://{address}").parse().expect("URL"),
        Duration::from_secs(10),
    )
    .expect("client");
    let watched: Vec<ValidatorId> = (0..validators).map(ValidatorId::Index).collect();
    let watcher = DutyWatcher::new(api, watched);
    let first = 400_000;
    let at = |epoch: u64, slot: u64| {
        SystemTime::UNIX_EPOCH
            + Duration::from_secs(GENESIS + (epoch * SLOTS + slot) * SECONDS_PER_SLOT)
    };
    // Warm up: the clock and the offers are learned once.
    runtime
        .block_on(watcher.observe(at(first, 20), When::Due))
        .expect("first epoch");
    let (requests, bytes) = (
        counts.requests.load(Ordering::Relaxed),
        counts.bytes.load(Ordering::Relaxed),
    );
    let cpu = thread_cpu();
    for epoch in first + 1..=first + EPOCHS {
        let report = runtime
            .block_on(watcher.observe(at(epoch, 20), When::Due))
            .expect("observe");
        assert_eq!(report.map(|r| r.validators.len() as u64), Some(validators));
    }
    let cpu = thread_cpu() - cpu;
    (
        (counts.requests.load(Ordering::Relaxed) - requests) as f64 / EPOCHS as f64,
        (counts.bytes.load(Ordering::Relaxed) - bytes) as f64 / EPOCHS as f64,
        cpu / EPOCHS as u32,
    )
}

/// CPU time of this thread so far (the kernel's count, in nanoseconds).
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let nanos = text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(nanos)
}

fn report(epoch: u64, validators: u64) -> Value {
    let entries: Vec<Value> = (0..validators)
        .map(|index| {
            json!({"index": 400_000 + index, "status": "active", "balance": 32_001_234_567u64 + index * 7,
                   "effective_balance": 32_000_000_000u64, "attested": index % 100 != 0,
                   "votes": {"head": index % 50 != 0, "target": index % 100 != 0, "source": index % 100 != 0, "reward": 11_038}})
        })
        .collect();
    json!({"version": 1, "clock": {"genesis_time": GENESIS, "seconds_per_slot": SECONDS_PER_SLOT, "slots_per_epoch": SLOTS},
           "epoch": epoch, "attestations_from": "rewards", "proposals_known": true, "validators": entries})
}

fn server_cost() {
    let dir =
        std::env::temp_dir().join(format!("nodepulse-bench-validators-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let sqlite_file = dir.join("validators.db");
    let client = reqwest::Client::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for (label, database) in databases(&sqlite_file, "validators") {
        let key = add_key(&database, "bench", false);
        let served = Served::start(&database, &[]);
        let now_epoch = (SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("clock")
            .as_secs()
            - GENESIS)
            / (SLOTS * SECONDS_PER_SLOT);
        let mut took = Vec::new();
        for epoch in now_epoch - 225..now_epoch {
            let body = report(epoch, 1000).to_string();
            let started = Instant::now();
            let answer = runtime
                .block_on(
                    client
                        .post(format!(
                            "{}/api/v1/client/validators?machine=rig",
                            served.base
                        ))
                        .header("apikey", &key)
                        .header("Content-Type", "application/json")
                        .body(body)
                        .send(),
                )
                .expect("POST");
            took.push(started.elapsed());
            assert_eq!(answer.status(), 200);
        }
        took.sort();
        println!(
            "{label}: a day of 1,000 validators (225 reports): p50 {:.1} ms, p99 {:.1} ms a report",
            percentile(&took, 0.5).as_secs_f64() * 1e3,
            percentile(&took, 0.99).as_secs_f64() * 1e3
        );
        drop(served);
        let rows = 225_000.0;
        let bytes = if label == "SQLite" {
            let output = Command::new("python3")
                .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute(\"SELECT SUM(pgsize) FROM dbstat WHERE name='validator_epochs'\").fetchone()[0])"])
                .arg(&sqlite_file)
                .output()
                .expect("python3");
            String::from_utf8_lossy(&output.stdout)
                .trim()
                .parse::<f64>()
                .unwrap_or(0.0)
        } else {
            let server = std::env::var("NODEPULSE_BENCH_POSTGRES").unwrap_or_default();
            let (base, _) = server.rsplit_once('/').expect("a database in the URL");
            let name = database.rsplit('/').next().unwrap_or_default();
            let output = Command::new("psql")
                .args([
                    &format!("{base}/{name}"),
                    "-tAc",
                    "SELECT pg_total_relation_size('validator_epochs')",
                ])
                .output()
                .expect("psql");
            String::from_utf8_lossy(&output.stdout)
                .trim()
                .parse::<f64>()
                .unwrap_or(0.0)
        };
        println!(
            "{label}: validator_epochs holds {bytes:.0} bytes = {:.1} bytes a validator-epoch (with its key)",
            bytes / rows
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    for validators in [1, 1000] {
        let (requests, bytes, cpu) = agent_cost(validators);
        println!(
            "agent, {validators} validators: {requests:.1} requests, {:.1} KB read, {:.2} ms CPU an epoch",
            bytes / 1024.0,
            cpu.as_secs_f64() * 1e3
        );
    }
    server_cost();
}
