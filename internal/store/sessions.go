package store

import (
	"context"
	"time"
)

// TouchSession implements account.Store.
func (s *DB) TouchSession(ctx context.Context, idHash string, now time.Time) error {
	_, err := s.c().exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id_hash = ? AND last_seen_at < ?`, ms(now), idHash, ms(now))
	return err
}
