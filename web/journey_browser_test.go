package web

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/sample"
)

// TestBrowserJourney is issue #9's "done when" as one story at phone
// width, through the real pages: a designer uploads the netizen XLSForm
// and opens it for collection; respondents submit through the public
// form; an analyst, in a browser of their own, watches the live count
// change without a reload, runs cleaning, views a weighted cross-tab,
// downloads it as XLSX, generates the report and downloads it. Each step
// leaves a screenshot; across the whole journey no tab logs an error or a
// warning and no request leaves the server's origin.
//
// Besides the few browser submissions, the form gets the seed sample at
// 1/500 (379 responses, sample.SeedPlan) as an import would add it: a
// weighted cross-tab and a report need more than three respondents who all
// gave the same answers.
func TestBrowserJourney(t *testing.T) {
	const formID = "netizen_2019"
	e := newConsoleRig(t, 8*time.Minute, Options{})
	ctx := t.Context()
	origin := e.ts.URL
	xlsform := netizenXLSForm(t)
	// Illustrative national margins (stats/testdata/README.md explains
	// them), as a survey office would paste them.
	margins, err := os.ReadFile("testdata/netizen_margins.csv")
	if err != nil {
		t.Fatal(err)
	}
	off := &journeyOffsite{origin: origin}
	var tabs []*tab
	newJourneyTab := func() *tab {
		tb := journeyTab(t, e.browser, e.art, off)
		tabs = append(tabs, tb)
		return tb
	}
	count := func() int {
		t.Helper()
		n, err := e.raw.CountResponses(ctx, formID)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// The designer: upload, then open the form for a week.
	designer := newJourneyTab()
	designer.login(origin, "designer", "/console/upload", "#file")
	designer.page("01-designer-upload")
	designer.run("upload the netizen form",
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{xlsform}),
		chromedp.Click(chromedp.CSS("#upload")),
		chromedp.WaitVisible(chromedp.CSS("#versions")),
	)
	if got := designer.text("p.notice"); !strings.Contains(got, formID) {
		t.Fatalf("after the upload: %q", got)
	}
	designer.page("02-designer-versions")
	loc := e.srv.collector.Location()
	const local = "2006-01-02T15:04"
	now := time.Now().In(loc)
	designer.run("open the form for a week",
		chromedp.Click(chromedp.CSS(`a[href^="/console/forms/`+formID+`/share"]`)),
		chromedp.WaitVisible(chromedp.CSS("#save-schedule")),
		chromedp.SetValue(chromedp.CSS("#open_at"), now.Add(-time.Hour).Format(local)),
		chromedp.SetValue(chromedp.CSS("#close_at"), now.AddDate(0, 0, 7).Format(local)),
		chromedp.Click(chromedp.CSS("#save-schedule")),
		chromedp.WaitVisible(chromedp.CSS("p.notice")),
	)
	if got := designer.text("p.notice"); !strings.HasPrefix(got, "开放时间已保存") {
		t.Errorf("after saving the period: %q", got)
	}
	if got := designer.text("#status"); got != "正在收集" {
		t.Errorf("status %q after opening the form", got)
	}
	if got := designer.text("#share-link"); got != origin+"/f/"+formID {
		t.Errorf("share link %q", got)
	}
	designer.page("03-designer-open")

	// Two respondents, each in a browser of their own.
	respond := func(shot string, usedGov bool) {
		t.Helper()
		r := newJourneyTab()
		receipt := fillNetizen(r, origin, usedGov, false, "隐私声明", "您的性别", "第 2 页，共 4 页", "此题为必答题。")
		if _, ok := collect.ParseReceipt(receipt); !ok {
			t.Fatalf("receipt %q", receipt)
		}
		// fillNetizen fills the form on a 390 px phone; the receipt is
		// checked at the journey's 375.
		r.run("375 px", staffPhone(),
			chromedp.WaitVisible(chromedp.CSS("#receipt")))
		r.page(shot)
	}
	respond("04-respondent-1", true)
	respond("05-respondent-2", false)
	if n := count(); n != 2 {
		t.Fatalf("%d responses stored after two submissions", n)
	}
	fv, f, err := collect.NewForms(e.sealing).Latest(ctx, formID)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := sample.SeedPlan(formID, 500)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.AddTo(ctx, e.sealing, fv, f, "import"); err != nil {
		t.Fatal(err)
	}

	// The analyst, in a fresh browser: the collection page counts a new
	// submission without being reloaded.
	analyst := newJourneyTab()
	analyst.login(origin, "analyst", "/console/forms/"+formID+"/collection", "#total")
	before := count()
	if got := analyst.text("#total"); got != strconv.Itoa(before) {
		t.Fatalf("total %q, %d stored", got, before)
	}
	analyst.run("mark the page", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	analyst.page("06-analyst-collection")
	respond("07-respondent-3", true)
	journeyWait(analyst, "the live count", fmt.Sprintf(`document.getElementById('total').textContent === '%d'`, before+1))
	if !analyst.is(`window.notReloaded === true`) {
		t.Error("the collection page was reloaded")
	}
	analyst.page("08-analyst-collection-live")

	// Cleaning: the funnel, its first line all responses, its last the
	// valid ones as the stored flags say.
	analyst.open("cleaning", origin+"/console/forms/"+formID+"/cleaning", "#rerun")
	analyst.run("run cleaning",
		chromedp.Click(chromedp.CSS("#rerun")),
		chromedp.WaitVisible(chromedp.CSS("#ran")),
		chromedp.WaitVisible(chromedp.CSS("#funnel")),
	)
	collected, valid := journeyNumber(analyst, "#funnel tr:first-child td.num"), journeyNumber(analyst, "#funnel tr:last-child td.num")
	invalid, err := clean.Invalid(ctx, e.sealing, formID)
	if err != nil {
		t.Fatal(err)
	}
	if all := count(); collected != all || valid != all-len(invalid) || valid <= 0 || valid == all {
		t.Errorf("funnel: %d collected, %d valid; stored %d, %d of them invalid", collected, valid, all, len(invalid))
	}
	if !analyst.is(`document.querySelectorAll('#funnel tr[data-reason]').length >= 2`) {
		t.Errorf("the funnel gives fewer than two reasons: %q", analyst.text("#funnel"))
	}
	analyst.page("09-analyst-cleaning")

	// A weighted cross-tab, margins pasted from the CSV.
	analyst.open("analysis", origin+"/console/forms/"+formID+"/analysis", "#show")
	analyst.run("a weighted cross-tab",
		chromedp.Click(chromedp.CSS(`input[name="question"][value="overall_safety"]`)),
		chromedp.SetValue(chromedp.CSS("#by"), "gender"),
		chromedp.Click(chromedp.CSS("#weights")),
		chromedp.SetValue(chromedp.CSS("#margins"), string(margins)),
		chromedp.Click(chromedp.CSS("#show")),
		chromedp.WaitVisible(chromedp.CSS("#results")),
	)
	if got := analyst.text("#weights-line"); !strings.Contains(got, "rake") || !strings.Contains(got, "converged true") {
		t.Errorf("weights line %q", got)
	}
	if !analyst.is(`document.querySelectorAll('table.crosstab[data-question="overall_safety"] td .ci').length >= 4`) {
		t.Error("the cross-tab shows no confidence intervals")
	}
	journeyWait(analyst, "the chart", `document.querySelectorAll('.chart svg rect, .chart svg path').length > 4`)
	// The page's first cell: the first choice among the first group.
	firstCell := analyst.text(`table.crosstab[data-question="overall_safety"] tbody tr:first-child td:nth-child(2)`)
	analyst.page("10-analyst-crosstab")

	// Its XLSX: the same estimate, and weighted counts that differ from
	// the unweighted ones.
	dl := newJourneyDownloads(t, analyst)
	b, fname := dl.get("the analysis as XLSX", chromedp.Click(chromedp.CSS(`button[formaction*="format=xlsx"]`)))
	if fname != formID+"-analysis.xlsx" {
		t.Errorf("analysis download named %q", fname)
	}
	rows := journeyXLSXRows(t, b, "tables")
	if len(rows) < 2 || !slices.Equal(rows[0], []string{"by", "group", "question", "choice", "base", "count", "unweighted_count", "percent", "se", "ci_low", "ci_high", "mean"}) {
		t.Fatalf("analysis XLSX: %q", rows)
	}
	var first []string
	weighted := false
	for _, r := range rows[1:] {
		if len(r) < 8 || r[0] != "gender" || r[2] != "overall_safety" {
			continue
		}
		if first == nil {
			first = r
		}
		if r[5] != r[6] {
			weighted = true
		}
	}
	if first == nil {
		t.Fatalf("analysis XLSX has no overall_safety × gender row: %q", rows)
	}
	if pct, err := strconv.ParseFloat(first[7], 64); err != nil || !strings.HasPrefix(firstCell, strconv.FormatFloat(pct, 'f', 1, 64)) {
		t.Errorf("XLSX percent %q (%v), the page shows %q", first[7], err, firstCell)
	}
	if !weighted {
		t.Error("the XLSX's counts are all unweighted")
	}

	// The report: generated on its page, which polls the build and
	// reloads itself when it has ended; then its HTML and tables downloaded.
	analyst.open("reports", origin+"/console/forms/"+formID+"/reports", "#generate")
	analyst.run("generate the report",
		chromedp.Click(chromedp.CSS("#generate")),
		chromedp.WaitVisible(chromedp.CSS("#job-stages")),
	)
	analyst.page("11-analyst-report-running")
	journeyWait(analyst, "the report build", `document.readyState === 'complete' &&
		(!!document.getElementById('report-files') || !!document.getElementById('job-error'))`)
	if analyst.is(`!!document.getElementById('job-error')`) {
		t.Fatalf("the report build failed: %s", analyst.text("#job-error"))
	}
	analyst.page("12-analyst-report-done")
	html, fname := dl.get("report.html", chromedp.Click(chromedp.CSS(`#report-files a[href$="report.html?download=1"]`)))
	if fname != formID+"-report.html" {
		t.Errorf("report download named %q", fname)
	}
	if s := string(html); !strings.Contains(s, "图") || !strings.Contains(s, fmtCount(valid)) {
		t.Errorf("report.html (%d bytes) lacks 图 or the %d valid responses", len(html), valid)
	}
	tables, _ := dl.get("tables.xlsx", chromedp.Click(chromedp.CSS(`#report-files a[href$="tables.xlsx"]`)))
	x, err := excelize.OpenReader(bytes.NewReader(tables))
	if err != nil {
		t.Fatalf("tables.xlsx: %v", err)
	}
	if len(x.GetSheetList()) == 0 {
		t.Error("tables.xlsx has no sheet")
	}
	x.Close()
	analyst.page("13-analyst-downloaded")

	for _, tb := range tabs {
		tb.noConsoleErrors()
	}
	off.check(t)
	t.Logf("screenshots in %s", e.art)
}

// journeyTab is a tab in a browser context of its own (cookies and
// storage of its own, as another person's browser), its console and its
// requests watched.
func journeyTab(t *testing.T, chromium context.Context, art string, off *journeyOffsite) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(chromium, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tb := watchTab(t, ctx, art)
	off.watch(ctx)
	return tb
}

// journeyWait waits until js is true. A navigation during the wait (the
// reports page reloads itself) ends one poll; the next one starts on the
// new page. The timeout is a guard against a hung page.
func journeyWait(tb *tab, what, js string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 3*time.Minute)
	defer cancel()
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(250*time.Millisecond)))
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			tb.t.Fatalf("waiting for %s: %v", what, err)
		}
		// Wait for the next page rather than spin on a failing poll.
		chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS("body")))
	}
}

