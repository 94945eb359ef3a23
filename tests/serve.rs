//! `nodepulse serve` as agents and the clients' own reporters meet it, over real HTTP, against
//! SQLite and a real PostgreSQL alike: what it stores, how it answers bad input the way
//! beaconcha.in does, who may read what, and that nothing it accepted is lost to a crash or a stop.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::common::add_key;
use crate::common::receiver::{self, KINDS, Kind, Receiver, database, request};
use crate::common::{
    CONSENSUS_FIXTURES, eventually, fixture, fixture_path, nodepulse, run, stdout,
};

/// A stored object as it was sent: without what the server adds (`machine`, `received`) and, for
/// comparison with fixtures, without the sender's timestamp.
fn as_sent(stored: &Value) -> Value {
    let mut object = stored.clone();
    let map = object.as_object_mut().expect("an object");
    for added in ["machine", "received", "timestamp"] {
        map.remove(added);
    }
    object
}

fn stored(receiver: &Receiver, key: &str, machine: &str) -> Vec<Value> {
    let data = receiver.data(&format!("/api/v1/machines/{machine}/stats?limit=100"), key);
    data.as_array().expect("an array").clone()
}

fn of_process<'a>(objects: &'a [Value], process: &str) -> Vec<&'a Value> {
    objects
        .iter()
        .filter(|object| object["process"] == process)
        .collect()
}

fn minute_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        / 60
}

/// Runs `steps` with a fresh machine name until they all fell within one wall-clock minute (the
/// server's clock is this machine's), so that what the per-minute rule does is known exactly.
fn within_one_minute<T>(mut steps: impl FnMut(&str) -> T) -> T {
    for attempt in 0..5 {
        let started = minute_now();
        let result = steps(&format!("minute-{attempt}"));
        if minute_now() == started {
            return result;
        }
    }
    panic!("five attempts each crossed a minute boundary");
}

