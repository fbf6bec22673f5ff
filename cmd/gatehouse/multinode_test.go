package main

// Multi-node tests with real processes (issue 3): two or three `gatehouse
// serve` on their own ports over one PostgreSQL schema, the same key and the
// same public URL, as behind a load balancer. Codes come from oathtool and the
// real clock.

import (
	"context"
	"encoding/base32"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"gatehouse/internal/password"
	"gatehouse/internal/server"
	"gatehouse/internal/testenv"
	"gatehouse/internal/totp"
)

// testPassword is a final password (≥ 12 characters) for users the tests add.
const testPassword = "correct horse battery staple"

// sharedBaseURL is the load balancer's address that every node is told.
const sharedBaseURL = "http://localhost:8080"

// cluster is n nodes over one PostgreSQL schema with one key.
type cluster struct {
	DSN   string
	Key   string
	Nodes []*node
	// App is an in-process Gatehouse over the same database (not serving):
	// tests add users through it, with cheap password hashes.
	App           *server.App
	AdminPassword string
}

func startCluster(t *testing.T, n int) *cluster {
	t.Helper()
	gatehouseBinary(t)
	testenv.RequireTool(t, "oathtool")
	c := &cluster{DSN: testenv.PostgresDSN(t), Key: newKey(t)}
	for i := range n {
		nd := c.start(t, string(rune('A'+i)))
		switch {
		case i == 0 && nd.AdminPassword == "":
			t.Fatalf("the first node did not print the administrator's one-time password:\n%s", nd.Stdout())
		case i > 0 && nd.AdminPassword != "":
			t.Errorf("node %s printed another administrator password", nd.Name)
		}
		if i == 0 {
			c.AdminPassword = nd.AdminPassword
		}
		c.Nodes = append(c.Nodes, nd)
	}
	c.App = openTestApp(t, c.DSN, c.Key)
	return c
}

// start adds a node to the cluster's database.
func (c *cluster) start(t *testing.T, name string) *node {
	t.Helper()
	return startNode(t, nodeConfig{Name: name, DB: c.DSN, Key: c.Key, BaseURL: sharedBaseURL})
}

