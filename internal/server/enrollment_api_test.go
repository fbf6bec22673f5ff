package server_test

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestEnrollmentStateMachineOverAPI: DESIGN §4 over HTTP.
func TestEnrollmentStateMachineOverAPI(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)

	t.Run("refreshing shows the same secret", func(t *testing.T) {
		a := ts.signedIn(t, "refresh")
		e := a.startTOTP("Phone")
		for range 2 {
			r := a.do("GET", "/api/v1/me/mfa-devices/"+e.ID, nil)
			wantStatus(t, r, http.StatusOK)
			if r.str("status") != "pending" || r.str("secret") != e.Secret || r.str("otpauth_uri") != e.URI || r.str("expires_at") != e.Reply.str("expires_at") {
				t.Fatalf("GET pending = %s, want the secret and URI of the 201", r.Body)
			}
			if r.str("qr_png") == "" {
				t.Errorf("GET pending has no QR code")
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("GET pending Cache-Control = %q, want no-store", cc)
			}
		}
	})

	t.Run("a wrong code keeps the secret", func(t *testing.T) {
		a := ts.signedIn(t, "wrong")
		e := a.startTOTP("Phone")
		wantError(t, a.verify(e.ID, ts.wrongCode(e.Key)), http.StatusBadRequest, "invalid_code")
		r := a.do("GET", "/api/v1/me/mfa-devices/"+e.ID, nil)
		if r.str("status") != "pending" || r.str("secret") != e.Secret {
			t.Fatalf("after a wrong code: %s", r)
		}
		wantStatus(t, a.verify(e.ID, ts.code(e.Key, 0)), http.StatusOK)
	})

	t.Run("two tabs are independent", func(t *testing.T) {
		a := ts.signedIn(t, "tabs")
		tabA, tabB := a.startTOTP("Phone A"), a.startTOTP("Phone B")
		if tabA.ID == tabB.ID || tabA.Secret == tabB.Secret {
			t.Fatalf("two enrollments share an id or a secret")
		}
		wantError(t, a.verify(tabB.ID, ts.code(tabA.Key, 0)), http.StatusBadRequest, "invalid_code")
		if ids, _ := a.listDevices(); len(ids) != 0 {
			t.Fatalf("A's code activated something: %v", ids)
		}
		wantStatus(t, a.verify(tabA.ID, ts.code(tabA.Key, 0)), http.StatusOK)
		r := a.do("GET", "/api/v1/me/mfa-devices/"+tabB.ID, nil)
		if r.str("status") != "pending" || r.str("secret") != tabB.Secret {
			t.Fatalf("B after A was confirmed: %s", r)
		}
		wantStatus(t, a.verify(tabB.ID, ts.code(tabB.Key, 0)), http.StatusOK)
		if ids, _ := a.listDevices(); len(ids) != 2 {
			t.Fatalf("devices = %v, want A and B", ids)
		}
	})

	t.Run("parallel confirmations make one device", func(t *testing.T) {
		a := ts.signedIn(t, "racer")
		e := a.startTOTP("Phone")
		code := ts.code(e.Key, 0)
		const n = 8
		replies := make([]apiReply, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				replies[i], errs[i] = a.send(apiRequest{Method: "POST", Path: "/api/v1/me/mfa-devices/" + e.ID + "/verify", Body: map[string]string{"code": code}})
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for i, r := range replies {
			switch {
			case errs[i] != nil:
				t.Errorf("request %d: %v", i, errs[i])
			case r.Status == http.StatusOK:
				ok++
			default:
				wantError(t, r, http.StatusConflict, "conflict")
			}
		}
		if ok != 1 {
			t.Errorf("%d confirmations succeeded, want exactly 1", ok)
		}
		if ids, _ := a.listDevices(); len(ids) != 1 || ids[0] != e.ID {
			t.Errorf("devices = %v, want [%s]", ids, e.ID)
		}
		// Confirming again later is the same clean conflict.
		wantError(t, a.verify(e.ID, code), http.StatusConflict, "conflict")
	})

	t.Run("an abandoned enrollment does not block its name", func(t *testing.T) {
		a := ts.signedIn(t, "abandon")
		old := a.startTOTP("Phone")
		ts.Clock.Advance(10*time.Minute + time.Second)
		e := a.startTOTP("Phone")
		if e.ID == old.ID || e.Secret == old.Secret {
			t.Fatalf("the new enrollment reuses the abandoned one")
		}
		r := a.verify(e.ID, ts.code(e.Key, 0))
		wantStatus(t, r, http.StatusOK)
		if r.str("name") != "Phone" {
			t.Errorf("name = %q", r.str("name"))
		}
	})

	t.Run("a pending twin cannot take an active device's name", func(t *testing.T) {
		a := ts.signedIn(t, "twins")
		one, two := a.startTOTP("Phone"), a.startTOTP("phone")
		wantStatus(t, a.verify(one.ID, ts.code(one.Key, 0)), http.StatusOK)
		wantError(t, a.verify(two.ID, ts.code(two.Key, 0)), http.StatusConflict, "name_taken")
	})

	t.Run("an active device never shows its secret", func(t *testing.T) {
		a := ts.signedIn(t, "keeper")
		e := a.startTOTP("Phone")
		wantStatus(t, a.verify(e.ID, ts.code(e.Key, 0)), http.StatusOK)
		for _, r := range []apiReply{
			a.do("GET", "/api/v1/me/mfa-devices/"+e.ID, nil),
			a.do("GET", "/api/v1/me/mfa-devices", nil),
			a.do("PATCH", "/api/v1/me/mfa-devices/"+e.ID, map[string]string{"name": "Renamed"}),
		} {
			wantStatus(t, r, http.StatusOK)
			if strings.Contains(string(r.Body), e.Secret) || strings.Contains(string(r.Body), "otpauth") || strings.Contains(string(r.Body), "qr_png") {
				t.Errorf("an active device's secret is shown: %s", r.Body)
			}
		}
		r := a.do("GET", "/api/v1/me/mfa-devices/"+e.ID, nil)
		if r.str("status") != "active" || r.str("name") != "Renamed" {
			t.Errorf("GET active = %s", r.Body)
		}
	})

	t.Run("a pending enrollment is neither listed nor asked for at sign-in", func(t *testing.T) {
		a := ts.signedIn(t, "halfway")
		a.startTOTP("Phone")
		if ids, _ := a.listDevices(); len(ids) != 0 {
			t.Errorf("pending enrollment listed: %v", ids)
		}
		wantState(t, ts.client(t).signIn("halfway", testPassword), "authenticated")
	})

	t.Run("a pending enrollment cannot be renamed", func(t *testing.T) {
		a := ts.signedIn(t, "renamer")
		e := a.startTOTP("Phone")
		wantError(t, a.do("PATCH", "/api/v1/me/mfa-devices/"+e.ID, map[string]string{"name": "Other"}), http.StatusNotFound, "not_found")
	})
}

