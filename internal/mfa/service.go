package mfa

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"gatehouse/internal/audit"
	"gatehouse/internal/errcode"
	"gatehouse/internal/secretbox"
	"gatehouse/internal/throttle"
	"gatehouse/internal/totp"
)

// Service is the one place the rules for devices live; the web pages and the
// JSON API both call it.
type Service struct {
	Store    Store
	Keys     *secretbox.Keyring
	Throttle *throttle.Limiter
	Issuer   string
	Params   totp.Params
	Now      func() time.Time
	Rand     io.Reader
}

// Enrollment is a pending authenticator-app device with its secret, shown
// only to its own user and only while pending.
type Enrollment struct {
	Device
	Secret []byte
	URI    string
}

// EncodedSecret is the secret as typed into an app.
func (e Enrollment) EncodedSecret() string { return totp.EncodeSecret(e.Secret) }

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

// NewID returns a random identifier for a device.
func NewID(r io.Reader) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func secretAAD(deviceID string) []byte { return []byte("gatehouse/mfa-secret/" + deviceID) }

// ThrottleKey is the per-account throttle's key: password, sign-in codes and
// enrollment codes share it, so guesses spread across them still add up.
func ThrottleKey(userID string) string { return "account:" + userID }

// List returns the user's active devices.
func (s *Service) List(ctx context.Context, userID string) ([]Device, error) {
	return s.Store.ListDevices(ctx, userID)
}

// RegisterBlockedReason says why the user may not register another device
// now, or "" when they may.
func (s *Service) RegisterBlockedReason(ctx context.Context, userID string) (string, error) {
	n, err := s.Store.CountDevices(ctx, userID, TypeTOTP)
	if err != nil {
		return "", err
	}
	if n >= MaxTOTPDevices {
		return fmt.Sprintf("This account has %d authenticator apps, the most allowed. Delete one to register another.", n), nil
	}
	return "", nil
}

// StartTOTP begins an authenticator-app enrollment: a fresh 160-bit secret in
// a pending device that expires after EnrollmentTTL.
func (s *Service) StartTOTP(ctx context.Context, userID, accountName, name string) (Enrollment, error) {
	name, key, err := NormalizeName(name)
	if err != nil {
		return Enrollment{}, err
	}
	if reason, err := s.RegisterBlockedReason(ctx, userID); err != nil {
		return Enrollment{}, err
	} else if reason != "" {
		return Enrollment{}, errcode.New(errcode.DeviceLimit, "%s", reason)
	}
	if err := s.checkNameFree(ctx, userID, "", key); err != nil {
		return Enrollment{}, err
	}
	secret, err := totp.GenerateSecret(s.rand())
	if err != nil {
		return Enrollment{}, err
	}
	id, err := NewID(s.rand())
	if err != nil {
		return Enrollment{}, err
	}
	kid, ct, err := s.Keys.Seal(secret, secretAAD(id))
	if err != nil {
		return Enrollment{}, err
	}
	now := s.now()
	d := Device{
		ID: id, UserID: userID, Type: TypeTOTP, Name: name, NameKey: key, Status: StatusPending,
		CreatedAt: now, ExpiresAt: now.Add(EnrollmentTTL), SecretKeyID: kid, SecretCT: ct, LastStep: -1,
	}
	if err := s.Store.CreatePending(s.audited(ctx, audit.StartVirtualMfaDeviceRegistration, userID, d), d, now); err != nil {
		if errors.Is(err, ErrLimit) {
			return Enrollment{}, errcode.New(errcode.DeviceLimit, "You have %d registrations in progress. Finish or wait for one to expire.", MaxPendingEnrollments)
		}
		return Enrollment{}, err
	}
	return s.enrollment(d, accountName, secret)
}

func (s *Service) enrollment(d Device, accountName string, secret []byte) (Enrollment, error) {
	uri, err := totp.KeyURI(s.Issuer, accountName, secret, s.Params)
	if err != nil {
		return Enrollment{}, err
	}
	return Enrollment{Device: d, Secret: secret, URI: uri}, nil
}

