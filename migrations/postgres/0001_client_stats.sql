-- Client-stats: API keys, the machines each key reports, and one row per accepted object.
-- Keep the column list of `stats` in step with src/formats/client_stats/fields.rs (a test compares).

-- Keys are stored as SHA-256 of the key; a removed key keeps its row (its machines point at it)
-- until retention has purged its data.
CREATE TABLE api_keys (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash BYTEA NOT NULL UNIQUE,
    admin SMALLINT NOT NULL,
    created_ms BIGINT NOT NULL,
    last_used_ms BIGINT,
    removed_ms BIGINT
);
CREATE UNIQUE INDEX api_keys_active_name ON api_keys (name) WHERE removed_ms IS NULL;

CREATE TABLE machines (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_id BIGINT NOT NULL REFERENCES api_keys (id),
    name TEXT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    UNIQUE (key_id, name)
);

-- The primary key is the receiver's rule: one object per machine and process per wall-clock
-- minute, held by the database across every `serve` instance that shares it.
CREATE TABLE stats (
    machine_id BIGINT NOT NULL REFERENCES machines (id),
    process SMALLINT NOT NULL,
    minute BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    version SMALLINT NOT NULL,
    timestamp_ms BIGINT,
    cpu_process_seconds_total BIGINT,
    memory_process_bytes BIGINT,
    client_name TEXT,
    client_version TEXT,
    client_build BIGINT,
    sync_eth1_fallback_configured SMALLINT,
    sync_eth1_fallback_connected SMALLINT,
    sync_eth2_fallback_configured SMALLINT,
    sync_eth2_fallback_connected SMALLINT,
    disk_beaconchain_bytes_total BIGINT,
    network_libp2p_bytes_total_receive BIGINT,
    network_libp2p_bytes_total_transmit BIGINT,
    network_peers_connected BIGINT,
    sync_eth1_connected SMALLINT,
    sync_eth2_synced SMALLINT,
    sync_beacon_head_slot BIGINT,
    validator_total BIGINT,
    validator_active BIGINT,
    cpu_cores BIGINT,
    cpu_threads BIGINT,
    cpu_node_system_seconds_total BIGINT,
    cpu_node_user_seconds_total BIGINT,
    cpu_node_iowait_seconds_total BIGINT,
    cpu_node_idle_seconds_total BIGINT,
    memory_node_bytes_total BIGINT,
    memory_node_bytes_free BIGINT,
    memory_node_bytes_cached BIGINT,
    memory_node_bytes_buffers BIGINT,
    disk_node_bytes_total BIGINT,
    disk_node_bytes_free BIGINT,
    disk_node_io_seconds BIGINT,
    disk_node_reads_total BIGINT,
    disk_node_writes_total BIGINT,
    network_node_bytes_total_receive BIGINT,
    network_node_bytes_total_transmit BIGINT,
    misc_node_boot_ts_seconds BIGINT,
    misc_os TEXT,
    PRIMARY KEY (machine_id, process, minute)
);

-- Newest first across machines (beaconcha.in's user/stats) and retention by age walk this index
-- instead of the whole table.
CREATE INDEX stats_by_minute ON stats (process, minute);

-- The newest object of each machine and process, as queries answer it (JSON): the machines list
-- reads this, never the history, so it costs the same with a day of objects or a month.
CREATE TABLE latest (
    machine_id BIGINT NOT NULL REFERENCES machines (id),
    process SMALLINT NOT NULL,
    received_ms BIGINT NOT NULL,
    object TEXT NOT NULL,
    PRIMARY KEY (machine_id, process)
);
