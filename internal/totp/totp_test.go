package totp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"hash"
	"math"
	"strings"
	"testing"
	"time"
)

// RFC seeds (DESIGN.md §2, RFC 6238 App. B).
var (
	seedSHA1   = []byte("12345678901234567890")
	seedSHA256 = []byte("12345678901234567890123456789012")
	seedSHA512 = []byte(strings.Repeat("1234567890", 7)[:64])
)

func seedFor(a Algorithm) []byte {
	switch a {
	case SHA256:
		return seedSHA256
	case SHA512:
		return seedSHA512
	}
	return seedSHA1
}

func TestHOTPMatchesRFC4226AppendixD(t *testing.T) {
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for counter, code := range want {
		if got := HOTP(seedSHA1, int64(counter), Default); got != code {
			t.Errorf("HOTP(counter=%d) = %q, want %q", counter, got, code)
		}
	}
}

var rfc6238Vectors = []struct {
	unix int64
	sha1 string
	s256 string
	s512 string
}{
	{59, "94287082", "46119246", "90693936"},
	{1111111109, "07081804", "68084774", "25091201"},
	{1111111111, "14050471", "67062674", "99943326"},
	{1234567890, "89005924", "91819424", "93441116"},
	{2000000000, "69279037", "90698825", "38618901"},
	{20000000000, "65353130", "77737706", "47863826"},
}

func TestTOTPMatchesRFC6238AppendixB(t *testing.T) {
	for _, v := range rfc6238Vectors {
		for _, c := range []struct {
			alg  Algorithm
			want string
		}{{SHA1, v.sha1}, {SHA256, v.s256}, {SHA512, v.s512}} {
			p := Params{Algorithm: c.alg, Digits: 8, Period: 30}
			ctr := Counter(time.Unix(v.unix, 0), p.Period)
			if got := HOTP(seedFor(c.alg), ctr, p); got != c.want {
				t.Errorf("%s T=%d: got %q, want %q", c.alg, v.unix, got, c.want)
			}
			step, ok := Verify(seedFor(c.alg), c.want, p, ctr, 0)
			if !ok || step != ctr {
				t.Errorf("%s T=%d: Verify(%q) = %d, %v; want %d, true", c.alg, v.unix, c.want, step, ok, ctr)
			}
		}
	}
}

func TestSixDigitCodeIsLastSixOfEightAndKeepsLeadingZeros(t *testing.T) {
	for _, v := range rfc6238Vectors {
		for _, c := range []struct {
			alg  Algorithm
			want string
		}{{SHA1, v.sha1}, {SHA256, v.s256}, {SHA512, v.s512}} {
			p := Params{Algorithm: c.alg, Digits: 6, Period: 30}
			got := HOTP(seedFor(c.alg), Counter(time.Unix(v.unix, 0), 30), p)
			if got != c.want[2:] {
				t.Errorf("%s T=%d: got %q, want %q", c.alg, v.unix, got, c.want[2:])
			}
		}
	}
	// The headline example of DESIGN.md §2.
	ctr := Counter(time.Unix(1234567890, 0), 30)
	if got := HOTP(seedSHA1, ctr, Default); got != "005924" {
		t.Fatalf("T=1234567890: got %q, want 005924", got)
	}
	if _, ok := Verify(seedSHA1, "5924", Default, ctr, 1); ok {
		t.Error(`Verify accepted "5924" for "005924"`)
	}
	if _, err := NormalizeCode("5924", 6); !errors.Is(err, ErrCodeFormat) {
		t.Errorf(`NormalizeCode("5924") error = %v, want ErrCodeFormat`, err)
	}
}

func TestSevenDigitCodeIsLastSevenOfEight(t *testing.T) {
	p := Params{Algorithm: SHA1, Digits: 7, Period: 30}
	if got := HOTP(seedSHA1, Counter(time.Unix(1234567890, 0), 30), p); got != "9005924" {
		t.Errorf("got %q, want 9005924", got)
	}
}

