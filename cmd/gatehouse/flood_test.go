package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rssLimit is the memory bound of issue 6: 1,000 simultaneous sign-ins keep
// the process under 256 MiB.
const rssLimit = 256 << 20

// procKiB reads a "Vm…:  N kB" line of /proc/PID/status.
func procKiB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// TestThousandConcurrentSignInsStayUnder256MiB starts a real node with the
// real argon2id cost (64 MiB a hash) and fires 1,000 password sign-ins at
// once on loopback — from 50 source addresses (127.0.0.2–51, 20 each: within
// the per-address burst, so every request reaches the password check). The
// node's resident memory, sampled from /proc every 5 ms and read from its
// high-water mark (VmHWM), stays under 256 MiB; the requests past the
// hashing queue are answered at once with 503 unavailable and Retry-After;
// every other one gets its answer; and the node then serves a sign-in.
func TestThousandConcurrentSignInsStayUnder256MiB(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc to read the process's memory")
	}
	n := startNode(t, nodeConfig{Name: "flood", DefaultRateLimit: true})
	pid := n.cmd.Process.Pid
	base, err := procKiB(pid, "VmRSS")
	if err != nil {
		t.Fatal(err)
	}

	const sources, perSource = 50, 20
	var peak atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if kib, err := procKiB(pid, "VmRSS"); err == nil && kib > peak.Load() {
				peak.Store(kib)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()

	type answer struct {
		status     int
		code       string
		retryAfter string
		err        error
		took       time.Duration
	}
	answers := make([]answer, sources*perSource)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for s := range sources {
		src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+s))}
		tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: src, Timeout: 30 * time.Second}).DialContext, DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		hc := &http.Client{Transport: tr, Timeout: 60 * time.Second}
		for i := range perSource {
			k := s*perSource + i
			wg.Go(func() {
				body, _ := json.Marshal(map[string]string{"username": fmt.Sprintf("flood%04d", k), "password": "a wrong password, surely"})
				req, _ := http.NewRequestWithContext(ctx, "POST", n.URL+"/api/v1/auth/password", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				<-start
				t0 := time.Now()
				resp, err := hc.Do(req)
				a := answer{err: err, took: time.Since(t0)}
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					var e struct {
						Error struct{ Code string } `json:"error"`
					}
					_ = json.Unmarshal(b, &e)
					a.status, a.code, a.retryAfter = resp.StatusCode, e.Error.Code, resp.Header.Get("Retry-After")
				}
				answers[k] = a
			})
		}
	}
	began := time.Now()
	close(start)
	wg.Wait()
	took := time.Since(began)
	close(stopSampling)
	<-sampled
	hwm, err := procKiB(pid, "VmHWM")
	if err != nil {
		t.Fatal(err)
	}

	counts := map[string]int{}
	var slowest503 time.Duration
	for i, a := range answers {
		switch {
		case a.err != nil:
			t.Fatalf("request %d: %v", i, a.err)
		case a.status == http.StatusUnauthorized && a.code == "invalid_credentials":
			counts["401 checked"]++
		case a.status == http.StatusServiceUnavailable && a.code == "unavailable":
			counts["503 busy"]++
			if a.retryAfter == "" {
				t.Errorf("request %d: 503 without Retry-After", i)
			}
			slowest503 = max(slowest503, a.took)
		default:
			t.Errorf("request %d: %d %q", i, a.status, a.code)
		}
	}
	t.Logf("1,000 sign-ins in %v: %v; RSS %d MiB before, peak sampled %d MiB, VmHWM %d MiB; slowest 503 after %v",
		took.Round(time.Millisecond), counts, base>>10, peak.Load()>>10, hwm>>10, slowest503.Round(time.Millisecond))
	if hwm<<10 >= rssLimit || peak.Load()<<10 >= rssLimit {
		t.Fatalf("resident memory reached %d MiB (sampled peak %d MiB), limit %d MiB", hwm>>10, peak.Load()>>10, rssLimit>>20)
	}
	if counts["503 busy"] == 0 || counts["401 checked"] == 0 {
		t.Fatalf("want both checked sign-ins and 503s past the queue, got %v", counts)
	}
	if took > 60*time.Second {
		t.Fatalf("the flood took %v", took)
	}
	// The node is healthy afterwards: the administrator signs in.
	c := newClient(t)
	r := c.signIn(n, "admin", n.AdminPassword)
	wantState(t, r, "password_change_required")
}
