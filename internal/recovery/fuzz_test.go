package recovery

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNormalize: whatever is typed, Normalize either refuses it with a
// format error or returns exactly Length letters of the alphabet, and is
// idempotent on its own output and on the grouped form.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"7KQ2M-X9D4T", "7kq2m x9d4t", "OIL00-11234", "", "-", "7KQ2M-X9D4T-", "ÿÿÿÿÿÿÿÿÿÿ", "7KQ2M\u00a0X9D4T", strings.Repeat("A", 1000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := Normalize(in)
		if err != nil {
			if got != "" {
				t.Fatalf("Normalize(%q) = %q with error %v", in, got, err)
			}
			return
		}
		if len(got) != Length || !utf8.ValidString(got) {
			t.Fatalf("Normalize(%q) = %q: not %d characters", in, got, Length)
		}
		for _, r := range got {
			if !strings.ContainsRune(Alphabet, r) {
				t.Fatalf("Normalize(%q) = %q: %q is not in the alphabet", in, got, r)
			}
		}
		for _, again := range []string{got, Format(got), strings.ToLower(Format(got))} {
			if n, err := Normalize(again); err != nil || n != got {
				t.Fatalf("Normalize(%q) = %q, %v; want %q", again, n, err, got)
			}
		}
	})
}
