package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/publish"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/stats"
	"github.com/govsurvey/govsurvey/store"
)

// Publishing in the console (issue #12 part 2, #9 part 5): the releases
// made so far, a publish form per form that runs publish.Publish — the
// code path of `govsurvey publish` — and the open-API keys with their
// quotas and today's use. Every page needs PermPublishRelease; every
// POST carries the session's CSRF token (checked by authorize) and is
// audited before it is done.

// ReleaseSigner returns the key that signs a release of form f, with the
// office's name (serve passes the installation's key, as `govsurvey
// publish` uses it).
type ReleaseSigner func(f *form.Form) (*publish.Signer, error)

func (s *Server) routesConsoleOpen() {
	s.staff("GET /console/open", security.PermPublishRelease, s.consoleOpen)
	s.staff("POST /console/open/forms/{form_id}/publish", security.PermPublishRelease, s.consolePublish)
	s.staff("GET /console/open/keys", security.PermPublishRelease, s.consoleOpenKeys)
	s.staff("POST /console/open/keys", security.PermPublishRelease, s.consoleNewOpenKey)
	s.staff("POST /console/open/keys/{hash}/revoke", security.PermPublishRelease, s.consoleRevokeOpenKey)
}

// releaseRow is one release as the console lists it.
type releaseRow struct {
	ID, FormID, Created, Signer string
	Tables, Suppressed          int
	Microdata                   bool
}

// publishChoice is a question the publish form offers.
type publishChoice struct{ Name, Label string }

// publishForm is one form's publish form.
type publishForm struct {
	FormID, Title string
	Questions     []publishChoice // choice questions: tabulated
	By            []publishChoice // single-choice questions: cross-tabs and quasi-identifiers
	Publisher     string          // the form's settings 'publisher'
}

// publishOutcome is what the page shows after a publish.
type publishOutcome struct {
	ID, Signer, Fingerprint string
	Tables                  []publish.TableInfo
	Suppressed, Files       int
	MinCount                int
	Microdata               *publish.KReport
}

// openFormsOf lists the forms with what their publish form offers.
func (s *Server) openFormsOf(ctx context.Context, l string) ([]publishForm, error) {
	fvs, err := s.st.Forms(ctx)
	if err != nil {
		return nil, err
	}
	var out []publishForm
	for _, fv := range fvs {
		_, f, err := s.forms.Latest(ctx, fv.FormID)
		if err != nil {
			return nil, err
		}
		_, publisher := f.Setting("publisher")
		pf := publishForm{FormID: fv.FormID, Title: fv.Title, Publisher: publisher}
		for _, q := range f.Fields() {
			// Personal and sensitive questions are never published.
			if security.Personal(q) || (q.Type != "select_one" && q.Type != "select_multiple") {
				continue
			}
			c := publishChoice{Name: q.Name, Label: q.Label.In(l)}
			pf.Questions = append(pf.Questions, c)
			if q.Type == "select_one" {
				pf.By = append(pf.By, c)
			}
		}
		out = append(out, pf)
	}
	return out, nil
}

