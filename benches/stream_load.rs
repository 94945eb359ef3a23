//! `nodepulse serve` taking telemetry streams, on this machine, into SQLite (and PostgreSQL when
//! NODEPULSE_BENCH_POSTGRES names a server): the load substrate-telemetry was measured with, 500
//! connections x 20 nodes x 1 message per second in the wrapped form (10,000 frames/s), and steps
//! above it to find where it saturates.
//!
//! For each step: frames sent per second, the server's CPU-ms per 1,000 frames (and the loader's,
//! which shares the two cores), the server's RSS, whether a backlog grew (everything sent is stored
//! within 2 s of the end), and the time from sending a probe frame to reading it back through
//! `/nodes/logs` (p50/p99, a probe every 250 ms). Then bytes on disk per stored message.
//!
//! `cargo bench --bench stream_load [-- --seconds 30 --connections 500 --steps 1,2,4
//! --frames-per-block 6 --floor]` (a step multiplies the per-node rate; a node reports a new best
//! block every 6 messages, 1 makes each message one, the network view's worst case).
//!
//! `--floor` runs the same steps once more against `serve --bench-discard-streams`, which reads
//! and decodes every frame and then drops it: what reading and parsing alone cost. Each database's
//! CPU per 1,000 frames is then given divided by the floor's.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use serde_json::json;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use common::{Served, add_key, databases, percentile};

const GENESIS: &str = "0x91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3";
const NODES_PER_CONNECTION: u64 = 20;
/// The label of the run against `serve --bench-discard-streams`.
const FLOOR: &str = "floor (read and decode, then drop)";

struct Options {
    seconds: u64,
    connections: u64,
    steps: Vec<u64>,
    /// A node's messages per new best block: 6 is Polkadot's (a block every 6 s, a message a
    /// second); 1 makes every message a new block, the network view's worst case.
    frames_per_block: u64,
    floor: bool,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|arg| arg == name)
            .and_then(|at| args.get(at + 1))
            .cloned()
    };
    Options {
        seconds: value("--seconds")
            .and_then(|v| v.parse().ok())
            .unwrap_or(30),
        connections: value("--connections")
            .and_then(|v| v.parse().ok())
            .unwrap_or(500),
        steps: value("--steps")
            .map(|v| v.split(',').filter_map(|s| s.parse().ok()).collect())
            .unwrap_or_else(|| vec![1, 2, 4]),
        frames_per_block: value("--frames-per-block")
            .and_then(|v| v.parse().ok())
            .filter(|frames| *frames > 0)
            .unwrap_or(6),
        floor: args.iter().any(|arg| arg == "--floor"),
    }
}

fn peer_id(connection: u64, id: u64) -> String {
    format!("12D3KooWBench{connection:05}x{id:02}")
}

fn connected(connection: u64, id: u64) -> String {
    json!({"id": id, "ts": "2026-11-29T10:00:00.000000000+00:00", "payload": {
        "msg": "system.connected", "chain": "Polkadot", "genesis_hash": GENESIS,
        "name": format!("bench-{connection}-{id}"), "implementation": "Parity Polkadot",
        "version": "1.15.2-7c4a5b3a6a0", "config": "", "authority": false,
        "startup_time": "1764410000000", "network_id": peer_id(connection, id),
        "target_os": "linux", "target_arch": "x86_64", "target_env": "gnu",
        "sysinfo": {"cpu": "AMD EPYC 7B13", "memory": 33654108160u64, "core_count": 8,
            "linux_kernel": "6.1.0-28-cloud-amd64", "linux_distro": "Debian GNU/Linux 12 (bookworm)",
            "is_virtual_machine": true}}})
    .to_string()
}

/// `system.interval` as sc-telemetry sends it, about 420 bytes.
fn interval(id: u64, height: u64) -> String {
    json!({"id": id, "ts": "2026-11-29T10:00:01.123456789+00:00", "payload": {
        "msg": "system.interval", "peers": 40, "height": height,
        "best": format!("0x{height:064x}"), "finalized_height": height - 2,
        "finalized_hash": format!("0x{:064x}", height - 2), "txcount": 3,
        "bandwidth_upload": 41235.5, "bandwidth_download": 52101.25,
        "used_state_cache_size": 5369088}})
    .to_string()
}

/// utime + stime of a process, in ms (Linux clock ticks are 10 ms).
fn cpu_ms(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |at: usize| {
        fields
            .get(at)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) * 10
}

/// CPU ms of every PostgreSQL process on this machine (the server's work for PostgreSQL happens
/// there, not in `serve`).
fn postgres_cpu_ms() -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "postgres")
        })
        .map(|pid| cpu_ms(&pid))
        .sum()
}

