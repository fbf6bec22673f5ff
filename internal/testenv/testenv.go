// Package testenv lets tests that need an outside program (oathtool,
// zbarimg, Chromium, PostgreSQL) skip on a laptop without it, and fail
// instead under GATEHOUSE_TEST_STRICT=1, as CI runs them.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Strict reports whether missing tools are failures.
func Strict() bool { return os.Getenv("GATEHOUSE_TEST_STRICT") == "1" }

// Unavailable skips the test, or fails it under GATEHOUSE_TEST_STRICT=1.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if Strict() {
		t.Fatalf("GATEHOUSE_TEST_STRICT=1 and "+format, args...)
	}
	t.Skipf(format, args...)
}

// RequireTool returns the path of a program, or skips/fails without it.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, "%s is not installed", name)
	}
	return p
}
