package server_test

import (
	"bytes"
	"context"
	"gatehouse/internal/policy"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSignInFailuresGiveOneAnswer: an unknown user, a wrong password and a
// name that cannot exist get byte-identical answers (no user enumeration).
func TestSignInFailuresGiveOneAnswer(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	ts.createUser(t, "dora")
	var first apiReply
	for i, c := range []struct{ name, user, pw string }{
		{"wrong password", "dora", "not the password at all"},
		{"unknown user", "ghost", "not the password at all"},
		{"impossible username", "Not A User!", "whatever"},
		{"empty password", "dora", ""},
		{"username in other case, wrong password", "DORA", "nope nope nope"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ts.client(t).signIn(c.user, c.pw)
			wantError(t, r, http.StatusUnauthorized, "invalid_credentials")
			if r.sessionCookie() != nil {
				t.Errorf("a failed sign-in set a session cookie")
			}
			if i == 0 {
				first = r
			} else if !bytes.Equal(r.Body, first.Body) {
				t.Errorf("body %s differs from the wrong-password body %s", r.Body, first.Body)
			}
		})
	}
}

// TestMalformedBodiesAreInvalidInput: every way a body can be wrong is a 400
// invalid_input with a message, on a public endpoint and on a signed-in one.
func TestMalformedBodiesAreInvalidInput(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	a := ts.signedIn(t, "eve")
	huge := `{"username":"eve","password":"` + strings.Repeat("a", 65<<10) + `"}`
	cases := []struct {
		name, body, contentType string
	}{
		{"empty body", "", ""},
		{"empty body without Content-Type", "", "-"},
		{"body over 64 KiB", huge, ""},
		{"malformed JSON", `{"username":"eve",`, ""},
		{"not JSON", `hello`, ""},
		{"unknown field", `{"username":"eve","password":"x","admin":true}`, ""},
		{"trailing garbage", `{"username":"eve","password":"x"} x`, ""},
		{"two objects", `{"username":"eve","password":"x"}{"username":"eve","password":"x"}`, ""},
		{"wrong field type", `{"username":1,"password":"x"}`, ""},
		{"an array", `[]`, ""},
		{"JSON null", `null`, ""},
		{"missing password", `{"username":"eve"}`, ""},
		{"Content-Type text/plain", `{"username":"eve","password":"x"}`, "text/plain"},
		{"form encoded", `username=eve&password=x`, "application/x-www-form-urlencoded"},
		{"broken Content-Type", `{"username":"eve","password":"x"}`, "application/json; charset"},
	}
	for _, c := range cases {
		t.Run("sign-in/"+c.name, func(t *testing.T) {
			r := ts.client(t).sendT(apiRequest{Method: "POST", Path: "/api/v1/auth/password", Body: c.body, ContentType: c.contentType})
			wantError(t, r, http.StatusBadRequest, "invalid_input")
		})
	}
	for _, c := range cases {
		if c.name == "missing password" || c.name == "JSON null" {
			continue // device creation reads other fields
		}
		body := strings.ReplaceAll(strings.ReplaceAll(c.body, `"username"`, `"name"`), `"password"`, `"type"`)
		t.Run("register/"+c.name, func(t *testing.T) {
			a := a.in(t)
			r := a.sendT(apiRequest{Method: "POST", Path: "/api/v1/me/mfa-devices", Body: body, ContentType: c.contentType})
			wantError(t, r, http.StatusBadRequest, "invalid_input")
		})
	}
	for _, c := range []struct{ name, body string }{
		{"missing type", `{"name":"Phone"}`},
		{"unknown type", `{"name":"Phone","type":"sms"}`},
		{"type in capitals", `{"name":"Phone","type":"TOTP"}`},
	} {
		t.Run("register/"+c.name, func(t *testing.T) {
			a := a.in(t)
			wantError(t, a.do("POST", "/api/v1/me/mfa-devices", c.body), http.StatusBadRequest, "invalid_input")
		})
	}
	if ids, _ := a.listDevices(); len(ids) != 0 {
		t.Errorf("bad requests created devices: %v", ids)
	}
}

