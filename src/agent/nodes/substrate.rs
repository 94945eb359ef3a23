//! A Substrate node through its JSON-RPC (`system_*`, `chain_*`) and its Prometheus metrics.
//!
//! Heights and hashes are read so that they always agree: the hash first, then the header of that
//! very hash. Without JSON-RPC, the heights come from `substrate_block_height` (and then there are
//! no hashes).

use serde_json::{Value, json};

use super::{START_TIME, count, quantity, string, value};
use crate::agent::profiles::source::Source;
use crate::agent::rpc::{RpcClient, RpcError};
use crate::wire::exposition::Exposition;
use crate::wire::snapshot::{BlockRef, ChainNode};

/// What the metrics alone tell.
pub fn from_metrics(metrics: &Exposition) -> ChainNode {
    let metrics = Some(metrics);
    let height = |status| {
        let source = Source::metric_where("substrate_block_height", "status", status);
        count(metrics, &source)
    };
    let bytes = |direction| {
        let total = "substrate_sub_libp2p_network_bytes_total";
        value(metrics, &Source::sum_where(total, "direction", direction))
    };
    let start = Source::FirstOf(vec![
        Source::metric("substrate_process_start_time_seconds"),
        Source::metric(START_TIME),
    ]);
    let build = metrics.and_then(|m| m.samples("substrate_build_info").next());
    ChainNode {
        implementation: build.and_then(|info| info.label("name")).map(str::to_owned),
        version: build
            .and_then(|info| info.label("version"))
            .map(str::to_owned),
        chain: build
            .and_then(|info| info.label("chain"))
            .map(str::to_owned),
        peers: count(metrics, &Source::metric("substrate_sub_libp2p_peers_count")),
        ready_transactions: count(
            metrics,
            &Source::metric("substrate_ready_transactions_number"),
        ),
        network_bytes_received: bytes("in"),
        network_bytes_sent: bytes("out"),
        start_time: value(metrics, &start),
        // Heights without hashes: only the interval message can use them.
        best: height("best").map(|number| BlockRef { number, hash: None }),
        finalized: height("finalized").map(|number| BlockRef { number, hash: None }),
        ..ChainNode::default()
    }
}

/// Asks the node, and fills what JSON-RPC lacks from the metrics; `Err` when it does not answer.
pub async fn observe(rpc: &RpcClient, metrics: Option<&Exposition>) -> Result<ChainNode, RpcError> {
    let mut node = metrics.map(from_metrics).unwrap_or_default();
    node.chain = string(&rpc.call("system_chain", json!([])).await?);
    node.implementation = string(&rpc.call("system_name", json!([])).await?);
    node.version = string(&rpc.call("system_version", json!([])).await?);
    node.genesis_hash = string(&rpc.call("chain_getBlockHash", json!([0])).await?);
    node.peer_id = string(&rpc.call("system_localPeerId", json!([])).await?);
    let roles = rpc.call("system_nodeRoles", json!([])).await?;
    node.authority = roles
        .as_array()
        .map(|roles| roles.iter().any(|role| role == "Authority"));
    let best_hash = rpc.call("chain_getBlockHash", json!([])).await?;
    node.best = header_of(rpc, &best_hash).await?;
    let finalized_hash = rpc.call("chain_getFinalizedHead", json!([])).await?;
    node.finalized = header_of(rpc, &finalized_hash).await?;
    let health = rpc.call("system_health", json!([])).await?;
    if let Some(peers) = health.get("peers").and_then(quantity) {
        node.peers = Some(peers);
    }
    Ok(node)
}

/// The block `hash` with the number from its own header.
async fn header_of(rpc: &RpcClient, hash: &Value) -> Result<Option<BlockRef>, RpcError> {
    let Some(hash) = string(hash) else {
        return Ok(None);
    };
    let header = rpc.call("chain_getHeader", json!([hash])).await?;
    Ok(quantity(&header["number"]).map(|number| BlockRef {
        number,
        hash: Some(hash),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The metrics give heights but no hashes: none is invented.
    #[test]
    fn metrics_alone_give_heights_without_hashes() {
        let body = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/substrate/node.prom"
        ))
        .expect("fixture");
        let node = from_metrics(&Exposition::parse(body.as_slice()).expect("parses"));
        let best = node.best.expect("the best height");
        let finalized = node.finalized.expect("the finalized height");
        assert_eq!((best.number, best.hash), (22_061_040, None));
        assert_eq!((finalized.number, finalized.hash), (22_061_038, None));
        assert_eq!(node.genesis_hash, None);
    }
}
