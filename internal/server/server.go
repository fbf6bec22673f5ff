// Package server assembles Gatehouse from its parts — store, key ring,
// domain services, web handler — and runs the HTTP server. The command and
// the end-to-end tests both build the portal through it, so tests exercise
// exactly what operators run.
package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gatehouse/internal/account"
	"gatehouse/internal/admin"
	"gatehouse/internal/mail"
	"gatehouse/internal/mfa"
	"gatehouse/internal/password"
	"gatehouse/internal/policy"
	"gatehouse/internal/recovery"
	"gatehouse/internal/secretbox"
	"gatehouse/internal/store"
	"gatehouse/internal/throttle"
	"gatehouse/internal/totp"
	"gatehouse/internal/web"
)

// Config is everything an operator can set.
type Config struct {
	Addr    string
	DataDir string
	// DB is a DSN; empty means SQLite in DataDir.
	DB      string
	BaseURL string
	// RPID is the WebAuthn relying-party id: empty means the base URL's
	// host; else that host or a domain it belongs to.
	RPID   string
	Issuer string
	// Key is a base64 key-encryption key; empty means the key file in DataDir.
	Key string
	// TrustedProxies is a comma-separated list of reverse proxies (addresses
	// or CIDR prefixes) whose X-Forwarded-For names the client.
	TrustedProxies string
	// MustExist refuses to create a key file or a SQLite database: the
	// administration commands work on an installation and must not start a
	// new, empty one because of a mistyped --data-dir.
	MustExist bool
	// SMTPURL sends email through a server; empty writes .eml files to
	// DataDir/outbox.
	SMTPURL string
	// PasswordParams default to password.Default.
	PasswordParams *password.Params
	// SessionIdle and SessionLifetime end a signed-in session after that
	// long without a request, and that long after sign-in; zero means the
	// defaults (1 h and 12 h, account.SessionIdleTimeout/SessionLifetime).
	SessionIdle     time.Duration
	SessionLifetime time.Duration
	// HTTP bounds slow and greedy clients; zero fields take DefaultHTTPLimits.
	HTTP HTTPLimits
	// SourceBurst and SourceRefill size the per-address token bucket on the
	// sign-in endpoints; zero means throttle.SourceBurst/SourceRefill.
	SourceBurst  int
	SourceRefill time.Duration
	Logger       *slog.Logger
	Now          func() time.Time
}

// DefaultAddr listens on loopback only: exposing the portal is a choice.
const DefaultAddr = "127.0.0.1:8080"

// KeyFileName is the key-encryption key file in the data dir.
const KeyFileName = "gatehouse.key"

// keyCheckMeta names the canary sealed under the key at first start, so a
// node with the wrong key refuses to start instead of failing every sign-in.
const keyCheckMeta = "key_check"

// App is an assembled Gatehouse.
type App struct {
	Config   Config
	Store    *store.DB
	Keys     *secretbox.Keyring
	Accounts *account.Service
	MFA      *mfa.Service
	Policy   *policy.Service
	Admin    *admin.Service
	Tokens   *admin.Tokens
	Trail    *admin.Trail
	WebAuthn *mfa.WebAuthn
	Recovery *recovery.Service
	Handler  http.Handler
	Log      *slog.Logger
}

// DSN returns the database DSN the config selects.
func (c Config) DSN() string {
	if c.DB != "" {
		return c.DB
	}
	return "sqlite:" + filepath.Join(c.dataDir(), "gatehouse.db")
}

func (c Config) dataDir() string {
	if c.DataDir == "" {
		return "gatehouse-data"
	}
	return c.DataDir
}

// ParseBaseURL normalises the public base URL: scheme and host only, no
// trailing slash, no default port.
func ParseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--base-url %q must look like https://gatehouse.example.com", s)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("--base-url %q must be a scheme and host only (no path, query or user)", s)
	}
	host := u.Hostname()
	if p := u.Port(); (u.Scheme == "http" && p == "80") || (u.Scheme == "https" && p == "443") {
		u.Host = host
		if strings.Contains(host, ":") {
			u.Host = "[" + host + "]"
		}
	}
	u.Path = ""
	u.Host = strings.ToLower(u.Host)
	return u, nil
}

