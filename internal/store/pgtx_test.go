package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"gatehouse/internal/account"
	"gatehouse/internal/audit"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// openPostgres opens a fresh, migrated schema.
func openPostgres(t *testing.T) *store.DB {
	t.Helper()
	return openMigrated(t, testenv.PostgresDSN(t))
}

// The audit events of a transaction are sent with its next statement or
// its COMMIT on PostgreSQL; they must still be there for a read that
// follows them in the transaction, and gone with a rollback.
func TestEventsRecordedInATransactionAreReadByItAndRolledBackWithIt(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		refused := errors.New("refused")
		err := db.Atomically(ctx, func(ctx context.Context) error {
			if err := db.RecordEvents(ctx, audit.Event{Name: "one", Result: audit.Success, TargetUserID: "u1"},
				audit.Event{Name: "two", Result: audit.Success, TargetUserID: "u1"}); err != nil {
				return err
			}
			evs, n, err := db.ListEvents(ctx, audit.Filter{UserID: "u1", Limit: 10})
			if err != nil {
				return err
			}
			if n != 2 || len(evs) != 2 {
				t.Errorf("inside the transaction: %d events (total %d), want 2", len(evs), n)
			}
			return refused
		})
		if !errors.Is(err, refused) {
			t.Fatalf("Atomically returned %v, want fn's error", err)
		}
		if _, n, err := db.ListEvents(ctx, audit.Filter{UserID: "u1", Limit: 10}); err != nil || n != 0 {
			t.Fatalf("after the rollback: %d events, %v; want none", n, err)
		}
		// The same events commit when fn succeeds, with what else it wrote.
		err = db.Atomically(ctx, func(ctx context.Context) error {
			if err := db.RecordEvents(ctx, audit.Event{Name: "one", Result: audit.Success, TargetUserID: "u1"}); err != nil {
				return err
			}
			_, err := db.PutMetaIfAbsent(ctx, "after-event", []byte("v"))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, n, err := db.ListEvents(ctx, audit.Filter{UserID: "u1", Limit: 10}); err != nil || n != 1 {
			t.Fatalf("after the commit: %d events, %v; want 1", n, err)
		}
	})
}

// A write queued for later that the database refuses fails the
// transaction it belongs to, even when nothing is sent after it but
// COMMIT, and takes the transaction's other writes with it.
func TestAQueuedWriteTheDatabaseRefusesFailsItsTransaction(t *testing.T) {
	db := openPostgres(t)
	ctx := context.Background()
	err := db.Atomically(ctx, func(ctx context.Context) error {
		if _, err := db.PutMetaIfAbsent(ctx, "before-bad-event", []byte("v")); err != nil {
			return err
		}
		// PostgreSQL's text cannot hold a NUL byte.
		return db.RecordEvents(ctx, audit.Event{Name: "bad", Result: audit.Success, Detail: "a\x00b"})
	})
	if err == nil {
		t.Fatal("a transaction whose queued write was refused committed")
	}
	if _, ok, err := db.GetMeta(ctx, "before-bad-event"); err != nil || ok {
		t.Fatalf("the transaction's other write: present %v, %v; want rolled back", ok, err)
	}
	// Outside Atomically a store call is its own transaction: same rule.
	if err := db.RecordEvents(ctx, audit.Event{Name: "bad", Detail: "\x00"}); err == nil {
		t.Fatal("RecordEvents of a refused event reported success")
	}
	assertPoolOutsideTransactions(t, db)
}

// PostgreSQL answers COMMIT with ROLLBACK, and no error, when a statement
// of the transaction failed; a caller that went on after such an error
// must not be told its transaction committed.
func TestAtomicallyReportsATransactionTheDatabaseRolledBack(t *testing.T) {
	db := openPostgres(t)
	ctx := context.Background()
	addUser(t, db, "u1", "alice")
	err := db.Atomically(ctx, func(ctx context.Context) error {
		if _, err := db.PutMetaIfAbsent(ctx, "with-failed-statement", []byte("v")); err != nil {
			return err
		}
		// The username is taken: the statement fails, and fn goes on.
		_ = db.CreateUser(ctx, account.User{ID: "u2", Username: "alice", PasswordHash: "h", CreatedAt: t0})
		return nil
	})
	if err == nil {
		t.Fatal("Atomically reported success for a transaction PostgreSQL rolled back")
	}
	if _, ok, _ := db.GetMeta(ctx, "with-failed-statement"); ok {
		t.Fatal("a write of the rolled-back transaction is visible")
	}
	assertPoolOutsideTransactions(t, db)
}

