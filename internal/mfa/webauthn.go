package mfa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"gatehouse/internal/audit"
	"gatehouse/internal/errcode"
	"gatehouse/internal/passkey"
)

// Security keys and built-in authenticators (WebAuthn) are devices like any
// other — a row in the devices table with a name, a type, pending → active —
// plus a credential (id, signature counter, transports, backup flags,
// AAGUID) kept beside it. Storage conventions:
//
//   - The credential public key is not secret, but it is what a sign-in is
//     checked against, so it is sealed in the device's secret columns like a
//     TOTP secret (AES-GCM with the device id as associated data): someone
//     who can write to the database but does not hold the key-encryption
//     key cannot swap in a key of their own.
//   - A pending WebAuthn device has no secret yet: its secret columns hold
//     the empty key id and an empty ciphertext until the attestation is
//     verified.
//   - Ceremonies in progress are challenges in the database, bound to the
//     session that began them and to their kind (and, for a registration, to
//     the device), single use and expiring after ChallengeTTL, so any node
//     may finish what another began.

// ChallengeKind says which ceremony a challenge belongs to.
type ChallengeKind string

const (
	ChallengeRegister ChallengeKind = "register"
	ChallengeLogin    ChallengeKind = "login"
)

// Challenge is a WebAuthn ceremony in progress.
type Challenge struct {
	// Challenge is the base64url challenge the browser signs: the key.
	Challenge string
	// SessionHash is the hash of the session that began the ceremony; only
	// that session may finish it.
	SessionHash string
	UserID      string
	Kind        ChallengeKind
	// DeviceID is the pending device a registration activates.
	DeviceID  string
	State     []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// WebAuthnCredential is an active WebAuthn device with its credential. The
// credential's PublicKey is empty as stored: it is sealed in the device.
type WebAuthnCredential struct {
	Device     Device
	Credential passkey.Credential
}

// ErrCredentialExists: a credential id is registered already (to anyone).
var ErrCredentialExists = errors.New("mfa: credential already registered")

// WebAuthnStore is what WebAuthn needs from storage beyond Store.
type WebAuthnStore interface {
	// PutChallenge stores a challenge, deleting the user's expired ones and
	// the session's oldest beyond MaxOpenChallenges.
	PutChallenge(ctx context.Context, c Challenge, now time.Time) error
	// TakeChallenge deletes and returns, atomically, the challenge with that
	// value begun by that session for that kind of ceremony; ErrNotFound
	// when there is none (never begun, already used, or begun elsewhere).
	// An expired challenge is returned (and deleted): the caller says so.
	TakeChallenge(ctx context.Context, sessionHash, challenge string, kind ChallengeKind) (Challenge, error)
	// WebAuthnCredentials returns the user's active WebAuthn devices and
	// their credentials, oldest first.
	WebAuthnCredentials(ctx context.Context, userID string) ([]WebAuthnCredential, error)
	// ActivateWebAuthn turns a pending WebAuthn device active with its
	// sealed public key and credential. Atomically, like Store.Activate:
	// ErrNotPending, ErrExpired, ErrNameTaken, ErrLimit (limit active
	// WebAuthn devices of either type), and ErrCredentialExists.
	ActivateWebAuthn(ctx context.Context, userID, id, secretKeyID string, secretCT []byte, c passkey.Credential, limit int, now time.Time) (Device, error)
	// RecordWebAuthnUse stores a sign-in's counter and flags if the stored
	// counter is still prevCount (else ErrReplay: another sign-in with the
	// credential got there first), and the device's last use.
	RecordWebAuthnUse(ctx context.Context, deviceID string, prevCount uint32, c passkey.Credential, now time.Time) error
}

// WebAuthn registers security keys and built-in authenticators and checks
// them at sign-in. It shares Service's names, limits, keys and clock.
type WebAuthn struct {
	*Service
	Store WebAuthnStore
	// RP runs the ceremonies; nil when the configuration rules WebAuthn out
	// (Unavailable then says why, for people).
	RP          *passkey.RelyingParty
	Unavailable string
	Log         *slog.Logger
}

// IsWebAuthn reports whether devices of the type are WebAuthn authenticators.
func (t Type) IsWebAuthn() bool { return t == TypeSecurityKey || t == TypeBuiltIn }

func (t Type) attachment() passkey.Attachment {
	if t == TypeBuiltIn {
		return passkey.Platform
	}
	return passkey.CrossPlatform
}

func (w *WebAuthn) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}

// UnavailableReason is why security keys cannot be used on this portal, or
// "" when they can.
func (w *WebAuthn) UnavailableReason() string {
	if w == nil {
		return "Security keys are not set up on this portal."
	}
	if w.RP == nil {
		if w.Unavailable != "" {
			return w.Unavailable
		}
		return "Security keys are not set up on this portal."
	}
	return ""
}

