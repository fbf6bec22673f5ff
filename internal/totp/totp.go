// Package totp implements RFC 4226 HOTP and RFC 6238 TOTP one-time codes, the
// otpauth:// key URI, and generation, encoding and parsing of shared secrets.
//
// Everything here is a pure function: the current time and the source of
// randomness are passed in by the caller, never read from time.Now or
// crypto/rand inside the package. Replay protection and drift tracking are the
// caller's job (see DESIGN.md §2); Verify only reports which step matched.
package totp

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Algorithm is the HMAC hash function used to derive codes.
type Algorithm uint8

// The algorithms of RFC 6238. SHA1 is the default and the only one every
// authenticator app honours.
const (
	SHA1 Algorithm = iota
	SHA256
	SHA512
)

// String returns "SHA1", "SHA256" or "SHA512" (the spelling used in key URIs),
// or "Algorithm(n)" for an unknown value.
func (a Algorithm) String() string {
	switch a {
	case SHA1:
		return "SHA1"
	case SHA256:
		return "SHA256"
	case SHA512:
		return "SHA512"
	}
	return "Algorithm(" + strconv.Itoa(int(a)) + ")"
}

func (a Algorithm) known() bool { return a <= SHA512 }

// Params are the code parameters shared by the server and the authenticator.
type Params struct {
	Algorithm Algorithm
	Digits    int
	Period    int64 // seconds
}

// Default is the parameter set for new devices: HMAC-SHA1, 6 digits, 30 s.
// Many apps silently ignore anything else.
var Default = Params{Algorithm: SHA1, Digits: 6, Period: 30}

// Limits enforced by Params.Validate.
const (
	MinDigits = 6
	MaxDigits = 8
	MinPeriod = 15  // seconds
	MaxPeriod = 300 // seconds
)

// ErrParamsInvalid is returned (wrapped) by Params.Validate.
var ErrParamsInvalid = errors.New("totp: invalid parameters")

// Validate reports whether p has 6 to 8 digits, a period of 15 to 300 seconds
// and a known algorithm. Errors wrap ErrParamsInvalid.
func (p Params) Validate() error {
	switch {
	case !p.Algorithm.known():
		return fmt.Errorf("%w: unknown algorithm %s", ErrParamsInvalid, p.Algorithm)
	case p.Digits < MinDigits || p.Digits > MaxDigits:
		return fmt.Errorf("%w: digits %d not in %d..%d", ErrParamsInvalid, p.Digits, MinDigits, MaxDigits)
	case p.Period < MinPeriod || p.Period > MaxPeriod:
		return fmt.Errorf("%w: period %d s not in %d..%d", ErrParamsInvalid, p.Period, MinPeriod, MaxPeriod)
	}
	return nil
}

// valid is Validate without the error allocation, for hot paths.
func (p Params) valid() bool {
	return p.Algorithm.known() &&
		p.Digits >= MinDigits && p.Digits <= MaxDigits &&
		p.Period >= MinPeriod && p.Period <= MaxPeriod
}

// Counter returns the RFC 6238 time step of t: floor(unix seconds / period),
// with T0 = 0. Only t.Unix() is used, so the time zone or Location carried by t
// (and the server's DST rules) never change the result. It panics if period
// is not positive, which is a programming error (see Params.Validate).
func Counter(t time.Time, period int64) int64 {
	if period <= 0 {
		panic("totp: Counter with non-positive period")
	}
	u := t.Unix()
	q := u / period
	if u%period != 0 && u < 0 {
		q-- // floor, not truncation, for times before 1970 (oathtool truncates there)
	}
	return q
}

// HOTP returns the RFC 4226 code for secret and counter as a string of exactly
// p.Digits decimal digits, zero-padded on the left ("005924"). The counter is
// used as a big-endian 64-bit value (a negative counter is taken as its two's
// complement). If p is not valid (see Params.Validate) it returns "", which
// never equals a normalised code.
func HOTP(secret []byte, counter int64, p Params) string {
	if !p.valid() {
		return ""
	}
	var buf [MaxDigits]byte
	n := hotp(&buf, secret, counter, p)
	return string(buf[:n])
}

