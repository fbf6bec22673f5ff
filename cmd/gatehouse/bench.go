package main

// gatehouse bench: a bounded load generator on loopback (issue 8). It seeds
// its own installation (a temporary SQLite file, or a fresh schema of a
// PostgreSQL database given with --db), starts a Gatehouse server as a child
// process (or in this process with --in-process), and drives
//
//   - the MFA step: POST /api/v1/auth/totp with a fresh valid code for a
//     session in the mfa_required state (session lookup, throttle, the
//     replay guard's compare-and-set, the audit record, session rotation);
//   - the full sign-in: POST /api/v1/auth/password then the MFA step, with
//     the argon2id cost the server runs with.
//
// Codes must be fresh for the replay guard, and a user can use one code per
// 30 s step. So the server runs on a virtual clock that the generator owns:
// request k goes to user k mod N with the code of step base+k/N, and the
// clock is moved to that step when the first request of each round of N is
// sent (in a child, through a line on its standard input). A request that
// lags its round by one step is still inside the ±1 window.
//
// Every loop is bounded by a request count and a duration; every address is
// on loopback. Requests come from many loopback source addresses
// (127.x.y.z), a few requests each, so a per-address rate limit on the
// sign-in endpoints sees what it would see from many clients.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", for sizes

	"gatehouse/internal/account"
	"gatehouse/internal/mfa"
	"gatehouse/internal/password"
	"gatehouse/internal/secretbox"
	"gatehouse/internal/server"
	"gatehouse/internal/store"
	"gatehouse/internal/totp"
)

// benchPassword is every seeded user's password.
const benchPassword = "correct horse battery staple"

type benchOptions struct {
	users      []int
	requests   int
	duration   time.Duration
	warmup     time.Duration
	rate       float64
	workers    int
	signins    int
	db         string
	inProcess  bool
	fastHash   bool
	startups   int
	jsonPath   string
	perSource  int
	serveChild bool
	cpuProfile string
}

// benchRun is one measured phase; the JSON output is a list of these.
type benchRun struct {
	Kind       string  `json:"kind"` // "mfa", "signin"
	DB         string  `json:"db"`   // "sqlite", "postgres"
	Server     string  `json:"server"`
	Users      int     `json:"users"`
	Workers    int     `json:"workers"`
	TargetRate float64 `json:"target_rate,omitempty"` // 0: as fast as possible
	Requests   int     `json:"requests"`
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	Seconds    float64 `json:"seconds"`
	RPS        float64 `json:"rps"`
	P50ms      float64 `json:"p50_ms"`
	P90ms      float64 `json:"p90_ms"`
	P99ms      float64 `json:"p99_ms"`
	MaxMs      float64 `json:"max_ms"`
	// Server process memory (VmRSS) in MiB: before the phase and the peak
	// sampled every 50 ms during it. In-process it is the whole bench process.
	RSSIdleMiB float64 `json:"rss_idle_mib"`
	RSSPeakMiB float64 `json:"rss_peak_mib"`
	Argon2     string  `json:"argon2,omitempty"`
	SeedSecs   float64 `json:"seed_seconds,omitempty"`
	DBBytes    int64   `json:"db_bytes,omitempty"`
	BytesUser  float64 `json:"db_bytes_per_user,omitempty"`
	// LoadAvg is /proc/loadavg after the phase: other work on the machine
	// (above the bench's own) shows up here and in the figures.
	LoadAvg string `json:"loadavg,omitempty"`
	// WarmupExcluded requests, started within --warmup of the phase's
	// start, are left out of the latency percentiles (not the rate).
	WarmupExcluded int `json:"warmup_excluded,omitempty"`
	// WarmupKept: the phase was shorter than --warmup, so its latency
	// counts every request, warm-up included.
	WarmupKept bool `json:"warmup_kept,omitempty"`
	// ServerCPUms is the server process's CPU time (user + system) per
	// request during the phase: unlike req/s it hardly depends on what else
	// runs on the machine. CPUBoundRPS is what the machine's cores would
	// serve at that cost if the server had them to itself.
	ServerCPUms float64 `json:"server_cpu_ms_per_request,omitempty"`
	CPUBoundRPS float64 `json:"cpu_bound_rps,omitempty"`
	// MachineCPUms is the whole machine's busy CPU time per request
	// (/proc/stat): server, load generator, PostgreSQL's processes and
	// anything else running. MachineBusy is the share of the cores busy.
	MachineCPUms float64 `json:"machine_cpu_ms_per_request,omitempty"`
	MachineBusy  float64 `json:"machine_busy,omitempty"`
}

type benchStartup struct {
	Runs      int       `json:"runs"`
	Ms        []float64 `json:"ms"`
	MedianMs  float64   `json:"median_ms"`
	MaxMs     float64   `json:"max_ms"`
	IdleRSS   []float64 `json:"idle_rss_mib"`
	IdleRSSMx float64   `json:"idle_rss_max_mib"`
}

type benchReport struct {
	Started string        `json:"started"`
	Machine benchMachine  `json:"machine"`
	Command string        `json:"command"`
	Startup *benchStartup `json:"startup,omitempty"`
	Runs    []benchRun    `json:"runs"`
}

