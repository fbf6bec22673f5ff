// Package passkey runs the WebAuthn ceremonies that register a security key
// or a built-in authenticator as a second factor and sign in with it. It
// wraps github.com/go-webauthn/webauthn and adds what Gatehouse promises on
// top: a relying party fixed by configuration and checked at start-up, the
// options DESIGN §5 asks for, and errors that say what was wrong with a
// response. It knows nothing of HTTP or SQL: a ceremony's state goes out as
// bytes for the caller to keep, and comes back in.
package passkey

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// Config describes the relying party.
type Config struct {
	// Origin is the portal's public origin (the base URL): scheme, host and
	// port. It is normalised (lower case, no default port, no trailing slash).
	Origin string
	// RPID is the relying-party id; empty means the origin's host.
	RPID string
	// DisplayName is what the browser shows as the site's name.
	DisplayName string
	// UserVerification is asked of authenticators and then required exactly:
	// UVPreferred (DESIGN §5) unless set.
	UserVerification UserVerification
	// Timeout is the ceremony timeout the browser is given.
	Timeout time.Duration
}

// UserVerification is WebAuthn's userVerification requirement.
type UserVerification string

const (
	UVRequired    UserVerification = "required"
	UVPreferred   UserVerification = "preferred"
	UVDiscouraged UserVerification = "discouraged"
)

// ErrUnavailable marks a configuration under which no browser would run a
// WebAuthn ceremony (an IP address, plain http on a host other than
// localhost): the portal can run, without security keys.
var ErrUnavailable = errors.New("security keys cannot be used")

// RelyingParty runs ceremonies for one relying party.
type RelyingParty struct {
	wa     *webauthn.WebAuthn
	origin string
	rpID   string
	uv     UserVerification
}

// Origin is the normalised origin responses must come from.
func (rp *RelyingParty) Origin() string { return rp.origin }

// RPID is the relying-party id credentials are scoped to.
func (rp *RelyingParty) RPID() string { return rp.rpID }

// NormalizeOrigin returns an http(s) origin as browsers report it: lower-case
// scheme and host, no default port, no trailing slash. Anything beyond the
// origin (a path, a query, user information) is an error.
func NormalizeOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("the origin %q must look like https://gatehouse.example.com", s)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("the origin %q must be a scheme and host only (no path, query or user)", s)
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	h := host
	if strings.Contains(host, ":") {
		h = "[" + host + "]"
	}
	if port != "" {
		h += ":" + port
	}
	return scheme + "://" + h, nil
}

// New checks the configuration and returns the relying party. A relying-party
// id with a port, a scheme or a path, or one that is neither the origin's
// host nor a parent domain of it, is an error that says so; a setup no
// browser can use (an IP address, http on a host other than localhost) is an
// error wrapping ErrUnavailable.
func New(c Config) (*RelyingParty, error) {
	origin, err := NormalizeOrigin(c.Origin)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(origin)
	host := u.Hostname()
	rpID := strings.TrimSpace(c.RPID)
	if rpID == "" {
		rpID = host
	} else {
		if rpID, err = checkRPID(rpID, host); err != nil {
			return nil, err
		}
	}
	if net.ParseIP(rpID) != nil {
		return nil, fmt.Errorf("%w: the relying-party id %q is an IP address, and browsers use security keys only on a domain name: set the base URL to a name such as https://gatehouse.example.com (or http://localhost:PORT on this machine)", ErrUnavailable, rpID)
	}
	if u.Scheme == "http" && host != "localhost" && !strings.HasSuffix(host, ".localhost") {
		return nil, fmt.Errorf("%w: browsers use security keys only over https (or on http://localhost), and the base URL is %s", ErrUnavailable, origin)
	}
	if err := protocol.ValidateRPID(rpID); err != nil {
		return nil, fmt.Errorf("the relying-party id %q is not a valid domain name: %v", rpID, err)
	}
	uv := c.UserVerification
	if uv == "" {
		uv = UVPreferred
	}
	switch uv {
	case UVRequired, UVPreferred, UVDiscouraged:
	default:
		return nil, fmt.Errorf("user verification %q is not one of required, preferred, discouraged", uv)
	}
	name := c.DisplayName
	if name == "" {
		name = rpID
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          rpID,
		RPDisplayName: name,
		RPOrigins:     []string{origin},
		// No attestation is asked for (see BeginRegistration): the library's
		// zero policies, the strictest, apply to whatever comes anyway.
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: timeout, TimeoutUVD: timeout},
			Registration: webauthn.TimeoutConfig{Timeout: timeout, TimeoutUVD: timeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("relying party %q at %s: %w", rpID, origin, err)
	}
	return &RelyingParty{wa: wa, origin: origin, rpID: rpID, uv: uv}, nil
}

// checkRPID normalises an explicitly configured relying-party id and checks
// that it is a bare host name covering host.
func checkRPID(rpID, host string) (string, error) {
	if strings.Contains(rpID, "://") || strings.ContainsAny(rpID, "/?#@") {
		return "", fmt.Errorf("the relying-party id %q must be a host name such as example.com, not a URL", rpID)
	}
	if h, _, err := net.SplitHostPort(rpID); err == nil {
		return "", fmt.Errorf("the relying-party id %q must not have a port: use %q (the port is part of the base URL, not of the id)", rpID, h)
	}
	rpID = strings.ToLower(strings.TrimSuffix(rpID, "."))
	if host != rpID && !strings.HasSuffix(host, "."+rpID) {
		return "", fmt.Errorf("the relying-party id %q does not cover the base URL's host %q: it must be that host or a domain it belongs to (such as %q)", rpID, host, parent(host))
	}
	return rpID, nil
}

// parent suggests a registrable parent of host for an error message.
func parent(host string) string {
	if i := strings.IndexByte(host, '.'); i > 0 && strings.Count(host, ".") >= 2 {
		return host[i+1:]
	}
	return host
}
