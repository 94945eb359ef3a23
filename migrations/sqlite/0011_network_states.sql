-- Each node's newest `system.network_state` (the reputation routes) is found by this index, of
-- those messages only (nodes send one every few minutes), not by reading every message stamped in
-- the routes' window. Each hour's file of messages has the same (`sqlite.rs`).
CREATE INDEX stream_logs_network_states ON stream_logs (node_id, id)
    WHERE msg = 'system.network_state';
