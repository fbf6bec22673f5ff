// Package policy holds the administrator's MFA settings, modelled on IAM
// Identity Center's: when to prompt for MFA, which kinds of device users may
// use, what happens to a user with no device, and whether users manage their
// own devices.
package policy

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"gatehouse/internal/audit"
	"gatehouse/internal/errcode"
)

// Prompt modes.
const (
	AlwaysOn     = "always_on"
	ContextAware = "context_aware"
	Disabled     = "disabled"
)

// Device kinds as the settings name them.
const (
	TypeTOTP     = "totp"
	TypeWebAuthn = "webauthn"
)

// What happens to a user with no registered device.
const (
	RequireRegistration = "require_registration"
	EmailOTP            = "email_otp"
	Block               = "block"
	Allow               = "allow"
)

var (
	promptModes = []string{AlwaysOn, ContextAware, Disabled}
	types       = []string{TypeTOTP, TypeWebAuthn}
	noDevice    = []string{RequireRegistration, EmailOTP, Block, Allow}
)

// TrustLifetime is how long "This is a trusted device" lasts.
const TrustLifetime = 30 * 24 * time.Hour

// MFA is the administrator's MFA settings.
type MFA struct {
	PromptMode            string   `json:"prompt_mode"`
	AllowedTypes          []string `json:"allowed_types"`
	NoDeviceBehavior      string   `json:"no_device_behavior"`
	UsersCanManageDevices bool     `json:"users_can_manage_devices"`
}

// Default is DESIGN §3's defaults: prompt at every sign-in, both kinds of
// device, register at sign-in when there is none, users manage their own.
func Default() MFA {
	return MFA{PromptMode: AlwaysOn, AllowedTypes: []string{TypeTOTP, TypeWebAuthn}, NoDeviceBehavior: RequireRegistration, UsersCanManageDevices: true}
}

// Validate checks every field and names the allowed values of a wrong one.
func (m *MFA) Validate() error {
	if !slices.Contains(promptModes, m.PromptMode) {
		return errcode.New(errcode.InvalidInput, "prompt_mode %q is not one of %s.", m.PromptMode, strings.Join(promptModes, ", "))
	}
	if len(m.AllowedTypes) == 0 {
		return errcode.New(errcode.InvalidInput, "allowed_types must name at least one of %s.", strings.Join(types, ", "))
	}
	seen := map[string]bool{}
	for _, t := range m.AllowedTypes {
		if !slices.Contains(types, t) {
			return errcode.New(errcode.InvalidInput, "allowed_types: %q is not one of %s.", t, strings.Join(types, ", "))
		}
		if seen[t] {
			return errcode.New(errcode.InvalidInput, "allowed_types names %q twice.", t)
		}
		seen[t] = true
	}
	if !slices.Contains(noDevice, m.NoDeviceBehavior) {
		return errcode.New(errcode.InvalidInput, "no_device_behavior %q is not one of %s.", m.NoDeviceBehavior, strings.Join(noDevice, ", "))
	}
	slices.SortFunc(m.AllowedTypes, func(a, b string) int { return slices.Index(types, a) - slices.Index(types, b) })
	return nil
}

// Allows reports whether devices of a kind ("totp", "webauthn") may be used.
func (m MFA) Allows(kind string) bool {
	return m.PromptMode != Disabled && slices.Contains(m.AllowedTypes, kind)
}

// Store keeps settings documents.
type Store interface {
	GetSetting(ctx context.Context, key string) (string, bool, error)
	PutSetting(ctx context.Context, key, value string, now time.Time) error
}

const mfaKey = "mfa"

// Service reads and changes the settings.
type Service struct {
	Store Store
	Now   func() time.Time
}

// MFA returns the current settings (the defaults until an administrator
// changes them).
func (s *Service) MFA(ctx context.Context) (MFA, error) {
	v, ok, err := s.Store.GetSetting(ctx, mfaKey)
	if err != nil || !ok {
		return Default(), err
	}
	m := Default()
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		return Default(), errors.New("policy: stored MFA settings are not valid JSON")
	}
	if err := m.Validate(); err != nil {
		return Default(), err
	}
	return m, nil
}

// SetMFA validates and stores new settings, recording who changed what.
func (s *Service) SetMFA(ctx context.Context, m MFA) (MFA, error) {
	if err := m.Validate(); err != nil {
		return MFA{}, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return MFA{}, err
	}
	ev := audit.New(ctx, audit.PutMfaDeviceManagementForDirectory, audit.Success)
	ev.Detail = string(b)
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	ev.Time = now
	if err := s.Store.PutSetting(audit.Attach(ctx, ev), mfaKey, string(b), now); err != nil {
		return MFA{}, err
	}
	return m, nil
}

// RegisterBlockedReason says why a user may not register a device of kind
// themselves ("" when they may). A user whose sign-in waits for a first
// device may register one even when self-service is off: the administrator
// chose to require it.
func (m MFA) RegisterBlockedReason(kind string, firstDeviceAtSignIn bool) string {
	switch {
	case m.PromptMode == Disabled:
		return "MFA is turned off by your administrator, so registration is turned off."
	case !m.UsersCanManageDevices && !firstDeviceAtSignIn:
		return "Only your administrator can register MFA devices. Contact your administrator."
	case kind != "" && !m.Allows(kind):
		return "Your administrator does not allow this kind of MFA device."
	case len(m.AllowedTypes) == 0:
		return "Your administrator allows no kind of MFA device."
	}
	return ""
}

// ManageBlockedReason says why a user may not rename or delete their own
// devices ("" when they may).
func (m MFA) ManageBlockedReason() string {
	switch {
	case m.PromptMode == Disabled:
		return "MFA is turned off by your administrator."
	case !m.UsersCanManageDevices:
		return "Only your administrator can change MFA devices. Contact your administrator."
	}
	return ""
}

// DeviceRequired reports whether a user must keep at least one device (so
// may not delete their last one themselves).
func (m MFA) DeviceRequired() bool {
	return m.PromptMode != Disabled && m.NoDeviceBehavior != Allow
}
