// Package admin holds what administrators do to other people's accounts:
// find users, create them, change their email or administrator flag,
// disable and enable them, reset their password or their MFA, and manage
// their MFA devices — with the rules that keep an installation governable
// (there is always an enabled administrator) and the audit event of every
// change, written in the transaction that makes it. It knows nothing of HTTP
// or SQL: the store it needs is the small interface below.
package admin

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"gatehouse/internal/account"
	"gatehouse/internal/audit"
	"gatehouse/internal/errcode"
	"gatehouse/internal/mfa"
	"gatehouse/internal/policy"
)

// Paging limits.
const (
	// DefaultPageSize rows fill a screen without scrolling for long.
	DefaultPageSize = 50
	// MaxPageSize bounds the work and the answer of one request.
	MaxPageSize = 200
	// QueryMaxLength is the longest search text: an email address.
	QueryMaxLength = account.EmailMaxLength
)

// ErrLastAdmin is returned by a Store when a change would leave no enabled
// administrator.
var ErrLastAdmin = errors.New("admin: last enabled administrator")

// UserSummary is a user as the console lists them.
type UserSummary struct {
	account.User
	// Devices counts the user's active MFA devices.
	Devices int
}

// UserPage is one page of a user search.
type UserPage struct {
	Users    []UserSummary
	Query    string
	Page     int
	PageSize int
	Total    int
}

// Pages is the number of pages (at least 1, so page 1 of nothing is valid).
func (p UserPage) Pages() int { return pages(p.Total, p.PageSize) }

func pages(total, size int) int {
	if total == 0 || size <= 0 {
		return 1
	}
	return (total + size - 1) / size
}

// UserChange is a partial update; nil fields stay as they are.
type UserChange struct {
	Email *string
	Admin *bool
}

// Store is what the administrators' service needs from storage. Each method
// is one transaction, which also writes the audit events attached to ctx.
type Store interface {
	// SearchUsers returns users whose username or email contains query
	// (ignoring case; empty matches everyone), by username, and the total.
	SearchUsers(ctx context.Context, query string, limit, offset int) ([]UserSummary, int, error)
	// UserByID returns a user; account.ErrNotFound when there is none.
	UserByID(ctx context.Context, id string) (account.User, error)
	// InsertUser adds a user; account.ErrUsernameTaken.
	InsertUser(ctx context.Context, u account.User) error
	// UpdateUser applies ch; ErrLastAdmin when it would demote the last
	// enabled administrator (checked atomically), account.ErrNotFound.
	UpdateUser(ctx context.Context, id string, ch UserChange) (account.User, error)
	// SetDisabled disables or enables a user. Disabling also ends their
	// sessions and forgets their trusted browsers; ErrLastAdmin when it
	// would disable the last enabled administrator (checked atomically).
	SetDisabled(ctx context.Context, id string, disabled bool) (account.User, error)
	// SetOneTimePassword stores a password hash that must be changed at
	// the next sign-in, and ends the user's sessions and trusted browsers.
	SetOneTimePassword(ctx context.Context, id, hash string) error
	// ResetMFA removes every MFA device of the user (of every type, pending
	// or active), their sessions and trusted browsers, and returns how many
	// active devices there were.
	ResetMFA(ctx context.Context, id string) (int, error)
	// ListTrustedBrowsers returns the user's unexpired trusted browsers.
	ListTrustedBrowsers(ctx context.Context, userID string, now time.Time) ([]account.TrustedBrowser, error)
	// DeleteTrustedBrowser forgets one; account.ErrNotFound when it is not
	// the user's.
	DeleteTrustedBrowser(ctx context.Context, userID, id string) error
	// RecordEvents writes events with no change behind them (a refusal).
	RecordEvents(ctx context.Context, events ...audit.Event) error
}

// Hasher hashes passwords (password.Hasher).
type Hasher interface {
	Hash(ctx context.Context, pw string) (string, error)
}

// PolicySource gives the administrator's MFA settings (policy.Service).
type PolicySource interface {
	MFA(ctx context.Context) (policy.MFA, error)
}

