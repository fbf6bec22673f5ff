package admin

import (
	"context"
	"errors"
	"time"

	"gatehouse/internal/audit"
	"gatehouse/internal/errcode"
	"gatehouse/internal/mfa"
	"gatehouse/internal/policy"
)

// recorder wraps the device store so that an administrator's device change
// and its audit event are written by the one store call that makes the
// change. Other writes on the way must not carry the event (a wrong code
// bumps the throttle counter in a transaction of its own), and a new
// device's id is only known there.
type recorder struct {
	mfa.Store
	ev audit.Event
}

func (r recorder) CreatePending(ctx context.Context, d mfa.Device, now time.Time) error {
	ev := r.ev
	ev.DeviceID, ev.DeviceName = d.ID, d.Name
	return r.Store.CreatePending(audit.Attach(ctx, ev), d, now)
}

func (r recorder) Activate(ctx context.Context, userID, id string, lastStep, drift int64, limit int, now time.Time) (mfa.Device, error) {
	return r.Store.Activate(audit.Attach(ctx, r.ev), userID, id, lastStep, drift, limit, now)
}

func (r recorder) Rename(ctx context.Context, userID, id, name, nameKey string) error {
	ev := r.ev
	ev.DeviceName = name
	return r.Store.Rename(audit.Attach(ctx, ev), userID, id, name, nameKey)
}

func (r recorder) Delete(ctx context.Context, userID, id string, keepOne bool) error {
	return r.Store.Delete(audit.Attach(ctx, r.ev), userID, id, keepOne)
}

// recording returns the device service with ev attached to the write that
// makes the change.
func (s *Service) recording(ev audit.Event) *mfa.Service {
	m := *s.MFA
	m.Store = recorder{Store: s.MFA.Store, ev: ev}
	return &m
}

// device returns one device of the user (pending or active) for an event's
// facts; not_found when it is not this user's.
func (s *Service) device(ctx context.Context, userID, id string) (mfa.Device, error) {
	d, err := s.MFA.Store.GetDevice(ctx, userID, id)
	if errors.Is(err, mfa.ErrNotFound) {
		return mfa.Device{}, errcode.New(errcode.NotFound, "This user has no such device.")
	}
	return d, err
}

// ListDevices returns the user's active devices. Pending registrations are
// not listed: they are nobody's device yet, and an administrator never sees
// another person's secret.
func (s *Service) ListDevices(ctx context.Context, userID string) ([]mfa.Device, error) {
	if _, err := s.User(ctx, userID); err != nil {
		return nil, err
	}
	return s.MFA.List(ctx, userID)
}

// RenameDevice gives a user's active device a new name.
func (s *Service) RenameDevice(ctx context.Context, userID, deviceID, name string) (mfa.Device, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return mfa.Device{}, err
	}
	d, err := s.device(ctx, userID, deviceID)
	if err != nil {
		return mfa.Device{}, err
	}
	ev := s.event(ctx, audit.UpdateMfaDeviceForUser, u)
	ev.DeviceID, ev.DeviceName = d.ID, d.Name
	out, err := s.recording(ev).Rename(ctx, userID, deviceID, name)
	if err != nil {
		return mfa.Device{}, s.refused(ctx, ev, err)
	}
	return out, nil
}

// DeleteDevice removes a user's device — also their last one: the user then
// registers a new one at their next sign-in (DESIGN §3).
func (s *Service) DeleteDevice(ctx context.Context, userID, deviceID string) error {
	u, err := s.User(ctx, userID)
	if err != nil {
		return err
	}
	d, err := s.device(ctx, userID, deviceID)
	if err != nil {
		return err
	}
	ev := s.event(ctx, audit.DeleteMfaDeviceForUser, u)
	ev.DeviceID, ev.DeviceName = d.ID, d.Name
	return s.recording(ev).Delete(ctx, userID, deviceID, false)
}

// StartEnrollment begins registering an authenticator app for a user whose
// phone the administrator has in hand. The secret is in the answer and
// nowhere else: the administrator's pages and API never show it again, so
// it cannot be read once the device is the user's.
func (s *Service) StartEnrollment(ctx context.Context, userID, name string) (mfa.Enrollment, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return mfa.Enrollment{}, err
	}
	ev := s.event(ctx, audit.StartVirtualMfaDeviceRegistration, u)
	if err := s.registrationAllowed(ctx); err != nil {
		return mfa.Enrollment{}, s.refused(ctx, ev, err)
	}
	e, err := s.recording(ev).StartTOTP(ctx, u.ID, u.Username, name)
	if err != nil {
		return mfa.Enrollment{}, s.refused(ctx, ev, err)
	}
	return e, nil
}

// RegistrationBlockedReason says why an authenticator app cannot be
// registered for the user now, or "" when it can.
func (s *Service) RegistrationBlockedReason(ctx context.Context, userID string) (string, error) {
	if err := s.registrationAllowed(ctx); err != nil {
		if e := errcode.As(err); e != nil {
			return e.Message, nil
		}
		return "", err
	}
	reason, err := s.MFA.RegisterBlockedReason(ctx, userID)
	if err != nil || reason == "" {
		return reason, err
	}
	return "This user has the most authenticator apps allowed. Delete one to register another.", nil
}

// registrationAllowed applies the MFA settings: administrators register only
// what users may use.
func (s *Service) registrationAllowed(ctx context.Context) error {
	pol := policy.Default()
	if s.Policy != nil {
		var err error
		if pol, err = s.Policy.MFA(ctx); err != nil {
			return err
		}
	}
	switch {
	case pol.PromptMode == policy.Disabled:
		return errcode.New(errcode.NotAllowed, "MFA is turned off in the MFA settings, so no device can be registered.")
	case !pol.Allows(policy.TypeTOTP):
		return errcode.New(errcode.NotAllowed, "The MFA settings do not allow authenticator apps.")
	}
	return nil
}

// ConfirmEnrollment activates an authenticator app the administrator is
// registering for the user, with the code the app shows.
func (s *Service) ConfirmEnrollment(ctx context.Context, userID, deviceID, code string) (mfa.Device, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return mfa.Device{}, err
	}
	d, err := s.device(ctx, userID, deviceID)
	if err != nil {
		return mfa.Device{}, err
	}
	ev := s.event(ctx, audit.CompleteVirtualMfaDeviceRegistration, u)
	ev.DeviceID, ev.DeviceName = d.ID, d.Name
	out, err := s.recording(ev).Confirm(ctx, userID, deviceID, code)
	if err != nil {
		return mfa.Device{}, s.refused(ctx, ev, err)
	}
	return out, nil
}

// Enrollment returns a pending registration's device without its secret
// (to show its name and expiry again after a wrong code).
func (s *Service) Enrollment(ctx context.Context, userID, deviceID string) (mfa.Device, error) {
	if _, err := s.User(ctx, userID); err != nil {
		return mfa.Device{}, err
	}
	d, err := s.device(ctx, userID, deviceID)
	if err != nil {
		return mfa.Device{}, err
	}
	if d.Status != mfa.StatusPending {
		return mfa.Device{}, errcode.New(errcode.Conflict, "This device is already registered.")
	}
	if d.Expired(s.now()) {
		return mfa.Device{}, errcode.New(errcode.EnrollmentExpired, "This registration expired after %d minutes. Start again.", int(mfa.EnrollmentTTL.Minutes()))
	}
	d.SecretCT, d.SecretKeyID = nil, ""
	return d, nil
}
