package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/internal/mfa"
	"gatehouse/internal/passkey"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

func pendingKey(id, user, name string, t mfa.Type) mfa.Device {
	return mfa.Device{ID: id, UserID: user, Type: t, Name: name, NameKey: name, Status: mfa.StatusPending,
		CreatedAt: t0, ExpiresAt: t0.Add(mfa.ChallengeTTL), SecretKeyID: "", SecretCT: []byte{}, LastStep: -1}
}

func credential(id string) passkey.Credential {
	return passkey.Credential{ID: []byte(id), SignCount: 7, Transports: []string{"usb", "nfc"}, FlagsKnown: true,
		BackupEligible: true, BackupState: false, UserVerified: true, AAGUID: make([]byte, 16), AttestationFormat: "none", Attachment: "cross-platform"}
}

// activateKey registers a WebAuthn device with credential id credID.
func activateKey(t *testing.T, db *store.DB, user, id, credID string, typ mfa.Type) (mfa.Device, error) {
	t.Helper()
	ctx := context.Background()
	if err := db.CreatePending(ctx, pendingKey(id, user, id, typ), t0); err != nil {
		t.Fatal(err)
	}
	return db.ActivateWebAuthn(ctx, user, id, "kid", []byte("sealed public key of "+id), credential(credID), mfa.MaxWebAuthnDevices, t0.Add(time.Second))
}

func TestWebAuthnCredentialsRoundTripAndAreListedAsDevices(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addUser(t, db, "u1", "alice")
		d, err := activateKey(t, db, "u1", "k1", "cred-1", mfa.TypeSecurityKey)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != mfa.StatusActive || d.SecretKeyID != "kid" || !d.ExpiresAt.IsZero() {
			t.Fatalf("activated device %+v", d)
		}
		creds, err := db.WebAuthnCredentials(ctx, "u1")
		if err != nil || len(creds) != 1 {
			t.Fatalf("WebAuthnCredentials = %v, %v", creds, err)
		}
		got, want := creds[0], credential("cred-1")
		if got.Device.ID != "k1" || got.Device.Type != mfa.TypeSecurityKey || string(got.Device.SecretCT) != "sealed public key of k1" {
			t.Errorf("device %+v", got.Device)
		}
		c := got.Credential
		if string(c.ID) != string(want.ID) || c.SignCount != 7 || fmt.Sprint(c.Transports) != "[usb nfc]" || !c.FlagsKnown || !c.BackupEligible || c.BackupState ||
			!c.UserVerified || len(c.AAGUID) != 16 || c.AttestationFormat != "none" || c.Attachment != "cross-platform" {
			t.Errorf("credential %+v", c)
		}
		if devices, _ := db.ListDevices(ctx, "u1"); len(devices) != 1 || devices[0].Type != mfa.TypeSecurityKey {
			t.Errorf("ListDevices = %+v", devices)
		}
		// A pending device is not a credential yet.
		_ = db.CreatePending(ctx, pendingKey("k2", "u1", "other", mfa.TypeBuiltIn), t0)
		if creds, _ := db.WebAuthnCredentials(ctx, "u1"); len(creds) != 1 {
			t.Errorf("a pending device is listed as a credential: %+v", creds)
		}
	})
}

func TestWebAuthnActivationRefusesDuplicatesLimitsAndExpiry(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addUser(t, db, "u1", "alice")
		addUser(t, db, "u2", "bob")
		if _, err := activateKey(t, db, "u1", "k1", "cred-1", mfa.TypeSecurityKey); err != nil {
			t.Fatal(err)
		}
		// The same credential again, for the same user or another.
		if _, err := activateKey(t, db, "u1", "k2", "cred-1", mfa.TypeSecurityKey); !errors.Is(err, mfa.ErrCredentialExists) {
			t.Fatalf("same credential again = %v, want ErrCredentialExists", err)
		}
		if _, err := activateKey(t, db, "u2", "k3", "cred-1", mfa.TypeBuiltIn); !errors.Is(err, mfa.ErrCredentialExists) {
			t.Fatalf("same credential for another user = %v, want ErrCredentialExists", err)
		}
		// Confirming twice.
		if _, err := db.ActivateWebAuthn(ctx, "u1", "k1", "kid", []byte("x"), credential("cred-9"), mfa.MaxWebAuthnDevices, t0); !errors.Is(err, mfa.ErrNotPending) {
			t.Fatalf("activating an active device = %v", err)
		}
		// Expired.
		_ = db.CreatePending(ctx, pendingKey("late", "u1", "late", mfa.TypeSecurityKey), t0)
		if _, err := db.ActivateWebAuthn(ctx, "u1", "late", "kid", []byte("x"), credential("cred-late"), mfa.MaxWebAuthnDevices, t0.Add(mfa.ChallengeTTL)); !errors.Is(err, mfa.ErrExpired) {
			t.Fatalf("activating an expired device = %v", err)
		}
		// Six WebAuthn devices of either type, beside authenticator apps.
		_ = db.CreatePending(ctx, pending("app", "u1", "app"), t0)
		if _, err := db.Activate(ctx, "u1", "app", 1, 0, mfa.MaxTOTPDevices, t0); err != nil {
			t.Fatal(err)
		}
		for i := 2; i <= mfa.MaxWebAuthnDevices; i++ {
			typ := mfa.TypeSecurityKey
			if i%2 == 0 {
				typ = mfa.TypeBuiltIn
			}
			if _, err := activateKey(t, db, "u1", fmt.Sprintf("key%d", i), fmt.Sprintf("cred-%d", i), typ); err != nil {
				t.Fatalf("key %d: %v", i, err)
			}
		}
		if _, err := activateKey(t, db, "u1", "key7", "cred-7", mfa.TypeBuiltIn); !errors.Is(err, mfa.ErrLimit) {
			t.Fatalf("a 7th WebAuthn device = %v, want ErrLimit", err)
		}
		// Deleting a device deletes its credential: it can be registered again.
		if err := db.Delete(ctx, "u1", "k1", true); err != nil {
			t.Fatal(err)
		}
		if _, err := activateKey(t, db, "u2", "k4", "cred-1", mfa.TypeSecurityKey); err != nil {
			t.Fatalf("registering a deleted device's credential again: %v", err)
		}
	})
}

