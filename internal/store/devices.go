package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"gatehouse/internal/mfa"
)

const deviceColumns = `id, user_id, type, name, name_key, status, created_at, activated_at, last_used_at, expires_at, secret_key_id, secret_ct, last_step, drift`

func scanDevice(r interface{ Scan(...any) error }) (mfa.Device, error) {
	var d mfa.Device
	var typ, status string
	var created int64
	var activated, used, expires sql.NullInt64
	err := r.Scan(&d.ID, &d.UserID, &typ, &d.Name, &d.NameKey, &status, &created, &activated, &used, &expires,
		&d.SecretKeyID, &d.SecretCT, &d.LastStep, &d.Drift)
	if errors.Is(err, sql.ErrNoRows) {
		return d, mfa.ErrNotFound
	}
	d.Type, d.Status = mfa.Type(typ), mfa.Status(status)
	d.CreatedAt, d.ActivatedAt, d.LastUsedAt, d.ExpiresAt = fromMS(created), fromNullMS(activated), fromNullMS(used), fromNullMS(expires)
	return d, err
}

// ListDevices implements mfa.Store.
func (s *DB) ListDevices(ctx context.Context, userID string) ([]mfa.Device, error) {
	if t, ok := s.ctxTx(ctx).(*pgTx); ok {
		if v, err, ok := t.takeAhead(listDevicesKey(userID)); ok {
			ds, _ := v.([]mfa.Device)
			return ds, err
		}
	}
	rows, err := s.c().query(ctx, listDevicesSQL, userID)
	return collect(rows, err, scanDevice)
}

const listDevicesSQL = `SELECT ` + deviceColumns + ` FROM mfa_devices WHERE user_id = ? AND status = 'active' ORDER BY activated_at, id`

func listDevicesKey(userID string) string { return "devices\x00" + userID }

// ReadAheadDevices implements mfa.Store. On PostgreSQL, inside a
// transaction, ListDevices(ctx, userID) is read in the transaction's next
// round trip (the one that holds the account's throttle, at the MFA step),
// after its statements, and the ListDevices call that follows takes that
// answer instead of a round trip of its own. Anything else sent in between
// drops it. Elsewhere it does nothing.
func (s *DB) ReadAheadDevices(ctx context.Context, userID string) {
	t, ok := s.ctxTx(ctx).(*pgTx)
	if !ok {
		return
	}
	t.readAhead(&pgRead{
		key:   listDevicesKey(userID),
		query: s.rebind(listDevicesSQL),
		args:  []any{userID},
		scan: func(rows pgx.Rows) (any, error) {
			ds, err := scanAll(rows, scanDevice)
			return ds, err
		},
	})
}

// GetDevice implements mfa.Store.
func (s *DB) GetDevice(ctx context.Context, userID, id string) (mfa.Device, error) {
	return scanDevice(s.c().row(ctx, `SELECT `+deviceColumns+` FROM mfa_devices WHERE id = ? AND user_id = ?`, id, userID))
}

// CountDevices implements mfa.Store.
func (s *DB) CountDevices(ctx context.Context, userID string, t mfa.Type) (int, error) {
	var n int
	err := s.c().row(ctx, `SELECT COUNT(*) FROM mfa_devices WHERE user_id = ? AND type = ? AND status = 'active'`, userID, string(t)).Scan(&n)
	return n, err
}

// lockUser takes the user's row lock for the rest of the transaction (a
// write lock in SQLite, a row lock in PostgreSQL), serialising device changes
// of one user across nodes.
func lockUser(ctx context.Context, c conn, userID string) error {
	res, err := c.exec(ctx, `UPDATE users SET mfa_version = mfa_version + 1 WHERE id = ?`, userID)
	return oneRow(res, err, mfa.ErrNotFound)
}

// CreatePending implements mfa.Store.
func (s *DB) CreatePending(ctx context.Context, d mfa.Device, now time.Time) error {
	return s.tx(ctx, func(c conn) error {
		if err := lockUser(ctx, c, d.UserID); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `DELETE FROM mfa_devices WHERE user_id = ? AND status = 'pending' AND expires_at <= ?`, d.UserID, ms(now)); err != nil {
			return err
		}
		var pending int
		if err := c.row(ctx, `SELECT COUNT(*) FROM mfa_devices WHERE user_id = ? AND status = 'pending'`, d.UserID).Scan(&pending); err != nil {
			return err
		}
		if pending >= mfa.MaxPendingEnrollments {
			// The oldest abandoned registration gives way: a forgotten tab
			// must not stop the user from starting again.
			if _, err := c.exec(ctx, `DELETE FROM mfa_devices WHERE id IN (SELECT id FROM mfa_devices WHERE user_id = ? AND status = 'pending'
				ORDER BY created_at, id LIMIT ?)`, d.UserID, pending-mfa.MaxPendingEnrollments+1); err != nil {
				return err
			}
		}
		_, err := c.exec(ctx, `INSERT INTO mfa_devices (`+deviceColumns+`) VALUES (?, ?, ?, ?, ?, 'pending', ?, NULL, NULL, ?, ?, ?, ?, ?)`,
			d.ID, d.UserID, string(d.Type), d.Name, d.NameKey, ms(d.CreatedAt), ms(d.ExpiresAt), d.SecretKeyID, d.SecretCT, d.LastStep, d.Drift)
		return err
	})
}

