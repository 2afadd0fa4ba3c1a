package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
)

// Invitations and quotas (collect/invite.go, collect/quota.go) on the
// submission API. The messages are in the language the form page asked
// for (?lang=), and in both otherwise: an API client may not have said
// which it reads, and a respondent must understand it either way.

// refuseAdmission answers a submission an invitation-only form or a full
// quota refuses, and tells whether err was such a refusal.
//
//   - 403 invitation_required / invitation_invalid / invitation_used: the
//     form is not open to this request, as for a closed form;
//   - 409 quota_full, naming the field: the submission is valid and
//     allowed, but conflicts with the quota's current count (it may pass
//     with another answer, or after a withdrawal frees a slot).
func (s *Server) refuseAdmission(w http.ResponseWriter, r *http.Request, err error) bool {
	var (
		invite *collect.InvitationError
		quota  *collect.QuotaFullError
	)
	l := r.URL.Query().Get("lang")
	switch {
	case errors.As(err, &invite):
		msg := invite.Message()
		if l == "zh" || l == "en" {
			msg = invite.MessageIn(l)
		}
		s.writeError(w, http.StatusForbidden, invite.Code, msg, "")
	case errors.As(err, &quota):
		msg := quota.Message()
		if l == "zh" || l == "en" {
			msg = quota.MessageIn(l)
		}
		s.writeError(w, http.StatusConflict, "quota_full", msg, quota.Field)
	default:
		return false
	}
	return true
}

// invitationPage handles the invitation token of GET /f/{form_id}?t=…:
// it puts the token in data for the form to send back (form.html's
// hidden field), or, for an invitation-only form opened without one,
// renders the notice instead of the questions and returns true. Whether
// the token is valid is decided at submission, where it is spent.
func (s *Server) invitationPage(w http.ResponseWriter, r *http.Request, f *form.Form, l string, data map[string]any) bool {
	token := strings.TrimSpace(r.URL.Query().Get("t"))
	if len(token) > 64 {
		token = ""
	}
	data["Token"] = token
	required, err := collect.InvitationRequired(f)
	if token != "" || (!required && err == nil) {
		return false
	}
	if err != nil {
		// The submission is refused as closed too (collect.admit).
		data["Closed"] = ui[l]["closed"]
	} else {
		data["Closed"] = (&collect.InvitationError{Code: "invitation_required"}).MessageIn(l)
	}
	s.render(w, r, "form.html", data)
	return true
}
