package totp

import (
	"errors"
	"fmt"
)

// ErrCodeFormat is returned (wrapped) by NormalizeCode for input that is not a
// code of the expected length. It is a format error, distinct from a wrong code.
var ErrCodeFormat = errors.New("totp: code format")

// NormalizeCode removes ASCII whitespace (space, \t, \n, \v, \f, \r) and '-'
// anywhere in input; what remains must be exactly digits ASCII digits '0'-'9'.
// Anything else — empty input, too few or too many digits, letters, Unicode
// digits such as "٠" or full-width "０" — is an error wrapping ErrCodeFormat.
// The result keeps leading zeros: "005 924" → "005924"; "5924" is an error for
// 6 digits.
func NormalizeCode(input string, digits int) (string, error) {
	if digits <= 0 {
		return "", fmt.Errorf("%w: bad digit count %d", ErrCodeFormat, digits)
	}
	out := make([]byte, 0, digits)
	for i := 0; i < len(input); i++ {
		c := input[i]
		switch {
		case isSpace(c) || c == '-':
		case c >= '0' && c <= '9':
			if len(out) == digits {
				return "", fmt.Errorf("%w: more than %d digits", ErrCodeFormat, digits)
			}
			out = append(out, c)
		default:
			return "", fmt.Errorf("%w: only digits allowed", ErrCodeFormat)
		}
	}
	if len(out) != digits {
		return "", fmt.Errorf("%w: want %d digits, got %d", ErrCodeFormat, digits, len(out))
	}
	return string(out), nil
}
