//! The network view: propagation measured from streams with known delays (a node 300 ms behind
//! shows 300 ms, give or take the clock), block time, finality lag and diversity, on both
//! databases and across two instances sharing one PostgreSQL, where the earliest sight of a block
//! counts whichever instance had it.

use std::thread::sleep;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::add_key;
use crate::common::browser::Browser;
use crate::common::eventually;
use crate::common::nodes::GENESIS;
use crate::common::receiver::{KINDS, Kind, Receiver, database, request};
use crate::common::stream::{
    StreamClient, block_import, connected, finalized, hwbench, interval, wrapped,
};

pub(crate) const ALICE: &str = "12D3KooWAliceAliceAliceAliceAliceAliceAliceAliceAli1";
pub(crate) const BOB: &str = "12D3KooWBobBobBobBobBobBobBobBobBobBobBobBobBobBob22";
/// How far behind Alice Bob reports each block: the test waits this long (after Alice's report
/// was read) before Bob sends his, so his delay is at least this, and more only by scheduling.
pub(crate) const BEHIND_MS: i64 = 300;
/// What scheduling may add on a busy machine; the figure is still checked to be Bob's and not,
/// say, a block time.
pub(crate) const SLACK_MS: i64 = 5_000;

pub(crate) fn ws(receiver: &Receiver) -> String {
    format!("ws://{}/submit", receiver.address)
}

/// A successful bare JSON answer.
fn answer(receiver: &Receiver, path: &str, key: &str) -> Value {
    let answer = receiver.get(path, key);
    assert_eq!(answer.status, 200, "GET {path}: {}", answer.text());
    answer.json()
}

/// The chain's answer once `ready` holds for it (stream writes are batched, and a node's latest
/// state is written every few seconds while it sends: the nodes go on sending their interval).
pub(crate) fn chain_when(
    receiver: &Receiver,
    key: &str,
    nodes: &mut [&mut StreamClient],
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let path = format!("/api/chains/{GENESIS}?window=1h");
    let mut last = Value::Null;
    let arrived = eventually(Duration::from_secs(60), || {
        for node in nodes.iter_mut() {
            assert!(node.send(&wrapped(1, interval(103, 12))));
        }
        let reply = receiver.get(&path, key);
        last = if reply.status == 200 {
            reply.json()
        } else {
            Value::Null
        };
        ready(&last)
    });
    assert!(arrived, "GET {path} never got there; last answer: {last}");
    last
}

/// A node's line while waiting for an answer to settle: null while the node is not listed (the
/// answer reads the node list and the reports in separate statements, so an instance committing
/// a node with its reports between them shows the reports first).
pub(crate) fn line_of<'a>(chain: &'a Value, peer_id: &str) -> &'a Value {
    static ABSENT: Value = Value::Null;
    chain["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|node| node["peer_id"] == peer_id))
        .unwrap_or(&ABSENT)
}

pub(crate) fn line<'a>(chain: &'a Value, peer_id: &str) -> &'a Value {
    chain["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|node| node["peer_id"] == peer_id))
        .unwrap_or_else(|| panic!("no node {peer_id} in {chain}"))
}

pub(crate) fn frames(receiver: &Receiver, kind: &str) -> f64 {
    receiver.metric(&format!(
        "nodepulse_serve_stream_frames_total{{kind=\"{kind}\"}}"
    ))
}

