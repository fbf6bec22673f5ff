package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies reads a comma-separated list of addresses or CIDR
// prefixes ("10.0.0.5, 192.168.0.0/24").
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, err
			}
			f = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()).String()
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func trusted(proxies []netip.Prefix, a netip.Addr) bool {
	for _, p := range proxies {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// realClient replaces r.RemoteAddr with the client's address when the peer
// is a trusted reverse proxy, so the per-address limit, the trusted-browser
// network and the audit trail see the person and not the proxy. Only
// X-Forwarded-For entries appended by trusted proxies are believed: the
// right-most address that is not a trusted proxy is the client (anything
// left of it was written by the client and may be forged).
func realClient(proxies []netip.Prefix, next http.Handler) http.Handler {
	if len(proxies) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		peer, perr := netip.ParseAddr(host)
		if err == nil && perr == nil && trusted(proxies, peer) {
			hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
			for i := len(hops) - 1; i >= 0; i-- {
				a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
				if err != nil {
					break // a malformed hop: stop believing the header here
				}
				if !trusted(proxies, a) {
					r.RemoteAddr = net.JoinHostPort(a.Unmap().String(), "0")
					break
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}
