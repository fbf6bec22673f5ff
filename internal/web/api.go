package web

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"gatehouse/internal/account"
	"gatehouse/internal/errcode"
	"gatehouse/internal/mfa"
	"gatehouse/internal/qr"
)

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Detail  map[string]any `json:"detail,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// fail answers an API request with the error envelope.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := h.publicError(r, err)
	setRetryAfter(w, e)
	noStore(w)
	writeJSON(w, status(e.Code), errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, Detail: e.Detail}})
}

// decode reads a JSON request body strictly: application/json, one object,
// no unknown fields, nothing after it, at most MaxBodyBytes.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return errcode.New(errcode.InvalidInput, "Send the request body as application/json.")
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var ute *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &mbe):
			return errcode.New(errcode.InvalidInput, "The request body is larger than %d bytes.", MaxBodyBytes)
		case errors.Is(err, io.EOF):
			return errcode.New(errcode.InvalidInput, "The request body is empty; send a JSON object.")
		case errors.As(err, &ute):
			return errcode.New(errcode.InvalidInput, "The field %q must be a %s.", ute.Field, ute.Type.String())
		case errors.As(err, &se):
			return errcode.New(errcode.InvalidInput, "The request body is not valid JSON (at byte %d).", se.Offset)
		default:
			if msg := err.Error(); len(msg) > 20 && msg[:20] == "json: unknown field " {
				return errcode.New(errcode.InvalidInput, "Unknown field %s.", msg[20:])
			}
			return errcode.New(errcode.InvalidInput, "The request body is not valid JSON.")
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errcode.New(errcode.InvalidInput, "The request body is larger than %d bytes.", MaxBodyBytes)
		}
		return errcode.New(errcode.InvalidInput, "Send exactly one JSON object.")
	}
	return nil
}

func required(field, value string) error {
	if value == "" {
		return errcode.New(errcode.InvalidInput, "The field %q is required.", field)
	}
	return nil
}

type stateBody struct {
	State   string   `json:"state"`
	Methods []string `json:"methods"`
}

func (h *Handler) apiPassword(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username *string `json:"username"`
		Password *string `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if in.Username == nil || in.Password == nil {
		h.fail(w, r, errcode.New(errcode.InvalidInput, "Send both \"username\" and \"password\"."))
		return
	}
	res, err := h.Accounts.SignInPassword(r.Context(), h.token(r), *in.Username, *in.Password, h.client(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.setSession(w, res)
	methods := res.Methods
	if methods == nil {
		methods = []string{}
	}
	writeJSON(w, http.StatusOK, stateBody{State: string(res.Session.State), Methods: methods})
}

func (h *Handler) apiTOTP(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Code        string `json:"code"`
		TrustDevice bool   `json:"trust_device"`
	}
	if err := decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.Accounts.VerifyTOTP(r.Context(), h.token(r), in.Code, account.StepOptions{Trust: in.TrustDevice, Client: h.client(r)})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.setSession(w, res)
	h.setTrust(w, res)
	writeJSON(w, http.StatusOK, stateBody{State: string(res.Session.State), Methods: []string{}})
}

func (h *Handler) apiEmailCode(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Code string `json:"code"`
	}
	if err := decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.Accounts.VerifyEmailCode(r.Context(), h.token(r), in.Code)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.setSession(w, res)
	writeJSON(w, http.StatusOK, stateBody{State: string(res.Session.State), Methods: []string{}})
}

func (h *Handler) apiPasswordChange(w http.ResponseWriter, r *http.Request) {
	var in struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	if err := decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := required("new_password", in.NewPassword); err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.Accounts.ChangePassword(r.Context(), h.token(r), in.CurrentPassword, in.NewPassword)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.setSession(w, res)
	writeJSON(w, http.StatusOK, stateBody{State: string(res.Session.State), Methods: []string{}})
}

