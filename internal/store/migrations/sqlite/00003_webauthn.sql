-- +goose Up
-- Security keys and built-in authenticators (WebAuthn). The device itself
-- is a row of mfa_devices (type security_key or built_in); its credential
-- public key is sealed in that row's secret columns like any credential
-- secret. This table holds the rest of the credential record, for active
-- devices only.
CREATE TABLE webauthn_credentials (
    device_id          TEXT PRIMARY KEY REFERENCES mfa_devices(id) ON DELETE CASCADE,
    -- Unique across all users: a credential is registered once.
    credential_id      BLOB NOT NULL UNIQUE,
    sign_count         INTEGER NOT NULL DEFAULT 0,
    -- Comma-separated: usb, nfc, ble, internal, hybrid.
    transports         TEXT NOT NULL DEFAULT '',
    -- 0 for a credential stored before its backup flags were kept: its next
    -- sign-in records them instead of refusing it.
    flags_known        INTEGER NOT NULL DEFAULT 0,
    backup_eligible    INTEGER NOT NULL DEFAULT 0,
    backup_state       INTEGER NOT NULL DEFAULT 0,
    user_verified      INTEGER NOT NULL DEFAULT 0,
    aaguid             BLOB NOT NULL,
    attestation_format TEXT NOT NULL DEFAULT '',
    attachment         TEXT NOT NULL DEFAULT ''
);

-- Ceremonies in progress: single use (deleted when answered), expiring,
-- and bound to the session (by its id hash) that began them.
CREATE TABLE webauthn_challenges (
    challenge    TEXT PRIMARY KEY,
    session_hash TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('register', 'login')),
    device_id    TEXT NOT NULL DEFAULT '',
    state        BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX webauthn_challenges_session ON webauthn_challenges(session_hash, created_at);
CREATE INDEX webauthn_challenges_user ON webauthn_challenges(user_id);
CREATE INDEX webauthn_challenges_expires ON webauthn_challenges(expires_at);

-- +goose Down
DROP TABLE webauthn_challenges;
DROP TABLE webauthn_credentials;
