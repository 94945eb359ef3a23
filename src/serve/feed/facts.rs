//! What the feed shows of a chain, computed from the store's reads: the chain's best and finalized
//! blocks, its diversity as the frontend's stats tab ranks it, and each connected node's line in the
//! shapes of substrate-telemetry's payloads. Pure, so that `hub` only compares and sends.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Value, json};

use crate::serve::network::measure::{NodeLine, block_time_ms, node_lines, score_range};
use crate::serve::store::network::{ChainBlock, ChainNode, ChainSummary, Delay};
use crate::wire::telemetry::decode::{HWBENCH_REFERENCES, SYSINFO_NAMES, lenient_number};

/// The hash substrate-telemetry gives a block it knows nothing of.
const NO_HASH: &str = "0x0000000000000000000000000000000000000000000000000000000000000000";

/// A stats tab's ranking lists this many values; the rest are counted as `other`.
const RANKED_VALUES: usize = 10;

/// A chain as the feed tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainFacts {
    /// `BestBlock`: height, when first seen, and the average block time.
    pub best: Value,
    /// `BestFinalized`: height and hash.
    pub finalized: Value,
    /// `ChainStatsUpdate`.
    pub stats: Value,
    /// The connected nodes, by their id in the store.
    pub nodes: Vec<(i64, NodeFacts)>,
}

/// A node's line, in the payloads' shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeFacts {
    /// Name, implementation, version, validator, network id, OS, architecture, libc, address,
    /// system information and hardware benchmarks.
    pub details: Value,
    /// Peers and transactions.
    pub stats: Value,
    /// The state cache sizes.
    pub io: Value,
    /// Upload and download rates, and when they were measured.
    pub hardware: Value,
    pub block: BlockFacts,
    /// Height and hash.
    pub finalized: (i64, String),
    /// When the node started, in Unix ms.
    pub startup_time: Option<i64>,
}

/// A node's best block, as `ImportedBlock` tells it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockFacts {
    pub height: i64,
    pub hash: String,
    /// Since the node's previous block.
    pub block_time_ms: i64,
    /// When the node reported it.
    pub timestamp_ms: i64,
    /// How long after the block's first sight anywhere; `None` when not measured.
    pub propagation_ms: Option<i64>,
}

impl BlockFacts {
    pub fn payload(&self) -> Value {
        json!([
            self.height,
            self.hash,
            self.block_time_ms,
            self.timestamp_ms,
            self.propagation_ms
        ])
    }
}

impl NodeFacts {
    /// `AddedNode`'s payload for the node numbered `feed_id`. Nodes have no location here.
    pub fn added(&self, feed_id: usize) -> Value {
        json!([
            feed_id,
            self.details,
            self.stats,
            self.io,
            self.hardware,
            self.block.payload(),
            null,
            self.startup_time
        ])
    }
}

impl ChainFacts {
    /// From the chain's summary, its nodes, their reports since a few minutes (those catching up
    /// left out) and its newest corroborated blocks (newest first). Addresses only with
    /// `expose_node_ip`.
    pub fn of(
        summary: &ChainSummary,
        nodes: &[ChainNode],
        delays: &[Delay],
        blocks: &[ChainBlock],
        expose_node_ip: bool,
        now_ms: i64,
    ) -> ChainFacts {
        let connected: Vec<ChainNode> = nodes
            .iter()
            .filter(|chain_node| chain_node.node.disconnected_ms.is_none())
            .cloned()
            .collect();
        let lines = node_lines(&connected, delays, now_ms);
        let mut newest: HashMap<i64, &Delay> = HashMap::new();
        for delay in delays {
            let kept = newest.entry(delay.node_id).or_insert(delay);
            if delay.imported_ms > kept.imported_ms {
                *kept = delay;
            }
        }
        let nodes: Vec<(i64, NodeFacts)> = connected
            .iter()
            .zip(&lines)
            .map(|(chain_node, line)| {
                let newest = newest.get(&chain_node.id).copied();
                let facts = node_facts(chain_node, line, newest, expose_node_ip);
                (chain_node.id, facts)
            })
            .collect();
        let best = match blocks.first() {
            Some(block) => json!([block.height, block.first_seen_ms, block_time_ms(blocks)]),
            None => json!([0, now_ms, null]),
        };
        let (height, hash) = corroborated_finalized(&nodes, summary.corroborating_reports());
        ChainFacts {
            best,
            finalized: json!([height, hash]),
            stats: chain_stats(&connected),
            nodes,
        }
    }
}

