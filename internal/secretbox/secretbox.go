// Package secretbox encrypts credential secrets at rest with AES-256-GCM under
// a key-encryption key that lives outside the database, so a copy of the
// database alone reveals no secret.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// KeySize is the AES-256 key length.
const KeySize = 32

// ErrUnknownKey means a ciphertext names a key this keyring does not hold.
var ErrUnknownKey = errors.New("secretbox: ciphertext was sealed with a key this node does not have")

// ErrDecrypt means the ciphertext, its associated data or the key is wrong.
var ErrDecrypt = errors.New("secretbox: message authentication failed")

// Keyring holds the current key and older keys kept for reading data sealed
// before a rotation.
type Keyring struct {
	mu      sync.RWMutex
	current string
	aeads   map[string]cipher.AEAD
	raw     map[string][]byte
	// file, when set, is the key file this keyring was read from; it is
	// read again when it changes (see reload.go).
	file *watchedFile
}

// KeyID derives a key's id from the key itself, so every node that holds the
// same key agrees on its id without configuration, and the id reveals nothing.
func KeyID(key []byte) string {
	h := sha256.Sum256(append([]byte("gatehouse key id\x00"), key...))
	return hex.EncodeToString(h[:8])
}

// New builds a keyring whose current key is keys[0].
func New(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("secretbox: no key")
	}
	k := &Keyring{aeads: map[string]cipher.AEAD{}, raw: map[string][]byte{}}
	for i, key := range keys {
		if len(key) != KeySize {
			return nil, fmt.Errorf("secretbox: key %d is %d bytes, want %d", i, len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		id := KeyID(key)
		if i == 0 {
			k.current = id
		}
		k.aeads[id] = aead
		k.raw[id] = append([]byte(nil), key...)
	}
	return k, nil
}

// CurrentKeyID names the key new ciphertexts are sealed with.
func (k *Keyring) CurrentKeyID() string {
	k.refresh()
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current
}

// Seal encrypts plaintext under the current key. aad binds the ciphertext to
// its place (for example the device id), so a ciphertext copied onto another
// row does not open.
func (k *Keyring) Seal(plaintext, aad []byte) (keyID string, ciphertext []byte, err error) {
	// A rotation on this machine must take effect before the next seal, so
	// that nothing new is sealed under the key being retired.
	k.refresh()
	k.mu.RLock()
	current, aead := k.current, k.aeads[k.current]
	k.mu.RUnlock()
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return "", nil, err
	}
	return current, aead.Seal(nonce, nonce, plaintext, aad), nil
}

// Open decrypts a ciphertext produced by Seal.
func (k *Keyring) Open(keyID string, ciphertext, aad []byte) ([]byte, error) {
	k.mu.RLock()
	aead, ok := k.aeads[keyID]
	k.mu.RUnlock()
	if !ok {
		// Another process may have rotated the key: read the key file again.
		k.refresh()
		k.mu.RLock()
		aead, ok = k.aeads[keyID]
		k.mu.RUnlock()
	}
	if !ok {
		return nil, ErrUnknownKey
	}
	if len(ciphertext) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrDecrypt
	}
	nonce, body := ciphertext[:aead.NonceSize()], ciphertext[aead.NonceSize():]
	pt, err := aead.Open(nil, nonce, body, aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// keyFile is the on-disk form: the current key first, older keys after it.
type keyFile struct {
	Keys []string `json:"keys"`
}

// ParseKey decodes a base64 (standard or URL alphabet, padded or not) key.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("secretbox: key is %d bytes, want %d", len(b), KeySize)
			}
			return b, nil
		}
	}
	return nil, errors.New("secretbox: key is not valid base64")
}

// LoadOrCreate reads the key file at path, creating it with a fresh random
// key and mode 0600 when it does not exist. A key file readable by others is
// refused: it is the one thing that protects the secrets.
func LoadOrCreate(path string) (*Keyring, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, KeySize)
		if _, err := io.ReadFull(rand.Reader, key); err != nil {
			return nil, false, err
		}
		if err := writeKeyFile(path, [][]byte{key}); err != nil {
			return nil, false, err
		}
		k, err := New(key)
		if err == nil {
			k.watch(path)
		}
		return k, true, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("secretbox: read key file: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, false, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, false, fmt.Errorf("secretbox: key file %s has mode %o; it must be readable by its owner only (chmod 600)", path, fi.Mode().Perm())
	}
	keys, err := parseKeyFile(path, b)
	if err != nil {
		return nil, false, err
	}
	k, err := New(keys...)
	if err == nil {
		k.watch(path)
	}
	return k, false, err
}

func parseKeyFile(path string, b []byte) ([][]byte, error) {
	var f keyFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("secretbox: key file %s is not valid: %w", path, err)
	}
	keys := make([][]byte, 0, len(f.Keys))
	for _, s := range f.Keys {
		key, err := ParseKey(s)
		if err != nil {
			return nil, fmt.Errorf("secretbox: key file %s: %w", path, err)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

func writeKeyFile(path string, keys [][]byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f := keyFile{}
	for _, k := range keys {
		f.Keys = append(f.Keys, base64.StdEncoding.EncodeToString(k))
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	// The new file is written beside the old one and renamed over it, so a
	// reader sees the old keys or the new ones, never half a file; it is
	// created afresh (O_EXCL) so a stale temporary file's mode is never kept.
	tmp := path + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := out.Write(append(b, '\n')); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
