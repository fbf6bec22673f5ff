package account

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gatehouse/internal/audit"
	"gatehouse/internal/errcode"
)

// Email one-time codes (DESIGN §3, for users without a device when the
// policy says so).
const (
	EmailCodeDigits   = 6
	EmailCodeLifetime = 10 * time.Minute
)

func (s *Service) hashEmailCode(sessionHash, code string) string {
	m := hmac.New(sha256.New, s.CodeKey)
	m.Write([]byte(sessionHash))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil))
}

func randomDigits(n int) (string, error) {
	max := uint64(1)
	for range n {
		max *= 10
	}
	// Draw again above the largest multiple of max: no modulo bias.
	limit := ^uint64(0) - ^uint64(0)%max
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		if v := binary.BigEndian.Uint64(b[:]); v < limit {
			return fmt.Sprintf("%0*d", n, v%max), nil
		}
	}
}

func (s *Service) sendEmailCode(ctx context.Context, u User, sessionHash string) error {
	if s.Mail == nil {
		return errors.New("account: no mailer configured")
	}
	code, err := randomDigits(EmailCodeDigits)
	if err != nil {
		return err
	}
	if err := s.Store.PutEmailCode(ctx, sessionHash, s.hashEmailCode(sessionHash, code), s.now().Add(EmailCodeLifetime)); err != nil {
		return err
	}
	body := fmt.Sprintf("Your Gatehouse sign-in code is %s\r\n\r\nIt is valid for %d minutes and can be used once. If you did not try to sign in, someone knows your password: change it.\r\n",
		code, int(EmailCodeLifetime.Minutes()))
	if err := s.Mail.Send(ctx, u.Email, "Your Gatehouse sign-in code", body); err != nil {
		return fmt.Errorf("send email code: %w", err)
	}
	s.record(ctx, u, audit.CredentialChallenge, audit.Success, audit.EmailOTP, "")
	return nil
}

// VerifyEmailCode completes the email-code step. Wrong codes count like wrong
// authenticator codes (5 per sign-in); a code works once and for 10 minutes.
func (s *Service) VerifyEmailCode(ctx context.Context, token, code string) (Result, error) {
	hash := HashToken(token)
	opt := StepOptions{State: StateEmailCode, CredentialType: audit.EmailOTP}
	return s.CompleteStep(ctx, token, opt, func(ctx context.Context, _ string) error {
		if len(code) != EmailCodeDigits || !isDigits(code) {
			e := errcode.New(errcode.InvalidCode, "Enter the %d-digit code from the email.", EmailCodeDigits)
			e.Detail = map[string]any{FormatErrorMarker: true}
			return e
		}
		want, expires, err := s.Store.EmailCode(ctx, hash)
		if errors.Is(err, ErrNotFound) {
			return errcode.New(errcode.EnrollmentExpired, "The code has expired or was used. Sign in again for a new one.")
		} else if err != nil {
			return err
		}
		if !s.now().Before(expires) {
			_ = s.Store.DeleteEmailCode(ctx, hash)
			return errcode.New(errcode.EnrollmentExpired, "The code has expired. Sign in again for a new one.")
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(s.hashEmailCode(hash, code))) != 1 {
			return errcode.New(errcode.InvalidCode, "That code is not right. Check the latest email from Gatehouse.")
		}
		// Deleting is the single use: of two concurrent right answers, one
		// finds nothing left to delete.
		if err := s.Store.DeleteEmailCode(ctx, hash); errors.Is(err, ErrNotFound) {
			return errcode.New(errcode.EnrollmentExpired, "The code was already used. Sign in again for a new one.")
		} else if err != nil {
			return err
		}
		return nil
	})
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
