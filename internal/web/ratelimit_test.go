package web

import (
	"net/http/httptest"
	"testing"
)

// TestGuessingRequestsAreTheOnesThatCheckASecret lists which requests spend
// a token of the source address's bucket: every sign-in step (recovery
// codes and security keys included), password changes and device
// confirmations; never reading pages, signing out or starting a ceremony.
func TestGuessingRequestsAreTheOnesThatCheckASecret(t *testing.T) {
	tests := []struct {
		method, path string
		want         bool
	}{
		{"POST", "/signin", true},
		{"POST", "/signin/mfa", true},
		{"POST", "/signin/email", true},
		{"POST", "/signin/recovery", true},
		{"POST", "/password/change", true},
		{"POST", "/devices/abc/configure", true},
		{"POST", "/admin/users/u1/devices/d1/configure", true},
		{"POST", "/api/v1/auth/password", true},
		{"POST", "/api/v1/auth/totp", true},
		{"POST", "/api/v1/auth/email-code", true},
		{"POST", "/api/v1/auth/recovery-code", true},
		{"POST", "/api/v1/auth/webauthn/finish", true},
		{"POST", "/api/v1/auth/password-change", true},
		{"POST", "/api/v1/me/mfa-devices/abc/verify", true},
		{"POST", "/api/v1/admin/users/u1/mfa-devices/d1/verify", true},
		{"POST", "/api/v1/auth/webauthn/begin", false},
		{"POST", "/api/v1/auth/signout", false},
		{"POST", "/api/v1/auth/signout-everywhere", false},
		{"POST", "/signout", false},
		{"POST", "/api/v1/me/mfa-devices", false},
		{"GET", "/signin", false},
		{"GET", "/devices/abc/configure", false},
		{"GET", "/api/v1/me", false},
	}
	for _, tt := range tests {
		if got := guessing(httptest.NewRequest(tt.method, tt.path, nil)); got != tt.want {
			t.Errorf("guessing(%s %s) = %v, want %v", tt.method, tt.path, got, tt.want)
		}
	}
}
