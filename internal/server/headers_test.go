package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestSecurityHeadersOnEveryKindOfResponse checks the security headers on a
// sample of routes — pages, API, static files, 404s, errors, redirects —
// signed in and not, and Cache-Control: no-store on everything but the
// static files, above all where a secret or a code is on the page (device
// configuration for the user and for an administrator, sign-in steps, API
// answers with a secret).
func TestSecurityHeadersOnEveryKindOfResponse(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	root := ts.adminClient(t, "root")
	user := ts.signedIn(t, "hedy")
	anon := ts.client(t)
	e := user.startTOTP("Phone") // a pending registration: its page shows the secret
	hedyID := root.userID("hedy")
	adminStart := root.do("POST", "/api/v1/admin/users/"+hedyID+"/mfa-devices", map[string]string{"name": "Desk phone", "type": "totp"})
	wantStatus(t, adminStart, http.StatusCreated)

	type probe struct {
		name   string
		c      *apiClient
		rq     apiRequest
		status int
		cache  bool // may be cached (static files only)
	}
	probes := []probe{
		{"sign-in page", anon, apiRequest{Method: "GET", Path: "/signin"}, 200, false},
		{"home redirects", anon, apiRequest{Method: "GET", Path: "/"}, 303, false},
		{"static script", anon, apiRequest{Method: "GET", Path: "/static/app.js"}, 200, true},
		{"static style", anon, apiRequest{Method: "GET", Path: "/static/style.css"}, 200, true},
		{"page 404", anon, apiRequest{Method: "GET", Path: "/no/such/page"}, 404, false},
		{"API 404", anon, apiRequest{Method: "GET", Path: "/api/v1/nothing"}, 404, false},
		{"API 401", anon, apiRequest{Method: "GET", Path: "/api/v1/me"}, 401, false},
		{"API bad JSON", anon, apiRequest{Method: "POST", Path: "/api/v1/auth/password", Body: "{"}, 400, false},
		{"wrong password", anon, apiRequest{Method: "POST", Path: "/api/v1/auth/password", Body: map[string]string{"username": "hedy", "password": "not the password"}}, 401, false},
		{"cross-site refusal", user, apiRequest{Method: "POST", Path: "/api/v1/me/mfa-devices", Body: map[string]string{"name": "x", "type": "totp"}, Header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 403, false},
		{"healthz", anon, apiRequest{Method: "GET", Path: "/healthz"}, 200, false},
		{"my devices", user, apiRequest{Method: "GET", Path: "/devices"}, 200, false},
		{"device configuration (secret)", user, apiRequest{Method: "GET", Path: "/devices/" + e.ID + "/configure"}, 200, false},
		{"pending device API (secret)", user, apiRequest{Method: "GET", Path: "/api/v1/me/mfa-devices/" + e.ID}, 200, false},
		{"admin device configuration (secret)", root, apiRequest{Method: "GET", Path: "/admin/users/" + hedyID + "/devices/" + adminStart.str("id") + "/configure"}, 200, false},
		{"admin users page", root, apiRequest{Method: "GET", Path: "/admin/users"}, 200, false},
		{"admin API", root, apiRequest{Method: "GET", Path: "/api/v1/admin/users"}, 200, false},
		{"admin page for a non-admin", user, apiRequest{Method: "GET", Path: "/admin/users"}, 404, false},
	}
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			r := p.c.in(t).sendT(p.rq)
			if r.Status != p.status {
				t.Fatalf("status %d, want %d: %s", r.Status, p.status, r)
			}
			h := r.Header
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("CSP %q allows inline or eval", csp)
			}
			for name, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
				if got := h.Get(name); got != want {
					t.Errorf("%s %q, want %q", name, got, want)
				}
			}
			if pp := h.Get("Permissions-Policy"); !strings.Contains(pp, "camera=()") {
				t.Errorf("Permissions-Policy %q", pp)
			}
			if hsts := h.Get("Strict-Transport-Security"); hsts != "" {
				t.Errorf("HSTS %q over plain http (it belongs to https base URLs)", hsts)
			}
			if noStore := h.Get("Cache-Control") == "no-store"; noStore == p.cache {
				t.Errorf("Cache-Control %q (cacheable: %v)", h.Get("Cache-Control"), p.cache)
			}
		})
	}
}