// TestDeviceNamesAreChecked: names are 1–64 characters after trimming,
// printable, and unique per user regardless of case.
func TestDeviceNamesAreChecked(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	a := ts.signedIn(t, "nina")
	a.addDevice("My Phone")
	for _, c := range []struct {
		name, device string
		status       int
		code         string
	}{
		{"empty", "", 400, "name_invalid"},
		{"blank", "   \t ", 400, "name_invalid"},
		{"65 characters", strings.Repeat("a", 65), 400, "name_invalid"},
		{"65 characters of two bytes", strings.Repeat("é", 65), 400, "name_invalid"},
		{"bell", "Phone\u0007", 400, "name_invalid"},
		{"right-to-left override", "\u202eenohP", 400, "name_invalid"},
		{"tab inside", "Work\tPhone", 400, "name_invalid"},
		{"newline inside", "Work\nPhone", 400, "name_invalid"},
		{"NUL", "Phone\x00", 400, "name_invalid"},
		{"zero-width space", "Pho\u200bne", 400, "name_invalid"},
		{"taken, other case", "my phone", 409, "name_taken"},
		{"taken, padded and shouting", "  MY PHONE  ", 409, "name_taken"},
		{"64 characters", strings.Repeat("a", 64), 201, ""},
		{"64 characters of two bytes", strings.Repeat("é", 64), 201, ""},
		{"64 characters, decomposed", strings.Repeat("e\u0301", 64), 201, ""},
		{"emoji", "📱 Phone", 201, ""},
		{"64 characters after trimming", "  " + strings.Repeat("b", 64) + "  ", 201, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := a.in(t)
			r := a.do("POST", "/api/v1/me/mfa-devices", map[string]string{"name": c.device, "type": "totp"})
			if c.status == http.StatusCreated {
				wantStatus(t, r, http.StatusCreated)
				if got, want := r.str("name"), strings.TrimSpace(c.device); c.name != "64 characters, decomposed" && got != want {
					t.Errorf("name = %q, want %q", got, want)
				}
				return
			}
			wantError(t, r, c.status, c.code)
		})
	}
	t.Run("missing name", func(t *testing.T) {
		a := a.in(t)
		wantError(t, a.do("POST", "/api/v1/me/mfa-devices", map[string]string{"type": "totp"}), http.StatusBadRequest, "name_invalid")
	})
}

// TestRenameChecksNames: PATCH applies the same rules, and renaming a device
// to its own name in another case is allowed.
func TestRenameChecksNames(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	a := ts.signedIn(t, "ren")
	id1, _ := a.addDevice("Phone")
	a.addDevice("Tablet")
	for _, c := range []struct {
		name, to string
		status   int
		code     string
	}{
		{"blank", "  ", 400, "name_invalid"},
		{"65 characters", strings.Repeat("x", 65), 400, "name_invalid"},
		{"control character", "a\u0007b", 400, "name_invalid"},
		{"the other device's name", "TABLET", 409, "name_taken"},
		{"own name in capitals", "PHONE", 200, ""},
		{"a new name", "  Old phone ", 200, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := a.in(t)
			r := a.do("PATCH", "/api/v1/me/mfa-devices/"+id1, map[string]string{"name": c.to})
			if c.status == http.StatusOK {
				wantStatus(t, r, http.StatusOK)
				if r.str("name") != strings.TrimSpace(c.to) {
					t.Errorf("renamed to %q, want %q", r.str("name"), strings.TrimSpace(c.to))
				}
				return
			}
			wantError(t, r, c.status, c.code)
		})
	}
	t.Run("missing name", func(t *testing.T) {
		a := a.in(t)
		wantError(t, a.do("PATCH", "/api/v1/me/mfa-devices/"+id1, `{}`), http.StatusBadRequest, "name_invalid")
	})
}

// badCodes are malformed codes: each is invalid_code wherever a code is asked for.
var badCodes = []struct{ name, code string }{
	{"empty", ""},
	{"blank", "   "},
	{"letters", "12345a"},
	{"all letters", "abcdef"},
	{"5 digits", "12345"},
	{"7 digits", "1234567"},
	{"full-width digits", "１２３４５６"},
	{"Arabic-Indic digits", "١٢٣٤٥٦"},
	{"a plus sign", "+123456"},
	{"a dot", "123.456"},
}

