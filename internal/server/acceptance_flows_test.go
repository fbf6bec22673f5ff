package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	cdpwa "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"gatehouse/internal/mfa"
	"gatehouse/internal/policy"
)

// TestAcceptance walks, in headless Chromium, every flow a person walks
// (issue 7), at a phone's size (375×667) and a desktop's (1280×800). Every
// page on the way is checked by flow.page: heading, nothing outside the
// viewport, text contrast ≥ 4.5:1 in the light and the dark scheme, every
// control labelled, errors announced, code fields for one-time codes, one
// stylesheet, system fonts; and no request of any page leaves localhost.
// The QR code as a phone sees it (decoded from the screen with zbarimg, in
// both schemes, unreadable before Show QR code) is TestSeedFlowInChromium's.
//
// Screenshots of each page at both sizes go to $GATEHOUSE_SCREENSHOTS, else
// to a temporary directory; the test logs which. The README's come from
//
//	go test ./internal/server -run Acceptance -count=1 -update-readme-screenshots
func TestAcceptance(t *testing.T) {
	for _, vp := range viewports {
		// One browser per size, side by side: a browser serves one tab here
		// (useTab), and the sizes share nothing.
		t.Run(vp.name, func(t *testing.T) {
			t.Parallel()
			s := startSuite(t)
			start := time.Now()
			flows := []struct {
				name string
				run  func(*testing.T, *suite, viewport)
			}{
				{"first start: one-time password, new password, first device, sign in with a code", acceptFirstStart},
				{"security key and built-in authenticator, registered at sign-in", acceptKeys},
				{"trusted device under the context-aware setting", acceptTrustedDevice},
				{"registration turned off or at its limit: the button says why", acceptRegistrationOff},
				{"an administrator deletes a lost device; the user registers again", acceptAdminDeletesLostDevice},
				{"every error message of the registration and sign-in", acceptErrors},
				{"registration with the keyboard only", acceptKeyboard},
				{"recovery codes: made on My devices, one signs in", acceptRecoveryCode},
			}
			for _, fl := range flows {
				t.Run(fl.name, func(t *testing.T) {
					began := time.Now()
					fl.run(t, s, vp)
					t.Logf("%s in %v", fl.name, time.Since(began).Round(time.Millisecond))
				})
			}
			t.Logf("every flow at %s in %v", vp.name, time.Since(start).Round(time.Millisecond))
		})
	}
}