/// The highest finalized block that enough nodes (`ChainSummary::corroborating_reports`) have
/// finalized or passed: a node claiming blocks of its own does not move the chain's.
fn corroborated_finalized(nodes: &[(i64, NodeFacts)], reports: i64) -> (i64, String) {
    let mut finalized: Vec<&(i64, String)> =
        nodes.iter().map(|(_, node)| &node.finalized).collect();
    finalized.sort_unstable_by_key(|(height, _)| std::cmp::Reverse(*height));
    let rank = usize::try_from(reports.max(1) - 1).unwrap_or(0);
    finalized
        .get(rank)
        .map(|(height, _)| *height)
        .and_then(|height| {
            finalized
                .iter()
                .find(|(other, hash)| *other == height && hash != NO_HASH)
                .map(|(_, hash)| (height, hash.clone()))
        })
        .unwrap_or_else(|| (0, NO_HASH.to_owned()))
}

/// `newest`: the node's newest report.
fn node_facts(
    chain_node: &ChainNode,
    line: &NodeLine,
    newest: Option<&Delay>,
    expose_node_ip: bool,
) -> NodeFacts {
    let node = &chain_node.node;
    let identity = &node.identity;
    let machine = &identity.machine;
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let sysinfo = SYSINFO_NAMES
        .into_iter()
        .filter_map(|(name, key)| Some((name.to_owned(), machine.get(key)?.clone())))
        .collect::<serde_json::Map<String, Value>>();
    let ip = node.ip.as_ref().filter(|_| expose_node_ip);
    // Like the address, only with `--expose-node-ip`, as the real core shows them.
    let benchmarks = HWBENCH_REFERENCES
        .into_iter()
        .filter_map(|(score, _)| Some((score.to_owned(), node.state.get(score)?.clone())))
        .collect::<serde_json::Map<String, Value>>();
    let hwbench = (expose_node_ip && !benchmarks.is_empty()).then_some(benchmarks);
    let details = json!([
        identity
            .name
            .clone()
            .unwrap_or_else(|| identity.peer_id.clone()),
        text(&identity.implementation),
        text(&identity.version),
        // The frontend draws a validator's address as an identicon; the streams carry none.
        null,
        identity.peer_id,
        machine.get("os"),
        machine.get("arch"),
        machine.get("libc"),
        ip,
        (!sysinfo.is_empty()).then_some(sysinfo),
        hwbench
    ]);
    // The newest report is written at once; the node's state only every few seconds.
    let block = match newest {
        Some(newest) if Some(newest.height) >= line.best_height => BlockFacts {
            height: newest.height,
            hash: newest.hash.clone(),
            block_time_ms: line.block_time_ms.unwrap_or(0),
            timestamp_ms: newest.imported_ms,
            propagation_ms: Some(newest.delay_ms),
        },
        // Not measured: the node caught up to it, or reported it before the reports read.
        _ => BlockFacts {
            height: line.best_height.unwrap_or(0),
            hash: line.best_hash.clone().unwrap_or_else(|| NO_HASH.to_owned()),
            block_time_ms: 0,
            timestamp_ms: newest.map_or(node.connected_ms, |newest| newest.imported_ms),
            propagation_ms: None,
        },
    };
    let state_number = |key: &str| node.state.get(key).and_then(lenient_number);
    let rates = |rate: Option<f64>| rate.map_or_else(Vec::new, |rate| vec![rate]);
    let measured = line
        .upload_bytes_per_second
        .or(line.download_bytes_per_second)
        .map_or_else(Vec::new, |_| vec![node.last_seen_ms]);
    NodeFacts {
        details,
        stats: json!([line.peers.unwrap_or(0.0), line.transactions.unwrap_or(0.0)]),
        io: json!([state_number("used_state_cache_size").map_or_else(Vec::new, |size| vec![size])]),
        hardware: json!([
            rates(line.upload_bytes_per_second),
            rates(line.download_bytes_per_second),
            measured
        ]),
        block,
        finalized: (
            line.finalized_height.unwrap_or(0),
            node.state
                .get("finalized_hash")
                .and_then(Value::as_str)
                .unwrap_or(NO_HASH)
                .to_owned(),
        ),
        startup_time: identity.startup_time,
    }
}