/// Alice reports blocks 101 to 103 on `alice_at`, Bob each one `BEHIND_MS` later on `bob_at`
/// (another instance, perhaps). Before each, both report block 100: the first best on a
/// connection is a sighting, never a delay.
pub(crate) fn stream_blocks(
    alice_at: &Receiver,
    bob_at: &Receiver,
) -> (StreamClient, StreamClient) {
    let mut alice = StreamClient::connect(&ws(alice_at));
    let mut bob = StreamClient::connect(&ws(bob_at));
    assert!(alice.send(&wrapped(1, connected("alice", ALICE))));
    assert!(alice.send(&wrapped(1, hwbench())));
    assert!(bob.send(&wrapped(1, connected("bob", BOB))));
    let before = frames(alice_at, "system.interval");
    assert!(alice.send(&wrapped(1, interval(100, 12))));
    assert!(bob.send(&wrapped(1, interval(100, 9))));
    // Every block comes at least BEHIND_MS after the one before.
    assert!(eventually(Duration::from_secs(60), || {
        frames(alice_at, "system.interval") > before
    }));
    sleep(Duration::from_millis(BEHIND_MS as u64));
    // The block.import frames Alice's instance is to have read: hers, and Bob's too when he
    // streams to the same instance, so that the one waited for is the one just sent.
    // (Frames read before this call were counted before it: the callers wait for theirs.)
    let same_instance = std::ptr::eq(alice_at, bob_at);
    let mut imports = frames(alice_at, "block.import");
    for height in 101..=103_u64 {
        assert!(alice.send(&wrapped(1, block_import(height))));
        imports += 1.0;
        // Alice's report has been read (and stamped) by her instance...
        assert!(eventually(Duration::from_secs(60), || {
            frames(alice_at, "block.import") >= imports
        }));
        // ...and Bob's comes at least BEHIND_MS after it.
        sleep(Duration::from_millis(BEHIND_MS as u64));
        assert!(bob.send(&wrapped(1, block_import(height))));
        if same_instance {
            imports += 1.0;
        }
    }
    assert!(alice.send(&wrapped(1, finalized(101))));
    assert!(alice.send(&wrapped(1, interval(103, 12))));
    (alice, bob)
}

fn check_propagation(chain: &Value) {
    let alice = line(chain, ALICE);
    let bob = line(chain, BOB);
    assert_eq!(alice["last_propagation_ms"], 0, "{alice}");
    assert_eq!(alice["propagation_hour"]["count"], 3, "{alice}");
    assert_eq!(alice["propagation_hour"]["p90_ms"], 0, "{alice}");
    let bob_delay = bob["propagation_hour"]["median_ms"]
        .as_i64()
        .expect("a median");
    assert!(
        (BEHIND_MS..BEHIND_MS + SLACK_MS).contains(&bob_delay),
        "Bob is {BEHIND_MS} ms behind, shown {bob_delay}: {bob}"
    );
    assert_eq!(bob["propagation_hour"]["count"], 3, "{bob}");
    assert!(bob["propagation_day"]["p90_ms"].as_i64() >= Some(BEHIND_MS));
    // The chain's spread: six reports, half of them 0 (Alice's), the slower half Bob's.
    let propagation = &chain["propagation"];
    assert_eq!(propagation["blocks"], 3, "{propagation}");
    assert_eq!(propagation["count"], 6, "{propagation}");
    assert_eq!(propagation["median_ms"], 0, "{propagation}");
    assert!(
        propagation["p90_ms"].as_i64() >= Some(BEHIND_MS),
        "{propagation}"
    );
    let buckets = propagation["histogram"].as_array().expect("a histogram");
    assert_eq!(buckets[0], json!({"le_ms": 100, "count": 3}));
    let counted: i64 = buckets
        .iter()
        .filter_map(|bucket| bucket["count"].as_i64())
        .sum();
    assert_eq!(counted, 6);
}

