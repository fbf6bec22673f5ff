package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/internal/testenv"
)

// keyLines parses "gatehouse keys status": key id → (state, count).
func keyLines(t *testing.T, out string) map[string]string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^([0-9a-f]{16})\s+(\S+).*?\s(\d+)$`)
	lines := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		lines[m[1]] = m[2] + " " + m[3]
	}
	if len(lines) == 0 {
		t.Fatalf("no key lines in:\n%s", out)
	}
	return lines
}

func currentKey(t *testing.T, lines map[string]string) string {
	t.Helper()
	for id, l := range lines {
		if strings.HasPrefix(l, "current ") {
			return id
		}
	}
	t.Fatalf("no current key in %v", lines)
	return ""
}

// TestKeysRotateUnderLoad runs a real server, keeps sign-ins, registrations
// (which seal) and reads of pending secrets (which open) in flight on
// loopback, rotates the key with "gatehouse keys rotate" meanwhile, then
// signs in with the devices registered before — the server was never
// restarted — and finds nothing left under the old key.
func TestKeysRotateUnderLoad(t *testing.T) {
	n := startNode(t, nodeConfig{Name: "solo"})
	dir := []string{"--data-dir", n.Dir}
	addUser := func(name string) {
		t.Helper()
		if r := gatehouse(t, testPassword+"\n", nil, append([]string{"users", "add", name, "--password-stdin"}, dir...)...); r.Code != 0 {
			t.Fatalf("users add %s: %s", name, r)
		}
	}
	users := []string{"ann", "bob", "cat"}
	apps := map[string]*authApp{}
	for _, u := range users {
		addUser(u)
		c := newClient(t)
		wantState(t, c.signIn(n, u, testPassword), "authenticated")
		apps[u] = enroll(t, c, n, n, u+"'s phone")
	}
	before := gatehouse(t, "", nil, append([]string{"keys", "status"}, dir...)...)
	if before.Code != 0 {
		t.Fatalf("keys status: %s", before)
	}
	oldID := currentKey(t, keyLines(t, before.Stdout))

	// Load: each worker registers an authenticator app (a seal) and reads it
	// back (an open) in a loop; one more signs in with a password.
	const workers = 3
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ops, failures atomic.Int64
	var firstFailure atomic.Value
	fail := func(what string, r reply, err error) {
		if failures.Add(1) == 1 {
			firstFailure.Store(fmt.Sprintf("%s: %v %s", what, err, r))
		}
	}
	for w := range workers {
		name := fmt.Sprintf("load%d", w)
		addUser(name)
		c := newClient(t)
		wantState(t, c.signIn(n, name, testPassword), "authenticated")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r, err := c.send(n.URL, "POST", "/api/v1/me/mfa-devices", map[string]string{"name": fmt.Sprintf("load %d", i), "type": "totp"})
				if err != nil || r.Status != http.StatusCreated {
					fail("register", r, err)
					continue
				}
				secret, id := r.str("secret"), r.str("id")
				r, err = c.send(n.URL, "GET", "/api/v1/me/mfa-devices/"+id, nil)
				if err != nil || r.Status != http.StatusOK || r.str("secret") != secret {
					fail("read pending", r, err)
					continue
				}
				ops.Add(1)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			// Paced: the per-address limit must not be what this measures.
			time.Sleep(100 * time.Millisecond)
			c := newClient(t)
			r, err := c.send(n.URL, "POST", "/api/v1/auth/password", map[string]string{"username": "ann", "password": testPassword})
			if err == nil && r.Status == http.StatusTooManyRequests {
				continue
			}
			if err != nil || r.Status != http.StatusOK || r.str("state") != "mfa_required" {
				fail("password", r, err)
				continue
			}
			ops.Add(1)
		}
	}()
	time.Sleep(300 * time.Millisecond)
	rot := gatehouse(t, "", nil, append([]string{"keys", "rotate"}, dir...)...)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if rot.Code != 0 || !strings.Contains(rot.Stdout, "is current") {
		t.Fatalf("keys rotate: %s", rot)
	}
	if failures.Load() > 0 {
		t.Fatalf("%d of %d requests failed during the rotation; first: %v", failures.Load(), ops.Load()+failures.Load(), firstFailure.Load())
	}
	t.Logf("%d requests succeeded while rotating (rotate took %s)", ops.Load(), rot.Took)

	after := keyLines(t, gatehouse(t, "", nil, append([]string{"keys", "status"}, dir...)...).Stdout)
	newID := currentKey(t, after)
	if newID == oldID || after[oldID] != "old 0" {
		t.Fatalf("after rotation: old key %s is %q, current %s; want \"old 0\"", oldID, after[oldID], newID)
	}
	for _, u := range users {
		c := newClient(t)
		wantState(t, signInPaced(t, c, n, u), "mfa_required")
		wantState(t, c.totp(n, apps[u].next(t)), "authenticated")
	}

	ret := gatehouse(t, "", nil, append([]string{"keys", "retire"}, dir...)...)
	if ret.Code != 0 || !strings.Contains(ret.Stdout, "Retired key "+oldID) {
		t.Fatalf("keys retire: %s", ret)
	}
	final := keyLines(t, gatehouse(t, "", nil, append([]string{"keys", "status"}, dir...)...).Stdout)
	if len(final) != 1 || currentKey(t, final) != newID {
		t.Fatalf("after retiring: %v", final)
	}
	c := newClient(t)
	wantState(t, signInPaced(t, c, n, "bob"), "mfa_required")
	wantState(t, c.totp(n, apps["bob"].next(t)), "authenticated")
	if !n.Running() {
		t.Fatalf("the server stopped:\n%s", n.Stderr())
	}
}

// signInPaced is the password step, waiting out the per-address limit (all
// of a test's clients share 127.0.0.1) when an earlier burst spent it.
func signInPaced(t *testing.T, c *client, n *node, user string) reply {
	t.Helper()
	for range 20 {
		r := c.signIn(n, user, testPassword)
		if r.Status != http.StatusTooManyRequests {
			return r
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("still rate-limited after 20 s")
	return reply{}
}

// TestKeysRotateWithEnvironmentKeyExplainsTheSteps: with GATEHOUSE_KEY the
// command cannot write the key, so it changes nothing and prints the steps;
// following them moves every secret to the new key.
func TestKeysRotateWithEnvironmentKeyExplainsTheSteps(t *testing.T) {
	oldKey := newKey(t)
	n := startNode(t, nodeConfig{Name: "env", Key: oldKey})
	c := newClient(t)
	if r := gatehouse(t, testPassword+"\n", []string{"GATEHOUSE_KEY=" + oldKey}, "users", "add", "eve", "--password-stdin", "--data-dir", n.Dir); r.Code != 0 {
		t.Fatalf("users add: %s", r)
	}
	wantState(t, c.signIn(n, "eve", testPassword), "authenticated")
	app := enroll(t, c, n, n, "eve's phone")
	n.Stop(t)

	env := []string{"GATEHOUSE_KEY=" + oldKey}
	rot := gatehouse(t, "", env, "keys", "rotate", "--data-dir", n.Dir)
	if rot.Code != 0 || !strings.Contains(rot.Stdout, "Nothing was changed") {
		t.Fatalf("keys rotate with GATEHOUSE_KEY: %s", rot)
	}
	m := regexp.MustCompile(`GATEHOUSE_KEY="([A-Za-z0-9+/=]{44}),\$OLD_KEY" gatehouse keys reseal`).FindStringSubmatch(rot.Stdout)
	if m == nil {
		t.Fatalf("no reseal step in:\n%s", rot.Stdout)
	}
	both := []string{"GATEHOUSE_KEY=" + m[1] + "," + oldKey}
	if r := gatehouse(t, "", both, "keys", "reseal", "--data-dir", n.Dir); r.Code != 0 {
		t.Fatalf("keys reseal: %s", r)
	}
	lines := keyLines(t, gatehouse(t, "", both, "keys", "status", "--data-dir", n.Dir).Stdout)
	for id, l := range lines {
		if !strings.HasPrefix(l, "current ") && l != "old 0" {
			t.Fatalf("key %s: %q after reseal", id, l)
		}
	}
	// The new key alone now opens everything.
	n2 := startNode(t, nodeConfig{Name: "env2", Dir: n.Dir, Key: m[1]})
	c2 := newClient(t)
	wantState(t, c2.signIn(n2, "eve", testPassword), "mfa_required")
	wantState(t, c2.totp(n2, app.next(t)), "authenticated")
}

// TestKeysRotateAcrossNodesWithTheirOwnKeyFiles: two nodes on PostgreSQL,
// each with its own copy of the key file. The new key is staged ("keys
// add") and copied to B before it becomes current on A, so at no moment
// does a node meet a secret it cannot open: B signs in with a device
// re-sealed under the new key before it is ever told the key is current.
func TestKeysRotateAcrossNodesWithTheirOwnKeyFiles(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	a := startNode(t, nodeConfig{Name: "A", DB: dsn, BaseURL: sharedBaseURL})
	keyFile := func(n *node) string { return filepath.Join(n.Dir, "gatehouse.key") }
	copyKey := func(from, to string) {
		t.Helper()
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to+".new", b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(to+".new", to); err != nil {
			t.Fatal(err)
		}
	}
	bDir := t.TempDir()
	copyKey(keyFile(a), filepath.Join(bDir, "gatehouse.key"))
	b := startNode(t, nodeConfig{Name: "B", DB: dsn, Dir: bDir, BaseURL: sharedBaseURL})
	onA := []string{"--db", dsn, "--data-dir", a.Dir}

	if r := gatehouse(t, testPassword+"\n", nil, append([]string{"users", "add", "fay", "--password-stdin"}, onA...)...); r.Code != 0 {
		t.Fatalf("users add: %s", r)
	}
	c := newClient(t)
	wantState(t, c.signIn(a, "fay", testPassword), "authenticated")
	phone := enroll(t, c, a, b, "fay's phone")

	add := gatehouse(t, "", nil, append([]string{"keys", "add"}, onA...)...)
	m := regexp.MustCompile(`keys rotate --to ([0-9a-f]{16})`).FindStringSubmatch(add.Stdout)
	if add.Code != 0 || m == nil {
		t.Fatalf("keys add: %s", add)
	}
	copyKey(keyFile(a), keyFile(b))
	rot := gatehouse(t, "", nil, append([]string{"keys", "rotate", "--to", m[1]}, onA...)...)
	if rot.Code != 0 {
		t.Fatalf("keys rotate --to: %s", rot)
	}
	lines := keyLines(t, gatehouse(t, "", nil, append([]string{"keys", "status"}, onA...)...).Stdout)
	if currentKey(t, lines) != m[1] {
		t.Fatalf("current key after rotate --to: %v, want %s", lines, m[1])
	}
	for id, l := range lines {
		if id != m[1] && l != "old 0" {
			t.Fatalf("key %s is %q after the rotation", id, l)
		}
	}
	// B still has the old key as current but holds the new one: it opens
	// the re-sealed secret.
	d := newClient(t)
	wantState(t, signInPaced(t, d, b, "fay"), "mfa_required")
	wantState(t, d.totp(b, phone.next(t)), "authenticated")

	copyKey(keyFile(a), keyFile(b))
	if r := gatehouse(t, "", nil, append([]string{"keys", "retire"}, onA...)...); r.Code != 0 {
		t.Fatalf("keys retire: %s", r)
	}
	copyKey(keyFile(a), keyFile(b))
	e := newClient(t)
	wantState(t, signInPaced(t, e, b, "fay"), "mfa_required")
	wantState(t, e.totp(b, phone.next(t)), "authenticated")
	for _, n := range []*node{a, b} {
		if !n.Running() {
			t.Fatalf("node %s stopped:\n%s", n.Name, n.Stderr())
		}
	}
}
