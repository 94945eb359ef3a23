-- The validator view: per watched validator, one row per finished epoch, kept small because there
-- are many (1,000 validators make 225,000 a day): no rowid (the key is the table), the key ordered
-- by epoch so that each report appends, the balance as its offset from the effective balance (a
-- 4-byte integer instead of 6) and the rest packed into one integer (`duty`, see
-- src/serve/store/validator_sql.rs). Proposals and sync-committee duty are rare: tables of their own.
CREATE TABLE validator_chains (
    machine_id BIGINT PRIMARY KEY REFERENCES machines (id),
    genesis_time BIGINT NOT NULL,
    seconds_per_slot BIGINT NOT NULL,
    slots_per_epoch BIGINT NOT NULL,
    last_epoch BIGINT NOT NULL,
    attestations_from TEXT,
    -- The proposals still to come, as the last report knew them (JSON).
    upcoming_proposals TEXT
);
CREATE TABLE validator_epochs (
    machine_id BIGINT NOT NULL,
    epoch BIGINT NOT NULL,
    validator BIGINT NOT NULL,
    balance_offset BIGINT NOT NULL,
    duty BIGINT NOT NULL,
    PRIMARY KEY (machine_id, epoch, validator)
) WITHOUT ROWID;
CREATE TABLE validator_proposals (
    machine_id BIGINT NOT NULL,
    slot BIGINT NOT NULL,
    validator BIGINT NOT NULL,
    block_root TEXT,
    PRIMARY KEY (machine_id, slot)
);
CREATE TABLE validator_sync (
    machine_id BIGINT NOT NULL,
    epoch BIGINT NOT NULL,
    validator BIGINT NOT NULL,
    participated BIGINT,
    missed BIGINT,
    PRIMARY KEY (machine_id, epoch, validator)
);
-- The execution client beside a machine's beacon node: its newest report only.
CREATE TABLE execution_clients (
    machine_id BIGINT PRIMARY KEY REFERENCES machines (id),
    received_ms BIGINT NOT NULL,
    report TEXT NOT NULL
);
