package recovery

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/errcode"
)

func TestNormalizeAcceptsWhatPeopleTypeAndRefusesTheRest(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"7KQ2M-X9D4T", "7KQ2MX9D4T"},
		{"7kq2m x9d4t", "7KQ2MX9D4T"},
		{" 7kq2mx9d4t\n", "7KQ2MX9D4T"},
		{"OIL00-11234", "0110011234"}, // O is 0, I and L are 1
		{"7-K-Q-2-M-X-9-D-4-T", "7KQ2MX9D4T"},
	} {
		got, err := Normalize(c.in)
		if err != nil || got != c.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "7KQ2M", "7KQ2M-X9D4T-A", "7KQ2M-X9D4U", "7KQ2M_X9D4T", "７KQ2M-X9D4T", "7KQ2M-X9D4\x00"} {
		_, err := Normalize(in)
		e := errcode.As(err)
		if e == nil || e.Code != errcode.InvalidCode || e.Detail[formatMarker] != true {
			t.Errorf("Normalize(%q) = %v; want a format error (invalid_code with detail format)", in, err)
		}
	}
}

type memStore struct {
	hashes map[string][][]byte
}

func (m *memStore) ReplaceRecoveryCodes(_ context.Context, userID string, hashes [][]byte, _ time.Time) error {
	m.hashes[userID] = hashes
	return nil
}

func (m *memStore) UseRecoveryCode(_ context.Context, userID string, hash []byte) error {
	for i, h := range m.hashes[userID] {
		if bytes.Equal(h, hash) {
			m.hashes[userID] = append(m.hashes[userID][:i], m.hashes[userID][i+1:]...)
			return nil
		}
	}
	return ErrNoMatch
}

func (m *memStore) CountRecoveryCodes(_ context.Context, userID string) (int, error) {
	return len(m.hashes[userID]), nil
}

type devices []string

func (d devices) Methods(context.Context, string) ([]string, error) { return d, nil }

func TestGenerateGivesTenDistinctGroupedCodesAndStoresOnlyKeyedHashes(t *testing.T) {
	st := &memStore{hashes: map[string][][]byte{}}
	s := &Service{Store: st, Devices: devices{"totp"}, Key: bytes.Repeat([]byte{9}, 32)}
	codes, err := s.Generate(context.Background(), "u1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != Count {
		t.Fatalf("%d codes, want %d", len(codes), Count)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != Length+1 || c[Length/2] != '-' {
			t.Errorf("code %q is not grouped xxxxx-xxxxx", c)
		}
		n, err := Normalize(c)
		if err != nil {
			t.Errorf("Normalize(%q): %v", c, err)
		}
		if seen[n] {
			t.Errorf("duplicate code %q", c)
		}
		seen[n] = true
		for _, h := range st.hashes["u1"] {
			if bytes.Contains(h, []byte(n)) {
				t.Errorf("stored hash contains the code %q", n)
			}
		}
	}
	// A hash under another key does not match: the key matters.
	other := &Service{Key: bytes.Repeat([]byte{8}, 32)}
	n0, _ := Normalize(codes[0])
	if bytes.Equal(other.Hash(n0), s.Hash(n0)) {
		t.Error("hash does not depend on the key")
	}
	if err := s.Use(context.Background(), "u1", strings.ToLower(codes[0])); err != nil {
		t.Fatalf("Use(lower case) = %v", err)
	}
	err = s.Use(context.Background(), "u1", codes[0])
	if e := errcode.As(err); e == nil || e.Code != errcode.InvalidCode || e.Detail != nil {
		t.Fatalf("second Use = %v; want invalid_code (a counted guess)", err)
	}
	if n, _ := s.Remaining(context.Background(), "u1"); n != Count-1 {
		t.Fatalf("Remaining = %d, want %d", n, Count-1)
	}
}

func TestGenerateNeedsAnActiveDevice(t *testing.T) {
	s := &Service{Store: &memStore{hashes: map[string][][]byte{}}, Devices: devices{}, Key: make([]byte, 32)}
	_, err := s.Generate(context.Background(), "u1", "alice")
	if errcode.Code(err) != errcode.NotAllowed {
		t.Fatalf("Generate without a device = %v, want not_allowed", err)
	}
}

func TestNewCodeUsesEveryLetterOfTheAlphabet(t *testing.T) {
	// 256 bytes 0..255 map onto the 32 letters 8 times each: uniform.
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	counts := map[rune]int{}
	r := bytes.NewReader(b)
	for range 256 / Length {
		c, err := newCode(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range c {
			counts[ch]++
		}
	}
	if len(counts) != len(Alphabet) {
		t.Fatalf("%d distinct letters, want %d", len(counts), len(Alphabet))
	}
	if _, err := newCode(strings.NewReader("short")); err == nil {
		t.Fatal("newCode from a short reader succeeded")
	}
}
