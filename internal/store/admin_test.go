package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gatehouse/internal/account"
	"gatehouse/internal/admin"
	"gatehouse/internal/audit"
	"gatehouse/internal/mfa"
	"gatehouse/internal/store"
)

func TestSearchUsersFindsSubstringsOfUsernameOrEmailIgnoringCaseAndPages(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i, name := range []string{"alice", "bob", "carol", "dave", "eve_x", "evex"} {
			u := account.User{ID: fmt.Sprintf("u%d", i), Username: name, Email: name + "@Example.COM", PasswordHash: "h", CreatedAt: t0}
			if name == "bob" {
				u.Email = "Robert@Corp.example"
			}
			if err := db.InsertUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"", []string{"alice", "bob", "carol", "dave", "eve_x", "evex"}},
			{"AR", []string{"carol"}},
			{"corp.EXAMPLE", []string{"bob"}},
			{"example.com", []string{"alice", "carol", "dave", "eve_x", "evex"}},
			{"e_x", []string{"eve_x"}}, // '_' is literal, not LIKE's any-character
			{"%", nil},
			{"nobody", nil},
		} {
			got, total, err := db.SearchUsers(ctx, tc.query, 50, 0)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, u := range got {
				names = append(names, u.Username)
			}
			if fmt.Sprint(names) != fmt.Sprint(tc.want) || total != len(tc.want) {
				t.Errorf("search %q = %v (total %d), want %v", tc.query, names, total, tc.want)
			}
		}
		page2, total, err := db.SearchUsers(ctx, "example", 2, 2)
		if err != nil || total != 6 || len(page2) != 2 || page2[0].Username != "carol" || page2[1].Username != "dave" {
			t.Fatalf("page 2 of 2 = %+v, total %d, %v", page2, total, err)
		}
		past, total, err := db.SearchUsers(ctx, "example", 2, 10)
		if err != nil || total != 6 || len(past) != 0 {
			t.Fatalf("past the end = %d users, total %d, %v", len(past), total, err)
		}
	})
}

func TestSearchUsersCountsActiveDevicesOnly(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addUser(t, db, "u1", "alice")
		for _, id := range []string{"d1", "d2"} {
			if err := db.CreatePending(ctx, pending(id, "u1", id), t0); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Activate(ctx, "u1", "d1", 1, 0, 2, t0); err != nil {
			t.Fatal(err)
		}
		got, _, err := db.SearchUsers(ctx, "alice", 10, 0)
		if err != nil || len(got) != 1 || got[0].Devices != 1 {
			t.Fatalf("SearchUsers = %+v, %v; want alice with 1 device", got, err)
		}
	})
}

func TestTheLastEnabledAdministratorCannotBeDemotedOrDisabled(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addUser(t, db, "a1", "root")                               // an enabled admin
		u := addUser(t, db, "a2", "backup")                        // a second admin
		if _, err := db.SetDisabled(ctx, u.ID, true); err != nil { // now disabled: does not count
			t.Fatal(err)
		}
		no, yes := false, true
		if _, err := db.UpdateUser(ctx, "a1", admin.UserChange{Admin: &no}); !errors.Is(err, admin.ErrLastAdmin) {
			t.Fatalf("demoting the last enabled admin = %v, want ErrLastAdmin", err)
		}
		if _, err := db.SetDisabled(ctx, "a1", true); !errors.Is(err, admin.ErrLastAdmin) {
			t.Fatalf("disabling the last enabled admin = %v, want ErrLastAdmin", err)
		}
		// Demoting a disabled admin leaves the enabled ones as they were.
		if got, err := db.UpdateUser(ctx, "a2", admin.UserChange{Admin: &no}); err != nil || got.Admin {
			t.Fatalf("demoting a disabled admin = %+v, %v", got, err)
		}
		if _, err := db.UpdateUser(ctx, "a2", admin.UserChange{Admin: &yes}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SetDisabled(ctx, "a2", false); err != nil {
			t.Fatal(err)
		}
		if got, err := db.UpdateUser(ctx, "a1", admin.UserChange{Admin: &no}); err != nil || got.Admin {
			t.Fatalf("demoting one of two enabled admins = %+v, %v", got, err)
		}
		if _, err := db.UpdateUser(ctx, "nobody", admin.UserChange{Admin: &no}); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("updating a missing user = %v", err)
		}
	})
}

// Two administrators demoting each other at the same moment: one wins, and
// an enabled administrator remains.
func TestConcurrentDemotionsLeaveAnAdministrator(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for round := range 10 {
			a, b := fmt.Sprintf("a%d", round), fmt.Sprintf("b%d", round)
			addUser(t, db, a, "first"+a)
			addUser(t, db, b, "second"+b)
			// Only this round's two are administrators.
			no := false
			for _, prev := range []string{fmt.Sprintf("a%d", round-1), fmt.Sprintf("b%d", round-1)} {
				_, _ = db.UpdateUser(ctx, prev, admin.UserChange{Admin: &no})
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, id := range []string{a, b} {
				wg.Go(func() {
					if i == 0 {
						_, errs[i] = db.UpdateUser(ctx, id, admin.UserChange{Admin: &no})
					} else {
						_, errs[i] = db.SetDisabled(ctx, id, true)
					}
				})
			}
			wg.Wait()
			failed := 0
			for _, err := range errs {
				if errors.Is(err, admin.ErrLastAdmin) {
					failed++
				} else if err != nil {
					t.Fatal(err)
				}
			}
			if failed != 1 {
				t.Fatalf("round %d: %d of 2 concurrent demotions refused, want exactly 1 (%v)", round, failed, errs)
			}
		}
	})
}

