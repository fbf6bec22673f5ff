package mfa

import (
	"strings"
	"testing"
	"unicode"

	"gatehouse/internal/errcode"
)

func TestNormalizeName(t *testing.T) {
	tests := []struct {
		in, name, key, code string
	}{
		{in: "My iPhone X", name: "My iPhone X", key: "my iphone x"},
		{in: "  padded\t", name: "padded", key: "padded"},
		{in: "Ünïcödé 📱", name: "Ünïcödé 📱", key: "ünïcödé 📱"},
		{in: "e\u0301", name: "é", key: "é"}, // NFC: one name, however typed
		{in: strings.Repeat("x", 64), name: strings.Repeat("x", 64), key: strings.Repeat("x", 64)},
		{in: strings.Repeat("é", 64), name: strings.Repeat("é", 64), key: strings.Repeat("é", 64)},
		{in: "", code: errcode.NameInvalid},
		{in: "   ", code: errcode.NameInvalid},
		{in: strings.Repeat("x", 65), code: errcode.NameInvalid},
		{in: "bell\a", code: errcode.NameInvalid},
		{in: "new\nline", code: errcode.NameInvalid},
		{in: "rtl\u202eoverride", code: errcode.NameInvalid},
		{in: "zero\u200bwidth", code: errcode.NameInvalid},
		{in: "nbsp\u00a0inside", code: errcode.NameInvalid},
		{in: "bad \xff utf8", code: errcode.NameInvalid},
	}
	for _, tt := range tests {
		name, key, err := NormalizeName(tt.in)
		if got := errcode.Code(err); got != tt.code {
			t.Errorf("NormalizeName(%q) error code = %q (%v), want %q", tt.in, got, err, tt.code)
			continue
		}
		if tt.code == "" && (name != tt.name || key != tt.key) {
			t.Errorf("NormalizeName(%q) = %q, %q; want %q, %q", tt.in, name, key, tt.name, tt.key)
		}
	}
}

func TestNormalizeNameFoldsCaseForUniqueness(t *testing.T) {
	_, a, _ := NormalizeName("My Phone")
	_, b, _ := NormalizeName("my PHONE")
	_, c, _ := NormalizeName("STRASSE")
	_, d, _ := NormalizeName("straße")
	if a != b {
		t.Errorf("keys differ: %q vs %q", a, b)
	}
	if c == d {
		t.Logf("full case folding maps ß to ss: %q", c)
	}
}

// FuzzNormalizeName: whatever a client sends as a device name, the result
// is either a clean error or a name that obeys every rule, and normalising
// it again changes nothing.
func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{"My iPhone X", "  x ", "", "e\u0301", "\u202e", "📱📱", strings.Repeat("é", 65), "\xff", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		name, key, err := NormalizeName(in)
		if err != nil {
			if errcode.Code(err) != errcode.NameInvalid {
				t.Fatalf("NormalizeName(%q) error code %q", in, errcode.Code(err))
			}
			return
		}
		if n := len([]rune(name)); n == 0 || n > NameMaxLength {
			t.Fatalf("accepted %q with %d characters", name, n)
		}
		for _, r := range name {
			if r != ' ' && !unicode.IsPrint(r) {
				t.Fatalf("accepted %q with %U", name, r)
			}
		}
		again, key2, err := NormalizeName(name)
		if err != nil || again != name || key2 != key {
			t.Fatalf("not idempotent: %q → %q (%v)", name, again, err)
		}
	})
}
