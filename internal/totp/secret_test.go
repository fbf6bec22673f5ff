package totp

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

const seedSHA1Base32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

func TestGenerateSecretReads160BitsFromTheGivenReader(t *testing.T) {
	src := bytes.NewReader(bytes.Repeat([]byte{0xAB}, 64))
	s, err := GenerateSecret(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != SecretSize || SecretSize != 20 {
		t.Fatalf("len = %d, want 20", len(s))
	}
	if !bytes.Equal(s, bytes.Repeat([]byte{0xAB}, 20)) {
		t.Errorf("secret %x does not come from the reader", s)
	}
	if src.Len() != 64-20 {
		t.Errorf("read %d bytes, want 20", 64-src.Len())
	}
	a, _ := GenerateSecret(rand.Reader)
	b, _ := GenerateSecret(rand.Reader)
	if bytes.Equal(a, b) {
		t.Error("two secrets from crypto/rand are equal")
	}
}

func TestGenerateSecretFailsOnShortOrBrokenReader(t *testing.T) {
	for name, r := range map[string]interface{ Read([]byte) (int, error) }{
		"short":  bytes.NewReader(make([]byte, 19)),
		"broken": iotest.ErrReader(errors.New("boom")),
	} {
		if s, err := GenerateSecret(r); err == nil {
			t.Errorf("%s reader: got %x, want error", name, s)
		}
	}
	if _, err := GenerateSecret(nil); err == nil {
		t.Error("nil reader: want error")
	}
}

func TestEncodeSecretIsUpperCaseUnpaddedBase32(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{seedSHA1, seedSHA1Base32},
		{[]byte("12345678901234567"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3Q"}, // 17 bytes: would need "====" padding
		{[]byte{0xff}, "74"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := EncodeSecret(tt.in); got != tt.want {
			t.Errorf("EncodeSecret(%x) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGroupSecretMakesGroupsOfFour(t *testing.T) {
	tests := []struct{ in, want string }{
		{seedSHA1Base32, "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"},
		{"ABCDEFGHIJ", "ABCD EFGH IJ"},
		{"ABCD", "ABCD"},
		{"AB", "AB"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := GroupSecret(tt.in); got != tt.want {
			t.Errorf("GroupSecret(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseSecretAcceptsHumanVariants(t *testing.T) {
	seventeen := []byte("12345678901234567")
	tests := []struct {
		name string
		in   string
		want []byte
	}{
		{"Canonical", seedSHA1Base32, seedSHA1},
		{"LowerCase", strings.ToLower(seedSHA1Base32), seedSHA1},
		{"MixedCase", "gEzDgNbVgY3TqOjQgEzDgNbVgY3TqOjQ", seedSHA1},
		{"GroupsOfFour", "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ", seedSHA1},
		{"Tabs", "GEZDGNBV\tGY3TQOJQ\tGEZDGNBV\tGY3TQOJQ", seedSHA1},
		{"Hyphens", "GEZD-GNBV-GY3T-QOJQ-GEZD-GNBV-GY3T-QOJQ", seedSHA1},
		{"SurroundingWhitespaceAndNewline", "  " + seedSHA1Base32 + "\r\n", seedSHA1},
		{"MissingPadding", "GEZDGNBVGY3TQOJQGEZDGNBVGY3Q", seventeen},
		{"PresentPadding", "GEZDGNBVGY3TQOJQGEZDGNBVGY3Q====", seventeen},
		{"PaddingAfterSpaces", "gezd gnbv gy3t qojq gezd gnbv gy3q ====", seventeen},
		{"SixteenBytesMinimum", "GEZDGNBVGY3TQOJQGEZDGNBVGY======", []byte("1234567890123456")},
		{"SixtyFourByteRFCSeed", EncodeSecret(seedSHA512), seedSHA512},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSecret(tt.in)
			if err != nil {
				t.Fatalf("ParseSecret(%q): %v", tt.in, err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("ParseSecret(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseSecretRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"Empty", ""},
		{"OnlySpaces", "   \t-- "},
		{"OnlyPadding", "========"},
		{"DigitOne", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1"},
		{"DigitEight", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ8"},
		{"LetterZero", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ0"},
		{"Punctuation", "GEZDGNBVGY3TQOJQ.GEZDGNBVGY3TQOJQ"},
		{"NonASCIILookAlike", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJＱ"}, // full-width Q
		{"DotlessILowerCase", "ıEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}, // ToUpper would make it 'I'
		{"NonBreakingSpace", "GEZD\u00a0GNBVGY3TQOJQGEZDGNBVGY3TQOJQ"},
		{"Base64", "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA="},
		{"TooShort15Bytes", EncodeSecret([]byte("123456789012345"))},
		{"TooShort10Bytes", "GEZDGNBVGY3TQOJQ"},
		{"TooLong", EncodeSecret(make([]byte, MaxSecretSize+1))},
		{"ImpossibleLength", seedSHA1Base32 + "A"},
		{"WrongPaddingCount", "GEZDGNBVGY3TQOJQGEZDGNBVGY3Q==="},
		{"PaddingOnFullBlock", seedSHA1Base32 + "========"},
		{"DataAfterPadding", "GEZDGNBVGY3TQOJQGEZDGNBVGY3Q====A"},
		{"NonZeroTrailingBits", "GEZDGNBVGY3TQOJQGEZDGNBVGY3R"}, // 'R' sets an unused bit; canonical is 'Q'
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseSecret(tt.in)
			if !errors.Is(err, ErrSecretInvalid) {
				t.Fatalf("ParseSecret(%q) = %x, %v; want ErrSecretInvalid", tt.in, b, err)
			}
		})
	}
}

func TestParseSecretErrorsDoNotEchoTheSecret(t *testing.T) {
	in := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ!"
	_, err := ParseSecret(in)
	if err == nil || strings.Contains(err.Error(), "GEZD") || strings.Contains(err.Error(), "!") {
		t.Errorf("error %q leaks input", err)
	}
}

func TestParseSecretRoundTripsEncodeSecret(t *testing.T) {
	for n := MinSecretSize; n <= MaxSecretSize; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*37 + n)
		}
		got, err := ParseSecret(EncodeSecret(b))
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("%d bytes: %x, %v", n, got, err)
		}
		got, err = ParseSecret(strings.ToLower(GroupSecret(EncodeSecret(b))))
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("%d bytes grouped lower case: %x, %v", n, got, err)
		}
	}
}
