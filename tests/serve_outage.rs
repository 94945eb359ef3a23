//! PostgreSQL stopped and started under `nodepulse serve` while agents post and nodes stream: the
//! requests during the outage are answered 503 with a Retry-After, promptly; afterwards it stores
//! again by itself; everything it answered 200 is there, and every streamed message too. Each test
//! stops and starts a cluster of its own, so the one every other test shares stays up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::add_key;
use crate::common::receiver::{OwnCluster, Receiver, request};
use crate::common::stream::{StreamClient, connected, interval, wrapped};
use crate::common::{eventually, fixture};
use serde_json::Value;

/// A machine's request: its name, the status, and the Retry-After.
type Posted = (String, u16, Option<String>);

#[test]
fn a_postgresql_outage_is_503_then_recovery_and_nothing_accepted_is_lost() {
    let cluster = OwnCluster::start("outage");
    let database = cluster.database("outage");
    let key = add_key(&database, "fleet", false);
    let receiver = Receiver::start(&database, &[]);
    let body = fixture("reporters/lighthouse-beacon-node.json");

    // One agent per request: a new machine name each time, so the per-minute rule drops nothing.
    let answers: Arc<Mutex<Vec<Posted>>> = Arc::default();
    let running = Arc::new(AtomicBool::new(true));
    let poster = {
        let (answers, running) = (Arc::clone(&answers), Arc::clone(&running));
        let url = receiver.url("");
        let key = key.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while running.load(Ordering::SeqCst) {
                let machine = format!("rig-{n}");
                let path = format!("{url}/api/v1/stats/{key}/{machine}");
                if let Ok(answer) = request("POST", &path, &[], &body) {
                    let retry = answer.header("Retry-After").map(str::to_owned);
                    answers
                        .lock()
                        .expect("lock")
                        .push((machine, answer.status, retry));
                }
                n += 1;
            }
        })
    };
    let count = |status: u16| {
        answers
            .lock()
            .expect("lock")
            .iter()
            .filter(|(_, s, _)| *s == status)
            .count()
    };

    assert!(
        eventually(Duration::from_secs(60), || count(200) >= 5),
        "no 200s before the outage"
    );
    cluster.stop();
    let during = eventually(Duration::from_secs(60), || count(503) >= 3);
    let health = request("GET", &receiver.url("/healthz"), &[], b"")
        .expect("healthz")
        .status;
    cluster.restart();
    assert!(during, "no 503s while PostgreSQL was down");
    assert_eq!(health, 503, "/healthz during the outage");
    let before = count(200);
    assert!(
        eventually(Duration::from_secs(60), || count(200) >= before + 5),
        "no recovery"
    );
    running.store(false, Ordering::SeqCst);
    poster.join().expect("the poster");

    let answers = answers.lock().expect("lock").clone();
    for (_, status, retry) in &answers {
        assert!(matches!(status, 200 | 503), "{status}");
        if *status == 503 {
            assert_eq!(retry.as_deref(), Some("5"));
        }
    }
    // Every machine answered 200 is stored, and none is half there: a request's objects are
    // committed together or not at all.
    let machines = receiver.data("/api/v1/machines", &key);
    let machines = machines.as_array().expect("an array");
    for machine in machines {
        let processes = machine["processes"].as_object().expect("processes");
        assert_eq!(processes.len(), 2, "{machine}");
    }
    let stored: Vec<&str> = machines
        .iter()
        .map(|machine| machine["machine"].as_str().expect("a name"))
        .collect();
    for (machine, status, _) in &answers {
        let found = stored.contains(&machine.as_str());
        if *status == 200 {
            assert!(found, "{machine} was answered 200 and is not stored");
        }
    }
    assert_eq!(
        request("GET", &receiver.url("/healthz"), &[], b"")
            .expect("healthz")
            .status,
        200
    );
}

#[test]
fn a_stream_through_a_postgresql_restart_loses_no_message() {
    let cluster = OwnCluster::start("stream-outage");
    let database = cluster.database("stream_outage");
    let key = add_key(&database, "reader", false);
    let receiver = Receiver::start(&database, &[]);
    let peer = "12D3KooWOutageOutageOutageOutageOutageOutageOutage1";
    let path = format!("/nodes/logs?peer_id={peer}&msg=system.interval&limit=1000");
    let heights = || -> Vec<u64> {
        let answer = request("GET", &receiver.url(&path), &[("apikey", &key)], b"");
        let Ok(answer) = answer.map(|answer| answer.json()) else {
            return Vec::new();
        };
        // Seed 004's answer: a bare array.
        let mut heights: Vec<u64> = answer
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|log: &Value| log["logs"]["height"].as_u64())
            .collect();
        heights.sort_unstable();
        heights
    };

    let mut node = StreamClient::connect(&format!("ws://{}/submit", receiver.address));
    assert!(node.send(&wrapped(1, connected("outage", peer))));
    for height in 100..105 {
        assert!(node.send(&wrapped(1, interval(height, 8))));
    }
    assert!(eventually(Duration::from_secs(60), || heights().len() == 5));
    cluster.stop();
    // Taken while the database is down: they wait in the batcher, which retries.
    for height in 105..125 {
        assert!(node.send(&wrapped(1, interval(height, 8))));
    }
    cluster.restart();
    let expected: Vec<u64> = (100..125).collect();
    let all_there = eventually(Duration::from_secs(60), || heights() == expected);
    assert!(all_there, "stored after the restart: {:?}", heights());
    node.close();
}

#[test]
fn a_stop_while_the_database_is_down_says_how_many_messages_were_not_written() {
    let cluster = OwnCluster::start("stream-stop");
    let database = cluster.database("stream_stop");
    let mut receiver = Receiver::start(&database, &[]);
    let peer = "12D3KooWStopStopStopStopStopStopStopStopStopStopStop1";
    let mut node = StreamClient::connect(&format!("ws://{}/submit", receiver.address));
    assert!(node.send(&wrapped(1, connected("stop", peer))));
    assert!(node.send(&wrapped(1, interval(100, 8))));
    let written = "nodepulse_serve_stream_batch_messages_sum";
    assert!(eventually(Duration::from_secs(60), || receiver
        .metric(written)
        >= 1.0));
    cluster.stop();
    for height in 101..121 {
        assert!(node.send(&wrapped(1, interval(height, 8))));
    }
    let read = "nodepulse_serve_stream_frames_total{kind=\"system.interval\"}";
    assert!(eventually(Duration::from_secs(60), || receiver
        .metric(read)
        >= 21.0));
    // The batcher retries the database for 3 s after the stop, then gives up on the 20 and says so
    // (it used to write on into a closed pool and log that error instead).
    receiver.process.stop();
    let log = receiver.process.stderr();
    assert!(
        log.contains("20 stream messages taken from nodes were not written"),
        "{log}"
    );
    assert!(!log.contains("closed pool"), "{log}");
}
