//! A Starknet node (Juno, Pathfinder, Madara, Papyrus) through the JSON-RPC methods every node
//! implements, plus the client's own version method where it has one.
//!
//! The head is read from one block (`latest`), its number and hash with its time and counts: asking
//! the head and then the block separately pairs one block's number with the next one's time when
//! blocks come fast. Which client the node is gets learned once and kept while the node answers.

use serde_json::{Value, json};

use super::{START_TIME, count, number, optional, string, value};
use crate::exposition::Exposition;
use crate::profiles::source::Source;
use crate::rpc::{RpcClient, RpcError};
use crate::snapshot::{BlockRef, ChainNode};

/// Version methods of the clients that have one, and the client each names.
const VERSION_METHODS: [(&str, &str); 2] = [
    ("juno_version", "Juno"),
    ("pathfinder_version", "Pathfinder"),
];

/// What the metrics alone tell.
pub fn from_metrics(metrics: &Exposition) -> ChainNode {
    ChainNode {
        peers: count(
            Some(metrics),
            &Source::FirstOf(vec![
                Source::metric("libp2p_peers"),
                Source::metric("p2p_peers"),
            ]),
        ),
        start_time: value(Some(metrics), &Source::metric(START_TIME)),
        ..ChainNode::default()
    }
}

/// Which client a node is, as its version method said: learned once, since asking a node that has
/// no such method every cycle is a failed call every cycle.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Identity {
    /// `None` for a node with no version method (Madara, Papyrus).
    pub implementation: Option<String>,
    pub version: Option<String>,
}

/// Asks the node; `Err` when the node does not answer at all. `identity` is what an earlier cycle
/// learned of the client; when `None`, it is asked and filled in.
pub async fn observe(
    rpc: &RpcClient,
    metrics: Option<&Exposition>,
    identity: &mut Option<Identity>,
) -> Result<ChainNode, RpcError> {
    let rpc_version = rpc.call("starknet_specVersion", json!([])).await?;
    let chain_id = rpc.call("starknet_chainId", json!([])).await?;
    let block = rpc
        .call(
            "starknet_getBlockWithTxHashes",
            json!({"block_id": "latest"}),
        )
        .await?;
    let known = match identity {
        Some(known) => known,
        None => identity.insert(identify(rpc).await?),
    };
    Ok(ChainNode {
        implementation: known.implementation.clone(),
        version: known.version.clone(),
        rpc_version: string(&rpc_version),
        chain: chain_id.as_str().map(chain_name),
        best: block_ref(&block["block_hash"], &block["block_number"]),
        latest_block_time: number(&block["timestamp"]),
        latest_block_transactions: block["transactions"]
            .as_array()
            .map(|transactions| transactions.len() as u64),
        latest_block_events: number(&block["event_count"]),
        protocol_version: string(&block["starknet_version"]),
        ..metrics.map(from_metrics).unwrap_or_default()
    })
}

/// The client and its version, from the first version method the node has.
async fn identify(rpc: &RpcClient) -> Result<Identity, RpcError> {
    for (method, client) in VERSION_METHODS {
        if let Some(version) = optional(rpc, method).await? {
            return Ok(Identity {
                implementation: Some(client.to_owned()),
                version: string(&version),
            });
        }
    }
    Ok(Identity::default())
}

fn block_ref(hash: &Value, height: &Value) -> Option<BlockRef> {
    Some(BlockRef {
        number: number(height)?,
        hash: string(hash),
    })
}

/// A chain id (a short string encoded as a hex felt: `0x534e5f4d41494e`) as its name (`SN_MAIN`);
/// kept as given when it does not decode to printable ASCII.
pub fn chain_name(chain_id: &str) -> String {
    let decoded = chain_id
        .strip_prefix("0x")
        .filter(|hex| hex.len() % 2 == 0)
        .and_then(|hex| {
            (0..hex.len())
                .step_by(2)
                .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).ok())
                .collect::<Option<Vec<u8>>>()
        })
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|name| !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()));
    decoded.unwrap_or_else(|| chain_id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_names() {
        assert_eq!(chain_name("0x534e5f4d41494e"), "SN_MAIN");
        assert_eq!(chain_name("0x534e5f5345504f4c4941"), "SN_SEPOLIA");
        assert_eq!(chain_name("0x01"), "0x01");
        assert_eq!(chain_name("mainnet"), "mainnet");
    }
}