// signInRace sends one code from n sessions of one user at once and returns
// the replies.
func signInRace(t *testing.T, ts *testServer, user, code string, n int) []apiReply {
	t.Helper()
	sessions := make([]*apiClient, n)
	for i := range sessions {
		sessions[i] = ts.mfaSession(t, user)
	}
	replies := make([]apiReply, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, s := range sessions {
		wg.Go(func() {
			<-start
			r, err := s.send(apiRequest{Method: "POST", Path: "/api/v1/auth/totp", Body: map[string]string{"code": code}})
			if err != nil {
				t.Errorf("session %d: %v", i, err)
			}
			replies[i] = r
		})
	}
	close(start)
	wg.Wait()
	return replies
}

// TestReplayedSignInCodeOverAPI: a code signs in once. Used again later, or
// by several sessions at the same moment, it is code_reused.
func TestReplayedSignInCodeOverAPI(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	_, _, key := ts.userWithDevice(t, "rita")

	t.Run("again later", func(t *testing.T) {
		code := ts.code(key, 0)
		wantState(t, ts.mfaSession(t, "rita").totp(code), "authenticated")
		wantError(t, ts.mfaSession(t, "rita").totp(code), http.StatusBadRequest, "code_reused")
		// An older code still inside the window is a replay too.
		wantError(t, ts.mfaSession(t, "rita").totp(ts.code(key, -1)), http.StatusBadRequest, "code_reused")
		ts.nextStep()
	})

	t.Run("two sessions at once", func(t *testing.T) {
		replies := signInRace(t, ts, "rita", ts.code(key, 0), 2)
		ok := 0
		for _, r := range replies {
			if r.Status == http.StatusOK {
				wantState(t, r, "authenticated")
				ok++
			} else {
				wantError(t, r, http.StatusBadRequest, "code_reused")
			}
		}
		if ok != 1 {
			t.Errorf("%d sessions signed in with one code, want 1: %v", ok, replies)
		}
		ts.nextStep()
	})

	// With eight sessions, guesses are counted before they are checked
	// (throttle.Limiter.Begin), so once five are in flight the account's
	// throttle may answer the rest rate_limited — how many depends on
	// scheduling. What matters: one success, every other answer a replay or
	// a lock, at least one replay, and no 5xx.
	t.Run("eight sessions at once", func(t *testing.T) {
		replies := signInRace(t, ts, "rita", ts.code(key, 0), 8)
		ok, reused := 0, 0
		for _, r := range replies {
			switch {
			case r.Status == http.StatusOK:
				wantState(t, r, "authenticated")
				ok++
			case r.code() == "code_reused":
				wantError(t, r, http.StatusBadRequest, "code_reused")
				reused++
			default:
				wantError(t, r, http.StatusTooManyRequests, "rate_limited")
			}
		}
		if ok != 1 || reused < 1 {
			t.Errorf("one code from 8 sessions: %d signed in (want 1), %d code_reused (want ≥ 1): %v", ok, reused, replies)
		}
	})
}

// TestDriftIsRemembered: a phone whose clock runs a step ahead confirms its
// enrollment with a next-step code; from then on its window is centred one
// step ahead, so a code two steps ahead of the server signs in.
func TestDriftIsRemembered(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	a := ts.signedIn(t, "drifty")
	e := a.startTOTP("Fast phone")
	wantStatus(t, a.verify(e.ID, ts.code(e.Key, 1)), http.StatusOK)
	ts.nextStep()
	wantState(t, ts.mfaSession(t, "drifty").totp(ts.code(e.Key, 2)), "authenticated")
}

// TestPasswordThrottle: five wrong passwords lock the account briefly; while
// locked even the right password gets 429 with Retry-After; after the wait it
// works. Unknown users behave the same.
func TestPasswordThrottle(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	ts.createUser(t, "tina")
	for _, user := range []string{"tina", "nobody"} {
		t.Run(user, func(t *testing.T) {
			a := ts.client(t)
			for i := 1; i <= 5; i++ {
				r := a.signIn(user, "wrong password "+strconv.Itoa(i))
				if i < 5 || r.Status != http.StatusTooManyRequests {
					// The fifth may already announce the lock it starts.
					wantError(t, r, http.StatusUnauthorized, "invalid_credentials")
				}
			}
			pw := testPassword
			if user == "nobody" {
				pw = "still wrong, still locked"
			}
			r := a.signIn(user, pw)
			wantError(t, r, http.StatusTooManyRequests, "rate_limited")
			wait, err := strconv.Atoi(r.Header.Get("Retry-After"))
			if err != nil || wait < 1 || wait > 15*60 {
				t.Fatalf("Retry-After = %q, want seconds", r.Header.Get("Retry-After"))
			}
			if r.sessionCookie() != nil {
				t.Errorf("a locked sign-in set a session cookie")
			}
			ts.Clock.Advance(time.Duration(wait) * time.Second)
			if user == "tina" {
				wantState(t, a.signIn(user, testPassword), "authenticated")
				// Success forgot the failures: one more mistake is just a mistake.
				wantError(t, a.signIn(user, "wrong again"), http.StatusUnauthorized, "invalid_credentials")
			} else {
				// The back-off grows: the sixth failure waits longer than the fifth.
				r := a.signIn(user, "wrong password 6")
				wantError(t, r, http.StatusTooManyRequests, "rate_limited")
				if next, _ := strconv.Atoi(r.Header.Get("Retry-After")); next <= wait {
					t.Errorf("Retry-After after the sixth failure = %d, want more than %d", next, wait)
				}
			}
		})
	}
}

// TestFiveWrongCodesEndTheChallenge: the MFA step allows five wrong codes;
// then the half-signed-in session is gone and the user starts again from the
// password, however long they wait and even with the right code.
func TestFiveWrongCodesEndTheChallenge(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	_, _, key := ts.userWithDevice(t, "guesser")
	s := ts.mfaSession(t, "guesser")
	wrong := ts.wrongCode(key)
	var last apiReply
	for i := 1; i <= 5; i++ {
		last = s.totp(wrong)
		if i < 5 {
			wantError(t, last, http.StatusBadRequest, "invalid_code")
		}
	}
	wantError(t, last, http.StatusTooManyRequests, "rate_limited")
	// Wait out any lock the account's throttle announced.
	wait, _ := strconv.Atoi(last.Header.Get("Retry-After"))
	ts.Clock.Advance(time.Duration(wait+1) * time.Second)

	wantError(t, s.totp(ts.code(key, 0)), http.StatusUnauthorized, "unauthenticated")
	wantError(t, s.do("GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthenticated")

	// Starting again works.
	s2 := ts.mfaSession(t, "guesser")
	wantState(t, s2.totp(ts.code(key, 0)), "authenticated")
}

// TestSessionCookie: HttpOnly, SameSite=Lax, Path=/; a new id after the
// password step and after the MFA step, and the old id stops working.
func TestSessionCookie(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	_, _, key := ts.userWithDevice(t, "cookie")
	a := ts.client(t)

	r := a.signIn("cookie", testPassword)
	wantState(t, r, "mfa_required")
	c1 := r.sessionCookie()
	if c1 == nil {
		t.Fatal("the password step set no session cookie")
	}
	if !c1.HttpOnly || c1.SameSite != http.SameSiteLaxMode || c1.Path != "/" || c1.Secure || c1.Value == "" {
		t.Errorf("cookie = %+v, want HttpOnly, SameSite=Lax, Path=/, not Secure over http", c1)
	}
	if len(c1.Value) < 43 {
		t.Errorf("session id %q is shorter than 256 bits of base64", c1.Value)
	}

	// Signing in again from the same browser replaces the session.
	r = a.signIn("cookie", testPassword)
	wantState(t, r, "mfa_required")
	c2 := r.sessionCookie()
	if c2 == nil || c2.Value == c1.Value {
		t.Fatal("the password step did not rotate the session id")
	}
	wantError(t, ts.withCookie(t, c1.Value, apiRequest{Method: "POST", Path: "/api/v1/auth/totp", Body: map[string]string{"code": ts.code(key, 0)}}),
		http.StatusUnauthorized, "unauthenticated")

	// The MFA step rotates it again.
	r = a.totp(ts.code(key, 0))
	wantState(t, r, "authenticated")
	c3 := r.sessionCookie()
	if c3 == nil || c3.Value == c2.Value || c3.Value == c1.Value {
		t.Fatal("the MFA step did not rotate the session id")
	}
	if !c3.HttpOnly || c3.SameSite != http.SameSiteLaxMode || c3.Path != "/" {
		t.Errorf("cookie after MFA = %+v", c3)
	}
	for _, v := range []string{c1.Value, c2.Value} {
		wantError(t, ts.withCookie(t, v, apiRequest{Method: "GET", Path: "/api/v1/me"}), http.StatusUnauthorized, "unauthenticated")
	}
	wantStatus(t, a.do("GET", "/api/v1/me", nil), http.StatusOK)

	// A session id planted before sign-in is not adopted.
	planted := "planted-by-an-attacker-0123456789abcdefghijk"
	r = ts.withCookie(t, planted, apiRequest{Method: "POST", Path: "/api/v1/auth/password", Body: map[string]string{"username": "cookie", "password": testPassword}})
	if c := r.sessionCookie(); c == nil || c.Value == planted {
		t.Errorf("sign-in kept a planted session id")
	}

	// Signing out ends the session on the server, not only in the jar.
	wantStatus(t, a.do("POST", "/api/v1/auth/signout", nil), http.StatusNoContent)
	wantError(t, ts.withCookie(t, c3.Value, apiRequest{Method: "GET", Path: "/api/v1/me"}), http.StatusUnauthorized, "unauthenticated")
}

// TestCrossSiteRequestsAreRefused: a state-changing request from another
// site is refused with 403 before it does anything.
func TestCrossSiteRequestsAreRefused(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	ts.createUser(t, "victim")
	login := map[string]string{"username": "victim", "password": testPassword}
	for _, c := range []struct {
		name   string
		header map[string]string
		status int
	}{
		{"Sec-Fetch-Site cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"Sec-Fetch-Site same-site", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"foreign Origin", map[string]string{"Origin": "https://evil.example"}, 403},
		{"foreign Origin, same host name", map[string]string{"Origin": "http://localhost:1"}, 403},
		{"Sec-Fetch-Site same-origin", map[string]string{"Sec-Fetch-Site": "same-origin"}, 200},
		{"own Origin", map[string]string{"Origin": ts.URL}, 200},
		{"no browser headers (a script)", nil, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ts.client(t).sendT(apiRequest{Method: "POST", Path: "/api/v1/auth/password", Body: login, Header: c.header})
			if c.status == http.StatusOK {
				wantState(t, r, "authenticated")
				return
			}
			wantError(t, r, http.StatusForbidden, "not_allowed")
			if r.sessionCookie() != nil {
				t.Errorf("a refused request set a session cookie")
			}
		})
	}

	t.Run("registering a device from another site", func(t *testing.T) {
		a := ts.signedIn(t, "target")
		r := a.sendT(apiRequest{Method: "POST", Path: "/api/v1/me/mfa-devices", Body: map[string]string{"name": "Evil", "type": "totp"},
			Header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
		wantError(t, r, http.StatusForbidden, "not_allowed")
		if strings.Contains(string(r.Body), "otpauth") {
			t.Errorf("a refused request returned a secret")
		}
		// Reading stays possible (safe methods are not state-changing).
		r = a.sendT(apiRequest{Method: "GET", Path: "/api/v1/me/mfa-devices", Header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
		wantStatus(t, r, http.StatusOK)
		r = a.sendT(apiRequest{Method: "POST", Path: "/api/v1/auth/signout", Header: map[string]string{"Origin": "https://evil.example"}})
		wantError(t, r, http.StatusForbidden, "not_allowed")
		wantStatus(t, a.do("GET", "/api/v1/me", nil), http.StatusOK)
	})
}

// TestHalfFinishedSignInExpires: a session waiting for its code lasts ten
// minutes; a signed-in one lasts twelve hours.
func TestHalfFinishedSignInExpires(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	_, _, key := ts.userWithDevice(t, "slowpoke")
	s := ts.mfaSession(t, "slowpoke")
	ts.Clock.Advance(10*time.Minute + time.Second)
	wantError(t, s.totp(ts.code(key, 0)), http.StatusUnauthorized, "unauthenticated")

	s = ts.mfaSession(t, "slowpoke")
	wantState(t, s.totp(ts.code(key, 0)), "authenticated")
	// Active all along (a request every 50 minutes, inside the idle
	// timeout), it still ends at 12 hours.
	for range 14 {
		ts.Clock.Advance(50 * time.Minute)
		wantStatus(t, s.do("GET", "/api/v1/me", nil), http.StatusOK)
	}
	ts.Clock.Advance(12*time.Hour - 14*50*time.Minute - time.Second)
	wantStatus(t, s.do("GET", "/api/v1/me", nil), http.StatusOK)
	ts.Clock.Advance(2 * time.Second)
	wantError(t, ts.withCookie(t, s.cookie(), apiRequest{Method: "GET", Path: "/api/v1/me"}), http.StatusUnauthorized, "unauthenticated")
}

// TestWrongEnrollmentCodesAreThrottled: guessing at the enrollment step
// counts against the account like any other guess; the enrollment survives
// the wait and its right code then works.
func TestWrongEnrollmentCodesAreThrottled(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	a := ts.signedIn(t, "fumble")
	e := a.startTOTP("Phone")
	var r apiReply
	for i := 1; i <= 5; i++ {
		r = a.verify(e.ID, ts.wrongCode(e.Key))
		if i < 5 {
			wantError(t, r, http.StatusBadRequest, "invalid_code")
		}
	}
	wantError(t, r, http.StatusTooManyRequests, "rate_limited")
	// While locked, even the right code waits.
	r = a.verify(e.ID, ts.code(e.Key, 0))
	wantError(t, r, http.StatusTooManyRequests, "rate_limited")
	wait, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || wait < 1 {
		t.Fatalf("Retry-After = %q", r.Header.Get("Retry-After"))
	}
	ts.Clock.Advance(time.Duration(wait) * time.Second)
	r = a.do("GET", "/api/v1/me/mfa-devices/"+e.ID, nil)
	if r.str("secret") != e.Secret {
		t.Fatalf("the enrollment changed while locked: %s", r)
	}
	wantStatus(t, a.verify(e.ID, ts.code(e.Key, 0)), http.StatusOK)
}
