package qr

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gatehouse/internal/totp"
)

// typicalKeyURI is what Gatehouse shows at enrollment: issuer "Gatehouse", a
// 32-character account name and a 20-byte secret with default parameters.
func typicalKeyURI(t testing.TB) string {
	t.Helper()
	secret := bytes.Repeat([]byte{0xA5, 0x5A, 0xC3, 0x3C}, 5)
	account := "firstname.lastname@example.co.uk" // 32 characters
	if len(account) != 32 {
		t.Fatalf("account is %d characters", len(account))
	}
	uri, err := totp.KeyURI("Gatehouse", account, secret, totp.Default)
	if err != nil {
		t.Fatal(err)
	}
	return uri
}

func requireZbarimg(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("GATEHOUSE_TEST_STRICT") == "1" {
			t.Fatalf("zbarimg not found and GATEHOUSE_TEST_STRICT=1: %v", err)
		}
		t.Skip("zbarimg not installed (apt-get install zbar-tools); set GATEHOUSE_TEST_STRICT=1 to fail instead")
	}
	return path
}

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("png.Decode: %v", err)
	}
	return img
}

func TestPNGDecodesBackToContentWithZbarimg(t *testing.T) {
	zbarimg := requireZbarimg(t)
	contents := []string{
		typicalKeyURI(t),
		"otpauth://totp/Acme%20Corp:Zo%C3%AB%20M%C3%BCller?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20Corp&algorithm=SHA256&digits=8&period=60",
		"HELLO WORLD",
		"a",
		strings.Repeat("0123456789", 30),
	}
	for i, content := range contents {
		for _, px := range []int{1, 4, 8} {
			b, err := PNG(content, px)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "qr.png")
			if err := os.WriteFile(file, b, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(zbarimg, "--nodbus", "--raw", "-q", file).Output()
			if err != nil {
				if px == 1 {
					// One pixel per module is below what zbar reliably reads; it
					// is allowed to fail, but must not decode to something else.
					continue
				}
				t.Fatalf("content %d at %d px/module: zbarimg: %v", i, px, err)
			}
			if got := strings.TrimSuffix(string(out), "\n"); got != content {
				t.Errorf("content %d at %d px/module: zbarimg read %q, want %q", i, px, got, content)
			}
		}
	}
}

func TestPNGHasOpaqueWhiteQuietZoneOfFourModules(t *testing.T) {
	const px = 5
	content := typicalKeyURI(t)
	v, err := Version(content)
	if err != nil {
		t.Fatal(err)
	}
	modules := 17 + 4*v // symbol size of version v
	img := decodePNG(t, mustPNG(t, content, px))
	side := (modules + 2*QuietZone) * px
	if b := img.Bounds(); b.Dx() != side || b.Dy() != side || b.Min != (image.Point{}) {
		t.Fatalf("bounds %v, want %dx%d (version %d, %d modules + 2×%d quiet zone, %d px each)", b, side, side, v, modules, QuietZone, px)
	}
	isWhite := func(x, y int) bool {
		r, g, b, a := img.At(x, y).RGBA()
		return r == 0xffff && g == 0xffff && b == 0xffff && a == 0xffff
	}
	isBlack := func(x, y int) bool {
		r, g, b, a := img.At(x, y).RGBA()
		return r == 0 && g == 0 && b == 0 && a == 0xffff
	}
	// The four corners and the whole quiet-zone band are white.
	for _, c := range []image.Point{{0, 0}, {side - 1, 0}, {0, side - 1}, {side - 1, side - 1}} {
		if !isWhite(c.X, c.Y) {
			t.Errorf("corner %v is %v, want opaque white", c, img.At(c.X, c.Y))
		}
	}
	q := QuietZone * px
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			inQuiet := x < q || y < q || x >= side-q || y >= side-q
			if inQuiet && !isWhite(x, y) {
				t.Fatalf("quiet-zone pixel (%d,%d) is %v", x, y, img.At(x, y))
			}
		}
	}
	// Just inside the quiet zone are the finder patterns' dark corners.
	for _, c := range []image.Point{{q, q}, {side - q - 1, q}, {q, side - q - 1}} {
		if !isBlack(c.X, c.Y) {
			t.Errorf("finder corner %v is %v, want black", c, img.At(c.X, c.Y))
		}
	}
}

