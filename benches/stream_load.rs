//! `nodepulse serve` taking telemetry streams, on this machine, into SQLite (and PostgreSQL when
//! NODEPULSE_BENCH_POSTGRES names a server): the load substrate-telemetry was measured with, 500
//! connections x 20 nodes x 1 message per second in the wrapped form (10,000 frames/s), and steps
//! above it to find where it saturates.
//!
//! For each step: frames sent per second, the server's CPU-ms per 1,000 frames (and the loader's,
//! which shares the two cores), the server's RSS at the step's end and its peak over the step,
//! whether a backlog grew (everything sent is stored within 2 s of the end), and the time from
//! sending a probe frame to reading it back through `/nodes/logs` (p50/p99, a probe every
//! 250 ms). Then bytes on disk per stored message.
//!
//! `cargo bench --bench stream_load [-- --seconds 30 --connections 500 --steps 1,2,4
//! --frames-per-block 6 --floor]` (a step multiplies the per-node rate; a node reports a new best
//! block every 6 messages, 1 makes each message one, the network view's worst case).
//!
//! A soak: `-- --seconds 3600 --steps 1 --report-every 60 --raw-window 10m --purge-every 5m`
//! gives the figures of each minute while the load runs (CPU per frame, RSS, the probes' p99, the
//! backlog, the purge's time so far), `serve` purging what is past its raw window as it goes.
//! `--only PostgreSQL` (or `SQLite`) runs that database's steps alone (and the floor's, with
//! `--floor`).
//!
//! On PostgreSQL, `-- --old-day-rows N --purge-every 10s --report-every 5` measures a day's
//! drop under the load: before it, a table of messages from three days ago is made apart and
//! filled with N messages; it is attached as that day's partition a quarter into the first step,
//! and the next purge drops it while the load runs (when, and the purge's time, in the last lines;
//! each interval's probe p99 in the lines). On SQLite the same option fills the file of the hour
//! before last with N messages before `serve` starts, and sets the raw window so that the hour is
//! past it a quarter into the first step (give no `--raw-window` with it): the next purge removes
//! the file while the load runs.
//!
//! `--floor` runs the same steps once more against `serve --bench-discard-streams`, which reads
//! and decodes every frame and then drops it: what reading and parsing alone cost. Each database's
//! CPU per 1,000 frames is then given divided by the floor's.
//!
//! `--substrate-telemetry DIR` then runs the same steps, the same loader, against Parity's
//! substrate-telemetry, the server Polkadot's nodes send these frames to: a `telemetry_core` and
//! one `telemetry_shard` forwarding to it, from DIR (its `backend/target/release`;
//! `scripts/substrate-telemetry-backend.sh` clones the commit this was run against and builds
//! them), on free loopback ports, killed when the bench ends. The load goes to the shard's
//! `/submit/`, as nodes' does. For each step: the shard's and the core's CPU-ms per 1,000 frames,
//! apart and summed, their RSS and the loader's CPU, measured as `serve`'s are; then from the
//! core's `/metrics` (a count every 10 s) the messages its aggregator took and dropped, and the
//! peer's CPU in the seconds after the load, where a backlog would show. It stores nothing, so
//! there is no probe. Each database's CPU per 1,000 frames is then given divided by the peer's.
//! Their limits, set so that the peer takes all of the load, as `serve`'s are set above:
//! - shard `--max-nodes-per-connection 20`: the loader's nodes per connection (the default is 20
//!   too; a 21st node's frames would be ignored);
//! - shard `--max-node-data-per-second 64MiB`: the default 256k (bytes/s per connection, over
//!   10 s) would be passed at 30 frames/s per node; a connection over it is closed and its address
//!   (127.0.0.1, every connection's) refused for 600 s;
//! - core `--aggregator-queue-len 1000000`: over the default 10,000 queued messages the core drops
//!   nodes' updates to catch up; with it raised a backlog is worked off and shows as CPU after
//!   the load, not as frames dropped unseen;
//! - `--log warn` on both, as `serve -q`: at `info` they log every connection and node.
//!
//! The core's other limit, `--max-third-party-nodes`, is not for Polkadot's nodes: its genesis is
//! one of the chains it takes any number of. No `/feed` is subscribed, as none reads `serve`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use common::streams::{
    GENESIS, NODES_PER_CONNECTION, connect, connected, cpu_ms, interval, peak_rss_kib, peer_id,
    reaped_children_cpu_ms, reset_peak_rss, rss_kib,
};
use common::{Served, add_key, databases, free_port, percentile};

/// The label of the run against `serve --bench-discard-streams`.
const FLOOR: &str = "floor (read and decode, then drop)";

/// The label of the run against substrate-telemetry's shard and core.
const PEER: &str = "substrate-telemetry";

struct Options {
    seconds: u64,
    connections: u64,
    steps: Vec<u64>,
    /// A node's messages per new best block: 6 is Polkadot's (a block every 6 s, a message a
    /// second); 1 makes every message a new block, the network view's worst case.
    frames_per_block: u64,
    floor: bool,
    /// A soak: figures for each of these many seconds while a step runs.
    report_every: Option<u64>,
    /// `serve`'s `--raw-window` and `--purge-every` (a soak with the purge running), and
    /// `--db-save-latency` and `--db-batch-size` (how often the stream writer commits).
    serve_flags: Vec<String>,
    /// The folder holding substrate-telemetry's `telemetry_core` and `telemetry_shard`.
    substrate_telemetry: Option<PathBuf>,
    /// PostgreSQL: messages in a past day's partition, attached during each step to be dropped.
    old_day_rows: Option<u64>,
    /// Only the database of this label (`--only PostgreSQL`: an hour's soak of one, not two).
    only: Option<String>,
}