func (h *Handler) apiSignout(w http.ResponseWriter, r *http.Request) {
	if err := h.Accounts.SignOut(r.Context(), h.token(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	h.clearSession(w)
	w.WriteHeader(http.StatusNoContent)
}

// api wraps handlers that need a completed sign-in.
func (h *Handler) api(fn func(w http.ResponseWriter, r *http.Request, u account.User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, u, err := h.Accounts.Authenticated(r.Context(), h.token(r))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		noStore(w)
		fn(w, asUser(r, u), u)
	}
}

// apiRegistering wraps device calls that also serve a sign-in waiting for
// its first device.
func (h *Handler) apiRegistering(fn func(w http.ResponseWriter, r *http.Request, u account.User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, u, err := h.Accounts.Authenticated(r.Context(), h.token(r))
		if err != nil && errcode.Code(err) != errcode.RegistrationRequired {
			h.fail(w, r, err)
			return
		}
		noStore(w)
		fn(w, asUser(r, u), u)
	}
}

// registering reports whether the request's sign-in waits for a first device.
func (h *Handler) registering(r *http.Request) bool {
	_, _, err := h.Accounts.Authenticated(r.Context(), h.token(r))
	return errcode.Code(err) == errcode.RegistrationRequired
}

// registerBlockedReason combines the policy and the device limits.
func (h *Handler) registerBlockedReason(r *http.Request, u account.User, kind string) (string, error) {
	pol, err := h.mfaPolicy(r)
	if err != nil {
		return "", err
	}
	if reason := pol.RegisterBlockedReason(kind, h.registering(r)); reason != "" {
		return reason, nil
	}
	return h.deviceLimitReason(r, u, pol, kind)
}

func (h *Handler) manageBlocked(r *http.Request) error {
	pol, err := h.mfaPolicy(r)
	if err != nil {
		return err
	}
	if reason := pol.ManageBlockedReason(); reason != "" {
		return errcode.New(errcode.NotAllowed, "%s", reason)
	}
	return nil
}

func (h *Handler) apiMe(w http.ResponseWriter, r *http.Request, u account.User) {
	writeJSON(w, http.StatusOK, map[string]any{"id": u.ID, "username": u.Username, "email": u.Email, "admin": u.Admin})
}

type deviceJSON struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Type       string  `json:"type"`
	Status     string  `json:"status"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
	// Pending only.
	Secret     string `json:"secret,omitempty"`
	OTPAuthURI string `json:"otpauth_uri,omitempty"`
	QRPNG      string `json:"qr_png,omitempty"`
	ExpiresAt  string `json:"expires_at,omitempty"`
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func deviceOut(d mfa.Device) deviceJSON {
	out := deviceJSON{ID: d.ID, Name: d.Name, Type: string(d.Type), Status: string(d.Status), CreatedAt: rfc3339(d.CreatedAt)}
	if !d.LastUsedAt.IsZero() {
		s := rfc3339(d.LastUsedAt)
		out.LastUsedAt = &s
	}
	return out
}

func enrollmentOut(e mfa.Enrollment) (deviceJSON, error) {
	out := deviceOut(e.Device)
	if e.Status != mfa.StatusPending || e.Secret == nil {
		return out, nil
	}
	png, err := qr.PNG(e.URI, QRPixelsPerModule)
	if err != nil {
		return out, err
	}
	out.Secret, out.OTPAuthURI, out.QRPNG, out.ExpiresAt = e.EncodedSecret(), e.URI, base64.StdEncoding.EncodeToString(png), rfc3339(e.ExpiresAt)
	return out, nil
}

func (h *Handler) apiListDevices(w http.ResponseWriter, r *http.Request, u account.User) {
	devices, err := h.MFA.List(r.Context(), u.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	reason, err := h.registerBlockedReason(r, u, "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]deviceJSON, 0, len(devices))
	for _, d := range devices {
		out = append(out, deviceOut(d))
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": out, "can_register": reason == "", "register_blocked_reason": reason})
}

func (h *Handler) apiCreateDevice(w http.ResponseWriter, r *http.Request, u account.User) {
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
	if t := mfa.Type(in.Type); t.IsWebAuthn() {
		h.apiCreateWebAuthnDevice(w, r, u, *in.Name, t)
		return
	}
	if in.Type != string(mfa.TypeTOTP) {
		h.fail(w, r, errcode.New(errcode.InvalidInput, "The field \"type\" must be \"totp\", \"security_key\" or \"built_in\"."))
		return
	}
	if reason, err := h.registerPolicyReason(r, mfa.TypeTOTP.Kind()); err != nil || reason != "" {
		if err == nil {
			err = errcode.New(errcode.NotAllowed, "%s", reason)
		}
		h.fail(w, r, err)
		return
	}
	e, err := h.MFA.StartTOTP(r.Context(), u.ID, u.Username, *in.Name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := enrollmentOut(e)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/me/mfa-devices/"+e.ID)
	writeJSON(w, http.StatusCreated, out)
}

func (h *Handler) apiGetDevice(w http.ResponseWriter, r *http.Request, u account.User) {
	e, err := h.MFA.Get(r.Context(), u.ID, u.Username, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := enrollmentOut(e)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) apiVerifyDevice(w http.ResponseWriter, r *http.Request, u account.User) {
	var in struct {
		Code string `json:"code"`
		// Credential confirms a security key (webauthn.go).
		Credential json.RawMessage `json:"credential"`
	}
	if err := decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if in.Credential != nil {
		h.apiVerifyWebAuthnDevice(w, r, u, in.Credential)
		return
	}
	d, err := h.MFA.Confirm(r.Context(), u.ID, r.PathValue("id"), in.Code)
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

func (h *Handler) apiRenameDevice(w http.ResponseWriter, r *http.Request, u account.User) {
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
	if err := h.manageBlocked(r); err != nil {
		h.fail(w, r, err)
		return
	}
	d, err := h.MFA.Rename(r.Context(), u.ID, r.PathValue("id"), *in.Name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deviceOut(d))
}

func (h *Handler) apiDeleteDevice(w http.ResponseWriter, r *http.Request, u account.User) {
	if err := h.deleteOwnDevice(r, u, r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// registerPolicyReason is the policy's reason alone (limits are the mfa
// service's to check when it starts the registration).
func (h *Handler) registerPolicyReason(r *http.Request, kind string) (string, error) {
	pol, err := h.mfaPolicy(r)
	if err != nil {
		return "", err
	}
	return pol.RegisterBlockedReason(kind, h.registering(r)), nil
}

// finishRegistration completes a sign-in that waited for its first device;
// it does nothing for a signed-in session.
func (h *Handler) finishRegistration(w http.ResponseWriter, r *http.Request) error {
	res, err := h.Accounts.CompleteRegistration(r.Context(), h.token(r))
	if err != nil {
		return err
	}
	if res.Token != "" {
		h.setSession(w, res)
	}
	return nil
}

// deleteOwnDevice applies the policy: users manage their devices only when
// allowed, and keep one while MFA is required.
func (h *Handler) deleteOwnDevice(r *http.Request, u account.User, id string) error {
	if err := h.manageBlocked(r); err != nil {
		return err
	}
	pol, err := h.mfaPolicy(r)
	if err != nil {
		return err
	}
	return h.MFA.Delete(r.Context(), u.ID, id, pol.DeviceRequired())
}

type trustedJSON struct {
	ID         string `json:"id"`
	UserAgent  string `json:"user_agent"`
	Network    string `json:"network"`
	CreatedAt  string `json:"created_at"`
	LastUsedAt string `json:"last_used_at"`
	ExpiresAt  string `json:"expires_at"`
}

// TrustedBrowserJSON is how the API shows a trusted browser (never its token).
func TrustedBrowserJSON(b account.TrustedBrowser) any {
	return trustedJSON{ID: b.ID, UserAgent: b.UserAgent, Network: b.Network, CreatedAt: rfc3339(b.CreatedAt), LastUsedAt: rfc3339(b.LastUsedAt), ExpiresAt: rfc3339(b.ExpiresAt)}
}

func (h *Handler) apiTrustedBrowsers(w http.ResponseWriter, r *http.Request, u account.User) {
	list, err := h.Accounts.TrustedBrowsers(r.Context(), u.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]any, 0, len(list))
	for _, b := range list {
		out = append(out, TrustedBrowserJSON(b))
	}
	writeJSON(w, http.StatusOK, map[string]any{"trusted_browsers": out})
}

func (h *Handler) apiRevokeTrustedBrowser(w http.ResponseWriter, r *http.Request, u account.User) {
	if err := h.Accounts.RevokeTrustedBrowser(r.Context(), u.ID, r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