// TestMalformedCodesAreInvalidCode at enrollment and at sign-in; at sign-in
// they do not count as guesses, so the challenge survives them.
func TestMalformedCodesAreInvalidCode(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	a, _, key := ts.userWithDevice(t, "cody")
	e := a.startTOTP("Second phone")
	for _, c := range badCodes {
		t.Run("enrollment/"+c.name, func(t *testing.T) {
			a := a.in(t)
			wantError(t, a.verify(e.ID, c.code), http.StatusBadRequest, "invalid_code")
		})
	}
	t.Run("enrollment/a number, not a string", func(t *testing.T) {
		a := a.in(t)
		wantError(t, a.do("POST", "/api/v1/me/mfa-devices/"+e.ID+"/verify", `{"code":123456}`), http.StatusBadRequest, "invalid_input")
	})
	t.Run("enrollment/code with spaces", func(t *testing.T) {
		a := a.in(t)
		c := ts.code(e.Key, 0)
		r := a.verify(e.ID, c[:3]+" "+c[3:])
		wantStatus(t, r, http.StatusOK)
	})

	s := ts.mfaSession(t, "cody")
	for _, c := range badCodes {
		t.Run("sign-in/"+c.name, func(t *testing.T) {
			s := s.in(t)
			wantError(t, s.totp(c.code), http.StatusBadRequest, "invalid_code")
		})
	}
	t.Run("sign-in/code with a hyphen", func(t *testing.T) {
		s := s.in(t)
		c := ts.code(key, 0)
		wantState(t, s.totp(c[:3]+"-"+c[3:]), "authenticated")
	})
}

// TestCodesAtSignInAndEnrollment: two steps off is a plain wrong code at
// sign-in (no clock hint for a guesser), but at enrollment the answer names
// the clock error and the server's time.
func TestCodesAtSignInAndEnrollment(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	a, _, key := ts.userWithDevice(t, "skew")

	for _, steps := range []int64{2, -2, 5} {
		s := ts.mfaSession(t, "skew")
		r := s.totp(ts.code(key, steps))
		wantError(t, r, http.StatusBadRequest, "invalid_code")
		msg := strings.ToLower(r.message())
		for _, leak := range []string{"clock", "minute", "second", "ahead", "behind", "server time"} {
			if strings.Contains(msg, leak) {
				t.Errorf("sign-in with a code %+d steps off says %q: a hint for guessers", steps, r.message())
			}
		}
		if _, ok := r.obj()["error"].(map[string]any)["detail"]; ok {
			t.Errorf("sign-in error carries detail: %s", r.Body)
		}
	}
	// One step off is inside the window at sign-in.
	wantState(t, ts.mfaSession(t, "skew").totp(ts.code(key, 1)), "authenticated")

	serverTime := ts.Clock.Now().UTC().Format("15:04:05")
	for _, c := range []struct {
		steps int64
		want  []string
	}{
		{2, []string{"1 minute", "ahead"}},
		{-2, []string{"1 minute", "behind"}},
		{-10, []string{"5 minutes", "behind"}},
	} {
		t.Run(strings.Join(c.want, " "), func(t *testing.T) {
			a := a.in(t)
			e := a.startTOTP("Skewed phone")
			r := a.verify(e.ID, ts.code(e.Key, c.steps))
			wantError(t, r, http.StatusBadRequest, "clock_skew")
			for _, w := range append(c.want, "Server time", serverTime) {
				if !strings.Contains(r.message(), w) {
					t.Errorf("clock_skew message %q does not say %q", r.message(), w)
				}
			}
			wantStatus(t, a.do("DELETE", "/api/v1/me/mfa-devices/"+e.ID, nil), http.StatusNoContent)
		})
	}
	t.Run("beyond five minutes is just wrong", func(t *testing.T) {
		a := a.in(t)
		e := a.startTOTP("Far phone")
		wantError(t, a.verify(e.ID, ts.code(e.Key, 11)), http.StatusBadRequest, "invalid_code")
	})
}