#[test]
fn every_bundled_fixture_sent_by_the_agent_is_stored_as_mapped() {
    for kind in KINDS {
        let database = database(kind, "agent-fixtures");
        let key = add_key(&database, "operator", false);
        let receiver = Receiver::start(&database, &[]);
        for (client, has_validator) in CONSENSUS_FIXTURES {
            let mut agent = nodepulse();
            agent.args(["run", "--once", "--stats-base-url", &receiver.url("")]);
            agent.args(["--api-key", &key, "--machine", client]);
            agent
                .arg("--beacon-node")
                .arg(fixture_path(&format!("{client}/beacon.prom")));
            if has_validator {
                agent
                    .arg("--validator")
                    .arg(fixture_path(&format!("{client}/validator.prom")));
            }
            let output = agent.output().expect("run the agent");
            assert!(
                output.status.success(),
                "{kind:?} {client}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let objects = stored(&receiver, &key, client);
            let expect = |file: &str| -> Value {
                serde_json::from_slice(&fixture(&format!("{client}/{file}"))).expect("JSON")
            };
            let beacon = of_process(&objects, "beaconnode");
            assert_eq!(beacon.len(), 1, "{kind:?} {client}: {objects:?}");
            assert_eq!(
                as_sent(beacon[0]),
                expect("beacon.json"),
                "{kind:?} {client}"
            );
            let validators = of_process(&objects, "validator");
            if has_validator {
                assert_eq!(validators.len(), 1, "{kind:?} {client}");
                assert_eq!(
                    as_sent(validators[0]),
                    expect("validator.json"),
                    "{kind:?} {client}"
                );
            } else {
                assert!(validators.is_empty(), "{kind:?} {client}");
            }
            // The system object is sampled from this machine: every field the agent sends on
            // Linux arrives.
            let system = of_process(&objects, "system");
            assert_eq!(system.len(), 1, "{kind:?} {client}");
            for field in [
                "cpu_cores",
                "memory_node_bytes_total",
                "misc_os",
                "misc_node_boot_ts_seconds",
            ] {
                assert!(
                    system[0].get(field).is_some(),
                    "{kind:?} {client}: no {field}"
                );
            }
            assert_eq!(system[0]["machine"], client);
        }
        let machines = receiver.data("/api/v1/machines", &key);
        assert_eq!(
            machines.as_array().map(Vec::len),
            Some(CONSENSUS_FIXTURES.len())
        );
    }
}

/// Each client's own reporter, by the route it uses.
/// Bodies written from the reporters' sources, and (in folders) recorded from the real reporter
/// (Lodestar 1.44.0's, `scripts/lodestar-reporter`) or copied from its own test (Grandine's).
const REPORTERS: [(&str, &str); 10] = [
    ("lodestar/post-1.json", "path"),
    ("lodestar/post-3.json", "query"),
    ("lodestar/post-5.json", "header"),
    ("grandine/beaconchain-rs-test.json", "path"),
    ("lighthouse-beacon-node.json", "query"),
    ("lighthouse-validator.json", "header"),
    ("teku.json", "path"),
    ("lodestar.json", "query"),
    ("prysm-beacon-node.json", "path"),
    ("prysm-validator.json", "default"),
];

#[test]
fn the_clients_own_reporters_are_taken_on_every_route() {
    for kind in KINDS {
        let database = database(kind, "reporters");
        let key = add_key(&database, "operator", false);
        let receiver = Receiver::start(&database, &[]);
        for (file, route) in REPORTERS {
            let body = fixture(&format!("reporters/{file}"));
            let machine = file.trim_end_matches(".json").replace('/', "-");
            let machine = machine.as_str();
            let answer = match route {
                "query" => receiver.post(
                    &format!("/api/v1/client/metrics?apikey={key}&machine={machine}"),
                    &body,
                ),
                "header" => request(
                    "POST",
                    &receiver.url(&format!("/api/v1/client/metrics?machine={machine}")),
                    &[("apikey", &key)],
                    &body,
                )
                .expect("answered"),
                "path" => receiver.post(&format!("/api/v1/stats/{key}/{machine}"), &body),
                _ => receiver.post(&format!("/api/v1/stats/{key}"), &body),
            };
            assert_eq!(answer.status, 200, "{kind:?} {file}: {}", answer.text());
            assert!(answer.body.is_empty(), "{kind:?} {file}: {}", answer.text());

            let machine = if route == "default" {
                "default"
            } else {
                machine
            };
            let objects = stored(&receiver, &key, machine);
            let sent: Value = serde_json::from_slice(&body).expect("JSON");
            let sent = match sent {
                Value::Array(items) => items,
                object => vec![object],
            };
            assert_eq!(objects.len(), sent.len(), "{kind:?} {file}");
            for object in &sent {
                let process = object["process"].as_str().expect("a process");
                let got = of_process(&objects, process);
                assert_eq!(got.len(), 1, "{kind:?} {file} {process}");
                // Stored as sent, but for `null`s (Teku's unknown values), which stay missing.
                let mut want = object.clone();
                want.as_object_mut()
                    .expect("an object")
                    .retain(|_, value| !value.is_null());
                let mut got = got[0].clone();
                let map = got.as_object_mut().expect("an object");
                assert_eq!(map.remove("machine"), Some(json!(machine)));
                assert!(map.remove("received").is_some());
                assert_eq!(got, want, "{kind:?} {file} {process}");
            }
        }
    }
}

#[test]
fn bad_input_is_refused_as_the_explorer_refuses_it() {
    let system = json!({"version": 1, "timestamp": 1, "process": "system", "cpu_cores": 4});
    let with = |field: &str, value: Value| {
        let mut object = system.clone();
        object[field] = value;
        object.to_string().into_bytes()
    };
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "ten objects",
            Value::Array(vec![system.clone(); 10])
                .to_string()
                .into_bytes(),
            400,
            "Max number of stat entries are 10",
        ),
        ("an empty array", b"[]".to_vec(), 400, "empty"),
        ("not JSON", b"{\"version\": 1,".to_vec(), 400, "not JSON"),
        (
            "version 3",
            with("version", json!(3)),
            400,
            "version is not supported",
        ),
        (
            "no version",
            br#"{"process":"system"}"#.to_vec(),
            400,
            "version is not supported",
        ),
        (
            "an unknown process",
            with("process", json!("execution")),
            400,
            "unknown process",
        ),
        (
            "a negative number",
            with("cpu_cores", json!(-4)),
            400,
            "`cpu_cores` must be an unsigned integer",
        ),
        (
            "a number as a string",
            with("cpu_cores", json!("4")),
            400,
            "`cpu_cores` must be an unsigned integer",
        ),
        (
            "a flag as a number",
            br#"{"version":1,"process":"beaconnode","sync_eth2_synced":1}"#.to_vec(),
            400,
            "`sync_eth2_synced` must be true or false",
        ),
        (
            "a string as a number",
            br#"{"version":1,"process":"system","misc_os":7}"#.to_vec(),
            400,
            "`misc_os` must be a string",
        ),
        (
            "a string PostgreSQL's text cannot hold",
            br#"{"version":1,"process":"system","misc_os":"lin\u0000ux"}"#.to_vec(),
            400,
            "object 0: `misc_os` must be a string of at most 256 bytes without NUL characters",
        ),
    ];
    for kind in KINDS {
        let database = database(kind, "bad-input");
        let key = add_key(&database, "operator", false);
        let receiver = Receiver::start(&database, &[]);
        for (what, body, status, message) in &cases {
            let answer = receiver.post(&format!("/api/v1/stats/{key}/m"), body);
            assert_eq!(answer.status, *status, "{kind:?} {what}: {}", answer.text());
            let error = answer.error();
            assert!(error.starts_with("ERROR: "), "{kind:?} {what}: {error}");
            assert!(error.contains(message), "{kind:?} {what}: {error}");
        }
        // Keys: none, unknown.
        let answer = receiver.post(
            "/api/v1/client/metrics?machine=m",
            system.to_string().as_bytes(),
        );
        assert_eq!(answer.status, 401, "{kind:?}");
        assert_eq!(answer.error(), "ERROR: no user found with api key");
        let answer = receiver.post("/api/v1/stats/not-a-key/m", system.to_string().as_bytes());
        assert_eq!(answer.status, 401, "{kind:?}");
        // Over the 1 MiB cap, and 10 MB: refused without reading it all, and the server goes on.
        for size in [1024 * 1024 + 1, 10_000_000] {
            let mut body = b"[".to_vec();
            body.resize(size, b' ');
            let answer = receiver.post(&format!("/api/v1/stats/{key}/m"), &body);
            assert_eq!(answer.status, 413, "{kind:?} {size}: {}", answer.text());
            assert!(answer.error().contains("larger than 1048576 bytes"));
        }
        // Nothing of it was stored, and good input still is.
        let machines = receiver.data("/api/v1/machines", &key);
        assert_eq!(machines, json!([]), "{kind:?}");
        let answer = receiver.post(
            &format!("/api/v1/stats/{key}/m"),
            system.to_string().as_bytes(),
        );
        assert_eq!(answer.status, 200, "{kind:?}: {}", answer.text());
        // The refusals are counted by reason.
        let metrics = request("GET", &receiver.url("/metrics"), &[], b"")
            .expect("metrics")
            .text();
        assert!(
            metrics.contains("nodepulse_serve_objects_rejected_total{reason=\"invalid\"} 11"),
            "{metrics}"
        );
        assert!(
            metrics.contains("nodepulse_serve_objects_rejected_total{reason=\"too_large\"} 2"),
            "{metrics}"
        );
        assert!(
            metrics.contains("nodepulse_serve_objects_rejected_total{reason=\"unauthorized\"} 2"),
            "{metrics}"
        );
    }
}

