package server_test

// Black-box tests of the JSON API (issue 2) over real HTTP against a real
// server on a free port. This file holds the shared helpers and the
// end-to-end flows; the other *_api_test.go files hold bad input, the
// enrollment state machine, replay, throttling, cookies and cross-site checks.

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/testenv"
	"gatehouse/internal/totp"
)

// testPassword is an acceptable password (≥ 12 characters).
const testPassword = "correct horse battery staple"

// startAPIServer is startServer with its clock moved to today, at a step's
// start plus 5 s (startServer's own rule, so codes never straddle a step
// boundary unless a test moves the clock). The session cookie's Expires comes
// from the server's clock while net/http/cookiejar judges it by the real one,
// so a server clock fixed in the past (startServer's is 2027-01-15) would make
// the jar drop every cookie once that date has gone by.
func startAPIServer(t *testing.T) *testServer {
	t.Helper()
	ts := startServer(t)
	now := time.Now().UTC().Truncate(time.Second)
	ts.Clock.Set(now.Add(-time.Duration(now.Unix()%30)*time.Second + 5*time.Second))
	return ts
}

// apiClient is one client — one browser or one script with its own cookie jar.
type apiClient struct {
	t  *testing.T
	ts *testServer
	c  *http.Client
}

func (ts *testServer) client(t *testing.T) *apiClient {
	c := newClient(t)
	// A connection dialled for a concurrent request but never used is "new"
	// to the server, and http.Server.Shutdown waits 5 s before it counts as
	// idle: close the client's connections before the server stops.
	t.Cleanup(c.CloseIdleConnections)
	return &apiClient{t: t, ts: ts, c: c}
}

// in returns the client for use in subtest t (same cookie jar), so a failure
// stops the subtest that met it.
func (a *apiClient) in(t *testing.T) *apiClient {
	c := *a
	c.t = t
	return &c
}

// apiRequest describes one call. A body that is a string or []byte is sent as
// is; any other non-nil body is JSON-encoded. ContentType defaults to
// application/json when there is a body ("-" sends none).
type apiRequest struct {
	Method, Path string
	Body         any
	ContentType  string
	Header       map[string]string
}

type apiReply struct {
	Status  int
	Header  http.Header
	Cookies []*http.Cookie
	Body    []byte
}

// send performs a request without touching t, so goroutines may call it.
func (a *apiClient) send(rq apiRequest) (apiReply, error) {
	var body io.Reader
	switch b := rq.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return apiReply{}, err
		}
		body = bytes.NewReader(j)
	}
	req, err := http.NewRequest(rq.Method, a.ts.URL+rq.Path, body)
	if err != nil {
		return apiReply{}, err
	}
	switch {
	case rq.ContentType == "-":
	case rq.ContentType != "":
		req.Header.Set("Content-Type", rq.ContentType)
	case body != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range rq.Header {
		req.Header.Set(k, v)
	}
	resp, err := a.c.Do(req)
	if err != nil {
		return apiReply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return apiReply{}, err
	}
	r := apiReply{Status: resp.StatusCode, Header: resp.Header, Cookies: resp.Cookies(), Body: b}
	if r.Status >= 500 {
		return r, fmt.Errorf("%s %s: server error %d: %s", rq.Method, rq.Path, r.Status, b)
	}
	return r, nil
}

// do performs a request; a transport error or a 5xx fails the test.
func (a *apiClient) do(method, path string, body any) apiReply {
	a.t.Helper()
	return a.sendT(apiRequest{Method: method, Path: path, Body: body})
}

func (a *apiClient) sendT(rq apiRequest) apiReply {
	a.t.Helper()
	r, err := a.send(rq)
	if err != nil {
		a.t.Fatalf("%v\nserver log:\n%s", err, a.ts.Logs.String())
	}
	return r
}

// obj decodes a JSON object body.
func (r apiReply) obj() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

