package web

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/govsurvey/govsurvey/report"
	"github.com/govsurvey/govsurvey/report/charts"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// Reports in the console (issue #9 part 5, issue #10): a staff member with
// reports.write starts a build of a form's report. The build is a job in
// the store (store.JobsStore): the node that took the request runs it,
// claiming it and beating its heart while it builds, and writes its
// progress and then its files to the database, so that the page's polls,
// the preview and the downloads are answered by whichever node they reach.
// One build per form at a time, across nodes (the store refuses a second);
// the last reportKeep builds of a form are kept, older ones deleted with
// their files. A node that dies mid-build stops beating: the next look at
// the form's reports marks the build failed, and it can be started again.

// Report file names, in the order the page lists them.
const (
	reportHTML = "report.html"
	reportXLSX = "tables.xlsx"
	reportDOCX = "report.docx"
	reportPDF  = "report.pdf"
)

var reportFileNames = []string{reportHTML, reportXLSX, reportDOCX, reportPDF}

// reportTypes are the files' content types.
var reportTypes = map[string]string{
	reportHTML: "text/html; charset=utf-8",
	reportXLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	reportDOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	reportPDF:  "application/pdf",
}

const (
	// reportJobKind is the kind of a report build in the jobs table.
	reportJobKind = "report"
	// reportKeep is how many builds of a form the store keeps.
	reportKeep = 3
	// reportTimeout bounds one build, PDF included.
	reportTimeout = 15 * time.Minute
	// reportHeartbeat is how often the building node says it is alive;
	// reportStale is how long without a sign of life makes a build
	// failed: several beats, so that one slow write does not.
	reportHeartbeat = 10 * time.Second
	reportStale     = 2 * time.Minute
	// reportPollMillis is how often the reports page asks how a build goes.
	reportPollMillis = 1000
	// actionReportBuild names a report build in the audit log.
	actionReportBuild = "report.build"
)

// Report job states, as the page and the API say them.
const (
	jobQueued  = store.JobQueued
	jobRunning = store.JobRunning
	jobDone    = store.JobDone
	jobFailed  = store.JobFailed
)

// reportJobs is what a node needs to run report builds; the builds
// themselves are in the store.
type reportJobs struct {
	// node names this server in the jobs it owns.
	node string
	// run admits one build at a time on this node: a build analyses every
	// response and drives a browser, and a node also serves respondents.
	run chan struct{}
	// renderer starts Chromium for the PDF and the Word images
	// (charts.NewRenderer; a test may say there is none).
	renderer func(context.Context) (*charts.Renderer, error)
}

func newReportJobs() *reportJobs {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	// The random part tells apart two servers on one host (and a
	// restarted one from its former self).
	node := cmp.Or(host, "node") + "-" + hex.EncodeToString(b)
	return &reportJobs{node: node, run: make(chan struct{}, 1), renderer: charts.NewRenderer}
}

// reportParams and reportProgress are a build's JSON in the jobs table.
type reportParams struct {
	Lang string `json:"lang"`
}

type reportProgress struct {
	Stages  []string `json:"stages"`
	Missing []string `json:"missing,omitempty"`
}

// reportStatus is the JSON of GET /api/v1/forms/{form_id}/report.
type reportStatus struct {
	FormID     string       `json:"form_id"`
	Job        int64        `json:"job,omitempty"` // the build's id (0: none)
	State      string       `json:"state"`         // none, queued, running, done, failed
	Lang       string       `json:"lang,omitempty"`
	By         string       `json:"by,omitempty"`
	StartedAt  *time.Time   `json:"started_at,omitempty"`
	FinishedAt *time.Time   `json:"finished_at,omitempty"`
	Stages     []string     `json:"stages"`
	Error      string       `json:"error,omitempty"`
	Files      []reportFile `json:"files"`
	// Missing says which files were not made, and why.
	Missing []string `json:"missing"`
}

type reportFile struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	Size int    `json:"size"`
}

// latestReport returns the newest build of a form (ok false: none). A
// queued or running build whose node has stopped beating is marked failed
// first, whichever node looks, so that a dead node's build does not block
// the form for ever.
func (s *Server) latestReport(ctx context.Context, formID string) (store.Job, bool, error) {
	for range 2 {
		jobs, err := s.st.Jobs(ctx, reportJobKind, formID, 1)
		if err != nil || len(jobs) == 0 {
			return store.Job{}, false, err
		}
		j := jobs[0]
		now := time.Now()
		if (j.State != jobQueued && j.State != jobRunning) || now.Sub(j.Heartbeat) <= reportStale {
			return j, true, nil
		}
		var p reportParams
		json.Unmarshal(j.Params, &p)
		if _, err := s.st.FailStaleJobs(ctx, now.Add(-reportStale), pageWords(cmp.Or(p.Lang, "zh"))["report_stale"], now); err != nil {
			return store.Job{}, false, err
		}
	}
	return store.Job{}, false, errors.New("web: report build still stale after marking it failed")
}

