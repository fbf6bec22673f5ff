package totp

import (
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Secret sizes in bytes.
const (
	SecretSize    = 20  // 160 bits, what GenerateSecret produces (RFC 4226 recommendation)
	MinSecretSize = 16  // 128 bits, the RFC 4226 minimum; shorter secrets are refused
	MaxSecretSize = 128 // 1024 bits; anything longer is surely not a TOTP secret
)

// ErrSecretInvalid is returned (wrapped with detail) for secrets that cannot
// be used. The detail never contains the secret or any of its characters.
var ErrSecretInvalid = errors.New("totp: invalid secret")

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// GenerateSecret reads SecretSize bytes from rand (pass crypto/rand.Reader).
func GenerateSecret(rand io.Reader) ([]byte, error) {
	if rand == nil {
		return nil, errors.New("totp: GenerateSecret: nil random source")
	}
	b := make([]byte, SecretSize)
	if _, err := io.ReadFull(rand, b); err != nil {
		return nil, fmt.Errorf("totp: GenerateSecret: %w", err)
	}
	return b, nil
}

// EncodeSecret returns b as upper-case RFC 4648 base32 without '=' padding,
// the form used in key URIs and shown to users.
func EncodeSecret(b []byte) string {
	return b32.EncodeToString(b)
}

// GroupSecret splits an encoded secret into groups of four characters
// separated by single spaces ("ABCD EFGH IJ") for display. It does not
// validate its input; copy buttons should copy EncodeSecret's form instead.
func GroupSecret(encoded string) string {
	if len(encoded) <= 4 {
		return encoded
	}
	var sb strings.Builder
	sb.Grow(len(encoded) + len(encoded)/4)
	for i := 0; i < len(encoded); i += 4 {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(encoded[i:min(i+4, len(encoded))])
	}
	return sb.String()
}

// ParseSecret decodes a base32 secret typed or pasted by a person or another
// system. It accepts lower case, ASCII whitespace and '-' anywhere, and either
// no padding or correct '=' padding. It rejects an empty secret, any other
// character (including non-ASCII look-alikes), incorrect padding, a final
// character whose unused low bits are not zero (so that EncodeSecret of the
// result gives back the same letters), and secrets that decode to fewer than
// MinSecretSize or more than MaxSecretSize bytes. Errors wrap ErrSecretInvalid.
func ParseSecret(s string) ([]byte, error) {
	clean := make([]byte, 0, len(s))
	padded := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isSpace(c) || c == '-':
			continue
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case c >= 'A' && c <= 'Z', c >= '2' && c <= '7':
		case c == '=':
			padded = true
		default:
			return nil, fmt.Errorf("%w: invalid character at byte %d", ErrSecretInvalid, i)
		}
		if padded && c != '=' {
			return nil, fmt.Errorf("%w: data after '=' padding", ErrSecretInvalid)
		}
		clean = append(clean, c)
	}
	if len(clean) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrSecretInvalid)
	}
	enc := b32
	if padded {
		enc = base32.StdEncoding
	}
	b, err := enc.DecodeString(string(clean))
	if err != nil {
		return nil, fmt.Errorf("%w: malformed base32 (wrong length or padding)", ErrSecretInvalid)
	}
	if len(b) < MinSecretSize {
		return nil, fmt.Errorf("%w: %d bits, need at least %d", ErrSecretInvalid, len(b)*8, MinSecretSize*8)
	}
	if len(b) > MaxSecretSize {
		return nil, fmt.Errorf("%w: %d bits, at most %d allowed", ErrSecretInvalid, len(b)*8, MaxSecretSize*8)
	}
	if EncodeSecret(b) != strings.TrimRight(string(clean), "=") {
		return nil, fmt.Errorf("%w: last character has non-zero unused bits", ErrSecretInvalid)
	}
	return b, nil
}

// isSpace reports ASCII whitespace: space, \t, \n, \v, \f, \r.
func isSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}
