package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgTx is a PostgreSQL transaction run by hand — BEGIN and COMMIT sent by
// the store on one pooled connection — instead of database/sql's *sql.Tx,
// so that statements whose answer nothing waits for can share a round trip
// (pgx's pipelined batches) with the next statement that is sent:
//
//   - BEGIN goes with the transaction's first statement when that is an
//     exec or a pipeline (HoldAttempts), instead of alone;
//   - writes queued with later (the audit events) go with the next
//     statement, or with COMMIT;
//   - a read asked for ahead (readAhead: the MFA step's devices) goes
//     last in the next pipelined round trip, and the call that wants it
//     takes the answer (takeAhead) if nothing was sent in between.
//
// On loopback each round trip was about 3.5 % of an MFA step's cost
// (three extra ones: 2,140 → 1,920 req/s), most of it system calls and
// wake-ups in both processes rather than work in the database.
//
// Statements still run in the order they were issued, so what the
// transaction sees and commits is what it would be one statement at a
// time; only an error of a queued write surfaces later, from the statement
// it was sent with, and fails the transaction just the same.
type pgTx struct {
	conn    *sql.Conn
	begun   bool
	pending []pgStmt
	// ahead is a read asked for ahead of time (readAhead): sent at the
	// end of the next pipelined round trip, and its answer handed to the
	// store call that asks for it right after; any other statement in
	// between drops it, since the transaction may have changed what it
	// read.
	ahead *pgRead
}

// pgRead is a read sent ahead of the call that wants its answer.
type pgRead struct {
	key   string // what the call that takes it asks for
	query string
	args  []any
	scan  func(pgx.Rows) (any, error)
	sent  bool
	val   any
	err   error
}

// beginSQL names the isolation level instead of taking the database's
// default: holding the account's throttle (HoldAttempts) relies on each
// statement seeing what was committed before it began, which is READ
// COMMITTED. Under a default of REPEATABLE READ the counter's read would
// see the snapshot of the transaction's start, from before the lock was
// granted, and concurrent guesses would fail to serialize (500s) instead
// of being counted.
const beginSQL = "begin isolation level read committed"

type pgStmt struct {
	query string
	args  []any
}

// pgTransaction runs fn in a transaction on a connection of its own and
// commits when fn returns nil. Whatever happens in fn — an error, a panic,
// a cancelled context — the connection goes back to the pool only outside
// a transaction; one that cannot be rolled back is closed instead.
func (s *DB) pgTransaction(ctx context.Context, fn func(t *pgTx) error) error {
	c, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	t := &pgTx{conn: c}
	defer t.release()
	if err := fn(t); err != nil {
		return err
	}
	return t.commit(ctx)
}

// later queues a write whose result nobody reads: it is sent with the
// transaction's next statement.
func (t *pgTx) later(query string, args ...any) {
	t.pending = append(t.pending, pgStmt{query, args})
}

// readAhead asks for r to be sent with the transaction's next pipelined
// round trip (HoldAttempts'), after that round trip's own statements; the
// call that wants the answer then takes it with takeAhead instead of a
// round trip of its own.
func (t *pgTx) readAhead(r *pgRead) {
	t.ahead = r
}

// takeAhead returns the answer of the read sent ahead for key, if that
// read was sent and nothing was sent after it.
func (t *pgTx) takeAhead(key string) (val any, err error, ok bool) {
	r := t.ahead
	if r == nil || !r.sent || r.key != key {
		return nil, nil, false
	}
	t.ahead = nil
	return r.val, r.err, true
}

// dropSentAhead forgets an answer read ahead once another statement goes:
// the transaction may have changed what it read.
func (t *pgTx) dropSentAhead() {
	if t.ahead != nil && t.ahead.sent {
		t.ahead = nil
	}
}

