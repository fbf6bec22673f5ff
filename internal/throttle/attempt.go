package throttle

import (
	"context"
	"time"
)

// AttemptStore claims guesses atomically (see Limiter.Begin).
type AttemptStore interface {
	// ClaimAttempt, in one atomic step across nodes: refuses (ok false, cur
	// the locking state) while key is locked at now; otherwise counts one
	// failure as AddFailure does and returns the state before and after.
	ClaimAttempt(ctx context.Context, key string, now, forgetBefore time.Time, lockFor func(failures int) time.Duration) (prev, cur State, ok bool, err error)
	// RefundAttempt takes back the failure a claim counted: the counter
	// goes down by one, and the lock and last failure return to prev where
	// they are still the ones the claim set.
	RefundAttempt(ctx context.Context, key string, prev, claimed State) error
	// HoldAttempts, inside the transaction ctx carries, makes every other
	// HoldAttempts on key, on any node, wait until that transaction ends,
	// and then returns key's state. It writes nothing. Outside a
	// transaction it fails: nothing could be held.
	HoldAttempts(ctx context.Context, key string) (State, error)
}

// Attempt is one claimed (Begin) or held (BeginHeld) guess. Failed counts
// a wrong answer (a claimed one already was), Succeeded forgets the key,
// Refund takes the guess back when the answer was no guess at all
// (malformed, expired, the server busy).
type Attempt struct {
	l         *Limiter
	key       string
	prev, cur State
	now       time.Time
	settled   bool
	// held: the key is held for a transaction (BeginHeld) and nothing was
	// counted yet; a wrong answer is counted by Failed.
	held bool
}

// Begin claims one guess against key. It refuses with a rate_limited error
// while key is locked, and otherwise counts the guess as a failure before
// it is checked: concurrent guesses, on one node or many, cannot all pass
// one check of an unlocked counter, so the back-off bounds them all.
func (l *Limiter) Begin(ctx context.Context, key string) (*Attempt, error) {
	now := l.Now()
	prev, cur, ok, err := l.attempts().ClaimAttempt(ctx, key, now, now.Add(-ForgetAfter), Wait)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, lockedError(cur.LockedUntil.Sub(now))
	}
	return &Attempt{l: l, key: key, prev: prev, cur: cur, now: now}, nil
}

// BeginHeld is Begin for a caller that checks the answer and records its
// outcome in the transaction ctx carries. Instead of counting the guess
// before it is checked, it holds key until the transaction ends, so
// concurrent guesses on any node are checked one after the other, each
// seeing the failures and the lock the previous ones left, just as claims
// are. It refuses while key is locked. The right answer writes nothing
// unless there were failures to forget, which keeps the common case
// (a person typing the right code) to two reads instead of three writes.
func (l *Limiter) BeginHeld(ctx context.Context, key string) (*Attempt, error) {
	prev, err := l.attempts().HoldAttempts(ctx, key)
	if err != nil {
		return nil, err
	}
	// The time is read once the hold is granted: waiting for it can take
	// as long as the answers queued before this one, and a lock read
	// against the time before the wait would look longer than it is.
	now := l.Now()
	if now.Before(prev.LockedUntil) {
		return nil, lockedError(prev.LockedUntil.Sub(now))
	}
	return &Attempt{l: l, key: key, prev: prev, cur: prev, now: now, held: true}, nil
}

func (l *Limiter) attempts() AttemptStore { return l.Store.(AttemptStore) }

// Wait is the lock this attempt's failure imposes (zero for none).
func (a *Attempt) Wait() time.Duration {
	if a.now.Before(a.cur.LockedUntil) {
		return a.cur.LockedUntil.Sub(a.now)
	}
	return 0
}

// Failures is the counter including this attempt.
func (a *Attempt) Failures() int { return a.cur.Failures }

// Succeeded forgets the key: the right answer was given.
func (a *Attempt) Succeeded(ctx context.Context) error {
	a.settled = true
	if a.held && a.prev.IsZero() {
		return nil // nothing stored to forget
	}
	return a.l.Reset(ctx, a.key)
}

// Refund takes the attempt back. It is safe to call more than once and
// after Succeeded (then it does nothing).
func (a *Attempt) Refund(ctx context.Context) error {
	if a.settled {
		return nil
	}
	a.settled = true
	if a.held {
		return nil // nothing was counted
	}
	return a.l.attempts().RefundAttempt(ctx, a.key, a.prev, a.cur)
}

// Failed marks a wrong answer. A claimed guess stays counted; a held one
// is counted now, and Wait then tells the lock it imposes.
func (a *Attempt) Failed(ctx context.Context) error {
	if a.settled {
		return nil
	}
	a.settled = true
	if !a.held {
		return nil
	}
	cur, err := a.l.Store.AddFailure(ctx, a.key, a.now, a.now.Add(-ForgetAfter), Wait)
	if err != nil {
		return err
	}
	a.cur = cur
	return nil
}
