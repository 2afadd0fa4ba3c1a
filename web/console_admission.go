package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// The console's admission page (issue #9 part 1): whether a form takes
// submissions only with an invitation, how many invitations exist and are
// spent, a form making more that answers with their CSV, and the quotas
// with their live counts. The machinery is package collect's
// (invite.go, quota.go); the counts are the store's, so every serve node
// shows the same numbers. The live counts ride on the progress JSON
// (console_collection.go), which the collection page polls too.

// routesConsoleAdmission registers the admission page and its write.
func (s *Server) routesConsoleAdmission() {
	s.staff("GET /console/forms/{form_id}/invitations", security.PermFormsRead, s.consoleInvitations)
	s.staff("POST /console/forms/{form_id}/invitations", security.PermFormsWrite, s.consoleCreateInvitations)
}

// invitationView is a form's invitations as the page and the progress
// JSON show them.
type invitationView struct {
	Required bool `json:"required"`
	Total    int  `json:"total"`
	Used     int  `json:"used"`
	Unused   int  `json:"unused"`
}

// quotaView is one quota with its count.
type quotaView struct {
	Field     string `json:"field"`
	Value     string `json:"value"`
	Label     string `json:"label"` // "question: choice" in the request's language
	Limit     int    `json:"limit"`
	Taken     int    `json:"taken"`
	Remaining int    `json:"remaining"`
	Pct       int    `json:"pct"` // taken of the limit, 0–100, for the meter
}

// invitationsOf counts formID's invitations; required is what the
// latest revision's settings say.
func (s *Server) invitationsOf(ctx context.Context, formID string, required bool) (invitationView, error) {
	c, err := s.st.InvitationCounts(ctx, formID)
	if err != nil {
		return invitationView{}, err
	}
	return invitationView{Required: required, Total: c.Total, Used: c.Used, Unused: c.Total - c.Used}, nil
}

// quotaViews joins the quotas qs of f with the store's counts, in the
// settings' order (the page's rows and the script's indexes rely on it).
func (s *Server) quotaViews(ctx context.Context, f *form.Form, formID string, qs []store.Quota, l string) ([]quotaView, error) {
	out := []quotaView{} // [] rather than null in the JSON
	if len(qs) == 0 {
		return out, nil
	}
	counts, err := s.st.QuotaCounts(ctx, formID)
	if err != nil {
		return nil, err
	}
	taken := make(map[[2]string]int, len(counts))
	for _, c := range counts {
		taken[[2]string{c.Field, c.Value}] = c.N
	}
	for _, q := range qs {
		v := quotaView{Field: q.Field, Value: q.Value, Limit: q.Limit, Taken: taken[[2]string{q.Field, q.Value}]}
		v.Label = quotaLabelIn(f, q, l)
		// A limit lowered below the count in a new revision leaves more
		// taken than allowed: none remain, and the meter is full.
		v.Remaining = max(q.Limit-v.Taken, 0)
		v.Pct = 100
		if q.Limit > 0 {
			v.Pct = min(v.Taken*100/q.Limit, 100)
		}
		out = append(out, v)
	}
	return out, nil
}

// quotaLabelIn names a quota as the respondent sees it, "question:
// choice", falling back to field=value without labels.
func quotaLabelIn(f *form.Form, q store.Quota, l string) string {
	qu := f.Question(q.Field)
	if qu == nil {
		return q.Field + "=" + q.Value
	}
	ql := qu.Label.In(l)
	if ql == "" {
		ql = q.Field
	}
	cl := q.Value
	if c, ok := f.Choice(qu.ListName, q.Value); ok && c.Label.In(l) != "" {
		cl = c.Label.In(l)
	}
	return ql + ": " + cl
}

