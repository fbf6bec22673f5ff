package throttle

import (
	"testing"
	"time"
)

func TestSpendRefillsUpToBurstAndNeverFromAClockGoingBack(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	b := Bucket{Tokens: 0.5, UpdatedAt: t0}
	// Another node's clock 10 s behind: no refill, still refused.
	if _, tk := Spend(b, t0.Add(-10*time.Second), 20, 2*time.Second); tk.Allowed || !tk.NewlyLimited || tk.RetryAfter != time.Second {
		t.Fatalf("clock going back: %+v", tk)
	}
	// An hour later: full (20), not more, and one spent.
	next, tk := Spend(b, t0.Add(time.Hour), 20, 2*time.Second)
	if !tk.Allowed || next.Tokens != 19 || !next.LimitedSince.IsZero() {
		t.Fatalf("after an hour: %+v %+v", next, tk)
	}
	// A refusal while already limited is not newly limited.
	lim := Bucket{Tokens: 0, UpdatedAt: t0, LimitedSince: t0}
	if _, tk := Spend(lim, t0.Add(time.Second), 20, 2*time.Second); tk.Allowed || tk.NewlyLimited {
		t.Fatalf("second refusal: %+v", tk)
	}
}
