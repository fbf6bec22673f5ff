package throttle

import (
	"context"
	"errors"
	"testing"
	"time"

	"gatehouse/internal/errcode"
)

// slowHold is an AttemptStore whose hold is granted only after the clock
// has moved on by wait, as when other answers for the account hold it
// first; the lock it reads was set by the last of them.
type slowHold struct {
	clock  *time.Time
	wait   time.Duration
	locked time.Time
}

func (s *slowHold) HoldAttempts(context.Context, string) (State, error) {
	*s.clock = s.clock.Add(s.wait)
	return State{Failures: 6, LockedUntil: s.locked}, nil
}
func (s *slowHold) ClaimAttempt(context.Context, string, time.Time, time.Time, func(int) time.Duration) (State, State, bool, error) {
	panic("not used")
}
func (s *slowHold) RefundAttempt(context.Context, string, State, State) error { panic("not used") }
func (s *slowHold) ThrottleState(context.Context, string) (State, error)      { panic("not used") }
func (s *slowHold) AddFailure(context.Context, string, time.Time, time.Time, func(int) time.Duration) (State, error) {
	panic("not used")
}
func (s *slowHold) ResetThrottle(context.Context, string) error { panic("not used") }

// A held answer is judged by the time the hold was granted, not the time
// it started waiting: a lock that ended during the wait no longer refuses
// it, and one still running is reported with what is left of it.
func TestBeginHeldReadsTheClockOnceTheHoldIsGranted(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	for _, c := range []struct {
		name      string
		wait      time.Duration
		lockedFor time.Duration // from t0
		wantRetry int           // seconds; 0: not refused
	}{
		{"lock ended while waiting", 1500 * time.Millisecond, time.Second, 0},
		{"lock still running", 1500 * time.Millisecond, 2500 * time.Millisecond, 1}, // 1 s left, not 2.5
		{"no wait", 0, 2 * time.Second, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			now := t0
			l := &Limiter{Store: &slowHold{clock: &now, wait: c.wait, locked: t0.Add(c.lockedFor)}, Now: func() time.Time { return now }}
			a, err := l.BeginHeld(context.Background(), "account:u")
			var e *errcode.Error
			switch {
			case c.wantRetry == 0 && err != nil:
				t.Fatalf("refused with %v after the lock had ended", err)
			case c.wantRetry == 0 && a.now != now:
				t.Fatalf("attempt timed at %v, want the time the hold was granted, %v", a.now, now)
			case c.wantRetry != 0 && (!errors.As(err, &e) || e.RetryAfterSeconds != c.wantRetry):
				t.Fatalf("got %v, want rate_limited with Retry-After %d s", err, c.wantRetry)
			}
		})
	}
}
