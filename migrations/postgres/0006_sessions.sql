-- Page sign-ins: a random id (stored as its SHA-256) standing for a key until it expires, is
-- signed out, or its key is removed. The cookie never holds the key itself.
CREATE TABLE sessions (
    id_hash BYTEA PRIMARY KEY,
    key_id BIGINT NOT NULL REFERENCES api_keys (id),
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_ms);