/// The stats tab: how many connected nodes share each value, the ten most common of each field
/// (memory and the benchmark scores in substrate-telemetry's ranges, in their order).
fn chain_stats(nodes: &[ChainNode]) -> Value {
    let machine = |node: &ChainNode, key: &str| node.node.identity.machine.get(key).cloned();
    let field = |key: &'static str| move |node: &ChainNode| machine(node, key);
    let text_of =
        |key: &'static str| move |node: &ChainNode| machine(node, key).filter(Value::is_string);
    let cpu = |node: &ChainNode| {
        machine(node, "cpu_model").and_then(|cpu| cpu.as_str().map(str::to_owned))
    };
    let mut stats = json!({
        "version": top(nodes, |node| node.node.identity.version.clone().map(Value::from)),
        "target_os": top(nodes, text_of("os")),
        "target_arch": top(nodes, text_of("arch")),
        "cpu": top(nodes, text_of("cpu_model")),
        "memory": ordered(nodes, |node| {
            machine(node, "memory_bytes").and_then(|bytes| bytes.as_u64()).map(memory_range)
        }),
        "core_count": top(nodes, |node| machine(node, "core_count").filter(Value::is_u64)),
        "linux_kernel": top(nodes, |node| {
            machine(node, "kernel").and_then(|kernel| kernel.as_str().map(kernel_number))
        }),
        "linux_distro": top(nodes, text_of("distro")),
        "is_virtual_machine": top(nodes, field("virtual_machine")),
        "cpu_vendor": top(nodes, |node| cpu(node).map(|cpu| Value::from(cpu_vendor(&cpu)))),
    });
    for (score, reference) in HWBENCH_REFERENCES {
        stats[score] = ordered(nodes, |node| {
            let score = node.node.state.get(score).and_then(lenient_number)?;
            Some(score_range(score, reference))
        });
    }
    stats
}

/// Values counted by their JSON text, so that any JSON value is a key.
fn counted(
    nodes: &[ChainNode],
    value: impl Fn(&ChainNode) -> Option<Value>,
) -> (Vec<(Value, u64)>, u64) {
    let mut counts: BTreeMap<String, (Value, u64)> = BTreeMap::new();
    let mut unknown = 0;
    for node in nodes {
        match value(node) {
            Some(value) => counts.entry(value.to_string()).or_insert((value, 0)).1 += 1,
            None => unknown += 1,
        }
    }
    (counts.into_values().collect(), unknown)
}

/// The most common values first (ties in the values' order), ten of them.
fn top(nodes: &[ChainNode], value: impl Fn(&ChainNode) -> Option<Value>) -> Value {
    let (mut list, unknown) = counted(nodes, value);
    list.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    let other: u64 = list
        .iter()
        .skip(RANKED_VALUES)
        .map(|(_, count)| count)
        .sum();
    list.truncate(RANKED_VALUES);
    json!({"list": list, "other": other, "unknown": unknown})
}

/// Every value, in order (the memory ranges).
fn ordered(nodes: &[ChainNode], value: impl Fn(&ChainNode) -> Option<(u64, Option<u64>)>) -> Value {
    let mut ranges: BTreeMap<(u64, Option<u64>), u64> = BTreeMap::new();
    let mut unknown = 0;
    for node in nodes {
        match value(node) {
            Some(range) => *ranges.entry(range).or_default() += 1,
            None => unknown += 1,
        }
    }
    let list: Vec<Value> = ranges
        .into_iter()
        .map(|((low, high), count)| json!([[low, high], count]))
        .collect();
    json!({"list": list, "other": 0, "unknown": unknown})
}

/// substrate-telemetry's memory ranges, in (decimal thousands of binary) gigabytes: [1, 2), [2, 4)
/// and so on up to 128 and above; less than 1 counts as [1, 2), as there.
fn memory_range(bytes: u64) -> (u64, Option<u64>) {
    const BOUNDS: [u64; 13] = [1, 2, 4, 6, 8, 10, 16, 24, 32, 48, 56, 64, 128];
    let size = bytes / (1024 * 1024) / 1000;
    BOUNDS
        .windows(2)
        .find(|pair| size < pair[1])
        .map_or((128, None), |pair| (pair[0], Some(pair[1])))
}

