package server_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/audit"
	"gatehouse/internal/policy"
)

// One test per option of the MFA settings, through HTTP (issue 4).

func setPolicy(t *testing.T, ts *testServer, edit func(*policy.MFA)) {
	t.Helper()
	m := policy.Default()
	edit(&m)
	if _, err := ts.App.Policy.SetMFA(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

// withDevice makes a user with one authenticator app while registration is
// allowed, then returns its key; the clock moves on a step.
func withDevice(t *testing.T, ts *testServer, name string) []byte {
	t.Helper()
	a := ts.signedIn(t, name)
	_, key := a.addDevice("Phone")
	ts.nextStep()
	wantStatus(t, a.do("POST", "/api/v1/auth/signout", nil), http.StatusNoContent)
	return key
}

func TestPolicyAlwaysOnAsksForMFAAtEverySignIn(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	key := withDevice(t, ts, "ava")
	setPolicy(t, ts, func(m *policy.MFA) {})
	a := ts.client(t)
	for range 2 {
		wantState(t, a.signIn("ava", testPassword), "mfa_required")
		wantState(t, a.totp(ts.code(key, 0)), "authenticated")
		ts.nextStep()
		wantStatus(t, a.do("POST", "/api/v1/auth/signout", nil), http.StatusNoContent)
	}
	// A trust request is ignored under always-on.
	wantState(t, a.signIn("ava", testPassword), "mfa_required")
	r := a.do("POST", "/api/v1/auth/totp", map[string]any{"code": ts.code(key, 0), "trust_device": true})
	wantState(t, r, "authenticated")
	for _, c := range r.Cookies {
		if strings.Contains(c.Name, "trust") {
			t.Fatalf("always-on set a trust cookie %s", c.Name)
		}
	}
}

// clientFrom returns a client whose connections come from another loopback
// address, so the server sees another network.
func clientFrom(t *testing.T, ts *testServer, ip string, jarFrom *apiClient) *apiClient {
	t.Helper()
	a := ts.client(t)
	if jarFrom != nil {
		a.c.Jar = jarFrom.c.Jar
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	a.c.Transport = &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, "127.0.0.1"+strings.TrimPrefix(ts.URL, "http://localhost"))
	}}
	return a
}

func TestPolicyContextAwareTrustsABrowserOnItsNetwork(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	key := withDevice(t, ts, "cai")
	setPolicy(t, ts, func(m *policy.MFA) { m.PromptMode = policy.ContextAware })

	a := ts.client(t)
	wantState(t, a.signIn("cai", testPassword), "mfa_required")
	r := a.do("POST", "/api/v1/auth/totp", map[string]any{"code": ts.code(key, 0), "trust_device": true})
	wantState(t, r, "authenticated")
	var trust *http.Cookie
	for _, c := range r.Cookies {
		if c.Name == "gatehouse_trust" {
			trust = c
		}
	}
	if trust == nil || !trust.HttpOnly || trust.MaxAge != int(policy.TrustLifetime.Seconds()) {
		t.Fatalf("trust cookie = %+v, want HttpOnly for 30 days", trust)
	}
	list := a.do("GET", "/api/v1/me/trusted-browsers", nil)
	wantStatus(t, list, http.StatusOK)
	if !strings.Contains(string(list.Body), `"network":"127.0.0.0/24"`) || strings.Contains(string(list.Body), trust.Value) {
		t.Fatalf("trusted browsers = %s", list.Body)
	}
	wantStatus(t, a.do("POST", "/api/v1/auth/signout", nil), http.StatusNoContent)

	// The same browser on the same network skips MFA.
	wantState(t, a.signIn("cai", testPassword), "authenticated")
	wantStatus(t, a.do("POST", "/api/v1/auth/signout", nil), http.StatusNoContent)
	// Another browser is asked.
	wantState(t, ts.client(t).signIn("cai", testPassword), "mfa_required")
	// The same browser from another /24 is asked.
	wantState(t, clientFrom(t, ts, "127.0.1.1", a).signIn("cai", testPassword), "mfa_required")

	// Revoked by the user: asked again.
	id := regexp.MustCompile(`"id":"([0-9a-f]+)"`).FindStringSubmatch(string(list.Body))[1]
	ts.nextStep()
	wantState(t, a.signIn("cai", testPassword), "authenticated")
	wantStatus(t, a.do("DELETE", "/api/v1/me/trusted-browsers/"+id, nil), http.StatusNoContent)
	wantStatus(t, a.do("POST", "/api/v1/auth/signout", nil), http.StatusNoContent)
	wantState(t, a.signIn("cai", testPassword), "mfa_required")

	// Trust again, then a password change revokes it.
	r = a.do("POST", "/api/v1/auth/totp", map[string]any{"code": ts.code(key, 0), "trust_device": true})
	wantState(t, r, "authenticated")
	wantState(t, a.do("POST", "/api/v1/auth/password-change", map[string]string{"current_password": testPassword, "new_password": "a brand new passphrase"}), "authenticated")
	wantStatus(t, a.do("POST", "/api/v1/auth/signout", nil), http.StatusNoContent)
	wantState(t, a.signIn("cai", "a brand new passphrase"), "mfa_required")
}

