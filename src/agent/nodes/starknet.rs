//! A Starknet node (Juno, Pathfinder, Madara, Papyrus) through the JSON-RPC methods every node
//! implements, plus the client's own version method where it has one.
//!
//! The head is read from one block (`latest`), its number and hash with its time and counts: asking
//! the head and then the block separately pairs one block's number with the next one's time when
//! blocks come fast. Which client the node is gets learned once and kept while the node answers.

use std::sync::Mutex;

use serde_json::{Value, json};

use super::{START_TIME, count, optional, quantity, string, value};
use crate::agent::profiles::source::Source;
use crate::agent::rpc::{RpcClient, RpcError};
use crate::wire::exposition::Exposition;
use crate::wire::snapshot::{BlockRef, ChainNode};

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

/// Which client a node is, as its version method said.
#[derive(Debug, Clone, Default, PartialEq)]
struct Identity {
    /// `None` for a node with no version method (Madara, Papyrus).
    implementation: Option<String>,
    version: Option<String>,
}

/// Asks a Starknet node about itself, cycle after cycle. Which client it is gets asked once and
/// kept while the node answers (asking a node without a version method every cycle is a failed
/// call every cycle); after a cycle it did not answer, it is asked again, since a node that went
/// away may come back as another release.
#[derive(Debug, Default)]
pub struct Observer {
    identity: Mutex<Option<Identity>>,
}

impl Observer {
    /// Asks the node; `Err` when it does not answer at all.
    pub async fn observe(
        &self,
        rpc: &RpcClient,
        metrics: Option<&Exposition>,
    ) -> Result<ChainNode, RpcError> {
        let known = self.identity.lock().ok().and_then(|mut known| known.take());
        let observed = observe(rpc, metrics, known).await;
        if let (Ok((_, identity)), Ok(mut known)) = (&observed, self.identity.lock()) {
            *known = Some(identity.clone());
        }
        observed.map(|(node, _)| node)
    }
}

/// One look at the node, with what an earlier one learned of the client (or `None`: ask it).
async fn observe(
    rpc: &RpcClient,
    metrics: Option<&Exposition>,
    identity: Option<Identity>,
) -> Result<(ChainNode, Identity), RpcError> {
    let rpc_version = rpc.call("starknet_specVersion", json!([])).await?;
    let chain_id = rpc.call("starknet_chainId", json!([])).await?;
    let block = rpc
        .call(
            "starknet_getBlockWithTxHashes",
            json!({"block_id": "latest"}),
        )
        .await?;
    let identity = match identity {
        Some(known) => known,
        None => identify(rpc).await?,
    };
    let node = ChainNode {
        implementation: identity.implementation.clone(),
        version: identity.version.clone(),
        rpc_version: string(&rpc_version),
        chain: chain_id.as_str().map(chain_name),
        best: block_ref(&block["block_hash"], &block["block_number"]),
        latest_block_time: quantity(&block["timestamp"]),
        latest_block_transactions: block["transactions"]
            .as_array()
            .map(|transactions| transactions.len() as u64),
        latest_block_events: quantity(&block["event_count"]),
        protocol_version: string(&block["starknet_version"]),
        ..metrics.map(from_metrics).unwrap_or_default()
    };
    Ok((node, identity))
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
        number: quantity(height)?,
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
