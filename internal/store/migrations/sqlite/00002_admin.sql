-- +goose Up
-- Administrator settings (one JSON document per key: "mfa").
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE audit_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    time            INTEGER NOT NULL,
    name            TEXT NOT NULL,
    result          TEXT NOT NULL,
    actor_id        TEXT NOT NULL DEFAULT '',
    actor_name      TEXT NOT NULL DEFAULT '',
    target_user_id  TEXT NOT NULL DEFAULT '',
    target_username TEXT NOT NULL DEFAULT '',
    source_ip       TEXT NOT NULL DEFAULT '',
    user_agent      TEXT NOT NULL DEFAULT '',
    credential_type TEXT NOT NULL DEFAULT '',
    device_id       TEXT NOT NULL DEFAULT '',
    device_name     TEXT NOT NULL DEFAULT '',
    detail          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_time ON audit_events(time);
CREATE INDEX audit_events_user_time ON audit_events(target_user_id, time);

-- "This is a trusted device": a random token in a cookie, stored hashed.
CREATE TABLE trusted_browsers (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    network    TEXT NOT NULL,
    user_agent TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX trusted_browsers_user ON trusted_browsers(user_id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);

-- One email code per sign-in session, stored hashed.
CREATE TABLE email_codes (
    session_hash TEXT PRIMARY KEY REFERENCES sessions(id_hash) ON DELETE CASCADE ON UPDATE CASCADE,
    code_hash    TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX users_email ON users(email);

-- +goose Down
DROP INDEX users_email;
DROP TABLE email_codes;
DROP TABLE api_tokens;
DROP TABLE trusted_browsers;
DROP TABLE audit_events;
DROP TABLE settings;
