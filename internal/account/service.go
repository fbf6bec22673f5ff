package account

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"time"

	"gatehouse/internal/errcode"
	"gatehouse/internal/password"
	"gatehouse/internal/throttle"
)

// SecondFactor is what sign-in needs from the MFA devices.
type SecondFactor interface {
	// Methods lists the factors the user can sign in with ("totp", …).
	Methods(ctx context.Context, userID string) ([]string, error)
	// CheckTOTP verifies a sign-in code, replay-proof.
	CheckTOTP(ctx context.Context, userID, code string) error
}

// Service is the one place the sign-in rules live.
type Service struct {
	Store    Store
	Hasher   *password.Hasher
	Throttle *throttle.Limiter
	MFA      SecondFactor
	Now      func() time.Time
	Rand     io.Reader
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

// ThrottleKey matches mfa.ThrottleKey: one counter per account for every
// kind of guess.
func ThrottleKey(userID string) string { return "account:" + userID }

func invalidCredentials() error {
	return errcode.New(errcode.InvalidCredentials, "The username or password is not right.")
}

// CreateUser adds a user. With an empty password a one-time password is
// generated and returned; the user must change it at first sign-in.
func (s *Service) CreateUser(ctx context.Context, username, email string, admin bool, pw string) (User, string, error) {
	name, err := NormalizeUsername(username)
	if err != nil {
		return User{}, "", err
	}
	email, err = ValidateEmail(email)
	if err != nil {
		return User{}, "", err
	}
	oneTime := ""
	if pw == "" {
		if oneTime, err = GeneratePassword(); err != nil {
			return User{}, "", err
		}
		pw = oneTime
	} else if err := password.Validate(pw); err != nil {
		return User{}, "", errcode.New(errcode.PasswordWeak, "The password is not acceptable: %v.", err)
	}
	hash, err := s.Hasher.Hash(ctx, pw)
	if err != nil {
		return User{}, "", err
	}
	id, err := NewID(s.rand())
	if err != nil {
		return User{}, "", err
	}
	u := User{ID: id, Username: name, Email: email, Admin: admin, PasswordHash: hash, MustChangePassword: oneTime != "", CreatedAt: s.now()}
	if err := s.Store.CreateUser(ctx, u); errors.Is(err, ErrUsernameTaken) {
		return User{}, "", errcode.New(errcode.Conflict, "The username %q is taken.", name)
	} else if err != nil {
		return User{}, "", err
	}
	return u, oneTime, nil
}

// Result is where a sign-in step left the session.
type Result struct {
	// Token is the new session token; the old one no longer works.
	Token   string
	Session Session
	User    User
	Methods []string
}

// SignInPassword checks a username and password and starts a new session
// (the old one, if any, is deleted: the id rotates). Unknown users and wrong
// passwords get the same answer after the same work.
func (s *Service) SignInPassword(ctx context.Context, oldToken, username, pw string) (Result, error) {
	name, nerr := NormalizeUsername(username)
	var u User
	var err error
	if nerr == nil {
		u, err = s.Store.UserByUsername(ctx, name)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Result{}, err
		}
	}
	key := "unknown-user:" + name
	if u.ID != "" {
		key = ThrottleKey(u.ID)
	}
	if err := s.Throttle.Check(ctx, key); err != nil {
		return Result{}, err
	}
	if err := s.Hasher.Verify(ctx, pw, u.PasswordHash); err != nil {
		if errors.Is(err, password.ErrBusy) {
			e := errcode.New(errcode.Unavailable, "The server is busy. Try again in a moment.")
			e.RetryAfterSeconds = 1
			return Result{}, e
		}
		if wait, ferr := s.Throttle.Fail(ctx, key); ferr != nil {
			return Result{}, ferr
		} else if wait > 0 {
			return Result{}, throttle.LockedError(wait)
		}
		return Result{}, invalidCredentials()
	}
	if u.Disabled {
		return Result{}, errcode.New(errcode.NotAllowed, "Your account is disabled. Contact your administrator.")
	}
	methods, err := s.MFA.Methods(ctx, u.ID)
	if err != nil {
		return Result{}, err
	}
	state := s.afterPassword(u, methods)
	if state == StateAuthenticated {
		// The password alone completed sign-in: forget earlier failures.
		_ = s.Throttle.Reset(ctx, key)
	}
	if oldToken != "" {
		_ = s.Store.DeleteSession(ctx, HashToken(oldToken))
	}
	token, hash, err := NewToken(s.rand())
	if err != nil {
		return Result{}, err
	}
	now := s.now()
	sess := Session{IDHash: hash, UserID: u.ID, State: state, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(lifetime(state))}
	if err := s.Store.CreateSession(ctx, sess); err != nil {
		return Result{}, err
	}
	return Result{Token: token, Session: sess, User: u, Methods: methods}, nil
}

