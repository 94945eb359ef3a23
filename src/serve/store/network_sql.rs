//! The network view's reads over SQL, one text for both databases as in `sql.rs`. Delays are
//! computed here, from each node's report and the block's first sight, so that they are right
//! whichever instance saw what first.

use super::StoreError;
use super::network::{ChainBlock, ChainNode, ChainSummary, Delay, NetworkStore};
use super::rows::{BlockRow, ChainNodeRow, ChainRow, DelayRow, read_all};
use super::sql::SqlStore;
use super::stream_sql::NODE_COLUMNS;

impl NetworkStore for SqlStore {
    async fn chains(&self) -> Result<Vec<ChainSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT n.chain_key AS chain, MAX(n.chain) AS name, COUNT(*) AS nodes, \
             SUM(CASE WHEN n.disconnected_ms IS NULL THEN 1 ELSE 0 END) AS connected, \
             b.height, b.hash, b.first_seen_ms FROM stream_nodes n \
             LEFT JOIN stream_blocks b ON b.chain = n.chain_key AND b.height = \
             (SELECT MAX(x.height) FROM stream_blocks x WHERE x.chain = n.chain_key) \
             GROUP BY n.chain_key, b.height, b.hash, b.first_seen_ms ORDER BY n.chain_key",
        )
        .fetch_all(self.pool())
        .await?;
        read_all::<ChainRow, ChainSummary>(&rows)
    }

    async fn chain_nodes(&self, chain: &str) -> Result<Vec<ChainNode>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT id, {NODE_COLUMNS} FROM stream_nodes WHERE chain_key = $1 ORDER BY id"
        ))
        .bind(chain.to_owned())
        .fetch_all(self.pool())
        .await?;
        read_all::<ChainNodeRow, ChainNode>(&rows)
    }

    async fn delays(&self, chain: &str, since_ms: i64) -> Result<Vec<Delay>, StoreError> {
        // Each node's reports are read by their key from the window's lowest height on.
        let rows = sqlx::query(
            "SELECT i.node_id, i.height, i.imported_ms, \
             i.imported_ms - b.first_seen_ms AS delay_ms FROM stream_nodes n \
             JOIN stream_block_imports i ON i.node_id = n.id \
             JOIN stream_blocks b ON b.chain = n.chain_key AND b.height = i.height \
             WHERE n.chain_key = $1 AND b.first_seen_ms >= $2 AND i.height >= \
             (SELECT MIN(x.height) FROM stream_blocks x WHERE x.chain = $1 AND x.first_seen_ms >= $2) \
             ORDER BY i.node_id, i.height",
        )
        .bind(chain.to_owned())
        .bind(since_ms)
        .fetch_all(self.pool())
        .await?;
        read_all::<DelayRow, Delay>(&rows)
    }

    async fn recent_blocks(&self, chain: &str, limit: u32) -> Result<Vec<ChainBlock>, StoreError> {
        let rows = sqlx::query(
            "SELECT height, hash, first_seen_ms FROM stream_blocks WHERE chain = $1 \
             ORDER BY height DESC LIMIT $2",
        )
        .bind(chain.to_owned())
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        read_all::<BlockRow, ChainBlock>(&rows)
    }
}
