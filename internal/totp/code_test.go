package totp

import (
	"errors"
	"testing"
	"time"
)

func TestNormalizeCodeStripsWhitespaceAndHyphens(t *testing.T) {
	tests := []struct {
		in     string
		digits int
		want   string
	}{
		{"005924", 6, "005924"},
		{"005 924", 6, "005924"},
		{"005-924", 6, "005924"},
		{" 0 0 5 9 2 4 ", 6, "005924"},
		{"\t005924\r\n", 6, "005924"},
		{"00\v59\f24", 6, "005924"},
		{"--005--924--", 6, "005924"},
		{"8900 5924", 8, "89005924"},
		{"8900-5924", 8, "89005924"},
		{"9005924", 7, "9005924"},
	}
	for _, tt := range tests {
		got, err := NormalizeCode(tt.in, tt.digits)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeCode(%q, %d) = %q, %v; want %q", tt.in, tt.digits, got, err, tt.want)
		}
	}
}

func TestNormalizeCodeRejectsAnythingButExactASCIIDigits(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		digits int
	}{
		{"Empty", "", 6},
		{"OnlySeparators", " - \t", 6},
		{"DroppedLeadingZeros", "5924", 6},
		{"TooFew", "00592", 6},
		{"TooMany", "0059240", 6},
		{"SixForEight", "005924", 8},
		{"Letter", "00592a", 6},
		{"LetterO", "OO5924", 6},
		{"Plus", "+005924", 6},
		{"Dot", "005.924", 6},
		{"Underscore", "005_924", 6},
		{"ArabicIndicDigits", "٠٠٥٩٢٤", 6},
		{"FullWidthDigits", "００５９２４", 6},
		{"DevanagariDigit", "00592४", 6},
		{"NonBreakingSpace", "005\u00a0924", 6},
		{"EnDash", "005–924", 6},
		{"NUL", "005\x00924", 6},
		{"ZeroDigits", "", 0},
		{"NegativeDigits", "1", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeCode(tt.in, tt.digits)
			if !errors.Is(err, ErrCodeFormat) {
				t.Fatalf("NormalizeCode(%q, %d) = %q, %v; want ErrCodeFormat", tt.in, tt.digits, got, err)
			}
		})
	}
}

func TestSpacedCodeVerifiesAfterNormalisation(t *testing.T) {
	ctr := Counter(time.Unix(1234567890, 0), 30)
	for _, in := range []string{"005 924", "005-924", " 005924\n"} {
		code, err := NormalizeCode(in, Default.Digits)
		if err != nil {
			t.Fatal(err)
		}
		if step, ok := Verify(seedSHA1, code, Default, ctr, 1); !ok || step != ctr {
			t.Errorf("%q: Verify = %d, %v", in, step, ok)
		}
	}
}
