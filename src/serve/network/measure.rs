//! The network view's figures, computed from what the store reads back: propagation percentiles
//! and a histogram, block time, finality lag, and the chain's diversity. Pure, so that the
//! answers, the pages and the tests compute them one way.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::serve::store::network::{ChainBlock, ChainNode, Delay};
use crate::serve::store::streams::StreamNode;
use crate::wire::telemetry::decode::{HWBENCH_REFERENCES, lenient_number};

/// The propagation histogram's upper bounds, in ms; a last bucket holds what is slower.
pub const HISTOGRAM_BOUNDS_MS: [i64; 9] =
    [100, 250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000];

/// How many of the newest blocks the block time averages over.
pub const BLOCK_TIME_BLOCKS: u32 = 20;

/// A report this long after the block's first sight is a node catching up (syncing, or back
/// from an outage), not the block propagating: it is left out of every figure.
pub const CATCH_UP_MS: i64 = 5 * 60_000;

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// The middle and the 90th percentile of some delays (nearest rank), and how many there were.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Spread {
    pub count: usize,
    pub median_ms: i64,
    pub p90_ms: i64,
}

impl Spread {
    /// `None` without delays.
    pub fn of(mut delays: Vec<i64>) -> Option<Spread> {
        if delays.is_empty() {
            return None;
        }
        delays.sort_unstable();
        // Nearest rank: the smallest value with at least p of the values at or below it.
        let rank = |percent: usize| delays[(delays.len() * percent).div_ceil(100).max(1) - 1];
        Some(Spread {
            count: delays.len(),
            median_ms: rank(50),
            p90_ms: rank(90),
        })
    }
}

/// One histogram bucket: the delays up to `le_ms` (above the previous bound), or above the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bucket {
    pub le_ms: Option<i64>,
    pub count: u64,
}

pub fn histogram(delays: impl IntoIterator<Item = i64>) -> Vec<Bucket> {
    let mut counts = [0_u64; HISTOGRAM_BOUNDS_MS.len() + 1];
    for delay in delays {
        let bucket = HISTOGRAM_BOUNDS_MS.partition_point(|bound| *bound < delay);
        counts[bucket] += 1;
    }
    counts
        .iter()
        .enumerate()
        .map(|(index, count)| Bucket {
            le_ms: HISTOGRAM_BOUNDS_MS.get(index).copied(),
            count: *count,
        })
        .collect()
}

/// The average time between the chain's newest blocks' first sights (newest first, as
/// `recent_blocks` reads them); `None` with fewer than two.
pub fn block_time_ms(blocks: &[ChainBlock]) -> Option<i64> {
    let (newest, oldest) = (blocks.first()?, blocks.last()?);
    let heights = newest.height - oldest.height;
    (heights > 0).then(|| (newest.first_seen_ms - oldest.first_seen_ms) / heights)
}

/// The chain's propagation over a window: every node's delays for its blocks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Propagation {
    pub window_ms: i64,
    pub blocks: usize,
    /// The reports, and their median and 90th percentile (absent without reports).
    pub count: usize,
    pub median_ms: Option<i64>,
    pub p90_ms: Option<i64>,
    pub histogram: Vec<Bucket>,
}

impl Propagation {
    /// Over the reports since `since_ms` of blocks with at least `min_reports` reports
    /// (`ChainSummary::corroborating_reports`).
    pub fn of(delays: &[Delay], since_ms: i64, window_ms: i64, min_reports: i64) -> Propagation {
        let in_window: Vec<&Delay> = delays
            .iter()
            .filter(|delay| delay.imported_ms >= since_ms && delay.reports >= min_reports)
            .collect();
        let mut heights: Vec<i64> = in_window.iter().map(|delay| delay.height).collect();
        heights.sort_unstable();
        heights.dedup();
        let spread = Spread::of(in_window.iter().map(|delay| delay.delay_ms).collect());
        Propagation {
            window_ms,
            blocks: heights.len(),
            count: in_window.len(),
            median_ms: spread.map(|spread| spread.median_ms),
            p90_ms: spread.map(|spread| spread.p90_ms),
            histogram: histogram(in_window.iter().map(|delay| delay.delay_ms)),
        }
    }
}