func TestPNGIsOpaqueBlackAndWhiteOnly(t *testing.T) {
	img := decodePNG(t, mustPNG(t, typicalKeyURI(t), 4))
	b := img.Bounds()
	var black, white int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			if a != 0xffff {
				t.Fatalf("pixel (%d,%d) alpha %#x, want opaque", x, y, a)
			}
			switch {
			case r == 0 && g == 0 && bl == 0:
				black++
			case r == 0xffff && g == 0xffff && bl == 0xffff:
				white++
			default:
				t.Fatalf("pixel (%d,%d) is %v, neither black nor white", x, y, img.At(x, y))
			}
		}
	}
	if black == 0 || white == 0 {
		t.Errorf("black %d, white %d", black, white)
	}
}

func TestPNGScalesByWholePixelsPerModule(t *testing.T) {
	content := typicalKeyURI(t)
	one := decodePNG(t, mustPNG(t, content, 1))
	n := one.Bounds().Dx()
	for _, px := range []int{2, 3, 4, 10} {
		img := decodePNG(t, mustPNG(t, content, px))
		if img.Bounds().Dx() != n*px {
			t.Fatalf("%d px/module: width %d, want %d", px, img.Bounds().Dx(), n*px)
		}
		for y := 0; y < n*px; y++ {
			for x := 0; x < n*px; x++ {
				if img.At(x, y) != one.At(x/px, y/px) {
					t.Fatalf("%d px/module: pixel (%d,%d) differs from module (%d,%d)", px, x, y, x/px, y/px)
				}
			}
		}
	}
}

func TestPNGRejectsBadArguments(t *testing.T) {
	tests := []struct {
		name    string
		content string
		px      int
	}{
		{"ZeroPixelsPerModule", "x", 0},
		{"NegativePixelsPerModule", "x", -4},
		{"HugePixelsPerModule", "x", MaxPxPerModule + 1},
		{"EmptyContent", "", 4},
		{"ContentTooLongForVersion40", strings.Repeat("x", 3000), 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := PNG(tt.content, tt.px); err == nil {
				t.Errorf("got %d bytes, want error", len(b))
			}
		})
	}
}

func TestTypicalKeyURIStaysAtVersionEightOrBelow(t *testing.T) {
	uri := typicalKeyURI(t)
	v, err := Version(uri)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d-byte URI %q needs version %d", len(uri), uri, v)
	if v > 8 {
		t.Errorf("version %d, want ≤ 8", v)
	}
}

func TestVersionGrowsWithContentAndMatchesLevelM(t *testing.T) {
	// Byte-mode capacities at level M (ISO/IEC 18004 table 7): version 1 holds
	// 14 bytes, version 8 holds 152, version 40 holds 2331.
	tests := []struct {
		n    int
		want int
	}{
		{1, 1}, {14, 1}, {15, 2}, {152, 8}, {153, 9}, {2331, 40},
	}
	for _, tt := range tests {
		v, err := Version(strings.Repeat("a", tt.n))
		if err != nil {
			t.Fatalf("%d bytes: %v", tt.n, err)
		}
		if v != tt.want {
			t.Errorf("%d bytes: version %d, want %d", tt.n, v, tt.want)
		}
	}
	if _, err := Version(strings.Repeat("a", 2332)); err == nil {
		t.Error("2332 bytes: want error")
	}
}

func mustPNG(t *testing.T, content string, px int) []byte {
	t.Helper()
	b, err := PNG(content, px)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
