-- The network view: which chain each stream node is on, when each block was first seen, and when
-- each node reported it. A node's propagation delay for a block is its report's time minus the
-- block's first sight, read at query time, so that instances sharing the database agree: each
-- writes the earliest sight it knows, and the database keeps the minimum.

-- A Substrate chain's genesis hash; for Starknet, 'starknet:' and the network the node names.
ALTER TABLE stream_nodes ADD COLUMN chain_key TEXT NOT NULL DEFAULT '';
UPDATE stream_nodes SET chain_key = CASE WHEN genesis_hash = '' THEN 'starknet:' || COALESCE(chain, '')
    ELSE genesis_hash END;
CREATE INDEX stream_nodes_by_chain ON stream_nodes (chain_key);
-- What a node's system.connected says of its machine (JSON), for the diversity tables: written
-- when it connects, not with every contact.
ALTER TABLE stream_nodes ADD COLUMN machine TEXT NOT NULL DEFAULT '{}';

-- One row per block, keyed by its hash as well as its height: a node cannot know a block's hash
-- before the block exists, so a node that reports heights early (nothing stops a keyless sender
-- from claiming any chain) only makes blocks of its own, and never moves a real block's first
-- sight. `reports` counts the nodes' reports of it: blocks only one node reported stay out of the
-- chain's figures once the chain has more than one node.
CREATE TABLE stream_blocks (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chain TEXT NOT NULL,
    height BIGINT NOT NULL,
    hash TEXT NOT NULL,
    first_seen_ms BIGINT NOT NULL,
    reports BIGINT NOT NULL,
    UNIQUE (chain, height, hash)
);
CREATE INDEX stream_blocks_by_time ON stream_blocks (chain, first_seen_ms);
CREATE INDEX stream_blocks_purgeable ON stream_blocks (first_seen_ms);

-- One row per node and block it reported as its new best: three integers, keyed by the block
-- first (blocks are written in the order they appear, so rows mostly append, and a block's
-- reports, the window's and the purge's, are one range of the key).
CREATE TABLE stream_block_imports (
    block_id BIGINT NOT NULL,
    node_id BIGINT NOT NULL REFERENCES stream_nodes (id),
    imported_ms BIGINT NOT NULL,
    PRIMARY KEY (block_id, node_id)
);
