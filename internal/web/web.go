// Package web serves Gatehouse's pages and its JSON API. Both call the same
// domain services (account, mfa): no rule lives here, only the mapping of
// requests to calls and of errors to statuses.
package web

import (
	"context"
	"embed"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gatehouse/internal/account"
	"gatehouse/internal/admin"
	"gatehouse/internal/errcode"
	"gatehouse/internal/mfa"
	"gatehouse/internal/password"
	"gatehouse/internal/policy"
	"gatehouse/internal/qr"
	"gatehouse/internal/recovery"
	"gatehouse/internal/throttle"
)

//go:embed templates static
var assets embed.FS

// Handler serves the portal.
type Handler struct {
	Accounts *account.Service
	MFA      *mfa.Service
	Log      *slog.Logger
	// BaseURL is the public URL; https turns on Secure and __Host- cookies.
	BaseURL *url.URL
	// Ready reports whether the node can serve (the database answers).
	Ready func(ctx context.Context) error
	// Policy gives the administrator's MFA settings.
	Policy *policy.Service
	// Admin, Tokens and Trail serve the administrators' console and API.
	Admin  *admin.Service
	Tokens *admin.Tokens
	Trail  *admin.Trail
	// WebAuthn registers and checks security keys and built-in
	// authenticators.
	WebAuthn *mfa.WebAuthn
	// Recovery issues and checks recovery codes (recovery.go).
	Recovery *recovery.Service

	// TrustedProxies are reverse proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Sources limits guessing requests per client address (nil: no limit).
	Sources *throttle.Buckets

	// Unavailable classifies errors that mean "the database is unreachable
	// now": they are answered 503 with Retry-After instead of 500.
	Unavailable func(error) bool

	pages *pages
	mux   *http.ServeMux
}

// MaxBodyBytes bounds every request body: no legitimate request is larger.
const MaxBodyBytes = 64 << 10

// QRPixelsPerModule keeps each module ≥ 4 CSS pixels (DESIGN §2).
const QRPixelsPerModule = 5

// New builds the handler.
func New(h *Handler) (http.Handler, error) {
	p, err := loadPages()
	if err != nil {
		return nil, err
	}
	h.pages = p
	h.mux = http.NewServeMux()
	h.routes()
	cop := http.NewCrossOriginProtection()
	if h.BaseURL != nil {
		if err := cop.AddTrustedOrigin(h.BaseURL.Scheme + "://" + h.BaseURL.Host); err != nil {
			return nil, err
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, errcode.New(errcode.NotAllowed, "Cross-site request refused."))
	}))
	return h.recoverer(realClient(h.TrustedProxies, h.headers(auditRequest(cop.Handler(h.limitSources(h.mux)))))), nil
}