func (s *Service) checkNameFree(ctx context.Context, userID, exceptID, key string) error {
	devices, err := s.Store.ListDevices(ctx, userID)
	if err != nil {
		return err
	}
	for _, d := range devices {
		if d.NameKey == key && d.ID != exceptID {
			return nameTaken(d.Name)
		}
	}
	return nil
}

func nameTaken(name string) error {
	return errcode.New(errcode.NameTaken, "This account already has a device named %q. Choose another name.", name)
}

func notFound() error {
	return errcode.New(errcode.NotFound, "No such device.")
}

func expired() error {
	return errcode.New(errcode.EnrollmentExpired, "This registration expired after %d minutes. Start again.", int(EnrollmentTTL.Minutes()))
}

// Get returns a device of the user. A pending device comes with its secret
// (the same one on every call, so a page refresh shows the same QR code);
// an expired one is enrollment_expired; an active one never carries its secret.
func (s *Service) Get(ctx context.Context, userID, accountName, id string) (Enrollment, error) {
	d, err := s.Store.GetDevice(ctx, userID, id)
	if errors.Is(err, ErrNotFound) {
		return Enrollment{}, notFound()
	} else if err != nil {
		return Enrollment{}, err
	}
	if d.Status != StatusPending {
		return Enrollment{Device: d}, nil
	}
	if d.Expired(s.now()) {
		return Enrollment{}, expired()
	}
	if d.Type != TypeTOTP {
		// A security key's registration holds no secret: its options went
		// to the browser that began it (see webauthn.go).
		return Enrollment{Device: d}, nil
	}
	secret, err := s.Keys.Open(d.SecretKeyID, d.SecretCT, secretAAD(d.ID))
	if err != nil {
		return Enrollment{}, fmt.Errorf("open secret of device %s: %w", d.ID, err)
	}
	return s.enrollment(d, accountName, secret)
}

func (s *Service) step(t time.Time) int64 { return totp.Counter(t, s.Params.Period) }

func formatError(digits int) error {
	e := errcode.New(errcode.InvalidCode, "Enter the %d-digit code shown in your authenticator app.", digits)
	// Sign-in does not count a malformed code as a guess.
	e.Detail = map[string]any{"format": true}
	return e
}

// Confirm activates a pending authenticator app when code is right. The step
// that matched becomes the replay guard, so the confirming code cannot then
// be used to sign in. When the code is wrong but appears within ±5 minutes,
// the error says the phone's clock is off — only here, where the user has
// just been given the secret, since at sign-in it would help a guesser.
func (s *Service) Confirm(ctx context.Context, userID, id, code string) (Device, error) {
	d, err := s.Store.GetDevice(ctx, userID, id)
	if errors.Is(err, ErrNotFound) {
		return Device{}, notFound()
	} else if err != nil {
		return Device{}, err
	}
	if d.Status == StatusActive {
		return Device{}, errcode.New(errcode.Conflict, "This device is already registered.")
	}
	if d.Type != TypeTOTP {
		return Device{}, wrongConfirmation(d.Type)
	}
	now := s.now()
	if d.Expired(now) {
		return Device{}, expired()
	}
	code, err = totp.NormalizeCode(code, s.Params.Digits)
	if err != nil {
		return Device{}, formatError(s.Params.Digits)
	}
	// One transaction, as for sign-in (account.Service.CompleteStep): the
	// account's throttle is held first (throttle.Limiter.BeginHeld), so
	// concurrent confirmations are checked one after the other, each
	// seeing the count the previous one left; a wrong code commits its
	// count, anything else but success rolls back.
	var active Device
	var stepErr error
	err = s.Store.Atomically(ctx, func(ctx context.Context) error {
		attempt, err := s.Throttle.BeginHeld(ctx, ThrottleKey(userID))
		if err != nil {
			return err
		}
		secret, err := s.Keys.Open(d.SecretKeyID, d.SecretCT, secretAAD(d.ID))
		if err != nil {
			return fmt.Errorf("open secret of device %s: %w", d.ID, err)
		}
		cur := s.step(now)
		step, ok := totp.Verify(secret, code, s.Params, cur, Window)
		if !ok {
			// A code that belongs to a nearby time proves the user holds
			// this secret: it is a wrong clock, not a guess, so it does not
			// count against the throttle (which would otherwise hide this
			// message behind growing waits).
			if far, found := totp.Verify(secret, code, s.Params, cur, ClockSearchSteps); found {
				return clockSkew(far-cur, s.Params.Period, now)
			}
			if err := attempt.Failed(ctx); err != nil {
				return err
			}
			if wait := attempt.Wait(); wait > 0 {
				s.recordLock(ctx, userID, d, wait)
				stepErr = throttle.LockedError(wait)
				return nil
			}
			stepErr = errcode.New(errcode.InvalidCode, "That code is not right. Check that you scanned this page's QR code, then enter the code your app shows now.")
			return nil
		}
		active, err = s.Store.Activate(s.audited(ctx, audit.CompleteVirtualMfaDeviceRegistration, userID, d), userID, id, step, step-cur, MaxTOTPDevices, now)
		if err != nil {
			return activationError(err, d, expired(),
				fmt.Sprintf("This account already has %d authenticator apps, the most allowed.", MaxTOTPDevices))
		}
		return attempt.Succeeded(ctx)
	})
	if err != nil {
		return Device{}, err
	}
	return active, stepErr
}