func TestConcurrentWebAuthnActivationsRespectTheLimit(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addUser(t, db, "u1", "alice")
		const n = 10
		for i := range n {
			_ = db.CreatePending(ctx, pendingKey(fmt.Sprintf("k%d", i), "u1", fmt.Sprintf("key %d", i), mfa.TypeSecurityKey), t0)
		}
		var ok atomic.Int32
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, err := db.ActivateWebAuthn(ctx, "u1", fmt.Sprintf("k%d", i), "kid", []byte("x"), credential(fmt.Sprintf("c%d", i)), mfa.MaxWebAuthnDevices, t0)
				if err == nil {
					ok.Add(1)
				} else if !errors.Is(err, mfa.ErrLimit) {
					t.Errorf("activation %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != mfa.MaxWebAuthnDevices {
			t.Fatalf("%d activations succeeded, want %d", ok.Load(), mfa.MaxWebAuthnDevices)
		}
	})
}

func challenge(value, session, user string, kind mfa.ChallengeKind, at time.Time) mfa.Challenge {
	return mfa.Challenge{Challenge: value, SessionHash: session, UserID: user, Kind: kind, State: []byte(`{"challenge":"` + value + `"}`),
		CreatedAt: at, ExpiresAt: at.Add(mfa.ChallengeTTL)}
}

func TestChallengesAreSingleUseAndBoundToTheirSessionAndKind(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addUser(t, db, "u1", "alice")
		ch := challenge("c1", "session-a", "u1", mfa.ChallengeRegister, t0)
		ch.DeviceID = "d1"
		if err := db.PutChallenge(ctx, ch, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TakeChallenge(ctx, "session-b", "c1", mfa.ChallengeRegister); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatalf("another session took the challenge: %v", err)
		}
		if _, err := db.TakeChallenge(ctx, "session-a", "c1", mfa.ChallengeLogin); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatalf("a sign-in took a registration's challenge: %v", err)
		}
		got, err := db.TakeChallenge(ctx, "session-a", "c1", mfa.ChallengeRegister)
		if err != nil {
			t.Fatal(err)
		}
		if got.DeviceID != "d1" || got.UserID != "u1" || string(got.State) != string(ch.State) || !got.ExpiresAt.Equal(ch.ExpiresAt) || !got.CreatedAt.Equal(t0) {
			t.Fatalf("taken %+v, put %+v", got, ch)
		}
		if _, err := db.TakeChallenge(ctx, "session-a", "c1", mfa.ChallengeRegister); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatalf("a challenge was taken twice: %v", err)
		}
	})
}

func TestChallengesAreBoundedPerSessionAndSwept(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addUser(t, db, "u1", "alice")
		for i := range mfa.MaxOpenChallenges + 2 {
			at := t0.Add(time.Duration(i) * time.Second)
			if err := db.PutChallenge(ctx, challenge(fmt.Sprintf("c%d", i), "s", "u1", mfa.ChallengeLogin, at), at); err != nil {
				t.Fatal(err)
			}
		}
		for i := range mfa.MaxOpenChallenges + 2 {
			_, err := db.TakeChallenge(ctx, "s", fmt.Sprintf("c%d", i), mfa.ChallengeLogin)
			if kept := i >= 2; kept != (err == nil) {
				t.Errorf("challenge %d: %v (want kept=%v: only the newest %d stay)", i, err, kept, mfa.MaxOpenChallenges)
			}
		}
		// An expired challenge is still returned once (the caller says it
		// expired), but the sweep removes it.
		_ = db.PutChallenge(ctx, challenge("old", "s", "u1", mfa.ChallengeLogin, t0), t0)
		if got, err := db.TakeChallenge(ctx, "s", "old", mfa.ChallengeLogin); err != nil || !got.ExpiresAt.Equal(t0.Add(mfa.ChallengeTTL)) {
			t.Fatalf("expired challenge = %+v, %v", got, err)
		}
		_ = db.PutChallenge(ctx, challenge("old", "s", "u1", mfa.ChallengeLogin, t0), t0)
		if err := db.Sweep(ctx, t0.Add(mfa.ChallengeTTL)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TakeChallenge(ctx, "s", "old", mfa.ChallengeLogin); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatalf("after the sweep: %v", err)
		}
	})
}

