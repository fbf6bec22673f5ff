package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"gatehouse/internal/throttle"
)

// ThrottleState implements throttle.Store.
func (s *DB) ThrottleState(ctx context.Context, key string) (throttle.State, error) {
	var st throttle.State
	err := scanThrottleState(s.c().row(ctx, throttleStateSQL, key), &st)
	return st, err
}

const throttleStateSQL = `SELECT failures, last_failure_at, locked_until FROM throttles WHERE key = ?`

// scanThrottleState reads a row of throttleStateSQL into st; no row is the
// zero state.
func scanThrottleState(r scanner, st *throttle.State) error {
	var last, locked int64
	err := r.Scan(&st.Failures, &last, &locked)
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) {
		*st = throttle.State{}
		return nil
	}
	st.LastFailure, st.LockedUntil = fromMS(last), fromMS(locked)
	return err
}

// AddFailure implements throttle.Store. The counter is incremented by one
// upsert, so concurrent failures on any number of nodes all count.
func (s *DB) AddFailure(ctx context.Context, key string, now, forgetBefore time.Time, lockFor func(int) time.Duration) (throttle.State, error) {
	var st throttle.State
	err := s.tx(ctx, func(c conn) error {
		err := c.row(ctx, `INSERT INTO throttles (key, failures, last_failure_at, locked_until) VALUES (?, 1, ?, 0)
			ON CONFLICT (key) DO UPDATE SET
				failures = CASE WHEN throttles.last_failure_at < ? THEN 1 ELSE throttles.failures + 1 END,
				last_failure_at = excluded.last_failure_at
			RETURNING failures`, key, ms(now), ms(forgetBefore)).Scan(&st.Failures)
		if err != nil {
			return err
		}
		st.LastFailure = now
		if d := lockFor(st.Failures); d > 0 {
			st.LockedUntil = now.Add(d)
			_, err = c.exec(ctx, `UPDATE throttles SET locked_until = ? WHERE key = ?`, ms(st.LockedUntil), key)
		}
		return err
	})
	return st, err
}

// ResetThrottle implements throttle.Store.
func (s *DB) ResetThrottle(ctx context.Context, key string) error {
	_, err := s.c().exec(ctx, `DELETE FROM throttles WHERE key = ?`, key)
	return err
}
