//! `nodepulse serve` as a public endpoint: what one sender, without a key, can cost another.
//! Every store test runs against SQLite and the real PostgreSQL.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use crate::common::add_key;
use crate::common::receiver::{KINDS, Kind, Receiver, database};
use crate::common::stream::{StreamClient, connected, interval, wrapped};
use crate::common::{eventually, fixture};
use serde_json::{Value, json};

const GOOD: &str = "12D3KooWGoodGoodGoodGoodGoodGoodGoodGoodGoodGoodGo1";
const EVIL: &str = "12D3KooWEvilEvilEvilEvilEvilEvilEvilEvilEvilEvilEv2";

fn ws(receiver: &Receiver, path: &str) -> String {
    format!("ws://{}{path}", receiver.address)
}

/// How many messages of `peer_id` are stored, once `ready` holds for that count.
fn stored_messages(
    receiver: &Receiver,
    key: &str,
    peer_id: &str,
    ready: impl Fn(u64) -> bool,
) -> u64 {
    let mut count = 0;
    let arrived = eventually(Duration::from_secs(60), || {
        let stats = receiver.rows(&format!("/nodes/log_stats?peer_id={peer_id}"), key);
        count = stats
            .as_array()
            .map(|rows| rows.iter().filter_map(|row| row["qty"].as_u64()).sum())
            .unwrap_or(0);
        ready(count)
    });
    assert!(arrived, "{peer_id}: {count} messages stored");
    count
}

#[test]
fn a_poisoned_request_among_31_at_once_costs_only_itself() {
    // Lighthouse's system object, as its reporter sends it.
    let bodies: Value = serde_json::from_slice(&fixture("reporters/lighthouse-beacon-node.json"))
        .expect("the reporter fixture is JSON");
    let system = bodies[1].clone();
    assert_eq!(system["process"], "system");
    for kind in KINDS {
        let database = database(kind, "public-poisoned-request");
        let key = add_key(&database, "operator", false);
        let receiver = Arc::new(Receiver::start(&database, &[]));
        let start = Arc::new(Barrier::new(31));
        let senders: Vec<_> = (0..31)
            .map(|index| {
                let (receiver, start, key) =
                    (Arc::clone(&receiver), Arc::clone(&start), key.clone());
                let mut body = system.clone();
                if index == 15 {
                    // PostgreSQL's text cannot hold it: the one request refused, and said why.
                    body["misc_os"] = json!("lin\u{0}ux");
                }
                thread::spawn(move || {
                    start.wait();
                    let answer = receiver.post(
                        &format!("/api/v1/stats/{key}/rig-{index}"),
                        body.to_string().as_bytes(),
                    );
                    (answer.status, answer.text())
                })
            })
            .collect();
        for (index, sender) in senders.into_iter().enumerate() {
            let (status, text) = sender.join().expect("sender thread");
            if index == 15 {
                assert_eq!(status, 400, "{kind:?}: {text}");
                assert!(
                    text.contains("object 0: `misc_os`") && text.contains("NUL"),
                    "{kind:?}: {text}"
                );
            } else {
                assert_eq!(status, 200, "{kind:?} rig-{index}: {text}");
            }
        }
        let machines = receiver.data("/api/v1/machines", &key);
        let names: Vec<&str> = machines
            .as_array()
            .expect("machines")
            .iter()
            .filter_map(|machine| machine["machine"].as_str())
            .collect();
        assert_eq!(names.len(), 30, "{kind:?}: {names:?}");
        assert!(!names.contains(&"rig-15"), "{kind:?}");
    }
}

