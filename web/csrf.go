package web

import (
	"crypto/subtle"
	"errors"
	"net/http"

	"github.com/govsurvey/govsurvey/security"
)

// A per-session CSRF token, checked on every unsafe staff request made
// with a session cookie, besides http.CrossOriginProtection (headers.go):
// that refusal trusts the browser's Sec-Fetch-Site and Origin headers, and
// the token still holds where a browser or a proxy drops them. The token
// is derived from the session id with the installation's pseudonym key,
// so every node sharing the database computes the same one and nothing is
// stored; a page gets it in .CSRF (consoleData) and sends it as the form
// field "csrf" or, from a script, the X-CSRF-Token header. A request with
// an API token carries no cookie a third-party page could ride on and is
// not checked.

const (
	csrfField  = "csrf"
	csrfHeader = "X-CSRF-Token"
	// purposeCSRF keys the token apart from every other pseudonym.
	purposeCSRF security.Purpose = "csrf"
)

// csrfToken is the token of the request's session, "" without one.
func (s *Server) csrfToken(r *http.Request) string {
	c, err := r.Cookie(s.sessionCookie())
	if err != nil || c.Value == "" {
		return ""
	}
	return security.Pseudonym(s.pseudonymKey, purposeCSRF, c.Value)
}

// checkCSRF answers 403 and returns false when an unsafe request made
// with a session lacks the session's token.
func (s *Server) checkCSRF(w http.ResponseWriter, r *http.Request, p security.Principal) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	if p.Token != nil {
		return true
	}
	want := s.csrfToken(r)
	got := r.Header.Get(csrfHeader)
	if got == "" {
		// Reading the field parses the body; one past the request limit
		// is too large, not forged.
		var tooBig *http.MaxBytesError
		if err := r.ParseMultipartForm(maxRequestBody); errors.As(err, &tooBig) {
			s.writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the request is too large", "")
			return false
		}
		got = r.PostFormValue(csrfField)
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		s.writeError(w, http.StatusForbidden, "csrf", "the form has expired or came from another page: reload it and try again", "")
		return false
	}
	return true
}
