package main

// The command line as an operator uses it: `users` while `serve` runs on the
// same SQLite data dir, and `migrate-data` from a real single-node
// installation into PostgreSQL, checked by signing in with the device that
// was registered before the move.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gatehouse/internal/testenv"
)

// TestUsersCommandsWhileServing: `users add` and `users list` work on the
// data dir of a running node, and the node sees the users at once.
func TestUsersCommandsWhileServing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := startNode(t, nodeConfig{Name: "sqlite", Dir: dir})
	if n.AdminPassword == "" {
		t.Fatalf("serve did not print the administrator's one-time password:\n%s", n.Stdout())
	}
	if !strings.Contains(n.Stdout(), "Gatehouse is running: open "+n.URL) {
		t.Errorf("serve did not print where to open it (%s):\n%s", n.URL, n.Stdout())
	}
	db := []string{"--data-dir", dir}

	// A generated one-time password, which the user must change.
	r := gatehouse(t, "", nil, append([]string{"users", "add", "bob", "--email", "b@example.com"}, db...)...)
	if r.Code != 0 {
		t.Fatalf("users add bob:\n%s", r)
	}
	m := regexp.MustCompile(`one-time password: (\S+)`).FindStringSubmatch(r.Stdout)
	if m == nil || !strings.Contains(r.Stdout, "Created user bob.") {
		t.Fatalf("users add bob printed no one-time password:\n%s", r)
	}
	bob := newClient(t)
	wantState(t, bob.signIn(n, "bob", m[1]), "password_change_required")

	// --password-stdin: a short password is refused and nothing is created.
	r = gatehouse(t, "short\n", nil, append([]string{"users", "add", "carol", "--password-stdin"}, db...)...)
	if r.Code == 0 || !strings.Contains(r.Stderr, "12") {
		t.Fatalf("users add with a 5-character password: want a non-zero exit that names the minimum (12):\n%s", r)
	}
	oneLine(t, r.Stderr)
	r = gatehouse(t, "", nil, append([]string{"users", "add", "carol", "--password-stdin"}, db...)...)
	if r.Code == 0 || !strings.Contains(r.Stderr, "empty") {
		t.Fatalf("users add with an empty standard input: want a clear error:\n%s", r)
	}
	wantError(t, newClient(t).signIn(n, "carol", "short"), http.StatusUnauthorized, "invalid_credentials")

	// A good one is final: no one-time password, no change asked.
	r = gatehouse(t, "carol's long password\n", nil, append([]string{"users", "add", "carol", "--password-stdin", "--admin"}, db...)...)
	if r.Code != 0 || !strings.Contains(r.Stdout, "Created user carol.") || strings.Contains(r.Stdout, "one-time") {
		t.Fatalf("users add carol --password-stdin:\n%s", r)
	}
	carol := newClient(t)
	wantState(t, carol.signIn(n, "carol", "carol's long password"), "authenticated")
	if me := carol.do(n, "GET", "/api/v1/me", nil); me.obj()["admin"] != true {
		t.Errorf("carol was added with --admin: %s", me)
	}

	// The name may come after the flags; a taken name is a clear error.
	r = gatehouse(t, "", nil, append(append([]string{"users", "add"}, db...), "BOB")...)
	if r.Code == 0 || !strings.Contains(r.Stderr, `"bob" is taken`) {
		t.Fatalf("users add of an existing name: want a non-zero exit saying it is taken:\n%s", r)
	}
	oneLine(t, r.Stderr)
	for _, bad := range [][]string{{"users", "add", "-bad name"}, {"users", "add", "ok", "--email", "not an email"}, {"users", "add"}, {"users", "frobnicate"}} {
		r = gatehouse(t, "", nil, append(bad, db...)...)
		if r.Code == 0 || strings.TrimSpace(r.Stderr) == "" {
			t.Errorf("%s: want a non-zero exit and an error:\n%s", strings.Join(bad, " "), r)
		}
	}

	// users list shows everyone, by flag or by environment.
	for _, how := range []struct {
		args []string
		env  []string
	}{
		{append([]string{"users", "list"}, db...), nil},
		{[]string{"users", "list"}, []string{"GATEHOUSE_DATA_DIR=" + dir}},
	} {
		r = gatehouse(t, "", how.env, how.args...)
		if r.Code != 0 {
			t.Fatalf("users list:\n%s", r)
		}
		lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
		if len(lines) != 4 || !strings.HasPrefix(lines[0], "USERNAME") {
			t.Fatalf("users list: want a header and 3 users:\n%s", r.Stdout)
		}
		for i, want := range [][]string{{"admin", "true", "0"}, {"bob", "b@example.com", "false", "0"}, {"carol", "true", "0"}} {
			f := strings.Fields(lines[i+1])
			if f[0] != want[0] {
				t.Errorf("users list line %d = %q, want user %s (sorted by name)", i+1, lines[i+1], want[0])
			}
			for _, w := range want[1:] {
				if !strings.Contains(lines[i+1], w) {
					t.Errorf("users list line %q lacks %q", lines[i+1], w)
				}
			}
		}
	}

	// The node kept serving throughout and still does.
	wantStatus(t, bob.do(n, "GET", "/readyz", nil), http.StatusOK)
}

