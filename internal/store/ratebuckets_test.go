package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/internal/store"
	"gatehouse/internal/throttle"
)

// TestRateBucketSpendsEachTokenOnceAcrossConnections fires more takes than
// the burst at once from many connections: exactly the burst is allowed,
// exactly one refusal is "newly limited" (the audited one), and the bucket
// refills at its rate.
func TestRateBucketSpendsEachTokenOnceAcrossConnections(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := t0
		var mu sync.Mutex
		b := &throttle.Buckets{Store: db, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }, Burst: 20, Refill: 2 * time.Second}
		var allowed, newly atomic.Int32
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				tk, err := b.Take(ctx, "src:192.0.2.1")
				if err != nil {
					t.Error(err)
					return
				}
				if tk.Allowed {
					allowed.Add(1)
				} else if tk.RetryAfter <= 0 || tk.RetryAfter > 2*time.Second {
					t.Errorf("retry after %v, want (0, 2s]", tk.RetryAfter)
				}
				if tk.NewlyLimited {
					newly.Add(1)
				}
			})
		}
		wg.Wait()
		if allowed.Load() != 20 || newly.Load() != 1 {
			t.Fatalf("allowed %d, newly limited %d; want 20 and 1", allowed.Load(), newly.Load())
		}
		// Another address has its own bucket.
		if tk, err := b.Take(ctx, "src:192.0.2.2"); err != nil || !tk.Allowed {
			t.Fatalf("other address: %+v, %v", tk, err)
		}
		mu.Lock()
		now = now.Add(5 * time.Second) // 2.5 tokens
		mu.Unlock()
		for i, want := range []bool{true, true, false} {
			tk, err := b.Take(ctx, "src:192.0.2.1")
			if err != nil || tk.Allowed != want {
				t.Fatalf("take %d after 5 s: %+v, %v; want allowed=%v", i, tk, err, want)
			}
			if !want && !tk.NewlyLimited {
				t.Fatal("a new exhaustion after a refill was not reported as newly limited")
			}
		}
		// A full bucket is swept away.
		if err := db.Sweep(ctx, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if tk, err := b.Take(ctx, "src:192.0.2.1"); err != nil || !tk.Allowed {
			t.Fatalf("after sweep: %+v, %v", tk, err)
		}
	})
}

// TestTakeTokenIsSpend: the store's one-statement take gives what the
// domain's Spend gives, step by step, over a random walk of takes on a few
// keys with a clock that mostly moves on, sometimes stands still and
// sometimes goes back (another node's).
func TestTakeTokenIsSpend(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(1, 2))
		const burst, refill = 4, 1500 * time.Millisecond
		model := map[string]throttle.Bucket{}
		now := t0
		for i := range 400 {
			switch r := rng.IntN(10); {
			case r < 5:
				now = now.Add(time.Duration(rng.IntN(2000)) * time.Millisecond)
			case r < 6:
				now = now.Add(-time.Duration(rng.IntN(3000)) * time.Millisecond)
			}
			key := fmt.Sprintf("src:192.0.2.%d", rng.IntN(3))
			got, err := db.TakeToken(ctx, key, now, burst, refill)
			if err != nil {
				t.Fatal(err)
			}
			want := throttle.Spend(model[key], now, burst, refill)
			model[key] = want
			if !got.TAT.Equal(want.TAT) || got.Refused != want.Refused {
				t.Fatalf("take %d (%s at %v): store %+v, Spend %+v", i, key, now.Sub(t0), got, want)
			}
		}
	})
}

func TestSourceKeyGroupsIPv6By64(t *testing.T) {
	tests := map[string]string{
		"192.0.2.7:5555":             "src:192.0.2.7",
		"[::ffff:192.0.2.7]:1":       "src:192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443": "src:2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "src:2001:db8:1:2::/64",
		"2001:db8:1:3::1":            "src:2001:db8:1:3::/64",
		"[fe80::1%eth0]:80":          "src:fe80::/64",
	}
	for in, want := range tests {
		if got := throttle.SourceKey(in); got != want {
			t.Errorf("SourceKey(%q) = %q, want %q", in, got, want)
		}
	}
}
