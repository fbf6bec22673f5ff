package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"gatehouse/internal/account"
	"gatehouse/internal/audit"
	"gatehouse/internal/errcode"
	"gatehouse/internal/throttle"
)

// TestSourceAddressBucketIsSharedByNodesAndAuditedOncePerLock: one address
// sends wrong passwords (for ever new usernames, so no account throttle
// interferes) to two nodes on one database. The 21st request, whichever
// node gets it, is 429 rate_limited with Retry-After; so is a sign-in page
// post and a code; one ThrottleLock event records the exhaustion however
// many requests it refuses; a token returns every 2 s.
func TestSourceAddressBucketIsSharedByNodesAndAuditedOncePerLock(t *testing.T) {
	t.Parallel()
	a := startNodeWith(t, "", nil, nil)
	b := startNodeWith(t, a.DataDir, a.Clock, nil)
	nodes := []*testServer{a, b}
	c := a.client(t)
	send := func(ts *testServer, path string, body any) apiReply {
		cc := *c
		cc.ts = ts
		return cc.do("POST", path, body)
	}
	for i := range throttle.SourceBurst {
		r := send(nodes[i%2], "/api/v1/auth/password", map[string]string{"username": fmt.Sprintf("nobody%d", i), "password": "wrong password!"})
		wantError(t, r, http.StatusUnauthorized, "invalid_credentials")
	}
	for i, ts := range nodes {
		r := send(ts, "/api/v1/auth/password", map[string]string{"username": fmt.Sprintf("late%d", i), "password": "wrong password!"})
		wantError(t, r, http.StatusTooManyRequests, "rate_limited")
		if got := r.Header.Get("Retry-After"); got != "2" {
			t.Errorf("Retry-After %q, want 2", got)
		}
	}
	wantError(t, send(b, "/api/v1/auth/totp", map[string]string{"code": "123456"}), http.StatusTooManyRequests, "rate_limited")
	r := c.sendT(apiRequest{Method: "POST", Path: "/signin", Body: url.Values{"username": {"x"}, "password": {"y"}}.Encode(), ContentType: "application/x-www-form-urlencoded"})
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || !strings.Contains(string(r.Body), "Too many attempts") {
		t.Fatalf("sign-in page past the limit: %d %q", r.Status, r.Header.Get("Retry-After"))
	}
	// Not a guess: reading pages and signing out are never limited.
	wantStatus(t, c.do("GET", "/signin", nil), http.StatusOK)
	wantStatus(t, c.do("POST", "/api/v1/auth/signout", nil), http.StatusNoContent)

	locks := 0
	for _, e := range a.events(t, audit.ThrottleLock) {
		if strings.HasPrefix(e.Detail, "source address limit") {
			locks++
			if e.SourceIP != "127.0.0.1" {
				t.Errorf("lock event source %q", e.SourceIP)
			}
		}
	}
	if locks != 1 {
		t.Fatalf("%d source-limit events for one exhaustion, want 1", locks)
	}
	a.Clock.Advance(throttle.SourceRefill)
	wantError(t, send(b, "/api/v1/auth/password", map[string]string{"username": "again", "password": "wrong password!"}), http.StatusUnauthorized, "invalid_credentials")
	wantError(t, send(a, "/api/v1/auth/password", map[string]string{"username": "again2", "password": "wrong password!"}), http.StatusTooManyRequests, "rate_limited")
}

// TestConcurrentGuessesCannotOutrunTheBackOff sends 20 wrong codes at the
// same instant from 20 sign-ins of one account. Each guess is counted when
// it is claimed, before its check, so only the 5 the back-off allows
// before its first lock are checked; the rest are refused unchecked.
// (Checking the lock and counting the failure as two steps let all 20
// through.)
func TestConcurrentGuessesCannotOutrunTheBackOff(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	ctx := context.Background()
	_, _, key := ts.userWithDevice(t, "racer")
	u, err := ts.App.Store.UserByUsername(ctx, "racer")
	if err != nil {
		t.Fatal(err)
	}
	var tokens []string
	for range 20 {
		res, err := ts.App.Accounts.SignInPassword(ctx, "", "racer", testPassword, account.Client{IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, res.Token)
	}
	wrong := ts.wrongCode(key)
	var refused atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, tok := range tokens {
		wg.Go(func() {
			<-start
			_, err := ts.App.Accounts.VerifyTOTP(ctx, tok, wrong, account.StepOptions{})
			if e := errcode.As(err); e != nil && e.Code == errcode.RateLimited && strings.Contains(e.Message, "Wait") {
				refused.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	checked := countFailedTOTP(t, ts, u.ID)
	if checked != throttle.FreeFailures || int(refused.Load()) < 20-throttle.FreeFailures {
		t.Fatalf("%d of 20 concurrent guesses checked (%d refused); want %d checked", checked, refused.Load(), throttle.FreeFailures)
	}
	// The owner is not locked out for good: after the wait, the right code works.
	ts.Clock.Advance(throttle.Wait(throttle.FreeFailures))
	res, err := ts.App.Accounts.SignInPassword(ctx, "", "racer", testPassword, account.Client{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.App.Accounts.VerifyTOTP(ctx, res.Token, ts.code(key, 0), account.StepOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestEveryAccountLockIsAuditedWhicheverStepCausedIt: locks started by
// wrong passwords, wrong sign-in codes, wrong enrollment codes and a wrong
// current password each write a ThrottleLock event for the account.
func TestEveryAccountLockIsAuditedWhicheverStepCausedIt(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	locks := func(user string) int {
		n := 0
		for _, e := range ts.events(t, audit.ThrottleLock) {
			if e.TargetUsername == user && e.Result == audit.Failure {
				n++
			}
		}
		return n
	}
	lockWith := func(user string, guess func() apiReply) {
		t.Helper()
		for i := 1; i <= throttle.FreeFailures; i++ {
			r := guess()
			if i == throttle.FreeFailures {
				wantError(t, r, http.StatusTooManyRequests, "rate_limited")
			}
		}
		if n := locks(user); n != 1 {
			t.Fatalf("%s: %d ThrottleLock events after one lock, want 1", user, n)
		}
	}

	ts.createUser(t, "pw")
	c := ts.client(t)
	lockWith("pw", func() apiReply { return c.signIn("pw", "not the password") })

	_, _, key := ts.userWithDevice(t, "code")
	lockWith("code", func() apiReply {
		s := ts.client(t)
		wantState(t, s.signIn("code", testPassword), "mfa_required")
		return s.totp(ts.wrongCode(key))
	})

	a := ts.signedIn(t, "enrol")
	e := a.startTOTP("Phone")
	lockWith("enrol", func() apiReply { return a.verify(e.ID, ts.wrongCode(e.Key)) })

	b := ts.signedIn(t, "change")
	lockWith("change", func() apiReply {
		return b.do("POST", "/api/v1/auth/password-change", map[string]string{"current_password": "not the password", "new_password": "a brand new password"})
	})
}
