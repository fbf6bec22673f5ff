package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"gatehouse/internal/password"
	"gatehouse/internal/policy"
	"gatehouse/internal/server"
)

// clock is a settable clock for the server, so tests can compute codes with
// oathtool --now for exactly the server's time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Unix is the clock's time as oathtool's --now argument wants it.
func (c *clock) Unix() string { return "@" + strconv.FormatInt(c.Now().Unix(), 10) }

type testServer struct {
	App     *server.App
	URL     string // http://localhost:PORT
	Clock   *clock
	DataDir string
	Logs    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

// startServer is startServerWithDefaults with the no-device behaviour set to
// "allow": most tests need a signed-in user without a device, the state the
// seed procedure starts from. Tests of the policy itself use the defaults.
func startServer(t *testing.T) *testServer {
	t.Helper()
	ts := startServerWithDefaults(t)
	pol := policy.Default()
	pol.NoDeviceBehavior = policy.Allow
	if _, err := ts.App.Policy.SetMFA(context.Background(), pol); err != nil {
		t.Fatal(err)
	}
	return ts
}

// startServerWithDefaults runs a real Gatehouse (SQLite in a temp dir) on a free
// loopback port, with a fixed clock at the current step's start (plus 5 s)
// so codes never straddle a step boundary unless a test moves the clock.
// The clock starts near real time because the client's cookie jar judges
// cookie expiry by real time.
func startServerWithDefaults(t *testing.T) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	now := time.Now().Unix()
	clk := &clock{t: time.Unix(now-now%30+5, 0).UTC()}
	dir := t.TempDir()
	logs := &syncBuffer{}
	fast := password.Fast
	ctx, cancel := context.WithCancel(context.Background())
	app, err := server.Open(ctx, server.Config{
		DataDir: dir, DB: "sqlite:" + filepath.Join(dir, "gatehouse.db"),
		BaseURL: "http://localhost:" + strconv.Itoa(port), PasswordParams: &fast,
		Logger: slog.New(slog.NewTextHandler(io.MultiWriter(logs), nil)), Now: clk.Now,
		// Every test client is 127.0.0.1 and the clock stands still: the
		// per-address limit has its own tests (abuse_test.go).
		SourceBurst: 1 << 20,
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := app.Serve(ctx, ln); err != nil && err != http.ErrServerClosed {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		app.Close()
	})
	return &testServer{App: app, URL: "http://localhost:" + strconv.Itoa(port), Clock: clk, DataDir: dir, Logs: logs}
}

// newClient returns an HTTP client with its own cookie jar that does not
// follow redirects (tests look at each one).
func newClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// addUser creates a user with a final password.
func (ts *testServer) addUser(t *testing.T, name, pw string) {
	t.Helper()
	if _, _, err := ts.App.Accounts.CreateUser(context.Background(), name, "", false, pw); err != nil {
		t.Fatal(err)
	}
}