// acceptFirstStart: the README's first start. The administrator account
// made at first start, its one-time password, the forced password change,
// the forced registration of an authenticator app (the default policy
// requires a device), sign out, and sign in with a code.
func acceptFirstStart(t *testing.T, s *suite, vp viewport) {
	ts := startServerWithDefaults(t)
	otp, err := ts.App.BootstrapAdmin(context.Background())
	if err != nil || otp == "" {
		t.Fatalf("bootstrap: %q, %v", otp, err)
	}
	f := s.flow(t, ts, vp)
	f.do("open the portal", chromedp.Navigate(ts.URL+"/"))
	f.at("/signin")
	f.page("Sign in", "signin")
	f.wantFocus("Sign in", "input#username")
	f.load("a wrong password",
		chromedp.SendKeys(chromedp.ID("username"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), "not the one-time password"),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type=submit]`)))
	f.alert("invalid_credentials")
	f.page("Sign in", "signin-error")
	f.load("sign in with the one-time password",
		chromedp.Evaluate[chromedp.Void](`document.getElementById("username").value = ""`),
		chromedp.SendKeys(chromedp.ID("username"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), otp),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type=submit]`)))
	f.at("/password/change")
	f.page("Choose a new password", "password-change")

	const pw = "a password of my own choosing"
	f.load("two different passwords",
		chromedp.SendKeys(chromedp.ID("new_password"), pw),
		chromedp.SendKeys(chromedp.ID("confirm_password"), pw+"!"),
		chromedp.Click(chromedp.CSS(`form[action="/password/change"] button[type=submit]`)))
	f.alert("invalid_input", "not the same")
	f.page("Choose a new password", "")
	f.load("choose a password",
		chromedp.SendKeys(chromedp.ID("new_password"), pw),
		chromedp.SendKeys(chromedp.ID("confirm_password"), pw),
		chromedp.Click(chromedp.CSS(`form[action="/password/change"] button[type=submit]`)))

	// Straight into registering the first device; nothing else is reachable.
	f.at("/devices/register/choose")
	f.page("Choose MFA device type", "register-type-first-device")
	if c := f.text(".callout"); !strings.Contains(c, "Your administrator requires an MFA device") {
		t.Errorf("first device: callout %q", c)
	}
	f.do("try My devices", chromedp.Navigate(ts.URL+"/devices"))
	f.at("/devices/register/choose")
	f.load("choose Authenticator app", chromedp.Click(chromedp.ID("type-totp")), chromedp.Click(chromedp.ID("choose-next")))
	f.page("Device name", "device-name")
	f.load("name it", chromedp.SendKeys(chromedp.ID("name"), "My iPhone X"),
		chromedp.Click(chromedp.CSS(`form[action="/devices/register"] button[type=submit]`)))
	f.page("Device configuration", "device-configuration-obscured")
	f.wantCountdown()
	f.do("click Show QR code", chromedp.Click(chromedp.ID("show-qr-label")))
	f.do("wait for the QR", chromedp.Poll[chromedp.Void](`getComputedStyle(document.querySelector("#qr img")).filter === "none"`, chromedp.WithPollingTimeout(5*time.Second)))
	if txt, ok := decodeQR(t, s.zbarimg, get(f.tab, "QR screenshot", chromedp.Screenshot(chromedp.CSS("#qr img")))); !ok || !strings.HasPrefix(txt, "otpauth://totp/Gatehouse:admin?") {
		t.Errorf("the QR on the screen reads %q (found %v)", txt, ok)
	}
	f.shot("device-configuration")
	f.darkShot("device-configuration")
	key := f.revealSecret()
	f.shot("device-configuration-secret")
	f.submitCode(f.code(key, 0))

	// On to where the sign-in was going (My devices, tried above).
	f.at("/devices")
	f.page("My devices", "my-devices-one")
	if n := f.text(`tr[data-device-id] td.name`); n != "My iPhone X" {
		t.Errorf("My devices lists %q", n)
	}
	f.load("open the portal home", chromedp.Click(chromedp.CSS(`header a.brand`)))
	f.page("Welcome, admin", "home")
	f.signOut()

	// Sign in with a code: the field has the focus, the hint counts down by
	// the server's clock, here 45 s ahead of the browser's.
	ts.Clock.Set(time.Now().Add(45 * time.Second).Truncate(time.Second))
	f.signIn("admin", pw)
	f.at("/signin/mfa")
	f.page("Verify your identity", "mfa-step")
	f.darkShot("mfa-step")
	f.wantFocus("MFA step", "input#code")
	f.wantCountdown()
	// Without JavaScript the page works and shows no countdown.
	f.noScript(true)
	f.do("reload without JavaScript", chromedp.Reload())
	if h := f.eval(`String(document.getElementById("code-countdown").hidden)`); h != "true" {
		t.Errorf("without JavaScript the countdown shows")
	}
	f.submitCode(f.code(key, 0))
	f.noScript(false)
	f.at("/")
	f.page("Welcome, admin", "")
}

// acceptKeys: a user without a device is sent to register one after the
// password (the default policy) and picks a security key; then adds a
// built-in authenticator from My devices, and signs in with each.
func acceptKeys(t *testing.T, s *suite, vp viewport) {
	ts := startServerWithDefaults(t)
	ts.addUser(t, "dana", testPassword)
	f := s.flow(t, ts, vp)
	usb := f.authenticator(cdpwa.AuthenticatorTransportUsb, false)
	internal := f.authenticator(cdpwa.AuthenticatorTransportInternal, true)

	f.signIn("dana", testPassword)
	f.at("/devices/register/choose")
	f.waitEnabled("type-security_key")
	f.page("Choose MFA device type", "")
	f.load("choose Security key", chromedp.Click(chromedp.ID("type-security_key")), chromedp.Click(chromedp.ID("choose-next")))
	f.waitEnabled("webauthn-register-button")
	f.page("Device name", "device-name-key")
	f.load("name it and Next: the browser's ceremony",
		chromedp.SendKeys(chromedp.ID("name"), "Blue YubiKey"),
		chromedp.Click(chromedp.ID("webauthn-register-button")))
	f.at("/")
	f.page("Welcome, dana", "")

	f.registerKey(mfa.TypeBuiltIn, "Work laptop")
	f.load("Next: the browser's ceremony", chromedp.Click(chromedp.ID("webauthn-register-button")))
	f.page("My devices", "")
	if n := f.notice(); !strings.Contains(n, "Work laptop") {
		t.Errorf("notice %q", n)
	}
	// And an app, for the README's picture of all three kinds.
	addApp(t, ts, "dana", "Dana's iPhone")
	f.do("reload My devices", chromedp.Navigate(ts.URL+"/devices"))
	f.page("My devices", "my-devices")
	f.darkShot("my-devices")
	if types := f.eval(`[...document.querySelectorAll('tr[data-device-id] td[data-label="Type"]')].map(e => e.textContent).sort().join("|")`); types != "Authenticator app|Built-in authenticator|Security key" {
		t.Errorf("types listed %q", types)
	}
	f.signOut()

	for i, use := range []struct{ on, off cdpwa.AuthenticatorID }{{usb, internal}, {internal, usb}} {
		f.present(use.off, false)
		f.signIn("dana", testPassword)
		f.waitEnabled("webauthn-signin-button")
		f.page("Verify your identity", map[bool]string{true: "mfa-step-code-or-key"}[i == 0])
		f.load("Use your security key", chromedp.Click(chromedp.ID("webauthn-signin-button")))
		f.at("/")
		f.page("Welcome, dana", "")
		f.present(use.off, true)
		f.signOut()
	}
}