func (h *Handler) routes() {
	m := h.mux
	m.Handle("GET /static/", http.FileServerFS(assets))
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	m.HandleFunc("GET /readyz", h.readyz)

	// Pages.
	m.HandleFunc("GET /{$}", h.page(h.home))
	m.HandleFunc("GET /signin", h.signinForm)
	m.HandleFunc("POST /signin", h.signin)
	m.HandleFunc("GET /signin/email", h.emailForm)
	m.HandleFunc("POST /signin/email", h.emailSubmit)
	m.HandleFunc("GET /signin/mfa", h.mfaForm)
	m.HandleFunc("POST /signin/mfa", h.mfaSubmit)
	m.HandleFunc("GET /password/change", h.passwordForm)
	m.HandleFunc("POST /password/change", h.passwordSubmit)
	m.HandleFunc("POST /signout", h.signoutPage)
	m.HandleFunc("GET /devices", h.page(h.devices))
	m.HandleFunc("GET /devices/register", h.registeringPage(h.registerForm))
	m.HandleFunc("POST /devices/register", h.registeringPage(h.registerSubmit))
	m.HandleFunc("GET /devices/{id}/configure", h.registeringPage(h.enrollForm))
	m.HandleFunc("POST /devices/{id}/configure", h.registeringPage(h.enrollSubmit))
	m.HandleFunc("POST /devices/trusted/{id}/revoke", h.page(h.revokeTrusted))
	m.HandleFunc("POST /devices/{id}/cancel", h.registeringPage(h.cancelEnrollment))
	m.HandleFunc("GET /devices/{id}/rename", h.page(h.renameForm))
	m.HandleFunc("POST /devices/{id}/rename", h.page(h.renameSubmit))
	m.HandleFunc("GET /devices/{id}/delete", h.page(h.deleteForm))
	m.HandleFunc("POST /devices/{id}/delete", h.page(h.deleteSubmit))

	// JSON API.
	m.HandleFunc("POST /api/v1/auth/password", h.apiPassword)
	m.HandleFunc("POST /api/v1/auth/totp", h.apiTOTP)
	m.HandleFunc("POST /api/v1/auth/password-change", h.apiPasswordChange)
	m.HandleFunc("POST /api/v1/auth/signout", h.apiSignout)
	m.HandleFunc("GET /api/v1/me", h.api(h.apiMe))
	m.HandleFunc("POST /api/v1/auth/email-code", h.apiEmailCode)
	// Listing, starting and confirming a registration also work while a
	// sign-in waits for the first device (registration_required).
	m.HandleFunc("GET /api/v1/me/mfa-devices", h.apiRegistering(h.apiListDevices))
	m.HandleFunc("POST /api/v1/me/mfa-devices", h.apiRegistering(h.apiCreateDevice))
	m.HandleFunc("GET /api/v1/me/mfa-devices/{id}", h.apiRegistering(h.apiGetDevice))
	m.HandleFunc("POST /api/v1/me/mfa-devices/{id}/verify", h.apiRegistering(h.apiVerifyDevice))
	m.HandleFunc("GET /api/v1/me/trusted-browsers", h.api(h.apiTrustedBrowsers))
	m.HandleFunc("DELETE /api/v1/me/trusted-browsers/{id}", h.api(h.apiRevokeTrustedBrowser))
	m.HandleFunc("PATCH /api/v1/me/mfa-devices/{id}", h.api(h.apiRenameDevice))
	m.HandleFunc("DELETE /api/v1/me/mfa-devices/{id}", h.api(h.apiDeleteDevice))
	h.adminRoutes()
	h.settingsRoutes()
	h.webauthnRoutes()
	h.sessionRoutes()
	h.recoveryRoutes()
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, errcode.New(errcode.NotFound, "No such API endpoint: %s %s.", r.Method, r.URL.Path))
	})
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.renderError(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.")
	})
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	if h.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := h.Ready(ctx); err != nil {
			h.Log.Warn("not ready", "err", err)
			w.Header().Set("Retry-After", "5")
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	w.Write([]byte("ready\n"))
}

