package totp

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Errors returned (wrapped with detail) by ValidateIssuer, KeyURI and ParseKeyURI.
var (
	ErrIssuerInvalid  = errors.New("totp: invalid issuer")
	ErrAccountInvalid = errors.New("totp: invalid account name")
	ErrKeyURIInvalid  = errors.New("totp: invalid key URI")
)

// MaxIssuerLen is the longest issuer ValidateIssuer accepts, in characters
// (runes). A short issuer keeps the QR code at version 8 or below.
const MaxIssuerLen = 32

// ValidateIssuer checks an issuer name at configuration time: not empty or
// blank, at most MaxIssuerLen characters, valid UTF-8, no ':' (it separates
// issuer and account in the key URI label and cannot be escaped reliably for
// every app), no control characters, and no leading or trailing white space
// (apps trim it, so it would not round-trip). Errors wrap ErrIssuerInvalid.
func ValidateIssuer(issuer string) error {
	switch {
	case strings.TrimSpace(issuer) == "":
		return fmt.Errorf("%w: empty", ErrIssuerInvalid)
	case !utf8.ValidString(issuer):
		return fmt.Errorf("%w: not valid UTF-8", ErrIssuerInvalid)
	case utf8.RuneCountInString(issuer) > MaxIssuerLen:
		return fmt.Errorf("%w: longer than %d characters", ErrIssuerInvalid, MaxIssuerLen)
	case strings.ContainsRune(issuer, ':'):
		return fmt.Errorf("%w: must not contain ':'", ErrIssuerInvalid)
	case strings.IndexFunc(issuer, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: must not contain control characters", ErrIssuerInvalid)
	case strings.TrimSpace(issuer) != issuer:
		return fmt.Errorf("%w: leading or trailing white space", ErrIssuerInvalid)
	}
	return nil
}

// validateAccount checks the account half of the label: not empty, valid
// UTF-8, no control characters, no leading or trailing white space (apps strip
// spaces after the ':' so it would not round-trip). A ':' is allowed: it is
// percent-encoded, see KeyURI.
func validateAccount(account string) error {
	switch {
	case account == "":
		return fmt.Errorf("%w: empty", ErrAccountInvalid)
	case !utf8.ValidString(account):
		return fmt.Errorf("%w: not valid UTF-8", ErrAccountInvalid)
	case strings.IndexFunc(account, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: must not contain control characters", ErrAccountInvalid)
	case strings.TrimSpace(account) != account:
		return fmt.Errorf("%w: leading or trailing white space", ErrAccountInvalid)
	}
	return nil
}

// KeyURI builds the key URI an authenticator app scans:
//
//	otpauth://totp/<Issuer>:<account>?secret=<BASE32>&issuer=<Issuer>[&algorithm=..][&digits=..][&period=..]
//
// Encoding: issuer and account are percent-encoded as UTF-8 bytes, upper-case
// hex; only the RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~) and '@'
// (allowed in both path and query, and the common "alice@example.com" form of
// the Google Authenticator documentation) are left as they are. So a space is
// always "%20", never "+", and the URI is pure ASCII.
//
// The ':' choice: an issuer containing ':' is refused (ValidateIssuer), so the
// first literal ':' of the label is always the separator. A ':' in the account
// is kept and percent-encoded as "%3A"; apps that decode the label and split
// at the first ':' still get the right issuer and account. The account appears
// only in the label, the issuer in both label and parameter with the same
// encoding.
//
// The secret is upper-case base32 without padding. Parameters equal to Default
// are left out (many apps ignore them anyway, and a shorter URI gives a less
// dense QR code), in the order algorithm, digits, period.
func KeyURI(issuer, account string, secret []byte, p Params) (string, error) {
	if err := ValidateIssuer(issuer); err != nil {
		return "", err
	}
	if err := validateAccount(account); err != nil {
		return "", err
	}
	if len(secret) < MinSecretSize || len(secret) > MaxSecretSize {
		return "", fmt.Errorf("%w: %d bytes, need %d to %d", ErrSecretInvalid, len(secret), MinSecretSize, MaxSecretSize)
	}
	if err := p.Validate(); err != nil {
		return "", err
	}
	iss := escape(issuer)
	var sb strings.Builder
	sb.WriteString("otpauth://totp/")
	sb.WriteString(iss)
	sb.WriteByte(':')
	sb.WriteString(escape(account))
	sb.WriteString("?secret=")
	sb.WriteString(EncodeSecret(secret))
	sb.WriteString("&issuer=")
	sb.WriteString(iss)
	if p.Algorithm != Default.Algorithm {
		sb.WriteString("&algorithm=")
		sb.WriteString(p.Algorithm.String())
	}
	if p.Digits != Default.Digits {
		sb.WriteString("&digits=")
		sb.WriteString(strconv.Itoa(p.Digits))
	}
	if p.Period != Default.Period {
		sb.WriteString("&period=")
		sb.WriteString(strconv.FormatInt(p.Period, 10))
	}
	return sb.String(), nil
}

// escape percent-encodes every byte of s except A-Z a-z 0-9 - . _ ~ and '@'.
func escape(s string) string {
	const hex = "0123456789ABCDEF"
	var sb strings.Builder
	sb.Grow(len(s) * 3)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '@' {
			sb.WriteByte(c)
			continue
		}
		sb.WriteByte('%')
		sb.WriteByte(hex[c>>4])
		sb.WriteByte(hex[c&0x0f])
	}
	return sb.String()
}

// Key is the content of a parsed key URI.
type Key struct {
	Issuer, Account string
	Secret          []byte
	Params          Params
}

// ParseKeyURI parses an otpauth://totp/ key URI, as produced by KeyURI or by
// other systems, and round-trips with KeyURI. It accepts:
//   - a label "Issuer:account", "Issuer%3Aaccount" or just "account", with
//     optional spaces before the account (the Google Authenticator format);
//   - the issuer in the label, the issuer parameter, or both (then they must
//     be equal);
//   - any secret ParseSecret accepts;
//   - algorithm (case-insensitive), digits and period, each defaulting to
//     Default's value and validated with Params.Validate.
//
// Unknown parameters are ignored; a repeated known parameter is an error. The
// "+" in a query parameter means a space (old encoders wrote spaces so); in
// the label it is a literal '+'. hotp URIs are refused. Errors wrap
// ErrKeyURIInvalid and, where it applies, ErrSecretInvalid or ErrParamsInvalid.
func ParseKeyURI(uri string) (Key, error) {
	var k Key
	u, err := url.Parse(uri)
	if err != nil {
		return k, fmt.Errorf("%w: %v", ErrKeyURIInvalid, err)
	}
	const prefix = "otpauth://totp/"
	if !strings.EqualFold(u.Scheme, "otpauth") || u.Opaque != "" || u.User != nil ||
		len(uri) < len(prefix) || !strings.EqualFold(uri[:len(prefix)], prefix) {
		return k, fmt.Errorf("%w: not an otpauth://totp/ URI", ErrKeyURIInvalid)
	}

	// Take the label from the raw text: url.URL re-encodes paths in ways that
	// could turn an escaped ':' into a literal one.
	label := uri[len(prefix):]
	if i := strings.IndexAny(label, "?#"); i >= 0 {
		label = label[:i]
	}
	var issuer, account string
	if i := strings.IndexByte(label, ':'); i >= 0 {
		if issuer, err = url.PathUnescape(label[:i]); err != nil {
			return k, fmt.Errorf("%w: label: %v", ErrKeyURIInvalid, err)
		}
		if account, err = url.PathUnescape(label[i+1:]); err != nil {
			return k, fmt.Errorf("%w: label: %v", ErrKeyURIInvalid, err)
		}
	} else {
		l, err := url.PathUnescape(label)
		if err != nil {
			return k, fmt.Errorf("%w: label: %v", ErrKeyURIInvalid, err)
		}
		if i := strings.IndexByte(l, ':'); i >= 0 {
			issuer, account = l[:i], l[i+1:]
		} else {
			account = l
		}
	}
	account = strings.TrimLeft(account, " ")
	if account == "" {
		return k, fmt.Errorf("%w: empty account name", ErrKeyURIInvalid)
	}
	if !utf8.ValidString(issuer) || !utf8.ValidString(account) {
		return k, fmt.Errorf("%w: label is not valid UTF-8", ErrKeyURIInvalid)
	}

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return k, fmt.Errorf("%w: query: %v", ErrKeyURIInvalid, err)
	}
	get := func(name string) (string, bool, error) {
		v, ok := q[name]
		if !ok {
			return "", false, nil
		}
		if len(v) != 1 {
			return "", false, fmt.Errorf("%w: parameter %q repeated", ErrKeyURIInvalid, name)
		}
		return v[0], true, nil
	}

	sec, ok, err := get("secret")
	if err != nil {
		return k, err
	}
	if !ok {
		return k, fmt.Errorf("%w: no secret", ErrKeyURIInvalid)
	}
	if k.Secret, err = ParseSecret(sec); err != nil {
		return k, fmt.Errorf("%w: %w", ErrKeyURIInvalid, err)
	}

	iss, ok, err := get("issuer")
	if err != nil {
		return k, err
	}
	if ok {
		if !utf8.ValidString(iss) {
			return k, fmt.Errorf("%w: issuer is not valid UTF-8", ErrKeyURIInvalid)
		}
		if issuer != "" && iss != issuer {
			return k, fmt.Errorf("%w: issuer parameter differs from label", ErrKeyURIInvalid)
		}
		issuer = iss
	}

	p := Default
	if v, ok, err := get("algorithm"); err != nil {
		return k, err
	} else if ok {
		switch {
		case strings.EqualFold(v, "SHA1"):
			p.Algorithm = SHA1
		case strings.EqualFold(v, "SHA256"):
			p.Algorithm = SHA256
		case strings.EqualFold(v, "SHA512"):
			p.Algorithm = SHA512
		default:
			return k, fmt.Errorf("%w: %w: unknown algorithm", ErrKeyURIInvalid, ErrParamsInvalid)
		}
	}
	if v, ok, err := get("digits"); err != nil {
		return k, err
	} else if ok {
		if p.Digits, err = strconv.Atoi(v); err != nil {
			return k, fmt.Errorf("%w: %w: digits not a number", ErrKeyURIInvalid, ErrParamsInvalid)
		}
	}
	if v, ok, err := get("period"); err != nil {
		return k, err
	} else if ok {
		if p.Period, err = strconv.ParseInt(v, 10, 64); err != nil {
			return k, fmt.Errorf("%w: %w: period not a number", ErrKeyURIInvalid, ErrParamsInvalid)
		}
	}
	if err := p.Validate(); err != nil {
		return k, fmt.Errorf("%w: %w", ErrKeyURIInvalid, err)
	}

	k.Issuer, k.Account, k.Params = issuer, account, p
	return k, nil
}
