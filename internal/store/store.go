// Package store keeps Gatehouse's state in SQL: SQLite by default, PostgreSQL
// for many nodes. One set of queries serves both (written with '?' and
// rebound per dialect); each method is one transaction, so every invariant
// that needs atomicity (replay guard, device limits, unique names) holds on
// one node or many.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"

	"gatehouse/internal/audit"
	"gatehouse/internal/throttle"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations
var migrations embed.FS

// Dialect names a SQL dialect.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is the store.
type DB struct {
	db      *sql.DB
	dialect Dialect
	stmts   stmtCache
	// writer runs every write: on PostgreSQL the same pool as db; on
	// SQLite a pool of one connection. SQLite allows one writer at a time
	// anyway; with one connection the others queue in the pool and start
	// the moment it is free, instead of polling for the file lock in the
	// busy handler's 1, 2, 5, 10 … ms sleeps, and the writer's page cache
	// survives from one write to the next (SQLite empties a connection's
	// cache when another connection has written). Other processes on the
	// same file still meet the busy timeout.
	writer *sql.DB
	wstmts stmtCache
	// stopCheckpoints ends the SQLite checkpointer (Close).
	stopCheckpoints func()
	// group batches SQLite's Atomically transactions (group.go).
	group *groupCommitter
}

// SQLiteDSN is the connection string for a SQLite file: WAL so readers do
// not wait for the writer, a busy timeout so writers queue instead of failing,
// immediate transactions so a read-then-write transaction never deadlocks on
// upgrading its lock, and foreign keys on.
func SQLiteDSN(path string) string {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)",
		// Checkpoints run in the background (checkpointer); this bound
		// is the fallback should it fall behind: about 40 MB of WAL.
		"wal_autocheckpoint(10000)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// Open connects to dsn: "sqlite:PATH", a bare file path, or postgres://….
func Open(ctx context.Context, dsn string) (*DB, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return openPostgres(ctx, dsn)
	case strings.Contains(dsn, "://") && !strings.HasPrefix(dsn, "sqlite:"):
		scheme, _, _ := strings.Cut(dsn, "://")
		return nil, fmt.Errorf("store: unsupported database %q: use sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB", scheme)
	case !strings.HasPrefix(dsn, "sqlite:") && strings.Contains(dsn, "="):
		return nil, fmt.Errorf("store: %q looks like a keyword/value connection string; write PostgreSQL as postgres://USER:PASSWORD@HOST:PORT/DB, or SQLite as sqlite:PATH", Redact(dsn))
	default:
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return nil, errors.New("store: empty database path")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		db, err := sql.Open("sqlite", SQLiteDSN(path))
		if err != nil {
			return nil, fmt.Errorf("store: open %s: %w", path, err)
		}
		// Every connection is kept: database/sql's default keeps two idle
		// and closes the rest, and a new SQLite connection re-reads the
		// schema and re-prepares every statement — under load that churn
		// was a sixth of an MFA step's CPU.
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
		w, err := sql.Open("sqlite", SQLiteDSN(path))
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("store: open %s: %w", path, err)
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		s := &DB{db: db, writer: w, dialect: SQLite}
		if err := db.PingContext(ctx); err != nil {
			s.closePools()
			return nil, fmt.Errorf("store: open %s: %w", path, err)
		}
		// A new database file is made readable by its owner only: it holds
		// password hashes and sealed secrets.
		_ = os.Chmod(path, 0o600)
		s.stopCheckpoints = s.checkpointer(CheckpointEvery)
		s.group = newGroupCommitter(s)
		return s, nil
	}
}

// Redact hides the password in a DSN so it can be logged.
// It works on the text, not a parsed URL, so a DSN that does not parse
// (the very case that gets logged) is masked too: the password in the user
// part and any password= parameter or keyword.
func Redact(dsn string) string {
	dsn = userinfoPassword.ReplaceAllString(dsn, "${1}xxxxx@")
	return passwordParam.ReplaceAllString(dsn, "${1}xxxxx")
}

var (
	userinfoPassword = regexp.MustCompile(`(://[^:/@?#\s]*:)[^@\s]*@`)
	passwordParam    = regexp.MustCompile(`(?i)((?:^|[?&\s])password=)[^&\s]*`)
)

// dsnSecrets returns the password values in a DSN, so error messages that
// quote them can be scrubbed.
func dsnSecrets(dsn string) []string {
	var out []string
	if m := regexp.MustCompile(`://[^:/@?#\s]*:([^@\s]*)@`).FindStringSubmatch(dsn); m != nil && m[1] != "" {
		out = append(out, m[1])
		if dec, err := url.PathUnescape(m[1]); err == nil && dec != m[1] {
			out = append(out, dec)
		}
	}
	for _, m := range regexp.MustCompile(`(?i)(?:^|[?&\s])password=([^&\s]*)`).FindAllStringSubmatch(dsn, -1) {
		if m[1] != "" {
			out = append(out, m[1])
			if dec, err := url.QueryUnescape(m[1]); err == nil && dec != m[1] {
				out = append(out, dec)
			}
		}
	}
	return out
}

