package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"gatehouse/internal/errcode"
	"gatehouse/internal/server"
)

// tokens is "gatehouse tokens create|list|revoke": administrators' API
// tokens for scripts.
func tokens(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("tokens: say create, list or revoke")
	}
	var cfg server.Config
	fs := flag.NewFlagSet("tokens "+args[0], flag.ContinueOnError)
	dbFlags(fs, &cfg)
	var name *string
	switch args[0] {
	case "create":
		name = fs.String("name", "", "a name for the token, such as the script that uses it (letters, digits, . _ -)")
	case "list":
	case "revoke":
	default:
		return fmt.Errorf("tokens: unknown subcommand %q (create, list, revoke)", args[0])
	}
	// revoke takes the name before or after the flags.
	rest, arg := args[1:], ""
	if args[0] == "revoke" && len(rest) > 0 && len(rest[0]) > 0 && rest[0][0] != '-' {
		arg, rest = rest[0], rest[1:]
	}
	if err := parse(fs, rest, stderr); err != nil {
		return err
	}
	if args[0] == "revoke" && arg == "" && fs.NArg() == 1 {
		arg = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("tokens %s: unexpected argument %q", args[0], fs.Arg(0))
	}
	if args[0] == "revoke" && arg == "" {
		return errors.New("tokens revoke: give the NAME of the token")
	}
	app, err := openApp(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer app.Close()
	switch args[0] {
	case "create":
		t, secret, err := app.Tokens.Create(ctx, *name)
		if err != nil {
			return plain(err)
		}
		fmt.Fprintf(stdout, "Created API token %s. Send it as \"Authorization: Bearer TOKEN\" to /api/v1/admin/…:\n%s\nIt is shown only this once and acts as an administrator: keep it like a password.\n", t.Name, secret)
		return nil
	case "list":
		list, err := app.Tokens.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCREATED\tLAST USED\tSTATUS")
		for _, t := range list {
			status := "active"
			if !t.RevokedAt.IsZero() {
				status = "revoked " + stamp(t.RevokedAt)
			}
			used := "never"
			if !t.LastUsedAt.IsZero() {
				used = stamp(t.LastUsedAt)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, stamp(t.CreatedAt), used, status)
		}
		return tw.Flush()
	default:
		t, err := app.Tokens.Revoke(ctx, arg)
		if err != nil {
			return plain(err)
		}
		fmt.Fprintf(stdout, "Revoked API token %s (%s).\n", t.Name, stamp(t.RevokedAt))
		return nil
	}
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// plain turns an error meant for people into its message alone.
func plain(err error) error {
	if e := errcode.As(err); e != nil {
		return errors.New(e.Message)
	}
	return err
}
