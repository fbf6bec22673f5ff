package admin

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"gatehouse/internal/account"
	"gatehouse/internal/audit"
	"gatehouse/internal/errcode"
)

// EventStore reads the audit trail.
type EventStore interface {
	// ListEvents returns a page of matching events, newest first, and the total.
	ListEvents(ctx context.Context, f audit.Filter) ([]audit.Event, int, error)
	// ExportEvents calls fn for each matching event, oldest first (paging
	// fields of f are ignored).
	ExportEvents(ctx context.Context, f audit.Filter, fn func(audit.Event) error) error
	UserByUsername(ctx context.Context, username string) (account.User, error)
}

// Results lists the values of an event's result.
var Results = []string{audit.Success, audit.Failure}

// EventQuery is what an administrator asks of the audit trail.
type EventQuery struct {
	// User is a username or a user id: the events about that user.
	User     string
	Name     string
	Result   string
	Since    time.Time // inclusive; zero for no bound
	Until    time.Time // exclusive; zero for no bound
	Page     int
	PageSize int
}

// EventPage is one page of the audit trail.
type EventPage struct {
	Events []audit.Event
	Query  EventQuery
	Total  int
}

// Pages is the number of pages (at least 1).
func (p EventPage) Pages() int { return pages(p.Total, p.Query.PageSize) }

// Trail searches and exports the audit trail.
type Trail struct {
	Store EventStore
}

// Validate checks a query and names the accepted values of a wrong field.
func (q EventQuery) Validate() error {
	if q.Name != "" && !slices.Contains(audit.Names, q.Name) {
		return errcode.New(errcode.InvalidInput, "event %q is not one of %s.", q.Name, strings.Join(audit.Names, ", "))
	}
	if q.Result != "" && !slices.Contains(Results, q.Result) {
		return errcode.New(errcode.InvalidInput, "result %q is not one of %s.", q.Result, strings.Join(Results, ", "))
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return errcode.New(errcode.InvalidInput, "since must be before until.")
	}
	return checkPaging(q.Page, q.PageSize)
}

func (t *Trail) filter(ctx context.Context, q EventQuery) (audit.Filter, error) {
	f := audit.Filter{Name: q.Name, Result: q.Result, Since: q.Since, Until: q.Until}
	if q.User != "" {
		f.UserID = q.User
		// A username is what people type; an id is what links carry.
		if name, err := account.NormalizeUsername(q.User); err == nil {
			u, err := t.Store.UserByUsername(ctx, name)
			if err == nil {
				f.UserID = u.ID
			} else if !errors.Is(err, account.ErrNotFound) {
				return f, err
			}
		}
	}
	return f, nil
}

// Search returns a page of events matching q, newest first.
func (t *Trail) Search(ctx context.Context, q EventQuery) (EventPage, error) {
	if err := q.Validate(); err != nil {
		return EventPage{}, err
	}
	f, err := t.filter(ctx, q)
	if err != nil {
		return EventPage{}, err
	}
	f.Limit, f.Offset = q.PageSize, (q.Page-1)*q.PageSize
	events, total, err := t.Store.ListEvents(ctx, f)
	if err != nil {
		return EventPage{}, err
	}
	p := EventPage{Events: events, Query: q, Total: total}
	if q.Page > p.Pages() {
		return EventPage{}, pastLastPage(q.Page, p.Pages())
	}
	return p, nil
}

// Export calls fn for every event matching q, oldest first.
func (t *Trail) Export(ctx context.Context, q EventQuery, fn func(audit.Event) error) error {
	q.Page, q.PageSize = 1, 1
	if err := q.Validate(); err != nil {
		return err
	}
	f, err := t.filter(ctx, q)
	if err != nil {
		return err
	}
	return t.Store.ExportEvents(ctx, f, fn)
}
