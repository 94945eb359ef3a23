//! substrate-telemetry's feed at `/feed`: what a reader is told, in the real core's order and
//! shapes, of nodes streaming here with known delays; live, on both databases and across two
//! instances sharing one PostgreSQL; who may read it; node addresses only with
//! `--expose-node-ip`.

use std::collections::HashMap;
use std::thread::sleep;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::browser::Browser;
use crate::common::feed::{
    ADDED_CHAIN, ADDED_NODE, BEST_BLOCK, BEST_FINALIZED, CHAIN_STATS, FEED_VERSION,
    FINALIZED_BLOCK, FeedClient, FeedMessage, IMPORTED_BLOCK, NODE_STATS, PONG, REMOVED_NODE,
    SUBSCRIBED_TO, TELEMETRY_INFO, TIME_SYNC, UNSUBSCRIBED_FROM,
};
use crate::common::nodes::GENESIS;
use crate::common::receiver::request;
use crate::common::receiver::{KINDS, Kind, OwnCluster, Receiver, database};
use crate::common::stream::{StreamClient, block_import, connected, interval, wrapped};
use crate::common::{Running, add_key, eventually, free_port, temp_dir};
use crate::serve_network::{
    ALICE, BEHIND_MS, BOB, SLACK_MS, chain_when, frames, line_of, stream_blocks,
};

fn hash(height: u64) -> String {
    format!("0x{height:064x}")
}

/// Waits until the chain is listed with `nodes` connected.
fn listed(feed: &mut FeedClient, nodes: u64) {
    feed.until(|(action, payload)| {
        *action == ADDED_CHAIN && payload[1] == GENESIS && payload[2] == nodes
    });
}

/// Subscribes to the chain; what was read up to and including what it says of the chain, and
/// each node's `AddedNode` payload and finalized block by name.
fn subscribe(feed: &mut FeedClient) -> (Vec<FeedMessage>, HashMap<String, (Value, Value)>) {
    feed.command(&format!("subscribe:{GENESIS}"));
    subscribe_told(feed)
}

/// What a subscription to the chain is told.
fn subscribe_told(feed: &mut FeedClient) -> (Vec<FeedMessage>, HashMap<String, (Value, Value)>) {
    let mut chain = feed.until(|(action, _)| *action == SUBSCRIBED_TO);
    // In the same frame, as the real core sends them.
    let head = feed.unread(4);
    let codes: Vec<u64> = head.iter().map(|(action, _)| *action).collect();
    assert_eq!(codes, [TIME_SYNC, BEST_BLOCK, BEST_FINALIZED, CHAIN_STATS]);
    chain.extend(head);
    let mut nodes = HashMap::new();
    while nodes.len() < 2 {
        let (action, added) = feed.message();
        assert_eq!(action, ADDED_NODE, "{added}");
        let (action, finalized) = feed.message();
        assert_eq!(
            action, FINALIZED_BLOCK,
            "each node's finalized block after it: {finalized}"
        );
        assert_eq!(finalized[0], added[0]);
        let name = added[1][0].as_str().expect("a name").to_owned();
        nodes.insert(name, (added, finalized));
    }
    (chain, nodes)
}

/// Both nodes' latest state is written (every few seconds while they send): their finalized
/// block is what the chain's is.
fn both_finalized(chain: &Value) -> bool {
    [ALICE, BOB]
        .iter()
        .all(|peer_id| line_of(chain, peer_id)["finalized_height"] == 101)
}

fn payload(messages: &[FeedMessage], wanted: u64) -> &Value {
    messages
        .iter()
        .find(|(action, _)| *action == wanted)
        .map(|(_, payload)| payload)
        .unwrap_or_else(|| panic!("no message {wanted} in {messages:?}"))
}

/// A node's `ImportedBlock` of `height`.
fn imported(feed: &mut FeedClient, number: &Value, height: u64) -> Value {
    let read = feed.until(|(action, payload)| {
        *action == IMPORTED_BLOCK && payload[0] == *number && payload[1][0] == height
    });
    read.last()
        .map(|(_, payload)| payload[1].clone())
        .expect("a block")
}

/// Alice reports block 104, and Bob `BEHIND_MS` after `receiver` read her report.
fn import_104(receiver: &Receiver, alice: &mut StreamClient, bob: &mut StreamClient) {
    let imports = frames(receiver, "block.import");
    assert!(alice.send(&wrapped(1, block_import(104))));
    assert!(eventually(Duration::from_secs(60), || {
        frames(receiver, "block.import") > imports
    }));
    sleep(Duration::from_millis(BEHIND_MS as u64));
    assert!(bob.send(&wrapped(1, block_import(104))));
}