type benchMachine struct {
	CPUs   int    `json:"cpus"`
	CPU    string `json:"cpu"`
	MemGiB int    `json:"mem_gib"`
	Go     string `json:"go"`
	OS     string `json:"os"`
}

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o benchOptions
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	users := fs.String("users", "1000", "seeded users (with one authenticator app each); a comma list runs each size on a fresh installation")
	fs.IntVar(&o.requests, "requests", 20000, "MFA-step requests per user count (upper bound); 0 measures start-up only")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "upper bound on each load phase")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "requests started in this first part of the MFA-step phase count in its throughput but not its latency percentiles (the server's database connections and caches warming up)")
	fs.Float64Var(&o.rate, "rate", 0, "fixed request rate per second (0: as fast as the server answers); latency then counts from each request's scheduled time")
	fs.IntVar(&o.workers, "workers", 16, "concurrent clients (with --rate: the most requests in flight, 128 unless given); needs at least 4 users per client")
	fs.IntVar(&o.signins, "signins", 100, "full sign-ins (password + code) per user count; 0 skips them")
	fs.StringVar(&o.db, "db", "", "postgres://… to run on PostgreSQL (a fresh schema is made there and dropped after); default a temporary SQLite file")
	fs.BoolVar(&o.inProcess, "in-process", false, "run the server in this process instead of a child process")
	fs.BoolVar(&o.fastHash, "fast-hash", false, "cheap argon2id parameters (for trying the tool; the figures then do not count)")
	fs.IntVar(&o.startups, "startups", 5, "times to start gatehouse serve on an empty data dir and time /healthz (0 skips)")
	fs.StringVar(&o.jsonPath, "json", "", "write the results as JSON to this file (for scripts/benchplot)")
	fs.IntVar(&o.perSource, "per-source", 10, "requests sent from one loopback source address before moving to the next")
	fs.BoolVar(&o.serveChild, "serve-child", false, "internal: be the server child of a bench")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole bench process to this file (use with --in-process to see the server's costs)")
	fs.Usage = func() { benchUsage(fs) }
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if o.serveChild {
		return benchServeChild(ctx, fs.Args(), stdout, stderr)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	for _, s := range strings.Split(*users, ",") {
		n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(s), "_", ""))
		if err != nil || n < 1 {
			return fmt.Errorf("bench: --users: %q is not a positive number", s)
		}
		o.users = append(o.users, n)
	}
	if o.rate > 0 && !flagSet(fs, "workers", "") {
		o.workers = 128 // open loop: enough in flight that a slow answer does not delay the schedule
	}
	for _, c := range []struct {
		bad  bool
		flag string
		rule string
		val  any
	}{
		{o.workers < 1, "workers", "at least 1", o.workers},
		{o.duration <= 0, "duration", "positive", o.duration},
		{o.perSource < 1, "per-source", "at least 1", o.perSource},
		{o.requests < 0, "requests", "0 or more", o.requests},
		{o.signins < 0, "signins", "0 or more", o.signins},
		{o.startups < 0, "startups", "0 or more", o.startups},
		{o.warmup < 0, "warmup", "0 or more", o.warmup},
		{o.rate < 0 || math.IsNaN(o.rate) || math.IsInf(o.rate, 0), "rate", "0 (as fast as answers come) or a positive rate", o.rate},
	} {
		if c.bad {
			return fmt.Errorf("bench: --%s must be %s, not %v", c.flag, c.rule, c.val)
		}
	}
	if o.requests == 0 && o.startups == 0 {
		return errors.New("bench: nothing to measure: --requests and --startups are both 0")
	}
	if o.requests > 0 {
		// Checked before seeding: each user takes one code per round.
		if n := slices.Min(o.users); n < 4*o.workers {
			return fmt.Errorf("bench: --users %d is too few for %d workers (each user takes one code per round; need at least %d)", n, o.workers, 4*o.workers)
		}
	}
	if o.db != "" && !strings.HasPrefix(o.db, "postgres://") && !strings.HasPrefix(o.db, "postgresql://") {
		return errors.New("bench: --db takes a postgres:// URL (SQLite is the default, in a temporary folder)")
	}
	if err := checkLoopbackDSN(o.db); err != nil {
		return err
	}

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep := benchReport{Started: time.Now().UTC().Format(time.RFC3339), Machine: machine(), Command: "gatehouse bench " + strings.Join(args, " ")}
	if o.startups > 0 {
		st, err := benchStartups(ctx, o.startups)
		if err != nil {
			return fmt.Errorf("bench: start-up: %w", err)
		}
		rep.Startup = st
		fmt.Fprintf(stdout, "start-up (empty data dir to /healthz, %d runs): median %.0f ms, max %.0f ms; idle RSS max %.1f MiB\n",
			st.Runs, st.MedianMs, st.MaxMs, st.IdleRSSMx)
	}
	for _, n := range o.users {
		if o.requests == 0 {
			break
		}
		runs, err := benchOneSize(ctx, o, n, stdout)
		rep.Runs = append(rep.Runs, runs...)
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if o.jsonPath != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(o.jsonPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "results written to %s\n", o.jsonPath)
	}
	return nil
}

