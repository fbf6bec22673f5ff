package server_test

// Figures for issue 3: MFA-step requests per second on SQLite and PostgreSQL
// with one and two nodes over one database, and the time to migrate a
// 10,000-user SQLite installation into PostgreSQL. Bounded runs on loopback:
//
//	go test -run x -bench . -benchtime=3000x -count 3 ./internal/server/
//
// Every name here starts with "bench" so it cannot collide with the helpers
// of the other test files of this package.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/internal/account"
	"gatehouse/internal/mfa"
	"gatehouse/internal/password"
	"gatehouse/internal/secretbox"
	"gatehouse/internal/server"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
	"gatehouse/internal/totp"
)

// benchNow is every bench node's fixed clock: a step's start plus 5 s, so all
// codes are computable and none straddles a step boundary.
var benchNow = time.Unix(1_800_000_000-1_800_000_000%30+5, 0).UTC()

// benchWorkers is how many clients send requests at once.
const benchWorkers = 16

type benchNode struct {
	app *server.App
	url string // http://127.0.0.1:PORT
}

func benchKey(b *testing.B) string {
	k := make([]byte, secretbox.KeySize)
	if _, err := rand.Read(k); err != nil {
		b.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

// benchDSN is a fresh database of the kind: a SQLite file, or a PostgreSQL
// schema of its own.
func benchDSN(b *testing.B, kind string) string {
	if kind == "postgres" {
		return testenv.PostgresDSN(b)
	}
	return "sqlite:" + filepath.Join(b.TempDir(), "gatehouse.db")
}

// benchNodes starts n in-process Gatehouse servers on loopback over one
// database, with one key and the fixed clock.
func benchNodes(b *testing.B, dsn string, n int) []*benchNode {
	b.Helper()
	key := benchKey(b)
	fast := password.Fast
	var nodes []*benchNode
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		app, err := server.Open(context.Background(), server.Config{
			DataDir: b.TempDir(), DB: dsn, Key: key, BaseURL: "http://127.0.0.1:" + port,
			PasswordParams: &fast, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Now: func() time.Time { return benchNow },
		})
		if err != nil {
			ln.Close()
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = app.Serve(ctx, ln)
		}()
		b.Cleanup(func() {
			cancel()
			<-done
			app.Close()
		})
		nodes = append(nodes, &benchNode{app: app, url: "http://127.0.0.1:" + port})
	}
	return nodes
}

// benchSignIn is one half-finished sign-in: a session in the mfa_required
// state and the code that completes it.
type benchSignIn struct {
	cookie string
	body   []byte
}

// benchSeed adds n users, each with an active authenticator app confirmed
// through the services at the fixed clock's step, and one mfa_required
// session each; the code given is the next step's, fresh for the replay guard.
func benchSeed(b *testing.B, app *server.App, n int) []benchSignIn {
	b.Helper()
	ctx := context.Background()
	out := make([]benchSignIn, n)
	step := totp.Counter(benchNow, totp.Default.Period)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, benchWorkers)
	for range benchWorkers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := func() error {
					u, _, err := app.Accounts.CreateUser(ctx, fmt.Sprintf("user%d", i), "", false, "correct horse battery staple")
					if err != nil {
						return err
					}
					e, err := app.MFA.StartTOTP(ctx, u.ID, u.Username, "Phone")
					if err != nil {
						return err
					}
					if _, err := app.MFA.Confirm(ctx, u.ID, e.ID, totp.HOTP(e.Secret, step, totp.Default)); err != nil {
						return err
					}
					token, hash, err := account.NewToken(rand.Reader)
					if err != nil {
						return err
					}
					if err := app.Store.CreateSession(ctx, account.Session{IDHash: hash, UserID: u.ID, State: account.StateMFA,
						CreatedAt: benchNow, LastSeenAt: benchNow, ExpiresAt: benchNow.Add(account.SignInLifetime)}); err != nil {
						return err
					}
					body, _ := json.Marshal(map[string]string{"code": totp.HOTP(e.Secret, step+1, totp.Default)})
					out[i] = benchSignIn{cookie: "gatehouse_session=" + token, body: body}
					return nil
				}(); err != nil {
					errs <- fmt.Errorf("seed user %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkMFAStep measures POST /api/v1/auth/totp with valid fresh codes
// (session lookup, throttle, replay guard's compare-and-set, session
// rotation), benchWorkers clients at once; with two nodes the requests
// alternate between them. One user per request, so b.N users are seeded
// before the timer starts: bound b.N with -benchtime=3000x.
func BenchmarkMFAStep(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		for _, n := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/%dnode", kind, n)+map[bool]string{true: "s"}[n > 1], func(b *testing.B) {
				benchMFAStep(b, kind, n)
			})
		}
	}
}

