package mfa

import (
	"context"
	"time"

	"gatehouse/internal/audit"
)

// eventRecorder is the store's way to write an audit event that has no
// change behind it (a lock is a counter, not a device change).
type eventRecorder interface {
	RecordEvents(ctx context.Context, events ...audit.Event) error
}

// recordLock audits a lock that a wrong confirmation code started: every
// lock is an audit event, whichever step caused it.
func (s *Service) recordLock(ctx context.Context, userID string, d Device, wait time.Duration) {
	r, ok := s.Store.(eventRecorder)
	if !ok {
		return
	}
	ev := audit.New(ctx, audit.ThrottleLock, audit.Failure)
	ev.Time, ev.TargetUserID, ev.DeviceID, ev.DeviceName, ev.CredentialType = s.now(), userID, d.ID, d.Name, audit.TOTP
	if ev.ActorID == userID {
		ev.TargetUsername = ev.ActorName
	}
	ev.Detail = "enrollment verify; locked for " + wait.String()
	_ = r.RecordEvents(ctx, ev)
}
