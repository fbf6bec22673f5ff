package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/internal/account"
	"gatehouse/internal/mfa"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
	"gatehouse/internal/throttle"
)

// eachDialect runs the conformance test against a fresh SQLite file and a
// fresh PostgreSQL schema.
func eachDialect(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			dsn := "sqlite:" + filepath.Join(t.TempDir(), "t.db")
			if d == "postgres" {
				dsn = testenv.PostgresDSN(t)
			}
			db := openMigrated(t, dsn)
			fn(t, db)
		})
	}
}

var t0 = time.UnixMilli(1_800_000_000_123).UTC()

func addUser(t *testing.T, db *store.DB, id, name string) account.User {
	t.Helper()
	u := account.User{ID: id, Username: name, Email: name + "@example.com", Admin: true, PasswordHash: "h", MustChangePassword: true, CreatedAt: t0}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func pending(id, user, name string) mfa.Device {
	return mfa.Device{ID: id, UserID: user, Type: mfa.TypeTOTP, Name: name, NameKey: name, Status: mfa.StatusPending,
		CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute), SecretKeyID: "k", SecretCT: []byte{1, 2, 3, 0, 255}, LastStep: -1}
}

func TestUsersRoundTripAndUsernamesAreUnique(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := addUser(t, db, "u1", "alice")
		got, err := db.UserByUsername(ctx, "alice")
		if err != nil || got != u {
			t.Fatalf("UserByUsername = %+v, %v; want %+v", got, err, u)
		}
		if _, err := db.UserByID(ctx, "nope"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("missing user = %v", err)
		}
		if err := db.CreateUser(ctx, account.User{ID: "u2", Username: "alice", PasswordHash: "h", CreatedAt: t0}); !errors.Is(err, account.ErrUsernameTaken) {
			t.Fatalf("duplicate username = %v", err)
		}
		if err := db.SetPassword(ctx, "u1", "h2", false); err != nil {
			t.Fatal(err)
		}
		got, _ = db.UserByID(ctx, "u1")
		if got.PasswordHash != "h2" || got.MustChangePassword {
			t.Fatalf("after SetPassword: %+v", got)
		}
		if n, err := db.CountUsers(ctx); err != nil || n != 1 {
			t.Fatalf("CountUsers = %d, %v", n, err)
		}
	})
}

func TestSessionsRotateExpireAndCountFailures(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addUser(t, db, "u1", "alice")
		s := account.Session{IDHash: "a", UserID: "u1", State: account.StateMFA, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Minute)}
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		if got, err := db.SessionByHash(ctx, "a", t0); err != nil || got != s {
			t.Fatalf("SessionByHash = %+v, %v", got, err)
		}
		if _, err := db.SessionByHash(ctx, "a", t0.Add(time.Minute)); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("expired session = %v, want not found", err)
		}
		if got, u, err := db.SessionWithUser(ctx, "a", t0); err != nil || got != s || u.ID != "u1" || u.Username != "alice" || u.CreatedAt.IsZero() {
			t.Fatalf("SessionWithUser = %+v, %+v, %v", got, u, err)
		}
		if _, _, err := db.SessionWithUser(ctx, "a", t0.Add(time.Minute)); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("SessionWithUser of an expired session = %v, want not found", err)
		}
		for want := 1; want <= 3; want++ {
			if n, err := db.AddChallengeFailure(ctx, "a"); err != nil || n != want {
				t.Fatalf("AddChallengeFailure = %d, %v; want %d", n, err, want)
			}
		}
		if err := db.RotateSession(ctx, "a", "b", account.StateAuthenticated, t0.Add(time.Hour), t0); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SessionByHash(ctx, "a", t0); !errors.Is(err, account.ErrNotFound) {
			t.Fatal("the old id still works after rotation")
		}
		got, err := db.SessionByHash(ctx, "b", t0)
		if err != nil || got.State != account.StateAuthenticated || got.MFAFailures != 0 {
			t.Fatalf("rotated session = %+v, %v", got, err)
		}
		if err := db.RotateSession(ctx, "a", "c", account.StateAuthenticated, t0.Add(time.Hour), t0); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("rotating a gone id = %v", err)
		}
		_ = db.CreateSession(ctx, account.Session{IDHash: "z", UserID: "u1", State: account.StateAuthenticated, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)})
		if err := db.DeleteUserSessions(ctx, "u1", "b"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SessionByHash(ctx, "z", t0); !errors.Is(err, account.ErrNotFound) {
			t.Fatal("DeleteUserSessions kept another session")
		}
		if _, err := db.SessionByHash(ctx, "b", t0); err != nil {
			t.Fatal("DeleteUserSessions removed the kept session")
		}
	})
}

