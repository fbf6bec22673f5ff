package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gatehouse/internal/errcode"
	"gatehouse/internal/server"
)

// settings implements "gatehouse settings mfa get|set".
func settings(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "mfa" || (args[1] != "get" && args[1] != "set") {
		return errors.New("settings: say \"settings mfa get\" or \"settings mfa set [--prompt-mode M] [--allowed-types totp,webauthn] [--no-device-behavior B] [--users-can-manage-devices=true|false]\"")
	}
	var cfg server.Config
	fs := flag.NewFlagSet("settings mfa "+args[1], flag.ContinueOnError)
	dbFlags(fs, &cfg)
	var prompt, types, noDevice, manage *string
	if args[1] == "set" {
		prompt = fs.String("prompt-mode", "", "always_on, context_aware or disabled")
		types = fs.String("allowed-types", "", "comma-separated: totp, webauthn")
		noDevice = fs.String("no-device-behavior", "", "require_registration, email_otp, block or allow")
		manage = fs.String("users-can-manage-devices", "", "true or false")
	}
	if err := parse(fs, args[2:], stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("settings: unexpected argument %q", fs.Arg(0))
	}
	app, err := openApp(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer app.Close()
	m, err := app.Policy.MFA(ctx)
	if err != nil {
		return err
	}
	if args[1] == "set" {
		if *prompt != "" {
			m.PromptMode = *prompt
		}
		if flagGiven(fs, "allowed-types") {
			m.AllowedTypes = nil
			for _, t := range strings.Split(*types, ",") {
				m.AllowedTypes = append(m.AllowedTypes, strings.TrimSpace(t))
			}
		}
		if *noDevice != "" {
			m.NoDeviceBehavior = *noDevice
		}
		if *manage != "" {
			b, err := strconv.ParseBool(*manage)
			if err != nil {
				return errors.New("--users-can-manage-devices takes true or false")
			}
			m.UsersCanManageDevices = b
		}
		if m, err = app.Policy.SetMFA(ctx, m); err != nil {
			if e := errcode.As(err); e != nil {
				return errors.New(e.Message)
			}
			return err
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, string(b))
	return err
}
