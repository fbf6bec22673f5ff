package web

// The administrators' console: users, one user's MFA devices and account,
// and the audit trail. Every rule is in internal/admin; this file maps
// forms to calls and errors to pages.

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gatehouse/internal/account"
	"gatehouse/internal/admin"
	"gatehouse/internal/audit"
	"gatehouse/internal/errcode"
	"gatehouse/internal/mfa"
	"gatehouse/internal/qr"
	"gatehouse/internal/totp"
)

// DeleteConfirmation is the word an administrator types to delete a device.
const DeleteConfirmation = "DELETE"

func (h *Handler) adminRoutes() {
	m := h.mux
	m.HandleFunc("GET /admin", h.adminPage(func(w http.ResponseWriter, r *http.Request, _ account.User) {
		http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
	}))
	m.HandleFunc("/admin/", h.adminPage(func(w http.ResponseWriter, r *http.Request, u account.User) {
		h.render(w, r, http.StatusNotFound, "error", view{Title: "Page not found", User: &u, Data: "There is no page at this address."})
	}))
	m.HandleFunc("GET /admin/users", h.adminPage(h.adminUsers))
	m.HandleFunc("GET /admin/users/new", h.adminPage(h.adminNewUserForm))
	m.HandleFunc("POST /admin/users/new", h.adminPage(h.adminNewUserSubmit))
	m.HandleFunc("GET /admin/users/{id}", h.adminPage(h.adminUserDevices))
	m.HandleFunc("GET /admin/users/{id}/account", h.adminPage(h.adminUserAccount))
	m.HandleFunc("POST /admin/users/{id}/account", h.adminPage(h.adminUserAccountSubmit))
	m.HandleFunc("GET /admin/users/{id}/devices/register", h.adminPage(h.adminRegisterForm))
	m.HandleFunc("POST /admin/users/{id}/devices/register", h.adminPage(h.adminRegisterSubmit))
	m.HandleFunc("GET /admin/users/{id}/devices/{device}/configure", h.adminPage(h.adminConfigureForm))
	m.HandleFunc("POST /admin/users/{id}/devices/{device}/configure", h.adminPage(h.adminConfigureSubmit))
	m.HandleFunc("GET /admin/users/{id}/devices/{device}/rename", h.adminPage(h.adminRenameForm))
	m.HandleFunc("POST /admin/users/{id}/devices/{device}/rename", h.adminPage(h.adminRenameSubmit))
	m.HandleFunc("GET /admin/users/{id}/devices/{device}/delete", h.adminPage(h.adminDeleteForm))
	m.HandleFunc("POST /admin/users/{id}/devices/{device}/delete", h.adminPage(h.adminDeleteSubmit))
	for _, a := range userActions {
		m.HandleFunc("GET /admin/users/{id}/"+a.path, h.adminPage(h.adminActionForm(a)))
		m.HandleFunc("POST /admin/users/{id}/"+a.path, h.adminPage(h.adminActionSubmit(a)))
	}
	m.HandleFunc("POST /admin/users/{id}/trusted-browsers/{browser}/revoke", h.adminPage(h.adminRevokeTrusted))
	m.HandleFunc("GET /admin/audit", h.adminPage(h.adminAudit))
	h.adminAPIRoutes()
}

// adminPage wraps console pages: they need a completed sign-in by an
// administrator. Anyone else signed in gets the ordinary "Page not found":
// the console does not advertise itself.
func (h *Handler) adminPage(fn func(w http.ResponseWriter, r *http.Request, u account.User)) http.HandlerFunc {
	return h.page(func(w http.ResponseWriter, r *http.Request, u account.User) {
		if !u.Admin {
			h.renderError(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.")
			return
		}
		noStore(w)
		fn(w, asUser(r, u), u)
	})
}

// pager is the paging row under a table.
type pager struct {
	Page, Pages, Total, From, To int
	Prev, Next                   string
}

func newPager(r *http.Request, page, size, total, shown int) pager {
	p := pager{Page: page, Pages: max(1, (total+size-1)/size), Total: total}
	if shown > 0 {
		p.From, p.To = (page-1)*size+1, (page-1)*size+shown
	}
	link := func(n int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		return r.URL.Path + "?" + q.Encode()
	}
	if page > 1 {
		p.Prev = link(page - 1)
	}
	if page < p.Pages {
		p.Next = link(page + 1)
	}
	return p
}

// intParam reads a whole-number query parameter from lo to hi (hi 0: no
// upper bound), def when absent.
func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	s := strings.TrimSpace(q.Get(name))
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	switch {
	case hi == 0 && (err != nil || n < lo):
		return 0, errcode.New(errcode.InvalidInput, "%s must be a whole number from %d, not %q.", name, lo, s)
	case hi != 0 && (err != nil || n < lo || n > hi):
		return 0, errcode.New(errcode.InvalidInput, "%s must be a whole number from %d to %d, not %q.", name, lo, hi, s)
	}
	return n, nil
}