/// The chain's propagation over time: per `bucket_ms` from `since_ms` to `until_ms`, the spread
/// of the reports made in it (of blocks with at least `min_reports` reports).
pub fn propagation_series(
    delays: &[Delay],
    (since_ms, until_ms, bucket_ms): (i64, i64, i64),
    min_reports: i64,
) -> Vec<(i64, Option<Spread>)> {
    let mut buckets: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for delay in delays
        .iter()
        .filter(|delay| delay.reports >= min_reports && delay.imported_ms >= since_ms)
    {
        let bucket = (delay.imported_ms - since_ms) / bucket_ms.max(1);
        buckets.entry(bucket).or_default().push(delay.delay_ms);
    }
    bucket_starts(since_ms, until_ms, bucket_ms)
        .map(|(index, start)| (start, buckets.remove(&index).and_then(Spread::of)))
        .collect()
}

/// The chain's block time over time: per bucket, the average time between the first sights of
/// the blocks first seen in it and of the block before each.
pub fn block_time_series(
    delays: &[Delay],
    (since_ms, until_ms, bucket_ms): (i64, i64, i64),
    min_reports: i64,
) -> Vec<(i64, Option<f64>)> {
    // Each block's first sight: a report's time less its delay.
    let mut first_seen: BTreeMap<i64, i64> = BTreeMap::new();
    for delay in delays.iter().filter(|delay| delay.reports >= min_reports) {
        let seen = delay.imported_ms - delay.delay_ms;
        first_seen
            .entry(delay.height)
            .and_modify(|earliest| *earliest = (*earliest).min(seen))
            .or_insert(seen);
    }
    let mut intervals: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    let blocks: Vec<(i64, i64)> = first_seen.into_iter().collect();
    for pair in blocks.windows(2) {
        let ((before_height, before_ms), (height, seen_ms)) = (pair[0], pair[1]);
        if seen_ms < since_ms {
            continue;
        }
        let bucket = intervals
            .entry((seen_ms - since_ms) / bucket_ms.max(1))
            .or_default();
        bucket.0 += seen_ms - before_ms;
        bucket.1 += height - before_height;
    }
    bucket_starts(since_ms, until_ms, bucket_ms)
        .map(|(index, start)| {
            let average = intervals
                .get(&index)
                .filter(|(_, heights)| *heights > 0)
                .map(|(ms, heights)| *ms as f64 / *heights as f64);
            (start, average)
        })
        .collect()
}

/// Each bucket's index and start, from `since_ms` to `until_ms`.
fn bucket_starts(since_ms: i64, until_ms: i64, bucket_ms: i64) -> impl Iterator<Item = (i64, i64)> {
    let bucket_ms = bucket_ms.max(1);
    (0..=(until_ms - since_ms) / bucket_ms).map(move |index| (index, since_ms + index * bucket_ms))
}

/// A node's line in the chain's list: substrate-telemetry's columns, with propagation over an
/// hour and a day besides the last block's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeLine {
    pub peer_id: String,
    pub name: Option<String>,
    pub validator: Option<bool>,
    pub implementation: Option<String>,
    pub version: Option<String>,
    pub connected: bool,
    pub peers: Option<f64>,
    pub transactions: Option<f64>,
    pub upload_bytes_per_second: Option<f64>,
    pub download_bytes_per_second: Option<f64>,
    pub best_height: Option<i64>,
    pub best_hash: Option<String>,
    pub finalized_height: Option<i64>,
    pub finality_lag: Option<i64>,
    /// When it last reported a new best block, and how long after its first sight.
    pub last_block_ms: Option<i64>,
    /// Between its two newest reports.
    pub block_time_ms: Option<i64>,
    pub last_propagation_ms: Option<i64>,
    pub propagation_hour: Option<Spread>,
    pub propagation_day: Option<Spread>,
    /// Since the node started (Substrate's `startup_time`), else since it connected.
    pub uptime_ms: Option<i64>,
    pub hardware: Map<String, Value>,
}

