-- Telemetry streams: Substrate and Starknet nodes reporting over WebSocket.

-- One row per node, keyed as the servers key it: Substrate's network_id (peer id) and chain
-- genesis hash; Starknet's peer id (or name) and an empty hash. `state` holds its latest figures
-- (JSON), so listing nodes never reads the logs.
CREATE TABLE stream_nodes (
    id INTEGER PRIMARY KEY,
    peer_id TEXT NOT NULL,
    genesis_hash TEXT NOT NULL,
    format TEXT NOT NULL,
    name TEXT,
    chain TEXT,
    implementation TEXT,
    version TEXT,
    authority INTEGER,
    startup_time_ms INTEGER,
    ip TEXT,
    audit INTEGER NOT NULL,
    connected_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    disconnected_ms INTEGER,
    state TEXT NOT NULL,
    UNIQUE (peer_id, genesis_hash)
);

-- Every message, as the node sent it (JSON), stamped with the server's clock. Rows that came in on
-- /audit are never purged.
CREATE TABLE stream_logs (
    id INTEGER PRIMARY KEY,
    node_id INTEGER NOT NULL REFERENCES stream_nodes (id),
    created_ms INTEGER NOT NULL,
    msg TEXT NOT NULL,
    target TEXT,
    audit INTEGER NOT NULL,
    log TEXT NOT NULL
);
CREATE INDEX stream_logs_by_node ON stream_logs (node_id, created_ms);
CREATE INDEX stream_logs_purgeable ON stream_logs (created_ms) WHERE audit = 0;

-- substrate-analytics' benchmark bookkeeping: the machines benchmarks run on, and the runs.
CREATE TABLE host_systems (
    id INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    os TEXT NOT NULL,
    cpu_qty INTEGER NOT NULL,
    cpu_clock INTEGER NOT NULL,
    ram_mb INTEGER NOT NULL,
    disk_info TEXT NOT NULL
);

CREATE TABLE benchmarks (
    id INTEGER PRIMARY KEY,
    host_system_id INTEGER NOT NULL REFERENCES host_systems (id),
    description TEXT,
    chain_spec TEXT,
    benchmark_spec TEXT,
    ts_start TEXT NOT NULL,
    ts_end TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
