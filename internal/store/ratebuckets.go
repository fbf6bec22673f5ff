package store

import (
	"context"
	"time"

	"gatehouse/internal/throttle"
)

// takeToken is throttle.Spend as one upsert: the bucket is read, spent and
// written by the statement, so takes on any number of connections and
// nodes are applied one after the other by the row's lock (PostgreSQL) or
// the writer (SQLite), and a take costs one statement. Parameters: key,
// now+refill (a new bucket, whose first take is allowed), then those of
// spendToken.
const takeToken = `INSERT INTO rate_buckets (key, tat, refused) VALUES (?, ?, 0) ` + spendToken

// spendToken: now, now+refill, now+(burst−1)·refill, refill,
// now+(burst−1)·refill.
const spendToken = `ON CONFLICT (key) DO UPDATE SET
		tat = CASE
			WHEN rate_buckets.tat <= ? THEN ?
			WHEN rate_buckets.tat <= ? THEN rate_buckets.tat + ?
			ELSE rate_buckets.tat END,
		refused = CASE WHEN rate_buckets.tat <= ? THEN 0 ELSE rate_buckets.refused + 1 END
	RETURNING tat, refused`

// takeTokenAsync is takeToken on PostgreSQL with its commit not waiting
// for the disk: set_config(…, true) lasts until the end of the statement's
// own transaction, so only this write is affected. Every guessing request
// takes a token, and waiting for the WAL to be flushed twice per request
// (here and for the step itself) cost about 12 % of the MFA step's
// throughput (1,635 against 1,432 steps a second). What a crash of PostgreSQL can lose is the takes of the last
// few hundred milliseconds (wal_writer_delay): a few tokens given back to
// whoever spent them. The per-account back-off and the replay guard stay
// durable.
const takeTokenAsync = `INSERT INTO rate_buckets (key, tat, refused)
	SELECT v.key, v.tat, 0 FROM (VALUES (?, CAST(? AS BIGINT))) AS v (key, tat)
	CROSS JOIN (SELECT set_config('synchronous_commit', 'off', true)) AS async ` + spendToken

// TakeToken implements throttle.BucketStore.
func (s *DB) TakeToken(ctx context.Context, key string, now time.Time, burst int, refill time.Duration) (throttle.Bucket, error) {
	nowMS, refillMS := ms(now), refill.Milliseconds()
	limit := nowMS + int64(burst-1)*refillMS
	args := []any{key, nowMS + refillMS, nowMS, nowMS + refillMS, limit, refillMS, limit}
	var b throttle.Bucket
	take := func(ctx context.Context) error {
		var tat int64
		var q string
		if s.dialect == Postgres && s.ctxTx(ctx) == nil {
			q = takeTokenAsync
		} else {
			q = takeToken
		}
		if err := s.w().row(ctx, q, args...).Scan(&tat, &b.Refused); err != nil {
			return err
		}
		b.TAT = fromMS(tat)
		return nil
	}
	// On SQLite the take joins the next group commit (group.go) instead of
	// committing alone.
	if s.group != nil && s.ctxTx(ctx) == nil {
		return b, s.group.do(ctx, take)
	}
	return b, take(ctx)
}
