//! The stream benches' loader: Polkadot nodes as sc-telemetry's wrapped form carries them, 20 to a
//! connection as a substrate-telemetry shard takes them, and the processes' costs from /proc.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::net::TcpStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const GENESIS: &str = "0x91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3";
pub const NODES_PER_CONNECTION: u64 = 20;

pub fn peer_id(connection: u64, id: u64) -> String {
    format!("12D3KooWBench{connection:05}x{id:02}")
}

pub fn connected(connection: u64, id: u64) -> String {
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
pub fn interval(id: u64, height: u64) -> String {
    json!({"id": id, "ts": "2026-11-29T10:00:01.123456789+00:00", "payload": {
        "msg": "system.interval", "peers": 40, "height": height,
        "best": format!("0x{height:064x}"), "finalized_height": height - 2,
        "finalized_hash": format!("0x{:064x}", height - 2), "txcount": 3,
        "bandwidth_upload": 41235.5, "bandwidth_download": 52101.25,
        "used_state_cache_size": 5369088}})
    .to_string()
}

/// utime + stime of a process, in ms (Linux clock ticks are 10 ms).
pub fn cpu_ms(pid: &str) -> u64 {
    let [user, system, ..] = stat_ticks(pid);
    (user + system) * 10
}

/// utime + stime of a process's children that ended and were waited for (cutime + cstime), in
/// ms: PostgreSQL's postmaster reaps its backends and autovacuum workers, so their CPU stays
/// counted here once they are gone.
pub fn reaped_children_cpu_ms(pid: &str) -> u64 {
    let [_, _, user, system] = stat_ticks(pid);
    (user + system) * 10
}

/// utime, stime, cutime and cstime of a process, in clock ticks (0 when it is gone).
fn stat_ticks(pid: &str) -> [u64; 4] {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // After the command's `)`: the state is field 3, utime field 14.
    [11, 12, 13, 14].map(|at| {
        fields
            .get(at)
            .and_then(|field| field.parse::<u64>().ok())
            .unwrap_or(0)
    })
}

pub fn rss_kib(pid: &str) -> u64 {
    status_kib(pid, "VmRSS:")
}

/// The process's highest RSS since `reset_peak_rss` (or its start): the kernel's own figure, so a
/// moment between two readings is not missed.
pub fn peak_rss_kib(pid: &str) -> u64 {
    status_kib(pid, "VmHWM:")
}

/// Starts a new peak for `peak_rss_kib` (`/proc/PID/clear_refs`: 5 resets it to the RSS now).
pub fn reset_peak_rss(pid: &str) {
    if let Err(err) = std::fs::write(format!("/proc/{pid}/clear_refs"), "5") {
        eprintln!("the peak RSS of {pid} is the process's whole life's: {err}");
    }
}

fn status_kib(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

/// Opens a WebSocket, trying again every 100 ms for up to `patience`: hundreds of connections
/// opened at once on a busy machine may see a refusal or a reset, and a connection that never
/// opened would take its nodes out of the figures. The first failure of each connection is said
/// with its reason.
pub async fn connect(
    url: &str,
    patience: Duration,
) -> Option<WebSocketStream<MaybeTlsStream<TcpStream>>> {
    let deadline = Instant::now() + patience;
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