// checkLoopbackDSN refuses a database that is not on this machine: the
// bench writes a million rows and its load must stay on loopback.
func checkLoopbackDSN(dsn string) error {
	if dsn == "" {
		return nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return fmt.Errorf("bench: --db: %v", store.Redact(dsn))
	}
	host := u.Hostname()
	if host == "" || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("bench: --db must be on loopback (127.0.0.1 or localhost), not %q", host)
}

func machine() benchMachine {
	m := benchMachine{CPUs: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemGiB = (kb + 512*1024) / (1024 * 1024)
		}
	}
	return m
}

// rssMiB reads a process's VmRSS.
func rssMiB(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// machineCPU is the machine's busy and total CPU time in seconds, summed
// over its cores (/proc/stat).
func machineCPU() (busy, total float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:9] {
		x, _ := strconv.ParseFloat(v, 64)
		total += x / 100
		if i != 3 && i != 4 { // idle, iowait
			busy += x / 100
		}
	}
	return busy, total
}

// cpuSeconds is a process's user + system CPU time (/proc/PID/stat).
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	_, rest, ok := strings.Cut(string(b), ") ") // the command name may hold spaces
	if !ok {
		return 0
	}
	f := strings.Fields(rest) // f[0] is field 3 (state): utime is field 14, stime 15
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

