package store

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"
)

// ConnsInTransaction borrows n connections of a PostgreSQL store's pool at
// once (all of them, when n is the pool's size) and counts those that are
// inside a transaction block, open or aborted.
func (s *DB) ConnsInTransaction(ctx context.Context, n int) (int, error) {
	conns := make([]*sql.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	in := 0
	for range n {
		c, err := s.db.Conn(ctx)
		if err != nil {
			return 0, err
		}
		conns = append(conns, c)
		err = c.Raw(func(dc any) error {
			pc, ok := dc.(*stdlib.Conn)
			if !ok {
				return errors.New("not a pgx connection")
			}
			if pc.Conn().PgConn().TxStatus() != 'I' {
				in++
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	return in, nil
}

// OpenMigratedForTest opens dsn, brings its schema up to date and closes
// it when the test ends.
func OpenMigratedForTest(t testing.TB, dsn string) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}
