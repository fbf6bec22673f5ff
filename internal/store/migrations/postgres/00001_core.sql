-- +goose Up
-- The same schema as SQLite's, in PostgreSQL's types. Times are Unix
-- milliseconds (BIGINT), so both dialects read and compare them alike.
CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    email                TEXT NOT NULL DEFAULT '',
    is_admin             BOOLEAN NOT NULL DEFAULT FALSE,
    disabled             BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash        TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    created_at           BIGINT NOT NULL,
    mfa_version          BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    state        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    mfa_failures INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

CREATE TABLE mfa_devices (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    type          TEXT NOT NULL,
    name          TEXT NOT NULL,
    name_key      TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'active')),
    created_at    BIGINT NOT NULL,
    activated_at  BIGINT,
    last_used_at  BIGINT,
    expires_at    BIGINT,
    secret_key_id TEXT NOT NULL,
    secret_ct     BYTEA NOT NULL,
    last_step     BIGINT NOT NULL DEFAULT -1,
    drift         BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX mfa_devices_user ON mfa_devices(user_id, status);
CREATE INDEX mfa_devices_expires ON mfa_devices(expires_at) WHERE status = 'pending';
CREATE UNIQUE INDEX mfa_devices_active_name ON mfa_devices(user_id, name_key) WHERE status = 'active';

CREATE TABLE throttles (
    key             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at BIGINT NOT NULL,
    locked_until    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

-- +goose Down
DROP TABLE meta;
DROP TABLE throttles;
DROP TABLE mfa_devices;
DROP TABLE sessions;
DROP TABLE users;
