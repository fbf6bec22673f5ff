// Package mail sends Gatehouse's messages (email sign-in codes): through an
// SMTP server when one is configured, else into an outbox folder of .eml
// files, so a new installation works out of the box and tests can read what
// was sent.
package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// From is the sender address of every message.
const From = "Gatehouse <gatehouse@localhost>"

// message renders an RFC 5322 message. Header values are checked for line
// breaks: an address is user data and must not inject headers.
func message(from, to, subject, body string, now time.Time) ([]byte, error) {
	for _, v := range []string{from, to, subject} {
		if strings.ContainsAny(v, "\r\n") {
			return nil, errors.New("mail: header value contains a line break")
		}
	}
	if _, err := mail.ParseAddress(to); err != nil {
		return nil, fmt.Errorf("mail: bad recipient: %w", err)
	}
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@gatehouse>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
		from, to, mime.QEncoding.Encode("utf-8", subject), now.UTC().Format(time.RFC1123Z), hex.EncodeToString(id))
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	return []byte(b.String()), nil
}

// Outbox writes each message as a .eml file in Dir.
type Outbox struct {
	Dir string
	Now func() time.Time
}

// Send implements account.Mailer.
func (o *Outbox) Send(_ context.Context, to, subject, body string) error {
	now := time.Now()
	if o.Now != nil {
		now = o.Now()
	}
	msg, err := message(From, to, subject, body, now)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return err
	}
	rnd := make([]byte, 4)
	_, _ = rand.Read(rnd)
	name := fmt.Sprintf("%s-%s.eml", now.UTC().Format("20060102T150405.000000000Z"), hex.EncodeToString(rnd))
	return os.WriteFile(filepath.Join(o.Dir, name), msg, 0o600)
}

// SMTP sends through a server given as smtp://[user:password@]host:port
// (STARTTLS when the server offers it) or smtps://… (TLS from the start is
// not supported by net/smtp's SendMail; use STARTTLS on 587).
type SMTP struct {
	addr string
	auth smtp.Auth
}

// NewSMTP parses an --smtp-url.
func NewSMTP(raw string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "smtp" || u.Host == "" {
		return nil, errors.New("--smtp-url must look like smtp://user:password@mail.example.com:587")
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, port = u.Host, "587"
	}
	s := &SMTP{addr: net.JoinHostPort(host, port)}
	if u.User != nil {
		pw, _ := u.User.Password()
		s.auth = smtp.PlainAuth("", u.User.Username(), pw, host)
	}
	return s, nil
}

// Send implements account.Mailer.
func (s *SMTP) Send(_ context.Context, to, subject, body string) error {
	msg, err := message(From, to, subject, body, time.Now())
	if err != nil {
		return err
	}
	return smtp.SendMail(s.addr, s.auth, "gatehouse@localhost", []string{to}, msg)
}