func lifetime(st State) time.Duration {
	if st == StateAuthenticated {
		return SessionLifetime
	}
	return SignInLifetime
}

// The second factor comes before a forced password change: a one-time
// password set by an administrator must not be enough to set a new password.
func (s *Service) afterPassword(u User, methods []string) State {
	switch {
	case len(methods) > 0:
		return StateMFA
	case u.MustChangePassword:
		return StatePasswordChange
	default:
		return StateAuthenticated
	}
}

func (s *Service) session(ctx context.Context, token string) (Session, User, error) {
	if token == "" {
		return Session{}, User{}, errcode.New(errcode.Unauthenticated, "Sign in first.")
	}
	sess, err := s.Store.SessionByHash(ctx, HashToken(token), s.now())
	if errors.Is(err, ErrNotFound) {
		return Session{}, User{}, errcode.New(errcode.Unauthenticated, "Your session has ended. Sign in again.")
	} else if err != nil {
		return Session{}, User{}, err
	}
	u, err := s.Store.UserByID(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) || (err == nil && u.Disabled) {
		_ = s.Store.DeleteSession(ctx, sess.IDHash)
		return Session{}, User{}, errcode.New(errcode.Unauthenticated, "Your session has ended. Sign in again.")
	} else if err != nil {
		return Session{}, User{}, err
	}
	return sess, u, nil
}

// Lookup returns the session behind a token in whatever state it is.
func (s *Service) Lookup(ctx context.Context, token string) (Session, User, error) {
	return s.session(ctx, token)
}

// Authenticated returns the session only when sign-in is complete; otherwise
// the error says which step is missing.
func (s *Service) Authenticated(ctx context.Context, token string) (Session, User, error) {
	sess, u, err := s.session(ctx, token)
	if err != nil {
		return Session{}, User{}, err
	}
	switch sess.State {
	case StateAuthenticated:
		return sess, u, nil
	case StateMFA:
		return sess, u, errcode.New(errcode.MFARequired, "Enter the code from your authenticator app to finish signing in.")
	case StatePasswordChange:
		return sess, u, errcode.New(errcode.PasswordChangeRequired, "Choose a new password to finish signing in.")
	}
	return Session{}, User{}, errcode.New(errcode.Unauthenticated, "Sign in first.")
}

func (s *Service) rotate(ctx context.Context, sess Session, u User, state State) (Result, error) {
	token, hash, err := NewToken(s.rand())
	if err != nil {
		return Result{}, err
	}
	now := s.now()
	expires := now.Add(lifetime(state))
	if err := s.Store.RotateSession(ctx, sess.IDHash, hash, state, expires, now); errors.Is(err, ErrNotFound) {
		return Result{}, errcode.New(errcode.Unauthenticated, "Your session has ended. Sign in again.")
	} else if err != nil {
		return Result{}, err
	}
	sess.IDHash, sess.State, sess.ExpiresAt = hash, state, expires
	return Result{Token: token, Session: sess, User: u}, nil
}

// VerifyTOTP completes the MFA step with an authenticator code.
func (s *Service) VerifyTOTP(ctx context.Context, token, code string) (Result, error) {
	return s.CompleteMFA(ctx, token, func(ctx context.Context, userID string) error {
		return s.MFA.CheckTOTP(ctx, userID, code)
	})
}