// powers10[d] = 10^d for the digit counts we support.
var powers10 = [...]uint32{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// hotp writes the p.Digits-digit code into buf and returns p.Digits.
// p must be valid. It does not allocate.
func hotp(buf *[MaxDigits]byte, secret []byte, counter int64, p Params) int {
	var m hmacKey
	m.init(p.Algorithm, secret)
	return m.code(buf, counter, p.Digits)
}

// hmacKey holds the RFC 2104 padded key blocks for one secret, so Verify
// derives them once and then pays only the hashing per candidate step.
//
// HMAC is written out by hand over fixed-size arrays because crypto/hmac.New
// allocates several objects per call. Correctness is pinned by the RFC
// 4226/6238 vectors and a comparison with crypto/hmac in the tests.
type hmacKey struct {
	alg             Algorithm
	blockSize, size int
	inner           [sha512.BlockSize + 8]byte           // key^ipad || counter
	outer           [sha512.BlockSize + sha512.Size]byte // key^opad || inner hash
}

func (m *hmacKey) init(alg Algorithm, key []byte) {
	m.alg = alg
	m.blockSize, m.size = sha1.BlockSize, sha1.Size
	switch alg {
	case SHA256:
		m.blockSize, m.size = sha256.BlockSize, sha256.Size
	case SHA512:
		m.blockSize, m.size = sha512.BlockSize, sha512.Size
	}
	var k [sha512.BlockSize]byte
	if len(key) > m.blockSize {
		var kh [sha512.Size]byte
		sum(&kh, alg, key)
		copy(k[:], kh[:m.size])
	} else {
		copy(k[:], key)
	}
	for i := range m.blockSize {
		m.inner[i] = k[i] ^ 0x36
		m.outer[i] = k[i] ^ 0x5c
	}
}

// mac computes HMAC(key, big-endian counter) into out and returns its size.
func (m *hmacKey) mac(out *[sha512.Size]byte, counter int64) int {
	binary.BigEndian.PutUint64(m.inner[m.blockSize:], uint64(counter))
	var ih [sha512.Size]byte
	sum(&ih, m.alg, m.inner[:m.blockSize+8])
	copy(m.outer[m.blockSize:], ih[:m.size])
	sum(out, m.alg, m.outer[:m.blockSize+m.size])
	return m.size
}

// code writes the RFC 4226 code for counter into buf and returns digits.
func (m *hmacKey) code(buf *[MaxDigits]byte, counter int64, digits int) int {
	var mac [sha512.Size]byte
	h := mac[:m.mac(&mac, counter)]

	// RFC 4226 §5.3 dynamic truncation.
	off := h[len(h)-1] & 0x0f
	bin := binary.BigEndian.Uint32(h[off:off+4]) & 0x7fffffff
	code := bin % powers10[digits]
	for i := digits - 1; i >= 0; i-- {
		buf[i] = byte('0' + code%10)
		code /= 10
	}
	return digits
}

func sum(out *[sha512.Size]byte, alg Algorithm, data []byte) {
	switch alg {
	case SHA256:
		s := sha256.Sum256(data)
		copy(out[:], s[:])
	case SHA512:
		*out = sha512.Sum512(data)
	default:
		s := sha1.Sum(data)
		copy(out[:], s[:])
	}
}

// Verify looks for code among the steps center-window .. center+window and
// reports the step that matched. center is the step the caller wants to
// centre on (the current step, Counter(now, p.Period), plus the device's
// remembered drift offset). code must already be normalised (NormalizeCode);
// it is compared as a zero-padded string, so "5924" never equals "005924".
//
// Each candidate is computed and compared in constant time (crypto/subtle);
// a wrong code is compared with every candidate in the window, and the loop
// stops at the first match (Verifier.Verify says why that leaks nothing). If
// more than one step matches
// (a code collision, about one in 10^Digits per pair), the one closest to
// center wins, and of two equally close the earlier one.
//
// Verify returns ok == false if p is invalid, window is negative, the secret
// is shorter than MinSecretSize, or len(code) != p.Digits. Steps that would
// overflow int64 are skipped. Verify does not allocate; its cost is linear in
// window, so callers must keep window small (±1 at sign-in, ±10 for the
// enrollment clock diagnosis).
func Verify(secret []byte, code string, p Params, center int64, window int) (step int64, ok bool) {
	if !p.valid() || window < 0 || len(secret) < MinSecretSize || len(code) != p.Digits {
		return 0, false
	}
	var want [MaxDigits]byte
	copy(want[:], code)

	var m hmacKey
	m.init(p.Algorithm, secret)
	var buf [MaxDigits]byte
	found := false
	// Visit offsets 0, -1, +1, -2, +2, ... so the first match recorded is the
	// closest to center (earlier step on a tie).
	for i := 0; i <= 2*window; i++ {
		off := int64((i + 1) / 2)
		if i%2 == 1 {
			off = -off
		}
		if (off > 0 && center > math.MaxInt64-off) || (off < 0 && center < math.MinInt64-off) {
			continue
		}
		s := center + off
		n := m.code(&buf, s, p.Digits)
		if subtle.ConstantTimeCompare(buf[:n], want[:n]) == 1 {
			// The first match is the closest (Verifier.Verify explains
			// why stopping here leaks nothing).
			step, found = s, true
			break
		}
	}
	return step, found
}