func (r apiReply) str(key string) string {
	s, _ := r.obj()[key].(string)
	return s
}

func (r apiReply) errField(key string) string {
	e, _ := r.obj()["error"].(map[string]any)
	s, _ := e[key].(string)
	return s
}

func (r apiReply) code() string    { return r.errField("code") }
func (r apiReply) message() string { return r.errField("message") }

func (r apiReply) String() string { return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Body)) }

// wantStatus fails unless the reply has status.
func wantStatus(t *testing.T, r apiReply, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body: %s", r.Status, status, r.Body)
	}
}

// wantError checks the error envelope: status, code, a non-empty message,
// JSON, and no caching.
func wantError(t *testing.T, r apiReply, status int, code string) {
	t.Helper()
	if r.Status != status || r.code() != code {
		t.Fatalf("got %s, want %d with error.code %q", r, status, code)
	}
	if strings.TrimSpace(r.message()) == "" {
		t.Errorf("error %q has an empty message: %s", code, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type = %q, want application/json", ct)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("error Cache-Control = %q, want no-store", cc)
	}
}

// sessionCookie returns the session cookie a reply set, or nil.
func (r apiReply) sessionCookie() *http.Cookie {
	for _, c := range r.Cookies {
		if c.Name == "gatehouse_session" {
			return c
		}
	}
	return nil
}

// withCookie sends one request from a fresh client whose only cookie is the
// session id given (as a stolen or stale cookie would arrive).
func (ts *testServer) withCookie(t *testing.T, id string, rq apiRequest) apiReply {
	t.Helper()
	if rq.Header == nil {
		rq.Header = map[string]string{}
	}
	rq.Header["Cookie"] = "gatehouse_session=" + id
	return ts.client(t).sendT(rq)
}

// cookie is the session id in the client's jar.
func (a *apiClient) cookie() string {
	a.t.Helper()
	u, _ := url.Parse(a.ts.URL)
	for _, c := range a.c.Jar.Cookies(u) {
		if c.Name == "gatehouse_session" {
			return c.Value
		}
	}
	a.t.Fatal("no session cookie in the jar")
	return ""
}

// createUser adds a user with testPassword.
func (ts *testServer) createUser(t *testing.T, name string) {
	t.Helper()
	ts.addUser(t, name, testPassword)
}

// signIn posts the password step and returns the reply.
func (a *apiClient) signIn(name, pw string) apiReply {
	a.t.Helper()
	return a.do("POST", "/api/v1/auth/password", map[string]string{"username": name, "password": pw})
}

// wantState checks a 200 sign-in reply's state.
func wantState(t *testing.T, r apiReply, state string) {
	t.Helper()
	if r.Status != http.StatusOK || r.str("state") != state {
		t.Fatalf("got %s, want 200 with state %q", r, state)
	}
}

// signedIn creates a user without devices and returns a client signed in as them.
func (ts *testServer) signedIn(t *testing.T, name string) *apiClient {
	t.Helper()
	ts.createUser(t, name)
	a := ts.client(t)
	wantState(t, a.signIn(name, testPassword), "authenticated")
	return a
}

// codeAt is the authenticator's code steps periods away from at.
func codeAt(key []byte, at time.Time, steps int64) string {
	return totp.HOTP(key, totp.Counter(at, totp.Default.Period)+steps, totp.Default)
}

// code is the code for the server's clock, steps periods away.
func (ts *testServer) code(key []byte, steps int64) string { return codeAt(key, ts.Clock.Now(), steps) }

// wrongCode is a well-formed code that matches no step within ±20 of now.
func (ts *testServer) wrongCode(key []byte) string {
	near := map[string]bool{}
	for s := int64(-20); s <= 20; s++ {
		near[ts.code(key, s)] = true
	}
	for i := 0; ; i++ {
		c := fmt.Sprintf("%06d", 111111*(i%10)+i/10)
		if !near[c] {
			return c
		}
	}
}

// nextStep moves the server's clock one period on, so a device that has just
// accepted a code takes a fresh one.
func (ts *testServer) nextStep() { ts.Clock.Advance(30 * time.Second) }

// enrollment is a 201 answer to POST /api/v1/me/mfa-devices.
type enrollment struct {
	ID, Secret, URI, QR string
	Key                 []byte
	Reply               apiReply
}

// startTOTP begins registering an authenticator app and checks the 201.
func (a *apiClient) startTOTP(name string) enrollment {
	a.t.Helper()
	r := a.do("POST", "/api/v1/me/mfa-devices", map[string]string{"name": name, "type": "totp"})
	wantStatus(a.t, r, http.StatusCreated)
	e := enrollment{ID: r.str("id"), Secret: r.str("secret"), URI: r.str("otpauth_uri"), QR: r.str("qr_png"), Reply: r}
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	if err != nil || len(key) != 20 {
		a.t.Fatalf("secret %q is not 160 bits of unpadded base32 (%v)", e.Secret, err)
	}
	e.Key = key
	return e
}

func (a *apiClient) verify(id, code string) apiReply {
	a.t.Helper()
	return a.do("POST", "/api/v1/me/mfa-devices/"+id+"/verify", map[string]string{"code": code})
}

// addDevice registers and confirms an authenticator app with the current
// step's code, returning its id and key.
func (a *apiClient) addDevice(name string) (string, []byte) {
	a.t.Helper()
	e := a.startTOTP(name)
	r := a.verify(e.ID, a.ts.code(e.Key, 0))
	if r.Status != http.StatusOK || r.str("status") != "active" {
		a.t.Fatalf("verify: %s", r)
	}
	return e.ID, e.Key
}

// listDevices returns the ids of the listed devices and the whole reply.
func (a *apiClient) listDevices() ([]string, apiReply) {
	a.t.Helper()
	r := a.do("GET", "/api/v1/me/mfa-devices", nil)
	wantStatus(a.t, r, http.StatusOK)
	var body struct {
		Devices []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"devices"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		a.t.Fatalf("list: %v: %s", err, r.Body)
	}
	var ids []string
	for _, d := range body.Devices {
		if d.Status != "active" {
			a.t.Errorf("device %s listed with status %q", d.ID, d.Status)
		}
		ids = append(ids, d.ID)
	}
	return ids, r
}

// userWithDevice creates a user with one active authenticator app and
// returns a client signed in as them. The clock is moved to the next step
// so the next code is fresh.
func (ts *testServer) userWithDevice(t *testing.T, name string) (*apiClient, string, []byte) {
	t.Helper()
	a := ts.signedIn(t, name)
	id, key := a.addDevice("Phone of " + name)
	ts.nextStep()
	return a, id, key
}

// mfaSession returns a new client that has passed the password step of a user
// with a device.
func (ts *testServer) mfaSession(t *testing.T, name string) *apiClient {
	t.Helper()
	a := ts.client(t)
	r := a.signIn(name, testPassword)
	wantState(t, r, "mfa_required")
	return a
}

func (a *apiClient) totp(code string) apiReply {
	a.t.Helper()
	return a.do("POST", "/api/v1/auth/totp", map[string]string{"code": code})
}

// runProgram executes a program and returns its standard output without the final newline.
func runProgram(t *testing.T, stdin io.Reader, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimRight(string(out), "\r\n")
}

var (
	hexID   = regexp.MustCompile(`^[0-9a-f]{32}$`)
	base32U = regexp.MustCompile(`^[A-Z2-7]{32}$`)
)

// TestSeedFlowOverAPI walks the seed procedure through the JSON API with the
// real zbarimg and oathtool: sign in, register an authenticator app from the
// QR code, confirm it, sign out, and sign in again with password and code.
func TestSeedFlowOverAPI(t *testing.T) {
	t.Parallel()
	zbarimg := testenv.RequireTool(t, "zbarimg")
	oathtool := testenv.RequireTool(t, "oathtool")
	ts := startAPIServer(t)
	if _, _, err := ts.App.Accounts.CreateUser(context.Background(), "ada", "ada@example.com", true, testPassword); err != nil {
		t.Fatal(err)
	}
	a := ts.client(t)

	// Sign in: no device yet, so the password completes it.
	r := a.signIn("ada", testPassword)
	wantState(t, r, "authenticated")
	if m, ok := r.obj()["methods"].([]any); !ok || len(m) != 0 {
		t.Errorf("methods = %v, want []", r.obj()["methods"])
	}

	// Register MFA device → Device name → Next.
	created := ts.Clock.Now()
	e := a.startTOTP("My iPhone X")
	if !hexID.MatchString(e.ID) {
		t.Errorf("id %q is not 128 random bits in hex", e.ID)
	}
	if loc := e.Reply.Header.Get("Location"); loc != "/api/v1/me/mfa-devices/"+e.ID {
		t.Errorf("Location = %q", loc)
	}
	for k, want := range map[string]string{
		"name": "My iPhone X", "type": "totp", "status": "pending",
		"created_at": created.UTC().Format(time.RFC3339),
		"expires_at": created.Add(10 * time.Minute).UTC().Format(time.RFC3339),
	} {
		if got := e.Reply.str(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if !base32U.MatchString(e.Secret) {
		t.Errorf("secret %q is not upper-case unpadded base32 of 160 bits", e.Secret)
	}
	if cc := e.Reply.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("pending enrollment Cache-Control = %q, want no-store", cc)
	}

	// Device configuration: the QR code scans to exactly the key URI.
	png, err := base64.StdEncoding.DecodeString(e.QR)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("qr_png is not base64 of a PNG (%v)", err)
	}
	qrFile := filepath.Join(t.TempDir(), "qr.png")
	if err := os.WriteFile(qrFile, png, 0o600); err != nil {
		t.Fatal(err)
	}
	scanned := runProgram(t, nil, zbarimg, "--nodbus", "--raw", "-q", qrFile)
	if scanned != e.URI {
		t.Fatalf("QR code decodes to\n  %q\nwant otpauth_uri\n  %q", scanned, e.URI)
	}
	u, err := url.Parse(scanned)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("scanned %q is not an otpauth://totp URI (%v)", scanned, err)
	}
	if label := strings.TrimPrefix(u.Path, "/"); label != "Gatehouse:ada" {
		t.Errorf("label = %q, want Gatehouse:ada", label)
	}
	q := u.Query()
	if q.Get("issuer") != "Gatehouse" {
		t.Errorf("issuer = %q", q.Get("issuer"))
	}
	secret := q.Get("secret")
	if secret != e.Secret {
		t.Errorf("URI secret %q differs from the secret field %q", secret, e.Secret)
	}

	// The app shows a code: oathtool computes it from the scanned secret at the server's time.
	enrollCode := runProgram(t, nil, oathtool, "--totp", "-b", secret, "--now", ts.Clock.Unix())
	r = a.verify(e.ID, enrollCode)
	wantStatus(t, r, http.StatusOK)
	if r.str("status") != "active" || r.str("id") != e.ID {
		t.Fatalf("verify: %s", r)
	}
	for _, k := range []string{"secret", "otpauth_uri", "qr_png", "expires_at"} {
		if _, ok := r.obj()[k]; ok {
			t.Errorf("active device reply carries %q: %s", k, r.Body)
		}
	}
	if ids, _ := a.listDevices(); len(ids) != 1 || ids[0] != e.ID {
		t.Fatalf("devices = %v, want [%s]", ids, e.ID)
	}

	// Sign out.
	wantStatus(t, a.do("POST", "/api/v1/auth/signout", nil), http.StatusNoContent)
	wantError(t, a.do("GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthenticated")

	// Sign in again: the password now leads to the MFA step.
	r = a.signIn("ada", testPassword)
	wantState(t, r, "mfa_required")
	if m, _ := r.obj()["methods"].([]any); len(m) != 1 || m[0] != "totp" {
		t.Fatalf("methods = %v, want [totp]", r.obj()["methods"])
	}
	wantError(t, a.do("GET", "/api/v1/me", nil), http.StatusUnauthorized, "mfa_required")
	// The code that confirmed the enrollment cannot sign in.
	wantError(t, a.totp(enrollCode), http.StatusBadRequest, "code_reused")

	// Thirty seconds later the app shows a fresh code.
	ts.nextStep()
	signinCode := runProgram(t, nil, oathtool, "--totp", "-b", secret, "--now", ts.Clock.Unix())
	r = a.totp(signinCode)
	wantState(t, r, "authenticated")

	r = a.do("GET", "/api/v1/me", nil)
	wantStatus(t, r, http.StatusOK)
	if r.str("username") != "ada" || r.str("email") != "ada@example.com" || r.obj()["admin"] != true || !hexID.MatchString(r.str("id")) {
		t.Errorf("me = %s", r.Body)
	}
	_, list := a.listDevices()
	var body struct {
		Devices []struct {
			LastUsedAt *string `json:"last_used_at"`
		} `json:"devices"`
	}
	_ = json.Unmarshal(list.Body, &body)
	if len(body.Devices) != 1 || body.Devices[0].LastUsedAt == nil || *body.Devices[0].LastUsedAt != ts.Clock.Now().UTC().Format(time.RFC3339) {
		t.Errorf("after sign-in the device's last_used_at should be the sign-in time: %s", list.Body)
	}
}

// TestOneTimePasswordMustBeChangedFirst: a user created without a password
// gets a one-time password that opens nothing but the password change.
func TestOneTimePasswordMustBeChangedFirst(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	_, oneTime, err := ts.App.Accounts.CreateUser(context.Background(), "newbie", "", false, "")
	if err != nil || oneTime == "" {
		t.Fatalf("CreateUser: %q, %v", oneTime, err)
	}
	a := ts.client(t)
	r := a.signIn("newbie", oneTime)
	wantState(t, r, "password_change_required")
	first := r.sessionCookie()

	// Nothing else works until the password is changed.
	wantError(t, a.do("GET", "/api/v1/me", nil), http.StatusForbidden, "password_change_required")
	wantError(t, a.do("GET", "/api/v1/me/mfa-devices", nil), http.StatusForbidden, "password_change_required")
	wantError(t, a.do("POST", "/api/v1/me/mfa-devices", map[string]string{"name": "x", "type": "totp"}), http.StatusForbidden, "password_change_required")
	wantError(t, a.totp("123456"), http.StatusForbidden, "not_allowed")

	for _, c := range []struct {
		name, pw, code string
		status         int
	}{
		{"empty", "", "invalid_input", 400},
		{"short", "short", "password_weak", 400},
		{"eleven characters", "elevenchars", "password_weak", 400},
		{"the one-time password again", oneTime, "password_weak", 400},
		{"over 256 bytes", strings.Repeat("p", 257), "password_weak", 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := a.in(t)
			wantError(t, a.do("POST", "/api/v1/auth/password-change", map[string]string{"new_password": c.pw}), c.status, c.code)
		})
	}

	r = a.do("POST", "/api/v1/auth/password-change", map[string]string{"new_password": testPassword})
	wantState(t, r, "authenticated")
	if c := r.sessionCookie(); c == nil || first == nil || c.Value == first.Value {
		t.Errorf("the session id must rotate on the password change")
	}
	r = a.do("GET", "/api/v1/me", nil)
	wantStatus(t, r, http.StatusOK)
	if r.str("username") != "newbie" {
		t.Errorf("me = %s", r.Body)
	}

	// The one-time password is spent; the new one signs in directly.
	b := ts.client(t)
	wantError(t, b.signIn("newbie", oneTime), http.StatusUnauthorized, "invalid_credentials")
	wantState(t, b.signIn("newbie", testPassword), "authenticated")
}