#[test]
fn a_poisoning_stream_beside_a_good_node_costs_the_good_node_nothing() {
    for kind in KINDS {
        let database = database(kind, "public-poisoning-stream");
        let key = add_key(&database, "reader", false);
        let receiver = Receiver::start(&database, &["--db-save-latency", "50ms"]);
        let mut good = StreamClient::connect(&ws(&receiver, "/submit"));
        let mut evil = StreamClient::connect(&ws(&receiver, "/submit"));
        let mut name = connected("evil\u{0}node", EVIL);
        name["chain"] = json!("Pol\u{0}kadot");
        assert!(evil.send(&wrapped(1, name)));
        assert!(good.send(&wrapped(1, connected("good", GOOD))));
        let mut poisoned_state = interval(7, 1);
        poisoned_state["best"] = json!("0x\u{0}");
        for height in 1..=300 {
            assert!(good.send(&wrapped(1, interval(height + 10, 5))));
            // Interleaved, so that every batch holds the good node's messages and these.
            let poison = match height % 3 {
                0 => json!({"msg": "evil\u{0}msg", "x": 1}),
                1 => json!({"msg": "txpool.import", "target": "tx\u{0}pool", "ready": 1}),
                _ => poisoned_state.clone(),
            };
            assert!(evil.send(&wrapped(1, poison)));
        }
        good.close();
        evil.close();
        // All the good node sent: its system.connected and 300 intervals.
        assert_eq!(
            stored_messages(&receiver, &key, GOOD, |count| count >= 301),
            301,
            "{kind:?}"
        );
        // The poisoning node's messages with a storable `msg` are kept, the character replaced;
        // the 100 with NUL in `msg` itself are refused alone and counted as malformed.
        assert_eq!(
            stored_messages(&receiver, &key, EVIL, |count| count >= 201),
            201,
            "{kind:?}"
        );
        let nodes = receiver.rows("/nodes", &key);
        let evil_node = nodes
            .as_array()
            .and_then(|nodes| nodes.iter().find(|node| node["peer_id"] == EVIL))
            .unwrap_or_else(|| panic!("{kind:?}: no {EVIL} in {nodes}"));
        assert_eq!(evil_node["name"], "evil\u{FFFD}node", "{kind:?}");
        assert_eq!(evil_node["chain"], "Pol\u{FFFD}kadot", "{kind:?}");
        assert_eq!(
            receiver.metric("nodepulse_serve_stream_refused_total{reason=\"malformed\"}"),
            100.0,
            "{kind:?}"
        );
        assert_eq!(
            receiver.metric("nodepulse_serve_stream_refused_total{reason=\"unstorable\"}"),
            0.0,
            "{kind:?}"
        );
    }
}

/// Opens `count` connections to `server` spread over the loopback addresses 127.0.0.2 and up,
/// `per_address` from each, and writes half a request head on each.
fn half_requests(
    runtime: &tokio::runtime::Runtime,
    server: &str,
    count: usize,
    per_address: usize,
) -> Vec<tokio::net::TcpStream> {
    use tokio::io::AsyncWriteExt;
    let server: std::net::SocketAddr = server.parse().expect("the server's address");
    runtime.block_on(async {
        let mut open = Vec::with_capacity(count);
        for index in 0..count {
            let from: std::net::SocketAddr = format!("127.0.0.{}:0", 2 + index / per_address)
                .parse()
                .expect("a loopback address");
            let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
            socket.bind(from).expect("bind a loopback address");
            let mut stream = socket.connect(server).await.expect("connect");
            stream
                .write_all(b"POST /api/v1/client/metrics HTTP/1.1\r\nHost: x\r\nContent-Le")
                .await
                .expect("write half a head");
            open.push(stream);
        }
        open
    })
}