// installation is a single-node SQLite Gatehouse that has been used: the
// administrator changed the one-time password and registered an
// authenticator app, and bob was added from the shell.
type installation struct {
	Dir     string
	AdminPW string
	App     *authApp
	Admin   *client // still holds the session made on the SQLite node
}

const adminPW = "the administrator's own password"

func setUpSQLiteInstallation(t *testing.T) installation {
	t.Helper()
	testenv.RequireTool(t, "oathtool")
	dir := t.TempDir()
	n := startNode(t, nodeConfig{Name: "sqlite", Dir: dir})
	adm := newClient(t)
	wantState(t, adm.signIn(n, "admin", n.AdminPassword), "password_change_required")
	wantState(t, adm.do(n, "POST", "/api/v1/auth/password-change", map[string]string{"new_password": adminPW}), "authenticated")
	app := enroll(t, adm, n, n, "Admin's phone")
	if r := gatehouse(t, "bob's long password\n", nil, "users", "add", "bob", "--password-stdin", "--data-dir", dir); r.Code != 0 {
		t.Fatalf("users add bob:\n%s", r)
	}
	n.Stop(t)
	return installation{Dir: dir, AdminPW: adminPW, App: app, Admin: adm}
}

// withPassword puts a password into a DSN (trust auth ignores it), so tests
// can check that no output shows it.
func withPassword(t *testing.T, dsn, pw string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), pw)
	return u.String()
}

// TestMigrateDataToPostgres moves a used SQLite installation into PostgreSQL
// and signs in there with the password and a fresh code of the device
// registered before the move, on a node that has the same key file; a node
// given the same key through GATEHOUSE_KEY works too, one with another key
// refuses to start. A second migrate-data into the same database is refused.
func TestMigrateDataToPostgres(t *testing.T) {
	t.Parallel()
	gatehouseBinary(t)
	inst := setUpSQLiteInstallation(t)
	dsn := withPassword(t, testenv.PostgresDSN(t), "s3cret")
	from := "sqlite:" + filepath.Join(inst.Dir, "gatehouse.db")

	r := gatehouse(t, "", nil, "migrate-data", "--from", from, "--to", dsn)
	if r.Code != 0 {
		t.Fatalf("migrate-data:\n%s", r)
	}
	if strings.Contains(r.Stdout+r.Stderr, "s3cret") {
		t.Errorf("migrate-data showed the DSN's password:\n%s", r)
	}
	// meta: the key check and the recovery-code key, both sealed.
	for table, want := range map[string]int{"users": 2, "mfa_devices": 1, "meta": 2} {
		m := regexp.MustCompile(`(?m)^\s*` + table + `\s+(\d+) rows`).FindStringSubmatch(r.Stdout)
		if m == nil || m[1] != strconv.Itoa(want) {
			t.Errorf("migrate-data: want %s %d rows:\n%s", table, want, r.Stdout)
		}
	}

	// The same key file in the new node's data dir.
	keyFile, err := os.ReadFile(filepath.Join(inst.Dir, "gatehouse.key"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gatehouse.key"), keyFile, 0o600); err != nil {
		t.Fatal(err)
	}
	pg := startNode(t, nodeConfig{Name: "postgres", DB: dsn, Dir: dir})
	if pg.AdminPassword != "" {
		t.Errorf("the PostgreSQL node made a new administrator although users were moved:\n%s", pg.Stdout())
	}
	s := newClient(t)
	wantState(t, s.signIn(pg, "admin", inst.AdminPW), "mfa_required")
	wantState(t, s.totp(pg, inst.App.next(t)), "authenticated")
	l := s.do(pg, "GET", "/api/v1/me/mfa-devices", nil)
	if l.Status != http.StatusOK || !strings.Contains(string(l.Body), `"name":"Admin's phone"`) {
		t.Fatalf("devices after the move: %s", l)
	}
	bob := newClient(t)
	wantState(t, bob.signIn(pg, "bob", "bob's long password"), "authenticated")
	// Sessions moved too: the browser signed in on the SQLite node stays signed in.
	if me := inst.Admin.do(pg, "GET", "/api/v1/me", nil); me.Status != http.StatusOK || me.str("username") != "admin" {
		t.Errorf("the session from before the move: %s", me)
	}

	// GATEHOUSE_KEY with the key file's key works as well.
	var kf struct {
		Keys []string `json:"keys"`
	}
	if err := json.Unmarshal(keyFile, &kf); err != nil || len(kf.Keys) == 0 {
		t.Fatalf("key file %s: %v", keyFile, err)
	}
	pg2 := startNode(t, nodeConfig{Name: "postgres by GATEHOUSE_KEY", DB: dsn, Key: kf.Keys[0]})
	s2 := newClient(t)
	wantState(t, s2.signIn(pg2, "admin", inst.AdminPW), "mfa_required")
	wantState(t, s2.totp(pg2, inst.App.next(t)), "authenticated")
	// Another key does not open the moved secrets: the node says so and exits.
	if n, err := launchNode(t, nodeConfig{Name: "wrong key", DB: dsn, Key: newKey(t)}); err == nil {
		t.Errorf("a node with another key started on the moved data")
	} else if !strings.Contains(n.Stderr(), "does not match") {
		t.Errorf("wrong key: stderr = %q", n.Stderr())
	}

	// Into a database that has users already: refused, and nothing changes.
	r = gatehouse(t, "", nil, "migrate-data", "--from", from, "--to", dsn)
	if r.Code == 0 || !strings.Contains(r.Stderr, "already has 2 users") {
		t.Fatalf("migrate-data into a non-empty database: want a refusal:\n%s", r)
	}
	oneLine(t, r.Stderr)
	wantState(t, newClient(t).signIn(pg, "bob", "bob's long password"), "authenticated")
}

// TestMigrateDataBadArguments: missing or equal --from/--to are clear errors.
func TestMigrateDataBadArguments(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"migrate-data"},
		{"migrate-data", "--from", "sqlite:x.db"},
		{"migrate-data", "--to", "postgres://h/db"},
		{"migrate-data", "--from", "sqlite:x.db", "--to", "sqlite:x.db"},
	} {
		r := gatehouse(t, "", nil, args...)
		if r.Code == 0 || !strings.Contains(r.Stderr, "migrate-data:") {
			t.Errorf("%s: want a non-zero exit and a migrate-data error:\n%s", strings.Join(args, " "), r)
		}
	}
}

