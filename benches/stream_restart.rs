//! `nodepulse serve` restarted under a whole network, on this machine, with SQLite (and
//! PostgreSQL when NODEPULSE_BENCH_POSTGRES names a server): 500 connections x 20 nodes (10,000
//! nodes) streaming a message a second. After `--before` seconds the server is stopped (SIGTERM,
//! as systemd stops it) and started again on the same address. Each connection, cut, opens again
//! after a delay of its own, the connections spread evenly over `--spread` seconds as nodes'
//! backoffs spread them, and its nodes announce themselves again and stream on.
//!
//! Reported: how long after the new server answered all the nodes were back (their
//! `system.connected` committed) and each had a message stored after the restart, with the count
//! at each second; and what the new server refused (its `*refused*` counters). Every address here
//! is 127.0.0.1, so the per-address limits are raised out of the way: what is measured is the
//! server, not a limit meant for one machine on the internet.
//!
//! `cargo bench --bench stream_restart [-- --connections 500 --before 10 --spread 3 --after 30]`

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use common::streams::{NODES_PER_CONNECTION, connect, connected, interval};
use common::{Served, add_key, bench_start, databases, flag_number};

struct Options {
    connections: u64,
    before: u64,
    spread: u64,
    after: u64,
}

fn options() -> Options {
    Options {
        connections: flag_number("--connections", 500),
        before: flag_number("--before", 10),
        spread: flag_number("--spread", 3),
        after: flag_number("--after", 30),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as i64)
}

/// One connection's nodes, a message a second each, until `done`; cut, it waits `delay` and
/// opens again (trying for up to 30 s while the server is down), and its nodes announce
/// themselves again.
async fn stream(url: String, connection: u64, delay: Duration, done: Arc<AtomicBool>) {
    let mut height = 1_000;
    let mut cut = false;
    while !done.load(Ordering::Relaxed) {
        if cut {
            tokio::time::sleep(delay).await;
        }
        let Some(mut socket) = connect(&url, Duration::from_secs(30)).await else {
            eprintln!("connection {connection} never opened again");
            return;
        };
        cut = true;
        let mut open = true;
        for id in 1..=NODES_PER_CONNECTION {
            open &= socket
                .send(Message::text(connected(connection, id)))
                .await
                .is_ok();
        }
        let every = Duration::from_micros(1_000_000 / NODES_PER_CONNECTION);
        let mut tick = tokio::time::interval(every);
        let mut n = 0;
        while open && !done.load(Ordering::Relaxed) {
            tick.tick().await;
            let id = n % NODES_PER_CONNECTION + 1;
            if id == 1 {
                height += 1;
            }
            open = socket
                .send(Message::text(interval(id, height)))
                .await
                .is_ok();
            n += 1;
        }
        if open {
            let _ = socket.close(None).await;
            return;
        }
    }
}

/// The nodes whose `system.connected` since `since_ms` is committed (and who are not gone), and
/// those with a `system.interval` stored since then.
async fn back(pool: &sqlx::AnyPool, since_ms: i64) -> (i64, i64) {
    let connected: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM stream_nodes WHERE connected_ms >= $1 AND disconnected_ms IS NULL",
    )
    .bind(since_ms)
    .fetch_one(pool)
    .await
    .unwrap_or(-1);
    let stored: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT node_id) FROM stream_logs \
         WHERE created_ms >= $1 AND msg = 'system.interval'",
    )
    .bind(since_ms)
    .fetch_one(pool)
    .await
    .unwrap_or(-1);
    (connected, stored)
}

/// The server's counters of what it refused, as `/metrics` gives them, those above zero.
async fn refusals(base: &str) -> Vec<String> {
    let text = match reqwest::get(format!("{base}/metrics")).await {
        Ok(answer) => answer.text().await.unwrap_or_default(),
        Err(err) => return vec![format!("/metrics did not answer: {err}")],
    };
    text.lines()
        .filter(|line| !line.starts_with('#') && line.contains("refused"))
        .filter(|line| {
            line.rsplit(' ')
                .next()
                .and_then(|value| value.parse::<f64>().ok())
                .is_some_and(|value| value > 0.0)
        })
        .map(str::to_owned)
        .collect()
}

fn main() {
    let options = options();
    let (runtime, dir) = bench_start("nodepulse-restart");
    let nodes = options.connections * NODES_PER_CONNECTION;
    let flags = [
        "--max-connections-per-ip",
        "100000",
        "--max-http-connections-per-ip",
        "100000",
        "--max-stream-rate",
        "64MiB",
    ];
    for (label, database) in databases(&dir.join("streams.db"), "bench_restart") {
        add_key(&database, "bench", false);
        let served = Served::start(&database, &flags);
        let address = served.address.clone();
        let url = format!("ws://{address}/submit");
        let done = Arc::new(AtomicBool::new(false));
        let spread_ms = options.spread * 1000;
        let streams: Vec<_> = (0..options.connections)
            .map(|connection| {
                let delay = Duration::from_millis(spread_ms * connection / options.connections);
                runtime.spawn(stream(url.clone(), connection, delay, Arc::clone(&done)))
            })
            .collect();
        std::thread::sleep(Duration::from_secs(options.before));

        // The restart: SIGTERM, wait for the exit, start again where the nodes know it.
        let stopping = Instant::now();
        drop(served);
        let stopped = stopping.elapsed();
        let restarted_ms = now_ms();
        let served = Served::start_on(&database, &address, &flags);
        let answered = stopping.elapsed();
        let pool = runtime.block_on(async {
            sqlx::any::install_default_drivers();
            sqlx::AnyPool::connect(&database)
                .await
                .expect("the database")
        });
        let mut all_back = None;
        let mut seconds = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(options.after);
        let mut next_second = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            let (connected, stored) = runtime.block_on(back(&pool, restarted_ms));
            if Instant::now() >= next_second {
                seconds.push(format!("{connected}/{stored}"));
                next_second += Duration::from_secs(1);
            }
            if connected >= nodes as i64 && stored >= nodes as i64 {
                all_back = Some(now_ms() - restarted_ms);
                break;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        let refused = runtime.block_on(refusals(&served.base));
        done.store(true, Ordering::Relaxed);
        runtime.block_on(async {
            for stream in streams {
                let _ = stream.await;
            }
            pool.close().await;
        });
        drop(served);
        println!(
            "{label}, {} connections x {NODES_PER_CONNECTION} nodes, reconnecting spread over {} s: \
             stopped in {:.1} s, answering again {:.1} s after the stop began; {}; \
             back/stored at each second: {}; refused: {}",
            options.connections,
            options.spread,
            stopped.as_secs_f64(),
            answered.as_secs_f64(),
            match all_back {
                Some(ms) => format!(
                    "all {nodes} back and stored {:.1} s after the restart",
                    ms as f64 / 1e3
                ),
                None => format!("NOT all {nodes} back within {} s", options.after),
            },
            seconds.join(" "),
            if refused.is_empty() {
                "nothing".to_owned()
            } else {
                refused.join(", ")
            },
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
