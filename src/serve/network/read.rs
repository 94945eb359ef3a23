//! The network view's reads of the store that more than one view makes (the chain routes and
//! pages, `/metrics`, the feed), each timed; below the handlers, so that the feed's hub reads
//! them without the server's state.

use crate::serve::metrics::ServeMetrics;
use crate::serve::store::network::{ChainBlock, ChainNode, ChainSummary, Delay};
use crate::serve::store::{Database, StoreError};

use super::measure::{BLOCK_TIME_BLOCKS, propagating};

/// The chain lists hold at most this many chains (those with the most connected nodes): nothing
/// stops keyless senders from naming chains of their own.
pub const MAX_LISTED_CHAINS: usize = 200;

/// What the chain answer, its page and the feed read of one chain.
pub struct ChainReads {
    pub summary: ChainSummary,
    pub nodes: Vec<ChainNode>,
    /// Since the `since_ms` asked for, those catching up left out.
    pub delays: Vec<Delay>,
    /// The newest, highest first, with the reports the chain's figures need.
    pub blocks: Vec<ChainBlock>,
    pub min_reports: i64,
}

/// `chain`'s summary, reports since `since_ms`, newest blocks and nodes; `None` when no node is on
/// it. The nodes are read last: a node is written no later than its reports, so every report read
/// has its node among them.
pub async fn chain_reads<S: Database>(
    store: &S,
    metrics: &ServeMetrics,
    chain: &str,
    since_ms: i64,
) -> Result<Option<ChainReads>, StoreError> {
    let Some(summary) = metrics.timed("chain", store.chain(chain)).await? else {
        return Ok(None);
    };
    let min_reports = summary.corroborating_reports();
    let (delays, blocks) = reports_and_blocks(store, metrics, chain, min_reports, since_ms).await?;
    let nodes = metrics
        .timed("chain_nodes", store.chain_nodes(chain))
        .await?;
    Ok(Some(ChainReads {
        summary,
        nodes,
        delays,
        blocks,
        min_reports,
    }))
}

/// A chain's reports since `since_ms`, those catching up left out, and its newest blocks with at
/// least `min_reports` reports.
pub async fn reports_and_blocks<S: Database>(
    store: &S,
    metrics: &ServeMetrics,
    chain: &str,
    min_reports: i64,
    since_ms: i64,
) -> Result<(Vec<Delay>, Vec<ChainBlock>), StoreError> {
    // One after the other, the blocks last: a report read is of a block whose count of reports
    // (written in the same transaction) the second read sees too, so a block reported by enough
    // nodes never shows among the reports and not among the blocks.
    let delays = metrics
        .timed("delays", store.delays(chain, None, since_ms))
        .await?;
    let blocks = recent_blocks(store, metrics, chain, min_reports, BLOCK_TIME_BLOCKS).await?;
    Ok((propagating(delays), blocks))
}

/// The chain's highest `limit` blocks with at least `min_reports` reports, highest first.
pub async fn recent_blocks<S: Database>(
    store: &S,
    metrics: &ServeMetrics,
    chain: &str,
    min_reports: i64,
    limit: u32,
) -> Result<Vec<ChainBlock>, StoreError> {
    metrics
        .timed(
            "recent_blocks",
            store.recent_blocks(chain, min_reports, limit),
        )
        .await
}

/// The chains, those with the most connected nodes first (at most `MAX_LISTED_CHAINS`), each with
/// its best block (`ChainSummary::corroborating_reports`).
pub async fn chains_with_best<S: Database>(
    store: &S,
    metrics: &ServeMetrics,
) -> Result<Vec<(ChainSummary, Option<ChainBlock>)>, StoreError> {
    let chains = metrics.timed("chains", store.chains()).await?;
    let mut listed = Vec::new();
    for summary in chains.into_iter().take(MAX_LISTED_CHAINS) {
        let min_reports = summary.corroborating_reports();
        let best = recent_blocks(store, metrics, &summary.chain, min_reports, 1).await?;
        listed.push((summary, best.into_iter().next()));
    }
    Ok(listed)
}