func TestPolicyDisabledSkipsMFAAndTurnsRegistrationOff(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	withDevice(t, ts, "dan")
	setPolicy(t, ts, func(m *policy.MFA) { m.PromptMode = policy.Disabled })
	a := ts.client(t)
	wantState(t, a.signIn("dan", testPassword), "authenticated")
	r := a.do("GET", "/api/v1/me/mfa-devices", nil)
	if r.obj()["can_register"] != false || !strings.Contains(r.str("register_blocked_reason"), "turned off") {
		t.Fatalf("device list under disabled = %s", r)
	}
	wantError(t, a.do("POST", "/api/v1/me/mfa-devices", map[string]string{"name": "x", "type": "totp"}), http.StatusForbidden, "not_allowed")
	ids, _ := a.listDevices()
	wantError(t, a.do("PATCH", "/api/v1/me/mfa-devices/"+ids[0], map[string]string{"name": "y"}), http.StatusForbidden, "not_allowed")
	wantError(t, a.do("DELETE", "/api/v1/me/mfa-devices/"+ids[0], nil), http.StatusForbidden, "not_allowed")
}

func TestPolicyRequireRegistrationAllowsOnlyRegisteringFirst(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	setPolicy(t, ts, func(m *policy.MFA) {})
	ts.createUser(t, "rae")
	a := ts.client(t)
	wantState(t, a.signIn("rae", testPassword), "registration_required")
	wantError(t, a.do("GET", "/api/v1/me", nil), http.StatusForbidden, "registration_required")
	before := a.cookie()
	ids, _ := a.listDevices()
	if len(ids) != 0 {
		t.Fatalf("devices = %v", ids)
	}
	e := a.startTOTP("First phone")
	wantStatus(t, a.verify(e.ID, ts.code(e.Key, 0)), http.StatusOK)
	if a.cookie() == before {
		t.Fatal("completing sign-in by registering did not rotate the session id")
	}
	wantStatus(t, a.do("GET", "/api/v1/me", nil), http.StatusOK)
	// Next time, the device is asked for.
	wantStatus(t, a.do("POST", "/api/v1/auth/signout", nil), http.StatusNoContent)
	wantState(t, a.signIn("rae", testPassword), "mfa_required")
}

func latestEmailCode(t *testing.T, ts *testServer) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(ts.DataDir, "outbox", "*.eml"))
	if len(files) == 0 {
		t.Fatal("no email in the outbox")
	}
	b, err := os.ReadFile(files[len(files)-1])
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`code is (\d{6})`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no code in %s", b)
	}
	return string(m[1])
}

