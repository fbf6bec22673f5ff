package server_test

import (
	"context"
	"testing"
	"time"

	"gatehouse/internal/account"
	"gatehouse/internal/audit"
	"gatehouse/internal/errcode"
	"gatehouse/internal/throttle"
)

// Figures of docs/security.md, "The guessing bound".
const (
	// validCodes is how many codes the ±1 window accepts at once.
	validCodes = 3
	// codeSpace is the number of 6-digit codes.
	codeSpace = 1_000_000
	// boundPerDay is the most code guesses per account per day that any
	// attacker who knows the password can get checked: ρ·(day+F) with
	// ρ = max_k k/(S(k)+F) = 14/4111 s and F = 3,600 s (docs/security.md).
	boundPerDay = 306
	// bestRun is the run length k that reaches ρ.
	bestRun = 14
)

// runTime is S(k): the least time from the first to the k-th guess of a
// run of consecutive failures (the waits after failures 1 … k−1).
func runTime(k int) time.Duration {
	var d time.Duration
	for n := 1; n < k; n++ {
		d += throttle.Wait(n)
	}
	return d
}

// TestGuessingBoundArithmetic checks the figures above from the policy
// constants: a change to the back-off or the quiet period that raises the
// bound fails here before it reaches the simulation.
func TestGuessingBoundArithmetic(t *testing.T) {
	day := 24 * time.Hour
	bestK, best := 0, 0.0
	for k := 1; k <= 64; k++ {
		if r := float64(k) / (runTime(k) + throttle.ForgetAfter).Seconds(); r > best {
			bestK, best = k, r
		}
	}
	n := int(best * (day + throttle.ForgetAfter).Seconds())
	if bestK != bestRun || n != boundPerDay {
		t.Fatalf("best run %d, bound %d guesses/day; docs/security.md says %d and %d", bestK, n, bestRun, boundPerDay)
	}
	if p := float64(n) * validCodes / codeSpace; p >= 0.001 {
		t.Fatalf("P(day) = %.4f%%, want < 0.1%%", p*100)
	}
}