/// The reports that tell propagation: those of nodes catching up left out.
pub fn propagating(mut delays: Vec<Delay>) -> Vec<Delay> {
    delays.retain(|delay| delay.delay_ms <= CATCH_UP_MS);
    delays
}

/// The node lines, in the store's order; `delays` should cover the last day.
pub fn node_lines(nodes: &[ChainNode], delays: &[Delay], now_ms: i64) -> Vec<NodeLine> {
    let mut by_node: HashMap<i64, Vec<&Delay>> = HashMap::new();
    for delay in delays {
        by_node.entry(delay.node_id).or_default().push(delay);
    }
    nodes
        .iter()
        .map(|chain_node| {
            let node = &chain_node.node;
            let state = &node.state;
            let number = |keys: &[&str]| {
                keys.iter()
                    .find_map(|key| state.get(*key).and_then(lenient_number))
            };
            let height = |keys: &[&str]| number(keys).map(|height| height as i64);
            let best_height = height(&["best_height", "current_block_number_l2"]);
            let finalized_height = height(&["finalized_height"]);
            let own = by_node
                .get(&chain_node.id)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let mut newest_first: Vec<&&Delay> = own.iter().collect();
            newest_first.sort_unstable_by_key(|delay| std::cmp::Reverse(delay.imported_ms));
            let newest = newest_first.first();
            let spread_since = |since_ms: i64| {
                Spread::of(
                    own.iter()
                        .filter(|delay| delay.imported_ms >= since_ms)
                        .map(|delay| delay.delay_ms)
                        .collect(),
                )
            };
            let started_ms = node.identity.startup_time.unwrap_or(node.connected_ms);
            NodeLine {
                peer_id: node.identity.peer_id.clone(),
                name: node.identity.name.clone(),
                validator: node.identity.authority,
                implementation: node.identity.implementation.clone(),
                version: node.identity.version.clone(),
                connected: node.disconnected_ms.is_none(),
                peers: number(&["peers", "peer_count"]),
                transactions: number(&["txcount"]),
                upload_bytes_per_second: number(&["bandwidth_upload"]),
                download_bytes_per_second: number(&["bandwidth_download"]),
                best_height,
                best_hash: ["best_hash", "current_block_hash_l2"]
                    .iter()
                    .find_map(|key| state.get(*key).and_then(Value::as_str))
                    .map(str::to_owned),
                finalized_height,
                finality_lag: best_height
                    .zip(finalized_height)
                    .map(|(best, finalized)| best - finalized),
                last_block_ms: newest.map(|delay| delay.imported_ms),
                block_time_ms: match newest_first.as_slice() {
                    [newest, previous, ..] => Some(newest.imported_ms - previous.imported_ms),
                    _ => None,
                },
                last_propagation_ms: newest.map(|delay| delay.delay_ms),
                propagation_hour: spread_since(now_ms - HOUR_MS),
                propagation_day: spread_since(now_ms - DAY_MS),
                uptime_ms: node
                    .disconnected_ms
                    .is_none()
                    .then(|| now_ms.saturating_sub(started_ms)),
                hardware: machine_and_benchmarks(node),
            }
        })
        .collect()
}

/// What a node says of its machine (`system.connected`), and its hardware benchmarks' scores
/// (`sysinfo.hwbench`, kept in its state) where it sent them.
fn machine_and_benchmarks(node: &StreamNode) -> Map<String, Value> {
    let mut hardware = node.identity.machine.clone();
    for (score, _) in HWBENCH_REFERENCES {
        if let Some(value) = node.state.get(score) {
            hardware.insert(score.to_owned(), value.clone());
        }
    }
    hardware
}

