package store

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"

	"gatehouse/internal/mfa"
	"gatehouse/internal/testenv"
)

// Whichever of its methods a transaction's first statement goes through,
// BEGIN is sent before it: a statement run ahead of BEGIN would commit on
// its own, outside the transaction it was meant to be part of.
func TestEveryFirstStatementRunsInsideTheTransaction(t *testing.T) {
	ctx := context.Background()
	db := openPostgresInside(t)
	first := map[string]func(tx *pgTx) error{
		"ExecContext": func(tx *pgTx) error {
			_, err := tx.ExecContext(ctx, "SELECT 1")
			return err
		},
		"QueryContext": func(tx *pgTx) error {
			rows, err := tx.QueryContext(ctx, "SELECT 1")
			if err != nil {
				return err
			}
			return rows.Close()
		},
		"QueryRowContext": func(tx *pgTx) error {
			var n int
			return tx.QueryRowContext(ctx, "SELECT 1").Scan(&n)
		},
		"row": func(tx *pgTx) error {
			var n int
			return tx.row(ctx, "SELECT 1").Scan(&n)
		},
		"pipeline": func(tx *pgTx) error { return tx.pipeline(ctx, nil) },
	}
	for name, run := range first {
		t.Run(name, func(t *testing.T) {
			var status byte
			err := db.pgTransaction(ctx, func(tx *pgTx) error {
				if err := run(tx); err != nil {
					return err
				}
				return tx.conn.Raw(func(dc any) error {
					status = dc.(*stdlib.Conn).Conn().PgConn().TxStatus()
					return nil
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			if status != 'T' {
				t.Fatalf("after the first statement the connection's status is %q, want 'T' (in a transaction)", status)
			}
		})
	}
}

// At the MFA step the devices are read in the round trip that holds the
// account's throttle and ListDevices takes that answer: the round trip it
// saves is what the read-ahead is for, so losing it is a failure too.
func TestDevicesReadAheadTravelWithTheHold(t *testing.T) {
	ctx := context.Background()
	db := openPostgresInside(t)
	err := db.Atomically(ctx, func(ctx context.Context) error {
		tx := db.ctxTx(ctx).(*pgTx)
		db.ReadAheadDevices(ctx, "nobody")
		if _, err := db.HoldAttempts(ctx, "account:nobody"); err != nil {
			return err
		}
		if tx.ahead == nil || !tx.ahead.sent {
			t.Fatalf("after the hold the read ahead is %+v, want it sent", tx.ahead)
		}
		// Mark the answer, to see ListDevices hand it out.
		tx.ahead.val = []mfa.Device{{ID: "read ahead"}}
		ds, err := db.ListDevices(ctx, "nobody")
		if err != nil {
			return err
		}
		if len(ds) != 1 || ds[0].ID != "read ahead" {
			t.Errorf("ListDevices = %+v: it ran a query of its own instead of taking the answer read ahead", ds)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// openPostgresInside is a fresh, migrated PostgreSQL schema for tests
// inside the package.
func openPostgresInside(t *testing.T) *DB {
	t.Helper()
	return OpenMigratedForTest(t, testenv.PostgresDSN(t))
}

// Transactions run at READ COMMITTED whatever the database's default: the
// throttle's hold depends on it (beginSQL).
func TestTransactionsAreReadCommittedWhateverTheDefault(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.PostgresDSN(t)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	// pgx sends unknown DSN parameters as run-time settings.
	db := OpenMigratedForTest(t, dsn+sep+"default_transaction_isolation="+url.PathEscape("repeatable read"))
	var def string
	if err := db.c().row(ctx, `SELECT current_setting('default_transaction_isolation')`).Scan(&def); err != nil || def != "repeatable read" {
		t.Fatalf("the connection's default isolation is %q (%v): the test did not set it", def, err)
	}
	paths := map[string]func(ctx context.Context) error{
		"a transaction that starts with a read": func(ctx context.Context) error { return nil },
		"a transaction that starts with the hold": func(ctx context.Context) error {
			_, err := db.HoldAttempts(ctx, "account:nobody")
			return err
		},
	}
	for name, first := range paths {
		t.Run(name, func(t *testing.T) {
			var level string
			err := db.Atomically(ctx, func(ctx context.Context) error {
				if err := first(ctx); err != nil {
					return err
				}
				return db.c().row(ctx, `SELECT current_setting('transaction_isolation')`).Scan(&level)
			})
			if err != nil {
				t.Fatal(err)
			}
			if level != "read committed" {
				t.Fatalf("transaction isolation %q, want read committed", level)
			}
		})
	}
}
