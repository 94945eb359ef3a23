//! The WebSocket telemetry stream against a real WebSocket server (tokio-tungstenite) that records
//! every frame per connection, fed by loopback JSON-RPC servers standing in for a Starknet and a
//! Substrate node with realistic answers.

use std::net::TcpListener as StdListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::nodes::{
    GENESIS, PEER_ID, starknet_block_facts, starknet_node, starknet_node_of, substrate_node,
};
use crate::common::{
    Reply, Running, Server, eventually, fixture_path, free_port, http_get, nodepulse, run, stderr,
};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// A WebSocket telemetry server on loopback: every connection's text frames, in order, and the
/// status code of every Close it was sent (answered with its own, as a real server does).
struct WsServer {
    url: String,
    connections: Arc<Mutex<Vec<Vec<Value>>>>,
    closes: Arc<Mutex<Vec<Option<u16>>>>,
    drop_all: Arc<AtomicBool>,
}

impl WsServer {
    fn start() -> WsServer {
        let listener = StdListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("ws://{}", listener.local_addr().expect("addr"));
        listener.set_nonblocking(true).expect("nonblocking");
        let connections = Arc::new(Mutex::new(Vec::new()));
        let closes = Arc::new(Mutex::new(Vec::new()));
        let drop_all = Arc::new(AtomicBool::new(false));
        let (recorded, dropping) = (Arc::clone(&connections), Arc::clone(&drop_all));
        let closed = Arc::clone(&closes);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                while let Ok((stream, _)) = listener.accept().await {
                    let (recorded, dropping) = (Arc::clone(&recorded), Arc::clone(&dropping));
                    let closed = Arc::clone(&closed);
                    tokio::spawn(async move {
                        let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
                            return;
                        };
                        let index = {
                            let mut connections = recorded.lock().expect("frames");
                            connections.push(Vec::new());
                            connections.len() - 1
                        };
                        let mut ticker = tokio::time::interval(Duration::from_millis(20));
                        loop {
                            tokio::select! {
                                frame = socket.next() => match frame {
                                    Some(Ok(message)) if message.is_text() => {
                                        let text = message.into_text().expect("text");
                                        let value = serde_json::from_str(text.as_str()).expect("frames are JSON");
                                        recorded.lock().expect("frames")[index].push(value);
                                    }
                                    Some(Ok(Message::Close(frame))) => {
                                        let code = frame.map(|frame| u16::from(frame.code));
                                        closed.lock().expect("closes").push(code);
                                    }
                                    Some(Ok(_)) => {}
                                    _ => return,
                                },
                                _ = ticker.tick() => {
                                    // Drop the TCP connection without a goodbye, as a crashed server would.
                                    if dropping.swap(false, Ordering::SeqCst) {
                                        return;
                                    }
                                }
                            }
                        }
                    });
                }
            });
        });
        WsServer {
            url,
            connections,
            closes,
            drop_all,
        }
    }

    fn connections(&self) -> Vec<Vec<Value>> {
        self.connections.lock().expect("frames").clone()
    }

    fn frames_on(&self, connection: usize) -> usize {
        self.connections().get(connection).map_or(0, Vec::len)
    }
}

/// An agent streaming the Starknet `node` to `server` every 200 ms.
fn streaming_every_200ms(server: &WsServer, node: &Server) -> Running {
    Running::spawn(
        nodepulse()
            .args(["run", "--interval", "200ms"])
            .args(["--telemetry-url", &format!("{} 0", server.url)])
            .args(["--starknet-rpc", &node.url("/")]),
    )
}

/// How many times the node was asked `method`.
fn calls_of(node: &Server, method: &str) -> usize {
    node.requests()
        .iter()
        .filter_map(|request| serde_json::from_slice::<Value>(&request.body).ok())
        .filter(|call| call["method"] == method)
        .count()
}

fn payload(frame: &Value) -> &serde_json::Map<String, Value> {
    frame["payload"].as_object().expect("a payload object")
}