func TestHOTPReturnsEmptyForInvalidParams(t *testing.T) {
	for _, p := range []Params{
		{Algorithm: SHA1, Digits: 5, Period: 30},
		{Algorithm: SHA1, Digits: 9, Period: 30},
		{Algorithm: SHA1, Digits: 6, Period: 0},
		{Algorithm: Algorithm(3), Digits: 6, Period: 30},
	} {
		if got := HOTP(seedSHA1, 1, p); got != "" {
			t.Errorf("HOTP(%+v) = %q, want empty", p, got)
		}
		if _, ok := Verify(seedSHA1, "755224", p, 0, 1); ok {
			t.Errorf("Verify(%+v) accepted a code", p)
		}
	}
}

func TestHMACHashesKeysLongerThanTheBlock(t *testing.T) {
	// The hand-written HMAC must equal crypto/hmac for every algorithm and for
	// keys shorter than, equal to and longer than the hash block size.
	for _, alg := range []Algorithm{SHA1, SHA256, SHA512} {
		for _, n := range []int{0, 1, 20, 63, 64, 65, 127, 128, 129, 200} {
			key := []byte(strings.Repeat("k", n))
			checkAgainstStdlibHMAC(t, alg, key, 0x0102030405060708)
		}
	}
}

func checkAgainstStdlibHMAC(t *testing.T, alg Algorithm, key []byte, counter uint64) {
	t.Helper()
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	newHash := map[Algorithm]func() hash.Hash{SHA1: sha1.New, SHA256: sha256.New, SHA512: sha512.New}[alg]
	std := hmac.New(newHash, key)
	std.Write(msg[:])
	want := std.Sum(nil)
	var m hmacKey
	m.init(alg, key)
	var out [sha512.Size]byte
	n := m.mac(&out, int64(counter))
	if !bytes.Equal(out[:n], want) {
		t.Errorf("%s key %d bytes: hmacKey.mac = %x, want %x", alg, len(key), out[:n], want)
	}
}

func TestAlgorithmString(t *testing.T) {
	for _, c := range []struct {
		a    Algorithm
		want string
	}{{SHA1, "SHA1"}, {SHA256, "SHA256"}, {SHA512, "SHA512"}, {Algorithm(7), "Algorithm(7)"}} {
		if got := c.a.String(); got != c.want {
			t.Errorf("%d.String() = %q, want %q", c.a, got, c.want)
		}
	}
}

func TestParamsValidateAcceptsOnlyDocumentedRanges(t *testing.T) {
	tests := []struct {
		p  Params
		ok bool
	}{
		{Default, true},
		{Params{SHA256, 8, 60}, true},
		{Params{SHA512, 7, 15}, true},
		{Params{SHA1, 6, 300}, true},
		{Params{SHA1, 5, 30}, false},
		{Params{SHA1, 9, 30}, false},
		{Params{SHA1, 6, 14}, false},
		{Params{SHA1, 6, 301}, false},
		{Params{SHA1, 6, 0}, false},
		{Params{SHA1, 6, -30}, false},
		{Params{Algorithm(3), 6, 30}, false},
		{Params{}, false},
	}
	for _, tt := range tests {
		err := tt.p.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tt.p, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrParamsInvalid) {
			t.Errorf("Validate(%+v) = %v, want ErrParamsInvalid", tt.p, err)
		}
	}
}

func TestCounterIsFloorOfUnixSecondsOverPeriod(t *testing.T) {
	tests := []struct {
		unix   int64
		period int64
		want   int64
	}{
		{0, 30, 0},
		{29, 30, 0},
		{30, 30, 1},
		{59, 30, 1},
		{1111111109, 30, 37037036},
		{1234567890, 30, 41152263},
		{20000000000, 30, 666666666},
		{119, 60, 1},
		{-1, 30, -1},
		{-30, 30, -1},
		{-31, 30, -2},
	}
	for _, tt := range tests {
		if got := Counter(time.Unix(tt.unix, 999_999_999), tt.period); got != tt.want {
			t.Errorf("Counter(%d, %d) = %d, want %d", tt.unix, tt.period, got, tt.want)
		}
	}
}

