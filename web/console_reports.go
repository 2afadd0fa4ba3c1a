package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/govsurvey/govsurvey/report"
	"github.com/govsurvey/govsurvey/report/charts"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// Reports in the console (issue #9 part 5): a staff member with
// reports.write starts a build of a form's report; it runs in the
// background on the node that took the request while the page polls its
// progress, and the files are kept in that node's memory, the last build
// of each form, until the next build or a restart. A build is an
// on-demand job: with several nodes behind a balancer, the page and its
// polls must reach the same node (sticky sessions); the files are one
// click away from being rebuilt. Nothing of it is written to the
// database or to disk.

// Report file names, in the order the page lists them.
const (
	reportHTML = "report.html"
	reportXLSX = "tables.xlsx"
	reportDOCX = "report.docx"
	reportPDF  = "report.pdf"
)

var reportFileNames = []string{reportHTML, reportXLSX, reportDOCX, reportPDF}

const (
	// maxReportForms bounds how many forms' reports a node keeps; the
	// oldest finished one makes room.
	maxReportForms = 8
	// reportTimeout bounds one build, PDF included.
	reportTimeout = 15 * time.Minute
	// reportPollMillis is how often the reports page asks how a build goes.
	reportPollMillis = 1000
	// actionReportBuild names a report build in the audit log.
	actionReportBuild = "report.build"
)

// Report job states.
const (
	jobQueued  = "queued"
	jobRunning = "running"
	jobDone    = "done"
	jobFailed  = "failed"
)

// reportJobs is a node's report builds, one per form.
type reportJobs struct {
	mu   sync.Mutex
	jobs map[string]*reportJob // by form id
	// run admits one build at a time: a build analyses every response and
	// drives a browser, and a node also serves respondents.
	run chan struct{}
	// renderer starts Chromium for the PDF and the Word images
	// (charts.NewRenderer; a test may say there is none).
	renderer func(context.Context) (*charts.Renderer, error)
}

func newReportJobs() *reportJobs {
	return &reportJobs{jobs: map[string]*reportJob{}, run: make(chan struct{}, 1), renderer: charts.NewRenderer}
}

// reportJob is one build. Its fields change under reportJobs.mu.
type reportJob struct {
	formID, lang, by string
	started, ended   time.Time
	state            string
	stages           []string
	err              string
	files            map[string][]byte
	missing          []string
}

