package password

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestQueueRefusesBeyondItsLengthAtOnceAndBoundsTheWait holds the only slot
// and fills the queue: the next caller gets ErrBusy immediately, and the
// queued ones give up after the wait bound.
func TestQueueRefusesBeyondItsLengthAtOnceAndBoundsTheWait(t *testing.T) {
	h := NewHasher(Fast, 1)
	h.SetQueue(3, 300*time.Millisecond)
	h.slots <- struct{}{} // a hash in progress that never ends
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	took := make([]time.Duration, 3)
	for i := range 3 {
		wg.Go(func() {
			start := time.Now()
			_, errs[i] = h.Hash(ctx, "password123456")
			took[i] = time.Since(start)
		})
	}
	deadline := time.Now().Add(2 * time.Second)
	for h.waiting.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	if err := h.Verify(ctx, "password123456", ""); !errors.Is(err, ErrBusy) {
		t.Fatalf("Verify with a full queue = %v, want ErrBusy", err)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Fatalf("a refusal with a full queue took %v, want immediate", d)
	}
	wg.Wait()
	for i := range 3 {
		if !errors.Is(errs[i], ErrBusy) || took[i] < 250*time.Millisecond || took[i] > 2*time.Second {
			t.Errorf("queued hash %d: %v after %v, want ErrBusy after about 300ms", i, errs[i], took[i])
		}
	}
	<-h.slots
	if _, err := h.Hash(ctx, "password123456"); err != nil {
		t.Fatalf("with a free slot: %v", err)
	}
}