// acceptTrustedDevice: under context-aware prompting, "This is a trusted
// device" skips the code at the next sign-in on this browser; My devices
// lists the browser, and revoking it brings the code back.
func acceptTrustedDevice(t *testing.T, s *suite, vp viewport) {
	ts := startServerWithDefaults(t)
	setPolicy(t, ts, func(m *policy.MFA) { m.PromptMode = policy.ContextAware })
	ts.addUser(t, "tom", testPassword)
	key := addApp(t, ts, "tom", "Tom's phone")
	f := s.flow(t, ts, vp)

	f.signIn("tom", testPassword)
	f.at("/signin/mfa")
	if l := f.text(`label.check`); l != "This is a trusted device" {
		t.Errorf("trust checkbox label %q", l)
	}
	f.do("tick This is a trusted device", chromedp.Click(chromedp.CSS(`input[name=trust_device]`)))
	f.page("Verify your identity", "mfa-step-trusted-device")
	f.submitCode(f.code(key, 0))
	f.at("/")
	f.signOut()

	f.signIn("tom", testPassword)
	f.at("/")
	f.page("Welcome, tom", "")
	f.do("open My devices", chromedp.Navigate(ts.URL+"/devices"))
	f.page("My devices", "my-devices-trusted-browsers")
	if n := f.eval(`String(document.querySelectorAll("table.trusted tbody tr").length)`); n != "1" {
		t.Fatalf("%s trusted browsers listed, want 1", n)
	}
	f.load("Revoke", chromedp.Click(chromedp.CSS(`table.trusted button.danger`)))
	if n := f.notice(); !strings.Contains(n, "no longer trusted") {
		t.Errorf("notice %q", n)
	}
	f.page("My devices", "")
	f.signOut()
	ts.Clock.Advance(30 * time.Second)
	f.signIn("tom", testPassword)
	f.at("/signin/mfa")
}