func clockSkew(steps, period int64, now time.Time) error {
	dir := "ahead"
	if steps < 0 {
		dir, steps = "behind", -steps
	}
	secs := steps * period
	amount := fmt.Sprintf("%d seconds", secs)
	if secs >= 60 {
		m := int(math.Round(float64(secs) / 60))
		amount = fmt.Sprintf("%d minute", m)
		if m != 1 {
			amount += "s"
		}
	}
	e := errcode.New(errcode.ClockSkew, "Your authenticator's clock is about %s %s. Set the phone's time automatically, then enter the new code. Server time: %s UTC.",
		amount, dir, now.UTC().Format("15:04:05"))
	e.Detail = map[string]any{"clock_offset_seconds": map[bool]int64{true: secs, false: -secs}[dir == "ahead"], "server_time": now.UTC().Format(time.RFC3339)}
	return e
}

// Rename gives an active device a new name.
func (s *Service) Rename(ctx context.Context, userID, id, name string) (Device, error) {
	name, key, err := NormalizeName(name)
	if err != nil {
		return Device{}, err
	}
	d, err := s.Store.GetDevice(ctx, userID, id)
	if errors.Is(err, ErrNotFound) || (err == nil && d.Status != StatusActive) {
		return Device{}, notFound()
	} else if err != nil {
		return Device{}, err
	}
	if err := s.checkNameFree(ctx, userID, id, key); err != nil {
		return Device{}, err
	}
	renamed := d
	renamed.Name = name
	switch err := s.Store.Rename(s.audited(ctx, audit.UpdateMfaDeviceForUser, userID, renamed), userID, id, name, key); {
	case errors.Is(err, ErrNameTaken):
		return Device{}, nameTaken(name)
	case errors.Is(err, ErrNotFound):
		return Device{}, notFound()
	case err != nil:
		return Device{}, err
	}
	d.Name, d.NameKey = name, key
	return d, nil
}

// Delete removes a device. keepOne is true while policy requires MFA and the
// caller is the user: they must add a replacement before removing the last.
func (s *Service) Delete(ctx context.Context, userID, id string, keepOne bool) error {
	d, err := s.Store.GetDevice(ctx, userID, id)
	if errors.Is(err, ErrNotFound) {
		return notFound()
	} else if err != nil {
		return err
	}
	switch err := s.Store.Delete(s.audited(ctx, audit.DeleteMfaDeviceForUser, userID, d), userID, id, keepOne); {
	case errors.Is(err, ErrNotFound):
		return notFound()
	case errors.Is(err, ErrLastDevice):
		return errcode.New(errcode.Conflict, "This is your only MFA device. Register another device first, then delete this one.")
	default:
		return err
	}
}