func TestCounterAndCodesIgnoreTimeZone(t *testing.T) {
	zones := []*time.Location{time.UTC, time.Local, time.FixedZone("UTC+14", 14*3600), time.FixedZone("UTC-12", -12*3600), time.FixedZone("odd", 5*3600+45*60)}
	for _, name := range []string{"America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu"} {
		if loc, err := time.LoadLocation(name); err == nil {
			zones = append(zones, loc)
		}
	}
	// 2021-03-28 01:00 UTC is a DST change in Europe; 1234567890 an RFC vector.
	for _, unix := range []int64{1234567890, 1616893200, 1616893199, 1636261200} {
		base := time.Unix(unix, 0).UTC()
		want := HOTP(seedSHA1, Counter(base, 30), Default)
		for _, loc := range zones {
			tt := base.In(loc)
			if got := HOTP(seedSHA1, Counter(tt, 30), Default); got != want {
				t.Errorf("T=%d in %s: %q, want %q", unix, loc, got, want)
			}
			// A wall clock read in another zone is a different instant: the
			// same wall-clock numbers in UTC+14 must not give the UTC code.
			if loc != time.UTC && loc != time.Local {
				wall := time.Date(base.Year(), base.Month(), base.Day(), base.Hour(), base.Minute(), base.Second(), 0, loc)
				if _, off := wall.Zone(); off != 0 && Counter(wall, 30) == Counter(base, 30) {
					t.Errorf("%s: wall-clock time with offset %d gave the UTC step", loc, off)
				}
			}
		}
	}
}

func TestCounterPanicsOnNonPositivePeriod(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	Counter(time.Unix(0, 0), 0)
}

func TestVerifyWindowEdges(t *testing.T) {
	const T = 41152263 // Counter(1234567890)
	tests := []struct {
		name   string
		offset int64 // step of the code relative to T
		window int
		ok     bool
	}{
		{"AcceptsCurrentStep", 0, 1, true},
		{"AcceptsPreviousStep", -1, 1, true},
		{"AcceptsNextStep", +1, 1, true},
		{"RejectsCodeTwoStepsBehind", -2, 1, false},
		{"RejectsCodeTwoStepsAhead", +2, 1, false},
		{"WindowZeroRejectsPreviousStep", -1, 0, false},
		{"WindowZeroAcceptsCurrentStep", 0, 0, true},
		{"WindowTenAcceptsTenStepsAhead", 10, 10, true},
		{"WindowTenRejectsElevenStepsBehind", -11, 10, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := HOTP(seedSHA1, T+tt.offset, Default)
			step, ok := Verify(seedSHA1, code, Default, T, tt.window)
			if ok != tt.ok {
				t.Fatalf("Verify ok = %v, want %v", ok, tt.ok)
			}
			if ok && step != T+tt.offset {
				t.Errorf("step = %d, want %d", step, T+tt.offset)
			}
		})
	}
}

func TestVerifyCentresOnDriftOffset(t *testing.T) {
	const now = 41152263
	drift := int64(3) // device remembered as 3 steps ahead
	code := HOTP(seedSHA1, now+4, Default)
	if _, ok := Verify(seedSHA1, code, Default, now, 1); ok {
		t.Fatal("code 4 steps ahead accepted without drift")
	}
	step, ok := Verify(seedSHA1, code, Default, now+drift, 1)
	if !ok || step != now+4 {
		t.Fatalf("Verify with drift = %d, %v; want %d, true", step, ok, now+4)
	}
}

