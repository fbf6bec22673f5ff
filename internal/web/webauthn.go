package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"gatehouse/internal/account"
	"gatehouse/internal/audit"
	"gatehouse/internal/errcode"
	"gatehouse/internal/mfa"
	"gatehouse/internal/policy"
)

// Security keys and built-in authenticators: the type choice, the Device
// name step whose Next runs the browser ceremony (static/webauthn.js, over
// the JSON API), and the sign-in calls. The ceremony needs JavaScript; the
// pages render its buttons disabled, with the reason, until the script has
// checked that the browser has WebAuthn.

// webauthnRoutes are the routes of this file; web.go calls it.
func (h *Handler) webauthnRoutes() {
	m := h.mux
	m.HandleFunc("GET /devices/register/choose", h.registeringPage(h.chooseType))
	m.HandleFunc("GET /devices/register/key", h.registeringPage(h.keyNameForm))
	m.HandleFunc("POST /devices/register/key", h.registeringPage(h.keyNameSubmit))
	m.HandleFunc("POST /api/v1/auth/webauthn/begin", h.apiWebAuthnBegin)
	m.HandleFunc("POST /api/v1/auth/webauthn/finish", h.apiWebAuthnFinish)
}

func (h *Handler) webauthnUnavailable() string {
	return h.WebAuthn.UnavailableReason()
}

// deviceLimitReason is the device limits' say on registering a device of a
// kind ("totp", "webauthn"), or of any kind the policy allows (""): then a
// reason only when every kind is blocked.
func (h *Handler) deviceLimitReason(r *http.Request, u account.User, pol policy.MFA, kind string) (string, error) {
	byKind := func(k string) (string, error) {
		if k == mfa.TypeTOTP.Kind() {
			return h.MFA.RegisterBlockedReason(r.Context(), u.ID)
		}
		return h.WebAuthn.BlockedReason(r.Context(), u.ID)
	}
	if kind != "" {
		return byKind(kind)
	}
	var reasons []string
	for _, k := range []string{mfa.TypeTOTP.Kind(), mfa.TypeSecurityKey.Kind()} {
		if !pol.Allows(k) {
			continue
		}
		reason, err := byKind(k)
		if err != nil || reason == "" {
			return "", err
		}
		reasons = append(reasons, reason)
	}
	return strings.Join(reasons, " "), nil
}

// typeOption is one choice on the type page.
type typeOption struct {
	Type    mfa.Type
	Label   string
	Hint    string
	Blocked string // why it cannot be chosen ("" when it can)
	// WebAuthn options are enabled by the script once it has found
	// WebAuthn in the browser.
	WebAuthn bool
}

type chooseData struct {
	Options     []typeOption
	Next        string
	FirstDevice bool
}

func (h *Handler) typeOptions(r *http.Request, u account.User) ([]typeOption, error) {
	pol, err := h.mfaPolicy(r)
	if err != nil {
		return nil, err
	}
	options := []typeOption{
		{Type: mfa.TypeTOTP, Label: mfa.TypeTOTP.Label(), Hint: "An app on your phone shows a new code every 30 seconds: Google Authenticator, Microsoft Authenticator, 1Password, Aegis, …"},
		{Type: mfa.TypeSecurityKey, Label: mfa.TypeSecurityKey.Label(), Hint: "A key you plug in or hold to your phone (USB, NFC or Bluetooth), such as a YubiKey.", WebAuthn: true},
		{Type: mfa.TypeBuiltIn, Label: mfa.TypeBuiltIn.Label(), Hint: "This device's own: Touch ID, Face ID, Windows Hello, or an Android phone's screen lock.", WebAuthn: true},
	}
	var out []typeOption
	for _, o := range options {
		kind := o.Type.Kind()
		if !pol.Allows(kind) {
			continue // DESIGN §1: only the types the policy allows
		}
		reason := pol.RegisterBlockedReason(kind, h.registering(r))
		if reason == "" {
			if reason, err = h.deviceLimitReason(r, u, pol, kind); err != nil {
				return nil, err
			}
		}
		o.Blocked = reason
		out = append(out, o)
	}
	return out, nil
}

