-- Named captures (the proxy's, or one a user names): one row per capture with its pattern
-- store's bounds and counters; one row per (capture, pattern) holding the pattern's mergeable
-- statistics; and a bounded list of recent co-access windows. Flushes merge into these rows.
CREATE TABLE captures (
    name             TEXT    NOT NULL PRIMARY KEY,
    -- The capture source (`proxy`, …) of the first flush.
    source           TEXT    NOT NULL,
    -- The pattern store's bounds (StoreConfig as JSON), fixed at the first flush.
    store_config     TEXT    NOT NULL,
    events           BIGINT  NOT NULL DEFAULT 0,
    ignored_events   BIGINT  NOT NULL DEFAULT 0,
    evicted_patterns BIGINT  NOT NULL DEFAULT 0,
    evicted_calls    BIGINT  NOT NULL DEFAULT 0,
    -- Events the writers lost before recording them (a full queue), and windows they dropped.
    dropped_events   BIGINT  NOT NULL DEFAULT 0,
    dropped_windows  BIGINT  NOT NULL DEFAULT 0,
    -- Events that had no session, so no co-access window.
    without_session  BIGINT  NOT NULL DEFAULT 0,
    -- The sequence number the next window gets.
    next_window      BIGINT  NOT NULL DEFAULT 0,
    flushes          BIGINT  NOT NULL DEFAULT 0,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL
);

CREATE TABLE capture_patterns (
    capture     TEXT    NOT NULL REFERENCES captures (name) ON DELETE CASCADE,
    -- 16 lowercase hexadecimal digits.
    fingerprint TEXT    COLLATE "C" NOT NULL,
    -- Copied out of `stats` to rank patterns at the bound.
    calls       BIGINT  NOT NULL,
    last_seen   BIGINT  NOT NULL,
    -- The pattern's PatternStats as JSON.
    stats       TEXT    NOT NULL,
    PRIMARY KEY (capture, fingerprint)
);

CREATE TABLE capture_windows (
    capture TEXT    NOT NULL REFERENCES captures (name) ON DELETE CASCADE,
    seq     BIGINT  NOT NULL,
    -- JSON array of the fingerprints of the statements one session ran together.
    items   TEXT    NOT NULL,
    PRIMARY KEY (capture, seq)
);
