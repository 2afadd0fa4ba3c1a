package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/govsurvey/govsurvey/security"
)

// Staff access. Every route is registered through public or staff, which
// record it in s.table: a staff route names the permission it needs, and
// authorize, the one gate, checks it before the handler runs. A request
// acts for a console session (cookie) or an API token (Authorization:
// Bearer); without either it is anonymous and a staff route answers 401,
// and with too few rights 403, as JSON. The route-table test walks
// s.table and proves it for every staff route.

// route is one entry of the route table.
type route struct {
	pattern string
	staff   bool                // needs a session or a token
	perm    security.Permission // and this permission ("" for any staff, e.g. logout)
}

// public registers a route anyone may call.
func (s *Server) public(pattern string, h http.HandlerFunc) {
	s.table = append(s.table, route{pattern: pattern})
	s.handle(pattern, h)
}

// staff registers a route that needs perm ("" : any logged-in staff).
func (s *Server) staff(pattern string, perm security.Permission, h func(http.ResponseWriter, *http.Request, security.Principal)) {
	s.table = append(s.table, route{pattern: pattern, staff: true, perm: perm})
	s.handle(pattern, s.authorize(perm, h))
}

type principalKey struct{}

// authorize is the gate of every staff route.
func (s *Server) authorize(perm security.Permission, h func(http.ResponseWriter, *http.Request, security.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.principal(r)
		switch {
		case errors.Is(err, errAnonymous):
			if wantsPage(r) {
				// A browser on a console page goes to the login page.
				http.Redirect(w, r, "/login?next="+r.URL.EscapedPath(), http.StatusSeeOther)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="govsurvey"`)
			s.writeError(w, http.StatusUnauthorized, "unauthenticated", "log in or send an API token", "")
			return
		case err != nil:
			s.fail(w, r, err)
			return
		}
		if perm != "" && !p.Can(perm) {
			s.writeError(w, http.StatusForbidden, "forbidden", "your role does not allow this ("+string(perm)+")", "")
			return
		}
		if !s.checkCSRF(w, r, p) { // csrf.go
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)), p)
	}
}

// errAnonymous: the request carries no valid session or token.
var errAnonymous = errors.New("web: anonymous")

// principal finds who a request acts for. A bad or expired token or
// session is simply anonymous: the caller learns nothing more.
func (s *Server) principal(r *http.Request) (security.Principal, error) {
	if s.accounts == nil {
		return security.Principal{}, errAnonymous
	}
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := security.BearerToken(h)
		if !ok {
			return security.Principal{}, errAnonymous
		}
		p, err := s.accounts.Token(r.Context(), tok)
		switch {
		case err == nil:
			return p, nil
		case errors.Is(err, security.ErrTokenMalformed), errors.Is(err, security.ErrTokenInvalid),
			errors.Is(err, security.ErrTokenExpired), errors.Is(err, security.ErrTokenRevoked):
			return security.Principal{}, errAnonymous
		default:
			return security.Principal{}, err
		}
	}
	c, err := r.Cookie(s.sessionCookie())
	if err != nil {
		return security.Principal{}, errAnonymous
	}
	p, err := s.accounts.Session(r.Context(), c.Value)
	if errors.Is(err, security.ErrNoSession) {
		return security.Principal{}, errAnonymous
	}
	return p, err
}

// wantsPage tells a browser loading a page from a script or a tool.
func wantsPage(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html")
}

// sessionCookie is the session cookie's name: with TLS the __Host- prefix
// makes browsers refuse it unless Secure, host-only and for path /.
func (s *Server) sessionCookie() string {
	if s.secureCookies {
		return "__Host-govsurvey_session"
	}
	return "govsurvey_session"
}

func (s *Server) setSession(w http.ResponseWriter, id string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: s.sessionCookie(), Value: id, Path: "/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: s.secureCookies, SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: s.sessionCookie(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secureCookies, SameSite: http.SameSiteLaxMode,
	})
}

// actor names the principal in the audit log: the user, and the token
// when one was used.
func actor(p security.Principal) string {
	if p.Token != nil {
		return p.User + " (token " + p.Token.Hash[:12] + ")"
	}
	return p.User
}

// audit records a staff action; it returns false, having answered 500,
// when the record could not be written: what is not audited is not done.
func (s *Server) audit(w http.ResponseWriter, r *http.Request, ev security.AuditEvent) bool {
	if _, err := s.auditLog.Record(r.Context(), ev); err != nil {
		s.fail(w, r, err)
		return false
	}
	return true
}
