package passkey_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"gatehouse/internal/passkey"
	"gatehouse/internal/passkey/passkeytest"
)

const origin = "https://gatehouse.example.com"

func newRP(t *testing.T, uv passkey.UserVerification) *passkey.RelyingParty {
	t.Helper()
	rp, err := passkey.New(passkey.Config{Origin: origin, DisplayName: "Gatehouse", UserVerification: uv})
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

func alice(creds ...passkey.Credential) passkey.User {
	return passkey.User{Handle: []byte("0123456789abcdef0123456789abcdef"), Name: "alice", DisplayName: "alice", Credentials: creds}
}

// register runs a whole registration with the software authenticator.
func register(t *testing.T, rp *passkey.RelyingParty, a *passkeytest.Authenticator, u passkey.User) passkey.Credential {
	t.Helper()
	c, err := rp.BeginRegistration(u, passkey.CrossPlatform)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Create(c.Options)
	if err != nil {
		t.Fatal(err)
	}
	r, err := passkey.ParseRegistration(resp)
	if err != nil {
		t.Fatal(err)
	}
	if r.Challenge() != c.Challenge {
		t.Fatalf("response challenge %q, ceremony %q", r.Challenge(), c.Challenge)
	}
	cred, err := rp.FinishRegistration(u, c.State, r)
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	return cred
}

// signIn runs a whole sign-in and returns the credential as updated.
func signIn(rp *passkey.RelyingParty, a *passkeytest.Authenticator, u passkey.User) (passkey.Credential, error) {
	c, err := rp.BeginLogin(u)
	if err != nil {
		return passkey.Credential{}, err
	}
	resp, err := a.Get(c.Options)
	if err != nil {
		return passkey.Credential{}, err
	}
	as, err := passkey.ParseAssertion(resp)
	if err != nil {
		return passkey.Credential{}, err
	}
	return rp.FinishLogin(u, c.State, as)
}

func TestRegistrationOptionsFollowDesign(t *testing.T) {
	rp := newRP(t, "")
	existing := passkey.Credential{ID: []byte("existing-credential"), Transports: []string{"nfc"}}
	c, err := rp.BeginRegistration(alice(existing), passkey.Platform)
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		RP struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"rp"`
		User struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"user"`
		Challenge string `json:"challenge"`
		Selection struct {
			Attachment       string `json:"authenticatorAttachment"`
			ResidentKey      string `json:"residentKey"`
			RequireResident  *bool  `json:"requireResidentKey"`
			UserVerification string `json:"userVerification"`
		} `json:"authenticatorSelection"`
		Exclude []struct {
			Type       string   `json:"type"`
			ID         string   `json:"id"`
			Transports []string `json:"transports"`
		} `json:"excludeCredentials"`
		Attestation string   `json:"attestation"`
		Hints       []string `json:"hints"`
		Timeout     int      `json:"timeout"`
	}
	if err := json.Unmarshal(c.Options, &o); err != nil {
		t.Fatal(err)
	}
	if o.RP.ID != "gatehouse.example.com" || o.RP.Name != "Gatehouse" {
		t.Errorf("rp = %+v", o.RP)
	}
	if o.User.ID != passkeytest.B64(alice().Handle) || o.User.Name != "alice" {
		t.Errorf("user = %+v", o.User)
	}
	if o.Challenge != c.Challenge || len(o.Challenge) < 22 {
		t.Errorf("challenge %q (ceremony %q)", o.Challenge, c.Challenge)
	}
	if s := o.Selection; s.Attachment != "platform" || s.ResidentKey != "discouraged" || s.RequireResident == nil || *s.RequireResident || s.UserVerification != "preferred" {
		t.Errorf("authenticatorSelection = %+v", s)
	}
	if len(o.Exclude) != 1 || o.Exclude[0].ID != passkeytest.B64([]byte("existing-credential")) || o.Exclude[0].Type != "public-key" || len(o.Exclude[0].Transports) != 1 {
		t.Errorf("excludeCredentials = %+v", o.Exclude)
	}
	if o.Attestation != "none" || len(o.Hints) != 1 || o.Hints[0] != "client-device" || o.Timeout != 300000 {
		t.Errorf("attestation %q, hints %v, timeout %d", o.Attestation, o.Hints, o.Timeout)
	}
}

