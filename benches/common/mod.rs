//! What the benches share: a request body, a running `serve`, percentiles and the databases; the
//! built binary, a free port and keys as the tests have them (their `binary.rs`, by path).

#![allow(dead_code, unused_imports)] // each bench uses its own subset

#[path = "../../tests/common/binary.rs"]
mod binary;

pub mod streams;

pub use binary::{add_key, free_port, nodepulse};

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One client-stats request as Lighthouse's BN and VC and the agent's host sampler send it.
pub const BODY: &str = concat!(
    "[",
    r#"{"version":1,"timestamp":1732870860123,"process":"beaconnode","cpu_process_seconds_total":93511,"memory_process_bytes":7341211648,"client_name":"lighthouse","client_version":"5.3.0","client_build":0,"sync_eth1_fallback_configured":false,"sync_eth1_fallback_connected":false,"sync_eth1_connected":true,"disk_beaconchain_bytes_total":197170053120,"network_peers_connected":88,"network_libp2p_bytes_total_transmit":738120000512,"network_libp2p_bytes_total_receive":963990001024,"sync_beacon_head_slot":10123456,"sync_eth2_synced":true},"#,
    r#"{"version":1,"timestamp":1732870861007,"process":"validator","cpu_process_seconds_total":4410,"memory_process_bytes":214802432,"client_name":"lighthouse","client_version":"5.3.0","client_build":0,"validator_active":12,"validator_total":12,"sync_eth2_fallback_configured":true,"sync_eth2_fallback_connected":true},"#,
    r#"{"version":1,"timestamp":1732870860124,"process":"system","cpu_cores":8,"cpu_threads":16,"cpu_node_system_seconds_total":2093811,"cpu_node_user_seconds_total":1630456,"cpu_node_iowait_seconds_total":40213,"cpu_node_idle_seconds_total":11835177,"memory_node_bytes_total":67326246912,"memory_node_bytes_free":2203217920,"memory_node_bytes_cached":38912606208,"memory_node_bytes_buffers":1409032192,"disk_node_bytes_total":3936558743552,"disk_node_bytes_free":1404223733760,"disk_node_io_seconds":0,"disk_node_reads_total":283447510,"disk_node_writes_total":391843977,"network_node_bytes_total_receive":9123847562010,"network_node_bytes_total_transmit":7716254388143,"misc_node_boot_ts_seconds":1731012345,"misc_os":"lin"}"#,
    "]"
);

pub struct Served {
    pub child: Child,
    pub base: String,
    pub address: String,
}

impl Served {
    /// `serve` on a free port with `extra` flags, its key rate limit out of the way.
    pub fn start(database: &str, extra: &[&str]) -> Served {
        Served::start_on(database, &format!("127.0.0.1:{}", free_port()), extra)
    }

    /// The same on `address`: a server started again where its clients know it.
    pub fn start_on(database: &str, address: &str, extra: &[&str]) -> Served {
        let address = address.to_owned();
        let child = nodepulse()
            .args(["serve", "--listen", &address, "--database", database])
            .args(["--key-rate", "1000000", "--key-burst", "1000000", "-q"])
            .args(extra)
            .stderr(Stdio::inherit())
            .spawn()
            .expect("serve starts");
        let base = format!("http://{address}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(&address).is_err() {
            assert!(Instant::now() < deadline, "serve did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
        Served {
            child,
            base,
            address,
        }
    }
}

/// A bench that fails half-way leaves no server behind.
impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// The p-th percentile (0 to 1) of sorted durations; zero for none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted
        .get(((sorted.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or_default()
}

/// SQLite at `sqlite_file`, and PostgreSQL when NODEPULSE_BENCH_POSTGRES names a server (a new
/// database `<prefix>_<pid>` in it): each with its label.
pub fn databases(sqlite_file: &std::path::Path, prefix: &str) -> Vec<(&'static str, String)> {
    let mut databases = vec![("SQLite", format!("sqlite://{}", sqlite_file.display()))];
    if let Ok(server) = std::env::var("NODEPULSE_BENCH_POSTGRES") {
        let name = format!("{prefix}_{}", std::process::id());
        let created = Command::new("psql")
            .args([&server, "-qc", &format!("CREATE DATABASE {name}")])
            .status();
        assert!(
            created.is_ok_and(|status| status.success()),
            "psql CREATE DATABASE"
        );
        let (base, _) = server.rsplit_once('/').expect("a database in the URL");
        databases.push(("PostgreSQL", format!("{base}/{name}")));
    }
    databases
}

/// The number after `name` on the bench's command line, else `default`; one that does not parse
/// stops the bench, saying so.
pub fn flag_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    match args
        .iter()
        .position(|arg| arg == name)
        .and_then(|at| args.get(at + 1))
    {
        None => default,
        Some(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("{name} wants a number, got {text:?}")),
    }
}

/// What a bench that talks to `serve` starts with: TLS's provider installed, a runtime, and a
/// temporary folder of its own named `name`.
pub fn bench_start(name: &str) -> (tokio::runtime::Runtime, std::path::PathBuf) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    (runtime, dir)
}
