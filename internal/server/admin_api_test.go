package server_test

// Black-box tests of the administrators' API and console (issue 4:
// "Everyone's devices", "Audit trail", "Bad input"), over real HTTP.

import (
	"context"
	"encoding/base32"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/account"
	"gatehouse/internal/audit"
)

// adminClient creates an administrator and returns a client signed in as
// them. Under the default policy an administrator without a device
// registers one first, as anyone would.
func (ts *testServer) adminClient(t *testing.T, name string) *apiClient {
	t.Helper()
	if _, _, err := ts.App.Accounts.CreateUser(context.Background(), name, "", true, testPassword); err != nil {
		t.Fatal(err)
	}
	a := ts.client(t)
	r := a.signIn(name, testPassword)
	wantStatus(t, r, http.StatusOK)
	if r.str("state") == "registration_required" {
		a.addDevice("Admin phone")
		ts.nextStep()
	} else if r.str("state") != "authenticated" {
		t.Fatalf("admin sign-in: %s", r)
	}
	wantStatus(t, a.do("GET", "/api/v1/me", nil), http.StatusOK)
	return a
}

// userID is the id of a user, from the admin API's search.
func (a *apiClient) userID(name string) string {
	a.t.Helper()
	r := a.do("GET", "/api/v1/admin/users?query="+url.QueryEscape(name), nil)
	wantStatus(a.t, r, http.StatusOK)
	var body struct {
		Users []struct{ ID, Username string } `json:"users"`
	}
	_ = json.Unmarshal(r.Body, &body)
	for _, u := range body.Users {
		if u.Username == name {
			return u.ID
		}
	}
	a.t.Fatalf("no user %q in %s", name, r)
	return ""
}

