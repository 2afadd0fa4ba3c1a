package web

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/internal/browsertest"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// artifactDir is where a browser test leaves its screenshots:
// $GOVSURVEY_TEST_ARTIFACTS/<test> when set (CI keeps it), else a
// temporary directory.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GOVSURVEY_TEST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// consoleLog gathers what a tab writes to its console.
type consoleLog struct {
	mu   sync.Mutex
	msgs []string
}

func watchConsole(ctx context.Context, l *consoleLog) {
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleWarning {
				l.mu.Lock()
				l.msgs = append(l.msgs, m.String()+" ("+m.URL+")")
				l.mu.Unlock()
			}
		}
	}()
}

// TestBrowserConsole is the console's acceptance test at phone width: a
// designer logs in, uploads the netizen XLSForm, sees its versions, share
// link, QR code and preview, opens the collection page; a respondent
// submits through /f/netizen_2019 in another tab; the collection page's
// count changes without a reload. No console errors, no request leaves
// the server's origin.
func TestBrowserConsole(t *testing.T) {
	browser := browsertest.New(t, 4*time.Minute)
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
	art := artifactDir(t)
	data, name, err := form.Template("netizen_2019")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}

	tb := newTab(t, browser, art)
	ctx, run, text, is, page := tb.ctx, tb.run, tb.text, tb.is, tb.page

	tb.login(e.ts.URL, "designer", "/console/upload")
	run("upload page", chromedp.WaitVisible(chromedp.CSS("#file")))
	if got := text("h1"); got != "上传 XLSForm 问卷" {
		t.Errorf("upload page heading %q", got)
	}
	// Keyboard: the first Tab from the page lands on a link with a visible
	// outline.
	run("tab", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`), chromedp.KeyEvent("\t"))
	if !is(`(function () { var a = document.activeElement; return a && a !== document.body && getComputedStyle(a).outlineStyle !== 'none'; })()`) {
		t.Error("no visible focus after Tab")
	}
	page("1-upload")
	tb.follow("upload the netizen form", "#versions",
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}),
		chromedp.Click(chromedp.CSS("#upload")),
	)
	if got := text("p.notice"); !strings.Contains(got, "netizen_2019") {
		t.Errorf("after upload: %q", got)
	}
	page("2-versions")

	tb.follow("share", "#qr", chromedp.Click(chromedp.CSS(`a[href^="/console/forms/netizen_2019/share"]`)))
	if got := text("#share-link"); got != e.ts.URL+"/f/netizen_2019" {
		t.Errorf("share link %q", got)
	}
	// The image loads after the page has: wait for it rather than read
	// it once.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(function () { var q = document.getElementById('qr'); return q.complete && q.naturalWidth > 0; })()`,
		chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		t.Errorf("the QR code did not load: %v", err)
	}
	page("3-share")

	run("preview", chromedp.Navigate(e.ts.URL+"/console/forms/netizen_2019/preview"), chromedp.WaitVisible(chromedp.CSS("#agree")),
		chromedp.Click(chromedp.CSS("#agree")), chromedp.WaitVisible(chromedp.CSS("#page-demo")))
	// Submitting the preview is stopped in the page and says so.
	run("submit the preview", chromedp.Evaluate[chromedp.Void](`document.getElementById('survey').requestSubmit()`))
	if got := text("#status"); got != "预览模式：未提交，未保存任何回答。" {
		t.Errorf("preview submit: status %q", got)
	}
	page("4-preview")
	if n, err := e.raw.CountResponses(t.Context(), "netizen_2019"); err != nil || n != 0 {
		t.Errorf("after the preview: %d responses stored, %v", n, err)
	}

	run("collection", chromedp.Navigate(e.ts.URL+"/console/forms/netizen_2019/collection"), chromedp.WaitVisible(chromedp.CSS("#total")))
	if got := text("#total"); got != "0" {
		t.Fatalf("total before any response: %q", got)
	}
	run("mark the page", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	page("5-collection-empty")

	// A respondent, in another tab.
	rctx, rcancel := chromedp.NewContext(browser)
	defer rcancel()
	var rlogs consoleLog
	if err := chromedp.Do(rctx); err != nil {
		t.Fatal(err)
	}
	rwatch, stopR := context.WithCancel(rctx)
	defer stopR()
	watchConsole(rwatch, &rlogs)
	fillNetizen(t, rctx, e.ts.URL, true, false, "隐私声明", "您的性别", "第 2 页，共 4 页", "此题为必答题。")

	// The designer's page sees it at its next poll, without reloading.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById('total').textContent === '1'`,
		chromedp.WithPollingTimeout(60*time.Second), chromedp.WithPollingInterval(250*time.Millisecond))); err != nil {
		t.Fatalf("the live count did not change: total %q: %v", text("#total"), err)
	}
	if !is(`window.notReloaded === true`) {
		t.Error("the collection page was reloaded")
	}
	if got := text("#today"); got != "1" {
		t.Errorf("today %q", got)
	}
	// The respondent chose Zhejiang: the ranking follows.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(function () { var l = document.querySelector('#provinces .rl'); return !!l && l.textContent === '浙江'; })()`,
		chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(250*time.Millisecond))); err != nil {
		t.Errorf("province ranking: %q: %v", text("#provinces"), err)
	}
	// form.js sent its start beacon when the respondent agreed: the
	// completion rate has a denominator.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`/%$/.test(document.getElementById('completion').textContent)`,
		chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(250*time.Millisecond))); err != nil {
		t.Errorf("completion rate: %q (%q): %v", text("#completion"), text("#completion-note"), err)
	}
	page("6-collection-live")

	// English, through the switcher.
	tb.follow("English", `html[lang="en"] #total`, chromedp.Click(chromedp.CSS("#lang-switch")))
	if got := text("h2"); got != "Collection" {
		t.Errorf("English heading %q", got)
	}
	page("7-collection-en")

	stopR()
	tb.noConsoleErrors()
	rlogs.mu.Lock()
	for _, m := range rlogs.msgs {
		t.Errorf("respondent's console: %s", m)
	}
	rlogs.mu.Unlock()
	t.Logf("screenshots in %s", art)
}

