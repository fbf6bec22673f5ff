package server_test

import (
	"context"
	"encoding/base32"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"gatehouse/internal/admin"
	"gatehouse/internal/audit"
)

// form posts a form as a browser would.
func (a *apiClient) form(path string, values url.Values) apiReply {
	a.t.Helper()
	return a.sendT(apiRequest{Method: "POST", Path: path, Body: values.Encode(), ContentType: "application/x-www-form-urlencoded"})
}

var dataCopy = regexp.MustCompile(`data-copy="([^"]+)"`)

func TestAdminPagesManageAUsersDevices(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	root := ts.adminClient(t, "root")
	_, dev, _ := ts.userWithDevice(t, "lena")
	id := root.userID("lena")
	page := "/admin/users/" + id

	if r := root.do("GET", "/admin/users?q=LEN", nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `href="/admin/users/`+id+`">lena</a>`) {
		t.Fatalf("users page search: %d", r.Status)
	}
	if r := root.do("GET", "/admin/users?page=x", nil); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "whole number") {
		t.Errorf("users page with a bad page: %d", r.Status)
	}
	r := root.do("GET", page, nil)
	body := string(r.Body)
	if r.Status != http.StatusOK || !strings.Contains(body, `data-device-id="`+dev+`"`) || !strings.Contains(body, "Phone of lena") || !strings.Contains(body, "Authenticator app") {
		t.Fatalf("user page: %d\n%s", r.Status, body)
	}
	for _, label := range []string{"MFA devices", "Registered", "Last used", "Rename", "Delete", "Register MFA device", "Reset MFA"} {
		if !strings.Contains(body, label) {
			t.Errorf("the user page has no %q", label)
		}
	}

	// Rename.
	if r := root.form(page+"/devices/"+dev+"/rename", url.Values{"name": {"Lena's phone"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("rename: %s", r)
	}
	if !strings.Contains(string(root.do("GET", page, nil).Body), "Lena&#39;s phone") {
		t.Error("the new name is not listed")
	}

	// Delete needs the typed word, checked by the server.
	for _, typed := range []string{"", "delete", "DELETE!", "yes"} {
		r := root.form(page+"/devices/"+dev+"/delete", url.Values{"confirm": {typed}})
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "Type DELETE") {
			t.Errorf("delete with %q typed: %d", typed, r.Status)
		}
	}
	if n := len(root.adminDevices(id)); n != 1 {
		t.Fatalf("a refused delete removed the device (%d left)", n)
	}
	if r := root.form(page+"/devices/"+dev+"/delete", url.Values{"confirm": {"DELETE"}}); r.Status != http.StatusSeeOther || r.Header.Get("Location") != page+"?done=deleted" {
		t.Fatalf("delete: %s %s", r, r.Header.Get("Location"))
	}
	if n := len(root.adminDevices(id)); n != 0 {
		t.Fatalf("%d devices after the delete", n)
	}
	ts.wantEvent(t, audit.DeleteMfaDeviceForUser, "root", "lena", audit.Success)

	// Register MFA device for the user: the secret is on the page that
	// starts it and nowhere after.
	r = root.form(page+"/devices/register", url.Values{"name": {"Work phone"}})
	m := dataCopy.FindStringSubmatch(string(r.Body))
	cfg := regexp.MustCompile(`action="(/admin/users/[^"]+/configure)"`).FindStringSubmatch(string(r.Body))
	if r.Status != http.StatusOK || m == nil || cfg == nil || !strings.Contains(string(r.Body), "Device configuration") {
		t.Fatalf("start registering: %d\n%s", r.Status, r.Body)
	}
	secret := m[1]
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatal(err)
	}
	if r := root.do("GET", cfg[1], nil); r.Status != http.StatusOK || strings.Contains(string(r.Body), secret) || !strings.Contains(string(r.Body), "not shown again") {
		t.Errorf("the configure page shown again: %d, secret shown=%v", r.Status, strings.Contains(string(r.Body), secret))
	}
	r = root.form(cfg[1], url.Values{"code": {ts.wrongCode(key)}})
	if r.Status != http.StatusBadRequest || strings.Contains(string(r.Body), secret) {
		t.Errorf("wrong code: %d, secret shown=%v", r.Status, strings.Contains(string(r.Body), secret))
	}
	if r := root.form(cfg[1], url.Values{"code": {ts.code(key, 0)}}); r.Status != http.StatusSeeOther || r.Header.Get("Location") != page+"?done=registered" {
		t.Fatalf("confirm: %s", r)
	}
	if body := string(root.do("GET", page+"?done=registered", nil).Body); !strings.Contains(body, "Work phone") || strings.Contains(body, secret) {
		t.Error("the registered device is not listed, or its secret is")
	}

	// Reset MFA.
	if r := root.form(page+"/mfa-reset", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("reset MFA: %s", r)
	}
	if n := len(root.adminDevices(id)); n != 0 {
		t.Fatalf("%d devices after Reset MFA", n)
	}
}

