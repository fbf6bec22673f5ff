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
	"runtime"
	"strings"
	"sync/atomic"
	"time"
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

// The wait queue in front of the hashing slots (issue 6): a flood of
// sign-ins is answered "busy" at once instead of piling up goroutines and
// connections behind two slots.
const (
	// QueuePerSlot hashes may wait for each slot: at 0.1–0.3 s a hash, a
	// full queue drains in a few seconds, well inside MaxQueueWait.
	QueuePerSlot = 16
	// MaxQueueWait is the longest a hash waits for a slot before ErrBusy:
	// a person gets "try again" instead of a page that hangs.
	MaxQueueWait = 5 * time.Second
)

// Hasher hashes and verifies passwords with at most a fixed number running at
// once (each one holds Params.Memory KiB while it runs), and at most a fixed
// number waiting for a slot, each for a bounded time; beyond that it answers
// ErrBusy.
type Hasher struct {
	params     Params
	slots      chan struct{}
	dummy      string
	waiting    atomic.Int64
	maxWaiting int64
	maxWait    time.Duration
}

// NewHasher returns a Hasher that runs at most concurrency hashes at once,
// with QueuePerSlot×concurrency more waiting at most MaxQueueWait.
func NewHasher(p Params, concurrency int) *Hasher {
	if concurrency < 1 {
		concurrency = 1
	}
	h := &Hasher{params: p, slots: make(chan struct{}, concurrency), maxWaiting: int64(QueuePerSlot * concurrency), maxWait: MaxQueueWait}
	// The unknown user's stand-in hash needs only p (so Verify derives at
	// the same cost); its key is never matched (Verify reports a mismatch
	// for an unknown user whatever it computes), so it is not derived here:
	// deriving it cost a full argon2id hash and its 64 MiB at every start.
	h.dummy = h.encode(make([]byte, 16), make([]byte, 32), p)
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

// Concurrency is how many hashes may run at once.
func (h *Hasher) Concurrency() int { return cap(h.slots) }

// SetQueue changes how many hashes may wait for a slot and for how long.
// Call it before the Hasher is used.
func (h *Hasher) SetQueue(waiters int, wait time.Duration) {
	h.maxWaiting, h.maxWait = int64(waiters), wait
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	if h.waiting.Add(1) > h.maxWaiting {
		h.waiting.Add(-1)
		return ErrBusy
	}
	defer h.waiting.Add(-1)
	t := time.NewTimer(h.maxWait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ErrBusy
	case <-t.C:
		return ErrBusy
	}
}

// releaseAbove is the memory cost from which each hash's memory goes back
// to the operating system as soon as it is done (see release).
const releaseAbove = 16 << 10 // KiB

func (h *Hasher) release(p Params) {
	if p.Memory >= releaseAbove {
		// argon2 allocates its whole cost afresh for every hash; left to
		// the collector's pace, a burst of sign-ins leaves several dead
		// 64 MiB blocks resident at once. Collecting now, before the slot
		// is given up, frees this block before the next hash allocates
		// one, which then reuses its pages: memory stays at the hashes in
		// flight. The pages are not handed back to the OS here (the
		// runtime's scavenger does that when they stay unused): faulting
		// 64 MiB in afresh for every hash doubled a sign-in's CPU time.
		runtime.GC()
	}
	<-h.slots
}

// DefaultConcurrency is how many hashes of p to run at once on this
// machine: one per p.Threads cores, at least one. More would not hash
// faster (argon2 already keeps p.Threads cores busy) but would hold
// another p.Memory each.
func DefaultConcurrency(p Params) int {
	return max(1, runtime.GOMAXPROCS(0)/max(1, int(p.Threads)))
}

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
	defer h.release(h.params)
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
	h.release(p)
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