#[test]
fn one_object_per_machine_process_and_minute() {
    let system = br#"{"version":1,"timestamp":1,"process":"system","cpu_cores":4}"#;
    let both = br#"[{"version":1,"timestamp":2,"process":"system","cpu_cores":8},{"version":2,"timestamp":2,"process":"validator","validator_total":3}]"#;
    for kind in KINDS {
        let database = database(kind, "per-minute");
        let key = add_key(&database, "operator", false);
        let receiver = Receiver::start(&database, &[]);
        let (machine, answers) = within_one_minute(|machine| {
            let path = format!("/api/v1/stats/{key}/{machine}");
            let answers: Vec<_> = [&system[..], &system[..], &both[..]]
                .iter()
                .map(|body| receiver.post(&path, body))
                .collect();
            (machine.to_owned(), answers)
        });
        assert_eq!(answers[0].status, 200, "{kind:?}");
        // All of it dropped: 429, as the explorer answers, with a Retry-After.
        assert_eq!(answers[1].status, 429, "{kind:?}");
        assert!(
            answers[1]
                .error()
                .contains("one process per machine per user each minute")
        );
        assert!(answers[1].header("Retry-After").is_some());
        // Part of it dropped: the rest is stored and the request succeeds.
        assert_eq!(answers[2].status, 200, "{kind:?}: {}", answers[2].text());
        let objects = stored(&receiver, &key, &machine);
        let system = of_process(&objects, "system");
        assert_eq!(system.len(), 1, "{kind:?}");
        assert_eq!(system[0]["cpu_cores"], 4, "the first one stays");
        assert_eq!(of_process(&objects, "validator").len(), 1, "{kind:?}");
        let metrics = request("GET", &receiver.url("/metrics"), &[], b"")
            .expect("metrics")
            .text();
        assert!(
            metrics.contains("nodepulse_serve_objects_rejected_total{reason=\"same_minute\"} 2"),
            "{metrics}"
        );
        // Counted under the process that was stored, not the one dropped before it.
        for process in ["system", "validator"] {
            let line = format!("nodepulse_serve_objects_stored_total{{process=\"{process}\"}} 1");
            assert!(metrics.lines().any(|got| got == line), "{line}:\n{metrics}");
        }
    }
}

#[test]
fn a_key_reads_its_own_machines_and_an_admin_key_all() {
    let body = fixture("reporters/lighthouse-beacon-node.json");
    for kind in KINDS {
        let database = database(kind, "scopes");
        let alice = add_key(&database, "alice", false);
        let bob = add_key(&database, "bob", false);
        let admin = add_key(&database, "root", true);
        let receiver = Receiver::start(&database, &[]);
        assert_eq!(
            receiver
                .post(&format!("/api/v1/stats/{alice}/node-a"), &body)
                .status,
            200
        );
        assert_eq!(
            receiver
                .post(&format!("/api/v1/stats/{bob}/node-b"), &body)
                .status,
            200
        );

        let names = |key: &str| -> Vec<String> {
            let machines = receiver.data("/api/v1/machines", key);
            machines
                .as_array()
                .expect("an array")
                .iter()
                .map(|machine| machine["machine"].as_str().expect("a name").to_owned())
                .collect()
        };
        assert_eq!(names(&alice), ["node-a"]);
        assert_eq!(names(&bob), ["node-b"]);
        assert_eq!(names(&admin), ["node-a", "node-b"]);
        let machines = receiver.data("/api/v1/machines", &alice);
        let machine = &machines[0];
        assert_eq!(machine["key"], "alice");
        assert_eq!(machine["online"], true);
        assert!(machine["last_seen"].as_u64().is_some());
        assert_eq!(
            machine["processes"]["beaconnode"]["client_name"],
            "lighthouse"
        );
        assert_eq!(machine["processes"]["system"]["misc_os"], "lin");

        // Another key's machine is not there for alice.
        assert_eq!(
            receiver.get("/api/v1/machines/node-b/stats", &alice).status,
            404
        );
        assert_eq!(stored(&receiver, &admin, "node-b").len(), 2);
        // Every way of giving the key; none is 401.
        let url = receiver.url("/api/v1/machines");
        let bearer = format!("Bearer {alice}");
        let by_bearer = request("GET", &url, &[("Authorization", &bearer)], b"").expect("answered");
        assert_eq!(by_bearer.status, 200);
        let by_query =
            request("GET", &format!("{url}?apikey={alice}"), &[], b"").expect("answered");
        assert_eq!(by_query.status, 200);
        assert_eq!(
            request("GET", &url, &[], b"").expect("answered").status,
            401
        );

        // The window: since and until by the receiver's clock, and the process.
        let objects = stored(&receiver, &alice, "node-a");
        let received = objects[0]["received"].as_i64().expect("received");
        let window = |query: &str| -> usize {
            let path = format!("/api/v1/machines/node-a/stats?{query}");
            receiver.data(&path, &alice).as_array().map_or(0, Vec::len)
        };
        assert_eq!(window(&format!("since={received}")), 2);
        assert_eq!(window(&format!("since={}", received + 1)), 0);
        assert_eq!(window(&format!("until={received}")), 0);
        assert_eq!(window(&format!("until={}&process=system", received + 1)), 1);
        assert_eq!(window("limit=1"), 1);
        assert_eq!(
            receiver
                .get("/api/v1/machines/node-a/stats?limit=0", &alice)
                .status,
            400
        );
        assert_eq!(
            receiver
                .get("/api/v1/machines/node-a/stats?process=geth", &alice)
                .status,
            400
        );

        // beaconcha.in's own read endpoint, in its shape.
        let answer = receiver.get("/api/v1/user/stats/0/180", &alice).json();
        assert_eq!(answer["status"], "OK");
        let data = &answer["data"];
        assert_eq!(data["validator"], json!([]));
        assert_eq!(data["node"].as_array().map(Vec::len), Some(1));
        assert_eq!(data["node"][0]["machine"], "node-a");
        assert_eq!(data["node"][0]["sync_beacon_head_slot"], 10123456);
        assert_eq!(data["system"][0]["machine"], "node-a");
        let skipped = receiver.get("/api/v1/user/stats/1/180", &alice).json();
        assert_eq!(skipped["data"]["node"], json!([]));
    }
}

#[test]
fn a_removed_key_stops_at_once_and_its_data_stays() {
    let body = fixture("reporters/prysm-beacon-node.json");
    for kind in KINDS {
        let database = database(kind, "remove-key");
        let key = add_key(&database, "old-rig", false);
        let admin = add_key(&database, "root", true);
        let receiver = Receiver::start(&database, &[]);
        assert_eq!(
            receiver
                .post(&format!("/api/v1/stats/{key}/rig"), &body)
                .status,
            200
        );

        let listed = nodepulse()
            .args(["keys", "list", "--database", &database])
            .output()
            .expect("keys list");
        let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
        assert!(listed.contains("old-rig"), "{listed}");
        assert!(!listed.contains(&key), "keys list shows a key:\n{listed}");
        let line = listed
            .lines()
            .find(|line| line.starts_with("old-rig"))
            .expect("its line");
        assert!(!line.ends_with("never"), "it was used: {line}");

        let removed = nodepulse()
            .args(["keys", "remove", "old-rig", "--database", &database])
            .output()
            .expect("keys remove");
        assert!(removed.status.success());
        assert_eq!(
            receiver
                .post(&format!("/api/v1/stats/{key}/rig"), &body)
                .status,
            401
        );
        assert_eq!(receiver.get("/api/v1/machines", &key).status, 401);
        assert_eq!(
            stored(&receiver, &admin, "rig").len(),
            1,
            "{kind:?}: the data stays"
        );
        let again = nodepulse()
            .args(["keys", "remove", "old-rig", "--database", &database])
            .output()
            .expect("keys remove");
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("no key named \"old-rig\""));
    }
}