// TestMigrateDataFromMissingFile: a mistyped --from must not create an
// empty SQLite database there and "copy" nothing: the operator would then
// start every node on an empty PostgreSQL, which makes a new administrator.
func TestMigrateDataFromMissingFile(t *testing.T) {
	t.Parallel()
	gatehouseBinary(t)
	dsn := testenv.PostgresDSN(t)
	missing := filepath.Join(t.TempDir(), "gatehouse-data", "gatehuose.db")
	r := gatehouse(t, "", nil, "migrate-data", "--from", "sqlite:"+missing, "--to", dsn)
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("migrate-data created %s", missing)
	}
	if r.Code == 0 {
		t.Errorf("migrate-data from a file that does not exist succeeded:\n%s", r)
	}
}

// TestMigrateDataAfterMigrate: an operator who prepares the new database
// with `gatehouse migrate` (same key) and then runs migrate-data must get a
// working installation, not a failed copy.
func TestMigrateDataAfterMigrate(t *testing.T) {
	t.Parallel()
	gatehouseBinary(t)
	inst := setUpSQLiteInstallation(t)
	dsn := testenv.PostgresDSN(t)
	r := gatehouse(t, "", nil, "migrate", "--db", dsn, "--data-dir", inst.Dir)
	if r.Code != 0 || !strings.Contains(r.Stdout, "up to date") {
		t.Fatalf("migrate:\n%s", r)
	}
	r = gatehouse(t, "", nil, "migrate-data", "--from", "sqlite:"+filepath.Join(inst.Dir, "gatehouse.db"), "--to", dsn)
	if r.Code != 0 {
		t.Fatalf("migrate-data into a database prepared by `gatehouse migrate`:\n%s", r)
	}
	pg := startNode(t, nodeConfig{Name: "postgres", DB: dsn, Dir: inst.Dir})
	s := newClient(t)
	wantState(t, s.signIn(pg, "admin", inst.AdminPW), "mfa_required")
	wantState(t, s.totp(pg, inst.App.next(t)), "authenticated")
}

// TestVersionAndUsage: version prints something; an unknown command or none
// is an error with the usage.
func TestVersionAndUsage(t *testing.T) {
	t.Parallel()
	if r := gatehouse(t, "", nil, "version"); r.Code != 0 || !strings.HasPrefix(r.Stdout, "gatehouse ") {
		t.Errorf("version:\n%s", r)
	}
	if r := gatehouse(t, "", nil, "help"); r.Code != 0 || !strings.Contains(r.Stdout, "migrate-data") {
		t.Errorf("help:\n%s", r)
	}
	for _, args := range [][]string{{}, {"frobnicate"}} {
		r := gatehouse(t, "", nil, args...)
		if r.Code == 0 || !strings.Contains(r.Stderr, "Usage:") {
			t.Errorf("gatehouse %v: want a non-zero exit with the usage:\n%s", args, r)
		}
	}
}
