//! The network view's reads over SQL, one text for both databases as in `sql.rs`. Delays are
//! computed here, from each node's report and the block's first sight, so that they are right
//! whichever instance saw what first.

use super::StoreError;
use super::network::{ChainBlock, ChainNode, ChainSummary, Delay, NetworkStore};
use super::rows::{BlockRow, ChainNodeRow, ChainRow, DelayRow, read, read_all};
use super::sql::SqlStore;
use super::stream_sql::NODE_COLUMNS;

/// A chain's name and node counts, grouped by chain.
const CHAIN_SUMMARY: &str = "SELECT chain_key AS chain, MAX(chain) AS name, COUNT(*) AS nodes, \
     SUM(CASE WHEN disconnected_ms IS NULL THEN 1 ELSE 0 END) AS connected FROM stream_nodes";

impl NetworkStore for SqlStore {
    async fn chains(&self) -> Result<Vec<ChainSummary>, StoreError> {
        let rows = read(&format!(
            "{CHAIN_SUMMARY} GROUP BY chain_key ORDER BY connected DESC, chain_key"
        ))
        .fetch_all(self.pool())
        .await?;
        read_all::<ChainRow, ChainSummary>(&rows)
    }

    async fn chain(&self, chain: &str) -> Result<Option<ChainSummary>, StoreError> {
        let rows = read(&format!(
            "{CHAIN_SUMMARY} WHERE chain_key = $1 GROUP BY chain_key"
        ))
        .bind(chain.to_owned())
        .fetch_all(self.pool())
        .await?;
        Ok(read_all::<ChainRow, ChainSummary>(&rows)?.pop())
    }

    async fn chain_nodes(&self, chain: &str) -> Result<Vec<ChainNode>, StoreError> {
        let rows = read(&format!(
            "SELECT id, {NODE_COLUMNS} FROM stream_nodes WHERE chain_key = $1 ORDER BY id"
        ))
        .bind(chain.to_owned())
        .fetch_all(self.pool())
        .await?;
        read_all::<ChainNodeRow, ChainNode>(&rows)
    }

    async fn delays(
        &self,
        chain: &str,
        peer_id: Option<&str>,
        since_ms: i64,
    ) -> Result<Vec<Delay>, StoreError> {
        // The window's blocks by their time, then each block's reports by their key.
        let rows = read(
            "SELECT i.node_id, b.height, b.hash, i.imported_ms, \
             i.imported_ms - b.first_seen_ms AS delay_ms, b.reports FROM stream_blocks b \
             JOIN stream_block_imports i ON i.block_id = b.id \
             JOIN stream_nodes n ON n.id = i.node_id \
             WHERE b.chain = $1 AND b.first_seen_ms >= $2 \
             AND ($3 IS NULL OR n.peer_id = $3) ORDER BY i.node_id, b.height",
        )
        .bind(chain.to_owned())
        .bind(since_ms)
        .bind(peer_id.map(str::to_owned))
        .fetch_all(self.pool())
        .await?;
        read_all::<DelayRow, Delay>(&rows)
    }

    async fn recent_blocks(
        &self,
        chain: &str,
        min_reports: i64,
        limit: u32,
    ) -> Result<Vec<ChainBlock>, StoreError> {
        let rows = read(
            "SELECT height, hash, first_seen_ms, reports FROM stream_blocks \
             WHERE chain = $1 AND reports >= $2 ORDER BY height DESC, first_seen_ms LIMIT $3",
        )
        .bind(chain.to_owned())
        .bind(min_reports)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        read_all::<BlockRow, ChainBlock>(&rows)
    }
}
