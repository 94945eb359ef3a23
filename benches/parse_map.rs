//! The CPU and heap cost of a cycle's node work, on realistic 1 MB and 8 MB scrapes: parsing all of
//! it, parsing only what the profiles read (what the agent does), mapping and encoding client-stats,
//! and encoding the Pushgateway body. Heap is counted by a wrapping allocator: the peak of bytes in
//! use during the work, above what was in use before it.
//!
//! `cargo bench --bench parse_map` prints the figures; `cargo bench --bench parse_map -- --write
//! FILE` writes the 8 MB scrape instead, for `scripts/bench-compare.sh` to run peers on the same
//! input. The scrape is the Lighthouse fixture plus a busy node's per-peer gauges, per-topic
//! histograms, summaries, escaped label values, NaN/±Inf and timestamped samples.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nodepulse::agent::profiles::{self, ClientChoice};
use nodepulse::wire::client_stats;
use nodepulse::wire::exposition::{Exposition, Parser, Syntax};
use nodepulse::wire::pushgateway::{self, TargetSeries};

const ROUNDS: u32 = 20;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, keeping count of the bytes in use and their peak.
struct Counting;

impl Counting {
    fn grew(by: usize) {
        let now = IN_USE.fetch_add(by, Ordering::Relaxed) + by;
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

// SAFETY: every call is passed straight to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc`, passed on.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            Counting::grew(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(pointer, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc`, passed on.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
            Counting::grew(new_size);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Timing and memory of one piece of work.
struct Figures {
    mean: Duration,
    fastest: Duration,
    /// The most heap any round had in use above what it started with.
    peak_heap: usize,
}

/// The fixture, grown to about `target_bytes` with realistic families.
fn scrape(target_bytes: usize) -> Vec<u8> {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/lighthouse/beacon.prom"
    );
    let mut body = std::fs::read(fixture).expect("the Lighthouse fixture");
    let mut text = String::new();
    let mut block = 0u32;
    while body.len() + text.len() < target_bytes {
        let family = format!("gossipsub_peer_score_{block}");
        text.push_str(&format!(
            "# HELP {family} Score of each peer\n# TYPE {family} gauge\n"
        ));
        for peer in 0..200u32 {
            let value = match peer % 50 {
                0 => "NaN".to_owned(),
                1 => "+Inf".to_owned(),
                _ => format!("{}.{}", peer % 100, peer % 997),
            };
            text.push_str(&format!(
                "{family}{{peer_id=\"16Uiu2HAm{peer:040x}\",client=\"Lighthouse/v5.3.0\",topic=\"/eth2/6a95a1a9/beacon_attestation_{}/ssz_snappy\"}} {value}\n",
                peer % 64
            ));
        }
        let histogram = format!("beacon_processor_queue_seconds_{block}");
        text.push_str(&format!(
            "# HELP {histogram} Time in the queue\n# TYPE {histogram} histogram\n"
        ));
        for kind in ["gossip_block", "gossip_attestation", "rpc_block"] {
            let mut count = 0;
            for le in [
                "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
                "+Inf",
            ] {
                count += 17;
                text.push_str(&format!(
                    "{histogram}_bucket{{type=\"{kind}\",le=\"{le}\"}} {count}\n"
                ));
            }
            text.push_str(&format!("{histogram}_sum{{type=\"{kind}\"}} 12.5\n{histogram}_count{{type=\"{kind}\"}} {count}\n"));
        }
        let summary = format!("rpc_latency_{block}");
        text.push_str(&format!("# TYPE {summary} summary\n"));
        for quantile in ["0.5", "0.9", "0.99"] {
            text.push_str(&format!(
                "{summary}{{quantile=\"{quantile}\"}} 0.0{block}\n"
            ));
        }
        text.push_str(&format!("{summary}_sum 1.5e+02\n{summary}_count 9000\n"));
        text.push_str(&format!(
            "# TYPE dial_errors_{block} counter\ndial_errors_{block}{{error=\"dial \\\"refused\\\" at C:\\\\peers\\n\"}} 3 1731000000000\n"
        ));
        block += 1;
    }
    body.extend_from_slice(text.as_bytes());
    body
}

/// Runs `work` `ROUNDS` times. Freeing what it returns is not timed.
fn measure<O>(mut work: impl FnMut() -> O) -> Figures {
    let mut figures = Figures {
        mean: Duration::ZERO,
        fastest: Duration::MAX,
        peak_heap: 0,
    };
    for _ in 0..ROUNDS {
        let before = IN_USE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let started = Instant::now();
        let output = work();
        let elapsed = started.elapsed();
        figures.peak_heap = figures
            .peak_heap
            .max(PEAK.load(Ordering::Relaxed).saturating_sub(before));
        drop(black_box(output));
        figures.fastest = figures.fastest.min(elapsed);
        figures.mean += elapsed / ROUNDS;
    }
    figures
}

fn report(what: &str, bytes: usize, figures: Figures) {
    let megabytes = bytes as f64 / 1e6;
    println!(
        "{what:<50} mean {:>6.2} ms  fastest {:>6.2} ms  {:>5.0} MB/s  heap peak {:>6.2} MB",
        figures.mean.as_secs_f64() * 1e3,
        figures.fastest.as_secs_f64() * 1e3,
        megabytes / figures.fastest.as_secs_f64(),
        figures.peak_heap as f64 / 1e6
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|arg| arg == "--write") {
        let path = args.get(at + 1).expect("--write FILE");
        std::fs::write(path, scrape(8 << 20)).expect("write the scrape");
        return;
    }
    let profiles = profiles::Profiles::builtin();
    let wanted = profiles.wanted(&ClientChoice::Auto);
    for size in [1 << 20, 8 << 20] {
        let body = scrape(size);
        let label = format!("{:.1} MB", body.len() as f64 / 1e6);
        println!(
            "scrape {label}: {} lines",
            body.iter().filter(|&&b| b == b'\n').count()
        );
        report(
            &format!("full parse ({label})"),
            body.len(),
            measure(|| Exposition::parse(black_box(&body)).expect("parses")),
        );
        report(
            &format!("parse of the profiles' series ({label})"),
            body.len(),
            measure(|| {
                Exposition::parse_wanted(black_box(&body), Syntax::Classic, Some(&wanted))
                    .expect("parses")
            }),
        );
        report(
            &format!("cycle: fed in 16 KiB chunks, map, encode ({label})"),
            body.len(),
            measure(|| {
                let mut parser = Parser::new(Syntax::Classic, Some(&wanted));
                for chunk in black_box(&body).chunks(16 << 10) {
                    parser.feed(chunk);
                }
                let exposition = parser.finish().expect("parses");
                let profile = profiles
                    .select(&ClientChoice::Auto, &exposition)
                    .expect("detected");
                let beacon = profiles::map_beacon_node(&profile, &exposition);
                client_stats::to_body(&[client_stats::StatsObject::BeaconNode(
                    client_stats::beacon_node(&beacon, 0),
                )])
            }),
        );
        let exposition = Exposition::parse(body.as_slice()).expect("parses");
        let targets = [TargetSeries {
            role: "beacon-node",
            exposition: Some(&exposition),
        }];
        report(
            &format!("Pushgateway body from the parsed scrape ({label})"),
            body.len(),
            measure(|| pushgateway::encode(black_box(&targets), None, &Default::default())),
        );
    }
}