fn check_delay(block: &Value) {
    let delay = block[4].as_i64().expect("a propagation time");
    assert!(
        (BEHIND_MS..BEHIND_MS + SLACK_MS).contains(&delay),
        "Bob is {BEHIND_MS} ms behind, told {delay}: {block}"
    );
}

#[test]
fn the_feed_tells_the_chain_its_nodes_and_their_blocks_live() {
    for kind in KINDS {
        let database = database(kind, "feed-live");
        let key = add_key(&database, "reader", false);
        let receiver = Receiver::start(&database, &["--db-save-latency", "20ms", "--public-reads"]);
        let mut feed = FeedClient::open(&receiver.address);
        let hello = feed.frame();
        assert_eq!(hello[0], (FEED_VERSION, json!(33)), "{hello:?}");
        assert_eq!(hello[1].0, TELEMETRY_INFO);
        assert!(hello[1].1["git_hash"].is_string(), "{hello:?}");

        let (mut alice, mut bob) = stream_blocks(&receiver, &receiver);
        chain_when(&receiver, &key, &mut [&mut alice, &mut bob], |chain| {
            chain["propagation"]["count"] == 6 && both_finalized(chain)
        });
        listed(&mut feed, 2);
        let (chain, nodes) = subscribe(&mut feed);
        assert_eq!(payload(&chain, BEST_BLOCK)[0], 103);
        assert_eq!(*payload(&chain, BEST_FINALIZED), json!([101, hash(101)]));
        let stats = payload(&chain, CHAIN_STATS);
        assert_eq!(stats["version"]["list"], json!([["1.15.2-7c4a5b3a6a0", 2]]));
        assert_eq!(stats["memory"]["list"], json!([[[32, 48], 2]]), "{stats}");
        assert_eq!(stats["linux_kernel"]["list"], json!([["6.1.0", 2]]));
        assert_eq!(stats["cpu_vendor"]["list"], json!([["AMD", 2]]));
        // Alice's hardware benchmarks, in percent of the reference machine's; Bob sent none.
        assert_eq!(
            stats["cpu_hashrate_score"],
            json!({"list": [[[110, 130], 1]], "other": 0, "unknown": 1})
        );

        let (alice_added, alice_finalized) = &nodes["alice"];
        let details = &alice_added[1];
        assert_eq!(details[1], "Parity Polkadot");
        assert_eq!(details[4], ALICE);
        assert_eq!(
            details.as_array().map(|details| &details[5..8]),
            Some(&[json!("linux"), json!("x86_64"), json!("gnu")][..])
        );
        assert_eq!(
            details[8],
            Value::Null,
            "no address without --expose-node-ip"
        );
        assert_eq!(details[10], Value::Null, "nor benchmarks");
        assert_eq!(details[9]["cpu"], "AMD EPYC 7B13");
        assert_eq!(alice_added[2], json!([12.0, 3.0]));
        let block = &alice_added[5];
        assert_eq!(
            (&block[0], &block[1], &block[4]),
            (&json!(103), &json!(hash(103)), &json!(0))
        );
        assert_eq!(alice_added[7], 1_764_410_000_000_i64);
        assert_eq!(alice_finalized[1], 101);
        let (bob_added, _) = &nodes["bob"];
        check_delay(&bob_added[5]);

        // Live: Alice imports 104, Bob 300 ms after her.
        import_104(&receiver, &mut alice, &mut bob);
        let best_104 = |(action, payload): &FeedMessage| *action == BEST_BLOCK && payload[0] == 104;
        let read = feed.until(|(action, payload)| {
            *action == IMPORTED_BLOCK && payload[0] == alice_added[0] && payload[1][0] == 104
        });
        let block = read
            .last()
            .map(|(_, payload)| &payload[1])
            .expect("a block");
        assert_eq!((&block[1], &block[4]), (&json!(hash(104)), &json!(0)));
        // Bob's report makes 104 the chain's best (two nodes reported it). The frontend forgets
        // every propagation time at `BestBlock`, so every node at 104 is told again after it, in
        // its frame: Alice at 0, Bob 300 ms behind. (Bob's report may have been told before, read
        // a moment before the block counted as corroborated; and on a busy machine the hub may
        // read both reports at once, and tell `BestBlock` in the frame that first tells Alice's.)
        let mut after = match read.iter().position(best_104) {
            Some(best) => read[best + 1..].to_vec(),
            None => {
                feed.until(best_104);
                Vec::new()
            }
        };
        after.extend(feed.rest());
        let told = |number: &Value| {
            after
                .iter()
                .find(|(action, payload)| {
                    *action == IMPORTED_BLOCK && payload[0] == *number && payload[1][0] == 104
                })
                .map(|(_, payload)| payload[1].clone())
                .unwrap_or_else(|| panic!("{number} not told again after BestBlock: {after:?}"))
        };
        assert_eq!(told(&alice_added[0])[4], 0);
        check_delay(&told(&bob_added[0]));

        feed.command("ping:42");
        feed.until(|(action, payload)| *action == PONG && payload == "42");
        // The frontend subscribes twice: told it left the chain, then everything again.
        let (read, again) = subscribe(&mut feed);
        let subscribed = read
            .iter()
            .position(|(action, _)| *action == SUBSCRIBED_TO)
            .expect("subscribed");
        assert_eq!(
            read[subscribed - 1],
            (UNSUBSCRIBED_FROM, json!(GENESIS)),
            "{read:?}"
        );
        assert_eq!(again["alice"].0[5][0], 104);
        // A chain nobody is on gets no answer.
        feed.command("subscribe:0x0123");
        feed.command("ping:43");
        let read = feed.until(|(action, _)| *action == PONG);
        assert!(
            read.iter().all(|(action, _)| *action != SUBSCRIBED_TO),
            "{read:?}"
        );
        // Nor was the chain left: a node's peers change, then Bob leaves.
        feed.command(&format!("subscribe:{GENESIS}"));
        subscribe_told(&mut feed);
        // A node's state is written every few seconds while it sends: Alice goes on sending.
        let alice_number = &alice_added[0];
        let mut told = false;
        for _ in 0..120 {
            assert!(alice.send(&wrapped(1, interval(104, 20))));
            let Some(frame) = feed.frame_within(Duration::from_millis(500)) else {
                continue;
            };
            told = frame.iter().any(|(action, payload)| {
                *action == NODE_STATS
                    && payload[0] == *alice_number
                    && payload[1] == json!([20.0, 3.0])
            });
            if told {
                break;
            }
        }
        assert!(told, "Alice's peers were never told");
        bob.close();
        feed.until(|(action, payload)| *action == REMOVED_NODE && *payload == bob_added[0]);
        alice.close();
    }
}

