package admin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"time"

	"gatehouse/internal/account"
	"gatehouse/internal/audit"
	"gatehouse/internal/errcode"
)

// Token rules.
const (
	// TokenPrefix marks Gatehouse API tokens, so secret scanners and people
	// recognise one in a script or a log.
	TokenPrefix = "gh_"
	// tokenBytes of randomness: 256 bits, like session ids.
	tokenBytes = 32
	// TokenNameMaxLength keeps names short enough for audit lines.
	TokenNameMaxLength = 64
	// TouchInterval: a token's "last used" is written at most this often, so
	// a busy script does not turn every read into a write.
	TouchInterval = time.Minute
)

// Errors a TokenStore returns.
var (
	ErrTokenNotFound  = errors.New("admin: no such API token")
	ErrTokenNameTaken = errors.New("admin: API token name taken")
)

// Token is an administrator's API token for scripts. Only the SHA-256 of its
// secret is stored; the secret is shown once, when it is created.
type Token struct {
	ID         string
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero when never used
	RevokedAt  time.Time // zero while valid
}

// Actor is who the audit trail says acted with this token.
func (t Token) Actor() (id, name string) { return "token:" + t.ID, "token:" + t.Name }

// TokenStore keeps API tokens.
type TokenStore interface {
	// InsertToken stores a token with the hash of its secret;
	// ErrTokenNameTaken when the name is used (revoked tokens keep theirs).
	InsertToken(ctx context.Context, t Token, hash string) error
	// TokenByHash returns the token, revoked or not; ErrTokenNotFound.
	TokenByHash(ctx context.Context, hash string) (Token, error)
	// TouchToken sets last used to now unless it is newer than notBefore.
	TouchToken(ctx context.Context, id string, now, notBefore time.Time) error
	ListTokens(ctx context.Context) ([]Token, error)
	// RevokeToken revokes by name (a revoked token stays revoked at its
	// first time); ErrTokenNotFound.
	RevokeToken(ctx context.Context, name string, now time.Time) (Token, error)
}

// Tokens creates, checks and revokes API tokens.
type Tokens struct {
	Store TokenStore
	Now   func() time.Time
	Rand  io.Reader
}

func (s *Tokens) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Tokens) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

// ValidateTokenName checks a name: 1–64 of the letters a–z and A–Z, digits,
// '.', '_' and '-' — it appears in audit lines as "token:NAME".
func ValidateTokenName(name string) error {
	if name == "" {
		return errcode.New(errcode.InvalidInput, "Give the token a name (--name), such as the script that will use it.")
	}
	if len(name) > TokenNameMaxLength {
		return errcode.New(errcode.InvalidInput, "A token name has at most %d characters.", TokenNameMaxLength)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return errcode.New(errcode.InvalidInput, "A token name uses letters, digits, '.', '_' and '-' only.")
		}
	}
	return nil
}

// Create makes a token and returns it with its secret, which is not stored
// and cannot be shown again.
func (s *Tokens) Create(ctx context.Context, name string) (Token, string, error) {
	if err := ValidateTokenName(name); err != nil {
		return Token{}, "", err
	}
	b := make([]byte, tokenBytes)
	if _, err := io.ReadFull(s.rand(), b); err != nil {
		return Token{}, "", err
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	id, err := account.NewID(s.rand())
	if err != nil {
		return Token{}, "", err
	}
	t := Token{ID: id, Name: name, CreatedAt: s.now()}
	ev := audit.New(ctx, audit.CreateApiToken, audit.Success)
	ev.Time, ev.Detail = t.CreatedAt, "token:"+name
	if err := s.Store.InsertToken(audit.Attach(ctx, ev), t, account.HashToken(secret)); errors.Is(err, ErrTokenNameTaken) {
		return Token{}, "", errcode.New(errcode.Conflict, "A token named %q exists (revoked tokens keep their names, so audit lines stay unambiguous). Choose another name.", name)
	} else if err != nil {
		return Token{}, "", err
	}
	return t, secret, nil
}

// wellFormed reports whether s could be a token, so garbage is refused
// without a database lookup.
func wellFormed(s string) bool {
	if len(s) != len(TokenPrefix)+base64.RawURLEncoding.EncodedLen(tokenBytes) || s[:len(TokenPrefix)] != TokenPrefix {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s[len(TokenPrefix):])
	return err == nil
}

// Authenticate returns the valid token whose secret is given; malformed,
// unknown and revoked tokens are all unauthenticated.
func (s *Tokens) Authenticate(ctx context.Context, secret string) (Token, error) {
	if !wellFormed(secret) {
		return Token{}, errcode.New(errcode.Unauthenticated, "The API token is malformed: send \"Authorization: Bearer gh_…\" as printed by \"gatehouse tokens create\".")
	}
	t, err := s.Store.TokenByHash(ctx, account.HashToken(secret))
	if errors.Is(err, ErrTokenNotFound) {
		return Token{}, errcode.New(errcode.Unauthenticated, "The API token is not valid.")
	} else if err != nil {
		return Token{}, err
	}
	if !t.RevokedAt.IsZero() {
		return Token{}, errcode.New(errcode.Unauthenticated, "The API token was revoked.")
	}
	now := s.now()
	if now.Sub(t.LastUsedAt) >= TouchInterval {
		if err := s.Store.TouchToken(ctx, t.ID, now, now.Add(-TouchInterval)); err != nil {
			return Token{}, err
		}
		t.LastUsedAt = now
	}
	return t, nil
}

// List returns every token, revoked ones too.
func (s *Tokens) List(ctx context.Context) ([]Token, error) { return s.Store.ListTokens(ctx) }

// Revoke makes a token unusable at once, on every node.
func (s *Tokens) Revoke(ctx context.Context, name string) (Token, error) {
	ev := audit.New(ctx, audit.RevokeApiToken, audit.Success)
	ev.Time, ev.Detail = s.now(), "token:"+name
	t, err := s.Store.RevokeToken(audit.Attach(ctx, ev), name, s.now())
	if errors.Is(err, ErrTokenNotFound) {
		return Token{}, errcode.New(errcode.NotFound, "No token is named %q.", name)
	}
	return t, err
}