// tab is one browser tab of a console test, with its console watched.
type tab struct {
	t    *testing.T
	ctx  context.Context
	art  string
	logs consoleLog
	stop context.CancelFunc
}

func newTab(t *testing.T, browser context.Context, art string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // the tab exists before its console is watched
		t.Fatal(err)
	}
	tb := &tab{t: t, ctx: ctx, art: art}
	watch, stop := context.WithCancel(ctx)
	tb.stop = stop
	t.Cleanup(stop)
	watchConsole(watch, &tb.logs)
	return tb
}

func (tb *tab) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// navGuard bounds the wait for the page that a click loads. It is a guard
// against a click that loads nothing (a broken link or form), which would
// otherwise wait for the whole browser session; it is not a speed
// requirement.
const navGuard = 90 * time.Second

// load runs steps that make the tab load a new page (a click on a link or a
// submit button) and waits until that page has loaded. A wait for an element
// instead would find it on the old page when both pages have it, and a read
// that follows would meet the old page, or its execution context as it is
// destroyed ("Cannot find context with specified id").
func (tb *tab) load(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, navGuard)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		tb.t.Fatalf("%s: no page loaded: %v", what, err)
	}
	if resp != nil && resp.Status >= 400 {
		tb.t.Fatalf("%s: %s answered %d", what, resp.URL, resp.Status)
	}
}

// follow is load, then a wait for marker, a CSS selector that only the new
// page matches (an element the new response renders, an attribute carrying
// the value just submitted): chromedp's view of the page is the new one
// once a query has found it there, so reads after follow see the new page.
func (tb *tab) follow(what, marker string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	tb.load(what, steps...)
	ctx, cancel := context.WithTimeout(tb.ctx, navGuard)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS(marker))); err != nil {
		tb.t.Fatalf("%s: the new page has no %s: %v", what, marker, err)
	}
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (tb *tab) is(js string) bool {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](js))
	if err != nil {
		tb.t.Fatalf("%s: %v", js, err)
	}
	return v
}