#[test]
fn what_was_answered_200_survives_kill_9() {
    let body = fixture("reporters/teku.json");
    for kind in KINDS {
        let database = database(kind, "kill-9");
        let key = add_key(&database, "operator", false);
        let mut receiver = Receiver::start(&database, &[]);
        let answer = receiver.post(&format!("/api/v1/stats/{key}/teku"), &body);
        assert_eq!(answer.status, 200);
        receiver.process.0.kill().expect("kill -9");
        receiver.process.0.wait().expect("reaped");
        let receiver = Receiver::start_on(&database, &receiver.address, &[]);
        assert_eq!(stored(&receiver, &key, "teku").len(), 3, "{kind:?}");
    }
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_then_exits_0() {
    let body = fixture("reporters/lodestar.json");
    for kind in KINDS {
        let database = database(kind, "sigterm");
        let key = add_key(&database, "operator", false);
        // A grace no busy machine can outlast between the signal and the rest of the body.
        let mut receiver = Receiver::start(&database, &["--shutdown-grace", "10m"]);
        // Half a request is in when the signal comes.
        let mut stream = TcpStream::connect(&receiver.address).expect("connect");
        let head = format!(
            "POST /api/v1/stats/{key}/lodestar HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).expect("head");
        stream.write_all(&body[..100]).expect("half the body");
        stream.flush().expect("flush");
        // The server has read the head and is reading the body (a connection whose head it had
        // not read yet when the signal came would be idle, and closed): in flight, beside the
        // scrape that asks.
        let reading = eventually(Duration::from_secs(60), || {
            receiver.metric("nodepulse_serve_requests_in_flight ") >= 2.0
        });
        assert!(reading, "{}", receiver.process.stderr());
        let pid = receiver.process.0.id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        assert!(sent.expect("kill").success());
        let heard = eventually(Duration::from_secs(30), || {
            receiver.process.stderr().contains("stopping on signal")
        });
        assert!(heard, "{}", receiver.process.stderr());
        // New connections are no longer taken (soon after the signal is heard: the log line comes
        // before the server's accept loop sees the stop)...
        let refused = eventually(Duration::from_secs(30), || {
            request("GET", &receiver.url("/healthz"), &[], b"")
                .map_or(true, |answer| answer.status != 200)
        });
        assert!(refused, "{kind:?}: new connections still taken");
        // ...but the request in flight is answered, and its objects committed.
        stream.write_all(&body[100..]).expect("the rest");
        let answer = receiver::read_answer(&mut stream).expect("an answer");
        assert_eq!(answer.status, 200, "{kind:?}: {}", answer.text());
        let exited = eventually(Duration::from_secs(30), || {
            receiver.process.0.try_wait().expect("wait").is_some()
        });
        assert!(exited, "{}", receiver.process.stderr());
        let status = receiver.process.0.wait().expect("status");
        assert!(status.success(), "{status}: {}", receiver.process.stderr());
        let receiver = Receiver::start(&database, &[]);
        assert_eq!(stored(&receiver, &key, "lodestar").len(), 2, "{kind:?}");
    }
}

#[test]
fn a_slow_client_holds_up_nobody() {
    let body = fixture("reporters/prysm-validator.json");
    let database = database(Kind::Sqlite, "slow-client");
    let key = add_key(&database, "operator", false);
    let receiver = Receiver::start(&database, &[]);
    // A head that never ends, and a body that never arrives.
    let mut trickle = TcpStream::connect(&receiver.address).expect("connect");
    trickle.write_all(b"POST /api/v1/stats/").expect("a start");
    let mut stalled = TcpStream::connect(&receiver.address).expect("connect");
    let head =
        format!("POST /api/v1/stats/{key}/x HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{{");
    stalled.write_all(head.as_bytes()).expect("a head");
    let answer = receiver.post(&format!("/api/v1/stats/{key}/prysm"), &body);
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(stored(&receiver, &key, "prysm").len(), 1);
}

#[test]
fn old_objects_are_purged_with_their_silent_machines() {
    let body = fixture("reporters/lighthouse-validator.json");
    for kind in KINDS {
        let database = database(kind, "retention");
        let key = add_key(&database, "operator", false);
        let mut receiver = Receiver::start(&database, &[]);
        assert_eq!(
            receiver
                .post(&format!("/api/v1/stats/{key}/vc"), &body)
                .status,
            200
        );
        receiver.process.stop();
        // Everything is older than a millisecond by the time it restarts; the purge runs at start.
        let receiver = Receiver::start(&database, &["--retention", "1ms"]);
        let purged = eventually(Duration::from_secs(30), || {
            receiver.data("/api/v1/machines", &key) == json!([])
        });
        assert!(
            purged,
            "{kind:?}: {}",
            receiver.data("/api/v1/machines", &key)
        );
    }
}

#[test]
fn the_database_password_never_reaches_the_output() {
    let output = nodepulse()
        .args(["serve", "--database", "mysql://root:hunter2@db/x"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--database"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    // A PostgreSQL that is not there: the error names the problem, not the URL.
    let port = crate::common::free_port();
    let output = nodepulse()
        .args(["keys", "list", "--database"])
        .arg(format!("postgres://admin:hunter2@127.0.0.1:{port}/fleet"))
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot connect to PostgreSQL"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

/// Two transactions locking the same rows in opposite orders, as two instances' writes could:
/// PostgreSQL aborts one as the deadlock's victim and asks for it to be tried again, so the store
/// tells it as aborted (a stream batch waits and is written again whole; a group of POSTs is
/// written again in halves, a lone one answered 503 with a Retry-After), not as a refusal.
#[test]
fn a_deadlock_on_postgresql_is_an_abort_to_try_again() {
    use nodepulse::serve::store::StoreError;
    let url = database(Kind::Postgres, "deadlock");
    crate::common::store_runtime().block_on(async {
        let pool = test_pool(Kind::Postgres, &url).await;
        sqlx::query("CREATE TABLE pair (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)")
            .execute(&pool)
            .await
            .expect("table");
        sqlx::query("INSERT INTO pair VALUES (1, 0), (2, 0)")
            .execute(&pool)
            .await
            .expect("rows");
        let bump = "UPDATE pair SET n = n + 1 WHERE id = $1";
        let mut first = pool.begin().await.expect("begin");
        let mut second = pool.begin().await.expect("begin");
        sqlx::query(bump)
            .bind(1_i64)
            .execute(&mut *first)
            .await
            .expect("the first locks row 1");
        sqlx::query(bump)
            .bind(2_i64)
            .execute(&mut *second)
            .await
            .expect("the second locks row 2");
        let crossed = tokio::join!(
            sqlx::query(bump).bind(2_i64).execute(&mut *first),
            sqlx::query(bump).bind(1_i64).execute(&mut *second),
        );
        let victim = match crossed {
            (Err(err), Ok(_)) | (Ok(_), Err(err)) => err,
            other => panic!("one of the two should be the deadlock's victim: {other:?}"),
        };
        let code = victim
            .as_database_error()
            .and_then(|err| err.code())
            .map(|code| code.into_owned());
        assert_eq!(code.as_deref(), Some("40P01"), "{victim}");
        let error = StoreError::from(victim);
        assert!(matches!(error, StoreError::Aborted(_)), "{error:?}");
    });
}

#[test]
fn two_instances_on_one_postgresql_keep_one_object_per_minute() {
    let database = database(Kind::Postgres, "two-instances");
    let key = add_key(&database, "fleet", false);
    let first = Receiver::start(&database, &[]);
    let second = Receiver::start(&database, &[]);
    let body = fixture("reporters/prysm-beacon-node.json");
    let (machine, statuses) = within_one_minute(|machine| {
        // Both instances at once, three requests each, for the same machine and process.
        let path = format!("/api/v1/stats/{key}/{machine}");
        let threads: Vec<_> = (0..6)
            .map(|n| {
                let url = if n % 2 == 0 {
                    first.url(&path)
                } else {
                    second.url(&path)
                };
                let body = body.clone();
                std::thread::spawn(move || {
                    request("POST", &url, &[], &body).expect("answered").status
                })
            })
            .collect();
        let statuses: Vec<u16> = threads
            .into_iter()
            .map(|thread| thread.join().expect("joined"))
            .collect();
        (machine.to_owned(), statuses)
    });
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(sorted, [200, 429, 429, 429, 429, 429], "{statuses:?}");
    assert_eq!(stored(&first, &key, &machine).len(), 1);
}

/// `promtool check metrics` on `text`: its verdict and what it said.
pub fn promtool(text: &str) -> (bool, String) {
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package) runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let output = child.wait_with_output().expect("promtool ends");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), said)
}

#[test]
fn both_metrics_endpoints_answer_promtool_in_the_classic_format_and_prometheus_in_openmetrics() {
    let database = database(Kind::Sqlite, "metrics-formats");
    let key = add_key(&database, "operator", false);
    let receiver = Receiver::start(&database, &[]);
    let listen = format!("127.0.0.1:{}", crate::common::free_port());
    let mut agent = crate::common::Running::spawn(
        nodepulse()
            .args([
                "run",
                "--stats-base-url",
                &receiver.url(""),
                "--api-key",
                &key,
            ])
            .args([
                "--machine",
                "lighthouse",
                "--listen",
                &listen,
                "--beacon-node",
            ])
            .arg(fixture_path("lighthouse/beacon.prom")),
    );
    // Both have counted something: the server a stored object, the agent a delivery.
    let agent_url = format!("http://{listen}/metrics");
    let delivered = eventually(Duration::from_secs(60), || {
        request("GET", &agent_url, &[], b"")
            .is_ok_and(|answer| answer.text().contains("outcome=\"delivered\""))
    });
    assert!(delivered, "{}", agent.stderr());
    let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    for url in [agent_url, receiver.url("/metrics")] {
        for accept in [None, Some("*/*"), Some("text/plain")] {
            let headers: Vec<(&str, &str)> =
                accept.iter().map(|value| ("Accept", *value)).collect();
            let answer = request("GET", &url, &headers, b"").expect("answered");
            assert_eq!(answer.status, 200);
            assert_eq!(
                answer.header("Content-Type"),
                Some("text/plain; version=0.0.4; charset=utf-8"),
                "{url} {accept:?}"
            );
            let text = answer.text();
            assert!(
                !text.contains("# EOF") && !text.contains(" info\n"),
                "{text}"
            );
            let (valid, said) = promtool(&text);
            assert!(valid, "{url} {accept:?}: promtool says {said}\n{text}");
        }
        let answer = request("GET", &url, &[("Accept", prometheus)], b"").expect("answered");
        assert_eq!(
            answer.header("Content-Type"),
            Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
        );
        assert!(answer.text().ends_with("# EOF\n"), "{url}");
    }
    // What promtool refuses in the OpenMetrics answer is what the negotiation keeps from it.
    let openmetrics = request(
        "GET",
        &receiver.url("/metrics"),
        &[("Accept", prometheus)],
        b"",
    )
    .expect("answered")
    .text();
    assert!(
        !promtool(&openmetrics).0,
        "promtool takes OpenMetrics after all"
    );
    agent.stop();
}

#[test]
fn fleet_metrics_carry_each_machines_newest_numbers_for_prometheus() {
    for kind in KINDS {
        let database = database(kind, "fleet-metrics");
        let key = add_key(&database, "ops", false);
        let plain = Receiver::start(&database, &[]);
        let body = fixture("reporters/lighthouse-beacon-node.json");
        assert_eq!(
            plain
                .post(&format!("/api/v1/stats/{key}/rig-1"), &body)
                .status,
            200
        );
        let text = request("GET", &plain.url("/metrics"), &[], b"")
            .expect("metrics")
            .text();
        assert!(
            !text.contains("nodepulse_fleet_"),
            "only with --fleet-metrics"
        );

        let fleet = Receiver::start(&database, &["--fleet-metrics"]);
        let text = request("GET", &fleet.url("/metrics"), &[], b"")
            .expect("metrics")
            .text();
        let labels = "key=\"ops\",machine=\"rig-1\"";
        for line in [
            format!("nodepulse_fleet_online{{{labels}}} 1"),
            format!(
                "nodepulse_fleet_sync_beacon_head_slot{{{labels},process=\"beaconnode\"}} 10123456"
            ),
            format!("nodepulse_fleet_cpu_cores{{{labels},process=\"system\"}} 8"),
            format!("nodepulse_fleet_sync_eth2_synced{{{labels},process=\"beaconnode\"}} 1"),
        ] {
            assert!(
                text.lines().any(|got| got == line),
                "{kind:?}: no `{line}` in:\n{text}"
            );
        }
        let (valid, said) = promtool(&text);
        assert!(valid, "{kind:?}: promtool says {said}");
    }
}

#[test]
fn https_with_a_certificate_and_key() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = crate::common::temp_dir("tls");
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("a certificate");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).expect("write cert");
    std::fs::write(&key, certified.key_pair.serialize_pem()).expect("write key");

    let database = database(Kind::Sqlite, "tls");
    let api_key = add_key(&database, "operator", false);
    let port = crate::common::free_port();
    let mut process = crate::common::Running::spawn(
        nodepulse()
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database",
                &database,
            ])
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key),
    );
    // A client that opens a connection and never says hello holds up nobody.
    let up = eventually(Duration::from_secs(30), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(up, "{}", process.stderr());
    let stalled = TcpStream::connect(("127.0.0.1", port)).expect("connect");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let root = reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).expect("root");
    let client = reqwest::Client::builder()
        .add_root_certificate(root)
        .build()
        .expect("client");
    let base = format!("https://localhost:{port}");
    let body = fixture("reporters/lighthouse-validator.json");
    let posted = runtime
        .block_on(
            client
                .post(format!("{base}/api/v1/stats/{api_key}/vc"))
                .body(body)
                .send(),
        )
        .unwrap_or_else(|err| panic!("{err}: {}", process.stderr()));
    assert_eq!(posted.status(), 200);
    let machines = runtime
        .block_on(async {
            client
                .get(format!("{base}/api/v1/machines"))
                .header("apikey", &api_key)
                .send()
                .await?
                .bytes()
                .await
        })
        .expect("machines");
    let machines: Value = serde_json::from_slice(&machines).expect("JSON");
    assert_eq!(machines["data"][0]["machine"], "vc");
    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = request("GET", &format!("http://127.0.0.1:{port}/healthz"), &[], b"");
    assert!(plain.is_err() || plain.is_ok_and(|answer| answer.status != 200));
    drop(stalled);
    process.stop();
}