/// Whether the server has closed `stream` (end of file or reset), waiting at most a minute.
fn closed_by_server(runtime: &tokio::runtime::Runtime, stream: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    runtime.block_on(async {
        let mut buffer = [0u8; 1024];
        loop {
            match tokio::time::timeout(Duration::from_secs(60), stream.read(&mut buffer)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    })
}

#[test]
fn a_slow_loris_from_many_addresses_costs_other_clients_nothing() {
    // This test holds over a thousand descriptors itself.
    nodepulse::service::raise_open_files_limit().expect("raise the test's own limit");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let database = database(Kind::Sqlite, "public-slow-loris");
    // Started as systemd starts a service without LimitNOFILE: a soft limit of 1,024.
    let receiver =
        Receiver::start_with_soft_open_files(&database, 1024, &["--header-timeout", "5s"]);
    let mut loris = half_requests(&runtime, &receiver.address, 1_100, 50);
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let started = std::time::Instant::now();
        let answer = crate::common::receiver::request("GET", &receiver.url("/healthz"), &[], b"")
            .expect("a probe is answered beside 1,100 unfinished requests");
        assert_eq!(answer.status, 200, "{}", answer.text());
        slowest = slowest.max(started.elapsed());
    }
    eprintln!("slowest of 20 probes beside 1,100 unfinished requests: {slowest:?}");
    // Each unfinished request is closed once its head is late.
    for (index, stream) in loris.iter_mut().enumerate() {
        assert!(
            closed_by_server(&runtime, stream),
            "connection {index} still open"
        );
    }
}

#[test]
fn a_head_too_large_is_431_and_one_address_holds_only_its_share() {
    use std::io::{Read, Write};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let database = database(Kind::Sqlite, "public-head-and-share");
    let receiver = Receiver::start(&database, &["--max-http-connections-per-ip", "4"]);

    // A 350 KB header line: refused once past 16 KiB, not read to its end.
    let mut huge = std::net::TcpStream::connect(&receiver.address).expect("connect");
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: {}\r\n\r\n",
        "a".repeat(350_000)
    );
    let _ = huge.write_all(head.as_bytes());
    let mut answer = Vec::new();
    let _ = huge.read_to_end(&mut answer);
    assert!(
        answer.starts_with(b"HTTP/1.1 431"),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    // Four unfinished requests from 127.0.0.2 are its share; a fifth is closed at once...
    let mut held = half_requests(&runtime, &receiver.address, 5, 5);
    let mut fifth = held.pop().expect("five connections");
    assert!(closed_by_server(&runtime, &mut fifth));
    // ...while another address is answered.
    let answer = crate::common::receiver::request("GET", &receiver.url("/healthz"), &[], b"")
        .expect("another address is answered");
    assert_eq!(answer.status, 200);
    assert_eq!(
        receiver.metric("nodepulse_serve_http_connections_refused_total"),
        1.0
    );
    // One of the four gone, the address is answered again.
    drop(held.pop());
    let answered = eventually(Duration::from_secs(30), || {
        get_from(&runtime, "127.0.0.2", &receiver.address, "/healthz") == Some(200)
    });
    assert!(answered, "the freed place was never given again");
}

/// `GET path` from the loopback address `from`: the status, or `None` when the server closed
/// the connection without an answer.
fn get_from(
    runtime: &tokio::runtime::Runtime,
    from: &str,
    server: &str,
    path: &str,
) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().ok()?;
        socket.bind(format!("{from}:0").parse().ok()?).ok()?;
        let mut stream = socket.connect(server.parse().ok()?).await.ok()?;
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .ok()?;
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut answer))
            .await
            .ok()?
            .ok()?;
        std::str::from_utf8(answer.get(9..12)?).ok()?.parse().ok()
    })
}

#[test]
fn a_node_pointed_at_the_root_as_seed_004_says_is_heard_and_the_answers_are_bare() {
    let database = database(Kind::Sqlite, "public-root-upgrade");
    let key = add_key(&database, "reader", false);
    let receiver = Receiver::start(&database, &[]);
    // `--telemetry-url 'ws://127.0.0.1:8080 5'`: the root, no path.
    let mut node = StreamClient::connect(&format!("ws://{}", receiver.address));
    assert!(node.send(&wrapped(1, connected("rooted", GOOD))));
    assert!(node.send(&wrapped(1, interval(42, 3))));
    node.close();
    assert_eq!(
        stored_messages(&receiver, &key, GOOD, |count| count >= 2),
        2
    );
    // Seed 004's and seed 002's answers are bare arrays, as their servers answer.
    for path in [
        "/nodes",
        "/api/nodes",
        "/nodes/log_stats?peer_id=x",
        "/stats/db",
    ] {
        assert!(receiver.rows(path, &key).is_array(), "{path}");
    }
    // A plain GET of the root is still the page.
    let page = receiver.get("/", "");
    assert_eq!(page.status, 200);
    assert!(
        page.text().starts_with("<!doctype html>"),
        "{}",
        page.text()
    );
}

