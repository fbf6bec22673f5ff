package store_test

import (
	"context"
	"path/filepath"
	"sort"
	"testing"

	"gatehouse/internal/account"
	"gatehouse/internal/mfa"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
	"gatehouse/internal/throttle"
)

func openSQLite(t *testing.T) *store.DB {
	t.Helper()
	return openMigrated(t, "sqlite:"+filepath.Join(t.TempDir(), "src.db"))
}

// openMigrated opens dsn, brings its schema up to date and closes it when
// the test ends.
func openMigrated(t *testing.T, dsn string) *store.DB {
	t.Helper()
	return store.OpenMigratedForTest(t, dsn)
}

func TestCopyAllMovesEveryRowFromSQLiteToPostgres(t *testing.T) {
	ctx := context.Background()
	src := openSQLite(t)
	addUser(t, src, "u1", "alice")
	addUser(t, src, "u2", "bob")
	_ = src.CreatePending(ctx, pending("d1", "u1", "phone"), t0)
	if _, err := src.Activate(ctx, "u1", "d1", 42, 1, 2, t0); err != nil {
		t.Fatal(err)
	}
	_ = src.CreatePending(ctx, pending("d2", "u2", "tablet"), t0)
	_ = src.CreateSession(ctx, account.Session{IDHash: "s", UserID: "u1", State: account.StateAuthenticated, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(3600e9)})
	_, _ = src.AddFailure(ctx, "account:u2", t0, t0.Add(-throttle.ForgetAfter), throttle.Wait)
	_, _ = src.PutMetaIfAbsent(ctx, "key_check", []byte("kid:\x00\x01"))

	dst, err := store.Open(ctx, testenv.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if err := dst.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	counts, err := store.CopyAll(ctx, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	want := store.CopyCounts{"users": 2, "sessions": 1, "mfa_devices": 2, "throttles": 1, "meta": 1}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("copied %s = %d, want %d", k, counts[k], v)
		}
	}
	u, err := dst.UserByUsername(ctx, "alice")
	if err != nil || !u.Admin || !u.MustChangePassword || u.Email != "alice@example.com" {
		t.Fatalf("copied user = %+v, %v", u, err)
	}
	d, err := dst.GetDevice(ctx, "u1", "d1")
	if err != nil || d.Status != mfa.StatusActive || d.LastStep != 42 || string(d.SecretCT) != string([]byte{1, 2, 3, 0, 255}) {
		t.Fatalf("copied device = %+v, %v", d, err)
	}
	if v, ok, _ := dst.GetMeta(ctx, "key_check"); !ok || string(v) != "kid:\x00\x01" {
		t.Fatalf("meta = %q", v)
	}
	// A second copy into the now non-empty database is refused.
	if _, err := store.CopyAll(ctx, src, dst); err == nil {
		t.Fatal("copy into a non-empty database was accepted")
	}
}

func TestCopyAllCoversEveryTable(t *testing.T) {
	db := openSQLite(t)
	got, err := store.Tables(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	want := store.CopiedTables()
	sort.Strings(got)
	sort.Strings(want)
	if len(got) != len(want) {
		t.Fatalf("schema tables %v, copied tables %v: add the new table to copyTables", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("schema tables %v, copied tables %v: add the new table to copyTables", got, want)
		}
	}
}