// reportStatus is the JSON of GET /api/v1/forms/{form_id}/report.
type reportStatus struct {
	FormID     string       `json:"form_id"`
	State      string       `json:"state"` // none, queued, running, done, failed
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

// status copies a form's job for the page and the API.
func (js *reportJobs) status(formID string) reportStatus {
	js.mu.Lock()
	defer js.mu.Unlock()
	st := reportStatus{FormID: formID, State: "none", Stages: []string{}, Files: []reportFile{}, Missing: []string{}}
	j, ok := js.jobs[formID]
	if !ok {
		return st
	}
	st.State, st.Lang, st.By, st.Error = j.state, j.lang, j.by, j.err
	started := j.started.UTC()
	st.StartedAt = &started
	if !j.ended.IsZero() {
		ended := j.ended.UTC()
		st.FinishedAt = &ended
	}
	st.Stages = append(st.Stages, j.stages...)
	st.Missing = append(st.Missing, j.missing...)
	for _, name := range reportFileNames {
		if b, ok := j.files[name]; ok {
			st.Files = append(st.Files, reportFile{Name: name, Size: len(b),
				URL: "/console/forms/" + formID + "/reports/" + name})
		}
	}
	return st
}

// start queues a build of formID unless one is queued or running; it
// returns the job to run, or nil.
func (js *reportJobs) start(formID, lang, by string) *reportJob {
	js.mu.Lock()
	defer js.mu.Unlock()
	if j, ok := js.jobs[formID]; ok && (j.state == jobQueued || j.state == jobRunning) {
		return nil
	}
	if _, ok := js.jobs[formID]; !ok && len(js.jobs) >= maxReportForms {
		oldest := ""
		for id, j := range js.jobs {
			if (j.state == jobDone || j.state == jobFailed) && (oldest == "" || j.ended.Before(js.jobs[oldest].ended)) {
				oldest = id
			}
		}
		if oldest == "" {
			return nil // every kept job is still running: the node is busy enough
		}
		delete(js.jobs, oldest)
	}
	j := &reportJob{formID: formID, lang: lang, by: by, started: time.Now(), state: jobQueued}
	js.jobs[formID] = j
	return j
}

func (js *reportJobs) stage(j *reportJob, s string) {
	js.mu.Lock()
	j.stages = append(j.stages, s)
	js.mu.Unlock()
}

func (js *reportJobs) setState(j *reportJob, state string) {
	js.mu.Lock()
	j.state = state
	js.mu.Unlock()
}

// file looks up a finished job's file.
func (js *reportJobs) file(formID, name string) ([]byte, bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	j, ok := js.jobs[formID]
	if !ok {
		return nil, false
	}
	b, ok := j.files[name]
	return b, ok
}

// runReport builds a job's files, one build at a time on the node.
func (s *Server) runReport(js *reportJobs, j *reportJob) {
	ctx, cancel := context.WithTimeout(context.Background(), reportTimeout)
	defer cancel()
	js.run <- struct{}{}
	defer func() { <-js.run }()
	js.setState(j, jobRunning)
	files, missing, err := s.makeReport(ctx, js, j)
	js.mu.Lock()
	defer js.mu.Unlock()
	j.ended = time.Now()
	j.files, j.missing = files, missing
	j.state = jobDone
	if err != nil {
		j.state = jobFailed
		T := pageWords(j.lang)
		switch {
		case errors.Is(err, report.ErrNotCleaned):
			j.err = T["report_notcleaned"]
		default:
			// Staff with reports.write read it; the log keeps it too.
			j.err = err.Error()
		}
		s.log.Warn("report build failed", "form", j.formID, "err", err)
	}
}

// makeReport builds a form's report as the report command does: the
// form's definition (built-in or made from the form), the earlier wave
// when the definition names one that is registered, the valid responses
// of the last cleaning.
func (s *Server) makeReport(ctx context.Context, js *reportJobs, j *reportJob) (map[string][]byte, []string, error) {
	// Its own stages are in the report's language, as report.Build's are.
	T := pageWords(j.lang)
	progress := func(stage string) { js.stage(j, stage) }
	_, f, err := s.forms.Latest(ctx, j.formID)
	if err != nil {
		return nil, nil, err
	}
	def, err := report.DefinitionFor(f)
	if err != nil {
		return nil, nil, err
	}
	in := report.Inputs{Store: s.st, Form: f, Definition: def, Lang: j.lang, Progress: progress}
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
	rd, err := js.renderer(ctx)
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
	st := js.status(fv.FormID)
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
	j := js.start(fv.FormID, rl, p.User)
	started := "0"
	if j != nil {
		if !s.audit(w, r, security.AuditEvent{Actor: actor(p), Action: actionReportBuild, Object: "form:" + fv.FormID,
			Outcome: security.OutcomeOK, Detail: "lang=" + rl}) {
			js.mu.Lock()
			delete(js.jobs, fv.FormID)
			js.mu.Unlock()
			return
		}
		go s.runReport(js, j)
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
	s.writeJSON(w, http.StatusOK, js.status(fv.FormID))
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
	b, ok := js.file(formID, name)
	if !ok {
		s.writeError(w, http.StatusNotFound, "not_found", "no "+name+" of "+formID+" on this server: generate the report", "")
		return
	}
	h := w.Header()
	types := map[string]string{
		reportHTML: "text/html; charset=utf-8",
		reportXLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		reportDOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		reportPDF:  "application/pdf",
	}
	h.Set("Content-Type", types[name])
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
