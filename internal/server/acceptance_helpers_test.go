package server_test

// Shared pieces of the acceptance suite (acceptance_*_test.go): one headless
// Chromium per suite, a guard that no request leaves localhost, the page
// checks every step runs (heading, overflow, contrast in both colour schemes,
// labels, announced messages, code fields, one stylesheet and system fonts),
// keyboard helpers, and the screenshots.

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"gatehouse/internal/testenv"
	"gatehouse/internal/totp"
)

// updateReadmeScreenshots rewrites the README's pictures in docs/screenshots
// (the desktop size of the pages readmeShots names, and only those):
//
//	go test ./internal/server -run Acceptance -count=1 -update-readme-screenshots
var updateReadmeScreenshots = flag.Bool("update-readme-screenshots", false, "rewrite the README's screenshots in docs/screenshots")

// readmeShots are the screenshots README.md shows.
var readmeShots = map[string]bool{
	"my-devices":           true,
	"device-configuration": true,
	"admin-user-devices":   true,
	"register-type":        true,
}

// suite is one acceptance run: a browser, the tools, where screenshots go,
// and what was seen along the way.
type suite struct {
	browser           context.Context
	shots, readmeDir  string
	oathtool, zbarimg string
	mu                sync.Mutex
	external          []string            // requests that left localhost
	requests          int                 // every request seen
	taken             map[string][]string // screenshot name → viewports
}

func startSuite(t *testing.T) *suite {
	t.Helper()
	chromium := chromiumPath(t)
	s := &suite{
		oathtool: testenv.RequireTool(t, "oathtool"),
		zbarimg:  testenv.RequireTool(t, "zbarimg"),
		// A folder of its own: the other browser tests name some of their
		// screenshots as this suite does.
		shots: filepath.Join(screenshotDir(t), "acceptance"),
		taken: map[string][]string{},
	}
	if err := os.MkdirAll(s.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	if *updateReadmeScreenshots {
		dir, err := filepath.Abs(filepath.Join("..", "..", "docs", "screenshots"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "..", "..", "go.mod")); err != nil {
			t.Fatalf("-update-readme-screenshots: %s is not the module's docs/screenshots", dir)
		}
		s.readmeDir = dir
	}
	s.browser = startBrowser(t, chromium)
	// Every request the page makes, recorded as it is sent: nothing may
	// leave this machine (no font, script or style from a CDN).
	if err := chromedp.Listen(s.browser, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && e.Request != nil {
			s.mu.Lock()
			s.requests++
			if !localURL(e.Request.URL) {
				s.external = append(s.external, e.Request.URL)
			}
			s.mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.external) > 0 {
			t.Errorf("pages made requests that left localhost:\n  %s", strings.Join(s.external, "\n  "))
		}
		if s.requests == 0 && !t.Failed() {
			t.Errorf("the request guard saw no request at all")
		}
		t.Logf("%d requests, none of them beyond localhost", s.requests-len(s.external))
		names := make([]string, 0, len(s.taken))
		for n := range s.taken {
			names = append(names, n)
		}
		sort.Strings(names)
		var lines []string
		for _, n := range names {
			lines = append(lines, n+" ("+strings.Join(s.taken[n], ", ")+")")
		}
		t.Logf("%d screenshots in %s:\n  %s", len(names), s.shots, strings.Join(lines, "\n  "))
		if s.readmeDir != "" {
			t.Logf("README screenshots rewritten in %s", s.readmeDir)
		}
	})
	return s
}

var localOrigin = regexp.MustCompile(`^https?://(localhost|127\.0\.0\.1)(:\d+)?(/|$)`)

func localURL(u string) bool {
	return localOrigin.MatchString(u) || strings.HasPrefix(u, "data:") || strings.HasPrefix(u, "blob:") || strings.HasPrefix(u, "about:")
}

// flow is one person's walk in the suite's tab, against one server.
type flow struct {
	*tab
	s  *suite
	ts *testServer
}

func (s *suite) flow(t *testing.T, ts *testServer, vp viewport) *flow {
	t.Helper()
	return &flow{tab: useTab(t, s.browser, ts.URL, vp), s: s, ts: ts}
}

// page checks the page the tab is on: its heading, that nothing sticks out
// sideways, contrast in the light and the dark scheme, and the page-wide
// accessibility and look rules (checkPage). With a name, it screenshots it.
func (f *flow) page(h1, shot string) {
	f.t.Helper()
	f.expectPage(h1)
	f.setColorScheme("dark")
	f.checkContrast(h1 + " (dark)")
	f.setColorScheme("light")
	f.checkPage(h1)
	if shot != "" {
		f.shot(shot)
	}
}