func (w *WebAuthn) unavailable() error {
	return errcode.New(errcode.NotAllowed, "Security keys and built-in authenticators cannot be used here: %s", w.UnavailableReason())
}

func wrongConfirmation(t Type) error {
	return errcode.New(errcode.InvalidInput, "This registration is for a %s: confirm it with the browser's \"credential\", not a code.", strings.ToLower(t.Label()))
}

// BlockedReason says why the user may not register a WebAuthn device now,
// or "" when they may.
func (w *WebAuthn) BlockedReason(ctx context.Context, userID string) (string, error) {
	if r := w.UnavailableReason(); r != "" {
		return r, nil
	}
	n, err := w.count(ctx, userID)
	if err != nil {
		return "", err
	}
	if n >= MaxWebAuthnDevices {
		return fmt.Sprintf("This account has %d security keys and built-in authenticators, the most allowed. Delete one to register another.", n), nil
	}
	return "", nil
}

func (w *WebAuthn) count(ctx context.Context, userID string) (int, error) {
	a, err := w.Service.Store.CountDevices(ctx, userID, TypeSecurityKey)
	if err != nil {
		return 0, err
	}
	b, err := w.Service.Store.CountDevices(ctx, userID, TypeBuiltIn)
	return a + b, err
}

// Handle is a user's WebAuthn user handle: their account id, which is
// random, stable for the life of the account and says nothing about them.
func Handle(userID string) []byte { return []byte(userID) }

// credentials returns the user's WebAuthn credentials with their public
// keys opened.
func (w *WebAuthn) credentials(ctx context.Context, userID string) ([]WebAuthnCredential, error) {
	creds, err := w.Store.WebAuthnCredentials(ctx, userID)
	if err != nil {
		return nil, err
	}
	for i := range creds {
		d := creds[i].Device
		pk, err := w.Keys.Open(d.SecretKeyID, d.SecretCT, secretAAD(d.ID))
		if err != nil {
			return nil, fmt.Errorf("open public key of device %s: %w", d.ID, err)
		}
		creds[i].Credential.PublicKey = pk
	}
	return creds, nil
}

func passkeyUser(userID, name string, creds []WebAuthnCredential) passkey.User {
	u := passkey.User{Handle: Handle(userID), Name: name, DisplayName: name}
	for _, c := range creds {
		u.Credentials = append(u.Credentials, c.Credential)
	}
	return u
}

// WebAuthnEnrollment is a pending WebAuthn device and the options for the
// browser's navigator.credentials.create().
type WebAuthnEnrollment struct {
	Device
	Options json.RawMessage
}

func (w *WebAuthn) event(ctx context.Context, name, result, userID, username string, d Device, detail string) context.Context {
	ev := audit.New(ctx, name, result)
	ev.Time, ev.TargetUserID, ev.TargetUsername, ev.CredentialType = w.now(), userID, username, audit.WebAuthn
	ev.DeviceID, ev.DeviceName, ev.Detail = d.ID, d.Name, detail
	return audit.Attach(ctx, ev)
}

// StartRegistration begins registering a security key or built-in
// authenticator named name for the user, in the session sessionHash: a
// pending device and a challenge, both expiring after ChallengeTTL.
func (w *WebAuthn) StartRegistration(ctx context.Context, userID, username, sessionHash, name string, t Type) (WebAuthnEnrollment, error) {
	if !t.IsWebAuthn() {
		return WebAuthnEnrollment{}, errcode.New(errcode.InvalidInput, "%q is not a security key type.", t)
	}
	if w == nil || w.RP == nil {
		return WebAuthnEnrollment{}, w.unavailable()
	}
	name, key, err := NormalizeName(name)
	if err != nil {
		return WebAuthnEnrollment{}, err
	}
	if reason, err := w.BlockedReason(ctx, userID); err != nil {
		return WebAuthnEnrollment{}, err
	} else if reason != "" {
		return WebAuthnEnrollment{}, errcode.New(errcode.DeviceLimit, "%s", reason)
	}
	if err := w.checkNameFree(ctx, userID, "", key); err != nil {
		return WebAuthnEnrollment{}, err
	}
	creds, err := w.credentials(ctx, userID)
	if err != nil {
		return WebAuthnEnrollment{}, err
	}
	cer, err := w.RP.BeginRegistration(passkeyUser(userID, username, creds), t.attachment())
	if err != nil {
		return WebAuthnEnrollment{}, err
	}
	id, err := NewID(w.rand())
	if err != nil {
		return WebAuthnEnrollment{}, err
	}
	now := w.now()
	d := Device{
		ID: id, UserID: userID, Type: t, Name: name, NameKey: key, Status: StatusPending,
		CreatedAt: now, ExpiresAt: now.Add(ChallengeTTL), SecretKeyID: "", SecretCT: []byte{}, LastStep: -1,
	}
	ectx := w.event(ctx, audit.StartWebAuthnDeviceRegistration, audit.Success, userID, username, d, string(t))
	if err := w.Service.Store.CreatePending(ectx, d, now); err != nil {
		if errors.Is(err, ErrLimit) {
			return WebAuthnEnrollment{}, errcode.New(errcode.DeviceLimit, "You have %d registrations in progress. Finish or wait for one to expire.", MaxPendingEnrollments)
		}
		return WebAuthnEnrollment{}, err
	}
	ch := Challenge{Challenge: cer.Challenge, SessionHash: sessionHash, UserID: userID, Kind: ChallengeRegister, DeviceID: id,
		State: cer.State, CreatedAt: now, ExpiresAt: now.Add(ChallengeTTL)}
	if err := w.Store.PutChallenge(ctx, ch, now); err != nil {
		return WebAuthnEnrollment{}, err
	}
	return WebAuthnEnrollment{Device: d, Options: cer.Options}, nil
}

