package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"gatehouse/internal/account"
)

const userColumns = `id, username, email, is_admin, disabled, password_hash, must_change_password, created_at`

func scanUser(r interface{ Scan(...any) error }) (account.User, error) {
	var u account.User
	var created int64
	err := r.Scan(&u.ID, &u.Username, &u.Email, &u.Admin, &u.Disabled, &u.PasswordHash, &u.MustChangePassword, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return u, account.ErrNotFound
	}
	u.CreatedAt = fromMS(created)
	return u, err
}

// CreateUser implements account.Store.
func (s *DB) CreateUser(ctx context.Context, u account.User) error {
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

// UserByID implements account.Store.
func (s *DB) UserByID(ctx context.Context, id string) (account.User, error) {
	return scanUser(s.c().row(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

// UserByUsername implements account.Store.
func (s *DB) UserByUsername(ctx context.Context, username string) (account.User, error) {
	return scanUser(s.c().row(ctx, `SELECT `+userColumns+` FROM users WHERE username = ?`, username))
}

// ListUsers implements account.Store.
func (s *DB) ListUsers(ctx context.Context) ([]account.User, error) {
	rows, err := s.c().query(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	return collect(rows, err, scanUser)
}

// CountUsers implements account.Store.
func (s *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.c().row(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// SetPassword implements account.Store.
func (s *DB) SetPassword(ctx context.Context, userID, hash string, mustChange bool) error {
	res, err := s.c().exec(ctx, `UPDATE users SET password_hash = ?, must_change_password = ? WHERE id = ?`, hash, mustChange, userID)
	return oneRow(res, err, account.ErrNotFound)
}

func oneRow(res sql.Result, err error, none error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return none
	}
	return nil
}

// CreateSession implements account.Store.
func (s *DB) CreateSession(ctx context.Context, x account.Session) error {
	_, err := s.c().exec(ctx, `INSERT INTO sessions (id_hash, user_id, state, created_at, last_seen_at, expires_at, mfa_failures) VALUES (?, ?, ?, ?, ?, ?, 0)`,
		x.IDHash, x.UserID, string(x.State), ms(x.CreatedAt), ms(x.LastSeenAt), ms(x.ExpiresAt))
	return err
}

// SessionByHash implements account.Store.
func (s *DB) SessionByHash(ctx context.Context, idHash string, now time.Time) (account.Session, error) {
	var x account.Session
	var state string
	var created, seen, expires int64
	err := s.c().row(ctx, `SELECT id_hash, user_id, state, created_at, last_seen_at, expires_at, mfa_failures FROM sessions WHERE id_hash = ? AND expires_at > ?`,
		idHash, ms(now)).Scan(&x.IDHash, &x.UserID, &state, &created, &seen, &expires, &x.MFAFailures)
	if errors.Is(err, sql.ErrNoRows) {
		return x, account.ErrNotFound
	}
	x.State, x.CreatedAt, x.LastSeenAt, x.ExpiresAt = account.State(state), fromMS(created), fromMS(seen), fromMS(expires)
	return x, err
}

// SessionWithUser implements account.Store: the session and its user in one
// query, since every signed-in request needs both.
func (s *DB) SessionWithUser(ctx context.Context, idHash string, now time.Time) (account.Session, account.User, error) {
	var x account.Session
	var u account.User
	var state string
	var created, seen, expires, userCreated int64
	err := s.c().row(ctx, `SELECT s.id_hash, s.user_id, s.state, s.created_at, s.last_seen_at, s.expires_at, s.mfa_failures,
			u.id, u.username, u.email, u.is_admin, u.disabled, u.password_hash, u.must_change_password, u.created_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ? AND s.expires_at > ?`,
		idHash, ms(now)).Scan(&x.IDHash, &x.UserID, &state, &created, &seen, &expires, &x.MFAFailures,
		&u.ID, &u.Username, &u.Email, &u.Admin, &u.Disabled, &u.PasswordHash, &u.MustChangePassword, &userCreated)
	if errors.Is(err, sql.ErrNoRows) {
		return x, u, account.ErrNotFound
	}
	x.State, x.CreatedAt, x.LastSeenAt, x.ExpiresAt = account.State(state), fromMS(created), fromMS(seen), fromMS(expires)
	u.CreatedAt = fromMS(userCreated)
	return x, u, err
}

// RotateSession implements account.Store. The old id stops working in the
// same statement that makes the new one: a stolen pre-sign-in id is useless.
func (s *DB) RotateSession(ctx context.Context, oldHash, newHash string, state account.State, expires, now time.Time) error {
	res, err := s.c().exec(ctx, `UPDATE sessions SET id_hash = ?, state = ?, expires_at = ?, last_seen_at = ?, mfa_failures = 0 WHERE id_hash = ? AND expires_at > ?`,
		newHash, string(state), ms(expires), ms(now), oldHash, ms(now))
	return oneRow(res, err, account.ErrNotFound)
}

// AddChallengeFailure implements account.Store.
func (s *DB) AddChallengeFailure(ctx context.Context, idHash string) (int, error) {
	var n int
	err := s.w().row(ctx, `UPDATE sessions SET mfa_failures = mfa_failures + 1 WHERE id_hash = ? RETURNING mfa_failures`, idHash).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, account.ErrNotFound
	}
	return n, err
}

// DeleteSession implements account.Store.
func (s *DB) DeleteSession(ctx context.Context, idHash string) error {
	_, err := s.c().exec(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash)
	return err
}

// DeleteUserSessions implements account.Store.
func (s *DB) DeleteUserSessions(ctx context.Context, userID, keepHash string) error {
	_, err := s.c().exec(ctx, `DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?`, userID, keepHash)
	return err
}
