package mfa_test

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/internal/account"
	"gatehouse/internal/errcode"
	"gatehouse/internal/mfa"
	"gatehouse/internal/secretbox"
	"gatehouse/internal/store"
	"gatehouse/internal/throttle"
	"gatehouse/internal/totp"
)

type fixture struct {
	svc  *mfa.Service
	db   *store.DB
	now  time.Time
	user string
}

// newFixture runs the service over a real SQLite store with a fixed clock
// 5 s into a step.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	keys, _ := secretbox.New(bytes.Repeat([]byte{9}, 32))
	f := &fixture{db: db, now: time.Unix(1_700_000_000-1_700_000_000%30+5, 0), user: "u1"}
	if err := db.CreateUser(ctx, account.User{ID: f.user, Username: "alice", PasswordHash: "x", CreatedAt: f.now}); err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return f.now }
	f.svc = &mfa.Service{Store: db, Keys: keys, Throttle: &throttle.Limiter{Store: db, Now: clock}, Issuer: "Gatehouse", Params: totp.Default, Now: clock}
	return f
}

func (f *fixture) codeAt(secret []byte, steps int64) string {
	return totp.HOTP(secret, totp.Counter(f.now, 30)+steps, totp.Default)
}

func (f *fixture) enroll(t *testing.T, name string) mfa.Enrollment {
	t.Helper()
	e, err := f.svc.StartTOTP(context.Background(), f.user, "alice", name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Confirm(context.Background(), f.user, e.ID, f.codeAt(e.Secret, 0)); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestConfirmingCodeCannotSignIn(t *testing.T) {
	f := newFixture(t)
	e := f.enroll(t, "phone")
	_, err := f.svc.VerifyTOTP(context.Background(), f.user, f.codeAt(e.Secret, 0))
	if errcode.Code(err) != errcode.CodeReused {
		t.Fatalf("sign-in with the enrollment code = %v, want code_reused", err)
	}
	f.now = f.now.Add(30 * time.Second)
	if _, err := f.svc.VerifyTOTP(context.Background(), f.user, f.codeAt(e.Secret, 0)); err != nil {
		t.Fatalf("next step's code = %v", err)
	}
}

func TestVerifyRejectsReplayedStepInsideWindow(t *testing.T) {
	f := newFixture(t)
	e := f.enroll(t, "phone")
	f.now = f.now.Add(30 * time.Second)
	if _, err := f.svc.VerifyTOTP(context.Background(), f.user, f.codeAt(e.Secret, 0)); err != nil {
		t.Fatal(err)
	}
	// The previous step's code is inside the ±1 window but not after the
	// last accepted step.
	if _, err := f.svc.VerifyTOTP(context.Background(), f.user, f.codeAt(e.Secret, -1)); errcode.Code(err) != errcode.CodeReused && errcode.Code(err) != errcode.InvalidCode {
		t.Fatalf("older step = %v, want refusal", err)
	}
	if _, err := f.svc.VerifyTOTP(context.Background(), f.user, f.codeAt(e.Secret, 0)); errcode.Code(err) != errcode.CodeReused {
		t.Fatalf("same code again = %v, want code_reused", err)
	}
}

func TestConcurrentUsesOfOneCodeSucceedOnce(t *testing.T) {
	f := newFixture(t)
	e := f.enroll(t, "phone")
	f.now = f.now.Add(30 * time.Second)
	code := f.codeAt(e.Secret, 0)
	var ok, reused atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			_, err := f.svc.VerifyTOTP(context.Background(), f.user, code)
			switch errcode.Code(err) {
			case "":
				ok.Add(1)
			case errcode.CodeReused:
				reused.Add(1)
			default:
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || reused.Load() != 15 {
		t.Fatalf("successes = %d, reused = %d; want 1 and 15", ok.Load(), reused.Load())
	}
}

func TestVerifyFollowsADriftingClock(t *testing.T) {
	f := newFixture(t)
	e := f.enroll(t, "phone")
	// The phone's clock runs ahead: one step, then two, then three. Each
	// success re-centres the window, so the drifting phone keeps working.
	for drift := int64(1); drift <= 3; drift++ {
		f.now = f.now.Add(5 * time.Minute)
		d, err := f.svc.VerifyTOTP(context.Background(), f.user, f.codeAt(e.Secret, drift))
		if err != nil {
			t.Fatalf("phone %d steps ahead: %v", drift, err)
		}
		if d.Drift != drift {
			t.Fatalf("remembered drift = %d, want %d", d.Drift, drift)
		}
	}
	// A code three steps behind the drifted centre is outside the window.
	f.now = f.now.Add(5 * time.Minute)
	if _, err := f.svc.VerifyTOTP(context.Background(), f.user, f.codeAt(e.Secret, -1)); errcode.Code(err) != errcode.InvalidCode {
		t.Fatalf("code far from the drifted window = %v, want invalid_code", err)
	}
}

func TestVerifyRejectsCodeTwoStepsOffWithoutAHint(t *testing.T) {
	f := newFixture(t)
	e := f.enroll(t, "phone")
	f.now = f.now.Add(time.Minute)
	_, err := f.svc.VerifyTOTP(context.Background(), f.user, f.codeAt(e.Secret, 2))
	if errcode.Code(err) != errcode.InvalidCode {
		t.Fatalf("two steps off = %v, want invalid_code (no clock hint at sign-in)", err)
	}
}

func TestConfirmDiagnosesAWrongPhoneClock(t *testing.T) {
	tests := []struct {
		steps int64
		want  string
	}{
		{2, "1 minute ahead"},
		{-4, "2 minutes behind"},
		{10, "5 minutes ahead"},
	}
	for _, tt := range tests {
		f := newFixture(t)
		e, err := f.svc.StartTOTP(context.Background(), f.user, "alice", "phone")
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.Confirm(context.Background(), f.user, e.ID, f.codeAt(e.Secret, tt.steps))
		ee := errcode.As(err)
		if ee == nil || ee.Code != errcode.ClockSkew || !bytes.Contains([]byte(ee.Message), []byte(tt.want)) {
			t.Errorf("code %d steps off: %v, want clock_skew saying %q", tt.steps, err, tt.want)
		}
	}
	f := newFixture(t)
	e, _ := f.svc.StartTOTP(context.Background(), f.user, "alice", "phone")
	if _, err := f.svc.Confirm(context.Background(), f.user, e.ID, f.codeAt(e.Secret, 11)); errcode.Code(err) != errcode.InvalidCode {
		t.Errorf("code 11 steps off = %v, want plain invalid_code", err)
	}
}

func TestEnrollmentStateMachine(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a, _ := f.svc.StartTOTP(ctx, f.user, "alice", "Phone")
	b, _ := f.svc.StartTOTP(ctx, f.user, "alice", "Tablet")
	if bytes.Equal(a.Secret, b.Secret) || a.ID == b.ID {
		t.Fatal("two enrollments share a secret or id")
	}
	again, err := f.svc.Get(ctx, f.user, "alice", a.ID)
	if err != nil || !bytes.Equal(again.Secret, a.Secret) {
		t.Fatalf("refresh: %v, same secret = %v", err, bytes.Equal(again.Secret, a.Secret))
	}
	if _, err := f.svc.Confirm(ctx, f.user, a.ID, "000000"); errcode.Code(err) == "" {
		t.Fatal("a wrong code was accepted")
	}
	again, _ = f.svc.Get(ctx, f.user, "alice", a.ID)
	if !bytes.Equal(again.Secret, a.Secret) {
		t.Fatal("a wrong code changed the secret")
	}
	// A's code does not activate B.
	if _, err := f.svc.Confirm(ctx, f.user, b.ID, f.codeAt(a.Secret, 0)); errcode.Code(err) == "" {
		t.Fatal("tab A's code activated tab B")
	}
	if _, err := f.svc.Confirm(ctx, f.user, a.ID, f.codeAt(a.Secret, 0)); err != nil {
		t.Fatal(err)
	}
	// Active devices never show their secret again.
	got, err := f.svc.Get(ctx, f.user, "alice", a.ID)
	if err != nil || got.Secret != nil || got.Status != mfa.StatusActive {
		t.Fatalf("active device: %+v, %v", got.Status, err)
	}
	// B expires; an expired enrollment cannot be confirmed and does not
	// block its name.
	f.now = f.now.Add(mfa.EnrollmentTTL)
	if _, err := f.svc.Confirm(ctx, f.user, b.ID, f.codeAt(b.Secret, 0)); errcode.Code(err) != errcode.EnrollmentExpired {
		t.Fatalf("confirm after expiry = %v, want enrollment_expired", err)
	}
	c, err := f.svc.StartTOTP(ctx, f.user, "alice", "tablet")
	if err != nil {
		t.Fatalf("the abandoned enrollment's name is blocked: %v", err)
	}
	if _, err := f.svc.Confirm(ctx, f.user, c.ID, f.codeAt(c.Secret, 0)); err != nil {
		t.Fatal(err)
	}
	// Limit: two authenticator apps.
	if _, err := f.svc.StartTOTP(ctx, f.user, "alice", "third"); errcode.Code(err) != errcode.DeviceLimit {
		t.Fatalf("third app = %v, want device_limit", err)
	}
}

func TestParallelConfirmationsMakeOneDevice(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	e, _ := f.svc.StartTOTP(ctx, f.user, "alice", "phone")
	code := f.codeAt(e.Secret, 0)
	var ok, conflict atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := f.svc.Confirm(ctx, f.user, e.ID, code)
			switch errcode.Code(err) {
			case "":
				ok.Add(1)
			case errcode.Conflict:
				conflict.Add(1)
			default:
				t.Errorf("unexpected: %v", err)
			}
		})
	}
	wg.Wait()
	list, _ := f.svc.List(ctx, f.user)
	if ok.Load() != 1 || conflict.Load() != 7 || len(list) != 1 {
		t.Fatalf("ok=%d conflict=%d devices=%d; want 1, 7, 1", ok.Load(), conflict.Load(), len(list))
	}
}

