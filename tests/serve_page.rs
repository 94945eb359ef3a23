//! The status page in a real browser: headless Chromium loads `serve`'s page, fed by the agent and
//! a stream node, signed out (public reads) and signed in (the cookie the sign-in form sets), and
//! the suite reads what is on screen. Screenshots go to target/test-artifacts/.

use std::io::Read;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::add_key;
use crate::common::browser::Browser;
use crate::common::nodes::GENESIS;
use crate::common::receiver::{KINDS, Kind, Receiver, database, request};
use crate::common::stream::{StreamClient, connected, interval, wrapped};
use crate::common::{eventually, fixture_path, nodepulse, payload, run, stderr, temp_dir};
use nodepulse::secret::Secret;
use nodepulse::serve::store::streams::{
    Connect, Gone, LogRow, NodeRef, Seen, StreamBatch, StreamFormat, StreamStore,
};
use nodepulse::serve::store::{SqlStore, Store, Submission};
use nodepulse::wire::client_stats::decode::decode;
use nodepulse::wire::telemetry::decode::{starknet_identity, substrate_identity, substrate_state};
use serde_json::{Value, json};

const HOSTILE: &str = "<script>alert(1)</script>";

#[test]
fn the_page_shows_the_fleet_in_a_real_browser_and_what_nodes_send_as_text() {
    let database = database(Kind::Sqlite, "page");
    let key = add_key(&database, "ops", false);
    // An alert that fires for the machine below (its disk is 19 % free), to show on the page.
    let config = temp_dir("page").join("serve.toml");
    std::fs::write(
        &config,
        "[alerts]\nevaluate-every = \"200ms\"\n[alerts.rules.disk-free]\nthreshold = 50.0\n",
    )
    .expect("config");
    let config = config.display().to_string();
    let receiver = Receiver::start(&database, &["--public-reads", "--config", &config]);
    // A machine, sent by the agent itself from Lighthouse's fixtures.
    report_once(&receiver, &key);
    // A stream node whose name is markup.
    let mut node = StreamClient::connect(&format!("ws://{}/submit", receiver.address));
    assert!(node.send(&wrapped(
        1,
        connected(HOSTILE, "12D3KooWHostileHostileHostile1")
    )));
    assert!(node.send(&wrapped(1, interval(4_242, 17))));
    assert!(eventually(Duration::from_secs(60), || {
        receiver
            .rows("/nodes", "")
            .as_array()
            .is_some_and(|nodes| nodes.iter().any(|n| n["state"]["best_height"] == 4_242))
    }));

    assert!(eventually(Duration::from_secs(60), || {
        receiver
            .get("/metrics", "")
            .text()
            .contains("nodepulse_serve_alerts_firing{rule=\"disk-free\"} 1")
    }));

    let page = request("GET", &receiver.url("/"), &[], b"").expect("the page");
    assert_eq!(page.status, 200);
    assert!(page.body.len() < 200 * 1024, "{} bytes", page.body.len());
    assert!(
        !page.text().contains("http://") && !page.text().contains("https://"),
        "nothing from another host"
    );

    let mut browser = Browser::start("page");
    // Signed out, with public reads: the stream nodes, and a prompt for the machines.
    browser.open(&receiver.url("/"));
    let text = browser.text();
    assert!(
        text.contains(HOSTILE),
        "the node's name shows as text:\n{text}"
    );
    assert!(text.contains("4242"), "{text}");
    assert!(text.contains("Sign in with an API key"), "{text}");
    assert!(!text.contains("rig-1"), "machines need a key:\n{text}");
    assert_eq!(
        browser.eval("document.querySelectorAll('script').length"),
        1,
        "only the page's own script"
    );
    browser.screenshot("page-public", 1280, 800);

    // Signing in through the form sets the cookie the browser then sends.
    let signed = request(
        "POST",
        &receiver.url("/login"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("key={key}").as_bytes(),
    )
    .expect("sign-in answered");
    assert_eq!(signed.status, 303);
    let cookie = signed.header("Set-Cookie").expect("a cookie").to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let value = cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, value)| value.to_owned())
        .expect("a value");
    browser.set_cookie(&receiver.url("/"), "nodepulse_session", &value);
    browser.open(&receiver.url("/"));
    let text = browser.text();
    for shown in [
        "rig-1",
        "online; firing: disk-free",
        "lighthouse v5.3.0",
        "10123456",
        "15 / 16",
        "Sign out",
        HOSTILE,
    ] {
        assert!(text.contains(shown), "{shown:?} is not on screen:\n{text}");
    }
    assert_eq!(
        browser.eval("document.querySelectorAll('#machines tbody tr').length"),
        1
    );
    // Each alert rule's state among what the page shows.
    let rules = browser.eval(
        "[...document.querySelectorAll('#alert-rules tbody tr')]\
         .map(r => r.cells[0].textContent + '=' + r.cells[2].textContent).join(';')",
    );
    let rules = rules.as_str().unwrap_or_default();
    for state in [
        "disk-free=firing: rig-1",
        "machine-offline=quiet",
        "stream-node-silent=quiet",
    ] {
        assert!(rules.contains(state), "{state:?} not in {rules}");
    }
    assert_eq!(
        browser.eval("document.cookie"),
        "",
        "the key is not readable by scripts"
    );
    // The Content-Security-Policy lets the page's own style and script run: the header is
    // styled, and a click on a column header sorts the rules table.
    assert_eq!(
        browser.eval("getComputedStyle(document.querySelector('header')).backgroundColor"),
        "rgb(36, 41, 47)"
    );
    let sorted = browser.eval(
        "document.querySelector('#alert-rules th').click();\
         const names = [...document.querySelectorAll('#alert-rules tbody tr')]\
         .map(r => r.cells[0].textContent);\
         const up = [...names].sort((a, b) => a.localeCompare(b));\
         JSON.stringify(names) === JSON.stringify(up) || JSON.stringify(names) === JSON.stringify([...up].reverse())",
    );
    assert_eq!(sorted, true, "the page's script ran");
    let desktop = browser.screenshot("page-signed-in", 1280, 800);
    let phone = browser.screenshot("page-phone", 390, 844);
    assert!(std::fs::metadata(&desktop).is_ok_and(|m| m.len() > 1000));
    assert!(std::fs::metadata(&phone).is_ok_and(|m| m.len() > 1000));
    // Readable on a phone: the page is as wide as the phone; wide tables scroll inside `main`.
    assert_eq!(
        browser.eval("document.documentElement.scrollWidth <= 390"),
        true
    );

    // A wrong key is refused, and signing out forgets the key.
    let wrong = request(
        "POST",
        &receiver.url("/login"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"key=0000",
    )
    .expect("answered");
    assert_eq!(wrong.status, 401);
    let out = request("POST", &receiver.url("/logout"), &[], b"").expect("answered");
    assert!(
        out.header("Set-Cookie")
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
    node.close();
}

const PEER_ID: &str = "12D3KooWChartsChartsCharts1";
const STARKNET_PEER_ID: &str = "12D3KooWMo65MdEXUembrdnYTdw588mREZmQrebkmJwpPbkGbony";
const MINUTES: i64 = 60;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as i64)
}

