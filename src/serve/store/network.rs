//! What the network view reads: the chains the stream nodes are on, their nodes, their blocks' first
//! sights and each node's delay behind them. Written by the stream ingest (`StreamStore`); a trait
//! of its own for the reads, implemented by the same `SqlStore`.

use std::future::Future;

use super::StoreError;
use super::streams::StreamNode;

/// A chain as the overview lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainSummary {
    /// `streams::chain_key`: a genesis hash, or `starknet:NETWORK`.
    pub chain: String,
    /// A name its nodes give it (the greatest, so that the answer is stable).
    pub name: Option<String>,
    pub nodes: i64,
    pub connected: i64,
}

impl ChainSummary {
    /// How many nodes must have reported a block for it to count in the chain's figures: two
    /// once the chain has more than one node, so that a node reporting blocks of its own (a
    /// fork, or made up) does not move them.
    pub fn corroborating_reports(&self) -> i64 {
        self.nodes.min(2)
    }
}

/// A block of a chain, when any node first reported it, and how many reports it had.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainBlock {
    pub height: i64,
    pub hash: String,
    pub first_seen_ms: i64,
    pub reports: i64,
}

/// A node on a chain, with its id (what `Delay` names it by).
#[derive(Debug, Clone, PartialEq)]
pub struct ChainNode {
    pub id: i64,
    pub node: StreamNode,
}

/// How long after the block's first sight a node reported it as its best, and how many reports
/// the block had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delay {
    pub node_id: i64,
    pub height: i64,
    pub hash: String,
    pub imported_ms: i64,
    pub delay_ms: i64,
    pub reports: i64,
}

#[cfg(test)]
impl Delay {
    /// A report of the block at `height` (its hash made of the height), for the figures' tests.
    pub fn of_height(
        node_id: i64,
        height: i64,
        imported_ms: i64,
        delay_ms: i64,
        reports: i64,
    ) -> Delay {
        Delay {
            node_id,
            height,
            hash: format!("0x{height:064x}"),
            imported_ms,
            delay_ms,
            reports,
        }
    }
}

pub trait NetworkStore: Send + Sync + 'static {
    /// Every chain, those with the most connected nodes first.
    fn chains(&self) -> impl Future<Output = Result<Vec<ChainSummary>, StoreError>> + Send;
    /// One chain; `None` when no node is on it.
    fn chain(
        &self,
        chain: &str,
    ) -> impl Future<Output = Result<Option<ChainSummary>, StoreError>> + Send;
    fn chain_nodes(
        &self,
        chain: &str,
    ) -> impl Future<Output = Result<Vec<ChainNode>, StoreError>> + Send;
    /// Every node's delay (or only that of the node with `peer_id`) for the chain's blocks first
    /// seen at or after `since_ms`.
    fn delays(
        &self,
        chain: &str,
        peer_id: Option<&str>,
        since_ms: i64,
    ) -> impl Future<Output = Result<Vec<Delay>, StoreError>> + Send;
    /// The chain's highest `limit` blocks with at least `min_reports` reports, highest first.
    fn recent_blocks(
        &self,
        chain: &str,
        min_reports: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ChainBlock>, StoreError>> + Send;
}