func TestNamesAreUniqueAmongActiveDevicesIgnoringCase(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.enroll(t, "My Phone")
	if _, err := f.svc.StartTOTP(ctx, f.user, "alice", "my phone"); errcode.Code(err) != errcode.NameTaken {
		t.Fatalf("same name, other case = %v, want name_taken", err)
	}
	// Two pending enrollments with one name: the second to confirm loses.
	f2 := newFixture(t)
	a, _ := f2.svc.StartTOTP(ctx, f2.user, "alice", "Tab")
	b, _ := f2.svc.StartTOTP(ctx, f2.user, "alice", "tab")
	if _, err := f2.svc.Confirm(ctx, f2.user, a.ID, f2.codeAt(a.Secret, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := f2.svc.Confirm(ctx, f2.user, b.ID, f2.codeAt(b.Secret, 0)); errcode.Code(err) != errcode.NameTaken {
		t.Fatalf("second confirmation with a taken name = %v, want name_taken", err)
	}
}

func TestUserCannotDeleteLastDevice(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.enroll(t, "one")
	if err := f.svc.Delete(ctx, f.user, a.ID, true); errcode.Code(err) != errcode.Conflict {
		t.Fatalf("delete last = %v, want conflict", err)
	}
	f.enroll(t, "two")
	if err := f.svc.Delete(ctx, f.user, a.ID, true); err != nil {
		t.Fatalf("delete one of two = %v", err)
	}
	if err := f.svc.Delete(ctx, "someone-else", a.ID, false); errcode.Code(err) != errcode.NotFound {
		t.Fatalf("delete by another user = %v, want not_found", err)
	}
}