/// The agent's own objects for Lighthouse's fixtures and this host, as `--dry-run` prints them.
fn agent_objects() -> Vec<Value> {
    payload(&lighthouse_agent(&["--dry-run"]))
}

/// `nodepulse run` with `args` on Lighthouse's fixtures; it must succeed.
fn lighthouse_agent(args: &[&str]) -> std::process::Output {
    let output = run(nodepulse()
        .arg("run")
        .args(args)
        .arg("--beacon-node")
        .arg(fixture_path("lighthouse/beacon.prom"))
        .arg("--validator")
        .arg(fixture_path("lighthouse/validator.prom")));
    assert!(output.status.success(), "{}", stderr(&output));
    output
}

/// One cycle of the agent, as machine `rig-1`, posted to `receiver`.
fn report_once(receiver: &Receiver, key: &str) {
    let url = receiver.url("");
    lighthouse_agent(&[
        "--once",
        "--machine",
        "rig-1",
        "--api-key",
        key,
        "--stats-base-url",
        &url,
    ]);
}

/// `objects` as they were `minutes` ago: counters lower by what a 2-core host with a beacon node
/// adds (scaled down where this host's own counters are too low for an hour of that), the disk
/// fuller now than then, a few minutes out of sync.
fn earlier(objects: &[Value], minutes: i64) -> Vec<Value> {
    // Seconds of user time per minute, in three loads: 20, 35 and 50 of the 120 core-seconds.
    let user = |m: i64| (0..m).map(|j| 20 + 15 * ((j / 10) % 3)).sum::<i64>();
    let idle = |m: i64| 105 * m - user(m);
    let mut objects = objects.to_vec();
    for object in &mut objects {
        let total_disk = object["disk_node_bytes_total"].as_i64();
        let mut shift = |field: &str, back: &dyn Fn(i64) -> i64| {
            let Some(value) = object[field].as_i64() else {
                return;
            };
            let room = match (field, total_disk) {
                ("disk_node_bytes_free", Some(total)) => total - value,
                _ => value,
            };
            let hour = back(MINUTES + 1).abs().max(1);
            let scale = (room as f64 / hour as f64).min(1.0);
            object[field] = (value - (back(minutes) as f64 * scale) as i64).into();
        };
        shift("timestamp", &|m| m * 60_000);
        shift("cpu_node_idle_seconds_total", &idle);
        shift("cpu_node_user_seconds_total", &user);
        // The total of every mode: idle, user, iowait and 10 s a minute of kernel time.
        shift("cpu_node_system_seconds_total", &|m| {
            idle(m) + user(m) + 5 * m + 10 * m
        });
        shift("cpu_node_iowait_seconds_total", &|m| 5 * m);
        shift("network_node_bytes_total_receive", &|m| 9_000_000 * m);
        shift("network_node_bytes_total_transmit", &|m| 3_000_000 * m);
        shift("disk_node_bytes_free", &|m| -50_000_000 * m);
        shift("sync_beacon_head_slot", &|m| 5 * m);
        if object["process"] == "beaconnode" {
            object["network_peers_connected"] = (40 + minutes % 9).into();
            object["sync_eth2_synced"] = Value::Bool(!(20..25).contains(&minutes));
        }
    }
    objects
}