// TestPasswordChangeOnlyInPasswordChangeStep: the contract allows
// POST /api/v1/auth/password-change only in the password_change_required
// state. A session in the MFA step must not skip the code by changing the
// password, and a signed-in session must not replace the password without
// proving it knows the current one (a stolen cookie would otherwise be a
// permanent takeover of the password).
// TestPasswordChangeNeedsTheStepOrTheCurrentPassword: outside the forced
// change, a session cookie alone cannot set a new password.
func TestPasswordChangeNeedsTheStepOrTheCurrentPassword(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	ts.userWithDevice(t, "mira")
	newPW := map[string]string{"new_password": "another long passphrase"}

	t.Run("in the MFA step", func(t *testing.T) {
		a := ts.mfaSession(t, "mira")
		wantError(t, a.do("POST", "/api/v1/auth/password-change", newPW), http.StatusForbidden, "not_allowed")
	})
	t.Run("without a session", func(t *testing.T) {
		wantError(t, ts.client(t).do("POST", "/api/v1/auth/password-change", newPW), http.StatusUnauthorized, "unauthenticated")
	})
	t.Run("signed in without the current password", func(t *testing.T) {
		a := ts.signedIn(t, "omar")
		wantError(t, a.do("POST", "/api/v1/auth/password-change", newPW), http.StatusBadRequest, "invalid_input")
		wrong := map[string]string{"current_password": "not the password at all", "new_password": "another long passphrase"}
		wantError(t, a.do("POST", "/api/v1/auth/password-change", wrong), http.StatusUnauthorized, "invalid_credentials")
	})
	t.Run("signed in with the current password", func(t *testing.T) {
		a := ts.signedIn(t, "olga")
		ok := map[string]string{"current_password": testPassword, "new_password": "another long passphrase"}
		wantState(t, a.do("POST", "/api/v1/auth/password-change", ok), "authenticated")
		wantState(t, ts.client(t).signIn("olga", "another long passphrase"), "authenticated")
	})
}