/// A reader on one instance sees the nodes streaming to another (the database tells every
/// instance of every commit); only an instance started with `--expose-node-ip` tells addresses.
#[test]
fn a_feed_shows_nodes_streaming_to_another_instance() {
    let database = database(Kind::Postgres, "feed-two-instances");
    let key = add_key(&database, "reader", false);
    let hiding = Receiver::start(&database, &["--db-save-latency", "10ms", "--public-reads"]);
    let telling = Receiver::start(
        &database,
        &[
            "--db-save-latency",
            "10ms",
            "--public-reads",
            "--expose-node-ip",
        ],
    );
    let mut hidden = FeedClient::open(&hiding.address);
    let mut told = FeedClient::open(&telling.address);
    let (mut alice, mut bob) = stream_blocks(&telling, &telling);
    chain_when(&telling, &key, &mut [&mut alice, &mut bob], |chain| {
        chain["propagation"]["count"] == 6 && both_finalized(chain)
    });
    for feed in [&mut hidden, &mut told] {
        listed(feed, 2);
    }
    let (_, hidden_nodes) = subscribe(&mut hidden);
    assert_eq!(hidden_nodes["alice"].0[1][8], Value::Null);
    check_delay(&hidden_nodes["bob"].0[5]);
    let (_, told_nodes) = subscribe(&mut told);
    assert_eq!(told_nodes["alice"].0[1][8], "127.0.0.1");
    assert_eq!(told_nodes["alice"].0[1][10]["cpu_hashrate_score"], 1141);

    // Each instance numbers the nodes of its own readers.
    assert!(alice.send(&wrapped(1, block_import(104))));
    assert!(alice.send(&wrapped(1, interval(104, 12))));
    imported(&mut hidden, &hidden_nodes["alice"].0[0], 104);
    imported(&mut told, &told_nodes["alice"].0[0], 104);
    alice.close();
    bob.close();
}

