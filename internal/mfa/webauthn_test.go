package mfa_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"gatehouse/internal/errcode"
	"gatehouse/internal/mfa"
	"gatehouse/internal/passkey"
	"gatehouse/internal/passkey/passkeytest"
)

const testOrigin = "https://gatehouse.example.com"

type keyFixture struct {
	*fixture
	w    *mfa.WebAuthn
	logs *bytes.Buffer
}

func newKeyFixture(t *testing.T) *keyFixture {
	t.Helper()
	f := newFixture(t)
	rp, err := passkey.New(passkey.Config{Origin: testOrigin, DisplayName: "Gatehouse"})
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	return &keyFixture{fixture: f, logs: logs,
		w: &mfa.WebAuthn{Service: f.svc, Store: f.db, RP: rp, Log: slog.New(slog.NewTextHandler(logs, nil))}}
}

// register runs a registration in session sess and returns the device.
func (k *keyFixture) register(t *testing.T, a *passkeytest.Authenticator, sess, name string, typ mfa.Type) (mfa.Device, error) {
	t.Helper()
	e, err := k.w.StartRegistration(context.Background(), k.user, "alice", sess, name, typ)
	if err != nil {
		t.Fatalf("StartRegistration: %v", err)
	}
	resp, err := a.Create(e.Options)
	if err != nil {
		t.Fatal(err)
	}
	return k.w.ConfirmRegistration(context.Background(), k.user, "alice", sess, e.ID, resp)
}

// answer begins a sign-in in session sess and returns the authenticator's answer.
func (k *keyFixture) answer(t *testing.T, a *passkeytest.Authenticator, sess string) []byte {
	t.Helper()
	opts, err := k.w.BeginSignIn(context.Background(), k.user, sess)
	if err != nil {
		t.Fatalf("BeginSignIn: %v", err)
	}
	resp, err := a.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func expectCode(t *testing.T, err error, code string) *errcode.Error {
	t.Helper()
	e := errcode.As(err)
	if e == nil || e.Code != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
	return e
}

func TestWebAuthnRegisterThenSignIn(t *testing.T) {
	k := newKeyFixture(t)
	ctx := context.Background()
	a := passkeytest.New(testOrigin)
	d, err := k.register(t, a, "s1", "  YubiKey 5 ", mfa.TypeSecurityKey)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != mfa.StatusActive || d.Name != "YubiKey 5" || d.Type != mfa.TypeSecurityKey {
		t.Fatalf("registered %+v", d)
	}
	if methods, _ := k.svc.Methods(ctx, k.user); fmt.Sprint(methods) != "[webauthn]" {
		t.Errorf("Methods = %v", methods)
	}
	creds, _ := k.db.WebAuthnCredentials(ctx, k.user)
	if len(creds) != 1 || creds[0].Device.SecretKeyID == "" || bytes.Contains(creds[0].Device.SecretCT, []byte{0xa5, 0x01, 0x02}) {
		t.Fatalf("the public key is not sealed: %+v", creds)
	}
	used, err := k.w.VerifyAssertion(ctx, k.user, "s2", k.answer(t, a, "s2"))
	if err != nil {
		t.Fatal(err)
	}
	if used.ID != d.ID || !used.LastUsedAt.Equal(k.now) {
		t.Errorf("used %+v", used)
	}
	creds, _ = k.db.WebAuthnCredentials(ctx, k.user)
	if creds[0].Credential.SignCount != 2 {
		t.Errorf("sign count %d after one sign-in, want 2", creds[0].Credential.SignCount)
	}
}

func TestWebAuthnOptionsExcludeTheUsersKeys(t *testing.T) {
	k := newKeyFixture(t)
	a := passkeytest.New(testOrigin)
	if _, err := k.register(t, a, "s", "first", mfa.TypeSecurityKey); err != nil {
		t.Fatal(err)
	}
	e, err := k.w.StartRegistration(context.Background(), k.user, "alice", "s", "second", mfa.TypeBuiltIn)
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		Exclude []struct{ ID string } `json:"excludeCredentials"`
		Sel     struct {
			Attachment string `json:"authenticatorAttachment"`
		} `json:"authenticatorSelection"`
	}
	_ = json.Unmarshal(e.Options, &o)
	if len(o.Exclude) != 1 || o.Sel.Attachment != "platform" {
		t.Fatalf("options %s", e.Options)
	}
	if _, err := a.Create(e.Options); !errors.Is(err, passkeytest.ErrExcluded) {
		t.Fatalf("Create = %v, want the key to decline", err)
	}
	// A client that ignores the exclusion is refused by the server.
	resp, err := a.CreateAgain(e.Options)
	if err != nil {
		t.Fatal(err)
	}
	_, err = k.w.ConfirmRegistration(context.Background(), k.user, "alice", "s", e.ID, resp)
	if e := expectCode(t, err, errcode.Conflict); e.Message != "This security key is already registered." {
		t.Errorf("message %q", e.Message)
	}
}

