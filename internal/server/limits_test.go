package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/server"
	"gatehouse/internal/web"
)

// closedWithin dials the node, runs feed (which writes slowly until the
// server hangs up or its own budget ends) and reports how long after the
// dial the server closed the connection, or fails when it did not within
// limit. The client is bounded: one connection, a few bytes a tick, a few
// seconds at most.
func closedWithin(t *testing.T, ts *testServer, limit time.Duration, feed func(c net.Conn, stop <-chan struct{})) time.Duration {
	t.Helper()
	addr := strings.TrimPrefix(ts.URL, "http://localhost")
	// Timed from before the dial: the server's clock for the connection
	// starts when it accepts, which can come well before a loaded machine
	// gets back to this goroutine once Dial is done (a cut 106 ms "early"
	// was seen that way).
	start := time.Now()
	c, err := net.Dial("tcp", "127.0.0.1"+addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	closed := make(chan time.Duration, 1)
	go func() {
		_, _ = io.Copy(io.Discard, c) // returns when the server closes
		closed <- time.Since(start)
	}()
	stop := make(chan struct{})
	go feed(c, stop)
	defer close(stop)
	select {
	case d := <-closed:
		return d
	case <-time.After(limit):
		t.Fatalf("the server kept the connection for more than %v", limit)
		return 0
	}
}

func trickle(c net.Conn, stop <-chan struct{}, first string, each string) {
	if _, err := io.WriteString(c, first); err != nil {
		return
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for range 100 { // at most 5 s of trickling
		select {
		case <-stop:
			return
		case <-tick.C:
			if _, err := io.WriteString(c, each); err != nil {
				return
			}
		}
	}
}

// TestHTTPServerLimitsCutSlowAndGreedyClients runs a node with short
// timeouts (server.Config.HTTP) and checks each limit with a slow, bounded
// client on loopback: a header trickle (slowloris) is cut at
// ReadHeaderTimeout, a body trickle at ReadTimeout, an idle keep-alive
// connection at IdleTimeout; an oversized header block is 431 and an
// oversized body 400 invalid_input.
func TestHTTPServerLimitsCutSlowAndGreedyClients(t *testing.T) {
	t.Parallel()
	limits := server.HTTPLimits{ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 800 * time.Millisecond, WriteTimeout: 2 * time.Second, IdleTimeout: 500 * time.Millisecond}
	ts := startNodeWith(t, "", nil, func(c *server.Config) { c.HTTP = limits })

	t.Run("slowloris header trickle", func(t *testing.T) {
		d := closedWithin(t, ts, 3*time.Second, func(c net.Conn, stop <-chan struct{}) {
			trickle(c, stop, "GET /signin HTTP/1.1\r\nHost: localhost\r\n", "X-Slow: 1\r\n")
		})
		if d < limits.ReadHeaderTimeout-50*time.Millisecond {
			t.Fatalf("cut after %v, before ReadHeaderTimeout %v", d, limits.ReadHeaderTimeout)
		}
		t.Logf("header trickle cut after %v (ReadHeaderTimeout %v)", d, limits.ReadHeaderTimeout)
	})
	t.Run("slow body", func(t *testing.T) {
		d := closedWithin(t, ts, 3*time.Second, func(c net.Conn, stop <-chan struct{}) {
			trickle(c, stop, "POST /api/v1/auth/password HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{", " ")
		})
		if d < limits.ReadTimeout-50*time.Millisecond {
			t.Fatalf("cut after %v, before ReadTimeout %v", d, limits.ReadTimeout)
		}
		t.Logf("body trickle cut after %v (ReadTimeout %v)", d, limits.ReadTimeout)
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		d := closedWithin(t, ts, 3*time.Second, func(c net.Conn, stop <-chan struct{}) {
			_, _ = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
		})
		if d < limits.IdleTimeout-50*time.Millisecond {
			t.Fatalf("closed after %v, before IdleTimeout %v", d, limits.IdleTimeout)
		}
	})
	t.Run("oversized header", func(t *testing.T) {
		c, err := net.Dial("tcp", "127.0.0.1"+strings.TrimPrefix(ts.URL, "http://localhost"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		big := strings.Repeat("a", server.DefaultHTTPLimits.MaxHeaderBytes+8<<10)
		fmt.Fprintf(c, "GET /signin HTTP/1.1\r\nHost: localhost\r\nCookie: x=%s\r\n\r\n", big)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status %d, want 431", resp.StatusCode)
		}
	})
	t.Run("oversized body", func(t *testing.T) {
		body := `{"username":"` + strings.Repeat("a", web.MaxBodyBytes) + `","password":"x"}`
		r := ts.client(t).sendT(apiRequest{Method: "POST", Path: "/api/v1/auth/password", Body: body})
		wantError(t, r, http.StatusBadRequest, "invalid_input")
		if !strings.Contains(r.message(), "larger than") {
			t.Errorf("message %q", r.message())
		}
	})
}
