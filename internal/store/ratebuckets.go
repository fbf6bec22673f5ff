package store

import (
	"context"

	"gatehouse/internal/throttle"
)

// UpdateBucket implements throttle.BucketStore. The no-op upsert creates the
// row or locks it (PostgreSQL's row lock, SQLite's immediate transaction)
// for the rest of the transaction, so concurrent takes on any number of
// nodes are applied one after the other and no token is spent twice.
func (s *DB) UpdateBucket(ctx context.Context, key string, init throttle.Bucket, apply func(throttle.Bucket) throttle.Bucket) error {
	return s.tx(ctx, func(c conn) error {
		var b throttle.Bucket
		var updated, limited int64
		err := c.row(ctx, `INSERT INTO rate_buckets (key, tokens, updated_at, limited_since) VALUES (?, ?, ?, 0)
			ON CONFLICT (key) DO UPDATE SET key = excluded.key
			RETURNING tokens, updated_at, limited_since`, key, init.Tokens, ms(init.UpdatedAt)).Scan(&b.Tokens, &updated, &limited)
		if err != nil {
			return err
		}
		b.UpdatedAt = fromMS(updated)
		if limited != 0 {
			b.LimitedSince = fromMS(limited)
		}
		next := apply(b)
		limited = 0
		if !next.LimitedSince.IsZero() {
			limited = ms(next.LimitedSince)
		}
		_, err = c.exec(ctx, `UPDATE rate_buckets SET tokens = ?, updated_at = ?, limited_since = ? WHERE key = ?`,
			next.Tokens, ms(next.UpdatedAt), limited, key)
		return err
	})
}