/// The stream tables whose bytes on disk are reported: rows and bytes (indexes included).
const TABLES: [&str; 5] = [
    "stream_logs",
    "stream_samples",
    "stream_blocks",
    "stream_block_imports",
    "stream_nodes",
];

/// Each stream table's rows and bytes on disk, indexes included: SQLite's pages as its `dbstat`
/// table counts them (the messages' in each hour's file too), PostgreSQL's relations (every
/// partition of a partitioned one).
async fn disk(url: &str) -> Vec<(&'static str, i64, i64)> {
    let mut tables = Vec::new();
    for table in TABLES {
        let (mut rows, mut bytes) = (0, 0);
        for database in holding(url, table) {
            let (more_rows, more_bytes) = table_disk(&database, table).await;
            rows += more_rows;
            bytes += more_bytes;
        }
        tables.push((table, rows, bytes));
    }
    tables
}

/// The databases holding `table`: SQLite keeps the stream messages in a file an hour, in a folder
/// beside the database.
fn holding(url: &str, table: &str) -> Vec<String> {
    let mut databases = vec![url.to_owned()];
    if let Some(path) = url.strip_prefix("sqlite://")
        && table == "stream_logs"
        && let Ok(hours) = std::fs::read_dir(format!("{path}-messages"))
    {
        for entry in hours.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|extension| extension == "db") {
                databases.push(format!("sqlite://{}", path.display()));
            }
        }
    }
    databases
}

/// One database's rows and bytes of `table`.
async fn table_disk(url: &str, table: &str) -> (i64, i64) {
    let pool = sqlx::AnyPool::connect(url).await.expect("the database");
    let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&pool)
        .await
        .expect("a count");
    let size = if url.starts_with("sqlite:") {
        "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name IN \
         (SELECT name FROM sqlite_master WHERE tbl_name = $1)"
    } else {
        // A table that is not partitioned has no tree.
        "SELECT GREATEST(pg_total_relation_size($1::regclass), (SELECT \
         COALESCE(SUM(pg_total_relation_size(relid)), 0) \
         FROM pg_partition_tree($1::regclass)))::BIGINT"
    };
    let bytes: i64 = sqlx::query_scalar(size)
        .bind(table)
        .fetch_one(&pool)
        .await
        .expect("a size");
    pool.close().await;
    (rows, bytes)
}

/// Bytes per row of each table, and what a network of 10,000 nodes sending a message a second
/// costs on disk with the defaults: messages for the 48 h raw window, each node's minute samples
/// for the 31 days' retention, and the blocks' reports for the network view's 7 days, a block
/// every `frames_per_block` seconds.
fn report_disk(label: &str, tables: &[(&str, i64, i64)], frames_per_block: u64) {
    let per_row = |name: &str| {
        tables
            .iter()
            .find(|(table, ..)| *table == name)
            .map_or(0.0, |(_, rows, bytes)| {
                *bytes as f64 / (*rows).max(1) as f64
            })
    };
    for (table, rows, bytes) in tables {
        println!(
            "{label}: {table} {rows} rows, {bytes} bytes = {:.0} bytes per row",
            per_row(table)
        );
    }
    const NODES: f64 = 10_000.0;
    const DAY_S: f64 = 86_400.0;
    let blocks_a_day = DAY_S / frames_per_block.max(1) as f64;
    let gb = |bytes: f64| bytes / 1e9;
    let messages = NODES * DAY_S * 2.0 * per_row("stream_logs");
    let samples = NODES * 1440.0 * 31.0 * per_row("stream_samples");
    let reports = NODES * blocks_a_day * 7.0 * per_row("stream_block_imports")
        + blocks_a_day * 7.0 * per_row("stream_blocks");
    println!(
        "{label}: 10,000 nodes, a message a second, a block every {frames_per_block} s, the \
         defaults: messages (48 h) {:.0} GB + minute samples (31 d) {:.0} GB + block reports \
         (7 d) {:.0} GB = {:.0} GB; a day of messages {:.0} GB",
        gb(messages),
        gb(samples),
        gb(reports),
        gb(messages + samples + reports),
        gb(messages / 2.0),
    );
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
        report_every: value("--report-every").and_then(|v| v.parse().ok()),
        serve_flags: [
            "--raw-window",
            "--purge-every",
            "--db-save-latency",
            "--db-batch-size",
        ]
        .into_iter()
        .filter_map(|flag| Some([flag.to_owned(), value(flag)?]))
        .flatten()
        .collect(),
        old_day_rows: value("--old-day-rows").and_then(|v| v.parse().ok()),
        only: value("--only"),
        substrate_telemetry: value("--substrate-telemetry").map(|dir| {
            // Said now, not after the runs before the peer's.
            let dir = PathBuf::from(dir);
            for binary in ["telemetry_core", "telemetry_shard"] {
                assert!(
                    dir.join(binary).is_file(),
                    "--substrate-telemetry {}: no {binary} there \
                     (scripts/substrate-telemetry-backend.sh builds it)",
                    dir.display()
                );
            }
            dir
        }),
    }
}

/// CPU ms PostgreSQL's processes on this machine have spent so far (the server's work for
/// PostgreSQL happens there, not in `serve`): each live process's, and the postmaster's reaped
/// children's, so that a backend or an autovacuum worker that ended (a connection closed, a
/// vacuum done) keeps its time counted. The difference of two readings is the CPU between them.
fn postgres_cpu() -> u64 {
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
        .map(|pid| cpu_ms(&pid) + reaped_children_cpu_ms(&pid))
        .sum()
}