// Close closes the database.
func (s *DB) Close() error {
	if s.group != nil {
		s.group.close()
	}
	if s.stopCheckpoints != nil {
		s.stopCheckpoints()
	}
	s.stmts.close()
	s.wstmts.close()
	return s.closePools()
}

func (s *DB) closePools() error {
	if s.writer != s.db {
		_ = s.writer.Close()
	}
	return s.db.Close()
}

// Dialect reports which database this is.
func (s *DB) Dialect() Dialect { return s.dialect }

// Ping checks the database answers.
func (s *DB) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Migrate brings the schema up to date.
func (s *DB) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations/"+string(s.dialect))
	if err != nil {
		return err
	}
	gd := goose.DialectSQLite3
	if s.dialect == Postgres {
		gd = goose.DialectPostgres
	}
	var opts []goose.ProviderOption
	if s.dialect == Postgres {
		// Nodes that start together take turns: the first migrates, the
		// others wait on an advisory lock and then find nothing to do.
		// Retry every second (goose's default is 5 s) for up to 5 minutes.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gd, s.db, sub, opts...)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// rebind turns '?' placeholders into the dialect's. The store's queries
// are a small, fixed set of strings, so PostgreSQL's forms are kept once
// made (up to maxRebound of them, so that a query built from input could
// never grow the cache without bound): rebuilding each on every call was
// about 3 % of the MFA step's CPU.
func (s *DB) rebind(q string) string {
	if s.dialect != Postgres {
		return q
	}
	if r, ok := rebound.Load(q); ok {
		return r.(string)
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	r := b.String()
	if reboundN.Add(1) <= maxRebound {
		rebound.Store(q, r)
	}
	return r
}

var (
	rebound  sync.Map // query with ? → with $n
	reboundN atomic.Int32
)

const maxRebound = 1024

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn binds a querier to a dialect so helpers can take either.
type conn struct {
	q querier
	s *DB
}

func (c conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c = c.bind(ctx)
	if !c.inTx() {
		// exec is how the store writes: outside a transaction, as a
		// transaction of its own on the writer.
		c.q = c.s.writer
	}
	if st := c.prepared(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.q.ExecContext(ctx, c.s.rebind(query), args...)
}

func (c conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c = c.bind(ctx)
	if st := c.prepared(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.q.QueryContext(ctx, c.s.rebind(query), args...)
}

func (c conn) row(ctx context.Context, query string, args ...any) scanner {
	c = c.bind(ctx)
	if t, ok := c.q.(*pgTx); ok {
		return t.row(ctx, c.s.rebind(query), args...)
	}
	if st := c.prepared(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.q.QueryRowContext(ctx, c.s.rebind(query), args...)
}

// bind makes a statement on the database join the transaction ctx carries
// (Atomically), so that every store call inside one commits with it.
func (c conn) bind(ctx context.Context) conn {
	if !c.inTx() {
		if tx := c.s.ctxTx(ctx); tx != nil {
			c.q = tx
		}
	}
	return c
}

func (c conn) inTx() bool {
	switch c.q.(type) {
	case *sql.Tx, *pgTx:
		return true
	}
	return false
}

func (s *DB) c() conn { return conn{q: s.db, s: s} }

// w is c for a statement that writes and returns rows (… RETURNING).
func (s *DB) w() conn { return conn{q: s.writer, s: s} }

// tx runs fn in one transaction, and writes the audit events attached to
// ctx in the same transaction: a change and its record commit together or
// not at all. Inside Atomically, fn runs in the transaction already open.
func (s *DB) tx(ctx context.Context, fn func(c conn) error) error {
	// run is fn, then the events, on one transaction's conn.
	run := func(c conn) error {
		if err := fn(c); err != nil {
			return err
		}
		if events := audit.Take(ctx); len(events) > 0 {
			return insertEvents(ctx, c, events, time.Now())
		}
		return nil
	}
	if tx := s.ctxTx(ctx); tx != nil {
		return run(conn{q: tx, s: s})
	}
	if s.dialect == Postgres {
		return s.pgTransaction(ctx, func(t *pgTx) error { return run(conn{q: t, s: s}) })
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := run(conn{q: tx, s: s}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Atomically runs fn in one transaction: every call on this store made with
// the context fn is given joins it, and they all commit when fn returns nil,
// or none of them does. fn must not use the store from another goroutine,
// and should be quick: on SQLite it holds the database's one write lock,
// and runs, batched with others, on the group committer's goroutine
// (group.go): a panic in fn comes back to the caller.
func (s *DB) Atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	if s.ctxTx(ctx) != nil {
		return fn(ctx)
	}
	if s.group != nil {
		return s.group.do(ctx, fn)
	}
	return s.tx(ctx, func(c conn) error {
		return fn(context.WithValue(ctx, txKey{}, &ctxTx{s: s, tx: c.q}))
	})
}

type txKey struct{}

type ctxTx struct {
	s  *DB
	tx querier // *sql.Tx, or *pgTx on PostgreSQL
}

// ctxTx returns the transaction of this store that ctx carries, if any.
func (s *DB) ctxTx(ctx context.Context) querier {
	if t, ok := ctx.Value(txKey{}).(*ctxTx); ok && t.s == s {
		return t.tx
	}
	return nil
}

// CheckpointEvery is how often a SQLite store copies its write-ahead log
// into the database file while it is being written, and checkpointIdle how
// often it looks when nothing was written since the last look. Many small
// checkpoints beat fewer big ones: at 2,375 MFA steps a second, p99 was
// 42 ms with a checkpoint every 2 s, 21 ms every 200 ms and 7 ms every
// 50 ms, at the same throughput (each checkpoint competes with requests
// for the two cores and the disk while it runs, and requests queue behind
// a long one).
const (
	CheckpointEvery = 50 * time.Millisecond
	checkpointIdle  = 500 * time.Millisecond
)

// checkpointer copies the WAL into the database every interval, from a
// goroutine of its own. SQLite's automatic checkpoint would run in the
// commit that crosses its threshold, inside the writer lock, so every
// writer queued behind it; a passive checkpoint here never blocks writers.
// It returns a function that stops it and waits for it to finish.
func (s *DB) checkpointer(interval time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTimer(interval)
		defer t.Stop()
		last := -1
		for {
			select {
			case <-done:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				// An error (the database busy or gone) is retried at the next
				// tick; the automatic checkpoint remains the backstop.
				var busy, frames, copied int
				err := s.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied)
				cancel()
				// The same log as at the last look: nothing was written, so an
				// idle server need not wake twenty times a second.
				next := interval
				if err == nil && frames == last {
					next = checkpointIdle
				}
				last = frames
				t.Reset(next)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	m := err.Error()
	return strings.Contains(m, "UNIQUE constraint failed") || strings.Contains(m, "SQLSTATE 23505") || strings.Contains(m, "duplicate key value")
}

// GetMeta reads a value from the meta table; ok is false when absent.
func (s *DB) GetMeta(ctx context.Context, key string) (value []byte, ok bool, err error) {
	err = s.c().row(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	return value, err == nil, err
}

// PutMetaIfAbsent stores value unless key already has one; it reports
// whether it stored it.
func (s *DB) PutMetaIfAbsent(ctx context.Context, key string, value []byte) (bool, error) {
	res, err := s.c().exec(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, value)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Sweep deletes expired sessions, pending enrollments and WebAuthn
// challenges, and throttle counters that are neither locking nor recent
// (guesses against made-up usernames would otherwise grow the table without
// bound).
func (s *DB) Sweep(ctx context.Context, now time.Time) error {
	c := s.c()
	if _, err := c.exec(ctx, `DELETE FROM throttles WHERE locked_until <= ? AND last_failure_at <= ?`, ms(now), ms(now.Add(-throttle.ForgetAfter))); err != nil {
		return err
	}
	// A bucket whose TAT has passed is full: the same as no row.
	if _, err := c.exec(ctx, `DELETE FROM rate_buckets WHERE tat <= ?`, ms(now)); err != nil {
		return err
	}
	if _, err := c.exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, ms(now)); err != nil {
		return err
	}
	if _, err := c.exec(ctx, `DELETE FROM mfa_devices WHERE status = 'pending' AND expires_at <= ?`, ms(now)); err != nil {
		return err
	}
	return s.SweepChallenges(ctx, now)
}

// redactErr keeps a driver's error message, on one line, but never the
// DSN's password.
func redactErr(err error, dsn string) string {
	msg := Redact(strings.Join(strings.Fields(err.Error()), " "))
	for _, pw := range dsnSecrets(dsn) {
		msg = strings.ReplaceAll(msg, pw, "xxxxx")
	}
	return msg
}

// collect scans every row of a query with scan: the one loop behind every
// list the store returns.
func collect[T any](rows *sql.Rows, err error, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanAll(rows, scan)
}

// scanAll reads every row with scan: rows is *sql.Rows or pgx.Rows.
func scanAll[T any](rows interface {
	Next() bool
	Scan(...any) error
	Err() error
}, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
