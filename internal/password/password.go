// Package password hashes passwords with argon2id and bounds how many hashes
// run at once, so a flood of sign-ins queues instead of exhausting memory.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// Default follows RFC 9106's second recommended option (64 MiB, t=3), which
// costs tens of milliseconds on a small server: slow for an attacker holding
// the database, fast enough for a person.
var Default = Params{Memory: 64 * 1024, Time: 3, Threads: 2}

// Fast is for tests only: the cost of hashing is not what they measure.
var Fast = Params{Memory: 1024, Time: 1, Threads: 1}

// Length limits. The upper bound stops a megabyte "password" from costing
// the server anything; NIST SP 800-63B asks for at least 64 characters.
const (
	MinLength = 12
	MaxLength = 256
)

// ErrMismatch is returned when a password does not match its hash.
var ErrMismatch = errors.New("password: mismatch")

// ErrBusy is returned when the hashing queue is full or the caller gave up.
var ErrBusy = errors.New("password: too many concurrent hashes")

// Hasher hashes and verifies passwords with at most a fixed number running at
// once (each one holds Params.Memory KiB while it runs).
type Hasher struct {
	params Params
	slots  chan struct{}
	dummy  string
}

// NewHasher returns a Hasher that runs at most concurrency hashes at once.
func NewHasher(p Params, concurrency int) *Hasher {
	if concurrency < 1 {
		concurrency = 1
	}
	h := &Hasher{params: p, slots: make(chan struct{}, concurrency)}
	h.dummy = h.encode(make([]byte, 16), h.derive("gatehouse-dummy", make([]byte, 16), p), p)
	return h
}

// Validate checks a new password's length. Composition rules are left out on
// purpose (NIST SP 800-63B): length is what resists guessing.
func Validate(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return errors.New("the password is not valid UTF-8")
	case n < MinLength:
		return fmt.Errorf("use at least %d characters", MinLength)
	case len(pw) > MaxLength:
		return fmt.Errorf("use at most %d bytes", MaxLength)
	}
	return nil
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ErrBusy
	}
}

func (h *Hasher) release() { <-h.slots }

func (h *Hasher) derive(pw string, salt []byte, p Params) []byte {
	return argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, 32)
}

func (h *Hasher) encode(salt, key []byte, p Params) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// Hash returns the PHC-format argon2id hash of pw.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if len(pw) > MaxLength {
		return "", fmt.Errorf("password: longer than %d bytes", MaxLength)
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.encode(salt, h.derive(pw, salt, h.params), h.params), nil
}

// Verify checks pw against encoded. With encoded empty (an unknown user) it
// still spends the time of a real check, so response times do not reveal
// which usernames exist, and then reports ErrMismatch.
func (h *Hasher) Verify(ctx context.Context, pw, encoded string) error {
	unknown := encoded == ""
	if unknown {
		encoded = h.dummy
	}
	if len(pw) > MaxLength {
		return ErrMismatch
	}
	p, salt, want, err := decode(encoded)
	if err != nil {
		return err
	}
	if err := h.acquire(ctx); err != nil {
		return err
	}
	got := h.derive(pw, salt, p)
	h.release()
	if subtle.ConstantTimeCompare(got, want) != 1 || unknown {
		return ErrMismatch
	}
	return nil
}

func decode(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return Params{}, nil, nil, errors.New("password: not an argon2id hash")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return Params{}, nil, nil, errors.New("password: unsupported argon2 version")
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, fmt.Errorf("password: bad parameters: %w", err)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return Params{}, nil, nil, err
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		return Params{}, nil, nil, err
	}
	return p, salt, key, nil
}