#[test]
fn a_key_over_its_rate_gets_429_with_retry_after_and_the_access_log_never_shows_a_key() {
    let body = fixture("reporters/prysm-validator.json");
    let database = database(Kind::Sqlite, "rate");
    let key = add_key(&database, "busy", false);
    let other = add_key(&database, "calm", false);
    // One request a second, at most three at once.
    let mut receiver = Receiver::start(&database, &["--key-rate", "1", "--key-burst", "3", "-v"]);
    // Ten requests take far less than the seven seconds that would refill seven tokens.
    let statuses: Vec<u16> = (0..10)
        .map(|n| {
            let answer = receiver.post(
                &format!("/api/v1/client/metrics?apikey={key}&machine=m{n}"),
                &body,
            );
            if answer.status == 429 {
                let wait: u64 = answer
                    .header("Retry-After")
                    .and_then(|value| value.parse().ok())
                    .expect("a Retry-After in seconds");
                assert!((1..=2).contains(&wait), "{wait}");
                assert!(answer.error().contains("rate limit"));
            }
            answer.status
        })
        .collect();
    assert_eq!(&statuses[..3], [200, 200, 200], "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    // Another key is not held back by it.
    assert_eq!(
        receiver
            .post(&format!("/api/v1/stats/{other}/calm"), &body)
            .status,
        200
    );
    assert_eq!(receiver.get("/api/v1/machines", &other).status, 200);

    let log = receiver.process.stderr();
    assert!(log.contains("route=\"/api/v1/client/metrics\""), "{log}");
    assert!(
        log.contains("route=\"/api/v1/stats/{apikey}/{machine}\""),
        "{log}"
    );
    for secret in [&key, &other] {
        assert!(!log.contains(secret.as_str()), "a key in the log:\n{log}");
    }
}

#[test]
fn a_database_that_fails_is_a_500_in_the_explorers_shape_and_nothing_half_stored() {
    let database = database(Kind::Postgres, "db-fails");
    let key = add_key(&database, "ops", false);
    let receiver = Receiver::start(&database, &[]);
    let psql = |sql: &str| {
        let status = std::process::Command::new("psql")
            .args([database.as_str(), "-v", "ON_ERROR_STOP=1", "-qc", sql])
            .status()
            .expect("psql");
        assert!(status.success(), "{sql}");
    };
    // The history table gone from under the server (an operator's mistake, a broken restore).
    psql("ALTER TABLE stats RENAME TO stats_away");
    let body = fixture("reporters/lighthouse-beacon-node.json");
    let answer = receiver.post(&format!("/api/v1/stats/{key}/rig"), &body);
    assert_eq!(answer.status, 500, "{}", answer.text());
    assert_eq!(answer.error(), "ERROR: could not store");
    psql("ALTER TABLE stats_away RENAME TO stats");
    // Nothing of the failed request was kept (not even its machine), and the next one stores.
    assert_eq!(receiver.data("/api/v1/machines", &key), json!([]));
    let answer = receiver.post(&format!("/api/v1/stats/{key}/rig"), &body);
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(stored(&receiver, &key, "rig").len(), 2);
}

/// The folder holding `kind`'s migrations.
fn migrations_folder(kind: Kind) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(match kind {
        Kind::Sqlite => "migrations/sqlite",
        Kind::Postgres => "migrations/postgres",
    })
}

