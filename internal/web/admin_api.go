package web

// The administrators' JSON API, /api/v1/admin/…: what the console does, for
// scripts. A script signs in with an administrator's session cookie or an
// API token ("Authorization: Bearer gh_…").

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"gatehouse/internal/account"
	"gatehouse/internal/admin"
	"gatehouse/internal/audit"
	"gatehouse/internal/errcode"
	"gatehouse/internal/qr"
)

func (h *Handler) adminAPIRoutes() {
	m := h.mux
	m.HandleFunc("/api/v1/admin/", h.adminAPI(func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, errcode.New(errcode.NotFound, "No such API endpoint: %s %s.", r.Method, r.URL.Path))
	}))
	m.HandleFunc("GET /api/v1/admin/users", h.adminAPI(h.apiAdminUsers))
	m.HandleFunc("POST /api/v1/admin/users", h.adminAPI(h.apiAdminCreateUser))
	m.HandleFunc("GET /api/v1/admin/users/{id}", h.adminAPI(h.apiAdminUser))
	m.HandleFunc("PATCH /api/v1/admin/users/{id}", h.adminAPI(h.apiAdminUpdateUser))
	m.HandleFunc("GET /api/v1/admin/users/{id}/mfa-devices", h.adminAPI(h.apiAdminDevices))
	m.HandleFunc("POST /api/v1/admin/users/{id}/mfa-devices", h.adminAPI(h.apiAdminStartDevice))
	m.HandleFunc("GET /api/v1/admin/users/{id}/mfa-devices/{device}", h.adminAPI(h.apiAdminDevice))
	m.HandleFunc("PATCH /api/v1/admin/users/{id}/mfa-devices/{device}", h.adminAPI(h.apiAdminRenameDevice))
	m.HandleFunc("DELETE /api/v1/admin/users/{id}/mfa-devices/{device}", h.adminAPI(h.apiAdminDeleteDevice))
	m.HandleFunc("POST /api/v1/admin/users/{id}/mfa-devices/{device}/verify", h.adminAPI(h.apiAdminVerifyDevice))
	m.HandleFunc("POST /api/v1/admin/users/{id}/mfa-reset", h.adminAPI(h.apiAdminResetMFA))
	m.HandleFunc("POST /api/v1/admin/users/{id}/disable", h.adminAPI(h.apiAdminSetDisabled(true)))
	m.HandleFunc("POST /api/v1/admin/users/{id}/enable", h.adminAPI(h.apiAdminSetDisabled(false)))
	m.HandleFunc("POST /api/v1/admin/users/{id}/password-reset", h.adminAPI(h.apiAdminResetPassword))
	m.HandleFunc("GET /api/v1/admin/users/{id}/trusted-browsers", h.adminAPI(h.apiAdminTrusted))
	m.HandleFunc("DELETE /api/v1/admin/users/{id}/trusted-browsers/{browser}", h.adminAPI(h.apiAdminRevokeTrusted))
	m.HandleFunc("GET /api/v1/admin/audit", h.adminAPI(h.apiAdminAudit))
}

// bearer returns the token of an "Authorization: Bearer …" header; ok is
// false when the header is there but is not a bearer token.
func bearer(r *http.Request) (token string, present, ok bool) {
	v := r.Header.Get("Authorization")
	if v == "" {
		return "", false, false
	}
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", true, false
	}
	return strings.TrimSpace(rest), true, true
}

// adminAPI wraps the administrators' API: an API token or an administrator's
// completed sign-in. A token in the header is the whole answer: a bad one
// is 401 even if a session cookie rides along.
func (h *Handler) adminAPI(fn http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		if secret, present, ok := bearer(r); present {
			if !ok {
				h.fail(w, r, errcode.New(errcode.Unauthenticated, "Send the API token as \"Authorization: Bearer gh_…\"."))
				return
			}
			t, err := h.Tokens.Authenticate(r.Context(), secret)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			id, name := t.Actor()
			fn(w, asActor(r, id, name))
			return
		}
		_, u, err := h.Accounts.Authenticated(r.Context(), h.token(r))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if !u.Admin {
			h.fail(w, r, errcode.New(errcode.NotAllowed, "Only administrators can use this API."))
			return
		}
		fn(w, asUser(r, u))
	}
}

type adminUserJSON struct {
	ID                     string `json:"id"`
	Username               string `json:"username"`
	Email                  string `json:"email"`
	Admin                  bool   `json:"admin"`
	Disabled               bool   `json:"disabled"`
	PasswordChangeRequired bool   `json:"password_change_required"`
	CreatedAt              string `json:"created_at"`
	MFADevices             int    `json:"mfa_devices"`
}

func adminUserOut(u account.User, devices int) adminUserJSON {
	return adminUserJSON{ID: u.ID, Username: u.Username, Email: u.Email, Admin: u.Admin, Disabled: u.Disabled,
		PasswordChangeRequired: u.MustChangePassword, CreatedAt: rfc3339(u.CreatedAt), MFADevices: devices}
}

// userOut answers with a user and their active device count.
func (h *Handler) userOut(w http.ResponseWriter, r *http.Request, status int, u account.User) {
	devices, err := h.Admin.ListDevices(r.Context(), u.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, status, adminUserOut(u, len(devices)))
}

func (h *Handler) apiAdminUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, size, err := paging(q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p, err := h.Admin.Users(r.Context(), q.Get("query"), page, size)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	users := make([]adminUserJSON, 0, len(p.Users))
	for _, u := range p.Users {
		users = append(users, adminUserOut(u.User, u.Devices))
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users, "page": p.Page, "page_size": p.PageSize, "total": p.Total, "pages": p.Pages()})
}