func addSessionAndTrust(t *testing.T, db *store.DB, userID, tag string) {
	t.Helper()
	ctx := context.Background()
	if err := db.CreateSession(ctx, account.Session{IDHash: "s-" + tag, UserID: userID, State: account.StateAuthenticated, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateTrustedBrowser(ctx, account.TrustedBrowser{ID: "tb-" + tag, UserID: userID, TokenHash: "th-" + tag, Network: "10.0.0.0/24", CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

func wantAccessEnded(t *testing.T, db *store.DB, userID, tag string, ended bool) {
	t.Helper()
	ctx := context.Background()
	_, err := db.SessionByHash(ctx, "s-"+tag, t0)
	if ended != errors.Is(err, account.ErrNotFound) {
		t.Errorf("session %s: %v (want ended=%v)", tag, err, ended)
	}
	list, err := db.ListTrustedBrowsers(ctx, userID, t0)
	if err != nil {
		t.Fatal(err)
	}
	if ended != (len(list) == 0) {
		t.Errorf("trusted browsers of %s: %d (want ended=%v)", userID, len(list), ended)
	}
}

func TestDisablePasswordResetAndMFAResetEndSessionsAndTrustedBrowsers(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addUser(t, db, "a0", "root")
		for _, tc := range []struct {
			name string
			do   func(id string) error
		}{
			{"disable", func(id string) error { _, err := db.SetDisabled(ctx, id, true); return err }},
			{"password reset", func(id string) error { return db.SetOneTimePassword(ctx, id, "new-hash") }},
			{"mfa reset", func(id string) error { _, err := db.ResetMFA(ctx, id); return err }},
		} {
			id := "u-" + tc.name
			addUser(t, db, id, fmt.Sprintf("user%d", len(tc.name)))
			addSessionAndTrust(t, db, id, tc.name)
			addSessionAndTrust(t, db, "a0", "bystander-"+tc.name)
			if err := tc.do(id); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			wantAccessEnded(t, db, id, tc.name, true)
			wantAccessEnded(t, db, "a0", "bystander-"+tc.name, false)
		}
		u, _ := db.UserByID(ctx, "u-password reset")
		if u.PasswordHash != "new-hash" || !u.MustChangePassword {
			t.Errorf("after a password reset: %+v, want the new hash and a change required", u)
		}
		if err := db.SetOneTimePassword(ctx, "nobody", "h"); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("password reset of a missing user = %v", err)
		}
		if _, err := db.ResetMFA(ctx, "nobody"); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("MFA reset of a missing user = %v", err)
		}
	})
}

func TestResetMFARemovesEveryDeviceOfTheUserOnly(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addUser(t, db, "u1", "alice")
		addUser(t, db, "u2", "bob")
		for _, d := range []mfa.Device{pending("d1", "u1", "one"), pending("d2", "u1", "two"), pending("d3", "u1", "three"), pending("d4", "u2", "bobs")} {
			if err := db.CreatePending(ctx, d, t0); err != nil {
				t.Fatal(err)
			}
		}
		for _, a := range [][2]string{{"u1", "d1"}, {"u1", "d2"}, {"u2", "d4"}} {
			if _, err := db.Activate(ctx, a[0], a[1], 1, 0, 2, t0); err != nil {
				t.Fatal(err)
			}
		}
		n, err := db.ResetMFA(ctx, "u1")
		if err != nil || n != 2 {
			t.Fatalf("ResetMFA = %d, %v; want 2 active devices removed", n, err)
		}
		if _, err := db.GetDevice(ctx, "u1", "d3"); !errors.Is(err, mfa.ErrNotFound) {
			t.Errorf("the pending registration survived the reset: %v", err)
		}
		if list, _ := db.ListDevices(ctx, "u1"); len(list) != 0 {
			t.Errorf("alice still has %d devices", len(list))
		}
		if list, _ := db.ListDevices(ctx, "u2"); len(list) != 1 {
			t.Errorf("bob has %d devices after alice's reset, want 1", len(list))
		}
	})
}