// openTestApp opens an in-process Gatehouse over dsn, closed at the test's end.
func openTestApp(t testing.TB, dsn, key string) *server.App {
	t.Helper()
	fast := password.Fast
	app, err := server.Open(context.Background(), server.Config{
		DataDir: t.TempDir(), DB: dsn, Key: key, PasswordParams: &fast,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	return app
}

// addUser creates a user with testPassword (final: no change required).
func addUser(t testing.TB, app *server.App, name string) {
	t.Helper()
	if _, _, err := app.Accounts.CreateUser(context.Background(), name, "", false, testPassword); err != nil {
		t.Fatal(err)
	}
}

// signedIn adds a user without devices and signs them in on n.
func (c *cluster) signedIn(t *testing.T, n *node, name string) *client {
	t.Helper()
	addUser(t, c.App, name)
	cl := newClient(t)
	wantState(t, cl.signIn(n, name, testPassword), "authenticated")
	return cl
}

// TestSignInOnOneNodeContinueOnAnother: the password step on A, the MFA step
// on B, the API on either; an enrollment started on A is shown and confirmed
// on B; signing out on B ends the session on A. Nothing lives in one node's
// memory.
func TestSignInOnOneNodeContinueOnAnother(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 2)
	A, B := c.Nodes[0], c.Nodes[1]

	t.Run("administrator's first sign-in", func(t *testing.T) {
		adm := newClient(t)
		wantState(t, adm.signIn(B, "admin", c.AdminPassword), "password_change_required")
		wantState(t, adm.do(A, "POST", "/api/v1/auth/password-change", map[string]string{"new_password": "a brand new admin password"}), "authenticated")
		r := adm.do(B, "GET", "/api/v1/me", nil)
		if r.Status != http.StatusOK || r.str("username") != "admin" || r.obj()["admin"] != true {
			t.Fatalf("GET /api/v1/me on B: %s", r)
		}
	})

	cl := c.signedIn(t, A, "alice")
	var app *authApp
	t.Run("enrollment started on A, confirmed on B", func(t *testing.T) {
		r := cl.do(A, "POST", "/api/v1/me/mfa-devices", map[string]string{"name": "Alice's phone", "type": "totp"})
		wantStatus(t, r, http.StatusCreated)
		id, secret := r.str("id"), r.str("secret")
		g := cl.do(B, "GET", "/api/v1/me/mfa-devices/"+id, nil)
		if g.Status != http.StatusOK || g.str("status") != "pending" || g.str("secret") != secret {
			t.Fatalf("the pending enrollment on B: %s (secret from A %s)", g, secret)
		}
		s := step()
		v := cl.do(B, "POST", "/api/v1/me/mfa-devices/"+id+"/verify", map[string]string{"code": oathtool(t, secret, s)})
		if v.Status != http.StatusOK || v.str("status") != "active" {
			t.Fatalf("verify on B: %s", v)
		}
		app = &authApp{Secret: secret, ID: id, last: s}
		// A sees it confirmed, and the confirmation cannot be repeated there.
		l := cl.do(A, "GET", "/api/v1/me/mfa-devices", nil)
		if l.Status != http.StatusOK || !strings.Contains(string(l.Body), `"id":"`+id+`"`) || !strings.Contains(string(l.Body), `"status":"active"`) {
			t.Fatalf("list on A: %s", l)
		}
		wantError(t, cl.do(A, "POST", "/api/v1/me/mfa-devices/"+id+"/verify", map[string]string{"code": oathtool(t, secret, s)}), http.StatusConflict, "conflict")
	})
	if app == nil {
		t.FailNow()
	}

	t.Run("password on A, code on B", func(t *testing.T) {
		s := newClient(t)
		wantState(t, s.signIn(A, "alice", testPassword), "mfa_required")
		wantError(t, s.do(B, "GET", "/api/v1/me", nil), http.StatusUnauthorized, "mfa_required")
		wantState(t, s.totp(B, app.next(t)), "authenticated")
		if r := s.do(A, "GET", "/api/v1/me", nil); r.Status != http.StatusOK || r.str("username") != "alice" {
			t.Fatalf("GET /api/v1/me on A after the code on B: %s", r)
		}
		// A copy of the cookie stops working on A once B signs out.
		u, _ := url.Parse(A.URL)
		copied := newClient(t)
		copied.hc.Jar.SetCookies(u, s.hc.Jar.Cookies(u))
		wantStatus(t, copied.do(A, "GET", "/api/v1/me", nil), http.StatusOK)
		wantStatus(t, s.do(B, "POST", "/api/v1/auth/signout", nil), http.StatusNoContent)
		wantError(t, copied.do(A, "GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthenticated")
	})

	t.Run("the session rotated on B: the pre-MFA id is dead on A", func(t *testing.T) {
		s := newClient(t)
		wantState(t, s.signIn(B, "alice", testPassword), "mfa_required")
		u, _ := url.Parse(A.URL)
		before := newClient(t)
		before.hc.Jar.SetCookies(u, s.hc.Jar.Cookies(u))
		wantState(t, s.totp(B, app.next(t)), "authenticated")
		wantError(t, before.do(A, "GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthenticated")
		wantError(t, before.totp(A, "123456"), http.StatusUnauthorized, "unauthenticated")
	})
}

// TestOneCodeOnManyNodesAtOnce: the same code sent by four half-signed-in
// sessions to three nodes at the same moment signs in exactly one of them;
// the others get code_reused. Four, so the three refusals stay under the
// account throttle's five free failures.
func TestOneCodeOnManyNodesAtOnce(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	const sessions = 4
	for round := range 3 {
		name := "racer" + strconv.Itoa(round)
		cl := c.signedIn(t, c.Nodes[round%3], name)
		app := enroll(t, cl, c.Nodes[round%3], c.Nodes[(round+1)%3], "Racer's phone")
		clients := make([]*client, sessions)
		for i := range clients {
			clients[i] = newClient(t)
			wantState(t, clients[i].signIn(c.Nodes[(i+1)%3], name, testPassword), "mfa_required")
		}
		code := app.next(t)
		replies := make([]reply, sessions)
		errs := make([]error, sessions)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				<-start
				replies[i], errs[i] = clients[i].send(c.Nodes[i%3].URL, "POST", "/api/v1/auth/totp", map[string]string{"code": code})
			})
		}
		close(start)
		wg.Wait()
		ok, reused := 0, 0
		for i, r := range replies {
			switch {
			case errs[i] != nil:
				t.Errorf("round %d, session %d: %v", round, i, errs[i])
			case r.Status == http.StatusOK && r.str("state") == "authenticated":
				ok++
			case r.Status == http.StatusBadRequest && r.code() == "code_reused":
				reused++
			default:
				t.Errorf("round %d, session %d on %s: %s", round, i, c.Nodes[i%3].Name, r)
			}
		}
		if ok != 1 || reused != sessions-1 {
			t.Errorf("round %d: one code on %d sessions over 3 nodes: %d signed in (want 1), %d code_reused (want %d): %v",
				round, sessions, ok, reused, sessions-1, replies)
		}
	}
}

