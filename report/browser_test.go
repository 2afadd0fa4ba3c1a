package report_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/govsurvey/govsurvey/internal/cdpnoise"
	"github.com/govsurvey/govsurvey/report"
	"github.com/govsurvey/govsurvey/report/charts"
)

// TestHTMLInChromium opens report.html from a file in headless Chromium:
// every chart renders, the console shows no error, no script throws, and
// the page requests nothing but itself.
func TestHTMLInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	browser := os.Getenv(charts.ChromiumEnv)
	if browser == "" {
		browser = charts.DefaultChromium
	}
	if _, err := os.Stat(browser); err != nil {
		t.Skip("Chromium not installed (apt-get install chromium)")
	}
	x := seedFixture(t)
	for _, tc := range []struct {
		name string
		in   report.Inputs
	}{
		{"netizen zh", report.Inputs{Store: x.st, Form: x.f, BaseForm: x.bf}},
		{"practitioner en", report.Inputs{Store: x.st, Form: x.pf, BaseForm: x.pbf, Lang: "en"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := report.Build(t.Context(), tc.in)
			if err != nil {
				t.Fatal(err)
			}
			var page bytes.Buffer
			if err := r.HTML(&page); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "report.html")
			if err := os.WriteFile(path, page.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			nCharts := 0
			for _, f := range r.Figures() {
				if f.Chart() {
					nCharts++
				}
			}

			alloc, cancel := chromedp.NewExecAllocator(t.Context(),
				chromedp.ExecPath(browser),
				chromedp.Flag("headless", true),
				chromedp.Flag("no-sandbox", true),
				chromedp.Flag("disable-gpu", true),
				chromedp.Flag("no-first-run", true),
				chromedp.Flag("disable-background-networking", true),
				chromedp.Flag("disable-component-update", true),
				chromedp.Flag("disable-dev-shm-usage", true),
				// Should the page ask for anything remote, it fails here
				// rather than leaving the machine; the listener below
				// still sees the request.
				chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND"),
				chromedp.UserDataDir(t.TempDir()),
			)
			defer cancel()
			var (
				mu       sync.Mutex
				requests []string
				problems []string
				reported []string // chromedp's own reports, past its noise
			)
			// This test listens to the page and navigates to a file, which
			// neither charts.Renderer nor internal/browsertest offers; it
			// filters chromedp's reports as the renderer does, instead of
			// letting chromedp log them with "ERROR:".
			ctx, cancelTab := chromedp.NewContext(alloc, chromedp.WithErrorf(func(format string, args ...any) {
				msg := fmt.Sprintf(format, args...)
				if cdpnoise.Is(msg) {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				reported = append(reported, msg)
			}))
			defer cancelTab()
			// chromedp learns the tab's top frame from a navigation; the
			// first tab navigates before chromedp listens, so navigate once
			// before the page (as charts.NewRenderer does).
			if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
				t.Fatal(err)
			}
			url := "file://" + path
			if err := chromedp.Listen(ctx, func(ev any) {
				mu.Lock()
				defer mu.Unlock()
				switch e := ev.(type) {
				case *network.EventRequestWillBeSent:
					if e.Request.URL != url {
						requests = append(requests, e.Request.URL)
					}
				case *runtime.EventExceptionThrown:
					problems = append(problems, "exception: "+e.ExceptionDetails.Text)
				case *runtime.EventConsoleAPICalled:
					if e.Type == runtime.ConsoleAPICalledTypeError {
						var args []string
						for _, a := range e.Args {
							args = append(args, fmt.Sprintf("%s", a.Value))
						}
						problems = append(problems, "console.error: "+strings.Join(args, " "))
					}
				case *log.EventEntryAdded:
					if e.Entry.Level == log.EntryLevelError {
						problems = append(problems, "log: "+e.Entry.Text)
					}
				}
			}); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
				t.Fatal(err)
			}
			var done bool
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
				if done, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__chartsDone === true`)); err != nil {
					t.Fatal(err)
				}
				if done {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if !done {
				t.Fatal("the charts never finished")
			}
			drawn, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("div.chart svg").length`))
			if err != nil {
				t.Fatal(err)
			}
			if drawn != nCharts {
				t.Errorf("%d charts drawn, the report has %d", drawn, nCharts)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(requests) > 0 {
				t.Errorf("the page requested %d resources: %s", len(requests), strings.Join(requests, ", "))
			}
			if len(problems) > 0 {
				t.Errorf("the page reported: %s", strings.Join(problems, "; "))
			}
			for _, msg := range reported {
				t.Logf("chromedp: %s", msg)
			}
		})
	}
}