#[test]
fn a_node_behind_shows_its_delay_and_the_chain_its_spread() {
    for kind in KINDS {
        let database = database(kind, "network-propagation");
        let key = add_key(&database, "reader", false);
        let receiver =
            Receiver::start(&database, &["--db-save-latency", "20ms", "--fleet-metrics"]);
        let (mut alice, mut bob) = stream_blocks(&receiver, &receiver);
        let chain = chain_when(&receiver, &key, &mut [&mut alice, &mut bob], |chain| {
            chain["propagation"]["count"] == 6
                && line_of(chain, ALICE)["finalized_height"] == 101
                && line_of(chain, BOB)["best_height"] == 103
        });
        check_propagation(&chain);

        assert_eq!(chain["name"], "Polkadot");
        assert_eq!(
            (chain["node_count"].as_i64(), chain["connected"].as_i64()),
            (Some(2), Some(2))
        );
        assert_eq!(chain["best"]["height"], 103);
        assert_eq!(chain["best"]["hash"], format!("0x{:064x}", 103));
        // Blocks at least BEHIND_MS apart: a block time of that order, never 0 or absent.
        let block_time = chain["block_time_ms"].as_i64().expect("a block time");
        assert!((BEHIND_MS..60_000).contains(&block_time), "{block_time}");
        let alice_line = line(&chain, ALICE);
        assert_eq!(alice_line["best_height"], 103);
        // Each node's own block time: between its two newest reports, at least BEHIND_MS apart.
        for node in [alice_line, line(&chain, BOB)] {
            let own = node["block_time_ms"].as_i64().expect("a block time");
            assert!((BEHIND_MS..60_000).contains(&own), "{node}");
        }
        assert_eq!(alice_line["finality_lag"], 2);
        assert_eq!(alice_line["validator"], true);
        assert_eq!(alice_line["implementation"], "Parity Polkadot");
        assert_eq!(alice_line["peers"], 12.0);
        assert_eq!(alice_line["hardware"]["core_count"], 8);
        assert!(alice_line.get("ip").is_none(), "addresses stay hidden");
        // Both run the same build on the same machine type.
        let diversity = &chain["diversity"];
        assert_eq!(
            diversity["implementation"],
            json!([{"value": "Parity Polkadot", "nodes": 2}])
        );
        assert_eq!(
            diversity["memory"],
            json!([{"value": "31 GiB", "nodes": 2}])
        );
        assert_eq!(
            diversity["virtual_machine"],
            json!([{"value": "true", "nodes": 2}])
        );
        // Alice sent her hardware benchmarks (1,141 MB/s hashing, 111 % of the reference
        // machine's), Bob none.
        assert_eq!(
            diversity["cpu_score"],
            json!([
                {"value": "110-130 % of the reference", "nodes": 1},
                {"value": "unknown", "nodes": 1}
            ])
        );

        let chains = answer(&receiver, "/api/chains", &key);
        assert_eq!(chains.as_array().map(Vec::len), Some(1), "{chains}");
        assert_eq!(chains[0]["chain"], GENESIS);
        assert_eq!(chains[0]["best"]["height"], 103);
        check_pages(&receiver, &key);
        check_metrics(&receiver);
        alice.close();
        bob.close();

        // The history is kept for the retention: with 1 ms, it all goes at the next start.
        let mut receiver = receiver;
        receiver.process.terminate(Duration::from_secs(10));
        let address = receiver.address.clone();
        drop(receiver);
        let receiver = Receiver::start_on(&database, &address, &["--retention", "1ms"]);
        let purged = chain_when(&receiver, &key, &mut [], |chain| {
            // The purge runs beside the server's answers, which read in several queries: wait
            // for all of it.
            chain["best"].is_null() && chain["propagation"]["count"] == 0
        });
        assert_eq!(purged["propagation"]["count"], 0, "{purged}");
        assert_eq!(purged["block_time_ms"], Value::Null);
        assert_eq!(line(&purged, BOB)["propagation_day"], Value::Null);
    }
}

/// `/metrics` (with `--fleet-metrics`) gives the chain's figures over the last hour.
fn check_metrics(receiver: &Receiver) {
    let labels = format!("chain=\"{GENESIS}\",name=\"Polkadot\"");
    // The families are kept 15 s between scrapes (and the test's own scrapes came earlier).
    let mut text = String::new();
    eventually(Duration::from_secs(60), || {
        text = receiver.metrics_text();
        text.contains(&format!("reports{{{labels},up_to_seconds=\"+Inf\"}} 6"))
    });
    for line in [
        format!("nodepulse_fleet_chain_connected_nodes{{{labels}}} 2"),
        format!("nodepulse_fleet_chain_propagation_seconds{{{labels},percentile=\"50\"}} 0"),
        format!("nodepulse_fleet_chain_propagation_reports{{{labels},up_to_seconds=\"0.1\"}} 3"),
        format!("nodepulse_fleet_chain_propagation_reports{{{labels},up_to_seconds=\"+Inf\"}} 6"),
        format!("nodepulse_fleet_chain_block_time_seconds{{{labels}}} "),
    ] {
        assert!(text.contains(&line), "{line} is missing:\n{text}");
    }
    let (valid, said) = crate::serve::promtool(&text);
    assert!(valid, "{said}");
}

