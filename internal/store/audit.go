package store

import (
	"context"
	"strings"
	"time"

	"gatehouse/internal/audit"
)

const auditColumns = `time, name, result, actor_id, actor_name, target_user_id, target_username, source_ip, user_agent, credential_type, device_id, device_name, detail`

// insertEvents writes events with one statement per eventsPerInsert: a
// sign-in's two events cost one round trip to PostgreSQL, not two.
func insertEvents(ctx context.Context, c conn, events []audit.Event, now time.Time) error {
	for len(events) > 0 {
		n := min(len(events), eventsPerInsert)
		args := make([]any, 0, n*13)
		for _, e := range events[:n] {
			t := e.Time
			if t.IsZero() {
				t = now
			}
			args = append(args, ms(t), e.Name, e.Result, e.ActorID, e.ActorName, e.TargetUserID, e.TargetUsername, truncate(e.SourceIP, 64),
				truncate(e.UserAgent, 512), e.CredentialType, e.DeviceID, e.DeviceName, truncate(e.Detail, 1024))
		}
		if t, ok := c.bind(ctx).q.(*pgTx); ok {
			// Nothing reads the events back in the transaction: they
			// travel with its next statement or its COMMIT.
			t.later(c.s.rebind(insertEventsSQL[n]), args...)
		} else if _, err := c.exec(ctx, insertEventsSQL[n], args...); err != nil {
			return err
		}
		events = events[n:]
	}
	return nil
}

const eventsPerInsert = 16

// insertEventsSQL[n] inserts n events; a fixed text per n, so each is
// prepared once.
var insertEventsSQL = func() (q [eventsPerInsert + 1]string) {
	row := "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	for n := 1; n <= eventsPerInsert; n++ {
		q[n] = `INSERT INTO audit_events (` + auditColumns + `) VALUES ` + strings.Repeat(row+", ", n-1) + row
	}
	return q
}()

// truncate bounds what a client controls (the user agent) so nobody can
// fill the audit table with megabytes per request.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// RecordEvents writes events that have no change behind them (a failed
// sign-in, for example).
func (s *DB) RecordEvents(ctx context.Context, events ...audit.Event) error {
	return s.tx(ctx, func(c conn) error { return insertEvents(ctx, c, events, time.Now()) })
}

// ListEvents returns events matching f, newest first, and the total count.
func (s *DB) ListEvents(ctx context.Context, f audit.Filter) ([]audit.Event, int, error) {
	where, args := "WHERE 1 = 1", []any{}
	if f.UserID != "" {
		where += " AND target_user_id = ?"
		args = append(args, f.UserID)
	}
	if f.Name != "" {
		where += " AND name = ?"
		args = append(args, f.Name)
	}
	if f.Result != "" {
		where += " AND result = ?"
		args = append(args, f.Result)
	}
	if !f.Since.IsZero() {
		where += " AND time >= ?"
		args = append(args, ms(f.Since))
	}
	if !f.Until.IsZero() {
		where += " AND time < ?"
		args = append(args, ms(f.Until))
	}
	c := s.c()
	var total int
	if err := c.row(ctx, `SELECT COUNT(*) FROM audit_events `+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := c.query(ctx, `SELECT id, `+auditColumns+` FROM audit_events `+where+` ORDER BY time DESC, id DESC LIMIT ? OFFSET ?`, append(args, limit, f.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []audit.Event
	for rows.Next() {
		var e audit.Event
		var t int64
		if err := rows.Scan(&e.ID, &t, &e.Name, &e.Result, &e.ActorID, &e.ActorName, &e.TargetUserID, &e.TargetUsername, &e.SourceIP,
			&e.UserAgent, &e.CredentialType, &e.DeviceID, &e.DeviceName, &e.Detail); err != nil {
			return nil, 0, err
		}
		e.Time = fromMS(t)
		out = append(out, e)
	}
	return out, total, rows.Err()
}