#[test]
fn starknet_identifies_first_then_streams_only_changes() {
    let server = WsServer::start();
    let node = starknet_node();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Running::spawn(
        nodepulse()
            .args(["run", "--interval", "300ms", "--node-name", "starknode-1"])
            .args(["--telemetry-url", &format!("{} 0", server.url)])
            .args([
                "--starknet-rpc",
                &node.url("/rpc/v0_7"),
                "--listen",
                &listen,
            ]),
    );
    assert!(
        eventually(Duration::from_secs(60), || server.frames_on(0) >= 3),
        "frames arrive"
    );
    let frames = &server.connections()[0];

    let first = payload(&frames[0]);
    assert_eq!(first["name"], "starknode-1");
    assert_eq!(first["client"], "Juno");
    assert_eq!(first["version"], "v0.14.2");
    assert_eq!(first["network"], "SN_SEPOLIA");
    assert_eq!(first["json_rpc_version"], "0.8.1");
    assert_eq!(first["starknet_version"], "0.13.4");
    assert_eq!(first["tx_number"], 3);
    assert!(first["current_block_number_l2"].is_u64());
    assert!(
        first["current_block_hash_l2"]
            .as_str()
            .is_some_and(|h| h.starts_with("0x"))
    );
    // Number, hash, time and counts all of one block, though the head moves between any two calls.
    for frame in frames {
        let block = payload(frame);
        let Some(number) = block.get("current_block_number_l2").and_then(Value::as_u64) else {
            continue;
        };
        let (time, events) = starknet_block_facts(number);
        assert_eq!(
            block["current_block_hash_l2"],
            format!("0x{number:063x}"),
            "{block:?}"
        );
        assert_eq!(block["latest_block_time"], time * 1000, "{block:?}");
        assert_eq!(block["event_number"], events, "{block:?}");
    }
    for key in [
        "operating_system",
        "memory",
        "cpu",
        "storage",
        "memory_usage",
        "storage_usage",
    ] {
        assert!(first.contains_key(key), "{key} in {first:?}");
    }
    let ts = frames[0]["ts"].as_str().expect("ts");
    assert!(
        ts.ends_with('Z') && humantime::parse_rfc3339(ts).is_ok(),
        "{ts}"
    );

    let second = payload(&frames[1]);
    for unchanged in [
        "name",
        "client",
        "version",
        "network",
        "json_rpc_version",
        "memory",
    ] {
        assert!(
            !second.contains_key(unchanged),
            "{unchanged} did not change: {second:?}"
        );
    }
    assert!(
        second["current_block_number_l2"].as_u64() > first["current_block_number_l2"].as_u64(),
        "the head moved"
    );
    assert!(
        frames[1..]
            .iter()
            .any(|frame| payload(frame).contains_key("cpu_usage")),
        "CPU usage from the second cycle on"
    );

    let (_, metrics) = http_get(&format!("http://{listen}/metrics")).expect("metrics");
    let url_label = format!("url=\"{}/\"", server.url);
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("nodepulse_telemetry_connected{")
                && l.contains(&url_label)
                && l.ends_with(" 1")),
        "{metrics}"
    );
    assert!(
        metrics.contains("nodepulse_telemetry_frames_sent_total{"),
        "{metrics}"
    );
    assert_eq!(
        calls_of(&node, "juno_version"),
        1,
        "the client is learned once"
    );
    assert!(calls_of(&node, "starknet_getBlockWithTxHashes") >= 3);
    agent.stop();
    // SIGTERM closes the stream properly: 1001, going away.
    assert!(eventually(Duration::from_secs(60), || !server
        .closes
        .lock()
        .expect("closes")
        .is_empty()));
    assert_eq!(*server.closes.lock().expect("closes"), vec![Some(1001)]);
}

