-- Client-stats: API keys, the machines each key reports, and one row per accepted object.
-- Keep the column list of `stats` in step with src/formats/client_stats/fields.rs (a test compares).

-- Keys are stored as SHA-256 of the key; a removed key keeps its row (its machines point at it)
-- until retention has purged its data.
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash BLOB NOT NULL UNIQUE,
    admin INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    last_used_ms INTEGER,
    removed_ms INTEGER
);
CREATE UNIQUE INDEX api_keys_active_name ON api_keys (name) WHERE removed_ms IS NULL;

CREATE TABLE machines (
    id INTEGER PRIMARY KEY,
    key_id INTEGER NOT NULL REFERENCES api_keys (id),
    name TEXT NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    UNIQUE (key_id, name)
);

-- The primary key is the receiver's rule: one object per machine and process per wall-clock
-- minute, held by the database across every `serve` instance that shares it.
CREATE TABLE stats (
    machine_id INTEGER NOT NULL REFERENCES machines (id),
    process INTEGER NOT NULL,
    minute INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    version INTEGER NOT NULL,
    timestamp_ms INTEGER,
    cpu_process_seconds_total INTEGER,
    memory_process_bytes INTEGER,
    client_name TEXT,
    client_version TEXT,
    client_build INTEGER,
    sync_eth1_fallback_configured INTEGER,
    sync_eth1_fallback_connected INTEGER,
    sync_eth2_fallback_configured INTEGER,
    sync_eth2_fallback_connected INTEGER,
    disk_beaconchain_bytes_total INTEGER,
    network_libp2p_bytes_total_receive INTEGER,
    network_libp2p_bytes_total_transmit INTEGER,
    network_peers_connected INTEGER,
    sync_eth1_connected INTEGER,
    sync_eth2_synced INTEGER,
    sync_beacon_head_slot INTEGER,
    validator_total INTEGER,
    validator_active INTEGER,
    cpu_cores INTEGER,
    cpu_threads INTEGER,
    cpu_node_system_seconds_total INTEGER,
    cpu_node_user_seconds_total INTEGER,
    cpu_node_iowait_seconds_total INTEGER,
    cpu_node_idle_seconds_total INTEGER,
    memory_node_bytes_total INTEGER,
    memory_node_bytes_free INTEGER,
    memory_node_bytes_cached INTEGER,
    memory_node_bytes_buffers INTEGER,
    disk_node_bytes_total INTEGER,
    disk_node_bytes_free INTEGER,
    disk_node_io_seconds INTEGER,
    disk_node_reads_total INTEGER,
    disk_node_writes_total INTEGER,
    network_node_bytes_total_receive INTEGER,
    network_node_bytes_total_transmit INTEGER,
    misc_node_boot_ts_seconds INTEGER,
    misc_os TEXT,
    PRIMARY KEY (machine_id, process, minute)
) WITHOUT ROWID;

-- Newest first across machines (beaconcha.in's user/stats) and retention by age walk this index
-- instead of the whole table.
CREATE INDEX stats_by_minute ON stats (process, minute);

-- The newest object of each machine and process, as queries answer it (JSON): the machines list
-- reads this, never the history, so it costs the same with a day of objects or a month.
CREATE TABLE latest (
    machine_id INTEGER NOT NULL REFERENCES machines (id),
    process INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    object TEXT NOT NULL,
    PRIMARY KEY (machine_id, process)
);