// Methods lists the second factors the user can sign in with, by kind:
// "totp" for authenticator apps, "webauthn" for security keys and built-in
// authenticators.
func (s *Service) Methods(ctx context.Context, userID string) ([]string, error) {
	devices, err := s.Store.ListDevices(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, kind := range []string{TypeTOTP.Kind(), TypeSecurityKey.Kind()} {
		for _, d := range devices {
			if d.Type.Kind() == kind {
				out = append(out, kind)
				break
			}
		}
	}
	return out, nil
}

// VerifyTOTP checks a sign-in code against the user's authenticator apps. The
// window is centred on each device's remembered drift; a step at or before
// the device's last accepted step is a replay, refused even inside the
// window, and the store's compare-and-set makes two concurrent uses of one
// code yield one success on any number of nodes.
func (s *Service) VerifyTOTP(ctx context.Context, userID, code string) (Device, error) {
	code, err := totp.NormalizeCode(code, s.Params.Digits)
	if err != nil {
		return Device{}, formatError(s.Params.Digits)
	}
	devices, err := s.Store.ListDevices(ctx, userID)
	if err != nil {
		return Device{}, err
	}
	now := s.now()
	cur := s.step(now)
	replayed := false
	for _, d := range devices {
		if d.Type != TypeTOTP {
			continue
		}
		v, done, err := s.verifier(d) // prepared key, cached per device (verifiers.go)
		if err != nil {
			return Device{}, err
		}
		step, ok := v.Verify(code, s.Params, cur+d.Drift, Window)
		done()
		if !ok {
			continue
		}
		drift := max(-MaxDrift, min(MaxDrift, step-cur))
		switch err := s.Store.RecordUse(ctx, d.ID, step, drift, now); {
		case errors.Is(err, ErrReplay):
			replayed = true
			continue
		case err != nil:
			return Device{}, err
		}
		d.LastStep, d.Drift, d.LastUsedAt = step, drift, now
		return d, nil
	}
	if replayed {
		return Device{}, errcode.New(errcode.CodeReused, "That code was already used. Wait for your app to show the next code, then enter it.")
	}
	return Device{}, errcode.New(errcode.InvalidCode, "That code is not right. Enter the code your authenticator app shows now.")
}

// ReadAheadTOTP says, inside the transaction a sign-in step runs in,
// that CheckTOTP for userID comes soon (Store.ReadAheadDevices).
func (s *Service) ReadAheadTOTP(ctx context.Context, userID string) {
	s.Store.ReadAheadDevices(ctx, userID)
}

// CheckTOTP is VerifyTOTP for sign-in, which needs only the verdict.
func (s *Service) CheckTOTP(ctx context.Context, userID, code string) error {
	_, err := s.VerifyTOTP(ctx, userID, code)
	return err
}

// audited attaches the event recording a device change to the context of
// the one store call that makes it, so change and record commit together.
// The actor comes from the request (the user, or an administrator).
func (s *Service) audited(ctx context.Context, name, userID string, d Device) context.Context {
	ev := audit.New(ctx, name, audit.Success)
	ev.Time, ev.TargetUserID, ev.DeviceID, ev.DeviceName = s.now(), userID, d.ID, d.Name
	if d.Type == TypeTOTP {
		ev.CredentialType = audit.TOTP
	} else if d.Type != "" {
		ev.CredentialType = audit.WebAuthn
	}
	if ev.ActorID == userID {
		ev.TargetUsername = ev.ActorName
	}
	return audit.Attach(ctx, ev)
}

// activationError turns a store's refusal to activate a pending device into
// what the user is told; the same for every kind of device.
func activationError(err error, d Device, expiredErr error, limitMessage string) error {
	switch {
	case errors.Is(err, ErrNotPending):
		return errcode.New(errcode.Conflict, "This device is already registered.")
	case errors.Is(err, ErrExpired):
		return expiredErr
	case errors.Is(err, ErrNameTaken):
		return nameTaken(d.Name)
	case errors.Is(err, ErrLimit):
		return errcode.New(errcode.DeviceLimit, "%s", limitMessage)
	case errors.Is(err, ErrNotFound):
		return notFound()
	}
	return err
}