fn rss_kib(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

/// Opens a WebSocket, trying again for up to 10 s: hundreds of connections opened at once on a
/// busy machine may see a refusal or a reset, and a connection that never opened would take its
/// nodes out of the figures. The first failure of each connection is said with its reason.
async fn connect(url: &str) -> Option<WebSocketStream<MaybeTlsStream<TcpStream>>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut said = false;
    loop {
        match tokio_tungstenite::connect_async(url).await {
            Ok((socket, _)) => return Some(socket),
            Err(err) if !said => {
                eprintln!("opening a connection failed, trying again: {err}");
                said = true;
            }
            Err(_) => {}
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One connection's nodes, each sending `rate` messages a second for `seconds`, a new best block
/// every `frames_per_block` of them.
async fn stream(
    url: String,
    connection: u64,
    (rate, seconds, frames_per_block): (u64, u64, u64),
    sent: Arc<AtomicU64>,
) {
    let Some(mut socket) = connect(&url).await else {
        eprintln!("connection {connection} never opened");
        return;
    };
    for id in 1..=NODES_PER_CONNECTION {
        if socket
            .send(Message::text(connected(connection, id)))
            .await
            .is_err()
        {
            return;
        }
    }
    // Spread over the second: one frame every 1 / (20 x rate) s, cycling through the nodes.
    let every = Duration::from_micros(1_000_000 / (NODES_PER_CONNECTION * rate));
    let mut tick = tokio::time::interval(every);
    let frames = NODES_PER_CONNECTION * rate * seconds;
    for n in 0..frames {
        tick.tick().await;
        let id = n % NODES_PER_CONNECTION + 1;
        if socket
            .send(Message::text(interval(
                id,
                1_000 + n / NODES_PER_CONNECTION / frames_per_block,
            )))
            .await
            .is_err()
        {
            return;
        }
        sent.fetch_add(1, Ordering::Relaxed);
    }
    let _ = socket.close(None).await;
}

/// A probe node sending a frame every 250 ms, and how long each took to show in `/nodes/logs`.
async fn probe(served_base: String, ws: String, key: String, seconds: u64) -> Vec<Duration> {
    let client = reqwest::Client::new();
    let Some(mut socket) = connect(&ws).await else {
        return Vec::new();
    };
    let probe = 99_999;
    let _ = socket.send(Message::text(connected(probe, 1))).await;
    let url = format!(
        "{served_base}/nodes/logs?peer_id={}&msg=system.interval&limit=1",
        peer_id(probe, 1)
    );
    let mut delays = Vec::new();
    for n in 0..seconds * 4 {
        let height = 1_000_000 + n;
        let sent = Instant::now();
        if socket
            .send(Message::text(interval(1, height)))
            .await
            .is_err()
        {
            break;
        }
        loop {
            let seen = async {
                let answer = client.get(&url).header("apikey", &key).send().await.ok()?;
                let body: serde_json::Value =
                    serde_json::from_slice(&answer.bytes().await.ok()?).ok()?;
                body[0]["logs"]["height"].as_u64()
            }
            .await;
            if seen == Some(height) {
                delays.push(sent.elapsed());
                break;
            }
            if sent.elapsed() > Duration::from_secs(30) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(250).saturating_sub(sent.elapsed())).await;
    }
    delays
}

/// Messages stored so far, from `/stats/db`.
async fn stored(base: &str, key: &str) -> u64 {
    let client = reqwest::Client::new();
    let answer = client
        .get(format!("{base}/stats/db"))
        .header("apikey", key)
        .send()
        .await;
    let Ok(answer) = answer else { return 0 };
    let bytes = answer.bytes().await.unwrap_or_default();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    body.as_array()
        .and_then(|tables| tables.iter().find(|t| t["table_name"] == "stream_logs"))
        .and_then(|t| t["rows"].as_u64())
        .unwrap_or(0)
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = std::env::temp_dir().join(format!("nodepulse-stream-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut databases = databases(&dir.join("streams.db"), "stream_bench");
    if options.floor {
        let floor = format!("sqlite://{}", dir.join("floor.db").display());
        databases.push((FLOOR, floor));
    }
    let loader_pid = std::process::id().to_string();
    // Per database, the server's CPU-ms per 1,000 frames at each step.
    let mut costs: Vec<(&str, Vec<f64>)> = Vec::new();

    for (label, database) in &databases {
        let key = add_key(database, "bench", false);
        let mut flags = vec![
            "--max-connections-per-ip",
            "100000",
            "--max-stream-rate",
            "64MiB",
        ];
        let floor = *label == FLOOR;
        if floor {
            flags.push("--bench-discard-streams");
        }
        let served = Served::start(database, &flags);
        let mut step_costs = Vec::new();
        let pid = served.child.id().to_string();
        let ws = format!("ws://{}/submit", served.address);
        let mut total_frames = 0;
        for (step, rate) in options.steps.iter().enumerate() {
            let sent = Arc::new(AtomicU64::new(0));
            let base_before = runtime.block_on(stored(&served.base, &key));
            let (server_before, loader_before, postgres_before) =
                (cpu_ms(&pid), cpu_ms(&loader_pid), postgres_cpu_ms());
            let started = Instant::now();
            let streams: Vec<_> = (0..options.connections)
                .map(|connection| {
                    let connection = connection + step as u64 * options.connections;
                    runtime.spawn(stream(
                        ws.clone(),
                        connection,
                        (*rate, options.seconds, options.frames_per_block),
                        Arc::clone(&sent),
                    ))
                })
                .collect();
            // Nothing the floor reads is stored: no probe to read back.
            let delays = runtime.spawn(probe(
                served.base.clone(),
                ws.clone(),
                key.clone(),
                if floor { 0 } else { options.seconds },
            ));
            for task in streams {
                let _ = runtime.block_on(task);
            }
            let elapsed = started.elapsed();
            let mut delays = runtime.block_on(delays).unwrap_or_default();
            let rss = rss_kib(&pid);
            let (server_cpu, loader_cpu) = (
                cpu_ms(&pid) - server_before,
                cpu_ms(&loader_pid) - loader_before,
            );

            let frames = sent.load(Ordering::Relaxed);
            let postgres = match *label {
                "PostgreSQL" => format!(
                    ", PostgreSQL's processes {:.1}",
                    (postgres_cpu_ms() - postgres_before) as f64 * 1000.0 / frames.max(1) as f64
                ),
                _ => String::new(),
            };
            total_frames += frames;
            // Caught up: everything sent (plus the identifying and probe frames) stored within 2 s.
            let expected = frames + options.connections * NODES_PER_CONNECTION;
            let server_cost = server_cpu as f64 * 1000.0 / frames.max(1) as f64;
            step_costs.push(server_cost);
            if floor {
                println!(
                    "{label}, {} connections x {NODES_PER_CONNECTION} nodes x {rate}/s: {frames} frames in {:.1} s = {:.0}/s; \
                     serve {server_cost:.1} CPU-ms per 1,000 frames, loader {:.1}; serve RSS {:.1} MB",
                    options.connections,
                    elapsed.as_secs_f64(),
                    frames as f64 / elapsed.as_secs_f64(),
                    loader_cpu as f64 * 1000.0 / frames.max(1) as f64,
                    rss as f64 / 1024.0,
                );
                continue;
            }
            let deadline = Instant::now() + Duration::from_secs(2);
            let mut now_stored = 0;
            while Instant::now() < deadline {
                now_stored = runtime.block_on(stored(&served.base, &key)) - base_before;
                if now_stored >= expected {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            delays.sort();
            println!(
                "{label}, {} connections x {NODES_PER_CONNECTION} nodes x {rate}/s: {frames} frames in {:.1} s = {:.0}/s; \
                 serve {:.1} CPU-ms per 1,000 frames{postgres}, loader {:.1}; serve RSS {:.1} MB; \
                 {} within 2 s of the end ({}); probe to queryable p50 {:.0} ms, p99 {:.0} ms ({} probes)",
                options.connections,
                elapsed.as_secs_f64(),
                frames as f64 / elapsed.as_secs_f64(),
                server_cost,
                loader_cpu as f64 * 1000.0 / frames.max(1) as f64,
                rss as f64 / 1024.0,
                if now_stored >= expected {
                    "all stored"
                } else {
                    "NOT all stored"
                },
                format_args!("{now_stored} of {expected}"),
                percentile(&delays, 0.5).as_secs_f64() * 1e3,
                percentile(&delays, 0.99).as_secs_f64() * 1e3,
                delays.len(),
            );
        }
        costs.push((label, step_costs));
        if floor {
            continue;
        }
        let messages = runtime.block_on(stored(&served.base, &key));
        drop(served); // SIGTERM: SQLite checkpoints its log into the file
        if *label == "SQLite" {
            let bytes: u64 = ["streams.db", "streams.db-wal"]
                .iter()
                .filter_map(|file| std::fs::metadata(dir.join(file)).ok())
                .map(|meta| meta.len())
                .sum();
            println!(
                "{label}: {bytes} bytes on disk for {messages} messages = {} bytes per message ({total_frames} interval frames)",
                bytes / messages.max(1)
            );
        } else {
            let size = std::process::Command::new("psql")
                .args([
                    database.as_str(),
                    "-tAc",
                    "SELECT pg_total_relation_size('stream_logs')",
                ])
                .output()
                .ok()
                .and_then(|output| String::from_utf8(output.stdout).ok())
                .and_then(|text| text.trim().parse::<u64>().ok())
                .unwrap_or(0);
            println!(
                "{label}: stream_logs with its indexes {size} bytes for {messages} messages = {} bytes per message",
                size / messages.max(1)
            );
        }
    }
    if let Some((_, floor)) = costs.iter().find(|(label, _)| *label == FLOOR) {
        for (label, steps) in costs.iter().filter(|(label, _)| *label != FLOOR) {
            let ratios: Vec<String> = steps
                .iter()
                .zip(floor)
                .map(|(cost, floor)| format!("{:.2}", cost / floor))
                .collect();
            println!(
                "{label} / floor, CPU per frame at each step: {}",
                ratios.join(", ")
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
