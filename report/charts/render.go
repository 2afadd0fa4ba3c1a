package charts

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ErrNoChromium is wrapped by NewRenderer when no Chromium can be found, so
// the report command can still write its HTML, Excel and Word outputs and
// say what is needed for the rest.
var ErrNoChromium = errors.New("charts: Chromium not found: install Debian's chromium (apt-get install chromium) or set GOVSURVEY_CHROMIUM")

// DefaultChromium is where Debian's chromium package installs the browser.
const DefaultChromium = "/usr/bin/chromium"

// ChromiumEnv names the environment variable that points at another Chromium.
const ChromiumEnv = "GOVSURVEY_CHROMIUM"

// maxSide bounds a chart's width and height in CSS pixels: a canvas of
// 2×10000 pixels a side is already far past any printed page.
const maxSide = 10000

// Renderer draws charts and prints pages in one headless Chromium. It uses
// one tab, so its methods run one at a time; it is safe for use by several
// goroutines.
type Renderer struct {
	mu            sync.Mutex
	tab           context.Context // chromedp context of the one tab
	cancelBrowser context.CancelFunc
	cancelAlloc   context.CancelFunc
	// chartPage says the tab holds the chart page (ECharts and the render
	// function); PDF replaces it with the caller's page.
	chartPage bool
	closed    bool
}

// NewRenderer starts headless Chromium: the one named by GOVSURVEY_CHROMIUM,
// or Debian's /usr/bin/chromium. The browser lives until Close (or until ctx
// ends). A missing browser gives an error wrapping ErrNoChromium.
func NewRenderer(ctx context.Context) (*Renderer, error) {
	path, err := findChromium()
	if err != nil {
		return nil, err
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Pages come from memory and need no network. If a page asks for a
		// remote resource anyway, no host name resolves and every proxied
		// request goes to a closed loopback port, so nothing leaves the
		// machine.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND"),
		chromedp.Flag("proxy-server", "http://127.0.0.1:9"),
		chromedp.Flag("proxy-bypass-list", "<-loopback>"),
	)
	tab, cancelBrowser := chromedp.NewContext(allocCtx)
	// Start the browser now, so a failure to launch is reported here.
	if err := chromedp.Do(tab); err != nil {
		cancelBrowser()
		cancelAlloc()
		return nil, fmt.Errorf("charts: starting %s: %w", path, err)
	}
	return &Renderer{tab: tab, cancelBrowser: cancelBrowser, cancelAlloc: cancelAlloc}, nil
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

// Close stops the browser and removes its profile. It is safe to call twice.
func (r *Renderer) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	r.cancelBrowser()
	r.cancelAlloc() // waits for the process to exit
	return nil
}

// PNG renders an ECharts option (a JSON object, as Go marshalled it) with the
// canvas renderer, animation off, at width×height CSS pixels, and returns a
// PNG of twice that size, sharp enough to print.
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
	runCtx, cancel, err := r.run(ctx)
	if err != nil {
		return "", fmt.Errorf("charts: rendering %s: %w", kind, err)
	}
	defer cancel()
	if !r.chartPage {
		if err := setContent(runCtx, chartPage()); err != nil {
			return "", fmt.Errorf("charts: loading the chart page: %w", err)
		}
		if _, err := chromedp.Run(runCtx, chromedp.Evaluate[bool](waitChartPageJS, chromedp.EvalAwaitPromise)); err != nil {
			return "", fmt.Errorf("charts: loading the chart page: %w", err)
		}
		r.chartPage = true
	}
	out, err := chromedp.Run(runCtx, chromedp.Evaluate[string](expr))
	if err != nil {
		return "", fmt.Errorf("charts: rendering %s: %w", kind, err)
	}
	return out, nil
}

// PDF prints a self-contained HTML page (ECharts inlined, no external
// resources) on A4 paper, backgrounds on, with an outline from the headings.
// It waits until the document has loaded, its fonts are ready, and, when the
// page defines window.__chartsDone, until the page sets it to true (a report
// page sets it false in an early script and true once every chart has
// rendered); then two animation frames. An uncaught script error in the page
// fails the print, since it usually means a chart is missing.
func (r *Renderer) PDF(ctx context.Context, html []byte) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	runCtx, cancel, err := r.run(ctx)
	if err != nil {
		return nil, fmt.Errorf("charts: printing PDF: %w", err)
	}
	defer cancel()

	// The first uncaught script error; it also ends the wait, since a page
	// whose chart threw may never set __chartsDone.
	thrown := make(chan string, 1)
	if err := chromedp.Listen(runCtx, func(ev any) {
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
		return nil, fmt.Errorf("charts: printing PDF: %w", err)
	}
	pageError := func(msg string) error {
		return fmt.Errorf("charts: printing PDF: the page threw: %s", msg)
	}

	r.chartPage = false // the tab now holds the caller's page
	if err := setContent(runCtx, string(html)); err != nil {
		return nil, fmt.Errorf("charts: printing PDF: loading the page: %w", err)
	}
	waitCtx, cancelWait := context.WithCancel(runCtx)
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
			return nil, fmt.Errorf("charts: printing PDF: waiting for the charts: %w", err)
		}
	}
	select {
	case msg := <-thrown:
		return nil, pageError(msg)
	default:
	}
	pdf, err := chromedp.Run(runCtx, chromedp.PrintToPDF(
		chromedp.PDFPaper(chromedp.PaperA4),
		chromedp.PDFMargins(0.79, 0.79, 0.79, 0.79), // 2 cm: room for binding and notes
		chromedp.PDFPrintBackground(),
		chromedp.PDFPreferCSSPageSize(),
		chromedp.PDFOutlineAndTagged(),
		chromedp.PDFStream(),
	))
	if err != nil {
		return nil, fmt.Errorf("charts: printing PDF: %w", err)
	}
	return pdf, nil
}

// run returns a context for actions on the tab that also ends when the
// caller's ctx ends. Canceling it does not close the tab. The caller holds
// r.mu.
func (r *Renderer) run(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if r.closed {
		return nil, nil, errors.New("renderer is closed")
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	runCtx, cancel := context.WithCancel(r.tab)
	stop := context.AfterFunc(ctx, cancel)
	return runCtx, func() { stop(); cancel() }, nil
}

// setContent replaces the tab's document with html, served from memory: no
// URL is fetched for the document itself.
func setContent(ctx context.Context, html string) error {
	return chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
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
