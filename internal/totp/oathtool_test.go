package totp

import (
	"encoding/hex"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// requireTool returns the path of an external program, skipping the test when
// it is missing — unless GATEHOUSE_TEST_STRICT=1, where a missing tool fails.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("GATEHOUSE_TEST_STRICT") == "1" {
			t.Fatalf("%s not found and GATEHOUSE_TEST_STRICT=1: %v", name, err)
		}
		t.Skipf("%s not installed (apt-get install oathtool); set GATEHOUSE_TEST_STRICT=1 to fail instead", name)
	}
	return path
}

func runTool(t *testing.T, path string, args ...string) string {
	t.Helper()
	out, err := exec.Command(path, args...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("%s %s: %v %s", path, strings.Join(args, " "), err, msg)
	}
	return strings.TrimRight(string(out), "\n")
}

func TestTOTPAgreesWithOathtool(t *testing.T) {
	oathtool := requireTool(t, "oathtool")
	random20 := []byte{0x3d, 0xc6, 0xca, 0xa4, 0x82, 0x4a, 0x6d, 0x28, 0x87, 0x67, 0xb2, 0x33, 0x1e, 0x20, 0xb4, 0x31, 0x66, 0xcb, 0x85, 0xd9}
	secrets := map[string][]byte{
		"rfc-sha1-seed": seedSHA1,
		"random-20":     random20,
		"17-bytes":      []byte("12345678901234567"), // base32 needs padding; passed unpadded
		"rfc-sha512-64": seedSHA512,
	}
	params := []Params{
		Default,
		{SHA256, 6, 30},
		{SHA512, 6, 30},
		{SHA1, 8, 30},
		{SHA256, 8, 60},
		{SHA512, 7, 45},
		{SHA1, 6, 15},
		{SHA1, 6, 300},
	}
	times := []int64{0, 59, 1111111109, 1234567890, 1767225600, 2000000000, 4102444800, 20000000000}
	for name, secret := range secrets {
		b32 := EncodeSecret(secret)
		for _, p := range params {
			for _, unix := range times {
				at := func(unix int64) []string {
					return []string{
						"--totp=" + strings.ToLower(p.Algorithm.String()),
						"--digits=" + strconv.Itoa(p.Digits),
						"--time-step-size=" + strconv.FormatInt(p.Period, 10) + "s",
						"-b", b32,
						"--now", "@" + strconv.FormatInt(unix, 10),
					}
				}
				want := runTool(t, oathtool, at(unix)...)
				ctr := Counter(time.Unix(unix, 0), p.Period)
				if got := HOTP(secret, ctr, p); got != want {
					t.Errorf("%s %s/%d/%ds T=%d: ours %q, oathtool %q", name, p.Algorithm, p.Digits, p.Period, unix, got, want)
					continue
				}
				if len(secret) >= MinSecretSize {
					// An oathtool code one period later is accepted at T±1 by Verify.
					next := runTool(t, oathtool, at(unix+p.Period)...)
					if step, ok := Verify(secret, next, p, ctr, 1); !ok || step != ctr+1 {
						t.Errorf("%s %s/%d/%ds T=%d: Verify(oathtool next %q) = %d, %v", name, p.Algorithm, p.Digits, p.Period, unix, next, step, ok)
					}
				}
			}
		}
	}
}

func TestHOTPAgreesWithOathtoolForLargeCounters(t *testing.T) {
	oathtool := requireTool(t, "oathtool")
	key := hex.EncodeToString(seedSHA1)
	for _, c := range []int64{0, 9, 1 << 31, 1<<32 + 5, 1<<40 + 123, 1<<62 + 7} {
		want := runTool(t, oathtool, "--hotp", "-c", strconv.FormatInt(c, 10), key)
		if got := HOTP(seedSHA1, c, Default); got != want {
			t.Errorf("counter %d: ours %q, oathtool %q", c, got, want)
		}
	}
}

func TestKeyURISecretIsAcceptedByOathtool(t *testing.T) {
	oathtool := requireTool(t, "oathtool")
	uri, err := KeyURI("Gatehouse", "bob", []byte("12345678901234567"), Default)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParseKeyURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	b32 := uri[strings.Index(uri, "secret=")+len("secret=") : strings.Index(uri, "&")]
	want := runTool(t, oathtool, "--totp", "-b", b32, "--now", "@1234567890")
	if got := HOTP(k.Secret, Counter(time.Unix(1234567890, 0), 30), k.Params); got != want {
		t.Errorf("ours %q, oathtool %q", got, want)
	}
}
