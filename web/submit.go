package web

import (
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/store"
)

// The respondent API: submissions and withdrawals (CONTRACTS.md §8).

// submit serves POST /api/v1/forms/{form_id}/submissions. The rate limit
// comes first, before the body is read, so a flood costs as little as
// possible; the answer is 201 only once the response is durably stored.
func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	if !isJSONType(r.Header.Get("Content-Type")) {
		s.writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
			"the body must be JSON (Content-Type: application/json)", "")
		return
	}
	client := s.collector.ClientKey(cookieValue(r))
	if ok, wait := s.collector.Allow(s.clientAddr(r), client); !ok {
		s.tooMany(w, wait)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.writeError(w, http.StatusRequestEntityTooLarge, "too_large",
				"提交内容过大。The submission is too large (at most "+strconv.FormatInt(s.maxBody>>10, 10)+" KiB).", "")
			return
		}
		s.writeError(w, http.StatusBadRequest, "bad_request", "the body could not be read", "")
		return
	}
	sub, err := collect.DecodeSubmission(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	channel := "api"
	if r.Header.Get("X-Govsurvey-Channel") == "web" {
		channel = "web"
	}
	// Raw is kept only if the collector was told to (serve --keep-raw).
	rc, err := s.collector.Submit(r.Context(), r.PathValue("form_id"), sub, collect.Meta{
		Client: client, Agent: collect.AgentClass(r.UserAgent()), Channel: channel, Raw: body,
	})
	if err != nil && s.refuseAdmission(w, r, err) { // 403 invitations, 409 quotas: submit_admission.go
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if rc.Created {
		status = http.StatusCreated
	}
	// What writeJSON would write, without its reflection: every
	// submission ends here.
	writeJSONHeader(w, status)
	w.Write(append(rc.AppendJSON(make([]byte, 0, 128)), '\n'))
}

// isJSONType reports whether a Content-Type header names JSON, with any
// parameters; the plain header, the common case, without parsing.
func isJSONType(ct string) bool {
	if ct == "application/json" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// tooMany answers 429 in both languages: the client may not have said
// which it reads, and a respondent must understand it either way.
func (s *Server) tooMany(w http.ResponseWriter, wait time.Duration) {
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	s.writeError(w, http.StatusTooManyRequests, "rate_limited",
		"提交过于频繁，请 "+strconv.Itoa(secs)+" 秒后再试。Too many submissions; please try again in "+strconv.Itoa(secs)+" s.", "")
}

// clientAddr is the address a request came from: the proxy's header when
// one is configured (behind a reverse proxy every request would come from
// the proxy), else the connection's peer.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	if s.realIPHeader != "" {
		v := r.Header.Get(s.realIPHeader)
		// X-Forwarded-For lists hops; the first is the client.
		v, _, _ = strings.Cut(v, ",")
		if a, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil {
			return a
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a
}

// withdrawAPI serves DELETE /api/v1/receipts/{receipt}.
func (s *Server) withdrawAPI(w http.ResponseWriter, r *http.Request) {
	if ok, wait := s.collector.Allow(s.clientAddr(r), ""); !ok {
		s.tooMany(w, wait)
		return
	}
	resp, err := s.collector.Withdraw(r.Context(), r.PathValue("receipt"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{
		"receipt": resp.Receipt, "withdrawn": true, "withdrawn_at": resp.WithdrawnAt.Format(time.RFC3339),
	})
}

// withdrawPage serves GET /withdraw, and POST /withdraw for browsers
// without JavaScript: a plain form with the receipt code.
func (s *Server) withdrawPage(w http.ResponseWriter, r *http.Request) {
	l := lang(r)
	data := map[string]any{"Lang": l, "T": ui[l], "Assets": s.assets.version}
	if r.Method != http.MethodPost {
		data["Code"] = r.URL.Query().Get("receipt")
		s.render(w, r, "withdraw.html", data)
		return
	}
	if ok, wait := s.collector.Allow(s.clientAddr(r), ""); !ok {
		s.tooMany(w, wait)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	code := r.PostFormValue("receipt")
	data["Code"] = code
	_, err := s.collector.Withdraw(r.Context(), code)
	status := http.StatusOK
	switch {
	case err == nil:
		data["Done"] = true
	case errors.Is(err, collect.ErrBadReceipt):
		data["Problem"], status = ui[l]["withdraw_bad"], http.StatusBadRequest
	case errors.Is(err, store.ErrNotFound):
		data["Problem"], status = ui[l]["withdraw_unknown"], http.StatusNotFound
	default:
		s.fail(w, r, err)
		return
	}
	s.renderStatus(w, r, status, "withdraw.html", data)
}
