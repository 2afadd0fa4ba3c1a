package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/sample"
	"github.com/govsurvey/govsurvey/store"
)

// TestBrowserReports walks the reports and the live dashboard at phone
// width: an analyst generates the netizen report of a small seed sample
// (1/500) and sees its stages until the files are listed; the preview
// draws its charts with no console error and no request at all; the
// dashboard draws the same charts with the app's own ECharts.
func TestBrowserReports(t *testing.T) {
	e := newConsoleRig(t, 5*time.Minute, Options{})
	ctx := t.Context()
	f, err := sample.SeedForm("netizen_2019")
	if err != nil {
		t.Fatal(err)
	}
	def, err := f.Definition()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(def)
	fv, _, err := e.sealing.AddForm(ctx, store.FormVersion{FormID: f.ID, Version: f.Version, Title: f.Title,
		Hash: hex.EncodeToString(sum[:]), Definition: def, SourceName: "netizen_2019.xlsx"})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := sample.SeedPlan("netizen_2019", 500)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.AddTo(ctx, e.sealing, fv, f, "web"); err != nil {
		t.Fatal(err)
	}
	fun, err := clean.Run(ctx, e.sealing.Joined(), "netizen_2019")
	if err != nil {
		t.Fatal(err)
	}

	tb := e.staff("analyst", "/console/forms/netizen_2019/reports?lang=en", "#generate")
	run, text, is, page := tb.run, tb.text, tb.is, tb.page
	page("1-reports-none")
	tb.follow("generate", "#job-stages", chromedp.Click(chromedp.CSS("#generate")))
	// The running page reloads itself whenever the build ends, so no
	// script is run on it (one would meet the reload): only a screenshot,
	// which does not need the page's execution context. page() checks
	// the same layout once the build has ended.
	tb.screenshot("2-reports-running")
	// The page polls the build and reloads itself when it has ended; a
	// query retries through the reload until the ended page is there, and
	// that page no longer polls. The guard bounds a build that never ends.
	ectx, ecancel := context.WithTimeout(tb.ctx, 3*time.Minute)
	err = chromedp.Do(ectx, chromedp.WaitReady(chromedp.CSS("#report-files, #job-error")))
	ecancel()
	if err != nil {
		t.Fatalf("the build did not end: %v", err)
	}
	if is(`!!document.getElementById('job-error')`) {
		t.Fatalf("the build failed: %s", text("#job-error"))
	}
	if got := text("#job-state"); !strings.HasPrefix(got, "done") {
		t.Errorf("state %q", got)
	}
	if !is(`document.querySelectorAll('#job-stages li').length >= 3`) {
		t.Errorf("stages: %q", text("#job-stages"))
	}
	files := text("#report-files")
	for _, want := range []string{"Preview in the browser", "tables.xlsx", "report.docx", "report.pdf"} {
		if !strings.Contains(files, want) {
			t.Errorf("files list %q lacks %q", files, want)
		}
	}
	if is(`!!document.getElementById('report-missing')`) {
		t.Errorf("missing: %q", text("#report-missing"))
	}
	if strings.Contains(text("main"), "being generated") {
		t.Error("the started notice outlived the build")
	}
	page("3-reports-done")

	// The preview: a page of its own in a sandbox, everything inline (its
	// charts are SVG).
	run("preview", chromedp.Navigate(e.ts.URL+"/console/forms/netizen_2019/reports/report.html"))
	if err := tb.poll(`window.__chartsDone === true && document.querySelectorAll('div.chart[data-figure] svg').length > 3`, 60*time.Second); err != nil {
		t.Fatalf("the preview drew no charts: %v", err)
	}
	if !is(`performance.getEntriesByType('resource').length === 0`) {
		t.Error("the preview made requests")
	}
	if !strings.Contains(text("body"), fmtCount(fun.Valid)) {
		t.Errorf("the preview does not give the %d valid responses", fun.Valid)
	}
	tb.screenshot("4-preview")

	// The dashboard.
	tb.open("dashboard", e.ts.URL+"/console/forms/netizen_2019/dashboard?lang=en", "#dash-figures")
	if err := tb.poll(`document.querySelectorAll('#dash-figures figure canvas').length > 3`, 60*time.Second); err != nil {
		t.Fatalf("the dashboard drew no charts: %v", err)
	}
	if got := text("#dash-basis"); !strings.Contains(got, "Valid responses of the last cleaning") {
		t.Errorf("basis %q", got)
	}
	if !is(`Array.prototype.every.call(document.querySelectorAll('#dash-figures canvas'), function (c) { return c.width > 0 && c.height > 0; })`) {
		t.Error("an empty canvas")
	}
	page("5-dashboard")
	tb.noConsoleErrors()
	t.Logf("screenshots in %s", e.art)
}

// fmtCount writes n as the report does, with thousands separators.
func fmtCount(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
