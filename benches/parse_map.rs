//! Parse + map of a 1 MB scrape, and encoding it for the Pushgateway: the CPU cost of one cycle's
//! node work.
//!
//! `cargo bench --bench parse_map` builds a realistic ~1 MB Lighthouse scrape (the bundled fixture
//! plus a few thousand per-peer and per-topic series, as a busy node serves) and reports the time of
//! `Exposition::parse` + profile selection + mapping + client-stats encoding, and separately of the
//! Pushgateway body for the same scrape, over many rounds.

use std::hint::black_box;
use std::time::{Duration, Instant};

use nodepulse::agent::read_scrape;
use nodepulse::formats::client_stats;
use nodepulse::formats::pushgateway::{self, TargetSeries};
use nodepulse::profiles::{self, ClientChoice};

const TARGET_BYTES: usize = 1024 * 1024;
const ROUNDS: u32 = 50;

fn scrape() -> Vec<u8> {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/lighthouse/beacon.prom"
    );
    let mut body = std::fs::read(fixture).expect("the Lighthouse fixture");
    body.extend_from_slice(
        b"# HELP gossipsub_peer_score Score of each peer\n# TYPE gossipsub_peer_score gauge\n",
    );
    let mut peer = 0u32;
    while body.len() < TARGET_BYTES {
        let line = format!(
            "gossipsub_peer_score{{peer_id=\"16Uiu2HAm{peer:040x}\",client=\"Lighthouse\",topic=\"/eth2/6a95a1a9/beacon_attestation_{}/ssz_snappy\"}} {}.{}\n",
            peer % 64,
            peer % 100,
            peer % 997
        );
        body.extend_from_slice(line.as_bytes());
        peer += 1;
    }
    body
}

/// Runs `work` `ROUNDS` times; the mean and the fastest round.
fn measure(mut work: impl FnMut()) -> (Duration, Duration) {
    let mut fastest = Duration::MAX;
    let mut total = Duration::ZERO;
    for _ in 0..ROUNDS {
        let started = Instant::now();
        work();
        let elapsed = started.elapsed();
        fastest = fastest.min(elapsed);
        total += elapsed;
    }
    (total / ROUNDS, fastest)
}

fn report(what: &str, megabytes: f64, (mean, fastest): (Duration, Duration)) {
    println!(
        "{what}: mean {:.2} ms, fastest {:.2} ms, {:.1} MB/s (mean), {ROUNDS} rounds",
        mean.as_secs_f64() * 1e3,
        fastest.as_secs_f64() * 1e3,
        megabytes / mean.as_secs_f64()
    );
}

fn main() {
    let body = scrape();
    let megabytes = body.len() as f64 / 1e6;
    println!(
        "scrape: {megabytes:.2} MB, {} lines",
        body.iter().filter(|&&b| b == b'\n').count()
    );
    report(
        "parse+map+encode client-stats",
        megabytes,
        measure(|| {
            let (profile, exposition) =
                read_scrape(black_box(&body), ClientChoice::Auto).expect("maps");
            let beacon = profiles::map_beacon_node(profile, &exposition);
            black_box(client_stats::beacon_node(&beacon, 0));
        }),
    );
    let (_, exposition) = read_scrape(&body, ClientChoice::Auto).expect("maps");
    let targets = [TargetSeries {
        role: "beacon-node",
        exposition: Some(&exposition),
    }];
    report(
        "encode the Pushgateway body (parsed scrape in)",
        megabytes,
        measure(|| {
            black_box(pushgateway::encode(black_box(&targets), None));
        }),
    );
}
