package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"gatehouse/internal/account"
)

const trustColumns = `id, user_id, token_hash, network, user_agent, created_at, last_used_at, expires_at`

func scanTrusted(r interface{ Scan(...any) error }) (account.TrustedBrowser, error) {
	var b account.TrustedBrowser
	var created, used, expires int64
	err := r.Scan(&b.ID, &b.UserID, &b.TokenHash, &b.Network, &b.UserAgent, &created, &used, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return b, account.ErrNotFound
	}
	b.CreatedAt, b.LastUsedAt, b.ExpiresAt = fromMS(created), fromMS(used), fromMS(expires)
	return b, err
}

// CreateTrustedBrowser implements account.Store.
func (s *DB) CreateTrustedBrowser(ctx context.Context, b account.TrustedBrowser) error {
	return s.tx(ctx, func(c conn) error {
		_, err := c.exec(ctx, `INSERT INTO trusted_browsers (`+trustColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			b.ID, b.UserID, b.TokenHash, b.Network, b.UserAgent, ms(b.CreatedAt), ms(b.LastUsedAt), ms(b.ExpiresAt))
		return err
	})
}

// TrustedBrowserByHash implements account.Store.
func (s *DB) TrustedBrowserByHash(ctx context.Context, userID, tokenHash string, now time.Time) (account.TrustedBrowser, error) {
	return scanTrusted(s.c().row(ctx, `SELECT `+trustColumns+` FROM trusted_browsers WHERE user_id = ? AND token_hash = ? AND expires_at > ?`, userID, tokenHash, ms(now)))
}

// TouchTrustedBrowser implements account.Store.
func (s *DB) TouchTrustedBrowser(ctx context.Context, id string, now time.Time) error {
	_, err := s.c().exec(ctx, `UPDATE trusted_browsers SET last_used_at = ? WHERE id = ?`, ms(now), id)
	return err
}

// ListTrustedBrowsers implements account.Store.
func (s *DB) ListTrustedBrowsers(ctx context.Context, userID string, now time.Time) ([]account.TrustedBrowser, error) {
	rows, err := s.c().query(ctx, `SELECT `+trustColumns+` FROM trusted_browsers WHERE user_id = ? AND expires_at > ? ORDER BY created_at, id`, userID, ms(now))
	return collect(rows, err, scanTrusted)
}

// DeleteTrustedBrowser implements account.Store.
func (s *DB) DeleteTrustedBrowser(ctx context.Context, userID, id string) error {
	var res sql.Result
	err := s.tx(ctx, func(c conn) error {
		var err error
		res, err = c.exec(ctx, `DELETE FROM trusted_browsers WHERE id = ? AND user_id = ?`, id, userID)
		return oneRow(res, err, account.ErrNotFound)
	})
	return err
}

// DeleteTrustedBrowsers implements account.Store.
func (s *DB) DeleteTrustedBrowsers(ctx context.Context, userID string) error {
	return s.tx(ctx, func(c conn) error {
		_, err := c.exec(ctx, `DELETE FROM trusted_browsers WHERE user_id = ?`, userID)
		return err
	})
}

// PutEmailCode implements account.Store.
func (s *DB) PutEmailCode(ctx context.Context, sessionHash, codeHash string, expires time.Time) error {
	_, err := s.c().exec(ctx, `INSERT INTO email_codes (session_hash, code_hash, expires_at, attempts) VALUES (?, ?, ?, 0)
		ON CONFLICT (session_hash) DO UPDATE SET code_hash = excluded.code_hash, expires_at = excluded.expires_at, attempts = 0`,
		sessionHash, codeHash, ms(expires))
	return err
}

// EmailCode implements account.Store.
func (s *DB) EmailCode(ctx context.Context, sessionHash string) (string, time.Time, error) {
	var h string
	var exp int64
	err := s.c().row(ctx, `SELECT code_hash, expires_at FROM email_codes WHERE session_hash = ?`, sessionHash).Scan(&h, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, account.ErrNotFound
	}
	return h, fromMS(exp), err
}

// DeleteEmailCode implements account.Store. Deleting is what makes a code
// single use: a second, concurrent use finds nothing.
func (s *DB) DeleteEmailCode(ctx context.Context, sessionHash string) error {
	res, err := s.c().exec(ctx, `DELETE FROM email_codes WHERE session_hash = ?`, sessionHash)
	return oneRow(res, err, account.ErrNotFound)
}
