-- Alert state outlives a restart and is one for every instance sharing the database: each rule
-- and subject's alert (held since when, firing, told) and when its firing was last told.
CREATE TABLE alert_state (
    rule TEXT NOT NULL,
    subject TEXT NOT NULL,
    held_since_ms BIGINT,
    firing SMALLINT NOT NULL,
    told SMALLINT NOT NULL,
    detail TEXT NOT NULL,
    last_told_ms BIGINT,
    PRIMARY KEY (rule, subject)
);

-- Which instance evaluates the rules and notifies, until when: one at a time, so each
-- notification is sent once.
CREATE TABLE alert_rounds (
    id SMALLINT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_ms BIGINT NOT NULL
);
INSERT INTO alert_rounds (id, holder, until_ms) VALUES (1, '', 0);
