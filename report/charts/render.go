package charts

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/govsurvey/govsurvey/internal/cdpnoise"
)

// ErrNoChromium is wrapped by NewRenderer when no Chromium can be found, so
// the report command can still write its HTML, Excel and Word outputs and
// say what is needed for the rest.
var ErrNoChromium = errors.New("charts: Chromium not found: install Debian's chromium (apt-get install chromium) or set GOVSURVEY_CHROMIUM")

// DefaultChromium is where Debian's chromium package installs the browser.
const DefaultChromium = "/usr/bin/chromium"

// ChromiumEnv names the environment variable that points at another Chromium.
const ChromiumEnv = "GOVSURVEY_CHROMIUM"

// How long each Renderer operation may take when the caller's context has no
// deadline. A context with a deadline replaces the default, shorter or
// longer (a report of a hundred charts may need more than two minutes on a
// slow machine). The bounds exist because a browser that stops answering
// would otherwise block the report command, or a CI run, for ever.
const (
	// DefaultStartTimeout bounds NewRenderer: launching Chromium and
	// opening its tab. A cold start on a loaded machine takes a few
	// seconds.
	DefaultStartTimeout = 60 * time.Second
	// DefaultChartTimeout bounds one PNG or SVG call.
	DefaultChartTimeout = 30 * time.Second
	// DefaultPDFTimeout bounds one PDF call: loading the page, waiting for
	// its charts and printing.
	DefaultPDFTimeout = 2 * time.Minute
)

// maxSide bounds a chart's width and height in CSS pixels: a canvas of
// 2×10000 pixels a side is already far past any printed page.
const maxSide = 10000

// Renderer draws charts and prints pages in one headless Chromium. It uses
// one tab, so its methods run one at a time; it is safe for use by several
// goroutines. Every operation is bounded (see DefaultChartTimeout): a
// browser that stops answering gives an error naming the step, never a
// hang.
type Renderer struct {
	mu            sync.Mutex
	tab           context.Context // chromedp context of the one tab
	cancelBrowser context.CancelFunc
	cancelAlloc   context.CancelFunc
	// chartPage says the tab holds the chart page (ECharts and the render
	// function); PDF replaces it with the caller's page.
	chartPage bool

	closed    atomic.Bool
	closeOnce sync.Once
	fontsDir  string // FontConfig's file for the browser; removed by Close

	output *tailBuffer // the end of Chromium's output, for error messages

	errMu     sync.Mutex
	lastError string // chromedp's last report that was not noise
}