func TestPolicyEmailCodeForUsersWithoutDevice(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	setPolicy(t, ts, func(m *policy.MFA) { m.NoDeviceBehavior = policy.EmailOTP })
	if _, _, err := ts.App.Accounts.CreateUser(context.Background(), "eve", "eve@example.com", false, testPassword); err != nil {
		t.Fatal(err)
	}
	ts.createUser(t, "noemail")

	a := ts.client(t)
	wantState(t, a.signIn("eve", testPassword), "email_code_required")
	code := latestEmailCode(t, ts)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	wantError(t, a.do("POST", "/api/v1/auth/email-code", map[string]string{"code": wrong}), http.StatusBadRequest, "invalid_code")
	wantError(t, a.do("POST", "/api/v1/auth/email-code", map[string]string{"code": "12a"}), http.StatusBadRequest, "invalid_code")
	wantState(t, a.do("POST", "/api/v1/auth/email-code", map[string]string{"code": code}), "authenticated")
	wantStatus(t, a.do("GET", "/api/v1/me", nil), http.StatusOK)

	// Expired after 10 minutes.
	b := ts.client(t)
	wantState(t, b.signIn("eve", testPassword), "email_code_required")
	code = latestEmailCode(t, ts)
	ts.Clock.Advance(10*time.Minute + time.Second)
	r := b.do("POST", "/api/v1/auth/email-code", map[string]string{"code": code})
	if r.Status < 400 || r.Status >= 500 {
		t.Fatalf("expired code = %s, want a 4xx", r)
	}

	// Five wrong codes end the sign-in.
	c := ts.client(t)
	wantState(t, c.signIn("eve", testPassword), "email_code_required")
	for i := range 5 {
		r := c.do("POST", "/api/v1/auth/email-code", map[string]string{"code": wrong})
		if i == 4 {
			wantError(t, r, http.StatusTooManyRequests, "rate_limited")
		}
	}
	wantError(t, c.do("POST", "/api/v1/auth/email-code", map[string]string{"code": latestEmailCode(t, ts)}), http.StatusUnauthorized, "unauthenticated")

	// Without an email address, nobody can send the code.
	wantError(t, ts.client(t).signIn("noemail", testPassword), http.StatusForbidden, "not_allowed")
}

func TestPolicyBlockRefusesUsersWithoutDevice(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	setPolicy(t, ts, func(m *policy.MFA) { m.NoDeviceBehavior = policy.Block })
	ts.createUser(t, "bo")
	r := ts.client(t).signIn("bo", testPassword)
	wantError(t, r, http.StatusForbidden, "not_allowed")
	if !strings.Contains(r.message(), "administrator") {
		t.Errorf("message %q does not send the user to the administrator", r.message())
	}
	if r.sessionCookie() != nil && r.sessionCookie().Value != "" {
		t.Fatal("a blocked sign-in got a session cookie")
	}
}

func TestPolicyAllowSignsInWithThePasswordAlone(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	setPolicy(t, ts, func(m *policy.MFA) { m.NoDeviceBehavior = policy.Allow })
	ts.createUser(t, "al")
	a := ts.client(t)
	wantState(t, a.signIn("al", testPassword), "authenticated")
	wantStatus(t, a.do("GET", "/api/v1/me", nil), http.StatusOK)
}

func TestPolicyUsersCannotManageDevices(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	key := withDevice(t, ts, "max")
	setPolicy(t, ts, func(m *policy.MFA) { m.UsersCanManageDevices = false })
	a := ts.client(t)
	wantState(t, a.signIn("max", testPassword), "mfa_required")
	wantState(t, a.totp(ts.code(key, 0)), "authenticated")
	r := a.do("GET", "/api/v1/me/mfa-devices", nil)
	if r.obj()["can_register"] != false || !strings.Contains(r.str("register_blocked_reason"), "administrator") {
		t.Fatalf("device list = %s", r)
	}
	wantError(t, a.do("POST", "/api/v1/me/mfa-devices", map[string]string{"name": "x", "type": "totp"}), http.StatusForbidden, "not_allowed")
	ids, _ := a.listDevices()
	wantError(t, a.do("PATCH", "/api/v1/me/mfa-devices/"+ids[0], map[string]string{"name": "y"}), http.StatusForbidden, "not_allowed")
	wantError(t, a.do("DELETE", "/api/v1/me/mfa-devices/"+ids[0], nil), http.StatusForbidden, "not_allowed")
}

// TestPolicyDisallowedTypeCountsAsNoDevice pins what happens to a user whose
// only device is of a kind the administrator no longer allows: it is not
// offered at sign-in, so the user is treated as having no device and the
// no-device behaviour applies (here: register an allowed kind first).
func TestPolicyDisallowedTypeCountsAsNoDevice(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	withDevice(t, ts, "ty")
	setPolicy(t, ts, func(m *policy.MFA) { m.AllowedTypes = []string{policy.TypeWebAuthn} })
	a := ts.client(t)
	r := a.signIn("ty", testPassword)
	wantState(t, r, "registration_required")
	if strings.Contains(string(r.Body), "totp") {
		t.Fatalf("a disallowed type is offered: %s", r)
	}
	wantError(t, a.do("POST", "/api/v1/me/mfa-devices", map[string]string{"name": "x", "type": "totp"}), http.StatusForbidden, "not_allowed")
}

