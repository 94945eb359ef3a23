-- Each node's newest `system.network_state` (the reputation routes) is found by this index, a
-- look-up a node: without it PostgreSQL read every message stamped in the routes' window to find
-- them, and `max_age_s` is the reader's (a day's partition holds 864 million messages at 10,000
-- nodes). It holds those messages only, which nodes send every few minutes.
CREATE INDEX stream_logs_network_states ON stream_logs (node_id, created_ms)
    WHERE msg = 'system.network_state';
