package account

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"time"

	"gatehouse/internal/audit"
	"gatehouse/internal/errcode"
	"gatehouse/internal/password"
	"gatehouse/internal/policy"
	"gatehouse/internal/throttle"
)

// SecondFactor is what sign-in needs from the MFA devices.
type SecondFactor interface {
	// Methods lists the factors the user can sign in with ("totp", …).
	Methods(ctx context.Context, userID string) ([]string, error)
	// CheckTOTP verifies a sign-in code, replay-proof.
	CheckTOTP(ctx context.Context, userID, code string) error
	// ReadAheadTOTP says, inside the step's transaction, that CheckTOTP
	// comes next, so the store may fetch what it reads ahead of it.
	ReadAheadTOTP(ctx context.Context, userID string)
}

// PolicySource gives the administrator's MFA settings.
type PolicySource interface {
	MFA(ctx context.Context) (policy.MFA, error)
}

// Mailer sends a message (email one-time codes).
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// Service is the one place the sign-in rules live.
type Service struct {
	Store    Store
	Hasher   *password.Hasher
	Throttle *throttle.Limiter
	MFA      SecondFactor
	Policy   PolicySource
	Mail     Mailer
	// CodeKey keys the hash of email codes: a 6-digit code's plain hash
	// would fall to a million guesses by anyone holding a database copy.
	CodeKey []byte
	Now     func() time.Time
	Rand    io.Reader
	// IdleTimeout and Lifetime end a signed-in session after that long
	// without a request, and that long after sign-in in any case; zero
	// means SessionIdleTimeout and SessionLifetime (sessions.go).
	IdleTimeout time.Duration
	Lifetime    time.Duration
}