func TestSettingsAPIIsForAdministratorsAndValidates(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	if _, _, err := ts.App.Accounts.CreateUser(context.Background(), "root", "", true, testPassword); err != nil {
		t.Fatal(err)
	}
	ts.createUser(t, "pleb")
	user := ts.client(t)
	wantState(t, user.signIn("pleb", testPassword), "authenticated")
	wantError(t, user.do("GET", "/api/v1/admin/settings/mfa", nil), http.StatusForbidden, "not_allowed")

	a := ts.client(t)
	wantState(t, a.signIn("root", testPassword), "authenticated")
	r := a.do("GET", "/api/v1/admin/settings/mfa", nil)
	wantStatus(t, r, http.StatusOK)
	if r.str("no_device_behavior") != "allow" { // the harness's choice
		t.Fatalf("settings = %s", r)
	}
	bad := map[string]any{"prompt_mode": "sometimes", "allowed_types": []string{"totp"}, "no_device_behavior": "allow", "users_can_manage_devices": true}
	r = a.do("PUT", "/api/v1/admin/settings/mfa", bad)
	wantError(t, r, http.StatusBadRequest, "invalid_input")
	if !strings.Contains(r.message(), "always_on, context_aware, disabled") {
		t.Errorf("message %q does not list the allowed values", r.message())
	}
	wantError(t, a.do("PUT", "/api/v1/admin/settings/mfa", map[string]any{"prompt_mode": "disabled"}), http.StatusBadRequest, "invalid_input")
	good := map[string]any{"prompt_mode": "context_aware", "allowed_types": []string{"webauthn", "totp"}, "no_device_behavior": "block", "users_can_manage_devices": false}
	wantStatus(t, a.do("PUT", "/api/v1/admin/settings/mfa", good), http.StatusOK)
	r = a.do("GET", "/api/v1/admin/settings/mfa", nil)
	if r.str("prompt_mode") != "context_aware" || r.str("no_device_behavior") != "block" || r.obj()["users_can_manage_devices"] != false {
		t.Fatalf("after PUT: %s", r)
	}
	events, _, err := ts.App.Store.ListEvents(context.Background(), audit.Filter{Name: audit.PutMfaDeviceManagementForDirectory})
	if err != nil || len(events) == 0 || events[0].ActorName != "root" {
		t.Fatalf("audit = %+v, %v; want a PutMfaDeviceManagementForDirectory by root", events, err)
	}
}

// TestCancelDeletesAPendingRegistration: the Cancel button of Device
// configuration removes the pending registration and its secret at once,
// and cannot touch an active device.
func TestCancelDeletesAPendingRegistration(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	a := ts.signedIn(t, "cy")
	e := a.startTOTP("Abandoned")
	wantStatus(t, a.do("POST", "/devices/"+e.ID+"/cancel", nil), http.StatusSeeOther)
	wantError(t, a.do("GET", "/api/v1/me/mfa-devices/"+e.ID, nil), http.StatusNotFound, "not_found")
	id, _ := a.addDevice("Kept")
	wantStatus(t, a.do("POST", "/devices/"+id+"/cancel", nil), http.StatusSeeOther)
	wantStatus(t, a.do("GET", "/api/v1/me/mfa-devices/"+id, nil), http.StatusOK)
}

// TestASessionInUseNeverCountsAsIdle: with a short idle timeout, a session
// that makes a request every quarter of it stays signed in (last-seen is
// written often enough), and one left alone for the whole timeout ends.
func TestASessionInUseNeverCountsAsIdle(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	ts.App.Accounts.IdleTimeout = time.Minute
	a := ts.signedIn(t, "busy")
	for range 12 { // three minutes of activity, one request every 15 s
		ts.Clock.Advance(15 * time.Second)
		wantStatus(t, a.do("GET", "/api/v1/me", nil), http.StatusOK)
	}
	ts.Clock.Advance(time.Minute)
	wantError(t, a.do("GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthenticated")
}