/// The chain's page, linked from the overview, shows what the answer says, for people.
fn check_pages(receiver: &Receiver, key: &str) {
    let page = |path: &str, cookie: &str| {
        let headers: &[(&str, &str)] = if cookie.is_empty() {
            &[]
        } else {
            &[("Cookie", cookie)]
        };
        request("GET", &receiver.url(path), headers, b"").expect("a page")
    };
    let path = format!("/chains/{GENESIS}?window=1h");
    assert_eq!(
        page(&path, "").status,
        401,
        "signed out, without --public-reads"
    );
    let cookie = receiver.sign_in(key);
    let overview = page("/", &cookie).text();
    let chain_row = overview
        .split("<tr")
        .find(|row| row.contains(&format!("href=\"/chains/{GENESIS}\">Polkadot</a>")))
        .unwrap_or_else(|| panic!("no row for the chain: {overview}"));
    // Its best block (that both nodes reported).
    assert!(
        chain_row.contains("<td data-v=\"103\">103</td>"),
        "{chain_row}"
    );
    let chain = page(&path, &cookie);
    assert_eq!(chain.status, 200, "{}", chain.text());
    let html = chain.text();
    for expected in [
        format!("href=\"/stream-nodes/{ALICE}\">alice</a>"),
        format!("href=\"/stream-nodes/{BOB}\">bob</a>"),
        "2 connected of 2".to_owned(),
        "id=\"chart-propagation-histogram\"".to_owned(),
        "<title>100ms: 3</title>".to_owned(),
        "id=\"chart-propagation\"".to_owned(),
        "id=\"chart-block-time\"".to_owned(),
        "<td>Parity Polkadot</td><td data-v=\"2\">2</td>".to_owned(),
        "AMD EPYC 7B13 (8 cores)".to_owned(),
    ] {
        assert!(
            html.contains(&expected),
            "the chain page lacks {expected}: {html}"
        );
    }
    // Bob's row says he is 300 ms behind, give or take scheduling.
    let bob_row = html
        .split("<tr")
        .find(|row| row.contains(&format!("/stream-nodes/{BOB}")))
        .expect("Bob's row");
    assert!(bob_row.contains(" ms</td>"), "{bob_row}");
    let unknown = page(&format!("/chains/0x{:064x}", 1), &cookie);
    assert_eq!(unknown.status, 404);

    // Bob's own page charts his propagation, finality lag, bandwidth and transaction pool.
    let bob = page(&format!("/stream-nodes/{BOB}?window=1h"), &cookie).text();
    for chart in ["propagation", "finality-lag", "bandwidth", "transactions"] {
        let figure = bob
            .split(&format!("<figure class=\"chart\" id=\"chart-{chart}\">"))
            .nth(1)
            .and_then(|rest| rest.split("</figure>").next())
            .unwrap_or_else(|| panic!("Bob's page lacks the {chart} chart: {bob}"));
        assert!(
            figure.contains("<polyline") || figure.contains("<circle"),
            "{chart}: {figure}"
        );
    }
}

#[test]
fn the_chain_routes_need_a_key_and_say_what_is_wrong() {
    let database = database(Kind::Sqlite, "network-refusals");
    let key = add_key(&database, "reader", false);
    let receiver = Receiver::start(&database, &[]);
    assert_eq!(receiver.get("/api/chains", "").status, 401);
    assert_eq!(
        receiver.get("/events", "").status,
        401,
        "the pages' news needs a reader"
    );
    assert_eq!(
        receiver.get(&format!("/api/chains/{GENESIS}"), "").status,
        401
    );
    let unknown = receiver.get(&format!("/api/chains/{GENESIS}"), &key);
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.error().contains("no node is on chain"),
        "{}",
        unknown.text()
    );
    for window in ["0s", "8d", "soon"] {
        let refused = receiver.get(&format!("/api/chains/{GENESIS}?window={window}"), &key);
        assert_eq!(refused.status, 400, "window={window}");
        assert!(refused.error().contains("`window`"), "{}", refused.text());
    }
    assert_eq!(answer(&receiver, "/api/chains", &key), json!([]));
}