func TestRegisterThenSignInRecordsCounterFlagsAndTransports(t *testing.T) {
	rp := newRP(t, "")
	a := passkeytest.New(origin)
	a.BackupEligible = true
	cred := register(t, rp, a, alice())
	if len(cred.ID) != 32 || len(cred.PublicKey) == 0 || cred.SignCount != 1 || !cred.FlagsKnown || !cred.BackupEligible || cred.BackupState {
		t.Fatalf("registered credential %+v", cred)
	}
	if strings.Join(cred.Transports, ",") != "usb" || len(cred.AAGUID) != 16 || cred.AttestationFormat != "none" || cred.Attachment != "cross-platform" {
		t.Fatalf("registered credential metadata %+v", cred)
	}
	a.BackupState = true // synced since
	got, err := signIn(rp, a, alice(cred))
	if err != nil {
		t.Fatal(err)
	}
	if got.SignCount != 2 || !got.BackupState || !got.BackupEligible || string(got.PublicKey) != string(cred.PublicKey) || strings.Join(got.Transports, ",") != "usb" {
		t.Fatalf("after sign-in %+v", got)
	}
}

func TestLegacyCredentialWithoutFlagsIsBackfilledNotRefused(t *testing.T) {
	rp := newRP(t, "")
	a := passkeytest.New(origin)
	a.BackupEligible, a.BackupState = true, true
	cred := register(t, rp, a, alice())
	cred.FlagsKnown, cred.BackupEligible, cred.BackupState = false, false, false
	got, err := signIn(rp, a, alice(cred))
	if err != nil {
		t.Fatalf("legacy credential refused: %v", err)
	}
	if !got.FlagsKnown || !got.BackupEligible || !got.BackupState {
		t.Fatalf("flags not backfilled: %+v", got)
	}
}

func TestAuthenticatorWithoutCounterSignsInRepeatedly(t *testing.T) {
	rp := newRP(t, "")
	a := passkeytest.New(origin)
	zero := uint32(0)
	a.FixedCounter = &zero
	cred := register(t, rp, a, alice())
	for i := 0; i < 3; i++ {
		got, err := signIn(rp, a, alice(cred))
		if err != nil {
			t.Fatalf("sign-in %d: %v", i, err)
		}
		cred = got
	}
}

// TestRegistrationRefusals covers each way a registration response is bad.
func TestRegistrationRefusals(t *testing.T) {
	cases := []struct {
		name   string
		uv     passkey.UserVerification
		tweak  func(a *passkeytest.Authenticator)
		mangle func(t *testing.T, resp []byte) []byte
		want   passkey.Kind
	}{
		{name: "wrong origin", tweak: func(a *passkeytest.Authenticator) { a.Origin = "https://evil.example" }, want: passkey.WrongOrigin},
		{name: "origin on another port", tweak: func(a *passkeytest.Authenticator) { a.Origin = origin + ":8443" }, want: passkey.WrongOrigin},
		{name: "wrong RP id hash", tweak: func(a *passkeytest.Authenticator) { a.RPID = "example.com" }, want: passkey.WrongRelyingParty},
		{name: "user verification absent where required", uv: passkey.UVRequired, want: passkey.NoUserVerification},
		{name: "no user presence", tweak: func(a *passkeytest.Authenticator) { a.NoPresence = true }, want: passkey.NoUserPresence},
		{name: "sign-in response type", tweak: func(a *passkeytest.Authenticator) { a.Type = "webauthn.get" }, want: passkey.WrongCeremony},
		{name: "another challenge", tweak: func(a *passkeytest.Authenticator) { a.Challenge = "c29tZSBvdGhlciBjaGFsbGVuZ2U" }, want: passkey.ChallengeMismatch},
		{name: "backed up but not eligible", tweak: func(a *passkeytest.Authenticator) { a.BackupState = true }, want: passkey.BackupFlags},
		{name: "malformed JSON", mangle: func(*testing.T, []byte) []byte { return []byte(`{"id": "abc", `) }, want: passkey.Malformed},
		{name: "malformed base64url", mangle: setResponse("attestationObject", "!!not base64url!!"), want: passkey.Malformed},
		{name: "malformed CBOR", mangle: setResponse("attestationObject", passkeytest.B64([]byte{0xa3, 0x63, 0x66, 0x6d})), want: passkey.Malformed},
		{name: "malformed client data", mangle: setResponse("clientDataJSON", passkeytest.B64([]byte("{not json"))), want: passkey.Malformed},
		{name: "id and rawId differ", mangle: setField("id", passkeytest.B64([]byte("another id"))), want: passkey.Malformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rp := newRP(t, tc.uv)
			a := passkeytest.New(origin)
			if tc.tweak != nil {
				tc.tweak(a)
			}
			c, err := rp.BeginRegistration(alice(), passkey.CrossPlatform)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := a.Create(c.Options)
			if err != nil {
				t.Fatal(err)
			}
			if tc.mangle != nil {
				resp = tc.mangle(t, resp)
			}
			r, err := passkey.ParseRegistration(resp)
			if err == nil {
				_, err = rp.FinishRegistration(alice(), c.State, r)
			}
			expectKind(t, err, tc.want)
		})
	}
}