// NewRenderer starts headless Chromium: the one named by GOVSURVEY_CHROMIUM,
// or Debian's /usr/bin/chromium. The browser lives until Close (or until ctx
// ends). A missing browser gives an error wrapping ErrNoChromium. Starting
// may take until ctx's deadline, or DefaultStartTimeout when ctx has none;
// then NewRenderer stops the browser and says which step did not finish.
//
// The browser gets FONTCONFIG_FILE=FontConfig(SystemFontConfig) (unless the
// environment already sets FONTCONFIG_FILE or FONTCONFIG_PATH), so pages
// that ask for 宋体 or 黑体 get the Noto CJK serif or sans face.
func NewRenderer(ctx context.Context) (*Renderer, error) {
	path, err := findChromium()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("charts: starting %s: %w", path, err)
	}
	fontsDir, fontsEnv, err := browserFontConfig()
	if err != nil {
		return nil, err
	}
	r := &Renderer{fontsDir: fontsDir, output: &tailBuffer{max: 4 << 10}}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// A new profile would otherwise set up its password store through
		// the desktop keyring over D-Bus, which can block the first start
		// on a machine with a session bus but no keyring answering.
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		// No crash reporter: it keeps a database under the home directory
		// and has no use in a one-shot renderer.
		chromedp.Flag("disable-breakpad", true),
		// The waits below use timers and animation frames; a page that
		// Chromium deems in the background gets throttled timers and no
		// frames at all, and the wait would never end.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		// Pages come from memory and need no network. If a page asks for a
		// remote resource anyway, no host name resolves and every proxied
		// request goes to a closed loopback port, so nothing leaves the
		// machine.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND"),
		chromedp.Flag("proxy-server", "http://127.0.0.1:9"),
		chromedp.Flag("proxy-bypass-list", "<-loopback>"),
		chromedp.CombinedOutput(r.output),
	}
	if fontsEnv != "" {
		opts = append(opts, chromedp.Env(fontsEnv))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	// chromedp reports what it cannot handle through errorf; see
	// chromedpError.
	tab, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(r.chromedpError))
	r.tab, r.cancelBrowser, r.cancelAlloc = tab, cancelBrowser, cancelAlloc

	// Start the browser now, so a failure to launch is reported here. The
	// first Run of a chromedp context owns the browser process, so it must
	// run on tab itself, not on a context with a deadline (whose end would
	// kill the browser after a successful start): a watchdog bounds it
	// instead.
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultStartTimeout)
	}
	limit := time.Until(deadline)
	var step atomic.Value
	step.Store("launching the browser process")
	done := make(chan error, 1)
	go func() {
		if _, err := chromedp.Targets(tab); err != nil {
			done <- err
			return
		}
		step.Store("opening its tab")
		if err := chromedp.Do(tab); err != nil {
			done <- err
			return
		}
		// chromedp learns a tab's top frame only from a navigation, and
		// the first tab has navigated before chromedp listens. Without it,
		// chromedp cannot track the documents that SetDocumentContent
		// makes (and crashes on DOM events for them), so navigate once.
		step.Store("navigating its tab to about:blank")
		done <- chromedp.Do(tab, chromedp.Navigate("about:blank"))
	}()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case err = <-done:
		if err == nil {
			return r, nil
		}
	case <-timer.C:
		err = context.DeadlineExceeded
	case <-ctx.Done():
		// ctx is also the browser's: its end has killed the process.
		err = ctx.Err()
	}
	r.shutdown() // ends the start goroutine's wait, if any
	if errors.Is(err, context.DeadlineExceeded) {
		// A cold first start builds fontconfig's cache of every installed
		// font (the CJK collections are large); say how to do that once.
		err = fmt.Errorf("no answer within %v (if this is the machine's first run since fonts were installed, run fc-cache once and retry): %w",
			limit.Round(time.Millisecond), context.DeadlineExceeded)
	}
	return nil, fmt.Errorf("charts: starting %s: %s: %w%s", path, step.Load(), err, r.details(true))
}

// shutdown stops the browser (waiting for the process to exit) and removes
// the font configuration. It is safe to call more than once.
func (r *Renderer) shutdown() {
	r.closeOnce.Do(func() {
		r.closed.Store(true)
		r.cancelBrowser() // ends an operation in progress at once
		r.cancelAlloc()   // waits for the process to exit
		if r.fontsDir != "" {
			os.RemoveAll(r.fontsDir)
		}
	})
}

// chromedpError receives what chromedp reports outside any call (by
// default it logs each with "ERROR:"). Part of it is noise for a renderer
// that never queries the DOM (see internal/cdpnoise; NewRenderer's
// navigation avoids the DOM.documentUpdated report, and the filter stays in
// case a Chromium changes the order of events). Noise is dropped. Anything
// else is logged and kept, to be named in the error of the next operation
// that fails.
func (r *Renderer) chromedpError(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if cdpnoise.Is(msg) {
		return
	}
	log.Printf("charts: chromedp: %s", msg)
	r.errMu.Lock()
	r.lastError = msg
	r.errMu.Unlock()
}

// details returns what helps explain a failure: chromedp's last report and,
// with output, the end of the browser's output (which explains a failed
// start or a crash; at other times it holds only Chromium's routine
// complaints, such as a missing D-Bus), each on its own line; or "".
func (r *Renderer) details(output bool) string {
	var b strings.Builder
	r.errMu.Lock()
	if r.lastError != "" {
		fmt.Fprintf(&b, "\nchromedp reported: %s", r.lastError)
	}
	r.errMu.Unlock()
	if out := strings.TrimSpace(r.output.String()); output && out != "" {
		fmt.Fprintf(&b, "\nChromium printed:\n%s", out)
	}
	return b.String()
}

