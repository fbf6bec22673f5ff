package secretbox

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpenRoundTripsAndBindsAssociatedData(t *testing.T) {
	k, err := New(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	id, ct, err := k.Seal([]byte("secret"), []byte("device:1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, []byte("secret")) {
		t.Fatal("ciphertext contains the plaintext")
	}
	pt, err := k.Open(id, ct, []byte("device:1"))
	if err != nil || string(pt) != "secret" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	if _, err := k.Open(id, ct, []byte("device:2")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Open with other aad = %v, want ErrDecrypt", err)
	}
	ct[len(ct)-1] ^= 1
	if _, err := k.Open(id, ct, []byte("device:1")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Open tampered = %v, want ErrDecrypt", err)
	}
	if _, err := k.Open(id, ct[:5], nil); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Open short = %v, want ErrDecrypt", err)
	}
}

func TestOpenRefusesUnknownKeyID(t *testing.T) {
	a, _ := New(bytes.Repeat([]byte{1}, KeySize))
	b, _ := New(bytes.Repeat([]byte{2}, KeySize))
	id, ct, _ := a.Seal([]byte("x"), nil)
	if _, err := b.Open(id, ct, nil); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("err = %v, want ErrUnknownKey", err)
	}
}

func TestOlderKeysStillOpen(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, KeySize), bytes.Repeat([]byte{2}, KeySize)
	old, _ := New(oldKey)
	id, ct, _ := old.Seal([]byte("x"), nil)
	rotated, _ := New(newKey, oldKey)
	if rotated.CurrentKeyID() == id {
		t.Fatal("current key did not change")
	}
	if pt, err := rotated.Open(id, ct, nil); err != nil || string(pt) != "x" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
}

func TestLoadOrCreateWritesOwnerOnlyFileAndReloadsSameKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "gatehouse.key")
	k1, created, err := LoadOrCreate(path)
	if err != nil || !created {
		t.Fatalf("LoadOrCreate = %v, created=%v", err, created)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %o, want 600", fi.Mode().Perm())
	}
	k2, created, err := LoadOrCreate(path)
	if err != nil || created {
		t.Fatalf("reload = %v, created=%v", err, created)
	}
	if k1.CurrentKeyID() != k2.CurrentKeyID() {
		t.Fatal("reloaded key differs")
	}
}

func TestLoadOrCreateRefusesGroupReadableKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.key")
	if _, _, err := LoadOrCreate(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(path); err == nil {
		t.Fatal("a world-readable key file was accepted")
	}
}

func TestParseKeyRejectsWrongLength(t *testing.T) {
	for _, s := range []string{"", "not base64!", "AAAA"} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
		}
	}
}