// TestDeviceRulesHoldAcrossNodes: confirmations that race on two nodes
// still keep the rules the store enforces in one transaction — one
// confirmation per enrollment, at most two authenticator apps, names unique
// ignoring case.
func TestDeviceRulesHoldAcrossNodes(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 2)
	A, B := c.Nodes[0], c.Nodes[1]
	nodes := []*node{A, B, A, B}

	// race starts one enrollment per name (alternating nodes) and confirms
	// them all at the same moment, each on the other node.
	race := func(t *testing.T, cl *client, names ...string) []reply {
		t.Helper()
		type pending struct{ id, secret string }
		ps := make([]pending, len(names))
		for i, name := range names {
			r := cl.do(nodes[i], "POST", "/api/v1/me/mfa-devices", map[string]string{"name": name, "type": "totp"})
			wantStatus(t, r, http.StatusCreated)
			ps[i] = pending{r.str("id"), r.str("secret")}
		}
		s := step()
		codes := make([]string, len(ps))
		for i, p := range ps {
			codes[i] = oathtool(t, p.secret, s)
		}
		replies := make([]reply, len(ps))
		errs := make([]error, len(ps))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, p := range ps {
			wg.Go(func() {
				<-start
				replies[i], errs[i] = cl.send(nodes[i+1].URL, "POST", "/api/v1/me/mfa-devices/"+p.id+"/verify", map[string]string{"code": codes[i]})
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("verify %d: %v", i, err)
			}
		}
		return replies
	}
	count := func(replies []reply) map[string]int {
		m := map[string]int{}
		for _, r := range replies {
			if r.Status == http.StatusOK && r.str("status") == "active" {
				m["ok"]++
			} else {
				m[strconv.Itoa(r.Status)+" "+r.code()]++
			}
		}
		return m
	}

	t.Run("the same enrollment confirmed on A and B at once", func(t *testing.T) {
		cl := c.signedIn(t, A, "dana")
		r := cl.do(A, "POST", "/api/v1/me/mfa-devices", map[string]string{"name": "Dana's phone", "type": "totp"})
		wantStatus(t, r, http.StatusCreated)
		id, secret := r.str("id"), r.str("secret")
		code := oathtool(t, secret, step())
		replies := make([]reply, 2)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, n := range []*node{A, B} {
			wg.Go(func() {
				<-start
				replies[i], _ = cl.send(n.URL, "POST", "/api/v1/me/mfa-devices/"+id+"/verify", map[string]string{"code": code})
			})
		}
		close(start)
		wg.Wait()
		if got := count(replies); got["ok"] != 1 || got["409 conflict"] != 1 {
			t.Errorf("two confirmations of one enrollment: %v, want one 200 and one 409 conflict (%v)", got, replies)
		}
	})

	t.Run("three apps confirmed at once: two fit", func(t *testing.T) {
		cl := c.signedIn(t, A, "erin")
		got := count(race(t, cl, "Phone one", "Phone two", "Phone three"))
		if got["ok"] != 2 || got["409 device_limit"] != 1 {
			t.Errorf("three confirmations at once: %v, want two 200 and one 409 device_limit", got)
		}
	})

	t.Run("one name twice at once", func(t *testing.T) {
		cl := c.signedIn(t, A, "fred")
		got := count(race(t, cl, "Work phone", "WORK PHONE"))
		if got["ok"] != 1 || got["409 name_taken"] != 1 {
			t.Errorf("two confirmations of one name: %v, want one 200 and one 409 name_taken", got)
		}
	})
	checkDevicesWhole(t, c)
}

// TestThrottleAddsUpAcrossNodes: wrong passwords alternated between A and B
// count against one account: the fifth starts a wait that both nodes enforce,
// even for the right password, and the wait grows with the next failure.
// Wrong codes spread over both nodes end the sign-in after five.
func TestThrottleAddsUpAcrossNodes(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 2)
	A, B := c.Nodes[0], c.Nodes[1]

	t.Run("passwords", func(t *testing.T) {
		addUser(t, c.App, "tom")
		cl := newClient(t)
		nodes := []*node{A, B}
		for i := 1; i <= 5; i++ {
			r := cl.signIn(nodes[i%2], "tom", "wrong password "+strconv.Itoa(i))
			if i < 5 || r.Status != http.StatusTooManyRequests {
				// The fifth may already announce the lock it starts.
				wantError(t, r, http.StatusUnauthorized, "invalid_credentials")
			}
		}
		for _, n := range nodes {
			r := cl.signIn(n, "tom", testPassword)
			wantError(t, r, http.StatusTooManyRequests, "rate_limited")
			if wait, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || wait < 1 || wait > 2 {
				t.Fatalf("Retry-After on %s = %q, want 1 or 2 seconds after the fifth failure", n.Name, r.Header.Get("Retry-After"))
			}
		}
		time.Sleep(1100 * time.Millisecond)
		// The sixth failure, on the other node, doubles the wait: the count is shared.
		r := cl.signIn(A, "tom", "wrong password 6")
		wantError(t, r, http.StatusTooManyRequests, "rate_limited")
		wait, _ := strconv.Atoi(r.Header.Get("Retry-After"))
		if wait < 2 {
			t.Fatalf("Retry-After after the sixth failure = %q, want ≥ 2", r.Header.Get("Retry-After"))
		}
		wantError(t, cl.signIn(B, "tom", testPassword), http.StatusTooManyRequests, "rate_limited")
		time.Sleep(time.Duration(wait)*time.Second + 100*time.Millisecond)
		wantState(t, cl.signIn(B, "tom", testPassword), "authenticated")
	})

	t.Run("codes", func(t *testing.T) {
		cl := c.signedIn(t, A, "cody")
		app := enroll(t, cl, A, B, "Cody's phone")
		s := newClient(t)
		wantState(t, s.signIn(B, "cody", testPassword), "mfa_required")
		wrong := wrongCode(t, app)
		var last reply
		for i := 1; i <= 5; i++ {
			last = s.totp([]*node{A, B}[i%2], wrong)
			if i < 5 {
				wantError(t, last, http.StatusBadRequest, "invalid_code")
			}
		}
		wantError(t, last, http.StatusTooManyRequests, "rate_limited")
		if wait, _ := strconv.Atoi(last.Header.Get("Retry-After")); wait > 0 {
			time.Sleep(time.Duration(wait)*time.Second + 100*time.Millisecond)
		}
		// Five wrong codes ended this sign-in, whichever node is asked.
		wantError(t, s.totp(A, app.peek(t)), http.StatusUnauthorized, "unauthenticated")
		// Starting again works.
		s2 := newClient(t)
		wantState(t, s2.signIn(A, "cody", testPassword), "mfa_required")
		wantState(t, s2.totp(B, app.next(t)), "authenticated")
	})
}

