package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"gatehouse/internal/password"
	"gatehouse/internal/policy"
	"gatehouse/internal/server"
)

// startNodeWith runs a Gatehouse like startAPIServer (no-device behaviour
// "allow", clock at today's current step + 5 s) but with the per-address
// limit at its defaults and cfg changed by mod. Nodes given the same dir and
// clock share one SQLite database: two nodes behind a load balancer.
func startNodeWith(t *testing.T, dir string, clk *clock, mod func(*server.Config)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if clk == nil {
		now := time.Now().UTC().Truncate(time.Second)
		clk = &clock{t: now.Add(-time.Duration(now.Unix()%30)*time.Second + 5*time.Second)}
	}
	if dir == "" {
		dir = t.TempDir()
	}
	logs := &syncBuffer{}
	fast := password.Fast
	cfg := server.Config{
		DataDir: dir, DB: "sqlite:" + filepath.Join(dir, "gatehouse.db"),
		BaseURL: "http://localhost:" + strconv.Itoa(port), PasswordParams: &fast,
		Logger: slog.New(slog.NewTextHandler(io.MultiWriter(logs), nil)), Now: clk.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	app, err := server.Open(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	pol := policy.Default()
	pol.NoDeviceBehavior = policy.Allow
	if _, err := app.Policy.SetMFA(ctx, pol); err != nil {
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
