package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"gatehouse/internal/errcode"
)

// FuzzDecode feeds arbitrary bodies to the strict JSON decoder used by every
// API call, into each request shape the API accepts: it must answer with a
// value or an invalid_input error, never panic or return another kind of
// error.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"username":"a","password":"b"}`, `{"code":"123456","trust_device":true}`, `{"name":null}`, `{}`, ``, `[]`,
		`{"a":1}`, `{"code":1}`, `{"code":"1"} {}`, `{"credential":{"id":"x"}}`, "\xff", `{"allowed_types":["totp"]}`,
		`{"code":"7KQ2M-X9D4T"}`, `{"current_password":"a","new_password":"b"}`, `{"email":null,"admin":true}`, `{"credential":null,"trust_device":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		targets := []any{
			&struct {
				Username *string `json:"username"`
				Password *string `json:"password"`
			}{},
			&struct {
				Code        string `json:"code"`
				TrustDevice bool   `json:"trust_device"`
			}{},
			&struct {
				Name *string `json:"name"`
				Type string  `json:"type"`
			}{},
			&struct {
				PromptMode            *string   `json:"prompt_mode"`
				AllowedTypes          *[]string `json:"allowed_types"`
				NoDeviceBehavior      *string   `json:"no_device_behavior"`
				UsersCanManageDevices *bool     `json:"users_can_manage_devices"`
			}{},
			// The other request bodies of the API, one of each shape:
			// recovery and email codes, password change, device
			// verification and WebAuthn answers, administrators' calls.
			&struct {
				Code string `json:"code"`
			}{},
			&struct {
				CurrentPassword string `json:"current_password"`
				NewPassword     string `json:"new_password"`
			}{},
			&struct {
				Code       string          `json:"code"`
				Credential json.RawMessage `json:"credential"`
			}{},
			&struct {
				Credential  json.RawMessage `json:"credential"`
				TrustDevice bool            `json:"trust_device"`
			}{},
			&struct {
				Username *string `json:"username"`
				Email    string  `json:"email"`
				Admin    bool    `json:"admin"`
			}{},
			&struct {
				Email *string `json:"email"`
				Admin *bool   `json:"admin"`
			}{},
		}
		for _, v := range targets {
			r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, MaxBodyBytes)
			if err := decode(r, v); err != nil && errcode.Code(err) != errcode.InvalidInput {
				t.Fatalf("decode(%q) = %v, want nil or invalid_input", body, err)
			}
		}
	})
}