// wrongCode is a well-formed code that matches no step within ±20 of now.
func wrongCode(t testing.TB, app *authApp) string {
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(app.Secret)
	if err != nil {
		t.Fatal(err)
	}
	near := map[string]bool{}
	now := time.Now().Unix() / 30
	for s := now - 20; s <= now+20; s++ {
		near[totp.HOTP(key, s, totp.Default)] = true
	}
	for i := 0; ; i++ {
		if c := fmt.Sprintf("%06d", 111111*(i%10)+i/10); !near[c] {
			return c
		}
	}
}

// deviceRow is a row of mfa_devices as stored.
type deviceRow struct {
	User, ID, Type, Status, KeyID string
	CT                            []byte
	ActivatedAt, ExpiresAt        *int64
}

func dbDevices(t testing.TB, dsn string) []deviceRow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT u.username, d.id, d.type, d.status, d.secret_key_id, d.secret_ct, d.activated_at, d.expires_at
		FROM mfa_devices d JOIN users u ON u.id = d.user_id ORDER BY u.username, d.created_at`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []deviceRow
	for rows.Next() {
		var d deviceRow
		if err := rows.Scan(&d.User, &d.ID, &d.Type, &d.Status, &d.KeyID, &d.CT, &d.ActivatedAt, &d.ExpiresAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkDevicesWhole checks that no device is half-written: each is pending
// (with an expiry, no activation time) or active (activated, no expiry), its
// sealed secret opens with the cluster's key, and nobody has more than two
// active authenticator apps. It returns each user's active devices.
func checkDevicesWhole(t *testing.T, c *cluster) map[string][]string {
	t.Helper()
	active := map[string][]string{}
	for _, d := range dbDevices(t, c.DSN) {
		switch {
		case d.Status == "pending" && d.ActivatedAt == nil && d.ExpiresAt != nil:
		case d.Status == "active" && d.ActivatedAt != nil && d.ExpiresAt == nil:
			active[d.User] = append(active[d.User], d.ID)
		default:
			t.Errorf("half-written device %s of %s: status %q, activated_at %v, expires_at %v", d.ID, d.User, d.Status, d.ActivatedAt, d.ExpiresAt)
		}
		// The AAD binds a sealed secret to its device (internal/mfa secretAAD).
		if secret, err := c.App.Keys.Open(d.KeyID, d.CT, []byte("gatehouse/mfa-secret/"+d.ID)); err != nil || len(secret) != 20 {
			t.Errorf("device %s of %s: its secret does not open (%d bytes of ciphertext): %v", d.ID, d.User, len(d.CT), err)
		}
	}
	for u, ids := range active {
		if len(ids) > 2 {
			t.Errorf("%s has %d active authenticator apps, at most 2 allowed", u, len(ids))
		}
	}
	return active
}

// churnLog is what one worker was told before the node died.
type churnLog struct {
	activated, deleted map[string]bool
	// deleting is a device whose DELETE got no answer: it may be gone or not.
	deleting   string
	unexpected []string
}

// churn registers, confirms and deletes devices of cl's user on n in a loop
// until stop is closed or n stops answering.
func churn(cl *client, n *node, stop <-chan struct{}, inflight *atomic.Int32, answered *atomic.Int64) churnLog {
	log := churnLog{activated: map[string]bool{}, deleted: map[string]bool{}}
	send := func(method, path string, body any) (reply, bool) {
		inflight.Add(1)
		r, err := cl.send(n.URL, method, path, body)
		inflight.Add(-1)
		if err != nil {
			return r, false
		}
		answered.Add(1)
		return r, true
	}
	var active []string
	for i := 0; ; i++ {
		select {
		case <-stop:
			return log
		default:
		}
		r, ok := send("POST", "/api/v1/me/mfa-devices", map[string]string{"name": "Phone " + strconv.Itoa(i), "type": "totp"})
		if !ok {
			return log
		}
		if r.Status != http.StatusCreated {
			log.unexpected = append(log.unexpected, "create: "+r.String())
			continue
		}
		id := r.str("id")
		key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(r.str("secret"))
		if err != nil {
			log.unexpected = append(log.unexpected, "secret: "+r.String())
			continue
		}
		code := totp.HOTP(key, totp.Counter(time.Now(), 30), totp.Default)
		if r, ok = send("POST", "/api/v1/me/mfa-devices/"+id+"/verify", map[string]string{"code": code}); !ok {
			return log
		}
		if r.Status != http.StatusOK {
			log.unexpected = append(log.unexpected, "verify: "+r.String())
			continue
		}
		log.activated[id] = true
		active = append(active, id)
		if len(active) == 2 {
			if r, ok = send("DELETE", "/api/v1/me/mfa-devices/"+active[0], nil); !ok {
				log.deleting = active[0]
				return log
			}
			if r.Status != http.StatusNoContent {
				log.unexpected = append(log.unexpected, "delete: "+r.String())
				continue
			}
			log.deleted[active[0]] = true
			active = active[1:]
		}
	}
}

// TestKillNineMidEnrollment: SIGKILL of node A while eight users register,
// confirm and delete devices on it leaves no half-written device and loses
// no answered change; B keeps serving, finishes an enrollment that was
// started on A, and A comes back.
func TestKillNineMidEnrollment(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 2)
	A, B := c.Nodes[0], c.Nodes[1]

	keeper := c.signedIn(t, A, "keeper")
	r := keeper.do(A, "POST", "/api/v1/me/mfa-devices", map[string]string{"name": "Keeper's phone", "type": "totp"})
	wantStatus(t, r, http.StatusCreated)
	keepID, keepSecret := r.str("id"), r.str("secret")

	const workers = 8
	clients := make([]*client, workers)
	for w := range workers {
		clients[w] = c.signedIn(t, A, "churn"+strconv.Itoa(w))
	}
	var inflight atomic.Int32
	var answered atomic.Int64
	logs := make([]churnLog, workers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { logs[w] = churn(clients[w], A, stop, &inflight, &answered) })
	}
	deadline := time.Now().Add(10 * time.Second)
	for answered.Load() < 200 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	for inflight.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Microsecond)
	}
	cut, before := inflight.Load(), answered.Load()
	A.Kill(t)
	close(stop)
	wg.Wait()
	t.Logf("SIGKILL with %d requests in flight, after %d answered", cut, before)
	if before < 50 || cut == 0 {
		t.Errorf("the storm was too weak to test anything: %d answered, %d in flight at the kill", before, cut)
	}

	active := checkDevicesWhole(t, c)
	for w, log := range logs {
		user := "churn" + strconv.Itoa(w)
		for _, u := range log.unexpected {
			t.Errorf("%s: unexpected answer before the kill: %s", user, u)
		}
		in := map[string]bool{}
		for _, id := range active[user] {
			in[id] = true
		}
		for id := range log.activated {
			if !log.deleted[id] && id != log.deleting && !in[id] {
				t.Errorf("%s: device %s was confirmed (200) but is not active after the kill", user, id)
			}
		}
		for id := range log.deleted {
			if in[id] {
				t.Errorf("%s: device %s was deleted (204) but is still active after the kill", user, id)
			}
		}
		// B serves the same sessions and sees the same devices.
		r := clients[w].do(B, "GET", "/api/v1/me/mfa-devices", nil)
		wantStatus(t, r, http.StatusOK)
		if got := strings.Count(string(r.Body), `"status":"active"`); got != len(active[user]) {
			t.Errorf("%s: B lists %d devices, the database has %d active", user, got, len(active[user]))
		}
	}

	// The enrollment started on A before the kill is finished on B.
	g := keeper.do(B, "GET", "/api/v1/me/mfa-devices/"+keepID, nil)
	if g.Status != http.StatusOK || g.str("status") != "pending" || g.str("secret") != keepSecret {
		t.Fatalf("keeper's pending enrollment on B: %s", g)
	}
	s := step()
	v := keeper.do(B, "POST", "/api/v1/me/mfa-devices/"+keepID+"/verify", map[string]string{"code": oathtool(t, keepSecret, s)})
	if v.Status != http.StatusOK || v.str("status") != "active" {
		t.Fatalf("verify on B: %s", v)
	}
	app := &authApp{Secret: keepSecret, ID: keepID, last: s}
	fresh := newClient(t)
	wantState(t, fresh.signIn(B, "keeper", testPassword), "mfa_required")
	wantState(t, fresh.totp(B, app.next(t)), "authenticated")

	// A restarts on the same database and serves again.
	A2 := c.start(t, "A restarted")
	if A2.AdminPassword != "" {
		t.Errorf("the restarted node printed a new administrator password")
	}
	wantStatus(t, fresh.do(A2, "GET", "/readyz", nil), http.StatusOK)
	l := fresh.do(A2, "GET", "/api/v1/me/mfa-devices", nil)
	if l.Status != http.StatusOK || !strings.Contains(string(l.Body), keepID) {
		t.Fatalf("keeper's devices on the restarted A: %s", l)
	}
	checkDevicesWhole(t, c)
}

// TestNodeWithWrongKeyRefusesToStart: a node whose key-encryption key does
// not match the data exits at once with a clear message and a non-zero
// status — whether the key comes from GATEHOUSE_KEY or from a key file it
// just created — and the others keep serving.
func TestNodeWithWrongKeyRefusesToStart(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 1)
	for _, tc := range []struct{ name, key, want string }{
		{"another GATEHOUSE_KEY", newKey(t), "does not match"},
		// No key at all for a database sealed with one: refused, and no
		// new key file is made (TestServeWithoutItsKeyMakesNoNewOne).
		{"no key file", "", "GATEHOUSE_KEY"},
		{"GATEHOUSE_KEY not base64", "not base64 at all!", "GATEHOUSE_KEY"},
		{"GATEHOUSE_KEY of 16 bytes", "AAAAAAAAAAAAAAAAAAAAAA==", "GATEHOUSE_KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := launchNode(t, nodeConfig{Name: tc.name, DB: c.DSN, Key: tc.key, BaseURL: sharedBaseURL})
			if err == nil {
				t.Fatalf("a node with %s started", tc.name)
			}
			if n.state.ExitCode() == 0 {
				t.Errorf("exit status 0")
			}
			msg := strings.TrimSpace(n.Stderr())
			if !strings.Contains(msg, tc.want) || strings.Count(msg, "\n") != 0 {
				t.Errorf("stderr = %q, want one line that says %q", msg, tc.want)
			}
			if tc.key != "" && len(tc.key) > 20 && strings.Contains(msg, tc.key) {
				t.Errorf("the error shows the key: %q", msg)
			}
		})
	}
	cl := newClient(t)
	wantState(t, cl.signIn(c.Nodes[0], "admin", c.AdminPassword), "password_change_required")
}

// TestNodesStartingTogether: three nodes started at the same moment on an
// empty schema all come up (migrations take turns under a lock); exactly one
// creates the administrator and prints its password.
func TestNodesStartingTogether(t *testing.T) {
	t.Parallel()
	gatehouseBinary(t)
	dsn, key := testenv.PostgresDSN(t), newKey(t)
	nodes := make([]*node, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			nodes[i], errs[i] = launchNode(t, nodeConfig{Name: string(rune('A' + i)), DB: dsn, Key: key, BaseURL: sharedBaseURL})
		})
	}
	wg.Wait()
	pw := ""
	for i, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
		if p := nodes[i].AdminPassword; p != "" {
			if pw != "" {
				t.Errorf("two nodes created an administrator")
			}
			pw = p
		}
	}
	if pw == "" {
		t.Fatal("no node printed the administrator's one-time password")
	}
	for _, n := range nodes {
		cl := newClient(t)
		wantState(t, cl.signIn(n, "admin", pw), "password_change_required")
	}
}

// TestHealthAndReadiness: /healthz and /readyz answer 200 on every node
// while the database does, without a session.
func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 2)
	cl := newClient(t)
	for _, n := range c.Nodes {
		h := cl.do(n, "GET", "/healthz", nil)
		if h.Status != http.StatusOK || strings.TrimSpace(string(h.Body)) != "ok" {
			t.Errorf("/healthz on %s: %s", n.Name, h)
		}
		r := cl.do(n, "GET", "/readyz", nil)
		if r.Status != http.StatusOK || strings.TrimSpace(string(r.Body)) != "ready" {
			t.Errorf("/readyz on %s: %s", n.Name, r)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "" && !strings.Contains(cc, "no-store") && !strings.Contains(cc, "no-cache") {
			t.Errorf("/readyz on %s is cacheable: Cache-Control %q", n.Name, cc)
		}
	}
}

// ---- the database at start and while running ----

// oneLine returns stderr's only non-empty line, failing if there are more.
func oneLine(t *testing.T, stderr string) string {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Errorf("stderr has %d lines, want one:\n%s", len(lines), stderr)
		return strings.Join(lines, "\n")
	}
	return lines[0]
}

// TestDatabaseUnreachableAtStart: serve (and the other commands) exit with a
// non-zero status and one line that names the DSN without its password.
func TestDatabaseUnreachableAtStart(t *testing.T) {
	t.Parallel()
	const dsn = "postgres://gh:s3cret@127.0.0.1:1/x"
	for _, tc := range []struct {
		args []string
		env  []string
		dsn  string
	}{
		{args: []string{"serve", "--addr", "127.0.0.1:0", "--db", dsn}},
		{args: []string{"serve", "--addr", "127.0.0.1:0"}, env: []string{"GATEHOUSE_DB=" + dsn}},
		{args: []string{"migrate", "--db", dsn}},
		{args: []string{"users", "list", "--db", dsn}},
		{args: []string{"users", "add", "zed", "--db", dsn}},
		{args: []string{"serve", "--addr", "127.0.0.1:0", "--db", "postgres://gh@127.0.0.1:1/x?password=s3cret"}, dsn: "postgres://gh@127.0.0.1:1/x"},
	} {
		t.Run(strings.Join(append(tc.env, tc.args...), " "), func(t *testing.T) {
			r := gatehouse(t, "", tc.env, append(tc.args, "--data-dir", t.TempDir())...)
			if r.Code == 0 {
				t.Fatalf("exit status 0 with the database unreachable:\n%s", r)
			}
			line := oneLine(t, r.Stderr)
			if strings.Contains(r.Stderr+r.Stdout, "s3cret") {
				t.Errorf("the password is shown: %q", line)
			}
			want := "postgres://gh:xxxxx@127.0.0.1:1/x"
			if tc.dsn != "" {
				want = tc.dsn
			}
			if !strings.Contains(line, want) {
				t.Errorf("stderr = %q, want the DSN without its password (%s)", line, want)
			}
			if r.Took > 15*time.Second {
				t.Errorf("took %s to give up on a refused connection", r.Took)
			}
		})
	}
}

// TestMalformedDSN: a DSN that cannot be parsed, or names an unsupported
// database, is a clear one-line error that never shows the password.
func TestMalformedDSN(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://gh:s3cret@127.0.0.1:notaport/x", "not valid"},
		{"postgres://gh:s3cret@[127.0.0.1/x", "not valid"},
		{"postgres://gh:s3cret@127.0.0.1:5432/x?sslmode=sometimes", "not valid"},
		{"postgres://gh:s3cr%25et@127.0.0.1:99999/x", "not valid"},
		{"postgres://gh@127.0.0.1:5432/x?sslmode=sometimes&password=s3cret", "not valid"},
		{"mysql://gh:s3cret@127.0.0.1/x", "unsupported"},
		// libpq's keyword/value form is not a file name: taking it for a
		// SQLite path would give each node a database of its own.
		{"host=127.0.0.1 port=1 user=gh password=s3cret", "postgres://"},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			// migrate opens the database as serve does, and ends even when
			// the DSN is wrongly taken for a SQLite file.
			r := gatehouse(t, "", nil, "migrate", "--data-dir", t.TempDir(), "--db", tc.dsn)
			if r.Code == 0 {
				t.Fatalf("exit status 0 with a malformed DSN:\n%s", r)
			}
			line := oneLine(t, r.Stderr)
			for _, secret := range []string{"s3cret", "s3cr%25et", "s3cr%et"} {
				if strings.Contains(r.Stderr+r.Stdout, secret) {
					t.Errorf("the password is shown: %q", line)
				}
			}
			if !strings.Contains(line, tc.want) {
				t.Errorf("stderr = %q, want it to say %q", line, tc.want)
			}
		})
	}
}

// pgProxy is a TCP proxy in front of PostgreSQL that a test can cut (closing
// its listener and every connection) and restore on the same port.
type pgProxy struct {
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	down  bool
}

func startProxy(t *testing.T, target string) *pgProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{target: target, addr: ln.Addr().String(), ln: ln, conns: map[net.Conn]bool{}}
	go p.serve(ln)
	t.Cleanup(p.Cut)
	return p
}

func (p *pgProxy) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *pgProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		c.Close()
		return false
	}
	p.conns[c] = true
	return true
}

func (p *pgProxy) pipe(c net.Conn) {
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c) || !p.track(up) {
		c.Close()
		up.Close()
		return
	}
	go func() { _, _ = io.Copy(up, c); up.Close(); c.Close() }()
	_, _ = io.Copy(c, up)
	c.Close()
	up.Close()
}

// Cut closes the listener and every connection: PostgreSQL is gone.
func (p *pgProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// Restore listens again on the same port.
func (p *pgProxy) Restore(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.mu.Lock()
	p.ln, p.down = ln, false
	p.mu.Unlock()
	go p.serve(ln)
}

// TestDatabaseLostWhileRunning: a node reaches PostgreSQL through a proxy
// that the test cuts. Requests that need the database get 503 unavailable
// with Retry-After (pages too), /readyz is 503, /healthz stays 200 and the
// process stays up; when the proxy returns on the same port the node serves
// again with nothing lost or half-written. The DSN's password never reaches
// the log.
func TestDatabaseLostWhileRunning(t *testing.T) {
	t.Parallel()
	gatehouseBinary(t)
	testenv.RequireTool(t, "oathtool")
	direct := testenv.PostgresDSN(t)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, u.Host)
	u.Host = proxy.addr
	u.User = url.UserPassword(u.User.Username(), "s3cret") // trust auth ignores it
	key := newKey(t)
	n := startNode(t, nodeConfig{Name: "A", DB: u.String(), Key: key})
	app := openTestApp(t, direct, key)
	c := &cluster{DSN: direct, Key: key, Nodes: []*node{n}, App: app}
	cl := c.signedIn(t, n, "dora")
	dev := enroll(t, cl, n, n, "Dora's phone")
	half := newClient(t) // between the password and the code when the database goes
	wantState(t, half.signIn(n, "dora", testPassword), "mfa_required")

	proxy.Cut()
	h := cl.do(n, "GET", "/healthz", nil)
	if h.Status != http.StatusOK {
		t.Errorf("/healthz with the database gone: %s, want 200", h)
	}
	ready := cl.do(n, "GET", "/readyz", nil)
	if ready.Status != http.StatusServiceUnavailable || ready.Header.Get("Retry-After") == "" {
		t.Errorf("/readyz with the database gone: %s (Retry-After %q), want 503 with Retry-After", ready, ready.Header.Get("Retry-After"))
	}
	other := newClient(t)
	for _, rq := range []struct {
		who          *client
		method, path string
		body         any
	}{
		{cl, "GET", "/api/v1/me/mfa-devices", nil},
		{cl, "GET", "/api/v1/me", nil},
		{cl, "POST", "/api/v1/me/mfa-devices", map[string]string{"name": "Second phone", "type": "totp"}},
		{other, "POST", "/api/v1/auth/password", map[string]string{"username": "dora", "password": testPassword}},
		{other, "POST", "/api/v1/auth/password", map[string]string{"username": "dora", "password": "a wrong password"}},
		{half, "POST", "/api/v1/auth/totp", map[string]string{"code": dev.peek(t)}},
	} {
		start := time.Now()
		r := rq.who.do(n, rq.method, rq.path, rq.body)
		if r.Status != http.StatusServiceUnavailable || r.code() != "unavailable" {
			t.Errorf("%s %s with the database gone: %s, want 503 unavailable", rq.method, rq.path, r)
		}
		if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("%s %s: Retry-After = %q, want seconds", rq.method, rq.path, r.Header.Get("Retry-After"))
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s %s took %s to answer", rq.method, rq.path, d)
		}
	}
	page := cl.do(n, "GET", "/devices", nil)
	if page.Status != http.StatusServiceUnavailable || page.Header.Get("Retry-After") == "" || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET /devices with the database gone: %d %q (Retry-After %q), want a 503 page with Retry-After", page.Status, page.Header.Get("Content-Type"), page.Header.Get("Retry-After"))
	}
	if !n.Running() {
		t.Fatalf("the node exited when the database went away:\n%s", n.Stderr())
	}

	proxy.Restore(t)
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := cl.send(n.URL, "GET", "/readyz", nil)
		if err == nil && r.Status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not recover within 20 s of the database's return: %v %v", r, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The same session works; the device is there and nothing from the outage is.
	l := cl.do(n, "GET", "/api/v1/me/mfa-devices", nil)
	if l.Status != http.StatusOK || !strings.Contains(string(l.Body), dev.ID) || strings.Count(string(l.Body), `"id"`) != 1 {
		t.Fatalf("devices after the outage: %s, want exactly %s", l, dev.ID)
	}
	rows := dbDevices(t, direct)
	if len(rows) != 1 || rows[0].ID != dev.ID || rows[0].Status != "active" {
		t.Errorf("mfa_devices after the outage: %+v, want only the active %s", rows, dev.ID)
	}
	checkDevicesWhole(t, c)
	// The half-finished sign-in survived, and its code was not spent by the
	// attempt that got 503.
	wantState(t, half.totp(n, dev.next(t)), "authenticated")
	fresh := newClient(t)
	wantState(t, fresh.signIn(n, "dora", testPassword), "mfa_required")
	wantState(t, fresh.totp(n, dev.next(t)), "authenticated")
	// The wrong password during the outage was not counted, nor the right one:
	// four mistakes now are still just mistakes.
	for range 4 {
		wantError(t, newClient(t).signIn(n, "dora", "another wrong password"), http.StatusUnauthorized, "invalid_credentials")
	}

	if strings.Contains(n.Stderr()+n.Stdout(), "s3cret") {
		t.Errorf("the node logged the DSN's password:\n%s", n.Stderr())
	}
	if !strings.Contains(n.Stderr(), "xxxxx@"+proxy.addr) {
		t.Errorf("the node's log does not name the (redacted) DSN:\n%s", n.Stderr())
	}
}

// TestRunningNodeLogsNoPassword: a password given as the DSN's password
// parameter (which pgx accepts like the one in the user part) is not
// written to the log either.
func TestRunningNodeLogsNoPassword(t *testing.T) {
	t.Parallel()
	gatehouseBinary(t)
	dsn := testenv.PostgresDSN(t) + "&password=s3cret" // trust auth ignores it
	n := startNode(t, nodeConfig{Name: "A", DB: dsn, Key: newKey(t)})
	wantStatus(t, newClient(t).do(n, "GET", "/readyz", nil), http.StatusOK)
	n.Stop(t)
	if strings.Contains(n.Stdout()+n.Stderr(), "s3cret") {
		t.Errorf("the node printed the DSN's password:\n%s%s", n.Stdout(), n.Stderr())
	}
}
