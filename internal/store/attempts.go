package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"gatehouse/internal/throttle"
)

// ClaimAttempt implements throttle.AttemptStore. The no-op upsert creates
// or locks the counter's row for the transaction (PostgreSQL's row lock,
// SQLite's immediate transaction), so two claims on any nodes are applied
// one after the other and the second sees the lock the first set.
func (s *DB) ClaimAttempt(ctx context.Context, key string, now, forgetBefore time.Time, lockFor func(int) time.Duration) (prev, cur throttle.State, ok bool, err error) {
	err = s.tx(ctx, func(c conn) error {
		var last, locked int64
		if err := c.row(ctx, `INSERT INTO throttles (key, failures, last_failure_at, locked_until) VALUES (?, 0, 0, 0)
			ON CONFLICT (key) DO UPDATE SET key = excluded.key
			RETURNING failures, last_failure_at, locked_until`, key).Scan(&prev.Failures, &last, &locked); err != nil {
			return err
		}
		prev.LastFailure, prev.LockedUntil = fromMS(last), fromMS(locked)
		if now.Before(prev.LockedUntil) {
			cur = prev
			return nil
		}
		ok = true
		cur.Failures = prev.Failures + 1
		if prev.LastFailure.Before(forgetBefore) {
			cur.Failures = 1
		}
		cur.LastFailure = now
		cur.LockedUntil = prev.LockedUntil
		if d := lockFor(cur.Failures); d > 0 {
			cur.LockedUntil = now.Add(d)
		}
		_, err := c.exec(ctx, `UPDATE throttles SET failures = ?, last_failure_at = ?, locked_until = ? WHERE key = ?`,
			cur.Failures, ms(cur.LastFailure), ms(cur.LockedUntil), key)
		return err
	})
	return prev, cur, ok, err
}

// RefundAttempt implements throttle.AttemptStore. The lock and the time of
// the last failure go back to prev only when they are still the ones this
// claim set: a lock another guess imposed since stays.
func (s *DB) RefundAttempt(ctx context.Context, key string, prev, claimed throttle.State) error {
	_, err := s.c().exec(ctx, `UPDATE throttles SET
			last_failure_at = CASE WHEN last_failure_at = ? THEN ? ELSE last_failure_at END,
			locked_until = CASE WHEN locked_until = ? THEN ? ELSE locked_until END,
			failures = failures - 1
		WHERE key = ? AND failures > 0`,
		ms(claimed.LastFailure), ms(prev.LastFailure), ms(claimed.LockedUntil), ms(prev.LockedUntil), key)
	return err
}

// throttleLockClass keeps HoldAttempts' advisory locks apart from any other
// use of PostgreSQL's advisory locks in the same database (goose's, another
// application's): the second half of the lock's key is the hash of the
// throttle key. Two keys with one hash only wait for each other.
const throttleLockClass = 0x67617465 // "gate"

// errNoTransaction is a programming error: a hold outside a transaction
// would end as soon as it was taken.
var errNoTransaction = errors.New("store: HoldAttempts needs a transaction (store.Atomically)")

// HoldAttempts implements throttle.AttemptStore. On PostgreSQL it takes a
// transaction-scoped advisory lock on the key, which writes nothing (a
// row lock would need the row, so a first guess would insert it and a
// right answer delete it again); then it reads the state in a statement of
// its own, whose snapshot, taken after the lock was granted, includes what
// the previous holder committed. On SQLite the transaction already holds
// the only writer, so the read is enough.
func (s *DB) HoldAttempts(ctx context.Context, key string) (throttle.State, error) {
	tx := s.ctxTx(ctx)
	if tx == nil {
		return throttle.State{}, errNoTransaction
	}
	if t, ok := tx.(*pgTx); ok {
		// The lock and the read go in one round trip (with BEGIN, when
		// this is the transaction's first statement); each is still a
		// statement of its own, with its own snapshot.
		var st throttle.State
		err := t.pipeline(ctx, func(b *pgx.Batch) {
			b.Queue(s.rebind(`SELECT pg_advisory_xact_lock(?, hashtext(?))`), throttleLockClass, key)
			b.Queue(s.rebind(throttleStateSQL), key).QueryRow(func(r pgx.Row) error {
				return scanThrottleState(r, &st)
			})
		})
		return st, err
	}
	return s.ThrottleState(ctx, key) // in the same transaction
}
