// Package browsertest starts the real headless Chromium that govsurvey's
// browser tests drive. A missing browser skips the test on a developer's
// machine and fails it in CI (CI is set), where a skipped browser test would
// hide a broken web form.
package browsertest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's chromium, installed by scripts/test.
const ChromiumPath = "/usr/bin/chromium"

// New returns a chromedp context on a fresh headless Chromium, closed when
// the test ends. timeout bounds the whole browser session; it is a guard
// against a hung browser, not a speed requirement.
func New(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("%s not found; install chromium (./scripts/test does) to run browser tests", ChromiumPath)
		}
		t.Fatalf("CI is set but %s is missing: %v", ChromiumPath, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(ChromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancel()
	})
	// Start the browser now, so a failure to launch is reported here.
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return browserCtx
}