// headers sets the security headers every response carries.
func (h *Handler) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if h.secure() {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		// Nothing but the static assets is cached, by the browser or anyone
		// between: pages and answers may carry a secret, a code, a one-time
		// password or a session, and a shared computer's back button or a
		// proxy must not show them again.
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			noStore(w)
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a panic into a logged 500 with no detail for the client.
func (h *Handler) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.Log.Error("panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				h.fail(w, r, errors.New("panic"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) secure() bool { return h.BaseURL != nil && h.BaseURL.Scheme == "https" }

func (h *Handler) cookieName() string {
	if h.secure() {
		return "__Host-gatehouse_session"
	}
	return "gatehouse_session"
}

func (h *Handler) trustCookieName() string {
	if h.secure() {
		return "__Host-gatehouse_trust"
	}
	return "gatehouse_trust"
}

// client describes the requester to sign-in: address, agent, trust cookie.
func (h *Handler) client(r *http.Request) account.Client {
	c := account.Client{IP: r.RemoteAddr, UserAgent: r.UserAgent()}
	if ck, err := r.Cookie(h.trustCookieName()); err == nil {
		c.TrustToken = ck.Value
	}
	return c
}

func (h *Handler) setTrust(w http.ResponseWriter, res account.Result) {
	if res.TrustToken == "" {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: h.trustCookieName(), Value: res.TrustToken, Path: "/", HttpOnly: true, Secure: h.secure(),
		SameSite: http.SameSiteLaxMode, MaxAge: int(policy.TrustLifetime.Seconds()),
	})
}

// mfaPolicy returns the settings, or the defaults with the error logged.
func (h *Handler) mfaPolicy(r *http.Request) (policy.MFA, error) {
	if h.Policy == nil {
		return policy.Default(), nil
	}
	return h.Policy.MFA(r.Context())
}

func (h *Handler) token(r *http.Request) string {
	c, err := r.Cookie(h.cookieName())
	if err != nil {
		return ""
	}
	return c.Value
}

func (h *Handler) setSession(w http.ResponseWriter, res account.Result) {
	// An answer that carries a session cookie is never cached.
	noStore(w)
	http.SetCookie(w, &http.Cookie{
		Name: h.cookieName(), Value: res.Token, Path: "/", HttpOnly: true, Secure: h.secure(),
		SameSite: http.SameSiteLaxMode, Expires: res.Session.ExpiresAt,
	})
}

func (h *Handler) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: h.cookieName(), Value: "", Path: "/", HttpOnly: true, Secure: h.secure(), SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// status maps error codes to HTTP statuses: the only place this happens.
func status(code string) int {
	switch code {
	case errcode.InvalidInput, errcode.InvalidCode, errcode.ClockSkew, errcode.CodeReused, errcode.NameInvalid, errcode.PasswordWeak:
		return http.StatusBadRequest
	case errcode.InvalidCredentials, errcode.Unauthenticated, errcode.MFARequired:
		return http.StatusUnauthorized
	case errcode.PasswordChangeRequired, errcode.NotAllowed, errcode.RegistrationRequired, errcode.EmailCodeRequired:
		return http.StatusForbidden
	case errcode.NotFound:
		return http.StatusNotFound
	case errcode.NameTaken, errcode.DeviceLimit, errcode.Conflict:
		return http.StatusConflict
	case errcode.EnrollmentExpired:
		return http.StatusGone
	case errcode.RateLimited:
		return http.StatusTooManyRequests
	case errcode.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// publicError returns what the client may see of err; anything unexpected is
// logged for the operator and shown as a fixed message.
func (h *Handler) publicError(r *http.Request, err error) *errcode.Error {
	if e := errcode.As(err); e != nil {
		return e
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errcode.New(errcode.InvalidInput, "The request body is larger than %d bytes.", MaxBodyBytes)
	}
	if errors.Is(err, context.Canceled) {
		return errcode.New(errcode.Unavailable, "The request was cancelled.")
	}
	if errors.Is(err, password.ErrBusy) {
		e := errcode.New(errcode.Unavailable, "The server is busy. Try again in a moment.")
		e.RetryAfterSeconds = 1
		return e
	}
	if h.Unavailable != nil && h.Unavailable(err) {
		h.Log.Warn("database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		e := errcode.New(errcode.Unavailable, "The service is temporarily unavailable. Try again in a few seconds.")
		e.RetryAfterSeconds = 5
		return e
	}
	h.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return errcode.New(errcode.Internal, "Something went wrong on our side. Try again; if it keeps happening, tell your administrator.")
}

func setRetryAfter(w http.ResponseWriter, e *errcode.Error) {
	if e.RetryAfterSeconds > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfterSeconds))
	}
}

func qrDataURL(uri string) (string, error) {
	png, err := qr.PNG(uri, QRPixelsPerModule)
	if err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png), nil
}

// localPath accepts only a path on this site as a redirect target.
//
// Browsers drop tabs and newlines from URLs and treat a backslash as a
// slash, so "/\t/evil.example" would become "//evil.example": any control
// character or backslash is refused, and what remains must parse as a bare
// path with no scheme and no host.
func localPath(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') {
		return "/"
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return next
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}
