package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// The staff API (CONTRACTS.md §8): forms and their definitions, and the
// responses as §2 rows, streamed. Exports are de-identified unless a
// data officer states a purpose; every export is audited, and a user's
// exported rows per day are counted against an alert threshold.

type formSummary struct {
	FormID    string    `json:"form_id"`
	Revision  int       `json:"revision"`
	Version   string    `json:"version"`
	Title     string    `json:"title"`
	CreatedAt time.Time `json:"created_at"`
	Responses int       `json:"responses"`
}

// listForms serves GET /api/v1/forms.
func (s *Server) listForms(w http.ResponseWriter, r *http.Request, p security.Principal) {
	fvs, err := s.st.Forms(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]formSummary, 0, len(fvs))
	for _, fv := range fvs {
		n, err := s.st.CountResponses(r.Context(), fv.FormID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, formSummary{FormID: fv.FormID, Revision: fv.Revision, Version: fv.Version,
			Title: fv.Title, CreatedAt: fv.CreatedAt, Responses: n})
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"forms": out})
}

// fieldInfo is a question's classification as the console and API show
// it: whether its answers are sealed at rest and left out of default
// exports.
type fieldInfo struct {
	Name           string `json:"name"`
	Type           string `json:"type"`
	Classification string `json:"classification"`
	Sealed         bool   `json:"sealed"` // personal or sensitive: always encrypted; others only when free text holds personal data
}

func fieldsOf(f *form.Form) []fieldInfo {
	var out []fieldInfo
	for _, q := range f.Fields() {
		c := q.Classification
		if c == "" {
			c = security.ClassInternal
		}
		out = append(out, fieldInfo{Name: q.Name, Type: q.Type, Classification: c, Sealed: security.Personal(q)})
	}
	return out
}

// getForm serves GET /api/v1/forms/{form_id}.
func (s *Server) getForm(w http.ResponseWriter, r *http.Request, p security.Principal) {
	fv, f, err := s.forms.Latest(r.Context(), r.PathValue("form_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := s.st.CountResponses(r.Context(), fv.FormID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{
		"form_id": fv.FormID, "revision": fv.Revision, "version": fv.Version, "title": fv.Title,
		"created_at": fv.CreatedAt, "hash": fv.Hash, "responses": n,
		"fields": fieldsOf(f), "definition": f,
	})
}

// maxPurpose bounds the stated purpose kept in the audit log.
const maxPurpose = 500