/// An hour of history, through the store itself: the agent's objects each minute, and a Polkadot
/// node's `system.interval` messages. `serve` is not running yet.
fn history(database: &str, key: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let objects = agent_objects();
    runtime.block_on(async {
        let store = SqlStore::open(database).await.expect("open the store");
        let key = store
            .find_key(&Secret::new(key.to_owned()))
            .await
            .expect("find the key")
            .expect("the key");
        let now = now_ms();
        for minutes in (1..=MINUTES).rev() {
            let body = serde_json::to_vec(&earlier(&objects, minutes)).expect("json");
            let submission = Submission {
                key_id: key.id,
                machine: "rig-1".into(),
                received_ms: now - minutes * 60_000,
                objects: decode(&body).expect("the agent's objects decode"),
            };
            store.insert(&[submission]).await.expect("stored");
        }
        let starknet_hello = json!({
            "name": "Starknode", "peer_id": STARKNET_PEER_ID, "client": "Madara",
            "version": "0.1.0-8bf85f6dc0b", "capability": "Full", "network": "Starknet",
            "starknet_version": "0.13.2", "json_rpc_version": "0.7.1",
            "operating_system": "Linux", "memory": 16, "cpu": 8, "storage": 1092
        });
        let starknet =
            starknet_identity(starknet_hello.as_object().expect("an object")).expect("an identity");
        let connected = connected("charted", PEER_ID);
        let identity =
            substrate_identity(connected.as_object().expect("an object")).expect("an identity");
        // The connects and an hour of messages, then a batch a minute as the batcher writes
        // them: each node's first contact of the minute, with its sample.
        let connects = StreamBatch {
            connects: vec![
                Connect {
                    identity,
                    format: StreamFormat::Substrate,
                    ip: "127.0.0.1".into(),
                    audit: false,
                    at_ms: now - MINUTES * 60_000,
                },
                Connect {
                    identity: starknet,
                    format: StreamFormat::Starknet,
                    ip: "127.0.0.1".into(),
                    audit: false,
                    at_ms: now - MINUTES * 60_000,
                },
            ],
            ..StreamBatch::default()
        };
        let ids = store.write_streams(&connects).await.expect("stored");
        let (substrate, starknet) = (NodeRef::Known(ids[0]), NodeRef::Known(ids[1]));
        for minutes in (1..=MINUTES).rev() {
            let message = interval(4_242 - 10 * minutes as u64, 10 + minutes as u64 % 7);
            // Seed 002's updates: the block one, then one with resource figures only.
            let block = json!({
                "current_block_hash_l2": format!("0x{minutes:063x}"),
                "current_block_number_l2": 700_000 - minutes,
                "latest_block_time": 330_000, "avg_sync_time": 410,
                "estimate_sync": 5.2, "tx_number": 300, "event_number": 2025,
                "message_number": 5, "peer_count": 40 + minutes % 5
            });
            let resources = json!({"memory_usage": 4.4, "cpu_usage": 3, "storage_usage": 245});
            let at_ms = now - minutes * 60_000;
            let log = |node: NodeRef, msg: &str, created_ms: i64, log: &Value| LogRow {
                node,
                created_ms,
                msg: msg.into(),
                target: None,
                audit: false,
                log: log.to_string(),
            };
            let mut starknet_state = block.as_object().cloned().expect("an object");
            starknet_state.extend(resources.as_object().cloned().expect("an object"));
            let substrate_state =
                Value::Object(substrate_state(message.as_object().expect("an object")));
            let batch = StreamBatch {
                logs: vec![
                    log(substrate, "system.interval", at_ms, &message),
                    log(starknet, "starknet", at_ms + 10_000, &block),
                    log(starknet, "starknet", at_ms + 20_000, &resources),
                ],
                seen: vec![
                    Seen {
                        node: substrate,
                        at_ms,
                        state: Some(substrate_state.to_string()),
                        sample: Some(substrate_state.to_string()),
                    },
                    Seen {
                        node: starknet,
                        at_ms: at_ms + 20_000,
                        state: Some(Value::Object(starknet_state.clone()).to_string()),
                        sample: Some(Value::Object(starknet_state).to_string()),
                    },
                ],
                ..StreamBatch::default()
            };
            store.write_streams(&batch).await.expect("stored");
        }
        store.close().await;
    });
}

