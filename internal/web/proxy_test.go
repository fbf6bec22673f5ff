package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRealClientBelievesOnlyTrustedProxies(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.1, 192.168.0.0/24")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		peer, xff, want string
	}{
		{"203.0.113.9:5000", "198.51.100.7", "203.0.113.9:5000"},         // not a proxy: header ignored
		{"10.0.0.1:5000", "198.51.100.7", "198.51.100.7:0"},              // the proxy's word
		{"10.0.0.1:5000", "1.2.3.4, 198.51.100.7", "198.51.100.7:0"},     // left of the client is the client's own claim
		{"10.0.0.1:5000", "198.51.100.7, 192.168.0.9", "198.51.100.7:0"}, // through two proxies
		{"10.0.0.1:5000", "", "10.0.0.1:5000"},                           // no header
		{"10.0.0.1:5000", "garbage", "10.0.0.1:5000"},                    // malformed
		{"10.0.0.1:5000", "2001:db8::1", "[2001:db8::1]:0"},              // IPv6 client
	}
	for _, tt := range tests {
		var got string
		h := realClient(proxies, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }))
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.peer
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != tt.want {
			t.Errorf("peer %s, X-Forwarded-For %q: RemoteAddr = %s, want %s", tt.peer, tt.xff, got, tt.want)
		}
	}
	if _, err := ParseTrustedProxies("not an address"); err == nil {
		t.Error("a bad proxy list was accepted")
	}
}
