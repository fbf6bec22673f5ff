package totp

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzNormalizeCode(f *testing.F) {
	for _, s := range []string{"005924", "005 924", "005-924", "\t0 0-5 9 2 4\n", "5924", "", "٠٠٥٩٢٤", "００５９２４", "89005924", "abcdef", "0059240"} {
		f.Add(s, 6)
		f.Add(s, 8)
	}
	f.Fuzz(func(t *testing.T, in string, digits int) {
		got, err := NormalizeCode(in, digits)
		if err != nil {
			if !errors.Is(err, ErrCodeFormat) {
				t.Fatalf("error %v does not wrap ErrCodeFormat", err)
			}
			return
		}
		if len(got) != digits || digits <= 0 {
			t.Fatalf("NormalizeCode(%q, %d) = %q: wrong length", in, digits, got)
		}
		for i := 0; i < len(got); i++ {
			if got[i] < '0' || got[i] > '9' {
				t.Fatalf("NormalizeCode(%q, %d) = %q: non-digit", in, digits, got)
			}
		}
		// The result is the input's digits in order; everything else was a separator.
		var digitsIn, rest strings.Builder
		for i := 0; i < len(in); i++ {
			c := in[i]
			switch {
			case c >= '0' && c <= '9':
				digitsIn.WriteByte(c)
			default:
				rest.WriteByte(c)
			}
		}
		if digitsIn.String() != got {
			t.Fatalf("NormalizeCode(%q) = %q, digits in input %q", in, got, digitsIn.String())
		}
		if strings.Trim(rest.String(), " \t\n\v\f\r-") != "" {
			t.Fatalf("NormalizeCode(%q) accepted non-separator bytes %q", in, rest.String())
		}
		// Idempotent.
		if again, err := NormalizeCode(got, digits); err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q, %v", got, again, err)
		}
	})
}

func FuzzKeyURIRoundTrip(f *testing.F) {
	f.Add("Gatehouse", "alice@example.com", seedSHA1, uint8(0), 6, int64(30))
	f.Add("Acme Corp", "Jane Doe", []byte("12345678901234567"), uint8(1), 8, int64(60))
	f.Add("Société", "Zoë:Müller+1%/?#&=", seedSHA512, uint8(2), 7, int64(45))
	f.Add("a", "  b", seedSHA1, uint8(0), 6, int64(30))
	f.Fuzz(func(t *testing.T, issuer, account string, secret []byte, alg uint8, digits int, period int64) {
		p := Params{Algorithm(alg), digits, period}
		uri, err := KeyURI(issuer, account, secret, p)
		if err != nil {
			if !errors.Is(err, ErrIssuerInvalid) && !errors.Is(err, ErrAccountInvalid) &&
				!errors.Is(err, ErrSecretInvalid) && !errors.Is(err, ErrParamsInvalid) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		for i := 0; i < len(uri); i++ {
			if c := uri[i]; c < 0x21 || c > 0x7e || c == '+' {
				t.Fatalf("URI %q has byte %#x", uri, c)
			}
		}
		if !utf8.ValidString(issuer) || !utf8.ValidString(account) {
			t.Fatalf("KeyURI accepted invalid UTF-8")
		}
		k, err := ParseKeyURI(uri)
		if err != nil {
			t.Fatalf("ParseKeyURI(%q): %v", uri, err)
		}
		if k.Issuer != issuer || k.Account != account || !bytes.Equal(k.Secret, secret) || k.Params != p {
			t.Fatalf("round trip of %q = %+v", uri, k)
		}
		again, err := KeyURI(k.Issuer, k.Account, k.Secret, k.Params)
		if err != nil || again != uri {
			t.Fatalf("second KeyURI = %q, %v; want %q", again, err, uri)
		}
	})
}

func FuzzParseSecret(f *testing.F) {
	for _, s := range []string{seedSHA1Base32, "gezd gnbv gy3t qojq gezd gnbv gy3q ====", "GEZDGNBVGY3TQOJQGEZDGNBVGY3R", "", "===", "ı"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseSecret(s)
		if err != nil {
			if !errors.Is(err, ErrSecretInvalid) {
				t.Fatalf("error %v does not wrap ErrSecretInvalid", err)
			}
			return
		}
		if len(b) < MinSecretSize || len(b) > MaxSecretSize {
			t.Fatalf("accepted %d bytes", len(b))
		}
		// What was accepted is, modulo case, separators and padding, the canonical encoding.
		canon := strings.Map(func(r rune) rune {
			switch r {
			case ' ', '\t', '\n', '\v', '\f', '\r', '-', '=':
				return -1
			}
			return r
		}, strings.ToUpper(s))
		if canon != EncodeSecret(b) {
			t.Fatalf("ParseSecret(%q) accepted non-canonical %q (canonical %q)", s, canon, EncodeSecret(b))
		}
	})
}