/// Alice streams to one instance, whose writes wait a while in its batch; Bob to another, which
/// writes at once: Bob's later sight is committed first, and Alice's earlier one, committed
/// after, still becomes the block's first sight. Both instances answer the same figures, also
/// after one of them is killed and started again.
#[test]
fn two_instances_agree_on_the_earliest_sight() {
    let database = database(Kind::Postgres, "network-two-instances");
    let key = add_key(&database, "reader", false);
    let slow = Receiver::start(&database, &["--db-save-latency", "2s"]);
    let fast = Receiver::start(&database, &["--db-save-latency", "10ms"]);
    let (mut alice, mut bob) = stream_blocks(&slow, &fast);
    for receiver in [&slow, &fast] {
        let chain = chain_when(receiver, &key, &mut [&mut alice, &mut bob], |chain| {
            chain["propagation"]["count"] == 6
                && line_of(chain, ALICE)["propagation_hour"]["p90_ms"] == 0
        });
        check_propagation(&chain);
    }
    alice.close();
    bob.close();

    // What was committed outlives a kill -9 of either instance: the other answers it, and so
    // does the killed one once it is back.
    let mut slow = slow;
    slow.process.0.kill().expect("kill -9");
    slow.process.0.wait().expect("reaped");
    let restarted = Receiver::start_on(&database, &slow.address, &[]);
    for receiver in [&fast, &restarted] {
        let chain = chain_when(receiver, &key, &mut [], |chain| {
            chain["propagation"]["count"] == 6
        });
        check_propagation(&chain);
    }
}

/// Nothing stops a keyless node from claiming a chain and reporting blocks before anyone else:
/// Mallory reports each height before Alice, with hashes of her own, and a height far ahead. The
/// blocks are told apart by their hashes, and blocks only she reported stay out of the chain's
/// figures: everybody else's are as without her.
#[test]
fn a_node_reporting_blocks_early_moves_nobody_elses_figures() {
    const MALLORY: &str = "12D3KooWMalloryMalloryMalloryMalloryMalloryMallory3";
    let database = database(Kind::Sqlite, "network-mallory");
    let key = add_key(&database, "reader", false);
    let receiver = Receiver::start(&database, &["--db-save-latency", "20ms"]);
    let mut mallory = StreamClient::connect(&ws(&receiver));
    assert!(mallory.send(&wrapped(1, connected("mallory", MALLORY))));
    assert!(mallory.send(&wrapped(1, interval(100, 50))));
    let before = frames(&receiver, "block.import");
    for height in [101, 102, 103, 1_000_000_u64] {
        let mut made_up = block_import(height);
        made_up["best"] = json!(format!("0x{:064x}", height + 0xdead_0000));
        assert!(mallory.send(&wrapped(1, made_up)));
    }
    assert!(eventually(Duration::from_secs(60), || {
        frames(&receiver, "block.import") >= before + 4.0
    }));

    let (mut alice, mut bob) = stream_blocks(&receiver, &receiver);
    let chain = chain_when(&receiver, &key, &mut [&mut alice, &mut bob], |chain| {
        chain["propagation"]["count"] == 6 && line_of(chain, BOB)["best_height"] == 103
    });
    check_propagation(&chain);
    assert_eq!(chain["best"]["height"], 103, "{}", chain["best"]);
    assert_eq!(chain["best"]["hash"], format!("0x{:064x}", 103));
    // Her own line says what she claimed.
    assert_eq!(line(&chain, MALLORY)["propagation_hour"]["count"], 4);
    alice.close();
    bob.close();
    mallory.close();
}

