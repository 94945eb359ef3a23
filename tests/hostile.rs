//! Hostile and broken targets on loopback. Each case is hostile on its first answer only: the agent
//! must log one clear line, leave that target's object out of that cycle, keep memory bounded, not
//! panic, and deliver the target's object again on the next cycle.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::{Reply, Running, Server, eventually, fixture, nodepulse};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;

/// A cap well below the hostile bodies, so that memory use shows whether it held.
const CAP: &str = "8MiB";

/// A raw HTTP server: `hostile` writes the whole first answer; later connections get a good scrape.
struct RawServer {
    url: String,
}

impl RawServer {
    fn start(hostile: impl Fn(&mut TcpStream) + Send + Sync + 'static) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/metrics", listener.local_addr().expect("addr"));
        let served = Arc::new(AtomicUsize::new(0));
        let hostile = Arc::new(hostile);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (served, hostile) = (Arc::clone(&served), Arc::clone(&hostile));
                std::thread::spawn(move || {
                    let mut stream = stream;
                    read_request_head(&mut stream);
                    if served.fetch_add(1, Ordering::SeqCst) == 0 {
                        hostile(&mut stream);
                    } else {
                        let body = fixture("lighthouse/beacon.prom");
                        let _ = write!(
                            stream,
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = stream.write_all(&body);
                    }
                });
            }
        });
        RawServer { url }
    }
}

fn read_request_head(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
}

/// A server whose first answer is `first`, and a good Lighthouse scrape after.
fn first_answer(first: Reply) -> Server {
    let served = AtomicUsize::new(0);
    Server::start(move |_| {
        if served.fetch_add(1, Ordering::SeqCst) == 0 {
            first.clone()
        } else {
            Reply::ok(fixture("lighthouse/beacon.prom"))
        }
    })
}

/// What the agent did against `beacon`: the first two payloads it delivered, its stderr, and its
/// peak resident memory and its resident memory once they were delivered, in kB.
struct Outcome {
    payloads: Vec<Vec<Value>>,
    log: String,
    peak_rss_kb: u64,
    rss_kb: u64,
}

/// Runs two cycles against `beacon` with a timeout far longer than any of these cases needs on a
/// busy machine: what they test is the cap or the content, not the clock.
fn run_against(beacon: &str) -> Outcome {
    run_agent(beacon, CAP, "1500ms", "60s", 2)
}

/// Runs the agent against `beacon` until `cycles` payloads were delivered.
fn run_agent(beacon: &str, cap: &str, interval: &str, timeout: &str, cycles: usize) -> Outcome {
    let receiver = Server::start(|_| Reply::ok(""));
    let mut agent = Running::spawn(nodepulse().args([
        "run",
        "--interval",
        interval,
        "--timeout",
        timeout,
        "--max-scrape-size",
        cap,
        "--stats-minute-limit",
        "false",
        "--stats-endpoint",
        &receiver.url("/api/v1/stats/k/m"),
        "--beacon-node",
        beacon,
    ]));
    // Longer than any scrape's timeout above: a late delivery is the agent's, not the wait's.
    let delivered = eventually(Duration::from_secs(300), || {
        receiver.requests().len() >= cycles
    });
    let pid = agent.0.id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |field: &str| -> u64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("the agent's {field} in /proc/{pid}/status"))
    };
    let (peak_rss_kb, rss_kb) = (kb("VmHWM:"), kb("VmRSS:"));
    assert!(delivered, "{cycles} cycles delivered:\n{}", agent.stderr());
    agent.stop();
    let log = agent.stderr();
    assert!(!log.contains("panicked"), "{log}");
    let payloads = receiver
        .requests()
        .iter()
        .take(cycles)
        .map(|request| serde_json::from_slice(&request.body).expect("JSON payload"))
        .collect();
    Outcome {
        payloads,
        log,
        peak_rss_kb,
        rss_kb,
    }
}

fn has_beacon(payload: &[Value]) -> bool {
    payload
        .iter()
        .any(|object| object["process"] == "beaconnode")
}

/// The hostile answer cost the beacon node's object, with one warning that says `why`; the system
/// object went out every cycle, and the next cycle has the beacon node back.
///
/// Payloads are not matched to cycles by position: the sink keeps only the newest cycle, so on a
/// busy machine the hostile cycle's payload may be replaced by the next one before it goes out.
fn assert_recovers(outcome: &Outcome, why: &str) {
    let shown = || format!("{}\n{:?}", outcome.log, outcome.payloads);
    assert!(
        outcome
            .payloads
            .iter()
            .all(|payload| payload.iter().any(|o| o["process"] == "system")),
        "the system object goes every cycle: {}",
        shown()
    );
    assert!(
        outcome
            .payloads
            .last()
            .is_some_and(|payload| has_beacon(payload)),
        "the next cycle works: {}",
        shown()
    );
    let failures: Vec<&str> = outcome
        .log
        .lines()
        .filter(|line| line.contains("WARN") && line.contains("scrape failed"))
        .collect();
    assert_eq!(failures.len(), 1, "one line for the failure: {}", shown());
    assert!(failures[0].contains(why), "{}", failures[0]);
}

/// The body cap stopped the read, and memory stayed far below the hostile body's size (a read
/// past the cap would hold a gigabyte): 45 MB at the peak in this (debug) build, 18 MB in a
/// release build.
fn assert_capped(outcome: &Outcome) {
    assert_recovers(outcome, "8388608-byte cap");
    assert!(
        outcome.peak_rss_kb < 56 * 1024,
        "peak RSS {} kB",
        outcome.peak_rss_kb
    );
}

