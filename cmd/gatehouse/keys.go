package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"

	"gatehouse/internal/secretbox"
	"gatehouse/internal/server"
)

const keysUsage = `Usage:
  gatehouse keys status       key ids, which is current, how many secrets use each
  gatehouse keys rotate       make a new key-encryption key and re-seal every secret under it
  gatehouse keys add          several nodes, each with its own key file: add a new key to read
                              with only; copy the file to every node, then
  gatehouse keys rotate --to ID
                              make that key current and re-seal every secret under it
  gatehouse keys reseal       re-seal every secret under the current key (after a rotation
                              with GATEHOUSE_KEY, or to finish one that was interrupted)
  gatehouse keys retire       re-seal what is left, then drop every key but the current one
                              from the key file
`

// keysCmd manages the key-encryption key. A running server on this machine
// keeps working through a rotation: it re-reads the key file when the file
// changes (checked before every seal) and when it meets a key id it does not
// hold, and on SIGHUP.
func keysCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return errors.New("keys: say status, rotate, add, reseal or retire")
	}
	var cfg server.Config
	fs := flag.NewFlagSet("keys "+args[0], flag.ContinueOnError)
	dbFlags(fs, &cfg)
	to := ""
	if args[0] == "rotate" {
		fs.StringVar(&to, "to", "", "make this key id, added earlier with \"keys add\", current instead of a new key")
	}
	if err := parse(fs, args[1:], stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("keys %s: unexpected argument %q", args[0], fs.Arg(0))
	}
	switch args[0] {
	case "status", "rotate", "add", "reseal", "retire":
	default:
		fmt.Fprint(stderr, keysUsage)
		return fmt.Errorf("keys: unknown command %q", args[0])
	}
	if args[0] == "add" && cfg.Key != "" {
		return errors.New("keys add: the key comes from GATEHOUSE_KEY; run \"gatehouse keys rotate\" for the steps")
	}
	app, err := openApp(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer app.Close()
	switch args[0] {
	case "status":
		return keysStatus(ctx, app, stdout)
	case "rotate":
		if app.Config.KeyFilePath() == "" {
			return rotateEnvKey(app, stdout)
		}
		id, n, err := app.RotateKey(ctx, to)
		if err != nil {
			if id == "" {
				return fmt.Errorf("keys rotate: %w", err)
			}
			return fmt.Errorf("keys rotate: the key file has the new key %s, but re-sealing failed: %w; run \"gatehouse keys reseal\"", id, err)
		}
		fmt.Fprintf(stdout, "New key %s is current; %d sealed values re-sealed under it.\n", id, n)
		fmt.Fprintf(stdout, "The old keys stay in %s for nodes that have not read it yet.\n", app.Config.KeyFilePath())
		fmt.Fprintln(stdout, "Servers using this key file pick it up by themselves. Other nodes: copy the key file into their data dirs")
		fmt.Fprintln(stdout, "(they read it when it changes, or at once on SIGHUP).")
		fmt.Fprintln(stdout, "Then \"gatehouse keys retire\" removes the old keys.")
		return nil
	case "add":
		id, err := app.StageKey()
		if err != nil {
			return fmt.Errorf("keys add: %w", err)
		}
		fmt.Fprintf(stdout, "Added key %s to %s, to read with only: nothing is sealed under it yet.\n", id, app.Config.KeyFilePath())
		fmt.Fprintln(stdout, "Copy the key file into every node's data dir (they read it when it changes, or at once on SIGHUP), then run")
		fmt.Fprintf(stdout, "  gatehouse keys rotate --to %s\n", id)
		return nil
	case "reseal":
		n, err := app.Reseal(ctx)
		if err != nil {
			return fmt.Errorf("keys reseal: %w", err)
		}
		fmt.Fprintf(stdout, "%d sealed values re-sealed under the current key %s.\n", n, app.Keys.CurrentKeyID())
		return nil
	case "retire":
		retired, n, err := app.RetireKeys(ctx)
		if err != nil {
			return fmt.Errorf("keys retire: %w", err)
		}
		if n > 0 {
			fmt.Fprintf(stdout, "%d sealed values re-sealed under the current key %s.\n", n, app.Keys.CurrentKeyID())
		}
		if app.Config.KeyFilePath() == "" {
			fmt.Fprintf(stdout, "Nothing uses an old key now. Set GATEHOUSE_KEY to the current key alone (key id %s) and restart each node.\n", app.Keys.CurrentKeyID())
			return nil
		}
		if len(retired) == 0 {
			fmt.Fprintln(stdout, "The key file holds only the current key; nothing to retire.")
			return nil
		}
		for _, id := range retired {
			fmt.Fprintf(stdout, "Retired key %s.\n", id)
		}
		fmt.Fprintln(stdout, "Copy the key file to every other node too.")
		return nil
	}
	return nil
}

func keysStatus(ctx context.Context, app *server.App, stdout io.Writer) error {
	status, err := app.KeyStatus(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY ID\tSTATE\tSEALED VALUES")
	for _, k := range status {
		state := "old"
		switch {
		case k.Current:
			state = "current"
		case !k.Held:
			state = "MISSING (not in this node's keys)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\n", k.ID, state, k.Count)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if p := app.Config.KeyFilePath(); p != "" {
		fmt.Fprintf(stdout, "Key file: %s\n", p)
	} else {
		fmt.Fprintln(stdout, "Keys from GATEHOUSE_KEY.")
	}
	return nil
}

// rotateEnvKey cannot write the environment of the nodes, so it changes
// nothing: it makes the new key and prints the steps that roll it out
// without a moment when a node cannot read a secret.
func rotateEnvKey(app *server.App, stdout io.Writer) error {
	key, err := secretbox.GenerateKey(nil)
	if err != nil {
		return err
	}
	newKey := secretbox.EncodeKey(key)
	fmt.Fprintf(stdout, `The key comes from GATEHOUSE_KEY, which this command cannot change. Nothing was changed.
A new key (id %[1]s) has been generated:

  %[2]s

Roll it out in four steps, where OLD_KEY is the key you use now (id %[3]s).
Keep the new key as safe as the old one.

  1. Restart every node with both keys, the new one first:
       GATEHOUSE_KEY="%[2]s,$OLD_KEY" gatehouse serve …
     Nodes now seal new secrets under the new key and still read the old ones.
  2. Re-seal every secret under the new key, in one transaction:
       GATEHOUSE_KEY="%[2]s,$OLD_KEY" gatehouse keys reseal
  3. Check that nothing uses the old key any more:
       GATEHOUSE_KEY="%[2]s,$OLD_KEY" gatehouse keys status
  4. Restart every node with the new key alone:
       GATEHOUSE_KEY="%[2]s" gatehouse serve …
`, secretbox.KeyID(key), newKey, app.Keys.CurrentKeyID())
	return nil
}

// reloadKeysOnHUP re-reads the key file on SIGHUP, for operators who copy a
// rotated key file onto a node and want it taken at once.
func reloadKeysOnHUP(ctx context.Context, app *server.App) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				if err := app.Keys.Reload(); err != nil {
					app.Log.Error("reload key file", "err", err)
				} else {
					app.Log.Info("key file reloaded", "current_key", app.Keys.CurrentKeyID())
				}
			}
		}
	}()
}