/// The versions of `kind`'s migrations, from their files' names (`0001_client_stats.sql` is 1).
fn migration_versions(kind: Kind) -> Vec<i64> {
    let mut versions: Vec<i64> = std::fs::read_dir(migrations_folder(kind))
        .expect("the migrations folder")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.split('_').next()?.parse().ok()
        })
        .collect();
    versions.sort_unstable();
    versions
}

/// An `AnyPool` on a test database, created if need be (SQLite).
async fn test_pool(kind: Kind, url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    let url = match kind {
        Kind::Sqlite => format!("{url}?mode=rwc"),
        Kind::Postgres => url.to_owned(),
    };
    sqlx::AnyPool::connect(&url).await.expect("connect")
}

/// Runs `kind`'s migrations up to `last` only, as an older release would have.
async fn migrate_up_to(kind: Kind, pool: &sqlx::AnyPool, last: i64) {
    let mut older = sqlx::migrate::Migrator::new(migrations_folder(kind))
        .await
        .expect("the migrations");
    let kept: Vec<_> = older
        .migrations
        .iter()
        .filter(|m| m.version <= last)
        .cloned()
        .collect();
    assert_eq!(kept.len() as i64, last);
    older.migrations = kept.into();
    older.run(pool).await.expect("the older migrations");
}