// reportStatusOf says a form's newest build for the page and the API.
func reportStatusOf(formID string, j store.Job, ok bool) reportStatus {
	st := reportStatus{FormID: formID, State: "none", Stages: []string{}, Files: []reportFile{}, Missing: []string{}}
	if !ok {
		return st
	}
	var params reportParams
	var progress reportProgress
	// Written by this package: a value that does not decode shows empty.
	json.Unmarshal(j.Params, &params)
	json.Unmarshal(j.Progress, &progress)
	st.Job, st.State, st.Lang, st.By, st.Error = j.ID, j.State, params.Lang, j.CreatedBy, j.Error
	started := j.CreatedAt.UTC()
	st.StartedAt = &started
	if !j.FinishedAt.IsZero() {
		ended := j.FinishedAt.UTC()
		st.FinishedAt = &ended
	}
	st.Stages = append(st.Stages, progress.Stages...)
	st.Missing = append(st.Missing, progress.Missing...)
	if j.State != jobDone {
		return st
	}
	for _, name := range reportFileNames {
		for _, f := range j.Files {
			if f.Name == name {
				st.Files = append(st.Files, reportFile{Name: name, Size: int(f.Size),
					URL: "/console/forms/" + formID + "/reports/" + name})
			}
		}
	}
	return st
}

// reportRun is the building node's view of one build: its progress, which
// it writes to the store at each stage and each heartbeat.
type reportRun struct {
	s    *Server
	js   *reportJobs
	id   int64
	lang string

	mu       sync.Mutex
	progress reportProgress
	lost     context.CancelFunc // ends the build when the store says the job is no longer ours
}

func (rr *reportRun) json() []byte {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	b, _ := json.Marshal(rr.progress)
	return b
}

// touch writes the progress and the heartbeat. A job no longer ours (it
// was marked failed as stale) stops the build: its files would be refused.
func (rr *reportRun) touch(ctx context.Context) {
	err := rr.s.st.TouchJob(ctx, rr.id, rr.js.node, rr.json(), time.Now())
	switch {
	case errors.Is(err, store.ErrConflict):
		rr.s.log.Warn("report build lost: marked failed by another node", "job", rr.id)
		rr.lost()
	case err != nil && ctx.Err() == nil:
		rr.s.log.Warn("report build: progress not written", "job", rr.id, "err", err)
	}
}

func (rr *reportRun) stage(ctx context.Context, stage string) {
	rr.mu.Lock()
	rr.progress.Stages = append(rr.progress.Stages, stage)
	rr.mu.Unlock()
	rr.touch(ctx)
}

// runReport runs a queued build on this node, one build at a time on the
// node, beating its heart from the start: while it waits for its turn,
// too, since another node may look at it meanwhile.
func (s *Server) runReport(js *reportJobs, j store.Job, lang string) {
	ctx, cancel := context.WithTimeout(context.Background(), reportTimeout)
	defer cancel()
	rr := &reportRun{s: s, js: js, id: j.ID, lang: lang, lost: cancel}
	beat := make(chan struct{})
	defer close(beat)
	go func() {
		t := time.NewTicker(reportHeartbeat)
		defer t.Stop()
		for {
			select {
			case <-beat:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				rr.touch(ctx)
			}
		}
	}()
	// Writes that end the job must happen even when the build's context
	// has ended (timeout): they are what tells the page.
	end := context.WithoutCancel(ctx)
	select {
	case js.run <- struct{}{}:
	case <-ctx.Done():
		s.failReport(end, rr, ctx.Err())
		return
	}
	defer func() { <-js.run }()
	won, err := s.st.ClaimJob(ctx, j.ID, js.node, time.Now())
	if err != nil || !won {
		if err != nil {
			s.log.Warn("report build not claimed", "job", j.ID, "err", err)
		}
		return
	}
	files, missing, err := s.makeReport(ctx, rr, j.FormID)
	if err != nil {
		s.failReport(end, rr, err)
		s.log.Warn("report build failed", "form", j.FormID, "err", err)
	} else {
		rr.mu.Lock()
		rr.progress.Missing = missing
		rr.mu.Unlock()
		var out []store.JobFile
		for _, name := range reportFileNames {
			if b, ok := files[name]; ok {
				out = append(out, store.JobFile{Name: name, ContentType: reportTypes[name], Bytes: b})
			}
		}
		if err := s.st.FinishJob(end, j.ID, js.node, rr.json(), out, time.Now()); err != nil {
			s.log.Warn("report build: files not stored", "job", j.ID, "err", err)
			s.failReport(end, rr, err)
		}
	}
	if _, err := s.st.PruneJobs(end, reportJobKind, j.FormID, reportKeep); err != nil {
		s.log.Warn("report builds not pruned", "form", j.FormID, "err", err)
	}
}

