-- How many messages of each kind are kept, by day (UTC, days since 1970-01-01) and by whether they
-- came through /audit: what `/nodes/log_stats` of every node and `/stats/db` read, instead of
-- counting every kept message per request (a 48 h raw window of 10,000 nodes holds 1.7 billion).
-- A batch adds its messages in its own transaction, a purge takes off the rows it deletes in its,
-- and a day's counts go once its partition has been dropped. Each instance adds to rows of its own
-- `counter` (a number it picks at start), so that instances on one database never wait on each
-- other's rows; a count is the sum over them.
CREATE TABLE stream_log_counts (
    day BIGINT NOT NULL,
    audit SMALLINT NOT NULL,
    msg TEXT NOT NULL,
    counter SMALLINT NOT NULL,
    qty BIGINT NOT NULL,
    PRIMARY KEY (day, audit, msg, counter)
);
INSERT INTO stream_log_counts (day, audit, msg, counter, qty)
    SELECT floor(created_ms / 86400000.0)::BIGINT, audit, msg, 0, COUNT(*) FROM stream_logs
    GROUP BY 1, 2, 3;
