package web

import "net/http"

// sessionRoutes are the routes of this file; web.go calls it.
func (h *Handler) sessionRoutes() {
	h.mux.HandleFunc("POST /api/v1/auth/signout-everywhere", h.apiSignoutEverywhere)
	h.mux.HandleFunc("POST /signout-everywhere", h.signoutEverywherePage)
}

// apiSignoutEverywhere ends every session of the signed-in user, this one
// included (204).
func (h *Handler) apiSignoutEverywhere(w http.ResponseWriter, r *http.Request) {
	if err := h.Accounts.SignOutEverywhere(r.Context(), h.token(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	h.clearSession(w)
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) signoutEverywherePage(w http.ResponseWriter, r *http.Request) {
	if err := h.Accounts.SignOutEverywhere(r.Context(), h.token(r)); err != nil {
		h.formError(w, r, "error", view{Title: "Error"}, err)
		return
	}
	h.clearSession(w)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
