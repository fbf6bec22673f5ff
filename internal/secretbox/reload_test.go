package secretbox

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestKeyringFollowsTheKeyFileWhenAnotherProcessRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.key")
	running, _, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	oldID := running.CurrentKeyID()
	oldKID, oldCT, err := running.Seal([]byte("before"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	// "gatehouse keys rotate" in another process.
	newKey := bytes.Repeat([]byte{42}, KeySize)
	if err := AddCurrentKey(path, newKey); err != nil {
		t.Fatal(err)
	}
	other, err := New(newKey)
	if err != nil {
		t.Fatal(err)
	}
	newKID, newCT, _ := other.Seal([]byte("after"), []byte("aad"))
	// The running keyring opens the new ciphertext (unknown id: re-read the
	// file) and still the old one.
	if pt, err := running.Open(newKID, newCT, []byte("aad")); err != nil || string(pt) != "after" {
		t.Fatalf("Open new = %q, %v", pt, err)
	}
	if pt, err := running.Open(oldKID, oldCT, []byte("aad")); err != nil || string(pt) != "before" {
		t.Fatalf("Open old = %q, %v", pt, err)
	}
	// And seals under the new key from now on.
	if kid, _, _ := running.Seal([]byte("x"), nil); kid != KeyID(newKey) || kid == oldID {
		t.Fatalf("Seal after rotation used key %s, want %s", kid, KeyID(newKey))
	}
	if ids := running.KeyIDs(); len(ids) != 2 || ids[0] != KeyID(newKey) || ids[1] != oldID {
		t.Fatalf("KeyIDs = %v", ids)
	}

	retired, err := RetireOldKeys(path)
	if err != nil || len(retired) != 1 || retired[0] != oldID {
		t.Fatalf("RetireOldKeys = %v, %v", retired, err)
	}
	if err := running.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := running.Open(oldKID, oldCT, []byte("aad")); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Open under a retired key = %v, want ErrUnknownKey", err)
	}
}

func TestKeyFileIsRewrittenWithMode0600EvenOverAStaleTemporaryFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.key")
	if _, _, err := LoadOrCreate(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".tmp", []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := AddCurrentKey(path, bytes.Repeat([]byte{1}, KeySize)); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v; want 0600", fi.Mode(), err)
	}
	keys, err := ReadKeyFile(path)
	if err != nil || len(keys) != 2 || !bytes.Equal(keys[0], bytes.Repeat([]byte{1}, KeySize)) {
		t.Fatalf("key file holds %d keys, %v; want the new one first of 2", len(keys), err)
	}
}

func TestParseKeysTakesACommaSeparatedListCurrentFirst(t *testing.T) {
	a, b := EncodeKey(bytes.Repeat([]byte{1}, KeySize)), EncodeKey(bytes.Repeat([]byte{2}, KeySize))
	keys, err := ParseKeys(a + ", " + b)
	if err != nil || len(keys) != 2 || keys[0][0] != 1 || keys[1][0] != 2 {
		t.Fatalf("ParseKeys = %v, %v", keys, err)
	}
	if _, err := ParseKeys(a + ",nope"); err == nil {
		t.Fatal("ParseKeys accepted a bad second key")
	}
	if _, err := ParseKeys(" , "); err == nil {
		t.Fatal("ParseKeys accepted no key")
	}
}
