-- +goose Up
-- Times are Unix milliseconds (UTC by construction): the same in every
-- dialect and time zone.
CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    email                TEXT NOT NULL DEFAULT '',
    is_admin             INTEGER NOT NULL DEFAULT 0,
    disabled             INTEGER NOT NULL DEFAULT 0,
    password_hash        TEXT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    -- Bumped by every device change: taking the row lock serialises
    -- changes to one user's devices (limits, names, last device).
    mfa_version          INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    state        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
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
    created_at    INTEGER NOT NULL,
    activated_at  INTEGER,
    last_used_at  INTEGER,
    expires_at    INTEGER,
    secret_key_id TEXT NOT NULL,
    secret_ct     BLOB NOT NULL,
    last_step     INTEGER NOT NULL DEFAULT -1,
    drift         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mfa_devices_user ON mfa_devices(user_id, status);
CREATE INDEX mfa_devices_expires ON mfa_devices(expires_at) WHERE status = 'pending';
CREATE UNIQUE INDEX mfa_devices_active_name ON mfa_devices(user_id, name_key) WHERE status = 'active';

CREATE TABLE throttles (
    key             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL,
    locked_until    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

-- +goose Down
DROP TABLE meta;
DROP TABLE throttles;
DROP TABLE mfa_devices;
DROP TABLE sessions;
DROP TABLE users;
