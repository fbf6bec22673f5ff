package web

import (
	"context"
	"net/http"

	"gatehouse/internal/account"
	"gatehouse/internal/audit"
	"gatehouse/internal/errcode"
)

func (h *Handler) recoveryRoutes() {
	m := h.mux
	m.HandleFunc("GET /signin/recovery", h.recoveryForm)
	m.HandleFunc("POST /signin/recovery", h.recoverySubmit)
	m.HandleFunc("POST /devices/recovery-codes", h.page(h.recoveryGenerate))
	m.HandleFunc("GET /api/v1/me/recovery-codes", h.api(h.apiRecoveryRemaining))
	m.HandleFunc("POST /api/v1/me/recovery-codes", h.api(h.apiRecoveryGenerate))
	m.HandleFunc("POST /api/v1/auth/recovery-code", h.apiRecoveryCode)
}

// useRecoveryCode completes the MFA step with a recovery code, through the
// same CompleteStep as every other factor: the challenge's 5 tries and the
// account's throttle count recovery codes too.
func (h *Handler) useRecoveryCode(r *http.Request, code string) (account.Result, error) {
	return h.Accounts.CompleteStep(r.Context(), h.token(r),
		account.StepOptions{Client: h.client(r), CredentialType: audit.RecoveryCode},
		func(ctx context.Context, userID string) error { return h.Recovery.Use(ctx, userID, code) })
}

func (h *Handler) apiRecoveryCode(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Code string `json:"code"`
	}
	if err := decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := required("code", in.Code); err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.useRecoveryCode(r, in.Code)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.setSession(w, res)
	writeJSON(w, http.StatusOK, stateBody{State: string(res.Session.State), Methods: []string{}})
}

type recoveryCodesJSON struct {
	Codes []string `json:"codes"`
}

type recoveryRemainingJSON struct {
	Remaining int `json:"remaining"`
}

func (h *Handler) apiRecoveryGenerate(w http.ResponseWriter, r *http.Request, u account.User) {
	codes, err := h.Recovery.Generate(r.Context(), u.ID, u.Username)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, recoveryCodesJSON{Codes: codes})
}

func (h *Handler) apiRecoveryRemaining(w http.ResponseWriter, r *http.Request, u account.User) {
	n, err := h.Recovery.Remaining(r.Context(), u.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, recoveryRemainingJSON{Remaining: n})
}

func (h *Handler) recoveryForm(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	sess, _, err := h.Accounts.Lookup(r.Context(), h.token(r))
	if err != nil || sess.State != account.StateMFA {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "recovery_signin", view{Title: "Use a recovery code", Data: signinData{Next: localPath(r.URL.Query().Get("next"))}})
}

func (h *Handler) recoverySubmit(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	next := localPath(r.PostFormValue("next"))
	res, err := h.useRecoveryCode(r, r.PostFormValue("code"))
	if err != nil {
		if errcode.Code(err) == errcode.Unauthenticated {
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		if sess, _, lerr := h.Accounts.Lookup(r.Context(), h.token(r)); lerr != nil || sess.State != account.StateMFA {
			// The challenge is dead: start again from the password.
			h.clearSession(w)
			h.formError(w, r, "signin", view{Title: "Sign in", Data: signinData{Next: next}}, err)
			return
		}
		h.formError(w, r, "recovery_signin", view{Title: "Use a recovery code", Data: signinData{Next: next}}, err)
		return
	}
	h.setSession(w, res)
	h.nextStep(w, r, res.Session.State, next)
}

type recoveryCodesData struct {
	Codes []string
}

// recoveryGenerate makes a new set and shows it, this once: the page is
// never stored by the browser or a proxy.
func (h *Handler) recoveryGenerate(w http.ResponseWriter, r *http.Request, u account.User) {
	noStore(w)
	codes, err := h.Recovery.Generate(r.Context(), u.ID, u.Username)
	if err != nil {
		h.formError(w, r, "error", view{Title: "Recovery codes", User: &u}, err)
		return
	}
	h.render(w, r, http.StatusOK, "recovery_codes", view{Title: "Your recovery codes", User: &u, Data: recoveryCodesData{Codes: codes}})
}

// recoveryRemaining is what My devices shows: -1 when the count cannot be
// read (the page still shows the devices).
func (h *Handler) recoveryRemaining(r *http.Request, u account.User) int {
	if h.Recovery == nil {
		return -1
	}
	n, err := h.Recovery.Remaining(r.Context(), u.ID)
	if err != nil {
		h.Log.Warn("recovery codes count", "user", u.ID, "err", err)
		return -1
	}
	return n
}