// benchStartups starts the real `gatehouse serve` on an empty data dir n
// times and times the first 200 from /healthz; the idle RSS is read 1 s
// after it prints that it is running.
func benchStartups(ctx context.Context, n int) (*benchStartup, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	st := &benchStartup{Runs: n}
	for range n {
		dir, err := os.MkdirTemp("", "gatehouse-bench-start-")
		if err != nil {
			return nil, err
		}
		ms, rss, err := benchStartOnce(ctx, exe, dir)
		os.RemoveAll(dir)
		if err != nil {
			return nil, err
		}
		st.Ms = append(st.Ms, ms)
		st.IdleRSS = append(st.IdleRSS, rss)
	}
	s := slices.Clone(st.Ms)
	slices.Sort(s)
	st.MedianMs, st.MaxMs = s[len(s)/2], s[len(s)-1]
	if len(s)%2 == 0 {
		st.MedianMs = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	st.IdleRSSMx = slices.Max(st.IdleRSS)
	return st, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func benchStartOnce(ctx context.Context, exe, dir string) (ms, rss float64, err error) {
	port, err := freePort()
	if err != nil {
		return 0, 0, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(exe, "serve", "--data-dir", filepath.Join(dir, "data"), "--addr", addr)
	cmd.Env = benchChildEnv()
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	// serve answers /healthz while it still creates the administrator; the
	// idle RSS is read once it says it is running (and has freed that hash).
	running := make(chan struct{})
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	go func() {
		sc := bufio.NewScanner(out)
		said := false
		for sc.Scan() {
			if !said && strings.HasPrefix(sc.Text(), "Gatehouse is running") {
				said = true
				close(running)
			}
		}
	}()
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	hc := &http.Client{Timeout: time.Second}
	deadline := start.Add(20 * time.Second)
	for {
		if ctx.Err() != nil {
			return 0, 0, ctx.Err()
		}
		resp, err := hc.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return 0, 0, errors.New("serve did not answer /healthz within 20 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	ms = float64(time.Since(start).Microseconds()) / 1000
	hc.CloseIdleConnections()
	select {
	case <-running:
	case <-time.After(time.Until(deadline)):
		return 0, 0, errors.New("serve did not say it is running within 20 s")
	}
	time.Sleep(time.Second)
	return ms, rssMiB(cmd.Process.Pid), nil
}

// benchChildEnv is this environment without the GATEHOUSE_ settings that
// would point a child at another installation.
func benchChildEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "GATEHOUSE_") {
			env = append(env, e)
		}
	}
	return env
}

// benchUser is one seeded user as the generator knows it.
type benchUser struct {
	name   string
	secret []byte
}

// benchInstall is one seeded installation and its server.
type benchInstall struct {
	dsn, kind string
	users     []benchUser
	raw       []byte // key-encryption key
	base      int64  // first step of the virtual clock
	hashP     password.Params
	url       string
	pid       int
	setClock  func(step int64) error
	stop      func()
	drop      func()
	seedSecs  float64
	dbBytes   int64
	perUser   float64
	store     *store.DB // for seeding sessions
}

func benchOneSize(ctx context.Context, o benchOptions, n int, stdout io.Writer) ([]benchRun, error) {
	in, err := benchSeed(ctx, o, n, stdout)
	if in != nil && in.drop != nil {
		defer in.drop()
	}
	if err != nil {
		return nil, err
	}
	// The MFA step needs one mfa_required session per request; round r's
	// sessions start at round r's time.
	rounds := (o.requests + n - 1) / n
	sessions := make([]string, o.requests)
	var rows []account.Session
	for k := range o.requests {
		tok, hash, err := account.NewToken(rand.Reader)
		if err != nil {
			return nil, err
		}
		sessions[k] = tok
		at := stepTime(in.base + int64(k/n))
		rows = append(rows, account.Session{IDHash: hash, UserID: benchUserID(k % n), State: account.StateMFA,
			CreatedAt: at, LastSeenAt: at, ExpiresAt: at.Add(account.SignInLifetime)})
	}
	if err := in.store.BulkSeed(ctx, nil, nil, rows); err != nil {
		return nil, fmt.Errorf("bench: seed sessions: %w", err)
	}
	in.store.Close()
	in.store = nil
	if err := benchSettle(ctx, in); err != nil {
		return nil, fmt.Errorf("bench: vacuum after seeding: %w", err)
	}
	if err := benchStartServer(ctx, o, in); err != nil {
		return nil, err
	}
	defer in.stop()

	var out []benchRun
	mfaRun := benchRun{Kind: "mfa", DB: in.kind, Server: serverKind(o), Users: n, Workers: o.workers, TargetRate: o.rate,
		SeedSecs: in.seedSecs, DBBytes: in.dbBytes, BytesUser: in.perUser, Argon2: argonString(in.hashP)}
	err = benchMFA(ctx, o, in, sessions, &mfaRun)
	out = append(out, mfaRun)
	printRun(stdout, mfaRun)
	if err != nil {
		return out, err
	}
	if o.signins > 0 {
		sr := benchRun{Kind: "signin", DB: in.kind, Server: serverKind(o), Users: n, Workers: min(o.workers, 4), Argon2: argonString(in.hashP)}
		err = benchSignIns(ctx, o, in, int64(rounds), &sr)
		out = append(out, sr)
		printRun(stdout, sr)
	}
	return out, err
}

func serverKind(o benchOptions) string {
	if o.inProcess {
		return "in-process"
	}
	return "child"
}

func argonString(p password.Params) string {
	return fmt.Sprintf("argon2id m=%d KiB, t=%d, p=%d", p.Memory, p.Time, p.Threads)
}

func printRun(w io.Writer, r benchRun) {
	what := map[string]string{"mfa": "MFA step", "signin": "full sign-in"}[r.Kind]
	rate := "max"
	if r.TargetRate > 0 {
		rate = fmt.Sprintf("%.0f/s", r.TargetRate)
	}
	fmt.Fprintf(w, "%s %s, %d users, rate %s: %d requests (%d failed) in %.2f s = %.0f req/s; latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms; server RSS idle %.1f MiB, peak %.1f MiB\n",
		r.DB, what, r.Users, rate, r.Requests, r.Errors, r.Seconds, r.RPS, r.P50ms, r.P90ms, r.P99ms, r.MaxMs, r.RSSIdleMiB, r.RSSPeakMiB)
	if r.WarmupExcluded > 0 {
		fmt.Fprintf(w, "  latency leaves out the %d requests of the warm-up (--warmup)\n", r.WarmupExcluded)
	} else if r.WarmupKept {
		fmt.Fprintln(w, "  latency includes the warm-up: the phase was shorter than --warmup (send more --requests to leave it out)")
	}
	if r.ServerCPUms > 0 {
		fmt.Fprintf(w, "  server CPU %s ms per request: %.0f req/s if it had the %d cores to itself\n", cpuMS(r.ServerCPUms), r.CPUBoundRPS, runtime.NumCPU())
	}
	if r.MachineCPUms > 0 {
		fmt.Fprintf(w, "  machine CPU %s ms per request (server, load generator, database, anything else), cores %.0f%% busy\n", cpuMS(r.MachineCPUms), 100*r.MachineBusy)
	}
	if r.LoadAvg != "" {
		fmt.Fprintf(w, "  load average after the phase: %s\n", r.LoadAvg)
	}
	if r.FirstError != "" {
		fmt.Fprintf(w, "  first failure: %s\n", r.FirstError)
	}
	if r.Kind == "mfa" && r.DBBytes > 0 {
		fmt.Fprintf(w, "  seeded in %s; database %d bytes, %.0f bytes per user with one device\n",
			time.Duration(r.SeedSecs*float64(time.Second)).Round(time.Millisecond), r.DBBytes, r.BytesUser)
	}
	if r.Kind == "signin" {
		fmt.Fprintf(w, "  password hashing: %s\n", r.Argon2)
	}
}

func benchUserID(i int) string   { return fmt.Sprintf("%032x", i) }
func benchDeviceID(i int) string { return fmt.Sprintf("d%031x", i) }

// stepTime is 5 s into a step, so no request straddles a boundary.
func stepTime(step int64) time.Time {
	return time.Unix(step*totp.Default.Period+5, 0).UTC()
}

// benchSeed makes the database and writes n users with an active
// authenticator app each, in bulk, with one precomputed password hash.
func benchSeed(ctx context.Context, o benchOptions, n int, stdout io.Writer) (*benchInstall, error) {
	in := &benchInstall{kind: "sqlite", hashP: password.Default}
	if o.fastHash {
		in.hashP = password.Fast
	}
	if o.db == "" {
		dir, err := os.MkdirTemp("", "gatehouse-bench-")
		if err != nil {
			return nil, err
		}
		in.drop = func() { os.RemoveAll(dir) }
		in.dsn = "sqlite:" + filepath.Join(dir, "gatehouse.db")
	} else {
		in.kind = "postgres"
		dsn, drop, err := benchSchema(ctx, o.db)
		if err != nil {
			return in, err
		}
		in.dsn, in.drop = dsn, drop
	}
	in.raw = make([]byte, secretbox.KeySize)
	if _, err := rand.Read(in.raw); err != nil {
		return in, err
	}
	keys, err := secretbox.New(in.raw)
	if err != nil {
		return in, err
	}
	// The clock starts at the current step, so records carry plausible times.
	in.base = totp.Counter(time.Now(), totp.Default.Period)
	now := stepTime(in.base)

	db, err := store.Open(ctx, in.dsn)
	if err != nil {
		return in, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return in, err
	}
	db.Close() // a SQLite checkpoint, so the size below is the file's
	empty, err := benchDBBytes(ctx, in)
	if err != nil {
		return in, err
	}
	if db, err = store.Open(ctx, in.dsn); err != nil {
		return in, err
	}
	// TLS to the database is a large share of the step's cost on
	// PostgreSQL, so runs with it are labelled apart (and plotted apart).
	if tls, err := db.Encrypted(ctx); err != nil {
		db.Close()
		return in, err
	} else if tls {
		in.kind = "postgres+tls"
		fmt.Fprintln(stdout, "bench: the connection to PostgreSQL uses TLS (sslmode=prefer is pgx's default); add ?sslmode=disable to measure without it")
	}
	hash, err := password.NewHasher(in.hashP, 1).Hash(ctx, benchPassword)
	if err != nil {
		db.Close()
		return in, err
	}
	fmt.Fprintf(stdout, "%s: seeding %d users with one authenticator app each…\n", in.kind, n)
	start := time.Now()
	in.users = make([]benchUser, n)
	const chunk = 20000
	for lo := 0; lo < n; lo += chunk {
		if ctx.Err() != nil {
			db.Close()
			return in, ctx.Err()
		}
		hi := min(n, lo+chunk)
		users := make([]account.User, 0, hi-lo)
		devices := make([]mfa.Device, 0, hi-lo)
		for i := lo; i < hi; i++ {
			secret := make([]byte, 20)
			if _, err := rand.Read(secret); err != nil {
				db.Close()
				return in, err
			}
			name := fmt.Sprintf("user%d", i)
			in.users[i] = benchUser{name: name, secret: secret}
			uid, did := benchUserID(i), benchDeviceID(i)
			// The AAD is the one the MFA service binds a device's secret to.
			kid, ct, err := keys.Seal(secret, []byte("gatehouse/mfa-secret/"+did))
			if err != nil {
				db.Close()
				return in, err
			}
			users = append(users, account.User{ID: uid, Username: name, Email: name + "@example.com", PasswordHash: hash, CreatedAt: now})
			devices = append(devices, mfa.Device{ID: did, UserID: uid, Type: mfa.TypeTOTP, Name: "Phone", NameKey: "phone",
				Status: mfa.StatusActive, CreatedAt: now, ActivatedAt: now, SecretKeyID: kid, SecretCT: ct, LastStep: in.base - 1})
		}
		if err := db.BulkSeed(ctx, users, devices, nil); err != nil {
			db.Close()
			return in, fmt.Errorf("bench: seed: %w", err)
		}
	}
	db.Close()
	in.seedSecs = time.Since(start).Seconds()
	full, err := benchDBBytes(ctx, in)
	if err != nil {
		return in, err
	}
	in.dbBytes = full
	in.perUser = float64(full-empty) / float64(n)
	if in.store, err = store.Open(ctx, in.dsn); err != nil {
		return in, err
	}
	return in, nil
}

// benchSchema makes a fresh schema in the given PostgreSQL database and
// returns a DSN that uses it, and how to drop it.
func benchSchema(ctx context.Context, base string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, fmt.Errorf("bench: PostgreSQL at %s: %v", store.Redact(base), err)
	}
	defer conn.Close(context.Background())
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "gatehouse_bench_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, err
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if c, err := pgx.Connect(ctx, base); err == nil {
			_, _ = c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			c.Close(ctx)
		}
	}
	u, err := url.Parse(base)
	if err != nil {
		drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// benchDBBytes is the SQLite file (and its WAL) or the PostgreSQL schema's
// tables, indexes and TOAST.
func benchDBBytes(ctx context.Context, in *benchInstall) (int64, error) {
	if in.kind == "sqlite" {
		path := strings.TrimPrefix(in.dsn, "sqlite:")
		var total int64
		for _, p := range []string{path, path + "-wal"} {
			if fi, err := os.Stat(p); err == nil {
				total += fi.Size()
			}
		}
		return total, nil
	}
	db, err := sql.Open("pgx", in.dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n sql.NullInt64
	err = db.QueryRowContext(ctx, `SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
		WHERE s.nspname = current_schema() AND c.relkind = 'r'`).Scan(&n)
	return n.Int64, err
}

// benchSettle does on PostgreSQL what anyone does after a bulk load:
// VACUUM (ANALYZE) the seeded tables. Otherwise autovacuum and the first
// reads of each new row (setting its hint bits, which writes the page) run
// during the measured phase, and show as its slowest requests.
func benchSettle(ctx context.Context, in *benchInstall) error {
	if in.kind == "sqlite" {
		return nil
	}
	db, err := sql.Open("pgx", in.dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, pgx.Identifier{t}.Sanitize())
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(tables) == 0 {
		return err
	}
	_, err = db.ExecContext(ctx, "VACUUM (ANALYZE) "+strings.Join(tables, ", "))
	return err
}

// benchStartServer starts the server on the seeded installation, in this
// process or as a child, with the virtual clock at the base step.
func benchStartServer(ctx context.Context, o benchOptions, in *benchInstall) error {
	key := base64.StdEncoding.EncodeToString(in.raw)
	var clock atomic.Int64
	clock.Store(in.base)
	if o.inProcess {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		dir, err := os.MkdirTemp("", "gatehouse-bench-data-")
		if err != nil {
			ln.Close()
			return err
		}
		in.url = "http://" + ln.Addr().String()
		hp := in.hashP
		app, err := server.Open(ctx, server.Config{DataDir: dir, DB: in.dsn, Key: key, BaseURL: in.url, PasswordParams: &hp,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return stepTime(clock.Load()) }})
		if err != nil {
			ln.Close()
			os.RemoveAll(dir)
			return err
		}
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = app.Serve(sctx, ln) }()
		in.pid = os.Getpid()
		in.setClock = func(step int64) error { clock.Store(step); return nil }
		in.stop = func() { cancel(); <-done; app.Close(); os.RemoveAll(dir) }
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "gatehouse-bench-data-")
	if err != nil {
		return err
	}
	args := []string{"bench", "--serve-child", "--", in.dsn, dir, strconv.FormatInt(in.base, 10)}
	if o.fastHash {
		args = append(args, "fast")
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(benchChildEnv(), "GATEHOUSE_KEY="+key)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	in.pid = cmd.Process.Pid
	stopped := false
	in.stop = func() {
		if stopped {
			return
		}
		stopped = true
		stdin.Close() // the child stops when its standard input closes
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		os.RemoveAll(dir)
	}
	br := bufio.NewReader(out)
	line, err := br.ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		in.stop()
		return fmt.Errorf("bench: the server child did not start (%q, %v)", line, err)
	}
	in.url = "http://" + addr
	var mu sync.Mutex
	in.setClock = func(step int64) error {
		mu.Lock()
		defer mu.Unlock()
		if _, err := fmt.Fprintf(stdin, "%d\n", step); err != nil {
			return err
		}
		// The child answers once its clock is there, so no request sent
		// after this finds the old time.
		if ack, err := br.ReadString('\n'); err != nil || strings.TrimSpace(ack) != "ok" {
			return fmt.Errorf("bench: the server child did not move its clock (%q, %v)", ack, err)
		}
		return nil
	}
	return nil
}

// benchUsage lists the flags a user sets (not the server child's).
func benchUsage(fs *flag.FlagSet) {
	out := fs.Output()
	fmt.Fprintln(out, "Usage: gatehouse bench [flags]")
	fmt.Fprintln(out, "Seeds users with authenticator apps and measures the MFA step, full sign-in, memory and start-up, all on loopback (docs/performance.md).")
	show := flag.NewFlagSet("bench", flag.ContinueOnError)
	show.SetOutput(out)
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "serve-child" {
			show.Var(f.Value, f.Name, f.Usage)
		}
	})
	show.PrintDefaults()
}