func benchMFAStep(b *testing.B, kind string, n int) {
	nodes := benchNodes(b, benchDSN(b, kind), n)
	signIns := benchSeed(b, nodes[0].app, b.N)
	// Each connection comes from its own loopback address (127.2.x.y) and
	// carries one request, so the per-address limit on sign-in endpoints
	// sees many clients, as in production, rather than one flooding it.
	var src atomic.Uint32
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		n := src.Add(1)
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 2+byte(n>>16), byte(n>>8), byte(n))}}
		return d.DialContext(ctx, network, addr)
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: dial, DisableKeepAlives: true, DisableCompression: true,
	}}
	b.Cleanup(hc.CloseIdleConnections)
	lat := make([]time.Duration, b.N)
	var next, failed atomic.Int64
	var firstFailure atomic.Value
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range benchWorkers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(signIns) {
					return
				}
				req, _ := http.NewRequest("POST", nodes[i%len(nodes)].url+"/api/v1/auth/totp", bytes.NewReader(signIns[i].body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Cookie", signIns[i].cookie)
				t0 := time.Now()
				resp, err := hc.Do(req)
				if err == nil {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d: %s", resp.StatusCode, body)
					}
				}
				lat[i] = time.Since(t0)
				if err != nil {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d MFA steps failed; first: %v", f, b.N, firstFailure.Load())
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// benchUsers is the size of the installation BenchmarkMigrateData10kUsers moves.
const benchUsers = 10_000

// benchSQLiteInstallation writes a SQLite installation of benchUsers users,
// each with one active authenticator app whose secret is sealed as the
// service seals it, through the store's own methods.
func benchSQLiteInstallation(b *testing.B) *store.DB {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "gatehouse.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	raw := make([]byte, secretbox.KeySize)
	_, _ = rand.Read(raw)
	keys, err := secretbox.New(raw)
	if err != nil {
		b.Fatal(err)
	}
	hash, err := password.NewHasher(password.Fast, 1).Hash(ctx, "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.PutMetaIfAbsent(ctx, "key_check", []byte("kid:sealed")); err != nil {
		b.Fatal(err)
	}
	for i := range benchUsers {
		uid, did := fmt.Sprintf("%032x", i), fmt.Sprintf("d%031x", i)
		if err := db.CreateUser(ctx, account.User{ID: uid, Username: fmt.Sprintf("user%d", i), Email: fmt.Sprintf("user%d@example.com", i),
			PasswordHash: hash, CreatedAt: benchNow}); err != nil {
			b.Fatal(err)
		}
		secret := make([]byte, 20)
		_, _ = rand.Read(secret)
		kid, ct, err := keys.Seal(secret, []byte("gatehouse/mfa-secret/"+did))
		if err != nil {
			b.Fatal(err)
		}
		d := mfa.Device{ID: did, UserID: uid, Type: mfa.TypeTOTP, Name: "Phone", NameKey: "phone", Status: mfa.StatusPending,
			CreatedAt: benchNow, ExpiresAt: benchNow.Add(mfa.EnrollmentTTL), SecretKeyID: kid, SecretCT: ct, LastStep: -1}
		if err := db.CreatePending(ctx, d, benchNow); err != nil {
			b.Fatal(err)
		}
		if _, err := db.Activate(ctx, uid, did, 1, 0, mfa.MaxTOTPDevices, benchNow); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// BenchmarkMigrateData10kUsers times store.CopyAll (what `gatehouse
// migrate-data` does) of a 10,000-user SQLite installation into a fresh
// PostgreSQL schema. One op is one whole migration; at most 3 are run
// whatever b.N is (so -benchtime=3000x stays short), and ns/op is reported
// per migration.
func BenchmarkMigrateData10kUsers(b *testing.B) {
	ctx := context.Background()
	src := benchSQLiteInstallation(b)
	runs := min(b.N, 3)
	var total time.Duration
	b.ResetTimer()
	b.StopTimer()
	for range runs {
		dst, err := store.Open(ctx, testenv.PostgresDSN(b))
		if err != nil {
			b.Fatal(err)
		}
		if err := dst.Migrate(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		counts, err := store.CopyAll(ctx, src, dst)
		total += time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if counts["users"] != benchUsers || counts["mfa_devices"] != benchUsers {
			b.Fatalf("copied %v, want %d users and devices", counts, benchUsers)
		}
		dst.Close()
	}
	per := total / time.Duration(runs)
	b.ReportMetric(float64(per.Nanoseconds()), "ns/op")
	b.ReportMetric(per.Seconds(), "s/migration")
	b.ReportMetric(float64(benchUsers)/per.Seconds(), "users/s")
}