func (s *Server) releaseRows(ctx context.Context) ([]releaseRow, error) {
	rs, err := s.st.Releases(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []releaseRow
	for _, rel := range rs {
		m, err := releaseMeta(rel)
		if err != nil {
			return nil, err
		}
		row := releaseRow{ID: rel.ID, FormID: rel.FormID, Created: m.Created.In(chinaTime).Format("2006-01-02 15:04"),
			Signer: m.Publisher, Tables: len(m.Tables), Microdata: m.Microdata != nil}
		for _, t := range m.Tables {
			row.Suppressed += t.Suppressed
		}
		out = append(out, row)
	}
	return out, nil
}

func (s *Server) openData(r *http.Request, p security.Principal) (map[string]any, error) {
	rows, err := s.releaseRows(r.Context())
	if err != nil {
		return nil, err
	}
	forms, err := s.openFormsOf(r.Context(), lang(r))
	if err != nil {
		return nil, err
	}
	data := s.consoleData(r, p)
	data["Releases"], data["PublishForms"], data["CanSign"] = rows, forms, s.releaseSigner != nil
	data["DefaultMinCount"], data["DefaultK"] = publish.DefaultMinCount, publish.DefaultK
	return data, nil
}

// consoleOpen serves GET /console/open.
func (s *Server) consoleOpen(w http.ResponseWriter, r *http.Request, p security.Principal) {
	data, err := s.openData(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "console_open.html", data)
}

// publishProblem is a publish refused for what was asked, not for a
// failure of the server: the page says why.
type publishProblem struct{ msg string }

func (e *publishProblem) Error() string { return e.msg }

// isPublishProblem tells a request the publish cannot satisfy from a
// server failure: an unknown question, a form not cleaned, microdata
// without quasi-identifiers, a release that cannot be built (no choice
// question, k not reachable), a version taken by a concurrent publish.
func isPublishProblem(err error) bool {
	var pp *publishProblem
	_, opt := stats.IsOptionError(err)
	return errors.As(err, &pp) || opt || errors.Is(err, publish.ErrNotCleaned) ||
		errors.Is(err, publish.ErrNoQuasiIdentifiers) || errors.Is(err, publish.ErrNoMicrodataColumns) ||
		errors.Is(err, store.ErrExists) || strings.HasPrefix(err.Error(), "publish: ")
}

// publishRefusal is the audit detail of a release the store refused.
// The store's message is not copied: it is not the audit's to carry.
func publishRefusal(err error) string {
	if errors.Is(err, store.ErrExists) {
		return "refused: version taken by a concurrent publish"
	}
	return "refused: not stored"
}

// publishSpec reads the publish form. Only the questions offered are
// published. All of them ticked is as `govsurvey publish` without
// --question: microdata then carries the questions classified public,
// never an internal one not chosen.
func publishSpec(r *http.Request, f *form.Form, offered []publishChoice) (publish.Spec, error) {
	var spec publish.Spec
	questions := nonEmpty(r.PostForm["question"])
	if len(questions) == 0 {
		return spec, &publishProblem{"choose at least one question to publish"}
	}
	all := true
	for _, c := range offered {
		all = all && slices.Contains(questions, c.Name)
	}
	for _, q := range questions {
		if !slices.ContainsFunc(offered, func(c publishChoice) bool { return c.Name == q }) {
			return spec, &publishProblem{"question " + q + " cannot be published (not a choice question of the form, or personal)"}
		}
	}
	var columns []string
	if all {
		for _, q := range f.Fields() {
			if q.Classification == security.ClassPublic && !security.Personal(q) {
				columns = append(columns, q.Name)
			}
		}
		if columns == nil {
			columns = []string{} // none public: microdata is refused, as by the CLI
		}
	}
	text := stats.OptionText{Questions: questions, By: nonEmpty(r.PostForm["by"])}
	opts, err := text.Options(f, nil, "")
	if err != nil {
		return spec, err
	}
	minCount, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("min_count")))
	if err != nil || minCount < 1 {
		return spec, &publishProblem{"the minimum count is a whole number, at least 1"}
	}
	spec = publish.Spec{Analysis: opts, Rule: publish.Rule{MinCount: minCount}}
	if isOn(r.PostFormValue("microdata")) {
		k, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("k")))
		if err != nil || k < 2 {
			return spec, &publishProblem{"k is a whole number, at least 2"}
		}
		spec.Microdata, spec.K, spec.QIs, spec.Columns = true, publish.KOptions{K: k}, nonEmpty(r.PostForm["qi"]), columns
	}
	return spec, nil
}

