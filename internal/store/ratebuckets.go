package store

import (
	"context"
	"database/sql"
	"errors"

	"gatehouse/internal/throttle"
)

// UpdateBucket implements throttle.BucketStore. Every guessing request takes
// a token, so this is on the busiest path: it reads the bucket and writes the
// result with a compare-and-set on everything it read (an insert that does
// nothing when the row appeared meanwhile), one statement each and no
// transaction, so on SQLite the writer lock is held for one statement. A
// take that lost a race reads again; after a few lost races (one address
// sending many requests at once) it falls back to a transaction that locks
// the row. apply may be called more than once: the last call is the one
// stored.
func (s *DB) UpdateBucket(ctx context.Context, key string, init throttle.Bucket, apply func(throttle.Bucket) throttle.Bucket) error {
	if s.ctxTx(ctx) == nil {
		for range 4 {
			done, err := s.casBucket(ctx, key, init, apply)
			if done || err != nil {
				return err
			}
		}
	}
	return s.tx(ctx, func(c conn) error {
		b, err := scanBucket(c.row(ctx, `INSERT INTO rate_buckets (key, tokens, updated_at, limited_since) VALUES (?, ?, ?, 0)
			ON CONFLICT (key) DO UPDATE SET key = excluded.key
			RETURNING tokens, updated_at, limited_since`, key, init.Tokens, ms(init.UpdatedAt)))
		if err != nil {
			return err
		}
		next := apply(b)
		_, err = c.exec(ctx, `UPDATE rate_buckets SET tokens = ?, updated_at = ?, limited_since = ? WHERE key = ?`,
			next.Tokens, ms(next.UpdatedAt), bucketLimited(next), key)
		return err
	})
}

// casBucket is one optimistic attempt of UpdateBucket; done is false when
// another take changed the bucket between the read and the write.
func (s *DB) casBucket(ctx context.Context, key string, init throttle.Bucket, apply func(throttle.Bucket) throttle.Bucket) (done bool, err error) {
	c := s.c()
	// The stored values, not the converted ones, are what the write
	// compares against.
	var tokens float64
	var updated, limited int64
	err = c.row(ctx, `SELECT tokens, updated_at, limited_since FROM rate_buckets WHERE key = ?`, key).Scan(&tokens, &updated, &limited)
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	var n int64
	write := func(ctx context.Context) error {
		var res sql.Result
		var err error
		if !found {
			next := apply(init)
			res, err = c.exec(ctx, `INSERT INTO rate_buckets (key, tokens, updated_at, limited_since) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
				key, next.Tokens, ms(next.UpdatedAt), bucketLimited(next))
		} else {
			b := throttle.Bucket{Tokens: tokens, UpdatedAt: fromMS(updated)}
			if limited != 0 {
				b.LimitedSince = fromMS(limited)
			}
			next := apply(b)
			res, err = c.exec(ctx, `UPDATE rate_buckets SET tokens = ?, updated_at = ?, limited_since = ?
				WHERE key = ? AND tokens = ? AND updated_at = ? AND limited_since = ?`,
				next.Tokens, ms(next.UpdatedAt), bucketLimited(next), key, tokens, updated, limited)
		}
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	}
	// On SQLite the write joins the next group commit (group.go) instead
	// of committing alone.
	if s.group != nil {
		err = s.group.do(ctx, write)
	} else {
		err = write(ctx)
	}
	return n == 1, err
}

func scanBucket(r *sql.Row) (throttle.Bucket, error) {
	var b throttle.Bucket
	var updated, limited int64
	if err := r.Scan(&b.Tokens, &updated, &limited); err != nil {
		return b, err
	}
	b.UpdatedAt = fromMS(updated)
	if limited != 0 {
		b.LimitedSince = fromMS(limited)
	}
	return b, nil
}

func bucketLimited(b throttle.Bucket) int64 {
	if b.LimitedSince.IsZero() {
		return 0
	}
	return ms(b.LimitedSince)
}
