package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/internal/browsertest"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// TestBrowserConsoleOpen walks publishing at phone width: a publisher
// publishes a cleaned form with the form's defaults, follows the link to
// the public page, and makes an open-API key. Every page fits 375 px,
// labels its controls and logs no console error.
func TestBrowserConsoleOpen(t *testing.T) {
	browser := browsertest.New(t, 3*time.Minute)
	signer, _ := testReleaseSigner(t)
	e := newStaffEnv(t, storetest.OpenSQLite(t), Options{ReleaseSigner: signer})
	seedAnalysis(t, e)
	if _, err := clean.Run(t.Context(), e.sealing.Joined(), "analysis"); err != nil {
		t.Fatal(err)
	}
	art := artifactDir(t)

	tb := newTab(t, browser, art)
	tb.login(e.ts.URL, "publisher", "/console/open?lang=en")
	tb.run("open page", chromedp.WaitVisible(chromedp.CSS("#nav-open")))
	tb.page("1-open")
	tb.run("publish with the defaults",
		chromedp.Click(chromedp.CSS("#pub-analysis > summary")),
		chromedp.WaitVisible(chromedp.CSS("#publish-analysis button.primary")),
		chromedp.Click(chromedp.CSS("#publish-analysis button.primary")),
		chromedp.WaitVisible(chromedp.CSS("#published")))
	if got := tb.text("#published p"); !strings.HasPrefix(got, "Published analysis-r1: ") {
		t.Errorf("after publishing: %q", got)
	}
	tb.page("2-published")
	tb.run("public page", chromedp.Click(chromedp.CSS("#published a")), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if got := tb.text("main h1"); got == "" {
		t.Error("the public page has no title")
	}
	tb.page("3-public")
	tb.run("keys", chromedp.Navigate(e.ts.URL+"/console/open/keys?lang=en"), chromedp.WaitVisible(chromedp.CSS("#new-key")),
		chromedp.SendKeys(chromedp.CSS("#k-name"), "city bureau"),
		chromedp.Click(chromedp.CSS("#new-key button.primary")),
		chromedp.WaitVisible(chromedp.CSS("#secret")))
	if secret := tb.text("#secret"); !strings.HasPrefix(secret, "gsk_") {
		t.Errorf("key shown: %q", secret)
	}
	tb.page("4-keys")
	tb.noConsoleErrors()
}
