package secretbox

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
)

// watchedFile remembers which version of the key file a keyring holds, so
// that a rotation done by another process ("gatehouse keys rotate") reaches
// a running server without a restart: the file is checked (one stat) before
// every seal and whenever a ciphertext names a key the ring does not hold.
type watchedFile struct {
	path string
	mu   sync.Mutex
	info os.FileInfo
}

func (k *Keyring) watch(path string) {
	fi, _ := os.Stat(path)
	k.file = &watchedFile{path: path, info: fi}
}

// refresh re-reads the key file when it changed since it was last read. A
// file that cannot be read or parsed leaves the keys as they are: a node
// keeps serving with the keys it has.
func (k *Keyring) refresh() {
	if k.file == nil {
		return
	}
	_ = k.reloadIfChanged(false)
}

// Reload reads the key file again now (for SIGHUP). A keyring built from
// GATEHOUSE_KEY has no file, and Reload does nothing.
func (k *Keyring) Reload() error {
	if k.file == nil {
		return nil
	}
	return k.reloadIfChanged(true)
}

func (k *Keyring) reloadIfChanged(force bool) error {
	w := k.file
	w.mu.Lock()
	defer w.mu.Unlock()
	fi, err := os.Stat(w.path)
	if err != nil {
		return err
	}
	if !force && w.info != nil && os.SameFile(w.info, fi) && fi.ModTime().Equal(w.info.ModTime()) && fi.Size() == w.info.Size() {
		return nil
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("secretbox: key file %s has mode %o; it must be readable by its owner only (chmod 600)", w.path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(w.path)
	if err != nil {
		return err
	}
	keys, err := parseKeyFile(w.path, b)
	if err != nil {
		return err
	}
	fresh, err := New(keys...)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.current, k.aeads, k.raw = fresh.current, fresh.aeads, fresh.raw
	k.mu.Unlock()
	w.info = fi
	return nil
}

// KeyIDs lists the ids of the keys held, the current one first.
func (k *Keyring) KeyIDs() []string {
	k.refresh()
	k.mu.RLock()
	defer k.mu.RUnlock()
	var others []string
	for id := range k.aeads {
		if id != k.current {
			others = append(others, id)
		}
	}
	sort.Strings(others)
	return append([]string{k.current}, others...)
}

// Has reports whether the ring holds the key with this id.
func (k *Keyring) Has(id string) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	_, ok := k.aeads[id]
	return ok
}

// GenerateKey returns a fresh random key-encryption key.
func GenerateKey(r io.Reader) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	key := make([]byte, KeySize)
	if _, err := io.ReadFull(r, key); err != nil {
		return nil, err
	}
	return key, nil
}

// EncodeKey is a key as written in the key file and GATEHOUSE_KEY.
func EncodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// ReadKeyFile returns the keys in the key file, the current one first.
func ReadKeyFile(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secretbox: read key file: %w", err)
	}
	return parseKeyFile(path, b)
}

// AddCurrentKey writes key first into the key file, before the keys it
// already holds, by an atomic replace with mode 0600. Every key stays
// readable: data sealed before is re-sealed afterwards, by the caller.
func AddCurrentKey(path string, key []byte) error {
	keys, err := ReadKeyFile(path)
	if err != nil {
		return err
	}
	if len(key) != KeySize {
		return fmt.Errorf("secretbox: key is %d bytes, want %d", len(key), KeySize)
	}
	return writeKeyFile(path, append([][]byte{key}, keys...))
}

// StageKey adds key at the end of the key file: nodes that read the file
// can open what is sealed under it, but nothing is sealed under it until
// PromoteKey makes it current. Staging first lets several nodes, each with
// its own copy of the file, learn a key before any secret needs it.
func StageKey(path string, key []byte) error {
	keys, err := ReadKeyFile(path)
	if err != nil {
		return err
	}
	if len(key) != KeySize {
		return fmt.Errorf("secretbox: key is %d bytes, want %d", len(key), KeySize)
	}
	return writeKeyFile(path, append(keys, key))
}

// PromoteKey makes the key with this id, already in the key file, current.
func PromoteKey(path, id string) error {
	keys, err := ReadKeyFile(path)
	if err != nil {
		return err
	}
	for i, k := range keys {
		if KeyID(k) == id {
			out := append([][]byte{k}, keys[:i]...)
			return writeKeyFile(path, append(out, keys[i+1:]...))
		}
	}
	return fmt.Errorf("secretbox: the key file %s holds no key %s (\"gatehouse keys add\" stages one)", path, id)
}

// RetireOldKeys leaves only the current key in the key file. The caller
// must first make sure nothing is sealed under the others.
func RetireOldKeys(path string) (retired []string, err error) {
	keys, err := ReadKeyFile(path)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("secretbox: the key file holds no key")
	}
	for _, k := range keys[1:] {
		retired = append(retired, KeyID(k))
	}
	if len(retired) == 0 {
		return nil, nil
	}
	return retired, writeKeyFile(path, keys[:1])
}

// ParseKeys decodes GATEHOUSE_KEY: one key, or several separated by commas
// with the current one first (the form used while rotating).
func ParseKeys(s string) ([][]byte, error) {
	var keys [][]byte
	for i, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, err := ParseKey(part)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("secretbox: no key")
	}
	return keys, nil
}
