// Package mfa holds the rules for MFA devices: names, limits, the
// enrollment state machine (pending → active, or pending → expired) and
// sign-in verification with replay protection and drift tracking. It knows
// nothing of HTTP or SQL: the store it needs is the small interface below.
package mfa

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"gatehouse/internal/errcode"
)

// Type is a kind of MFA device.
type Type string

// TypeTOTP is an authenticator app.
const TypeTOTP Type = "totp"

// WebAuthn authenticators: a security key one plugs in or taps, and the
// device's own (Touch ID, Windows Hello, an Android phone's screen lock).
const (
	TypeSecurityKey Type = "security_key"
	TypeBuiltIn     Type = "built_in"
)

// Kind is the policy's name for the type's family: "totp" for
// authenticator apps, "webauthn" for security keys and built-in
// authenticators.
func (t Type) Kind() string {
	if t == TypeTOTP {
		return "totp"
	}
	return "webauthn"
}

// Label is what people call the type.
func (t Type) Label() string {
	switch t {
	case TypeTOTP:
		return "Authenticator app"
	case TypeSecurityKey:
		return "Security key"
	case TypeBuiltIn:
		return "Built-in authenticator"
	}
	return string(t)
}

// Status of a device.
type Status string

const (
	StatusPending Status = "pending"
	StatusActive  Status = "active"
)

// Policy numbers, each with its reason.
const (
	// EnrollmentTTL: long enough to find and set up an app, short enough that
	// a forgotten tab does not hold a live secret for long.
	EnrollmentTTL = 10 * time.Minute
	// MaxTOTPDevices per user, as in IAM Identity Center.
	MaxTOTPDevices = 2
	// MaxWebAuthnDevices per user: security keys and built-in authenticators
	// together, as in IAM Identity Center.
	MaxWebAuthnDevices = 6
	// ChallengeTTL: a WebAuthn ceremony is one touch or fingerprint; five
	// minutes covers fetching a key from a drawer, and a challenge is
	// single use either way.
	ChallengeTTL = 5 * time.Minute
	// MaxOpenChallenges per session bounds what repeated "begin" calls can
	// make the server store; the oldest beyond it are dropped.
	MaxOpenChallenges = 5
	// MaxPendingEnrollments bounds what one user can make the server store.
	MaxPendingEnrollments = 10
	// Window is how many steps either side of the expected one are accepted:
	// one step covers a code typed just as it changed and small clock error.
	Window = 1
	// ClockSearchSteps is how far a failed enrollment code is looked for to
	// diagnose a wrong clock on the phone (±5 minutes).
	ClockSearchSteps = 10
	// MaxDrift bounds how far a remembered drift may move the window, so a
	// run of lucky guesses cannot walk it anywhere.
	MaxDrift = 10
	// NameMaxLength in characters after trimming.
	NameMaxLength = 64
)

// Device is a registered (or pending) MFA device.
type Device struct {
	ID          string
	UserID      string
	Type        Type
	Name        string
	NameKey     string // case-folded name: uniqueness among active devices
	Status      Status
	CreatedAt   time.Time
	ActivatedAt time.Time // zero while pending
	LastUsedAt  time.Time // zero when never used
	ExpiresAt   time.Time // pending only
	// Secret material, sealed by secretbox; never leaves the mfa package in clear
	// except in an Enrollment shown to its own user while pending.
	SecretKeyID string
	SecretCT    []byte
	// LastStep is the TOTP step last accepted (-1 when none): the replay guard.
	LastStep int64
	// Drift is the offset in steps of the last successful match.
	Drift int64
}

// Expired reports whether a pending device can no longer be confirmed.
func (d Device) Expired(now time.Time) bool {
	return d.Status == StatusPending && !now.Before(d.ExpiresAt)
}

// Errors a Store returns; the service turns them into user-facing errors.
var (
	ErrNotFound   = errors.New("mfa: not found")
	ErrNameTaken  = errors.New("mfa: name taken")
	ErrLimit      = errors.New("mfa: device limit reached")
	ErrNotPending = errors.New("mfa: device is not pending")
	ErrExpired    = errors.New("mfa: enrollment expired")
	ErrLastDevice = errors.New("mfa: last device")
	ErrReplay     = errors.New("mfa: step already used")
)

// Store is what the mfa service needs from storage. Every method is one
// transaction; the store enforces the invariants that need atomicity.
type Store interface {
	// Atomically runs fn in one transaction that every call made with the
	// context it is given joins; all of them commit when fn returns nil.
	Atomically(ctx context.Context, fn func(ctx context.Context) error) error
	// ListDevices returns the user's active devices, oldest first.
	ListDevices(ctx context.Context, userID string) ([]Device, error)
	// ReadAheadDevices says, inside Atomically, that ListDevices(ctx,
	// userID) comes soon: a store may read it along with the
	// transaction's next statements and save ListDevices a round trip.
	// It may do nothing; it never changes what ListDevices returns.
	ReadAheadDevices(ctx context.Context, userID string)
	// GetDevice returns one device of the user, active or pending; ErrNotFound
	// when it does not exist or belongs to someone else.
	GetDevice(ctx context.Context, userID, id string) (Device, error)
	// CountDevices counts the user's active devices of a type.
	CountDevices(ctx context.Context, userID string, t Type) (int, error)
	// CreatePending stores a pending device, deleting the user's expired
	// pending ones, and the oldest when the user already has
	// MaxPendingEnrollments.
	CreatePending(ctx context.Context, d Device, now time.Time) error
	// Activate turns a pending, unexpired device active with lastStep as its
	// replay guard. Atomically: ErrNotPending if it is already active (a
	// parallel confirmation won), ErrExpired, ErrNameTaken if an active device
	// of the user has the same name key, ErrLimit if the user already has
	// limit active devices of its type.
	Activate(ctx context.Context, userID, id string, lastStep, drift int64, limit int, now time.Time) (Device, error)
	// RecordUse is the replay guard's compare-and-set: it stores step and
	// drift only if step is greater than the stored last step, else ErrReplay.
	RecordUse(ctx context.Context, id string, step, drift int64, now time.Time) error
	// Rename changes an active device's name; ErrNameTaken, ErrNotFound.
	Rename(ctx context.Context, userID, id, name, nameKey string) error
	// Delete removes a device. With keepOne, deleting the user's last
	// active device fails with ErrLastDevice (checked atomically).
	Delete(ctx context.Context, userID, id string, keepOne bool) error
}

// NormalizeName trims a device name and checks it: 1–64 characters, printable
// Unicode (ordinary space allowed), no control or invisible format characters
// (which could make two names look alike or reorder text on screen). It returns
// the name in NFC and the key that uniqueness is judged by (case-folded).
func NormalizeName(s string) (name, key string, err error) {
	if !utf8.ValidString(s) {
		return "", "", errcode.New(errcode.NameInvalid, "The device name is not valid text.")
	}
	name = norm.NFC.String(strings.TrimSpace(s))
	n := utf8.RuneCountInString(name)
	if n == 0 {
		return "", "", errcode.New(errcode.NameInvalid, "Enter a device name.")
	}
	if n > NameMaxLength {
		return "", "", errcode.New(errcode.NameInvalid, "The device name must be at most %d characters (it has %d).", NameMaxLength, n)
	}
	for _, r := range name {
		if r != ' ' && !unicode.IsPrint(r) {
			return "", "", errcode.New(errcode.NameInvalid, "The device name contains a control or invisible character (%U). Use letters, digits, spaces and punctuation.", r)
		}
	}
	return name, cases.Fold().String(name), nil
}