/// One connection's nodes, each sending `rate` messages a second for `seconds`, a new best block
/// every `frames_per_block` of them.
async fn stream(
    url: String,
    connection: u64,
    (rate, seconds, frames_per_block): (u64, u64, u64),
    sent: Arc<AtomicU64>,
) {
    let Some(mut socket) = connect(&url, Duration::from_secs(10)).await else {
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
    close(socket).await;
}

/// Closes a WebSocket as a client should, reading the server's answer before the socket goes (for
/// up to 5 s): substrate-telemetry's shard logs an error for each connection gone before it
/// answered.
async fn close(mut socket: WebSocketStream<MaybeTlsStream<TcpStream>>) {
    let _ = socket.close(None).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
}

/// A probe node sending a frame every 250 ms (or as soon as the last one showed, when it took
/// longer) for `seconds`, and how long each took to show in `/nodes/logs`.
async fn probe(
    served_base: String,
    ws: String,
    key: String,
    seconds: u64,
    delays: Arc<Mutex<Vec<(Instant, Duration)>>>,
) {
    let client = reqwest::Client::new();
    let Some(mut socket) = connect(&ws, Duration::from_secs(10)).await else {
        return;
    };
    let probe = 99_999;
    let _ = socket.send(Message::text(connected(probe, 1))).await;
    let url = format!(
        "{served_base}/nodes/logs?peer_id={}&msg=system.interval&limit=1",
        peer_id(probe, 1)
    );
    // Bounded by time, not by a count: slow answers would keep the probe, and the step, going
    // long after the load (a 23-minute soak's probe ran on for 15 minutes).
    let end = Instant::now() + Duration::from_secs(seconds);
    for n in 0.. {
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let height = 1_000_000 + n;
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
                if let Ok(mut delays) = delays.lock() {
                    delays.push((sent, sent.elapsed()));
                }
                break;
            }
            if sent.elapsed() > Duration::from_secs(30) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(250).saturating_sub(sent.elapsed())).await;
    }
}