// failReport marks a build failed, saying why in the report's language.
func (s *Server) failReport(ctx context.Context, rr *reportRun, cause error) {
	msg := cause.Error() // staff with reports.write read it; the log keeps it too
	if errors.Is(cause, report.ErrNotCleaned) {
		msg = pageWords(rr.lang)["report_notcleaned"]
	}
	if err := s.st.FailJob(ctx, rr.id, rr.js.node, rr.json(), msg, time.Now()); err != nil && !errors.Is(err, store.ErrConflict) {
		s.log.Warn("report build: failure not stored", "job", rr.id, "err", err)
	}
}

// makeReport builds a form's report as the report command does: the
// form's definition (built-in or made from the form), the earlier wave
// when the definition names one that is registered, the valid responses
// of the last cleaning.
func (s *Server) makeReport(ctx context.Context, rr *reportRun, formID string) (map[string][]byte, []string, error) {
	// Its own stages are in the report's language, as report.Build's are.
	T := pageWords(rr.lang)
	progress := func(stage string) { rr.stage(ctx, stage) }
	_, f, err := s.forms.Latest(ctx, formID)
	if err != nil {
		return nil, nil, err
	}
	def, err := report.DefinitionFor(f)
	if err != nil {
		return nil, nil, err
	}
	in := report.Inputs{Store: s.st, Form: f, Definition: def, Lang: rr.lang, Progress: progress}
	if def.BaseFormID != "" {
		_, bf, err := s.forms.Latest(ctx, def.BaseFormID)
		switch {
		case err == nil:
			in.BaseForm = bf
		case errors.Is(err, store.ErrNotFound):
			progress(fmt.Sprintf(T["report_nobase"], def.BaseFormID))
		default:
			return nil, nil, err
		}
	}
	rep, err := report.Build(ctx, in)
	if err != nil {
		return nil, nil, err
	}
	files := map[string][]byte{}
	write := func(name string, fn func(*bytes.Buffer) error) error {
		progress(fmt.Sprintf(T["report_write"], name))
		var b bytes.Buffer
		if err := fn(&b); err != nil {
			return err
		}
		files[name] = b.Bytes()
		return nil
	}
	if err := write(reportHTML, func(b *bytes.Buffer) error { return rep.HTML(b) }); err != nil {
		return nil, nil, err
	}
	if err := write(reportXLSX, func(b *bytes.Buffer) error { return rep.XLSX(b) }); err != nil {
		return nil, nil, err
	}
	progress(T["report_chromium"])
	rd, err := rr.js.renderer(ctx)
	if errors.Is(err, charts.ErrNoChromium) {
		// Word without its charts (each left out with a note, its table
		// kept); no PDF.
		if err := write(reportDOCX, func(b *bytes.Buffer) error { return rep.DOCX(b, nil) }); err != nil {
			return nil, nil, err
		}
		return files, []string{T["report_nochromium"]}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer rd.Close()
	progress(T["report_draw"])
	images, err := rep.Images(ctx, rd)
	if err != nil {
		return nil, nil, err
	}
	if err := write(reportDOCX, func(b *bytes.Buffer) error { return rep.DOCX(b, images) }); err != nil {
		return nil, nil, err
	}
	if err := write(reportPDF, func(b *bytes.Buffer) error { return rep.PDF(ctx, rd, b) }); err != nil {
		return nil, nil, err
	}
	return files, nil, nil
}

// consoleReports serves GET /console/forms/{form_id}/reports.
func (s *Server) consoleReports(w http.ResponseWriter, r *http.Request, p security.Principal, js *reportJobs) {
	data, fv, _, ok := s.formPageData(w, r, p)
	if !ok {
		return
	}
	T := data["T"].(map[string]string)
	j, found, err := s.latestReport(r.Context(), fv.FormID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st := reportStatusOf(fv.FormID, j, found)
	data["Job"] = st
	data["Running"] = st.State == jobQueued || st.State == jobRunning
	data["Poll"] = reportPollMillis
	if st.StartedAt != nil {
		data["Started"] = st.StartedAt.In(chinaTime).Format("2006-01-02 15:04:05")
	}
	if st.FinishedAt != nil {
		data["Finished"] = st.FinishedAt.In(chinaTime).Format("2006-01-02 15:04:05")
	}
	var files []reportFileView
	for _, f := range st.Files {
		files = append(files, reportFileView{reportFile: f, Label: T["file_"+f.Name], Human: humanSize(f.Size)})
	}
	data["Files"] = files
	rels, err := s.st.Releases(r.Context(), fv.FormID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data["Releases"] = rels
	switch r.URL.Query().Get("started") {
	case "1":
		data["Notice"] = T["report_started"]
	case "0":
		data["Notice"] = T["report_busy"]
	}
	s.render(w, r, "console_reports.html", data)
}

type reportFileView struct {
	reportFile
	Label, Human string
}

// humanSize says n bytes as "812 KB" or "1.4 MB".
func humanSize(n int) string {
	switch {
	case n < 1000:
		return strconv.Itoa(n) + " B"
	case n < 1000*1000:
		return strconv.Itoa((n+500)/1000) + " KB"
	}
	return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) + " MB"
}

// consoleReportStart serves POST /console/forms/{form_id}/reports: it
// queues a build (audited) and sends the browser back to the page, which
// polls it.
func (s *Server) consoleReportStart(w http.ResponseWriter, r *http.Request, p security.Principal, js *reportJobs) {
	fv, _, err := s.forms.Latest(r.Context(), r.PathValue("form_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rl := r.PostFormValue("lang")
	if rl != "en" {
		rl = "zh"
	}
	// A dead node's build must not keep the form busy: latestReport
	// marks it failed.
	if _, _, err := s.latestReport(r.Context(), fv.FormID); err != nil {
		s.fail(w, r, err)
		return
	}
	params, _ := json.Marshal(reportParams{Lang: rl})
	j, err := s.st.AddJob(r.Context(), store.Job{Kind: reportJobKind, FormID: fv.FormID, Params: params,
		Node: js.node, CreatedBy: p.User}, time.Now())
	started := "0"
	switch {
	case errors.Is(err, store.ErrExists):
		// A build of this form is queued or running, on some node.
	case err != nil:
		s.fail(w, r, err)
		return
	default:
		if !s.audit(w, r, security.AuditEvent{Actor: actor(p), Action: actionReportBuild, Object: "form:" + fv.FormID,
			Outcome: security.OutcomeOK, Detail: "lang=" + rl}) {
			// Not audited, not built.
			if err := s.st.FailJob(context.WithoutCancel(r.Context()), j.ID, js.node, nil, "not audited", time.Now()); err != nil {
				s.log.Warn("report build: failure not stored", "job", j.ID, "err", err)
			}
			return
		}
		go s.runReport(js, j, rl)
		started = "1"
	}
	http.Redirect(w, r, fmt.Sprintf("/console/forms/%s/reports?lang=%s&started=%s", fv.FormID, lang(r), started), http.StatusSeeOther)
}

// reportStatusAPI serves GET /api/v1/forms/{form_id}/report.
func (s *Server) reportStatusAPI(w http.ResponseWriter, r *http.Request, p security.Principal, js *reportJobs) {
	fv, err := s.st.Form(r.Context(), r.PathValue("form_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	j, found, err := s.latestReport(r.Context(), fv.FormID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, reportStatusOf(fv.FormID, j, found))
}

// reportPreviewCSP lets the report page run its own inline scripts (the
// ECharts library and the charts' options are inline) and nothing else:
// no request leaves it, and the sandbox gives it an origin of its own, so
// its scripts cannot reach the console or its cookies.
const reportPreviewCSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; " +
	"font-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox allow-scripts"

// reportFileGet serves GET /console/forms/{form_id}/reports/{file}: the
// HTML report shown in the browser (?download=1 saves it), the others
// downloaded.
func (s *Server) reportFileGet(w http.ResponseWriter, r *http.Request, p security.Principal, js *reportJobs) {
	formID, name := r.PathValue("form_id"), r.PathValue("file")
	if !slices.Contains(reportFileNames, name) {
		s.notFound(w, r)
		return
	}
	// The file of the build the page shows: the newest, once done.
	j, found, err := s.latestReport(r.Context(), formID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var f store.JobFile
	if found && j.State == jobDone {
		f, err = s.st.JobFile(r.Context(), j.ID, name)
	}
	switch {
	case !found || j.State != jobDone || errors.Is(err, store.ErrNotFound):
		s.writeError(w, http.StatusNotFound, "not_found", "no "+name+" of "+formID+": generate the report", "")
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	b := f.Bytes
	h := w.Header()
	h.Set("Content-Type", reportTypes[name])
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	if name == reportHTML {
		h.Set("Content-Security-Policy", reportPreviewCSP)
	}
	if name != reportHTML || r.URL.Query().Get("download") == "1" {
		h.Set("Content-Disposition", `attachment; filename="`+formID+"-"+name+`"`)
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}
