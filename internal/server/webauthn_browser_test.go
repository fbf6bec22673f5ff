package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	cdpwa "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"gatehouse/internal/mfa"
	"gatehouse/internal/passkey/passkeytest"
	"gatehouse/internal/totp"
)

// TestWebAuthnInChromium registers and uses security keys and built-in
// authenticators in headless Chromium with its virtual authenticators
// (../shared/TESTING.md): a security key (CTAP2 over USB) and a built-in
// authenticator (CTAP2, internal, with user verification).
func TestWebAuthnInChromium(t *testing.T) {
	chromium := chromiumPath(t)
	shots := screenshotDir(t)
	browser := startBrowser(t, chromium)
	t.Run("register and sign in with each, refuse a key twice, delete and register again", func(t *testing.T) {
		webauthnRegisterFlow(t, browser, shots)
	})
	t.Run("a user with an app and a key signs in with either", func(t *testing.T) {
		webauthnEitherFactor(t, browser, shots)
	})
	t.Run("a browser without WebAuthn sees the options disabled and why", func(t *testing.T) {
		webauthnUnsupported(t, browser, shots)
	})
}

// authenticator adds a virtual authenticator to the tab, removed when the
// subtest ends. AutomaticPresenceSimulation must be set: without it,
// create() and get() wait for a touch that never comes.
func (b *tab) authenticator(transport cdpwa.AuthenticatorTransport, uv bool) cdpwa.AuthenticatorID {
	b.t.Helper()
	var id cdpwa.AuthenticatorID
	b.do("add a virtual "+string(transport)+" authenticator", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, cdpwa.Enable, cdpwa.EnableParams{}); err != nil {
			return err
		}
		res, err := chromedp.Call(ctx, cdpwa.AddVirtualAuthenticator, cdpwa.AddVirtualAuthenticatorParams{Options: &cdpwa.VirtualAuthenticatorOptions{
			Protocol: cdpwa.AuthenticatorProtocolCtap2, Ctap2version: cdpwa.Ctap2versionCtap21, Transport: transport,
			HasUserVerification: uv, IsUserVerified: uv, AutomaticPresenceSimulation: true,
		}})
		id = res.AuthenticatorID
		return err
	}))
	b.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		defer cancel()
		_, _ = chromedp.Run(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, cdpwa.RemoveVirtualAuthenticator, cdpwa.RemoveVirtualAuthenticatorParams{AuthenticatorID: id})
			return err
		}))
	})
	return id
}

// present turns an authenticator's simulated touch on or off: off, it
// never answers, so the other one does.
func (b *tab) present(id cdpwa.AuthenticatorID, on bool) {
	b.t.Helper()
	b.do("presence", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, cdpwa.SetAutomaticPresenceSimulation, cdpwa.SetAutomaticPresenceSimulationParams{AuthenticatorID: id, Enabled: on})
		return err
	}))
}

func (b *tab) credentialCount(id cdpwa.AuthenticatorID) int {
	b.t.Helper()
	var n int
	b.do("credentials", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		res, err := chromedp.Call(ctx, cdpwa.GetCredentials, cdpwa.GetCredentialsParams{AuthenticatorID: id})
		n = len(res.Credentials)
		return err
	}))
	return n
}

// waitEnabled waits for the script to enable a control.
func (b *tab) waitEnabled(id string) {
	b.t.Helper()
	b.do("wait for #"+id+" to be enabled", chromedp.Poll[chromedp.Void](`!document.getElementById("`+id+`").disabled`, chromedp.WithPollingTimeout(5*time.Second)))
}