// TestADayOfGuessingGetsThroughAtMostTheBound simulates a day of guessing
// with the fake clock against the real sign-in service over the real
// SQLite store, by an attacker who knows the password and the policy and
// plays the best strategy: runs of 14 wrong codes, each sent the moment
// the last lock ends, then an hour and a millisecond of quiet to be
// forgotten. It counts the guesses that reached a code check (the audit
// trail's failed TOTP verifications), which must equal what the
// arithmetic predicts for that strategy and stay within the bound; no lock
// may exceed 15 minutes. A second account is hammered without pause for
// the same day: its locks stay at most 15 minutes, and after the last one
// the owner signs in.
func TestADayOfGuessingGetsThroughAtMostTheBound(t *testing.T) {
	t.Parallel()
	ts := startAPIServer(t)
	ctx := context.Background()
	_, _, key := ts.userWithDevice(t, "target")
	_, _, key2 := ts.userWithDevice(t, "hammered")
	day := 24 * time.Hour

	// What the arithmetic predicts for the strategy: runs of bestRun
	// guesses at S(k) pace, separated by ForgetAfter + 1 ms of quiet.
	predicted := 0
	for at := time.Duration(0); ; {
		for i := 1; i <= bestRun && at < day; i++ {
			predicted++
			if i < bestRun {
				at += throttle.Wait(i)
			}
		}
		if at >= day {
			break
		}
		at += throttle.ForgetAfter + time.Millisecond
	}

	start := ts.Clock.Now()
	checked, maxLock := attack(t, ts, "target", key, start.Add(day), bestRun)
	if checked != predicted || checked > boundPerDay {
		t.Fatalf("%d guesses were checked in a day; the arithmetic predicts %d and bounds %d", checked, predicted, boundPerDay)
	}
	if maxLock > throttle.MaxWait {
		t.Fatalf("a lock of %v, longer than %v", maxLock, throttle.MaxWait)
	}
	t.Logf("best strategy: %d guesses checked in a day (bound %d, P ≤ %.3f%%), longest lock %v",
		checked, boundPerDay, float64(boundPerDay)*validCodes/codeSpace*100, maxLock)

	// Hammering without pause: never forgotten, so at most MaxWait apart.
	ts.Clock.Set(start)
	hammered, maxLock := attack(t, ts, "hammered", key2, start.Add(day), 0)
	if maxLock > throttle.MaxWait || hammered > boundPerDay {
		t.Fatalf("hammering: %d checked, longest lock %v", hammered, maxLock)
	}
	t.Logf("hammering: %d guesses checked in a day, longest lock %v", hammered, maxLock)
	// No input locks an account for good: 15 minutes after the last
	// guess, the owner signs in with the right code.
	ts.Clock.Advance(throttle.MaxWait)
	res, err := ts.App.Accounts.SignInPassword(ctx, "", "hammered", testPassword, account.Client{IP: "192.0.2.9"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.App.Accounts.VerifyTOTP(ctx, res.Token, ts.code(key2, 0), account.StepOptions{}); err != nil {
		t.Fatalf("the owner after a day of hammering: %v", err)
	}
}

// attack guesses wrong codes for user until end, each the moment the
// account's lock allows it; with run > 0, after every run of that many
// guesses it pauses for ForgetAfter + 1 ms. It returns how many guesses
// reached a code check and the longest lock seen.
func attack(t *testing.T, ts *testServer, user string, key []byte, end time.Time, run int) (int, time.Duration) {
	t.Helper()
	ctx := context.Background()
	u, err := ts.App.Store.UserByUsername(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	tkey := account.ThrottleKey(u.ID)
	before := countFailedTOTP(t, ts, u.ID)
	var maxLock time.Duration
	token, inRun, sent := "", 0, 0
	lockEnd := func() {
		st, err := ts.App.Store.ThrottleState(ctx, tkey)
		if err != nil {
			t.Fatal(err)
		}
		if now := ts.Clock.Now(); now.Before(st.LockedUntil) {
			maxLock = max(maxLock, st.LockedUntil.Sub(now))
			ts.Clock.Set(st.LockedUntil)
		}
	}
	for {
		if run > 0 && inRun == run {
			st, err := ts.App.Store.ThrottleState(ctx, tkey)
			if err != nil {
				t.Fatal(err)
			}
			ts.Clock.Set(st.LastFailure.Add(throttle.ForgetAfter + time.Millisecond))
			inRun = 0
		}
		lockEnd()
		if !ts.Clock.Now().Before(end) {
			break
		}
		if token == "" {
			res, err := ts.App.Accounts.SignInPassword(ctx, "", user, testPassword, account.Client{IP: "192.0.2.1"})
			if err != nil {
				t.Fatalf("password step at %v: %v", ts.Clock.Now(), err)
			}
			token = res.Token
		}
		_, err := ts.App.Accounts.VerifyTOTP(ctx, token, ts.wrongCode(key), account.StepOptions{})
		switch code := errcode.Code(err); {
		case code == errcode.Unauthenticated:
			token = "" // the sign-in outlived its 10 minutes
			continue
		case code != errcode.InvalidCode && code != errcode.RateLimited:
			t.Fatalf("guess at %v: %v", ts.Clock.Now(), err)
		}
		sent++
		inRun++
		if sess, _, err := ts.App.Accounts.Lookup(ctx, token); err != nil || sess.State != account.StateMFA {
			token = "" // five wrong answers: start again from the password
		}
		lockEnd()
	}
	checked := countFailedTOTP(t, ts, u.ID) - before
	if checked != sent {
		t.Fatalf("%d guesses sent while unlocked, %d checked: a guess was refused or one slipped through", sent, checked)
	}
	return checked, maxLock
}

func countFailedTOTP(t *testing.T, ts *testServer, userID string) int {
	t.Helper()
	list, _, err := ts.App.Store.ListEvents(context.Background(), audit.Filter{Name: audit.CredentialVerification, Result: audit.Failure, UserID: userID, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range list {
		if e.CredentialType == audit.TOTP {
			n++
		}
	}
	return n
}