// chooseType is the type choice: Authenticator app, Security key, Built-in
// authenticator. Choosing one (a GET with ?type=) goes on to its Device
// name page.
func (h *Handler) chooseType(w http.ResponseWriter, r *http.Request, u account.User) {
	next := localPath(r.URL.Query().Get("next"))
	options, err := h.typeOptions(r, u)
	if err != nil {
		h.formError(w, r, "error", view{Title: "Error", User: &u}, err)
		return
	}
	data := chooseData{Options: options, Next: next, FirstDevice: h.registering(r)}
	if t := mfa.Type(r.URL.Query().Get("type")); t != "" {
		var chosen *typeOption
		for i := range options {
			if options[i].Type == t {
				chosen = &options[i]
			}
		}
		switch {
		case chosen == nil:
			err = errcode.New(errcode.InvalidInput, "Choose one of the types below.")
		case chosen.Blocked != "":
			err = errcode.New(errcode.NotAllowed, "%s", chosen.Blocked)
		}
		if err != nil {
			h.formError(w, r, "register_type", view{Title: "Choose MFA device type", User: &u, Data: data}, err)
			return
		}
		q := url.Values{}
		if next != "/" {
			q.Set("next", next)
		}
		target := "/devices/register"
		if t.IsWebAuthn() {
			target = "/devices/register/key"
			q.Set("type", string(t))
		}
		if len(q) > 0 {
			target += "?" + q.Encode()
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "register_type", view{Title: "Choose MFA device type", User: &u, Data: data})
}

type keyNameData struct {
	Type        mfa.Type
	TypeLabel   string
	Name        string
	Next        string
	FirstDevice bool
	// Blocked is the server's reason the ceremony cannot run ("" when it
	// can): the button stays disabled whatever the browser.
	Blocked string
}

func (h *Handler) keyNameData(r *http.Request, u account.User, t mfa.Type, name, next string) (keyNameData, error) {
	d := keyNameData{Type: t, TypeLabel: t.Label(), Name: name, Next: next, FirstDevice: h.registering(r)}
	options, err := h.typeOptions(r, u)
	if err != nil {
		return d, err
	}
	d.Blocked = "Your administrator does not allow this kind of MFA device."
	for _, o := range options {
		if o.Type == t {
			d.Blocked = o.Blocked
		}
	}
	return d, nil
}

// keyNameForm is the Device name step for a security key or built-in
// authenticator; its Next runs the ceremony in the browser.
func (h *Handler) keyNameForm(w http.ResponseWriter, r *http.Request, u account.User) {
	t := mfa.Type(r.URL.Query().Get("type"))
	if !t.IsWebAuthn() {
		http.Redirect(w, r, "/devices/register/choose", http.StatusSeeOther)
		return
	}
	d, err := h.keyNameData(r, u, t, "", localPath(r.URL.Query().Get("next")))
	if err != nil {
		h.formError(w, r, "error", view{Title: "Error", User: &u}, err)
		return
	}
	h.render(w, r, http.StatusOK, "webauthn_register", view{Title: "Device name", User: &u, Data: d})
}

// keyNameSubmit answers a form posted without the script (which the page
// prevents by keeping Next disabled): the ceremony cannot run without it.
func (h *Handler) keyNameSubmit(w http.ResponseWriter, r *http.Request, u account.User) {
	t := mfa.Type(r.PostFormValue("type"))
	if !t.IsWebAuthn() {
		http.Redirect(w, r, "/devices/register/choose", http.StatusSeeOther)
		return
	}
	d, err := h.keyNameData(r, u, t, r.PostFormValue("name"), localPath(r.PostFormValue("next")))
	if err == nil {
		err = errcode.New(errcode.InvalidInput, "Registering a %s needs JavaScript in this browser. Turn it on, or use another browser.", strings.ToLower(t.Label()))
	}
	h.formError(w, r, "webauthn_register", view{Title: "Device name", User: &u, Data: d}, err)
}

// webauthnEnrollmentJSON is a pending WebAuthn device with the options for
// navigator.credentials.create().
type webauthnEnrollmentJSON struct {
	deviceJSON
	Options json.RawMessage `json:"options"`
}

// apiCreateWebAuthnDevice starts registering a security key or built-in
// authenticator (POST /api/v1/me/mfa-devices with that type).
func (h *Handler) apiCreateWebAuthnDevice(w http.ResponseWriter, r *http.Request, u account.User, name string, t mfa.Type) {
	if reason, err := h.registerPolicyReason(r, t.Kind()); err != nil || reason != "" {
		if err == nil {
			err = errcode.New(errcode.NotAllowed, "%s", reason)
		}
		h.fail(w, r, err)
		return
	}
	e, err := h.WebAuthn.StartRegistration(r.Context(), u.ID, u.Username, account.HashToken(h.token(r)), name, t)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := webauthnEnrollmentJSON{deviceJSON: deviceOut(e.Device), Options: e.Options}
	out.ExpiresAt = rfc3339(e.ExpiresAt)
	w.Header().Set("Location", "/api/v1/me/mfa-devices/"+e.ID)
	writeJSON(w, http.StatusCreated, out)
}

// apiVerifyWebAuthnDevice confirms a registration with the browser's
// credential (POST /api/v1/me/mfa-devices/{id}/verify with "credential").
func (h *Handler) apiVerifyWebAuthnDevice(w http.ResponseWriter, r *http.Request, u account.User, credential json.RawMessage) {
	d, err := h.WebAuthn.ConfirmRegistration(r.Context(), u.ID, u.Username, account.HashToken(h.token(r)), r.PathValue("id"), credential)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.finishRegistration(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deviceOut(d))
}

// decodeOptional is decode for a body that may be empty.
func decodeOptional(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return decode(r, v) // reports the size limit in the usual words
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	r.Body = io.NopCloser(strings.NewReader(string(b)))
	return decode(r, v)
}

func (h *Handler) webauthnAllowed(r *http.Request) error {
	pol, err := h.mfaPolicy(r)
	if err != nil {
		return err
	}
	if !pol.Allows(mfa.TypeSecurityKey.Kind()) {
		return errcode.New(errcode.NotAllowed, "Your administrator does not allow security keys or built-in authenticators.")
	}
	return nil
}

// apiWebAuthnBegin starts the MFA step with a security key or built-in
// authenticator: {"options": {…}} for navigator.credentials.get().
func (h *Handler) apiWebAuthnBegin(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	var in struct{}
	if err := decodeOptional(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	sess, u, err := h.Accounts.Lookup(r.Context(), h.token(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if sess.State != account.StateMFA {
		h.fail(w, r, errcode.New(errcode.NotAllowed, "No second factor is expected now."))
		return
	}
	if err := h.webauthnAllowed(r); err != nil {
		h.fail(w, r, err)
		return
	}
	opts, err := h.WebAuthn.BeginSignIn(r.Context(), u.ID, sess.IDHash)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"options": opts})
}

// apiWebAuthnFinish completes the MFA step with the browser's assertion,
// through the same CompleteStep as a code: the same attempt limits,
// throttle and session rotation.
func (h *Handler) apiWebAuthnFinish(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	var in struct {
		Credential  json.RawMessage `json:"credential"`
		TrustDevice bool            `json:"trust_device"`
	}
	if err := decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if len(in.Credential) == 0 || string(in.Credential) == "null" {
		h.fail(w, r, errcode.New(errcode.InvalidInput, "Send the browser's answer as \"credential\" (the JSON of credential.toJSON())."))
		return
	}
	if err := h.webauthnAllowed(r); err != nil {
		h.fail(w, r, err)
		return
	}
	token := h.token(r)
	hash := account.HashToken(token)
	res, err := h.Accounts.CompleteStep(r.Context(), token,
		account.StepOptions{Trust: in.TrustDevice, Client: h.client(r), CredentialType: audit.WebAuthn},
		func(ctx context.Context, userID string) error {
			return h.WebAuthn.CheckAssertion(ctx, userID, hash, in.Credential)
		})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.setSession(w, res)
	h.setTrust(w, res)
	writeJSON(w, http.StatusOK, stateBody{State: string(res.Session.State), Methods: []string{}})
}

// signInMethods is what the MFA step offers the session's user: their
// kinds of device that the policy allows.
func (h *Handler) signInMethods(r *http.Request) (totp, webauthn bool) {
	_, u, err := h.Accounts.Lookup(r.Context(), h.token(r))
	if err != nil {
		return true, false
	}
	methods, err := h.MFA.Methods(r.Context(), u.ID)
	if err != nil {
		return true, false
	}
	pol, err := h.mfaPolicy(r)
	if err != nil {
		pol = policy.Default()
	}
	for _, m := range methods {
		switch {
		case m == mfa.TypeTOTP.Kind() && pol.Allows(m):
			totp = true
		case m == mfa.TypeSecurityKey.Kind() && pol.Allows(m):
			webauthn = true
		}
	}
	if !totp && !webauthn {
		totp = true // the code form, as before: it says what is wrong
	}
	return totp, webauthn
}
