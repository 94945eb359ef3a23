//! What the benches share: the built binary, a free port, keys, and a running `serve`.

#![allow(dead_code)] // each bench uses its own subset

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn nodepulse() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nodepulse"))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

pub fn add_key(database: &str, name: &str, admin: bool) -> String {
    let mut command = nodepulse();
    command.args(["keys", "add", name, "--database", database]);
    if admin {
        command.arg("--admin");
    }
    let output = command.output().expect("keys add");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

pub struct Served {
    pub child: Child,
    pub base: String,
    pub address: String,
}

impl Served {
    /// `serve` on a free port with `extra` flags, its key rate limit out of the way.
    pub fn start(database: &str, extra: &[&str]) -> Served {
        let address = format!("127.0.0.1:{}", free_port());
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
