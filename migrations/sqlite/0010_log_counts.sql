-- How many messages of each kind this file keeps, by day (UTC, days since 1970-01-01) and by
-- whether they came through /audit: what `/nodes/log_stats` of every node and `/stats/db` read,
-- instead of counting every kept message per request. Each hour's file of messages has its own
-- (`sqlite.rs`), which goes with the file. A batch adds its messages in the transaction that
-- writes them, a purge takes off the rows it deletes in its. `counter` is PostgreSQL's, where
-- instances add to rows of their own; here it is 0.
CREATE TABLE stream_log_counts (
    day INTEGER NOT NULL,
    audit INTEGER NOT NULL,
    msg TEXT NOT NULL,
    counter INTEGER NOT NULL,
    qty INTEGER NOT NULL,
    PRIMARY KEY (day, audit, msg, counter)
) WITHOUT ROWID;
INSERT INTO stream_log_counts (day, audit, msg, counter, qty)
    SELECT created_ms / 86400000, audit, msg, 0, COUNT(*) FROM stream_logs GROUP BY 1, 2, 3;