func eventsNamed(t *testing.T, db *store.DB, name string) []audit.Event {
	t.Helper()
	list, _, err := db.ListEvents(context.Background(), audit.Filter{Name: name, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// A change and its event commit together or not at all.
func TestAttachedEventsAreWrittenWithTheChangeOnly(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ev := func(name string) context.Context {
			return audit.Attach(ctx, audit.Event{Name: name, Result: audit.Success, TargetUserID: "a1", Time: t0})
		}
		if err := db.InsertUser(ev(audit.CreateUser), account.User{ID: "a1", Username: "root", Admin: true, PasswordHash: "h", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		no := false
		if _, err := db.UpdateUser(ev(audit.UpdateUser), "a1", admin.UserChange{Admin: &no}); !errors.Is(err, admin.ErrLastAdmin) {
			t.Fatal(err)
		}
		if _, err := db.SetDisabled(ev(audit.DisableUser), "a1", true); !errors.Is(err, admin.ErrLastAdmin) {
			t.Fatal(err)
		}
		if err := db.InsertUser(ev("duplicate"), account.User{ID: "a2", Username: "root", PasswordHash: "h", CreatedAt: t0}); !errors.Is(err, account.ErrUsernameTaken) {
			t.Fatal(err)
		}
		if err := db.SetOneTimePassword(ev(audit.ResetPassword), "a1", "h2"); err != nil {
			t.Fatal(err)
		}
		if err := db.Rename(ev(audit.UpdateMfaDeviceForUser), "a1", "missing", "x", "x"); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatal(err)
		}
		for name, want := range map[string]int{audit.CreateUser: 1, audit.UpdateUser: 0, audit.DisableUser: 0, "duplicate": 0, audit.ResetPassword: 1, audit.UpdateMfaDeviceForUser: 0} {
			if got := len(eventsNamed(t, db, name)); got != want {
				t.Errorf("%s: %d events, want %d", name, got, want)
			}
		}
		// A rename that happens writes its event.
		_ = db.CreatePending(ctx, pending("d1", "a1", "phone"), t0)
		if _, err := db.Activate(ctx, "a1", "d1", 1, 0, 2, t0); err != nil {
			t.Fatal(err)
		}
		if err := db.Rename(ev(audit.UpdateMfaDeviceForUser), "a1", "d1", "Phone 2", "phone 2"); err != nil {
			t.Fatal(err)
		}
		if got := len(eventsNamed(t, db, audit.UpdateMfaDeviceForUser)); got != 1 {
			t.Errorf("rename wrote %d events, want 1", got)
		}
	})
}

func TestExportEventsOldestFirstWithinTheRange(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i := range 5 {
			if err := db.RecordEvents(ctx, audit.Event{Name: audit.UserAuthentication, Result: audit.Success, Time: t0.Add(time.Duration(i) * time.Minute), Detail: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		err := db.ExportEvents(ctx, audit.Filter{Since: t0.Add(time.Minute), Until: t0.Add(4 * time.Minute)}, func(e audit.Event) error {
			got = append(got, e.Detail)
			return nil
		})
		if err != nil || fmt.Sprint(got) != "[1 2 3]" {
			t.Fatalf("export = %v, %v; want [1 2 3]", got, err)
		}
	})
}

func TestAPITokensAreFoundByHashTouchedAndRevoked(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tok := admin.Token{ID: "t1", Name: "deploy", CreatedAt: t0}
		if err := db.InsertToken(ctx, tok, "hash1"); err != nil {
			t.Fatal(err)
		}
		if err := db.InsertToken(ctx, admin.Token{ID: "t2", Name: "deploy", CreatedAt: t0}, "hash2"); !errors.Is(err, admin.ErrTokenNameTaken) {
			t.Fatalf("a second token named deploy = %v, want ErrTokenNameTaken", err)
		}
		got, err := db.TokenByHash(ctx, "hash1")
		if err != nil || got != tok {
			t.Fatalf("TokenByHash = %+v, %v", got, err)
		}
		if _, err := db.TokenByHash(ctx, "nope"); !errors.Is(err, admin.ErrTokenNotFound) {
			t.Fatalf("unknown hash = %v", err)
		}
		if err := db.TouchToken(ctx, "t1", t0.Add(time.Minute), t0); err != nil {
			t.Fatal(err)
		}
		// Within the interval nothing is written.
		if err := db.TouchToken(ctx, "t1", t0.Add(90*time.Second), t0.Add(30*time.Second)); err != nil {
			t.Fatal(err)
		}
		got, _ = db.TokenByHash(ctx, "hash1")
		if !got.LastUsedAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("last used = %v, want %v", got.LastUsedAt, t0.Add(time.Minute))
		}
		r1, err := db.RevokeToken(ctx, "deploy", t0.Add(time.Hour))
		if err != nil || !r1.RevokedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("revoke = %+v, %v", r1, err)
		}
		r2, _ := db.RevokeToken(ctx, "deploy", t0.Add(2*time.Hour))
		if !r2.RevokedAt.Equal(r1.RevokedAt) {
			t.Errorf("revoking twice moved the time to %v", r2.RevokedAt)
		}
		if _, err := db.RevokeToken(ctx, "nope", t0); !errors.Is(err, admin.ErrTokenNotFound) {
			t.Errorf("revoking an unknown token = %v", err)
		}
		if list, err := db.ListTokens(ctx); err != nil || len(list) != 1 || list[0].RevokedAt.IsZero() {
			t.Errorf("ListTokens = %+v, %v", list, err)
		}
	})
}