// page checks the page shown: it fits a 375 px phone, loaded nothing from
// another origin, labels every control; and saves a screenshot.
func (tb *tab) page(name string) {
	tb.t.Helper()
	if tb.is(`document.documentElement.scrollWidth > window.innerWidth`) {
		tb.t.Errorf("%s is wider than the phone's screen", name)
	}
	if !tb.is(`performance.getEntriesByType('resource').every(function (r) { return r.name.indexOf(location.origin + '/') === 0; })`) {
		tb.t.Errorf("%s made a request to another origin", name)
	}
	if !tb.is(`Array.prototype.every.call(document.querySelectorAll('input:not([type=hidden]), select, textarea'), function (el) {
		return (el.labels && el.labels.length > 0) || el.getAttribute('aria-label') || el.closest('[aria-hidden=true]'); })`) {
		tb.t.Errorf("%s has a control without a label", name)
	}
	b, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(tb.art, name+".png"), b, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// login signs user in at phone size and goes on to next.
func (tb *tab) login(base, user, next string) {
	tb.t.Helper()
	tb.run("log in as "+user,
		chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch),
		chromedp.Navigate(base+"/login?next="+next),
		chromedp.WaitVisible(chromedp.CSS("#user")),
	)
	// The page after the login is the caller's; only the login page has
	// the password field.
	tb.follow("log in as "+user, "body:not(:has(#password))",
		chromedp.SendKeys(chromedp.CSS("#user"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), staffPassword),
		chromedp.Click(chromedp.CSS("button.primary")),
	)
}

// noConsoleErrors fails the test for every error or warning the tab
// logged.
func (tb *tab) noConsoleErrors() {
	tb.t.Helper()
	tb.stop()
	tb.logs.mu.Lock()
	defer tb.logs.mu.Unlock()
	for _, m := range tb.logs.msgs {
		tb.t.Errorf("console: %s", m)
	}
}

// TestBrowserAdmin walks the administration pages at phone width: an
// admin adds a user and makes a token, an auditor reads the log.
func TestBrowserAdmin(t *testing.T) {
	browser := browsertest.New(t, 3*time.Minute)
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{})
	art := artifactDir(t)

	admin := newTab(t, browser, art)
	admin.login(e.ts.URL, "admin", "/console/admin/users?lang=en")
	admin.run("users", chromedp.WaitVisible(chromedp.CSS("#add-user")))
	admin.page("1-users")
	admin.follow("add a user", "#user-li\\.na",
		chromedp.SendKeys(chromedp.CSS("#new-name"), "li.na"),
		chromedp.SendKeys(chromedp.CSS("#new-password"), staffPassword),
		chromedp.Click(chromedp.CSS("#new-analyst")),
		chromedp.Click(chromedp.CSS("#add-user button.primary")),
	)
	if got := admin.text("p.notice"); got != "User li.na added." {
		t.Errorf("after adding: %q", got)
	}
	admin.run("tokens", chromedp.Navigate(e.ts.URL+"/console/admin/tokens?lang=en"), chromedp.WaitVisible(chromedp.CSS("#new-token")))
	admin.follow("make a token", "#secret",
		chromedp.SetValue(chromedp.CSS("#t-owner"), "li.na"),
		chromedp.SendKeys(chromedp.CSS("#t-name"), "nightly export"),
		chromedp.Click(chromedp.CSS("#s-forms\\.read")),
		chromedp.Click(chromedp.CSS("#new-token button.primary")))
	if secret := admin.text("#secret"); !strings.HasPrefix(secret, "gst_") {
		t.Errorf("token shown: %q", secret)
	}
	admin.page("2-tokens")
	admin.run("keys", chromedp.Navigate(e.ts.URL+"/console/admin/keys"), chromedp.WaitVisible(chromedp.CSS("#check")))
	admin.page("3-keys")
	admin.noConsoleErrors()

	auditor := newTab(t, browser, art)
	auditor.login(e.ts.URL, "auditor", "/console/admin/audit")
	auditor.run("audit", chromedp.WaitVisible(chromedp.CSS("#audit")))
	if got := auditor.text("#chain"); !strings.HasPrefix(got, "链校验通过") {
		t.Errorf("chain: %q", got)
	}
	// Only the filtered page has the option selected by the server: the
	// select's value that SetValue changes on the old page is not the
	// attribute.
	auditor.follow("filter", `#f-action option[value="tokens.create"][selected]`,
		chromedp.SetValue(chromedp.CSS("#f-action"), "tokens.create"),
		chromedp.Click(chromedp.CSS("form.filters button")))
	auditor.run("filtered log", chromedp.WaitVisible(chromedp.CSS("#audit")))
	if got := auditor.text("#audit tbody"); !strings.Contains(got, "owner=li.na") || strings.Contains(got, "users.change") {
		t.Errorf("filtered log: %q", got)
	}
	auditor.page("4-audit")
	auditor.noConsoleErrors()
}
