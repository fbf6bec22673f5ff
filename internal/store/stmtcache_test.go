package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"gatehouse/internal/throttle"
)

// TestPreparedStatementsNeverStarveThePool: with a cold statement cache,
// many transactions at once (more than the pool's connections) must all
// finish — a transaction never waits for a connection to prepare on.
func TestPreparedStatementsNeverStarveThePool(t *testing.T) {
	db := openSQLite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			key := "k" + string(rune('a'+i%26))
			if _, err := db.AddFailure(ctx, key, t0, t0.Add(-throttle.ForgetAfter), throttle.Wait); err != nil {
				t.Error(err)
			}
			if _, err := db.ThrottleState(ctx, key); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatal("transactions stalled: the pool was starved")
	}
}
