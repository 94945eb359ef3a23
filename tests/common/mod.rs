//! Test harness: a real HTTP/1.1 server on 127.0.0.1:0 that plays a node's metrics endpoint or a
//! client-stats receiver, records what it was sent, and answers as each test tells it to; plus
//! helpers to run the built binary.

pub mod beacon;
pub mod binary;
pub mod browser;
pub mod feed;
pub mod nodes;
pub mod receiver;
pub mod storable;
pub mod stream;

pub use binary::{add_key, free_port, nodepulse};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Request {
    pub received: std::time::Instant,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// What the server answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering (a slow target).
    pub delay: Duration,
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply::status(200, body)
    }

    pub fn status(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// A server answering every request with `reply(request)`, on its own thread until the test ends.
pub struct Server {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    pub fn start(reply: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("bound address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        let reply = Arc::new(reply);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let recorded = Arc::clone(&recorded);
                let reply = Arc::clone(&reply);
                thread::spawn(move || serve(stream, &*reply, &recorded));
            }
        });
        Server { addr, requests }
    }

    /// A server that always answers 200 with this body.
    pub fn serving(body: Vec<u8>) -> Server {
        Server::start(move |_| Reply::ok(body.clone()))
    }

    /// The same, with this Content-Type.
    pub fn serving_as(body: Vec<u8>, content_type: &str) -> Server {
        let content_type = content_type.to_owned();
        Server::start(move |_| Reply::ok(body.clone()).header("Content-Type", &content_type))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("request log").clone()
    }

    /// When each request arrived.
    pub fn request_times(&self) -> Vec<std::time::Instant> {
        self.requests()
            .iter()
            .map(|request| request.received)
            .collect()
    }
}

fn serve(stream: TcpStream, reply: &dyn Fn(&Request) -> Reply, recorded: &Mutex<Vec<Request>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut first = String::new();
    if reader.read_line(&mut first).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let request = Request {
        received: std::time::Instant::now(),
        method,
        path,
        headers,
        body,
    };
    recorded.lock().expect("request log").push(request.clone());
    let answer = reply(&request);
    thread::sleep(answer.delay);
    let mut stream = stream;
    let mut head = format!(
        "HTTP/1.1 {} Test\r\nContent-Length: {}\r\nConnection: close\r\n",
        answer.status,
        answer.body.len()
    );
    for (name, value) in &answer.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&answer.body);
}

/// A loopback address nothing listens on.
pub fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}/metrics")
}

/// Every bundled consensus-client fixture: the client, and whether it has a validator-client scrape
/// (Nimbus and Grandine run their validators inside the beacon node).
pub const CONSENSUS_FIXTURES: [(&str, bool); 6] = [
    ("prysm", true),
    ("lighthouse", true),
    ("teku", true),
    ("nimbus", false),
    ("lodestar", true),
    ("grandine", false),
];

/// The scrapes in the shape of the newest release each built-in profile was checked against,
/// written from the client's source (`fixtures/{client}/{process}-{release}.prom`, the expected
/// payload beside each as `.json`): the client, the release, and the scrape its validator object is
/// read from (Nimbus and Grandine count their validators in the beacon node's own scrape).
pub const NEWEST_FIXTURES: [(&str, &str, &str); 6] = [
    ("prysm", "7.1.8", "validator"),
    ("lighthouse", "5.3.0", "validator"),
    ("teku", "26.8.0", "validator"),
    ("nimbus", "24.9.0", "beacon"),
    ("lodestar", "1.44.0", "validator"),
    ("grandine", "2.0.0", "beacon"),
];

/// A fresh directory for this test process's files, named after the test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nodepulse-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub fn fixture_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(relative)
}

pub fn fixture(relative: &str) -> Vec<u8> {
    std::fs::read(fixture_path(relative)).expect("fixture exists")
}

pub fn run(command: &mut Command) -> Output {
    command.output().expect("run nodepulse")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The `--dry-run` output, parsed.
pub fn payload(output: &Output) -> Vec<serde_json::Value> {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "stdout is not a JSON array ({err}):\n{}\nstderr:\n{}",
            stdout(output),
            stderr(output)
        )
    })
}

/// The object of one process in a payload, if present.
pub fn object<'a>(
    payload: &'a [serde_json::Value],
    process: &str,
) -> Option<&'a serde_json::Value> {
    payload.iter().find(|object| object["process"] == process)
}

/// A GET over HTTP/1.0 (so the answer is never chunked): status and body.
pub fn http_get(url: &str) -> std::io::Result<(u16, String)> {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .to_owned();
    Ok((status, body))
}

/// Polls `check` every 50 ms until it holds or `limit` passes; whether it held.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// A child process that is killed when the test ends, passed or not. Its stderr goes to a file,
/// not a pipe: a chatty process (the Pushgateway logs every help-string mismatch) would otherwise
/// fill the pipe and stop dead in a write while nobody reads it.
pub struct Running(pub Child, PathBuf);

impl Running {
    pub fn spawn(command: &mut Command) -> Running {
        static SPAWNED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let number = SPAWNED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let log = temp_dir("stderr").join(format!("{number}.log"));
        let file = std::fs::File::create(&log).expect("a stderr file");
        Running(
            command
                .stdout(Stdio::null())
                .stderr(file)
                .spawn()
                .expect("start the process"),
            log,
        )
    }

    /// Sends SIGTERM and waits at most `limit` for the exit: the status, and how long it took.
    pub fn terminate(&mut self, limit: Duration) -> Option<(ExitStatus, Duration)> {
        let started = std::time::Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        let mut status = None;
        eventually(limit, || {
            status = self.0.try_wait().expect("wait");
            status.is_some()
        });
        status.map(|status| (status, started.elapsed()))
    }

    /// Sends SIGTERM and asserts a clean exit (status 0). The bound is generous: what is checked is
    /// how it exits, not how fast.
    pub fn stop(&mut self) {
        let limit = Duration::from_secs(30);
        let Some((status, _)) = self.terminate(limit) else {
            panic!("no exit within {limit:?} of SIGTERM:\n{}", self.stderr());
        };
        assert!(status.success(), "{status}\n{}", self.stderr());
    }

    /// Everything the process wrote to stderr so far.
    pub fn stderr(&mut self) -> String {
        let bytes = std::fs::read(&self.1).expect("the process's stderr file");
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_file(&self.1);
    }
}

/// The wall clock in Unix ms, as the server stamps what it receives.
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

/// A runtime for a test that uses the store directly, as another process would.
pub fn store_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}
