package server_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"gatehouse/internal/qr"
	"gatehouse/internal/testenv"
)

// stepTimeout bounds each browser step: a page round trip takes well under a
// second here, so a step that needs longer is stuck, not slow.
const stepTimeout = 15 * time.Second

// viewport is a window size the flow is checked at.
type viewport struct {
	name   string
	w, h   int64
	suffix string // appended to screenshot names; "" for the README's size
}

var viewports = []viewport{
	{name: "1280x800", w: 1280, h: 800},
	{name: "375x667", w: 375, h: 667, suffix: "-375x667"},
}

// TestSeedFlowInChromium clicks through the seed flow
// (../shared/seed/user-device-registration.md) in a real headless Chromium, at
// a desktop and a phone size: sign in, My devices, Register MFA device, Device
// name, Device configuration (obscured QR, Show QR code, Show secret key, a
// wrong code, then a code from the independent oathtool), the device listed,
// sign out, sign in again with a fresh code. It decodes the QR as the screen
// shows it, in the light and the dark colour scheme, with zbarimg, and checks
// every page for content outside the viewport and for low text contrast.
//
// Screenshots go to $GATEHOUSE_SCREENSHOTS when set, else to a temporary
// directory; the test logs where. The README's come from the acceptance
// suite (TestAcceptance, -update-readme-screenshots).
func TestSeedFlowInChromium(t *testing.T) {
	chromium := chromiumPath(t)
	oathtool := testenv.RequireTool(t, "oathtool")
	zbarimg := testenv.RequireTool(t, "zbarimg")
	shots := screenshotDir(t)

	browser := startBrowser(t, chromium)
	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			seedFlow(t, browser, vp, shots, oathtool, zbarimg)
		})
	}
}

// chromiumPath prefers the binary without Debian's wrapper script.
func chromiumPath(t *testing.T) string {
	t.Helper()
	const debian = "/usr/lib/chromium/chromium"
	if fi, err := os.Stat(debian); err == nil && !fi.IsDir() {
		return debian
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Unavailable(t, "chromium is not installed")
	return ""
}

func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GATEHOUSE_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startBrowser starts one headless Chromium for the whole test; the subtests
// share its tab. The allocator's cancel (which waits for the process to exit) is
// registered after t.TempDir, so it runs first and Chromium is gone before its
// profile directory is removed.
func startBrowser(t *testing.T, execPath string) context.Context {
	t.Helper()
	profile := t.TempDir()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(execPath), chromedp.UserDataDir(profile),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(1280, 800))
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	start := time.Now()
	// No deadline here: the browser lives as long as this context.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	t.Logf("chromium started in %v", time.Since(start).Round(time.Millisecond))
	return ctx
}

// tab is the browser's tab, bound to a subtest and its server.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	vp   viewport
}

// useTab binds the browser's first tab to a subtest. Subtests reuse it, one
// after the other, rather than open tabs of their own: with chromedp v0.23 and
// Chromium 156 here, a second tab (chromedp.NewContext on the browser's
// context, with or without a new browser context or window) stops answering
// after its first navigation. Each subtest starts with no cookies, the light
// scheme and its own viewport.
func useTab(t *testing.T, browser context.Context, base string, vp viewport) *tab {
	t.Helper()
	b := &tab{t: t, ctx: browser, base: base, vp: vp}
	b.do("reset the tab",
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{})
			return err
		}),
		chromedp.EmulateViewport(vp.w, vp.h))
	b.setColorScheme("light")
	return b
}

// do runs steps with the per-step timeout and fails the test on error.
func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// get runs one action that returns a value.
func get[T any](b *tab, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// load runs steps that navigate (a click on a link or a submit button) and
// waits for the page; it returns the document's HTTP status.
func (b *tab) load(what string, steps ...chromedp.Action[chromedp.Void]) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return resp.Status
}

// path is the current URL without the server's origin.
func (b *tab) path() string {
	b.t.Helper()
	return strings.TrimPrefix(get(b, "location", chromedp.Location()), b.base)
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(get(b, "text of "+sel, chromedp.Text(chromedp.CSS(sel))))
}

func (b *tab) eval(js string) string {
	b.t.Helper()
	return get(b, js, chromedp.Evaluate[string](js))
}

