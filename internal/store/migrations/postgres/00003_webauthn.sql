-- +goose Up
-- The same schema as SQLite's, in PostgreSQL's types (see there).
CREATE TABLE webauthn_credentials (
    device_id          TEXT PRIMARY KEY REFERENCES mfa_devices(id) ON DELETE CASCADE,
    credential_id      BYTEA NOT NULL UNIQUE,
    sign_count         BIGINT NOT NULL DEFAULT 0,
    transports         TEXT NOT NULL DEFAULT '',
    flags_known        BOOLEAN NOT NULL DEFAULT FALSE,
    backup_eligible    BOOLEAN NOT NULL DEFAULT FALSE,
    backup_state       BOOLEAN NOT NULL DEFAULT FALSE,
    user_verified      BOOLEAN NOT NULL DEFAULT FALSE,
    aaguid             BYTEA NOT NULL,
    attestation_format TEXT NOT NULL DEFAULT '',
    attachment         TEXT NOT NULL DEFAULT ''
);

CREATE TABLE webauthn_challenges (
    challenge    TEXT PRIMARY KEY,
    session_hash TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('register', 'login')),
    device_id    TEXT NOT NULL DEFAULT '',
    state        BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX webauthn_challenges_session ON webauthn_challenges(session_hash, created_at);
CREATE INDEX webauthn_challenges_user ON webauthn_challenges(user_id);
CREATE INDEX webauthn_challenges_expires ON webauthn_challenges(expires_at);

-- +goose Down
DROP TABLE webauthn_challenges;
DROP TABLE webauthn_credentials;