// refusal turns a refused response into the error the person sees. A
// malformed response is invalid_input (it is not a guess); anything the
// verifier refused is invalid_code, which sign-in counts as a wrong answer,
// with detail.reason naming what was wrong.
func refusal(err error) error {
	var pe *passkey.Error
	if !errors.As(err, &pe) {
		return err
	}
	code := errcode.InvalidCode
	switch pe.Kind {
	case passkey.Malformed:
		code = errcode.InvalidInput
	case passkey.AlreadyRegistered:
		return errcode.New(errcode.Conflict, "This security key is already registered.")
	}
	e := errcode.New(code, "%s", pe.Message)
	e.Detail = map[string]any{"reason": string(pe.Kind)}
	if code == errcode.InvalidInput {
		e.Detail["format"] = true
	}
	return e
}

func noCeremony(what string) error {
	return errcode.New(errcode.NotAllowed, "No %s is waiting for this answer in this session: it was already answered, was begun in another session, or was never begun. Start again.", what)
}

var errChallengeExpired = errors.New("mfa: challenge expired")

// take consumes the challenge a response answers, checking it belongs to
// this user; errChallengeExpired when it is past ChallengeTTL.
func (w *WebAuthn) take(ctx context.Context, userID, sessionHash, challenge string, kind ChallengeKind, what string) (Challenge, error) {
	ch, err := w.Store.TakeChallenge(ctx, sessionHash, challenge, kind)
	if errors.Is(err, ErrNotFound) || (err == nil && ch.UserID != userID) {
		return Challenge{}, noCeremony(what)
	} else if err != nil {
		return Challenge{}, err
	}
	if !w.now().Before(ch.ExpiresAt) {
		return Challenge{}, errChallengeExpired
	}
	return ch, nil
}

// ConfirmRegistration verifies the browser's answer to a registration
// begun in this session and activates the device. The challenge is used
// up whatever the outcome: a refused answer means starting again.
func (w *WebAuthn) ConfirmRegistration(ctx context.Context, userID, username, sessionHash, id string, response []byte) (Device, error) {
	if w == nil || w.RP == nil {
		return Device{}, w.unavailable()
	}
	d, err := w.Service.Store.GetDevice(ctx, userID, id)
	if errors.Is(err, ErrNotFound) {
		return Device{}, notFound()
	} else if err != nil {
		return Device{}, err
	}
	if d.Status == StatusActive {
		return Device{}, errcode.New(errcode.Conflict, "This device is already registered.")
	}
	if !d.Type.IsWebAuthn() {
		return Device{}, errcode.New(errcode.InvalidInput, "This registration is for an authenticator app: confirm it with a \"code\".")
	}
	if d.Expired(w.now()) {
		return Device{}, expiredWebAuthn()
	}
	reg, err := passkey.ParseRegistration(response)
	if err != nil {
		return Device{}, refusal(err)
	}
	ch, err := w.take(ctx, userID, sessionHash, reg.Challenge(), ChallengeRegister, "security key registration")
	if errors.Is(err, errChallengeExpired) {
		return Device{}, expiredWebAuthn()
	} else if errcode.Code(err) == errcode.NotAllowed {
		// A parallel confirmation with the same answer may have taken the
		// challenge and activated the device meanwhile: say so.
		if now, gerr := w.Service.Store.GetDevice(ctx, userID, id); gerr == nil && now.Status == StatusActive {
			return Device{}, errcode.New(errcode.Conflict, "This device is already registered.")
		}
		return Device{}, err
	} else if err != nil {
		return Device{}, err
	}
	if ch.DeviceID != id {
		return Device{}, noCeremony("security key registration")
	}
	creds, err := w.credentials(ctx, userID)
	if err != nil {
		return Device{}, err
	}
	cred, err := w.RP.FinishRegistration(passkeyUser(userID, username, creds), ch.State, reg)
	if err != nil {
		w.log().Info("webauthn registration refused", "user", userID, "device", id, "err", err)
		return Device{}, refusal(err)
	}
	kid, ct, err := w.Keys.Seal(cred.PublicKey, secretAAD(id))
	if err != nil {
		return Device{}, err
	}
	now := w.now()
	ectx := w.event(ctx, audit.CompleteWebAuthnDeviceRegistration, audit.Success, userID, username, d, string(d.Type))
	active, err := w.Store.ActivateWebAuthn(ectx, userID, id, kid, ct, cred, MaxWebAuthnDevices, now)
	switch {
	case errors.Is(err, ErrCredentialExists):
		return Device{}, errcode.New(errcode.Conflict, "This security key is already registered.")
	case err != nil:
		return Device{}, activationError(err, d, expiredWebAuthn(),
			fmt.Sprintf("This account already has %d security keys and built-in authenticators, the most allowed.", MaxWebAuthnDevices))
	}
	return active, nil
}

