package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Sealed is one value stored sealed under a key-encryption key: a device's
// secret (a TOTP secret or a WebAuthn public key) or a sealed meta value
// (stored as "KEYID:CIPHERTEXT").
type Sealed struct {
	// Kind is "device" or "meta"; ID is the device id or the meta key.
	Kind, ID string
	KeyID    string
	CT       []byte
}

// SealedMeta splits a sealed meta value.
func SealedMeta(v []byte) (keyID string, ct []byte, err error) {
	i := bytes.IndexByte(v, ':')
	if i < 0 {
		return "", nil, errors.New("store: malformed sealed value in meta")
	}
	return string(v[:i]), v[i+1:], nil
}

// KeyUsage counts the sealed values under each key id: every device row
// (pending ones too) and the named meta values.
func (s *DB) KeyUsage(ctx context.Context, metaKeys []string) (map[string]int, error) {
	out := map[string]int{}
	rows, err := s.c().query(ctx, `SELECT secret_key_id, COUNT(*) FROM mfa_devices GROUP BY secret_key_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] += n
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, k := range metaKeys {
		v, ok, err := s.GetMeta(ctx, k)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		kid, _, err := SealedMeta(v)
		if err != nil {
			return nil, fmt.Errorf("meta %s: %w", k, err)
		}
		out[kid]++
	}
	return out, nil
}

// Reseal rewrites, in one transaction, every sealed value whose key id is
// not keep: reseal opens it and seals it again. Either every value moves or
// none does. It returns how many moved.
//
// Device rows are locked as they are read (FOR UPDATE in PostgreSQL; SQLite
// transactions here take the write lock at BEGIN), so a sign-in recording
// its replay guard waits for the commit instead of racing it; each update
// also checks the ciphertext it replaces.
func (s *DB) Reseal(ctx context.Context, keep string, metaKeys []string, reseal func(Sealed) (keyID string, ct []byte, err error)) (int, error) {
	moved := 0
	err := s.tx(ctx, func(c conn) error {
		moved = 0
		q := `SELECT id, secret_key_id, secret_ct FROM mfa_devices WHERE secret_key_id <> ? ORDER BY id`
		if s.dialect == Postgres {
			q += ` FOR UPDATE`
		}
		rows, err := c.query(ctx, q, keep)
		if err != nil {
			return err
		}
		var todo []Sealed
		for rows.Next() {
			v := Sealed{Kind: "device"}
			if err := rows.Scan(&v.ID, &v.KeyID, &v.CT); err != nil {
				rows.Close()
				return err
			}
			todo = append(todo, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, v := range todo {
			kid, ct, err := reseal(v)
			if err != nil {
				return fmt.Errorf("device %s: %w", v.ID, err)
			}
			res, err := c.exec(ctx, `UPDATE mfa_devices SET secret_key_id = ?, secret_ct = ? WHERE id = ? AND secret_key_id = ?`, kid, ct, v.ID, v.KeyID)
			if err := oneRow(res, err, errors.New("changed while being re-sealed; run the command again")); err != nil {
				return err
			}
			moved++
		}
		for _, k := range metaKeys {
			q := `SELECT value FROM meta WHERE key = ?`
			if s.dialect == Postgres {
				q += ` FOR UPDATE`
			}
			var val []byte
			if err := c.row(ctx, q, k).Scan(&val); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					continue
				}
				return err
			}
			kid, ct, err := SealedMeta(val)
			if err != nil {
				return fmt.Errorf("meta %s: %w", k, err)
			}
			if kid == keep {
				continue
			}
			nkid, nct, err := reseal(Sealed{Kind: "meta", ID: k, KeyID: kid, CT: ct})
			if err != nil {
				return fmt.Errorf("meta %s: %w", k, err)
			}
			if _, err := c.exec(ctx, `UPDATE meta SET value = ? WHERE key = ?`, append([]byte(nkid+":"), nct...), k); err != nil {
				return err
			}
			moved++
		}
		return nil
	})
	return moved, err
}