func TestAdminPagesForAccountsAndTheAuditTrail(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	root := ts.adminClient(t, "root")
	r := root.form("/admin/users/new", url.Values{"username": {"mo"}, "email": {"mo@example.com"}})
	m := regexp.MustCompile(`<code id="one-time-password">([^<]+)</code>`).FindSubmatch(r.Body)
	if r.Status != http.StatusCreated || m == nil {
		t.Fatalf("create user page: %d\n%s", r.Status, r.Body)
	}
	wantState(t, ts.client(t).signIn("mo", string(m[1])), "password_change_required")
	if r := root.form("/admin/users/new", url.Values{"username": {"mo"}}); r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "taken") {
		t.Errorf("a taken username: %d", r.Status)
	}
	id := root.userID("mo")
	page := "/admin/users/" + id
	if r := root.form(page+"/account", url.Values{"email": {"mo@example.org"}, "admin": {"on"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("save account: %s", r)
	}
	if body := string(root.do("GET", page+"/account", nil).Body); !strings.Contains(body, `value="mo@example.org"`) || !strings.Contains(body, "Administrator</span>") {
		t.Error("the account tab does not show the change")
	}
	rootID := root.userID("root")
	if r := root.form("/admin/users/"+rootID+"/disable", nil); r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "your own account") {
		t.Errorf("disabling oneself: %d", r.Status)
	}
	for _, step := range []struct{ path, location string }{
		{"/disable", page + "/account?done=disable"},
		{"/enable", page + "/account?done=enable"},
	} {
		if r := root.form(page+step.path, nil); r.Status != http.StatusSeeOther || r.Header.Get("Location") != step.location {
			t.Fatalf("%s: %s → %s", step.path, r, r.Header.Get("Location"))
		}
	}
	r = root.form(page+"/password-reset", nil)
	m = regexp.MustCompile(`<code id="one-time-password">([^<]+)</code>`).FindSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil {
		t.Fatalf("password reset page: %d", r.Status)
	}
	wantState(t, ts.client(t).signIn("mo", string(m[1])), "password_change_required")

	// The audit trail page, with its filters.
	r = root.do("GET", "/admin/audit?user=mo&event=DisableUser", nil)
	if r.Status != http.StatusOK || strings.Count(string(r.Body), "data-event-id=") != 1 || !strings.Contains(string(r.Body), ">DisableUser") {
		t.Errorf("audit page filtered to mo's DisableUser: %d, %d rows", r.Status, strings.Count(string(r.Body), "data-event-id="))
	}
	if r := root.do("GET", "/admin/audit?since=2026-01-01T10:00&until=2099-01-01T00:00&result=Success", nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `value="2026-01-01T10:00"`) {
		t.Errorf("audit page with a datetime-local range: %d", r.Status)
	}
	if r := root.do("GET", "/admin/audit?event=Nope", nil); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "is not one of") {
		t.Errorf("audit page with an unknown event: %d", r.Status)
	}
}