/// The chain page and the overview change without a reload when a node imports a block or
/// connects: on one SQLite instance, and on PostgreSQL with the page open on another instance than
/// the one the nodes stream to (the database tells every instance).
#[test]
fn open_pages_change_when_a_node_imports_a_block() {
    const CAROL: &str = "12D3KooWCarolCarolCarolCarolCarolCarolCarolCarolCa3";
    for kind in KINDS {
        let database = database(kind, "network-live");
        let key = add_key(&database, "reader", false);
        let streamed = Receiver::start(&database, &["--db-save-latency", "20ms"]);
        let other = (kind == Kind::Postgres).then(|| Receiver::start(&database, &[]));
        let shown = other.as_ref().unwrap_or(&streamed);
        let (mut alice, mut bob) = stream_blocks(&streamed, &streamed);
        chain_when(shown, &key, &mut [&mut alice, &mut bob], |chain| {
            chain["best"]["height"] == 103 && line_of(chain, BOB)["best_height"] == 103
        });

        let mut browser = Browser::start(&format!("network-live-{kind:?}"));
        let mut joined = Vec::new();
        let cookie = shown.sign_in(&key);
        let session = cookie
            .split_once('=')
            .map(|(_, value)| value)
            .expect("a value");
        browser.set_cookie(&shown.url("/"), "nodepulse_session", session);
        for (path, before, change) in [
            (format!("/chains/{GENESIS}"), "#103", "#104"),
            ("/".to_owned(), "2 2", "3 3"),
        ] {
            browser.open(&shown.url(&path));
            let chains_row =
                "document.querySelector('#chains tbody tr')?.innerText.replace(/\\s+/g, ' ')";
            let on_screen = |browser: &mut Browser| {
                let text = browser.text();
                let row = browser.eval(chains_row);
                format!("{text}\n{}", row.as_str().unwrap_or_default())
            };
            assert!(
                on_screen(&mut browser).contains(before),
                "{path}: {}",
                browser.text()
            );
            // The page listens, and is never loaded again: its own variable stays.
            assert!(eventually(Duration::from_secs(60), || {
                browser.eval("window.nodepulseLive?.readyState") == 1
            }));
            browser.eval("window.stayed = true");
            if change == "#104" {
                for node in [&mut alice, &mut bob] {
                    assert!(node.send(&wrapped(1, block_import(104))));
                }
            } else {
                let mut carol = StreamClient::connect(&ws(&streamed));
                assert!(carol.send(&wrapped(1, connected("carol", CAROL))));
                joined.push(carol);
            }
            // Well before the page's 30 s refresh: the news, not the clock, redrew it.
            let changed = eventually(Duration::from_secs(20), || {
                on_screen(&mut browser).contains(change)
            });
            assert!(
                changed,
                "{kind:?} {path} never showed {change}: {}",
                on_screen(&mut browser)
            );
            assert_eq!(
                browser.eval("window.stayed"),
                true,
                "the page was not reloaded"
            );
            if change == "#104" {
                // README's picture of the chain page (docs/chain-page.png).
                browser.screenshot(&format!("chain-page-{kind:?}"), 1280, 1120);
            }
        }
        for node in joined.into_iter().chain([alice, bob]) {
            node.close();
        }
    }
}