func paging(q url.Values) (page, size int, err error) {
	if page, err = intParam(q, "page", 1, 1, 0); err != nil {
		return 0, 0, err
	}
	size, err = intParam(q, "page_size", admin.DefaultPageSize, 1, admin.MaxPageSize)
	return page, size, err
}

type usersData struct {
	Query string
	Users []admin.UserSummary
	Pager pager
}

func (h *Handler) adminUsers(w http.ResponseWriter, r *http.Request, u account.User) {
	v := view{Title: "Users", User: &u}
	q := r.URL.Query()
	data := usersData{Query: q.Get("q")}
	page, size, err := paging(q)
	if err == nil {
		var p admin.UserPage
		if p, err = h.Admin.Users(r.Context(), data.Query, page, size); err == nil {
			data.Users, data.Pager = p.Users, newPager(r, p.Page, p.PageSize, p.Total, len(p.Users))
		}
	}
	v.Data = data
	if err != nil {
		h.formError(w, r, "admin_users", v, err)
		return
	}
	h.render(w, r, http.StatusOK, "admin_users", v)
}

type newUserData struct {
	Username, Email string
	Admin           bool
}

func (h *Handler) adminNewUserForm(w http.ResponseWriter, r *http.Request, u account.User) {
	h.render(w, r, http.StatusOK, "admin_user_new", view{Title: "Create user", User: &u, Data: newUserData{}})
}

// passwordShown is the page that shows a one-time password, once.
type passwordShown struct {
	Target   account.User
	Password string
	Created  bool
}

func (h *Handler) adminNewUserSubmit(w http.ResponseWriter, r *http.Request, u account.User) {
	in := newUserData{Username: r.PostFormValue("username"), Email: r.PostFormValue("email"), Admin: r.PostFormValue("admin") == "on"}
	created, pw, err := h.Admin.CreateUser(r.Context(), in.Username, in.Email, in.Admin)
	if err != nil {
		h.formError(w, r, "admin_user_new", view{Title: "Create user", User: &u, Data: in}, err)
		return
	}
	h.render(w, r, http.StatusCreated, "admin_password", view{Title: "User created", User: &u, Data: passwordShown{Target: created, Password: pw, Created: true}})
}

// userData is the user page: the target user and one of its tabs.
type userData struct {
	Target account.User
	Tab    string
	// MFA devices tab.
	Devices       []deviceRow
	BlockedReason string
	Trusted       []account.TrustedBrowser
	// Account tab.
	Email string
	Admin bool
}

func (h *Handler) userView(r *http.Request, u account.User, tab string) (view, error) {
	target, err := h.Admin.User(r.Context(), r.PathValue("id"))
	if err != nil {
		return view{}, err
	}
	d := userData{Target: target, Tab: tab, Email: target.Email, Admin: target.Admin}
	if tab == "devices" {
		devices, err := h.Admin.ListDevices(r.Context(), target.ID)
		if err != nil {
			return view{}, err
		}
		for _, dev := range devices {
			d.Devices = append(d.Devices, deviceRow{Device: dev, TypeLabel: dev.Type.Label()})
		}
		if d.BlockedReason, err = h.Admin.RegistrationBlockedReason(r.Context(), target.ID); err != nil {
			return view{}, err
		}
		if d.Trusted, err = h.Admin.TrustedBrowsers(r.Context(), target.ID); err != nil {
			return view{}, err
		}
	}
	return view{Title: target.Username, User: &u, Data: d, Notice: adminNotice(r, target)}, nil
}

