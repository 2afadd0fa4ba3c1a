package web

import (
	"net/http"
)

// HTTP hardening around every route: security headers on every answer,
// cross-origin request refusal (CSRF) for every unsafe method, and a cap
// on request bodies. Per-route limits (a submission's MaxBody, a login
// form's 4 KiB) are tighter still; the server's read, write and idle
// timeouts are set in Run.

// maxRequestBody caps any request body before a handler sees it.
const maxRequestBody = 1 << 20

// harden wraps the route table.
func (s *Server) harden(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, http.StatusForbidden, "cross_origin", "cross-origin request refused", "")
	}))
	h = cop.Handler(h)
	h = http.MaxBytesHandler(h, maxRequestBody)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		// Pages set their own CSP (pageCSP); this one covers every other
		// answer: JSON, CSV, assets, errors.
		hd.Set("Content-Security-Policy", pageCSP)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		if s.tls {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	})
}