// shot writes a full-page screenshot named for the page and the viewport.
func (f *flow) shot(name string) {
	f.t.Helper()
	f.screenshot(f.s.shots, name+f.vp.suffix+".png")
	f.s.mu.Lock()
	f.s.taken[name] = append(f.s.taken[name], f.vp.name)
	f.s.mu.Unlock()
	if f.s.readmeDir != "" && f.vp.suffix == "" && readmeShots[name] {
		f.screenshot(f.s.readmeDir, name+".png")
	}
}

// darkShot screenshots the page in the dark colour scheme as NAME-dark.
func (f *flow) darkShot(name string) {
	f.t.Helper()
	f.setColorScheme("dark")
	f.shot(name + "-dark")
	f.setColorScheme("light")
}

// checkPage runs the rules every page keeps:
//   - every form control has a label (a <label for>, a wrapping label, or
//     aria-label / aria-labelledby) with words in it, and every button and
//     link has a name;
//   - errors are announced (role=alert, aria-live) and notices are status
//     messages; a field named in an error is marked aria-invalid;
//   - code fields ask for one-time codes on a numeric keyboard;
//   - one stylesheet, our own scripts only, no inline script or style
//     element, system fonts, no web fonts; images have alt text.
func (f *flow) checkPage(where string) {
	f.t.Helper()
	problems := get(f.tab, "page rules", chromedp.Evaluate[[]string](`(() => {
		const out = [], desc = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.name ? "[name=" + el.name + "]" : "");
		for (const el of document.querySelectorAll("input, select, textarea")) {
			if (el.type === "hidden") continue;
			const byLabel = [...(el.labels || [])].some(l => l.textContent.trim() !== "");
			const byAria = (el.getAttribute("aria-label") || "").trim() !== "" ||
				(el.getAttribute("aria-labelledby") || "").split(/\s+/).some(id => id && document.getElementById(id)?.textContent.trim());
			if (!byLabel && !byAria) out.push(desc(el) + " has no label");
		}
		for (const el of document.querySelectorAll("button, a[href]")) {
			if (!(el.textContent.trim() || el.getAttribute("aria-label"))) out.push(desc(el) + " has no accessible name");
		}
		for (const el of document.querySelectorAll(".alert.error")) {
			if (el.getAttribute("role") !== "alert" || !el.getAttribute("aria-live")) out.push("error message is not announced (role=alert, aria-live): " + el.textContent.trim());
			if (!el.dataset.code) out.push("error message without its code");
		}
		for (const el of document.querySelectorAll(".alert.notice")) {
			if (el.getAttribute("role") !== "status") out.push("notice is not a status message: " + el.textContent.trim());
		}
		for (const el of document.querySelectorAll("input[name=code]")) {
			if (el.closest('form[action="/signin/recovery"]')) continue; // letters and digits
			if (el.getAttribute("autocomplete") !== "one-time-code") out.push(desc(el) + " autocomplete=" + el.getAttribute("autocomplete"));
			if (el.getAttribute("inputmode") !== "numeric") out.push(desc(el) + " inputmode=" + el.getAttribute("inputmode"));
		}
		if (document.querySelector(".alert.error") && document.querySelector("input[name=code], input#name") &&
			!document.querySelector("[aria-invalid=true]") && !document.querySelector("input#confirm_password"))
			out.push("an error is shown but no field is marked aria-invalid");
		const sheets = [...document.querySelectorAll('link[rel~="stylesheet"]')].map(l => l.getAttribute("href"));
		if (sheets.length !== 1 || sheets[0] !== "/static/style.css" || document.styleSheets.length !== 1)
			out.push("stylesheets: " + JSON.stringify(sheets) + " (" + document.styleSheets.length + " in the document)");
		if (document.querySelector("style")) out.push("a <style> element");
		for (const sc of document.querySelectorAll("script")) {
			const src = sc.getAttribute("src");
			if (!src) out.push("an inline script");
			else if (!src.startsWith("/static/")) out.push("script from " + src);
		}
		if (document.fonts.size !== 0) out.push(document.fonts.size + " web fonts");
		const family = getComputedStyle(document.body).fontFamily;
		if (!family.startsWith("system-ui")) out.push("body font " + family);
		for (const img of document.querySelectorAll("img")) if (!img.hasAttribute("alt")) out.push("img without alt");
		if (!document.documentElement.lang) out.push("no lang on <html>");
		if (document.querySelectorAll("h1").length !== 1) out.push(document.querySelectorAll("h1").length + " h1 elements");
		return out;
	})()`))
	if len(problems) > 0 {
		f.t.Errorf("on %q at %s:\n  %s", where, f.vp.name, strings.Join(problems, "\n  "))
	}
}