// Activate implements mfa.Store.
func (s *DB) Activate(ctx context.Context, userID, id string, lastStep, drift int64, limit int, now time.Time) (mfa.Device, error) {
	var d mfa.Device
	err := s.tx(ctx, func(c conn) error {
		if err := lockUser(ctx, c, userID); err != nil {
			return err
		}
		var err error
		d, err = scanDevice(c.row(ctx, `SELECT `+deviceColumns+` FROM mfa_devices WHERE id = ? AND user_id = ?`, id, userID))
		if err != nil {
			return err
		}
		if d.Status != mfa.StatusPending {
			return mfa.ErrNotPending
		}
		if d.Expired(now) {
			return mfa.ErrExpired
		}
		var n int
		if err := c.row(ctx, `SELECT COUNT(*) FROM mfa_devices WHERE user_id = ? AND type = ? AND status = 'active'`, userID, string(d.Type)).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			return mfa.ErrLimit
		}
		var taken int
		if err := c.row(ctx, `SELECT COUNT(*) FROM mfa_devices WHERE user_id = ? AND status = 'active' AND name_key = ?`, userID, d.NameKey).Scan(&taken); err != nil {
			return err
		}
		if taken > 0 {
			return mfa.ErrNameTaken
		}
		res, err := c.exec(ctx, `UPDATE mfa_devices SET status = 'active', activated_at = ?, expires_at = NULL, last_step = ?, drift = ? WHERE id = ? AND status = 'pending'`,
			ms(now), lastStep, drift, id)
		if isUniqueViolation(err) {
			return mfa.ErrNameTaken
		}
		if err := oneRow(res, err, mfa.ErrNotPending); err != nil {
			return err
		}
		d.Status, d.ActivatedAt, d.ExpiresAt, d.LastStep, d.Drift = mfa.StatusActive, now, time.Time{}, lastStep, drift
		return nil
	})
	return d, err
}

// RecordUse implements mfa.Store: the replay guard's compare-and-set.
func (s *DB) RecordUse(ctx context.Context, id string, step, drift int64, now time.Time) error {
	res, err := s.c().exec(ctx, `UPDATE mfa_devices SET last_step = ?, drift = ?, last_used_at = ? WHERE id = ? AND status = 'active' AND last_step < ?`,
		step, drift, ms(now), id, step)
	return oneRow(res, err, mfa.ErrReplay)
}

// Rename implements mfa.Store.
// It runs in a transaction so that an audit event attached to ctx is
// written with the change.
func (s *DB) Rename(ctx context.Context, userID, id, name, nameKey string) error {
	err := s.tx(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE mfa_devices SET name = ?, name_key = ? WHERE id = ? AND user_id = ? AND status = 'active'`, name, nameKey, id, userID)
		return oneRow(res, err, mfa.ErrNotFound)
	})
	if isUniqueViolation(err) {
		return mfa.ErrNameTaken
	}
	return err
}

// Delete implements mfa.Store.
func (s *DB) Delete(ctx context.Context, userID, id string, keepOne bool) error {
	return s.tx(ctx, func(c conn) error {
		if err := lockUser(ctx, c, userID); err != nil {
			return err
		}
		var status string
		err := c.row(ctx, `SELECT status FROM mfa_devices WHERE id = ? AND user_id = ?`, id, userID).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return mfa.ErrNotFound
		} else if err != nil {
			return err
		}
		if keepOne && status == string(mfa.StatusActive) {
			var n int
			if err := c.row(ctx, `SELECT COUNT(*) FROM mfa_devices WHERE user_id = ? AND status = 'active'`, userID).Scan(&n); err != nil {
				return err
			}
			if n <= 1 {
				return mfa.ErrLastDevice
			}
		}
		res, err := c.exec(ctx, `DELETE FROM mfa_devices WHERE id = ? AND user_id = ?`, id, userID)
		return oneRow(res, err, mfa.ErrNotFound)
	})
}