/// The rows of seed 000's field table: name, type, and the processes that carry it.
fn seed_000_table() -> Vec<(String, String, Vec<String>)> {
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/seeds");
    let seed = std::fs::read_dir(&seeds)
        .unwrap_or_else(|err| {
            panic!(
                "the seeds at {} ({err}): shared/ must lie beside the repository",
                seeds.display()
            )
        })
        .filter_map(Result::ok)
        .find(|entry| entry.file_name().to_string_lossy().starts_with("000_"))
        .expect("seed 000");
    let text = std::fs::read_to_string(seed.path()).expect("seed 000 is text");
    text.lines()
        .skip_while(|line| !line.starts_with("|Property"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let processes = cells[3]
                .split(',')
                .map(|process| match process.trim() {
                    // The table's word for the beacon node; the process enum's is `beaconnode`.
                    "beaconchain" => "beaconnode".to_owned(),
                    other => other.to_owned(),
                })
                .collect();
            (cells[1].to_owned(), cells[2].to_owned(), processes)
        })
        .collect()
}

#[test]
fn seed_000s_whole_table_goes_through_serve_and_back() {
    let table = seed_000_table();
    assert_eq!(table.len(), 41, "seed 000's table has 41 rows");
    for kind in KINDS {
        let database = database(kind, "public-seed-table");
        let key = add_key(&database, "operator", false);
        let receiver = Receiver::start(&database, &[]);
        let mut sent: Vec<(String, Vec<(String, Value)>)> = Vec::new();
        for process in ["beaconnode", "validator", "system"] {
            let mut object =
                json!({"version": 1, "timestamp": 1_764_410_000_000_u64, "process": process});
            let mut fields = Vec::new();
            for (index, (name, kind, processes)) in table.iter().enumerate() {
                if !processes.iter().any(|p| p == process) {
                    continue;
                }
                let value = match kind.as_str() {
                    "int" | "long" => json!(1_000 * index as u64 + 7),
                    "bool" => json!(true),
                    _ => json!(format!("{process}-{name}")),
                };
                object[name.as_str()] = value.clone();
                fields.push((name.clone(), value));
            }
            sent.push((process.to_owned(), fields));
            let answer = receiver.post(
                &format!("/api/v1/stats/{key}/seed-table"),
                object.to_string().as_bytes(),
            );
            assert_eq!(answer.status, 200, "{kind:?} {process}: {}", answer.text());
        }
        // A reporter's own field too, as gobitfly's exporter sends it.
        let exporter = json!({"version": 2, "process": "validator", "validator_total": 1,
            "exporter_version": "beaconcha.in@v0.4.1"});
        let answer = receiver.post(
            &format!("/api/v1/stats/{key}/exporter"),
            exporter.to_string().as_bytes(),
        );
        assert_eq!(answer.status, 200, "{kind:?}: {}", answer.text());
        let all_answered = |receiver: &Receiver, when: &str| {
            let stored = receiver.data("/api/v1/machines/seed-table/stats?limit=10", &key);
            for (process, fields) in &sent {
                let object = stored
                    .as_array()
                    .and_then(|objects| objects.iter().find(|object| object["process"] == *process))
                    .unwrap_or_else(|| panic!("{kind:?} {when}: no {process} object in {stored}"));
                for (name, value) in fields {
                    // The table's two typos are answered in the spelling of its example and of
                    // every reporter.
                    let answered = match name.as_str() {
                        "memory_node_bytes_bufferd" => "memory_node_bytes_buffers",
                        "misc_node_boot_ts_system" => "misc_node_boot_ts_seconds",
                        other => other,
                    };
                    assert_eq!(object[answered], *value, "{kind:?} {when} {process}.{name}");
                }
            }
            let exported = receiver.data("/api/v1/machines/exporter/stats", &key);
            assert_eq!(
                exported[0]["exporter_version"], "beaconcha.in@v0.4.1",
                "{kind:?} {when}: {exported}"
            );
        };
        all_answered(&receiver, "as stored");
        // A second instance on the same PostgreSQL answers the same.
        if kind == Kind::Postgres {
            all_answered(&Receiver::start(&database, &[]), "from a second instance");
        }
        // What was answered 200 is there after kill -9 and a restart.
        let address = receiver.address.clone();
        let mut receiver = receiver;
        receiver.process.0.kill().expect("kill -9");
        let _ = receiver.process.0.wait();
        all_answered(
            &Receiver::start_on(&database, &address, &[]),
            "after kill -9",
        );
    }
}