// acceptRegistrationOff: with users' device management turned off, the
// Register MFA device button is disabled and says why, Rename and Delete
// are gone, and the server refuses the registration pages too; a user at
// the device limit sees the limit as the reason.
func acceptRegistrationOff(t *testing.T, s *suite, vp viewport) {
	ts := startServerWithDefaults(t)
	ts.addUser(t, "uma", testPassword)
	key := addApp(t, ts, "uma", "Uma's phone")
	setPolicy(t, ts, func(m *policy.MFA) { m.UsersCanManageDevices = false })
	f := s.flow(t, ts, vp)
	f.signIn("uma", testPassword)
	f.submitCode(f.code(key, 0))
	f.do("open My devices", chromedp.Navigate(ts.URL+"/devices"))
	f.page("My devices", "my-devices-registration-off")
	blocked := func(reason string) {
		t.Helper()
		got := get(f.tab, "the register button", chromedp.Evaluate[map[string]string](`(() => {
			const b = [...document.querySelectorAll(".heading-row button, .heading-row a")].find(e => e.textContent.trim() === "Register MFA device");
			if (!b) return {};
			const why = document.getElementById(b.getAttribute("aria-describedby") || "-");
			return {disabled: String(b.disabled === true), reason: why ? why.textContent.trim() : ""};
		})()`))
		if got["disabled"] != "true" || !strings.Contains(got["reason"], reason) {
			t.Errorf("Register MFA device %v, want disabled with the reason %q", got, reason)
		}
	}
	blocked("Only your administrator can register MFA devices")
	if n := f.eval(`String(document.querySelectorAll("td.actions a").length)`); n != "0" {
		t.Errorf("%s Rename/Delete links while management is off", n)
	}
	// A disabled button is not a control: the server refuses as well.
	f.do("open the registration page anyway", chromedp.Navigate(ts.URL+"/devices/register"))
	f.alert("not_allowed", "Only your administrator can register MFA devices")

	// At the limit: two apps, and security keys not allowed.
	setPolicy(t, ts, func(m *policy.MFA) { m.AllowedTypes = []string{policy.TypeTOTP} })
	addApp(t, ts, "uma", "Uma's tablet")
	f.do("open My devices", chromedp.Navigate(ts.URL+"/devices"))
	f.page("My devices", "my-devices-limit")
	blocked("2 authenticator apps, the most allowed")
}

// acceptAdminDeletesLostDevice: an administrator deletes the only device of a
// user who lost it (after typing DELETE); at their next sign-in the user is
// sent to register a new one, and does.
func acceptAdminDeletesLostDevice(t *testing.T, s *suite, vp viewport) {
	ts := startServerWithDefaults(t)
	if _, _, err := ts.App.Accounts.CreateUser(context.Background(), "root", "root@example.com", true, testPassword); err != nil {
		t.Fatal(err)
	}
	rootKey := addApp(t, ts, "root", "Root's phone")
	if _, _, err := ts.App.Accounts.CreateUser(context.Background(), "erin", "erin@example.com", false, testPassword); err != nil {
		t.Fatal(err)
	}
	addApp(t, ts, "erin", "Erin's iPhone")
	f := s.flow(t, ts, vp)

	f.signIn("root", testPassword)
	f.submitCode(f.code(rootKey, 0))
	f.load("click Administration", chromedp.Click(chromedp.CSS(`header nav.account a[href="/admin/users"]`)))
	f.page("Users", "admin-users")
	f.load("open erin", chromedp.Click(chromedp.CSS(`tr[data-user-id] td.name a[href$="`+userID(t, ts, "erin")+`"]`)))
	f.page("erin", "admin-user-devices")
	f.darkShot("admin-user-devices")
	f.load("Delete", chromedp.Click(chromedp.CSS(`tr[data-device-id] td.actions a.danger`)))
	f.page("Delete device", "admin-device-delete")
	f.load("type DELETE and delete", chromedp.SendKeys(chromedp.ID("confirm"), "DELETE"), chromedp.Click(chromedp.CSS(`button.danger-button`)))
	f.page("erin", "admin-user-no-devices")
	if n := f.notice(); !strings.Contains(n, "deleted") {
		t.Errorf("notice %q", n)
	}
	adminRegistersForUser(t, f, "erin")
	f.signOut()

	f.signIn("erin", testPassword)
	f.at("/devices/register/choose")
	f.page("Choose MFA device type", "")
	f.load("choose Authenticator app", chromedp.Click(chromedp.ID("type-totp")), chromedp.Click(chromedp.ID("choose-next")))
	f.load("name it", chromedp.SendKeys(chromedp.ID("name"), "Erin's new phone"),
		chromedp.Click(chromedp.CSS(`form[action="/devices/register"] button[type=submit]`)))
	f.page("Device configuration", "")
	key := f.revealSecret()
	f.submitCode(f.code(key, 0))
	f.at("/")
	f.do("open My devices", chromedp.Navigate(ts.URL+"/devices"))
	if names := f.eval(`[...document.querySelectorAll("tr[data-device-id] td.name")].map(e => e.textContent).join("|")`); names != "Erin's new phone" {
		t.Errorf("after registering again, My devices lists %q", names)
	}
}