// findChromium returns GOVSURVEY_CHROMIUM when it is set (and then it must
// exist), else Debian's path.
func findChromium() (string, error) {
	path := os.Getenv(ChromiumEnv)
	if path == "" {
		path = DefaultChromium
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%w (%s: %v)", ErrNoChromium, path, err)
	}
	if st.IsDir() {
		return "", fmt.Errorf("%w (%s is a directory)", ErrNoChromium, path)
	}
	return path, nil
}

// Close stops the browser and removes its profile. It is safe to call twice,
// and while another method runs (which then fails at once).
func (r *Renderer) Close() error {
	r.shutdown()
	return nil
}

// PNG renders an ECharts option (a JSON object, as Go marshalled it) with the
// canvas renderer, animation off, at width×height CSS pixels, and returns a
// PNG of twice that size, sharp enough to print. It gives up at ctx's
// deadline, or after DefaultChartTimeout when ctx has none.
func (r *Renderer) PNG(ctx context.Context, option json.RawMessage, width, height int) ([]byte, error) {
	url, err := r.renderChart(ctx, "png", option, width, height)
	if err != nil {
		return nil, err
	}
	const prefix = "data:image/png;base64,"
	if !strings.HasPrefix(url, prefix) {
		return nil, fmt.Errorf("charts: rendering PNG: unexpected result %.40q", url)
	}
	png, err := base64.StdEncoding.DecodeString(url[len(prefix):])
	if err != nil {
		return nil, fmt.Errorf("charts: rendering PNG: %w", err)
	}
	return png, nil
}

// SVG renders an ECharts option with the SVG renderer (server-side mode,
// animation off) and returns a standalone SVG document of width×height.
// It is bounded as PNG is.
func (r *Renderer) SVG(ctx context.Context, option json.RawMessage, width, height int) ([]byte, error) {
	svg, err := r.renderChart(ctx, "svg", option, width, height)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(svg, "<svg") {
		return nil, fmt.Errorf("charts: rendering SVG: unexpected result %.40q", svg)
	}
	return []byte(svg), nil
}

// renderChart runs the chart page's render function. The option reaches the
// page as a JSON string literal that the page JSON.parses: it is data, never
// code.
func (r *Renderer) renderChart(ctx context.Context, kind string, option json.RawMessage, width, height int) (string, error) {
	if width <= 0 || height <= 0 || width > maxSide || height > maxSide {
		return "", fmt.Errorf("charts: rendering %s: size %d×%d out of range 1..%d", kind, width, height, maxSide)
	}
	trimmed := bytes.TrimSpace(option)
	if !json.Valid(trimmed) || len(trimmed) == 0 || trimmed[0] != '{' {
		return "", fmt.Errorf("charts: rendering %s: option is not a JSON object", kind)
	}
	// encoding/json escapes <, >, &, U+2028 and U+2029, so the literal is
	// valid JavaScript whatever the labels say.
	literal, err := json.Marshal(string(trimmed))
	if err != nil {
		return "", fmt.Errorf("charts: rendering %s: %w", kind, err)
	}
	expr := fmt.Sprintf("window.govsurveyChart(%q, %s, %d, %d)", kind, literal, width, height)

	r.mu.Lock()
	defer r.mu.Unlock()
	o, err := r.start(ctx, "rendering "+strings.ToUpper(kind), DefaultChartTimeout)
	if err != nil {
		return "", err
	}
	defer o.end()
	if !r.chartPage {
		if err := setContent(o.ctx, chartPage()); err != nil {
			return "", o.fail("loading the chart page", err)
		}
		if _, err := chromedp.Run(o.ctx, chromedp.Evaluate[bool](waitChartPageJS, chromedp.EvalAwaitPromise)); err != nil {
			return "", o.fail("waiting for ECharts to load", err)
		}
		r.chartPage = true
	}
	out, err := chromedp.Run(o.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		return "", o.fail("drawing the chart", err)
	}
	return out, nil
}