// exportResponses serves GET /api/v1/forms/{form_id}/responses: §2 rows
// as CSV (or ?format=xlsx), streamed. Without ?personal=1 the rows are
// de-identified: no client column, no personal or sensitive column, and
// free-text answers sealed for holding personal data are empty. With it,
// the caller needs responses.export_personal and a ?purpose=, and gets
// every field, decrypted. Both are audited before the first byte and
// again with the row count when done.
func (s *Server) exportResponses(w http.ResponseWriter, r *http.Request, p security.Principal) {
	q := r.URL.Query()
	format := q.Get("format")
	switch format {
	case "", "csv":
		format = "csv"
	case "xlsx":
	default:
		s.writeError(w, http.StatusBadRequest, "bad_format", "format is csv or xlsx", "format")
		return
	}
	ex, ok := s.openExport(w, r, p)
	if !ok || !s.startExport(w, r, ex, "format="+format) {
		return
	}
	fv, personal := ex.fv, ex.personal
	name := fv.FormID + "-responses." + format
	if format == "xlsx" {
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	} else {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	rows, err := collect.Export(r.Context(), ex.src, fv, ex.f, w, collect.ExportOptions{
		Format: format, SplitMultiple: q.Get("split_multiple") == "1",
		IncludeClient: personal, IncludePersonal: personal,
	})
	s.finishExport(r, ex, rows, err)
}

// exportRun is one export through either export route, from the
// request's gate to the audit record of its end.
type exportRun struct {
	fv       store.FormVersion
	f        *form.Form
	src      store.Store // the store, or the joined view for a personal export
	personal bool
	purpose  string
	p        security.Principal
	action   string // security.ActionExport or ActionExportPersonal
	detail   string // set by startExport
}

// openExport reads the form and the request's ?personal= and ?purpose=
// and is the gate of both export routes: a personal export needs the
// right (a refusal is audited), a stated purpose and the keyring, and
// reads the joined view, sealed answers opened; any other reads the
// store, sealed answers left out. false: the request has been answered.
func (s *Server) openExport(w http.ResponseWriter, r *http.Request, p security.Principal) (*exportRun, bool) {
	q := r.URL.Query()
	ex := &exportRun{personal: isOn(q.Get("personal")), purpose: strings.TrimSpace(q.Get("purpose")), p: p, action: security.ActionExport}
	var err error
	if ex.fv, ex.f, err = s.forms.Latest(r.Context(), r.PathValue("form_id")); err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	ex.src = s.st
	if !ex.personal {
		return ex, true
	}
	ex.action = security.ActionExportPersonal
	if !p.Can(security.PermResponsesExportPersonal) {
		s.audit(w, r, security.AuditEvent{Actor: actor(p), Action: ex.action, Object: "form:" + ex.fv.FormID, Outcome: security.OutcomeDenied, Detail: "no right"})
		s.writeError(w, http.StatusForbidden, "forbidden", "exporting personal fields needs the data_officer role ("+string(security.PermResponsesExportPersonal)+")", "personal")
		return nil, false
	}
	if ex.purpose == "" || utf8.RuneCountInString(ex.purpose) > maxPurpose {
		s.writeError(w, http.StatusBadRequest, "purpose_required",
			fmt.Sprintf("state the purpose of a personal export (purpose=…, at most %d characters)", maxPurpose), "purpose")
		return nil, false
	}
	if s.sealing == nil {
		s.fail(w, r, security.ErrNoKeyring)
		return nil, false
	}
	ex.src = s.sealing.Joined()
	return ex, true
}

// startExport audits the export before its first byte, detail (the
// request's format and filters) followed by the stated purpose; false:
// the audit log failed and the request has been answered.
func (s *Server) startExport(w http.ResponseWriter, r *http.Request, ex *exportRun, detail string) bool {
	if ex.personal {
		detail += " purpose=" + strings.ReplaceAll(ex.purpose, "\n", " ")
	}
	ex.detail = detail
	return s.audit(w, r, security.AuditEvent{Actor: actor(ex.p), Action: ex.action, Object: "form:" + ex.fv.FormID, Outcome: security.OutcomeOK, Detail: detail + " started"})
}

// finishExport audits the end of a streamed export with its row count
// and counts the rows toward the export volume alert. A failure is only
// logged: the status line has gone and the client sees a cut stream.
func (s *Server) finishExport(r *http.Request, ex *exportRun, rows int, err error) {
	outcome := security.OutcomeOK
	if err != nil {
		outcome = security.OutcomeFailed
		s.log.LogAttrs(r.Context(), slog.LevelError, "export failed", slog.String("form", ex.fv.FormID), slog.Any("err", err))
	}
	// The request may be gone; the record must still be written.
	ctx := context.WithoutCancel(r.Context())
	if _, err := s.auditLog.Record(ctx, security.AuditEvent{Actor: actor(ex.p), Action: ex.action, Object: "form:" + ex.fv.FormID, Outcome: outcome,
		Detail: fmt.Sprintf("%s rows=%d finished", ex.detail, rows)}); err != nil {
		s.log.Error("audit of an export failed", "form", ex.fv.FormID, "err", err)
	}
	s.exported(ctx, ex.p, ex.fv.FormID, rows)
}

// The export volume: each user's exported rows per day (UTC) are counted
// in the store (store.ClusterStore), so that the threshold is one for the
// user whichever serve nodes answer their exports. The one export that
// takes the count past the threshold raises the alert, once a day per
// user: in the log, as a metric and in the audit log of the node that
// served it, and on every node's console, which reads the alerts back
// from the store. Counter names hold the day and the staff user name.
const (
	exportRowsPrefix  = "export-rows:"  // + day + ":" + user: the rows exported that day
	exportAlertPrefix = "export-alert:" // + day + ":" + user: the rows when the alert was raised
	// A day's count outlives its day (the name has the day), then is swept.
	exportRowsWindow = 48 * time.Hour
	// How long the console shows an alert; the audit log keeps it for good.
	exportAlertWindow = 30 * 24 * time.Hour
	maxAlerts         = 50 // the console shows the newest
)

type exportAlert struct {
	Time time.Time
	User string
	Rows int
}

func (s *Server) exported(ctx context.Context, p security.Principal, formID string, rows int) {
	if s.exportAlertRows <= 0 || rows == 0 {
		return
	}
	now := time.Now().UTC()
	day := now.Format(time.DateOnly)
	after, err := s.st.AddCounter(ctx, exportRowsPrefix+day+":"+p.User, rows, exportRowsWindow, now)
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "counting exported rows failed: no volume alert for this export",
			slog.String("user", p.User), slog.Int("rows", rows), slog.Any("err", err))
		return
	}
	// The counter adds atomically, so exactly one export sees the crossing.
	before := after - rows
	if before >= s.exportAlertRows || after < s.exportAlertRows {
		return
	}
	if _, err := s.st.AddCounter(ctx, exportAlertPrefix+day+":"+p.User, after, exportAlertWindow, now); err != nil {
		s.log.Error("keeping an export alert for the console failed", "user", p.User, "err", err)
	}
	s.exportAlerts.Inc()
	s.log.LogAttrs(ctx, slog.LevelWarn, "export volume alert: a user passed the daily threshold",
		slog.String("user", p.User), slog.Int("rows_today", after), slog.Int("threshold", s.exportAlertRows), slog.String("form", formID))
	if _, err := s.auditLog.Record(ctx, security.AuditEvent{Actor: "system", Action: actionExportAlert, Object: "user:" + p.User,
		Outcome: security.OutcomeOK, Detail: fmt.Sprintf("rows_today=%d threshold=%d", after, s.exportAlertRows)}); err != nil {
		s.log.Error("audit of an export alert failed", "err", err)
	}
}

