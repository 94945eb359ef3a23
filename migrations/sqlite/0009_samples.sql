-- Each stream node's merged state once a minute (its first contact in that minute): what the
-- charts read, kept for the whole retention, while the messages themselves are kept for the raw
-- window only. A row is about a tenth of a minute's messages at one a second.
CREATE TABLE stream_samples (
    node_id INTEGER NOT NULL REFERENCES stream_nodes (id),
    minute_ms INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (node_id, minute_ms)
) WITHOUT ROWID;
CREATE INDEX stream_samples_purgeable ON stream_samples (minute_ms);