#[test]
fn other_sites_can_neither_sign_a_browser_in_or_out_nor_frame_the_page_nor_inject_nodes() {
    let database = database(Kind::Sqlite, "public-cross-site");
    let key = add_key(&database, "operator", false);
    let receiver = Receiver::start(
        &database,
        &["--submit-origins", "https://status.example.org"],
    );
    let sign_in = |path: &str, headers: &[(&str, &str)]| {
        let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        crate::common::receiver::request(
            "POST",
            &receiver.url(path),
            &all,
            format!("key={key}").as_bytes(),
        )
        .expect("answered")
    };
    let host = receiver.address.clone();
    let own_origin = format!("http://{host}");
    for (what, headers) in [
        ("a cross-site form", vec![("Sec-Fetch-Site", "cross-site")]),
        (
            "a sibling site's form",
            vec![("Sec-Fetch-Site", "same-site")],
        ),
        (
            "an old browser's form from elsewhere",
            vec![("Origin", "http://evil.example")],
        ),
        ("a sandboxed page", vec![("Origin", "null")]),
    ] {
        for path in ["/login", "/logout"] {
            let answer = sign_in(path, &headers);
            assert_eq!(answer.status, 403, "{what} to {path}: {}", answer.text());
            assert!(answer.header("Set-Cookie").is_none(), "{what} to {path}");
        }
    }
    // The page's own form, a browser that says so, and a script that says nothing are taken.
    for headers in [
        vec![
            ("Sec-Fetch-Site", "same-origin"),
            ("Origin", own_origin.as_str()),
        ],
        vec![("Origin", own_origin.as_str())],
        vec![],
    ] {
        let answer = sign_in("/login", &headers);
        assert_eq!(answer.status, 303, "{headers:?}: {}", answer.text());
        assert!(answer.header("Set-Cookie").is_some());
    }

    // No other site may frame the page, and it runs only its own script and style.
    let page = receiver.get("/", "");
    assert_eq!(page.header("X-Frame-Options"), Some("DENY"));
    let policy = page
        .header("Content-Security-Policy")
        .unwrap_or_default()
        .to_owned();
    for part in [
        "default-src 'none'",
        "script-src 'sha256-",
        "style-src 'sha256-",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(part), "{part:?} not in {policy}");
    }

    // A browser page elsewhere cannot stream nodes in through a visitor's browser.
    let submit = format!("ws://{host}/submit");
    assert_eq!(
        StreamClient::try_connect_with(&submit, &[("Origin", "http://evil.example")]).err(),
        Some(403)
    );
    assert_eq!(
        StreamClient::try_connect_with(&format!("ws://{host}/audit"), &[("Origin", "null")]).err(),
        Some(403)
    );
    let allowed =
        StreamClient::try_connect_with(&submit, &[("Origin", "https://status.example.org")]);
    assert!(allowed.is_ok(), "--submit-origins names it");
    assert!(
        StreamClient::try_connect(&submit).is_ok(),
        "a node sends no Origin"
    );
    assert_eq!(
        receiver.metric("nodepulse_serve_stream_refused_total{reason=\"not_allowed\"}"),
        2.0
    );
}

/// Whether `/nodes` shows `peer_id` connected (`None`: not there).
fn connected_now(receiver: &Receiver, key: &str, peer_id: &str) -> Option<bool> {
    receiver
        .rows("/nodes", key)
        .as_array()?
        .iter()
        .find(|node| node["peer_id"] == peer_id)
        .and_then(|node| node["connected"].as_bool())
}

