package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"gatehouse/internal/mfa"
	"gatehouse/internal/passkey"
)

// The WebAuthn half of mfa's storage: credentials beside their devices, and
// ceremonies in progress (see migrations/*/00003_webauthn.sql).

const challengeColumns = `challenge, session_hash, user_id, kind, device_id, state, created_at, expires_at`

// PutChallenge implements mfa.WebAuthnStore.
func (s *DB) PutChallenge(ctx context.Context, ch mfa.Challenge, now time.Time) error {
	return s.tx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `DELETE FROM webauthn_challenges WHERE user_id = ? AND expires_at <= ?`, ch.UserID, ms(now)); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `INSERT INTO webauthn_challenges (`+challengeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			ch.Challenge, ch.SessionHash, ch.UserID, string(ch.Kind), ch.DeviceID, nonNil(ch.State), ms(ch.CreatedAt), ms(ch.ExpiresAt)); err != nil {
			return err
		}
		_, err := c.exec(ctx, `DELETE FROM webauthn_challenges WHERE session_hash = ? AND challenge NOT IN (
			SELECT challenge FROM webauthn_challenges WHERE session_hash = ? ORDER BY created_at DESC, challenge LIMIT ?)`,
			ch.SessionHash, ch.SessionHash, mfa.MaxOpenChallenges)
		return err
	})
}

// TakeChallenge implements mfa.WebAuthnStore: one DELETE … RETURNING, so of
// two requests with one answer, on one node or two, exactly one gets it.
func (s *DB) TakeChallenge(ctx context.Context, sessionHash, challenge string, kind mfa.ChallengeKind) (mfa.Challenge, error) {
	var ch mfa.Challenge
	var k string
	var created, expires int64
	err := s.w().row(ctx, `DELETE FROM webauthn_challenges WHERE challenge = ? AND session_hash = ? AND kind = ? RETURNING `+challengeColumns,
		challenge, sessionHash, string(kind)).Scan(&ch.Challenge, &ch.SessionHash, &ch.UserID, &k, &ch.DeviceID, &ch.State, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return mfa.Challenge{}, mfa.ErrNotFound
	} else if err != nil {
		return mfa.Challenge{}, err
	}
	ch.Kind, ch.CreatedAt, ch.ExpiresAt = mfa.ChallengeKind(k), fromMS(created), fromMS(expires)
	return ch, nil
}

