package account

import (
	"context"
	"time"

	"gatehouse/internal/errcode"
)

// Session timeouts (DESIGN §3, issue 6): a forgotten browser is signed out
// after an idle hour, and every session ends 12 hours after sign-in, so a
// stolen cookie is worth a working day at most.
const (
	// SessionIdleTimeout ends a signed-in session after an hour without a
	// request.
	SessionIdleTimeout = time.Hour
	// LastSeenInterval: last_seen_at is written at most once a minute (or a
	// quarter of the idle timeout, when that is shorter), so reading pages
	// does not turn into a database write per request, while a session in
	// use is always recorded well before it could count as idle.
	LastSeenInterval = time.Minute
)

func (s *Service) idleTimeout() time.Duration {
	if s.IdleTimeout > 0 {
		return s.IdleTimeout
	}
	return SessionIdleTimeout
}

func (s *Service) lifetime(st State) time.Duration {
	if st != StateAuthenticated {
		return SignInLifetime
	}
	if s.Lifetime > 0 {
		return s.Lifetime
	}
	return SessionLifetime
}

// keepAlive ends a signed-in session that has been idle too long, and
// otherwise records that it was seen (at most once per LastSeenInterval).
// Half-finished sign-ins have their own short lifetime instead.
func (s *Service) keepAlive(ctx context.Context, sess *Session) error {
	if sess.State != StateAuthenticated {
		return nil
	}
	now := s.now()
	idle := now.Sub(sess.LastSeenAt)
	if idle >= s.idleTimeout() {
		_ = s.Store.DeleteSession(ctx, sess.IDHash)
		return errcode.New(errcode.Unauthenticated, "You were signed out after %s without activity. Sign in again.", humanDuration(s.idleTimeout()))
	}
	if idle >= min(LastSeenInterval, s.idleTimeout()/4) {
		if err := s.Store.TouchSession(ctx, sess.IDHash, now); err != nil {
			return err
		}
		sess.LastSeenAt = now
	}
	return nil
}

func humanDuration(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "an hour"
	case d%time.Hour == 0:
		return itoa(int(d/time.Hour)) + " hours"
	case d%time.Minute == 0 && d > time.Minute:
		return itoa(int(d/time.Minute)) + " minutes"
	}
	return d.String()
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// SignOutEverywhere ends every session of the token's user, this one
// included: the answer to "I signed in somewhere I should not have".
func (s *Service) SignOutEverywhere(ctx context.Context, token string) error {
	sess, u, err := s.session(ctx, token)
	if err != nil {
		return err
	}
	if sess.State != StateAuthenticated {
		return errcode.New(errcode.NotAllowed, "Finish signing in first.")
	}
	return s.Store.DeleteUserSessions(ctx, u.ID, "")
}
