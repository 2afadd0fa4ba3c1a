package web

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserCleaningAnalysis: at phone width an analyst runs cleaning,
// overrides a flagged speeder with a note and sees the funnel's valid
// count go up by one; then opens the analysis page, picks a question, a
// cross-tab and weights with margins, and sees percents with confidence
// intervals, the weighting line and a chart (the vendored ECharts). No console errors, nothing wider than
// the screen, every control labelled.
func TestBrowserCleaningAnalysis(t *testing.T) {
	e := newConsoleRig(t, 3*time.Minute, Options{})
	seedAnalysis(t, e.staffEnv)
	tb := e.staff("analyst", "/console/forms/analysis/cleaning%3Flang%3Den", "#rerun")
	run, text, is, page := tb.run, tb.text, tb.is, tb.page
	valid := func() int {
		t.Helper()
		n, err := strconv.Atoi(text("#funnel tr:last-child td.num"))
		if err != nil {
			t.Fatalf("valid count: %v", err)
		}
		return n
	}

	run("run cleaning", chromedp.Click(chromedp.CSS("#rerun")), chromedp.WaitVisible(chromedp.CSS("#ran")))
	before := valid()
	page("1-cleaning")

	// The unfiltered page lists flagged responses (.flag) too; only the
	// speeders' page has speeding selected in its filter.
	tb.follow("speeders", `#reason option[value="speeding"][selected]`,
		chromedp.Click(chromedp.CSS(`#funnel a[href*="reason=speeding"]`)))
	run("speeders shown", chromedp.WaitVisible(chromedp.CSS(".flag")))
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

	tb.open("analysis", e.ts.URL+"/console/forms/analysis/analysis?lang=en", "#show")
	run("a weighted cross-tab",
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

	tb.noConsoleErrors()
	t.Logf("screenshots in %s", e.art)
}