/// A database the first release made (migration 0001 only, with data in it) is upgraded in place
/// by the next start: its data stays, and what the new migrations add works.
#[test]
fn an_older_database_is_upgraded_in_place_with_its_data() {
    use sqlx::Row;
    for kind in KINDS {
        let url = database(kind, "upgrade");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let connect = || test_pool(kind, &url);
        runtime.block_on(async {
            let pool = connect().await;
            migrate_up_to(kind, &pool, 1).await;
            sqlx::query("INSERT INTO api_keys (name, key_hash, admin, created_ms) VALUES ('old', $1, 0, 1)")
                .bind(vec![7u8; 32])
                .execute(&pool)
                .await
                .expect("a key");
            sqlx::query("INSERT INTO machines (key_id, name, last_seen_ms) SELECT id, 'rig', 60000 FROM api_keys")
                .execute(&pool)
                .await
                .expect("a machine");
            sqlx::query(
                "INSERT INTO stats (machine_id, process, minute, received_ms, version, sync_beacon_head_slot) \
                 SELECT id, 1, 1, 60000, 1, 12345 FROM machines",
            )
            .execute(&pool)
            .await
            .expect("an object");
            pool.close().await;
        });

        let listed = nodepulse()
            .args(["keys", "list", "--database", &url])
            .output()
            .expect("keys list");
        assert!(
            listed.status.success(),
            "{}",
            String::from_utf8_lossy(&listed.stderr)
        );
        assert!(String::from_utf8_lossy(&listed.stdout).contains("old"));

        runtime.block_on(async {
            let pool = connect().await;
            let versions: Vec<i64> =
                sqlx::query("SELECT version FROM _sqlx_migrations ORDER BY version")
                    .fetch_all(&pool)
                    .await
                    .expect("migrations table")
                    .iter()
                    .map(|row| row.get::<i64, _>("version"))
                    .collect();
            assert_eq!(versions, migration_versions(kind));
            let slot: i64 = sqlx::query("SELECT sync_beacon_head_slot FROM stats")
                .fetch_one(&pool)
                .await
                .expect("the object")
                .get(0);
            assert_eq!(slot, 12345);
            pool.close().await;
        });

        // The new tables work on the upgraded database.
        let key = add_key(&url, "reader", false);
        let receiver = Receiver::start(&url, &[]);
        let mut node = crate::common::stream::StreamClient::connect(&format!(
            "ws://{}/submit",
            receiver.address
        ));
        assert!(node.send(&crate::common::stream::wrapped(
            1,
            crate::common::stream::connected("upgraded", "12D3KooWUpgraded")
        )));
        node.close();
        assert!(eventually(Duration::from_secs(60), || {
            receiver
                .rows("/nodes", &key)
                .as_array()
                .is_some_and(|nodes| nodes.len() == 1)
        }));
    }
}

