package mfa

import (
	"testing"

	"gatehouse/internal/totp"
)

func TestVerifierCacheWipesOnEvictionOnceUnused(t *testing.T) {
	secret := []byte("12345678901234567890")
	code := totp.HOTP(secret, 10, totp.Default)
	c := &verifierCache{max: 2}
	k := func(id string) verifierKey { return verifierKey{deviceID: id} }
	a := c.insert(k("a"), totp.NewVerifier(totp.SHA1, secret)) // held by a request
	b := c.insert(k("b"), totp.NewVerifier(totp.SHA1, secret))
	c.release(b)
	c.insert(k("c"), totp.NewVerifier(totp.SHA1, secret)) // evicts a (in use)
	if c.acquire(k("a")) != nil {
		t.Fatal("a still cached")
	}
	if _, ok := a.v.Verify(code, totp.Default, 10, 0); !ok {
		t.Fatal("an evicted verifier in use was wiped")
	}
	c.release(a)
	if _, ok := a.v.Verify(code, totp.Default, 10, 0); ok {
		t.Fatal("evicted verifier not wiped after its last use")
	}
	c.insert(k("d"), totp.NewVerifier(totp.SHA1, secret)) // evicts b (unused)
	if _, ok := b.v.Verify(code, totp.Default, 10, 0); ok {
		t.Fatal("evicted unused verifier not wiped")
	}
	if c.ll.Len() != 2 || len(c.m) != 2 {
		t.Fatalf("cache holds %d/%d entries, want 2", c.ll.Len(), len(c.m))
	}
	// A second insert of the same key keeps the first and wipes the newcomer.
	dup := totp.NewVerifier(totp.SHA1, secret)
	if got := c.insert(k("d"), dup); got.v == dup {
		t.Fatal("duplicate replaced the cached verifier")
	}
	if _, ok := dup.Verify(code, totp.Default, 10, 0); ok {
		t.Fatal("dropped duplicate not wiped")
	}
}