// journeyNumber is the integer shown by sel.
func journeyNumber(tb *tab, sel string) int {
	tb.t.Helper()
	s := tb.text(sel)
	n, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
	if err != nil {
		tb.t.Fatalf("%s: %q is not a number", sel, s)
	}
	return n
}

// journeyOffsite gathers every request any watched tab made outside the
// server's origin.
type journeyOffsite struct {
	origin string
	mu     sync.Mutex
	urls   []string
	local  int // requests to the origin: the watch sees requests at all
}

func (o *journeyOffsite) watch(ctx context.Context) {
	reqs := chromedp.Events(ctx, network.RequestWillBeSent)
	go func() {
		for ev, err := range reqs {
			if err != nil {
				return
			}
			u := ev.Request.URL
			o.mu.Lock()
			switch {
			case u == o.origin || strings.HasPrefix(u, o.origin+"/"):
				o.local++
			case !strings.HasPrefix(u, "data:"):
				o.urls = append(o.urls, u)
			}
			o.mu.Unlock()
		}
	}()
}

func (o *journeyOffsite) check(t *testing.T) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.local == 0 {
		t.Error("no request was seen: the watch is broken")
	}
	for _, u := range o.urls {
		t.Errorf("a request left the origin: %s", u)
	}
}

// journeyDownloads saves what a tab downloads in a directory and hands it back.
type journeyDownloads struct {
	tb  *tab
	dir string
}