/// Madara and Papyrus have no version method: "method not found" is learned once, not asked again
/// every cycle, and `client`/`version` stay out.
#[test]
fn a_node_without_a_version_method_is_asked_once() {
    let server = WsServer::start();
    let madara = starknet_node_of(None);
    let mut agent = streaming_every_200ms(&server, &madara);
    assert!(eventually(Duration::from_secs(60), || server.frames_on(0) >= 4));
    agent.stop();
    assert_eq!(calls_of(&madara, "juno_version"), 1);
    assert_eq!(calls_of(&madara, "pathfinder_version"), 1);
    let first = payload(&server.connections()[0][0]).clone();
    assert!(
        !first.contains_key("client") && !first.contains_key("version"),
        "{first:?}"
    );
    assert_eq!(first["network"], "SN_SEPOLIA");
}

#[test]
fn after_the_server_drops_the_connection_it_reconnects_and_reidentifies_without_a_backlog() {
    let server = WsServer::start();
    let node = starknet_node();
    let mut agent = streaming_every_200ms(&server, &node);
    assert!(eventually(Duration::from_secs(60), || server.frames_on(0) >= 2));
    server.drop_all.store(true, Ordering::SeqCst);
    assert!(
        eventually(Duration::from_secs(60), || server.frames_on(1) >= 3),
        "reconnected and streaming again"
    );
    let connections = server.connections();
    let before = connections[0]
        .iter()
        .filter_map(|frame| frame["payload"]["current_block_number_l2"].as_u64())
        .max()
        .unwrap_or(0);
    let after = &connections[1];
    let identification = payload(&after[0]);
    assert!(
        identification.contains_key("name") && identification.contains_key("client"),
        "{identification:?}"
    );
    let numbers: Vec<u64> = after
        .iter()
        .filter_map(|frame| frame["payload"]["current_block_number_l2"].as_u64())
        .collect();
    // Now is at least where the first connection left off (the same block when the reconnect
    // beat the next cycle), never an older state.
    assert!(
        numbers[0] >= before,
        "the first frame describes now, not the past: {} < {before}",
        numbers[0]
    );
    assert!(
        numbers.windows(2).all(|pair| pair[0] < pair[1]),
        "no replayed backlog: {numbers:?}"
    );
    agent.stop();
    let log = agent.stderr();
    assert!(log.contains("telemetry stream lost"), "{log}");
}

