package throttle

import (
	"testing"
	"time"
)

// TestSpendAllowsTheBurstThenOnePerRefill walks one bucket through a burst,
// its refusals and a refill, checking each take's outcome.
func TestSpendAllowsTheBurstThenOnePerRefill(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	const burst, refill = 3, 2 * time.Second
	steps := []struct {
		at      time.Duration // after t0
		allowed bool
		retry   time.Duration
		newly   bool
	}{
		{0, true, 0, false},
		{0, true, 0, false},
		{0, true, 0, false},
		{0, false, 2 * time.Second, true}, // empty: the next token in one refill
		{500 * time.Millisecond, false, 1500 * time.Millisecond, false}, // still empty, already reported
		{2 * time.Second, true, 0, false},                               // one token back
		{2 * time.Second, false, 2 * time.Second, true},                 // a new exhaustion is reported again
		{time.Hour, true, 0, false},                                     // full again, not more than full:
		{time.Hour, true, 0, false},
		{time.Hour, true, 0, false},
		{time.Hour, false, 2 * time.Second, true},
	}
	var b Bucket
	for i, st := range steps {
		now := t0.Add(st.at)
		b = Spend(b, now, burst, refill)
		got := Outcome(b, now, burst, refill)
		want := Take{Allowed: st.allowed, RetryAfter: st.retry, NewlyLimited: st.newly}
		if got != want {
			t.Fatalf("take %d at +%v: %+v, want %+v", i, st.at, got, want)
		}
	}
}

func TestSpendOnAClockBehindSeesAnEmptierBucket(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	b := Spend(Bucket{}, t0, 20, 2*time.Second) // 19 left at t0
	// A node 10 s behind sees 5 fewer tokens (14), so it still allows ...
	if got := Outcome(Spend(b, t0.Add(-10*time.Second), 20, 2*time.Second), t0.Add(-10*time.Second), 20, 2*time.Second); !got.Allowed {
		t.Fatalf("10 s behind: %+v", got)
	}
	// ... and one 40 s behind (20 fewer) refuses until its clock catches up.
	if got := Outcome(Spend(b, t0.Add(-40*time.Second), 20, 2*time.Second), t0.Add(-40*time.Second), 20, 2*time.Second); got.Allowed {
		t.Fatalf("40 s behind: %+v", got)
	}
}