// A transaction cut short by its context, by an error or by a panic
// commits nothing, queued audit events included, and leaves the pool
// lending no connection inside a transaction (the next borrower would run
// inside it, or in an aborted one).
func TestEndedTransactionsLeaveNoConnectionInATransaction(t *testing.T) {
	db := openPostgres(t)
	for i := range 40 {
		ctx, cancel := context.WithCancel(context.Background())
		func() {
			defer func() { _ = recover() }()
			_ = db.Atomically(ctx, func(ctx context.Context) error {
				if _, err := db.PutMetaIfAbsent(ctx, fmt.Sprintf("cut-%d", i), []byte("v")); err != nil {
					return err
				}
				if err := db.RecordEvents(ctx, audit.Event{Name: "queued", TargetUserID: "cut"}); err != nil {
					return err
				}
				switch i % 4 {
				case 0:
					cancel()
				case 1:
					return errors.New("refused")
				case 2:
					panic("fn panicked")
				case 3:
					// A statement after the cancel: it fails, and fn
					// returns its error.
					cancel()
					_, err := db.PutMetaIfAbsent(ctx, fmt.Sprintf("cut-after-%d", i), []byte("v"))
					return err
				}
				return nil
			})
		}()
		cancel()
	}
	ctx := context.Background()
	for i := range 40 {
		_, ok, err := db.GetMeta(ctx, fmt.Sprintf("cut-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		// Every case ends before COMMIT is sent (case 0 cancels inside
		// fn, so the COMMIT never leaves).
		if ok {
			t.Errorf("cut-%d committed", i)
		}
	}
	if _, n, err := db.ListEvents(ctx, audit.Filter{UserID: "cut", Limit: 1}); err != nil || n != 0 {
		t.Errorf("events of ended transactions: %d, %v", n, err)
	}
	assertPoolOutsideTransactions(t, db)
}

// assertPoolOutsideTransactions borrows every connection of the pool at
// once and checks none is inside a transaction: the next borrower of one
// left in an open transaction would write into it, of one left in an
// aborted transaction would fail every statement.
func assertPoolOutsideTransactions(t *testing.T, db *store.DB) {
	t.Helper()
	const poolSize = 16 // postgres.go
	n, err := db.ConnsInTransaction(context.Background(), poolSize)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d connections of the pool are inside a transaction", n)
	}
}

// activeDevice adds an active authenticator app for the user, last used at
// step 100.
func activeDevice(t *testing.T, db *store.DB, id, userID string) {
	t.Helper()
	ctx := context.Background()
	if err := db.CreatePending(ctx, pending(id, userID, "phone "+id), t0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Activate(ctx, userID, id, 100, 0, 5, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
}

// Reading the devices ahead (on PostgreSQL, in the round trip that holds
// the throttle) never changes what ListDevices returns: not for another
// user, not after the transaction wrote to them, not when nothing holds.
func TestDevicesReadAheadAreWhatListDevicesReturns(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addUser(t, db, "u1", "alice")
		addUser(t, db, "u2", "bob")
		activeDevice(t, db, "d1", "u1")
		activeDevice(t, db, "d2", "u2")
		cases := []struct {
			name string
			hold bool
			// between runs after the hold, before ListDevices(list)
			between  func(ctx context.Context) error
			list     string
			wantID   string
			wantStep any // int64, or per dialect
		}{
			{"read with the hold", true, nil, "u1", "d1", int64(100)},
			{"nothing sent after it was asked for", false, nil, "u1", "d1", int64(100)},
			{"the transaction wrote to the device after the hold", true, func(ctx context.Context) error {
				return db.RecordUse(ctx, "d1", 200, 0, t0.Add(2*time.Minute))
			}, "u1", "d1", int64(200)},
			{"another statement after the hold", true, func(ctx context.Context) error {
				_, err := db.ThrottleState(ctx, "account:u1")
				return err
			}, "u1", "d1", int64(100)},
			// Each statement of a PostgreSQL transaction sees what others
			// committed before it: so must a read that follows one.
			{"another transaction wrote, then a statement", true, func(ctx context.Context) error {
				if db.Dialect() == store.SQLite {
					return nil // the transaction holds SQLite's one writer
				}
				if err := db.RecordUse(context.Background(), "d1", 300, 0, t0.Add(3*time.Minute)); err != nil {
					return err
				}
				_, err := db.ThrottleState(ctx, "account:u1")
				return err
			}, "u1", "d1", map[store.Dialect]int64{store.SQLite: 100, store.Postgres: 300}},
			{"another user's devices asked for", true, nil, "u2", "d2", int64(100)},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				refused := errors.New("roll back")
				err := db.Atomically(ctx, func(ctx context.Context) error {
					db.ReadAheadDevices(ctx, "u1")
					if c.hold {
						if _, err := db.HoldAttempts(ctx, "account:u1"); err != nil {
							return err
						}
					}
					if c.between != nil {
						if err := c.between(ctx); err != nil {
							return err
						}
					}
					ds, err := db.ListDevices(ctx, c.list)
					if err != nil {
						return err
					}
					want, ok := c.wantStep.(int64)
					if !ok {
						want = c.wantStep.(map[store.Dialect]int64)[db.Dialect()]
					}
					if len(ds) != 1 || ds[0].ID != c.wantID || ds[0].LastStep != want {
						t.Errorf("ListDevices(%s) = %+v, want %s at step %d", c.list, ds, c.wantID, want)
					}
					return refused
				})
				if !errors.Is(err, refused) {
					t.Fatal(err)
				}
			})
		}
	})
}