/// A benchmark score as substrate-telemetry ranks it: the range, in percent of the reference
/// machine's score, that it falls in (0-10, 10-30, ... 400-500, and 500 or more).
pub fn score_range(score: f64, reference: u64) -> (u64, Option<u64>) {
    const BOUNDS: [u64; 13] = [0, 10, 30, 50, 70, 90, 110, 130, 150, 200, 300, 400, 500];
    let percent = (score / reference as f64 * 100.0) as u64;
    BOUNDS
        .windows(2)
        .find(|pair| percent < pair[1])
        .map_or((500, None), |pair| (pair[0], Some(pair[1])))
}

/// How many connected nodes share each value of a field, most common first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Share {
    pub value: String,
    pub nodes: usize,
}

/// How a diversity table reads its value from a node's line.
type Reading = fn(&NodeLine) -> Option<String>;

/// The chain's diversity, over its connected nodes: one table per field, in this order.
pub fn diversity(lines: &[NodeLine]) -> Vec<(&'static str, Vec<Share>)> {
    let fields: [(&str, Reading); 15] = [
        ("implementation", |line| line.implementation.clone()),
        ("version", |line| line.version.clone()),
        ("os", |line| hardware_text(line, "os")),
        ("arch", |line| hardware_text(line, "arch")),
        ("cpu", |line| hardware_text(line, "cpu_model")),
        ("cores", |line| hardware_text(line, "core_count")),
        ("memory", |line| {
            let bytes = line.hardware.get("memory_bytes").and_then(lenient_number)?;
            Some(format!("{:.0} GiB", bytes / f64::from(1 << 30)))
        }),
        ("kernel", |line| hardware_text(line, "kernel")),
        ("distro", |line| hardware_text(line, "distro")),
        ("virtual_machine", |line| {
            hardware_text(line, "virtual_machine")
        }),
        ("cpu_score", |line| benchmark(line, 0)),
        ("parallel_cpu_score", |line| benchmark(line, 1)),
        ("memory_score", |line| benchmark(line, 2)),
        ("disk_sequential_write_score", |line| benchmark(line, 3)),
        ("disk_random_write_score", |line| benchmark(line, 4)),
    ];
    fields
        .into_iter()
        .map(|(field, read)| {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for line in lines.iter().filter(|line| line.connected) {
                let value = read(line).unwrap_or_else(|| "unknown".into());
                *counts.entry(value).or_default() += 1;
            }
            let mut shares: Vec<Share> = counts
                .into_iter()
                .map(|(value, nodes)| Share { value, nodes })
                .collect();
            shares.sort_by_key(|share| std::cmp::Reverse(share.nodes));
            (field, shares)
        })
        .collect()
}

/// The node's score in the `index`th benchmark of `HWBENCH_REFERENCES`, as a range of percents
/// of the reference machine's.
fn benchmark(line: &NodeLine, index: usize) -> Option<String> {
    let (name, reference) = HWBENCH_REFERENCES[index];
    let score = line.hardware.get(name).and_then(lenient_number)?;
    Some(match score_range(score, reference) {
        (low, Some(high)) => format!("{low}-{high} % of the reference"),
        (low, None) => format!("{low} % of the reference or more"),
    })
}

