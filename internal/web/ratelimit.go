package web

import (
	"net/http"
	"strings"

	"gatehouse/internal/audit"
	"gatehouse/internal/throttle"
)

// guessing reports whether r checks a secret someone could guess: a
// password, a code, a security key's answer, an enrollment confirmation.
// Every POST under /api/v1/auth/ counts except the ones that check nothing,
// so a new sign-in step (recovery codes) is covered without a change here.
func guessing(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	p := r.URL.Path
	switch p {
	case "/api/v1/auth/signout", "/api/v1/auth/signout-everywhere", "/api/v1/auth/webauthn/begin":
		return false
	case "/signin", "/password/change":
		return true
	}
	if strings.HasPrefix(p, "/api/v1/auth/") || strings.HasPrefix(p, "/signin/") {
		return true
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	n := len(parts)
	switch {
	case n == 3 && parts[0] == "devices" && parts[2] == "configure": // /devices/{id}/configure
		return true
	case n >= 5 && strings.HasPrefix(p, "/api/v1/") && parts[n-1] == "verify": // …/mfa-devices/{id}/verify
		return true
	case n >= 5 && parts[0] == "admin" && parts[n-1] == "configure": // admin registration of a device
		return true
	}
	return false
}

// limitSources spends a token of the client address's bucket on every
// guessing request and refuses it (429 rate_limited, Retry-After) when the
// bucket is empty. The first refusal of each exhaustion is audited.
func (h *Handler) limitSources(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.Sources == nil || !guessing(r) {
			next.ServeHTTP(w, r)
			return
		}
		tk, err := h.Sources.Take(r.Context(), throttle.SourceKey(r.RemoteAddr))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if tk.Allowed {
			next.ServeHTTP(w, r)
			return
		}
		if tk.NewlyLimited {
			ev := audit.New(r.Context(), audit.ThrottleLock, audit.Failure)
			ev.Time, ev.ActorName = h.Sources.Now(), ""
			ev.Detail = "source address limit: " + r.Method + " " + r.URL.Path
			if err := h.Accounts.Store.RecordEvents(r.Context(), ev); err != nil {
				h.Log.Warn("audit source limit", "err", err)
			}
			h.Log.Warn("source address rate-limited", "source", throttle.SourceKey(r.RemoteAddr), "path", r.URL.Path)
		}
		e := throttle.SourceLimitedError(tk.RetryAfter)
		if strings.HasPrefix(r.URL.Path, "/api/") {
			h.fail(w, r, e)
			return
		}
		noStore(w)
		h.formError(w, r, "error", view{Title: "Too many attempts"}, e)
	})
}
