package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"gatehouse/internal/account"
	"gatehouse/internal/admin"
	"gatehouse/internal/audit"
	"gatehouse/internal/mfa"
)

// likePattern makes a LIKE pattern that finds s anywhere, with LIKE's own
// wildcards in s taken literally (escaped with '\').
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

// userMatch is the search condition on users: a substring of the username
// or the email, ignoring case. Usernames are stored lower-case; SQLite's
// LIKE ignores ASCII case by itself, PostgreSQL's needs lower() (cheaper
// than ILIKE).
func (s *DB) userMatch(query string) (string, []any) {
	if query == "" {
		return "", nil
	}
	email := "email"
	if s.dialect == Postgres {
		email = "lower(email)"
	}
	p := likePattern(query)
	return ` WHERE (username LIKE ? ESCAPE '\' OR ` + email + ` LIKE ? ESCAPE '\')`, []any{p, p}
}

// SearchUsers implements admin.Store. The matching ids, in username
// order, come from the covering index users_search (username, email, id)
// alone, without touching the table's wide rows; a search counts its
// matches in that same pass (COUNT(*) OVER), so it reads the index once.
// Only the page's own rows are fetched. BenchmarkAdminUserSearch measures
// it with 100,000 users.
func (s *DB) SearchUsers(ctx context.Context, query string, limit, offset int) ([]admin.UserSummary, int, error) {
	where, args := s.userMatch(query)
	c := s.c()
	total := -1
	if query == "" {
		// Everyone: the count is the size of an index, and the page is an
		// offset into the username order.
		if err := c.row(ctx, `SELECT COUNT(*) FROM users`).Scan(&total); err != nil {
			return nil, 0, err
		}
		if offset >= total {
			return nil, total, nil
		}
	}
	count := "COUNT(*) OVER ()"
	if total >= 0 {
		count = "0"
	}
	rows, err := c.query(ctx, `SELECT u.id, u.username, u.email, u.is_admin, u.disabled, u.must_change_password, u.created_at, m.total,
		(SELECT COUNT(*) FROM mfa_devices d WHERE d.user_id = u.id AND d.status = 'active')
		FROM users u JOIN (SELECT id, `+count+` AS total FROM users`+where+` ORDER BY username LIMIT ? OFFSET ?) m ON m.id = u.id
		ORDER BY u.username`, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []admin.UserSummary
	for rows.Next() {
		var u admin.UserSummary
		var created int64
		var n int
		if err := rows.Scan(&u.ID, &u.Username, &u.Email, &u.Admin, &u.Disabled, &u.MustChangePassword, &created, &n, &u.Devices); err != nil {
			return nil, 0, err
		}
		u.CreatedAt = fromMS(created)
		if total < 0 {
			total = n
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if total < 0 && offset == 0 {
		total = 0
	}
	if total < 0 {
		// No row to carry the count: a page past the end.
		if err := c.row(ctx, `SELECT COUNT(*) FROM users`+where, args...).Scan(&total); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

// InsertUser implements admin.Store: CreateUser in a transaction, so the
// audit event attached to ctx is written with the user.
func (s *DB) InsertUser(ctx context.Context, u account.User) error {
	err := s.tx(ctx, func(c conn) error {
		_, err := c.exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Username, u.Email, u.Admin, u.Disabled, u.PasswordHash, u.MustChangePassword, ms(u.CreatedAt))
		return err
	})
	if isUniqueViolation(err) {
		return account.ErrUsernameTaken
	}
	return err
}

// enabledAdmins returns the ids of the enabled administrators, locked for
// the rest of the transaction. In PostgreSQL, FOR UPDATE makes a concurrent
// demotion or disabling wait and then re-read the rows, so two
// administrators demoting each other cannot both succeed; SQLite's immediate
// transactions already run one writer at a time.
func enabledAdmins(ctx context.Context, c conn) ([]string, error) {
	q := `SELECT id FROM users WHERE is_admin = ? AND disabled = ?`
	if c.s.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	rows, err := c.query(ctx, q, true, false)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// wouldLeaveNoAdmin reports whether taking u out of the enabled
// administrators leaves none.
func wouldLeaveNoAdmin(ctx context.Context, c conn, u account.User) (bool, error) {
	if !u.Admin || u.Disabled {
		return false, nil
	}
	ids, err := enabledAdmins(ctx, c)
	return len(ids) <= 1, err
}

// lockedUser locks the enabled administrators (see enabledAdmins) before
// reading the user, so the last-admin check sees what the commit will.
func lockedUser(ctx context.Context, c conn, id string) (account.User, error) {
	if _, err := enabledAdmins(ctx, c); err != nil {
		return account.User{}, err
	}
	return scanUser(c.row(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

// UpdateUser implements admin.Store.
func (s *DB) UpdateUser(ctx context.Context, id string, ch admin.UserChange) (account.User, error) {
	var u account.User
	err := s.tx(ctx, func(c conn) error {
		var err error
		if u, err = lockedUser(ctx, c, id); err != nil {
			return err
		}
		if ch.Admin != nil && !*ch.Admin {
			if last, err := wouldLeaveNoAdmin(ctx, c, u); err != nil {
				return err
			} else if last {
				return admin.ErrLastAdmin
			}
		}
		if ch.Email != nil {
			u.Email = *ch.Email
		}
		if ch.Admin != nil {
			u.Admin = *ch.Admin
		}
		_, err = c.exec(ctx, `UPDATE users SET email = ?, is_admin = ? WHERE id = ?`, u.Email, u.Admin, id)
		return err
	})
	return u, err
}

// endAccess ends a user's sessions and forgets their trusted browsers.
func endAccess(ctx context.Context, c conn, userID string) error {
	if _, err := c.exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
		return err
	}
	_, err := c.exec(ctx, `DELETE FROM trusted_browsers WHERE user_id = ?`, userID)
	return err
}

// SetDisabled implements admin.Store.
func (s *DB) SetDisabled(ctx context.Context, id string, disabled bool) (account.User, error) {
	var u account.User
	err := s.tx(ctx, func(c conn) error {
		var err error
		if u, err = lockedUser(ctx, c, id); err != nil {
			return err
		}
		if disabled {
			if last, err := wouldLeaveNoAdmin(ctx, c, u); err != nil {
				return err
			} else if last {
				return admin.ErrLastAdmin
			}
			if err := endAccess(ctx, c, id); err != nil {
				return err
			}
		}
		u.Disabled = disabled
		_, err = c.exec(ctx, `UPDATE users SET disabled = ? WHERE id = ?`, disabled, id)
		return err
	})
	return u, err
}

// SetOneTimePassword implements admin.Store.
func (s *DB) SetOneTimePassword(ctx context.Context, id, hash string) error {
	return s.tx(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE users SET password_hash = ?, must_change_password = ? WHERE id = ?`, hash, true, id)
		if err := oneRow(res, err, account.ErrNotFound); err != nil {
			return err
		}
		return endAccess(ctx, c, id)
	})
}

// ResetMFA implements admin.Store. Every device row goes, whatever its type
// or status; rows of other tables that belong to a device go with it
// (ON DELETE CASCADE).
func (s *DB) ResetMFA(ctx context.Context, id string) (int, error) {
	var n int
	err := s.tx(ctx, func(c conn) error {
		if err := lockUser(ctx, c, id); errors.Is(err, mfa.ErrNotFound) {
			return account.ErrNotFound
		} else if err != nil {
			return err
		}
		if err := c.row(ctx, `SELECT COUNT(*) FROM mfa_devices WHERE user_id = ? AND status = 'active'`, id).Scan(&n); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `DELETE FROM mfa_devices WHERE user_id = ?`, id); err != nil {
			return err
		}
		// Recovery codes stand in for devices: a reset voids them too.
		if _, err := c.exec(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, id); err != nil {
			return err
		}
		return endAccess(ctx, c, id)
	})
	return n, err
}

// eventWhere is ListEvents' condition, for the export.
func eventWhere(f audit.Filter) (string, []any) {
	where, args := " WHERE 1 = 1", []any{}
	for _, p := range []struct {
		col string
		v   string
	}{{"target_user_id", f.UserID}, {"name", f.Name}, {"result", f.Result}} {
		if p.v != "" {
			where += " AND " + p.col + " = ?"
			args = append(args, p.v)
		}
	}
	if !f.Since.IsZero() {
		where += " AND time >= ?"
		args = append(args, ms(f.Since))
	}
	if !f.Until.IsZero() {
		where += " AND time < ?"
		args = append(args, ms(f.Until))
	}
	return where, args
}

// ExportEvents implements admin.EventStore: one query streamed row by row,
// so an export of any size runs in constant memory.
func (s *DB) ExportEvents(ctx context.Context, f audit.Filter, fn func(audit.Event) error) error {
	where, args := eventWhere(f)
	rows, err := s.c().query(ctx, `SELECT id, `+auditColumns+` FROM audit_events`+where+` ORDER BY time, id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var e audit.Event
		var t int64
		if err := rows.Scan(&e.ID, &t, &e.Name, &e.Result, &e.ActorID, &e.ActorName, &e.TargetUserID, &e.TargetUsername, &e.SourceIP,
			&e.UserAgent, &e.CredentialType, &e.DeviceID, &e.DeviceName, &e.Detail); err != nil {
			return err
		}
		e.Time = fromMS(t)
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

const tokenColumns = `id, name, created_at, last_used_at, revoked_at`

func scanToken(r interface{ Scan(...any) error }) (admin.Token, error) {
	var t admin.Token
	var created int64
	var used, revoked sql.NullInt64
	err := r.Scan(&t.ID, &t.Name, &created, &used, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return t, admin.ErrTokenNotFound
	}
	t.CreatedAt, t.LastUsedAt, t.RevokedAt = fromMS(created), fromNullMS(used), fromNullMS(revoked)
	return t, err
}

// InsertToken implements admin.TokenStore.
func (s *DB) InsertToken(ctx context.Context, t admin.Token, hash string) error {
	err := s.tx(ctx, func(c conn) error {
		_, err := c.exec(ctx, `INSERT INTO api_tokens (id, name, token_hash, created_at) VALUES (?, ?, ?, ?)`, t.ID, t.Name, hash, ms(t.CreatedAt))
		return err
	})
	if isUniqueViolation(err) {
		return admin.ErrTokenNameTaken
	}
	return err
}

// TokenByHash implements admin.TokenStore.
func (s *DB) TokenByHash(ctx context.Context, hash string) (admin.Token, error) {
	return scanToken(s.c().row(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE token_hash = ?`, hash))
}

// TouchToken implements admin.TokenStore.
func (s *DB) TouchToken(ctx context.Context, id string, now, notBefore time.Time) error {
	_, err := s.c().exec(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, ms(now), id, ms(notBefore))
	return err
}

// ListTokens implements admin.TokenStore.
func (s *DB) ListTokens(ctx context.Context) ([]admin.Token, error) {
	rows, err := s.c().query(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY name`)
	return collect(rows, err, scanToken)
}

// RevokeToken implements admin.TokenStore.
func (s *DB) RevokeToken(ctx context.Context, name string, now time.Time) (admin.Token, error) {
	var t admin.Token
	err := s.tx(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE name = ?`, ms(now), name)
		if err := oneRow(res, err, admin.ErrTokenNotFound); err != nil {
			return err
		}
		t, err = scanToken(c.row(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE name = ?`, name))
		return err
	})
	return t, err
}
