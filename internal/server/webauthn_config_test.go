package server_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"gatehouse/internal/mfa"
	"gatehouse/internal/password"
	"gatehouse/internal/server"
)

// TestStartUpChecksTheRelyingParty: --base-url fixes the WebAuthn origin and
// relying-party id; a mistaken --rp-id stops start-up with a message that
// says what is wrong, and a base URL no browser would use security keys at
// starts the portal without them, saying why.
func TestStartUpChecksTheRelyingParty(t *testing.T) {
	fast := password.Fast
	open := func(t *testing.T, base, rpID string) (*server.App, error) {
		dir := t.TempDir()
		app, err := server.Open(context.Background(), server.Config{DataDir: dir, BaseURL: base, RPID: rpID, PasswordParams: &fast,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err == nil {
			t.Cleanup(func() { app.Close() })
		}
		return app, err
	}
	refused := []struct{ base, rpID, want string }{
		{"https://login.example.com", "example.com:443", `--rp-id: the relying-party id "example.com:443" must not have a port`},
		{"https://login.example.com", "other.example", `does not cover the base URL's host "login.example.com"`},
		{"https://login.example.com", "https://example.com", "not a URL"},
		{"https://login.example.com", "xample.com", "does not cover"},
		{"http://10.0.0.5:8080", "10.0.0.5", "IP address"},
	}
	for _, tc := range refused {
		if _, err := open(t, tc.base, tc.rpID); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("base %s, rp id %q: %v, want an error saying %q", tc.base, tc.rpID, err, tc.want)
		}
	}
	for _, tc := range []struct{ base, rpID, origin, id string }{
		{"https://Login.Example.com:443/", "", "https://login.example.com", "login.example.com"},
		{"https://login.example.com", "example.com", "https://login.example.com", "example.com"},
		{"http://localhost:8080/", "", "http://localhost:8080", "localhost"},
	} {
		app, err := open(t, tc.base, tc.rpID)
		if err != nil {
			t.Errorf("base %s, rp id %q: %v", tc.base, tc.rpID, err)
			continue
		}
		if rp := app.WebAuthn.RP; rp == nil || rp.Origin() != tc.origin || rp.RPID() != tc.id {
			t.Errorf("base %s, rp id %q: relying party %+v, want origin %s id %s", tc.base, tc.rpID, rp, tc.origin, tc.id)
		}
	}
	// Behind an IP address or on plain http elsewhere than localhost: no
	// security keys, and the reason reaches the people who would use them.
	for _, base := range []string{"http://127.0.0.1:8080", "http://gatehouse.internal:8080"} {
		app, err := open(t, base, "")
		if err != nil {
			t.Fatalf("base %s: %v", base, err)
		}
		reason := app.WebAuthn.UnavailableReason()
		if reason == "" || app.WebAuthn.RP != nil {
			t.Fatalf("base %s: security keys available", base)
		}
		_, err = app.WebAuthn.StartRegistration(context.Background(), "u", "u", "s", "Key", mfa.TypeSecurityKey)
		if err == nil || !strings.Contains(err.Error(), reason) {
			t.Errorf("base %s: registering a key = %v, want the reason %q", base, err, reason)
		}
	}
}