// Open assembles the app: it opens and migrates the database and checks the
// key-encryption key matches the data.
func Open(ctx context.Context, cfg Config) (*App, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "Gatehouse"
	}
	if err := totp.ValidateIssuer(cfg.Issuer); err != nil {
		return nil, fmt.Errorf("--issuer: %w", err)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://localhost:8080"
	}
	base, err := ParseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	proxies, err := web.ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("--trusted-proxies %q: give addresses or CIDR prefixes separated by commas, e.g. 127.0.0.1,10.0.0.0/8", cfg.TrustedProxies)
	}
	rp, rpUnavailable, err := relyingParty(cfg, base, log)
	if err != nil {
		return nil, err
	}
	if !cfg.MustExist {
		if err := os.MkdirAll(cfg.dataDir(), 0o700); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
	}
	if cfg.MustExist && !strings.Contains(cfg.DSN(), "://") {
		path := strings.TrimPrefix(cfg.DSN(), "sqlite:")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no Gatehouse database at %s: check --data-dir or --db; \"gatehouse serve\" creates a new installation", path)
		}
	}
	db, err := store.Open(ctx, cfg.DSN())
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	// The key is loaded after the database answers, so an unreachable
	// database is reported as such, and a key file is never made for a
	// database that cannot be used.
	if cfg.Key == "" {
		// A database that already holds sealed data needs the key it was
		// sealed with: making a new key file here would only leave a wrong
		// key lying about to be backed up by mistake.
		keyPath := filepath.Join(cfg.dataDir(), KeyFileName)
		if _, err := os.Stat(keyPath); errors.Is(err, os.ErrNotExist) {
			if _, sealed, err := db.GetMeta(ctx, keyCheckMeta); err != nil {
				db.Close()
				return nil, err
			} else if sealed {
				db.Close()
				return nil, fmt.Errorf("this database was created with a key-encryption key, and there is no %s: put the installation's key file there or set GATEHOUSE_KEY", keyPath)
			}
		}
	}
	keys, err := loadKeys(cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := checkKey(ctx, db, keys); err != nil {
		db.Close()
		return nil, err
	}
	recoveryKey, err := recoveryKey(ctx, db, keys)
	if err != nil {
		db.Close()
		return nil, err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	pp := password.Default
	if cfg.PasswordParams != nil {
		pp = *cfg.PasswordParams
	}
	limiter := &throttle.Limiter{Store: db, Now: now}
	pol := &policy.Service{Store: db, Now: now}
	var mailer account.Mailer = &mail.Outbox{Dir: filepath.Join(cfg.dataDir(), "outbox"), Now: now}
	if cfg.SMTPURL != "" {
		if mailer, err = mail.NewSMTP(cfg.SMTPURL); err != nil {
			db.Close()
			return nil, err
		}
	}
	m := &mfa.Service{Store: db, Keys: keys, Throttle: limiter, Issuer: cfg.Issuer, Params: totp.Default, Now: now}
	keysvc := &mfa.WebAuthn{Service: m, Store: db, RP: rp, Unavailable: rpUnavailable, Log: log}
	// Hashes at a time: each holds Params.Memory (64 MiB) and keeps
	// Params.Threads cores busy, so one per that many cores.
	accounts := &account.Service{Store: db, Hasher: password.NewHasher(pp, password.DefaultConcurrency(pp)), Throttle: limiter, MFA: m, Policy: pol, Mail: mailer,
		CodeKey: emailCodeKey(recoveryKey), Now: now, IdleTimeout: cfg.SessionIdle, Lifetime: cfg.SessionLifetime}
	adm := &admin.Service{Store: db, MFA: m, Policy: pol, Hasher: accounts.Hasher, Now: now}
	tokens := &admin.Tokens{Store: db, Now: now}
	trail := &admin.Trail{Store: db}
	rec := &recovery.Service{Store: db, Devices: m, Key: recoveryKey, Now: now}
	h, err := web.New(&web.Handler{Accounts: accounts, MFA: m, Log: log, BaseURL: base, Ready: db.Ping, Unavailable: store.IsUnavailable, Policy: pol, TrustedProxies: proxies,
		Admin: adm, Tokens: tokens, Trail: trail, WebAuthn: keysvc, Recovery: rec,
		Sources: &throttle.Buckets{Store: db, Now: now, Burst: cfg.SourceBurst, Refill: cfg.SourceRefill}})
	if err != nil {
		db.Close()
		return nil, err
	}
	cfg.BaseURL = base.String()
	return &App{Config: cfg, Store: db, Keys: keys, Accounts: accounts, MFA: m, Policy: pol, Admin: adm, Tokens: tokens, Trail: trail, WebAuthn: keysvc, Recovery: rec, Handler: h, Log: log}, nil
}

func loadKeys(cfg Config) (*secretbox.Keyring, error) {
	if cfg.Key != "" {
		// Several keys, comma-separated, current first: the form used while
		// rotating a key given in the environment (see "gatehouse keys").
		k, err := secretbox.ParseKeys(cfg.Key)
		if err != nil {
			return nil, fmt.Errorf("GATEHOUSE_KEY: %w", err)
		}
		return secretbox.New(k...)
	}
	path := filepath.Join(cfg.dataDir(), KeyFileName)
	if cfg.MustExist {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no Gatehouse installation in %s (no %s there): check --data-dir, or give the key as GATEHOUSE_KEY; \"gatehouse serve\" creates a new installation", cfg.dataDir(), KeyFileName)
		}
	}
	k, _, err := secretbox.LoadOrCreate(path)
	return k, err
}

