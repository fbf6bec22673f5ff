package admin_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/admin"
	"gatehouse/internal/audit"
	"gatehouse/internal/errcode"
	"gatehouse/internal/store"
)

var t0 = time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)

func openStore(t *testing.T) *store.DB {
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
	return db
}

type fakeHasher struct{}

func (fakeHasher) Hash(_ context.Context, pw string) (string, error) { return "hash:" + pw, nil }

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := errcode.Code(err); got != code {
		t.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}

func TestUsersRejectsBadPagingAndPagesPastTheEnd(t *testing.T) {
	db := openStore(t)
	s := &admin.Service{Store: db, Hasher: fakeHasher{}, Now: func() time.Time { return t0 }}
	ctx := context.Background()
	for _, name := range []string{"ann", "bob", "cy"} {
		if _, _, err := s.CreateUser(ctx, name, "", false); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		query      string
		page, size int
		code       string
	}{
		{"", 0, 10, errcode.InvalidInput},
		{"", 1, 0, errcode.InvalidInput},
		{"", 1, admin.MaxPageSize + 1, errcode.InvalidInput},
		{"", 3, 1, ""},
		{"", 4, 1, errcode.InvalidInput},
		{"nobody", 1, 10, ""}, // page 1 of nothing is an empty page
		{"nobody", 2, 10, errcode.InvalidInput},
		{strings.Repeat("x", admin.QueryMaxLength+1), 1, 10, errcode.InvalidInput},
	} {
		_, err := s.Users(ctx, tc.query, tc.page, tc.size)
		if got := errcode.Code(err); got != tc.code {
			t.Errorf("Users(%.10q, %d, %d) = %v, want code %q", tc.query, tc.page, tc.size, err, tc.code)
		}
	}
}

func TestCreateUserGivesAOneTimePasswordAndRecordsWhoDidIt(t *testing.T) {
	db := openStore(t)
	s := &admin.Service{Store: db, Hasher: fakeHasher{}, Now: func() time.Time { return t0 }}
	ctx := audit.WithRequest(context.Background(), audit.Request{ActorID: "a1", ActorName: "root", SourceIP: "192.0.2.1", UserAgent: "test"})
	u, pw, err := s.CreateUser(ctx, " Dora ", "dora@example.com", true)
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "dora" || !u.MustChangePassword || u.PasswordHash != "hash:"+pw || len(pw) != 20 {
		t.Fatalf("created %+v with password %q", u, pw)
	}
	events, _, err := db.ListEvents(context.Background(), audit.Filter{Name: audit.CreateUser})
	if err != nil || len(events) != 1 {
		t.Fatalf("events = %+v, %v", events, err)
	}
	e := events[0]
	if e.ActorName != "root" || e.TargetUserID != u.ID || e.SourceIP != "192.0.2.1" || !e.Time.Equal(t0) || e.Detail != "admin=true" {
		t.Errorf("event %+v", e)
	}
	_, _, err = s.CreateUser(ctx, "dora", "", false)
	wantCode(t, err, errcode.Conflict)
}

func TestAnAdministratorCannotDisableTheirOwnAccount(t *testing.T) {
	db := openStore(t)
	s := &admin.Service{Store: db, Hasher: fakeHasher{}, Now: func() time.Time { return t0 }}
	ctx := context.Background()
	a, _, _ := s.CreateUser(ctx, "a", "", true)
	b, _, _ := s.CreateUser(ctx, "b", "", true)
	asA := audit.WithRequest(ctx, audit.Request{ActorID: a.ID, ActorName: "a"})
	_, err := s.Disable(asA, a.ID)
	wantCode(t, err, errcode.Conflict)
	if _, err := s.Disable(asA, b.ID); err != nil {
		t.Fatal(err)
	}
	// b is disabled: a is the last enabled administrator, even for the CLI.
	_, err = s.Disable(ctx, a.ID)
	wantCode(t, err, errcode.Conflict)
	no := false
	_, err = s.UpdateUser(ctx, a.ID, admin.UserChange{Admin: &no})
	wantCode(t, err, errcode.Conflict)
	refused, _, _ := db.ListEvents(ctx, audit.Filter{Result: audit.Failure})
	if len(refused) != 3 {
		t.Errorf("%d refusals recorded, want 3: %+v", len(refused), refused)
	}
	_, err = s.Enable(ctx, "nobody")
	wantCode(t, err, errcode.NotFound)
}

func TestTokensAreRandomHashedAndRefusedWhenMalformedOrRevoked(t *testing.T) {
	db := openStore(t)
	now := t0
	tok := &admin.Tokens{Store: db, Now: func() time.Time { return now }, Rand: bytes.NewReader(bytes.Repeat([]byte{7}, 128))}
	ctx := context.Background()
	created, secret, err := tok.Create(ctx, "deploy")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, admin.TokenPrefix) || len(secret) != 46 {
		t.Fatalf("secret %q", secret)
	}
	if _, err := db.TokenByHash(ctx, secret); err == nil {
		t.Fatal("the secret itself is stored")
	}
	got, err := tok.Authenticate(ctx, secret)
	if err != nil || got.ID != created.ID || !got.LastUsedAt.Equal(now) {
		t.Fatalf("Authenticate = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "gh_", "xx" + secret[2:], secret + "A", secret[:45] + "!", "gh_" + strings.Repeat("B", 43)} {
		_, err := tok.Authenticate(ctx, bad)
		wantCode(t, err, errcode.Unauthenticated)
	}
	for _, name := range []string{"", "has space", "ünïcode", strings.Repeat("n", admin.TokenNameMaxLength+1)} {
		_, _, err := tok.Create(ctx, name)
		wantCode(t, err, errcode.InvalidInput)
	}
	now = now.Add(time.Hour)
	if _, err := tok.Revoke(ctx, "deploy"); err != nil {
		t.Fatal(err)
	}
	_, err = tok.Authenticate(ctx, secret)
	wantCode(t, err, errcode.Unauthenticated)
	_, err = tok.Revoke(ctx, "nope")
	wantCode(t, err, errcode.NotFound)
}

func TestEventQueryValidationNamesWhatIsAccepted(t *testing.T) {
	for _, tc := range []struct {
		q    admin.EventQuery
		want string
	}{
		{admin.EventQuery{Name: "Nope", Page: 1, PageSize: 10}, "CreateUser"},
		{admin.EventQuery{Result: "ok", Page: 1, PageSize: 10}, "Success, Failure"},
		{admin.EventQuery{Since: t0, Until: t0, Page: 1, PageSize: 10}, "before"},
		{admin.EventQuery{Page: 0, PageSize: 10}, "page"},
		{admin.EventQuery{Page: 1, PageSize: 0}, "page_size"},
		{admin.EventQuery{Name: audit.ResetMfa, Result: audit.Success, Since: t0, Until: t0.Add(time.Second), Page: 1, PageSize: 1}, ""},
	} {
		err := tc.q.Validate()
		if tc.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", tc.q, err)
			}
			continue
		}
		wantCode(t, err, errcode.InvalidInput)
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %q does not mention %q", tc.q, err, tc.want)
		}
	}
}
