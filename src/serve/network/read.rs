//! The network view's reads of the store that more than one view makes (the chain routes and
//! pages, `/metrics`, the feed), each timed; below the handlers, so that the feed's hub reads
//! them without the server's state.

use crate::serve::metrics::ServeMetrics;
use crate::serve::store::network::{ChainBlock, ChainSummary, Delay};
use crate::serve::store::{Database, StoreError};

use super::measure::{BLOCK_TIME_BLOCKS, propagating};

/// The chain lists hold at most this many chains (those with the most connected nodes): nothing
/// stops keyless senders from naming chains of their own.
pub const MAX_LISTED_CHAINS: usize = 200;

/// A chain's reports since `since_ms`, those catching up left out, and its newest blocks with at
/// least `min_reports` reports.
pub async fn reports_and_blocks<S: Database>(
    store: &S,
    metrics: &ServeMetrics,
    chain: &str,
    min_reports: i64,
    since_ms: i64,
) -> Result<(Vec<Delay>, Vec<ChainBlock>), StoreError> {
    let read_delays = store.delays(chain, None, since_ms);
    let (delays, blocks) = tokio::try_join!(
        metrics.timed("delays", read_delays),
        recent_blocks(store, metrics, chain, min_reports, BLOCK_TIME_BLOCKS),
    )?;
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
