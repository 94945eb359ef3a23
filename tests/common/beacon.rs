//! A beacon node that answers what a real one answered: Lodestar 1.5.1's recorded answers
//! (`fixtures/beacon-api/lodestar-1.5.1/`), one set per "wake" (a moment 3/4 into an epoch), so a
//! test walks the chain's epochs by choosing the wake, never by waiting for a clock. A request the
//! node was not asked at that wake gets the 404 Lodestar's router gives a route it lacks.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::{Reply, Request, Server, fixture_path};

const RECORDING: &str = "beacon-api/lodestar-1.5.1";

/// One recorded request and its answer.
#[derive(Debug, Clone)]
struct Exchange {
    method: String,
    target: String,
    body: Option<Value>,
    status: u16,
    answer: Value,
}

fn exchanges(file: &Value) -> Vec<Exchange> {
    file["exchanges"]
        .as_array()
        .expect("a recording lists its exchanges")
        .iter()
        .map(|exchange| {
            let path = exchange["path"].as_str().expect("path");
            let query = exchange["query"].as_str().unwrap_or_default();
            Exchange {
                method: exchange["method"].as_str().expect("method").to_owned(),
                target: if query.is_empty() {
                    path.to_owned()
                } else {
                    format!("{path}?{query}")
                },
                body: Some(exchange["body"].clone()).filter(|body| !body.is_null()),
                status: exchange["status"].as_u64().expect("status") as u16,
                answer: exchange["answer"].clone(),
            }
        })
        .collect()
}

fn read(name: &str) -> Value {
    let path: PathBuf = fixture_path(&format!("{RECORDING}/{name}"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path:?}: {err}"));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{path:?}: {err}"))
}

/// One wake: its epoch, when it happened, the slot then, and what the node answered.
struct Wake {
    epoch: u64,
    at: SystemTime,
    slot: u64,
    exchanges: Vec<Exchange>,
}

/// The recorded wakes, by epoch, and the answers recorded once at the start.
pub struct Recording {
    node: Vec<Exchange>,
    wakes: Vec<Wake>,
}

impl Recording {
    pub fn lodestar() -> Recording {
        let node = exchanges(&read("node.json"));
        let mut wakes = Vec::new();
        for entry in std::fs::read_dir(fixture_path(RECORDING)).expect("the recording's folder") {
            let name = entry
                .expect("entry")
                .file_name()
                .into_string()
                .expect("name");
            if name.starts_with("wake-epoch-") {
                let wake = read(&name);
                wakes.push(Wake {
                    epoch: wake["epoch"].as_u64().expect("epoch"),
                    at: SystemTime::UNIX_EPOCH
                        + Duration::from_millis(wake["at_unix_ms"].as_u64().expect("at_unix_ms")),
                    slot: wake["slot_at_wake"].as_u64().expect("slot_at_wake"),
                    exchanges: exchanges(&wake),
                });
            }
        }
        wakes.sort_by_key(|wake| wake.epoch);
        Recording { node, wakes }
    }

    pub fn wake_epochs(&self) -> Vec<u64> {
        self.wakes.iter().map(|wake| wake.epoch).collect()
    }

    fn wake(&self, epoch: u64) -> &Wake {
        self.wakes
            .iter()
            .find(|wake| wake.epoch == epoch)
            .unwrap_or_else(|| panic!("no wake recorded in epoch {epoch}"))
    }

    /// When the wake in `epoch` happened.
    pub fn wake_time(&self, epoch: u64) -> SystemTime {
        self.wake(epoch).at
    }

    /// What the node answered to `method target` at the wake in `epoch` (or once, at the start).
    pub fn answer(
        &self,
        epoch: u64,
        method: &str,
        target: &str,
        body: Option<&Value>,
    ) -> Option<(u16, Value)> {
        self.wake(epoch)
            .exchanges
            .iter()
            .chain(&self.node)
            .find(|x| x.method == method && x.target == target && x.body.as_ref() == body)
            .map(|x| (x.status, x.answer.clone()))
    }
}

/// The recorded node on a loopback port, answering as it did at the chosen wake.
pub struct RecordedBeaconNode {
    pub server: Server,
    pub recording: Arc<Recording>,
    wake: Arc<AtomicU64>,
    /// The clock's rewrite, for a test that runs the binary on the real clock.
    stretched: Arc<Mutex<Option<(u64, u64)>>>,
}

/// Each slot lasts an hour when the clock is stretched: the binary's real clock stays in the
/// recorded slot however slowly the test runs.
const STRETCHED_SLOT_SECONDS: u64 = 3600;

impl RecordedBeaconNode {
    pub fn start(first_wake: u64) -> RecordedBeaconNode {
        let recording = Arc::new(Recording::lodestar());
        let wake = Arc::new(AtomicU64::new(first_wake));
        let stretched: Arc<Mutex<Option<(u64, u64)>>> = Arc::new(Mutex::new(None));
        let (answers, current, clock) = (
            Arc::clone(&recording),
            Arc::clone(&wake),
            Arc::clone(&stretched),
        );
        let server = Server::start(move |request: &Request| {
            let epoch = current.load(Ordering::SeqCst);
            let body: Option<Value> = serde_json::from_slice(&request.body).ok();
            match answers.answer(epoch, &request.method, &request.path, body.as_ref()) {
                Some((status, mut answer)) => {
                    if let Some((genesis, seconds)) = *clock.lock().expect("clock") {
                        restretch(&request.path, &mut answer, genesis, seconds);
                    }
                    Reply::status(status, answer.to_string()).header("Content-Type", "application/json")
                }
                None => Reply::status(
                    404,
                    serde_json::json!({
                        "message": format!("Route {}:{} not found", request.method, request.path.split('?').next().unwrap_or_default()),
                        "error": "Not Found",
                        "statusCode": 404
                    })
                    .to_string(),
                )
                .header("Content-Type", "application/json"),
            }
        });
        RecordedBeaconNode {
            server,
            recording,
            wake,
            stretched,
        }
    }

    pub fn url(&self) -> String {
        self.server.url("")
    }

    pub fn set_wake(&self, epoch: u64) {
        self.wake.store(epoch, Ordering::SeqCst);
    }

    /// From now on, the node's genesis and slot length put the real clock in the middle of the
    /// slot of the current wake, with hour-long slots.
    pub fn stretch_clock_to_now(&self) {
        let wake_slot = self.recording.wake(self.wake.load(Ordering::SeqCst)).slot;
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        let genesis = now - wake_slot * STRETCHED_SLOT_SECONDS - STRETCHED_SLOT_SECONDS / 2;
        *self.stretched.lock().expect("clock") = Some((genesis, STRETCHED_SLOT_SECONDS));
    }
}

fn restretch(path: &str, answer: &mut Value, genesis: u64, seconds: u64) {
    match path {
        "/eth/v1/beacon/genesis" => {
            answer["data"]["genesis_time"] = Value::String(genesis.to_string())
        }
        "/eth/v1/config/spec" => {
            answer["data"]["SECONDS_PER_SLOT"] = Value::String(seconds.to_string())
        }
        _ => {}
    }
}
