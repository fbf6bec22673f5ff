package store

import (
	"context"
	"time"

	"gatehouse/internal/recovery"
)

// ReplaceRecoveryCodes implements recovery.Store: the user's old set goes
// and the new one is stored, in one transaction with its audit event.
func (s *DB) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, now time.Time) error {
	return s.tx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		for _, h := range hashes {
			if _, err := c.exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)`, userID, h, ms(now)); err != nil {
				return err
			}
		}
		return nil
	})
}

// UseRecoveryCode implements recovery.Store. Deleting the row is the
// compare-and-set: of two requests with one code, on one node or two, one
// deletes it and the other finds nothing.
func (s *DB) UseRecoveryCode(ctx context.Context, userID string, hash []byte) error {
	return s.tx(ctx, func(c conn) error {
		res, err := c.exec(ctx, `DELETE FROM recovery_codes WHERE user_id = ? AND code_hash = ?`, userID, hash)
		return oneRow(res, err, recovery.ErrNoMatch)
	})
}

// CountRecoveryCodes implements recovery.Store.
func (s *DB) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.c().row(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?`, userID).Scan(&n)
	return n, err
}