#[test]
fn substrate_sends_connected_then_events_and_intervals_with_the_servers_field_names() {
    let server = WsServer::start();
    let node = substrate_node();
    let mut agent = Running::spawn(
        nodepulse()
            .args(["run", "--interval", "300ms", "--node-name", "validator-01"])
            .args(["--telemetry-url", &format!("{} 5", server.url)])
            .args(["--substrate-rpc", &node.url("/")])
            .arg("--node")
            .arg(fixture_path("substrate/node.prom")),
    );
    assert!(
        eventually(Duration::from_secs(60), || server.frames_on(0) >= 8),
        "frames arrive"
    );
    let frames = &server.connections()[0];
    let kinds: Vec<&str> = frames
        .iter()
        .map(|f| f["msg"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        &kinds[..4],
        [
            "system.connected",
            "block.import",
            "notify.finalized",
            "system.interval"
        ]
    );
    for frame in frames {
        assert!(
            frame["ts"]
                .as_str()
                .is_some_and(|ts| humantime::parse_rfc3339(ts).is_ok()),
            "{frame}"
        );
    }

    let connected = &frames[0];
    assert_eq!(connected["genesis_hash"], GENESIS);
    assert_eq!(connected["name"], "validator-01");
    assert_eq!(connected["chain"], "Polkadot");
    assert_eq!(connected["implementation"], "Parity Polkadot");
    assert_eq!(connected["version"], "1.15.2-7c4a5b3a6a0");
    assert_eq!(connected["authority"], true);
    assert_eq!(connected["network_id"], PEER_ID);
    assert_eq!(
        connected["startup_time"], "1731000116000",
        "a string of Unix ms"
    );
    assert_eq!(connected["target_os"], "linux");
    assert!(connected["sysinfo"]["core_count"].is_u64());
    assert!(connected["sysinfo"]["memory"].is_u64());

    let import = &frames[1];
    assert!(import["best"].as_str().is_some_and(|h| h.len() == 66));
    assert!(import["height"].is_u64());
    let finalized = &frames[2];
    assert!(
        finalized["height"].is_string(),
        "notify.finalized's height is a string"
    );
    let interval = &frames[3];
    assert_eq!(interval["peers"], 40, "system_health wins over the metrics");
    assert_eq!(
        interval["txcount"], 17,
        "from substrate_ready_transactions_number"
    );
    assert_eq!(interval["height"], import["height"]);
    assert!(interval["finalized_height"].is_u64() && interval["finalized_hash"].is_string());
    assert!(
        interval.get("bandwidth_download").is_none(),
        "no rate from one sample"
    );
    let later = frames
        .iter()
        .skip(4)
        .find(|f| f["msg"] == "system.interval")
        .expect("a later interval");
    assert_eq!(
        later["bandwidth_download"], 0.0,
        "the fixture's counters do not move"
    );
    assert!(
        frames
            .iter()
            .skip(1)
            .all(|f| f["msg"] != "system.connected"),
        "identified once"
    );
    agent.stop();
}

#[test]
fn a_server_that_never_upgrades_times_out_and_delays_nothing_else() {
    let silent = StdListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}", silent.local_addr().expect("addr"));
    let held = Arc::new(Mutex::new(Vec::new()));
    let holder = Arc::clone(&held);
    std::thread::spawn(move || {
        for stream in silent.incoming().flatten() {
            holder.lock().expect("held").push(stream);
        }
    });
    let gateway = Server::start(|_| Reply::ok(""));
    let mut agent = Running::spawn(
        nodepulse()
            .args([
                "run",
                "--interval",
                "200ms",
                "--timeout",
                "1s",
                "--telemetry-url",
                &format!("{url} 0"),
            ])
            .args(["--pushgateway", &gateway.url(""), "--push-instance", "n"])
            .arg("--node")
            .arg(fixture_path("substrate/node.prom")),
    );
    // The 1 s connect timeout is what is tested; the rest waits on events, not the clock.
    assert!(
        eventually(Duration::from_secs(60), || gateway.requests().len() >= 5),
        "the Pushgateway is fed while the telemetry server hangs"
    );
    let timed_out = "cannot connect the telemetry stream: no answer within 1s";
    assert!(
        eventually(Duration::from_secs(60), || agent
            .stderr()
            .contains(timed_out)),
        "{}",
        agent.stderr()
    );
    agent.stop();
    assert!(
        !held.lock().expect("held").is_empty(),
        "it did connect at TCP level"
    );
}

#[test]
fn wss_without_a_tls_server_fails_cleanly() {
    // A TCP server that closes at once: the TLS handshake fails, which needs a working rustls
    // crypto provider to get that far (two linked providers would panic here instead).
    let closing = StdListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("wss://{}", closing.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in closing.incoming().flatten() {
            drop(stream);
        }
    });
    let output = run(nodepulse()
        .args([
            "run",
            "--once",
            "--interval",
            "2s",
            "--telemetry-url",
            &format!("{url} 0"),
        ])
        .arg("--node")
        .arg(fixture_path("substrate/node.prom")));
    assert_eq!(output.status.code(), Some(1));
    let log = stderr(&output);
    assert!(!log.contains("panicked"), "{log}");
    assert!(log.contains("cannot connect the telemetry stream"), "{log}");
    assert!(
        log.contains("gave up after 2s: cannot connect the telemetry stream"),
        "the final error names the cause: {log}"
    );
}

#[test]
fn a_telemetry_url_without_verbosity_is_refused() {
    let output = run(nodepulse().args(["run", "--telemetry-url", "ws://127.0.0.1:8080"]));
    assert_eq!(output.status.code(), Some(2));
    let log = stderr(&output);
    assert!(
        log.contains("--telemetry-url") && log.contains("a space, a verbosity from 0 to 9"),
        "{log}"
    );
}

