package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"gatehouse/internal/audit"
)

// groupMax bounds how many callers share one SQLite commit, and so how long
// the first of them waits for the others (each runs for a fraction of a
// millisecond).
const groupMax = 32

// errClosed answers a transaction asked of a closed store.
var errClosed = errors.New("store: closed")

// groupCommitter runs SQLite's Atomically transactions on one goroutine and
// commits the ones that arrive together as one: SQLite writes one
// transaction at a time, and about half of each transaction of a sign-in
// step was BEGIN and COMMIT (its pages written to the WAL), so under load
// the writer, not the CPU, bounded the sign-ins per second. Each caller's
// work runs inside a SAVEPOINT, so one that fails rolls back only itself;
// each caller is answered only after the shared COMMIT, so no caller acts
// on a write that is not durable, and if the COMMIT fails, every caller of
// the batch gets the error (none of their writes happened).
type groupCommitter struct {
	s       *DB
	queue   chan *groupReq // unbuffered: a waiting sender is a caller ready to join
	stop    chan struct{}
	stopped sync.WaitGroup
	once    sync.Once
}

type groupReq struct {
	ctx  context.Context
	fn   func(ctx context.Context) error
	done chan groupResult
}

type groupResult struct {
	err   error
	panic any
}

func newGroupCommitter(s *DB) *groupCommitter {
	g := &groupCommitter{s: s, queue: make(chan *groupReq), stop: make(chan struct{})}
	g.stopped.Go(g.run)
	return g
}

// do runs fn as a member of the next batch and returns its outcome.
func (g *groupCommitter) do(ctx context.Context, fn func(ctx context.Context) error) error {
	r := &groupReq{ctx: ctx, fn: fn, done: make(chan groupResult, 1)}
	select {
	case g.queue <- r:
	case <-g.stop:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once taken, fn runs (or is skipped) and is answered: wait for it even
	// if ctx ends, so that nothing of this call outlives it.
	res := <-r.done
	if res.panic != nil {
		panic(res.panic) // on the caller's goroutine, as without batching
	}
	return res.err
}

func (g *groupCommitter) close() {
	g.once.Do(func() { close(g.stop) })
	g.stopped.Wait()
}

func (g *groupCommitter) run() {
	for {
		select {
		case <-g.stop:
			return
		case r := <-g.queue:
			g.batch(r)
		}
	}
}

func (g *groupCommitter) batch(first *groupReq) {
	tx, err := g.s.writer.BeginTx(context.Background(), nil)
	if err != nil {
		first.done <- groupResult{err: err}
		return
	}
	members := []*groupReq{first}
	results := []groupResult{g.member(tx, first)}
	for len(members) < groupMax {
		select {
		case r := <-g.queue:
			members = append(members, r)
			results = append(results, g.member(tx, r))
			continue
		default:
		}
		break
	}
	if err := tx.Commit(); err != nil {
		for i := range results {
			if results[i].panic == nil {
				results[i].err = err
			}
		}
	}
	for i, r := range members {
		r.done <- results[i]
	}
}

// member runs one caller's work in a savepoint of the batch's transaction.
func (g *groupCommitter) member(tx *sql.Tx, r *groupReq) (res groupResult) {
	if err := r.ctx.Err(); err != nil {
		return groupResult{err: err}
	}
	// A cancelled statement would be interrupted, and SQLite may then roll
	// back the whole transaction, the other callers' work included: the
	// caller's cancellation is honoured before it starts, not during.
	ctx := context.WithoutCancel(r.ctx)
	if _, err := tx.ExecContext(ctx, `SAVEPOINT member`); err != nil {
		return groupResult{err: err}
	}
	defer func() {
		if p := recover(); p != nil {
			res = groupResult{panic: p}
		}
		if res.err != nil || res.panic != nil {
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO member`); err != nil && res.panic == nil {
				res.err = fmt.Errorf("%w (and its rollback: %v)", res.err, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE member`); err != nil && res.err == nil && res.panic == nil {
			res.err = err
		}
	}()
	if err := r.fn(context.WithValue(ctx, txKey{}, &ctxTx{s: g.s, tx: tx})); err != nil {
		return groupResult{err: err}
	}
	if events := audit.Take(r.ctx); len(events) > 0 {
		return groupResult{err: insertEvents(ctx, conn{q: tx, s: g.s}, events, time.Now())}
	}
	return groupResult{}
}
