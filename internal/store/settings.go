package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// GetSetting implements policy.Store.
func (s *DB) GetSetting(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.c().row(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return v, err == nil, err
}

// PutSetting implements policy.Store.
func (s *DB) PutSetting(ctx context.Context, key, value string, now time.Time) error {
	return s.tx(ctx, func(c conn) error {
		_, err := c.exec(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value, ms(now))
		return err
	})
}
