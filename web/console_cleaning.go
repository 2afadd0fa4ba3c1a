package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// Cleaning in the console and the API (issue 6): the funnel of the last
// run, re-running the rules, paging through the flagged responses by
// reason, and an analyst's override of one response, with a note, audited.

// flagPage is how many flagged responses a page shows.
const flagPage = 50

// maxNote bounds an override's note.
const maxNote = 2000

// storedFunnel is the funnel of the form's last cleaning run with the
// overrides as they stand now: what `govsurvey clean` printed after that
// run, moved by the overrides added since. Nil when never cleaned.
func storedFunnel(ctx context.Context, st store.Store, formID string) (*clean.Funnel, time.Time, error) {
	c, err := st.Cleaning(ctx, formID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	f := &clean.Funnel{FormID: formID, RuleVersion: c.RuleVersion, Collected: c.Collected, InvalidByReason: map[string]int{}}
	if len(c.Settings) > 0 {
		if err := json.Unmarshal(c.Settings, &f.Settings); err != nil {
			return nil, time.Time{}, fmt.Errorf("web: cleaning settings of %s: %w", formID, err)
		}
	}
	flagged := map[string]bool{}
	err = st.EachFlag(ctx, store.FlagFilter{FormID: formID}, func(fl store.Flag) error {
		flagged[fl.InstanceID] = true
		for _, r := range fl.Reasons {
			f.InvalidByReason[r]++
		}
		if len(fl.Reasons) > 1 {
			f.SeveralReasons++
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	f.Flagged = len(flagged)
	all, err := st.Overrides(ctx, formID)
	if err != nil {
		return nil, time.Time{}, err
	}
	latest := map[string]bool{}
	for _, o := range all { // oldest first: the latest wins
		latest[o.InstanceID] = o.Valid
	}
	for id, valid := range latest {
		switch {
		case valid && flagged[id]:
			f.OverriddenValid++
		case !valid && !flagged[id]:
			// As clean.Run: only a response the run saw counts.
			r, err := st.Response(ctx, formID, id)
			if err == nil && r.WithdrawnAt.IsZero() && !r.SubmittedAt.After(c.CleanedAt) {
				f.OverriddenInvalid++
			} else if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, time.Time{}, err
			}
		}
	}
	f.Valid = f.Collected - f.Flagged + f.OverriddenValid - f.OverriddenInvalid
	return f, c.CleanedAt, nil
}

// flaggedRow is one flagged response as the console and API show it.
type flaggedRow struct {
	InstanceID  string     `json:"instance_id"`
	SubmittedAt time.Time  `json:"submitted_at"`
	Reasons     []ruleHit  `json:"reasons"`
	Answers     string     `json:"answers"` // non-personal answers, name=value, shortened
	Override    *overrideV `json:"override,omitempty"`
}

type ruleHit struct {
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

type overrideV struct {
	Valid bool      `json:"valid"`
	Note  string    `json:"note"`
	Actor string    `json:"actor"`
	At    time.Time `json:"at"`
}

// flaggedPage reads one page of flagged responses, after the instance id
// after, with reason (or every one); next is the cursor of the next page.
func (s *Server) flaggedPage(ctx context.Context, f *form.Form, reason, after string) (rows []flaggedRow, next string, err error) {
	formID := f.ID
	var flags []store.Flag
	err = s.st.EachFlag(ctx, store.FlagFilter{FormID: formID, Reason: reason, After: after, Limit: flagPage + 1}, func(fl store.Flag) error {
		flags = append(flags, fl)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if len(flags) > flagPage {
		flags = flags[:flagPage]
		next = flags[flagPage-1].InstanceID
	}
	all, err := s.st.Overrides(ctx, formID)
	if err != nil {
		return nil, "", err
	}
	ovr := map[string]store.Override{}
	for _, o := range all {
		ovr[o.InstanceID] = o
	}
	forms := map[int]*form.Form{}
	for _, fl := range flags {
		row := flaggedRow{InstanceID: fl.InstanceID}
		r, err := s.st.Response(ctx, formID, fl.InstanceID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, "", err
		}
		var ans form.Answers
		var rf *form.Form
		if err == nil {
			row.SubmittedAt = r.SubmittedAt
			if rf = forms[r.Revision]; rf == nil {
				if rf, err = s.forms.Revision(ctx, formID, r.Revision); err != nil {
					return nil, "", err
				}
				forms[r.Revision] = rf
			}
			if ans, err = rf.DecodeAnswers(r.Answers); err != nil {
				return nil, "", fmt.Errorf("web: response %s: %w", r.InstanceID, err)
			}
			row.Answers = answersSummary(rf, ans)
		}
		for _, reason := range fl.Reasons {
			row.Reasons = append(row.Reasons, ruleHit{Reason: reason, Detail: ruleDetail(f, rf, r, ans, reason)})
		}
		if o, ok := ovr[fl.InstanceID]; ok {
			row.Override = &overrideV{Valid: o.Valid, Note: o.Note, Actor: o.Actor, At: o.CreatedAt}
		}
		rows = append(rows, row)
	}
	return rows, next, nil
}

// answersSummary lists the answers a de-identified export would show:
// no personal, sensitive or free-text question, each value shortened.
func answersSummary(f *form.Form, ans form.Answers) string {
	var parts []string
	for _, q := range f.Fields() {
		if security.Personal(q) || q.Type == "text" || q.Classification == security.ClassPersonal || q.Classification == security.ClassSensitive {
			continue
		}
		v, ok := ans[q.Name]
		if !ok || v == "" {
			continue
		}
		if utf8.RuneCountInString(v) > 40 {
			v = string([]rune(v)[:40]) + "…"
		}
		parts = append(parts, q.Name+"="+v)
	}
	s := strings.Join(parts, " · ")
	if utf8.RuneCountInString(s) > 400 {
		s = string([]rune(s)[:400]) + "…"
	}
	return s
}

// ruleDetail says why a rule fired, as far as the flag and the response
// tell (flags keep reason codes, not the rules' working).
func ruleDetail(latest, rf *form.Form, r store.Response, ans form.Answers, reason string) string {
	switch {
	case reason == clean.ReasonDuplicate:
		return "same client and the same answers as an earlier response; the earliest stays valid"
	case reason == clean.ReasonSpeeding:
		if !r.Started.IsZero() && !r.Ended.IsZero() {
			return fmt.Sprintf("took %s; the rule: under the speeding ratio × the form's median duration", r.Ended.Sub(r.Started).Round(time.Second))
		}
		return "answered faster than the speeding ratio × the form's median duration"
	case reason == clean.ReasonIncomplete:
		if rf != nil {
			var miss []string
			for _, q := range rf.Fields() {
				if q.Required && q.Relevant == "" && ans[q.Name] == "" {
					miss = append(miss, q.Name)
				}
			}
			if len(miss) > 0 {
				return "required, relevant and unanswered: " + strings.Join(miss, ", ")
			}
		}
		return "a required question whose relevant is true is unanswered"
	case reason == clean.ReasonInvalidValue:
		if rf != nil {
			var bad []string
			for _, q := range rf.Fields() {
				v := ans[q.Name]
				if v == "" {
					continue
				}
				switch q.Type {
				case "select_one":
					if _, ok := rf.Choice(q.ListName, v); !ok && len(rf.Choices[q.ListName]) > 0 {
						bad = append(bad, q.Name)
					}
				case "select_multiple":
					for _, c := range strings.Fields(v) {
						if _, ok := rf.Choice(q.ListName, c); !ok && len(rf.Choices[q.ListName]) > 0 {
							bad = append(bad, q.Name)
							break
						}
					}
				case "integer", "decimal":
					if _, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil {
						bad = append(bad, q.Name)
					}
				}
			}
			if len(bad) > 0 {
				return "not a choice of its list, or not of its type: " + strings.Join(bad, ", ")
			}
		}
		return "an answer is not a choice of its list, or fails its type"
	case strings.HasPrefix(reason, clean.ReasonConsistencyPrefix):
		name := strings.TrimPrefix(reason, clean.ReasonConsistencyPrefix)
		for _, c := range latest.Checks {
			if c.Name == name {
				return "check " + name + " is false: " + c.Expression
			}
		}
		return "check " + name + " is false"
	case reason == clean.ReasonHoneypot:
		return "the web form's hidden trap field was filled in"
	case reason == clean.ReasonStraightlining:
		return "the same answer to every item of a battery"
	case reason == clean.ReasonAttention:
		return "an attention-check item was not answered as asked"
	case reason == clean.ReasonNearDuplicate:
		return "nearly the same answers as a response from another client"
	case reason == clean.ReasonBurst:
		return "one of a burst of submissions from one rate-limit key"
	}
	return ""
}

// cleaningAPI serves GET /api/v1/forms/{form_id}/cleaning: the funnel of
// the last run (null when never cleaned) and a page of flagged responses
// (?reason=, ?after=).
func (s *Server) cleaningAPI(w http.ResponseWriter, r *http.Request, p security.Principal) {
	q := r.URL.Query()
	v, err := s.cleaningView(r.Context(), r.PathValue("form_id"), q.Get("reason"), q.Get("after"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := map[string]any{"funnel": v.funnel, "flagged": []flaggedRow{}}
	if v.funnel != nil {
		if v.rows != nil {
			out["flagged"] = v.rows
		}
		out["next"] = v.next
		out["cleaned_at"] = v.at
	}
	s.writeJSON(w, http.StatusOK, out)
}

// cleaningShown is what the cleaning page and GET …/cleaning show: the
// last run's funnel (nil when never cleaned), when it ran, and one page of
// the responses it flagged.
type cleaningShown struct {
	fv     store.FormVersion
	funnel *clean.Funnel
	at     time.Time
	rows   []flaggedRow
	next   string
}

// cleaningView reads the latest revision of the form, its last run's
// funnel and, when it has been cleaned, the page of flagged responses
// with reason (all: "") after the instance id after.
func (s *Server) cleaningView(ctx context.Context, formID, reason, after string) (cleaningShown, error) {
	var v cleaningShown
	fv, f, err := s.forms.Latest(ctx, formID)
	if err != nil {
		return v, err
	}
	v.fv = fv
	if v.funnel, v.at, err = storedFunnel(ctx, s.st, fv.FormID); err != nil || v.funnel == nil {
		return v, err
	}
	v.rows, v.next, err = s.flaggedPage(ctx, f, reason, after)
	return v, err
}

// reclean runs the rules over the responses of the request's form (the
// joined view: the rules judge sealed answers too), audited with the
// funnel's counts. A bad settings cell goes to badSetting, which answers
// in the route's own kind (JSON or the page). false: the request has been
// answered.
func (s *Server) reclean(w http.ResponseWriter, r *http.Request, p security.Principal, badSetting func(*form.SettingError)) (clean.Funnel, bool) {
	fv, _, err := s.forms.Latest(r.Context(), r.PathValue("form_id"))
	if err != nil {
		s.fail(w, r, err)
		return clean.Funnel{}, false
	}
	formID := fv.FormID
	src := s.st
	if s.sealing != nil {
		src = s.sealing.Joined()
	}
	fun, err := clean.Run(r.Context(), src, formID)
	var bad *form.SettingError
	if errors.As(err, &bad) {
		// A form stored before its settings were checked: the staff
		// member must fix the cell, so name it rather than fail with 500.
		badSetting(bad)
		return fun, false
	}
	if err != nil {
		s.fail(w, r, err)
		return fun, false
	}
	ok := s.audit(w, r, security.AuditEvent{Actor: actor(p), Action: actionCleanRun, Object: "form:" + formID, Outcome: security.OutcomeOK,
		Detail: fmt.Sprintf("rules=%s collected=%d flagged=%d valid=%d", fun.RuleVersion, fun.Collected, fun.Flagged, fun.Valid)})
	return fun, ok
}

// actionCleanRun records a cleaning run started from the console or API.
const actionCleanRun = "clean.run"

// recleanAPI serves POST /api/v1/forms/{form_id}/cleaning: run the rules
// now and answer the funnel.
func (s *Server) recleanAPI(w http.ResponseWriter, r *http.Request, p security.Principal) {
	fun, ok := s.reclean(w, r, p, func(bad *form.SettingError) {
		s.writeError(w, http.StatusUnprocessableEntity, "bad_setting", bad.Error(), bad.Column)
	})
	if !ok {
		return
	}
	s.writeJSON(w, http.StatusOK, fun)
}

// overrideInput is the body of POST /api/v1/forms/{form_id}/overrides.
type overrideInput struct {
	InstanceID string `json:"instance_id"`
	Valid      *bool  `json:"valid"`
	Note       string `json:"note"`
}

// overrideAPI serves POST /api/v1/forms/{form_id}/overrides: JSON
// {"instance_id", "valid", "note"} answered with the override, or the
// console's form (verdict=valid|invalid), answered by going back to the
// cleaning page. Audited; the note stays in the override row.
func (s *Server) overrideAPI(w http.ResponseWriter, r *http.Request, p security.Principal) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	page := ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data"
	var in overrideInput
	if page {
		in.InstanceID = r.PostFormValue("instance_id")
		in.Note = r.PostFormValue("note")
		switch r.PostFormValue("verdict") {
		case "valid":
			in.Valid = new(bool)
			*in.Valid = true
		case "invalid":
			in.Valid = new(bool)
		}
	} else if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		s.writeError(w, http.StatusBadRequest, "bad_request", "the body is JSON: {\"instance_id\": …, \"valid\": true|false, \"note\": …}", "")
		return
	}
	in.Note = strings.TrimSpace(in.Note)
	switch {
	case in.InstanceID == "":
		s.writeError(w, http.StatusBadRequest, "bad_parameter", "instance_id is required", "instance_id")
		return
	case in.Valid == nil:
		s.writeError(w, http.StatusBadRequest, "bad_parameter", "say valid (true) or invalid (false)", "valid")
		return
	case in.Note == "" || utf8.RuneCountInString(in.Note) > maxNote:
		s.writeError(w, http.StatusBadRequest, "bad_parameter", fmt.Sprintf("a note saying why is required (at most %d characters)", maxNote), "note")
		return
	}
	fv, _, err := s.forms.Latest(r.Context(), r.PathValue("form_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	o, err := clean.AddOverride(r.Context(), s.st, store.Override{FormID: fv.FormID, InstanceID: in.InstanceID, Valid: *in.Valid, Note: in.Note, Actor: p.User})
	if errors.Is(err, store.ErrNotFound) {
		s.writeError(w, http.StatusNotFound, "not_found", "the form has no response "+in.InstanceID, "instance_id")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// As `govsurvey clean override`: who decided what; the note stays in
	// the override row.
	if !s.audit(w, r, security.AuditEvent{Actor: actor(p), Action: security.ActionCleanOverride, Object: "form:" + o.FormID + "/" + o.InstanceID,
		Outcome: security.OutcomeOK, Detail: fmt.Sprintf("override=%d valid=%t by=%s", o.ID, o.Valid, o.Actor)}) {
		return
	}
	if page {
		q := url.Values{"lang": {lang(r)}, "done": {"override"}, "id": {o.InstanceID}}
		if v := r.PostFormValue("reason"); v != "" {
			q.Set("reason", v)
		}
		if v := r.PostFormValue("after"); v != "" {
			q.Set("after", v)
		}
		http.Redirect(w, r, "/console/forms/"+url.PathEscape(o.FormID)+"/cleaning?"+q.Encode(), http.StatusSeeOther)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"id": o.ID, "form_id": o.FormID, "instance_id": o.InstanceID,
		"valid": o.Valid, "note": o.Note, "actor": o.Actor, "created_at": o.CreatedAt})
}

// consoleCleaning serves GET /console/forms/{form_id}/cleaning.
func (s *Server) consoleCleaning(w http.ResponseWriter, r *http.Request, p security.Principal) {
	s.cleaningPage(w, r, p, nil, nil)
}

// consoleReclean serves POST /console/forms/{form_id}/cleaning: run the
// rules and show the page with the run's counts, or with the bad settings
// cell that stopped them (422): a browser is shown a page, not JSON.
func (s *Server) consoleReclean(w http.ResponseWriter, r *http.Request, p security.Principal) {
	fun, ok := s.reclean(w, r, p, func(bad *form.SettingError) {
		s.cleaningPage(w, r, p, nil, bad)
	})
	if !ok {
		return
	}
	s.cleaningPage(w, r, p, &fun, nil)
}

type funnelLine struct {
	Label  string
	Reason string // the reason code, for the filter link ("" for totals)
	N      int
	Total  bool
}

// cleaningPage shows the cleaning page: with ran, the counts of the run
// just made; with bad, the settings cell that stopped it, answered 422.
func (s *Server) cleaningPage(w http.ResponseWriter, r *http.Request, p security.Principal, ran *clean.Funnel, bad *form.SettingError) {
	q := r.URL.Query()
	reason, after := q.Get("reason"), q.Get("after")
	view, err := s.cleaningView(r.Context(), r.PathValue("form_id"), reason, after)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	fv, fun := view.fv, view.funnel
	data := s.consoleData(r, p)
	for k, v := range cleaningWords[lang(r)] {
		data["T"].(map[string]string)[k] = v
	}
	data["Form"] = fv
	data["Reason"] = reason
	data["After"] = after
	data["Ran"] = ran
	status := http.StatusOK
	if bad != nil {
		data["BadSetting"] = bad.Error()
		status = http.StatusUnprocessableEntity
	}
	data["OverrideDone"] = q.Get("done") == "override"
	data["OverrideID"] = q.Get("id")
	if fun != nil {
		t := data["T"].(map[string]string)
		lines := []funnelLine{{Label: t["collected"], N: fun.Collected, Total: true}}
		for _, rs := range fun.Reasons() {
			lines = append(lines, funnelLine{Label: rs, Reason: rs, N: fun.InvalidByReason[rs]})
		}
		lines = append(lines,
			funnelLine{Label: t["several_reasons"], N: fun.SeveralReasons},
			funnelLine{Label: t["invalid"], N: fun.Flagged},
			funnelLine{Label: t["overridden_valid"], N: fun.OverriddenValid},
			funnelLine{Label: t["overridden_invalid"], N: fun.OverriddenInvalid},
			funnelLine{Label: t["valid"], N: fun.Valid, Total: true})
		data["Funnel"] = fun
		data["Lines"] = lines
		data["CleanedAt"] = view.at.UTC().Format("2006-01-02 15:04:05Z")
		data["Rows"] = view.rows
		data["Next"] = view.next
	}
	s.renderStatus(w, r, status, "console_cleaning.html", data)
}

// cleaningWords are the cleaning page's words.
var cleaningWords = map[string]map[string]string{
	"zh": {
		"cleaning": "数据清理", "funnel": "清理漏斗", "collected": "收集", "several_reasons": "多项原因",
		"invalid": "无效（规则）", "overridden_valid": "人工改判为有效", "overridden_invalid": "人工改判为无效", "valid": "有效",
		"rerun": "重新运行清理", "ran": "清理完成", "not_cleaned": "本问卷尚未清理。", "flagged": "被标记的回答",
		"all_reasons": "全部原因", "show": "显示", "reason": "原因", "submitted": "提交时间", "answers": "回答（不含个人信息）",
		"override": "人工判定", "mark_valid": "有效", "mark_invalid": "无效", "note": "说明（必填）", "save": "保存",
		"next_page": "下一页", "first_page": "第一页", "override_done": "已保存人工判定：", "none": "没有被标记的回答。",
		"analysis": "统计分析", "rules": "规则", "cleaned_at": "清理时间",
		"bad_setting": "问卷设置有误，修正该单元格并重新上传问卷前无法清理：",
	},
	"en": {
		"cleaning": "Cleaning", "funnel": "Funnel", "collected": "collected", "several_reasons": "several reasons",
		"invalid": "invalid (rules)", "overridden_valid": "overridden to valid", "overridden_invalid": "overridden to invalid", "valid": "valid",
		"rerun": "Run cleaning again", "ran": "Cleaning done", "not_cleaned": "This form has not been cleaned yet.", "flagged": "Flagged responses",
		"all_reasons": "every reason", "show": "Show", "reason": "Reason", "submitted": "Submitted", "answers": "Answers (no personal data)",
		"override": "Override", "mark_valid": "valid", "mark_invalid": "invalid", "note": "Note (required)", "save": "Save",
		"next_page": "Next page", "first_page": "First page", "override_done": "Override saved: ", "none": "No flagged responses.",
		"analysis": "Analysis", "rules": "rules", "cleaned_at": "cleaned at",
		"bad_setting": "The form's settings are wrong; cleaning cannot run until the cell is fixed and the form uploaded again:",
	},
}
