package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
