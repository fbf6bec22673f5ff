package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"gatehouse/internal/server"
	"gatehouse/internal/store"
)

// openSecondApp opens the running server's installation the way a
// "gatehouse keys" command does: another App on the same files.
func openSecondApp(t *testing.T, ts *testServer) *server.App {
	t.Helper()
	app, err := server.Open(context.Background(), server.Config{
		DataDir: ts.DataDir, DB: "sqlite:" + filepath.Join(ts.DataDir, "gatehouse.db"), BaseURL: ts.App.Config.BaseURL,
		MustExist: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	return app
}

func keyCounts(t *testing.T, app *server.App) map[string]server.KeyUse {
	t.Helper()
	st, err := app.KeyStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]server.KeyUse{}
	for _, k := range st {
		out[k.ID] = k
	}
	return out
}

func TestRotateKeyWhileServingThenSignInWithExistingDevices(t *testing.T) {
	ts := startAPIServer(t)
	_, _, key1 := ts.userWithDevice(t, "ann")
	b, _, key2 := ts.userWithDevice(t, "bob")
	codes := b.generateRecoveryCodes()
	_, auth := ts.userWithKey(t, "kim") // a security key: its sealed public key moves too
	oldID := ts.App.Keys.CurrentKeyID()

	cli := openSecondApp(t, ts)
	newID, n, err := cli.RotateKey(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	// Two apps, a security key, the key check and the recovery-code key.
	if n != 5 || newID == oldID {
		t.Fatalf("RotateKey = %s, %d re-sealed; want a new id and 5", newID, n)
	}
	counts := keyCounts(t, cli)
	if counts[oldID].Count != 0 || counts[newID].Count != 5 || !counts[newID].Current {
		t.Fatalf("after rotation: %+v", counts)
	}
	path := filepath.Join(ts.DataDir, server.KeyFileName)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", fi.Mode(), err)
	}
	var kf struct{ Keys []string }
	raw, _ := os.ReadFile(path)
	if err := json.Unmarshal(raw, &kf); err != nil || len(kf.Keys) != 2 {
		t.Fatalf("key file %s: %v", raw, err)
	}

	// The running server was not restarted: it meets the new key id and
	// reads the key file again.
	a := ts.mfaSession(t, "ann")
	wantState(t, a.totp(ts.code(key1, 0)), "authenticated")
	c := ts.mfaSession(t, "bob")
	wantState(t, c.totp(ts.code(key2, 0)), "authenticated")
	k := ts.mfaSession(t, "kim")
	wantState(t, k.finish(k.assertion(auth)), "authenticated")
	if ts.App.Keys.CurrentKeyID() != newID {
		t.Fatalf("running server's current key %s, want %s", ts.App.Keys.CurrentKeyID(), newID)
	}
	// Recovery codes made before the rotation still work: their hash key
	// was re-sealed, not replaced.
	d := ts.mfaSession(t, "bob")
	wantState(t, d.recoveryCode(codes[0]), "authenticated")
	// A device registered now is sealed under the new key.
	e := ts.signedIn(t, "cat")
	e.addDevice("Cat's phone")
	if counts := keyCounts(t, cli); counts[oldID].Count != 0 || counts[newID].Count != 6 {
		t.Fatalf("after a new registration: %+v", counts)
	}

	retired, _, err := cli.RetireKeys(context.Background())
	if err != nil || len(retired) != 1 || retired[0] != oldID {
		t.Fatalf("RetireKeys = %v, %v; want [%s]", retired, err, oldID)
	}
	raw, _ = os.ReadFile(path)
	if err := json.Unmarshal(raw, &kf); err != nil || len(kf.Keys) != 1 {
		t.Fatalf("key file after retiring %s: %v", raw, err)
	}
	ts.nextStep()
	f := ts.mfaSession(t, "ann")
	wantState(t, f.totp(ts.code(key1, 0)), "authenticated")
}

func TestKeyStatusNamesKeysTheNodeDoesNotHold(t *testing.T) {
	ts := startAPIServer(t)
	ts.userWithDevice(t, "dan")
	if _, err := ts.App.Store.Reseal(context.Background(), "ffffffffffffffff", nil, func(v store.Sealed) (string, []byte, error) {
		return "0123456789abcdef", v.CT, nil
	}); err != nil {
		t.Fatal(err)
	}
	counts := keyCounts(t, ts.App)
	if k := counts["0123456789abcdef"]; k.Held || k.Count != 1 {
		t.Fatalf("unknown key: %+v", k)
	}
}