// TestNoSecretInLogsOrAuditTrail registers devices, signs in, fails on
// purpose and administers, collecting every password, code, secret, token
// and session id used; none may appear in a log line or an audit row.
func TestNoSecretInLogsOrAuditTrail(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	var used []string
	keep := func(what ...string) {
		for _, s := range what {
			if len(s) >= 6 {
				used = append(used, s)
			}
		}
	}
	keep(testPassword)
	root := ts.adminClient(t, "root")
	keep(root.cookie())

	// A user created by the administrator, with a one-time password.
	r := root.do("POST", "/api/v1/admin/users", map[string]any{"username": "nia", "email": "nia@example.com"})
	otp := r.str("one_time_password")
	keep(otp)
	nia := ts.client(t)
	wantState(t, nia.signIn("nia", otp), "password_change_required")
	keep(nia.cookie())
	const niaPassword = "nia's own long password"
	keep(niaPassword)
	wantState(t, nia.do("POST", "/api/v1/auth/password-change", map[string]string{"new_password": niaPassword}), "authenticated")
	keep(nia.cookie())

	// Nia registers an app, with a wrong code first.
	e := nia.startTOTP("Nia phone")
	keep(e.Secret, e.URI)
	bad := ts.wrongCode(e.Key)
	keep(bad)
	wantError(t, nia.verify(e.ID, bad), http.StatusBadRequest, "invalid_code")
	good := ts.code(e.Key, 0)
	keep(good)
	wantStatus(t, nia.verify(e.ID, good), http.StatusOK)
	ts.nextStep()

	// Failures on purpose: a wrong password, a wrong code, then success.
	wrongPassword := "not nia's password at all"
	keep(wrongPassword)
	wantError(t, ts.client(t).signIn("nia", wrongPassword), http.StatusUnauthorized, "invalid_credentials")
	nia2 := ts.client(t)
	wantState(t, nia2.signIn("nia", niaPassword), "mfa_required")
	keep(nia2.cookie())
	bad2 := ts.wrongCode(e.Key)
	keep(bad2)
	wantError(t, nia2.totp(bad2), http.StatusBadRequest, "invalid_code")
	code2 := ts.code(e.Key, 0)
	keep(code2)
	wantState(t, nia2.totp(code2), "authenticated")
	keep(nia2.cookie())
	ts.nextStep()

	// Administration: a token, a password reset, a device for the user.
	_, token, err := ts.App.Tokens.Create(context.Background(), "audit-test")
	if err != nil {
		t.Fatal(err)
	}
	keep(token)
	niaID := root.userID("nia")
	r = ts.client(t).sendT(apiRequest{Method: "POST", Path: "/api/v1/admin/users/" + niaID + "/password-reset", Header: map[string]string{"Authorization": "Bearer " + token}})
	keep(r.str("one_time_password"))
	r = ts.client(t).sendT(apiRequest{Method: "GET", Path: "/api/v1/admin/users", Header: map[string]string{"Authorization": "Bearer " + token + "x"}})
	wantError(t, r, http.StatusUnauthorized, "unauthenticated")
	r = root.do("POST", "/api/v1/admin/users/"+niaID+"/mfa-devices", map[string]string{"name": "Spare", "type": "totp"})
	keep(r.str("secret"), r.str("otpauth_uri"))
	spare, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(r.str("secret"))
	spareCode := ts.code(spare, 0)
	keep(spareCode)
	wantStatus(t, root.do("POST", "/api/v1/admin/users/"+niaID+"/mfa-devices/"+r.str("id")+"/verify", map[string]string{"code": spareCode}), http.StatusOK)

	var rows strings.Builder
	n := 0
	err = (&admin.Trail{Store: ts.App.Store}).Export(context.Background(), admin.EventQuery{}, func(ev audit.Event) error {
		n++
		return json.NewEncoder(&rows).Encode(ev)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("only %d audit rows: the flow did not run", n)
	}
	logs := ts.Logs.String()
	for _, s := range used {
		if strings.Contains(rows.String(), s) {
			t.Errorf("an audit row contains %q", s)
		}
		if strings.Contains(logs, s) {
			t.Errorf("a log line contains %q", s)
		}
	}
	t.Logf("checked %d values against %d audit rows and %d bytes of log", len(used), n, len(logs))
}