// benchServeChild is the server child: args are DSN, data dir, first step
// and optionally "fast"; the key comes in GATEHOUSE_KEY. It prints
// "listening ADDR", then takes each line of standard input as the clock's
// new step (answering "ok" once set), and stops when standard input closes.
func benchServeChild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 3 {
		return errors.New("bench --serve-child: want DSN DIR STEP [fast]")
	}
	base, err := strconv.ParseInt(args[2], 10, 64)
	if err != nil {
		return err
	}
	var clock atomic.Int64
	clock.Store(base)
	hp := password.Default
	if len(args) > 3 && args[3] == "fast" {
		hp = password.Fast
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	// localhost, not the listener's IP address: WebAuthn is then on, as in
	// a real installation, and the server has nothing to warn about.
	baseURL := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	app, err := server.Open(ctx, server.Config{DataDir: args[1], DB: args[0], Key: os.Getenv("GATEHOUSE_KEY"), BaseURL: baseURL,
		PasswordParams: &hp, Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Now: func() time.Time { return stepTime(clock.Load()) }})
	if err != nil {
		return err
	}
	defer app.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if s, err := strconv.ParseInt(sc.Text(), 10, 64); err == nil {
				clock.Store(s)
				fmt.Fprintln(stdout, "ok")
			}
		}
		cancel()
	}()
	fmt.Fprintf(stdout, "listening %s\n", ln.Addr())
	return app.Serve(ctx, ln)
}

