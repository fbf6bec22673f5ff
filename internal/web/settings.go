package web

import (
	"net/http"
	"slices"

	"gatehouse/internal/account"
	"gatehouse/internal/errcode"
	"gatehouse/internal/policy"
)

// The administrator's MFA settings: a page and GET/PUT in the API.

func (h *Handler) settingsRoutes() {
	m := h.mux
	m.HandleFunc("GET /admin/settings/mfa", h.adminPage(h.settingsForm))
	m.HandleFunc("POST /admin/settings/mfa", h.adminPage(h.settingsSubmit))
	m.HandleFunc("GET /api/v1/admin/settings/mfa", h.adminAPI(h.apiGetSettings))
	m.HandleFunc("PUT /api/v1/admin/settings/mfa", h.adminAPI(h.apiPutSettings))
}

func (h *Handler) apiGetSettings(w http.ResponseWriter, r *http.Request) {
	m, err := h.mfaPolicy(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (h *Handler) apiPutSettings(w http.ResponseWriter, r *http.Request) {
	// Every field is required: a PUT replaces the settings, and a missing
	// field silently turning into its zero value would weaken the policy.
	var in struct {
		PromptMode            *string   `json:"prompt_mode"`
		AllowedTypes          *[]string `json:"allowed_types"`
		NoDeviceBehavior      *string   `json:"no_device_behavior"`
		UsersCanManageDevices *bool     `json:"users_can_manage_devices"`
	}
	if err := decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if in.PromptMode == nil || in.AllowedTypes == nil || in.NoDeviceBehavior == nil || in.UsersCanManageDevices == nil {
		h.fail(w, r, errcode.New(errcode.InvalidInput, "Send all four fields: prompt_mode, allowed_types, no_device_behavior, users_can_manage_devices."))
		return
	}
	m, err := h.Policy.SetMFA(r.Context(), policy.MFA{PromptMode: *in.PromptMode, AllowedTypes: *in.AllowedTypes, NoDeviceBehavior: *in.NoDeviceBehavior, UsersCanManageDevices: *in.UsersCanManageDevices})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

type settingsData struct {
	policy.MFA
	AllowTOTP, AllowWebAuthn bool
}

func settingsView(u account.User, m policy.MFA) view {
	return view{Title: "MFA settings", User: &u, Data: settingsData{MFA: m,
		AllowTOTP: slices.Contains(m.AllowedTypes, policy.TypeTOTP), AllowWebAuthn: slices.Contains(m.AllowedTypes, policy.TypeWebAuthn)}}
}

func (h *Handler) settingsForm(w http.ResponseWriter, r *http.Request, u account.User) {
	m, err := h.mfaPolicy(r)
	if err != nil {
		h.formError(w, r, "error", view{Title: "Error", User: &u}, err)
		return
	}
	v := settingsView(u, m)
	if r.URL.Query().Get("saved") == "1" {
		v.Notice = "The MFA settings are saved. They apply from the next sign-in."
	}
	h.render(w, r, http.StatusOK, "admin_settings", v)
}

func (h *Handler) settingsSubmit(w http.ResponseWriter, r *http.Request, u account.User) {
	m := policy.MFA{
		PromptMode:            r.PostFormValue("prompt_mode"),
		AllowedTypes:          r.PostForm["allowed_types"],
		NoDeviceBehavior:      r.PostFormValue("no_device_behavior"),
		UsersCanManageDevices: r.PostFormValue("users_can_manage_devices") != "",
	}
	if _, err := h.Policy.SetMFA(r.Context(), m); err != nil {
		h.formError(w, r, "admin_settings", settingsView(u, m), err)
		return
	}
	http.Redirect(w, r, "/admin/settings/mfa?saved=1", http.StatusSeeOther)
}
