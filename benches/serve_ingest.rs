//! `nodepulse serve` under load, on this machine, against SQLite (and PostgreSQL when
//! NODEPULSE_BENCH_POSTGRES names a server, e.g. the cluster scripts/postgres.sh starts):
//!
//! - stored POSTs per second, 3 objects each (beacon node, validator, system), every request from a
//!   machine not yet seen that minute so that nothing is dropped; p50/p99 latency;
//! - the same for requests the per-minute rule drops (all to one machine);
//! - bytes on disk per stored object;
//! - `GET /api/v1/machines` latency with 1,000 machines and a day of history (4.3 M objects,
//!   written straight through the store).
//!
//! The load generator runs on the same two cores as the server, so the figures are a floor.
//! `cargo bench --bench serve_ingest [-- --requests N --concurrency C --skip-history]`

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use nodepulse::serve::store::{SqlStore, Store, Submission};
use nodepulse::wire::client_stats::decode;
use tokio::sync::Semaphore;

use common::{BODY, Served, add_key, bench_start, databases, flag_number, percentile};

struct Options {
    requests: usize,
    concurrency: usize,
    history: bool,
}

fn options() -> Options {
    Options {
        requests: flag_number("--requests", 20_000),
        concurrency: flag_number("--concurrency", 32),
        history: !std::env::args().any(|arg| arg == "--skip-history"),
    }
}

/// `requests` POSTs, `concurrency` at a time; the path of request `n` from `path(n)`.
async fn load(
    client: &reqwest::Client,
    requests: usize,
    concurrency: usize,
    path: impl Fn(usize) -> String,
) -> (Duration, Vec<Duration>, Vec<u16>) {
    let gate = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(requests);
    for n in 0..requests {
        let permit = Arc::clone(&gate).acquire_owned().await.expect("semaphore");
        let request = client.post(path(n)).body(BODY);
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let status = request
                .send()
                .await
                .map(|answer| answer.status().as_u16())
                .unwrap_or(0);
            drop(permit);
            (sent.elapsed(), status)
        }));
    }
    let mut latencies = Vec::with_capacity(requests);
    let mut statuses = Vec::with_capacity(requests);
    for task in tasks {
        let (took, status) = task.await.expect("task");
        latencies.push(took);
        statuses.push(status);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    (elapsed, latencies, statuses)
}

fn report(what: &str, elapsed: Duration, latencies: &[Duration], statuses: &[u16]) {
    let count = |status: u16| statuses.iter().filter(|s| **s == status).count();
    println!(
        "{what}: {} requests in {:.2} s = {:.0}/s; p50 {:.2} ms, p99 {:.2} ms; 200: {}, 429: {}, other: {}",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(latencies, 0.5).as_secs_f64() * 1e3,
        percentile(latencies, 0.99).as_secs_f64() * 1e3,
        count(200),
        count(429),
        statuses.len() - count(200) - count(429),
    );
}

fn file_bytes(path: &std::path::Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", path.display())).ok())
        .map(|meta| meta.len())
        .sum()
}

/// A day of history for 1,000 machines: one object per process per minute, written straight
/// through the store in transactions of 500 requests.
async fn fill_a_day(database: &str, key_id: i64) -> usize {
    let store = SqlStore::open(database).await.expect("store");
    let objects = decode::decode(BODY.as_bytes()).expect("the body decodes");
    let now_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64;
    let mut batch = Vec::with_capacity(500);
    let mut written = 0;
    for minute in 0..1440i64 {
        for machine in 0..1000 {
            batch.push(Submission {
                key_id,
                machine: format!("rig-{machine:04}"),
                received_ms: now_ms - (1440 - minute) * 60_000,
                objects: objects.clone(),
            });
            if batch.len() == 500 {
                written += store
                    .insert(&batch)
                    .await
                    .expect("insert")
                    .iter()
                    .map(Vec::len)
                    .sum::<usize>();
                batch.clear();
            }
        }
    }
    written
}

fn main() {
    let options = options();
    let (runtime, dir) = bench_start("nodepulse-bench");
    let databases = databases(&dir.join("ingest.db"), "bench");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("client");

    for (label, database) in &databases {
        let key = add_key(database, "bench", false);
        let served = Served::start(database, &[]);
        let before = file_bytes(&dir.join("ingest.db"));
        let (elapsed, latencies, statuses) =
            runtime.block_on(load(&client, options.requests, options.concurrency, |n| {
                format!("{}/api/v1/stats/{key}/machine-{n}", served.base)
            }));
        report(&format!("{label}, stored"), elapsed, &latencies, &statuses);
        let stored = statuses.iter().filter(|status| **status == 200).count() * 3;
        let (elapsed, latencies, statuses) = runtime.block_on(load(
            &client,
            options.requests / 2,
            options.concurrency,
            |_| format!("{}/api/v1/stats/{key}/machine-0", served.base),
        ));
        report(
            &format!("{label}, dropped by the per-minute rule"),
            elapsed,
            &latencies,
            &statuses,
        );
        drop(served); // SIGTERM, and wait for the exit
        if *label == "SQLite" {
            let grown = file_bytes(&dir.join("ingest.db")).saturating_sub(before);
            println!(
                "{label}: {grown} bytes for {stored} objects = {} bytes per object (with machines and the key index)",
                grown / stored.max(1) as u64
            );
        }
    }

    if options.history {
        for (label, database) in &databases {
            let history = if *label == "SQLite" {
                format!("sqlite://{}", dir.join("history.db").display())
            } else {
                format!("{database}_history")
            };
            if *label == "PostgreSQL" {
                let server = std::env::var("NODEPULSE_BENCH_POSTGRES").unwrap_or_default();
                let name = history.rsplit('/').next().unwrap_or_default().to_owned();
                let _ = Command::new("psql")
                    .args([&server, "-qc", &format!("CREATE DATABASE {name}")])
                    .status();
            }
            add_key(&history, "fleet", false);
            let admin = add_key(&history, "root", true);
            let started = Instant::now();
            let written = runtime.block_on(fill_a_day(&history, 1));
            println!(
                "{label}: wrote a day of 1,000 machines ({written} objects) in {:.0} s",
                started.elapsed().as_secs_f64()
            );
            if *label == "SQLite" {
                let bytes = file_bytes(&dir.join("history.db"));
                println!(
                    "{label}: {bytes} bytes on disk for {written} objects = {} bytes per object",
                    bytes / written.max(1) as u64
                );
            }
            let served = Served::start(&history, &[]);
            for (path, smallest) in [
                ("/api/v1/machines", 1_000_000),
                ("/api/v1/machines/rig-0500/stats?limit=1440", 500_000),
                ("/api/v1/user/stats/0/180", 100_000),
            ] {
                let url = format!("{}{path}", served.base);
                let mut latencies = Vec::new();
                for _ in 0..30 {
                    let started = Instant::now();
                    let answer = runtime
                        .block_on(client.get(&url).header("apikey", &admin).send())
                        .expect("answered");
                    assert_eq!(answer.status(), 200);
                    let body = runtime.block_on(answer.bytes()).expect("body");
                    assert!(body.len() > smallest, "{path}: {} bytes", body.len());
                    latencies.push(started.elapsed());
                }
                latencies.sort();
                println!(
                    "{label}: GET {path} (1,000 machines, a day): p50 {:.1} ms, p99 {:.1} ms",
                    percentile(&latencies, 0.5).as_secs_f64() * 1e3,
                    percentile(&latencies, 0.99).as_secs_f64() * 1e3
                );
            }
            drop(served); // SIGTERM, and wait for the exit
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