fn hardware_text(line: &NodeLine, key: &str) -> Option<String> {
    match line.hardware.get(key)? {
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delay(node_id: i64, height: i64, imported_ms: i64, delay_ms: i64) -> Delay {
        Delay::of_height(node_id, height, imported_ms, delay_ms, 2)
    }

    #[test]
    fn benchmark_scores_fall_in_the_real_cores_ranges() {
        assert_eq!(score_range(0.0, 100), (0, Some(10)));
        assert_eq!(score_range(9.0, 100), (0, Some(10)));
        assert_eq!(score_range(10.0, 100), (10, Some(30)));
        assert_eq!(score_range(29.0, 100), (10, Some(30)));
        assert_eq!(score_range(100.0, 100), (90, Some(110)));
        assert_eq!(score_range(500.0, 100), (500, None));
        assert_eq!(score_range(1141.0, 1028), (110, Some(130)));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(Spread::of(Vec::new()), None);
        assert_eq!(
            Spread::of(vec![300]),
            Some(Spread {
                count: 1,
                median_ms: 300,
                p90_ms: 300
            })
        );
        let delays: Vec<i64> = (1..=10).rev().map(|n| n * 100).collect();
        assert_eq!(
            Spread::of(delays),
            Some(Spread {
                count: 10,
                median_ms: 500,
                p90_ms: 900
            })
        );
    }

    #[test]
    fn the_histogram_puts_each_delay_in_its_bucket() {
        let buckets = histogram([0, 100, 101, 300, 40_000]);
        let counts: Vec<(Option<i64>, u64)> = buckets
            .iter()
            .map(|bucket| (bucket.le_ms, bucket.count))
            .collect();
        assert_eq!(counts[0], (Some(100), 2));
        assert_eq!(counts[1], (Some(250), 1));
        assert_eq!(counts[2], (Some(500), 1));
        assert_eq!(counts[9], (None, 1));
        assert_eq!(buckets.iter().map(|bucket| bucket.count).sum::<u64>(), 5);
    }

    #[test]
    fn block_time_averages_over_the_newest_blocks() {
        let block = |height, first_seen_ms| ChainBlock {
            height,
            hash: format!("0x{height:x}"),
            first_seen_ms,
            reports: 2,
        };
        assert_eq!(block_time_ms(&[block(10, 60_000)]), None);
        assert_eq!(
            block_time_ms(&[block(12, 72_000), block(11, 65_000), block(10, 60_000)]),
            Some(6_000)
        );
    }

    #[test]
    fn the_window_counts_only_its_own_reports() {
        let delays = [
            delay(1, 10, 1_000, 0),
            delay(2, 10, 1_300, 300),
            delay(1, 11, 7_000, 0),
            delay(2, 11, 7_300, 300),
        ];
        let all = Propagation::of(&delays, 0, 10_000, 2);
        assert_eq!((all.blocks, all.count), (2, 4));
        let late = Propagation::of(&delays, 5_000, 5_000, 2);
        assert_eq!(
            (late.blocks, late.median_ms, late.p90_ms),
            (1, Some(0), Some(300))
        );
        let none = Propagation::of(&delays, 8_000, 2_000, 2);
        assert_eq!((none.count, none.median_ms), (0, None));
    }

    #[test]
    fn series_put_each_report_and_block_in_its_bucket() {
        // Blocks 10, 11, 12 first seen at 0, 6 s and 12 s; a second node 300 ms behind.
        let delays: Vec<Delay> = (0..3)
            .flat_map(|n| {
                let seen = n * 6_000;
                [delay(1, 10 + n, seen, 0), delay(2, 10 + n, seen + 300, 300)]
            })
            .collect();
        let spreads = propagation_series(&delays, (0, 11_999, 6_000), 2);
        assert_eq!(spreads.len(), 2);
        assert_eq!(spreads[0].1.map(|s| (s.count, s.p90_ms)), Some((2, 300)));
        assert_eq!(spreads[1].1.map(|s| s.count), Some(2));
        let times = block_time_series(&delays, (0, 17_999, 6_000), 2);
        assert_eq!(
            times,
            [(0, None), (6_000, Some(6_000.0)), (12_000, Some(6_000.0))]
        );
    }

    #[test]
    fn blocks_one_node_made_up_and_nodes_catching_up_do_not_count() {
        let mut made_up = delay(3, 12, 2_000, 0);
        made_up.reports = 1;
        let syncing = delay(2, 9, 900_000, CATCH_UP_MS + 1);
        let delays = propagating(vec![delay(1, 10, 1_000, 0), made_up, syncing]);
        assert_eq!(delays.len(), 2, "the report catching up is left out");
        let chain = Propagation::of(&delays, 0, 10_000, 2);
        assert_eq!(
            (chain.blocks, chain.count),
            (1, 1),
            "the made-up block is left out"
        );
        // On a chain of one node, its blocks are the chain's.
        assert_eq!(Propagation::of(&delays, 0, 10_000, 1).count, 2);
    }
}
