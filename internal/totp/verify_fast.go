package totp

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding"
	"encoding/binary"
	"hash"
	"math"
	"sync"
)

// Verifier is a device's secret prepared for verification: the HMAC inner and
// outer hash states after absorbing key^ipad and key^opad (RFC 2104) are
// computed once, so a candidate step then costs one compression for the
// inner hash and one for the outer, instead of two each when the padded key
// blocks are hashed again for every step (Verify, HOTP).
//
// Plaintext key material: the saved hash states are derived from the secret
// (one block of SHA-x compression over key^pad), and from them codes can be
// computed exactly as from the secret itself, so a Verifier is as sensitive as the
// secret. NewVerifier does not keep the secret slice; the caller owns it and
// should zero it. A Verifier lives as long as whoever holds it keeps it: per
// request, or in a bounded cache (see mfa's key cache), which zeroes it with
// Wipe on eviction. That is acceptable because the same process already
// holds the key-encryption key that opens every device secret in the
// database, so an attacker able to read this process's memory gains nothing
// from a cached Verifier that they could not get from the keyring; what the cache
// bounds is only how many derived secrets sit in the heap at once.
//
// A Verifier is safe for concurrent use: Verify only reads it.
type Verifier struct {
	alg            Algorithm
	size           int // digest size
	innerN, outerN int
	inner, outer   [maxState]byte // marshalled hash states after key^ipad / key^opad
}

// maxState bounds the marshalled state of crypto/sha1, sha256 and sha512
// (sha512's is 4+64+128+8 = 204 bytes).
const maxState = 256

// hasher is a reusable hash object with scratch space, pooled per algorithm
// so Verifier.Verify does not allocate.
type hasher struct {
	h     hash.Hash
	u     encoding.BinaryUnmarshaler
	a     encoding.BinaryAppender
	bs    int
	st    [maxState]byte         // a marshalled state read back
	inner [sha512.BlockSize]byte // counter || padding, one final block
	outer [sha512.BlockSize]byte // inner digest || padding, one final block
}

// pad writes the SHA-1/SHA-2 padding of a message whose last block holds n
// bytes at the front of blk, after one full block (the key block) before it.
func pad(blk []byte, n int) {
	clear(blk[n:])
	blk[n] = 0x80
	bits := uint64(len(blk)+n) * 8
	binary.BigEndian.PutUint64(blk[len(blk)-8:], bits) // sha512's 128-bit length: high half is zero
}

var hasherPools = [3]sync.Pool{
	{New: func() any { return newHasher(sha1.New()) }},
	{New: func() any { return newHasher(sha256.New()) }},
	{New: func() any { return newHasher(sha512.New()) }},
}

func newHasher(h hash.Hash) *hasher {
	return &hasher{h: h, u: h.(encoding.BinaryUnmarshaler), a: h.(encoding.BinaryAppender), bs: h.BlockSize()}
}

// NewVerifier prepares secret for Verify under alg. It returns nil for an unknown
// algorithm or a secret shorter than MinSecretSize (Verify on a nil Verifier
// reports no match).
func NewVerifier(alg Algorithm, secret []byte) *Verifier {
	if !alg.known() || len(secret) < MinSecretSize {
		return nil
	}
	var m hmacKey
	m.init(alg, secret)
	defer wipeHMAC(&m)
	k := &Verifier{alg: alg, size: m.size}
	hp := &hasherPools[alg]
	hs := hp.Get().(*hasher)
	defer hp.Put(hs)
	for i, dst := range []*[maxState]byte{&k.inner, &k.outer} {
		hs.h.Reset()
		if i == 0 {
			hs.h.Write(m.inner[:m.blockSize])
		} else {
			hs.h.Write(m.outer[:m.blockSize])
		}
		st, err := hs.h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil || len(st) > maxState {
			return nil // not reached with the standard library's hashes
		}
		n := copy(dst[:], st)
		clear(st)
		if i == 0 {
			k.innerN = n
		} else {
			k.outerN = n
		}
	}
	hs.h.Reset()
	return k
}

func wipeHMAC(m *hmacKey) {
	clear(m.inner[:])
	clear(m.outer[:])
}

// Wipe zeroes the key's derived material; the Verifier then matches nothing.
func (k *Verifier) Wipe() {
	if k == nil {
		return
	}
	clear(k.inner[:])
	clear(k.outer[:])
	k.innerN, k.outerN = 0, 0
}

// value returns the code for counter as a number, using a pooled hasher.
// Each hash is the saved key-block state plus one final block built here
// with its padding, so the hash object's block function runs once per hash
// and the digest is read back as the leading words of the marshalled state
// (the standard library's format: 4 magic bytes, then the chaining words
// big-endian, which after the final block are the digest).
func (k *Verifier) value(hs *hasher, counter int64, digits int) uint32 {
	u, a, bs := hs.u, hs.a, hs.bs
	binary.BigEndian.PutUint64(hs.inner[:8], uint64(counter))
	_ = u.UnmarshalBinary(k.inner[:k.innerN])
	hs.h.Write(hs.inner[:bs])
	st, _ := a.AppendBinary(hs.st[:0])
	copy(hs.outer[:k.size], st[4:4+k.size])
	_ = u.UnmarshalBinary(k.outer[:k.outerN])
	hs.h.Write(hs.outer[:bs])
	st, _ = a.AppendBinary(hs.st[:0])
	h := st[4 : 4+k.size]

	off := h[len(h)-1] & 0x0f
	bin := binary.BigEndian.Uint32(h[off:off+4]) & 0x7fffffff
	return bin % powers10[digits]
}

// parseCode is code's value; ok is false unless it is all ASCII digits.
func parseCode(code string) (v uint32, ok bool) {
	for i := 0; i < len(code); i++ {
		c := code[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint32(c-'0')
	}
	return v, true
}

// Verify is the package-level Verify with the key prepared: the same window
// order, tie-breaking, constant-time comparison of each candidate and
// rejections (p.Algorithm must be the key's algorithm). It does not
// allocate.
//
// It stops at the first match. A wrong code is compared with every
// candidate, so its timing says nothing about how close it came; a right
// code's timing tells which step of the window it matched, which whoever
// holds a right code already knows (and sign-in tells them anyway: the
// code then works). Stopping saves two thirds of the work on the common
// path, a code of the current step.
func (k *Verifier) Verify(code string, p Params, center int64, window int) (step int64, ok bool) {
	if k == nil || k.innerN == 0 || p.Algorithm != k.alg || !p.valid() || window < 0 || len(code) != p.Digits {
		return 0, false
	}
	// The code is compared as a number: with its length fixed to
	// p.Digits and every character a digit, that is the same as comparing
	// the zero-padded strings, without formatting each candidate.
	want, digits := parseCode(code)
	if !digits {
		return 0, false
	}
	hp := &hasherPools[k.alg]
	hs := hp.Get().(*hasher)
	defer hp.Put(hs)
	bs := hs.bs
	pad(hs.inner[:bs], 8)
	pad(hs.outer[:bs], k.size)
	found := false
	for i := 0; i <= 2*window; i++ {
		off := int64((i + 1) / 2)
		if i%2 == 1 {
			off = -off
		}
		if (off > 0 && center > math.MaxInt64-off) || (off < 0 && center < math.MinInt64-off) {
			continue
		}
		s := center + off
		if subtle.ConstantTimeEq(int32(k.value(hs, s, p.Digits)), int32(want)) == 1 {
			step, found = s, true
			break
		}
	}
	// Leave no derived state of this key in the pooled hasher.
	hs.h.Reset()
	clear(hs.st[:])
	clear(hs.outer[:])
	return step, found
}