// CompleteMFA runs check, which verifies one second factor of the session's
// user (an authenticator code, a security key's assertion, …), and on
// success moves the session past the MFA step with a new id. Every kind of
// second factor goes through here, so each gets the same limits: a wrong
// answer (errcode invalid_code or code_reused) counts against the challenge
// (ChallengeAttempts, then start over from the password) and against the
// account's throttle; a malformed answer (Detail "format") counts for neither.
func (s *Service) CompleteMFA(ctx context.Context, token string, check func(ctx context.Context, userID string) error) (Result, error) {
	sess, u, err := s.session(ctx, token)
	if err != nil {
		return Result{}, err
	}
	if sess.State != StateMFA {
		return Result{}, errcode.New(errcode.NotAllowed, "No second factor is expected now.")
	}
	key := ThrottleKey(u.ID)
	if err := s.Throttle.Check(ctx, key); err != nil {
		return Result{}, err
	}
	if err := check(ctx, u.ID); err != nil {
		e := errcode.As(err)
		if e == nil || (e.Code != errcode.InvalidCode && e.Code != errcode.CodeReused) || isFormatError(e) {
			return Result{}, err
		}
		n, ferr := s.Store.AddChallengeFailure(ctx, sess.IDHash)
		if ferr != nil {
			return Result{}, ferr
		}
		wait, ferr := s.Throttle.Fail(ctx, key)
		if ferr != nil {
			return Result{}, ferr
		}
		// The challenge ends before any lock is reported: otherwise the lock
		// that starts on the same failure would keep this challenge alive.
		if n >= ChallengeAttempts {
			if derr := s.Store.DeleteSession(ctx, sess.IDHash); derr != nil {
				return Result{}, derr
			}
			e := errcode.New(errcode.RateLimited, "Too many wrong answers. Sign in again.")
			e.RetryAfterSeconds = int(wait.Seconds())
			return Result{}, e
		}
		if wait > 0 {
			return Result{}, throttle.LockedError(wait)
		}
		return Result{}, err
	}
	_ = s.Throttle.Reset(ctx, key)
	next := StateAuthenticated
	if u.MustChangePassword {
		next = StatePasswordChange
	}
	return s.rotate(ctx, sess, u, next)
}

// FormatErrorMarker is set in Detail of code-format errors so sign-in can
// tell a typo from a guess without parsing messages.
const FormatErrorMarker = "format"

func isFormatError(e *errcode.Error) bool {
	_, ok := e.Detail[FormatErrorMarker]
	return ok
}

// ChangePassword sets a new password in the password-change step, or for a
// signed-in user who proves they know the current one (a stolen session
// cookie alone must not be able to take the account), signs the user out
// everywhere else and rotates the session.
func (s *Service) ChangePassword(ctx context.Context, token, currentPassword, newPassword string) (Result, error) {
	sess, u, err := s.session(ctx, token)
	if err != nil {
		return Result{}, err
	}
	switch sess.State {
	case StatePasswordChange:
	case StateAuthenticated:
		key := ThrottleKey(u.ID)
		if err := s.Throttle.Check(ctx, key); err != nil {
			return Result{}, err
		}
		if err := s.Hasher.Verify(ctx, currentPassword, u.PasswordHash); err != nil {
			if wait, ferr := s.Throttle.Fail(ctx, key); ferr != nil {
				return Result{}, ferr
			} else if wait > 0 {
				return Result{}, throttle.LockedError(wait)
			}
			return Result{}, errcode.New(errcode.InvalidCredentials, "The current password is not right.")
		}
	default:
		return Result{}, errcode.New(errcode.NotAllowed, "Finish signing in first.")
	}
	if err := password.Validate(newPassword); err != nil {
		return Result{}, errcode.New(errcode.PasswordWeak, "Choose another password: %v.", err)
	}
	if s.Hasher.Verify(ctx, newPassword, u.PasswordHash) == nil {
		return Result{}, errcode.New(errcode.PasswordWeak, "Choose a password different from the one-time password.")
	}
	hash, err := s.Hasher.Hash(ctx, newPassword)
	if err != nil {
		return Result{}, err
	}
	if err := s.Store.SetPassword(ctx, u.ID, hash, false); err != nil {
		return Result{}, err
	}
	u.MustChangePassword, u.PasswordHash = false, hash
	if err := s.Store.DeleteUserSessions(ctx, u.ID, sess.IDHash); err != nil {
		return Result{}, err
	}
	return s.rotate(ctx, sess, u, StateAuthenticated)
}

// SignOut ends a session.
func (s *Service) SignOut(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return s.Store.DeleteSession(ctx, HashToken(token))
}

// ListUsers returns every user.
func (s *Service) ListUsers(ctx context.Context) ([]User, error) { return s.Store.ListUsers(ctx) }
