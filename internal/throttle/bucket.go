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

// Bucket is one source's token bucket.
type Bucket struct {
	Tokens    float64
	UpdatedAt time.Time
	// LimitedSince is when the bucket ran dry (zero while it has tokens):
	// the first refusal of a lock sets it, and only that one is audited.
	LimitedSince time.Time
}

// BucketStore keeps buckets. UpdateBucket must read and write key's bucket
// atomically across nodes: it passes apply the stored bucket (or init for a
// new key) and stores what apply returns.
type BucketStore interface {
	UpdateBucket(ctx context.Context, key string, init Bucket, apply func(Bucket) Bucket) error
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

func (b *Buckets) params() (float64, time.Duration) {
	burst, refill := b.Burst, b.Refill
	if burst <= 0 {
		burst = SourceBurst
	}
	if refill <= 0 {
		refill = SourceRefill
	}
	return float64(burst), refill
}

// Take spends one token of key's bucket.
func (b *Buckets) Take(ctx context.Context, key string) (Take, error) {
	burst, refill := b.params()
	now := b.Now()
	var out Take
	err := b.Store.UpdateBucket(ctx, key, Bucket{Tokens: burst, UpdatedAt: now}, func(cur Bucket) Bucket {
		var next Bucket
		next, out = Spend(cur, now, burst, refill)
		return next
	})
	return out, err
}

// Spend refills cur up to now and takes one token when there is one. A
// clock that went backwards (another node's) refills nothing.
func Spend(cur Bucket, now time.Time, burst float64, refill time.Duration) (Bucket, Take) {
	if elapsed := now.Sub(cur.UpdatedAt); elapsed > 0 {
		cur.Tokens = math.Min(burst, cur.Tokens+float64(elapsed)/float64(refill))
		cur.UpdatedAt = now
	}
	if cur.Tokens >= 1 {
		cur.Tokens--
		cur.LimitedSince = time.Time{}
		return cur, Take{Allowed: true}
	}
	t := Take{RetryAfter: time.Duration((1 - cur.Tokens) * float64(refill))}
	if cur.LimitedSince.IsZero() {
		cur.LimitedSince, t.NewlyLimited = now, true
	}
	return cur, t
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