func (h *Handler) apiAdminCreateUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username *string `json:"username"`
		Email    string  `json:"email"`
		Admin    bool    `json:"admin"`
	}
	if err := decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if in.Username == nil {
		h.fail(w, r, errcode.New(errcode.InvalidInput, "The field \"username\" is required."))
		return
	}
	u, pw, err := h.Admin.CreateUser(r.Context(), *in.Username, in.Email, in.Admin)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/admin/users/"+url.PathEscape(u.ID))
	writeJSON(w, http.StatusCreated, struct {
		adminUserJSON
		OneTimePassword string `json:"one_time_password"`
	}{adminUserOut(u, 0), pw})
}

func (h *Handler) apiAdminUser(w http.ResponseWriter, r *http.Request) {
	u, err := h.Admin.User(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.userOut(w, r, http.StatusOK, u)
}

func (h *Handler) apiAdminUpdateUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email *string `json:"email"`
		Admin *bool   `json:"admin"`
	}
	if err := decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	u, err := h.Admin.UpdateUser(r.Context(), r.PathValue("id"), admin.UserChange{Email: in.Email, Admin: in.Admin})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.userOut(w, r, http.StatusOK, u)
}

func (h *Handler) apiAdminDevices(w http.ResponseWriter, r *http.Request) {
	devices, err := h.Admin.ListDevices(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]deviceJSON, 0, len(devices))
	for _, d := range devices {
		out = append(out, deviceOut(d))
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": out})
}

func (h *Handler) apiAdminStartDevice(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name *string `json:"name"`
		Type string  `json:"type"`
	}
	if err := decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if in.Name == nil {
		h.fail(w, r, errcode.New(errcode.NameInvalid, "Enter a device name (the field \"name\")."))
		return
	}
	if in.Type != "totp" {
		h.fail(w, r, errcode.New(errcode.InvalidInput, "The field \"type\" must be \"totp\": administrators register authenticator apps."))
		return
	}
	e, err := h.Admin.StartEnrollment(r.Context(), r.PathValue("id"), *in.Name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := deviceOut(e.Device)
	png, err := qr.PNG(e.URI, QRPixelsPerModule)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out.Secret, out.OTPAuthURI, out.QRPNG, out.ExpiresAt = e.EncodedSecret(), e.URI, base64.StdEncoding.EncodeToString(png), rfc3339(e.ExpiresAt)
	w.Header().Set("Location", "/api/v1/admin/users/"+url.PathEscape(e.UserID)+"/mfa-devices/"+url.PathEscape(e.ID))
	writeJSON(w, http.StatusCreated, out)
}

// apiAdminDevice answers one device, never with a secret: an
// administrator's registration shows it only in the answer that starts it.
func (h *Handler) apiAdminDevice(w http.ResponseWriter, r *http.Request) {
	id, device := r.PathValue("id"), r.PathValue("device")
	devices, err := h.Admin.ListDevices(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, d := range devices {
		if d.ID == device {
			writeJSON(w, http.StatusOK, deviceOut(d))
			return
		}
	}
	d, err := h.Admin.Enrollment(r.Context(), id, device)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := deviceOut(d)
	out.ExpiresAt = rfc3339(d.ExpiresAt)
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) apiAdminRenameDevice(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name *string `json:"name"`
	}
	if err := decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if in.Name == nil {
		h.fail(w, r, errcode.New(errcode.NameInvalid, "Enter a device name (the field \"name\")."))
		return
	}
	d, err := h.Admin.RenameDevice(r.Context(), r.PathValue("id"), r.PathValue("device"), *in.Name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deviceOut(d))
}

func (h *Handler) apiAdminDeleteDevice(w http.ResponseWriter, r *http.Request) {
	if err := h.Admin.DeleteDevice(r.Context(), r.PathValue("id"), r.PathValue("device")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) apiAdminVerifyDevice(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Code string `json:"code"`
	}
	if err := decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	d, err := h.Admin.ConfirmEnrollment(r.Context(), r.PathValue("id"), r.PathValue("device"), in.Code)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deviceOut(d))
}

func (h *Handler) apiAdminResetMFA(w http.ResponseWriter, r *http.Request) {
	n, err := h.Admin.ResetMFA(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices_removed": n})
}

func (h *Handler) apiAdminSetDisabled(disabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var u account.User
		var err error
		if disabled {
			u, err = h.Admin.Disable(r.Context(), r.PathValue("id"))
		} else {
			u, err = h.Admin.Enable(r.Context(), r.PathValue("id"))
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.userOut(w, r, http.StatusOK, u)
	}
}

func (h *Handler) apiAdminResetPassword(w http.ResponseWriter, r *http.Request) {
	pw, err := h.Admin.ResetPassword(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"one_time_password": pw})
}

func (h *Handler) apiAdminAudit(w http.ResponseWriter, r *http.Request) {
	q, err := eventQuery(r.URL.Query())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p, err := h.Trail.Search(r.Context(), q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	events := p.Events
	if events == nil {
		events = []audit.Event{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": events, "page": q.Page, "page_size": q.PageSize, "total": p.Total, "pages": p.Pages()})
}

func (h *Handler) apiAdminTrusted(w http.ResponseWriter, r *http.Request) {
	list, err := h.Admin.TrustedBrowsers(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]map[string]string, 0, len(list))
	for _, b := range list {
		out = append(out, map[string]string{"id": b.ID, "user_agent": b.UserAgent, "network": b.Network,
			"created_at": rfc3339(b.CreatedAt), "last_used_at": rfc3339(b.LastUsedAt), "expires_at": rfc3339(b.ExpiresAt)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"trusted_browsers": out})
}

func (h *Handler) apiAdminRevokeTrusted(w http.ResponseWriter, r *http.Request) {
	if err := h.Admin.RevokeTrustedBrowser(r.Context(), r.PathValue("id"), r.PathValue("browser")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
