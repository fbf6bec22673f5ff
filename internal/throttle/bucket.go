package throttle

import (
	"context"
	"math"
	"net"
	"net/netip"
	"time"

	"gatehouse/internal/errcode"
)

// Per-source-address limits on the guessing endpoints (password, codes,
// security key answers, enrollment confirmation). The per-account back-off
// bounds guesses against one user; this bounds one address spraying many
// users. The bucket lives in the store, so it holds across nodes.
const (
	// SourceBurst requests may come at once: a person retrying, or a
	// handful of people behind one NAT signing in at the start of a day.
	SourceBurst = 20
	// SourceRefill adds one request back every 2 s (1,800 an hour): far
	// above what people type, far below what a script sends.
	SourceRefill = 2 * time.Second
)

// Bucket is one source's bucket, kept as the generic cell rate algorithm
// keeps it: one time instead of a token count and the time it was counted.
// TAT (the theoretical arrival time) runs ahead of the clock by one refill
// interval per request taken and falls back to the clock as the bucket
// refills; the bucket is full when TAT is not after now, and a request is
// allowed while TAT is at most burst−1 intervals ahead. A single time makes
// the take one arithmetic comparison, which a store can do in the one
// statement that also writes the result, on any number of nodes.
type Bucket struct {
	TAT time.Time
	// Refused counts refusals since the last allowed request: the first
	// (1) is the one that is audited.
	Refused int
}

// BucketStore keeps buckets. TakeToken must apply Spend to key's bucket
// (the zero Bucket for a key it does not have) and store the result, as one
// atomic step across nodes, and return the stored bucket.
type BucketStore interface {
	TakeToken(ctx context.Context, key string, now time.Time, burst int, refill time.Duration) (Bucket, error)
}

// Take is the outcome of one request against a bucket.
type Take struct {
	Allowed bool
	// RetryAfter is when the next token arrives (refusals only).
	RetryAfter time.Duration
	// NewlyLimited is true for the first refusal after the bucket ran dry:
	// the one that is audited.
	NewlyLimited bool
}

// Buckets applies the source-address limit.
type Buckets struct {
	Store BucketStore
	Now   func() time.Time
	// Burst and Refill default to SourceBurst and SourceRefill.
	Burst  int
	Refill time.Duration
}

func (b *Buckets) params() (int, time.Duration) {
	burst, refill := b.Burst, b.Refill
	if burst <= 0 {
		burst = SourceBurst
	}
	if refill <= 0 {
		refill = SourceRefill
	}
	return burst, refill
}

// Take spends one token of key's bucket.
func (b *Buckets) Take(ctx context.Context, key string) (Take, error) {
	burst, refill := b.params()
	now := b.Now()
	next, err := b.Store.TakeToken(ctx, key, now, burst, refill)
	if err != nil {
		return Take{}, err
	}
	return Outcome(next, now, burst, refill), nil
}

// Spend takes one token from cur at now, when there is one. A clock behind
// the one that last took (another node's) sees the bucket as much emptier
// as it is behind; nodes whose clocks agree (TOTP needs that anyway) see
// the same bucket.
func Spend(cur Bucket, now time.Time, burst int, refill time.Duration) Bucket {
	tat := cur.TAT
	if tat.Before(now) {
		tat = now
	}
	if tat.Sub(now) <= time.Duration(burst-1)*refill {
		return Bucket{TAT: tat.Add(refill)}
	}
	return Bucket{TAT: cur.TAT, Refused: cur.Refused + 1}
}

// Outcome reads the result of a take from the bucket Spend returned.
func Outcome(next Bucket, now time.Time, burst int, refill time.Duration) Take {
	if next.Refused == 0 {
		return Take{Allowed: true}
	}
	return Take{
		RetryAfter:   next.TAT.Sub(now) - time.Duration(burst-1)*refill,
		NewlyLimited: next.Refused == 1,
	}
}

// SourceKey is the bucket key for a client address ("host:port" or a bare
// address): the IPv4 address, or the IPv6 /64 (one subscriber's network,
// which an attacker gets whole).
func SourceKey(remoteAddr string) string {
	host := remoteAddr
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return "src:" + host
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return "src:" + a.String()
	}
	p, _ := a.Prefix(64)
	return "src:" + p.String()
}

// SourceLimitedError is the answer to a refused request.
func SourceLimitedError(retry time.Duration) error {
	secs := max(1, int(math.Ceil(retry.Seconds())))
	e := errcode.New(errcode.RateLimited, "Too many attempts from your network. Wait %s and try again.", humanWait(secs))
	e.RetryAfterSeconds = secs
	return e
}