func newJourneyDownloads(t *testing.T, tb *tab) *journeyDownloads {
	t.Helper()
	d := &journeyDownloads{tb: tb, dir: t.TempDir()}
	id := chromedp.FromContext(tb.ctx).BrowserContextID
	tb.run("allow downloads", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior:         browser.SetDownloadBehaviorBehaviorAllowAndName,
			BrowserContextID: id,
			DownloadPath:     d.dir,
			EventsEnabled:    new(true),
		})
		return err
	}))
	return d
}

// get runs the action that starts a download, waits for it to complete
// and returns its bytes and the name the server suggested.
func (d *journeyDownloads) get(what string, start chromedp.Action[chromedp.Void]) ([]byte, string) {
	t := d.tb.t
	t.Helper()
	ctx, cancel := context.WithTimeout(d.tb.ctx, 2*time.Minute)
	defer cancel()
	begins := chromedp.Events(ctx, browser.DownloadWillBegin)
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	d.tb.run("download "+what, start)
	var guid, name string
	for ev, err := range begins {
		if err != nil {
			t.Fatalf("download %s: %v", what, err)
		}
		guid, name = ev.GUID, ev.SuggestedFilename
		break
	}
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download %s: %v", what, err)
		}
		if ev.GUID != guid {
			continue
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatalf("download %s was canceled", what)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			break
		}
	}
	b, err := os.ReadFile(filepath.Join(d.dir, guid))
	if err != nil {
		t.Fatalf("download %s: %v", what, err)
	}
	if err := os.WriteFile(filepath.Join(d.tb.art, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b, name
}

// journeyXLSXRows opens an XLSX download and returns a sheet's rows.
func journeyXLSXRows(t *testing.T, b []byte, sheet string) [][]string {
	t.Helper()
	x, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("xlsx: %v", err)
	}
	defer x.Close()
	rows, err := x.GetRows(sheet)
	if err != nil {
		t.Fatalf("xlsx sheet %s: %v", sheet, err)
	}
	return rows
}
