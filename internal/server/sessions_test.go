package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/account"
	"gatehouse/internal/server"
)

func lastSeen(t *testing.T, ts *testServer, token string) time.Time {
	t.Helper()
	s, err := ts.App.Store.SessionByHash(context.Background(), account.HashToken(token), ts.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return s.LastSeenAt
}

// TestSessionEndsAfterAnIdleHourAndLastSeenIsWrittenOncePerMinute: a
// request less than a minute after the last write leaves last_seen_at
// alone (no write per request); one after a minute moves it; an hour
// without requests ends the session.
func TestSessionEndsAfterAnIdleHourAndLastSeenIsWrittenOncePerMinute(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	a := ts.signedIn(t, "idler")
	tok := a.cookie()
	t0 := lastSeen(t, ts, tok)
	ts.Clock.Advance(59 * time.Second)
	wantStatus(t, a.do("GET", "/api/v1/me", nil), http.StatusOK)
	if got := lastSeen(t, ts, tok); !got.Equal(t0) {
		t.Fatalf("last_seen_at written %v after 59 s; want it left at %v", got, t0)
	}
	ts.Clock.Advance(2 * time.Second)
	wantStatus(t, a.do("GET", "/api/v1/me", nil), http.StatusOK)
	if got, want := lastSeen(t, ts, tok), ts.Clock.Now(); !got.Equal(want) {
		t.Fatalf("last_seen_at %v after 61 s, want %v", got, want)
	}
	ts.Clock.Advance(account.SessionIdleTimeout - time.Second)
	wantStatus(t, a.do("GET", "/api/v1/me", nil), http.StatusOK)
	ts.Clock.Advance(account.SessionIdleTimeout)
	r := ts.withCookie(t, tok, apiRequest{Method: "GET", Path: "/api/v1/me"})
	wantError(t, r, http.StatusUnauthorized, "unauthenticated")
	if !strings.Contains(r.message(), "without activity") {
		t.Errorf("message %q does not say why", r.message())
	}
}

// TestSessionTimeoutsAreConfigurable: --session-idle 5m and
// --session-lifetime 20m (server.Config) end sessions accordingly.
func TestSessionTimeoutsAreConfigurable(t *testing.T) {
	t.Parallel()
	ts := startNodeWith(t, "", nil, func(c *server.Config) { c.SessionIdle, c.SessionLifetime = 5*time.Minute, 20*time.Minute })
	a := ts.signedIn(t, "brief")
	ts.Clock.Advance(5*time.Minute + time.Second)
	wantError(t, a.do("GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthenticated")

	a = ts.client(t)
	wantState(t, a.signIn("brief", testPassword), "authenticated")
	for range 4 { // active every 4 minutes: the idle timeout never fires
		ts.Clock.Advance(4 * time.Minute)
		wantStatus(t, a.do("GET", "/api/v1/me", nil), http.StatusOK)
	}
	ts.Clock.Advance(4*time.Minute + time.Second) // 20 min after sign-in
	wantError(t, ts.withCookie(t, a.cookie(), apiRequest{Method: "GET", Path: "/api/v1/me"}), http.StatusUnauthorized, "unauthenticated")
}

// TestSignOutEverywhereEndsEverySessionOfTheUser, from the API and from
// the portal's button, and nobody else's.
func TestSignOutEverywhereEndsEverySessionOfTheUser(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	laptop := ts.signedIn(t, "roamer")
	phone := ts.client(t)
	wantState(t, phone.signIn("roamer", testPassword), "authenticated")
	other := ts.signedIn(t, "bystander")
	laptopTok, phoneTok := laptop.cookie(), phone.cookie()

	wantStatus(t, phone.do("POST", "/api/v1/auth/signout-everywhere", nil), http.StatusNoContent)
	for _, tok := range []string{laptopTok, phoneTok} {
		wantError(t, ts.withCookie(t, tok, apiRequest{Method: "GET", Path: "/api/v1/me"}), http.StatusUnauthorized, "unauthenticated")
	}
	wantStatus(t, other.do("GET", "/api/v1/me", nil), http.StatusOK)
	wantError(t, ts.client(t).do("POST", "/api/v1/auth/signout-everywhere", nil), http.StatusUnauthorized, "unauthenticated")

	// The button on the portal's home page.
	wantState(t, laptop.signIn("roamer", testPassword), "authenticated")
	wantState(t, phone.signIn("roamer", testPassword), "authenticated")
	home := laptop.do("GET", "/", nil)
	if !strings.Contains(string(home.Body), `action="/signout-everywhere"`) {
		t.Fatal("the home page has no Sign out everywhere button")
	}
	if r := laptop.form("/signout-everywhere", url.Values{}); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/signin" {
		t.Fatalf("the button: %d %s", r.Status, r.Header.Get("Location"))
	}
	wantError(t, phone.do("GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthenticated")
}

// TestSessionFixationIsImpossible: a cookie set before sign-in — made up,
// or a real session id planted by an attacker — is never the one after it,
// and stops working; each step (password, code) issues a new id.
func TestSessionFixationIsImpossible(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	_, _, key := ts.userWithDevice(t, "victim")
	attacker := ts.signedIn(t, "mallory")
	planted := attacker.cookie()

	for _, fixed := range []string{"attacker-chosen-session-id", planted} {
		v := ts.client(t)
		u, _ := url.Parse(ts.URL)
		v.c.Jar.SetCookies(u, []*http.Cookie{{Name: "gatehouse_session", Value: fixed, Path: "/"}})
		wantState(t, v.signIn("victim", testPassword), "mfa_required")
		afterPassword := v.cookie()
		if afterPassword == fixed {
			t.Fatalf("the password step kept the planted id %q", fixed)
		}
		wantState(t, v.totp(ts.code(key, 0)), "authenticated")
		ts.nextStep()
		afterCode := v.cookie()
		if afterCode == afterPassword || afterCode == fixed {
			t.Fatal("the MFA step kept the session id")
		}
		for _, old := range []string{fixed, afterPassword} {
			wantError(t, ts.withCookie(t, old, apiRequest{Method: "GET", Path: "/api/v1/me"}), http.StatusUnauthorized, "unauthenticated")
		}
		if r := v.do("GET", "/api/v1/me", nil); r.str("username") != "victim" {
			t.Fatalf("victim's session: %s", r)
		}
	}
}

// TestCookiesAreHostPrefixedAndSecureUnderHTTPS: with an https base URL the
// session cookie is __Host-gatehouse_session, Secure, Path=/, no Domain,
// and every answer carries HSTS.
func TestCookiesAreHostPrefixedAndSecureUnderHTTPS(t *testing.T) {
	t.Parallel()
	ts := startNodeWith(t, "", nil, func(c *server.Config) { c.BaseURL = "https://gatehouse.example" })
	ts.addUser(t, "tls", testPassword)
	c := ts.client(t)
	r := c.do("POST", "/api/v1/auth/password", map[string]string{"username": "tls", "password": testPassword})
	wantState(t, r, "authenticated")
	var got *http.Cookie
	for _, ck := range r.Cookies {
		if strings.Contains(ck.Name, "gatehouse_session") {
			got = ck
		}
	}
	if got == nil || got.Name != "__Host-gatehouse_session" || !got.Secure || got.Path != "/" || got.Domain != "" || !got.HttpOnly {
		t.Fatalf("session cookie under https: %+v", got)
	}
	if h := r.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(h, "max-age=") {
		t.Fatalf("HSTS %q", h)
	}
}
