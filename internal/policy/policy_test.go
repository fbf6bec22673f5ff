package policy

import (
	"strings"
	"testing"

	"gatehouse/internal/errcode"
)

func TestDefaultIsValidAndMatchesTheDesign(t *testing.T) {
	d := Default()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.PromptMode != AlwaysOn || d.NoDeviceBehavior != RequireRegistration || !d.UsersCanManageDevices || len(d.AllowedTypes) != 2 {
		t.Fatalf("Default() = %+v", d)
	}
}

func TestValidateListsAllowedValues(t *testing.T) {
	tests := []struct {
		m    MFA
		want string
	}{
		{MFA{PromptMode: "sometimes", AllowedTypes: []string{"totp"}, NoDeviceBehavior: Allow}, "always_on, context_aware, disabled"},
		{MFA{PromptMode: AlwaysOn, AllowedTypes: nil, NoDeviceBehavior: Allow}, "totp, webauthn"},
		{MFA{PromptMode: AlwaysOn, AllowedTypes: []string{"sms"}, NoDeviceBehavior: Allow}, "totp, webauthn"},
		{MFA{PromptMode: AlwaysOn, AllowedTypes: []string{"totp", "totp"}, NoDeviceBehavior: Allow}, "twice"},
		{MFA{PromptMode: AlwaysOn, AllowedTypes: []string{"totp"}, NoDeviceBehavior: "shrug"}, "require_registration, email_otp, block, allow"},
	}
	for _, tt := range tests {
		err := tt.m.Validate()
		if errcode.Code(err) != errcode.InvalidInput || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want invalid_input mentioning %q", tt.m, err, tt.want)
		}
	}
}

func TestAllowsNothingWhenDisabled(t *testing.T) {
	m := Default()
	if !m.Allows(TypeTOTP) || !m.Allows(TypeWebAuthn) {
		t.Fatal("defaults do not allow both kinds")
	}
	m.AllowedTypes = []string{TypeWebAuthn}
	if m.Allows(TypeTOTP) {
		t.Fatal("totp allowed though not listed")
	}
	m.PromptMode = Disabled
	if m.Allows(TypeWebAuthn) {
		t.Fatal("disabled MFA still allows a kind")
	}
}