func checkKey(ctx context.Context, db *store.DB, keys *secretbox.Keyring) error {
	plain := []byte("gatehouse key check")
	aad := []byte(keyCheckMeta)
	kid, ct, err := keys.Seal(plain, aad)
	if err != nil {
		return err
	}
	if _, err := db.PutMetaIfAbsent(ctx, keyCheckMeta, append([]byte(kid+":"), ct...)); err != nil {
		return err
	}
	v, _, err := db.GetMeta(ctx, keyCheckMeta)
	if err != nil {
		return err
	}
	i := bytes.IndexByte(v, ':')
	if i < 0 {
		return errors.New("key check: malformed value in the database")
	}
	got, err := keys.Open(string(v[:i]), v[i+1:], aad)
	if err != nil || !bytes.Equal(got, plain) {
		return fmt.Errorf("the key-encryption key does not match this database (the data was sealed with key %s; this node has %s). Use the key file or GATEHOUSE_KEY the data was created with", v[:i], keys.CurrentKeyID())
	}
	return nil
}

func (a *App) now() time.Time {
	if a.Config.Now != nil {
		return a.Config.Now()
	}
	return time.Now()
}

// Close releases the database.
func (a *App) Close() error { return a.Store.Close() }

// BootstrapAdmin creates the first administrator when there are no users and
// returns its one-time password (empty when users already exist).
func (a *App) BootstrapAdmin(ctx context.Context) (string, error) {
	n, err := a.Store.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	_, pw, err := a.Accounts.CreateUser(ctx, "admin", "", true, "")
	if err != nil && strings.Contains(err.Error(), "taken") {
		return "", nil // another node made it first
	}
	return pw, err
}

// NewHTTPServer returns an http.Server with timeouts that bound slow clients.
func (a *App) NewHTTPServer() *http.Server {
	l := a.Config.HTTP.withDefaults()
	return &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
}

// Serve runs the HTTP server on ln until ctx ends, then shuts down gracefully.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := a.NewHTTPServer()
	a.limitMemory()
	go a.sweep(ctx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	return nil
}

// sweep removes expired sessions and enrollments now and then; correctness
// never depends on it (every read checks expiry), only disk use.
func (a *App) sweep(ctx context.Context) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		if err := a.Store.Sweep(ctx, a.now()); err != nil && ctx.Err() == nil {
			a.Log.Warn("sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// emailCodeKey keys the hash of email codes. It comes from the sealed random
// recovery-code key rather than from the key-encryption key, so a key
// rotation (or a node restarted after one) does not void codes in flight.
func emailCodeKey(sealedRandom []byte) []byte {
	m := hmac.New(sha256.New, sealedRandom)
	m.Write([]byte("gatehouse email-code key"))
	return m.Sum(nil)
}