// adminRegistersForUser: on a user's page (the tab is there), the
// administrator registers an authenticator app on the user's phone: the QR
// is obscured (unreadable from the screen) until Show QR code, then decodes
// to the user's key URI; the device is listed and the user's devices are
// then removed again, so the flow goes on as before.
func adminRegistersForUser(t *testing.T, f *flow, user string) {
	t.Helper()
	uid := userID(t, f.ts, user)
	f.load("Register MFA device for "+user, chromedp.Click(chromedp.ID("register")))
	f.page("Device name", "admin-device-name")
	f.load("name it", chromedp.SendKeys(chromedp.ID("name"), "Phone at the desk"),
		chromedp.Click(chromedp.CSS(`form button.primary[type=submit]`)))
	f.page("Device configuration", "admin-device-configuration")
	if txt, ok := decodeQR(t, f.s.zbarimg, get(f.tab, "obscured QR", chromedp.Screenshot(chromedp.CSS("#qr")))); ok {
		t.Errorf("before Show QR code the QR reads %q from the screen", txt)
	}
	f.do("click Show QR code", chromedp.Click(chromedp.ID("show-qr-label")))
	f.do("wait for the QR", chromedp.Poll[chromedp.Void](`getComputedStyle(document.querySelector("#qr img")).filter === "none"`, chromedp.WithPollingTimeout(5*time.Second)))
	uri, ok := decodeQR(t, f.s.zbarimg, get(f.tab, "QR", chromedp.Screenshot(chromedp.CSS("#qr img"))))
	if !ok || !strings.HasPrefix(uri, "otpauth://totp/Gatehouse:"+user+"?") {
		t.Fatalf("the QR on the admin's page reads %q (found %v)", uri, ok)
	}
	f.wantCountdown()
	key := f.revealSecret()
	if !strings.Contains(uri, "secret="+key) {
		t.Errorf("QR %q does not carry the secret key shown, %s", uri, key)
	}
	f.submitCode(f.code(key, 0))
	f.page(user, "")
	if n := f.text(`tr[data-device-id] td.name`); n != "Phone at the desk" {
		t.Errorf("user's page lists %q", n)
	}
	for _, d := range deviceList(t, f.ts, uid) {
		if err := f.ts.App.MFA.Delete(context.Background(), uid, d.ID, false); err != nil {
			t.Fatal(err)
		}
	}
}