// consolePublish serves POST /console/open/forms/{form_id}/publish.
func (s *Server) consolePublish(w http.ResponseWriter, r *http.Request, p security.Principal) {
	if err := r.ParseForm(); err != nil {
		s.writeError(w, http.StatusBadRequest, "bad_request", "the form could not be read", "")
		return
	}
	_, f, err := s.forms.Latest(r.Context(), r.PathValue("form_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data, err := s.openData(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	problem := func(err error) {
		data["Problem"], data["ProblemForm"] = err.Error(), f.ID
		s.renderStatus(w, r, http.StatusUnprocessableEntity, "console_open.html", data)
	}
	var offered []publishChoice
	for _, pf := range data["PublishForms"].([]publishForm) {
		if pf.FormID == f.ID {
			offered = pf.Questions
		}
	}
	spec, err := publishSpec(r, f, offered)
	if err != nil {
		problem(err)
		return
	}
	if s.releaseSigner == nil {
		problem(errors.New("this server has no signing key: releases are published with 'govsurvey publish'"))
		return
	}
	if spec.Signer, err = s.releaseSigner(f); err != nil {
		problem(err)
		return
	}
	// The release is recorded once the store has taken or refused it:
	// the audit chain is append-only, so an entry written before a
	// concurrent publish takes the version could not be withdrawn.
	spec.Stored = func(ctx context.Context, rel *publish.Release, stored error) error {
		ev := security.AuditEvent{Actor: actor(p), Action: security.ActionPublish, Object: "release:" + rel.ID,
			Outcome: security.OutcomeOK,
			Detail:  fmt.Sprintf("%d tables, %d files, min count %d (console)", len(rel.Tables), len(rel.Files), spec.Rule.MinCount)}
		if stored != nil {
			ev.Outcome, ev.Detail = security.OutcomeFailed, publishRefusal(stored)+" (console)"
		}
		_, err := s.auditLog.Record(ctx, ev)
		return err
	}
	rel, err := publish.Publish(r.Context(), s.st, f, spec)
	if errors.Is(err, publish.ErrNotCleaned) {
		err = &publishProblem{"form " + f.ID + " has not been cleaned: run the cleaning first (its Cleaning page, or govsurvey clean --form " + f.ID + "); releases hold only valid responses"}
	}
	if err != nil {
		if isPublishProblem(err) {
			problem(err)
		} else {
			s.fail(w, r, err)
		}
		return
	}
	pub, _ := spec.Signer.PublicKeyPEM()
	fp, _ := publish.PublicKeyFingerprint(pub)
	data["Published"] = publishOutcome{ID: rel.ID, Signer: spec.Signer.Name(), Fingerprint: fp,
		Tables: rel.Metadata.Tables, Suppressed: rel.Suppressed(), Files: len(rel.Files),
		MinCount: spec.Rule.MinCount, Microdata: rel.Metadata.Microdata}
	// The list above the form shows the new release too.
	if data["Releases"], err = s.releaseRows(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "console_open.html", data)
}

// openKeyRow is one key as the keys page lists it.
type openKeyRow struct {
	Hash, ID, Name, Owner, Created, Hours string
	PerDay, PerMinute, Today              int
	Revoked                               bool
}

func (s *Server) openKeysData(r *http.Request, p security.Principal) (map[string]any, error) {
	keys, err := s.st.OpenKeys(r.Context())
	if err != nil {
		return nil, err
	}
	usage, err := s.st.OpenUsage(r.Context(), "")
	if err != nil {
		return nil, err
	}
	today := time.Now().In(publish.Office).Format("2006-01-02")
	used := map[string]int{}
	for _, u := range usage {
		if u.Day == today {
			used[u.KeyHash] = u.Requests
		}
	}
	var rows []openKeyRow
	for _, k := range keys {
		rows = append(rows, openKeyRow{Hash: k.Hash, ID: k.Hash[:12], Name: k.Name, Owner: k.Owner,
			Created: k.CreatedAt.In(chinaTime).Format("2006-01-02"), Hours: fmt.Sprintf("%02d:00–%02d:00", k.HoursFrom, k.HoursTo),
			PerDay: k.PerDay, PerMinute: k.PerMinute, Today: used[k.Hash], Revoked: !k.RevokedAt.IsZero()})
	}
	data := s.consoleData(r, p)
	data["Keys"], data["Today"] = rows, today
	return data, nil
}

// consoleOpenKeys serves GET /console/open/keys.
func (s *Server) consoleOpenKeys(w http.ResponseWriter, r *http.Request, p security.Principal) {
	s.showPage(w, r, p, "console_open_keys.html", s.openKeysData, doneNotice{"revoked", "ok_revoked"})
}

// formInt reads a whole-number field; empty is def.
func formInt(r *http.Request, name string, def int) (int, error) {
	v := strings.TrimSpace(r.PostFormValue(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a whole number", name, v)
	}
	return n, nil
}

// consoleNewOpenKey serves POST /console/open/keys: the secret is shown
// on the answer page, once, and only its hash is stored.
func (s *Server) consoleNewOpenKey(w http.ResponseWriter, r *http.Request, p security.Principal) {
	if err := r.ParseForm(); err != nil {
		s.writeError(w, http.StatusBadRequest, "bad_request", "the form could not be read", "")
		return
	}
	k := store.OpenKey{Name: strings.TrimSpace(r.PostFormValue("name")), Owner: p.User, CreatedAt: time.Now()}
	var errs []error
	for _, f := range []struct {
		name string
		to   *int
		def  int
	}{{"per_day", &k.PerDay, 0}, {"per_minute", &k.PerMinute, 0}, {"hours_from", &k.HoursFrom, 0}, {"hours_to", &k.HoursTo, 24}} {
		n, err := formInt(r, f.name, f.def)
		errs = append(errs, err)
		*f.to = n
	}
	problem := errors.Join(errs...)
	if problem == nil {
		if _, msg := checkOpenKey(k); msg != "" {
			problem = errors.New(msg)
		}
	}
	var secret string
	if problem == nil {
		var err error
		if secret, k.Hash, err = publish.NewOpenKey(); err != nil {
			s.fail(w, r, err)
			return
		}
		if !s.audit(w, r, security.AuditEvent{Actor: actor(p), Action: actionOpenKeyCreate, Object: "openkey:" + k.Hash[:12],
			Outcome: security.OutcomeOK, Detail: k.Name}) {
			return
		}
		if err := s.st.AddOpenKey(r.Context(), k); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.showAnswer(w, r, p, "console_open_keys.html", s.openKeysData, problem, map[string]any{"Secret": secret, "SecretName": k.Name})
}

// consoleRevokeOpenKey serves POST /console/open/keys/{hash}/revoke.
func (s *Server) consoleRevokeOpenKey(w http.ResponseWriter, r *http.Request, p security.Principal) {
	if id, ok := s.revokeOpenKeyOf(w, r, p); ok {
		redirectDone(w, r, "/console/open/keys", "revoked", id)
	}
}
