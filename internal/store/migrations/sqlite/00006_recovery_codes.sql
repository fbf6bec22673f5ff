-- +goose Up
-- Recovery codes: single-use second factors for a user who lost their
-- devices. Only a keyed hash of each code is kept (HMAC-SHA256 under a key
-- sealed in meta "recovery_key"), so a database copy reveals no code.
-- Using a code deletes its row; generating a new set deletes the old one.
CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- +goose Down
DROP TABLE recovery_codes;