// events returns the audit trail's events with a name, newest first.
func (ts *testServer) events(t *testing.T, name string) []audit.Event {
	t.Helper()
	list, _, err := ts.App.Store.ListEvents(context.Background(), audit.Filter{Name: name, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// wantEvent finds the newest event with name and checks its actor, target
// and result.
func (ts *testServer) wantEvent(t *testing.T, name, actor, target, result string) audit.Event {
	t.Helper()
	for _, e := range ts.events(t, name) {
		if e.ActorName == actor && e.TargetUsername == target && e.Result == result {
			if e.SourceIP != "127.0.0.1" || !strings.HasPrefix(e.UserAgent, "Go-http-client") {
				t.Errorf("%s: source %q, user agent %q; want the client's", name, e.SourceIP, e.UserAgent)
			}
			return e
		}
	}
	t.Fatalf("no %s %s event by %s about %s in %+v", name, result, actor, target, ts.events(t, name))
	return audit.Event{}
}

func TestAdminAPIAndPagesAreForAdministratorsOnly(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	root := ts.adminClient(t, "root")
	rootID := root.userID("root")
	ts.createUser(t, "pleb")
	pleb := ts.client(t)
	if r := pleb.signIn("pleb", testPassword); r.Status != http.StatusOK {
		t.Fatal(r)
	}
	if pleb.do("GET", "/api/v1/me", nil).Status != http.StatusOK {
		t.Skip("the harness's policy does not let a user without a device sign in")
	}
	anon := ts.client(t)
	for _, rq := range []struct{ method, path string }{
		{"GET", "/api/v1/admin/users"},
		{"POST", "/api/v1/admin/users"},
		{"GET", "/api/v1/admin/users/" + rootID},
		{"PATCH", "/api/v1/admin/users/" + rootID},
		{"GET", "/api/v1/admin/users/" + rootID + "/mfa-devices"},
		{"DELETE", "/api/v1/admin/users/" + rootID + "/mfa-devices/x"},
		{"POST", "/api/v1/admin/users/" + rootID + "/mfa-reset"},
		{"POST", "/api/v1/admin/users/" + rootID + "/disable"},
		{"POST", "/api/v1/admin/users/" + rootID + "/password-reset"},
		{"GET", "/api/v1/admin/audit"},
		{"GET", "/api/v1/admin/no-such-thing"},
	} {
		wantError(t, pleb.do(rq.method, rq.path, map[string]any{}), http.StatusForbidden, "not_allowed")
		wantError(t, anon.do(rq.method, rq.path, map[string]any{}), http.StatusUnauthorized, "unauthenticated")
	}
	wantError(t, root.do("GET", "/api/v1/admin/no-such-thing", nil), http.StatusNotFound, "not_found")
	for _, p := range []string{"/admin", "/admin/users", "/admin/users/" + rootID, "/admin/users/" + rootID + "/account",
		"/admin/users/" + rootID + "/mfa-reset", "/admin/audit", "/admin/no-such-page", "/admin/users/new"} {
		r := pleb.do("GET", p, nil)
		if r.Status != http.StatusNotFound || !strings.Contains(string(r.Body), "Page not found") {
			t.Errorf("non-admin GET %s = %d, want the ordinary 404 page", p, r.Status)
		}
		if r := anon.do("GET", p, nil); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin") {
			t.Errorf("anonymous GET %s = %d %s, want a redirect to sign in", p, r.Status, r.Header.Get("Location"))
		}
		if r := root.do("GET", p, nil); p != "/admin/no-such-page" && r.Status != http.StatusOK && r.Status != http.StatusSeeOther {
			t.Errorf("admin GET %s = %d", p, r.Status)
		}
	}
	// The portal header offers Administration to administrators only.
	if body := string(root.do("GET", "/", nil).Body); !strings.Contains(body, `href="/admin/users">Administration<`) {
		t.Error("the administrator's header has no Administration link")
	}
	if body := string(pleb.do("GET", "/", nil).Body); strings.Contains(body, "Administration") {
		t.Error("a non-administrator's header shows Administration")
	}
}

func TestAPITokensAuthenticateScriptsAndShowInTheAuditTrail(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	ctx := context.Background()
	tok, secret, err := ts.App.Tokens.Create(ctx, "deploy-bot")
	if err != nil {
		t.Fatal(err)
	}
	bearer := func(v string, rq apiRequest) apiReply {
		rq.Header = map[string]string{"Authorization": v}
		return ts.client(t).sendT(rq)
	}
	wantStatus(t, bearer("Bearer "+secret, apiRequest{Method: "GET", Path: "/api/v1/admin/users"}), http.StatusOK)
	wantStatus(t, bearer("bearer "+secret, apiRequest{Method: "GET", Path: "/api/v1/admin/audit"}), http.StatusOK)
	r := bearer("Bearer "+secret, apiRequest{Method: "POST", Path: "/api/v1/admin/users", Body: map[string]any{"username": "carol"}})
	wantStatus(t, r, http.StatusCreated)
	e := ts.wantEvent(t, audit.CreateUser, "token:deploy-bot", "carol", audit.Success)
	if e.ActorID != "token:"+tok.ID {
		t.Errorf("actor id %q, want token:%s", e.ActorID, tok.ID)
	}
	for _, bad := range []string{"Bearer", "Bearer ", "Bearer nonsense", "Basic " + secret, "Bearer " + secret[:len(secret)-1],
		"Bearer gh_" + strings.Repeat("A", 43), "Bearer " + secret + "x", secret} {
		wantError(t, bearer(bad, apiRequest{Method: "GET", Path: "/api/v1/admin/users"}), http.StatusUnauthorized, "unauthenticated")
	}
	// A bad token is refused even beside a valid administrator's cookie.
	root := ts.adminClient(t, "root")
	wantError(t, root.sendT(apiRequest{Method: "GET", Path: "/api/v1/admin/users", Header: map[string]string{"Authorization": "Bearer nonsense"}}), http.StatusUnauthorized, "unauthenticated")
	if _, err := ts.App.Tokens.Revoke(ctx, "deploy-bot"); err != nil {
		t.Fatal(err)
	}
	wantError(t, bearer("Bearer "+secret, apiRequest{Method: "GET", Path: "/api/v1/admin/users"}), http.StatusUnauthorized, "unauthenticated")
	// A token is for the administrators' API, not a way to be a user.
	if r := bearer("Bearer "+secret, apiRequest{Method: "GET", Path: "/api/v1/me"}); r.Status == http.StatusOK {
		t.Errorf("a token opened /api/v1/me: %s", r)
	}
}

func TestAdminUserSearchPagingAndBadPaging(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	root := ts.adminClient(t, "root")
	for _, n := range []string{"ann", "anna", "bert", "hannah", "zed"} {
		wantStatus(t, root.do("POST", "/api/v1/admin/users", map[string]any{"username": n, "email": strings.ToUpper(n) + "@Example.org"}), http.StatusCreated)
	}
	type page struct {
		Users []struct {
			Username string `json:"username"`
		} `json:"users"`
		Page, PageSize, Total, Pages int
	}
	get := func(q string) page {
		t.Helper()
		r := root.do("GET", "/api/v1/admin/users?"+q, nil)
		wantStatus(t, r, http.StatusOK)
		var p struct {
			page
			PageSize int `json:"page_size"`
		}
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatal(err)
		}
		p.page.PageSize = p.PageSize
		return p.page
	}
	names := func(p page) string {
		var s []string
		for _, u := range p.Users {
			s = append(s, u.Username)
		}
		return strings.Join(s, " ")
	}
	if p := get("query=ANN"); names(p) != "ann anna hannah" || p.Total != 3 {
		t.Errorf("query=ANN: %q (total %d)", names(p), p.Total)
	}
	if p := get("query=example.ORG&page=2&page_size=2"); names(p) != "bert hannah" || p.Total != 5 || p.Pages != 3 || p.Page != 2 || p.PageSize != 2 {
		t.Errorf("page 2 of 2: %+v", p)
	}
	if p := get("query=nobody"); len(p.Users) != 0 || p.Total != 0 || p.Pages != 1 {
		t.Errorf("no match: %+v", p)
	}
	for _, q := range []string{"page=0", "page=-1", "page=abc", "page=1.5", "page_size=0", "page_size=201", "page_size=x",
		"page=4&page_size=2", "query=nobody&page=2", "query=" + strings.Repeat("a", 255)} {
		r := root.do("GET", "/api/v1/admin/users?"+q, nil)
		wantError(t, r, http.StatusBadRequest, "invalid_input")
	}
	r := root.do("GET", "/api/v1/admin/users?page=9", nil)
	if !strings.Contains(r.message(), "last page (1)") {
		t.Errorf("out of range message %q does not name the last page", r.message())
	}
}

func TestAdminCreatesAndUpdatesUsersAndKeepsAnAdministrator(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	root := ts.adminClient(t, "root")
	rootID := root.userID("root")
	r := root.do("POST", "/api/v1/admin/users", map[string]any{"username": "Dora", "email": "dora@example.com", "admin": false})
	wantStatus(t, r, http.StatusCreated)
	pw, id := r.str("one_time_password"), r.str("id")
	if len(pw) < 16 || r.str("username") != "dora" || r.obj()["password_change_required"] != true || r.Header.Get("Location") != "/api/v1/admin/users/"+id {
		t.Fatalf("create = %s", r)
	}
	ts.wantEvent(t, audit.CreateUser, "root", "dora", audit.Success)
	if got := root.do("GET", "/api/v1/admin/users/"+id, nil); got.str("one_time_password") != "" || got.str("email") != "dora@example.com" {
		t.Errorf("GET user = %s; the one-time password must not be shown again", got)
	}
	wantState(t, ts.client(t).signIn("dora", pw), "password_change_required")

	wantError(t, root.do("POST", "/api/v1/admin/users", map[string]any{"username": "dora"}), http.StatusConflict, "conflict")
	wantError(t, root.do("POST", "/api/v1/admin/users", map[string]any{"username": "no spaces"}), http.StatusBadRequest, "invalid_input")
	wantError(t, root.do("POST", "/api/v1/admin/users", map[string]any{"username": "x", "email": "not-an-email"}), http.StatusBadRequest, "invalid_input")
	wantError(t, root.do("POST", "/api/v1/admin/users", map[string]any{"email": "x@example.com"}), http.StatusBadRequest, "invalid_input")
	wantError(t, root.do("POST", "/api/v1/admin/users", map[string]any{"username": "x", "password": "chosen"}), http.StatusBadRequest, "invalid_input")

	r = root.do("PATCH", "/api/v1/admin/users/"+id, map[string]any{"email": "d@example.net", "admin": true})
	if r.Status != http.StatusOK || r.str("email") != "d@example.net" || r.obj()["admin"] != true {
		t.Fatalf("PATCH = %s", r)
	}
	if e := ts.wantEvent(t, audit.UpdateUser, "root", "dora", audit.Success); e.Detail != "email admin=true" {
		t.Errorf("UpdateUser detail %q", e.Detail)
	}
	// Two administrators: either may be demoted, but not both.
	wantStatus(t, root.do("PATCH", "/api/v1/admin/users/"+id, map[string]any{"admin": false}), http.StatusOK)
	r = root.do("PATCH", "/api/v1/admin/users/"+rootID, map[string]any{"admin": false})
	wantError(t, r, http.StatusConflict, "conflict")
	ts.wantEvent(t, audit.UpdateUser, "root", "root", audit.Failure)
	wantError(t, root.do("PATCH", "/api/v1/admin/users/"+rootID, map[string]any{"nickname": "x"}), http.StatusBadRequest, "invalid_input")
	wantError(t, root.do("PATCH", "/api/v1/admin/users/nope", map[string]any{"admin": false}), http.StatusNotFound, "not_found")
	wantError(t, root.do("GET", "/api/v1/admin/users/nope", nil), http.StatusNotFound, "not_found")
	// Disabling oneself or the last enabled administrator is refused too.
	wantError(t, root.do("POST", "/api/v1/admin/users/"+rootID+"/disable", nil), http.StatusConflict, "conflict")
	_, secret, err := ts.App.Tokens.Create(context.Background(), "ops")
	if err != nil {
		t.Fatal(err)
	}
	r = ts.client(t).sendT(apiRequest{Method: "POST", Path: "/api/v1/admin/users/" + rootID + "/disable", Header: map[string]string{"Authorization": "Bearer " + secret}})
	wantError(t, r, http.StatusConflict, "conflict")
	if !strings.Contains(r.message(), "only enabled administrator") {
		t.Errorf("last-admin message %q", r.message())
	}
}

// deviceList is the admin API's device list.
func (a *apiClient) adminDevices(userID string) []map[string]any {
	a.t.Helper()
	r := a.do("GET", "/api/v1/admin/users/"+userID+"/mfa-devices", nil)
	wantStatus(a.t, r, http.StatusOK)
	var body struct {
		Devices []map[string]any `json:"devices"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		a.t.Fatal(err)
	}
	return body.Devices
}

func TestAdminRenamesAndDeletesAUsersDevicesButNotAnotherUsers(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	root := ts.adminClient(t, "root")
	ed, edDevice, _ := ts.userWithDevice(t, "ed")
	_, fayDevice, _ := ts.userWithDevice(t, "fay")
	edID, fayID := root.userID("ed"), root.userID("fay")
	_ = ed.startTOTP("Pending one") // a registration in progress is not listed

	list := root.adminDevices(edID)
	if len(list) != 1 || list[0]["id"] != edDevice || list[0]["name"] != "Phone of ed" || list[0]["type"] != "totp" || list[0]["status"] != "active" {
		t.Fatalf("ed's devices = %v", list)
	}
	for k := range list[0] {
		if k == "secret" || k == "otpauth_uri" || k == "qr_png" {
			t.Errorf("the admin's device list carries %q", k)
		}
	}
	// Fay's device under Ed's path is not found, for every method.
	base := "/api/v1/admin/users/" + edID + "/mfa-devices/"
	wantError(t, root.do("GET", base+fayDevice, nil), http.StatusNotFound, "not_found")
	wantError(t, root.do("PATCH", base+fayDevice, map[string]string{"name": "Mine now"}), http.StatusNotFound, "not_found")
	wantError(t, root.do("DELETE", base+fayDevice, nil), http.StatusNotFound, "not_found")
	wantError(t, root.do("POST", base+fayDevice+"/verify", map[string]string{"code": "123456"}), http.StatusNotFound, "not_found")
	if n := len(root.adminDevices(fayID)); n != 1 {
		t.Fatalf("fay has %d devices after attempts through ed's path", n)
	}
	wantError(t, root.do("GET", "/api/v1/admin/users/nope/mfa-devices", nil), http.StatusNotFound, "not_found")

	r := root.do("PATCH", base+edDevice, map[string]string{"name": "Ed's old phone"})
	if r.Status != http.StatusOK || r.str("name") != "Ed's old phone" {
		t.Fatalf("rename = %s", r)
	}
	if e := ts.wantEvent(t, audit.UpdateMfaDeviceForUser, "root", "ed", audit.Success); e.DeviceID != edDevice || e.DeviceName != "Ed's old phone" {
		t.Errorf("rename event %+v", e)
	}
	wantError(t, root.do("PATCH", base+edDevice, map[string]string{"name": ""}), http.StatusBadRequest, "name_invalid")

	// An administrator may delete a user's last device.
	wantStatus(t, root.do("DELETE", base+edDevice, nil), http.StatusNoContent)
	if e := ts.wantEvent(t, audit.DeleteMfaDeviceForUser, "root", "ed", audit.Success); e.DeviceID != edDevice || e.DeviceName != "Ed's old phone" {
		t.Errorf("delete event %+v", e)
	}
	if n := len(root.adminDevices(edID)); n != 0 {
		t.Fatalf("ed has %d devices after the delete", n)
	}
	if r := ts.client(t).signIn("ed", testPassword); r.Status == http.StatusOK && r.str("state") == "mfa_required" {
		t.Errorf("after losing his last device ed is asked for a code: %s", r)
	}
}

func TestAdminRegistersAnAuthenticatorForAUserAndNeverShowsItsSecretAgain(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	root := ts.adminClient(t, "root")
	ts.createUser(t, "gus")
	gusID := root.userID("gus")
	base := "/api/v1/admin/users/" + gusID + "/mfa-devices"
	wantError(t, root.do("POST", base, map[string]string{"name": "Gus phone", "type": "webauthn"}), http.StatusBadRequest, "invalid_input")
	r := root.do("POST", base, map[string]string{"name": "Gus phone", "type": "totp"})
	wantStatus(t, r, http.StatusCreated)
	id, secret := r.str("id"), r.str("secret")
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil || len(key) != 20 || r.str("status") != "pending" || !strings.Contains(r.str("otpauth_uri"), ":gus?") || r.str("qr_png") == "" {
		t.Fatalf("start = %s", r)
	}
	ts.wantEvent(t, audit.StartVirtualMfaDeviceRegistration, "root", "gus", audit.Success)
	// The secret is not shown again, even while pending.
	if g := root.do("GET", base+"/"+id, nil); g.Status != http.StatusOK || g.str("secret") != "" || g.str("status") != "pending" {
		t.Errorf("GET pending = %s", g)
	}
	wantError(t, root.do("POST", base+"/"+id+"/verify", map[string]string{"code": ts.wrongCode(key)}), http.StatusBadRequest, "invalid_code")
	ts.wantEvent(t, audit.CompleteVirtualMfaDeviceRegistration, "root", "gus", audit.Failure)
	r = root.do("POST", base+"/"+id+"/verify", map[string]string{"code": ts.code(key, 0)})
	if r.Status != http.StatusOK || r.str("status") != "active" {
		t.Fatalf("verify = %s", r)
	}
	if e := ts.wantEvent(t, audit.CompleteVirtualMfaDeviceRegistration, "root", "gus", audit.Success); e.DeviceID != id || e.DeviceName != "Gus phone" {
		t.Errorf("complete event %+v", e)
	}
	if g := root.do("GET", base+"/"+id, nil); g.str("secret") != "" || g.str("status") != "active" {
		t.Errorf("GET active = %s", g)
	}
	// Gus signs in with the phone the administrator set up.
	ts.nextStep()
	gus := ts.client(t)
	wantState(t, gus.signIn("gus", testPassword), "mfa_required")
	wantState(t, gus.totp(ts.code(key, 0)), "authenticated")
}

func TestAdminResetMFADisableEnableAndPasswordReset(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	root := ts.adminClient(t, "root")
	hal, _, key := ts.userWithDevice(t, "hal")
	halID := root.userID("hal")
	u := "/api/v1/admin/users/" + halID

	// Reset MFA: every device gone, the session ended.
	_ = hal.startTOTP("Half-done")
	r := root.do("POST", u+"/mfa-reset", nil)
	if r.Status != http.StatusOK || r.obj()["devices_removed"] != float64(1) {
		t.Fatalf("mfa-reset = %s", r)
	}
	ts.wantEvent(t, audit.ResetMfa, "root", "hal", audit.Success)
	wantError(t, hal.do("GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthenticated")
	if n := len(root.adminDevices(halID)); n != 0 {
		t.Fatalf("%d devices after the reset", n)
	}
	if r := ts.client(t).signIn("hal", testPassword); r.str("state") == "mfa_required" {
		t.Errorf("after an MFA reset hal is asked for a code of a deleted device: %s", r)
	}
	_ = key

	// Disable: sessions end and sign-in is refused; enable undoes it.
	hal2 := ts.client(t)
	wantStatus(t, hal2.signIn("hal", testPassword), http.StatusOK)
	r = root.do("POST", u+"/disable", nil)
	if r.Status != http.StatusOK || r.obj()["disabled"] != true {
		t.Fatalf("disable = %s", r)
	}
	ts.wantEvent(t, audit.DisableUser, "root", "hal", audit.Success)
	wantError(t, hal2.do("GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthenticated")
	wantError(t, ts.client(t).signIn("hal", testPassword), http.StatusForbidden, "not_allowed")
	r = root.do("POST", u+"/enable", nil)
	if r.Status != http.StatusOK || r.obj()["disabled"] != false {
		t.Fatalf("enable = %s", r)
	}
	ts.wantEvent(t, audit.EnableUser, "root", "hal", audit.Success)
	wantStatus(t, ts.client(t).signIn("hal", testPassword), http.StatusOK)

	// Password reset: a new one-time password, the old one dead, sessions ended.
	hal3 := ts.client(t)
	wantStatus(t, hal3.signIn("hal", testPassword), http.StatusOK)
	r = root.do("POST", u+"/password-reset", nil)
	pw := r.str("one_time_password")
	if r.Status != http.StatusOK || len(pw) < 16 {
		t.Fatalf("password-reset = %s", r)
	}
	ts.wantEvent(t, audit.ResetPassword, "root", "hal", audit.Success)
	wantError(t, hal3.do("GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthenticated")
	wantError(t, ts.client(t).signIn("hal", testPassword), http.StatusUnauthorized, "invalid_credentials")
	if r := ts.client(t).signIn("hal", pw); r.Status != http.StatusOK || r.str("state") == "authenticated" {
		t.Errorf("sign-in with the one-time password = %s, want a forced change first", r)
	}
	for _, p := range []string{"/mfa-reset", "/disable", "/enable", "/password-reset"} {
		wantError(t, root.do("POST", "/api/v1/admin/users/nope"+p, nil), http.StatusNotFound, "not_found")
	}
}

func TestAuditAPIFiltersPagesAndExplainsBadInput(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	root := ts.adminClient(t, "root")
	for _, n := range []string{"ivy", "jon"} {
		wantStatus(t, root.do("POST", "/api/v1/admin/users", map[string]any{"username": n}), http.StatusCreated)
	}
	ivyID := root.userID("ivy")
	wantStatus(t, root.do("POST", "/api/v1/admin/users/"+ivyID+"/disable", nil), http.StatusOK)
	_ = ts.client(t).signIn("ivy", "wrong password") // a failure on purpose

	type page struct {
		Events []audit.Event `json:"events"`
		Total  int           `json:"total"`
		Pages  int           `json:"pages"`
	}
	get := func(q string) page {
		t.Helper()
		r := root.do("GET", "/api/v1/admin/audit?"+q, nil)
		wantStatus(t, r, http.StatusOK)
		var p page
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := get("user=ivy")
	if p.Total < 2 {
		t.Fatalf("events about ivy: %+v", p)
	}
	for _, e := range p.Events {
		if e.TargetUsername != "ivy" {
			t.Errorf("user=ivy returned an event about %q", e.TargetUsername)
		}
	}
	if q := get("user=" + ivyID + "&event=DisableUser"); q.Total != 1 || q.Events[0].ActorName != "root" {
		t.Errorf("user=ID&event=DisableUser: %+v", q)
	}
	// Three users were made: root (by the test's setup, through the same
	// service the CLI uses), then ivy and jon through the API.
	if q := get("event=CreateUser&result=Success&page_size=1&page=2"); q.Total != 3 || len(q.Events) != 1 || q.Pages != 3 || q.Events[0].TargetUsername != "ivy" {
		t.Errorf("CreateUser page 2 of 3 (newest first): %+v", q)
	}
	now := ts.Clock.Now()
	if q := get("since=" + url.QueryEscape(now.Add(-time.Hour).Format("2006-01-02T15:04:05Z07:00")) + "&until=" + url.QueryEscape(now.Add(time.Hour).Format("2006-01-02T15:04:05Z"))); q.Total == 0 {
		t.Errorf("the last hour has no events")
	}
	if q := get("until=2000-01-01T00:00:00Z"); q.Total != 0 {
		t.Errorf("events before 2000: %+v", q)
	}
	for _, tc := range []struct{ q, mentions string }{
		{"event=Nope", "CreateUser"},
		{"result=ok", "Success, Failure"},
		{"since=yesterday", "RFC 3339"},
		{"until=2026-13-01T00:00:00Z", "RFC 3339"},
		{"since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", "before"},
		{"page=0", "page"},
		{"page_size=1000", "page_size"},
		{"page=99", "last page"},
	} {
		r := root.do("GET", "/api/v1/admin/audit?"+tc.q, nil)
		wantError(t, r, http.StatusBadRequest, "invalid_input")
		if !strings.Contains(r.message(), tc.mentions) {
			t.Errorf("%s: message %q does not mention %q", tc.q, r.message(), tc.mentions)
		}
	}
}

func TestAdminListsAndRevokesAUsersTrustedBrowsers(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	root := ts.adminClient(t, "root")
	ts.createUser(t, "ute")
	ts.createUser(t, "vic")
	uteID, vicID := root.userID("ute"), root.userID("vic")
	now := ts.Clock.Now()
	for _, b := range []account.TrustedBrowser{
		{ID: "tb1", UserID: uteID, TokenHash: "h1", Network: "192.0.2.0/24", UserAgent: "Firefox on Linux", CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)},
		{ID: "tb2", UserID: uteID, TokenHash: "h2", Network: "2001:db8::/48", UserAgent: "Safari on iPhone", CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)},
		{ID: "tb3", UserID: vicID, TokenHash: "h3", Network: "198.51.100.0/24", CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)},
	} {
		if err := ts.App.Store.CreateTrustedBrowser(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	base := "/api/v1/admin/users/" + uteID + "/trusted-browsers"
	r := root.do("GET", base, nil)
	if r.Status != http.StatusOK || strings.Count(string(r.Body), `"id"`) != 2 || strings.Contains(string(r.Body), "h1") || !strings.Contains(string(r.Body), "Safari on iPhone") {
		t.Fatalf("list = %s", r)
	}
	if body := string(root.do("GET", "/admin/users/"+uteID, nil).Body); !strings.Contains(body, "Trusted browsers") || !strings.Contains(body, `data-trusted-id="tb1"`) {
		t.Error("the user page does not list the trusted browsers")
	}
	wantError(t, root.do("DELETE", base+"/tb3", nil), http.StatusNotFound, "not_found") // vic's, under ute's path
	wantStatus(t, root.do("DELETE", base+"/tb1", nil), http.StatusNoContent)
	if e := ts.wantEvent(t, audit.UpdateUser, "root", "ute", audit.Success); e.Detail != "trusted browser revoked" {
		t.Errorf("event detail %q", e.Detail)
	}
	if r := root.form("/admin/users/"+uteID+"/trusted-browsers/tb2/revoke", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("revoke from the page: %s", r)
	}
	if r := root.do("GET", base, nil); strings.Contains(string(r.Body), `"id"`) {
		t.Errorf("after revoking both: %s", r)
	}
	if r := root.do("GET", "/api/v1/admin/users/"+vicID+"/trusted-browsers", nil); !strings.Contains(string(r.Body), "tb3") {
		t.Errorf("vic's browser went too: %s", r)
	}
}
