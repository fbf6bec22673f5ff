package mfa

import (
	"container/list"
	"fmt"
	"sync"

	"gatehouse/internal/secretbox"
	"gatehouse/internal/totp"
)

// verifierCacheSize bounds how many prepared device keys the process holds
// (about 700 bytes each, so about 3 MiB when full).
const verifierCacheSize = 4096

// verifiers caches each authenticator app's prepared key (totp.Verifier:
// the HMAC key states derived from its secret) so a sign-in neither opens the
// sealed secret again nor re-derives the padded key blocks.
//
// How long plaintext key material lives in memory: the opened secret only for
// the duration of one call to prepare (it is zeroed right after
// totp.NewVerifier); the derived Verifier — as sensitive as the secret —
// until it is evicted, least recently used first, once verifierCacheSize
// other devices have been used since. An evicted Verifier is zeroed (Wipe)
// as soon as no request is using it (a use count under the cache's lock).
// Entries are never used again once their device is deleted or its secret
// re-sealed (the ciphertext is part of the key), nor while their key id is
// out of the keyring (checked before every use); they then age out the same
// way, so at most verifierCacheSize of them exist. This is acceptable because
// the same process holds the keyring, from which every sealed secret in the
// database can be opened at any time: reading this process's memory already
// yields all secrets, so the cache adds no exposure beyond bounding how many
// derived keys sit in the heap. The entry is keyed by the keyring, the device
// id, the key id and the ciphertext itself, so a re-sealed secret (key
// rotation) or a different installation in the same process (tests) never
// reuses a stale entry.
var verifiers = &verifierCache{max: verifierCacheSize}

type verifierKey struct {
	keys            *secretbox.Keyring
	deviceID, keyID string
	ciphertext      string
}

type verifierEntry struct {
	key     verifierKey
	v       *totp.Verifier
	users   int  // requests verifying with v now
	evicted bool // out of the cache: wiped when users drops to 0
}

type verifierCache struct {
	mu  sync.Mutex
	max int
	ll  list.List // front: most recently used
	m   map[verifierKey]*list.Element
}

// acquire returns the cached entry for k, or nil, and counts the caller as
// a user of it until release.
func (c *verifierCache) acquire(k verifierKey) *verifierEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		c.ll.MoveToFront(e)
		ent := e.Value.(*verifierEntry)
		ent.users++
		return ent
	}
	return nil
}

// insert adds v for k with the caller as its user, or, if a concurrent
// request added one first, wipes v and returns that one.
func (c *verifierCache) insert(k verifierKey, v *totp.Verifier) *verifierEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[verifierKey]*list.Element)
	}
	if e, ok := c.m[k]; ok {
		v.Wipe()
		ent := e.Value.(*verifierEntry)
		ent.users++
		return ent
	}
	ent := &verifierEntry{key: k, v: v, users: 1}
	c.m[k] = c.ll.PushFront(ent)
	for c.ll.Len() > c.max {
		old := c.ll.Remove(c.ll.Back()).(*verifierEntry)
		delete(c.m, old.key)
		old.evicted = true
		if old.users == 0 {
			old.v.Wipe()
		}
	}
	return ent
}

func (c *verifierCache) release(ent *verifierEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ent.users--
	if ent.evicted && ent.users == 0 {
		ent.v.Wipe()
	}
}

// verifier returns device d's prepared key, from the cache or by opening its
// sealed secret, and the function to call once done with it.
func (s *Service) verifier(d Device) (*totp.Verifier, func(), error) {
	k := verifierKey{keys: s.Keys, deviceID: d.ID, keyID: d.SecretKeyID, ciphertext: string(d.SecretCT)}
	// A key taken out of the keyring must stop working at once, cached or
	// not; a key not loaded yet (rotated by another process) goes through
	// Open, which reloads the key file.
	if s.Keys.Has(d.SecretKeyID) {
		if ent := verifiers.acquire(k); ent != nil {
			return ent.v, func() { verifiers.release(ent) }, nil
		}
	}
	secret, err := s.Keys.Open(d.SecretKeyID, d.SecretCT, secretAAD(d.ID))
	if err != nil {
		return nil, nil, fmt.Errorf("open secret of device %s: %w", d.ID, err)
	}
	v := totp.NewVerifier(s.Params.Algorithm, secret)
	clear(secret)
	if v == nil {
		return nil, nil, fmt.Errorf("device %s: secret unusable for %s", d.ID, s.Params.Algorithm)
	}
	ent := verifiers.insert(k, v)
	return ent.v, func() { verifiers.release(ent) }, nil
}