// pipeline sends, in one round trip, BEGIN if it has not been sent, the
// queued writes, what queue adds to the batch (whose callbacks read the
// answers), and last a read asked for ahead. It returns the first error.
func (t *pgTx) pipeline(ctx context.Context, queue func(b *pgx.Batch)) error {
	t.dropSentAhead()
	return t.conn.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: unexpected PostgreSQL driver connection %T", dc)
		}
		b := &pgx.Batch{}
		if !t.begun {
			b.Queue(beginSQL)
			t.begun = true
		}
		for _, p := range t.pending {
			b.Queue(p.query, p.args...)
		}
		t.pending = nil
		if queue != nil {
			queue(b)
		}
		if r := t.ahead; r != nil {
			r.sent = true
			b.Queue(r.query, r.args...).Query(func(rows pgx.Rows) error {
				r.val, r.err = r.scan(rows)
				return r.err
			})
		}
		return pc.Conn().SendBatch(ctx, b).Close()
	})
}

// ready sends BEGIN and the queued writes before a statement that returns
// rows: database/sql cannot read rows out of a batch.
func (t *pgTx) ready(ctx context.Context) error {
	t.ahead = nil // a statement outside a pipeline: nothing carries it
	if t.begun && len(t.pending) == 0 {
		return nil
	}
	if len(t.pending) == 0 {
		t.begun = true
		_, err := t.conn.ExecContext(ctx, beginSQL)
		return err
	}
	return t.pipeline(ctx, nil)
}

// ExecContext sends the statement together with BEGIN and the queued
// writes, when there are any.
func (t *pgTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if t.begun && len(t.pending) == 0 {
		t.ahead = nil
		return t.conn.ExecContext(ctx, query, args...)
	}
	var tag pgconn.CommandTag
	err := t.pipeline(ctx, func(b *pgx.Batch) {
		b.Queue(query, args...).Exec(func(ct pgconn.CommandTag) error {
			tag = ct
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return driver.RowsAffected(tag.RowsAffected()), nil
}

func (t *pgTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := t.ready(ctx); err != nil {
		return nil, err
	}
	return t.conn.QueryContext(ctx, query, args...)
}

// QueryRowContext is there for the querier interface; the store reads a row
// through row, which hands on ready's error intact. *sql.Row cannot carry
// one, so here a failed ready becomes a query on a cancelled context,
// which fails without being sent.
func (t *pgTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if err := t.ready(ctx); err != nil {
		dead, cancel := context.WithCancelCause(ctx)
		cancel(err)
		return t.conn.QueryRowContext(dead, query, args...)
	}
	return t.conn.QueryRowContext(ctx, query, args...)
}

// row is QueryRowContext with ready's error as the Scan's.
func (t *pgTx) row(ctx context.Context, query string, args ...any) scanner {
	if err := t.ready(ctx); err != nil {
		return errRow{err}
	}
	return t.conn.QueryRowContext(ctx, query, args...)
}

// scanner is what a single-row query gives: *sql.Row, or errRow.
type scanner interface {
	Scan(dest ...any) error
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// errCommitRolledBack: PostgreSQL answers COMMIT with ROLLBACK when a
// statement of the transaction had failed, without an error of its own.
var errCommitRolledBack = errors.New("store: the transaction was rolled back by the database (a statement in it had failed)")

// commit sends the queued writes and COMMIT in one round trip. A
// transaction that never sent a statement has nothing to commit.
func (t *pgTx) commit(ctx context.Context) error {
	t.ahead = nil // never read after COMMIT
	if !t.begun && len(t.pending) == 0 {
		return nil
	}
	return t.pipeline(ctx, func(b *pgx.Batch) {
		b.Queue("commit").Exec(func(ct pgconn.CommandTag) error {
			if ct.String() != "COMMIT" {
				return errCommitRolledBack
			}
			return nil
		})
	})
}

// release hands the connection back to the pool, rolled back first if a
// transaction is still open on it (fn failed, or COMMIT did not get
// through). pgx's driver would discard such a connection when it is next
// lent (stdlib.Conn.ResetSession); rolling back here keeps it, and the
// next borrower does not pay for a new connection. One that cannot be
// rolled back is closed.
func (t *pgTx) release() {
	_ = t.conn.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok || pc.Conn().IsClosed() {
			return driver.ErrBadConn
		}
		if pc.Conn().PgConn().TxStatus() == 'I' {
			return nil
		}
		// The caller's context may be what ended the transaction.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := pc.Conn().Exec(ctx, "rollback"); err != nil || pc.Conn().PgConn().TxStatus() != 'I' {
			return driver.ErrBadConn
		}
		return nil
	})
	_ = t.conn.Close()
}