func expiredWebAuthn() error {
	return errcode.New(errcode.EnrollmentExpired, "This registration expired after %d minutes. Start again.", int(ChallengeTTL.Minutes()))
}

// BeginSignIn starts a sign-in with one of the user's security keys or
// built-in authenticators in the session sessionHash and returns the options
// for navigator.credentials.get().
func (w *WebAuthn) BeginSignIn(ctx context.Context, userID, sessionHash string) (json.RawMessage, error) {
	if w == nil || w.RP == nil {
		return nil, w.unavailable()
	}
	creds, err := w.credentials(ctx, userID)
	if err != nil {
		return nil, err
	}
	if len(creds) == 0 {
		return nil, errcode.New(errcode.NotAllowed, "You have no security key or built-in authenticator registered.")
	}
	cer, err := w.RP.BeginLogin(passkeyUser(userID, "", creds))
	if err != nil {
		return nil, err
	}
	now := w.now()
	ch := Challenge{Challenge: cer.Challenge, SessionHash: sessionHash, UserID: userID, Kind: ChallengeLogin,
		State: cer.State, CreatedAt: now, ExpiresAt: now.Add(ChallengeTTL)}
	if err := w.Store.PutChallenge(ctx, ch, now); err != nil {
		return nil, err
	}
	return cer.Options, nil
}

// CheckAssertion verifies the browser's answer to a sign-in begun in this
// session: the check for account.Service.CompleteMFA. The challenge is used
// up whatever the outcome, so an answer is accepted at most once; the
// credential's counter and backup flags are stored with a compare-and-set.
func (w *WebAuthn) CheckAssertion(ctx context.Context, userID, sessionHash string, response []byte) error {
	_, err := w.VerifyAssertion(ctx, userID, sessionHash, response)
	return err
}

// VerifyAssertion is CheckAssertion returning the device used.
func (w *WebAuthn) VerifyAssertion(ctx context.Context, userID, sessionHash string, response []byte) (Device, error) {
	if w == nil || w.RP == nil {
		return Device{}, w.unavailable()
	}
	as, err := passkey.ParseAssertion(response)
	if err != nil {
		return Device{}, refusal(err)
	}
	ch, err := w.take(ctx, userID, sessionHash, as.Challenge(), ChallengeLogin, "security key sign-in")
	if errors.Is(err, errChallengeExpired) {
		return Device{}, errcode.New(errcode.NotAllowed, "The security key request expired after %d minutes. Choose “Use your security key” again.", int(ChallengeTTL.Minutes()))
	} else if err != nil {
		return Device{}, err
	}
	creds, err := w.credentials(ctx, userID)
	if err != nil {
		return Device{}, err
	}
	cred, err := w.RP.FinishLogin(passkeyUser(userID, "", creds), ch.State, as)
	if err != nil {
		if passkey.KindOf(err) == passkey.Cloned {
			w.log().Warn("webauthn clone warning: sign-in refused", "user", userID, "credential", fmt.Sprintf("%x", as.CredentialID()), "err", err)
		} else {
			w.log().Info("webauthn sign-in refused", "user", userID, "err", err)
		}
		return Device{}, refusal(err)
	}
	var used WebAuthnCredential
	for _, c := range creds {
		if string(c.Credential.ID) == string(cred.ID) {
			used = c
		}
	}
	now := w.now()
	switch err := w.Store.RecordWebAuthnUse(ctx, used.Device.ID, used.Credential.SignCount, cred, now); {
	case errors.Is(err, ErrReplay):
		return Device{}, errcode.New(errcode.CodeReused, "This security key was just used for another sign-in. Try again.")
	case err != nil:
		return Device{}, err
	}
	used.Device.LastUsedAt = now
	return used.Device, nil
}