/// The feed is a page: a signed-in viewer reads it, and anyone only with `--public-reads`.
#[test]
fn the_feed_needs_a_signed_in_viewer_unless_reads_are_public() {
    let database = database(Kind::Sqlite, "feed-refusals");
    let key = add_key(&database, "reader", false);
    let receiver = Receiver::start(&database, &[]);
    assert_eq!(
        FeedClient::try_open(&receiver.address, None).err(),
        Some(401)
    );
    let cookie = receiver.sign_in(&key);
    let mut feed = FeedClient::try_open(&receiver.address, Some(&cookie))
        .unwrap_or_else(|status| panic!("a signed-in viewer was refused: {status}"));
    assert_eq!(feed.frame()[0], (FEED_VERSION, json!(33)));
    let mut node = StreamClient::connect(&crate::serve_network::ws(&receiver));
    assert!(node.send(&wrapped(1, connected("alice", ALICE))));
    listed(&mut feed, 1);
    node.close();
}

/// Where the real frontend's build is kept (`third_party/substrate-telemetry-frontend`).
fn frontend_build() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("third_party/substrate-telemetry-frontend/build")
}

/// The real frontend's files served on a free port, as its Docker image serves them: its build,
/// and `tmp/env-config.js` pointing it at `feed_url`.
fn serve_frontend(feed_url: &str) -> (Running, String) {
    let root = temp_dir("substrate-telemetry-frontend");
    for entry in std::fs::read_dir(frontend_build()).expect("the frontend's build") {
        let entry = entry.expect("an entry");
        let link = root.join(entry.file_name());
        if !link.exists() {
            std::os::unix::fs::symlink(entry.path(), link).expect("a link");
        }
    }
    std::fs::create_dir_all(root.join("tmp")).expect("tmp");
    std::fs::write(
        root.join("tmp/env-config.js"),
        format!("window.process_env = {{ SUBSTRATE_TELEMETRY_URL: \"{feed_url}\" }}\n"),
    )
    .expect("env-config.js");
    let address = format!("127.0.0.1:{}", free_port());
    let (host, port) = address.split_once(':').expect("HOST:PORT");
    let server = Running::spawn(
        std::process::Command::new("python3")
            .args(["-m", "http.server", port, "--bind", host, "--directory"])
            .arg(&root),
    );
    let url = format!("http://{address}/");
    let up = eventually(
        Duration::from_secs(30),
        || matches!(request("GET", &url, &[], b""), Ok(answer) if answer.status == 200),
    );
    assert!(up, "the frontend's files are not served at {url}");
    (server, url)
}

/// Records what the page reports as an error: `console.error`, uncaught errors and rejections.
const ERROR_HOOK: &str = "window.__errors = [];
    const report = console.error.bind(console);
    console.error = (...args) => { window.__errors.push(args.map(String).join(' ')); report(...args); };
    window.addEventListener('error', (event) => window.__errors.push(String(event.message)));
    window.addEventListener('unhandledrejection', (event) => window.__errors.push(String(event.reason)));";

/// A node's row in the frontend's list, as text; empty while it has none.
fn row(browser: &mut Browser, name: &str) -> String {
    let script = format!(
        "Array.from(document.querySelectorAll('tr.Row')).map((row) => row.innerText)\
         .find((text) => text.includes('{name}')) || ''"
    );
    browser
        .eval(&script)
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The one propagation time in a row's text (`312ms`); Alice's is `0ms`.
fn propagation_in(row: &str) -> Option<i64> {
    row.split_whitespace()
        .filter_map(|cell| cell.strip_suffix("ms")?.parse().ok())
        .next()
}

/// substrate-telemetry's own web frontend, built from its source and pointed at `/feed`: the
/// chain appears, the node list fills, block numbers and propagation times change live, and its
/// console has no error.
#[test]
fn the_real_frontend_shows_the_nodes_live() {
    let database = database(Kind::Sqlite, "feed-frontend");
    let key = add_key(&database, "reader", false);
    let receiver = Receiver::start(&database, &["--db-save-latency", "20ms", "--public-reads"]);
    let (mut alice, mut bob) = stream_blocks(&receiver, &receiver);
    chain_when(&receiver, &key, &mut [&mut alice, &mut bob], |chain| {
        chain["propagation"]["count"] == 6 && both_finalized(chain)
    });
    let (_frontend, url) = serve_frontend(&format!("ws://{}/feed", receiver.address));
    let mut browser = Browser::start("feed-frontend");
    browser.call("Page.enable", json!({}));
    browser.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": ERROR_HOOK}),
    );
    browser.open(&format!("{url}#list/{GENESIS}"));
    let listed = eventually(Duration::from_secs(60), || {
        let (alice_row, bob_row) = (row(&mut browser, "alice"), row(&mut browser, "bob"));
        alice_row.contains("#103") && bob_row.contains("#103")
    });
    assert!(listed, "the node list never filled: {}", browser.text());
    assert!(browser.text().contains("Polkadot"), "{}", browser.text());

    // Alice imports 104, Bob 300 ms after her: both rows change, live.
    import_104(&receiver, &mut alice, &mut bob);
    let mut rows = (String::new(), String::new());
    let live = eventually(Duration::from_secs(60), || {
        rows = (row(&mut browser, "alice"), row(&mut browser, "bob"));
        rows.0.contains("#104") && rows.1.contains("#104")
    });
    assert!(live, "the rows never showed block 104: {rows:?}");
    assert_eq!(propagation_in(&rows.0), Some(0), "{}", rows.0);
    let bob_delay = propagation_in(&rows.1).expect("Bob's propagation time");
    assert!(
        (BEHIND_MS..BEHIND_MS + SLACK_MS).contains(&bob_delay),
        "Bob is {BEHIND_MS} ms behind, shown {bob_delay}: {}",
        rows.1
    );
    browser.screenshot("substrate-telemetry-frontend", 1800, 360);
    let errors = browser.eval("window.__errors");
    assert_eq!(errors, json!([]), "the frontend's console has errors");
    alice.close();
    bob.close();
}