func TestDeviceLifecycle(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addUser(t, db, "u1", "alice")
		addUser(t, db, "u2", "bob")
		d := pending("d1", "u1", "phone")
		if err := db.CreatePending(ctx, d, t0); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetDevice(ctx, "u1", "d1")
		if err != nil || string(got.SecretCT) != string(d.SecretCT) || got.Status != mfa.StatusPending || !got.ExpiresAt.Equal(d.ExpiresAt) {
			t.Fatalf("GetDevice = %+v, %v", got, err)
		}
		if _, err := db.GetDevice(ctx, "u2", "d1"); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatalf("another user's device = %v, want not found", err)
		}
		if list, _ := db.ListDevices(ctx, "u1"); len(list) != 0 {
			t.Fatal("pending device listed")
		}
		if _, err := db.Activate(ctx, "u1", "d1", 100, 1, 2, t0.Add(10*time.Minute)); !errors.Is(err, mfa.ErrExpired) {
			t.Fatalf("activate at expiry = %v, want ErrExpired", err)
		}
		a, err := db.Activate(ctx, "u1", "d1", 100, 1, 2, t0.Add(time.Minute))
		if err != nil || a.Status != mfa.StatusActive || a.LastStep != 100 {
			t.Fatalf("Activate = %+v, %v", a, err)
		}
		if _, err := db.Activate(ctx, "u1", "d1", 100, 1, 2, t0.Add(time.Minute)); !errors.Is(err, mfa.ErrNotPending) {
			t.Fatalf("second activation = %v, want ErrNotPending", err)
		}
		// Replay guard.
		if err := db.RecordUse(ctx, "d1", 100, 0, t0); !errors.Is(err, mfa.ErrReplay) {
			t.Fatalf("same step = %v, want ErrReplay", err)
		}
		if err := db.RecordUse(ctx, "d1", 101, 1, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, _ = db.GetDevice(ctx, "u1", "d1")
		if got.LastStep != 101 || got.Drift != 1 || !got.LastUsedAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("after RecordUse: %+v", got)
		}
		// Names: unique among active devices.
		if err := db.CreatePending(ctx, pending("d2", "u1", "phone"), t0); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Activate(ctx, "u1", "d2", 5, 0, 2, t0); !errors.Is(err, mfa.ErrNameTaken) {
			t.Fatalf("activate taken name = %v", err)
		}
		if err := db.CreatePending(ctx, pending("d3", "u1", "tablet"), t0); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Activate(ctx, "u1", "d3", 5, 0, 2, t0); err != nil {
			t.Fatal(err)
		}
		if err := db.Rename(ctx, "u1", "d3", "Phone", "phone"); !errors.Is(err, mfa.ErrNameTaken) {
			t.Fatalf("rename onto a taken name = %v", err)
		}
		if n, _ := db.CountDevices(ctx, "u1", mfa.TypeTOTP); n != 2 {
			t.Fatalf("CountDevices = %d", n)
		}
		// Limit.
		if err := db.CreatePending(ctx, pending("d4", "u1", "third"), t0); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Activate(ctx, "u1", "d4", 5, 0, 2, t0); !errors.Is(err, mfa.ErrLimit) {
			t.Fatalf("third activation = %v, want ErrLimit", err)
		}
		// Delete: the last active device is kept when asked.
		if err := db.Delete(ctx, "u1", "d1", true); err != nil {
			t.Fatal(err)
		}
		if err := db.Delete(ctx, "u1", "d3", true); !errors.Is(err, mfa.ErrLastDevice) {
			t.Fatalf("delete last = %v", err)
		}
		if err := db.Delete(ctx, "u2", "d3", false); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatalf("delete by another user = %v", err)
		}
		if err := db.Delete(ctx, "u1", "d3", false); err != nil {
			t.Fatal(err)
		}
	})
}

// TestPendingEnrollmentsAreBoundedAndSwept: at most MaxPendingEnrollments
// per user, the oldest giving way, and expired ones swept.
func TestPendingEnrollmentsAreBoundedAndSwept(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addUser(t, db, "u1", "alice")
		for i := range mfa.MaxPendingEnrollments {
			if err := db.CreatePending(ctx, pending("p"+string(rune('a'+i)), "u1", "n"), t0); err != nil {
				t.Fatal(err)
			}
		}
		// One more replaces the oldest: storage stays bounded and nobody is
		// blocked by abandoned tabs.
		if err := db.CreatePending(ctx, pending("over", "u1", "n"), t0); err != nil {
			t.Fatalf("one more pending = %v", err)
		}
		if _, err := db.GetDevice(ctx, "u1", "pa"); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatal("the oldest pending enrollment was kept")
		}
		if _, err := db.GetDevice(ctx, "u1", "over"); err != nil {
			t.Fatal("the newest pending enrollment was not stored")
		}
		// Once they expire they make room.
		later := t0.Add(11 * time.Minute)
		d := pending("fresh", "u1", "n")
		d.ExpiresAt = later.Add(10 * time.Minute)
		if err := db.CreatePending(ctx, d, later); err != nil {
			t.Fatalf("after expiry = %v", err)
		}
		if err := db.Sweep(ctx, later.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetDevice(ctx, "u1", "fresh"); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatal("Sweep kept an expired enrollment")
		}
	})
}

func TestConcurrentRecordUseSucceedsOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addUser(t, db, "u1", "alice")
		_ = db.CreatePending(ctx, pending("d1", "u1", "phone"), t0)
		if _, err := db.Activate(ctx, "u1", "d1", 1, 0, 2, t0); err != nil {
			t.Fatal(err)
		}
		var ok, replay atomic.Int32
		var wg sync.WaitGroup
		for range 12 {
			wg.Go(func() {
				switch err := db.RecordUse(ctx, "d1", 2, 0, t0); {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, mfa.ErrReplay):
					replay.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 || replay.Load() != 11 {
			t.Fatalf("ok=%d replay=%d", ok.Load(), replay.Load())
		}
	})
}

func TestConcurrentActivationsRespectTheLimit(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addUser(t, db, "u1", "alice")
		for i := range 6 {
			_ = db.CreatePending(ctx, pending("d"+string(rune('0'+i)), "u1", "name"+string(rune('0'+i))), t0)
		}
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Go(func() {
				_, err := db.Activate(ctx, "u1", "d"+string(rune('0'+i)), 1, 0, 2, t0)
				if err != nil && !errors.Is(err, mfa.ErrLimit) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n, _ := db.CountDevices(ctx, "u1", mfa.TypeTOTP); n != 2 {
			t.Fatalf("active devices = %d, want 2", n)
		}
	})
}

func TestThrottleCountsAcrossConnectionsAndForgets(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if _, err := db.AddFailure(ctx, "k", t0, t0.Add(-throttle.ForgetAfter), throttle.Wait); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		st, err := db.ThrottleState(ctx, "k")
		if err != nil || st.Failures != 10 {
			t.Fatalf("failures = %d, %v; want 10", st.Failures, err)
		}
		if !st.LockedUntil.After(t0) {
			t.Fatal("10 failures did not lock")
		}
		later := t0.Add(throttle.ForgetAfter + time.Second)
		st, _ = db.AddFailure(ctx, "k", later, later.Add(-throttle.ForgetAfter), throttle.Wait)
		if st.Failures != 1 {
			t.Fatalf("after a quiet period failures = %d, want 1", st.Failures)
		}
		if err := db.ResetThrottle(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if st, _ := db.ThrottleState(ctx, "k"); st.Failures != 0 {
			t.Fatal("reset kept failures")
		}
	})
}

func TestMetaIsWrittenOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if ok, err := db.PutMetaIfAbsent(ctx, "k", []byte("one")); !ok || err != nil {
			t.Fatalf("first put = %v, %v", ok, err)
		}
		if ok, _ := db.PutMetaIfAbsent(ctx, "k", []byte("two")); ok {
			t.Fatal("second put overwrote")
		}
		if v, ok, _ := db.GetMeta(ctx, "k"); !ok || string(v) != "one" {
			t.Fatalf("GetMeta = %q, %v", v, ok)
		}
	})
}

func TestRedactHidesPassword(t *testing.T) {
	got := store.Redact("postgres://gh:s3cret@db.example:5432/gatehouse?sslmode=require")
	if got != "postgres://gh:xxxxx@db.example:5432/gatehouse?sslmode=require" {
		t.Fatalf("Redact = %q", got)
	}
}

func TestRedactHidesPasswordsEvenInDSNsThatDoNotParse(t *testing.T) {
	tests := map[string]string{
		"postgres://gh:s3cret@127.0.0.1:notaport/x":                 "postgres://gh:xxxxx@127.0.0.1:notaport/x",
		"postgres://gh:s3cret@[127.0.0.1/x":                         "postgres://gh:xxxxx@[127.0.0.1/x",
		"postgres://gh@127.0.0.1/x?sslmode=disable&password=s3cret": "postgres://gh@127.0.0.1/x?sslmode=disable&password=xxxxx",
		"host=127.0.0.1 user=gh password=s3cret dbname=x":           "host=127.0.0.1 user=gh password=xxxxx dbname=x",
		"postgres://gh@127.0.0.1/x":                                 "postgres://gh@127.0.0.1/x",
		"sqlite:/data/gatehouse.db":                                 "sqlite:/data/gatehouse.db",
	}
	for in, want := range tests {
		if got := store.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOpenRefusesDSNsItCannotServe(t *testing.T) {
	for _, dsn := range []string{"mysql://root@localhost/x", "host=127.0.0.1 user=gh password=s3cret", ""} {
		db, err := store.Open(context.Background(), dsn)
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", dsn)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) error shows the password: %v", dsn, err)
		}
	}
}