// Service is the one place the administrators' rules live; the console's
// pages, its JSON API and the command line all call it.
type Service struct {
	Store Store
	// MFA manages the devices; its rules (names, limits, codes) hold for
	// administrators too.
	MFA *mfa.Service
	// Policy decides which device types may be registered; nil means the
	// defaults.
	Policy PolicySource
	Hasher Hasher
	Now    func() time.Time
	Rand   io.Reader
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

// Users returns a page of the users matching query.
func (s *Service) Users(ctx context.Context, query string, page, size int) (UserPage, error) {
	query = strings.TrimSpace(query)
	if utf8.RuneCountInString(query) > QueryMaxLength {
		return UserPage{}, errcode.New(errcode.InvalidInput, "The search text has at most %d characters.", QueryMaxLength)
	}
	if err := checkPaging(page, size); err != nil {
		return UserPage{}, err
	}
	users, total, err := s.Store.SearchUsers(ctx, query, size, (page-1)*size)
	if err != nil {
		return UserPage{}, err
	}
	p := UserPage{Users: users, Query: query, Page: page, PageSize: size, Total: total}
	if page > p.Pages() {
		return UserPage{}, pastLastPage(page, p.Pages())
	}
	return p, nil
}

func checkPaging(page, size int) error {
	if page < 1 {
		return errcode.New(errcode.InvalidInput, "page must be a whole number from 1.")
	}
	if size < 1 || size > MaxPageSize {
		return errcode.New(errcode.InvalidInput, "page_size must be a whole number from 1 to %d.", MaxPageSize)
	}
	return nil
}

func pastLastPage(page, last int) error {
	e := errcode.New(errcode.InvalidInput, "page %d is past the last page (%d).", page, last)
	e.Detail = map[string]any{"last_page": last}
	return e
}

func userNotFound() error { return errcode.New(errcode.NotFound, "No such user.") }

// User returns one user.
func (s *Service) User(ctx context.Context, id string) (account.User, error) {
	u, err := s.Store.UserByID(ctx, id)
	if errors.Is(err, account.ErrNotFound) {
		return account.User{}, userNotFound()
	}
	return u, err
}

// event starts an event about target.
func (s *Service) event(ctx context.Context, name string, target account.User) audit.Event {
	ev := audit.New(ctx, name, audit.Success)
	ev.Time, ev.TargetUserID, ev.TargetUsername = s.now(), target.ID, target.Username
	return ev
}

// refused records that an administrator's action was refused for a reason
// the caller may see (the last administrator, a wrong code), and returns
// err. Unexpected errors and plain bad input are not audit events.
func (s *Service) refused(ctx context.Context, ev audit.Event, err error) error {
	e := errcode.As(err)
	if e == nil || e.Code == errcode.InvalidInput || e.Code == errcode.NameInvalid || e.Code == errcode.NotFound {
		return err
	}
	ev.Result, ev.Detail = audit.Failure, e.Code
	_ = s.Store.RecordEvents(ctx, ev)
	return err
}

// CreateUser adds a user with a generated one-time password, which it
// returns: the only time anyone sees it. The user chooses their own
// password at first sign-in.
func (s *Service) CreateUser(ctx context.Context, username, email string, isAdmin bool) (account.User, string, error) {
	name, err := account.NormalizeUsername(username)
	if err != nil {
		return account.User{}, "", err
	}
	email, err = account.ValidateEmail(email)
	if err != nil {
		return account.User{}, "", err
	}
	pw, hash, err := s.oneTimePassword(ctx)
	if err != nil {
		return account.User{}, "", err
	}
	id, err := account.NewID(s.rand())
	if err != nil {
		return account.User{}, "", err
	}
	u := account.User{ID: id, Username: name, Email: email, Admin: isAdmin, PasswordHash: hash, MustChangePassword: true, CreatedAt: s.now()}
	ev := s.event(ctx, audit.CreateUser, u)
	if isAdmin {
		ev.Detail = "admin=true"
	}
	if err := s.Store.InsertUser(audit.Attach(ctx, ev), u); errors.Is(err, account.ErrUsernameTaken) {
		return account.User{}, "", errcode.New(errcode.Conflict, "The username %q is taken.", name)
	} else if err != nil {
		return account.User{}, "", err
	}
	return u, pw, nil
}

func (s *Service) oneTimePassword(ctx context.Context) (pw, hash string, err error) {
	if pw, err = account.GeneratePassword(); err != nil {
		return "", "", err
	}
	if hash, err = s.Hasher.Hash(ctx, pw); err != nil {
		return "", "", err
	}
	return pw, hash, nil
}

func lastAdmin(what string) error {
	return errcode.New(errcode.Conflict, "This is the only enabled administrator: make another user an administrator before you %s this one.", what)
}

// UpdateUser changes a user's email address or administrator flag.
func (s *Service) UpdateUser(ctx context.Context, id string, ch UserChange) (account.User, error) {
	u, err := s.User(ctx, id)
	if err != nil {
		return account.User{}, err
	}
	if ch.Email != nil {
		e, err := account.ValidateEmail(*ch.Email)
		if err != nil {
			return account.User{}, err
		}
		ch.Email = &e
	}
	ev := s.event(ctx, audit.UpdateUser, u)
	var changed []string
	if ch.Email != nil && *ch.Email != u.Email {
		changed = append(changed, "email")
	}
	if ch.Admin != nil && *ch.Admin != u.Admin {
		changed = append(changed, map[bool]string{true: "admin=true", false: "admin=false"}[*ch.Admin])
	}
	if len(changed) == 0 {
		return u, nil
	}
	ev.Detail = strings.Join(changed, " ")
	out, err := s.Store.UpdateUser(audit.Attach(ctx, ev), id, ch)
	switch {
	case errors.Is(err, ErrLastAdmin):
		return account.User{}, s.refused(ctx, ev, lastAdmin("demote"))
	case errors.Is(err, account.ErrNotFound):
		return account.User{}, userNotFound()
	}
	return out, err
}

// Disable stops a user from signing in and ends their sessions and trusted
// browsers. An administrator cannot disable their own account (nobody could
// then undo it from that seat), nor the last enabled administrator.
func (s *Service) Disable(ctx context.Context, id string) (account.User, error) {
	u, err := s.User(ctx, id)
	if err != nil {
		return account.User{}, err
	}
	ev := s.event(ctx, audit.DisableUser, u)
	if audit.RequestFrom(ctx).ActorID == u.ID {
		return account.User{}, s.refused(ctx, ev, errcode.New(errcode.Conflict, "You cannot disable your own account."))
	}
	out, err := s.Store.SetDisabled(audit.Attach(ctx, ev), id, true)
	switch {
	case errors.Is(err, ErrLastAdmin):
		return account.User{}, s.refused(ctx, ev, lastAdmin("disable"))
	case errors.Is(err, account.ErrNotFound):
		return account.User{}, userNotFound()
	}
	return out, err
}

// Enable lets a disabled user sign in again.
func (s *Service) Enable(ctx context.Context, id string) (account.User, error) {
	u, err := s.User(ctx, id)
	if err != nil {
		return account.User{}, err
	}
	out, err := s.Store.SetDisabled(audit.Attach(ctx, s.event(ctx, audit.EnableUser, u)), id, false)
	if errors.Is(err, account.ErrNotFound) {
		return account.User{}, userNotFound()
	}
	return out, err
}

// ResetPassword gives the user a new one-time password, which it returns
// (the only time anyone sees it), and signs them out everywhere: whoever
// knew the old password keeps nothing.
func (s *Service) ResetPassword(ctx context.Context, id string) (string, error) {
	u, err := s.User(ctx, id)
	if err != nil {
		return "", err
	}
	pw, hash, err := s.oneTimePassword(ctx)
	if err != nil {
		return "", err
	}
	err = s.Store.SetOneTimePassword(audit.Attach(ctx, s.event(ctx, audit.ResetPassword, u)), id, hash)
	if errors.Is(err, account.ErrNotFound) {
		return "", userNotFound()
	}
	return pw, err
}

// ResetMFA removes every MFA device of the user, of every type, and ends
// their sessions and trusted browsers (DESIGN §6); at the next sign-in the
// policy sends them to register a device again. It returns how many active
// devices were removed.
func (s *Service) ResetMFA(ctx context.Context, id string) (int, error) {
	u, err := s.User(ctx, id)
	if err != nil {
		return 0, err
	}
	n, err := s.Store.ResetMFA(audit.Attach(ctx, s.event(ctx, audit.ResetMfa, u)), id)
	if errors.Is(err, account.ErrNotFound) {
		return 0, userNotFound()
	}
	return n, err
}

// TrustedBrowsers lists the browsers the user marked "This is a trusted
// device" that still skip the MFA step.
func (s *Service) TrustedBrowsers(ctx context.Context, userID string) ([]account.TrustedBrowser, error) {
	if _, err := s.User(ctx, userID); err != nil {
		return nil, err
	}
	return s.Store.ListTrustedBrowsers(ctx, userID, s.now())
}

// RevokeTrustedBrowser makes one of the user's trusted browsers ask for MFA
// again at its next sign-in.
func (s *Service) RevokeTrustedBrowser(ctx context.Context, userID, id string) error {
	u, err := s.User(ctx, userID)
	if err != nil {
		return err
	}
	ev := s.event(ctx, audit.UpdateUser, u)
	ev.Detail = "trusted browser revoked"
	if err := s.Store.DeleteTrustedBrowser(audit.Attach(ctx, ev), userID, id); errors.Is(err, account.ErrNotFound) {
		return errcode.New(errcode.NotFound, "This user has no such trusted browser.")
	} else if err != nil {
		return err
	}
	return nil
}
