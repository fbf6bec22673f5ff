// Package account holds users, their passwords and sessions, and the sign-in
// state machine: password, then (when the user has a device) a second factor,
// with a forced password change for one-time passwords. It knows nothing of
// HTTP or SQL.
package account

import (
	"context"

	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"gatehouse/internal/audit"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gatehouse/internal/errcode"
)

// User is a person who can sign in.
type User struct {
	ID                 string
	Username           string
	Email              string
	Admin              bool
	Disabled           bool
	PasswordHash       string
	MustChangePassword bool
	CreatedAt          time.Time
}

// State is where a session stands in the sign-in state machine.
type State string

const (
	StatePasswordChange State = "password_change_required"
	StateMFA            State = "mfa_required"
	StateAuthenticated  State = "authenticated"
	// StateRegistration: the policy requires a device and the user has none;
	// only registering one is possible until they do.
	StateRegistration State = "registration_required"
	// StateEmailCode: the policy sends users without a device a code by email.
	StateEmailCode State = "email_code_required"
)

// Session is a signed-in (or signing-in) browser or script.
type Session struct {
	// IDHash is the SHA-256 of the token in the cookie: a copy of the
	// database does not let anyone take over a session.
	IDHash      string
	UserID      string
	State       State
	CreatedAt   time.Time
	LastSeenAt  time.Time
	ExpiresAt   time.Time
	MFAFailures int
}

// Policy numbers.
const (
	// SessionLifetime is the absolute lifetime of a signed-in session.
	SessionLifetime = 12 * time.Hour
	// SignInLifetime bounds a half-finished sign-in (password given, code not yet).
	SignInLifetime = 10 * time.Minute
	// ChallengeAttempts wrong codes end a sign-in: start again from the password.
	ChallengeAttempts = 5
	// UsernameMaxLength keeps names displayable and QR labels short.
	UsernameMaxLength = 32
	// EmailMaxLength is RFC 5321's path limit.
	EmailMaxLength = 254
)

// Errors a Store returns.
var (
	ErrNotFound      = errors.New("account: not found")
	ErrUsernameTaken = errors.New("account: username taken")
)

// Store is what the account service needs from storage.
type Store interface {
	// Atomically runs fn in one transaction that every call made with the
	// context it is given joins; all of them commit when fn returns nil.
	Atomically(ctx context.Context, fn func(ctx context.Context) error) error

	CreateUser(ctx context.Context, u User) error
	UserByID(ctx context.Context, id string) (User, error)
	UserByUsername(ctx context.Context, username string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	CountUsers(ctx context.Context) (int, error)
	// SetPassword stores a new hash and clears or sets the change flag.
	SetPassword(ctx context.Context, userID, hash string, mustChange bool) error

	CreateSession(ctx context.Context, s Session) error
	// SessionByHash returns the session; ErrNotFound when missing or expired at now.
	SessionByHash(ctx context.Context, idHash string, now time.Time) (Session, error)
	// SessionWithUser is SessionByHash with the session's user.
	SessionWithUser(ctx context.Context, idHash string, now time.Time) (Session, User, error)
	// RotateSession replaces a session's id and sets its state and expiry in
	// one step; ErrNotFound when the old id is gone (someone else rotated it).
	RotateSession(ctx context.Context, oldHash, newHash string, state State, expires, now time.Time) error
	// AddChallengeFailure increments and returns the session's MFA failures.
	AddChallengeFailure(ctx context.Context, idHash string) (int, error)
	DeleteSession(ctx context.Context, idHash string) error
	// DeleteUserSessions signs a user out everywhere except keepHash.
	DeleteUserSessions(ctx context.Context, userID, keepHash string) error
	// TouchSession sets a session's last_seen_at.
	TouchSession(ctx context.Context, idHash string, now time.Time) error

	// RecordEvents writes audit events that have no change behind them.
	RecordEvents(ctx context.Context, events ...audit.Event) error

	CreateTrustedBrowser(ctx context.Context, b TrustedBrowser) error
	// TrustedBrowserByHash returns the user's unexpired trusted browser
	// with that token hash; ErrNotFound otherwise.
	TrustedBrowserByHash(ctx context.Context, userID, tokenHash string, now time.Time) (TrustedBrowser, error)
	TouchTrustedBrowser(ctx context.Context, id string, now time.Time) error
	ListTrustedBrowsers(ctx context.Context, userID string, now time.Time) ([]TrustedBrowser, error)
	// DeleteTrustedBrowser revokes one; ErrNotFound when it is not the user's.
	DeleteTrustedBrowser(ctx context.Context, userID, id string) error
	DeleteTrustedBrowsers(ctx context.Context, userID string) error

	// PutEmailCode stores (replacing) the code for a sign-in session.
	PutEmailCode(ctx context.Context, sessionHash, codeHash string, expires time.Time) error
	// EmailCode returns it; ErrNotFound when there is none.
	EmailCode(ctx context.Context, sessionHash string) (codeHash string, expires time.Time, err error)
	DeleteEmailCode(ctx context.Context, sessionHash string) error
}

// NewToken returns a random 256-bit session token and the hash stored for it.
func NewToken(r io.Reader) (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", "", err
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken is how a token is looked up.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// NewID returns a random identifier.
func NewID(r io.Reader) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// NormalizeUsername lower-cases a username and checks it: 1–32 of a–z, 0–9,
// '.', '_', '-', starting with a letter or digit. Usernames end up in QR
// labels and audit lines, so they stay plain.
func NormalizeUsername(s string) (string, error) {
	u := strings.ToLower(strings.TrimSpace(s))
	if u == "" {
		return "", errcode.New(errcode.InvalidInput, "Enter a username.")
	}
	if len(u) > UsernameMaxLength {
		return "", errcode.New(errcode.InvalidInput, "A username has at most %d characters.", UsernameMaxLength)
	}
	for i, r := range u {
		ok := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || (i > 0 && (r == '.' || r == '_' || r == '-'))
		if !ok {
			return "", errcode.New(errcode.InvalidInput, "A username uses the letters a–z, digits, and . _ - (not first).")
		}
	}
	return u, nil
}

// ValidateEmail does the small check that matters: one '@', no spaces or
// control characters, a sane length. Delivery is the real test.
func ValidateEmail(s string) (string, error) {
	e := strings.TrimSpace(s)
	if e == "" {
		return "", nil
	}
	at := strings.IndexByte(e, '@')
	if len(e) > EmailMaxLength || !utf8.ValidString(e) || at <= 0 || at != strings.LastIndexByte(e, '@') || at == len(e)-1 ||
		strings.IndexFunc(e, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0 {
		return "", errcode.New(errcode.InvalidInput, "%q is not an email address.", e)
	}
	return e, nil
}

// GeneratePassword returns a one-time password: 20 characters from an
// alphabet without look-alikes (about 114 bits).
func GeneratePassword() (string, error) {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	out := make([]byte, len(b))
	for i := range b {
		// 256 % 56 != 0 gives a tiny bias; draw again past the last full block.
		for b[i] >= byte(256-256%len(alphabet)) {
			var one [1]byte
			if _, err := rand.Read(one[:]); err != nil {
				return "", err
			}
			b[i] = one[0]
		}
		out[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(out), nil
}
