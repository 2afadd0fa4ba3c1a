package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/govsurvey/govsurvey/clean"
)

// TestBrowserConsoleOpen walks publishing at phone width: a publisher
// publishes a cleaned form with the form's defaults, follows the link to
// the public page, and makes an open-API key. Every page fits 375 px,
// labels its controls and logs no console error.
func TestBrowserConsoleOpen(t *testing.T) {
	signer, _ := testReleaseSigner(t)
	e := newConsoleRig(t, 3*time.Minute, Options{ReleaseSigner: signer})
	seedAnalysis(t, e.staffEnv)
	if _, err := clean.Run(t.Context(), e.sealing.Joined(), "analysis"); err != nil {
		t.Fatal(err)
	}
	tb := e.staff("publisher", "/console/open?lang=en", "#nav-open")
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
	// The console page has a main h1 too; only the release page's main is
	// main.open.
	tb.follow("public page", "main.open h1", chromedp.Click(chromedp.CSS("#published a")))
	if got := tb.text("main h1"); got == "" {
		t.Error("the public page has no title")
	}
	tb.page("3-public")
	tb.open("keys", e.ts.URL+"/console/open/keys?lang=en", "#new-key")
	tb.run("make a key", chromedp.SendKeys(chromedp.CSS("#k-name"), "city bureau"),
		chromedp.Click(chromedp.CSS("#new-key button.primary")),
		chromedp.WaitVisible(chromedp.CSS("#secret")))
	if secret := tb.text("#secret"); !strings.HasPrefix(secret, "gsk_") {
		t.Errorf("key shown: %q", secret)
	}
	tb.page("4-keys")
	tb.noConsoleErrors()
}
