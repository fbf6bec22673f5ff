package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/audit"
)

// bearerStatus sends one request with an API token and returns the status.
func bearerStatus(t *testing.T, n *node, method, path, token, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, n.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestTokensAndAuditExportCommands: a token made by `tokens create` works
// on a running node's admin API at once, `tokens revoke` stops it at once,
// and `audit export` writes what happened as JSON Lines.
func TestTokensAndAuditExportCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := startNode(t, nodeConfig{Name: "sqlite", Dir: dir})
	db := []string{"--data-dir", dir}
	start := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)

	r := gatehouse(t, "", nil, append([]string{"tokens", "create", "--name", "ci-bot"}, db...)...)
	m := regexp.MustCompile(`(?m)^(gh_[A-Za-z0-9_-]{43})$`).FindStringSubmatch(r.Stdout)
	if r.Code != 0 || m == nil {
		t.Fatalf("tokens create printed no token:\n%s", r)
	}
	token := m[1]
	if st := bearerStatus(t, n, "POST", "/api/v1/admin/users", token, `{"username":"olga"}`); st != http.StatusCreated {
		t.Fatalf("POST users with the new token = %d", st)
	}
	r = gatehouse(t, "", nil, append([]string{"tokens", "create", "--name", "ci-bot"}, db...)...)
	if r.Code == 0 || !strings.Contains(r.Stderr, "ci-bot") {
		t.Errorf("a second token with the same name:\n%s", r)
	}
	for _, bad := range [][]string{{"tokens", "create"}, {"tokens", "create", "--name", "has space"}, {"tokens", "revoke"}, {"tokens", "revoke", "nope"}, {"tokens", "frob"}} {
		if r := gatehouse(t, "", nil, append(bad, db...)...); r.Code == 0 || strings.TrimSpace(r.Stderr) == "" {
			t.Errorf("%s: want a non-zero exit and an error:\n%s", strings.Join(bad, " "), r)
		}
	}
	r = gatehouse(t, "", nil, append([]string{"tokens", "list"}, db...)...)
	if r.Code != 0 || !regexp.MustCompile(`ci-bot\s+\S+ \S+ UTC\s+\S+ \S+ UTC\s+active`).MatchString(r.Stdout) || strings.Contains(r.Stdout, token) {
		t.Fatalf("tokens list:\n%s", r)
	}
	r = gatehouse(t, "", nil, append([]string{"tokens", "revoke", "ci-bot"}, db...)...)
	if r.Code != 0 || !strings.Contains(r.Stdout, "Revoked API token ci-bot") {
		t.Fatalf("tokens revoke:\n%s", r)
	}
	if st := bearerStatus(t, n, "GET", "/api/v1/admin/users", token, ""); st != http.StatusUnauthorized {
		t.Errorf("a revoked token = %d, want 401", st)
	}
	if r := gatehouse(t, "", nil, append([]string{"tokens", "list"}, db...)...); !strings.Contains(r.Stdout, "revoked") {
		t.Errorf("tokens list after revoke:\n%s", r)
	}

	// The export: JSON Lines, oldest first, with what the token did.
	r = gatehouse(t, "", nil, append([]string{"audit", "export", "--since", start}, db...)...)
	if r.Code != 0 {
		t.Fatalf("audit export:\n%s", r)
	}
	var events []audit.Event
	sc := bufio.NewScanner(strings.NewReader(r.Stdout))
	for sc.Scan() {
		var e audit.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q is not a JSON event: %v", sc.Text(), err)
		}
		events = append(events, e)
	}
	var names []string
	for i, e := range events {
		if i > 0 && e.Time.Before(events[i-1].Time) {
			t.Errorf("export not oldest first at line %d", i+1)
		}
		names = append(names, e.Name+"/"+e.ActorName)
	}
	got := strings.Join(names, " ")
	for _, want := range []string{"CreateApiToken/cli", "CreateUser/token:ci-bot", "RevokeApiToken/cli"} {
		if !strings.Contains(got, want) {
			t.Errorf("export lacks %s: %s", want, got)
		}
	}
	if strings.Contains(r.Stdout, token) {
		t.Error("the export contains the token")
	}
	r = gatehouse(t, "", nil, append([]string{"audit", "export", "--since", start, "--until", start}, db...)...)
	if r.Code == 0 || !strings.Contains(r.Stderr, "before") {
		t.Errorf("an empty range: want an error:\n%s", r)
	}
	for _, bad := range [][]string{{"audit", "export"}, {"audit", "export", "--since", "yesterday"}, {"audit", "export", "--since", start, "--until", "soon"}, {"audit"}, {"audit", "export", "--since", start, "--event", "Nope"}} {
		if r := gatehouse(t, "", nil, append(bad, db...)...); r.Code == 0 || strings.TrimSpace(r.Stderr) == "" {
			t.Errorf("%s: want a non-zero exit and an error:\n%s", strings.Join(bad, " "), r)
		}
	}
}
