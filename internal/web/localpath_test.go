package web

import "testing"

func TestLocalPathRefusesEveryWayOffSite(t *testing.T) {
	tests := map[string]string{
		"/devices":                "/devices",
		"/admin/users?q=a&page=2": "/admin/users?q=a&page=2",
		"":                        "/",
		"https://evil.example/":   "/",
		"//evil.example/":         "/",
		"/\\evil.example":         "/",
		"/\t/evil.example/":       "/",
		"/\n/evil.example/":       "/",
		"/\r\n/evil.example":      "/",
		"/\x00/evil":              "/",
		"/\u200b/evil.example":    "/",
		"/%2F/evil.example":       "/", // refused to be safe: its path decodes to //evil.example
		"devices":                 "/",
		"javascript:alert(1)":     "/",
		"/\\\\evil.example":       "/",
		"/ok#fragment":            "/ok#fragment",
	}
	for in, want := range tests {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}
