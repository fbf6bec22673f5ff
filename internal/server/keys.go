package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"time"

	"gatehouse/internal/audit"
	"gatehouse/internal/mfa"
	"gatehouse/internal/secretbox"
	"gatehouse/internal/store"
)

// recoveryKeyMeta names the random key that hashes recovery codes, sealed
// under the key-encryption key. It is not derived from that key: a rotation
// re-seals it, and the hashes made with it stay valid.
const recoveryKeyMeta = "recovery_key"

// sealedMeta lists the meta values sealed under the key-encryption key, with
// the associated data each is bound to.
var sealedMeta = map[string][]byte{
	keyCheckMeta:    []byte(keyCheckMeta),
	recoveryKeyMeta: []byte("gatehouse/recovery-key"),
}

func sealedMetaKeys() []string {
	keys := make([]string, 0, len(sealedMeta))
	for k := range sealedMeta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// KeyFilePath is where the key file of this configuration lives ("" when
// the key comes from GATEHOUSE_KEY).
func (c Config) KeyFilePath() string {
	if c.Key != "" {
		return ""
	}
	return filepath.Join(c.dataDir(), KeyFileName)
}

// openSealedMeta reads a sealed meta value, creating it with fresh random
// bytes (from r) when absent; every node agrees on the first one stored.
func openSealedMeta(ctx context.Context, db *store.DB, keys *secretbox.Keyring, name string, r io.Reader) ([]byte, error) {
	aad := sealedMeta[name]
	fresh := make([]byte, 32)
	if _, err := io.ReadFull(r, fresh); err != nil {
		return nil, err
	}
	kid, ct, err := keys.Seal(fresh, aad)
	if err != nil {
		return nil, err
	}
	if _, err := db.PutMetaIfAbsent(ctx, name, append([]byte(kid+":"), ct...)); err != nil {
		return nil, err
	}
	v, _, err := db.GetMeta(ctx, name)
	if err != nil {
		return nil, err
	}
	kid, ct, err = store.SealedMeta(v)
	if err != nil {
		return nil, err
	}
	return keys.Open(kid, ct, aad)
}

func recoveryKey(ctx context.Context, db *store.DB, keys *secretbox.Keyring) ([]byte, error) {
	k, err := openSealedMeta(ctx, db, keys, recoveryKeyMeta, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("recovery code key: %w", err)
	}
	return k, nil
}

// KeyUse is one key id in "keys status".
type KeyUse struct {
	ID      string
	Current bool
	// Held says this node has the key; a key the data uses but no node
	// holds means secrets that cannot be opened.
	Held  bool
	Count int
}

// KeyStatus says which keys this node holds and how many sealed values use
// each, the current key first.
func (a *App) KeyStatus(ctx context.Context) ([]KeyUse, error) {
	usage, err := a.Store.KeyUsage(ctx, sealedMetaKeys())
	if err != nil {
		return nil, err
	}
	var out []KeyUse
	seen := map[string]bool{}
	for i, id := range a.Keys.KeyIDs() {
		out = append(out, KeyUse{ID: id, Current: i == 0, Held: true, Count: usage[id]})
		seen[id] = true
	}
	var unknown []string
	for id := range usage {
		if !seen[id] {
			unknown = append(unknown, id)
		}
	}
	sort.Strings(unknown)
	for _, id := range unknown {
		out = append(out, KeyUse{ID: id, Count: usage[id]})
	}
	return out, nil
}

// Reseal re-encrypts every sealed value not under the current key with the
// current key, in one transaction, and records it in the audit trail. A
// value is opened with the key it names and sealed again with the same
// associated data, so it stays bound to its row.
func (a *App) Reseal(ctx context.Context) (int, error) {
	current := a.Keys.CurrentKeyID()
	usage, err := a.Store.KeyUsage(ctx, sealedMetaKeys())
	if err != nil {
		return 0, err
	}
	if len(usage) == 0 || len(usage) == 1 && usage[current] > 0 {
		return 0, nil // nothing to move: no audit event either
	}
	ev := audit.New(ctx, audit.RotateEncryptionKey, audit.Success)
	ev.Time, ev.Detail = a.now(), "current key "+current
	n, err := a.Store.Reseal(audit.Attach(ctx, ev), current, sealedMetaKeys(), func(v store.Sealed) (string, []byte, error) {
		aad := mfa.SecretAAD(v.ID)
		if v.Kind == "meta" {
			aad = sealedMeta[v.ID]
		}
		pt, err := a.Keys.Open(v.KeyID, v.CT, aad)
		if errors.Is(err, secretbox.ErrUnknownKey) {
			return "", nil, fmt.Errorf("sealed with key %s, which this node does not hold", v.KeyID)
		} else if err != nil {
			return "", nil, err
		}
		defer clear(pt)
		kid, ct, err := a.Keys.Seal(pt, aad)
		if err == nil && kid != current {
			err = fmt.Errorf("the current key changed during re-sealing (now %s); run the command again", kid)
		}
		return kid, ct, err
	})
	return n, err
}

// RotateKey makes a new key-encryption key, writes it first into the key
// file (the old keys stay after it, so every node can still read what they
// sealed), and re-seals every secret under it. The file is written before
// the database: if re-sealing fails, the new key is in place and "keys
// reseal" finishes the job; the reverse order could leave data sealed under
// a key no file holds.
//
// With to set, no key is made: the key with that id, staged in the key
// file by StageKey ("gatehouse keys add"), becomes current.
func (a *App) RotateKey(ctx context.Context, to string) (newID string, resealed int, err error) {
	path := a.Config.KeyFilePath()
	if path == "" {
		return "", 0, errors.New("the key comes from GATEHOUSE_KEY, not a key file")
	}
	if to != "" {
		if err := secretbox.PromoteKey(path, to); err != nil {
			return "", 0, err
		}
		newID = to
	} else {
		key, err := secretbox.GenerateKey(nil)
		if err != nil {
			return "", 0, err
		}
		defer clear(key)
		if err := secretbox.AddCurrentKey(path, key); err != nil {
			return "", 0, err
		}
		newID = secretbox.KeyID(key)
	}
	if err := a.Keys.Reload(); err != nil {
		return "", 0, err
	}
	if a.Keys.CurrentKeyID() != newID {
		return "", 0, fmt.Errorf("the key file %s did not take the new key", path)
	}
	n, err := a.Reseal(ctx)
	if err != nil {
		return newID, n, err
	}
	// A request that sealed a secret just before the key file changed may
	// commit it just after the pass above: a second pass, once such requests
	// are over, moves it too.
	select {
	case <-ctx.Done():
		return newID, n, ctx.Err()
	case <-time.After(RotateSettle):
	}
	m, err := a.Reseal(ctx)
	return newID, n + m, err
}

// RotateSettle is how long "keys rotate" waits before its second pass: far
// longer than a request that seals a secret takes (WriteTimeout is 30 s, but
// the seal and its insert are one short transaction apart).
var RotateSettle = 2 * time.Second

// StageKey makes a new key and adds it to the key file as a key to read
// with, not to seal with, and returns its id: the first step of a rotation
// across nodes that each have their own copy of the file.
func (a *App) StageKey() (string, error) {
	path := a.Config.KeyFilePath()
	if path == "" {
		return "", errors.New("the key comes from GATEHOUSE_KEY, not a key file")
	}
	key, err := secretbox.GenerateKey(nil)
	if err != nil {
		return "", err
	}
	defer clear(key)
	if err := secretbox.StageKey(path, key); err != nil {
		return "", err
	}
	return secretbox.KeyID(key), a.Keys.Reload()
}

// RetireKeys re-seals anything still under an old key, then removes the old
// keys from the key file. Nodes that still hold an old key in memory keep
// it until they restart, but nothing in the database needs it any more.
func (a *App) RetireKeys(ctx context.Context) (retired []string, resealed int, err error) {
	if resealed, err = a.Reseal(ctx); err != nil {
		return nil, resealed, err
	}
	status, err := a.KeyStatus(ctx)
	if err != nil {
		return nil, resealed, err
	}
	for _, k := range status {
		if !k.Current && k.Count > 0 {
			return nil, resealed, fmt.Errorf("%d values still use key %s", k.Count, k.ID)
		}
	}
	path := a.Config.KeyFilePath()
	if path == "" {
		return nil, resealed, nil
	}
	retired, err = secretbox.RetireOldKeys(path)
	if err == nil {
		err = a.Keys.Reload()
	}
	return retired, resealed, err
}