// TestOtherUsersDevicesAreNotFound: another user's device id, pending or
// active, is answered exactly like an id that does not exist.
func TestOtherUsersDevicesAreNotFound(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	owner, activeID, key := ts.userWithDevice(t, "owner")
	pending := owner.startTOTP("Pending")
	intruder := ts.signedIn(t, "intruder")
	intruder.addDevice("Mine")

	var ref []byte
	for _, id := range []string{"00000000000000000000000000000000", activeID, pending.ID} {
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", "", nil},
			{"POST", "/verify", map[string]string{"code": ts.code(pending.Key, 0)}},
			{"PATCH", "", map[string]string{"name": "Stolen"}},
			{"DELETE", "", nil},
		} {
			t.Run(c.method+c.path+"/"+id[:8], func(t *testing.T) {
				intruder := intruder.in(t)
				r := intruder.do(c.method, "/api/v1/me/mfa-devices/"+id+c.path, c.body)
				wantError(t, r, http.StatusNotFound, "not_found")
				if ref == nil {
					ref = r.Body
				} else if !bytes.Equal(r.Body, ref) {
					t.Errorf("body %s differs from the answer for a missing id %s", r.Body, ref)
				}
			})
		}
	}
	// The owner's devices are untouched.
	if ids, _ := owner.listDevices(); len(ids) != 1 || ids[0] != activeID {
		t.Errorf("owner's devices = %v", ids)
	}
	r := owner.do("GET", "/api/v1/me/mfa-devices/"+pending.ID, nil)
	wantStatus(t, r, http.StatusOK)
	if r.str("status") != "pending" || r.str("secret") != pending.Secret {
		t.Errorf("owner's pending enrollment changed: %s", r)
	}
	wantState(t, ts.mfaSession(t, "owner").totp(ts.code(key, 0)), "authenticated")
}

// TestVerifyAfterExpiryIsGone: ten minutes after it started, an enrollment
// can no longer be confirmed, even with the right code.
func TestVerifyAfterExpiryIsGone(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	a := ts.signedIn(t, "late")
	e := a.startTOTP("Slow phone")
	ts.Clock.Advance(10*time.Minute - time.Second)
	wantStatus(t, a.do("GET", "/api/v1/me/mfa-devices/"+e.ID, nil), http.StatusOK)
	ts.Clock.Advance(2 * time.Second)
	wantError(t, a.verify(e.ID, ts.code(e.Key, 0)), http.StatusGone, "enrollment_expired")
	wantError(t, a.do("GET", "/api/v1/me/mfa-devices/"+e.ID, nil), http.StatusGone, "enrollment_expired")
	if ids, _ := a.listDevices(); len(ids) != 0 {
		t.Errorf("an expired enrollment became a device: %v", ids)
	}
}

// TestDeviceLimit: a third authenticator app is refused when registering and,
// for enrollments started earlier, when confirming.
func TestDeviceLimit(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	a := ts.signedIn(t, "lim")
	a.addDevice("One")
	second := a.startTOTP("Two")
	third := a.startTOTP("Three")
	wantStatus(t, a.verify(second.ID, ts.code(second.Key, 0)), http.StatusOK)
	wantError(t, a.verify(third.ID, ts.code(third.Key, 0)), http.StatusConflict, "device_limit")
	wantError(t, a.do("POST", "/api/v1/me/mfa-devices", map[string]string{"name": "Four", "type": "totp"}), http.StatusConflict, "device_limit")
	ids, r := a.listDevices()
	if len(ids) != 2 {
		t.Errorf("devices = %v, want 2", ids)
	}
	// A security key may still be registered beside the two apps.
	if r.obj()["can_register"] != true || r.str("register_blocked_reason") != "" {
		t.Errorf("list should say registering (a security key) is still possible: %s", r.Body)
	}
}

// TestPendingEnrollmentsAreBounded: one user cannot make the server store
// unlimited secrets by starting enrollments and abandoning them.
func TestPendingEnrollmentsAreBounded(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	a := ts.signedIn(t, "hoarder")
	var ids []string
	for range 15 {
		ids = append(ids, a.startTOTP("Tab").ID)
	}
	// Ten are kept (the oldest by creation time give way; this test's
	// clock stands still, so which of them is not pinned) and the newest is
	// always among them.
	var stored int
	for _, id := range ids {
		if r := a.do("GET", "/api/v1/me/mfa-devices/"+id, nil); r.Status == http.StatusOK {
			stored++
		}
	}
	wantStatus(t, a.do("GET", "/api/v1/me/mfa-devices/"+ids[len(ids)-1], nil), http.StatusOK)
	if stored != 10 {
		t.Fatalf("%d pending enrollments stored, want 10", stored)
	}
}