/// A node answering with what starknet-devnet 0.10.1 answered when it was run beside the agent
/// (`fixtures/starknet/devnet-answers.json`): each `starknet_getBlockWithTxHashes` gets the next
/// recorded block, the last one repeated.
fn recorded_devnet() -> (Server, Value) {
    let recorded: Value =
        serde_json::from_slice(&crate::common::fixture("starknet/devnet-answers.json"))
            .expect("recorded answers are JSON");
    let answers = recorded["answers"].clone();
    let blocks_asked = AtomicU64::new(0);
    let served = answers.clone();
    let node = Server::start(move |request| {
        let call: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let method = call["method"].as_str().unwrap_or_default();
        let mut answer = match &served[method] {
            Value::Array(blocks) => {
                let index = blocks_asked.fetch_add(1, Ordering::SeqCst) as usize;
                blocks[index.min(blocks.len() - 1)].clone()
            }
            Value::Null => {
                json!({"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}})
            }
            recorded => recorded.clone(),
        };
        answer["id"] = call["id"].clone();
        Reply::ok(answer.to_string())
    });
    (node, answers)
}

/// What a real Starknet node (starknet-devnet, JSON-RPC 0.10.2) says becomes the seed's fields: the
/// block's own number, hash, time and counts, `event_count` as `event_number`, the spec and
/// Starknet versions, the decoded chain; no client or version, since devnet has no version method.
#[test]
fn a_recorded_starknet_devnet_maps_to_the_seeds_fields() {
    let (node, answers) = recorded_devnet();
    let output = run(nodepulse().args([
        "run",
        "--dry-run",
        "--node-name",
        "devnet-1",
        "--starknet-rpc",
        &node.url("/rpc"),
    ]));
    assert!(output.status.success(), "{}", stderr(&output));
    let frames: Vec<Value> =
        serde_json::from_slice(&output.stdout).expect("a JSON array of frames");
    let payload = payload(&frames[0]);
    let block = &answers["starknet_getBlockWithTxHashes"][0]["result"];
    assert_eq!(payload["current_block_number_l2"], block["block_number"]);
    assert_eq!(payload["current_block_hash_l2"], block["block_hash"]);
    assert_eq!(
        payload["latest_block_time"],
        block["timestamp"].as_u64().expect("a timestamp") * 1000
    );
    assert_eq!(payload["tx_number"], block["transaction_count"]);
    assert_eq!(payload["event_number"], block["event_count"]);
    assert_eq!(payload["starknet_version"], block["starknet_version"]);
    assert_eq!(
        payload["json_rpc_version"],
        answers["starknet_specVersion"]["result"]
    );
    assert_eq!(payload["network"], "SN_SEPOLIA");
    assert!(
        !payload.contains_key("client") && !payload.contains_key("version"),
        "{payload:?}"
    );
    assert_eq!(
        calls_of(&node, "starknet_blockHashAndNumber"),
        0,
        "the head comes from the block"
    );
}

#[test]
fn dry_run_prints_the_frames_a_new_connection_would_get() {
    let node = starknet_node();
    let output = run(nodepulse().args([
        "run",
        "--dry-run",
        "--node-name",
        "n1",
        "--starknet-rpc",
        &node.url("/"),
    ]));
    assert!(output.status.success(), "{}", stderr(&output));
    let frames: Vec<Value> =
        serde_json::from_slice(&output.stdout).expect("a JSON array of frames");
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["payload"]["name"], "n1");
    assert_eq!(frames[0]["payload"]["client"], "Juno");

    let node = substrate_node();
    let output = run(nodepulse()
        .args(["run", "--dry-run", "--substrate-rpc", &node.url("/")])
        .arg("--node")
        .arg(fixture_path("substrate/node.prom")));
    assert!(output.status.success(), "{}", stderr(&output));
    let frames: Vec<Value> =
        serde_json::from_slice(&output.stdout).expect("a JSON array of frames");
    let kinds: Vec<&str> = frames
        .iter()
        .map(|f| f["msg"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        kinds,
        [
            "system.connected",
            "block.import",
            "notify.finalized",
            "system.interval"
        ]
    );
}

#[test]
fn substrate_from_metrics_alone_sends_nothing_without_a_genesis_hash() {
    let output = run(nodepulse()
        .args(["run", "--dry-run", "--telemetry-format", "substrate"])
        .arg("--node")
        .arg(fixture_path("substrate/node.prom")));
    assert!(output.status.success(), "{}", stderr(&output));
    let frames: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON");
    assert!(
        frames.is_empty(),
        "no genesis hash without JSON-RPC: the node cannot be identified yet"
    );
}

#[test]
fn once_sends_the_identifying_frames_and_exits_zero() {
    let server = WsServer::start();
    let node = starknet_node();
    let output = run(nodepulse()
        .args([
            "run",
            "--once",
            "--telemetry-url",
            &format!("{} 0", server.url),
        ])
        .args(["--starknet-rpc", &node.url("/")]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(eventually(Duration::from_secs(60), || server.frames_on(0) == 1));
    assert_eq!(payload(&server.connections()[0][0])["client"], "Juno");
}

#[test]
fn a_node_whose_json_rpc_answers_500_is_described_from_its_metrics_and_the_host() {
    let failing = Server::start(|_| Reply::status(500, "internal error"));
    let output = run(nodepulse()
        .args([
            "run",
            "--dry-run",
            "--node-name",
            "n1",
            "--starknet-rpc",
            &failing.url("/"),
        ])
        .arg("--node")
        .arg(fixture_path("substrate/node.prom")));
    assert!(output.status.success(), "{}", stderr(&output));
    let log = stderr(&output);
    assert!(
        log.contains("node JSON-RPC failed") && log.contains("500"),
        "{log}"
    );
    let frames: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON frames");
    let first = payload(&frames[0]);
    assert_eq!(first["name"], "n1");
    assert!(
        first.contains_key("memory"),
        "the host still reports: {first:?}"
    );
    assert!(
        !first.contains_key("client"),
        "nothing invented for the node: {first:?}"
    );
}

/// Several telemetry servers at once, given as `;`-separated `NODEPULSE_TELEMETRY_URL` or as
/// repeated flags: each gets its own stream with the identifying frame first.
#[test]
fn several_telemetry_urls_each_get_a_stream() {
    let node = starknet_node();
    let (first, second) = (WsServer::start(), WsServer::start());
    let both_identified = |first: &WsServer, second: &WsServer| {
        eventually(Duration::from_secs(60), || {
            first.frames_on(0) >= 1 && second.frames_on(0) >= 1
        })
    };
    let mut agent = Running::spawn(
        nodepulse()
            .env(
                "NODEPULSE_TELEMETRY_URL",
                format!("{} 0;{} 0", first.url, second.url),
            )
            .args(["run", "--interval", "1h", "--starknet-rpc", &node.url("/")]),
    );
    assert!(both_identified(&first, &second), "{}", agent.stderr());
    agent.stop();

    let (third, fourth) = (WsServer::start(), WsServer::start());
    let mut agent = Running::spawn(
        nodepulse()
            .env_remove("NODEPULSE_TELEMETRY_URL")
            .args(["run", "--interval", "1h", "--starknet-rpc", &node.url("/")])
            .args(["--telemetry-url", &format!("{} 0", third.url)])
            .args(["--telemetry-url", &format!("{} 0", fourth.url)]),
    );
    assert!(both_identified(&third, &fourth), "{}", agent.stderr());
    agent.stop();
    for server in [&first, &second, &third, &fourth] {
        let frames = &server.connections()[0];
        assert!(payload(&frames[0]).contains_key("name"), "identified first");
    }
}