// PDF prints a self-contained HTML page (ECharts inlined, no external
// resources) on A4 paper, backgrounds on, with an outline from the headings.
// It waits until the document has loaded, its fonts are ready, and, when the
// page defines window.__chartsDone, until the page sets it to true (a report
// page sets it false in an early script and true once every chart has
// rendered); then two animation frames. An uncaught script error in the page
// fails the print, since it usually means a chart is missing. It gives up
// at ctx's deadline, or after DefaultPDFTimeout when ctx has none, with an
// error naming the step that did not finish (a page that never sets
// __chartsDone fails there).
func (r *Renderer) PDF(ctx context.Context, html []byte) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o, err := r.start(ctx, "printing PDF", DefaultPDFTimeout)
	if err != nil {
		return nil, err
	}
	defer o.end()

	// The first uncaught script error; it also ends the wait, since a page
	// whose chart threw may never set __chartsDone.
	thrown := make(chan string, 1)
	if err := chromedp.Listen(o.ctx, func(ev any) {
		e, ok := ev.(*runtime.EventExceptionThrown)
		if !ok || e.ExceptionDetails == nil {
			return
		}
		msg := e.ExceptionDetails.Text
		if ex := e.ExceptionDetails.Exception; ex != nil && ex.Description != "" {
			msg = ex.Description
		}
		select {
		case thrown <- msg:
		default:
		}
	}); err != nil {
		return nil, o.fail("listening for script errors", err)
	}
	pageError := func(msg string) error {
		return fmt.Errorf("charts: printing PDF: the page threw: %s", msg)
	}

	r.chartPage = false // the tab now holds the caller's page
	if err := setContent(o.ctx, string(html)); err != nil {
		return nil, o.fail("loading the page", err)
	}
	waitCtx, cancelWait := context.WithCancel(o.ctx)
	defer cancelWait()
	ready := make(chan error, 1)
	go func() {
		_, err := chromedp.Run(waitCtx, chromedp.Evaluate[bool](waitReadyJS, chromedp.EvalAwaitPromise))
		ready <- err
	}()
	select {
	case msg := <-thrown:
		cancelWait()
		<-ready
		return nil, pageError(msg)
	case err := <-ready:
		if err != nil {
			return nil, o.fail("waiting for the page to load, its fonts and its charts (window.__chartsDone)", err)
		}
	}
	select {
	case msg := <-thrown:
		return nil, pageError(msg)
	default:
	}
	pdf, err := chromedp.Run(o.ctx, chromedp.PrintToPDF(
		chromedp.PDFPaper(chromedp.PaperA4),
		chromedp.PDFMargins(0.79, 0.79, 0.79, 0.79), // 2 cm: room for binding and notes
		chromedp.PDFPrintBackground(),
		chromedp.PDFPreferCSSPageSize(),
		chromedp.PDFOutlineAndTagged(),
		chromedp.PDFStream(),
	))
	if err != nil {
		return nil, o.fail("printing (Page.printToPDF)", err)
	}
	return pdf, nil
}

// operation is one bounded Renderer call: ctx ends at the caller's deadline
// (or the operation's default bound) or when the caller cancels.
type operation struct {
	r      *Renderer
	name   string // "rendering PNG", "printing PDF"
	ctx    context.Context
	caller context.Context // the caller's ctx, whose end also ends ctx
	limit  time.Duration
	end    context.CancelFunc
}