// expectPage checks the heading and that nothing sticks out sideways.
func (b *tab) expectPage(h1 string) {
	b.t.Helper()
	if got := b.text("main h1"); got != h1 {
		b.t.Fatalf("on %s: heading %q, want %q", b.path(), got, h1)
	}
	over := get(b, "overflow", chromedp.Evaluate[[]string](`(() => {
		const vw = document.documentElement.clientWidth, out = [];
		if (document.documentElement.scrollWidth > vw) out.push("page is " + document.documentElement.scrollWidth + "px wide in a " + vw + "px viewport");
		for (const el of document.querySelectorAll("main *, header *")) {
			const r = el.getBoundingClientRect();
			if (r.width > 0 && (r.right > vw + 0.5 || r.left < -0.5) && !el.closest(".visually-hidden, .toggle"))
				out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className ? "." + String(el.className).replace(/ /g, ".") : "") + " spans " + Math.round(r.left) + ".." + Math.round(r.right));
		}
		return out;
	})()`))
	if len(over) > 0 {
		b.t.Errorf("on %q at %s, content outside the viewport:\n  %s", h1, b.vp.name, strings.Join(over, "\n  "))
	}
	b.checkContrast(h1)
}

// checkContrast finds visible text below the WCAG AA contrast ratio (4.5:1,
// or 3:1 for large text) against the nearest opaque background behind it.
func (b *tab) checkContrast(where string) {
	b.t.Helper()
	low := get(b, "contrast", chromedp.Evaluate[[]string](`(() => {
		const parse = c => {
			const m = c.match(/rgba?\(([^)]+)\)/);
			if (!m) return null;
			const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
			return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
		};
		const lum = c => {
			const f = v => (v /= 255) <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
			return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
		};
		const background = el => {
			for (let e = el; e; e = e.parentElement) {
				const c = parse(getComputedStyle(e).backgroundColor);
				if (c && c.a >= 0.5) return c;
			}
			return {r: 255, g: 255, b: 255, a: 1};
		};
		const out = [];
		for (const el of document.querySelectorAll("body *")) {
			if (![...el.childNodes].some(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim())) continue;
			if (el.closest('[aria-hidden="true"], .visually-hidden, [hidden]')) continue;
			const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
			if (!r.width || !r.height || cs.visibility === "hidden" || el.matches(":disabled")) continue;
			const fg = parse(cs.color), bg = background(el);
			if (!fg) continue;
			const l1 = lum(fg), l2 = lum(bg);
			const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
			const size = parseFloat(cs.fontSize), large = size >= 24 || (size >= 18.66 && parseInt(cs.fontWeight) >= 700);
			if (ratio < (large ? 3 : 4.5))
				out.push(el.tagName.toLowerCase() + " " + JSON.stringify(el.textContent.trim().slice(0, 40)) + ": " + ratio.toFixed(2) + ":1 (" + cs.color + " on rgb(" + bg.r + ", " + bg.g + ", " + bg.b + "))");
		}
		return out;
	})()`))
	if len(low) > 0 {
		b.t.Errorf("on %q at %s, text with too little contrast:\n  %s", where, b.vp.name, strings.Join(low, "\n  "))
	}
}

func (b *tab) screenshot(dir, name string) {
	b.t.Helper()
	buf := get(b, "screenshot "+name, chromedp.FullScreenshot(100))
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", p)
}

// setColorScheme emulates prefers-color-scheme.
func (b *tab) setColorScheme(scheme string) {
	b.t.Helper()
	b.do("prefers-color-scheme: "+scheme, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	}))
}

