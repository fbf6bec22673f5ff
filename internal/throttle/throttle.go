// Package throttle slows down guessing against one account: after a few
// failures each further failure doubles the wait, up to a cap, and a quiet
// period forgets everything. Locks are always temporary, so nobody can lock a
// user out for good. The counters live in the store so they hold across nodes.
package throttle

import (
	"context"
	"math"
	"time"

	"gatehouse/internal/errcode"
)

// Policy numbers (DESIGN §3, in the spirit of Cognito's lockout).
const (
	// FreeFailures are allowed before any wait: people mistype.
	FreeFailures = 5
	// MaxWait caps the back-off: long enough to make guessing hopeless,
	// short enough that an attacker cannot deny a user access for long.
	MaxWait = 15 * time.Minute
	// ForgetAfter quiet time resets the counter. An hour, not the cap's 15
	// minutes: with 15, an attacker who waits out each quarter hour gets 5
	// free guesses and a fresh ramp every 17 minutes, about 1,020 guesses
	// a day (0.31 % against a 6-digit code); with an hour, at most 306
	// (0.092 %, under the 0.1 % bound: docs/security.md). A person who
	// mistyped a few times is barely affected: the waits start at 1 s.
	ForgetAfter = time.Hour
)

// State is one key's counter.
type State struct {
	Failures    int
	LastFailure time.Time
	LockedUntil time.Time
}

// IsZero reports a key with nothing stored.
func (s State) IsZero() bool {
	return s.Failures == 0 && s.LastFailure.IsZero() && s.LockedUntil.IsZero()
}

// Store keeps counters. AddFailure must be atomic across nodes: it increments
// the counter (restarting at 1 when the last failure is older than forgetBefore)
// and sets lockedUntil computed from the new count by lockFor.
type Store interface {
	ThrottleState(ctx context.Context, key string) (State, error)
	AddFailure(ctx context.Context, key string, now, forgetBefore time.Time, lockFor func(failures int) time.Duration) (State, error)
	ResetThrottle(ctx context.Context, key string) error
}

// Wait is how long a key is locked after its n-th consecutive failure:
// nothing for the first FreeFailures, then 2^(n−5) seconds, capped.
func Wait(n int) time.Duration {
	if n < FreeFailures {
		return 0
	}
	exp := n - FreeFailures
	if exp > 20 {
		return MaxWait
	}
	d := time.Duration(math.Pow(2, float64(exp))) * time.Second
	return min(d, MaxWait)
}

// Limiter applies the policy.
type Limiter struct {
	Store Store
	Now   func() time.Time
}

// Check returns a rate_limited error while key is locked.
func (l *Limiter) Check(ctx context.Context, key string) error {
	s, err := l.Store.ThrottleState(ctx, key)
	if err != nil {
		return err
	}
	now := l.Now()
	if now.Before(s.LockedUntil) {
		return lockedError(s.LockedUntil.Sub(now))
	}
	return nil
}

// Fail records a failure and returns the wait it imposes (zero for none).
func (l *Limiter) Fail(ctx context.Context, key string) (time.Duration, error) {
	now := l.Now()
	s, err := l.Store.AddFailure(ctx, key, now, now.Add(-ForgetAfter), Wait)
	if err != nil {
		return 0, err
	}
	if now.Before(s.LockedUntil) {
		return s.LockedUntil.Sub(now), nil
	}
	return 0, nil
}

// Reset forgets a key after a success.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	return l.Store.ResetThrottle(ctx, key)
}

func lockedError(d time.Duration) error {
	secs := int(math.Ceil(d.Seconds()))
	e := errcode.New(errcode.RateLimited, "Too many attempts. Wait %s and try again.", humanWait(secs))
	e.RetryAfterSeconds = secs
	return e
}

// LockedError is the error for a wait of d.
func LockedError(d time.Duration) error { return lockedError(d) }

func humanWait(secs int) string {
	switch {
	case secs <= 1:
		return "1 second"
	case secs < 60:
		return itoa(secs) + " seconds"
	default:
		m := (secs + 59) / 60
		if m == 1 {
			return "1 minute"
		}
		return itoa(m) + " minutes"
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
