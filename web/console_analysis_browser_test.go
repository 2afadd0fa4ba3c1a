package web

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/govsurvey/govsurvey/internal/browsertest"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// TestBrowserCleaningAnalysis: at phone width an analyst runs cleaning,
// overrides a flagged speeder with a note and sees the funnel's valid
// count go up by one; then opens the analysis page, picks a question, a
// cross-tab and weights with margins, and sees percents with confidence
// intervals, the weighting line and a chart (the vendored ECharts). No console errors, nothing wider than
// the screen, every control labelled.
func TestBrowserCleaningAnalysis(t *testing.T) {
	browser := browsertest.New(t, 3*time.Minute)
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
	seedAnalysis(t, e)
	art := artifactDir(t)

	ctx, cancel := chromedp.NewContext(browser)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	var logs consoleLog
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watchConsole(watchCtx, &logs)

	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	is := func(js string) bool {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	valid := func() int {
		t.Helper()
		n, err := strconv.Atoi(text("#funnel tr:last-child td.num"))
		if err != nil {
			t.Fatalf("valid count: %v", err)
		}
		return n
	}
	page := func(name string) {
		t.Helper()
		if is(`document.documentElement.scrollWidth > window.innerWidth`) {
			t.Errorf("%s is wider than the phone's screen", name)
		}
		if !is(`Array.prototype.every.call(document.querySelectorAll('input:not([type=hidden]), select, textarea'), function (el) {
			return (el.labels && el.labels.length > 0) || el.getAttribute('aria-label'); })`) {
			t.Errorf("%s has a control without a label", name)
		}
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(80))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(art, name+".jpg"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	run("log in as an analyst",
		chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch),
		chromedp.Navigate(e.ts.URL+"/login?next="+"/console/forms/analysis/cleaning%3Flang%3Den"),
		chromedp.WaitVisible(chromedp.CSS("#user")),
		chromedp.SendKeys(chromedp.CSS("#user"), "analyst"),
		chromedp.SendKeys(chromedp.CSS("#password"), staffPassword),
		chromedp.Click(chromedp.CSS("button.primary")),
		chromedp.WaitVisible(chromedp.CSS("#rerun")),
	)
	run("run cleaning", chromedp.Click(chromedp.CSS("#rerun")), chromedp.WaitVisible(chromedp.CSS("#ran")))
	before := valid()
	page("1-cleaning")

	run("speeders", chromedp.Click(chromedp.CSS(`#funnel a[href*="reason=speeding"]`)), chromedp.WaitVisible(chromedp.CSS(".flag")))
	if got := text(".flag ul"); !strings.Contains(got, "speeding") {
		t.Errorf("first speeder's rules: %q", got)
	}
	run("override the first speeder",
		chromedp.Click(chromedp.CSS(`.flag input[value="valid"]`)),
		chromedp.SendKeys(chromedp.CSS(`.flag input[name="note"]`), "checked by phone: a fast reader"),
		chromedp.Click(chromedp.CSS(".flag button")),
		chromedp.WaitVisible(chromedp.CSS("#override-done")),
	)
	if after := valid(); after != before+1 {
		t.Errorf("valid %d after the override, want %d", after, before+1)
	}
	if got := text(".flag .override"); !strings.Contains(got, "checked by phone") {
		t.Errorf("the override's note: %q", got)
	}
	page("2-override")

	run("analysis",
		chromedp.Navigate(e.ts.URL+"/console/forms/analysis/analysis?lang=en"),
		chromedp.WaitVisible(chromedp.CSS("#show")),
		chromedp.Click(chromedp.CSS(`input[name="question"][value="satisfied"]`)),
		chromedp.SetValue(chromedp.CSS("#by"), "gender"),
		chromedp.Click(chromedp.CSS("#weights")),
		chromedp.SetValue(chromedp.CSS("#margins"), testMargins),
		chromedp.Click(chromedp.CSS("#show")),
		chromedp.WaitVisible(chromedp.CSS("#results")),
	)
	if got := text("#weights-line"); !strings.Contains(got, "rake") || !strings.Contains(got, "converged true") {
		t.Errorf("weights line %q", got)
	}
	if !is(`document.querySelectorAll('table.crosstab[data-question="satisfied"] td .ci').length >= 4`) {
		t.Error("the cross-tab shows no confidence intervals")
	}
	if !is(`document.querySelectorAll('.chart svg rect, .chart svg path').length > 4`) {
		t.Error("the chart was not drawn")
	}
	if got := text(`table.crosstab thead th:nth-child(2)`); got != "Male" {
		t.Errorf("first group %q", got)
	}
	if !is(`document.getElementById('weights').checked && document.getElementById('margins').value.indexOf('age_band') >= 0`) {
		t.Error("the form forgot the weights")
	}
	page("3-analysis")

	stopWatch()
	logs.mu.Lock()
	for _, m := range logs.msgs {
		t.Errorf("console: %s", m)
	}
	logs.mu.Unlock()
	t.Logf("screenshots in %s", art)
}