/// Several processes starting at once on a new database (instances of a fleet, or `keys add`
/// beside a starting server) migrate it once between them: each waits for the one that holds the
/// migrator's lock and then finds the schema done, on both databases.
#[test]
fn processes_starting_at_once_on_a_new_database_migrate_it_once() {
    use sqlx::Row;
    for kind in KINDS {
        let url = database(kind, "migrate_at_once");
        let adding: Vec<_> = (0..4)
            .map(|n| {
                nodepulse()
                    .args(["keys", "add", &format!("key{n}"), "--database", &url])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("keys add")
            })
            .collect();
        for child in adding {
            let output = child.wait_with_output().expect("keys add");
            assert!(
                output.status.success(),
                "{kind:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let listed = stdout(&run(nodepulse().args(["keys", "list", "--database", &url])));
        for n in 0..4 {
            assert!(listed.contains(&format!("key{n}")), "{kind:?}: {listed}");
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let versions: Vec<i64> = runtime.block_on(async {
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&url).await.expect("connect");
            let rows = sqlx::query("SELECT version FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&pool)
                .await
                .expect("migrations table");
            pool.close().await;
            rows.iter()
                .map(|row| row.get::<i64, _>("version"))
                .collect()
        });
        assert_eq!(versions, migration_versions(kind), "{kind:?}");
    }
}

/// On PostgreSQL, messages and samples the default partitions held (written while their days'
/// partitions could not be made) move into their days' partitions, made for them, when the default
/// partitions go (migration 0010): none is lost, and the days past their window are dropped whole.
#[test]
fn postgresql_rows_of_the_default_partitions_move_into_their_days() {
    const DAY_MS: i64 = 86_400_000;
    let url = database(Kind::Postgres, "upgrade-defaults");
    let runtime = crate::common::store_runtime();
    let now = crate::common::unix_ms();
    // No day's partition exists in a database migrated from empty to 0009: every row below went
    // to a default partition.
    let (old, older) = (now - 10 * DAY_MS, now - 400 * DAY_MS);
    runtime.block_on(async {
        let pool = test_pool(Kind::Postgres, &url).await;
        migrate_up_to(Kind::Postgres, &pool, 9).await;
        for statement in [
            "INSERT INTO stream_nodes (peer_id, genesis_hash, format, audit, connected_ms, \
             last_seen_ms, state) VALUES ('12D3KooWOld', '0x01', 'substrate', 0, 1, 1, '{}')",
            "INSERT INTO stream_logs (node_id, created_ms, msg, audit, log) \
             SELECT id, $1, 'system.interval', 0, '{}' FROM stream_nodes",
            "INSERT INTO stream_logs (node_id, created_ms, msg, audit, log) \
             SELECT id, $2, 'system.interval', 0, '{}' FROM stream_nodes",
            "INSERT INTO stream_samples (node_id, minute_ms, at_ms, state) \
             SELECT id, $1 - $1 % 60000, $1, '{}' FROM stream_nodes",
        ] {
            sqlx::query(statement)
                .bind(old)
                .bind(older)
                .execute(&pool)
                .await
                .unwrap_or_else(|err| panic!("{statement}: {err}"));
        }
        let homes: Vec<String> = sqlx::query_scalar(
            "SELECT tableoid::regclass::text FROM stream_logs UNION ALL \
             SELECT tableoid::regclass::text FROM stream_samples",
        )
        .fetch_all(&pool)
        .await
        .expect("the partitions");
        assert_eq!(
            homes,
            [
                "stream_logs_raw_default",
                "stream_logs_raw_default",
                "stream_samples_default"
            ]
        );
        pool.close().await;
    });
    add_key(&url, "reader", false);
    runtime.block_on(async {
        let pool = test_pool(Kind::Postgres, &url).await;
        let day = |ms: i64| {
            let at = UNIX_EPOCH + Duration::from_millis(ms as u64);
            humantime::format_rfc3339_seconds(at).to_string()[..10].replace('-', "")
        };
        let homes: Vec<(String, i64)> = sqlx::query_as(
            "SELECT tableoid::regclass::text, created_ms FROM stream_logs UNION ALL \
             SELECT tableoid::regclass::text, at_ms FROM stream_samples ORDER BY 2, 1",
        )
        .fetch_all(&pool)
        .await
        .expect("the partitions");
        assert_eq!(
            homes,
            [
                (format!("stream_logs_raw_{}", day(older)), older),
                (format!("stream_logs_raw_{}", day(old)), old),
                (format!("stream_samples_{}", day(old)), old),
            ]
        );
        let defaults: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_class WHERE relname LIKE 'stream\\_%\\_default'",
        )
        .fetch_one(&pool)
        .await
        .expect("the defaults");
        assert_eq!(defaults, 0);
        pool.close().await;
    });
}

/// Stream messages kept before the minute samples came (migration 0008's schema) stay through the
/// upgrade: on PostgreSQL they are copied into the day partitions, their ids continued, and those
/// from /audit kept apart; they are counted as the counts are made.
#[test]
fn stream_messages_stay_through_the_upgrade_to_day_partitions() {
    use sqlx::Row;
    const DAY_MS: i64 = 86_400_000;
    for kind in KINDS {
        let url = database(kind, "upgrade-streams");
        let runtime = crate::common::store_runtime();
        let now = crate::common::unix_ms();
        // Today's and three days ago's messages from /submit, and one from /audit.
        let kept = [(now, 0), (now - 3 * DAY_MS, 0), (now - 3 * DAY_MS, 1)];
        runtime.block_on(async {
            let pool = test_pool(kind, &url).await;
            migrate_up_to(kind, &pool, 8).await;
            sqlx::query(
                "INSERT INTO stream_nodes (peer_id, genesis_hash, format, audit, connected_ms, \
                 last_seen_ms, state) VALUES ('12D3KooWOld', '0x01', 'substrate', 0, 1, 1, '{}')",
            )
            .execute(&pool)
            .await
            .expect("a node");
            for (created_ms, audit) in kept {
                sqlx::query(
                    "INSERT INTO stream_logs (node_id, created_ms, msg, audit, log) \
                     SELECT id, $1, 'system.interval', $2, '{}' FROM stream_nodes",
                )
                .bind(created_ms)
                .bind(audit)
                .execute(&pool)
                .await
                .expect("a message");
            }
            pool.close().await;
        });
        add_key(&url, "reader", false);
        runtime.block_on(async {
            let pool = test_pool(kind, &url).await;
            let rows = sqlx::query(
                "SELECT id, created_ms, CAST(audit AS BIGINT) FROM stream_logs ORDER BY id",
            )
            .fetch_all(&pool)
            .await
            .expect("the messages");
            let read: Vec<(i64, i64, i64)> = rows
                .iter()
                .map(|row| {
                    (
                        row.get::<i64, _>(0),
                        row.get::<i64, _>(1),
                        row.get::<i64, _>(2),
                    )
                })
                .collect();
            let expected: Vec<(i64, i64, i64)> = kept
                .iter()
                .zip(1..)
                .map(|((created_ms, audit), id)| (id, *created_ms, *audit))
                .collect();
            assert_eq!(read, expected, "{kind:?}");
            // They are counted by day, whether from /audit and kind, as serve counts them.
            let counts: Vec<(i64, i64, String, i64)> = sqlx::query(
                "SELECT day, CAST(audit AS BIGINT), msg, qty FROM stream_log_counts \
                 ORDER BY day, audit",
            )
            .fetch_all(&pool)
            .await
            .expect("the counts")
            .iter()
            .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
            .collect();
            let counted =
                |at_ms: i64, audit: i64| (at_ms / DAY_MS, audit, "system.interval".to_owned(), 1);
            assert_eq!(
                counts,
                [
                    counted(now - 3 * DAY_MS, 0),
                    counted(now - 3 * DAY_MS, 1),
                    counted(now, 0)
                ],
                "{kind:?}"
            );
            // A new message's id follows the old ones.
            let next: i64 = sqlx::query_scalar(
                "INSERT INTO stream_logs (node_id, created_ms, msg, audit, log) \
                 SELECT id, $1, 'system.interval', 0, '{}' FROM stream_nodes RETURNING id",
            )
            .bind(now)
            .fetch_one(&pool)
            .await
            .expect("a new message");
            assert_eq!(next, 4, "{kind:?}");
            if kind == Kind::Postgres {
                let homes: Vec<String> = sqlx::query_scalar(
                    "SELECT tableoid::regclass::text FROM stream_logs ORDER BY id",
                )
                .fetch_all(&pool)
                .await
                .expect("the partitions");
                let day = |ms: i64| {
                    let at = UNIX_EPOCH + Duration::from_millis(ms as u64);
                    humantime::format_rfc3339_seconds(at).to_string()[..10].replace('-', "")
                };
                assert_eq!(
                    homes,
                    [
                        format!("stream_logs_raw_{}", day(now)),
                        format!("stream_logs_raw_{}", day(now - 3 * DAY_MS)),
                        "stream_logs_audit".to_owned(),
                        format!("stream_logs_raw_{}", day(now)),
                    ]
                );
            }
            pool.close().await;
        });
    }
}