func TestWebAuthnChallengesAreBoundSingleUseAndExpire(t *testing.T) {
	ctx := context.Background()
	t.Run("registration finished in another session", func(t *testing.T) {
		k := newKeyFixture(t)
		a := passkeytest.New(testOrigin)
		e, _ := k.w.StartRegistration(ctx, k.user, "alice", "mine", "key", mfa.TypeSecurityKey)
		resp, _ := a.Create(e.Options)
		_, err := k.w.ConfirmRegistration(ctx, k.user, "alice", "theirs", e.ID, resp)
		expectCode(t, err, errcode.NotAllowed)
		// The rightful session still can.
		if _, err := k.w.ConfirmRegistration(ctx, k.user, "alice", "mine", e.ID, resp); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("registration answered for another device", func(t *testing.T) {
		k := newKeyFixture(t)
		a := passkeytest.New(testOrigin)
		e1, _ := k.w.StartRegistration(ctx, k.user, "alice", "s", "one", mfa.TypeSecurityKey)
		e2, _ := k.w.StartRegistration(ctx, k.user, "alice", "s", "two", mfa.TypeSecurityKey)
		resp, _ := a.Create(e1.Options)
		_, err := k.w.ConfirmRegistration(ctx, k.user, "alice", "s", e2.ID, resp)
		expectCode(t, err, errcode.NotAllowed)
	})
	t.Run("registration after 5 minutes", func(t *testing.T) {
		k := newKeyFixture(t)
		a := passkeytest.New(testOrigin)
		e, _ := k.w.StartRegistration(ctx, k.user, "alice", "s", "key", mfa.TypeSecurityKey)
		resp, _ := a.Create(e.Options)
		k.now = k.now.Add(mfa.ChallengeTTL)
		_, err := k.w.ConfirmRegistration(ctx, k.user, "alice", "s", e.ID, resp)
		expectCode(t, err, errcode.EnrollmentExpired)
	})
	t.Run("sign-in finished in another session", func(t *testing.T) {
		k := newKeyFixture(t)
		a := passkeytest.New(testOrigin)
		if _, err := k.register(t, a, "s", "key", mfa.TypeSecurityKey); err != nil {
			t.Fatal(err)
		}
		err := k.w.CheckAssertion(ctx, k.user, "other", k.answer(t, a, "mine"))
		expectCode(t, err, errcode.NotAllowed)
	})
	t.Run("sign-in finished without a begin", func(t *testing.T) {
		k := newKeyFixture(t)
		a := passkeytest.New(testOrigin)
		if _, err := k.register(t, a, "s", "key", mfa.TypeSecurityKey); err != nil {
			t.Fatal(err)
		}
		resp := k.answer(t, a, "s")
		if err := k.w.CheckAssertion(ctx, k.user, "s", resp); err != nil {
			t.Fatal(err)
		}
		// Replayed: the challenge is spent, even for a key without a counter.
		err := k.w.CheckAssertion(ctx, k.user, "s", resp)
		expectCode(t, err, errcode.NotAllowed)
	})
	t.Run("sign-in after 5 minutes", func(t *testing.T) {
		k := newKeyFixture(t)
		a := passkeytest.New(testOrigin)
		if _, err := k.register(t, a, "s", "key", mfa.TypeSecurityKey); err != nil {
			t.Fatal(err)
		}
		resp := k.answer(t, a, "s")
		k.now = k.now.Add(mfa.ChallengeTTL)
		e := expectCode(t, k.w.CheckAssertion(ctx, k.user, "s", resp), errcode.NotAllowed)
		if !strings.Contains(e.Message, "expired") {
			t.Errorf("message %q", e.Message)
		}
	})
}

func TestWebAuthnRefusalsAreWrongAnswersOrBadInput(t *testing.T) {
	ctx := context.Background()
	k := newKeyFixture(t)
	a := passkeytest.New(testOrigin)
	if _, err := k.register(t, a, "s", "key", mfa.TypeSecurityKey); err != nil {
		t.Fatal(err)
	}
	// Wrong origin: a wrong answer (counts at sign-in), saying why.
	a.Origin = "https://phish.example"
	e := expectCode(t, k.w.CheckAssertion(ctx, k.user, "s", k.answer(t, a, "s")), errcode.InvalidCode)
	if e.Detail["reason"] != "origin" || !strings.Contains(e.Message, "phish.example") {
		t.Errorf("refusal %+v", e)
	}
	a.Origin = testOrigin
	// Malformed: bad input, not a guess.
	e = expectCode(t, k.w.CheckAssertion(ctx, k.user, "s", []byte(`{"id":`)), errcode.InvalidInput)
	if e.Detail["format"] != true {
		t.Errorf("malformed answer detail %v", e.Detail)
	}
	// A counter that went backwards is refused and logged for the operator.
	a.SetCounter(0)
	e = expectCode(t, k.w.CheckAssertion(ctx, k.user, "s", k.answer(t, a, "s")), errcode.InvalidCode)
	if e.Detail["reason"] != "clone" || !strings.Contains(k.logs.String(), "clone warning") {
		t.Errorf("clone refusal %+v; log %q", e, k.logs.String())
	}
}

func TestWebAuthnLimitIsSixBesideApps(t *testing.T) {
	ctx := context.Background()
	k := newKeyFixture(t)
	k.enroll(t, "app 1")
	k.enroll(t, "app 2")
	for i := range mfa.MaxWebAuthnDevices {
		typ := mfa.TypeSecurityKey
		if i%2 == 1 {
			typ = mfa.TypeBuiltIn
		}
		if _, err := k.register(t, passkeytest.New(testOrigin), "s", fmt.Sprintf("key %d", i), typ); err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
	}
	if r, _ := k.w.BlockedReason(ctx, k.user); !strings.Contains(r, "6 security keys") {
		t.Errorf("BlockedReason = %q", r)
	}
	_, err := k.w.StartRegistration(ctx, k.user, "alice", "s", "seventh", mfa.TypeBuiltIn)
	expectCode(t, err, errcode.DeviceLimit)
	if methods, _ := k.svc.Methods(ctx, k.user); fmt.Sprint(methods) != "[totp webauthn]" {
		t.Errorf("Methods = %v", methods)
	}
}

func TestWebAuthnDevicesAndCodesDoNotMix(t *testing.T) {
	ctx := context.Background()
	k := newKeyFixture(t)
	e, err := k.w.StartRegistration(ctx, k.user, "alice", "s", "key", mfa.TypeSecurityKey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.svc.Get(ctx, k.user, "alice", e.ID)
	if err != nil || got.Status != mfa.StatusPending || got.Secret != nil {
		t.Fatalf("Get of a pending security key = %+v, %v", got, err)
	}
	_, err = k.svc.Confirm(ctx, k.user, e.ID, "123456")
	expectCode(t, err, errcode.InvalidInput)
	app, err := k.svc.StartTOTP(ctx, k.user, "alice", "phone")
	if err != nil {
		t.Fatal(err)
	}
	_, err = k.w.ConfirmRegistration(ctx, k.user, "alice", "s", app.ID, []byte(`{}`))
	expectCode(t, err, errcode.InvalidInput)
}

func TestWebAuthnUnavailableSaysWhy(t *testing.T) {
	f := newFixture(t)
	_, err := passkey.New(passkey.Config{Origin: "http://192.0.2.1:8080"})
	w := &mfa.WebAuthn{Service: f.svc, Store: f.db, Unavailable: err.Error()}
	_, serr := w.StartRegistration(context.Background(), f.user, "alice", "s", "key", mfa.TypeSecurityKey)
	e := expectCode(t, serr, errcode.NotAllowed)
	if !strings.Contains(e.Message, "IP address") {
		t.Errorf("message %q", e.Message)
	}
	if r, _ := w.BlockedReason(context.Background(), f.user); !strings.Contains(r, "IP address") {
		t.Errorf("BlockedReason %q", r)
	}
}