// benchClient sends each few requests from a new loopback source address.
type benchClient struct {
	per, used int
	hc        *http.Client
}

var benchSource atomic.Uint32

func (c *benchClient) client() *http.Client {
	if c.hc == nil || c.used >= c.per {
		if c.hc != nil {
			c.hc.CloseIdleConnections()
		}
		n := benchSource.Add(1)
		// 127.1.0.1 upwards: the whole of 127.0.0.0/8 is loopback on Linux.
		src := net.IPv4(127, byte(1+(n>>16)%250), byte(n>>8), byte(n))
		d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: src}}
		if runtime.GOOS != "linux" {
			d.LocalAddr = nil
		}
		c.hc = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext,
			MaxIdleConnsPerHost: 1, DisableCompression: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		c.used = 0
	}
	c.used++
	return c.hc
}

func (c *benchClient) close() {
	if c.hc != nil {
		c.hc.CloseIdleConnections()
	}
}

func benchPost(hc *http.Client, url, cookie string, body []byte) (*http.Response, error) {
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp, fmt.Errorf("%s: status %d: %s", req.URL.Path, resp.StatusCode, bytes.TrimSpace(b))
	}
	return resp, nil
}

// rssSampler records a process's peak VmRSS until stopped.
func rssSampler(pid int) (stop func() float64) {
	var peak float64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, rssMiB(pid))
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 { close(done); <-finished; return max(peak, rssMiB(pid)) }
}

