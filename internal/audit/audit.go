// Package audit describes the audit trail: who did what to whom, from where,
// and whether it worked. Names follow IAM Identity Center's CloudTrail
// events. An event never carries a secret, a code, a password, a token or a
// session id — only names, ids and results.
//
// A change and the event that records it are written in one transaction:
// the service attaches the event to the context (Attach) and the store
// writes attached events inside the transaction that makes the change
// (Take). Events with no change behind them (a wrong code) are written on
// their own with Store.RecordEvents.
package audit

import (
	"context"
	"sync"
	"time"
)

// Event names.
const (
	CredentialChallenge                  = "CredentialChallenge"
	CredentialVerification               = "CredentialVerification"
	UserAuthentication                   = "UserAuthentication"
	StartVirtualMfaDeviceRegistration    = "StartVirtualMfaDeviceRegistration"
	CompleteVirtualMfaDeviceRegistration = "CompleteVirtualMfaDeviceRegistration"
	StartWebAuthnDeviceRegistration      = "StartWebAuthnDeviceRegistration"
	CompleteWebAuthnDeviceRegistration   = "CompleteWebAuthnDeviceRegistration"
	UpdateMfaDeviceForUser               = "UpdateMfaDeviceForUser"
	DeleteMfaDeviceForUser               = "DeleteMfaDeviceForUser"
	PutMfaDeviceManagementForDirectory   = "PutMfaDeviceManagementForDirectory"
	// Beyond CloudTrail's names, for the administrators' other actions.
	CreateUser     = "CreateUser"
	UpdateUser     = "UpdateUser"
	ResetMfa       = "ResetMfa"
	ResetPassword  = "ResetPassword"
	ChangePassword = "ChangePassword"
	DisableUser    = "DisableUser"
	EnableUser     = "EnableUser"
	ThrottleLock   = "ThrottleLock"
	CreateApiToken = "CreateApiToken"
	RevokeApiToken = "RevokeApiToken"
	// GenerateRecoveryCodes: a user made a new set (the old one is void).
	// Using one is a CredentialVerification with CredentialType RECOVERY_CODE.
	GenerateRecoveryCodes = "GenerateRecoveryCodes"
	// RotateEncryptionKey: every sealed secret was re-sealed under a new key.
	RotateEncryptionKey = "RotateEncryptionKey"
)

// Names lists every event name, for filters that must say which are valid.
// Add a new name here as well as above.
var Names = []string{
	CredentialChallenge, CredentialVerification, UserAuthentication,
	StartVirtualMfaDeviceRegistration, CompleteVirtualMfaDeviceRegistration,
	StartWebAuthnDeviceRegistration, CompleteWebAuthnDeviceRegistration,
	UpdateMfaDeviceForUser, DeleteMfaDeviceForUser, PutMfaDeviceManagementForDirectory,
	CreateUser, UpdateUser, ResetMfa, ResetPassword, ChangePassword, DisableUser, EnableUser, ThrottleLock,
	CreateApiToken, RevokeApiToken, GenerateRecoveryCodes, RotateEncryptionKey,
}

// Results.
const (
	Success = "Success"
	Failure = "Failure"
)

// Credential types.
const (
	Password     = "PASSWORD"
	TOTP         = "TOTP"
	WebAuthn     = "WEBAUTHN"
	EmailOTP     = "EMAIL_OTP"
	RecoveryCode = "RECOVERY_CODE"
)

// Event is one line of the audit trail.
type Event struct {
	ID             int64     `json:"id"`
	Time           time.Time `json:"time"`
	Name           string    `json:"event"`
	Result         string    `json:"result"`
	ActorID        string    `json:"actor_id"`
	ActorName      string    `json:"actor"`
	TargetUserID   string    `json:"target_user_id"`
	TargetUsername string    `json:"target_user"`
	SourceIP       string    `json:"source_ip"`
	UserAgent      string    `json:"user_agent"`
	CredentialType string    `json:"credential_type,omitempty"`
	DeviceID       string    `json:"device_id,omitempty"`
	DeviceName     string    `json:"device_name,omitempty"`
	// Detail is a short, non-secret note ("prompt_mode=always_on", a reason).
	Detail string `json:"detail,omitempty"`
}

// Request is who is acting and from where; the web layer sets it.
type Request struct {
	ActorID   string
	ActorName string
	SourceIP  string
	UserAgent string
}

type requestKey struct{}

// WithRequest records the actor and source of the request in ctx.
func WithRequest(ctx context.Context, r Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the request facts in ctx (zero when none: the CLI).
func RequestFrom(ctx context.Context) Request {
	r, _ := ctx.Value(requestKey{}).(Request)
	return r
}

// New starts an event with the request's facts filled in.
func New(ctx context.Context, name, result string) Event {
	r := RequestFrom(ctx)
	if r.ActorName == "" && r.ActorID == "" {
		r.ActorName = "cli"
	}
	return Event{Name: name, Result: result, ActorID: r.ActorID, ActorName: r.ActorName, SourceIP: r.SourceIP, UserAgent: r.UserAgent}
}

type batchKey struct{}

type batch struct {
	mu     sync.Mutex
	events []Event
}

// Attach returns a context carrying events for the store to write in the
// transaction of the next change made with it.
func Attach(ctx context.Context, events ...Event) context.Context {
	return context.WithValue(ctx, batchKey{}, &batch{events: events})
}

// Take removes and returns the events attached to ctx, so each is written
// once even if the context reaches several writes.
func Take(ctx context.Context) []Event {
	b, _ := ctx.Value(batchKey{}).(*batch)
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	ev := b.events
	b.events = nil
	return ev
}

// Filter selects events.
type Filter struct {
	UserID string // target user
	Name   string
	Result string
	Since  time.Time
	Until  time.Time
	// Paging: newest first.
	Limit  int
	Offset int
}
