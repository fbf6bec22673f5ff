package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"gatehouse/internal/admin"
	"gatehouse/internal/audit"
	"gatehouse/internal/server"
)

// auditCmd is "gatehouse audit export": the audit trail as JSON Lines, one
// event per line, oldest first, for archiving or a SIEM.
func auditCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "export" {
		return errors.New("audit: say export (gatehouse audit export --since T [--until T])")
	}
	var cfg server.Config
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	dbFlags(fs, &cfg)
	since := fs.String("since", "", "first time to include, RFC 3339 (2026-01-01T00:00:00Z); required")
	until := fs.String("until", "", "time to stop before, RFC 3339; default: now")
	user := fs.String("user", "", "only events about this user (username or id)")
	event := fs.String("event", "", "only this event name")
	result := fs.String("result", "", "only Success or Failure")
	if err := parse(fs, args[1:], stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("audit export: unexpected argument %q", fs.Arg(0))
	}
	if *since == "" {
		return errors.New("audit export: give --since, an RFC 3339 time such as 2026-01-01T00:00:00Z")
	}
	q := admin.EventQuery{User: *user, Name: *event, Result: *result}
	var err error
	if q.Since, err = time.Parse(time.RFC3339, *since); err != nil {
		return fmt.Errorf("audit export: --since %q is not an RFC 3339 time such as 2026-01-01T00:00:00Z", *since)
	}
	if *until != "" {
		if q.Until, err = time.Parse(time.RFC3339, *until); err != nil {
			return fmt.Errorf("audit export: --until %q is not an RFC 3339 time such as 2026-02-01T00:00:00Z", *until)
		}
	}
	app, err := openApp(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer app.Close()
	w := bufio.NewWriter(stdout)
	enc := json.NewEncoder(w)
	n := 0
	err = app.Trail.Export(ctx, q, func(e audit.Event) error {
		n++
		return enc.Encode(e)
	})
	if err != nil {
		return plain(err)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Exported %d events.\n", n)
	return nil
}