// clockMover moves the server's clock to a round's step (never back), and
// only once every request of the round before the previous one has been
// answered: a request in flight is then at most one step behind the clock,
// inside the ±1 window even after the drift it leaves.
type clockMover struct {
	mu    sync.Mutex
	cur   atomic.Int64 // round the clock is at
	base  int64        // step of round 0
	set   func(int64) error
	order *userOrder
}

func (m *clockMover) atLeast(ctx context.Context, round int64) error {
	if round <= m.cur.Load() {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for r := m.cur.Load() + 1; r <= round; r++ {
		if err := m.order.waitRound(ctx, r-2); err != nil {
			return err
		}
		if err := m.set(m.base + r); err != nil {
			return err
		}
		m.cur.Store(r)
	}
	return nil
}

// userOrder makes request k wait until request k-n — the same user's, a
// round earlier — has been answered: a person does not send the next code
// before the last one is accepted, and if the later one overtook the earlier
// (a stalled request while other clients go round all users), the replay
// guard would rightly refuse the earlier one.
type userOrder struct {
	n        int
	finished []chan struct{}
}

func newUserOrder(total, n int) *userOrder {
	o := &userOrder{n: n, finished: make([]chan struct{}, total)}
	for i := range o.finished {
		o.finished[i] = make(chan struct{})
	}
	return o
}

func (o *userOrder) wait(ctx context.Context, k int) error {
	if k < o.n {
		return nil
	}
	select {
	case <-o.finished[k-o.n]:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (o *userOrder) done(k int) { close(o.finished[k]) }

// waitRound waits until every request of round r has been answered (or
// skipped).
func (o *userOrder) waitRound(ctx context.Context, r int64) error {
	if r < 0 {
		return nil
	}
	for k := int(r) * o.n; k < min(len(o.finished), int(r+1)*o.n); k++ {
		select {
		case <-o.finished[k]:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// benchLoad runs job(k) for k = 0, 1, … up to total, bounded by the
// duration (a job taken but not run then goes to skip): closed-loop with o.workers clients, or at a fixed rate with at
// most o.workers in flight, latency then counted from each job's scheduled
// time. It fills r's counts, rate and percentiles.
func benchLoad(ctx context.Context, o benchOptions, workers, total int, rate float64, pid int, r *benchRun,
	job func(c *benchClient, k int) error, skip func(k int)) {
	lat := make([]time.Duration, total)
	done := make([]bool, total)
	warm := make([]bool, total)
	var next, failed atomic.Int64
	var first atomic.Value
	r.RSSIdleMiB = rssMiB(pid)
	cpu0 := cpuSeconds(pid)
	busy0, total0 := machineCPU()
	stopRSS := rssSampler(pid)
	start := time.Now()
	deadline := start.Add(o.duration)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			c := &benchClient{per: o.perSource}
			defer c.close()
			for ctx.Err() == nil {
				k := int(next.Add(1) - 1)
				if k >= total {
					return
				}
				t0 := time.Now()
				if rate > 0 {
					t0 = start.Add(time.Duration(float64(k) / rate * float64(time.Second)))
					if d := time.Until(t0); d > 0 {
						time.Sleep(d)
					}
				}
				if t0.After(deadline) || time.Now().After(deadline) {
					if skip != nil {
						skip(k) // taken but not sent: nothing may wait for it
					}
					return // bounded in time, even when the server falls behind a fixed rate
				}
				err := job(c, k)
				lat[k], done[k], warm[k] = time.Since(t0), true, t0.Sub(start) < o.warmup
				if err != nil {
					failed.Add(1)
					first.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	r.RSSPeakMiB = stopRSS()
	cpu := cpuSeconds(pid) - cpu0
	busy1, total1 := machineCPU()
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		r.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	var got, measured []time.Duration
	for k := range total {
		if done[k] {
			got = append(got, lat[k])
			if !warm[k] {
				measured = append(measured, lat[k])
			}
		}
	}
	// A phase shorter than the warm-up keeps all its requests (and says so).
	if len(measured) > 0 {
		r.WarmupExcluded = len(got) - len(measured)
	} else {
		measured = got
		r.WarmupKept = o.warmup > 0
	}
	r.Requests, r.Errors, r.Seconds = len(got), int(failed.Load()), elapsed.Seconds()
	if f, ok := first.Load().(string); ok {
		r.FirstError = f
	}
	if len(got) == 0 {
		return
	}
	r.RPS = float64(len(got)-r.Errors) / elapsed.Seconds()
	if cpu > 0 {
		r.ServerCPUms = cpu * 1000 / float64(len(got))
		r.CPUBoundRPS = float64(runtime.NumCPU()) / (cpu / float64(len(got)))
	}
	// /proc/stat's totals are counted at the scheduler tick, and a core that
	// is busy for less than a tick between idle periods (a tickless kernel
	// stops the tick when idle) may never be counted: under light load they
	// can read less than the server's own CPU time (/proc/PID/stat, which
	// is exact). Such a reading is left out rather than reported wrong.
	if machine := (busy1 - busy0) * 1000 / float64(len(got)); total1 > total0 && machine >= r.ServerCPUms {
		r.MachineCPUms = machine
		r.MachineBusy = (busy1 - busy0) / (total1 - total0)
	}
	slices.Sort(measured)
	pct := func(p int) float64 {
		return float64(measured[min(len(measured)-1, len(measured)*p/100)].Microseconds()) / 1000
	}
	r.P50ms, r.P90ms, r.P99ms, r.MaxMs = pct(50), pct(90), pct(99), float64(measured[len(measured)-1].Microseconds())/1000
}

func benchMFA(ctx context.Context, o benchOptions, in *benchInstall, sessions []string, r *benchRun) error {
	n := len(in.users) // at least 4 per worker: checked with the flags
	order := newUserOrder(len(sessions), n)
	clock := &clockMover{base: in.base, set: in.setClock, order: order}
	benchLoad(ctx, o, o.workers, len(sessions), o.rate, in.pid, r, func(c *benchClient, k int) error {
		defer order.done(k)
		if err := order.wait(ctx, k); err != nil {
			return err
		}
		step := in.base + int64(k/n)
		if err := clock.atLeast(ctx, int64(k/n)); err != nil {
			return err
		}
		u := in.users[k%n]
		body, _ := json.Marshal(map[string]string{"code": totp.HOTP(u.secret, step, totp.Default)})
		_, err := benchPost(c.client(), in.url+"/api/v1/auth/totp", "gatehouse_session="+sessions[k], body)
		return err
	}, order.done)
	if r.Errors > 0 {
		return fmt.Errorf("bench: %d of %d MFA steps failed; first: %s", r.Errors, r.Requests, r.FirstError)
	}
	return nil
}

// benchSignIns signs in users from the round after the MFA phase on, so
// their codes are fresh too.
func benchSignIns(ctx context.Context, o benchOptions, in *benchInstall, fromRound int64, r *benchRun) error {
	n := len(in.users)
	order := newUserOrder(o.signins, n)
	// Rounds here count from the MFA phase's last one: the clock is there.
	clock := &clockMover{base: in.base + fromRound - 1, set: in.setClock, order: order}
	// The server is warm from the MFA phase just before: every sign-in counts.
	o.warmup = 0
	benchLoad(ctx, o, r.Workers, o.signins, 0, in.pid, r, func(c *benchClient, k int) error {
		defer order.done(k)
		if err := order.wait(ctx, k); err != nil {
			return err
		}
		step := in.base + fromRound + int64(k/n)
		if err := clock.atLeast(ctx, int64(k/n)+1); err != nil {
			return err
		}
		u := in.users[k%n]
		hc := c.client()
		body, _ := json.Marshal(map[string]string{"username": u.name, "password": benchPassword})
		resp, err := benchPost(hc, in.url+"/api/v1/auth/password", "", body)
		if err != nil {
			return err
		}
		var cookie string
		for _, ck := range resp.Cookies() {
			if strings.HasSuffix(ck.Name, "gatehouse_session") {
				cookie = ck.Name + "=" + ck.Value
			}
		}
		if cookie == "" {
			return errors.New("password step set no session cookie")
		}
		body, _ = json.Marshal(map[string]string{"code": totp.HOTP(u.secret, step, totp.Default)})
		_, err = benchPost(hc, in.url+"/api/v1/auth/totp", cookie, body)
		return err
	}, order.done)
	if r.Errors > 0 {
		return fmt.Errorf("bench: %d of %d sign-ins failed; first: %s", r.Errors, r.Requests, r.FirstError)
	}
	return nil
}

// cpuMS formats a CPU time per request (> 0) to three significant digits:
// the kernel reports a process's CPU time in 10 ms units, so over a phase
// of a few dozen sign-ins more digits would be noise.
func cpuMS(v float64) string {
	return strconv.FormatFloat(v, 'f', max(0, 2-int(math.Floor(math.Log10(v)))), 64)
}