// adminNotice is the success message after a redirect (?done=…).
func adminNotice(r *http.Request, target account.User) string {
	switch r.URL.Query().Get("done") {
	case "renamed":
		return "The device was renamed."
	case "deleted":
		return "The device was deleted."
	case "registered":
		return "The device is registered. " + target.Username + " can sign in with it now."
	case "mfa-reset":
		return "MFA was reset: every device of " + target.Username + " was removed and their sessions ended. They register a device at their next sign-in."
	case "disable":
		return target.Username + " is disabled and signed out everywhere."
	case "enable":
		return target.Username + " can sign in again."
	case "saved":
		return "Saved."
	case "untrusted":
		return "The browser is no longer trusted: it is asked for MFA at its next sign-in."
	}
	return ""
}

// adminFail shows an error about a user page: not_found as "no such user"
// with a way back, anything else on the page it came from.
func (h *Handler) adminFail(w http.ResponseWriter, r *http.Request, u account.User, err error) {
	if errcode.Code(err) == errcode.NotFound {
		e := errcode.As(err)
		h.render(w, r, http.StatusNotFound, "error", view{Title: "Not found", User: &u, Data: e.Message})
		return
	}
	h.formError(w, r, "error", view{Title: "Error", User: &u}, err)
}

func (h *Handler) adminUserDevices(w http.ResponseWriter, r *http.Request, u account.User) {
	v, err := h.userView(r, u, "devices")
	if err != nil {
		h.adminFail(w, r, u, err)
		return
	}
	h.render(w, r, http.StatusOK, "admin_user", v)
}

func (h *Handler) adminUserAccount(w http.ResponseWriter, r *http.Request, u account.User) {
	v, err := h.userView(r, u, "account")
	if err != nil {
		h.adminFail(w, r, u, err)
		return
	}
	h.render(w, r, http.StatusOK, "admin_user", v)
}

func (h *Handler) adminUserAccountSubmit(w http.ResponseWriter, r *http.Request, u account.User) {
	id := r.PathValue("id")
	email, isAdmin := r.PostFormValue("email"), r.PostFormValue("admin") == "on"
	_, err := h.Admin.UpdateUser(r.Context(), id, admin.UserChange{Email: &email, Admin: &isAdmin})
	if err == nil {
		http.Redirect(w, r, "/admin/users/"+url.PathEscape(id)+"/account?done=saved", http.StatusSeeOther)
		return
	}
	v, verr := h.userView(r, u, "account")
	if verr != nil {
		h.adminFail(w, r, u, verr)
		return
	}
	d := v.Data.(userData)
	d.Email, d.Admin = email, isAdmin
	v.Data, v.Notice = d, ""
	h.formError(w, r, "admin_user", v, err)
}

// userAction is a button on the user page that changes the account after
// a confirmation page.
type userAction struct {
	path, title, button, explain string
	danger                       bool
	// do runs the action; a non-empty password is shown on the next page.
	do func(h *Handler, r *http.Request, id string) (password string, err error)
}

var userActions = []userAction{
	{path: "mfa-reset", title: "Reset MFA", button: "Reset MFA", danger: true,
		explain: "This removes every MFA device of {user} (authenticator apps and security keys), ends their sessions and forgets their trusted browsers. At their next sign-in they register a device again.",
		do: func(h *Handler, r *http.Request, id string) (string, error) {
			_, err := h.Admin.ResetMFA(r.Context(), id)
			return "", err
		}},
	{path: "disable", title: "Disable user", button: "Disable", danger: true,
		explain: "{user} will not be able to sign in. Their sessions end now and their trusted browsers are forgotten. You can enable the account again later.",
		do: func(h *Handler, r *http.Request, id string) (string, error) {
			_, err := h.Admin.Disable(r.Context(), id)
			return "", err
		}},
	{path: "enable", title: "Enable user", button: "Enable",
		explain: "{user} will be able to sign in again with their password and MFA devices.",
		do: func(h *Handler, r *http.Request, id string) (string, error) {
			_, err := h.Admin.Enable(r.Context(), id)
			return "", err
		}},
	{path: "password-reset", title: "Reset password", button: "Reset password", danger: true,
		explain: "{user} gets a new one-time password, shown to you once on the next page; they choose their own at their next sign-in. Their current password stops working, their sessions end and their trusted browsers are forgotten.",
		do: func(h *Handler, r *http.Request, id string) (string, error) {
			return h.Admin.ResetPassword(r.Context(), id)
		}},
}

type actionData struct {
	Target  account.User
	Title   string
	Button  string
	Explain string
	Danger  bool
	Action  string
}

