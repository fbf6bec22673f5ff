package store

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// stmtCacheSize bounds the cache: the store's fixed queries number about a
// hundred; queries built at run time (filters, batch inserts) beyond the
// bound are simply run unprepared, as before.
const stmtCacheSize = 256

// stmtCache keeps prepared statements for SQLite, which otherwise compiles
// the SQL text again for every statement — a quarter of an MFA step's CPU.
// PostgreSQL needs none: pgx caches prepared statements per connection.
// database/sql prepares a cached statement once on each connection it runs
// on, also inside transactions (Tx.StmtContext), and re-prepares it when a
// connection is replaced.
type stmtCache struct {
	mu       sync.Mutex
	m        map[string]*sql.Stmt
	inflight map[string]bool
	closed   bool
	// background counts prepares started from inside transactions: close
	// waits for them, so no connection opens after the store is closed.
	background sync.WaitGroup
}

// lookup returns the cached statement, or nil.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[query]
}

// prepare adds query to the cache. It must never run while its caller holds
// a pooled connection (a transaction): preparing needs a connection of its
// own, and transactions all waiting for one more would deadlock the pool.
func (c *stmtCache) prepare(ctx context.Context, db *sql.DB, query string) *sql.Stmt {
	c.mu.Lock()
	if st, ok := c.m[query]; ok || c.closed || len(c.m) >= stmtCacheSize || c.inflight[query] {
		c.mu.Unlock()
		return st
	}
	if c.inflight == nil {
		c.inflight = map[string]bool{}
	}
	c.inflight[query] = true
	c.mu.Unlock()

	st, err := db.PrepareContext(ctx, query)

	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.inflight, query)
	if err != nil {
		return nil // the plain call will report the error
	}
	if c.closed {
		st.Close()
		return nil
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = st
	return st
}

// prepareLater prepares query in the background.
func (c *stmtCache) prepareLater(db *sql.DB, query string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.background.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.prepare(ctx, db, query)
	})
}

func (c *stmtCache) close() {
	c.mu.Lock()
	c.closed = true
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
	c.mu.Unlock()
	c.background.Wait()
}

// prepared returns a cached statement for query bound to this conn (the
// transaction, if any), or nil to run the query unprepared. Inside a
// transaction a missing statement is prepared in the background for next
// time, never waited for.
func (c conn) prepared(ctx context.Context, query string) *sql.Stmt {
	if c.s.dialect != SQLite {
		return nil
	}
	q := c.s.rebind(query)
	tx, inTx := c.q.(*sql.Tx)
	// Transactions and writes run on the writer (store.go), reads on
	// the pool: each has its own statements.
	cache, db := &c.s.stmts, c.s.db
	if inTx || c.q == c.s.writer {
		cache, db = &c.s.wstmts, c.s.writer
	}
	st := cache.lookup(q)
	if st == nil {
		if inTx {
			cache.prepareLater(db, q)
			return nil
		}
		if st = cache.prepare(ctx, db, q); st == nil {
			return nil
		}
	}
	if inTx {
		return tx.StmtContext(ctx, st)
	}
	return st
}