// WebAuthnCredentials implements mfa.WebAuthnStore.
func (s *DB) WebAuthnCredentials(ctx context.Context, userID string) ([]mfa.WebAuthnCredential, error) {
	rows, err := s.c().query(ctx, `SELECT `+prefixed("d.", deviceColumns)+`, w.credential_id, w.sign_count, w.transports, w.flags_known,
		w.backup_eligible, w.backup_state, w.user_verified, w.aaguid, w.attestation_format, w.attachment
		FROM mfa_devices d JOIN webauthn_credentials w ON w.device_id = d.id
		WHERE d.user_id = ? AND d.status = 'active' ORDER BY d.activated_at, d.id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []mfa.WebAuthnCredential
	for rows.Next() {
		var wc mfa.WebAuthnCredential
		var typ, status, transports string
		var created int64
		var activated, used, expires sql.NullInt64
		var count int64
		d, cr := &wc.Device, &wc.Credential
		if err := rows.Scan(&d.ID, &d.UserID, &typ, &d.Name, &d.NameKey, &status, &created, &activated, &used, &expires,
			&d.SecretKeyID, &d.SecretCT, &d.LastStep, &d.Drift,
			&cr.ID, &count, &transports, &cr.FlagsKnown, &cr.BackupEligible, &cr.BackupState, &cr.UserVerified,
			&cr.AAGUID, &cr.AttestationFormat, &cr.Attachment); err != nil {
			return nil, err
		}
		d.Type, d.Status = mfa.Type(typ), mfa.Status(status)
		d.CreatedAt, d.ActivatedAt, d.LastUsedAt, d.ExpiresAt = fromMS(created), fromNullMS(activated), fromNullMS(used), fromNullMS(expires)
		cr.SignCount = uint32(count)
		if transports != "" {
			cr.Transports = strings.Split(transports, ",")
		}
		out = append(out, wc)
	}
	return out, rows.Err()
}

func prefixed(p, columns string) string {
	cols := strings.Split(columns, ", ")
	for i := range cols {
		cols[i] = p + cols[i]
	}
	return strings.Join(cols, ", ")
}

// nonNil keeps an empty byte slice from becoming SQL NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// ActivateWebAuthn implements mfa.WebAuthnStore.
func (s *DB) ActivateWebAuthn(ctx context.Context, userID, id, secretKeyID string, secretCT []byte, cr passkey.Credential, limit int, now time.Time) (mfa.Device, error) {
	var d mfa.Device
	err := s.tx(ctx, func(c conn) error {
		if err := lockUser(ctx, c, userID); err != nil {
			return err
		}
		var err error
		d, err = scanDevice(c.row(ctx, `SELECT `+deviceColumns+` FROM mfa_devices WHERE id = ? AND user_id = ?`, id, userID))
		if err != nil {
			return err
		}
		if d.Status != mfa.StatusPending {
			return mfa.ErrNotPending
		}
		if d.Expired(now) {
			return mfa.ErrExpired
		}
		var n int
		if err := c.row(ctx, `SELECT COUNT(*) FROM mfa_devices WHERE user_id = ? AND type IN (?, ?) AND status = 'active'`,
			userID, string(mfa.TypeSecurityKey), string(mfa.TypeBuiltIn)).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			return mfa.ErrLimit
		}
		var taken int
		if err := c.row(ctx, `SELECT COUNT(*) FROM mfa_devices WHERE user_id = ? AND status = 'active' AND name_key = ?`, userID, d.NameKey).Scan(&taken); err != nil {
			return err
		}
		if taken > 0 {
			return mfa.ErrNameTaken
		}
		var exists int
		if err := c.row(ctx, `SELECT COUNT(*) FROM webauthn_credentials WHERE credential_id = ?`, cr.ID).Scan(&exists); err != nil {
			return err
		}
		if exists > 0 {
			return mfa.ErrCredentialExists
		}
		res, err := c.exec(ctx, `UPDATE mfa_devices SET status = 'active', activated_at = ?, expires_at = NULL, secret_key_id = ?, secret_ct = ? WHERE id = ? AND status = 'pending'`,
			ms(now), secretKeyID, nonNil(secretCT), id)
		if isUniqueViolation(err) {
			return mfa.ErrNameTaken
		}
		if err := oneRow(res, err, mfa.ErrNotPending); err != nil {
			return err
		}
		_, err = c.exec(ctx, `INSERT INTO webauthn_credentials (device_id, credential_id, sign_count, transports, flags_known, backup_eligible, backup_state, user_verified, aaguid, attestation_format, attachment)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, cr.ID, int64(cr.SignCount), strings.Join(cr.Transports, ","), cr.FlagsKnown, cr.BackupEligible, cr.BackupState, cr.UserVerified,
			nonNil(cr.AAGUID), cr.AttestationFormat, cr.Attachment)
		if isUniqueViolation(err) {
			return mfa.ErrCredentialExists
		}
		if err != nil {
			return err
		}
		d.Status, d.ActivatedAt, d.ExpiresAt, d.SecretKeyID, d.SecretCT = mfa.StatusActive, now, time.Time{}, secretKeyID, secretCT
		return nil
	})
	return d, err
}

// RecordWebAuthnUse implements mfa.WebAuthnStore: the counter's
// compare-and-set, the flags (backfilled for a legacy credential), and the
// device's last use, together.
func (s *DB) RecordWebAuthnUse(ctx context.Context, deviceID string, prevCount uint32, cr passkey.Credential, now time.Time) error {
	return s.tx(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE webauthn_credentials SET sign_count = ?, flags_known = ?, backup_eligible = ?, backup_state = ?, user_verified = ?
			WHERE device_id = ? AND sign_count = ?`,
			int64(cr.SignCount), true, cr.BackupEligible, cr.BackupState, cr.UserVerified, deviceID, int64(prevCount))
		if err := oneRow(res, err, mfa.ErrReplay); err != nil {
			return err
		}
		res, err = c.exec(ctx, `UPDATE mfa_devices SET last_used_at = ? WHERE id = ? AND status = 'active'`, ms(now), deviceID)
		return oneRow(res, err, mfa.ErrNotFound)
	})
}

// SweepChallenges deletes expired ceremonies.
func (s *DB) SweepChallenges(ctx context.Context, now time.Time) error {
	_, err := s.c().exec(ctx, `DELETE FROM webauthn_challenges WHERE expires_at <= ?`, ms(now))
	return err
}