// acceptErrors: every error message of DESIGN §1, on the page where it
// belongs, announced, with the field marked: wrong code, clock off (with the
// server's UTC time), name taken, enrollment expired, device limit reached,
// code already used, and too many attempts.
func acceptErrors(t *testing.T, s *suite, vp viewport) {
	ts := startServer(t)
	ts.addUser(t, "frank", testPassword)
	frank := userID(t, ts, "frank")
	f := s.flow(t, ts, vp)
	f.signIn("frank", testPassword)
	f.at("/")

	startApp := func(name string) {
		t.Helper()
		f.do("open the app's Device name", chromedp.Navigate(ts.URL+"/devices/register"))
		f.load("name it "+name, chromedp.SendKeys(chromedp.ID("name"), name),
			chromedp.Click(chromedp.CSS(`form[action="/devices/register"] button[type=submit]`)))
	}
	startApp("Phone")
	f.expectPage("Device configuration")
	key := f.revealSecret()

	// Wrong code: on Device configuration, the same secret, focus back in the field.
	if st := f.submitCode(wrongCode(t, s.oathtool, key, ts.Clock.Now())); st != 400 {
		t.Errorf("wrong code: status %d", st)
	}
	f.alert("invalid_code", "That code is not right")
	f.page("Device configuration", "error-wrong-code")
	f.wantFocus("after a wrong code", "input#code")
	if again := f.revealSecret(); again != key {
		t.Fatalf("the secret changed after a wrong code")
	}

	// Clock off: a code from a phone four minutes ahead.
	f.submitCode(f.code(key, 8))
	f.alert("clock_skew", "clock is about 4 minutes ahead", "Server time: "+ts.Clock.Now().UTC().Format("15:04:05")+" UTC")
	f.page("Device configuration", "error-clock-off")

	f.submitCode(f.code(key, 0))
	f.at("/devices")
	ts.Clock.Advance(30 * time.Second)

	// Name taken (ignoring case): on Device name, the name kept, the field marked.
	startApp("PHONE")
	f.at("/devices/register")
	f.alert("name_taken", `named "Phone"`)
	f.page("Device name", "error-name-taken")
	if v := f.eval(`document.getElementById("name").value`); v != "PHONE" {
		t.Errorf("name field holds %q after the error", v)
	}

	// Enrollment expired: 10 minutes on Device configuration.
	startApp("Tablet")
	f.expectPage("Device configuration")
	tabletKey := f.revealSecret()
	ts.Clock.Advance(11 * time.Minute)
	f.submitCode(f.code(tabletKey, 0))
	f.alert("enrollment_expired", "expired after 10 minutes", "Start again")
	f.page("My devices", "error-enrollment-expired")

	// Device limit: a second app registered elsewhere (another tab) while
	// this one waits on Device configuration.
	startApp("Tablet")
	f.expectPage("Device configuration")
	tabletKey = f.revealSecret()
	laptopKey := addApp(t, ts, "frank", "Laptop app")
	ts.Clock.Advance(-30 * time.Second) // addApp moved on a step: the laptop's code is still its last
	f.submitCode(f.code(tabletKey, 0))
	f.alert("device_limit", "2 authenticator apps, the most allowed")
	f.page("My devices", "error-device-limit")
	f.do("open the type choice", chromedp.Navigate(ts.URL+"/devices/register/choose"))
	if r := f.text("#reason-totp"); !strings.Contains(r, "2 authenticator apps, the most allowed") {
		t.Errorf("Authenticator app's reason %q", r)
	}
	if d := f.eval(`String(document.getElementById("type-totp").disabled)`); d != "true" {
		t.Errorf("Authenticator app selectable at the limit")
	}
	f.page("Choose MFA device type", "register-type-limit")
	f.do("open My devices", chromedp.Navigate(ts.URL+"/devices"))
	f.signOut()

	// Code already used: the laptop's code that confirmed it.
	f.signIn("frank", testPassword)
	f.at("/signin/mfa")
	f.submitCode(f.code(laptopKey, 0))
	f.alert("code_reused", "already used", "next code")
	f.page("Verify your identity", "error-code-used")

	// Wrong codes at sign-in, until too many.
	bad := wrongCode(t, s.oathtool, laptopKey, ts.Clock.Now())
	for i := range 3 {
		f.submitCode(bad)
		f.alert("invalid_code", "That code is not right")
		if i == 0 {
			f.page("Verify your identity", "error-mfa-wrong-code")
		}
	}
	f.submitCode(bad)
	f.alert("rate_limited", "Too many wrong answers", "Sign in again")
	f.page("Sign in", "error-too-many-answers")
	f.signIn("frank", testPassword)
	f.alert("rate_limited", "Too many attempts. Wait")
	f.page("Sign in", "error-too-many-attempts")
	ts.Clock.Advance(20 * time.Minute)
	f.signIn("frank", testPassword)
	f.at("/signin/mfa")
	f.submitCode(f.code(laptopKey, 0))
	f.at("/")
	if n := len(deviceList(t, ts, frank)); n != 2 {
		t.Errorf("frank has %d devices, want 2", n)
	}
}

