package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"gatehouse/internal/audit"
)

// generateRecoveryCodes makes a set over the API and returns it.
func (a *apiClient) generateRecoveryCodes() []string {
	a.t.Helper()
	r := a.do("POST", "/api/v1/me/recovery-codes", nil)
	wantStatus(a.t, r, http.StatusCreated)
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		a.t.Errorf("Cache-Control %q on the codes, want no-store", cc)
	}
	var body struct {
		Codes []string `json:"codes"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || len(body.Codes) != 10 {
		a.t.Fatalf("codes: %v: %s", err, r.Body)
	}
	return body.Codes
}

func (a *apiClient) recoveryRemaining() int {
	a.t.Helper()
	r := a.do("GET", "/api/v1/me/recovery-codes", nil)
	wantStatus(a.t, r, http.StatusOK)
	n, ok := r.obj()["remaining"].(float64)
	if !ok {
		a.t.Fatalf("no remaining in %s", r)
	}
	return int(n)
}

func (a *apiClient) recoveryCode(code string) apiReply {
	a.t.Helper()
	return a.do("POST", "/api/v1/auth/recovery-code", map[string]string{"code": code})
}

func (ts *testServer) eventsNamed(t *testing.T, name string) []audit.Event {
	t.Helper()
	ev, _, err := ts.App.Store.ListEvents(context.Background(), audit.Filter{Name: name, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestRecoveryCodesOverAPI(t *testing.T) {
	ts := startAPIServer(t)
	a, _, _ := ts.userWithDevice(t, "rita")
	if n := a.recoveryRemaining(); n != 0 {
		t.Fatalf("remaining before generating = %d, want 0", n)
	}
	codes := a.generateRecoveryCodes()
	if n := a.recoveryRemaining(); n != 10 {
		t.Fatalf("remaining = %d, want 10", n)
	}
	if g := ts.eventsNamed(t, audit.GenerateRecoveryCodes); len(g) != 1 || g[0].TargetUsername != "rita" {
		t.Fatalf("GenerateRecoveryCodes events = %+v", g)
	}

	t.Run("a wrong code is invalid_code and counts", func(t *testing.T) {
		b := ts.mfaSession(t, "rita").in(t)
		wantError(t, b.recoveryCode("AAAAA-AAAAA"), http.StatusBadRequest, "invalid_code")
	})
	t.Run("a malformed code is invalid_code", func(t *testing.T) {
		b := ts.mfaSession(t, "rita").in(t)
		wantError(t, b.recoveryCode("nope"), http.StatusBadRequest, "invalid_code")
		wantError(t, b.do("POST", "/api/v1/auth/recovery-code", map[string]string{}), http.StatusBadRequest, "invalid_input")
	})
	t.Run("a code finishes the MFA step once", func(t *testing.T) {
		b := ts.mfaSession(t, "rita").in(t)
		wantState(t, b.recoveryCode(strings.ToLower(codes[0])), "authenticated")
		if n := b.recoveryRemaining(); n != 9 {
			t.Fatalf("remaining after one use = %d, want 9", n)
		}
		c := ts.mfaSession(t, "rita").in(t)
		wantError(t, c.recoveryCode(codes[0]), http.StatusBadRequest, "invalid_code")
		found := false
		for _, e := range ts.eventsNamed(t, audit.CredentialVerification) {
			if e.CredentialType == audit.RecoveryCode && e.Result == audit.Success {
				found = true
			}
		}
		if !found {
			t.Error("no CredentialVerification Success with RECOVERY_CODE in the audit trail")
		}
	})
	t.Run("only at the MFA step", func(t *testing.T) {
		// Signed in already, or not at all: not allowed, and nothing consumed.
		wantError(t, a.recoveryCode(codes[1]), http.StatusForbidden, "not_allowed")
		wantError(t, ts.client(t).recoveryCode(codes[1]), http.StatusUnauthorized, "unauthenticated")
		if n := a.recoveryRemaining(); n != 9 {
			t.Fatalf("remaining = %d, want 9", n)
		}
	})
	t.Run("regenerating voids the old set", func(t *testing.T) {
		fresh := a.generateRecoveryCodes()
		b := ts.mfaSession(t, "rita").in(t)
		wantError(t, b.recoveryCode(codes[2]), http.StatusBadRequest, "invalid_code")
		wantState(t, b.recoveryCode(fresh[9]), "authenticated")
	})
}

func TestRecoveryCodesNeedADevice(t *testing.T) {
	ts := startAPIServer(t)
	a := ts.signedIn(t, "nodev")
	wantError(t, a.do("POST", "/api/v1/me/recovery-codes", nil), http.StatusForbidden, "not_allowed")
	wantError(t, ts.client(t).do("GET", "/api/v1/me/recovery-codes", nil), http.StatusUnauthorized, "unauthenticated")
}

func TestFiveWrongRecoveryCodesEndTheChallenge(t *testing.T) {
	ts := startAPIServer(t)
	a, _, _ := ts.userWithDevice(t, "guesser")
	codes := a.generateRecoveryCodes()
	b := ts.mfaSession(t, "guesser")
	for i := range 4 {
		r := b.recoveryCode("ZZZZZ-ZZZZ" + string(rune('0'+i)))
		wantError(t, r, http.StatusBadRequest, "invalid_code")
	}
	wantError(t, b.recoveryCode("ZZZZZ-ZZZZ9"), http.StatusTooManyRequests, "rate_limited")
	// The challenge is dead: even a right code no longer helps this session.
	r := b.recoveryCode(codes[0])
	if r.Status == http.StatusOK {
		t.Fatalf("a right code after the challenge ended was accepted: %s", r)
	}
}

func TestOneRecoveryCodeRacedFromTwoSessionsSignsInOnce(t *testing.T) {
	ts := startAPIServer(t)
	a, _, _ := ts.userWithDevice(t, "racer")
	codes := a.generateRecoveryCodes()
	for round := range 3 {
		sessions := []*apiClient{ts.mfaSession(t, "racer"), ts.mfaSession(t, "racer"), ts.mfaSession(t, "racer")}
		var wg sync.WaitGroup
		replies := make([]apiReply, len(sessions))
		errs := make([]error, len(sessions))
		for i, s := range sessions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				replies[i], errs[i] = s.send(apiRequest{Method: "POST", Path: "/api/v1/auth/recovery-code", Body: map[string]string{"code": codes[round]}})
			}()
		}
		wg.Wait()
		ok := 0
		for i, r := range replies {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			switch {
			case r.Status == http.StatusOK:
				ok++
			case r.code() != "invalid_code":
				t.Errorf("round %d: %s", round, r)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d sessions signed in with one code, want 1", round, ok)
		}
	}
	if n := a.recoveryRemaining(); n != 7 {
		t.Fatalf("remaining = %d, want 7", n)
	}
}

func TestResetMFAVoidsRecoveryCodes(t *testing.T) {
	ts := startAPIServer(t)
	a, _, _ := ts.userWithDevice(t, "lost")
	a.generateRecoveryCodes()
	me := a.do("GET", "/api/v1/me", nil)
	wantStatus(t, me, http.StatusOK)
	id := me.str("id")
	if id == "" {
		t.Fatalf("no id in %s", me)
	}
	if _, err := ts.App.Admin.ResetMFA(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if n, err := ts.App.Recovery.Remaining(context.Background(), id); err != nil || n != 0 {
		t.Fatalf("remaining after reset = %d, %v; want 0", n, err)
	}
}

func TestRecoveryCodePages(t *testing.T) {
	ts := startAPIServer(t)
	a, _, _ := ts.userWithDevice(t, "paula")
	get := func(c *apiClient, path string) apiReply {
		t.Helper()
		r := c.do("GET", path, nil)
		wantStatus(t, r, http.StatusOK)
		return r
	}
	form := func(c *apiClient, path string, v url.Values) apiReply {
		t.Helper()
		return c.sendT(apiRequest{Method: "POST", Path: path, Body: v.Encode(), ContentType: "application/x-www-form-urlencoded"})
	}
	if body := string(get(a, "/devices").Body); !strings.Contains(body, "You have no recovery codes") || !strings.Contains(body, "Generate recovery codes") {
		t.Fatalf("My devices does not offer recovery codes:\n%s", body)
	}
	r := form(a, "/devices/recovery-codes", url.Values{})
	wantStatus(t, r, http.StatusOK)
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q on the codes page, want no-store", cc)
	}
	var codes []string
	for _, part := range strings.Split(string(r.Body), "<code>")[1:] {
		codes = append(codes, part[:strings.Index(part, "</code>")])
	}
	if len(codes) != 10 {
		t.Fatalf("%d codes on the page, want 10", len(codes))
	}
	if body := string(get(a, "/devices").Body); !strings.Contains(body, "<strong>10</strong> unused recovery codes left") || !strings.Contains(body, "Regenerate recovery codes") {
		t.Fatalf("My devices does not show 10 codes left:\n%s", body)
	}

	b := ts.client(t)
	r = form(b, "/signin", url.Values{"username": {"paula"}, "password": {testPassword}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("sign-in: %s", r)
	}
	if body := string(get(b, "/signin/mfa").Body); !strings.Contains(body, `href="/signin/recovery`) || !strings.Contains(body, "Use a recovery code") {
		t.Fatalf("the MFA page does not offer a recovery code:\n%s", body)
	}
	get(b, "/signin/recovery")
	r = form(b, "/signin/recovery", url.Values{"code": {"AAAAA-AAAAA"}})
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `data-code="invalid_code"`) {
		t.Fatalf("wrong code: %s", r)
	}
	r = form(b, "/signin/recovery", url.Values{"code": {codes[3]}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("right code: %s", r)
	}
	if body := string(get(b, "/devices").Body); !strings.Contains(body, "<strong>9</strong> unused recovery codes left") {
		t.Fatalf("My devices does not show 9 codes left:\n%s", body)
	}
}