// start returns the operation's context on the tab: it ends at ctx's
// deadline, or after def when ctx has none, and when ctx is canceled.
// Ending it does not close the tab. The caller holds r.mu.
func (r *Renderer) start(ctx context.Context, name string, def time.Duration) (*operation, error) {
	if r.closed.Load() {
		return nil, fmt.Errorf("charts: %s: the renderer is closed", name)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("charts: %s: %w", name, err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(def)
	}
	runCtx, cancel := context.WithDeadline(r.tab, deadline)
	stop := context.AfterFunc(ctx, cancel)
	return &operation{
		r: r, name: name, ctx: runCtx, caller: ctx, limit: time.Until(deadline),
		end: func() { stop(); cancel() },
	}, nil
}

// fail wraps err from step with what is known of why: the deadline, the
// caller's cancellation, or a browser that went away.
func (o *operation) fail(step string, err error) error {
	switch {
	case o.r.tab.Err() != nil && !o.r.closed.Load():
		// chromedp ends the tab's context when the browser exits or the
		// connection breaks.
		return fmt.Errorf("charts: %s: %s: the browser has gone away: %w%s", o.name, step, err, o.r.details(true))
	case o.r.closed.Load():
		return fmt.Errorf("charts: %s: %s: the renderer was closed: %w", o.name, step, err)
	case errors.Is(o.ctx.Err(), context.DeadlineExceeded) || errors.Is(o.caller.Err(), context.DeadlineExceeded):
		// The caller's deadline, if it has one, is also ctx's; whichever
		// fires first ends ctx.
		return fmt.Errorf("charts: %s: %s: no result within %v: %w%s", o.name, step, o.limit.Round(time.Millisecond), context.DeadlineExceeded, o.r.details(false))
	}
	return fmt.Errorf("charts: %s: %s: %w", o.name, step, err)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// setContent replaces the tab's document with html, served from memory: no
// URL is fetched for the document itself. It first navigates the tab to
// about:blank, which gives the page a new window: SetDocumentContent alone
// keeps the old one, and the timers of the previous page (a chart that
// threw before its last callback, a page that timed out) would run, and
// throw, in the new one.
func setContent(ctx context.Context, html string) error {
	return chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		tree, err := cdp.Call(ctx, t, page.GetFrameTree, cdp.Empty{})
		if err != nil {
			return err
		}
		_, err = cdp.Call(ctx, t, page.SetDocumentContent, page.SetDocumentContentParams{
			FrameID: tree.FrameTree.Frame.ID,
			HTML:    html,
		})
		return err
	}))
}

// waitChartPageJS resolves once the chart page's scripts have run.
// (chromedp's Poll cannot be used: it waits for a frame navigation, and
// SetDocumentContent replaces the document without one.)
const waitChartPageJS = `new Promise(function (resolve) {
	(function check() {
		if (typeof window.govsurveyChart === "function") {
			resolve(true);
		} else {
			setTimeout(check, 10);
		}
	})();
})`

// waitReadyJS resolves once the page is loaded, its fonts are ready and its
// charts (if it tracks them in window.__chartsDone) are done, plus two
// frames so the last paint is in.
const waitReadyJS = `new Promise(function (resolve) {
	function check() {
		if (document.readyState !== "complete" || window.__chartsDone === false) {
			setTimeout(check, 20);
			return;
		}
		document.fonts.ready.then(function () {
			requestAnimationFrame(function () {
				requestAnimationFrame(function () { resolve(true); });
			});
		});
	}
	check();
})`

// renderJS defines the one function the chart page offers: render an option
// (a JSON string) to a PNG data URL or an SVG string.
const renderJS = `"use strict";
window.govsurveyChart = function (kind, optionJSON, width, height) {
	var option = JSON.parse(optionJSON);
	option.animation = false;
	var chart, el;
	if (kind === "svg") {
		chart = echarts.init(null, null, {renderer: "svg", ssr: true, width: width, height: height});
		try {
			chart.setOption(option);
			return chart.renderToSVGString();
		} finally {
			chart.dispose();
		}
	}
	el = document.createElement("div");
	el.style.width = width + "px";
	el.style.height = height + "px";
	document.body.appendChild(el);
	chart = echarts.init(el, null, {renderer: "canvas", width: width, height: height});
	try {
		chart.setOption(option);
		return chart.getDataURL({type: "png", pixelRatio: 2, backgroundColor: option.backgroundColor || "#fff"});
	} finally {
		chart.dispose();
		el.remove();
	}
};`

// chartPage is the page the tab holds while it renders charts.
func chartPage() string {
	var b strings.Builder
	b.WriteString(`<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>body{margin:0}</style><script>`)
	b.Write(echartsJS)
	b.WriteString("</script><script>")
	b.WriteString(renderJS)
	b.WriteString("</script></head><body></body></html>")
	return b.String()
}
