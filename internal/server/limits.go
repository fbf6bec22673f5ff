package server

import (
	"math"
	"runtime/debug"
	"time"

	"gatehouse/internal/password"
)

// HTTPLimits bound what one client can hold of the server: a connection
// that trickles its headers (slowloris), a body that never ends, a header
// block of megabytes.
type HTTPLimits struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
}

// DefaultHTTPLimits: 10 s is ample for any real client to send its headers
// and short enough that a slowloris needs thousands of sockets to matter;
// 30 s to read a body of at most web.MaxBodyBytes and to write an answer;
// 2 minutes of keep-alive; 32 KiB of headers (cookies included) — Go's
// default of 1 MiB is far more than any browser sends.
var DefaultHTTPLimits = HTTPLimits{
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       30 * time.Second,
	WriteTimeout:      30 * time.Second,
	IdleTimeout:       120 * time.Second,
	MaxHeaderBytes:    32 << 10,
}

func (l HTTPLimits) withDefaults() HTTPLimits {
	d := DefaultHTTPLimits
	if l.ReadHeaderTimeout > 0 {
		d.ReadHeaderTimeout = l.ReadHeaderTimeout
	}
	if l.ReadTimeout > 0 {
		d.ReadTimeout = l.ReadTimeout
	}
	if l.WriteTimeout > 0 {
		d.WriteTimeout = l.WriteTimeout
	}
	if l.IdleTimeout > 0 {
		d.IdleTimeout = l.IdleTimeout
	}
	if l.MaxHeaderBytes > 0 {
		d.MaxHeaderBytes = l.MaxHeaderBytes
	}
	return d
}

// memoryHeadroom is what the process needs besides the password hashes in
// flight: the runtime, the database driver, templates, queued requests.
const memoryHeadroom = 64 << 20

// limitMemory sets the Go runtime's soft memory limit to the hashes that
// may run at once plus headroom, unless the operator set GOMEMLIMIT. Each
// argon2id hash allocates its whole memory cost afresh; without a limit the
// collector lets the heap grow to twice what was live at the last
// collection, which with two 64 MiB hashes in flight is already past
// 256 MiB.
func (a *App) limitMemory() {
	if debug.SetMemoryLimit(-1) != math.MaxInt64 {
		return // GOMEMLIMIT is set: the operator's choice
	}
	pp := password.Default
	if a.Config.PasswordParams != nil {
		pp = *a.Config.PasswordParams
	}
	if pp.Memory < password.Default.Memory/4 {
		return // a test's cheap hashes: nothing worth bounding
	}
	debug.SetMemoryLimit(int64(a.Accounts.Hasher.Concurrency())*int64(pp.Memory)*1024 + memoryHeadroom)
}