func oathCode(t *testing.T, oathtool, key, now string) string {
	t.Helper()
	out, err := exec.Command(oathtool, "--totp", "-b", key, "--now", now).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// wrongCode returns a 6-digit code that matches no step within ±15 of now,
// so the server can only call it wrong (not "your clock is off").
func wrongCode(t *testing.T, oathtool, key string, now time.Time) string {
	t.Helper()
	from := "@" + strconv.FormatInt(now.Add(-15*30*time.Second).Unix(), 10)
	out, err := exec.Command(oathtool, "--totp", "-b", key, "--now", from, "-w", "30").Output()
	if err != nil {
		t.Fatalf("oathtool -w: %v", err)
	}
	near := strings.Fields(string(out))
	for _, c := range []string{"000000", "999999", "123456", "654321"} {
		if !slicesContains(near, c) {
			return c
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// decodeQR runs zbarimg on a PNG; found is false when it sees no symbol.
func decodeQR(t *testing.T, zbarimg string, pngData []byte) (text string, found bool) {
	t.Helper()
	cmd := exec.Command(zbarimg, "--nodbus", "--raw", "-q", "-")
	cmd.Stdin = bytes.NewReader(pngData)
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 4 {
		return "", false
	}
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	return strings.TrimRight(string(out), "\n"), true
}

// checkQRColours checks that a screenshot of the QR is dark modules on white:
// its corner (quiet zone) white, its darkest pixel near black.
func checkQRColours(t *testing.T, scheme string, pngData []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		t.Fatalf("%s QR screenshot: %v", scheme, err)
	}
	lum := func(x, y int) uint32 {
		r, g, bl, _ := img.At(x, y).RGBA()
		return (299*r + 587*g + 114*bl) / 1000 >> 8
	}
	bnd := img.Bounds()
	corners := []image.Point{{bnd.Min.X + 2, bnd.Min.Y + 2}, {bnd.Max.X - 3, bnd.Min.Y + 2}, {bnd.Min.X + 2, bnd.Max.Y - 3}, {bnd.Max.X - 3, bnd.Max.Y - 3}}
	for _, c := range corners {
		if l := lum(c.X, c.Y); l < 0xf0 {
			t.Errorf("%s scheme: QR quiet zone at %v has luminance %#x, want white", scheme, c, l)
		}
	}
	darkest := uint32(0xff)
	for y := bnd.Min.Y; y < bnd.Max.Y; y++ {
		for x := bnd.Min.X; x < bnd.Max.X; x++ {
			darkest = min(darkest, lum(x, y))
		}
	}
	if darkest > 0x20 {
		t.Errorf("%s scheme: darkest QR pixel has luminance %#x, want near black", scheme, darkest)
	}
}

var configurePath = regexp.MustCompile(`^/devices/([^/]+)/configure$`)

func seedFlow(t *testing.T, browser context.Context, vp viewport, shots, oathtool, zbarimg string) {
	start := time.Now()
	ts := startServer(t)
	ts.addUser(t, "alice", "a long enough password")
	b := useTab(t, browser, ts.URL, vp)

	// Sign in.
	b.do("open /signin", chromedp.Navigate(ts.URL+"/signin"))
	b.expectPage("Sign in")
	if st := b.load("sign in with the password",
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "a long enough password"),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type=submit]`)),
	); st != 200 {
		t.Fatalf("sign in: status %d", st)
	}
	if p := b.path(); p != "/" {
		t.Fatalf("after sign-in at %q, want the portal home /", p)
	}
	b.expectPage("Welcome, alice")

	// Portal home: My devices near the top right.
	myDevices := `header nav.account a[href="/devices"]`
	if got := b.text(myDevices); got != "My devices" {
		t.Fatalf("top-right link says %q, want My devices", got)
	}
	box := get(b, "My devices position", chromedp.Evaluate[map[string]float64](`(() => {
		const r = document.querySelector('header nav.account a[href="/devices"]').getBoundingClientRect();
		return {left: r.left, right: r.right, top: r.top, vw: document.documentElement.clientWidth};
	})()`))
	if box["right"] < box["vw"]/2 || box["top"] > 120 {
		t.Errorf("My devices is at left %.0f, right %.0f, top %.0f in a %.0f px wide viewport: want it near the top right", box["left"], box["right"], box["top"], box["vw"])
	}
	b.load("click My devices", chromedp.Click(chromedp.CSS(myDevices)))
	b.expectPage("My devices")

	// My devices → Register MFA device.
	if got := b.text("#register"); got != "Register MFA device" {
		t.Fatalf("register button says %q", got)
	}
	b.load("click Register MFA device", chromedp.Click(chromedp.ID("register")))
	b.expectPage("Choose MFA device type")
	if b.eval(`document.getElementById("type-totp").checked ? "yes" : "no"`) != "yes" {
		t.Errorf("Authenticator app is not the preselected type")
	}
	b.load("choose Authenticator app", chromedp.Click(chromedp.ID("type-totp")), chromedp.Click(chromedp.ID("choose-next")))
	b.expectPage("Device name")

	// Device name → Next.
	if got := b.text(`label[for="name"]`); got != "Device name" {
		t.Errorf("name field label %q, want Device name", got)
	}
	b.load("type the name and click Next",
		chromedp.SendKeys(chromedp.ID("name"), "My iPhone X"),
		chromedp.Click(chromedp.CSS(`form[action="/devices/register"] button[type=submit]`)),
	)
	b.expectPage("Device configuration")
	m := configurePath.FindStringSubmatch(b.path())
	if m == nil {
		t.Fatalf("Device configuration at %q, want /devices/{id}/configure", b.path())
	}
	deviceID := m[1]
	if got := b.text(`form[action$="/configure"] button.primary[type=submit]`); got != "Register MFA device" {
		t.Errorf("submit button says %q, want Register MFA device", got)
	}

	// The QR code is obscured until Show QR code: blurred, veiled, and not
	// scannable from what the screen shows.
	if f := b.eval(`getComputedStyle(document.querySelector("#qr img")).filter`); !strings.Contains(f, "blur") {
		t.Errorf("before Show QR code the QR's filter is %q, want a blur", f)
	}
	if txt, found := decodeQR(t, zbarimg, get(b, "screenshot hidden QR", chromedp.Screenshot(chromedp.CSS("#qr")))); found {
		t.Errorf("before Show QR code zbarimg reads the QR from the screen: %q", txt)
	}
	if got := b.text("#show-qr-label"); got != "Show QR code" {
		t.Errorf("QR button says %q, want Show QR code", got)
	}
	b.do("click Show QR code", chromedp.Click(chromedp.ID("show-qr-label")))
	b.do("wait for the QR to be clear", chromedp.Poll[chromedp.Void](`(() => {
		const img = document.querySelector("#qr img"), veil = document.querySelector("#qr .qr-veil");
		return getComputedStyle(img).filter === "none" && (!veil || getComputedStyle(veil).display === "none");
	})()`, chromedp.WithPollingTimeout(5*time.Second)))
	if got := b.text("#show-qr-label"); got != "Hide QR code" {
		t.Errorf("after Show QR code the button says %q, want Hide QR code", got)
	}

	// Show secret key, read it as a person would.
	b.do("click Show secret key", chromedp.Click(chromedp.CSS("#secret summary")))
	key := strings.Join(strings.Fields(b.text("#secret .secret-key code")), "")
	if !regexp.MustCompile(`^[A-Z2-7]{32}$`).MatchString(key) {
		t.Fatalf("secret key on the page %q, want 32 base32 characters (160 bits)", key)
	}
	if copyBtn := b.eval(`document.querySelector("#secret button.copy")?.dataset.copy ?? ""`); copyBtn != "" && copyBtn != key {
		t.Errorf("copy button copies %q, want the key without spaces %q", copyBtn, key)
	}

	// The key URI from the API, with the browser's own session.
	dev := get(b, "GET the enrollment from the API", chromedp.Evaluate[map[string]any](
		`fetch("/api/v1/me/mfa-devices/`+deviceID+`", {credentials: "same-origin"}).then(r => r.json())`,
		chromedp.EvalAwaitPromise))
	uri, _ := dev["otpauth_uri"].(string)
	if dev["secret"] != key || dev["status"] != "pending" || !strings.HasPrefix(uri, "otpauth://totp/") {
		t.Fatalf("API enrollment %v, want pending with secret %s", dev, key)
	}

	// The QR as the screen shows it decodes to the key URI, in both schemes,
	// dark on white, at a whole number of CSS pixels per module.
	checkQR := func(scheme string) {
		t.Helper()
		shot := get(b, "screenshot QR ("+scheme+")", chromedp.Screenshot(chromedp.CSS("#qr img")))
		got, found := decodeQR(t, zbarimg, shot)
		if !found {
			t.Fatalf("%s scheme: zbarimg finds no QR code on the screen", scheme)
		}
		if got != uri || !strings.Contains(got, "secret="+key) {
			t.Errorf("%s scheme: QR on the screen decodes to %q, want %q (secret=%s)", scheme, got, uri, key)
		}
		checkQRColours(t, scheme, shot)
	}
	checkQR("light")
	size := get(b, "QR size", chromedp.Evaluate[map[string]float64](`(() => {
		const img = document.querySelector("#qr img"), r = img.getBoundingClientRect();
		return {w: r.width, h: r.height, nw: img.naturalWidth, nh: img.naturalHeight};
	})()`))
	version, err := qr.Version(uri)
	if err != nil {
		t.Fatal(err)
	}
	modules := float64(17 + 4*version + 2*qr.QuietZone)
	perModule := size["w"] / modules
	if size["w"] != size["h"] || perModule < 4 || perModule != float64(int(perModule)) {
		t.Errorf("QR shown at %.2f×%.2f CSS px (image %.0f×%.0f) for %.0f modules with quiet zone: want square, a whole number ≥ 4 of px per module (got %.2f)",
			size["w"], size["h"], size["nw"], size["nh"], modules, perModule)
	}
	if version > 8 {
		t.Errorf("QR version %d, want ≤ 8", version)
	}
	b.screenshot(shots, "device-configuration"+vp.suffix+".png")

	b.setColorScheme("dark")
	if bg := b.eval(`getComputedStyle(document.body).backgroundColor`); bg == "rgb(244, 246, 248)" {
		t.Errorf("dark scheme emulation had no effect (body background %s)", bg)
	}
	checkQR("dark")
	b.checkContrast("Device configuration (dark)")
	b.screenshot(shots, "device-configuration-dark"+vp.suffix+".png")
	b.setColorScheme("light")

	// A wrong code: the error on the page, and the same secret key.
	bad := wrongCode(t, oathtool, key, ts.Clock.Now())
	if st := b.load("submit a wrong code",
		chromedp.SendKeys(chromedp.ID("code"), bad),
		chromedp.Click(chromedp.CSS(`form[action$="/configure"] button.primary[type=submit]`)),
	); st != 400 {
		t.Errorf("wrong code: status %d, want 400", st)
	}
	b.expectPage("Device configuration")
	if p := b.path(); p != "/devices/"+deviceID+"/configure" {
		t.Errorf("after a wrong code at %q, want the same enrollment", p)
	}
	if code := b.eval(`document.querySelector('[role="alert"]')?.dataset.code ?? ""`); code != "invalid_code" {
		t.Errorf("wrong code: alert code %q, want invalid_code", code)
	}
	if msg := b.text(`[role="alert"]`); !strings.Contains(msg, "That code is not right") {
		t.Errorf("wrong code: alert says %q", msg)
	}
	if inv := b.eval(`document.getElementById("code").getAttribute("aria-invalid") ?? ""`); inv != "true" {
		t.Errorf("wrong code: the code field has aria-invalid=%q, want true", inv)
	}
	b.do("click Show secret key again", chromedp.Click(chromedp.CSS("#secret summary")))
	if again := strings.Join(strings.Fields(b.text("#secret .secret-key code")), ""); again != key {
		t.Fatalf("after a wrong code the secret key is %q, want the same %q", again, key)
	}

	// The right code, from oathtool at the server's time.
	code := oathCode(t, oathtool, key, ts.Clock.Unix())
	b.load("submit the code",
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.CSS(`form[action$="/configure"] button.primary[type=submit]`)),
	)
	b.expectPage("My devices")
	row := `tr[data-device-id="` + deviceID + `"]`
	if name := b.text(row + " td.name"); name != "My iPhone X" {
		t.Errorf("My devices lists %q, want My iPhone X", name)
	}
	if typ := b.text(row + ` td[data-label="Type"]`); typ != "Authenticator app" {
		t.Errorf("device type %q, want Authenticator app", typ)
	}
	if n := b.text(`[role="status"]`); !strings.Contains(n, "My iPhone X") {
		t.Errorf("notice after registering: %q", n)
	}
	b.screenshot(shots, "my-devices"+vp.suffix+".png")

	// Sign out, sign in again: password, then the authenticator code.
	b.load("sign out", chromedp.Click(chromedp.CSS(`header form[action="/signout"] button[type=submit]`)))
	b.expectPage("Sign in")
	b.load("sign in again",
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "a long enough password"),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type=submit]`)),
	)
	if p := b.path(); !strings.HasPrefix(p, "/signin/mfa") {
		t.Fatalf("after the password at %q, want the MFA step", p)
	}
	if got := b.text(`label[for="code"]`); got != "Authenticator code" {
		t.Errorf("MFA step label %q, want Authenticator code", got)
	}
	// The code that confirmed the enrollment is spent.
	if st := b.load("sign in with the enrollment's code",
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.CSS(`form[action="/signin/mfa"] button[type=submit]`)),
	); st != 400 {
		t.Errorf("replayed code: status %d, want 400", st)
	}
	if c := b.eval(`document.querySelector('[role="alert"]')?.dataset.code ?? ""`); c != "code_reused" {
		t.Errorf("replayed code: alert code %q, want code_reused", c)
	}
	ts.Clock.Advance(30 * time.Second)
	fresh := oathCode(t, oathtool, key, ts.Clock.Unix())
	b.load("sign in with a fresh code",
		chromedp.SendKeys(chromedp.ID("code"), fresh),
		chromedp.Click(chromedp.CSS(`form[action="/signin/mfa"] button[type=submit]`)),
	)
	if p := b.path(); p != "/" {
		t.Fatalf("after the code at %q, want the portal home /", p)
	}
	b.expectPage("Welcome, alice")
	t.Logf("%s: seed flow in %v", vp.name, time.Since(start).Round(time.Millisecond))
}