#[test]
fn a_node_left_connected_by_a_killed_instance_is_disconnected_and_one_live_elsewhere_is_not() {
    use std::sync::atomic::{AtomicBool, Ordering};
    const SILENCE: [&str; 2] = ["--node-silence", "1s"];
    for kind in KINDS {
        let database = database(kind, "public-stale-nodes");
        let key = add_key(&database, "reader", false);
        let mut first = Receiver::start(&database, &SILENCE);
        let mut orphan = StreamClient::connect(&ws(&first, "/submit"));
        assert!(orphan.send(&wrapped(1, connected("orphan", EVIL))));
        assert!(orphan.send(&wrapped(1, interval(10, 3))));
        assert!(eventually(Duration::from_secs(60), || {
            connected_now(&first, &key, EVIL) == Some(true)
        }));
        // A node streaming steadily to a second instance on the same PostgreSQL.
        let second = (kind == Kind::Postgres).then(|| Receiver::start(&database, &SILENCE));
        let streaming = Arc::new(AtomicBool::new(true));
        let live = second.as_ref().map(|second| {
            let mut node = StreamClient::connect(&ws(second, "/submit"));
            assert!(node.send(&wrapped(1, connected("live", GOOD))));
            let streaming = Arc::clone(&streaming);
            thread::spawn(move || {
                let mut height = 100;
                while streaming.load(Ordering::Relaxed)
                    && node.send(&wrapped(1, interval(height, 5)))
                {
                    height += 1;
                    thread::sleep(Duration::from_millis(200));
                }
                node.close();
            })
        });
        if let Some(second) = &second {
            assert!(eventually(Duration::from_secs(60), || {
                connected_now(second, &key, GOOD) == Some(true)
            }));
        }

        // kill -9: nobody tells the database that the orphan's connection died.
        let address = first.address.clone();
        first.process.0.kill().expect("kill -9");
        let _ = first.process.0.wait();
        drop(orphan);
        let restarted = Receiver::start_on(&database, &address, &SILENCE);
        let gone = eventually(Duration::from_secs(90), || {
            connected_now(&restarted, &key, EVIL) == Some(false)
        });
        assert!(gone, "{kind:?}: the orphan still shows connected");
        if second.is_some() {
            assert_eq!(
                connected_now(&restarted, &key, GOOD),
                Some(true),
                "{kind:?}: a node live on the other instance was marked gone"
            );
        }
        streaming.store(false, Ordering::Relaxed);
        if let Some(live) = live {
            live.join().expect("the live node's thread");
        }
    }
}

/// Whether the page, asked with `cookie`, shows someone signed in.
fn signed_in(receiver: &Receiver, cookie: &str) -> bool {
    let page =
        crate::common::receiver::request("GET", &receiver.url("/"), &[("Cookie", cookie)], b"")
            .expect("the page");
    assert_eq!(page.status, 200, "{}", page.text());
    page.text().contains("Sign out")
}

#[test]
fn a_sign_in_is_a_session_that_ends_at_sign_out_and_with_its_key_and_outlives_a_restart() {
    for kind in KINDS {
        let database = database(kind, "public-sessions");
        let key = add_key(&database, "operator", false);
        let mut receiver = Receiver::start(&database, &[]);
        let cookie = receiver.sign_in(&key);
        assert!(
            !cookie.contains(&key),
            "{kind:?}: the cookie holds the key: {cookie}"
        );
        assert!(signed_in(&receiver, &cookie), "{kind:?}");
        // The key itself is no session.
        assert!(
            !signed_in(&receiver, &format!("nodepulse_session={key}")),
            "{kind:?}"
        );

        // A session is kept in the database: after kill -9 and a restart, and on a second
        // instance sharing PostgreSQL, it is still signed in.
        let address = receiver.address.clone();
        receiver.process.0.kill().expect("kill -9");
        let _ = receiver.process.0.wait();
        let receiver = Receiver::start_on(&database, &address, &[]);
        assert!(signed_in(&receiver, &cookie), "{kind:?} after kill -9");
        if kind == Kind::Postgres {
            let second = Receiver::start(&database, &[]);
            assert!(signed_in(&second, &cookie), "{kind:?} on a second instance");
        }

        // Signing out ends the session on the server, not only in the browser.
        let out = crate::common::receiver::request(
            "POST",
            &receiver.url("/logout"),
            &[("Cookie", &cookie)],
            b"",
        )
        .expect("sign-out answered");
        assert_eq!(out.status, 303, "{kind:?}");
        assert!(
            !signed_in(&receiver, &cookie),
            "{kind:?}: a signed-out session still works"
        );

        // Removing the key ends its sessions at once.
        let cookie = receiver.sign_in(&key);
        assert!(signed_in(&receiver, &cookie), "{kind:?}");
        let removed = crate::common::run(crate::common::nodepulse().args([
            "keys",
            "remove",
            "operator",
            "--database",
            &database,
        ]));
        assert!(
            removed.status.success(),
            "{}",
            crate::common::stderr(&removed)
        );
        assert!(
            !signed_in(&receiver, &cookie),
            "{kind:?}: a removed key's session still works"
        );
    }
}

