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
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// What every browser test of this package starts from: a Chromium, a server
// over a fresh SQLite store, and tabs whose console is watched. The console
// tests log staff in (consoleRig); the respondent's tests fill the public
// form of testdata/webform.md (formRig).

// consoleRig is a console test's start: Chromium, the staff server with
// its accounts, and the folder for screenshots.
type consoleRig struct {
	*staffEnv
	t       *testing.T
	browser context.Context
	art     string
}

// newConsoleRig starts Chromium for at most limit and a staff server with
// opts over a fresh SQLite store.
func newConsoleRig(t *testing.T, limit time.Duration, opts Options) *consoleRig {
	t.Helper()
	browser := browsertest.New(t, limit)
	return &consoleRig{staffEnv: newStaffEnv(t, storetest.OpenSQLite(t), opts), t: t, browser: browser, art: artifactDir(t)}
}

// tab opens a tab, its console watched, with no one logged in.
func (r *consoleRig) tab() *tab {
	r.t.Helper()
	return newTab(r.t, r.browser, r.art)
}

// staff opens a tab, logs user in and waits for next to show marker.
func (r *consoleRig) staff(user, next, marker string) *tab {
	r.t.Helper()
	tb := r.tab()
	tb.login(r.ts.URL, user, next, marker)
	return tb
}

// formRig is a respondent test's start: Chromium and a server holding
// testdata/webform.md with the given settings (see testServer).
type formRig struct {
	t       *testing.T
	browser context.Context
	st      store.Store
	url     string
}

func newFormRig(t *testing.T, limit time.Duration, settings ...string) *formRig {
	t.Helper()
	browser := browsertest.New(t, limit)
	st := storetest.OpenSQLite(t)
	ts := testServer(t, st, Options{}, settings...)
	return &formRig{t: t, browser: browser, st: st, url: ts.URL}
}

// tab opens a tab for t (a subtest's tab closes with the subtest): its own
// sessionStorage, as another respondent's.
func (r *formRig) tab(t *testing.T) *tab {
	t.Helper()
	return newTab(t, r.browser, "")
}

// respondentPhone is the phone the respondent's tests fill the form on.
func respondentPhone() chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile, chromedp.EmulateTouch)
}

// staffPhone is the 375 px phone the console must fit.
func staffPhone() chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch)
}

// changeField sets the value of the form's control for field and tells
// the page, as a user's edit would.
func changeField(field, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.SetValue(chromedp.CSS("#q-"+field), value),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('q-`+field+`').dispatchEvent(new Event('change', {bubbles: true}))`),
	)
}

// netizenXLSForm writes the built-in netizen XLSForm to a file, as a
// designer would have it, and returns its path.
func netizenXLSForm(t *testing.T) string {
	t.Helper()
	data, name, err := form.Template("netizen_2019")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

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

// tab is one browser tab of a test, with its console watched.
type tab struct {
	t    *testing.T
	ctx  context.Context
	art  string
	logs consoleLog
	stop context.CancelFunc
}

// newTab opens a tab in browser's own browser context.
func newTab(t *testing.T, browser context.Context, art string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	return watchTab(t, ctx, art)
}

// watchTab starts the tab of ctx and watches its console.
func watchTab(t *testing.T, ctx context.Context, art string) *tab {
	t.Helper()
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

// open navigates to url and waits for marker to be visible.
func (tb *tab) open(what, url, marker string) {
	tb.t.Helper()
	tb.run(what, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(marker)))
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

// text is the text of sel, trimmed.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	return strings.TrimSpace(tb.rawText(sel))
}

// rawText is the text of sel as the page has it, for the checks that
// want it to the letter.
func (tb *tab) rawText(sel string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (tb *tab) is(js string) bool {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](js))
	if err != nil {
		tb.t.Fatalf("%s: %v", js, err)
	}
	return v
}

// poll waits up to limit for js to be true, and says why not.
func (tb *tab) poll(js string, limit time.Duration) error {
	_, err := chromedp.Run(tb.ctx, chromedp.Poll[bool](js,
		chromedp.WithPollingTimeout(limit), chromedp.WithPollingInterval(250*time.Millisecond)))
	return err
}

// screenshot saves the whole page as name.png. It needs no script on the
// page, so it works on a page that is about to reload itself.
func (tb *tab) screenshot(name string) error {
	b, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(tb.art, name+".png"), b, 0o644)
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
	if err := tb.screenshot(name); err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
}

// login signs user in at phone size, goes on to next and waits for that
// page to show marker.
func (tb *tab) login(base, user, next, marker string) {
	tb.t.Helper()
	tb.run("log in as "+user, staffPhone(),
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
	tb.run(next+" after the login", chromedp.WaitVisible(chromedp.CSS(marker)))
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