/// `serve`'s `/metrics` text.
async fn metrics(base: &str) -> String {
    match reqwest::get(format!("{base}/metrics")).await {
        Ok(answer) => answer.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// The sum of the values of the `/metrics` samples whose line starts with one of `prefixes`.
fn metric_sum(text: &str, prefixes: &[impl AsRef<str>]) -> f64 {
    text.lines()
        .filter(|line| {
            prefixes
                .iter()
                .any(|prefix| line.starts_with(prefix.as_ref()))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Messages committed so far (the batches' messages, counted once each batch commits): a
/// purge running beside does not make it go down, as a count of the table would.
fn committed(text: &str) -> u64 {
    metric_sum(text, &["nodepulse_serve_stream_batch_messages_sum"]) as u64
}

/// The seconds the purge has spent so far, and how many statements: its deletes, and on
/// PostgreSQL the days made and dropped.
fn purge_seconds(text: &str) -> (f64, f64) {
    let operations = ["purge_", "drop_days", "make_days"];
    let seconds: Vec<String> = operations
        .iter()
        .map(|op| format!("nodepulse_serve_database_seconds_sum{{operation=\"{op}"))
        .collect();
    let counts: Vec<String> = operations
        .iter()
        .map(|op| format!("nodepulse_serve_database_seconds_count{{operation=\"{op}"))
        .collect();
    (metric_sum(text, &seconds), metric_sum(text, &counts))
}

/// What `report_while_running` reads at the end of each interval; an interval's figures are the
/// differences of two.
struct Tally {
    at: Instant,
    sent: u64,
    committed: u64,
    serve_cpu_ms: u64,
    loader_cpu_ms: u64,
    /// PostgreSQL's processes' CPU ms, when the server stores there.
    postgres_cpu: Option<u64>,
}

/// While the step's streams run, every `every` seconds: the frames sent and committed in it, the
/// server's CPU per 1,000 frames and RSS (and PostgreSQL's processes' CPU when `postgres`), the
/// loader's CPU per 1,000 frames (over an hour this
/// machine's speed drifts by a third: the server's CPU over the loader's shows whether its cost
/// per frame grew), the probes' p99, the backlog (sent and not committed) and the purge's time so
/// far.
fn report_while_running(
    runtime: &tokio::runtime::Runtime,
    every: u64,
    (base, pid, loader_pid): (&str, &str, &str),
    postgres: bool,
    sent: &AtomicU64,
    delays: &Mutex<Vec<(Instant, Duration)>>,
    streams: &[tokio::task::JoinHandle<()>],
) {
    let started = Instant::now();
    let tally = |committed| Tally {
        at: Instant::now(),
        sent: sent.load(Ordering::Relaxed),
        committed,
        serve_cpu_ms: cpu_ms(pid),
        loader_cpu_ms: cpu_ms(loader_pid),
        postgres_cpu: postgres.then(postgres_cpu),
    };
    let mut last = tally(committed(&runtime.block_on(metrics(base))));
    while !streams.iter().all(|stream| stream.is_finished()) {
        std::thread::sleep(Duration::from_millis(200));
        if last.at.elapsed() < Duration::from_secs(every) {
            continue;
        }
        let text = runtime.block_on(metrics(base));
        let now = tally(committed(&text));
        let frames = now.sent - last.sent;
        let seconds = (now.at - last.at).as_secs_f64();
        let serve_cpu = now.serve_cpu_ms - last.serve_cpu_ms;
        let loader_cpu = now.loader_cpu_ms - last.loader_cpu_ms;
        let postgres_cpu = match (now.postgres_cpu, last.postgres_cpu) {
            (Some(now), Some(last)) => format!(
                ", PostgreSQL's processes {:.1}",
                per_thousand(now.saturating_sub(last), frames)
            ),
            _ => String::new(),
        };
        let mut window: Vec<Duration> = delays
            .lock()
            .map(|delays| {
                delays
                    .iter()
                    .filter(|(at, _)| *at >= last.at)
                    .map(|(_, delay)| *delay)
                    .collect()
            })
            .unwrap_or_default();
        window.sort();
        let (purge_s, purge_statements) = purge_seconds(&text);
        println!(
            "  at {:.0} s: {:.0} frames/s sent, {:.0}/s committed; serve {:.1} CPU-ms per 1,000 \
             frames{postgres_cpu}, RSS {:.1} MB; loader {:.1} (serve/loader {:.2}); probe p99 {:.0} ms ({} \
             probes); backlog {} frames; purge so far {purge_s:.2} s in {purge_statements} \
             statements",
            started.elapsed().as_secs_f64(),
            frames as f64 / seconds,
            (now.committed - last.committed) as f64 / seconds,
            per_thousand(serve_cpu, frames),
            rss_kib(pid) as f64 / 1024.0,
            per_thousand(loader_cpu, frames),
            serve_cpu as f64 / loader_cpu.max(1) as f64,
            percentile(&window, 0.99).as_secs_f64() * 1e3,
            window.len(),
            now.sent.saturating_sub(now.committed),
        );
        last = now;
    }
}

/// The table `fill_old_day` fills: named as no day is, as `serve`'s purge drops a table named as a
/// past day, attached or not (a day a purge detached and did not drop).
const FILLED_DAY: &str = "bench_old_day";

/// The nodes `fill_old_day`'s messages are spread over (ids 1 to 10,000, the loader's nodes at the
/// default load): with one node, the planner took each node's share of the day for all of it,
/// and read the whole day to answer a node's `/nodes/logs` until the day went.
const OLD_DAY_NODES: u64 = 10_000;

/// PostgreSQL: a table shaped as a day's partition of `stream_logs_raw`, for the day three days
/// ago, holding `rows` messages of the loader's shape from `OLD_DAY_NODES` nodes, with the
/// constraint that lets `attach_old_day` attach it without reading it. Returns the name it takes
/// as a partition, its day and its rows.
async fn fill_old_day(url: &str, rows: u64) -> (String, i64, u64) {
    const DAY_MS: i64 = 86_400_000;
    let pool = sqlx::AnyPool::connect(url).await.expect("the database");
    let now_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("the clock is past 1970")
        .as_millis() as i64;
    let day = now_ms.div_euclid(DAY_MS) - 3;
    let name: String =
        sqlx::query_scalar("SELECT 'stream_logs_raw_' || to_char(to_timestamp($1 * 86400) AT TIME ZONE 'UTC', 'YYYYMMDD')")
            .bind(day)
            .fetch_one(&pool)
            .await
            .expect("a name");
    let (from, to) = (day * DAY_MS, (day + 1) * DAY_MS);
    for statement in [
        format!("CREATE TABLE {FILLED_DAY} (LIKE stream_logs_raw INCLUDING DEFAULTS)"),
        format!(
            "ALTER TABLE {FILLED_DAY} ADD CHECK (created_ms >= {from} AND created_ms < {to} AND audit = 0)"
        ),
        format!(
            "INSERT INTO {FILLED_DAY} (node_id, created_ms, msg, target, audit, log) SELECT \
             1 + g % {OLD_DAY_NODES}, {from} + g % {DAY_MS}, 'system.interval', NULL, 0, $1 FROM generate_series(1, {rows}) g"
        ),
        format!("CREATE INDEX ON {FILLED_DAY} (node_id, created_ms)"),
        // The partitions' index of network states, which the attach then takes as it is.
        format!(
            "CREATE INDEX ON {FILLED_DAY} (node_id, created_ms) \
             WHERE msg = 'system.network_state'"
        ),
        format!("ANALYZE {FILLED_DAY}"),
        // Written out now, not by the checkpointer while the load runs.
        "CHECKPOINT".to_owned(),
    ] {
        sqlx::query(&statement)
            .bind(interval(0, 21_400_000))
            .execute(&pool)
            .await
            .unwrap_or_else(|err| panic!("{statement}: {err}"));
    }
    pool.close().await;
    (name, day, rows)
}

/// Attaches `fill_old_day`'s table as its day's partition (its constraint spares the scan), for
/// the next purge to drop. `ATTACH PARTITION` holds no write up now that no default partition is
/// there to be locked and scanned.
async fn attach_old_day(url: &str, (name, day, rows): &(String, i64, u64)) {
    const DAY_MS: i64 = 86_400_000;
    let pool = sqlx::AnyPool::connect(url).await.expect("the database");
    let mut tx = pool.begin().await.expect("a transaction");
    for statement in [
        format!("ALTER TABLE {FILLED_DAY} RENAME TO {name}"),
        format!(
            "ALTER TABLE stream_logs_raw ATTACH PARTITION {name} FOR VALUES FROM ({}) TO ({})",
            day * DAY_MS,
            (day + 1) * DAY_MS
        ),
        // Counted as serve counts what it writes, for the purge to take off with the day.
        format!(
            "INSERT INTO stream_log_counts (day, audit, msg, counter, qty) \
             VALUES ({day}, 0, 'system.interval', 0, {rows}) \
             ON CONFLICT (day, audit, msg, counter) \
             DO UPDATE SET qty = stream_log_counts.qty + excluded.qty"
        ),
    ] {
        sqlx::query(&statement)
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|err| panic!("{statement}: {err}"));
    }
    tx.commit().await.expect("the old day attached");
    pool.close().await;
}

/// SQLite: the file of the hour before last, as `serve` keeps an hour's messages (its shape
/// written here as `serve` writes it), holding `rows` messages of the loader's shape from
/// `OLD_DAY_NODES` nodes; and the raw window that puts its end `after` past the next second.
fn fill_old_hour(
    runtime: &tokio::runtime::Runtime,
    url: &str,
    rows: u64,
    after: Duration,
) -> (PathBuf, Duration) {
    const HOUR_MS: u64 = 3_600_000;
    let path = url.strip_prefix("sqlite://").expect("a SQLite file");
    let folder = PathBuf::from(format!("{path}-messages"));
    std::fs::create_dir_all(&folder).expect("the hours' folder");
    let now_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("the clock is past 1970")
        .as_millis() as u64;
    let start = now_ms - now_ms % HOUR_MS - 2 * HOUR_MS;
    let stamp =
        humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_millis(start))
            .to_string();
    let file = folder.join(format!("{}.db", &stamp[..13]));
    let statements = [
        "CREATE TABLE stream_logs (id INTEGER PRIMARY KEY, node_id INTEGER NOT NULL, \
         created_ms INTEGER NOT NULL, msg TEXT NOT NULL, target TEXT, audit INTEGER NOT NULL, \
         log TEXT NOT NULL)"
            .to_owned(),
        format!(
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {rows}) \
             INSERT INTO stream_logs (node_id, created_ms, msg, target, audit, log) \
             SELECT 1 + n % {OLD_DAY_NODES}, {start} + n % {HOUR_MS}, 'system.interval', NULL, \
             0, $1 FROM g"
        ),
        "CREATE INDEX stream_logs_by_node ON stream_logs (node_id, created_ms)".to_owned(),
        "CREATE INDEX stream_logs_network_states ON stream_logs (node_id, id) \
         WHERE msg = 'system.network_state'"
            .to_owned(),
        "CREATE TABLE stream_log_counts (day INTEGER NOT NULL, audit INTEGER NOT NULL, \
         msg TEXT NOT NULL, counter INTEGER NOT NULL, qty INTEGER NOT NULL, \
         PRIMARY KEY (day, audit, msg, counter)) WITHOUT ROWID"
            .to_owned(),
        "INSERT INTO stream_log_counts (day, audit, msg, counter, qty) \
         SELECT created_ms / 86400000, audit, msg, 0, COUNT(*) FROM stream_logs GROUP BY 1, 2, 3"
            .to_owned(),
    ];
    runtime.block_on(async {
        let pool = sqlx::AnyPool::connect(&format!("sqlite://{}?mode=rwc", file.display()))
            .await
            .expect("the hour's file");
        for statement in &statements {
            sqlx::query(statement)
                .bind(interval(0, 21_400_000))
                .execute(&pool)
                .await
                .unwrap_or_else(|err| panic!("{statement}: {err}"));
        }
        pool.close().await;
    });
    let filled_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("the clock is past 1970")
        .as_millis() as u64;
    let end = start + HOUR_MS;
    let window = Duration::from_millis(filled_ms - end) + Duration::from_secs(1) + after;
    (file, window)
}

/// When file `file` was found gone, looked for every 100 ms until `until`.
async fn removed_at(file: PathBuf, until: Instant) -> Option<Instant> {
    while Instant::now() < until {
        if !file.exists() {
            return Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// When table `name` was found gone, looked for every 100 ms until `until`.
async fn dropped_at(url: &str, name: &str, until: Instant) -> Option<Instant> {
    let pool = sqlx::AnyPool::connect(url).await.expect("the database");
    while Instant::now() < until {
        let left: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
            .bind(name.to_owned())
            .fetch_one(&pool)
            .await
            .expect("an answer");
        if left.is_none() {
            return Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// The `drop_days` operations so far and their seconds, from `serve`'s `/metrics`.
fn drop_days_seconds(text: &str) -> (f64, f64) {
    (
        metric_sum(
            text,
            &["nodepulse_serve_database_seconds_count{operation=\"drop_days\""],
        ),
        metric_sum(
            text,
            &["nodepulse_serve_database_seconds_sum{operation=\"drop_days\""],
        ),
    )
}

/// One step's load on `ws`: a task per connection, its nodes sending `rate` frames a second each
/// (connection ids new at each step, and so the nodes), counted in `sent`.
fn spawn_streams(
    runtime: &tokio::runtime::Runtime,
    ws: &str,
    options: &Options,
    (step, rate): (usize, u64),
    sent: &Arc<AtomicU64>,
) -> Vec<JoinHandle<()>> {
    (0..options.connections)
        .map(|connection| {
            runtime.spawn(stream(
                ws.to_owned(),
                connection + step as u64 * options.connections,
                (rate, options.seconds, options.frames_per_block),
                Arc::clone(sent),
            ))
        })
        .collect()
}

/// CPU-ms per 1,000 frames.
fn per_thousand(cpu_ms: u64, frames: u64) -> f64 {
    cpu_ms as f64 * 1000.0 / frames.max(1) as f64
}

/// KiB as MB, for the RSS.
fn mb(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 / 1024.0)
}

/// How a step's line starts: the load, and the frames sent.
fn load_line(label: &str, connections: u64, rate: u64, frames: u64, elapsed: Duration) -> String {
    format!(
        "{label}, {connections} connections x {NODES_PER_CONNECTION} nodes x {rate}/s: {frames} \
         frames in {:.1} s = {:.0}/s",
        elapsed.as_secs_f64(),
        frames as f64 / elapsed.as_secs_f64(),
    )
}

/// What a step cost: the server's CPU-ms per 1,000 frames (`more`: what it is made of, or
/// another process's share), the loader's, and the server's RSS.
fn cost_line(server: &str, (cost, more): (f64, &str), loader: f64, rss: &str) -> String {
    format!(
        "{server} {cost:.1} CPU-ms per 1,000 frames{more}, loader {loader:.1}; {server} RSS {rss}"
    )
}

/// Each database's CPU per frame divided by that of the run labelled `by` at each step, when it
/// ran.
fn print_ratios(costs: &[(&str, Vec<f64>)], by: &str, name: &str) {
    let Some((_, divisor)) = costs.iter().find(|(label, _)| *label == by) else {
        return;
    };
    for (label, steps) in costs
        .iter()
        .filter(|(label, _)| ![FLOOR, PEER].contains(label))
    {
        let ratios: Vec<String> = steps
            .iter()
            .zip(divisor)
            .map(|(cost, divisor)| format!("{:.2}", cost / divisor))
            .collect();
        println!(
            "{label} / {name}, CPU per frame at each step: {}",
            ratios.join(", ")
        );
    }
}

/// A process of the peer's, killed when this drops, a panic's unwinding included: it stores
/// nothing, so SIGKILL loses nothing.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// substrate-telemetry: a core, and a shard forwarding to it, on free loopback ports.
struct Peer {
    // The shard goes first: it is dropped before the core it forwards to.
    shard: Killed,
    core: Killed,
    shard_address: String,
    core_address: String,
}

/// The connection id of the node that shows the peer passes nodes on (the loader's are below).
const PEER_PROBE: u64 = 99_998;

impl Peer {
    /// The core, then the shard pointed at it once it listens, and back when a node sent to the
    /// shard shows in the core.
    fn start(dir: &Path, runtime: &tokio::runtime::Runtime) -> Peer {
        let core_address = format!("127.0.0.1:{}", free_port());
        let mut core = Killed(
            Command::new(dir.join("telemetry_core"))
                .args(["--listen", &core_address, "--log", "warn"])
                .args(["--aggregator-queue-len", "1000000"])
                .spawn()
                .expect("telemetry_core starts"),
        );
        until_listening(&mut core, &core_address);
        let shard_address = format!("127.0.0.1:{}", free_port());
        let mut shard = Killed(
            Command::new(dir.join("telemetry_shard"))
                .args(["--listen", &shard_address, "--log", "warn"])
                .args(["--core", &format!("ws://{core_address}/shard_submit/")])
                .args([
                    "--max-nodes-per-connection",
                    &NODES_PER_CONNECTION.to_string(),
                ])
                .args(["--max-node-data-per-second", "64MiB"])
                .spawn()
                .expect("telemetry_shard starts"),
        );
        until_listening(&mut shard, &shard_address);
        let peer = Peer {
            shard,
            core,
            shard_address,
            core_address,
        };
        runtime.block_on(peer.until_forwarding());
        peer
    }

    /// Waits until a node sent to the shard's `/submit/` is in the core's `/feed` (its first
    /// message lists the chains that have nodes): the shard ignores nodes until it has connected
    /// to the core, and then closes every connection it has, so accepting them is not enough.
    async fn until_forwarding(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let submit = format!("ws://{}/submit/", self.shard_address);
        let feed = format!("ws://{}/feed/", self.core_address);
        loop {
            if let Some(mut node) = connect(&submit, Duration::from_secs(10)).await {
                let _ = node.send(Message::text(connected(PEER_PROBE, 1))).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                let listed = match connect(&feed, Duration::from_secs(10)).await {
                    Some(mut feed) => {
                        let first = tokio::time::timeout(Duration::from_secs(2), feed.next()).await;
                        close(feed).await;
                        matches!(first, Ok(Some(Ok(message)))
                            if message.to_text().is_ok_and(|text| text.contains(GENESIS)))
                    }
                    None => false,
                };
                close(node).await;
                if listed {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "substrate-telemetry's shard did not pass a node on to its core in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The messages the core's aggregator took so far, and the nodes' updates it dropped and has
    /// queued, from the first `/metrics` count it took after `after` (it counts every 10 s, and
    /// after the messages queued before it).
    async fn aggregator_counts(&self, after: SystemTime) -> [u64; 3] {
        let after_ms = after
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("the clock is past 1970")
            .as_millis() as u64;
        let url = format!("http://{}/metrics", self.core_address);
        let deadline = Instant::now() + Duration::from_secs(30);
        let names = [
            "telemetry_core_total_messages_to_aggregator",
            "telemetry_core_dropped_messages_to_aggregator",
            "telemetry_core_current_messages_to_aggregator",
        ];
        loop {
            let text = match reqwest::get(&url).await {
                Ok(answer) => answer.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            // `name{aggregator="0"} value timestamp_ms`, a line per aggregator (one by default).
            let samples = names.map(|name| {
                text.lines()
                    .filter(|line| line.starts_with(&format!("{name}{{")))
                    .filter_map(|line| {
                        let mut fields = line.split_whitespace().skip(1);
                        let value: u64 = fields.next()?.parse().ok()?;
                        let at: u64 = fields.next()?.parse().ok()?;
                        Some((value, at))
                    })
                    .collect::<Vec<_>>()
            });
            let fresh = samples
                .iter()
                .all(|lines| !lines.is_empty() && lines.iter().all(|(_, at)| *at >= after_ms));
            if fresh {
                return samples.map(|lines| lines.iter().map(|(value, _)| value).sum());
            }
            assert!(
                Instant::now() < deadline,
                "substrate-telemetry's core gave no /metrics count in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Waits until the peer's process takes TCP connections on `address`; a process that exited
/// (a flag this version does not have, say) fails the bench with its status.
fn until_listening(process: &mut Killed, address: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(address).is_err() {
        if let Ok(Some(status)) = process.0.try_wait() {
            panic!("substrate-telemetry's process on {address} exited: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "nothing listened on {address} in 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The steps again, the same loader on substrate-telemetry's shard: each step's line, and its
/// shard and core's CPU-ms per 1,000 frames at each step.
fn run_peer(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    options: &Options,
    loader_pid: &str,
) -> Vec<f64> {
    let peer = Peer::start(dir, runtime);
    let ws = format!("ws://{}/submit/", peer.shard_address);
    let pids = [&peer.shard, &peer.core].map(|process| process.0.id().to_string());
    // The shard's, the core's and the loader's CPU-ms so far.
    let cpu = || [&pids[0], &pids[1], loader_pid].map(cpu_ms);
    let mut counts = runtime.block_on(peer.aggregator_counts(SystemTime::now()));
    let mut step_costs = Vec::new();
    for (step, rate) in options.steps.iter().enumerate() {
        let sent = Arc::new(AtomicU64::new(0));
        let before = cpu();
        let started = Instant::now();
        for task in spawn_streams(runtime, &ws, options, (step, *rate), &sent) {
            let _ = runtime.block_on(task);
        }
        let elapsed = started.elapsed();
        let at_end = cpu();
        let [shard, core, loader] = [0, 1, 2].map(|at| at_end[at] - before[at]);
        let rss = pids.each_ref().map(|pid| rss_kib(pid));
        let frames = sent.load(Ordering::Relaxed);
        let cost = per_thousand(shard + core, frames);
        step_costs.push(cost);

        // A second for what is on its way to the core, then the core's next count: what the
        // aggregator took and dropped in the step, and the peer's CPU since the load ended.
        let ended = Instant::now();
        std::thread::sleep(Duration::from_secs(1));
        let now = runtime.block_on(peer.aggregator_counts(SystemTime::now()));
        let after = cpu();
        let tail = (after[0] + after[1]) - (at_end[0] + at_end[1]);
        // A node's messages to the aggregator besides its frames: its addition, its location
        // (found at once for 127.0.0.1) and its removal when its connection closes; and each of
        // the core's counts is one more.
        let nodes = options.connections * NODES_PER_CONNECTION;
        println!(
            "{}; {}; the core's aggregator took {} messages (the frames + 3 x {nodes} nodes = {}), \
             dropped {} updates, had {} queued {:.1} s after the end (the peer's CPU since: {tail} \
             ms)",
            load_line(PEER, options.connections, *rate, frames, elapsed),
            cost_line(
                "shard + core",
                (
                    cost,
                    &format!(
                        " (shard {:.1}, core {:.1})",
                        per_thousand(shard, frames),
                        per_thousand(core, frames)
                    )
                ),
                per_thousand(loader, frames),
                &format!("{} + {}", mb(rss[0]), mb(rss[1])),
            ),
            now[0] - counts[0],
            frames + 3 * nodes,
            now[1] - counts[1],
            now[2],
            ended.elapsed().as_secs_f64(),
        );
        counts = now;
    }
    step_costs
}

fn main() {
    let options = options();
    // Before any of the bench's own queries: the old day's fill is the first, before `disk`.
    sqlx::any::install_default_drivers();
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
    if let Some(only) = &options.only {
        // The floor, when asked for, is kept beside the one chosen.
        databases.retain(|(label, _)| *label == FLOOR || label.eq_ignore_ascii_case(only));
        assert!(
            databases.iter().any(|(label, _)| *label != FLOOR),
            "--only {only}: no such database here"
        );
    }
    let loader_pid = std::process::id().to_string();
    // Per database, the server's CPU-ms per 1,000 frames at each step.
    let mut costs: Vec<(&str, Vec<f64>)> = Vec::new();

    for (label, database) in &databases {
        let key = add_key(database, "bench", false);
        // Every connection comes from 127.0.0.1: the per-address limits are out of the way.
        let mut flags = vec![
            "--max-connections-per-ip",
            "100000",
            "--max-http-connections-per-ip",
            "100000",
            "--max-stream-rate",
            "64MiB",
        ];
        let floor = *label == FLOOR;
        if floor {
            flags.push("--bench-discard-streams");
        }
        flags.extend(options.serve_flags.iter().map(String::as_str));
        // SQLite's old hour is there when `serve` starts, which finds its hours' files then; the
        // raw window makes it go a quarter into the load.
        let old_hour = match (options.old_day_rows, *label) {
            (Some(rows), "SQLite") => Some(fill_old_hour(
                &runtime,
                database,
                rows,
                Duration::from_secs(options.seconds / 4),
            )),
            _ => None,
        };
        let raw_window = old_hour
            .as_ref()
            .map(|(_, window)| format!("{}ms", window.as_millis()));
        if let Some(window) = &raw_window {
            flags.extend(["--raw-window", window.as_str()]);
        }
        let served = Served::start(database, &flags);
        let mut step_costs = Vec::new();
        let pid = served.child.id().to_string();
        let ws = format!("ws://{}/submit", served.address);
        let old_day = match (options.old_day_rows, *label) {
            (Some(rows), "PostgreSQL") => Some(runtime.block_on(fill_old_day(database, rows))),
            _ => None,
        };
        for (step, rate) in options.steps.iter().enumerate() {
            let sent = Arc::new(AtomicU64::new(0));
            let base_before = committed(&runtime.block_on(metrics(&served.base)));
            let (server_before, loader_before, postgres_before) =
                (cpu_ms(&pid), cpu_ms(&loader_pid), postgres_cpu());
            let old_day = old_day.as_ref().filter(|_| step == 0);
            reset_peak_rss(&pid);
            let started = Instant::now();
            let streams = spawn_streams(&runtime, &ws, &options, (step, *rate), &sent);
            // Attached a quarter into the load, past the nodes' connecting, for the next purge to
            // drop while the load runs.
            let attach_after = Duration::from_secs(options.seconds / 4);
            let until = started + Duration::from_secs(options.seconds);
            let dropping = old_day.cloned().map(|old_day| {
                let url = database.clone();
                runtime.spawn(async move {
                    tokio::time::sleep(attach_after).await;
                    attach_old_day(&url, &old_day).await;
                    dropped_at(&url, &old_day.0, until).await
                })
            });
            let dropping = dropping.or_else(|| {
                let (file, _) = old_hour.clone().filter(|_| step == 0)?;
                Some(runtime.spawn(removed_at(file, until)))
            });
            // Nothing the floor reads is stored: no probe to read back.
            let probes = Arc::new(Mutex::new(Vec::new()));
            let probing = runtime.spawn(probe(
                served.base.clone(),
                ws.clone(),
                key.clone(),
                if floor { 0 } else { options.seconds },
                Arc::clone(&probes),
            ));
            if let Some(every) = options.report_every {
                report_while_running(
                    &runtime,
                    every,
                    (&served.base, &pid, &loader_pid),
                    *label == "PostgreSQL",
                    &sent,
                    &probes,
                    &streams,
                );
            }
            for task in streams {
                let _ = runtime.block_on(task);
            }
            let elapsed = started.elapsed();
            let _ = runtime.block_on(probing);
            let mut delays: Vec<Duration> = probes
                .lock()
                .map(|probes| probes.iter().map(|(_, delay)| *delay).collect())
                .unwrap_or_default();
            let (rss, peak_rss) = (rss_kib(&pid), peak_rss_kib(&pid));
            let (server_cpu, loader_cpu) = (
                cpu_ms(&pid) - server_before,
                cpu_ms(&loader_pid) - loader_before,
            );

            let frames = sent.load(Ordering::Relaxed);
            let postgres = match *label {
                "PostgreSQL" => format!(
                    ", PostgreSQL's processes {:.1}",
                    per_thousand(postgres_cpu().saturating_sub(postgres_before), frames)
                ),
                _ => String::new(),
            };
            // Caught up: everything sent (plus the identifying and probe frames) stored within 2 s.
            let expected = frames + options.connections * NODES_PER_CONNECTION;
            let server_cost = per_thousand(server_cpu, frames);
            step_costs.push(server_cost);
            let sent_and_cost = format!(
                "{}; {}",
                load_line(label, options.connections, *rate, frames, elapsed),
                cost_line(
                    "serve",
                    (server_cost, &postgres),
                    per_thousand(loader_cpu, frames),
                    &format!("{} (peak {})", mb(rss), mb(peak_rss))
                ),
            );
            if floor {
                println!("{sent_and_cost}");
                continue;
            }
            let deadline = Instant::now() + Duration::from_secs(2);
            let mut now_stored = 0;
            while Instant::now() < deadline {
                now_stored = committed(&runtime.block_on(metrics(&served.base))) - base_before;
                if now_stored >= expected {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if let Some(Ok(gone)) = dropping.map(|task| runtime.block_on(task)) {
                println!(
                    "{label}: the old {} ({} messages), {} {} s into the load, {}",
                    if old_hour.is_some() { "hour" } else { "day" },
                    options.old_day_rows.unwrap_or_default(),
                    if old_hour.is_some() {
                        "past the raw window"
                    } else {
                        "attached"
                    },
                    attach_after.as_secs(),
                    match gone {
                        Some(gone) => format!(
                            "was dropped {:.1} s into it",
                            gone.duration_since(started).as_secs_f64()
                        ),
                        None => "was NOT dropped during it".into(),
                    }
                );
            }
            delays.sort();
            println!(
                "{sent_and_cost}; {} within 2 s of the end ({}); probe to queryable p50 {:.0} ms, \
                 p99 {:.0} ms ({} probes)",
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
        if old_day.is_some() || old_hour.is_some() {
            let (purges, seconds) = drop_days_seconds(&runtime.block_on(metrics(&served.base)));
            println!("{label}: drop_days took {seconds:.3} s over {purges} purges");
        }
        drop(served); // SIGTERM: SQLite checkpoints its log into the file
        let tables = runtime.block_on(disk(database));
        report_disk(label, &tables, options.frames_per_block);
    }
    if let Some(peer) = &options.substrate_telemetry {
        costs.push((PEER, run_peer(&runtime, peer, &options, &loader_pid)));
    }
    print_ratios(&costs, FLOOR, "floor");
    print_ratios(&costs, PEER, PEER);
    let _ = std::fs::remove_dir_all(&dir);
}