// publicBase is the server's address for respondents' links, as
// shareURL builds it: the public URL when set, else this server as the
// staff member's browser reached it.
func (s *Server) publicBase(r *http.Request) string {
	if s.publicURL != "" {
		return strings.TrimRight(s.publicURL, "/")
	}
	scheme := "http"
	if s.tls || r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// consoleInvitations serves GET /console/forms/{form_id}/invitations.
func (s *Server) consoleInvitations(w http.ResponseWriter, r *http.Request, p security.Principal) {
	s.renderInvitations(w, r, p, http.StatusOK, "")
}

// renderInvitations shows the admission page with status, and problem
// (already in the request's language) when a write was refused.
func (s *Server) renderInvitations(w http.ResponseWriter, r *http.Request, p security.Principal, status int, problem string) {
	ctx := r.Context()
	data, fv, f, ok := s.formPageData(w, r, p)
	if !ok {
		return
	}
	l := data["Lang"].(string)
	T := data["T"].(map[string]string)
	// Settings that do not parse close the form (collect.admit): say so
	// here, where the designer looks, with the parser's own words.
	var problems []string
	required, err := collect.InvitationRequired(f)
	if err != nil {
		problems = append(problems, err.Error())
	}
	qs, err := collect.ParseQuotas(f)
	if err != nil {
		problems = append(problems, err.Error())
	}
	inv, err := s.invitationsOf(ctx, fv.FormID, required)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	quotas, err := s.quotaViews(ctx, f, fv.FormID, qs, l)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data["Inv"] = inv
	data["Quotas"] = quotas
	data["SettingProblems"] = problems
	data["CanWrite"] = p.Can(security.PermFormsWrite)
	data["Max"] = collect.MaxInvitations
	data["Example"] = collect.InvitationLink(s.publicBase(r), fv.FormID, "") + "…" // the token is not escaped: it is URL-safe
	data["Poll"] = pollSeconds * 1000
	data["Problem"] = problem
	data["MaxText"] = fmt.Sprintf(T["adm_n_help"], collect.MaxInvitations)
	s.renderStatus(w, r, status, "console_admission.html", data)
}

// consoleCreateInvitations serves POST /console/forms/{form_id}/invitations:
// field n (1 to collect.MaxInvitations) makes that many invitations and
// answers with their CSV (n,token,link) as a download. Only the tokens'
// hashes are stored, so this response is their one copy: it is not
// cached, and the page says to keep the file.
func (s *Server) consoleCreateInvitations(w http.ResponseWriter, r *http.Request, p security.Principal) {
	ctx := r.Context()
	fv, err := s.st.Form(ctx, r.PathValue("form_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("n")))
	if err != nil || n < 1 || n > collect.MaxInvitations {
		T := pageWords(lang(r))
		s.renderInvitations(w, r, p, http.StatusUnprocessableEntity, fmt.Sprintf(T["adm_bad_n"], collect.MaxInvitations))
		return
	}
	object := "form:" + fv.FormID
	tokens, err := collect.CreateInvitations(ctx, s.st, fv.FormID, n)
	if err != nil {
		s.audit(w, r, security.AuditEvent{Actor: actor(p), Action: collect.ActionInvitations, Object: object,
			Outcome: security.OutcomeFailed, Detail: fmt.Sprintf("n=%d", n)})
		s.fail(w, r, err)
		return
	}
	// The CSV is built before anything is sent, so that a failure is an
	// error page rather than a truncated file; 100,000 rows are about
	// 10 MB.
	var b bytes.Buffer
	if err := collect.WriteInvitationsCSV(&b, s.publicBase(r), fv.FormID, tokens); err != nil {
		s.fail(w, r, err)
		return
	}
	// Recorded before the tokens leave: a failed audit answers 500 and
	// the stored hashes are of tokens nobody holds, which admit no one.
	if !s.audit(w, r, security.AuditEvent{Actor: actor(p), Action: collect.ActionInvitations, Object: object,
		Outcome: security.OutcomeOK, Detail: fmt.Sprintf("n=%d", n)}) {
		return
	}
	name := fmt.Sprintf("%s-invitations-%s.csv", fv.FormID, time.Now().UTC().Format("20060102-150405"))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.Write(b.Bytes())
}

// admissionProgress adds the invitation and quota counts to p, for the
// pages' script. Settings that do not parse count as none here; the
// admission page names the problem.
func (s *Server) admissionProgress(ctx context.Context, p *progress, f *form.Form, l string) error {
	required, _ := collect.InvitationRequired(f)
	qs, _ := collect.ParseQuotas(f)
	var err error
	if p.Invitations, err = s.invitationsOf(ctx, p.FormID, required); err != nil {
		return err
	}
	p.Quotas, err = s.quotaViews(ctx, f, p.FormID, qs, l)
	return err
}