// TestUnauthenticatedCallsAre401 on every endpoint that needs a session, with
// no cookie and with a forged one.
func TestUnauthenticatedCallsAre401(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	_, id, _ := ts.userWithDevice(t, "someone")
	calls := []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/me", nil},
		{"GET", "/api/v1/me/mfa-devices", nil},
		{"POST", "/api/v1/me/mfa-devices", map[string]string{"name": "x", "type": "totp"}},
		{"GET", "/api/v1/me/mfa-devices/" + id, nil},
		{"POST", "/api/v1/me/mfa-devices/" + id + "/verify", map[string]string{"code": "123456"}},
		{"PATCH", "/api/v1/me/mfa-devices/" + id, map[string]string{"name": "x"}},
		{"DELETE", "/api/v1/me/mfa-devices/" + id, nil},
		{"POST", "/api/v1/auth/totp", map[string]string{"code": "123456"}},
		{"POST", "/api/v1/auth/password-change", map[string]string{"new_password": testPassword}},
	}
	for _, cookie := range []string{"", "forged-session-id", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		for _, c := range calls {
			t.Run(c.method+" "+c.path+" cookie="+cookie, func(t *testing.T) {
				rq := apiRequest{Method: c.method, Path: c.path, Body: c.body}
				var r apiReply
				if cookie == "" {
					r = ts.client(t).sendT(rq)
				} else {
					r = ts.withCookie(t, cookie, rq)
				}
				wantError(t, r, http.StatusUnauthorized, "unauthenticated")
			})
		}
	}
	t.Run("sign out without a session", func(t *testing.T) {
		wantStatus(t, ts.client(t).do("POST", "/api/v1/auth/signout", nil), http.StatusNoContent)
	})
}

// TestUnknownAPIPathsAreJSON404: scripts get the error envelope, not the
// HTML error page.
func TestUnknownAPIPathsAreJSON404(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	a := ts.signedIn(t, "lost")
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/nope"},
		{"GET", "/api/v2/me"},
		{"POST", "/api/v1/me/mfa-devices/x/y/z"},
		{"GET", "/api/v1/auth/password"},
		{"DELETE", "/api/v1/me"},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := a.do(c.method, c.path, nil)
			if r.Status != http.StatusNotFound && r.Status != http.StatusMethodNotAllowed {
				t.Fatalf("got %s, want 404 (or 405)", r)
			}
			if r.code() == "" || r.message() == "" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Errorf("not a JSON error envelope: %s %s", r.Header.Get("Content-Type"), r.Body)
			}
		})
	}
}

// TestDeletingDevices: the last active device cannot be deleted while MFA is
// required (add a replacement first); one of two can; a pending enrollment
// can always be abandoned.
// TestDeletingDevices: while the policy requires MFA a user keeps at least
// one device; under "allow" (no device needed) the last one may go.
func TestDeletingDevices(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	a := ts.signedIn(t, "del")
	if _, err := ts.App.Policy.SetMFA(context.Background(), policy.Default()); err != nil {
		t.Fatal(err)
	}
	first, _ := a.addDevice("First")

	r := a.do("DELETE", "/api/v1/me/mfa-devices/"+first, nil)
	wantError(t, r, http.StatusConflict, "conflict")
	if !strings.Contains(strings.ToLower(r.message()), "register another") {
		t.Errorf("message %q should tell the user to register another device first", r.message())
	}

	pending := a.startTOTP("Pending")
	wantStatus(t, a.do("DELETE", "/api/v1/me/mfa-devices/"+pending.ID, nil), http.StatusNoContent)
	wantError(t, a.do("GET", "/api/v1/me/mfa-devices/"+pending.ID, nil), http.StatusNotFound, "not_found")

	second, _ := a.addDevice("Second")
	wantStatus(t, a.do("DELETE", "/api/v1/me/mfa-devices/"+first, nil), http.StatusNoContent)
	if ids, _ := a.listDevices(); len(ids) != 1 || ids[0] != second {
		t.Errorf("devices = %v, want [%s]", ids, second)
	}
	wantError(t, a.do("DELETE", "/api/v1/me/mfa-devices/"+second, nil), http.StatusConflict, "conflict")
	wantError(t, a.do("DELETE", "/api/v1/me/mfa-devices/"+first, nil), http.StatusNotFound, "not_found")

	allow := policy.Default()
	allow.NoDeviceBehavior = policy.Allow
	if _, err := ts.App.Policy.SetMFA(context.Background(), allow); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, a.do("DELETE", "/api/v1/me/mfa-devices/"+second, nil), http.StatusNoContent)
}
