-- Each stream node's merged state once a minute (its first contact in that minute): what the
-- charts read, kept for the whole retention, while the messages themselves are kept for the raw
-- window only.
--
-- Here the messages and the samples are kept in one partition per day (UTC, named by its date),
-- so that the purge drops a day whole instead of deleting its rows one by one; the server makes
-- the coming days' partitions ahead. A row no day's partition takes (written while they could not
-- be made) goes to the default partition, which the purge empties row by row. Messages from
-- /audit, never purged, have a partition of their own.
CREATE TABLE stream_samples (
    node_id BIGINT NOT NULL REFERENCES stream_nodes (id),
    minute_ms BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (node_id, minute_ms)
) PARTITION BY RANGE (minute_ms);
CREATE TABLE stream_samples_default PARTITION OF stream_samples DEFAULT;
CREATE INDEX stream_samples_default_purgeable ON stream_samples_default (minute_ms);

-- stream_logs again, partitioned, its rows copied over and its ids continued. Nothing reads a
-- message by its id alone, so the id needs no index: it orders a node's messages.
ALTER TABLE stream_logs RENAME TO stream_logs_unpartitioned;
CREATE SEQUENCE stream_logs_id AS BIGINT;
SELECT setval('stream_logs_id', COALESCE((SELECT MAX(id) FROM stream_logs_unpartitioned), 0) + 1,
    false);
CREATE TABLE stream_logs (
    id BIGINT NOT NULL DEFAULT nextval('stream_logs_id'),
    node_id BIGINT NOT NULL REFERENCES stream_nodes (id),
    created_ms BIGINT NOT NULL,
    msg TEXT NOT NULL,
    target TEXT,
    audit SMALLINT NOT NULL,
    log TEXT NOT NULL
) PARTITION BY LIST (audit);
ALTER SEQUENCE stream_logs_id OWNED BY stream_logs.id;
CREATE TABLE stream_logs_audit PARTITION OF stream_logs FOR VALUES IN (1);
CREATE TABLE stream_logs_raw PARTITION OF stream_logs FOR VALUES IN (0)
    PARTITION BY RANGE (created_ms);
CREATE TABLE stream_logs_raw_default PARTITION OF stream_logs_raw DEFAULT;
CREATE INDEX stream_logs_raw_default_purgeable ON stream_logs_raw_default (created_ms);

-- A partition for each day the kept messages span, up to a year back (older ones go to the
-- default partition), so that the copy fills the days' partitions rather than the default.
DO $$
DECLARE
    today BIGINT := floor(extract(epoch FROM now()) / 86400);
    first_day BIGINT;
BEGIN
    SELECT MIN(created_ms) / 86400000 INTO first_day
        FROM stream_logs_unpartitioned WHERE audit = 0 AND created_ms <= (today + 1) * 86400000;
    IF first_day IS NOT NULL THEN
        first_day := greatest(first_day, today - 366);
        -- A FOR loop counts in integers: the bounds are computed in BIGINT.
        FOR day IN first_day .. today LOOP
            EXECUTE format('CREATE TABLE %I PARTITION OF stream_logs_raw FOR VALUES FROM (%s) TO (%s)',
                'stream_logs_raw_' || to_char(to_timestamp(day::BIGINT * 86400) AT TIME ZONE 'UTC',
                    'YYYYMMDD'),
                day::BIGINT * 86400000, (day::BIGINT + 1) * 86400000);
        END LOOP;
    END IF;
END $$;
INSERT INTO stream_logs (id, node_id, created_ms, msg, target, audit, log)
    SELECT id, node_id, created_ms, msg, target, audit, log FROM stream_logs_unpartitioned;
DROP TABLE stream_logs_unpartitioned;
CREATE INDEX stream_logs_by_node ON stream_logs (node_id, created_ms);