#[test]
fn reads_are_held_to_the_keys_rate_and_count_as_its_use() {
    let database = database(Kind::Sqlite, "public-read-rate");
    let key = add_key(&database, "reader", false);
    // A refill of one a second: however slowly this machine runs 300 requests, most of them
    // find the burst spent.
    let receiver = Receiver::start(&database, &["--key-rate", "1"]);
    let listed = || {
        crate::common::stdout(&crate::common::run(crate::common::nodepulse().args([
            "keys",
            "list",
            "--database",
            &database,
        ])))
    };
    assert!(listed().contains("never"), "{}", listed());
    let cookie = receiver.sign_in(&key);
    // 300 reads in a burst, API, stream and page alike: the key's burst (100) is spent, then
    // each kind meets 429 with Retry-After.
    let mut refused = std::collections::BTreeMap::new();
    for round in 0..300 {
        let (what, answer) = match round % 3 {
            0 => ("api", receiver.get("/api/v1/machines", &key)),
            1 => ("streams", receiver.get("/nodes", &key)),
            _ => (
                "page",
                crate::common::receiver::request(
                    "GET",
                    &receiver.url("/"),
                    &[("Cookie", &cookie)],
                    b"",
                )
                .expect("the page"),
            ),
        };
        match answer.status {
            200 => {}
            429 => {
                assert!(answer.header("Retry-After").is_some(), "{what}");
                *refused.entry(what).or_insert(0) += 1;
            }
            other => panic!("{what}: {other}: {}", answer.text()),
        }
    }
    assert_eq!(refused.len(), 3, "each kind of read met 429: {refused:?}");
    let total: u32 = refused.values().sum();
    assert_eq!(
        receiver.metric("nodepulse_serve_objects_rejected_total{reason=\"rate_limited\"}"),
        f64::from(total)
    );
    // Reads are its use.
    assert!(!listed().contains("never"), "{}", listed());
}

#[test]
fn keyless_reads_and_wrong_keys_are_held_to_the_addresss_rate() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let database = database(Kind::Sqlite, "public-address-rate");
    let receiver = Receiver::start(&database, &["--public-reads", "--key-rate", "1"]);
    // 300 public reads from one address: the burst (100) is spent, then 429s.
    let statuses: Vec<Option<u16>> = (0..300)
        .map(|_| get_from(&runtime, "127.0.0.3", &receiver.address, "/nodes"))
        .collect();
    assert!(statuses.contains(&Some(200)));
    assert!(statuses.contains(&Some(429)), "{statuses:?}");
    // Another address reads on.
    assert_eq!(
        get_from(&runtime, "127.0.0.4", &receiver.address, "/nodes"),
        Some(200)
    );
    // Guessed keys from one address: 401s, then 429s without a lookup.
    let guesses: Vec<Option<u16>> = (0..300)
        .map(|n| {
            get_from(
                &runtime,
                "127.0.0.5",
                &receiver.address,
                &format!("/api/v1/machines?apikey=guess{n}"),
            )
        })
        .collect();
    assert!(guesses.contains(&Some(401)));
    assert!(guesses.contains(&Some(429)), "{guesses:?}");
}