func TestRegistrationRefusesACredentialTheUserHas(t *testing.T) {
	rp := newRP(t, "")
	a := passkeytest.New(origin)
	cred := register(t, rp, a, alice())
	c, err := rp.BeginRegistration(alice(cred), passkey.CrossPlatform)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Create(c.Options); !errors.Is(err, passkeytest.ErrExcluded) {
		t.Fatalf("the authenticator was not told to exclude its credential: %v", err)
	}
	resp, err := a.CreateAgain(c.Options)
	if err != nil {
		t.Fatal(err)
	}
	r, err := passkey.ParseRegistration(resp)
	if err != nil {
		t.Fatal(err)
	}
	_, err = rp.FinishRegistration(alice(cred), c.State, r)
	expectKind(t, err, passkey.AlreadyRegistered)
	if !strings.Contains(err.Error(), "This security key is already registered") {
		t.Errorf("message %q", err)
	}
}

// TestSignInRefusals covers each way an assertion is bad.
func TestSignInRefusals(t *testing.T) {
	cases := []struct {
		name   string
		uv     passkey.UserVerification
		tweak  func(a *passkeytest.Authenticator, cred *passkey.Credential)
		mangle func(t *testing.T, resp []byte) []byte
		want   passkey.Kind
	}{
		{name: "wrong origin", tweak: func(a *passkeytest.Authenticator, _ *passkey.Credential) { a.Origin = "http://gatehouse.example.com" }, want: passkey.WrongOrigin},
		{name: "wrong RP id hash", tweak: func(a *passkeytest.Authenticator, _ *passkey.Credential) { a.RPID = "evil.example" }, want: passkey.WrongRelyingParty},
		{name: "user verification absent where required", uv: passkey.UVRequired, want: passkey.NoUserVerification},
		{name: "registration response type", tweak: func(a *passkeytest.Authenticator, _ *passkey.Credential) { a.Type = "webauthn.create" }, want: passkey.WrongCeremony},
		{name: "another challenge", tweak: func(a *passkeytest.Authenticator, _ *passkey.Credential) { a.Challenge = "c29tZSBvdGhlciBjaGFsbGVuZ2U" }, want: passkey.ChallengeMismatch},
		{name: "counter went backwards", tweak: func(a *passkeytest.Authenticator, c *passkey.Credential) { c.SignCount = 50 }, want: passkey.Cloned},
		{name: "backup eligibility changed", tweak: func(a *passkeytest.Authenticator, _ *passkey.Credential) { a.BackupEligible = true }, want: passkey.BackupFlags},
		{name: "signature by another key", tweak: func(_ *passkeytest.Authenticator, c *passkey.Credential) { c.PublicKey = otherKey(t) }, want: passkey.BadSignature},
		{name: "tampered signature", mangle: setResponse("signature", passkeytest.B64([]byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01})), want: passkey.BadSignature},
		{name: "malformed JSON", mangle: func(*testing.T, []byte) []byte { return []byte(`[1, 2`) }, want: passkey.Malformed},
		{name: "malformed base64url", mangle: setResponse("authenticatorData", "%%%"), want: passkey.Malformed},
		{name: "truncated authenticator data", mangle: setResponse("authenticatorData", passkeytest.B64([]byte{1, 2, 3})), want: passkey.Malformed},
		{name: "unknown credential", mangle: setIDs(passkeytest.B64([]byte("not alice's key"))), want: passkey.UnknownCredential},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := newRP(t, "")
			a := passkeytest.New(origin)
			a.UserVerified = false
			cred := register(t, reg, a, alice())
			rp := newRP(t, tc.uv)
			if tc.tweak != nil {
				tc.tweak(a, &cred)
			}
			c, err := rp.BeginLogin(alice(cred))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := a.Get(c.Options)
			if err != nil {
				t.Fatal(err)
			}
			if tc.mangle != nil {
				resp = tc.mangle(t, resp)
			}
			as, err := passkey.ParseAssertion(resp)
			if err == nil {
				_, err = rp.FinishLogin(alice(cred), c.State, as)
			}
			expectKind(t, err, tc.want)
		})
	}
}

func TestReplayedAssertionIsRefusedOnceItsCounterIsStored(t *testing.T) {
	rp := newRP(t, "")
	a := passkeytest.New(origin)
	cred := register(t, rp, a, alice())
	c, err := rp.BeginLogin(alice(cred))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Get(c.Options)
	if err != nil {
		t.Fatal(err)
	}
	as, _ := passkey.ParseAssertion(resp)
	updated, err := rp.FinishLogin(alice(cred), c.State, as)
	if err != nil {
		t.Fatal(err)
	}
	as, _ = passkey.ParseAssertion(resp)
	_, err = rp.FinishLogin(alice(updated), c.State, as)
	expectKind(t, err, passkey.Cloned)
}

