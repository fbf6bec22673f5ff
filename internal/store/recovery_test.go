package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"gatehouse/internal/recovery"
	"gatehouse/internal/store"
)

func codeHashes(prefix string, n int) [][]byte {
	var out [][]byte
	for i := range n {
		out = append(out, []byte(fmt.Sprintf("%s-%02d", prefix, i)))
	}
	return out
}

func TestRecoveryCodesAreSingleUseAndRegeneratingVoidsTheOldSet(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addUser(t, db, "u1", "alice")
		addUser(t, db, "u2", "bob")
		if err := db.ReplaceRecoveryCodes(ctx, "u1", codeHashes("a", 10), t0); err != nil {
			t.Fatal(err)
		}
		if err := db.ReplaceRecoveryCodes(ctx, "u2", codeHashes("b", 10), t0); err != nil {
			t.Fatal(err)
		}
		if n, err := db.CountRecoveryCodes(ctx, "u1"); err != nil || n != 10 {
			t.Fatalf("count = %d, %v; want 10", n, err)
		}
		if err := db.UseRecoveryCode(ctx, "u1", []byte("a-03")); err != nil {
			t.Fatal(err)
		}
		if err := db.UseRecoveryCode(ctx, "u1", []byte("a-03")); !errors.Is(err, recovery.ErrNoMatch) {
			t.Fatalf("second use = %v, want ErrNoMatch", err)
		}
		if err := db.UseRecoveryCode(ctx, "u1", []byte("b-01")); !errors.Is(err, recovery.ErrNoMatch) {
			t.Fatalf("another user's code = %v, want ErrNoMatch", err)
		}
		if n, _ := db.CountRecoveryCodes(ctx, "u1"); n != 9 {
			t.Fatalf("count after one use = %d, want 9", n)
		}
		if err := db.ReplaceRecoveryCodes(ctx, "u1", codeHashes("c", 10), t0); err != nil {
			t.Fatal(err)
		}
		if err := db.UseRecoveryCode(ctx, "u1", []byte("a-04")); !errors.Is(err, recovery.ErrNoMatch) {
			t.Fatalf("old set after regenerating = %v, want ErrNoMatch", err)
		}
		if n, _ := db.CountRecoveryCodes(ctx, "u1"); n != 10 {
			t.Fatalf("count after regenerating = %d, want 10", n)
		}
		// An administrator's MFA reset voids them too; other users keep theirs.
		if _, err := db.ResetMFA(ctx, "u1"); err != nil {
			t.Fatal(err)
		}
		if n, _ := db.CountRecoveryCodes(ctx, "u1"); n != 0 {
			t.Fatalf("count after ResetMFA = %d, want 0", n)
		}
		if n, _ := db.CountRecoveryCodes(ctx, "u2"); n != 10 {
			t.Fatalf("other user's count = %d, want 10", n)
		}
	})
}

func TestRecoveryCodeConsumedOnceUnderConcurrency(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addUser(t, db, "u1", "alice")
		for round := range 5 {
			if err := db.ReplaceRecoveryCodes(ctx, "u1", codeHashes("r", 10), t0); err != nil {
				t.Fatal(err)
			}
			const parallel = 8
			var ok, none atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range parallel {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					switch err := db.UseRecoveryCode(ctx, "u1", []byte("r-07")); {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, recovery.ErrNoMatch):
						none.Add(1)
					default:
						t.Errorf("use: %v", err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if ok.Load() != 1 || none.Load() != parallel-1 {
				t.Fatalf("round %d: %d successes and %d refusals, want 1 and %d", round, ok.Load(), none.Load(), parallel-1)
			}
		}
	})
}
