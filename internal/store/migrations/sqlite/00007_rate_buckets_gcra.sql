-- +goose Up
-- Source-address buckets become one time each (throttle.Bucket, the
-- generic cell rate algorithm), so a take is one statement. The old rows
-- are only counters that refill within a minute: dropping them forgets at
-- most a minute of limiting.
DROP TABLE rate_buckets;
CREATE TABLE rate_buckets (
    key     TEXT PRIMARY KEY,
    tat     INTEGER NOT NULL, -- Unix ms; the bucket is full when tat <= now
    refused INTEGER NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE rate_buckets;
CREATE TABLE rate_buckets (
    key           TEXT PRIMARY KEY,
    tokens        REAL NOT NULL,
    updated_at    INTEGER NOT NULL,
    limited_since INTEGER NOT NULL DEFAULT 0
);
