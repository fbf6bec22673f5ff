package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"gatehouse/internal/store"
)

// TestAtomicCallsRunTogetherFailAlone runs many transactions at once (on
// SQLite they share commits: group.go): each one's writes are there when its
// call returns, a transaction that fails or panics leaves nothing behind and
// takes no other transaction with it, and the panic reaches its own caller.
func TestAtomicCallsRunTogetherFailAlone(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const n = 60
		var wg sync.WaitGroup
		errs := make([]error, n)
		panics := make([]any, n)
		for i := range n {
			wg.Go(func() {
				defer func() { panics[i] = recover() }()
				errs[i] = db.Atomically(ctx, func(ctx context.Context) error {
					if _, err := db.PutMetaIfAbsent(ctx, fmt.Sprintf("k%d", i), []byte("v")); err != nil {
						return err
					}
					switch i % 5 {
					case 1:
						return errors.New("refused")
					case 2:
						panic(fmt.Sprintf("panic %d", i))
					}
					return nil
				})
				// Committed before the call returned: another connection sees it.
				if _, ok, err := db.GetMeta(ctx, fmt.Sprintf("k%d", i)); err != nil || ok != (i%5 != 1 && i%5 != 2) {
					t.Errorf("k%d right after its call: present %v, %v", i, ok, err)
				}
			})
		}
		wg.Wait()
		for i := range n {
			switch i % 5 {
			case 1:
				if errs[i] == nil || errs[i].Error() != "refused" {
					t.Errorf("call %d returned %v, want its own error", i, errs[i])
				}
			case 2:
				if panics[i] != fmt.Sprintf("panic %d", i) {
					t.Errorf("call %d: panic %v reached its caller, want its own", i, panics[i])
				}
			default:
				if errs[i] != nil || panics[i] != nil {
					t.Errorf("call %d failed with %v / %v", i, errs[i], panics[i])
				}
			}
			_, ok, err := db.GetMeta(ctx, fmt.Sprintf("k%d", i))
			if err != nil || ok != (i%5 != 1 && i%5 != 2) {
				t.Errorf("k%d: present %v, %v", i, ok, err)
			}
		}
	})
}

// TestAtomicAfterCloseFails: a transaction asked of a closed store gets an
// error instead of waiting for ever.
func TestAtomicAfterCloseFails(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		db.Close()
		err := db.Atomically(context.Background(), func(ctx context.Context) error { return nil })
		if err == nil {
			t.Fatal("Atomically on a closed store succeeded")
		}
	})
}