func (h *Handler) actionView(r *http.Request, u account.User, a userAction) (view, error) {
	target, err := h.Admin.User(r.Context(), r.PathValue("id"))
	if err != nil {
		return view{}, err
	}
	return view{Title: a.title, User: &u, Data: actionData{
		Target: target, Title: a.title, Button: a.button, Danger: a.danger,
		Explain: strings.ReplaceAll(a.explain, "{user}", target.Username),
		Action:  "/admin/users/" + url.PathEscape(target.ID) + "/" + a.path,
	}}, nil
}

func (h *Handler) adminActionForm(a userAction) func(w http.ResponseWriter, r *http.Request, u account.User) {
	return func(w http.ResponseWriter, r *http.Request, u account.User) {
		v, err := h.actionView(r, u, a)
		if err != nil {
			h.adminFail(w, r, u, err)
			return
		}
		h.render(w, r, http.StatusOK, "admin_confirm", v)
	}
}

func (h *Handler) adminActionSubmit(a userAction) func(w http.ResponseWriter, r *http.Request, u account.User) {
	return func(w http.ResponseWriter, r *http.Request, u account.User) {
		id := r.PathValue("id")
		pw, err := a.do(h, r, id)
		if err != nil {
			v, verr := h.actionView(r, u, a)
			if verr != nil {
				h.adminFail(w, r, u, verr)
				return
			}
			h.formError(w, r, "admin_confirm", v, err)
			return
		}
		if pw != "" {
			target, err := h.Admin.User(r.Context(), id)
			if err != nil {
				h.adminFail(w, r, u, err)
				return
			}
			h.render(w, r, http.StatusOK, "admin_password", view{Title: "Password reset", User: &u, Data: passwordShown{Target: target, Password: pw}})
			return
		}
		tab := ""
		if a.path != "mfa-reset" {
			tab = "/account"
		}
		if id == u.ID && a.path == "mfa-reset" {
			// Resetting your own MFA ends your own session too.
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/admin/users/"+url.PathEscape(id)+tab+"?done="+a.path, http.StatusSeeOther)
	}
}

// adminDeviceData is a device page of the console.
type adminDeviceData struct {
	Target account.User
	deviceRow
	Confirm string
}

func (h *Handler) adminDeviceView(r *http.Request, u account.User, title string) (view, error) {
	target, err := h.Admin.User(r.Context(), r.PathValue("id"))
	if err != nil {
		return view{}, err
	}
	devices, err := h.Admin.ListDevices(r.Context(), target.ID)
	if err != nil {
		return view{}, err
	}
	for _, d := range devices {
		if d.ID == r.PathValue("device") {
			return view{Title: title, User: &u, Data: adminDeviceData{Target: target, deviceRow: deviceRow{Device: d, TypeLabel: d.Type.Label()}}}, nil
		}
	}
	return view{}, errcode.New(errcode.NotFound, "This user has no such device.")
}

func (h *Handler) adminRenameForm(w http.ResponseWriter, r *http.Request, u account.User) {
	v, err := h.adminDeviceView(r, u, "Rename device")
	if err != nil {
		h.adminFail(w, r, u, err)
		return
	}
	h.render(w, r, http.StatusOK, "admin_device_rename", v)
}

func (h *Handler) adminRenameSubmit(w http.ResponseWriter, r *http.Request, u account.User) {
	v, err := h.adminDeviceView(r, u, "Rename device")
	if err != nil {
		h.adminFail(w, r, u, err)
		return
	}
	d := v.Data.(adminDeviceData)
	if _, err := h.Admin.RenameDevice(r.Context(), d.Target.ID, d.ID, r.PostFormValue("name")); err != nil {
		d.Name = r.PostFormValue("name")
		v.Data = d
		h.formError(w, r, "admin_device_rename", v, err)
		return
	}
	http.Redirect(w, r, "/admin/users/"+url.PathEscape(d.Target.ID)+"?done=renamed", http.StatusSeeOther)
}

func (h *Handler) adminDeleteForm(w http.ResponseWriter, r *http.Request, u account.User) {
	v, err := h.adminDeviceView(r, u, "Delete device")
	if err != nil {
		h.adminFail(w, r, u, err)
		return
	}
	h.render(w, r, http.StatusOK, "admin_device_delete", v)
}

func (h *Handler) adminDeleteSubmit(w http.ResponseWriter, r *http.Request, u account.User) {
	v, err := h.adminDeviceView(r, u, "Delete device")
	if err != nil {
		h.adminFail(w, r, u, err)
		return
	}
	d := v.Data.(adminDeviceData)
	// The typed word is checked here, not only by the form: a page's
	// "required" is no control.
	if typed := strings.TrimSpace(r.PostFormValue("confirm")); typed != DeleteConfirmation {
		d.Confirm = typed
		v.Data = d
		h.formError(w, r, "admin_device_delete", v, errcode.New(errcode.InvalidInput, "Type %s (in capitals) to confirm.", DeleteConfirmation))
		return
	}
	if err := h.Admin.DeleteDevice(r.Context(), d.Target.ID, d.ID); err != nil {
		h.formError(w, r, "admin_device_delete", v, err)
		return
	}
	http.Redirect(w, r, "/admin/users/"+url.PathEscape(d.Target.ID)+"?done=deleted", http.StatusSeeOther)
}

type adminNameData struct {
	Target account.User
	Name   string
}

func (h *Handler) adminRegisterForm(w http.ResponseWriter, r *http.Request, u account.User) {
	v, err := h.userView(r, u, "devices")
	if err != nil {
		h.adminFail(w, r, u, err)
		return
	}
	d := v.Data.(userData)
	if d.BlockedReason != "" {
		h.formError(w, r, "admin_user", v, errcode.New(errcode.NotAllowed, "%s", d.BlockedReason))
		return
	}
	h.render(w, r, http.StatusOK, "admin_device_name", view{Title: "Register MFA device", User: &u, Data: adminNameData{Target: d.Target}})
}

// adminEnrollData is the Device configuration page of an administrator's
// registration. QR and Secret are set only in the answer that starts it.
type adminEnrollData struct {
	Target    account.User
	Device    mfa.Device
	QR        template.URL
	QRSize    int
	Secret    string
	Grouped   []string
	Digits    int
	ExpiresAt time.Time
}

func (h *Handler) adminRegisterSubmit(w http.ResponseWriter, r *http.Request, u account.User) {
	id, name := r.PathValue("id"), r.PostFormValue("name")
	e, err := h.Admin.StartEnrollment(r.Context(), id, name)
	if err != nil {
		target, terr := h.Admin.User(r.Context(), id)
		if terr != nil {
			h.adminFail(w, r, u, terr)
			return
		}
		h.formError(w, r, "admin_device_name", view{Title: "Register MFA device", User: &u, Data: adminNameData{Target: target, Name: name}}, err)
		return
	}
	target, err := h.Admin.User(r.Context(), id)
	if err != nil {
		h.adminFail(w, r, u, err)
		return
	}
	q, err := qrDataURL(e.URI)
	if err != nil {
		h.adminFail(w, r, u, err)
		return
	}
	version, err := qr.Version(e.URI)
	if err != nil {
		h.adminFail(w, r, u, err)
		return
	}
	secret := e.EncodedSecret()
	h.render(w, r, http.StatusOK, "admin_device_config", view{Title: "Device configuration", User: &u, Data: adminEnrollData{
		Target: target, Device: e.Device, QR: template.URL(q), QRSize: (17 + 4*version + 2*qr.QuietZone) * QRPixelsPerModule,
		Secret: secret, Grouped: strings.Fields(totp.GroupSecret(secret)), Digits: h.MFA.Params.Digits, ExpiresAt: e.ExpiresAt,
	}})
}

func (h *Handler) adminEnrollView(r *http.Request, u account.User) (view, error) {
	target, err := h.Admin.User(r.Context(), r.PathValue("id"))
	if err != nil {
		return view{}, err
	}
	d, err := h.Admin.Enrollment(r.Context(), target.ID, r.PathValue("device"))
	if err != nil {
		return view{}, err
	}
	return view{Title: "Device configuration", User: &u, Data: adminEnrollData{Target: target, Device: d, Digits: h.MFA.Params.Digits, ExpiresAt: d.ExpiresAt}}, nil
}

// adminEnrollGone answers for a registration that cannot go on.
func (h *Handler) adminEnrollGone(w http.ResponseWriter, r *http.Request, u account.User, err error) {
	id := url.PathEscape(r.PathValue("id"))
	switch errcode.Code(err) {
	case errcode.Conflict:
		http.Redirect(w, r, "/admin/users/"+id+"?done=registered", http.StatusSeeOther)
		return
	case errcode.EnrollmentExpired, errcode.NameTaken, errcode.DeviceLimit:
		v, verr := h.userView(r, u, "devices")
		if verr != nil {
			h.adminFail(w, r, u, verr)
			return
		}
		v.Notice = ""
		h.formError(w, r, "admin_user", v, err)
		return
	}
	h.adminFail(w, r, u, err)
}

func (h *Handler) adminConfigureForm(w http.ResponseWriter, r *http.Request, u account.User) {
	v, err := h.adminEnrollView(r, u)
	if err != nil {
		h.adminEnrollGone(w, r, u, err)
		return
	}
	h.render(w, r, http.StatusOK, "admin_device_config", v)
}

func (h *Handler) adminConfigureSubmit(w http.ResponseWriter, r *http.Request, u account.User) {
	id, device := r.PathValue("id"), r.PathValue("device")
	_, err := h.Admin.ConfirmEnrollment(r.Context(), id, device, r.PostFormValue("code"))
	if err == nil {
		http.Redirect(w, r, "/admin/users/"+url.PathEscape(id)+"?done=registered", http.StatusSeeOther)
		return
	}
	switch errcode.Code(err) {
	case errcode.EnrollmentExpired, errcode.NotFound, errcode.Conflict, errcode.NameTaken, errcode.DeviceLimit:
		h.adminEnrollGone(w, r, u, err)
		return
	}
	v, verr := h.adminEnrollView(r, u)
	if verr != nil {
		h.adminEnrollGone(w, r, u, verr)
		return
	}
	h.formError(w, r, "admin_device_config", v, err)
}

// eventQuery reads the audit trail's filters from a query string; times are
// RFC 3339, or a date and time without zone (as a browser's datetime-local
// field sends it) taken as UTC.
func eventQuery(q url.Values) (admin.EventQuery, error) {
	eq := admin.EventQuery{User: strings.TrimSpace(q.Get("user")), Name: q.Get("event"), Result: q.Get("result")}
	var err error
	if eq.Since, err = timeParam(q, "since"); err != nil {
		return eq, err
	}
	if eq.Until, err = timeParam(q, "until"); err != nil {
		return eq, err
	}
	eq.Page, eq.PageSize, err = paging(q)
	return eq, err
}

func timeParam(q url.Values, name string) (time.Time, error) {
	s := strings.TrimSpace(q.Get(name))
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errcode.New(errcode.InvalidInput, "%s must be an RFC 3339 time such as 2026-12-03T17:06:55Z, not %q.", name, s)
}

type auditData struct {
	Filter        url.Values
	Since, Until  string
	Events        []audit.Event
	Pager         pager
	Names         []string
	Results       []string
	FilterApplied bool
}

func (h *Handler) adminAudit(w http.ResponseWriter, r *http.Request, u account.User) {
	q := r.URL.Query()
	d := auditData{Filter: q, Names: audit.Names, Results: admin.Results}
	eq, err := eventQuery(q)
	if err == nil {
		d.Since, d.Until = localTime(eq.Since), localTime(eq.Until)
		d.FilterApplied = eq.User != "" || eq.Name != "" || eq.Result != "" || !eq.Since.IsZero() || !eq.Until.IsZero()
		var p admin.EventPage
		if p, err = h.Trail.Search(r.Context(), eq); err == nil {
			d.Events, d.Pager = p.Events, newPager(r, eq.Page, eq.PageSize, p.Total, len(p.Events))
		}
	}
	v := view{Title: "Audit trail", User: &u, Data: d}
	if err != nil {
		h.formError(w, r, "admin_audit", v, err)
		return
	}
	h.render(w, r, http.StatusOK, "admin_audit", v)
}

// localTime is t as a datetime-local field shows it (UTC).
func localTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04")
}

func (h *Handler) adminRevokeTrusted(w http.ResponseWriter, r *http.Request, u account.User) {
	id := r.PathValue("id")
	if err := h.Admin.RevokeTrustedBrowser(r.Context(), id, r.PathValue("browser")); err != nil {
		h.adminFail(w, r, u, err)
		return
	}
	http.Redirect(w, r, "/admin/users/"+url.PathEscape(id)+"?done=untrusted", http.StatusSeeOther)
}