/// A kernel's version without its build suffix: `5.10.0-8-amd64` is `5.10.0`.
fn kernel_number(kernel: &str) -> Value {
    let end = kernel.find(['-', '+']).unwrap_or(kernel.len());
    Value::from(&kernel[..end])
}

fn cpu_vendor(cpu: &str) -> &'static str {
    let cpu = cpu.to_ascii_lowercase();
    [
        ("intel", "Intel"),
        ("amd", "AMD"),
        ("arm", "ARM"),
        ("apple", "Apple"),
    ]
    .into_iter()
    .find(|(part, _)| cpu.contains(part))
    .map_or("Other", |(_, vendor)| vendor)
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;
    use crate::serve::store::streams::{StreamFormat, StreamNode};
    use crate::wire::telemetry::decode::{substrate_identity, substrate_state};

    const GENESIS: &str = "0x91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3";

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("an object")
    }

    /// A Polkadot node as `system.connected` and `system.interval` describe it.
    fn node(id: i64, name: &str, best: u64, finalized: u64) -> ChainNode {
        let identity = substrate_identity(&object(json!({
            "msg": "system.connected", "chain": "Polkadot", "genesis_hash": GENESIS,
            "name": name, "implementation": "Parity Polkadot", "version": "1.15.2",
            "network_id": format!("12D3KooW{name}"), "startup_time": "1764410000000",
            "target_os": "linux", "target_arch": "x86_64", "target_env": "gnu",
            "sysinfo": {"cpu": "Intel(R) Xeon(R) E-2386G", "memory": 67_108_864_000_u64,
                "core_count": 6, "linux_kernel": "5.15.0-91-generic+x",
                "linux_distro": "Ubuntu 22.04", "is_virtual_machine": false}
        })))
        .expect("an identity");
        let state = substrate_state(&object(json!({
            "msg": "system.interval", "height": best, "best": format!("0x{best:064x}"),
            "finalized_height": finalized, "finalized_hash": format!("0x{finalized:064x}"),
            "peers": 40, "txcount": 2, "bandwidth_upload": 1000.5, "bandwidth_download": 2000.0,
            "used_state_cache_size": 1_048_576
        })));
        ChainNode {
            id,
            node: StreamNode {
                format: StreamFormat::Substrate,
                identity,
                ip: Some("203.0.113.7".into()),
                audit: false,
                connected_ms: 1_000,
                last_seen_ms: 9_000,
                disconnected_ms: None,
                state,
            },
        }
    }

    fn delay(node_id: i64, height: i64, imported_ms: i64, delay_ms: i64) -> Delay {
        Delay::of_height(node_id, height, imported_ms, delay_ms, 3)
    }

    fn summary(nodes: i64) -> ChainSummary {
        ChainSummary {
            chain: GENESIS.into(),
            name: Some("Polkadot".into()),
            nodes,
            connected: nodes,
        }
    }

    #[test]
    fn a_node_is_told_in_the_real_cores_shapes() {
        let nodes = [node(1, "alice", 12, 10), node(2, "bob", 12, 10)];
        let delays = [
            delay(1, 11, 5_000, 0),
            delay(1, 12, 11_000, 0),
            delay(2, 12, 11_400, 400),
        ];
        let blocks = [
            ChainBlock {
                height: 12,
                hash: format!("0x{:064x}", 12),
                first_seen_ms: 11_000,
                reports: 2,
            },
            ChainBlock {
                height: 11,
                hash: format!("0x{:064x}", 11),
                first_seen_ms: 5_000,
                reports: 2,
            },
        ];
        let facts = ChainFacts::of(&summary(2), &nodes, &delays, &blocks, false, 20_000);
        assert_eq!(facts.best, json!([12, 11_000, 6_000]));
        assert_eq!(facts.finalized, json!([10, format!("0x{:064x}", 10)]));
        let (id, alice) = &facts.nodes[0];
        assert_eq!(*id, 1);
        assert_eq!(
            alice.added(0),
            json!([0,
                ["alice", "Parity Polkadot", "1.15.2", null, "12D3KooWalice", "linux", "x86_64", "gnu", null,
                 {"cpu": "Intel(R) Xeon(R) E-2386G", "memory": 67_108_864_000_u64, "core_count": 6,
                  "linux_kernel": "5.15.0-91-generic+x", "linux_distro": "Ubuntu 22.04",
                  "is_virtual_machine": false}, null],
                [40.0, 2.0], [[1_048_576.0]], [[1000.5], [2000.0], [9_000]],
                [12, format!("0x{:064x}", 12), 6_000, 11_000, 0], null, 1_764_410_000_000_i64])
        );
        let (_, bob) = &facts.nodes[1];
        assert_eq!(
            bob.block.payload(),
            json!([12, format!("0x{:064x}", 12), 0, 11_400, 400])
        );
        let mut benchmarked = nodes.clone();
        benchmarked[0]
            .node
            .state
            .extend(substrate_state(&object(json!({
                "msg": "sysinfo.hwbench", "cpu_hashrate_score": 5_200, "memory_memcpy_score": 14_000
            }))));
        let exposed = ChainFacts::of(&summary(2), &benchmarked, &delays, &blocks, true, 20_000);
        let details = &exposed.nodes[0].1.details;
        assert_eq!(details[8], "203.0.113.7");
        assert_eq!(
            details[10],
            json!({"cpu_hashrate_score": 5_200, "memory_memcpy_score": 14_000})
        );
        assert_eq!(
            exposed.stats["cpu_hashrate_score"],
            json!({"list": [[[500, null], 1]], "other": 0, "unknown": 1})
        );
        assert_eq!(
            exposed.stats["memory_memcpy_score"]["list"],
            json!([[[90, 110], 1]])
        );
        let stats = &facts.stats;
        assert_eq!(
            stats["memory"],
            json!({"list": [[[64, 128], 2]], "other": 0, "unknown": 0})
        );
        assert_eq!(stats["linux_kernel"]["list"], json!([["5.15.0", 2]]));
        assert_eq!(stats["cpu_vendor"]["list"], json!([["Intel", 2]]));
        assert_eq!(stats["is_virtual_machine"]["list"], json!([[false, 2]]));
        assert_eq!(
            stats["cpu_hashrate_score"],
            json!({"list": [], "other": 0, "unknown": 2})
        );
    }

    #[test]
    fn one_node_alone_does_not_move_the_chains_finalized_block() {
        let nodes = [
            node(1, "alice", 12, 10),
            node(2, "bob", 12, 9),
            node(3, "mallory", 900, 899),
        ];
        let facts = ChainFacts::of(&summary(3), &nodes, &[], &[], false, 20_000);
        assert_eq!(facts.finalized, json!([10, format!("0x{:064x}", 10)]));
        // No block yet: height 0, now, no block time, as the real core tells a new chain.
        assert_eq!(facts.best, json!([0, 20_000, null]));
        let mut gone = nodes[2].clone();
        gone.node.disconnected_ms = Some(15_000);
        let facts = ChainFacts::of(&summary(3), &[gone], &[], &[], false, 20_000);
        assert!(facts.nodes.is_empty());
    }

    #[test]
    fn memory_falls_in_the_real_cores_ranges() {
        let gib = 1024 * 1024 * 1000;
        assert_eq!(memory_range(512 * 1024 * 1024), (1, Some(2)));
        assert_eq!(memory_range(3 * gib), (2, Some(4)));
        assert_eq!(memory_range(127 * gib), (64, Some(128)));
        assert_eq!(memory_range(512 * gib), (128, None));
        assert_eq!(kernel_number("6.1.0-28-cloud-amd64"), "6.1.0");
        assert_eq!(cpu_vendor("Apple M2"), "Apple");
        assert_eq!(cpu_vendor("Neoverse-N1"), "Other");
    }

    #[test]
    fn rankings_keep_the_ten_most_common_and_count_the_rest() {
        let nodes: Vec<ChainNode> = (0..13)
            .map(|index| {
                let mut node = node(index, "n", 1, 0);
                node.node.identity.version = Some(format!("1.{}", index % 12));
                node
            })
            .collect();
        let ranking = top(&nodes, |node| {
            node.node.identity.version.clone().map(Value::from)
        });
        assert_eq!(ranking["list"][0], json!(["1.0", 2]));
        assert_eq!(ranking["list"].as_array().map(Vec::len), Some(10));
        assert_eq!(ranking["other"], 2);
        assert_eq!(ranking["unknown"], 0);
    }
}