#[test]
fn a_target_trickling_one_byte_a_second_times_out() {
    let server = RawServer::start(|stream| {
        let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
        for _ in 0..10 {
            if stream.write_all(b"#").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    // Here the timeout is what is tested.
    let outcome = run_agent(&server.url, CAP, "1500ms", "1s", 2);
    assert_recovers(&outcome, "no complete answer within 1s");
}

#[test]
fn an_endless_body_stops_at_the_cap_with_bounded_memory() {
    let server = RawServer::start(|stream| {
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
        let chunk = "up 1\n".repeat(13_000);
        while write!(stream, "{:x}\r\n{chunk}\r\n", chunk.len()).is_ok() {}
    });
    assert_capped(&run_against(&server.url));
}

#[test]
fn a_one_gigabyte_body_stops_at_the_cap_with_bounded_memory() {
    let server = RawServer::start(|stream| {
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            1u64 << 30
        );
        let block = vec![b'#'; 1 << 20];
        for _ in 0..1024 {
            if stream.write_all(&block).is_err() {
                return;
            }
        }
    });
    let hostile = run_against(&server.url);
    assert_capped(&hostile);
    // The capped read's buffers were handed back when freed, not kept for reuse (jemalloc's
    // default keeps them 10 s: 7.7 MB more than a calm agent's here, 8.7 in a release build).
    let calm = Server::start(|_| Reply::ok(fixture("lighthouse/beacon.prom")));
    let calm = run_against(&calm.url("/metrics"));
    assert!(
        hostile.rss_kb < calm.rss_kb + 3 * 1024,
        "{} kB resident after the capped read, {} kB after calm scrapes",
        hostile.rss_kb,
        calm.rss_kb
    );
}

#[test]
fn a_gzip_bomb_is_capped_after_decompression() {
    let mut bomb = GzEncoder::new(Vec::new(), Compression::fast());
    let block = vec![b'\n'; 1 << 20];
    for _ in 0..200 {
        bomb.write_all(&block).expect("gzip");
    }
    let bomb = bomb.finish().expect("gzip");
    assert!(bomb.len() < 1 << 20, "200 MB in {} bytes", bomb.len());
    let server = first_answer(Reply::ok(bomb).header("Content-Encoding", "gzip"));
    assert_capped(&run_against(&server.url("/metrics")));
}

#[test]
fn invalid_utf8_is_named() {
    let mut body = fixture("lighthouse/beacon.prom");
    body.extend_from_slice(b"bad_label{x=\"\xff\xfe\"} 1\n");
    let server = first_answer(Reply::ok(body));
    assert_recovers(&run_against(&server.url("/metrics")), "not UTF-8");
}

#[test]
fn an_html_error_page_served_with_200_is_not_a_scrape() {
    let page = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>\n";
    let server = first_answer(Reply::ok(page));
    assert_recovers(
        &run_against(&server.url("/metrics")),
        "not a Prometheus text exposition",
    );
}

/// Valid but extreme scrapes: they are read, mapped and sent in the first cycle.
fn assert_mapped_first_time(outcome: &Outcome) -> Value {
    assert!(has_beacon(&outcome.payloads[0]), "{}", outcome.log);
    outcome.payloads[0]
        .iter()
        .find(|object| object["process"] == "beaconnode")
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_million_series_are_read() {
    let mut body = fixture("lighthouse/beacon.prom");
    body.extend_from_slice(b"# TYPE peer_score gauge\n");
    for peer in 0..1_000_000u32 {
        body.extend_from_slice(format!("peer_score{{p=\"{peer}\"}} 1\n").as_bytes());
    }
    let server = first_answer(Reply::ok(body));
    // Parsed as it downloads: a generous timeout, as the tests run an unoptimised build beside
    // each other, perhaps on a busy machine (beside `stress-ng --cpu 2` 20 s was not enough).
    let outcome = run_agent(&server.url("/metrics"), "64MiB", "1h", "240s", 1);
    let beacon = assert_mapped_first_time(&outcome);
    assert_eq!(beacon["network_peers_connected"], 88);
}

#[test]
fn a_one_megabyte_label_value_is_read() {
    let mut body = fixture("lighthouse/beacon.prom");
    body.extend_from_slice(
        format!("build_note{{text=\"{}\"}} 1\n", "x".repeat(1 << 20)).as_bytes(),
    );
    let server = first_answer(Reply::ok(body));
    let beacon = assert_mapped_first_time(&run_against(&server.url("/metrics")));
    assert_eq!(beacon["sync_beacon_head_slot"], 10_123_456);
}

#[test]
fn nan_negative_and_huge_values_are_left_out_and_duplicates_do_not_confuse() {
    let text = String::from_utf8(fixture("lighthouse/beacon.prom"))
        .expect("utf-8")
        .replace("libp2p_peers 88", "libp2p_peers -5")
        .replace("beacon_head_slot 10123456", "beacon_head_slot NaN")
        .replace(
            "store_disk_db_size 131938172928",
            "store_disk_db_size 1e300",
        )
        .replace(
            "process_cpu_seconds_total 93511",
            "process_cpu_seconds_total +Inf",
        )
        + "process_resident_memory_bytes 7341211648\nsync_eth2_synced 1\n";
    let server = first_answer(Reply::ok(text));
    let beacon = assert_mapped_first_time(&run_against(&server.url("/metrics")));
    for absent in [
        "network_peers_connected",
        "sync_beacon_head_slot",
        "disk_beaconchain_bytes_total",
        "cpu_process_seconds_total",
    ] {
        assert!(
            beacon.get(absent).is_none(),
            "{absent} must be left out: {beacon}"
        );
    }
    assert_eq!(
        beacon["memory_process_bytes"], 7_341_211_648u64,
        "a duplicated series keeps its value"
    );
    assert_eq!(beacon["sync_eth2_synced"], true);
}
