package store

import (
	"context"
	"strings"

	"gatehouse/internal/account"
	"gatehouse/internal/mfa"
)

// BulkSeed inserts users, their already-active authenticator apps and
// sessions with multi-row INSERTs in one transaction. It is for `gatehouse
// bench`, which seeds up to a million users: it skips the per-device checks
// of CreatePending/Activate (limits, unique names), so the caller must give
// consistent rows. Devices are written active with their LastStep and Drift.
func (s *DB) BulkSeed(ctx context.Context, users []account.User, devices []mfa.Device, sessions []account.Session) error {
	return s.tx(ctx, func(c conn) error {
		if err := bulkInsert(ctx, c, `INSERT INTO users (`+userColumns+`) VALUES `, 8, len(users), func(i int, a []any) []any {
			u := users[i]
			return append(a, u.ID, u.Username, u.Email, u.Admin, u.Disabled, u.PasswordHash, u.MustChangePassword, ms(u.CreatedAt))
		}); err != nil {
			return err
		}
		if err := bulkInsert(ctx, c, `INSERT INTO mfa_devices (`+deviceColumns+`) VALUES `, 14, len(devices), func(i int, a []any) []any {
			d := devices[i]
			return append(a, d.ID, d.UserID, string(d.Type), d.Name, d.NameKey, string(mfa.StatusActive), ms(d.CreatedAt), ms(d.ActivatedAt), nil, nil,
				d.SecretKeyID, d.SecretCT, d.LastStep, d.Drift)
		}); err != nil {
			return err
		}
		return bulkInsert(ctx, c, `INSERT INTO sessions (id_hash, user_id, state, created_at, last_seen_at, expires_at, mfa_failures) VALUES `, 6, len(sessions), func(i int, a []any) []any {
			x := sessions[i]
			return append(a, x.IDHash, x.UserID, string(x.State), ms(x.CreatedAt), ms(x.LastSeenAt), ms(x.ExpiresAt))
		})
	})
}

// bulkInsert runs head followed by rows of cols placeholders (sessions get
// a trailing literal 0), as many rows per statement as stay under SQLite's
// and PostgreSQL's bound-parameter limits.
func bulkInsert(ctx context.Context, c conn, head string, cols, n int, row func(i int, a []any) []any) error {
	per := 30000 / cols
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ")
	if strings.Contains(head, "mfa_failures") {
		tuple += ", 0"
	}
	tuple += ")"
	args := make([]any, 0, per*cols)
	for start := 0; start < n; start += per {
		end := min(n, start+per)
		var q strings.Builder
		q.WriteString(head)
		args = args[:0]
		for i := start; i < end; i++ {
			if i > start {
				q.WriteString(", ")
			}
			q.WriteString(tuple)
			args = row(i, args)
		}
		if _, err := c.exec(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}