func TestVerifyRejectsMalformedInput(t *testing.T) {
	const T = 41152263
	good := HOTP(seedSHA1, T, Default)
	tests := []struct {
		name   string
		secret []byte
		code   string
		window int
	}{
		{"RejectsEmptyCode", seedSHA1, "", 1},
		{"RejectsUnnormalisedCode", seedSHA1, good[:3] + " " + good[3:], 1},
		{"RejectsTooLongCode", seedSHA1, good + "0", 1},
		{"RejectsNegativeWindow", seedSHA1, good, -1},
		{"RejectsEmptySecret", nil, HOTP(nil, T, Default), 1},
		{"RejectsShortSecret", seedSHA1[:15], HOTP(seedSHA1[:15], T, Default), 1},
		{"RejectsWrongCode", seedSHA1, "000000", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if good == "000000" && tt.code == "000000" {
				t.Skip("astronomically unlucky")
			}
			if _, ok := Verify(tt.secret, tt.code, Default, T, tt.window); ok {
				t.Error("accepted")
			}
		})
	}
}

func TestVerifyPrefersStepClosestToCenterOnCollision(t *testing.T) {
	// Find a real 6-digit collision (two steps with the same code) so the
	// rule is tested on actual HOTP output rather than a mock.
	p := Default
	last := map[string]int64{}
	var a, b int64 = -1, -1
	for c := int64(0); c < 1_000_000; c++ {
		code := HOTP(seedSHA1, c, p)
		if prev, ok := last[code]; ok && c-prev <= 2000 {
			a, b = prev, c
			break
		}
		last[code] = c
	}
	if a < 0 {
		t.Fatal("no collision found")
	}
	code := HOTP(seedSHA1, a, p)
	window := int(b - a)
	// Oracle: of all matching steps, the one closest to center, earlier on a tie.
	want := func(center int64) int64 {
		best := int64(-1)
		for s := center - int64(window); s <= center+int64(window); s++ {
			if HOTP(seedSHA1, s, p) != code {
				continue
			}
			if best < 0 || abs(s-center) < abs(best-center) {
				best = s
			}
		}
		return best
	}
	for _, center := range []int64{a, a + 1, (a + b) / 2, (a + b + 1) / 2, b - 1, b} {
		step, ok := Verify(seedSHA1, code, p, center, window)
		if !ok || step != want(center) {
			t.Errorf("collision %d/%d, center %d: got %d, %v; want %d", a, b, center, step, ok, want(center))
		}
	}
	if (b-a)%2 == 0 {
		if step, _ := Verify(seedSHA1, code, p, (a+b)/2, window); step != a {
			t.Errorf("tie: got %d, want the earlier step %d", step, a)
		}
	}
	t.Logf("collision at steps %d and %d (code %s)", a, b, code)
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestVerifySkipsStepsThatWouldOverflow(t *testing.T) {
	code := HOTP(seedSHA1, math.MaxInt64, Default)
	step, ok := Verify(seedSHA1, code, Default, math.MaxInt64, 1)
	if !ok || step != math.MaxInt64 {
		t.Errorf("got %d, %v", step, ok)
	}
	code = HOTP(seedSHA1, math.MinInt64, Default)
	step, ok = Verify(seedSHA1, code, Default, math.MinInt64, 1)
	if !ok || step != math.MinInt64 {
		t.Errorf("got %d, %v", step, ok)
	}
}

func TestHOTPAndVerifyDoNotAllocate(t *testing.T) {
	const T = 41152263
	code := HOTP(seedSHA1, T+1, Default)
	for _, alg := range []Algorithm{SHA1, SHA256, SHA512} {
		p := Params{Algorithm: alg, Digits: 6, Period: 30}
		secret := seedFor(alg)
		if n := testing.AllocsPerRun(100, func() { Verify(secret, code, p, T, 1) }); n != 0 {
			t.Errorf("%s: Verify allocates %.0f times per call", alg, n)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	const T = 41152263
	for _, alg := range []Algorithm{SHA1, SHA256, SHA512} {
		p := Params{Algorithm: alg, Digits: 6, Period: 30}
		secret := seedFor(alg)
		code := HOTP(secret, T+1, p)
		b.Run(alg.String()+"/window1", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := Verify(secret, code, p, T, 1); !ok {
					b.Fatal("no match")
				}
			}
		})
	}
}

func BenchmarkHOTP(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		HOTP(seedSHA1, 41152263, Default)
	}
}
