// Package recovery issues and checks recovery codes: ten single-use codes a
// user keeps on paper for the day their MFA devices are lost. A code stands
// in for a device at the MFA step only — the password is still needed.
package recovery

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"time"

	"gatehouse/internal/audit"
	"gatehouse/internal/errcode"
)

const (
	// Count is how many codes a set holds: enough for years of lost phones,
	// few enough to write down.
	Count = 10
	// Length is the characters in a code: 10 from a 32-letter alphabet is
	// 50 bits, far beyond reach of the 5 tries a sign-in allows.
	Length = 10
	// Alphabet is Crockford's base32: no I, L, O or U, and Normalize reads
	// O as 0 and I or L as 1, so a code copied off paper is typed right. 32
	// symbols: each is 5 uniform bits.
	Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)

// ErrNoMatch means no unused code of the user has that hash.
var ErrNoMatch = errors.New("recovery: no such unused code")

// Store keeps keyed hashes of the codes, never the codes.
type Store interface {
	// ReplaceRecoveryCodes voids the user's codes and stores the new set.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, now time.Time) error
	// UseRecoveryCode consumes one code atomically, or returns ErrNoMatch.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte) error
	// CountRecoveryCodes says how many unused codes the user has.
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
}

// Devices says whether a user has an active MFA device.
type Devices interface {
	Methods(ctx context.Context, userID string) ([]string, error)
}

// Service is the one place the rules for recovery codes live.
type Service struct {
	Store   Store
	Devices Devices
	// Key keys the hash. It is a random key sealed in the database under the
	// key-encryption key (meta "recovery_key"), not derived from that key:
	// a key rotation re-seals it and the stored hashes stay valid.
	Key  []byte
	Now  func() time.Time
	Rand io.Reader
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

// Hash is the stored form of a normalised code.
func (s *Service) Hash(normalized string) []byte {
	m := hmac.New(sha256.New, s.Key)
	m.Write([]byte("gatehouse recovery code\x00" + normalized))
	return m.Sum(nil)
}

// Generate makes a new set for the user, voiding the old one, and returns
// the codes: the only time they are ever seen.
func (s *Service) Generate(ctx context.Context, userID, username string) ([]string, error) {
	methods, err := s.Devices.Methods(ctx, userID)
	if err != nil {
		return nil, err
	}
	if len(methods) == 0 {
		return nil, errcode.New(errcode.NotAllowed, "Register an MFA device first: recovery codes stand in for a device you have lost.")
	}
	codes := make([]string, Count)
	hashes := make([][]byte, Count)
	seen := map[string]bool{}
	for i := range codes {
		for {
			c, err := newCode(s.rand())
			if err != nil {
				return nil, err
			}
			if !seen[c] {
				seen[c] = true
				codes[i], hashes[i] = Format(c), s.Hash(c)
				break
			}
		}
	}
	ev := audit.New(ctx, audit.GenerateRecoveryCodes, audit.Success)
	ev.Time, ev.TargetUserID, ev.TargetUsername, ev.CredentialType = s.now(), userID, username, audit.RecoveryCode
	if ev.ActorID == "" {
		ev.ActorID, ev.ActorName = userID, username
	}
	if err := s.Store.ReplaceRecoveryCodes(audit.Attach(ctx, ev), userID, hashes, s.now()); err != nil {
		return nil, err
	}
	return codes, nil
}

// Remaining says how many unused codes the user has.
func (s *Service) Remaining(ctx context.Context, userID string) (int, error) {
	return s.Store.CountRecoveryCodes(ctx, userID)
}

// Use consumes the user's code. A wrong code is errcode invalid_code (it
// counts against the challenge and the account, like a wrong TOTP code); a
// code that cannot be one is a format error, which does not.
func (s *Service) Use(ctx context.Context, userID, code string) error {
	n, err := Normalize(code)
	if err != nil {
		return err
	}
	err = s.Store.UseRecoveryCode(ctx, userID, s.Hash(n))
	if errors.Is(err, ErrNoMatch) {
		return errcode.New(errcode.InvalidCode, "That recovery code is not right, or it was already used.")
	}
	return err
}

func newCode(r io.Reader) (string, error) {
	b := make([]byte, Length)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	for i := range b {
		b[i] = Alphabet[int(b[i])%len(Alphabet)] // 256 is a multiple of 32: uniform
	}
	return string(b), nil
}

// Format groups a normalised code for reading: xxxxx-xxxxx.
func Format(normalized string) string {
	if len(normalized) != Length {
		return normalized
	}
	return normalized[:Length/2] + "-" + normalized[Length/2:]
}

// formatMarker matches account.FormatErrorMarker: a typo, not a guess.
const formatMarker = "format"

// Normalize turns what a person typed into the stored form: spaces and
// dashes anywhere are ignored, lower case is accepted, and the letters a
// reader confuses with digits are mapped (O to 0, I and L to 1).
func Normalize(code string) (string, error) {
	var b strings.Builder
	for _, r := range code {
		switch {
		case r == ' ' || r == '-' || r == '\t' || r == '\n' || r == '\r':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		switch r {
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if r > 127 || !strings.ContainsRune(Alphabet, r) {
			return "", formatError()
		}
		b.WriteRune(r)
		if b.Len() > Length {
			return "", formatError()
		}
	}
	if b.Len() != Length {
		return "", formatError()
	}
	return b.String(), nil
}

func formatError() error {
	e := errcode.New(errcode.InvalidCode, "A recovery code is %d letters and digits, like 7KQ2M-X9D4T.", Length)
	e.Detail = map[string]any{formatMarker: true}
	return e
}
