package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/internal/errcode"
	"gatehouse/internal/store"
	"gatehouse/internal/throttle"
)

// TestClaimedAttemptsAreCountedBeforeTheCheckAcrossConnections: 20
// concurrent claims at one instant get exactly the 5 the back-off allows
// before its first lock; a refund takes one back and restores the lock it
// set.
func TestClaimedAttemptsAreCountedBeforeTheCheckAcrossConnections(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var ok atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				_, _, granted, err := db.ClaimAttempt(ctx, "k", t0, t0.Add(-throttle.ForgetAfter), throttle.Wait)
				if err != nil {
					t.Error(err)
				}
				if granted {
					ok.Add(1)
				}
			})
		}
		wg.Wait()
		st, err := db.ThrottleState(ctx, "k")
		if err != nil || ok.Load() != throttle.FreeFailures || st.Failures != throttle.FreeFailures || !st.LockedUntil.Equal(t0.Add(time.Second)) {
			t.Fatalf("%d claims granted, state %+v, %v; want %d and a 1 s lock", ok.Load(), st, err, throttle.FreeFailures)
		}
		// A claim that was no guess is refunded: the count and lock go back.
		later := t0.Add(time.Second)
		prev, cur, granted, err := db.ClaimAttempt(ctx, "k", later, later.Add(-throttle.ForgetAfter), throttle.Wait)
		if err != nil || !granted || cur.Failures != 6 {
			t.Fatalf("claim after the lock: %+v %v %v", cur, granted, err)
		}
		if err := db.RefundAttempt(ctx, "k", prev, cur); err != nil {
			t.Fatal(err)
		}
		if st, _ := db.ThrottleState(ctx, "k"); st.Failures != 5 || !st.LockedUntil.Equal(prev.LockedUntil) {
			t.Fatalf("after refund: %+v, want 5 failures and the lock of before", st)
		}
	})
}

// TestHeldAttemptsAreCheckedOneAfterAnother: 20 concurrent guesses, each
// holding the key in its own transaction while it "checks" the answer
// (a sleep) and then counts a wrong one, get exactly the 5 the back-off
// allows before its first lock: each saw the failures the previous left.
// Without the hold they would all read zero failures and all pass.
func TestHeldAttemptsAreCheckedOneAfterAnother(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := &throttle.Limiter{Store: db, Now: func() time.Time { return t0 }}
		var granted atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				err := db.Atomically(ctx, func(ctx context.Context) error {
					a, err := l.BeginHeld(ctx, "k")
					if err != nil {
						return err
					}
					granted.Add(1)
					time.Sleep(5 * time.Millisecond)
					return a.Failed(ctx)
				})
				if err != nil && !isRateLimited(err) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		st, err := db.ThrottleState(ctx, "k")
		if err != nil || granted.Load() != throttle.FreeFailures || st.Failures != throttle.FreeFailures || !st.LockedUntil.Equal(t0.Add(time.Second)) {
			t.Fatalf("%d guesses checked, state %+v, %v; want %d and a 1 s lock", granted.Load(), st, err, throttle.FreeFailures)
		}
	})
}

// TestHeldAttemptWritesNothingForARightAnswer: the common case, a right
// answer with no failures before it, leaves no throttle row behind; a right
// answer after failures forgets them.
func TestHeldAttemptWritesNothingForARightAnswer(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := &throttle.Limiter{Store: db, Now: func() time.Time { return t0 }}
		answer := func(right bool) {
			t.Helper()
			err := db.Atomically(ctx, func(ctx context.Context) error {
				a, err := l.BeginHeld(ctx, "k")
				if err != nil {
					return err
				}
				if right {
					return a.Succeeded(ctx)
				}
				return a.Failed(ctx)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		stored := func() bool {
			t.Helper()
			st, err := db.ThrottleState(ctx, "k")
			if err != nil {
				t.Fatal(err)
			}
			return !st.IsZero()
		}
		answer(true)
		if stored() {
			t.Fatal("a right answer left a throttle row")
		}
		answer(false)
		answer(false)
		if st, _ := db.ThrottleState(ctx, "k"); st.Failures != 2 {
			t.Fatalf("after two wrong answers: %+v", st)
		}
		answer(true)
		if stored() {
			t.Fatal("a right answer after failures left its throttle row")
		}
	})
}

func TestHoldAttemptsOutsideATransactionFails(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		if _, err := db.HoldAttempts(context.Background(), "k"); err == nil {
			t.Fatal("HoldAttempts outside a transaction succeeded: it would hold nothing")
		}
	})
}

func isRateLimited(err error) bool {
	e := errcode.As(err)
	return e != nil && e.Code == errcode.RateLimited
}