// alert checks the page's error message: announced, with its stable code,
// saying what it should.
func (f *flow) alert(code string, says ...string) string {
	f.t.Helper()
	got := get(f.tab, "the error message", chromedp.Evaluate[map[string]string](`(() => {
		const a = document.querySelector('[role="alert"]');
		return a ? {code: a.dataset.code || "", live: a.getAttribute("aria-live") || "", text: a.textContent.trim()} : {};
	})()`))
	if got["code"] != code {
		f.t.Errorf("on %s: error %q (%q), want code %s", f.path(), got["code"], got["text"], code)
	}
	if got["live"] == "" {
		f.t.Errorf("on %s: the error is not in a live region", f.path())
	}
	for _, s := range says {
		if !strings.Contains(got["text"], s) {
			f.t.Errorf("on %s: error says %q, want it to say %q", f.path(), got["text"], s)
		}
	}
	return got["text"]
}

// notice is the page's status message.
func (f *flow) notice() string {
	f.t.Helper()
	return f.eval(`document.querySelector('.alert[role="status"]')?.textContent.trim() ?? ""`)
}

// at checks the path (without the query) the tab is on.
func (f *flow) at(path string) {
	f.t.Helper()
	p := f.path()
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if p != path {
		f.t.Fatalf("at %q, want %s", f.path(), path)
	}
}

// focused describes the focused element ("input#code", "a[href=/devices]").
func (f *flow) focused() string {
	f.t.Helper()
	return f.eval(`(() => { const e = document.activeElement; if (!e || e === document.body) return "body";
		return e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.getAttribute("href") ? "[href=" + e.getAttribute("href") + "]" : ""); })()`)
}

// wantFocus waits a moment for the focus (autofocus) to land on want.
func (f *flow) wantFocus(where, want string) {
	f.t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		got := f.focused()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			f.t.Errorf("%s: focus on %s, want %s", where, got, want)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// press sends keys to the focused element as key events (kb.Tab, kb.Enter, " ").
func (f *flow) press(what, keys string) {
	f.t.Helper()
	f.do(what, chromedp.KeyEvent(keys))
}

// tabTo presses Tab until the focused element matches sel, and checks that
// the focus is visible where it lands.
func (f *flow) tabTo(sel string) {
	f.t.Helper()
	for range 40 {
		f.press("Tab", kb.Tab)
		if f.eval(`document.activeElement?.matches(`+strconv.Quote(sel)+`) ? "yes" : "no"`) == "yes" {
			f.focusVisible(sel)
			return
		}
	}
	f.t.Fatalf("on %s, 40 presses of Tab never reached %s", f.path(), sel)
}

// focusVisible checks the focused element (or, for the QR toggle, its
// visible label) draws a focus ring.
func (f *flow) focusVisible(sel string) {
	f.t.Helper()
	ring := f.eval(`(() => {
		let e = document.activeElement;
		if (e.classList.contains("toggle")) e = document.querySelector('label[for="' + e.id + '"]');
		const cs = getComputedStyle(e);
		return cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 2 ? "yes" : cs.outlineStyle + " " + cs.outlineWidth;
	})()`)
	if ring != "yes" {
		f.t.Errorf("on %s, keyboard focus on %s is not visible (outline %s)", f.path(), sel, ring)
	}
}

// signIn types the password step (with the mouse).
func (f *flow) signIn(user, pw string) {
	f.t.Helper()
	f.signInPassword(user, pw)
}

// submitCode types a code into #code and submits its form; it returns the
// HTTP status of the page that follows.
func (f *flow) submitCode(code string) int64 {
	f.t.Helper()
	return f.load("submit the code "+code,
		chromedp.Evaluate[chromedp.Void](`document.getElementById("code").value = ""`),
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.CSS(`form:has(#code) button.primary[type=submit]`)))
}

// code is the authenticator's code for key (base32) at the server's clock,
// steps periods away, from the independent oathtool.
func (f *flow) code(key string, steps int) string {
	f.t.Helper()
	at := f.ts.Clock.Now().Add(time.Duration(steps) * 30 * time.Second)
	return oathCode(f.t, f.s.oathtool, key, "@"+strconv.FormatInt(at.Unix(), 10))
}

