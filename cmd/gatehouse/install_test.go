package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gatehouse/internal/testenv"
)

// TestAdministrationCommandsNeverStartANewInstallation: a mistyped
// --data-dir must fail loudly, not create an empty database and a new key.
func TestAdministrationCommandsNeverStartANewInstallation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "typo")
	for _, args := range [][]string{
		{"users", "list", "--data-dir", dir},
		{"users", "add", "zoe", "--data-dir", dir},
		{"settings", "mfa", "get", "--data-dir", dir},
		{"tokens", "list", "--data-dir", dir},
	} {
		r := gatehouse(t, "", nil, args...)
		if r.Code == 0 || !strings.Contains(r.Stderr, "no Gatehouse") {
			t.Errorf("gatehouse %s: %s; want a failure naming the missing installation", strings.Join(args, " "), r)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		entries, _ := os.ReadDir(dir)
		if len(entries) > 0 {
			t.Fatalf("the commands left files in %s: %v", dir, entries)
		}
	}
}

// TestMigrateMakesNoKey: migrating a database ahead of a deployment touches
// only the schema, so it cannot tie the database to a stray key.
func TestMigrateMakesNoKey(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	dsn := testenv.PostgresDSN(t)
	dir := t.TempDir()
	if r := gatehouse(t, "", nil, "migrate", "--db", dsn, "--data-dir", dir); r.Code != 0 {
		t.Fatalf("migrate: %s", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "gatehouse.key")); !os.IsNotExist(err) {
		t.Fatal("migrate wrote a key file")
	}
	// A node with any key can then claim the migrated, empty database.
	n := startNode(t, nodeConfig{DB: dsn, Key: newKey(t)})
	if n.AdminPassword == "" {
		t.Fatal("the first node on the migrated database made no administrator")
	}
}

// TestServeWithoutItsKeyMakesNoNewOne: a database that holds sealed data and
// a data dir without its key file is refused, and no stray key is written.
func TestServeWithoutItsKeyMakesNoNewOne(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	dir := t.TempDir()
	n := startNode(t, nodeConfig{Dir: dir, DefaultPolicy: true})
	n.Stop(t)
	key := filepath.Join(dir, "gatehouse.key")
	if err := os.Rename(key, key+".moved"); err != nil {
		t.Fatal(err)
	}
	r := gatehouse(t, "", nil, "serve", "--addr", "127.0.0.1:0", "--data-dir", dir)
	if r.Code == 0 || !strings.Contains(r.Stderr, "GATEHOUSE_KEY") {
		t.Fatalf("serve without the key: %s", r)
	}
	if _, err := os.Stat(key); !os.IsNotExist(err) {
		t.Fatal("serve wrote a new key file for a database sealed with another")
	}
}
