package totp

import (
	"crypto/rand"
	"testing"
	"time"

	potp "github.com/pquerna/otp"
	ptotp "github.com/pquerna/otp/totp"
)

// Verifier.Verify must agree with Verify on every input: same step, same verdict.
func TestKeyVerifyAgreesWithVerify(t *testing.T) {
	secrets := [][]byte{seedSHA1, seedSHA512, []byte("12345678901234567")}
	for range 5 {
		s := make([]byte, 20+len(secrets))
		_, _ = rand.Read(s)
		secrets = append(secrets, s)
	}
	long := make([]byte, 200) // longer than a block: hashed first
	_, _ = rand.Read(long)
	secrets = append(secrets, long)
	for _, alg := range []Algorithm{SHA1, SHA256, SHA512} {
		for _, secret := range secrets {
			k := NewVerifier(alg, secret)
			if k == nil {
				t.Fatalf("NewVerifier(%s, %d bytes) = nil", alg, len(secret))
			}
			for _, digits := range []int{6, 7, 8} {
				p := Params{alg, digits, 30}
				for _, center := range []int64{0, 1, 41152263, 1 << 40} {
					for _, window := range []int{0, 1, 3} {
						for off := int64(-4); off <= 4; off++ {
							code := HOTP(secret, center+off, p)
							s1, ok1 := Verify(secret, code, p, center, window)
							s2, ok2 := k.Verify(code, p, center, window)
							if s1 != s2 || ok1 != ok2 {
								t.Fatalf("%s %d digits center %d window %d off %d: Verify = %d,%v; Verifier.Verify = %d,%v", alg, digits, center, window, off, s1, ok1, s2, ok2)
							}
						}
						if _, ok := k.Verify("00000a", p, center, window); ok {
							t.Fatal("matched a non-code")
						}
					}
				}
			}
		}
	}
}

func TestKeyRejects(t *testing.T) {
	if NewVerifier(SHA1, []byte("short")) != nil {
		t.Error("NewVerifier accepted a short secret")
	}
	if NewVerifier(Algorithm(9), seedSHA1) != nil {
		t.Error("NewVerifier accepted an unknown algorithm")
	}
	var nilKey *Verifier
	if _, ok := nilKey.Verify("123456", Default, 1, 1); ok {
		t.Error("nil key matched")
	}
	k := NewVerifier(SHA1, seedSHA1)
	code := HOTP(seedSHA1, 7, Default)
	if _, ok := k.Verify(code, Params{SHA256, 6, 30}, 7, 1); ok {
		t.Error("matched under another algorithm")
	}
	if _, ok := k.Verify(code, Default, 7, -1); ok {
		t.Error("matched with a negative window")
	}
	k.Wipe()
	if _, ok := k.Verify(code, Default, 7, 1); ok {
		t.Error("wiped key matched")
	}
}

func TestKeyVerifyDoesNotAllocate(t *testing.T) {
	k := NewVerifier(SHA1, seedSHA1)
	code := HOTP(seedSHA1, 100, Default)
	if n := testing.AllocsPerRun(100, func() { k.Verify(code, Default, 99, 1) }); n != 0 {
		t.Errorf("Verifier.Verify allocates %v times", n)
	}
}

// BenchmarkVerifyCore is issue 8's item 1: verifying a 6-digit SHA-1 code
// with a ±1 window (the replay guard is the store's, not measured here),
// against github.com/pquerna/otp's totp.ValidateCustom in the same run.
// The code matches the step after center, so every implementation computes
// two or three candidates as it would at sign-in.
//
//	go test -run x -bench VerifyCore -benchmem -count 10 ./internal/totp/ > core.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /impl core.txt
func BenchmarkVerifyCore(b *testing.B) {
	const T = 41152263
	now := time.Unix(T*30+5, 0)
	// Both stop at the first match, in different orders: Gatehouse tries
	// T, T-1, T+1, pquerna T, T+1, T-1. So a code of T costs each one
	// candidate, T-1 two for Gatehouse and three for pquerna, T+1 three
	// and two, and a wrong code three each.
	wrong := HOTP(seedSHA1, T+5, Default)
	for _, c := range []struct {
		name string
		code string
		ok   bool
	}{
		{"current", HOTP(seedSHA1, T, Default), true},
		{"prev", HOTP(seedSHA1, T-1, Default), true},
		{"next", HOTP(seedSHA1, T+1, Default), true},
		{"wrong", wrong, false},
	} {
		b.Run("code="+c.name+"/impl=prepared", func(b *testing.B) {
			k := NewVerifier(SHA1, seedSHA1)
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := k.Verify(c.code, Default, T, 1); ok != c.ok {
					b.Fatal("verdict", ok)
				}
			}
		})
		b.Run("code="+c.name+"/impl=unprepared", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := Verify(seedSHA1, c.code, Default, T, 1); ok != c.ok {
					b.Fatal("verdict", ok)
				}
			}
		})
		b.Run("code="+c.name+"/impl=pquerna", func(b *testing.B) {
			secret := EncodeSecret(seedSHA1)
			opts := ptotp.ValidateOpts{Period: 30, Skew: 1, Digits: potp.DigitsSix, Algorithm: potp.AlgorithmSHA1}
			b.ReportAllocs()
			for b.Loop() {
				if ok, err := ptotp.ValidateCustom(c.code, secret, now, opts); ok != c.ok || (c.ok && err != nil) {
					b.Fatal("verdict", ok, err)
				}
			}
		})
	}
}

// BenchmarkNewVerifier is the per-device preparation that BenchmarkVerifyCore's
// prepared case leaves out (paid once per device while it is cached).
func BenchmarkNewVerifier(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		NewVerifier(SHA1, seedSHA1).Wipe()
	}
}
