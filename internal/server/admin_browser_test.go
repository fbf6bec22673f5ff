package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAdminConsoleInChromium walks the administrators' console in a real
// headless Chromium at a desktop and a phone size: the Administration link,
// the users list with a search, a user's MFA devices tab, deleting a device
// after typing DELETE, the Account tab, and the audit trail with a filter.
// Each page is checked for content outside the viewport and for low
// contrast, and screenshotted (to $GATEHOUSE_SCREENSHOTS when set).
func TestAdminConsoleInChromium(t *testing.T) {
	chromium := chromiumPath(t)
	shots := screenshotDir(t)
	browser := startBrowser(t, chromium)
	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			adminConsoleFlow(t, browser, vp, shots)
		})
	}
}

func adminConsoleFlow(t *testing.T, browser context.Context, vp viewport, shots string) {
	ts := startAPIServer(t)
	ts.adminClient(t, "root")
	_, _, _ = ts.userWithDevice(t, "maria.gonzalez")
	for i := range 12 {
		name := fmt.Sprintf("user%02d", i)
		if _, _, err := ts.App.Accounts.CreateUser(context.Background(), name, name+"@example.com", i == 3, ""); err != nil {
			t.Fatal(err)
		}
	}
	_ = ts.client(t).signIn("user01", "a wrong password, on purpose")
	b := useTab(t, browser, ts.URL, vp)

	b.do("open /signin", chromedp.Navigate(ts.URL+"/signin?next=%2F"))
	b.load("sign in as root",
		chromedp.SendKeys(chromedp.ID("username"), "root"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type=submit]`)),
	)
	if p := b.path(); p != "/" {
		t.Fatalf("after sign-in at %q", p)
	}
	b.load("click Administration", chromedp.Click(chromedp.CSS(`header nav.account a[href="/admin/users"]`)))
	b.expectPage("Users")
	if rows := b.eval(`String(document.querySelectorAll("tr[data-user-id]").length)`); rows != "14" {
		t.Errorf("users list has %s rows, want 14", rows)
	}
	b.screenshot(shots, "admin-users"+vp.suffix+".png")

	b.load("search for gonz",
		chromedp.SendKeys(chromedp.ID("q"), "GONZ"),
		chromedp.Click(chromedp.CSS(`form.search button[type=submit]`)),
	)
	b.expectPage("Users")
	if got := b.text(`tr[data-user-id] td.name a`); got != "maria.gonzalez" {
		t.Fatalf("search found %q", got)
	}
	b.load("open maria's page", chromedp.Click(chromedp.CSS(`tr[data-user-id] td.name a`)))
	b.expectPage("maria.gonzalez")
	if got := b.text(`tr[data-device-id] td.name`); got != "Phone of maria.gonzalez" {
		t.Errorf("devices tab lists %q", got)
	}
	if cur := b.text(`nav.tabs a[aria-current="page"]`); cur != "MFA devices" {
		t.Errorf("current tab %q", cur)
	}
	b.screenshot(shots, "admin-user-devices"+vp.suffix+".png")
	b.setColorScheme("dark")
	b.checkContrast("user page (dark)")
	b.screenshot(shots, "admin-user-devices-dark"+vp.suffix+".png")
	b.setColorScheme("light")

	b.load("click Delete", chromedp.Click(chromedp.CSS(`tr[data-device-id] td.actions a.danger`)))
	b.expectPage("Delete device")
	b.screenshot(shots, "admin-device-delete"+vp.suffix+".png")
	b.load("type DELETE and delete",
		chromedp.SendKeys(chromedp.ID("confirm"), "DELETE"),
		chromedp.Click(chromedp.CSS(`button.danger-button`)),
	)
	b.expectPage("maria.gonzalez")
	if n := b.eval(`String(document.querySelectorAll("tr[data-device-id]").length)`); n != "0" {
		t.Errorf("%s devices listed after the delete", n)
	}
	if msg := b.text(`[role="status"]`); !strings.Contains(msg, "deleted") {
		t.Errorf("notice %q", msg)
	}

	b.load("open the Account tab", chromedp.Click(chromedp.CSS(`nav.tabs a[href$="/account"]`)))
	b.expectPage("maria.gonzalez")
	b.screenshot(shots, "admin-user-account"+vp.suffix+".png")

	b.load("open the audit trail", chromedp.Click(chromedp.CSS(`nav.admin-nav a[href="/admin/audit"]`)))
	b.expectPage("Audit trail")
	if rows := b.eval(`String(document.querySelectorAll("tr[data-event-id]").length)`); rows == "0" {
		t.Error("the audit trail is empty")
	}
	b.screenshot(shots, "admin-audit"+vp.suffix+".png")
	b.load("filter on DeleteMfaDeviceForUser",
		chromedp.SetValue(chromedp.ID("f-event"), "DeleteMfaDeviceForUser"),
		chromedp.Click(chromedp.CSS(`form.filters button[type=submit]`)),
	)
	b.expectPage("Audit trail")
	if got := b.text(`tr[data-event-id] td.event-name`); got != "DeleteMfaDeviceForUser" {
		t.Errorf("filtered trail shows %q", got)
	}
	if actor := b.text(`tr[data-event-id] td[data-label="Actor"]`); actor != "root" {
		t.Errorf("actor %q, want root", actor)
	}
}
