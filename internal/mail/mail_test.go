package mail

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestOutboxWritesOneEMLPerMessage(t *testing.T) {
	dir := t.TempDir()
	o := &Outbox{Dir: dir, Now: func() time.Time { return time.Unix(1_800_000_000, 0) }}
	for range 2 {
		if err := o.Send(context.Background(), "alice@example.com", "Your code", "Code: 123456\n"); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 2 {
		t.Fatalf("%d files, want 2", len(files))
	}
	b, _ := os.ReadFile(dir + "/" + files[0].Name())
	for _, want := range []string{"To: alice@example.com\r\n", "Subject: Your code\r\n", "\r\n\r\nCode: 123456\r\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("message lacks %q:\n%s", want, b)
		}
	}
}

func TestMessageRefusesHeaderInjection(t *testing.T) {
	for _, to := range []string{"a@example.com\r\nBcc: evil@example.com", "not an address"} {
		if _, err := message(From, to, "s", "b", time.Now()); err == nil {
			t.Errorf("recipient %q accepted", to)
		}
	}
}

func TestNewSMTPParsesURL(t *testing.T) {
	if _, err := NewSMTP("smtp://u:p@mail.example.com:587"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"http://x", "smtp://", "::"} {
		if _, err := NewSMTP(bad); err == nil {
			t.Errorf("NewSMTP(%q) accepted", bad)
		}
	}
}