// Client is what sign-in knows of the browser or script.
type Client struct {
	IP        string
	UserAgent string
	// TrustToken is the "trusted device" cookie, if the browser sent one.
	TrustToken string
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
	ev := audit.New(ctx, audit.CreateUser, audit.Success)
	ev.Time, ev.TargetUserID, ev.TargetUsername = u.CreatedAt, u.ID, u.Username
	if admin {
		ev.Detail = "admin=true"
	}
	if err := s.Store.CreateUser(audit.Attach(ctx, ev), u); errors.Is(err, ErrUsernameTaken) {
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
	// TrustToken, when set, is a new "trusted device" token for the cookie.
	TrustToken string
}

func (s *Service) policy(ctx context.Context) (policy.MFA, error) {
	if s.Policy == nil {
		return policy.Default(), nil
	}
	return s.Policy.MFA(ctx)
}

// allowedMethods is the user's second factors that the policy lets them use.
func (s *Service) allowedMethods(ctx context.Context, u User, pol policy.MFA) ([]string, error) {
	all, err := s.MFA.Methods(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range all {
		if pol.Allows(m) {
			out = append(out, m)
		}
	}
	return out, nil
}

func (s *Service) record(ctx context.Context, u User, name, result, credType, detail string) {
	_ = s.Store.RecordEvents(ctx, s.event(ctx, u, name, result, credType, detail))
}

// event describes something that happened to u in this request.
func (s *Service) event(ctx context.Context, u User, name, result, credType, detail string) audit.Event {
	ev := audit.New(ctx, name, result)
	ev.Time, ev.TargetUserID, ev.TargetUsername, ev.CredentialType, ev.Detail = s.now(), u.ID, u.Username, credType, detail
	if r := audit.RequestFrom(ctx); r.ActorID == "" && r.ActorName == "" {
		// Before sign-in nobody is proven: only a success shows the user
		// acting; a failure is an anonymous attempt at their account.
		ev.ActorID, ev.ActorName = "", "anonymous"
		if result == audit.Success {
			ev.ActorID, ev.ActorName = u.ID, u.Username
		}
	}
	return ev
}

// SignInPassword checks a username and password and starts a new session
// (the old one, if any, is deleted: the id rotates). Unknown users and wrong
// passwords get the same answer after the same work. What comes next follows
// the administrator's policy: a second factor, a trusted browser that skips
// it, registering a first device, an email code, a refusal, or nothing.
func (s *Service) SignInPassword(ctx context.Context, oldToken, username, pw string, c Client) (Result, error) {
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
	// The guess is claimed (counted) before the hash: concurrent wrong
	// passwords cannot all pass one check (throttle.Limiter.Begin).
	attempt, err := s.Throttle.Begin(ctx, key)
	if err != nil {
		return Result{}, err
	}
	// Whatever ends this step other than a wrong password (the right one,
	// a busy server, an error) takes the guess back.
	defer func() { _ = attempt.Refund(context.WithoutCancel(ctx)) }()
	if err := s.Hasher.Verify(ctx, pw, u.PasswordHash); err != nil {
		if errors.Is(err, password.ErrBusy) {
			e := errcode.New(errcode.Unavailable, "The server is busy. Try again in a moment.")
			e.RetryAfterSeconds = 1
			return Result{}, e
		}
		if err := attempt.Failed(ctx); err != nil {
			return Result{}, err
		}
		if u.ID != "" {
			s.record(ctx, u, audit.CredentialVerification, audit.Failure, audit.Password, "")
		} else {
			// Guesses at names that do not exist are worth seeing, but not
			// what was typed: people type passwords into the username field.
			s.record(ctx, User{}, audit.CredentialVerification, audit.Failure, audit.Password, "unknown user")
		}
		if wait := attempt.Wait(); wait > 0 {
			if u.ID != "" {
				s.record(ctx, u, audit.ThrottleLock, audit.Failure, audit.Password, "locked for "+wait.String())
			}
			return Result{}, throttle.LockedError(wait)
		}
		return Result{}, invalidCredentials()
	}
	if u.Disabled {
		s.record(ctx, u, audit.UserAuthentication, audit.Failure, audit.Password, "account disabled")
		return Result{}, errcode.New(errcode.NotAllowed, "Your account is disabled. Contact your administrator.")
	}
	s.record(ctx, u, audit.CredentialVerification, audit.Success, audit.Password, "")
	pol, err := s.policy(ctx)
	if err != nil {
		return Result{}, err
	}
	methods, err := s.allowedMethods(ctx, u, pol)
	if err != nil {
		return Result{}, err
	}
	state, err := s.afterPassword(ctx, u, pol, methods, c)
	if err != nil {
		return Result{}, err
	}
	if state == StateAuthenticated || state == StatePasswordChange && pol.PromptMode == policy.Disabled {
		// The password alone completed sign-in: forget earlier failures.
		_ = attempt.Succeeded(ctx)
	}
	if oldToken != "" {
		_ = s.Store.DeleteSession(ctx, HashToken(oldToken))
	}
	token, hash, err := NewToken(s.rand())
	if err != nil {
		return Result{}, err
	}
	now := s.now()
	sess := Session{IDHash: hash, UserID: u.ID, State: state, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.lifetime(state))}
	if err := s.Store.CreateSession(ctx, sess); err != nil {
		return Result{}, err
	}
	switch state {
	case StateEmailCode:
		if err := s.sendEmailCode(ctx, u, hash); err != nil {
			_ = s.Store.DeleteSession(ctx, hash)
			return Result{}, err
		}
	case StateMFA:
		s.record(ctx, u, audit.CredentialChallenge, audit.Success, "", "methods="+strings.Join(methods, ","))
	case StateAuthenticated:
		s.record(ctx, u, audit.UserAuthentication, audit.Success, "", "")
	}
	return Result{Token: token, Session: sess, User: u, Methods: methods}, nil
}

// afterPassword decides the step after a correct password. The second
// factor comes before a forced password change: a one-time password set by
// an administrator must not be enough to set a new password.
func (s *Service) afterPassword(ctx context.Context, u User, pol policy.MFA, methods []string, c Client) (State, error) {
	done := StateAuthenticated
	if u.MustChangePassword {
		done = StatePasswordChange
	}
	if pol.PromptMode == policy.Disabled {
		return done, nil
	}
	if len(methods) > 0 {
		if pol.PromptMode == policy.ContextAware && s.trusted(ctx, u, c) {
			return done, nil
		}
		return StateMFA, nil
	}
	switch pol.NoDeviceBehavior {
	case policy.RequireRegistration:
		if u.MustChangePassword {
			return StatePasswordChange, nil // then registration
		}
		return StateRegistration, nil
	case policy.EmailOTP:
		if u.Email == "" {
			return "", errcode.New(errcode.NotAllowed, "Signing in needs a code sent by email, and your account has no email address. Contact your administrator.")
		}
		return StateEmailCode, nil
	case policy.Block:
		return "", errcode.New(errcode.NotAllowed, "Signing in needs an MFA device and you have none. Contact your administrator.")
	}
	return done, nil
}

// afterPasswordChange decides the step after a forced password change: a
// user who still has no device and must register one does that next.
func (s *Service) afterPasswordChange(ctx context.Context, u User) (State, error) {
	pol, err := s.policy(ctx)
	if err != nil {
		return "", err
	}
	if pol.PromptMode == policy.Disabled || pol.NoDeviceBehavior != policy.RequireRegistration {
		return StateAuthenticated, nil
	}
	methods, err := s.allowedMethods(ctx, u, pol)
	if err != nil || len(methods) > 0 {
		return StateAuthenticated, err
	}
	return StateRegistration, nil
}

func (s *Service) session(ctx context.Context, token string) (Session, User, error) {
	if token == "" {
		return Session{}, User{}, errcode.New(errcode.Unauthenticated, "Sign in first.")
	}
	sess, u, err := s.Store.SessionWithUser(ctx, HashToken(token), s.now())
	if errors.Is(err, ErrNotFound) {
		return Session{}, User{}, errcode.New(errcode.Unauthenticated, "Your session has ended. Sign in again.")
	} else if err != nil {
		return Session{}, User{}, err
	}
	if u.Disabled {
		_ = s.Store.DeleteSession(ctx, sess.IDHash)
		return Session{}, User{}, errcode.New(errcode.Unauthenticated, "Your session has ended. Sign in again.")
	}
	if err := s.keepAlive(ctx, &sess); err != nil {
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
		return sess, u, errcode.New(errcode.MFARequired, "Finish signing in with your MFA device.")
	case StatePasswordChange:
		return sess, u, errcode.New(errcode.PasswordChangeRequired, "Choose a new password to finish signing in.")
	case StateRegistration:
		return sess, u, errcode.New(errcode.RegistrationRequired, "Register an MFA device to finish signing in.")
	case StateEmailCode:
		return sess, u, errcode.New(errcode.EmailCodeRequired, "Enter the code we sent to your email address to finish signing in.")
	}
	return Session{}, User{}, errcode.New(errcode.Unauthenticated, "Sign in first.")
}

func (s *Service) rotate(ctx context.Context, sess Session, u User, state State) (Result, error) {
	token, hash, err := NewToken(s.rand())
	if err != nil {
		return Result{}, err
	}
	now := s.now()
	expires := now.Add(s.lifetime(state))
	if err := s.Store.RotateSession(ctx, sess.IDHash, hash, state, expires, now); errors.Is(err, ErrNotFound) {
		return Result{}, errcode.New(errcode.Unauthenticated, "Your session has ended. Sign in again.")
	} else if err != nil {
		return Result{}, err
	}
	sess.IDHash, sess.State, sess.ExpiresAt = hash, state, expires
	return Result{Token: token, Session: sess, User: u}, nil
}

// VerifyTOTP completes the MFA step with an authenticator code.
func (s *Service) VerifyTOTP(ctx context.Context, token, code string, opt StepOptions) (Result, error) {
	opt.CredentialType = audit.TOTP
	opt.readAhead = s.MFA.ReadAheadTOTP
	return s.CompleteStep(ctx, token, opt, func(ctx context.Context, userID string) error {
		return s.MFA.CheckTOTP(ctx, userID, code)
	})
}

// StepOptions tune how a second-factor step completes.
type StepOptions struct {
	// Trust asks to remember this browser (honoured only in the
	// context-aware prompt mode).
	Trust  bool
	Client Client
	// CredentialType names the factor in the audit trail (audit.TOTP, …).
	CredentialType string
	// State is the step being completed: StateMFA unless set.
	State State
	// readAhead, if set, runs in the step's transaction before the
	// account's throttle is held, to say what the check will read: on
	// PostgreSQL that read then shares the hold's round trip.
	readAhead func(ctx context.Context, userID string)
}

// CompleteMFA runs check, which verifies one second factor of the session's
// user (an authenticator code, a security key's assertion, …), and on
// success moves the session past the MFA step with a new id.
func (s *Service) CompleteMFA(ctx context.Context, token string, check func(ctx context.Context, userID string) error) (Result, error) {
	return s.CompleteStep(ctx, token, StepOptions{}, check)
}

// CompleteStep is CompleteMFA with options. Every kind of second factor goes
// through here, so each gets the same limits: a wrong answer (errcode
// invalid_code or code_reused) counts against the challenge
// (ChallengeAttempts, then start over from the password) and against the
// account's throttle; a malformed answer (Detail "format") counts for neither.
//
// The whole step is one transaction (Store.Atomically): the account's
// throttle is held first, by an advisory lock (PostgreSQL) or the database's
// single writer (SQLite), so concurrent answers for one account, on any
// number of nodes, are checked one after the other and each sees the count
// and lock the previous one left (throttle.Limiter.BeginHeld). What the check writes (the
// replay guard's compare-and-set, a used-up challenge), the session's new id
// and the audit events then commit together: one commit on the busiest path
// of sign-in instead of five.
func (s *Service) CompleteStep(ctx context.Context, token string, opt StepOptions, check func(ctx context.Context, userID string) error) (Result, error) {
	if opt.State == "" {
		opt.State = StateMFA
	}
	sess, u, err := s.session(ctx, token)
	if err != nil {
		return Result{}, err
	}
	if sess.State != opt.State {
		return Result{}, errcode.New(errcode.NotAllowed, "This step is not expected now.")
	}
	// The closure returns an error only to roll everything back (the
	// account is locked, or the database failed: then nothing was
	// counted); every answer the user gets is committed, with its
	// outcome in res and stepErr.
	var res Result
	var stepErr error
	err = s.Store.Atomically(ctx, func(ctx context.Context) error {
		if opt.readAhead != nil {
			opt.readAhead(ctx, u.ID)
		}
		attempt, err := s.Throttle.BeginHeld(ctx, ThrottleKey(u.ID))
		if err != nil {
			return err
		}
		if err := check(ctx, u.ID); err != nil {
			e := errcode.As(err)
			if e == nil {
				return err
			}
			if (e.Code != errcode.InvalidCode && e.Code != errcode.CodeReused) || isFormatError(e) {
				// No guess (malformed, expired, …): take the claim back but
				// keep what the check did, such as a used-up challenge.
				stepErr = err
				return attempt.Refund(ctx)
			}
			stepErr, err = s.wrongAnswer(ctx, sess, u, attempt, e, opt.CredentialType)
			return err
		}
		if err := attempt.Succeeded(ctx); err != nil {
			return err
		}
		res, stepErr, err = s.rightAnswer(ctx, sess, u, opt)
		return err
	})
	if err != nil {
		return Result{}, err
	}
	return res, stepErr
}

// wrongAnswer records a wrong answer, already counted by its claim, and
// returns what the user is told (stepErr), or an error to roll back.
func (s *Service) wrongAnswer(ctx context.Context, sess Session, u User, attempt *throttle.Attempt, e *errcode.Error, credType string) (stepErr, err error) {
	if err := attempt.Failed(ctx); err != nil {
		return nil, err
	}
	s.record(ctx, u, audit.CredentialVerification, audit.Failure, credType, e.Code)
	n, err := s.Store.AddChallengeFailure(ctx, sess.IDHash)
	if err != nil {
		return nil, err
	}
	wait := attempt.Wait()
	// The challenge ends before any lock is reported: otherwise the lock
	// that starts on the same failure would keep this challenge alive.
	if n >= ChallengeAttempts {
		if err := s.Store.DeleteSession(ctx, sess.IDHash); err != nil {
			return nil, err
		}
		if wait > 0 {
			s.record(ctx, u, audit.ThrottleLock, audit.Failure, credType, "locked for "+wait.String())
		}
		locked := errcode.New(errcode.RateLimited, "Too many wrong answers. Sign in again.")
		locked.RetryAfterSeconds = int(wait.Seconds())
		return locked, nil
	}
	if wait > 0 {
		s.record(ctx, u, audit.ThrottleLock, audit.Failure, credType, "locked for "+wait.String())
		return throttle.LockedError(wait), nil
	}
	return e, nil
}

// rightAnswer moves the session past the step with a new id and records the
// success. A session that ended meanwhile (signed out, rotated by another
// request) is told to the user, and the right answer stays used.
func (s *Service) rightAnswer(ctx context.Context, sess Session, u User, opt StepOptions) (res Result, stepErr, err error) {
	events := []audit.Event{s.event(ctx, u, audit.CredentialVerification, audit.Success, opt.CredentialType, "")}
	next := StateAuthenticated
	if u.MustChangePassword {
		next = StatePasswordChange
	}
	res, err = s.rotate(ctx, sess, u, next)
	if errcode.As(err) != nil {
		return Result{}, err, s.Store.RecordEvents(ctx, events...)
	} else if err != nil {
		return Result{}, nil, err
	}
	if opt.Trust && opt.State == StateMFA {
		if pol, perr := s.policy(ctx); perr == nil && pol.PromptMode == policy.ContextAware {
			tok, terr := s.trust(ctx, u, opt.Client)
			if terr != nil {
				return Result{}, nil, terr
			}
			res.TrustToken = tok
		}
	}
	if next == StateAuthenticated {
		events = append(events, s.event(ctx, u, audit.UserAuthentication, audit.Success, opt.CredentialType, ""))
	}
	return res, nil, s.Store.RecordEvents(ctx, events...)
}

// CompleteRegistration finishes a sign-in that was waiting for the user to
// register a first device, once they have one.
func (s *Service) CompleteRegistration(ctx context.Context, token string) (Result, error) {
	sess, u, err := s.session(ctx, token)
	if err != nil {
		return Result{}, err
	}
	if sess.State != StateRegistration {
		return Result{Session: sess, User: u}, nil
	}
	methods, err := s.MFA.Methods(ctx, u.ID)
	if err != nil {
		return Result{}, err
	}
	if len(methods) == 0 {
		return Result{}, errcode.New(errcode.RegistrationRequired, "Register an MFA device to finish signing in.")
	}
	res, err := s.rotate(ctx, sess, u, StateAuthenticated)
	if err == nil {
		s.record(ctx, u, audit.UserAuthentication, audit.Success, "", "first device registered")
	}
	return res, err
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
		if currentPassword == "" {
			return Result{}, errcode.New(errcode.InvalidInput, "Enter your current password (the field \"current_password\").")
		}
		attempt, err := s.Throttle.Begin(ctx, ThrottleKey(u.ID))
		if err != nil {
			return Result{}, err
		}
		defer func() { _ = attempt.Refund(context.WithoutCancel(ctx)) }()
		if err := s.Hasher.Verify(ctx, currentPassword, u.PasswordHash); err != nil {
			if errors.Is(err, password.ErrBusy) {
				return Result{}, err // not a wrong password: the web layer answers 503
			}
			if err := attempt.Failed(ctx); err != nil {
				return Result{}, err
			}
			if wait := attempt.Wait(); wait > 0 {
				s.record(ctx, u, audit.ThrottleLock, audit.Failure, audit.Password, "locked for "+wait.String())
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
		if sess.State == StatePasswordChange {
			return Result{}, errcode.New(errcode.PasswordWeak, "Choose a password different from the one-time password.")
		}
		return Result{}, errcode.New(errcode.PasswordWeak, "Choose a password different from your current one.")
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
	// A new password is a fresh start: browsers trusted under the old one
	// must prove themselves again.
	if err := s.Store.DeleteTrustedBrowsers(ctx, u.ID); err != nil {
		return Result{}, err
	}
	// The user has just proven the password (at the password step or
	// here): earlier typos no longer count.
	_ = s.Throttle.Reset(ctx, ThrottleKey(u.ID))
	s.record(ctx, u, audit.ChangePassword, audit.Success, audit.Password, "")
	next := StateAuthenticated
	if sess.State == StatePasswordChange {
		if next, err = s.afterPasswordChange(ctx, u); err != nil {
			return Result{}, err
		}
	}
	return s.rotate(ctx, sess, u, next)
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