// actionExportAlert records that a user's exports passed the daily threshold.
const actionExportAlert = "responses.export_alert"

// recentAlerts returns the newest export alerts of every node, oldest
// first. The console shows what it can: a failed read is only logged.
func (s *Server) recentAlerts(ctx context.Context) []exportAlert {
	cs, err := s.st.Counters(ctx, exportAlertPrefix, time.Now())
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "reading export alerts failed", slog.Any("err", err))
		return nil
	}
	out := make([]exportAlert, 0, len(cs))
	for _, c := range cs {
		_, user, ok := strings.Cut(strings.TrimPrefix(c.Name, exportAlertPrefix), ":")
		if !ok {
			continue
		}
		out = append(out, exportAlert{Time: c.Last, User: user, Rows: c.Count})
	}
	slices.SortStableFunc(out, func(a, b exportAlert) int { return a.Time.Compare(b.Time) })
	if len(out) > maxAlerts {
		out = out[len(out)-maxAlerts:]
	}
	return out
}

// verifyAudit serves GET /api/v1/audit/verify for auditors.
func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request, p security.Principal) {
	var keys []*security.AuditVerifier
	if s.auditKey != nil {
		keys = append(keys, s.auditKey)
	}
	rep, err := security.VerifyAudit(r.Context(), s.st, keys...)
	var ce *security.ChainError
	problems := []string{}
	switch {
	case errors.As(err, &ce):
		for _, pr := range ce.Problems {
			problems = append(problems, pr.String())
		}
	case err != nil:
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{
		"intact": len(problems) == 0, "entries": rep.Entries, "last_seq": rep.LastSeq,
		"checkpoints": rep.Checkpoints, "unsigned": rep.Unsigned, "problems": problems,
	})
}

// exportAudit serves GET /api/v1/audit/export: the log as JSON lines,
// checkpointed first so the archive ends signed, and audited.
func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request, p security.Principal) {
	if !s.audit(w, r, security.AuditEvent{Actor: actor(p), Action: security.ActionAuditExport, Object: "audit", Outcome: security.OutcomeOK}) {
		return
	}
	if err := s.auditLog.Checkpoint(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/jsonl; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="govsurvey-audit.jsonl"`)
	w.Header().Set("Cache-Control", "no-store")
	if _, err := security.ExportAudit(r.Context(), s.st, w); err != nil {
		s.log.Error("audit export failed", "err", err)
	}
}
