package store

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"

	"gatehouse/internal/testenv"
)

// Whichever of its methods a transaction's first statement goes through,
// BEGIN is sent before it: a statement run ahead of BEGIN would commit on
// its own, outside the transaction it was meant to be part of.
func TestEveryFirstStatementRunsInsideTheTransaction(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, testenv.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
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
