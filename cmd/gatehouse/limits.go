package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"gatehouse/internal/account"
	"gatehouse/internal/server"
	"gatehouse/internal/throttle"
)

// limitFlags are serve's session and rate-limit settings.
func limitFlags(fs *flag.FlagSet, cfg *server.Config) {
	fs.DurationVar(&cfg.SessionIdle, "session-idle", envDuration("GATEHOUSE_SESSION_IDLE", account.SessionIdleTimeout),
		"sign a user out after this long without a request (GATEHOUSE_SESSION_IDLE)")
	fs.DurationVar(&cfg.SessionLifetime, "session-lifetime", envDuration("GATEHOUSE_SESSION_LIFETIME", account.SessionLifetime),
		"end every session this long after sign-in (GATEHOUSE_SESSION_LIFETIME)")
	fs.IntVar(&cfg.SourceBurst, "rate-limit-burst", envInt("GATEHOUSE_RATE_LIMIT_BURST", throttle.SourceBurst),
		"sign-in requests one address may send at once (GATEHOUSE_RATE_LIMIT_BURST)")
	fs.DurationVar(&cfg.SourceRefill, "rate-limit-refill", envDuration("GATEHOUSE_RATE_LIMIT_REFILL", throttle.SourceRefill),
		"one more sign-in request per address every this long (GATEHOUSE_RATE_LIMIT_REFILL)")
}

func checkLimits(cfg server.Config) error {
	switch {
	case cfg.SessionIdle < time.Minute:
		return errors.New("--session-idle must be at least 1m")
	case cfg.SessionLifetime < cfg.SessionIdle:
		return fmt.Errorf("--session-lifetime (%v) must be at least --session-idle (%v)", cfg.SessionLifetime, cfg.SessionIdle)
	case cfg.SourceBurst < 1:
		return errors.New("--rate-limit-burst must be at least 1")
	case cfg.SourceRefill <= 0:
		return errors.New("--rate-limit-refill must be positive, such as 2s")
	}
	return nil
}

// envDuration and envInt read a default from the environment; a value that
// does not parse is reported by the flag package as the flag's own error.
func envDuration(name string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(name); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
		fmt.Fprintf(os.Stderr, "gatehouse: %s=%q is not a duration (such as 1h or 90s); using %v\n", name, v, def)
	}
	return def
}

func envInt(name string, def int) int {
	if v, ok := os.LookupEnv(name); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
		fmt.Fprintf(os.Stderr, "gatehouse: %s=%q is not a number; using %d\n", name, v, def)
	}
	return def
}
