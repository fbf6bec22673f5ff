package account

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"gatehouse/internal/errcode"
	"gatehouse/internal/policy"
)

// TrustedBrowser is a browser the user said was theirs ("This is a trusted
// device") under the context-aware policy: it skips the MFA step while it
// keeps its cookie, stays on the same network and has not expired.
type TrustedBrowser struct {
	ID         string
	UserID     string
	TokenHash  string
	Network    string
	UserAgent  string
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time
}

// Network is the /24 (IPv4) or /48 (IPv6) an address belongs to: a phone
// moving between cells of one provider stays in it, another network does not.
func Network(ip string) string {
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap()
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// trusted reports whether c carries a valid trust token for u from the
// network it was issued on.
func (s *Service) trusted(ctx context.Context, u User, c Client) bool {
	if c.TrustToken == "" {
		return false
	}
	b, err := s.Store.TrustedBrowserByHash(ctx, u.ID, HashToken(c.TrustToken), s.now())
	if err != nil {
		return false
	}
	if n := Network(c.IP); n == "" || n != b.Network {
		return false
	}
	_ = s.Store.TouchTrustedBrowser(ctx, b.ID, s.now())
	return true
}

// trust remembers the client's browser and returns the token for its cookie.
func (s *Service) trust(ctx context.Context, u User, c Client) (string, error) {
	n := Network(c.IP)
	if n == "" {
		return "", nil // no usable address: nothing to bind the trust to
	}
	token, hash, err := NewToken(s.rand())
	if err != nil {
		return "", err
	}
	id, err := NewID(s.rand())
	if err != nil {
		return "", err
	}
	now := s.now()
	ua := c.UserAgent
	if len(ua) > 200 {
		ua = ua[:200]
	}
	b := TrustedBrowser{ID: id, UserID: u.ID, TokenHash: hash, Network: n, UserAgent: ua, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(policy.TrustLifetime)}
	if err := s.Store.CreateTrustedBrowser(ctx, b); err != nil {
		return "", err
	}
	return token, nil
}

// TrustedBrowsers lists the user's trusted browsers.
func (s *Service) TrustedBrowsers(ctx context.Context, userID string) ([]TrustedBrowser, error) {
	return s.Store.ListTrustedBrowsers(ctx, userID, s.now())
}

// RevokeTrustedBrowser forgets one of the user's trusted browsers.
func (s *Service) RevokeTrustedBrowser(ctx context.Context, userID, id string) error {
	err := s.Store.DeleteTrustedBrowser(ctx, userID, id)
	if errors.Is(err, ErrNotFound) {
		return errcode.New(errcode.NotFound, "No such trusted browser.")
	}
	return err
}
