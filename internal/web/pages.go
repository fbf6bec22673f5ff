package web

import (
	"bytes"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"gatehouse/internal/account"
	"gatehouse/internal/errcode"
	"gatehouse/internal/mfa"
	"gatehouse/internal/policy"
	"gatehouse/internal/qr"
	"gatehouse/internal/totp"
)

type pages struct {
	t map[string]*template.Template
}

var funcs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "Never"
		}
		return t.UTC().Format("2 Jan 2006, 15:04 UTC")
	},
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"group": totp.GroupSecret,
	"split": strings.Fields,
}

func loadPages() (*pages, error) {
	p := &pages{t: map[string]*template.Template{}}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if strings.HasSuffix(n, "/layout.html") {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/partials/*.html", n)
		if err != nil {
			return nil, err
		}
		p.t[strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")] = t
	}
	return p, nil
}

// view is what every page template gets.
type view struct {
	Title string
	User  *account.User
	Error *errcode.Error
	// Notice is a success message.
	Notice string
	Data   any
	// ServerTime is the server's clock (Unix seconds) when the page was
	// made: app.js counts down to the next code from it.
	ServerTime int64
	// SigningIn hides the portal's navigation while a sign-in is not
	// complete (a forced password change or first registration): those
	// links would only lead back to the step.
	SigningIn bool
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, code int, name string, v view) {
	if v.User != nil && r != nil {
		if _, _, err := h.Accounts.Authenticated(r.Context(), h.token(r)); err != nil {
			v.SigningIn = true
		}
	}
	t, ok := h.pages.t[name]
	if !ok {
		h.Log.Error("missing template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	v.ServerTime = h.now().Unix()
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		h.Log.Error("render", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if v.Error != nil {
		setRetryAfter(w, v.Error)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// now is the server's clock (the one codes are checked against).
func (h *Handler) now() time.Time {
	if h.MFA != nil && h.MFA.Now != nil {
		return h.MFA.Now()
	}
	return time.Now()
}

func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, code int, title, msg string) {
	h.render(w, r, code, "error", view{Title: title, Data: msg})
}

// formError shows err on the page it came from. Unexpected errors are logged
// and shown as a fixed message.
func (h *Handler) formError(w http.ResponseWriter, r *http.Request, name string, v view, err error) {
	e := h.publicError(r, err)
	v.Error = e
	h.render(w, r, status(e.Code), name, v)
}

// registeringPage wraps the registration pages, which also serve a sign-in
// waiting for its first device.
func (h *Handler) registeringPage(fn func(w http.ResponseWriter, r *http.Request, u account.User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, u, err := h.Accounts.Authenticated(r.Context(), h.token(r))
		if errcode.Code(err) == errcode.RegistrationRequired {
			fn(w, asUser(r, u), u)
			return
		}
		h.page(fn)(w, r)
	}
}

// page wraps pages that need a completed sign-in; a half-finished sign-in is
// sent to the step it is at.
func (h *Handler) page(fn func(w http.ResponseWriter, r *http.Request, u account.User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, u, err := h.Accounts.Authenticated(r.Context(), h.token(r))
		switch errcode.Code(err) {
		case "":
			fn(w, asUser(r, u), u)
		case errcode.MFARequired:
			http.Redirect(w, r, "/signin/mfa?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		case errcode.PasswordChangeRequired:
			http.Redirect(w, r, "/password/change?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		case errcode.RegistrationRequired:
			http.Redirect(w, r, "/devices/register/choose?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		case errcode.EmailCodeRequired:
			http.Redirect(w, r, "/signin/email?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		case errcode.Unauthenticated:
			next := ""
			if r.Method == http.MethodGet && r.URL.Path != "/" {
				next = "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, "/signin"+next, http.StatusSeeOther)
		default:
			h.formError(w, r, "error", view{Title: "Error"}, err)
		}
	}
}

type signinData struct {
	Username string
	Next     string
}

func (h *Handler) signinForm(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if _, _, err := h.Accounts.Authenticated(r.Context(), h.token(r)); err == nil {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "signin", view{Title: "Sign in", Data: signinData{Next: localPath(r.URL.Query().Get("next"))}})
}

// nextStep sends a browser to where its session now stands.
func (h *Handler) nextStep(w http.ResponseWriter, r *http.Request, st account.State, next string) {
	q := "?next=" + url.QueryEscape(next)
	switch st {
	case account.StateMFA:
		http.Redirect(w, r, "/signin/mfa"+q, http.StatusSeeOther)
	case account.StatePasswordChange:
		http.Redirect(w, r, "/password/change"+q, http.StatusSeeOther)
	case account.StateRegistration:
		http.Redirect(w, r, "/devices/register/choose"+q, http.StatusSeeOther)
	case account.StateEmailCode:
		http.Redirect(w, r, "/signin/email"+q, http.StatusSeeOther)
	default:
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

func (h *Handler) signin(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	username, pw, next := r.PostFormValue("username"), r.PostFormValue("password"), localPath(r.PostFormValue("next"))
	res, err := h.Accounts.SignInPassword(r.Context(), h.token(r), username, pw, h.client(r))
	if err != nil {
		h.formError(w, r, "signin", view{Title: "Sign in", Data: signinData{Username: username, Next: next}}, err)
		return
	}
	h.setSession(w, res)
	h.nextStep(w, r, res.Session.State, next)
}

func (h *Handler) mfaForm(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	sess, _, err := h.Accounts.Lookup(r.Context(), h.token(r))
	if err != nil || sess.State != account.StateMFA {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "mfa", view{Title: "Verify your identity", Data: h.mfaData(r, localPath(r.URL.Query().Get("next")))})
}

type mfaData struct {
	Next string
	// OfferTrust shows "This is a trusted device" (context-aware policy).
	OfferTrust bool
	// TOTP and WebAuthn say which factors to offer; WebAuthnBlocked is why
	// the security key button must stay disabled (webauthn.go).
	TOTP, WebAuthn  bool
	WebAuthnBlocked string
}

func (h *Handler) mfaData(r *http.Request, next string) mfaData {
	pol, err := h.mfaPolicy(r)
	d := mfaData{Next: next, OfferTrust: err == nil && pol.PromptMode == policy.ContextAware}
	d.TOTP, d.WebAuthn = h.signInMethods(r)
	d.WebAuthnBlocked = h.webauthnUnavailable()
	return d
}

func (h *Handler) emailForm(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	sess, _, err := h.Accounts.Lookup(r.Context(), h.token(r))
	if err != nil || sess.State != account.StateEmailCode {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "email_code", view{Title: "Check your email", Data: signinData{Next: localPath(r.URL.Query().Get("next"))}})
}

func (h *Handler) emailSubmit(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	next := localPath(r.PostFormValue("next"))
	res, err := h.Accounts.VerifyEmailCode(r.Context(), h.token(r), strings.TrimSpace(r.PostFormValue("code")))
	if err != nil {
		if sess, _, lerr := h.Accounts.Lookup(r.Context(), h.token(r)); lerr != nil || sess.State != account.StateEmailCode {
			h.clearSession(w)
			h.formError(w, r, "signin", view{Title: "Sign in", Data: signinData{Next: next}}, err)
			return
		}
		h.formError(w, r, "email_code", view{Title: "Check your email", Data: signinData{Next: next}}, err)
		return
	}
	h.setSession(w, res)
	h.nextStep(w, r, res.Session.State, next)
}

func (h *Handler) mfaSubmit(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	next := localPath(r.PostFormValue("next"))
	res, err := h.Accounts.VerifyTOTP(r.Context(), h.token(r), r.PostFormValue("code"),
		account.StepOptions{Trust: r.PostFormValue("trust_device") != "", Client: h.client(r)})
	if err != nil {
		switch errcode.Code(err) {
		case errcode.Unauthenticated:
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		case errcode.RateLimited:
			if sess, _, lerr := h.Accounts.Lookup(r.Context(), h.token(r)); lerr != nil || sess.State != account.StateMFA {
				// The challenge is dead: start again from the password.
				h.clearSession(w)
				h.formError(w, r, "signin", view{Title: "Sign in", Data: signinData{Next: next}}, err)
				return
			}
		}
		h.formError(w, r, "mfa", view{Title: "Verify your identity", Data: h.mfaData(r, next)}, err)
		return
	}
	h.setSession(w, res)
	h.setTrust(w, res)
	h.nextStep(w, r, res.Session.State, next)
}

func (h *Handler) passwordForm(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	sess, u, err := h.Accounts.Lookup(r.Context(), h.token(r))
	if err != nil || (sess.State != account.StatePasswordChange && sess.State != account.StateAuthenticated) {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "password", view{Title: "Choose a new password", User: &u, Data: passwordData{Next: localPath(r.URL.Query().Get("next")), Forced: sess.State == account.StatePasswordChange, Min: 12}})
}

type passwordData struct {
	Next   string
	Forced bool
	Min    int
}

func (h *Handler) passwordSubmit(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	next := localPath(r.PostFormValue("next"))
	sess, u, err := h.Accounts.Lookup(r.Context(), h.token(r))
	if err != nil {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	data := passwordData{Next: next, Forced: sess.State == account.StatePasswordChange, Min: 12}
	pw, confirm := r.PostFormValue("new_password"), r.PostFormValue("confirm_password")
	if pw != confirm {
		h.formError(w, r, "password", view{Title: "Choose a new password", User: &u, Data: data}, errcode.New(errcode.InvalidInput, "The two passwords are not the same."))
		return
	}
	res, err := h.Accounts.ChangePassword(r.Context(), h.token(r), r.PostFormValue("current_password"), pw)
	if err != nil {
		h.formError(w, r, "password", view{Title: "Choose a new password", User: &u, Data: data}, err)
		return
	}
	h.setSession(w, res)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) signoutPage(w http.ResponseWriter, r *http.Request) {
	_ = h.Accounts.SignOut(r.Context(), h.token(r))
	h.clearSession(w)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request, u account.User) {
	devices, err := h.MFA.List(r.Context(), u.ID)
	if err != nil {
		h.formError(w, r, "error", view{Title: "Error", User: &u}, err)
		return
	}
	h.render(w, r, http.StatusOK, "home", view{Title: "Portal", User: &u, Data: len(devices)})
}

type devicesData struct {
	Devices       []deviceRow
	BlockedReason string
	// ManageBlocked hides Rename and Delete, with this reason.
	ManageBlocked string
	Trusted       []account.TrustedBrowser
	ShowTrusted   bool
	// RecoveryRemaining is the user's unused recovery codes (recovery.go);
	// -1 when unknown.
	RecoveryRemaining int
}

type deviceRow struct {
	mfa.Device
	TypeLabel string
}

func (h *Handler) devicesView(r *http.Request, u account.User) (view, error) {
	devices, err := h.MFA.List(r.Context(), u.ID)
	if err != nil {
		return view{}, err
	}
	reason, err := h.registerBlockedReason(r, u, "")
	if err != nil {
		return view{}, err
	}
	pol, err := h.mfaPolicy(r)
	if err != nil {
		return view{}, err
	}
	trusted, err := h.Accounts.TrustedBrowsers(r.Context(), u.ID)
	if err != nil {
		return view{}, err
	}
	d := devicesData{BlockedReason: reason, ManageBlocked: pol.ManageBlockedReason(), Trusted: trusted, ShowTrusted: pol.PromptMode == policy.ContextAware || len(trusted) > 0,
		RecoveryRemaining: h.recoveryRemaining(r, u)}
	notice := ""
	for _, dev := range devices {
		d.Devices = append(d.Devices, deviceRow{Device: dev, TypeLabel: dev.Type.Label()})
		if r.URL.Query().Get("registered") == dev.ID {
			notice = "“" + dev.Name + "” is registered. You can use it the next time you sign in."
		}
	}
	switch r.URL.Query().Get("done") {
	case "renamed":
		notice = "The device was renamed."
	case "deleted":
		notice = "The device was deleted."
	case "revoked":
		notice = "The browser is no longer trusted: it will be asked for MFA at its next sign-in."
	}
	return view{Title: "My devices", User: &u, Data: d, Notice: notice}, nil
}

func (h *Handler) devices(w http.ResponseWriter, r *http.Request, u account.User) {
	v, err := h.devicesView(r, u)
	if err != nil {
		h.formError(w, r, "error", view{Title: "Error", User: &u}, err)
		return
	}
	h.render(w, r, http.StatusOK, "devices", v)
}

type nameData struct {
	Name string
	// Next is where a sign-in that waits for its first device goes after.
	Next string
	// FirstDevice says the sign-in waits for this registration.
	FirstDevice bool
}

func (h *Handler) registerForm(w http.ResponseWriter, r *http.Request, u account.User) {
	reason, err := h.registerBlockedReason(r, u, mfa.TypeTOTP.Kind())
	if err == nil && reason != "" {
		err = errcode.New(errcode.NotAllowed, "%s", reason)
	}
	if err != nil {
		v, verr := h.devicesView(r, u)
		if verr != nil {
			err = verr
		}
		h.formError(w, r, "devices", v, err)
		return
	}
	h.render(w, r, http.StatusOK, "device_name", view{Title: "Device name", User: &u,
		Data: nameData{Next: localPath(r.URL.Query().Get("next")), FirstDevice: h.registering(r)}})
}

func (h *Handler) registerSubmit(w http.ResponseWriter, r *http.Request, u account.User) {
	name, next := r.PostFormValue("name"), localPath(r.PostFormValue("next"))
	data := nameData{Name: name, Next: next, FirstDevice: h.registering(r)}
	if reason, err := h.registerPolicyReason(r, mfa.TypeTOTP.Kind()); err != nil || reason != "" {
		if err == nil {
			err = errcode.New(errcode.NotAllowed, "%s", reason)
		}
		h.formError(w, r, "device_name", view{Title: "Device name", User: &u, Data: data}, err)
		return
	}
	e, err := h.MFA.StartTOTP(r.Context(), u.ID, u.Username, name)
	if err != nil {
		h.formError(w, r, "device_name", view{Title: "Device name", User: &u, Data: data}, err)
		return
	}
	target := "/devices/" + e.ID + "/configure"
	if next != "/" {
		target += "?next=" + url.QueryEscape(next)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

type enrollData struct {
	mfa.Enrollment
	QR template.URL
	// QRSize is the image's own size in pixels, so it is drawn 1:1 (crisp).
	QRSize  int
	Secret  string
	Grouped []string
	Digits  int
	Next    string
}

func (h *Handler) enrollView(r *http.Request, u account.User) (view, error) {
	e, err := h.MFA.Get(r.Context(), u.ID, u.Username, r.PathValue("id"))
	if err != nil {
		return view{}, err
	}
	if e.Status != mfa.StatusPending {
		return view{}, errcode.New(errcode.Conflict, "This device is already registered.")
	}
	q, err := qrDataURL(e.URI)
	if err != nil {
		return view{}, err
	}
	version, err := qr.Version(e.URI)
	if err != nil {
		return view{}, err
	}
	secret := e.EncodedSecret()
	return view{Title: "Device configuration", User: &u, Data: enrollData{
		Enrollment: e, QR: template.URL(q), QRSize: (17 + 4*version + 2*qr.QuietZone) * QRPixelsPerModule, Secret: secret, Grouped: strings.Fields(totp.GroupSecret(secret)), Digits: h.MFA.Params.Digits,
		Next: localPath(r.FormValue("next")),
	}}, nil
}

// enrollGone answers for an enrollment that cannot be shown: expired, not
// found, or already registered.
func (h *Handler) enrollGone(w http.ResponseWriter, r *http.Request, u account.User, err error) {
	if errcode.Code(err) == errcode.Conflict {
		http.Redirect(w, r, "/devices?registered="+url.QueryEscape(r.PathValue("id")), http.StatusSeeOther)
		return
	}
	v, verr := h.devicesView(r, u)
	if verr != nil {
		err = verr
	}
	h.formError(w, r, "devices", v, err)
}

func (h *Handler) enrollForm(w http.ResponseWriter, r *http.Request, u account.User) {
	noStore(w)
	v, err := h.enrollView(r, u)
	if err != nil {
		h.enrollGone(w, r, u, err)
		return
	}
	h.render(w, r, http.StatusOK, "device_config", v)
}

func (h *Handler) enrollSubmit(w http.ResponseWriter, r *http.Request, u account.User) {
	noStore(w)
	id := r.PathValue("id")
	_, err := h.MFA.Confirm(r.Context(), u.ID, id, r.PostFormValue("code"))
	if err == nil {
		if h.registering(r) {
			if err := h.finishRegistration(w, r); err != nil {
				h.formError(w, r, "error", view{Title: "Error"}, err)
				return
			}
			http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/devices?registered="+url.QueryEscape(id), http.StatusSeeOther)
		return
	}
	switch errcode.Code(err) {
	case errcode.EnrollmentExpired, errcode.NotFound, errcode.Conflict, errcode.NameTaken, errcode.DeviceLimit:
		h.enrollGone(w, r, u, err)
		return
	}
	v, verr := h.enrollView(r, u)
	if verr != nil {
		h.enrollGone(w, r, u, verr)
		return
	}
	h.formError(w, r, "device_config", v, err)
}

func (h *Handler) ownDevice(r *http.Request, u account.User) (mfa.Device, error) {
	devices, err := h.MFA.List(r.Context(), u.ID)
	if err != nil {
		return mfa.Device{}, err
	}
	for _, d := range devices {
		if d.ID == r.PathValue("id") {
			return d, nil
		}
	}
	return mfa.Device{}, errcode.New(errcode.NotFound, "No such device.")
}

func (h *Handler) renameForm(w http.ResponseWriter, r *http.Request, u account.User) {
	d, err := h.ownDevice(r, u)
	if err != nil {
		h.enrollGone(w, r, u, err)
		return
	}
	h.render(w, r, http.StatusOK, "device_rename", view{Title: "Rename device", User: &u, Data: deviceRow{Device: d, TypeLabel: d.Type.Label()}})
}

func (h *Handler) renameSubmit(w http.ResponseWriter, r *http.Request, u account.User) {
	d, err := h.ownDevice(r, u)
	if err != nil {
		h.enrollGone(w, r, u, err)
		return
	}
	if err := h.manageBlocked(r); err != nil {
		h.formError(w, r, "device_rename", view{Title: "Rename device", User: &u, Data: deviceRow{Device: d, TypeLabel: d.Type.Label()}}, err)
		return
	}
	if _, err := h.MFA.Rename(r.Context(), u.ID, d.ID, r.PostFormValue("name")); err != nil {
		d.Name = r.PostFormValue("name")
		h.formError(w, r, "device_rename", view{Title: "Rename device", User: &u, Data: deviceRow{Device: d, TypeLabel: d.Type.Label()}}, err)
		return
	}
	http.Redirect(w, r, "/devices?done=renamed", http.StatusSeeOther)
}

func (h *Handler) deleteForm(w http.ResponseWriter, r *http.Request, u account.User) {
	d, err := h.ownDevice(r, u)
	if err != nil {
		h.enrollGone(w, r, u, err)
		return
	}
	h.render(w, r, http.StatusOK, "device_delete", view{Title: "Delete device", User: &u, Data: deviceRow{Device: d, TypeLabel: d.Type.Label()}})
}

func (h *Handler) deleteSubmit(w http.ResponseWriter, r *http.Request, u account.User) {
	d, err := h.ownDevice(r, u)
	if err != nil {
		h.enrollGone(w, r, u, err)
		return
	}
	if err := h.deleteOwnDevice(r, u, d.ID); err != nil {
		h.formError(w, r, "device_delete", view{Title: "Delete device", User: &u, Data: deviceRow{Device: d, TypeLabel: d.Type.Label()}}, err)
		return
	}
	http.Redirect(w, r, "/devices?done=deleted", http.StatusSeeOther)
}

func (h *Handler) revokeTrusted(w http.ResponseWriter, r *http.Request, u account.User) {
	if err := h.Accounts.RevokeTrustedBrowser(r.Context(), u.ID, r.PathValue("id")); err != nil {
		v, verr := h.devicesView(r, u)
		if verr != nil {
			err = verr
		}
		h.formError(w, r, "devices", v, err)
		return
	}
	http.Redirect(w, r, "/devices?done=revoked", http.StatusSeeOther)
}

// cancelEnrollment abandons a pending registration (the Cancel button of
// Device configuration): its secret is deleted at once instead of waiting
// for expiry. Active devices are not touched here.
func (h *Handler) cancelEnrollment(w http.ResponseWriter, r *http.Request, u account.User) {
	d, err := h.MFA.Store.GetDevice(r.Context(), u.ID, r.PathValue("id"))
	if err == nil && d.Status == mfa.StatusPending {
		err = h.MFA.Delete(r.Context(), u.ID, d.ID, false)
	}
	if err != nil && !errors.Is(err, mfa.ErrNotFound) && errcode.Code(err) != errcode.NotFound {
		h.formError(w, r, "error", view{Title: "Error", User: &u}, err)
		return
	}
	if h.registering(r) {
		http.Redirect(w, r, "/devices/register/choose", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/devices", http.StatusSeeOther)
}