func deviceList(t *testing.T, ts *testServer, userID string) []mfa.Device {
	t.Helper()
	d, err := ts.App.MFA.List(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// acceptKeyboard: sign in and register an authenticator app with key events
// only (Tab, Enter, Space and typing), no mouse, with the focus visible at
// each stop.
func acceptKeyboard(t *testing.T, s *suite, vp viewport) {
	ts := startServer(t)
	ts.addUser(t, "kim", testPassword)
	f := s.flow(t, ts, vp)
	f.authenticator(cdpwa.AuthenticatorTransportInternal, true) // so every type is on offer
	f.do("open /signin", chromedp.Navigate(ts.URL+"/signin"))
	f.wantFocus("Sign in", "input#username")
	f.press("type the username", "kim")
	f.tabTo("#password")
	f.press("type the password", testPassword)
	f.load("Enter", chromedp.KeyEvent(kb.Enter))
	f.at("/")

	f.tabTo(`header a[href="/devices"]`)
	f.load("Enter on My devices", chromedp.KeyEvent(kb.Enter))
	f.expectPage("My devices")
	if e := f.text(".empty"); !strings.Contains(e, "No MFA devices yet") {
		t.Errorf("empty state %q", e)
	}
	f.shot("my-devices-empty")
	f.tabTo("#register")
	f.load("Enter on Register MFA device", chromedp.KeyEvent(kb.Enter))
	f.waitEnabled("type-security_key")
	f.waitEnabled("type-built_in")
	f.page("Choose MFA device type", "register-type")
	f.tabTo("#type-totp")
	f.press("Space selects Authenticator app", " ")
	if c := f.eval(`String(document.getElementById("type-totp").checked)`); c != "true" {
		t.Fatalf("Space left Authenticator app unchosen")
	}
	f.tabTo("#choose-next")
	f.load("Enter on Next", chromedp.KeyEvent(kb.Enter))
	f.expectPage("Device name")
	f.wantFocus("Device name", "input#name")
	f.press("type the name", "Kim's phone")
	f.load("Enter", chromedp.KeyEvent(kb.Enter))
	f.expectPage("Device configuration")

	f.tabTo("#show-qr")
	f.press("Space on Show QR code", " ")
	if l := f.text("#show-qr-label"); l != "Hide QR code" {
		t.Errorf("after Space the QR button says %q", l)
	}
	f.do("wait for the QR to be clear", chromedp.Poll[chromedp.Void](`getComputedStyle(document.querySelector("#qr img")).filter === "none"`, chromedp.WithPollingTimeout(5*time.Second)))
	f.tabTo("#secret summary")
	f.press("Enter on Show secret key", kb.Enter)
	if o := f.eval(`String(document.getElementById("secret").open)`); o != "true" {
		t.Fatalf("Enter did not open Show secret key")
	}
	key := f.revealSecret()
	f.tabTo("#secret button.copy")
	f.allowClipboard()
	f.press("Enter on Copy", kb.Enter)
	f.do("wait for Copied", chromedp.Poll[chromedp.Void](`document.querySelector("#secret button.copy").textContent === "Copied"`, chromedp.WithPollingTimeout(5*time.Second)))
	if got := get(f.tab, "the clipboard", chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise)); got != key {
		t.Errorf("Copy put %q on the clipboard, want %s", got, key)
	}
	f.tabTo("#code")
	f.press("type the code", f.code(key, 0))
	f.load("Enter", chromedp.KeyEvent(kb.Enter))
	f.at("/devices")
	f.expectPage("My devices")
	if n := f.text(`tr[data-device-id] td.name`); n != "Kim's phone" {
		t.Errorf("My devices lists %q", n)
	}
}

// acceptRecoveryCode: a user makes recovery codes on My devices, sees them
// once, and later signs in with one instead of a device ("Use a recovery
// code" on the MFA step); a used code is refused.
func acceptRecoveryCode(t *testing.T, s *suite, vp viewport) {
	ts := startServerWithDefaults(t)
	ts.addUser(t, "rita", testPassword)
	key := addApp(t, ts, "rita", "Rita's phone")
	f := s.flow(t, ts, vp)
	f.signIn("rita", testPassword)
	f.submitCode(f.code(key, 0))
	f.do("open My devices", chromedp.Navigate(ts.URL+"/devices"))
	f.load("Generate recovery codes", chromedp.Click(chromedp.CSS(`form[action="/devices/recovery-codes"] button`)))
	f.page("Your recovery codes", "recovery-codes")
	codes := get(f.tab, "the codes", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#recovery-codes code")].map(c => c.textContent.trim())`))
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown: %q", len(codes), codes)
	}
	f.load("I have saved my codes", chromedp.Click(chromedp.CSS(`a.button.primary[href="/devices"]`)))
	f.page("My devices", "my-devices-recovery-codes")
	if r := f.text("#recovery"); !strings.Contains(r, "10") {
		t.Errorf("My devices says %q about the recovery codes", r)
	}
	f.signOut()

	f.signIn("rita", testPassword)
	f.at("/signin/mfa")
	f.load("Use a recovery code", chromedp.Click(chromedp.CSS(`a[href^="/signin/recovery"]`)))
	f.page("Use a recovery code", "recovery-signin")
	f.wantFocus("Use a recovery code", "input#code")
	f.submitCode(codes[0])
	f.at("/")
	f.page("Welcome, rita", "")
	f.do("open My devices", chromedp.Navigate(ts.URL+"/devices"))
	if r := f.text("#recovery"); !strings.Contains(r, "9") {
		t.Errorf("after one was used My devices says %q", r)
	}
	f.signOut()

	// The same code again: refused, on its page.
	f.signIn("rita", testPassword)
	f.do("open Use a recovery code", chromedp.Navigate(ts.URL+"/signin/recovery"))
	f.submitCode(codes[0])
	f.alert("invalid_code", "already used")
	f.page("Use a recovery code", "error-recovery-code-used")
}
