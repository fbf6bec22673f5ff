package password

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestHashVerifies(t *testing.T) {
	h := NewHasher(Fast, 2)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash %q is not PHC argon2id", enc)
	}
	if err := h.Verify(ctx, "correct horse battery staple", enc); err != nil {
		t.Fatalf("Verify right password = %v", err)
	}
	if err := h.Verify(ctx, "correct horse battery stapler", enc); !errors.Is(err, ErrMismatch) {
		t.Fatalf("Verify wrong password = %v, want ErrMismatch", err)
	}
}

func TestVerifyOfUnknownUserAlwaysMismatches(t *testing.T) {
	h := NewHasher(Fast, 1)
	for _, pw := range []string{"", "gatehouse-dummy", "anything at all"} {
		if err := h.Verify(context.Background(), pw, ""); !errors.Is(err, ErrMismatch) {
			t.Errorf("Verify(%q, \"\") = %v, want ErrMismatch", pw, err)
		}
	}
}

func TestHashUsesFreshSalt(t *testing.T) {
	h := NewHasher(Fast, 1)
	a, _ := h.Hash(context.Background(), "same password here")
	b, _ := h.Hash(context.Background(), "same password here")
	if a == b {
		t.Fatal("two hashes of one password are equal")
	}
}

func TestHashWaitsForASlotAndGivesUpWithContext(t *testing.T) {
	h := NewHasher(Fast, 1)
	h.slots <- struct{}{} // occupy the only slot
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "password123456"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash with full queue = %v, want ErrBusy", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		pw string
		ok bool
	}{
		{"short", false},
		{"exactly12chr", true},
		{strings.Repeat("a", MaxLength), true},
		{strings.Repeat("a", MaxLength+1), false},
		{"\xff\xfe invalid utf8", false},
		{"ünïcødé pässwörd", true},
	}
	for _, tt := range tests {
		if err := Validate(tt.pw); (err == nil) != tt.ok {
			t.Errorf("Validate(%q) = %v, want ok=%v", tt.pw, err, tt.ok)
		}
	}
}

func TestVerifyRejectsMalformedHash(t *testing.T) {
	h := NewHasher(Fast, 1)
	for _, enc := range []string{"plain", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=x$AA$AA"} {
		if err := h.Verify(context.Background(), "pw", enc); err == nil {
			t.Errorf("Verify against %q succeeded", enc)
		}
	}
}