/// Starknet nodes (seed 002's stream) are a chain of their own, `starknet:` and the network they
/// name: their blocks, heights and peers in the same views, propagation measured the same way.
#[test]
fn starknet_nodes_make_a_chain_of_their_network() {
    let database = database(Kind::Sqlite, "network-starknet");
    let key = add_key(&database, "reader", false);
    let receiver = Receiver::start(&database, &["--db-save-latency", "20ms"]);
    let hello = |name: &str, peer_id: &str| {
        json!({"payload": {"name": name, "peer_id": peer_id, "client": "Madara",
            "version": "0.1.0-8bf85f6dc0b", "capability": "Full", "network": "Starknet",
            "starknet_version": "0.13.2", "json_rpc_version": "0.7.1"}, "ts": "2024-07-11T11:46:08Z"})
    };
    let block = |number: u64, peers: u64| {
        json!({"payload": {"current_block_hash_l2": format!("0x{:x}", 0x7aef_0000 + number),
            "current_block_number_l2": number, "latest_block_time": 330000, "peer_count": peers},
            "ts": "2024-07-11T11:46:09Z"})
    };
    let mut first = StreamClient::connect(&ws(&receiver));
    let mut second = StreamClient::connect(&ws(&receiver));
    assert!(first.send(&hello(
        "Starknode",
        "12D3KooWStarknodeStarknodeStarknodeStarknode1"
    )));
    assert!(second.send(&hello(
        "Slownode",
        "12D3KooWSlownodeSlownodeSlownodeSlownodeSlow2"
    )));
    for node in [&mut first, &mut second] {
        assert!(node.send(&block(1, 40)));
    }
    // Every frame is of one kind here: count them all, so the one waited for is the one sent.
    let mut sent = 4.0;
    for number in 2..=3 {
        assert!(first.send(&block(number, 43)));
        sent += 1.0;
        assert!(eventually(Duration::from_secs(60), || {
            frames(&receiver, "starknet") >= sent
        }));
        sleep(Duration::from_millis(BEHIND_MS as u64));
        assert!(second.send(&block(number, 41)));
        sent += 1.0;
    }
    let path = "/api/chains/starknet:Starknet";
    let mut chain = Value::Null;
    let arrived = eventually(Duration::from_secs(60), || {
        let reply = receiver.get(path, &key);
        chain = if reply.status == 200 {
            reply.json()
        } else {
            Value::Null
        };
        chain["propagation"]["count"] == 4
    });
    assert!(arrived, "{chain}");
    assert_eq!(chain["name"], "Starknet");
    assert_eq!(chain["best"]["height"], 3);
    assert_eq!(chain["best"]["hash"], format!("0x{:x}", 0x7aef_0003));
    let slow = chain["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|node| node["name"] == "Slownode"))
        .unwrap_or_else(|| panic!("no Slownode in {chain}"));
    let delay = slow["propagation_hour"]["median_ms"]
        .as_i64()
        .expect("a median");
    assert!((BEHIND_MS..BEHIND_MS + SLACK_MS).contains(&delay), "{slow}");
    let chains = answer(&receiver, "/api/chains", &key);
    assert_eq!(chains[0]["chain"], "starknet:Starknet", "{chains}");
    first.close();
    second.close();
}

/// Blocks and their reports are kept for the network view's longest window (7 days), whatever the
/// retention: nothing reads them after. Those of eight days ago go at the next start; those of an
/// hour ago stay.
#[test]
fn blocks_go_after_the_longest_window_the_view_shows() {
    use nodepulse::serve::store::SqlStore;
    use nodepulse::serve::store::streams::{
        BlockRow, Connect, NodeRef, StreamBatch, StreamFormat, StreamStore,
    };
    use nodepulse::wire::telemetry::decode::substrate_identity;
    for kind in KINDS {
        let database = database(kind, "network-window");
        let key = add_key(&database, "reader", false);
        let runtime = crate::common::store_runtime();
        runtime.block_on(async {
            let store = SqlStore::open(&database).await.expect("open");
            let now = crate::common::unix_ms();
            let hello = connected("alice", ALICE);
            let identity =
                substrate_identity(hello.as_object().expect("an object")).expect("identity");
            let block = |height: i64, at_ms: i64| BlockRow {
                node: NodeRef::Connecting(0),
                chain: GENESIS.into(),
                height,
                hash: format!("0x{height:064x}"),
                at_ms,
                import: true,
            };
            let batch = StreamBatch {
                connects: vec![Connect {
                    identity,
                    format: StreamFormat::Substrate,
                    ip: "127.0.0.1".into(),
                    audit: false,
                    at_ms: now - 9 * 86_400_000,
                }],
                blocks: vec![
                    block(100, now - 8 * 86_400_000),
                    block(200, now - 3_600_000),
                ],
                ..StreamBatch::default()
            };
            store.write_streams(&batch).await.expect("stored");
            store.close().await;
        });
        let receiver = Receiver::start(&database, &[]);
        let tables = |table: &str| {
            receiver
                .rows("/stats/db", &key)
                .as_array()
                .and_then(|tables| tables.iter().find(|t| t["table_name"] == table).cloned())
                .and_then(|t| t["rows"].as_i64())
        };
        assert!(
            eventually(Duration::from_secs(60), || tables("stream_blocks")
                == Some(1)),
            "{kind:?}: {:?}",
            tables("stream_blocks")
        );
        assert_eq!(tables("stream_block_imports"), Some(1), "{kind:?}");
    }
}
