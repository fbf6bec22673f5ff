package main

// Helpers for tests that run the real gatehouse binary: build it once, start
// `gatehouse serve` processes, run one-shot commands, talk HTTP to the nodes
// with a shared cookie jar (one jar on localhost models a load balancer: the
// browser sees one host whatever node answers), and compute codes with
// oathtool.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gatehouse/internal/testenv"
)

// raceBuild is set by race_test.go when the tests run under -race: the
// binary is then built with -race too, and a data race in a node fails the
// test that ran it.
var raceBuild bool

var (
	buildOnce sync.Once
	buildDir  string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// gatehouseBinary builds the command once per test run and returns its path.
// Tests that run real processes are skipped in -short mode.
func gatehouseBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the gatehouse binary as real processes; skipped in -short mode")
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "gatehouse-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "gatehouse")
		args := []string{"build", "-o", binPath}
		if raceBuild {
			args = append(args, "-race")
		}
		args = append(args, ".")
		cmd := exec.Command("go", args...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// cleanEnv is the test's environment without any GATEHOUSE_ setting, so a
// developer's shell cannot change what a node does; extra is appended.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// newKey returns a fresh key-encryption key as GATEHOUSE_KEY wants it.
func newKey(t testing.TB) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// result is what a finished command left.
type result struct {
	Stdout, Stderr string
	Code           int // exit status; -1 when killed by a signal
	Took           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
}

// gatehouse runs a one-shot command (users, migrate, migrate-data, or a serve
// that is expected to fail) with env added to a clean environment.
func gatehouse(t testing.TB, stdin string, env []string, args ...string) result {
	t.Helper()
	bin := gatehouseBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = cleanEnv(env...)
	cmd.Dir = t.TempDir() // a forgotten --data-dir must not litter the source tree
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{Stdout: stdout.String(), Stderr: stderr.String(), Took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	default:
		t.Fatalf("gatehouse %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("gatehouse %s did not finish within 60 s:\n%s", strings.Join(args, " "), r)
	}
	checkNoRace(t, "gatehouse "+strings.Join(args, " "), r.Stderr)
	return r
}

func checkNoRace(t testing.TB, what, stderr string) {
	t.Helper()
	if strings.Contains(stderr, "WARNING: DATA RACE") {
		t.Errorf("%s reported a data race:\n%s", what, stderr)
	}
	if strings.Contains(stderr, "panic:") || strings.Contains(stderr, "goroutine ") && strings.Contains(stderr, "[running]") {
		t.Errorf("%s panicked:\n%s", what, stderr)
	}
}

// node is one running `gatehouse serve`.
type node struct {
	Name          string
	URL           string // http://localhost:PORT
	Addr          string // 127.0.0.1:PORT
	AdminPassword string // set only on the node that created the administrator
	Dir           string // its --data-dir
	Args          []string
	Env           []string

	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
	state  *os.ProcessState
}

// nodeConfig says how to start a node.
type nodeConfig struct {
	Name    string
	DB      string // --db; empty for SQLite in the data dir
	Dir     string // --data-dir; empty for a new temp dir
	Key     string // GATEHOUSE_KEY; empty for the key file in the data dir
	BaseURL string // --base-url; empty to let serve derive it from its port
	Addr    string // --addr; empty for 127.0.0.1:0
	// DefaultPolicy keeps the MFA policy's defaults (require registration at
	// sign-in). Otherwise the node starts with no-device behaviour "allow":
	// these tests sign users in without a device, as the seed procedure does.
	DefaultPolicy bool
	// DefaultRateLimit keeps the per-address limit on sign-in requests at its
	// default. Otherwise it is lifted: every test client is 127.0.0.1.
	DefaultRateLimit bool
	// Args are added to serve's command line.
	Args []string
}

var (
	listeningRE = regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)
	oneTimeRE   = regexp.MustCompile(`one-time password: (\S+)`)
)

// startNode starts `gatehouse serve` and waits until it says it is running.
// The process is stopped (SIGTERM, then SIGKILL) when the test ends, and a
// data race or panic it reported fails the test.
func startNode(t testing.TB, cfg nodeConfig) *node {
	t.Helper()
	n, err := launchNode(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func launchNode(t testing.TB, cfg nodeConfig) (*node, error) {
	bin := gatehouseBinary(t)
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Name == "" {
		cfg.Name = "node"
	}
	args := []string{"serve", "--addr", cfg.Addr, "--data-dir", cfg.Dir}
	if cfg.DB != "" {
		args = append(args, "--db", cfg.DB)
	}
	if cfg.BaseURL != "" {
		args = append(args, "--base-url", cfg.BaseURL)
	}
	var env []string
	if cfg.Key != "" {
		env = append(env, "GATEHOUSE_KEY="+cfg.Key)
	}
	n := &node{Name: cfg.Name, Dir: cfg.Dir, Args: args, Env: env, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	// Flags of serve alone go after the ones "settings" below shares.
	serveArgs := append([]string(nil), args...)
	if !cfg.DefaultRateLimit {
		serveArgs = append(serveArgs, "--rate-limit-burst", "1000000")
	}
	serveArgs = append(serveArgs, cfg.Args...)
	n.cmd = exec.Command(bin, serveArgs...)
	n.cmd.Env = cleanEnv(env...)
	n.cmd.Dir = cfg.Dir
	n.cmd.Stdout, n.cmd.Stderr = n.stdout, n.stderr
	if err := n.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_ = n.cmd.Wait()
		n.state = n.cmd.ProcessState
		close(n.done)
	}()
	t.Cleanup(func() {
		n.Stop(t)
		checkNoRace(t, "node "+n.Name, n.stderr.String())
	})
	deadline := time.After(60 * time.Second)
	for {
		if m := listeningRE.FindStringSubmatch(n.stdout.String()); m != nil && strings.Contains(n.stdout.String(), "Gatehouse is running") {
			n.Addr = m[1]
			_, port, _ := strings.Cut(n.Addr, ":")
			n.URL = "http://localhost:" + port
			if m := oneTimeRE.FindStringSubmatch(n.stdout.String()); m != nil {
				n.AdminPassword = m[1]
			}
			if !cfg.DefaultPolicy {
				set := append([]string{"settings", "mfa", "set", "--no-device-behavior", "allow"}, args[3:]...)
				cmd := exec.Command(bin, set...)
				cmd.Env, cmd.Dir = cleanEnv(env...), cfg.Dir
				if out, err := cmd.CombinedOutput(); err != nil {
					return n, fmt.Errorf("%s: settings mfa set: %v\n%s", n.Name, err, out)
				}
			}
			return n, nil
		}
		select {
		case <-n.done:
			return n, fmt.Errorf("%s exited before serving (%s)\nstdout:\n%s\nstderr:\n%s", n.Name, n.state, n.stdout, n.stderr)
		case <-deadline:
			return n, fmt.Errorf("%s did not start within 60 s\nstdout:\n%s\nstderr:\n%s", n.Name, n.stdout, n.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Running reports whether the process is still up.
func (n *node) Running() bool {
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL (kill -9) and waits for the process to be gone.
func (n *node) Kill(t testing.TB) {
	t.Helper()
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s survived SIGKILL", n.Name)
	}
}

// Stop asks the node to shut down (SIGTERM) and checks it exits cleanly.
func (n *node) Stop(t testing.TB) {
	t.Helper()
	if !n.Running() {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
		if !n.state.Success() {
			t.Errorf("%s exited with %s after SIGTERM\nstderr:\n%s", n.Name, n.state, n.stderr)
		}
	case <-time.After(15 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
		t.Errorf("%s did not stop within 15 s of SIGTERM", n.Name)
	}
}

// Stderr is what the node has logged so far.
func (n *node) Stderr() string { return n.stderr.String() }

// Stdout is what the node has printed so far.
func (n *node) Stdout() string { return n.stdout.String() }

// ---- HTTP ----

// client is one browser or script: one cookie jar for every node on
// localhost, as behind a load balancer.
type client struct {
	t  testing.TB
	hc *http.Client
}

func newClient(t testing.TB) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, hc: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r reply) String() string { return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Body)) }

func (r reply) obj() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

func (r reply) str(key string) string {
	s, _ := r.obj()[key].(string)
	return s
}

func (r reply) code() string {
	e, _ := r.obj()["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// send performs one request without touching t, so goroutines may call it.
// A body that is not nil is sent as JSON.
func (c *client) send(base, method, path string, body any) (reply, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return reply{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return reply{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// do performs a request on node n; a transport error fails the test.
func (c *client) do(n *node, method, path string, body any) reply {
	c.t.Helper()
	r, err := c.send(n.URL, method, path, body)
	if err != nil {
		c.t.Fatalf("%s %s on %s: %v\nnode stderr:\n%s", method, path, n.Name, err, n.Stderr())
	}
	if r.Status == http.StatusInternalServerError {
		c.t.Errorf("%s %s on %s: 500: %s\nnode stderr:\n%s", method, path, n.Name, r.Body, n.Stderr())
	}
	return r
}

func (c *client) signIn(n *node, user, pw string) reply {
	c.t.Helper()
	return c.do(n, "POST", "/api/v1/auth/password", map[string]string{"username": user, "password": pw})
}

func (c *client) totp(n *node, code string) reply {
	c.t.Helper()
	return c.do(n, "POST", "/api/v1/auth/totp", map[string]string{"code": code})
}

func wantStatus(t testing.TB, r reply, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("got %s, want status %d", r, status)
	}
}

func wantState(t testing.TB, r reply, state string) {
	t.Helper()
	if r.Status != http.StatusOK || r.str("state") != state {
		t.Fatalf("got %s, want 200 with state %q", r, state)
	}
}

func wantError(t testing.TB, r reply, status int, code string) {
	t.Helper()
	if r.Status != status || r.code() != code {
		t.Fatalf("got %s, want %d with error.code %q", r, status, code)
	}
}

// ---- codes ----

// step is the current 30-second TOTP step of the real clock. When fewer than
// 3 s of it remain, it first sleeps into the next one, so a code computed now
// is still current when the server checks it.
func step() int64 {
	now := time.Now()
	if left := 30 - now.Unix()%30; left < 3 {
		time.Sleep(time.Duration(left)*time.Second + 100*time.Millisecond)
	}
	return time.Now().Unix() / 30
}

// oathtool is the independent implementation's code for a base32 secret at
// the given step.
func oathtool(t testing.TB, secret string, step int64) string {
	t.Helper()
	bin := testenv.RequireTool(t, "oathtool")
	out, err := exec.Command(bin, "--totp", "-b", secret, "--now", "@"+strconv.FormatInt(step*30, 10)).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	code := strings.TrimSpace(string(out))
	if len(code) != 6 {
		t.Fatalf("oathtool printed %q", out)
	}
	return code
}

// authApp is an authenticator app holding one secret. It remembers the last
// step whose code it gave out, so each code it gives is fresh for the
// server's replay guard. Codes for a step ahead of the clock are inside the
// server's ±1 window (and its remembered drift), so tests need not wait 30 s.
type authApp struct {
	Secret string
	ID     string // device id
	last   int64
}

// next returns a code the server has not seen yet.
func (a *authApp) next(t testing.TB) string {
	t.Helper()
	s := max(a.last+1, step())
	a.last = s
	return oathtool(t, a.Secret, s)
}

// peek returns the code next will return, for a request the server is
// expected to refuse before looking at the code. (Handing out a code and
// skipping it would move the next one outside the server's window.)
func (a *authApp) peek(t testing.TB) string {
	t.Helper()
	return oathtool(t, a.Secret, max(a.last+1, step()))
}

// enroll registers an authenticator app for c's user: it starts the
// enrollment on node start and confirms it on node confirm.
func enroll(t testing.TB, c *client, start, confirm *node, name string) *authApp {
	t.Helper()
	r := c.do(start, "POST", "/api/v1/me/mfa-devices", map[string]string{"name": name, "type": "totp"})
	wantStatus(t, r, http.StatusCreated)
	app := &authApp{Secret: r.str("secret"), ID: r.str("id")}
	if app.Secret == "" || app.ID == "" {
		t.Fatalf("enrollment without id or secret: %s", r)
	}
	s := step()
	r = c.do(confirm, "POST", "/api/v1/me/mfa-devices/"+app.ID+"/verify", map[string]string{"code": oathtool(t, app.Secret, s)})
	if r.Status != http.StatusOK || r.str("status") != "active" {
		t.Fatalf("verify on %s: %s", confirm.Name, r)
	}
	app.last = s
	return app
}