/// Reads a page's server-sent events (`GET /events`) on a plain socket: each `changed` event's
/// chain.
struct Events(std::io::BufReader<std::net::TcpStream>);

impl Events {
    fn open(address: &str) -> Events {
        use std::io::{BufRead, Write};
        let mut socket = std::net::TcpStream::connect(address).expect("connect");
        socket
            .write_all(b"GET /events HTTP/1.1\r\nHost: serve\r\nAccept: text/event-stream\r\n\r\n")
            .expect("ask for the events");
        socket
            .set_read_timeout(Some(Duration::from_millis(500)))
            .expect("a read timeout");
        let mut events = Events(std::io::BufReader::new(socket));
        let mut status = String::new();
        events.0.read_line(&mut status).expect("a status line");
        assert!(status.contains(" 200 "), "{status}");
        events
    }

    /// The chains of the events that came within about half a second.
    fn changed(&mut self) -> Vec<String> {
        use std::io::BufRead;
        let mut chains = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            match self.0.read_line(&mut line) {
                Ok(0) => panic!("the events ended"),
                Ok(_) => {
                    if let Some(chain) = line.trim_end().strip_prefix("data: ") {
                        chains.push(chain.to_owned());
                    }
                }
                Err(_) => return chains,
            }
        }
    }
}

/// Live news crosses instances through PostgreSQL's LISTEN/NOTIFY; after the database restarts,
/// each instance listens again: a chain that first appears at one instance after the restart is
/// announced to the pages of the other, and its feed lists it.
#[test]
fn news_crosses_instances_again_after_the_database_restarts() {
    const WESTEND: &str = "0xe143f23803ac50e8f6f8e62695d1ce9e4e1d68aa36c1cd2cfd15340213f3423e";
    let cluster = OwnCluster::start("feed-outage");
    let database = cluster.database("feed_outage");
    let extra = ["--db-save-latency", "10ms", "--public-reads"];
    let (shown, streamed) = (
        Receiver::start(&database, &extra),
        Receiver::start(&database, &extra),
    );
    let mut feed = FeedClient::open(&shown.address);
    let mut events = Events::open(&shown.address);
    let mut alice = StreamClient::connect(&crate::serve_network::ws(&streamed));
    assert!(alice.send(&wrapped(1, connected("alice", ALICE))));
    listed(&mut feed, 1);

    cluster.stop();
    cluster.restart();
    // A node on a chain nobody was on before: any news of it came through the database after
    // the restart. Until the other instance listens again, its blocks' news is lost: it goes on.
    let mut carol = StreamClient::connect(&crate::serve_network::ws(&streamed));
    let mut westend = connected(
        "carol",
        "12D3KooWCarolCarolCarolCarolCarolCarolCarolCarolCa3",
    );
    westend["genesis_hash"] = json!(WESTEND);
    westend["chain"] = json!("Westend");
    assert!(carol.send(&wrapped(1, westend)));
    let mut heard = false;
    for height in 1..=120 {
        assert!(carol.send(&wrapped(1, block_import(height))));
        heard = events.changed().iter().any(|chain| chain == WESTEND);
        if heard {
            break;
        }
    }
    assert!(
        heard,
        "the pages never heard of the new chain after the restart"
    );
    feed.until(|(action, payload)| *action == ADDED_CHAIN && payload[1] == WESTEND);
    alice.close();
    carol.close();
}
