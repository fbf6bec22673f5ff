package web

import (
	"net"
	"net/http"

	"gatehouse/internal/account"
	"gatehouse/internal/audit"
)

// auditRequest records where every request comes from, for the audit events
// the services write: the peer's address (not a forwarded-for header, which
// any client can set) and the user agent. The actor is added once a session
// or an API token says who it is (asActor).
func auditRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := r.RemoteAddr
		if host, _, err := net.SplitHostPort(ip); err == nil {
			ip = host
		}
		ctx := audit.WithRequest(r.Context(), audit.Request{SourceIP: ip, UserAgent: r.UserAgent()})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// asActor returns r with id and name as the actor of its audit events.
func asActor(r *http.Request, id, name string) *http.Request {
	req := audit.RequestFrom(r.Context())
	req.ActorID, req.ActorName = id, name
	return r.WithContext(audit.WithRequest(r.Context(), req))
}

// asUser returns r with the signed-in user as its actor.
func asUser(r *http.Request, u account.User) *http.Request { return asActor(r, u.ID, u.Username) }
