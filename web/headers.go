package web

import (
	"net/http"
	"strings"
)

// HTTP hardening around every route: security headers on every answer,
// cross-origin request refusal (CSRF) for every unsafe method, and a cap
// on request bodies. Per-route limits (a submission's MaxBody, a login
// form's 4 KiB) are tighter still; the server's read, write and idle
// timeouts are set in Run.

// maxRequestBody caps any request body before a handler sees it, but the
// form upload's (maxUploadRequest).
const maxRequestBody = 1 << 20

// maxUploadRequest caps the body of POST /console/upload: a form file of
// up to maxUpload and the multipart framing around it.
const maxUploadRequest = maxUpload + 64<<10

// limitBody is http.MaxBytesHandler with the upload route's larger cap.
func limitBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int64(maxRequestBody)
		if r.Method == http.MethodPost && r.URL.Path == "/console/upload" {
			n = maxUploadRequest
		}
		r2 := *r
		r2.Body = http.MaxBytesReader(w, r.Body, n)
		h.ServeHTTP(w, &r2)
	})
}

// harden wraps the route table.
func (s *Server) harden(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, http.StatusForbidden, "cross_origin", "cross-origin request refused", "")
	}))
	h = cop.Handler(h)
	h = limitBody(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The values are shared, never changed slices (net/http copies
		// a response's header when it writes it): set on every request,
		// they cost no allocation.
		hd := w.Header()
		// Pages set their own CSP (pageCSP); this one covers every other
		// answer: CSV, assets, errors, and for the JSON APIs the
		// strictest one, under which nothing would load or run if a
		// browser were made to show an answer as a document.
		//
		// The JSON APIs' answers carry the set OWASP's REST Security
		// Cheat Sheet lists for APIs; Referrer-Policy and
		// Cross-Origin-Opener-Policy govern what a document does (the
		// requests it makes, the windows it opens), and an API answer is
		// never one, so they are left to the pages.
		if isAPI(r.URL.Path) {
			hd["Content-Security-Policy"] = apiCSPValue
		} else {
			hd["Content-Security-Policy"] = pageCSPValue
			hd["Referrer-Policy"] = sameOriginValue
			hd["Cross-Origin-Opener-Policy"] = sameOriginValue
		}
		hd["X-Content-Type-Options"] = nosniffValue
		hd["X-Frame-Options"] = denyValue
		if s.tls {
			hd["Strict-Transport-Security"] = hstsValue
		}
		h.ServeHTTP(w, r)
	})
}

// apiCSP is the Content-Security-Policy of the JSON APIs' answers.
const apiCSP = "default-src 'none'; frame-ancestors 'none'"

var (
	apiCSPValue     = []string{apiCSP}
	pageCSPValue    = []string{pageCSP}
	nosniffValue    = []string{"nosniff"}
	denyValue       = []string{"DENY"}
	sameOriginValue = []string{"same-origin"}
	hstsValue       = []string{"max-age=31536000"}
	jsonTypeValue   = []string{"application/json; charset=utf-8"}
	noStoreValue    = []string{"no-store"}
)

// isAPI reports whether path is under one of the JSON APIs.
func isAPI(path string) bool {
	return strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/open/v1/")
}