func TestConcurrentTakesOfOneChallengeSucceedOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addUser(t, db, "u1", "alice")
		if err := db.PutChallenge(ctx, challenge("c", "s", "u1", mfa.ChallengeLogin, t0), t0); err != nil {
			t.Fatal(err)
		}
		var ok atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if _, err := db.TakeChallenge(ctx, "s", "c", mfa.ChallengeLogin); err == nil {
					ok.Add(1)
				} else if !errors.Is(err, mfa.ErrNotFound) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Fatalf("%d takes succeeded, want 1", ok.Load())
		}
	})
}

func TestRecordWebAuthnUseIsACompareAndSetThatBackfillsFlags(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addUser(t, db, "u1", "alice")
		if err := db.CreatePending(ctx, pendingKey("k1", "u1", "key", mfa.TypeSecurityKey), t0); err != nil {
			t.Fatal(err)
		}
		legacy := credential("cred-1")
		legacy.FlagsKnown, legacy.BackupEligible = false, false
		if _, err := db.ActivateWebAuthn(ctx, "u1", "k1", "kid", []byte("pk"), legacy, mfa.MaxWebAuthnDevices, t0); err != nil {
			t.Fatal(err)
		}
		creds, _ := db.WebAuthnCredentials(ctx, "u1")
		if creds[0].Credential.FlagsKnown {
			t.Fatal("a legacy credential came back with known flags")
		}
		used := creds[0].Credential
		used.SignCount, used.FlagsKnown, used.BackupEligible, used.BackupState = 8, true, true, true
		at := t0.Add(time.Minute)
		if err := db.RecordWebAuthnUse(ctx, "k1", 7, used, at); err != nil {
			t.Fatal(err)
		}
		creds, _ = db.WebAuthnCredentials(ctx, "u1")
		c := creds[0]
		if c.Credential.SignCount != 8 || !c.Credential.FlagsKnown || !c.Credential.BackupEligible || !c.Credential.BackupState || !c.Device.LastUsedAt.Equal(at) {
			t.Fatalf("after use: %+v %+v", c.Credential, c.Device)
		}
		// A second sign-in that read the counter before the first stored it.
		used.SignCount = 9
		if err := db.RecordWebAuthnUse(ctx, "k1", 7, used, at); !errors.Is(err, mfa.ErrReplay) {
			t.Fatalf("stale compare-and-set = %v, want ErrReplay", err)
		}
	})
}

func TestCopyAllMovesWebAuthnCredentialsAndChallenges(t *testing.T) {
	ctx := context.Background()
	src := openSQLite(t)
	addUser(t, src, "u1", "alice")
	if _, err := activateKey(t, src, "u1", "k1", "cred-1", mfa.TypeBuiltIn); err != nil {
		t.Fatal(err)
	}
	_ = src.PutChallenge(ctx, challenge("c1", "s", "u1", mfa.ChallengeLogin, t0), t0)
	dst, err := store.Open(ctx, testenv.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if err := dst.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	counts, err := store.CopyAll(ctx, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if counts["webauthn_credentials"] != 1 || counts["webauthn_challenges"] != 1 {
		t.Fatalf("copied %v", counts)
	}
	want, _ := src.WebAuthnCredentials(ctx, "u1")
	got, err := dst.WebAuthnCredentials(ctx, "u1")
	if err != nil || len(got) != 1 || fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Fatalf("after the copy %+v, %v; want %+v", got, err, want)
	}
	if _, err := dst.TakeChallenge(ctx, "s", "c1", mfa.ChallengeLogin); err != nil {
		t.Fatalf("copied challenge: %v", err)
	}
}

func TestResetMFARemovesWebAuthnCredentials(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addUser(t, db, "u1", "alice")
		if _, err := activateKey(t, db, "u1", "k1", "cred-1", mfa.TypeSecurityKey); err != nil {
			t.Fatal(err)
		}
		_ = db.PutChallenge(ctx, challenge("c", "s", "u1", mfa.ChallengeLogin, t0), t0)
		if n, err := db.ResetMFA(ctx, "u1"); err != nil || n != 1 {
			t.Fatalf("ResetMFA = %d, %v", n, err)
		}
		if creds, err := db.WebAuthnCredentials(ctx, "u1"); err != nil || len(creds) != 0 {
			t.Fatalf("after the reset: %v, %v", creds, err)
		}
		if _, err := activateKey(t, db, "u1", "k2", "cred-1", mfa.TypeSecurityKey); err != nil {
			t.Fatalf("registering the key again after the reset: %v", err)
		}
	})
}
