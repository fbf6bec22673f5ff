package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// openPostgres connects to PostgreSQL through pgx's database/sql driver, so
// the same queries serve both dialects.
func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: the PostgreSQL DSN %s is not valid: %v", Redact(dsn), redactErr(err, dsn))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: cannot reach PostgreSQL at %s: %v", Redact(dsn), redactErr(err, dsn))
	}
	return &DB{db: db, writer: db, dialect: Postgres}, nil
}

// Encrypted reports whether connections to the database use TLS (always
// false for SQLite). pgx's default, sslmode=prefer, encrypts whenever the
// server offers it, loopback included, which costs CPU on both ends.
func (s *DB) Encrypted(ctx context.Context) (bool, error) {
	if s.dialect != Postgres {
		return false, nil
	}
	var ssl bool
	err := s.c().row(ctx, `SELECT COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)`).Scan(&ssl)
	return ssl, err
}