// countdown reads the seconds the current code has left from the page's hint.
func (f *flow) countdown() int {
	f.t.Helper()
	f.do("wait for the countdown", chromedp.Poll[chromedp.Void](`!document.getElementById("code-countdown").hidden`, chromedp.WithPollingTimeout(5*time.Second)))
	txt := f.text("#code-countdown")
	m := regexp.MustCompile(`changes in (\d+) seconds?\.`).FindStringSubmatch(txt)
	if m == nil {
		f.t.Fatalf("countdown says %q", txt)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// wantCountdown checks the hint counts from the server's clock (not the
// browser's): left is what the server's time gives, less the few seconds
// the page has been open.
func (f *flow) wantCountdown() {
	f.t.Helper()
	now := f.ts.Clock.Now().Unix()
	want := int(30 - now%30)
	if got := f.countdown(); (want-got+30)%30 > 4 {
		f.t.Errorf("on %s the countdown says %d s left, want %d by the server's clock", f.path(), got, want)
	}
}

// revealSecret opens Show secret key and returns the key without spaces,
// after checking a screen reader hears it in groups of four and the copy
// button copies it without spaces.
func (f *flow) revealSecret() string {
	f.t.Helper()
	if f.eval(`document.getElementById("secret").open ? "open" : "closed"`) != "open" {
		f.do("click Show secret key", chromedp.Click(chromedp.CSS("#secret summary")))
	}
	shown := f.text("#secret .secret-key code")
	key := strings.Join(strings.Fields(shown), "")
	if !regexp.MustCompile(`^[A-Z2-7]{32}$`).MatchString(key) {
		f.t.Fatalf("secret key on the page %q", shown)
	}
	if want := strings.Join(strings.Fields(totp.GroupSecret(key)), " "); strings.Join(strings.Fields(shown), " ") != want {
		f.t.Errorf("secret key shown as %q, want groups of four %q", shown, want)
	}
	spoken := f.eval(`document.querySelector("#secret .secret-key code").getAttribute("aria-label") ?? ""`)
	if want := "Secret key, in groups of four: " + strings.Join(strings.Fields(totp.GroupSecret(key)), ", "); spoken != want {
		f.t.Errorf("a screen reader hears %q, want %q", spoken, want)
	}
	// What the browser gives a screen reader, from its accessibility tree.
	if role, name := f.axName("#secret .secret-key code"); !strings.Contains(name, "in groups of four: "+strings.Join(strings.Fields(totp.GroupSecret(key)), ", ")) {
		f.t.Errorf("the accessibility tree names the secret key (role %s) %q, want it in groups", role, name)
	}
	copyBtn := get(f.tab, "copy button", chromedp.Evaluate[map[string]string](`(() => {
		const b = document.querySelector("#secret button.copy");
		return b ? {hidden: String(b.hidden), copy: b.dataset.copy, text: b.textContent.trim()} : {};
	})()`))
	if copyBtn["hidden"] != "false" || copyBtn["copy"] != key || copyBtn["text"] != "Copy" {
		f.t.Errorf("copy button %v, want a visible Copy that copies %s", copyBtn, key)
	}
	return key
}

// axName is the role and accessible name the browser computes for the
// element sel finds, from its accessibility tree (what a screen reader reads).
func (f *flow) axName(sel string) (role, name string) {
	f.t.Helper()
	nodes := get(f.tab, "node "+sel, chromedp.Nodes(chromedp.CSS(sel)))
	f.do("accessibility tree of "+sel, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		relatives := false
		res, err := chromedp.Call(ctx, accessibility.GetPartialAXTree, accessibility.GetPartialAXTreeParams{BackendNodeID: nodes[0].BackendNodeID, FetchRelatives: &relatives})
		if err != nil {
			return err
		}
		for _, n := range res.Nodes {
			if n.BackendDOMNodeID != nodes[0].BackendNodeID {
				continue
			}
			if n.Role != nil {
				_ = json.Unmarshal(n.Role.Value, &role)
			}
			if n.Name != nil {
				_ = json.Unmarshal(n.Name.Value, &name)
			}
		}
		return nil
	}))
	return role, name
}

// allowClipboard lets the page read and write the clipboard, as a person's
// browser does after a click on Copy.
func (f *flow) allowClipboard() {
	f.t.Helper()
	f.do("clipboard permissions", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		for _, name := range []string{"clipboard-read", "clipboard-write"} {
			if _, err := chromedp.Call(ctx, browser.SetPermission, browser.SetPermissionParams{
				Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted, Origin: f.base,
			}); err != nil {
				return err
			}
		}
		return nil
	}))
}

// noScript turns JavaScript off (or on again) for the tab's next pages.
func (f *flow) noScript(off bool) {
	f.t.Helper()
	f.do("script execution", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: off})
		return err
	}))
}

// addApp registers an authenticator app for a user through the service and
// returns its key (base32); the clock moves on a step so its next code is fresh.
func addApp(t *testing.T, ts *testServer, username, device string) string {
	t.Helper()
	ctx := context.Background()
	id := userID(t, ts, username)
	e, err := ts.App.MFA.StartTOTP(ctx, id, username, device)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.App.MFA.Confirm(ctx, id, e.ID, totp.HOTP(e.Secret, totp.Counter(ts.Clock.Now(), 30), totp.Default)); err != nil {
		t.Fatal(err)
	}
	ts.Clock.Advance(30 * time.Second)
	return e.EncodedSecret()
}
