package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// submitCensus posts n responses to the console test form.
func submitCensus(t *testing.T, base string, from, n int) {
	t.Helper()
	provinces := []string{"zhejiang", "beijing", "guangdong"}
	now := time.Now()
	for i := from; i < from+n; i++ {
		body := fmt.Sprintf(`{"instance_id":"r%d","started":%q,"ended":%q,"answers":{"province":%q,"age":"%d"}}`, i,
			now.Add(-time.Duration(5+i)*time.Minute).Format(time.RFC3339), now.Format(time.RFC3339), provinces[i%3], 20+i)
		if r := do(t, http.DefaultClient, "POST", base+"/api/v1/forms/census/submissions", "application/json", body); r.status != http.StatusCreated {
			t.Fatalf("submit: %d %s", r.status, r.body)
		}
	}
}

// waitReport polls the job's status until it has ended (a bounded number
// of polls, no time assertion).
func waitReport(t *testing.T, c *http.Client, base string) reportStatus {
	t.Helper()
	var st reportStatus
	for range 600 {
		r := do(t, c, "GET", base+"/api/v1/forms/census/report", "", "")
		if r.status != http.StatusOK {
			t.Fatalf("report status: %d %s", r.status, r.body)
		}
		st = reportStatus{}
		if err := json.Unmarshal([]byte(r.body), &st); err != nil {
			t.Fatal(err)
		}
		if st.State == jobDone || st.State == jobFailed {
			return st
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("report still %s: %+v", st.State, st)
	return st
}

// TestConsoleReports: a build refused before cleaning says why; after it
// the HTML, Excel and Word files are kept and served (the HTML in a
// sandbox that allows no request); without Chromium the page says there is
// no PDF and Word has no charts; the build's stages are in the report's
// language. The build is audited. Permissions: reports.write for reports.
func TestConsoleReports(t *testing.T) {
	t.Setenv("GOVSURVEY_CHROMIUM", "/nonexistent/chromium") // the page must say what is missing
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
	if _, _, _, err := collect.AddForm(t.Context(), e.sealing, "console.md", readTestdata(t, "console.md")); err != nil {
		t.Fatal(err)
	}
	submitCensus(t, e.ts.URL, 0, 6)
	analyst, designer := e.session(t, "analyst"), e.session(t, "designer")
	for _, u := range []string{"/console/forms/census/reports", "/api/v1/forms/census/report", "/console/forms/census/reports/report.html"} {
		if r := do(t, designer, "GET", e.ts.URL+u, "", ""); r.status != http.StatusForbidden {
			t.Errorf("designer GET %s: %d", u, r.status)
		}
	}
	page := do(t, analyst, "GET", e.ts.URL+"/console/forms/census/reports?lang=en", "", "")
	if page.status != http.StatusOK || !strings.Contains(page.body, `data-state="none"`) || !strings.Contains(page.body, "No report generated yet") {
		t.Fatalf("reports page: %d\n%s", page.status, page.body)
	}
	if r := do(t, analyst, "GET", e.ts.URL+"/console/forms/census/reports/report.html", "", ""); r.status != http.StatusNotFound {
		t.Errorf("report.html before a build: %d", r.status)
	}
	if r := do(t, analyst, "POST", e.ts.URL+"/console/forms/census/reports", "application/x-www-form-urlencoded", "lang=en"); r.status != http.StatusForbidden {
		t.Errorf("POST without the CSRF token: %d", r.status)
	}

	// Not cleaned: the build fails and says what to do.
	r := e.postForm(t, analyst, "/console/forms/census/reports?lang=en", url.Values{"lang": {"en"}})
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "started=1") {
		t.Fatalf("start: %d %s", r.status, r.header.Get("Location"))
	}
	st := waitReport(t, analyst, e.ts.URL)
	if st.State != jobFailed || st.Error != pageWords("en")["report_notcleaned"] || len(st.Files) != 0 {
		t.Errorf("uncleaned build: %+v", st)
	}

	fun, err := clean.Run(t.Context(), e.sealing.Joined(), "census")
	if err != nil {
		t.Fatal(err)
	}
	r = e.postForm(t, analyst, "/console/forms/census/reports?lang=en", url.Values{"lang": {"en"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("start: %d", r.status)
	}
	st = waitReport(t, analyst, e.ts.URL)
	var names []string
	for _, f := range st.Files {
		names = append(names, f.Name)
	}
	if st.State != jobDone || st.Lang != "en" || st.By != "analyst" || strings.Join(names, ",") != "report.html,tables.xlsx,report.docx" ||
		len(st.Missing) != 1 || !strings.Contains(st.Missing[0], "Chromium") || len(st.Stages) == 0 {
		t.Fatalf("cleaned build: %+v", st)
	}
	html := do(t, analyst, "GET", e.ts.URL+st.Files[0].URL, "", "")
	csp := html.header.Get("Content-Security-Policy")
	if html.status != http.StatusOK || !strings.Contains(csp, "sandbox allow-scripts") || !strings.Contains(csp, "default-src 'none'") ||
		html.header.Get("Content-Disposition") != "" || !strings.Contains(html.body, "echarts") ||
		!strings.Contains(html.body, fmt.Sprint(fun.Valid)) {
		t.Errorf("report.html: %d CSP %q, %d bytes", html.status, csp, len(html.body))
	}
	if dl := do(t, analyst, "GET", e.ts.URL+st.Files[0].URL+"?download=1", "", ""); !strings.Contains(dl.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("report.html?download=1: %q", dl.header.Get("Content-Disposition"))
	}
	xl := do(t, analyst, "GET", e.ts.URL+st.Files[1].URL, "", "")
	if x, err := excelize.OpenReader(bytes.NewReader([]byte(xl.body))); err != nil || len(x.GetSheetList()) == 0 {
		t.Errorf("tables.xlsx: %d, %v", xl.status, err)
	}
	docx := do(t, analyst, "GET", e.ts.URL+st.Files[2].URL, "", "")
	if docx.status != http.StatusOK || !strings.HasPrefix(docx.body, "PK") || !strings.Contains(docx.header.Get("Content-Disposition"), "census-report.docx") {
		t.Errorf("report.docx: %d %q", docx.status, docx.header.Get("Content-Disposition"))
	}
	for _, name := range []string{"report.pdf", "other.txt"} {
		if r := do(t, analyst, "GET", e.ts.URL+"/console/forms/census/reports/"+name, "", ""); r.status != http.StatusNotFound {
			t.Errorf("%s: %d", name, r.status)
		}
	}
	page = do(t, analyst, "GET", e.ts.URL+"/console/forms/census/reports?lang=en", "", "")
	if !strings.Contains(page.body, `id="preview"`) || !strings.Contains(page.body, "No PDF") {
		t.Errorf("reports page after the build:\n%s", page.body)
	}

	// The console's own stages follow the report's language, as
	// report.Build's do.
	stages := map[string][]string{"en": st.Stages}
	r = e.postForm(t, analyst, "/console/forms/census/reports?lang=en", url.Values{"lang": {"zh"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("start (zh): %d", r.status)
	}
	if st = waitReport(t, analyst, e.ts.URL); st.State != jobDone || st.Lang != "zh" {
		t.Fatalf("zh build: %+v", st)
	}
	stages["zh"] = st.Stages
	for _, tt := range []struct {
		lang       string
		want, miss []string
	}{
		{"en", []string{"write report.html", "write tables.xlsx", "start Chromium", "write report.docx"}, []string{"启动 Chromium"}},
		{"zh", []string{"生成 report.html", "生成 tables.xlsx", "启动 Chromium", "生成 report.docx"}, []string{"write report.html", "start Chromium"}},
	} {
		for _, w := range tt.want {
			if !slices.Contains(stages[tt.lang], w) {
				t.Errorf("%s stages %q lack %q", tt.lang, stages[tt.lang], w)
			}
		}
		for _, m := range tt.miss {
			if slices.Contains(stages[tt.lang], m) {
				t.Errorf("%s stages %q have %q", tt.lang, stages[tt.lang], m)
			}
		}
	}

	entries, _, err := security.ReadAudit(t.Context(), e.raw)
	if err != nil {
		t.Fatal(err)
	}
	builds := 0
	for _, en := range entries {
		if en.Action == actionReportBuild && en.Actor == "analyst" && en.Object == "form:census" {
			builds++
		}
	}
	if builds != 3 {
		t.Errorf("%d report builds audited, want 3", builds)
	}
}

// TestConsoleReportsTwoNodes: two servers on one store, as serve nodes
// behind a balancer. A build requested on A is followed and downloaded on
// B, byte for byte as A serves it; a build queued or running on another
// node keeps the form busy; one whose node stopped beating is marked
// failed by the next look and no longer does; the store keeps the last
// reportKeep builds of the form.
func TestConsoleReportsTwoNodes(t *testing.T) {
	t.Setenv("GOVSURVEY_CHROMIUM", "/nonexistent/chromium")
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newStaffEnv(t, b.Open(t), Options{})
			srvB, err := New(Options{Store: e.sealing, Sealing: e.sealing, Accounts: e.accounts, Audit: e.log,
				AuditVerifier: e.srv.auditKey, PseudonymKey: &e.srv.pseudonymKey})
			if err != nil {
				t.Fatal(err)
			}
			tsB := httptest.NewServer(srvB)
			t.Cleanup(func() {
				tsB.Close()
				srvB.Close()
			})
			if _, _, _, err := collect.AddForm(t.Context(), e.sealing, "console.md", readTestdata(t, "console.md")); err != nil {
				t.Fatal(err)
			}
			submitCensus(t, e.ts.URL, 0, 6)
			if _, err := clean.Run(t.Context(), e.sealing.Joined(), "census"); err != nil {
				t.Fatal(err)
			}
			// One session for both: sessions are in the store, and the
			// cookie jar sends the cookie to both ports of 127.0.0.1.
			analyst := e.session(t, "analyst")
			start := func() string {
				t.Helper()
				r := e.postForm(t, analyst, "/console/forms/census/reports?lang=en", url.Values{"lang": {"en"}})
				if r.status != http.StatusSeeOther {
					t.Fatalf("start: %d %s", r.status, r.body)
				}
				u, err := url.Parse(r.header.Get("Location"))
				if err != nil {
					t.Fatal(err)
				}
				return u.Query().Get("started")
			}

			// A build queued by another node, alive: the form is busy on A.
			other, err := e.raw.AddJob(t.Context(), store.Job{Kind: reportJobKind, FormID: "census", Node: "node-c",
				CreatedBy: "analyst", Params: []byte(`{"lang":"en"}`)}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if got := start(); got != "0" {
				t.Errorf("start beside another node's build: started=%s, want 0", got)
			}
			if err := e.raw.FailJob(t.Context(), other.ID, "node-c", nil, "gone", time.Now()); err != nil {
				t.Fatal(err)
			}
			// One whose node stopped beating long ago: B's next look fails it.
			if _, err := e.raw.AddJob(t.Context(), store.Job{Kind: reportJobKind, FormID: "census", Node: "node-d",
				CreatedBy: "analyst", Params: []byte(`{"lang":"en"}`)}, time.Now().Add(-2*reportStale)); err != nil {
				t.Fatal(err)
			}
			if st := waitReport(t, analyst, tsB.URL); st.State != jobFailed || st.Error != pageWords("en")["report_stale"] {
				t.Errorf("stale build seen on B: %+v", st)
			}

			// Requested on A, followed and fetched on B.
			for i := range 2 {
				if got := start(); got != "1" {
					t.Fatalf("build %d: started=%s, want 1", i, got)
				}
				st := waitReport(t, analyst, tsB.URL)
				if st.State != jobDone || st.By != "analyst" || len(st.Files) != 3 || len(st.Stages) == 0 {
					t.Fatalf("build %d seen on B: %+v", i, st)
				}
				fromB := do(t, analyst, "GET", tsB.URL+st.Files[0].URL, "", "")
				fromA := do(t, analyst, "GET", e.ts.URL+st.Files[0].URL, "", "")
				if fromB.status != http.StatusOK || !strings.Contains(fromB.body, "echarts") || fromB.body != fromA.body ||
					fromB.header.Get("Content-Security-Policy") != reportPreviewCSP {
					t.Errorf("build %d: report.html from B: %d, %d bytes (A: %d, %d bytes)", i, fromB.status, len(fromB.body), fromA.status, len(fromA.body))
				}
				page := do(t, analyst, "GET", tsB.URL+"/console/forms/census/reports?lang=en", "", "")
				if !strings.Contains(page.body, `data-state="done"`) || !strings.Contains(page.body, `id="preview"`) {
					t.Errorf("build %d: reports page on B:\n%s", i, page.body)
				}
			}
			// Four builds, two of them failed: the last reportKeep stay.
			jobs, err := e.raw.Jobs(t.Context(), reportJobKind, "census", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(jobs) != reportKeep || jobs[0].State != jobDone || jobs[1].State != jobDone || jobs[2].State != jobFailed {
				t.Errorf("%d builds kept, want %d (done, done, failed): %+v", len(jobs), reportKeep, jobs)
			}
		})
	}
}

// TestConsoleDashboard: before cleaning the figures count every response,
// after it the valid ones as clean.Run counted them; each figure carries
// an ECharts option. Permission: analysis.read.
func TestConsoleDashboard(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newStaffEnv(t, b.Open(t), Options{})
			if _, _, _, err := collect.AddForm(t.Context(), e.sealing, "console.md", readTestdata(t, "console.md")); err != nil {
				t.Fatal(err)
			}
			analyst, designer := e.session(t, "analyst"), e.session(t, "designer")
			if r := do(t, designer, "GET", e.ts.URL+"/api/v1/forms/census/dashboard", "", ""); r.status != http.StatusForbidden {
				t.Errorf("designer: %d", r.status)
			}
			get := func() dashboard {
				t.Helper()
				r := do(t, analyst, "GET", e.ts.URL+"/api/v1/forms/census/dashboard?lang=en", "", "")
				if r.status != http.StatusOK {
					t.Fatalf("dashboard: %d %s", r.status, r.body)
				}
				var d dashboard
				if err := json.Unmarshal([]byte(r.body), &d); err != nil {
					t.Fatal(err)
				}
				return d
			}
			if d := get(); d.Basis != "all" || d.Collected != 0 || len(d.Figures) != 0 {
				t.Errorf("empty form: %+v", d)
			}
			submitCensus(t, e.ts.URL, 0, 4)
			d := get()
			if d.Basis != "all" || d.Collected != 4 || d.Valid != 4 || len(d.Figures) == 0 {
				t.Fatalf("uncleaned: %+v", d)
			}
			for _, f := range d.Figures {
				var opt map[string]any
				if err := json.Unmarshal(f.Option, &opt); err != nil || opt["series"] == nil || f.Caption == "" {
					t.Errorf("figure %s: %v %s", f.ID, err, f.Option)
				}
			}
			fun, err := clean.Run(t.Context(), e.sealing.Joined(), "census")
			if err != nil {
				t.Fatal(err)
			}
			// A new cleaning is seen at once, however recent the figures.
			d = get()
			if d.Basis != "valid" || d.Collected != fun.Collected || d.Valid != fun.Valid {
				t.Errorf("cleaned: %+v, funnel %+v", d, fun)
			}
			page := do(t, analyst, "GET", e.ts.URL+"/console/forms/census/dashboard", "", "")
			if page.status != http.StatusOK || !strings.Contains(page.body, `src="/console/assets/echarts.js`) {
				t.Errorf("dashboard page: %d", page.status)
			}
		})
	}
}

// TestFormStarts: the start beacon counts a page load once, refuses what
// is not a page id, a missing form and a flood; the collection page's
// completion rate is submissions over starts of the same hours.
func TestFormStarts(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newStaffEnv(t, b.Open(t), Options{})
			if _, _, _, err := collect.AddForm(t.Context(), e.sealing, "console.md", readTestdata(t, "console.md")); err != nil {
				t.Fatal(err)
			}
			start := func(form, body string) int {
				t.Helper()
				return do(t, http.DefaultClient, "POST", e.ts.URL+"/api/v1/forms/"+form+"/starts", "application/json", body).status
			}
			for _, tc := range []struct {
				form, body string
				want       int
			}{
				{"census", `{"page":"0f8fad5b-d9cb-469f-a165-70867728950e"}`, http.StatusNoContent},
				{"census", `{"page":"0f8fad5b-d9cb-469f-a165-70867728950e"}`, http.StatusNoContent}, // the same load: not counted again
				{"census", `{"page":"7c9e6679-7425-40de-944b-e07fc1f90ae7"}`, http.StatusNoContent},
				{"census", `{"page":"short"}`, http.StatusBadRequest},
				{"census", `{"page":"<script>alert(1)</script>"}`, http.StatusBadRequest},
				{"census", `not json`, http.StatusBadRequest},
				{"census", `{"page":"` + strings.Repeat("a", 300) + `"}`, http.StatusRequestEntityTooLarge},
				{"nosuch", `{"page":"7c9e6679-7425-40de-944b-e07fc1f90ae7"}`, http.StatusNotFound},
			} {
				if got := start(tc.form, tc.body); got != tc.want {
					t.Errorf("POST starts of %s %.40s: %d, want %d", tc.form, tc.body, got, tc.want)
				}
			}
			submitCensus(t, e.ts.URL, 0, 1)
			c := e.session(t, "designer")
			r := do(t, c, "GET", e.ts.URL+"/api/v1/forms/census/progress?lang=en", "", "")
			var p progress
			if err := json.Unmarshal([]byte(r.body), &p); err != nil {
				t.Fatal(err)
			}
			if p.Starts != 2 || p.Submitted != 1 || p.CompletionRate == nil || *p.CompletionRate != 0.5 || p.CompletionText != "50%" {
				t.Errorf("progress: starts %d submitted %d rate %v %q", p.Starts, p.Submitted, p.CompletionRate, p.CompletionText)
			}
			// Nothing of the respondent is kept: the store has the count only.
			cnt, err := e.raw.CollectionCounts(t.Context(), "census", store.CountsQuery{HoursFrom: time.Now().Add(-2 * time.Hour), Hours: 3})
			if err != nil || cnt.Starts != 2 {
				t.Errorf("stored starts: %d, %v", cnt.Starts, err)
			}
			// The address limit of submissions, on a limiter of its own.
			limited := false
			for i := 0; i < 70 && !limited; i++ {
				limited = start("census", fmt.Sprintf(`{"page":"flood-%04d"}`, i)) == http.StatusTooManyRequests
			}
			if !limited {
				t.Error("70 starts from one address were all taken")
			}
			if r := do(t, http.DefaultClient, "POST", e.ts.URL+"/api/v1/forms/census/submissions", "application/json",
				`{"instance_id":"after-flood","answers":{"province":"beijing","age":"40"}}`); r.status != http.StatusCreated {
				t.Errorf("a submission after the beacon flood: %d %s", r.status, r.body)
			}
		})
	}
}

