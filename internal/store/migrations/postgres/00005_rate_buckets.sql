-- +goose Up
-- Per-source-address token buckets (throttle.Buckets): one row per address
-- (or IPv6 /64), shared by every node. tokens is refilled lazily from
-- updated_at (Unix ms) at each take; limited_since is when the bucket ran
-- dry (0 while it has tokens), so each exhaustion is audited once.
CREATE TABLE rate_buckets (
    key           TEXT PRIMARY KEY,
    tokens        DOUBLE PRECISION NOT NULL,
    updated_at    BIGINT NOT NULL,
    limited_since BIGINT NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE rate_buckets;
