// Package browsertest starts the real headless Chromium that govsurvey's
// browser tests drive. A missing browser skips the test on a developer's
// machine and fails it in CI (CI is set), where a skipped browser test would
// hide a broken web form.
package browsertest

import (
	"context"
	"fmt"
	"log"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/govsurvey/govsurvey/internal/cdpnoise"
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
	// chromedp reports what it cannot handle through errorf; tabs that
	// tests open from the returned context share it. See chromedpError.
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(chromedpError))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancel()
	})
	// Start the browser now, so a failure to launch is reported here.
	// chromedp learns a tab's top frame only from a navigation, and the
	// first tab has navigated before chromedp listens: without one, a test
	// that drives this tab without navigating (SetDocumentContent) gets no
	// DOM tracking, so navigate once.
	if err := chromedp.Do(browserCtx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return browserCtx
}

// chromedpError receives what chromedp reports outside any call. It drops
// the noise (see internal/cdpnoise) and logs the rest as chromedp would. It
// logs with the log package, not t.Logf: chromedp may call it from its own
// goroutines after the test that started the browser has returned.
func chromedpError(format string, args ...any) {
	if msg := fmt.Sprintf(format, args...); !cdpnoise.Is(msg) {
		log.Printf("browsertest: chromedp: %s", msg)
	}
}