// TestConsoleScheduleLocation: the console reads and writes open_at in
// the collector's location, as submissions are checked, and names it; a
// time an hour ahead there is "not open yet" on the share page, to the
// respondent and to a submission alike. (Read in China time, thirteen
// hours ahead of this location, it would have passed.)
func TestConsoleScheduleLocation(t *testing.T) {
	loc := time.FixedZone("EST", -5*3600)
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{Collect: collect.Options{Location: loc}})
	if _, _, _, err := collect.AddForm(t.Context(), e.sealing, "console.md", readTestdata(t, "console.md")); err != nil {
		t.Fatal(err)
	}
	c := e.session(t, "designer")
	wall := time.Now().In(loc).Add(time.Hour).Format("2006-01-02T15:04")
	if r := e.postForm(t, c, "/console/forms/census/schedule?lang=en", url.Values{"open_at": {wall}}); r.status != http.StatusSeeOther {
		t.Fatalf("schedule: %d %s", r.status, r.body)
	}
	page := do(t, c, "GET", e.ts.URL+"/console/forms/census/share?lang=en", "", "")
	if !strings.Contains(page.body, `value="`+wall+`"`) || !strings.Contains(page.body, "not open yet") || !strings.Contains(page.body, "EST, UTC-05:00") {
		t.Errorf("share page:\n%s", page.body)
	}
	want := "This survey opens on " + strings.Replace(wall, "T", " ", 1)
	var waiting reply
	for range 40 { // the collector looks the latest revision up every couple of seconds
		if waiting = do(t, http.DefaultClient, "GET", e.ts.URL+"/f/census?lang=en", "", ""); strings.Contains(waiting.body, want) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if !strings.Contains(waiting.body, want) {
		t.Errorf("respondent form: want %q in\n%.600s", want, waiting.body)
	}
	if r := do(t, http.DefaultClient, "POST", e.ts.URL+"/api/v1/forms/census/submissions?lang=en", "application/json",
		`{"instance_id":"early","answers":{"province":"beijing","age":"40"}}`); r.status != http.StatusForbidden || !strings.Contains(r.body, "form_not_open") {
		t.Errorf("an early submission: %d %s", r.status, r.body)
	}
}

// TestConsolePublicURL: with a public URL the share link and its QR code
// name it, not the host the console was reached at.
func TestConsolePublicURL(t *testing.T) {
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{PublicURL: "https://survey.example.gov.cn/s/"})
	if _, _, _, err := collect.AddForm(t.Context(), e.sealing, "console.md", readTestdata(t, "console.md")); err != nil {
		t.Fatal(err)
	}
	c := e.session(t, "designer")
	page := do(t, c, "GET", e.ts.URL+"/console/forms/census/share?lang=en", "", "")
	if !strings.Contains(page.body, `href="https://survey.example.gov.cn/s/f/census"`) || strings.Contains(page.body, e.ts.URL+"/f/census") {
		t.Errorf("share page:\n%s", page.body)
	}
	if got := e.srv.shareURL(httptestRequest(e.ts.URL), "census"); got != "https://survey.example.gov.cn/s/f/census" {
		t.Errorf("shareURL (the QR code's text) = %q", got)
	}
}

func httptestRequest(u string) *http.Request {
	r, _ := http.NewRequest("GET", u+"/console/forms/census/qr.svg", nil)
	r.Host = strings.TrimPrefix(u, "http://")
	return r
}