func (b *tab) signInPassword(user, pw string) {
	b.t.Helper()
	b.do("open /signin", chromedp.Navigate(b.base+"/signin"))
	b.load("sign in with the password",
		chromedp.SendKeys(chromedp.ID("username"), user),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type=submit]`)))
}

func (b *tab) signOut() {
	b.t.Helper()
	b.load("sign out", chromedp.Click(chromedp.CSS(`header form[action="/signout"] button[type=submit]`)))
	b.expectPage("Sign in")
}

// registerKey goes My devices → Register MFA device → type → Device name →
// Next, and leaves the tab where the ceremony took it.
func (b *tab) registerKey(typ mfa.Type, name string) {
	b.t.Helper()
	b.do("open My devices", chromedp.Navigate(b.base+"/devices"))
	b.load("click Register MFA device", chromedp.Click(chromedp.ID("register")))
	b.expectPage("Choose MFA device type")
	b.waitEnabled("type-" + string(typ))
	b.load("choose "+typ.Label(), chromedp.Click(chromedp.ID("type-"+string(typ))), chromedp.Click(chromedp.ID("choose-next")))
	b.expectPage("Device name")
	if p := b.path(); p != "/devices/register/key?type="+string(typ) {
		b.t.Fatalf("Device name for a %s at %q", typ.Label(), p)
	}
	b.waitEnabled("webauthn-register-button")
	b.do("type the name", chromedp.SendKeys(chromedp.ID("name"), name))
}

// deviceByName finds the user's active device.
func deviceByName(t *testing.T, ts *testServer, userID, name string) mfa.Device {
	t.Helper()
	devices, err := ts.App.MFA.List(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devices {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no device %q among %+v", name, devices)
	return mfa.Device{}
}

func userID(t *testing.T, ts *testServer, name string) string {
	t.Helper()
	u, err := ts.App.Store.UserByUsername(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func webauthnRegisterFlow(t *testing.T, browser context.Context, shots string) {
	start := time.Now()
	ts := startServer(t)
	ts.addUser(t, "alice", "a long enough password")
	alice := userID(t, ts, "alice")
	b := useTab(t, browser, ts.URL, viewports[0])
	usb := b.authenticator(cdpwa.AuthenticatorTransportUsb, false)
	internal := b.authenticator(cdpwa.AuthenticatorTransportInternal, true)

	b.signInPassword("alice", "a long enough password")
	b.expectPage("Welcome, alice")

	// The type choice, with both WebAuthn types enabled by the script.
	b.do("open My devices", chromedp.Navigate(ts.URL+"/devices"))
	b.load("click Register MFA device", chromedp.Click(chromedp.ID("register")))
	b.expectPage("Choose MFA device type")
	b.waitEnabled("type-security_key")
	b.waitEnabled("type-built_in")
	labels := b.eval(`[...document.querySelectorAll("label.type-option .type-label")].map(e => e.textContent).join("|")`)
	if labels != "Authenticator app|Security key|Built-in authenticator" {
		t.Errorf("types offered %q", labels)
	}
	b.screenshot(shots, "register-type.png")

	// A security key.
	b.registerKey(mfa.TypeSecurityKey, "Blue YubiKey")
	b.screenshot(shots, "register-key-name.png")
	b.load("Next: the browser's ceremony", chromedp.Click(chromedp.ID("webauthn-register-button")))
	b.expectPage("My devices")
	key := deviceByName(t, ts, alice, "Blue YubiKey")
	row := `tr[data-device-id="` + key.ID + `"]`
	if typ := b.text(row + ` td[data-label="Type"]`); typ != "Security key" {
		t.Errorf("type column %q, want Security key", typ)
	}
	if n := b.text(`[role="status"]`); !strings.Contains(n, "Blue YubiKey") {
		t.Errorf("notice %q", n)
	}
	if b.credentialCount(usb) != 1 || b.credentialCount(internal) != 0 {
		t.Fatalf("the security key's credential is not on the USB authenticator")
	}

	// A built-in authenticator.
	b.registerKey(mfa.TypeBuiltIn, "Work laptop")
	b.load("Next: the browser's ceremony", chromedp.Click(chromedp.ID("webauthn-register-button")))
	b.expectPage("My devices")
	laptop := deviceByName(t, ts, alice, "Work laptop")
	if typ := b.text(`tr[data-device-id="` + laptop.ID + `"] td[data-label="Type"]`); typ != "Built-in authenticator" {
		t.Errorf("type column %q, want Built-in authenticator", typ)
	}
	if b.credentialCount(internal) != 1 {
		t.Fatalf("the built-in authenticator holds no credential")
	}
	b.screenshot(shots, "my-devices-keys.png")

	// The same key again: the browser declines (excludeCredentials) and the
	// page says so; nothing is registered.
	b.registerKey(mfa.TypeSecurityKey, "Same key")
	b.do("Next with the same key", chromedp.Click(chromedp.ID("webauthn-register-button")))
	b.do("wait for the error", chromedp.Poll[chromedp.Void](`document.querySelector('[role="alert"]') !== null`, chromedp.WithPollingTimeout(10*time.Second)))
	if code := b.eval(`document.querySelector('[role="alert"]').dataset.code`); code != "conflict" {
		t.Errorf("same key again: alert code %q, want conflict", code)
	}
	if msg := b.text(`[role="alert"]`); msg != "This security key is already registered." {
		t.Errorf("same key again: alert %q", msg)
	}
	b.waitEnabled("webauthn-register-button")
	b.expectPage("Device name")
	b.screenshot(shots, "register-key-twice.png")
	if devices, _ := ts.App.MFA.List(context.Background(), alice); len(devices) != 2 {
		t.Errorf("after the refused key: %d devices, want 2", len(devices))
	}

	// Sign in with each: only security keys, so no code form.
	b.do("open My devices", chromedp.Navigate(ts.URL+"/devices"))
	b.signOut()
	for _, use := range []struct {
		dev      mfa.Device
		on, off  cdpwa.AuthenticatorID
		shotName string
	}{{key, usb, internal, "mfa-step-key.png"}, {laptop, internal, usb, ""}} {
		b.present(use.off, false)
		b.signInPassword("alice", "a long enough password")
		b.expectPage("Verify your identity")
		if n := b.eval(`String(document.querySelectorAll("#code").length)`); n != "0" {
			t.Errorf("the MFA step offers a code to a user with no app")
		}
		b.waitEnabled("webauthn-signin-button")
		if use.shotName != "" {
			b.screenshot(shots, use.shotName)
		}
		before := deviceByName(t, ts, alice, use.dev.Name)
		b.load("Use your security key", chromedp.Click(chromedp.ID("webauthn-signin-button")))
		if p := b.path(); p != "/" {
			t.Fatalf("after the %s at %q, want /", use.dev.Name, p)
		}
		b.expectPage("Welcome, alice")
		after := deviceByName(t, ts, alice, use.dev.Name)
		if after.LastUsedAt.IsZero() || !before.LastUsedAt.IsZero() {
			t.Errorf("%s: last used %v → %v", use.dev.Name, before.LastUsedAt, after.LastUsedAt)
		}
		b.present(use.off, true)
		b.signOut()
	}
	creds, err := ts.App.Store.WebAuthnCredentials(context.Background(), alice)
	if err != nil || len(creds) != 2 {
		t.Fatalf("credentials %v, %v", creds, err)
	}
	for _, c := range creds {
		if c.Credential.SignCount < 2 || !c.Credential.FlagsKnown || len(c.Credential.Transports) == 0 {
			t.Errorf("%s: credential after a sign-in %+v", c.Device.Name, c.Credential)
		}
	}

	// Delete the security key, then register it again.
	b.signInPassword("alice", "a long enough password")
	b.load("Use your security key", chromedp.Click(chromedp.ID("webauthn-signin-button")))
	b.do("open My devices", chromedp.Navigate(ts.URL+"/devices"))
	b.load("Delete the key", chromedp.Click(chromedp.CSS(`tr[data-device-id="`+key.ID+`"] a.danger`)))
	b.expectPage("Delete device")
	b.load("confirm", chromedp.Click(chromedp.CSS(`form[action$="/delete"] button[type=submit]`)))
	b.expectPage("My devices")
	if devices, _ := ts.App.MFA.List(context.Background(), alice); len(devices) != 1 {
		t.Fatalf("after deleting the key: %d devices", len(devices))
	}
	b.registerKey(mfa.TypeSecurityKey, "Blue YubiKey")
	b.load("Next: register it again", chromedp.Click(chromedp.ID("webauthn-register-button")))
	b.expectPage("My devices")
	again := deviceByName(t, ts, alice, "Blue YubiKey")
	if again.ID == key.ID || again.Type != mfa.TypeSecurityKey {
		t.Errorf("registered again %+v", again)
	}
	t.Logf("register flow in %v", time.Since(start).Round(time.Millisecond))
}

func webauthnEitherFactor(t *testing.T, browser context.Context, shots string) {
	ts := startServer(t)
	ts.addUser(t, "bob", "a long enough password")
	bob := userID(t, ts, "bob")
	// An authenticator app, registered through the service.
	ctx := context.Background()
	e, err := ts.App.MFA.StartTOTP(ctx, bob, "bob", "Phone")
	if err != nil {
		t.Fatal(err)
	}
	code := func() string {
		return totp.HOTP(e.Secret, totp.Counter(ts.Clock.Now(), 30), totp.Default)
	}
	if _, err := ts.App.MFA.Confirm(ctx, bob, e.ID, code()); err != nil {
		t.Fatal(err)
	}
	ts.Clock.Advance(30 * time.Second)

	b := useTab(t, browser, ts.URL, viewports[1]) // the phone size
	b.authenticator(cdpwa.AuthenticatorTransportUsb, false)
	b.signInPassword("bob", "a long enough password")
	b.expectPage("Verify your identity")
	b.load("sign in with the code", chromedp.SendKeys(chromedp.ID("code"), code()), chromedp.Click(chromedp.CSS(`form[action="/signin/mfa"] button[type=submit]`)))
	b.expectPage("Welcome, bob")
	b.registerKey(mfa.TypeSecurityKey, "Keyring key")
	b.load("Next: the browser's ceremony", chromedp.Click(chromedp.ID("webauthn-register-button")))
	b.expectPage("My devices")
	b.screenshot(shots, "my-devices-app-and-key-375x667.png")
	b.signOut()

	// Both factors are offered; the code works…
	ts.Clock.Advance(30 * time.Second)
	b.signInPassword("bob", "a long enough password")
	b.expectPage("Verify your identity")
	if got := b.text(`label[for="code"]`); got != "Authenticator code" {
		t.Errorf("code label %q", got)
	}
	b.waitEnabled("webauthn-signin-button")
	if got := b.text("#webauthn-signin-button"); got != "Use your security key" {
		t.Errorf("key button %q", got)
	}
	b.screenshot(shots, "mfa-step-both-375x667.png")
	b.do("desktop size", chromedp.EmulateViewport(viewports[0].w, viewports[0].h))
	b.vp = viewports[0]
	b.expectPage("Verify your identity")
	b.screenshot(shots, "mfa-step-both.png")
	b.load("sign in with the code", chromedp.SendKeys(chromedp.ID("code"), code()), chromedp.Click(chromedp.CSS(`form[action="/signin/mfa"] button[type=submit]`)))
	b.expectPage("Welcome, bob")
	b.signOut()

	// …and so does the key.
	b.signInPassword("bob", "a long enough password")
	b.waitEnabled("webauthn-signin-button")
	b.load("Use your security key", chromedp.Click(chromedp.ID("webauthn-signin-button")))
	b.expectPage("Welcome, bob")
	if d := deviceByName(t, ts, bob, "Keyring key"); d.LastUsedAt.IsZero() {
		t.Errorf("the key's last use was not recorded")
	}
}

func webauthnUnsupported(t *testing.T, browser context.Context, shots string) {
	ts := startServer(t)
	ts.addUser(t, "carol", "a long enough password")
	b := useTab(t, browser, ts.URL, viewports[0])
	var script page.ScriptIdentifier
	b.do("a browser without WebAuthn", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		res, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `delete window.PublicKeyCredential;`})
		script = res.Identifier
		return err
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		defer cancel()
		_, _ = chromedp.Run(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: script})
			return err
		}))
	})
	b.signInPassword("carol", "a long enough password")
	b.do("open the type choice", chromedp.Navigate(ts.URL+"/devices/register/choose"))
	b.expectPage("Choose MFA device type")
	b.do("wait for the script's verdict", chromedp.Poll[chromedp.Void](`document.getElementById("reason-security_key").textContent.includes("does not support")`, chromedp.WithPollingTimeout(5*time.Second)))
	for _, typ := range []string{"security_key", "built_in"} {
		if b.eval(`document.getElementById("type-`+typ+`").disabled ? "disabled" : "enabled"`) != "disabled" {
			t.Errorf("%s is selectable in a browser without WebAuthn", typ)
		}
		if r := b.text("#reason-" + typ); !strings.Contains(r, "This browser does not support security keys (WebAuthn)") {
			t.Errorf("%s: reason %q", typ, r)
		}
	}
	if b.eval(`document.getElementById("type-totp").disabled ? "disabled" : "enabled"`) != "enabled" {
		t.Errorf("Authenticator app is not selectable")
	}
	b.screenshot(shots, "register-type-no-webauthn.png")
	b.do("open a key's Device name", chromedp.Navigate(ts.URL+"/devices/register/key?type=security_key"))
	b.expectPage("Device name")
	if b.eval(`document.getElementById("webauthn-register-button").disabled ? "disabled" : "enabled"`) != "disabled" {
		t.Errorf("Next is enabled in a browser without WebAuthn")
	}
	// The server refuses too: a disabled button is not a control.
	if st := b.load("post the form anyway", chromedp.Evaluate[chromedp.Void](`document.getElementById("name").value = "x"; document.getElementById("webauthn-register").submit()`)); st != 400 {
		t.Errorf("posting the key form without the script: status %d, want 400", st)
	}
	if msg := b.text(`[role="alert"]`); !strings.Contains(msg, "needs JavaScript") {
		t.Errorf("alert %q", msg)
	}

	// At sign-in, a user whose only device is a security key (registered
	// elsewhere: here with the software authenticator) is told why the
	// button does nothing in this browser.
	registerSoftwareKey(t, ts, userID(t, ts, "carol"), "carol", "Key from another browser")
	b.do("open My devices", chromedp.Navigate(ts.URL+"/devices"))
	b.signOut()
	b.signInPassword("carol", "a long enough password")
	b.expectPage("Verify your identity")
	b.do("wait for the script's verdict", chromedp.Poll[chromedp.Void](`document.getElementById("webauthn-signin-status").textContent.includes("does not support")`, chromedp.WithPollingTimeout(5*time.Second)))
	if b.eval(`document.getElementById("webauthn-signin-button").disabled ? "disabled" : "enabled"`) != "disabled" {
		t.Errorf("Use your security key is enabled in a browser without WebAuthn")
	}
	b.screenshot(shots, "mfa-step-no-webauthn.png")
}

// registerSoftwareKey registers a security key for a user through the
// service, answered by the software authenticator.
func registerSoftwareKey(t *testing.T, ts *testServer, id, name, device string) *passkeytest.Authenticator {
	t.Helper()
	ctx := context.Background()
	a := passkeytest.New(ts.URL)
	e, err := ts.App.WebAuthn.StartRegistration(ctx, id, name, "test-session", device, mfa.TypeSecurityKey)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Create(e.Options)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.App.WebAuthn.ConfirmRegistration(ctx, id, name, "test-session", e.ID, resp); err != nil {
		t.Fatal(err)
	}
	return a
}
