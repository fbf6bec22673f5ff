package store_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"gatehouse/internal/mfa"
	"gatehouse/internal/store"
)

func TestResealMovesEverySealedValueInOneTransaction(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addUser(t, db, "u1", "alice")
		for _, id := range []string{"d1", "d2", "d3"} {
			d := pendingKey(id, "u1", id, mfa.TypeTOTP)
			d.SecretKeyID, d.SecretCT = "old", []byte("ct-"+id)
			if err := db.CreatePending(ctx, d, t0); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.PutMetaIfAbsent(ctx, "sealed", []byte("old:ct-meta")); err != nil {
			t.Fatal(err)
		}
		usage, err := db.KeyUsage(ctx, []string{"sealed", "absent"})
		if err != nil || usage["old"] != 4 {
			t.Fatalf("usage = %v, %v; want 4 under old", usage, err)
		}
		// A failure half way leaves everything as it was.
		calls := 0
		_, err = db.Reseal(ctx, "new", []string{"sealed"}, func(v store.Sealed) (string, []byte, error) {
			calls++
			if calls == 3 {
				return "", nil, bytes.ErrTooLarge
			}
			return "new", append([]byte("re-"), v.CT...), nil
		})
		if err == nil {
			t.Fatal("Reseal with a failing callback succeeded")
		}
		if usage, _ := db.KeyUsage(ctx, []string{"sealed"}); usage["old"] != 4 || usage["new"] != 0 {
			t.Fatalf("after a failed reseal, usage = %v; want all 4 under old", usage)
		}
		n, err := db.Reseal(ctx, "new", []string{"sealed"}, func(v store.Sealed) (string, []byte, error) {
			if v.KeyID != "old" {
				t.Errorf("%s %s under %s, want old", v.Kind, v.ID, v.KeyID)
			}
			return "new", append([]byte("re-"), v.CT...), nil
		})
		if err != nil || n != 4 {
			t.Fatalf("Reseal = %d, %v; want 4", n, err)
		}
		if usage, _ := db.KeyUsage(ctx, []string{"sealed"}); usage["old"] != 0 || usage["new"] != 4 {
			t.Fatalf("usage = %v; want all 4 under new", usage)
		}
		d, err := db.GetDevice(ctx, "u1", "d2")
		if err != nil || d.SecretKeyID != "new" || string(d.SecretCT) != "re-ct-d2" {
			t.Fatalf("device = %+v, %v", d, err)
		}
		v, _, _ := db.GetMeta(ctx, "sealed")
		if !strings.HasPrefix(string(v), "new:re-ct-meta") {
			t.Fatalf("meta = %q", v)
		}
		// Nothing left to move: a second run is a no-op.
		if n, err := db.Reseal(ctx, "new", []string{"sealed"}, nil); err != nil || n != 0 {
			t.Fatalf("second Reseal = %d, %v; want 0", n, err)
		}
	})
}