// TestDatabaseHoldsNoSecretInClear: the data directory (database, WAL,
// shared memory) holds neither the base32 secret nor its bytes, while the
// enrollment is pending and once it is active; nor does the log.
func TestDatabaseHoldsNoSecretInClear(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	a := ts.signedIn(t, "sam")
	pending := a.startTOTP("Pending phone")
	active := a.startTOTP("Active phone")
	wantStatus(t, a.verify(active.ID, ts.code(active.Key, 0)), http.StatusOK)

	var files []string
	err := filepath.WalkDir(ts.DataDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var sawDB, sawWAL bool
	for _, f := range files {
		sawDB = sawDB || strings.HasSuffix(f, ".db")
		sawWAL = sawWAL || strings.HasSuffix(f, "-wal")
	}
	if !sawDB || !sawWAL {
		t.Fatalf("expected the database and its WAL in %s, found %v", ts.DataDir, files)
	}
	for _, e := range []enrollment{pending, active} {
		forms := map[string][]byte{
			"base32":           []byte(e.Secret),
			"base32 lower":     []byte(strings.ToLower(e.Secret)),
			"raw bytes":        e.Key,
			"hex":              []byte(hex.EncodeToString(e.Key)),
			"base64":           []byte(base64.StdEncoding.EncodeToString(e.Key)),
			"base64 url, bare": []byte(base64.RawURLEncoding.EncodeToString(e.Key)),
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for form, needle := range forms {
				if bytes.Contains(data, needle) {
					t.Errorf("%s holds the secret of %q (%s) in clear", filepath.Base(f), e.Reply.str("name"), form)
				}
			}
		}
		if strings.Contains(ts.Logs.String(), e.Secret) {
			t.Errorf("the log holds the secret of %q", e.Reply.str("name"))
		}
	}
}