func TestBeginLoginWithoutCredentials(t *testing.T) {
	_, err := newRP(t, "").BeginLogin(alice())
	expectKind(t, err, passkey.UnknownCredential)
}

func TestNewChecksTheRelyingParty(t *testing.T) {
	cases := []struct {
		origin, rpID     string
		wantOrigin, want string // want: substring of the error
		unavailable      bool
	}{
		{origin: "https://Login.Example.COM:443/", wantOrigin: "https://login.example.com"},
		{origin: "http://localhost:8080/", wantOrigin: "http://localhost:8080"},
		{origin: "http://localhost:80", wantOrigin: "http://localhost"},
		{origin: "https://login.example.com", rpID: "example.com", wantOrigin: "https://login.example.com"},
		{origin: "https://login.example.com", rpID: "Login.Example.com", wantOrigin: "https://login.example.com"},
		{origin: "https://login.example.com", rpID: "example.com:443", want: "must not have a port"},
		{origin: "https://login.example.com", rpID: "https://example.com", want: "not a URL"},
		{origin: "https://login.example.com", rpID: "other.example", want: `does not cover the base URL's host "login.example.com"`},
		{origin: "https://login.example.com", rpID: "ample.com", want: "does not cover"},
		{origin: "https://login.example.com/portal", want: "scheme and host only"},
		{origin: "ftp://login.example.com", want: "must look like"},
		{origin: "http://127.0.0.1:8080", want: "IP address", unavailable: true},
		{origin: "http://gatehouse.example.com", want: "https", unavailable: true},
	}
	for _, tc := range cases {
		rp, err := passkey.New(passkey.Config{Origin: tc.origin, RPID: tc.rpID})
		if tc.want != "" {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New(%q, %q) = %v, want an error saying %q", tc.origin, tc.rpID, err, tc.want)
			} else if errors.Is(err, passkey.ErrUnavailable) != tc.unavailable {
				t.Errorf("New(%q, %q): errors.Is(ErrUnavailable) = %v, want %v", tc.origin, tc.rpID, !tc.unavailable, tc.unavailable)
			}
			continue
		}
		if err != nil {
			t.Errorf("New(%q, %q): %v", tc.origin, tc.rpID, err)
			continue
		}
		if rp.Origin() != tc.wantOrigin {
			t.Errorf("New(%q): origin %q, want %q", tc.origin, rp.Origin(), tc.wantOrigin)
		}
	}
}

func TestParentDomainRPIDWorksForASubdomainOrigin(t *testing.T) {
	rp, err := passkey.New(passkey.Config{Origin: "https://login.example.com", RPID: "example.com"})
	if err != nil {
		t.Fatal(err)
	}
	a := passkeytest.New("https://login.example.com")
	cred := register(t, rp, a, alice())
	if _, err := signIn(rp, a, alice(cred)); err != nil {
		t.Fatal(err)
	}
}

func expectKind(t *testing.T, err error, want passkey.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want a %s refusal", want)
	}
	if got := passkey.KindOf(err); got != want {
		t.Fatalf("refusal %q (%v), want %q", got, err, want)
	}
	var pe *passkey.Error
	if errors.As(err, &pe) && pe.Message == "" {
		t.Errorf("refusal without a message: %v", err)
	}
}

// setResponse replaces one member of the response's "response" object.
func setResponse(field, value string) func(*testing.T, []byte) []byte {
	return func(t *testing.T, resp []byte) []byte {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(resp, &m); err != nil {
			t.Fatal(err)
		}
		m["response"].(map[string]any)[field] = value
		b, _ := json.Marshal(m)
		return b
	}
}

func setField(field, value string) func(*testing.T, []byte) []byte {
	return func(t *testing.T, resp []byte) []byte {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(resp, &m); err != nil {
			t.Fatal(err)
		}
		m[field] = value
		b, _ := json.Marshal(m)
		return b
	}
}

func setIDs(value string) func(*testing.T, []byte) []byte {
	return func(t *testing.T, resp []byte) []byte {
		return setField("rawId", value)(t, setField("id", value)(t, resp))
	}
}

// otherKey registers a fresh credential elsewhere and returns its key.
func otherKey(t *testing.T) []byte {
	rp := newRP(t, "")
	return register(t, rp, passkeytest.New(origin), alice()).PublicKey
}
