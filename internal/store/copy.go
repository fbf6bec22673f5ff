package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// tableSpec lists what CopyAll moves, parents before children. A test checks
// it names every table of the schema, so a new table cannot be forgotten.
type tableSpec struct {
	name    string
	columns []string
	bools   map[string]bool // stored as INTEGER in SQLite, BOOLEAN in PostgreSQL
}

var copyTables = []tableSpec{
	{name: "users", columns: []string{"id", "username", "email", "is_admin", "disabled", "password_hash", "must_change_password", "created_at", "mfa_version"},
		bools: map[string]bool{"is_admin": true, "disabled": true, "must_change_password": true}},
	{name: "sessions", columns: []string{"id_hash", "user_id", "state", "created_at", "last_seen_at", "expires_at", "mfa_failures"}},
	{name: "mfa_devices", columns: []string{"id", "user_id", "type", "name", "name_key", "status", "created_at", "activated_at", "last_used_at", "expires_at", "secret_key_id", "secret_ct", "last_step", "drift"}},
	{name: "throttles", columns: []string{"key", "failures", "last_failure_at", "locked_until"}},
	{name: "rate_buckets", columns: []string{"key", "tat", "refused"}},
	{name: "meta", columns: []string{"key", "value"}},
	{name: "settings", columns: []string{"key", "value", "updated_at"}},
	{name: "audit_events", columns: append([]string{"id"}, strings.Split(auditColumns, ", ")...)},
	{name: "trusted_browsers", columns: []string{"id", "user_id", "token_hash", "network", "user_agent", "created_at", "last_used_at", "expires_at"}},
	{name: "api_tokens", columns: []string{"id", "name", "token_hash", "created_at", "last_used_at", "revoked_at"}},
	{name: "email_codes", columns: []string{"session_hash", "code_hash", "expires_at", "attempts"}},
	{name: "webauthn_credentials", columns: []string{"device_id", "credential_id", "sign_count", "transports", "flags_known", "backup_eligible", "backup_state", "user_verified", "aaguid", "attestation_format", "attachment"},
		bools: map[string]bool{"flags_known": true, "backup_eligible": true, "backup_state": true, "user_verified": true}},
	{name: "webauthn_challenges", columns: []string{"challenge", "session_hash", "user_id", "kind", "device_id", "state", "created_at", "expires_at"}},
	{name: "recovery_codes", columns: []string{"user_id", "code_hash", "created_at"}},
}

// CopyCounts says how many rows of each table were copied.
type CopyCounts map[string]int

// CopyAll copies every row from src into dst, whose schema must be migrated
// and empty. Secrets move still sealed: the key-encryption key that opened
// them before opens them after. dst is written in one transaction, so a
// failed copy leaves it empty.
func CopyAll(ctx context.Context, src, dst *DB) (CopyCounts, error) {
	var n int
	if err := dst.c().row(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, fmt.Errorf("store: the destination already has %d users; migrate into an empty database", n)
	}
	var srcUsers int
	if err := src.c().row(ctx, `SELECT COUNT(*) FROM users`).Scan(&srcUsers); err != nil {
		return nil, err
	}
	if srcUsers == 0 {
		return nil, errors.New("store: the source has no users: is it the right database?")
	}
	counts := CopyCounts{}
	err := dst.tx(ctx, func(out conn) error {
		// A node (or "gatehouse migrate") may have written its own key check
		// into the empty destination; the source's is the one that matches
		// the data being copied.
		if _, err := out.exec(ctx, `DELETE FROM meta`); err != nil {
			return err
		}
		// The source is read inside one transaction too: a consistent snapshot
		// even if a server is still writing to it.
		return src.tx(ctx, func(in conn) error {
			for _, t := range copyTables {
				c, err := copyTable(ctx, in, out, t)
				if err != nil {
					return fmt.Errorf("copy %s: %w", t.name, err)
				}
				counts[t.name] = c
			}
			if dst.dialect == Postgres {
				// Rows came with their ids: move the sequence past them.
				if _, err := out.exec(ctx, `SELECT setval(pg_get_serial_sequence('audit_events', 'id'), COALESCE((SELECT MAX(id) FROM audit_events), 0) + 1, false)`); err != nil {
					return err
				}
			}
			return nil
		})
	})
	return counts, err
}

// copyBatch rows go into one INSERT: fewer round trips, well under both
// dialects' parameter limits.
const copyBatch = 200

func copyTable(ctx context.Context, in, out conn, t tableSpec) (int, error) {
	cols := strings.Join(t.columns, ", ")
	rows, err := in.query(ctx, `SELECT `+cols+` FROM `+t.name+` ORDER BY `+t.columns[0])
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var batch []any
	count, inBatch := 0, 0
	flush := func() error {
		if inBatch == 0 {
			return nil
		}
		one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(t.columns)), ", ") + ")"
		values := strings.TrimSuffix(strings.Repeat(one+", ", inBatch), ", ")
		_, err := out.exec(ctx, `INSERT INTO `+t.name+` (`+cols+`) VALUES `+values, batch...)
		batch, inBatch = batch[:0], 0
		return err
	}
	for rows.Next() {
		vals := make([]any, len(t.columns))
		ptrs := make([]any, len(t.columns))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return count, err
		}
		for i, c := range t.columns {
			if t.bools[c] {
				b, err := asBool(vals[i])
				if err != nil {
					return count, fmt.Errorf("column %s: %w", c, err)
				}
				vals[i] = b
			}
		}
		batch = append(batch, vals...)
		inBatch++
		count++
		if inBatch == copyBatch {
			if err := flush(); err != nil {
				return count, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return count, err
	}
	return count, flush()
}

func asBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case int64:
		return x != 0, nil
	}
	return false, errors.New("not a boolean")
}

// CopiedTables names the tables CopyAll moves.
func CopiedTables() []string {
	out := make([]string, len(copyTables))
	for i, t := range copyTables {
		out[i] = t.name
	}
	return out
}

// Tables lists the schema's own tables (not the migration bookkeeping).
func Tables(ctx context.Context, db *DB) ([]string, error) {
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version'`
	if db.dialect == Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> 'goose_db_version'`
	}
	rows, err := db.c().query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
