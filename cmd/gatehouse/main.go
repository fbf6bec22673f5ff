// Command gatehouse runs the Gatehouse identity portal and administers it
// from the shell.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"gatehouse/internal/errcode"
	"gatehouse/internal/server"
	"gatehouse/internal/store"
)

const usage = `Gatehouse: a self-hosted identity portal with MFA devices.

Usage:
  gatehouse serve [flags]                 start the portal
  gatehouse users add NAME [--email E] [--admin] [--password-stdin]
  gatehouse users list
  gatehouse tokens create --name NAME     an API token for scripts (printed once)
  gatehouse tokens list
  gatehouse tokens revoke NAME
  gatehouse audit export --since T [--until T]
                                          the audit trail as JSON Lines
  gatehouse settings mfa get|set [--prompt-mode M] [--allowed-types T,T]
                         [--no-device-behavior B] [--users-can-manage-devices=BOOL]
  gatehouse keys status|rotate|reseal|retire
                                          the key-encryption key: see "gatehouse keys"
  gatehouse migrate                       bring the database schema up to date
  gatehouse migrate-data --from sqlite:PATH --to postgres://…
                                          copy a single-node installation into PostgreSQL
  gatehouse bench [--users N,N…] [--db postgres://…] [--rate R]
                                          load test on loopback (docs/performance.md)
  gatehouse version

Every flag has an environment equivalent: --data-dir is GATEHOUSE_DATA_DIR, and so on.
Run "gatehouse COMMAND -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "users":
		return users(ctx, args[1:], stdin, stdout, stderr)
	case "tokens":
		return tokens(ctx, args[1:], stdout, stderr)
	case "audit":
		return auditCmd(ctx, args[1:], stdout, stderr)
	case "keys":
		return keysCmd(ctx, args[1:], stdout, stderr)
	case "migrate":
		return migrate(ctx, args[1:], stdout, stderr)
	case "migrate-data":
		return migrateData(ctx, args[1:], stdout, stderr)
	case "settings":
		return settings(ctx, args[1:], stdout, stderr)
	case "bench":
		return benchCmd(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "gatehouse", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
		return v
	}
	return "(devel)"
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// dbFlags are accepted by every command that touches the database.
func dbFlags(fs *flag.FlagSet, cfg *server.Config) {
	fs.StringVar(&cfg.DataDir, "data-dir", env("GATEHOUSE_DATA_DIR", "./gatehouse-data"), "folder for the SQLite database and key file (GATEHOUSE_DATA_DIR)")
	fs.StringVar(&cfg.DB, "db", env("GATEHOUSE_DB", ""), "database DSN; default SQLite in the data dir (GATEHOUSE_DB)")
	fs.StringVar(&cfg.Issuer, "issuer", env("GATEHOUSE_ISSUER", "Gatehouse"), "issuer name shown in authenticator apps (GATEHOUSE_ISSUER)")
	fs.StringVar(&cfg.BaseURL, "base-url", env("GATEHOUSE_BASE_URL", "http://localhost:8080"), "public URL of the portal (GATEHOUSE_BASE_URL)")
	fs.StringVar(&cfg.RPID, "rp-id", env("GATEHOUSE_RP_ID", ""), "WebAuthn relying-party id: the base URL's host (default) or a domain it belongs to (GATEHOUSE_RP_ID)")
	cfg.Key = os.Getenv("GATEHOUSE_KEY")
}

func parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	return fs.Parse(args)
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg server.Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&cfg.Addr, "addr", env("GATEHOUSE_ADDR", server.DefaultAddr), "address to listen on (GATEHOUSE_ADDR)")
	fs.StringVar(&cfg.TrustedProxies, "trusted-proxies", env("GATEHOUSE_TRUSTED_PROXIES", ""), "reverse proxies whose X-Forwarded-For names the client, e.g. 127.0.0.1,10.0.0.0/8 (GATEHOUSE_TRUSTED_PROXIES)")
	fs.StringVar(&cfg.SMTPURL, "smtp-url", env("GATEHOUSE_SMTP_URL", ""), "send email through smtp://user:password@host:587; default: .eml files in DATA_DIR/outbox (GATEHOUSE_SMTP_URL)")
	limitFlags(fs, &cfg) // limits.go
	dbFlags(fs, &cfg)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	if err := checkLimits(cfg); err != nil {
		return err
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if !flagSet(fs, "base-url", "GATEHOUSE_BASE_URL") {
		// Without a public URL, the portal is where it listens, opened as
		// localhost (a secure context for browsers even over http).
		cfg.BaseURL = "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	}
	app, err := server.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer app.Close()
	reloadKeysOnHUP(ctx, app)
	// Serve at once and create the first administrator meanwhile: hashing
	// its one-time password (argon2id) is most of a first start, and
	// /healthz need not wait for it (issue 8: start-up ≤ 500 ms). Until it
	// exists, signing in as admin fails like any unknown user.
	sctx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	served := make(chan error, 1)
	go func() { served <- app.Serve(sctx, ln) }()
	pw, err := app.BootstrapAdmin(ctx)
	if err != nil {
		stopServing()
		<-served
		return err
	}
	if pw != "" {
		// The administrator's password hash took Params.Memory (64 MiB):
		// give it back now rather than idle with it (issue 8's idle RSS).
		debug.FreeOSMemory()
		fmt.Fprintf(stdout, "\nCreated the administrator account.\n  username: admin\n  one-time password: %s\nIt is shown only this once; you will choose a new password at first sign-in.\n\n", pw)
	}
	fmt.Fprintf(stdout, "Gatehouse is running: open %s (listening on %s). Press Ctrl+C to stop.\n", app.Config.BaseURL, ln.Addr())
	app.Log.Info("serving", "addr", ln.Addr().String(), "base_url", app.Config.BaseURL, "db", store.Redact(cfg.DSN()))
	err = <-served
	app.Log.Info("stopped")
	return err
}

// flagSet reports whether the operator chose a value, by flag or environment.
func flagSet(fs *flag.FlagSet, name, envName string) bool {
	_, inEnv := os.LookupEnv(envName)
	return flagGiven(fs, name) || inEnv
}

// flagGiven reports whether a flag was on the command line, even as "".
func flagGiven(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// openApp opens an existing installation for an administration command.
func openApp(ctx context.Context, cfg server.Config, stderr io.Writer) (*server.App, error) {
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg.MustExist = true
	return server.Open(ctx, cfg)
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg server.Config
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	dbFlags(fs, &cfg)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	// Only the schema: no key is read or made, so migrating a database
	// ahead of a deployment cannot tie it to a stray key file.
	db, err := store.Open(ctx, cfg.DSN())
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "The database schema is up to date.")
	return nil
}

func users(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("users: say add or list")
	}
	var cfg server.Config
	switch args[0] {
	case "add":
		fs := flag.NewFlagSet("users add", flag.ContinueOnError)
		email := fs.String("email", "", "email address")
		admin := fs.Bool("admin", false, "make the user an administrator")
		fromStdin := fs.Bool("password-stdin", false, "read the password from standard input (final: no change required)")
		dbFlags(fs, &cfg)
		// Accept the name before or after the flags.
		rest := args[1:]
		name := ""
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			name, rest = rest[0], rest[1:]
		}
		if err := parse(fs, rest, stderr); err != nil {
			return err
		}
		if name == "" && fs.NArg() > 0 {
			name = fs.Arg(0)
		}
		if name == "" || fs.NArg() > 1 || (fs.NArg() == 1 && name != fs.Arg(0)) {
			return errors.New("users add: give exactly one NAME")
		}
		pw := ""
		if *fromStdin {
			b, err := io.ReadAll(io.LimitReader(stdin, 4096))
			if err != nil {
				return err
			}
			pw = strings.TrimRight(string(b), "\r\n")
			if pw == "" {
				return errors.New("users add: --password-stdin read an empty password")
			}
		}
		app, err := openApp(ctx, cfg, stderr)
		if err != nil {
			return err
		}
		defer app.Close()
		u, oneTime, err := app.Accounts.CreateUser(ctx, name, *email, *admin, pw)
		if err != nil {
			if e := errcode.As(err); e != nil {
				return errors.New(e.Message)
			}
			return err
		}
		if oneTime != "" {
			fmt.Fprintf(stdout, "Created user %s.\n  one-time password: %s\nIt is shown only this once; the user chooses a new password at first sign-in.\n", u.Username, oneTime)
		} else {
			fmt.Fprintf(stdout, "Created user %s.\n", u.Username)
		}
		return nil
	case "list":
		fs := flag.NewFlagSet("users list", flag.ContinueOnError)
		dbFlags(fs, &cfg)
		if err := parse(fs, args[1:], stderr); err != nil {
			return err
		}
		app, err := openApp(ctx, cfg, stderr)
		if err != nil {
			return err
		}
		defer app.Close()
		list, err := app.Accounts.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tEMAIL\tADMIN\tDEVICES\tCREATED")
		for _, u := range list {
			devices, err := app.MFA.List(ctx, u.ID)
			if err != nil {
				return err
			}
			fmt.Fprintf(tw, "%s\t%s\t%v\t%d\t%s\n", u.Username, u.Email, u.Admin, len(devices), u.CreatedAt.Format("2006-01-02 15:04 UTC"))
		}
		return tw.Flush()
	}
	return fmt.Errorf("users: unknown subcommand %q (add, list)", args[0])
}

func migrateData(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate-data", flag.ContinueOnError)
	from := fs.String("from", "", "source database DSN, for example sqlite:./gatehouse-data/gatehouse.db")
	to := fs.String("to", "", "destination database DSN, for example postgres://gatehouse:…@db:5432/gatehouse")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return errors.New("migrate-data: give both --from and --to")
	}
	if *from == *to {
		return errors.New("migrate-data: --from and --to are the same database")
	}
	start := time.Now()
	if path, ok := strings.CutPrefix(*from, "sqlite:"); ok || !strings.Contains(*from, "://") {
		if path == "" {
			path = *from
		}
		// Opening a SQLite path creates it: a mistyped --from must not
		// "migrate" an empty database.
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("migrate-data: --from: %w", err)
		}
	}
	src, err := store.Open(ctx, *from)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := src.Migrate(ctx); err != nil {
		return err
	}
	dst, err := store.Open(ctx, *to)
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := dst.Migrate(ctx); err != nil {
		return err
	}
	counts, err := store.CopyAll(ctx, src, dst)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Copied %s to %s in %s:\n", store.Redact(*from), store.Redact(*to), time.Since(start).Round(time.Millisecond))
	for _, t := range store.CopiedTables() {
		fmt.Fprintf(stdout, "  %-12s %d rows\n", t, counts[t])
	}
	fmt.Fprintln(stdout, "Start every node with the same key file (or GATEHOUSE_KEY) as before: the secrets moved still sealed.")
	return nil
}
