package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gatehouse/internal/testenv"
)

// A small in-process run of `gatehouse bench`: it must seed, drive both
// phases without a failed request, and write JSON that benchplot reads. No
// figure is checked (never a timing in a unit test).
func TestBenchSmallRun(t *testing.T) {
	rep, stdout := smallBench(t, "--users", "64,80", "--requests", "300", "--signins", "5")
	if len(rep.Runs) != 4 {
		t.Fatalf("%d runs, want 4 (MFA step and sign-in for two sizes):\n%s", len(rep.Runs), stdout)
	}
	for _, r := range rep.Runs {
		want := 300
		if r.Kind == "signin" {
			want = 5
		}
		if r.Requests != want || r.Errors != 0 || r.RPS <= 0 || r.P99ms < r.P50ms {
			t.Errorf("run %+v: want %d requests, none failed", r, want)
		}
		if r.Kind == "mfa" && r.BytesUser <= 0 {
			t.Errorf("run %+v: no database size", r)
		}
	}
	if !strings.Contains(stdout, "MFA step") {
		t.Errorf("output:\n%s", stdout)
	}
}

// smallBench runs `gatehouse bench` in-process with cheap hashing and 4
// workers, and returns the JSON it wrote and what it printed.
func smallBench(t *testing.T, args ...string) (benchReport, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bench.json")
	var stdout, stderr bytes.Buffer
	args = append([]string{"bench", "--in-process", "--fast-hash", "--startups", "0", "--workers", "4", "--json", out}, args...)
	if err := run(context.Background(), args, nil, &stdout, &stderr); err != nil {
		t.Fatalf("bench: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep benchReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return rep, stdout.String()
}

func TestBenchRefusesARemoteDatabase(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"bench", "--db", "postgres://u@db.example.com/x"}, nil, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("err = %v, want a loopback refusal", err)
	}
}

// The same on PostgreSQL: a schema of its own, seeded, vacuumed and
// dropped again; runs are labelled by whether the connection uses TLS.
func TestBenchSmallRunOnPostgres(t *testing.T) {
	base := testenv.PostgresURL()
	testenv.PostgresDSN(t) // skips (or fails under GATEHOUSE_TEST_STRICT) without PostgreSQL
	rep, stdout := smallBench(t, "--db", base, "--users", "64", "--requests", "200", "--signins", "3")
	if len(rep.Runs) != 2 {
		t.Fatalf("%d runs, want 2:\n%s", len(rep.Runs), stdout)
	}
	for _, r := range rep.Runs {
		if r.Errors != 0 || r.RPS <= 0 || (r.DB != "postgres" && r.DB != "postgres+tls") {
			t.Errorf("run %+v: want no failures, db postgres or postgres+tls", r)
		}
	}
}

// Bad flags fail before anything is seeded, with a message that names the
// flag at fault.
func TestBenchRefusesBadFlagsByName(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--rate", "-5"}, "--rate"},
		{[]string{"--rate", "NaN"}, "--rate"},
		{[]string{"--signins", "-1"}, "--signins"},
		{[]string{"--startups", "-1"}, "--startups"},
		{[]string{"--requests", "-1"}, "--requests"},
		{[]string{"--workers", "0"}, "--workers"},
		{[]string{"--warmup", "-1s"}, "--warmup"},
		{[]string{"--per-source", "0"}, "--per-source"},
		{[]string{"--duration", "0s"}, "--duration"},
		{[]string{"--users", "10", "--workers", "16"}, "too few for 16 workers"},
		{[]string{"--users", "100,10", "--workers", "4"}, "--users 10 is too few"},
		{[]string{"--requests", "0", "--startups", "0"}, "nothing to measure"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"bench"}, tt.args...), nil, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one naming %q", err, tt.want)
			}
			if strings.Contains(stdout.String(), "seeding") {
				t.Errorf("seeded before refusing:\n%s", stdout.String())
			}
		})
	}
}

// The kernel counts a process's CPU time in 10 ms units, so a CPU time per
// request is printed to three significant digits, not a fixed three decimals
// ("134.000 ms" claimed a precision a few dozen sign-ins cannot have).
func TestCPUPerRequestIsPrintedToThreeSignificantDigits(t *testing.T) {
	for _, c := range []struct {
		ms   float64
		want string
	}{
		{0.2795, "0.280"},
		{0.05, "0.0500"},
		{1.234, "1.23"},
		{16.66, "16.7"},
		{134, "134"},
		{128.5, "128"}, // round half to even
		{1234.4, "1234"},
	} {
		if got := cpuMS(c.ms); got != c.want {
			t.Errorf("cpuMS(%v) = %q, want %q", c.ms, got, c.want)
		}
	}
}
