package server_test

// The WebAuthn API (issue 5) over real HTTP, answered by the software
// authenticator in internal/passkey/passkeytest: every way a registration or
// sign-in can be wrong gets a clear 4xx, never a 500.

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gatehouse/internal/audit"
	"gatehouse/internal/mfa"
	"gatehouse/internal/passkey/passkeytest"
	"gatehouse/internal/password"
	"gatehouse/internal/server"
)

// keyEnrollment is a 201 answer to POST /api/v1/me/mfa-devices for a key.
type keyEnrollment struct {
	ID      string
	Options json.RawMessage
	Reply   apiReply
}

func (a *apiClient) startKey(name string, typ mfa.Type) keyEnrollment {
	a.t.Helper()
	r := a.do("POST", "/api/v1/me/mfa-devices", map[string]string{"name": name, "type": string(typ)})
	wantStatus(a.t, r, http.StatusCreated)
	var body struct {
		ID      string          `json:"id"`
		Status  string          `json:"status"`
		Type    string          `json:"type"`
		Options json.RawMessage `json:"options"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || body.Status != "pending" || body.Type != string(typ) || len(body.Options) == 0 {
		a.t.Fatalf("start: %v %s", err, r)
	}
	if loc := r.Header.Get("Location"); loc != "/api/v1/me/mfa-devices/"+body.ID {
		a.t.Errorf("Location %q", loc)
	}
	return keyEnrollment{ID: body.ID, Options: body.Options, Reply: r}
}

func (a *apiClient) verifyKey(id string, credential []byte) apiReply {
	a.t.Helper()
	return a.do("POST", "/api/v1/me/mfa-devices/"+id+"/verify", map[string]json.RawMessage{"credential": credential})
}

// addKey registers a security key answered by auth.
func (a *apiClient) addKey(auth *passkeytest.Authenticator, name string, typ mfa.Type) string {
	a.t.Helper()
	e := a.startKey(name, typ)
	resp, err := auth.Create(e.Options)
	if err != nil {
		a.t.Fatal(err)
	}
	r := a.verifyKey(e.ID, resp)
	if r.Status != http.StatusOK || r.str("status") != "active" || r.str("type") != string(typ) {
		a.t.Fatalf("verify: %s", r)
	}
	return e.ID
}

// begin starts the MFA step with a key and returns the request options.
func (a *apiClient) begin() json.RawMessage {
	a.t.Helper()
	r := a.do("POST", "/api/v1/auth/webauthn/begin", nil)
	wantStatus(a.t, r, http.StatusOK)
	var body struct {
		Options json.RawMessage `json:"options"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || len(body.Options) == 0 {
		a.t.Fatalf("begin: %v %s", err, r)
	}
	return body.Options
}

func (a *apiClient) finish(credential []byte) apiReply {
	a.t.Helper()
	return a.do("POST", "/api/v1/auth/webauthn/finish", map[string]json.RawMessage{"credential": credential})
}

// assertion is the authenticator's answer to a begin in a's session.
func (a *apiClient) assertion(auth *passkeytest.Authenticator) []byte {
	a.t.Helper()
	resp, err := auth.Get(a.begin())
	if err != nil {
		a.t.Fatal(err)
	}
	return resp
}

// userWithKey creates a user with one security key and returns the
// authenticator that holds it.
func (ts *testServer) userWithKey(t *testing.T, name string) (*apiClient, *passkeytest.Authenticator) {
	t.Helper()
	a := ts.signedIn(t, name)
	auth := passkeytest.New(ts.URL)
	a.addKey(auth, "Key of "+name, mfa.TypeSecurityKey)
	return a, auth
}

func TestWebAuthnOverAPI(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	a := ts.signedIn(t, "alice")
	usb, laptop := passkeytest.New(ts.URL), passkeytest.New(ts.URL)
	laptop.Attachment, laptop.Transports, laptop.UserVerified = "platform", []string{"internal"}, true

	e := a.startKey("Blue YubiKey", mfa.TypeSecurityKey)
	var opts struct {
		RP struct {
			ID string `json:"id"`
		} `json:"rp"`
		Sel struct {
			Attachment       string `json:"authenticatorAttachment"`
			ResidentKey      string `json:"residentKey"`
			UserVerification string `json:"userVerification"`
		} `json:"authenticatorSelection"`
	}
	_ = json.Unmarshal(e.Options, &opts)
	if opts.RP.ID != "localhost" || opts.Sel.Attachment != "cross-platform" || opts.Sel.ResidentKey != "discouraged" || opts.Sel.UserVerification != "preferred" {
		t.Errorf("creation options %s", e.Options)
	}
	resp, _ := usb.Create(e.Options)
	wantStatus(t, a.verifyKey(e.ID, resp), http.StatusOK)
	a.addKey(laptop, "Work laptop", mfa.TypeBuiltIn)

	_, list := a.listDevices()
	if !strings.Contains(string(list.Body), `"type":"security_key"`) || !strings.Contains(string(list.Body), `"type":"built_in"`) {
		t.Errorf("list %s", list.Body)
	}

	// Sign in with each.
	for _, auth := range []*passkeytest.Authenticator{usb, laptop} {
		b := ts.client(t)
		r := b.signIn("alice", testPassword)
		wantState(t, r, "mfa_required")
		if m, _ := r.obj()["methods"].([]any); len(m) != 1 || m[0] != "webauthn" {
			t.Errorf("methods %v", r.obj()["methods"])
		}
		wantState(t, b.finish(b.assertion(auth)), "authenticated")
		wantStatus(t, b.do("GET", "/api/v1/me", nil), http.StatusOK)
	}

	// The audit trail has the registrations and the sign-ins, by name.
	events, _, err := ts.App.Store.ListEvents(context.Background(), audit.Filter{UserID: userID(t, ts, "alice"), Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, ev := range events {
		if ev.CredentialType == audit.WebAuthn {
			seen[ev.Name+"/"+ev.Result]++
		}
	}
	for name, want := range map[string]int{"StartWebAuthnDeviceRegistration/Success": 2, "CompleteWebAuthnDeviceRegistration/Success": 2, "CredentialVerification/Success": 2} {
		if seen[name] != want {
			t.Errorf("audit: %d × %s, want %d (all WEBAUTHN events: %v)", seen[name], name, want, seen)
		}
	}
}

func TestWebAuthnRegistrationBadInput(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	a, auth := ts.userWithKey(t, "bob")
	cases := []struct {
		name   string
		answer func(e keyEnrollment) []byte
		status int
		code   string
	}{
		// Refused answers use up the challenge; malformed ones never
		// reached it, so the registration can still be finished.
		{"credential already registered", func(e keyEnrollment) []byte { r, _ := auth.CreateAgain(e.Options); return r }, http.StatusConflict, "conflict"},
		{"wrong origin", func(e keyEnrollment) []byte {
			o := passkeytest.New("http://localhost:1")
			r, _ := o.Create(e.Options)
			return r
		}, http.StatusBadRequest, "invalid_code"},
		{"wrong RP id hash", func(e keyEnrollment) []byte {
			o := passkeytest.New(ts.URL)
			o.RPID = "example.com"
			r, _ := o.Create(e.Options)
			return r
		}, http.StatusBadRequest, "invalid_code"},
		{"malformed JSON", func(keyEnrollment) []byte { return []byte(`"not a credential"`) }, http.StatusBadRequest, "invalid_input"},
		{"malformed base64url", func(e keyEnrollment) []byte {
			r, _ := passkeytest.New(ts.URL).Create(e.Options)
			return replaceResponse(t, r, "attestationObject", "***")
		}, http.StatusBadRequest, "invalid_input"},
		{"malformed CBOR", func(e keyEnrollment) []byte {
			r, _ := passkeytest.New(ts.URL).Create(e.Options)
			return replaceResponse(t, r, "attestationObject", passkeytest.B64([]byte{0xbf, 0x61}))
		}, http.StatusBadRequest, "invalid_input"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := a.in(t)
			e := c.startKey("Spare "+tc.name, mfa.TypeSecurityKey)
			r := c.verifyKey(e.ID, tc.answer(e))
			wantError(t, r, tc.status, tc.code)
			resp, _ := passkeytest.New(ts.URL).Create(e.Options)
			if tc.code == "invalid_input" {
				wantStatus(t, c.verifyKey(e.ID, resp), http.StatusOK)
				return
			}
			wantError(t, c.verifyKey(e.ID, resp), http.StatusForbidden, "not_allowed")
		})
	}
	if strings.Contains(ts.Logs.String(), "level=ERROR") {
		t.Errorf("server logged errors:\n%s", ts.Logs.String())
	}
	// Neither a code for a key nor a key for an app.
	e := a.startKey("Code for a key", mfa.TypeSecurityKey)
	wantError(t, a.verify(e.ID, "123456"), http.StatusBadRequest, "invalid_input")
	app := a.startTOTP("App")
	wantError(t, a.verifyKey(app.ID, []byte(`{}`)), http.StatusBadRequest, "invalid_input")
	wantError(t, a.do("POST", "/api/v1/me/mfa-devices", map[string]string{"name": "x", "type": "passkey"}), http.StatusBadRequest, "invalid_input")
}

func TestWebAuthnRegistrationIsBoundToItsSession(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	a := ts.signedIn(t, "carol")
	other := ts.client(t)
	wantState(t, other.signIn("carol", testPassword), "authenticated")
	e := a.startKey("Mine", mfa.TypeSecurityKey)
	resp, _ := passkeytest.New(ts.URL).Create(e.Options)
	wantError(t, other.verifyKey(e.ID, resp), http.StatusForbidden, "not_allowed")
	// Another user's pending device is not found at all.
	mallory := ts.signedIn(t, "mallory")
	wantError(t, mallory.verifyKey(e.ID, resp), http.StatusNotFound, "not_found")
	// The session that began it still can.
	wantStatus(t, a.verifyKey(e.ID, resp), http.StatusOK)
	// After 5 minutes a registration is gone.
	late := a.startKey("Late", mfa.TypeSecurityKey)
	resp, _ = passkeytest.New(ts.URL).Create(late.Options)
	ts.Clock.Advance(mfa.ChallengeTTL)
	wantError(t, a.verifyKey(late.ID, resp), http.StatusGone, "enrollment_expired")
}

func TestWebAuthnLimitOverAPI(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	a := ts.signedIn(t, "dave")
	for i := range mfa.MaxWebAuthnDevices {
		a.addKey(passkeytest.New(ts.URL), "Key "+strconv.Itoa(i), mfa.TypeSecurityKey)
	}
	r := a.do("POST", "/api/v1/me/mfa-devices", map[string]string{"name": "Seventh", "type": "built_in"})
	wantError(t, r, http.StatusConflict, "device_limit")
	a.addDevice("Phone") // apps have their own limit
}

func TestWebAuthnSignInBadInput(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	_, auth := ts.userWithKey(t, "erin")

	// Before the password: no session.
	wantError(t, ts.client(t).do("POST", "/api/v1/auth/webauthn/begin", nil), http.StatusUnauthorized, "unauthenticated")

	b := ts.mfaSession(t, "erin")
	// A finish without a begin.
	stray, _ := auth.Get(mustJSON(t, map[string]any{"challenge": passkeytest.B64([]byte("never issued by the server")), "rpId": "localhost",
		"allowCredentials": []map[string]string{{"type": "public-key", "id": credentialID(t, ts, "erin")}}}))
	wantError(t, b.finish(stray), http.StatusForbidden, "not_allowed")
	// Malformed answers are bad input and do not count as guesses.
	for _, bad := range [][]byte{[]byte(`"x"`), []byte(`{"id":"%%%","rawId":"%%%","type":"public-key","response":{}}`), replaceResponse(t, b.assertion(auth), "authenticatorData", passkeytest.B64([]byte{1, 2}))} {
		wantError(t, b.finish(bad), http.StatusBadRequest, "invalid_input")
	}
	wantError(t, b.do("POST", "/api/v1/auth/webauthn/finish", map[string]string{}), http.StatusBadRequest, "invalid_input")
	wantError(t, b.do("POST", "/api/v1/auth/webauthn/begin", map[string]string{"x": "y"}), http.StatusBadRequest, "invalid_input")

	// Wrong answers are wrong answers: they count, and say what is wrong.
	r := b.finish(b.assertionWith(auth, func(x *passkeytest.Authenticator) { x.Origin = "http://evil.localhost" }))
	wantError(t, r, http.StatusBadRequest, "invalid_code")
	if reason, _ := r.obj()["error"].(map[string]any)["detail"].(map[string]any)["reason"].(string); reason != "origin" {
		t.Errorf("wrong origin: %s", r)
	}
	wantError(t, b.finish(b.assertionWith(auth, func(x *passkeytest.Authenticator) { x.RPID = "example.com" })), http.StatusBadRequest, "invalid_code")

	// The rightful answer still works (two wrong answers are under the limit).
	good := b.assertion(auth)
	wantState(t, b.finish(good), "authenticated")

	// A replayed answer: in a new sign-in its challenge is not this session's.
	c := ts.mfaSession(t, "erin")
	wantError(t, c.finish(good), http.StatusForbidden, "not_allowed")
	// And a challenge from another session is refused.
	d := ts.mfaSession(t, "erin")
	wantError(t, d.finish(c.assertion(auth)), http.StatusForbidden, "not_allowed")
	if strings.Contains(ts.Logs.String(), "level=ERROR") {
		t.Errorf("server logged errors:\n%s", ts.Logs.String())
	}
}

func TestFiveWrongKeyAnswersEndTheChallenge(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	_, auth := ts.userWithKey(t, "fay")
	b := ts.mfaSession(t, "fay")
	var r apiReply
	for i := 0; i < 5; i++ {
		r = b.finish(b.assertionWith(auth, func(x *passkeytest.Authenticator) { x.Origin = "http://phish.localhost" }))
	}
	wantError(t, r, http.StatusTooManyRequests, "rate_limited")
	wantError(t, b.do("POST", "/api/v1/auth/webauthn/begin", nil), http.StatusUnauthorized, "unauthenticated")
}

func TestAppAndKeyUserSignsInWithEither(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	a, _, key := ts.userWithDevice(t, "gil")
	auth := passkeytest.New(ts.URL)
	a.addKey(auth, "Key", mfa.TypeSecurityKey)
	b := ts.client(t)
	r := b.signIn("gil", testPassword)
	wantState(t, r, "mfa_required")
	if m, _ := r.obj()["methods"].([]any); len(m) != 2 || m[0] != "totp" || m[1] != "webauthn" {
		t.Errorf("methods %v", r.obj()["methods"])
	}
	wantState(t, b.totp(ts.code(key, 0)), "authenticated")
	c := ts.mfaSession(t, "gil")
	wantState(t, c.finish(c.assertion(auth)), "authenticated")
}

// TestAnyNodeFinishesWhatAnotherBegan: two nodes on one database, one base
// URL (as behind a load balancer): a registration begun on one is finished
// on the other, and so is a sign-in.
func TestAnyNodeFinishesWhatAnotherBegan(t *testing.T) {
	t.Parallel()
	nodeA := startAPIServer(t)
	nodeB := secondNode(t, nodeA)
	a := nodeA.signedIn(t, "hal")
	onB := &apiClient{t: t, ts: nodeB, c: a.c} // the same browser, the other node
	auth := passkeytest.New(nodeA.URL)
	e := a.startKey("Key", mfa.TypeSecurityKey)
	resp, _ := auth.Create(e.Options)
	wantStatus(t, onB.verifyKey(e.ID, resp), http.StatusOK)

	c := nodeB.client(t)
	wantState(t, c.signIn("hal", testPassword), "mfa_required")
	opts := c.begin()
	answer, err := auth.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	onA := &apiClient{t: t, ts: nodeA, c: c.c}
	wantState(t, onA.finish(answer), "authenticated")
}

// secondNode starts another server on a's database and key file, with a's
// base URL and clock.
func secondNode(t *testing.T, a *testServer) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	fast := password.Fast
	ctx, cancel := context.WithCancel(context.Background())
	app, err := server.Open(ctx, server.Config{
		DataDir: a.DataDir, DB: "sqlite:" + filepath.Join(a.DataDir, "gatehouse.db"), BaseURL: a.URL, PasswordParams: &fast,
		Logger: slog.New(slog.NewTextHandler(io.MultiWriter(logs), nil)), Now: a.Clock.Now,
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := app.Serve(ctx, ln); err != nil && err != http.ErrServerClosed {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		app.Close()
	})
	return &testServer{App: app, URL: "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), Clock: a.Clock, DataDir: a.DataDir, Logs: logs}
}

// assertionWith is assertion from an authenticator changed by tweak for
// this one answer.
func (a *apiClient) assertionWith(auth *passkeytest.Authenticator, tweak func(*passkeytest.Authenticator)) []byte {
	a.t.Helper()
	saved := *auth
	defer func() { *auth = saved }()
	tweak(auth)
	return a.assertion(auth)
}

func replaceResponse(t *testing.T, resp []byte, field, value string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(resp, &m); err != nil {
		t.Fatal(err)
	}
	m["response"].(map[string]any)[field] = value
	return mustJSON(t, m)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func credentialID(t *testing.T, ts *testServer, name string) string {
	t.Helper()
	creds, err := ts.App.Store.WebAuthnCredentials(context.Background(), userID(t, ts, name))
	if err != nil || len(creds) == 0 {
		t.Fatalf("credentials of %s: %v", name, err)
	}
	return passkeytest.B64(creds[0].Credential.ID)
}

// TestFirstDeviceCanBeASecurityKey: under the default policy a user without
// a device must register one after the password; a security key will do,
// and its activation completes the sign-in.
func TestFirstDeviceCanBeASecurityKey(t *testing.T) {
	t.Parallel()
	ts := startServerWithDefaults(t)
	ts.createUser(t, "ivy")
	a := ts.client(t)
	wantState(t, a.signIn("ivy", testPassword), "registration_required")
	wantError(t, a.do("GET", "/api/v1/me", nil), http.StatusForbidden, "registration_required")
	auth := passkeytest.New(ts.URL)
	a.addKey(auth, "First key", mfa.TypeBuiltIn)
	wantStatus(t, a.do("GET", "/api/v1/me", nil), http.StatusOK)
	b := ts.client(t)
	wantState(t, b.signIn("ivy", testPassword), "mfa_required")
	wantState(t, b.finish(b.assertion(auth)), "authenticated")
}

// TestConcurrentFinishesWithOneAnswerSucceedOnce: the challenge is taken
// atomically, so one answer sent eight times at once signs in once.
func TestConcurrentFinishesWithOneAnswerSucceedOnce(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	_, auth := ts.userWithKey(t, "jo")
	b := ts.mfaSession(t, "jo")
	answer := b.assertion(auth)
	body := mustJSON(t, map[string]json.RawMessage{"credential": answer})
	cookie := b.cookie()
	const n = 8
	replies := make([]apiReply, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			replies[i], errs[i] = ts.client(t).send(apiRequest{Method: "POST", Path: "/api/v1/auth/webauthn/finish", Body: body,
				Header: map[string]string{"Cookie": "gatehouse_session=" + cookie}})
		})
	}
	wg.Wait()
	ok := 0
	for i, r := range replies {
		if errs[i] != nil {
			t.Fatalf("finish %d: %v", i, errs[i])
		}
		switch {
		case r.Status == http.StatusOK:
			ok++
		case r.Status == http.StatusForbidden || r.Status == http.StatusUnauthorized:
		default:
			t.Errorf("finish %d: %s", i, r)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent finishes succeeded, want 1", ok, n)
	}
}

// TestParallelConfirmationsMakeOneDevice: one registration answer sent
// eight times at once activates one device; the others get a clean 4xx.
func TestParallelConfirmationsMakeOneDevice(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	a := ts.signedIn(t, "kim")
	e := a.startKey("Key", mfa.TypeSecurityKey)
	resp, err := passkeytest.New(ts.URL).Create(e.Options)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	replies := make([]apiReply, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			replies[i], errs[i] = a.send(apiRequest{Method: "POST", Path: "/api/v1/me/mfa-devices/" + e.ID + "/verify",
				Body: map[string]json.RawMessage{"credential": resp}})
		})
	}
	wg.Wait()
	ok := 0
	for i, r := range replies {
		if errs[i] != nil {
			t.Fatalf("verify %d: %v", i, errs[i])
		}
		switch {
		case r.Status == http.StatusOK:
			ok++
		case r.Status == http.StatusConflict || r.Status == http.StatusForbidden:
		default:
			t.Errorf("verify %d: %s", i, r)
		}
	}
	if ids, _ := a.listDevices(); ok != 1 || len(ids) != 1 {
		t.Fatalf("%d confirmations succeeded and %d devices exist, want 1 and 1", ok, len(ids))
	}
}
