//! `nodepulse serve` under test: a database of either kind, the server on a free port, keys, and a
//! plain HTTP client for what it answers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use super::{Running, eventually, free_port, nodepulse, temp_dir};

/// The databases every receiver test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

pub const KINDS: [Kind; 2] = [Kind::Sqlite, Kind::Postgres];

/// A fresh, empty database of `kind` for one test: a new SQLite file, or a new database in the
/// throwaway PostgreSQL cluster that scripts/test.sh starts (its URL in NODEPULSE_TEST_POSTGRES).
pub fn database(kind: Kind, name: &str) -> String {
    match kind {
        Kind::Sqlite => {
            let path = temp_dir(name).join("nodepulse.db");
            let _ = std::fs::remove_file(&path);
            format!("sqlite://{}", path.display())
        }
        Kind::Postgres => create_database(&postgres_url(), name),
    }
}

/// A new, empty database `name` (with this process's id) on the PostgreSQL `server`: its URL.
fn create_database(server: &str, name: &str) -> String {
    let database = format!("t_{}_{}", name.replace('-', "_"), std::process::id());
    let psql = |sql: &str| {
        let output = Command::new("psql")
            .args([server, "-v", "ON_ERROR_STOP=1", "-qc", sql])
            .output()
            .expect("run psql");
        assert!(
            output.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    psql(&format!("DROP DATABASE IF EXISTS {database}"));
    psql(&format!("CREATE DATABASE {database}"));
    let (base, _) = server.rsplit_once('/').expect("a database in the URL");
    format!("{base}/{database}")
}

/// A PostgreSQL cluster of one test's own (scripts/postgres.sh), for a test that stops and starts
/// its server: the shared cluster stays up for every test running beside it. Stopped and removed
/// when dropped.
pub struct OwnCluster {
    dir: std::path::PathBuf,
    url: String,
}

impl OwnCluster {
    pub fn start(name: &str) -> OwnCluster {
        let dir = temp_dir(&format!("pg-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        let mut cluster = OwnCluster {
            dir,
            url: String::new(),
        };
        cluster.url = cluster.run("start");
        cluster
    }

    /// A new, empty database in this cluster: its URL.
    pub fn database(&self, name: &str) -> String {
        create_database(&self.url, name)
    }

    pub fn stop(&self) {
        self.run("stop");
    }

    pub fn restart(&self) {
        self.run("start");
    }

    /// Runs scripts/postgres.sh `action` on this cluster; what it printed.
    fn run(&self, action: &str) -> String {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/postgres.sh");
        let output = Command::new("bash")
            .args([script, action])
            .arg(&self.dir)
            .output()
            .expect("run scripts/postgres.sh");
        assert!(
            output.status.success(),
            "postgres.sh {action}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .args([
                concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/postgres.sh"),
                "stop",
            ])
            .arg(&self.dir)
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The cluster's URL; the tests cannot run without one.
pub fn postgres_url() -> String {
    std::env::var("NODEPULSE_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!(
            "NODEPULSE_TEST_POSTGRES is not set: run scripts/test.sh, which starts a throwaway \
             PostgreSQL cluster and sets it"
        )
    })
}

/// A running `nodepulse serve`.
pub struct Receiver {
    pub process: Running,
    pub address: String,
    pub database: String,
}

impl Receiver {
    /// On a free port; another test that took the same port a moment later costs a retry.
    pub fn start(database: &str, extra: &[&str]) -> Receiver {
        for _ in 0..3 {
            let address = format!("127.0.0.1:{}", free_port());
            if let Some(receiver) = Receiver::try_start(database, &address, extra) {
                return receiver;
            }
        }
        panic!("serve did not come up on three free ports");
    }

    /// On a given address (a restart keeps its port).
    pub fn start_on(database: &str, address: &str, extra: &[&str]) -> Receiver {
        Receiver::try_start(database, address, extra)
            .unwrap_or_else(|| panic!("serve did not come up on {address}"))
    }

    /// On a free port, started with at most `open_files` descriptors (its soft limit), as systemd
    /// and most shells start a service.
    pub fn start_with_soft_open_files(database: &str, open_files: u32, extra: &[&str]) -> Receiver {
        let address = format!("127.0.0.1:{}", free_port());
        let serve = nodepulse();
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("ulimit -Sn {open_files} && exec \"$0\" \"$@\""))
            .arg(serve.get_program())
            .args(["serve", "--listen", &address, "--database", database])
            .args(extra);
        // The same environment as `nodepulse()` leaves the binary.
        for (name, value) in serve.get_envs() {
            if value.is_none() {
                command.env_remove(name);
            }
        }
        Receiver::try_start_command(command, database, &address)
            .unwrap_or_else(|| panic!("serve did not come up on {address}"))
    }

    /// Running and answering /healthz, or `None` when the process exited (its port was taken).
    fn try_start(database: &str, address: &str, extra: &[&str]) -> Option<Receiver> {
        let mut command = nodepulse();
        command
            .args(["serve", "--listen", address, "--database", database])
            .args(extra);
        Receiver::try_start_command(command, database, address)
    }

    fn try_start_command(mut command: Command, database: &str, address: &str) -> Option<Receiver> {
        let mut process = Running::spawn(&mut command);
        let url = format!("http://{address}/healthz");
        let mut exited = false;
        let up = eventually(Duration::from_secs(30), || {
            exited = process.0.try_wait().ok().flatten().is_some();
            exited || matches!(request("GET", &url, &[], b""), Ok(answer) if answer.status == 200)
        });
        if exited {
            eprintln!("serve exited: {}", process.stderr());
            return None;
        }
        assert!(up, "serve did not come up:\n{}", process.stderr());
        Some(Receiver {
            process,
            address: address.to_owned(),
            database: database.to_owned(),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn post(&self, path: &str, body: &[u8]) -> Answer {
        request(
            "POST",
            &self.url(path),
            &[("Content-Type", "application/json")],
            body,
        )
        .expect("POST answered")
    }

    pub fn get(&self, path: &str, key: &str) -> Answer {
        request("GET", &self.url(path), &[("apikey", key)], b"").expect("GET answered")
    }

    /// Signs in with `key` through the page's form; the session cookie it sets (`name=value`).
    pub fn sign_in(&self, key: &str) -> String {
        let answer = request(
            "POST",
            &self.url("/login"),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            format!("key={key}").as_bytes(),
        )
        .expect("sign-in answered");
        assert_eq!(answer.status, 303, "{}", answer.text());
        answer
            .header("Set-Cookie")
            .and_then(|cookie| cookie.split(';').next())
            .expect("a session cookie")
            .to_owned()
    }

    /// The value of the first line of its `/metrics` that starts with `line_start`; 0 when none
    /// does (a counter not yet counted).
    pub fn metric(&self, line_start: &str) -> f64 {
        self.get("/metrics", "")
            .text()
            .lines()
            .find(|line| line.starts_with(line_start))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse().ok())
            .unwrap_or(0.0)
    }

    /// `/metrics` as promtool asks for it: the classic text format.
    pub fn metrics_text(&self) -> String {
        request(
            "GET",
            &self.url("/metrics"),
            &[("Accept", "text/plain")],
            b"",
        )
        .expect("metrics")
        .text()
    }

    /// A successful answer of the stream routes (seed 004's and seed 002's), bare JSON as those
    /// servers answer: no envelope.
    pub fn rows(&self, path: &str, key: &str) -> serde_json::Value {
        let answer = self.get(path, key);
        assert_eq!(answer.status, 200, "GET {path}: {}", answer.text());
        let json = answer.json();
        assert!(json.is_array(), "GET {path}: not a bare array: {json}");
        json
    }

    /// The `data` of a successful JSON answer in beaconcha.in's envelope (the `/api/v1` routes).
    pub fn data(&self, path: &str, key: &str) -> serde_json::Value {
        let answer = self.get(path, key);
        assert_eq!(answer.status, 200, "GET {path}: {}", answer.text());
        let mut json = answer.json();
        assert_eq!(json["status"], "OK", "{json}");
        json["data"].take()
    }
}

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.text()))
    }

    /// The explorer's error object's message.
    pub fn error(&self) -> String {
        let json = self.json();
        assert_eq!(json["data"], serde_json::Value::Null, "{json}");
        json["status"].as_str().expect("a status string").to_owned()
    }
}

/// One HTTP/1.0 exchange (the answer is never chunked, the connection closes after it).
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Answer> {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.0\r\nHost: {host}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    // A server may answer (413) and close before the whole body is written.
    let _ = stream.write_all(body);
    read_answer(&mut stream)
}

pub fn read_answer(stream: &mut TcpStream) -> std::io::Result<Answer> {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no complete answer head"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    Ok(Answer {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    })
}