/// The text of each cell of each body row of the table with `id`, crudely but enough for pages
/// this server draws.
fn cells(html: &str, id: &str) -> Vec<Vec<String>> {
    let table = html
        .split(&format!("<table id=\"{id}\">"))
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .unwrap_or_else(|| panic!("no table {id} in {html}"));
    table
        .split("<tr")
        .skip(2)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let text = cell.split_once('>').map_or("", |(_, rest)| rest);
                    let mut plain = String::new();
                    let mut in_tag = false;
                    for c in text.split("</td>").next().unwrap_or_default().chars() {
                        match c {
                            '<' => in_tag = true,
                            '>' => in_tag = false,
                            c if !in_tag => plain.push(c),
                            _ => {}
                        }
                    }
                    plain
                })
                .collect()
        })
        .collect()
}

/// The `points` of the chart's first line: how many points it joins.
fn line_points(html: &str, chart: &str) -> usize {
    html.split(&format!("id=\"chart-{chart}\""))
        .nth(1)
        .and_then(|rest| rest.split("</figure>").next())
        .and_then(|figure| figure.split("<polyline points=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .map_or(0, |points| points.split(' ').count())
}

#[test]
fn machine_and_stream_node_pages_chart_an_hour_of_history() {
    for kind in KINDS {
        let database = database(kind, "charts");
        let key = add_key(&database, "ops", false);
        let other = add_key(&database, "other", false);
        history(&database, &key);
        let receiver = Receiver::start(&database, &["--public-reads"]);
        // Now the agent itself reports, and the node streams on.
        report_once(&receiver, &key);
        let mut node = StreamClient::connect(&format!("ws://{}/submit", receiver.address));
        assert!(node.send(&wrapped(1, connected("charted", PEER_ID))));
        assert!(node.send(&wrapped(1, interval(4_242, 17))));
        assert!(eventually(Duration::from_secs(60), || {
            receiver
                .rows("/nodes", "")
                .as_array()
                .is_some_and(|nodes| nodes.iter().any(|n| n["state"]["best_height"] == 4_242))
        }));
        let cookie = receiver.sign_in(&key);
        let get = |path: &str| {
            request("GET", &receiver.url(path), &[("Cookie", &cookie)], b"")
                .unwrap_or_else(|err| panic!("GET {path}: {err}"))
        };

        // The overview: CPU from the agent's object and the one before it, and links.
        let overview = get("/").text();
        let row = &cells(&overview, "machines")[0];
        assert_eq!(row[0], "rig-1");
        assert!(row[9].ends_with(" %"), "{kind:?}: CPU {row:?}");
        assert!(
            overview.contains("href=\"/machines/rig-1?key=ops\""),
            "{overview}"
        );
        assert!(overview.contains(&format!("href=\"/stream-nodes/{PEER_ID}\"")));

        let page = get("/machines/rig-1?key=ops");
        assert_eq!(page.status, 200, "{}", page.text());
        let html = page.text();
        assert!(html.len() < 200 * 1024, "{} bytes", html.len());
        // Sent compressed to a browser that takes it.
        let gzipped = request(
            "GET",
            &receiver.url("/machines/rig-1?key=ops"),
            &[("Cookie", &cookie), ("Accept-Encoding", "gzip")],
            b"",
        )
        .expect("answered");
        assert_eq!(gzipped.header("Content-Encoding"), Some("gzip"));
        let mut unpacked = String::new();
        flate2::read::GzDecoder::new(&gzipped.body[..])
            .read_to_string(&mut unpacked)
            .expect("gzip");
        assert!(unpacked.contains("id=\"chart-cpu\""), "{unpacked}");
        assert!(
            gzipped.body.len() * 3 < unpacked.len(),
            "{} bytes",
            gzipped.body.len()
        );
        // An hour at one point a minute: 61 objects, 60 between neighbours.
        for (chart, least) in [
            ("cpu", 55),
            ("memory", 55),
            ("disk", 55),
            ("network", 55),
            ("peers", 55),
            ("head-slot", 55),
            ("synced", 55),
        ] {
            let points = line_points(&html, chart);
            assert!(points >= least, "{kind:?} {chart}: {points} points\n{html}");
        }
        assert!(html.contains("class=\"on\">1h<"), "{html}");
        // Longer windows thin the same hour to one point per 5 and per 30 minutes.
        let day = get("/machines/rig-1?key=ops&window=24h").text();
        let points = line_points(&day, "disk");
        assert!(
            (12..=14).contains(&points),
            "{kind:?}: {points} points a day\n{day}"
        );
        let week = get("/machines/rig-1?window=7d").text();
        let points = line_points(&week, "head-slot");
        assert!(
            (2..=4).contains(&points),
            "{kind:?}: {points} points a week\n{week}"
        );

        let stream = get(&format!("/stream-nodes/{PEER_ID}"));
        assert_eq!(stream.status, 200);
        let html = stream.text();
        assert!(line_points(&html, "height") >= 55, "{html}");
        assert!(line_points(&html, "peers") >= 55, "{html}");
        assert!(
            html.contains("best: 4242") && html.contains("finalized: 4240"),
            "{html}"
        );
        assert!(html.contains("<td class=\"ok\">connected</td>"), "{html}");
        // A Starknet node's block number and peer count, whichever updates carried them.
        let html = get(&format!("/stream-nodes/{STARKNET_PEER_ID}")).text();
        assert_eq!(line_points(&html, "height"), 60, "{html}");
        assert_eq!(line_points(&html, "peers"), 60, "{html}");
        assert!(html.contains("best: 699999"), "{html}");

        // What a page cannot show.
        assert_eq!(get("/machines/rig-2").status, 404);
        // Another key's machine is not there for this one.
        let others = request(
            "GET",
            &receiver.url("/machines/rig-1"),
            &[("Cookie", &receiver.sign_in(&other))],
            b"",
        )
        .expect("answered");
        assert_eq!(others.status, 404);
        assert_eq!(get("/machines/rig-1?window=2h").status, 400);
        assert_eq!(get("/stream-nodes/12D3KooWNobody").status, 404);
        let anonymous = request("GET", &receiver.url("/machines/rig-1"), &[], b"").expect("answer");
        assert_eq!(anonymous.status, 401);
        assert!(anonymous.text().contains("Sign in"));

        if kind == Kind::Sqlite {
            // In a real browser: the charts are drawn, at a size, on a desktop and on a phone.
            let mut browser = Browser::start("charts");
            let session = cookie.split_once('=').map(|(_, id)| id).unwrap_or_default();
            browser.set_cookie(&receiver.url("/"), "nodepulse_session", session);
            browser.open(&receiver.url("/machines/rig-1?key=ops"));
            let text = browser.text();
            for shown in [
                "rig-1",
                "CPU busy",
                "Disk free",
                "Head slot",
                "Synced",
                "← Fleet",
            ] {
                assert!(text.contains(shown), "{shown:?} is not on screen:\n{text}");
            }
            assert_eq!(
                browser.eval("document.querySelectorAll('figure.chart svg polyline').length >= 8"),
                true
            );
            assert_eq!(
                browser.eval(
                    "[...document.querySelectorAll('figure.chart > svg')]\
                     .every(svg => svg.getBoundingClientRect().width > 250)"
                ),
                true,
                "every chart is drawn at a readable size"
            );
            browser.screenshot("machine-page", 1280, 1000);
            browser.screenshot("machine-page-phone", 390, 844);
            assert_eq!(
                browser.eval("document.documentElement.scrollWidth <= 390"),
                true
            );
            browser.open(&receiver.url(&format!("/stream-nodes/{PEER_ID}?window=1h")));
            assert_eq!(
                browser
                    .eval("document.querySelector('#chart-height polyline').getBBox().width > 100"),
                true
            );
            browser.screenshot("stream-node-page", 1280, 700);
        }
        node.close();
    }
}

/// With more stream nodes than a page holds, the status page and the chain's page show them a
/// hundred at a time (the status page problems first), with links to the pages before and after,
/// and count all of them.
#[test]
fn many_stream_nodes_are_shown_a_page_at_a_time() {
    for kind in KINDS {
        let database = database(kind, "node_pages");
        crate::common::store_runtime().block_on(async {
            let store = SqlStore::open(&database).await.expect("open");
            let now = crate::common::unix_ms();
            let connects = (0..150)
                .map(|n| {
                    let hello =
                        connected(&format!("paged-{n:03}"), &format!("12D3KooWPaged{n:03}"));
                    Connect {
                        identity: substrate_identity(hello.as_object().expect("an object"))
                            .expect("identity"),
                        format: StreamFormat::Substrate,
                        ip: "127.0.0.1".into(),
                        audit: false,
                        at_ms: now - 1_000,
                    }
                })
                .collect();
            // The last ten went away.
            let disconnects = (140..150)
                .map(|n| Gone {
                    node: NodeRef::Connecting(n),
                    at_ms: now,
                    heard_ms: now - 1_000,
                })
                .collect();
            store
                .write_streams(&StreamBatch {
                    connects,
                    disconnects,
                    ..StreamBatch::default()
                })
                .await
                .expect("written");
            store.close().await;
        });
        let receiver = Receiver::start(&database, &["--public-reads"]);
        let get = |path: &str| {
            let answer = request("GET", &receiver.url(path), &[], b"")
                .unwrap_or_else(|err| panic!("GET {path}: {err}"));
            assert_eq!(answer.status, 200, "{kind:?}: GET {path}");
            answer.text()
        };
        let first = get("/");
        let second = get("/?nodes=1");
        assert!(first.contains("<h2>Stream nodes (150)</h2>"), "{first}");
        assert!(first.contains("<a href=\"/?nodes=1\">next</a>"), "{first}");
        assert!(
            second.contains("<a href=\"/?nodes=0\">previous</a>"),
            "{second}"
        );
        let (first, second) = (
            cells(&first, "stream-nodes"),
            cells(&second, "stream-nodes"),
        );
        assert_eq!((first.len(), second.len()), (100, 50), "{kind:?}");
        let disconnected: Vec<&str> = first[..10].iter().map(|row| row[0].as_str()).collect();
        let expected: Vec<String> = (140..150).map(|n| format!("paged-{n:03}")).collect();
        assert_eq!(disconnected, expected, "{kind:?}: problems first");
        assert!(
            first[..10]
                .iter()
                .all(|row| row[1].contains("disconnected"))
        );
        let mut names: Vec<&str> = first
            .iter()
            .chain(&second)
            .map(|row| row[0].as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 150, "{kind:?}: each node on one page");
        // Past the last page: the last page.
        assert_eq!(cells(&get("/?nodes=7"), "stream-nodes"), second, "{kind:?}");

        let chain = get(&format!("/chains/{GENESIS}"));
        assert!(chain.contains("<h2>Nodes (150)</h2>"), "{chain}");
        let next = format!("<a href=\"/chains/{GENESIS}?window=1h&amp;nodes=1\">next</a>");
        assert!(chain.contains(&next), "{chain}");
        let chain_second = get(&format!("/chains/{GENESIS}?window=1h&nodes=1"));
        let (chain, chain_second) = (
            cells(&chain, "chain-nodes"),
            cells(&chain_second, "chain-nodes"),
        );
        assert_eq!((chain.len(), chain_second.len()), (100, 50), "{kind:?}");
    }
}
