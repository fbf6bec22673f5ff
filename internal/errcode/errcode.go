// Package errcode carries a stable machine code and a human message through
// the domain, so the HTTP layer alone decides statuses and users never see
// internal detail.
package errcode

import (
	"errors"
	"fmt"
)

// Codes are part of the public API contract (docs/api.md): never rename one.
const (
	InvalidCredentials     = "invalid_credentials"
	MFARequired            = "mfa_required"
	PasswordChangeRequired = "password_change_required"
	RegistrationRequired   = "registration_required"
	EmailCodeRequired      = "email_code_required"
	InvalidCode            = "invalid_code"
	CodeReused             = "code_reused"
	ClockSkew              = "clock_skew"
	EnrollmentExpired      = "enrollment_expired"
	NotFound               = "not_found"
	NameTaken              = "name_taken"
	NameInvalid            = "name_invalid"
	DeviceLimit            = "device_limit"
	NotAllowed             = "not_allowed"
	RateLimited            = "rate_limited"
	InvalidInput           = "invalid_input"
	Unauthenticated        = "unauthenticated"
	Conflict               = "conflict"
	PasswordWeak           = "password_weak"
	Unavailable            = "unavailable"
	Internal               = "internal"
)

// Error is a failure the client may see.
type Error struct {
	Code    string
	Message string
	// RetryAfterSeconds is set for rate_limited and unavailable answers.
	RetryAfterSeconds int
	// Detail carries structured, non-secret facts for the client (for example
	// the server's UTC time on a clock-skew error).
	Detail map[string]any
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// New returns an *Error.
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Code returns the code of err, or Internal for anything that is not an *Error.
func Code(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
