package charts

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestMain closes the browser that the package's tests share.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared.r != nil {
		shared.r.Close()
	}
	os.Exit(code)
}

// shared is one Renderer for the tests that only draw and print: starting
// Chromium costs seconds, and the Renderer resets the tab's page on every
// call, so the tests stay independent. It starts on first use, so a run of
// tests that need no browser starts none.
var shared struct {
	once sync.Once
	r    *Renderer
	err  error
}

// sharedRenderer returns the shared Renderer, with internal/browsertest's
// rule: a missing Chromium skips the test on a developer's machine and
// fails it in CI. Tests that close or break their Renderer use
// newTestRenderer instead.
func sharedRenderer(t *testing.T) *Renderer {
	t.Helper()
	shared.once.Do(func() {
		shared.r, shared.err = NewRenderer(context.Background())
	})
	skipOrFail(t, shared.err)
	return shared.r
}

// newTestRenderer starts a Renderer of the test's own, closed when the test
// ends.
func newTestRenderer(t *testing.T) *Renderer {
	t.Helper()
	r, err := NewRenderer(context.Background())
	skipOrFail(t, err)
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	return r
}

func skipOrFail(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, ErrNoChromium) && os.Getenv("CI") == "" {
		t.Skipf("%v", err)
	}
	if err != nil {
		t.Fatalf("CI=%q: %v", os.Getenv("CI"), err)
	}
}

// barOption is a bar chart as the report builds one: Chinese title and
// labels, and a title with characters that XML and HTML must escape.
func barOption(t *testing.T, title string, labels []string, values []float64) json.RawMessage {
	t.Helper()
	opt := map[string]any{
		"title": map[string]any{"text": title},
		"xAxis": map[string]any{"type": "category", "data": labels},
		"yAxis": map[string]any{"type": "value"},
		"series": []any{map[string]any{
			"type": "bar", "data": values,
			"label": map[string]any{"show": true, "formatter": "{c}%"},
		}},
	}
	b, err := json.Marshal(opt)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decoding PNG: %v", err)
	}
	return img
}

func colours(img image.Image) map[[4]uint32]bool {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return seen
}

func TestPNG(t *testing.T) {
	r := sharedRenderer(t)
	tests := []struct {
		name          string
		width, height int
	}{
		{"report figure", 640, 400},
		{"small", 320, 240},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := barOption(t, "图 2-1 性别分布 <&\">", []string{"男", "女"}, []float64{67, 33})
			b, err := r.PNG(t.Context(), opt, tt.width, tt.height)
			if err != nil {
				t.Fatal(err)
			}
			img := decodePNG(t, b)
			if got, want := img.Bounds().Size(), image.Pt(2*tt.width, 2*tt.height); got != want {
				t.Errorf("size %v, want %v (pixel ratio 2)", got, want)
			}
			// Background, bars, axis, anti-aliased text: many colours.
			if n := len(colours(img)); n < 10 {
				t.Errorf("%d distinct colours; the chart looks blank", n)
			}
		})
	}
}

// TestPNGChineseGlyphs: two titles of different Chinese characters must draw
// different pixels. With no CJK font, both would be the same missing-glyph
// boxes.
func TestPNGChineseGlyphs(t *testing.T) {
	r := sharedRenderer(t)
	render := func(title string) image.Image {
		opt, err := json.Marshal(map[string]any{"title": map[string]any{"text": title, "left": "center", "top": "middle"}})
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.PNG(t.Context(), opt, 200, 80)
		if err != nil {
			t.Fatal(err)
		}
		return decodePNG(t, b)
	}
	a, b := render("安全感"), render("满意度")
	differ := false
	bounds := a.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y && !differ; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				differ = true
				break
			}
		}
	}
	if !differ {
		t.Error("different Chinese titles drew the same pixels: is a CJK font installed (fonts-noto-cjk)?")
	}
}

func TestSVG(t *testing.T) {
	r := sharedRenderer(t)
	title := "图 2-1 性别分布 <&\">"
	opt := barOption(t, title, []string{"男性", "女性"}, []float64{67, 33})
	b, err := r.SVG(t.Context(), opt, 600, 400)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	var (
		root string
		text strings.Builder
	)
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
				if tok.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("root namespace %q", tok.Name.Space)
				}
			}
		case xml.CharData:
			text.Write(tok)
			text.WriteByte('\n')
		}
	}
	if root != "svg" {
		t.Errorf("root element %q, want svg", root)
	}
	for _, want := range []string{title, "男性", "女性", "67%"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("SVG text lacks %q", want)
		}
	}
}

func TestRenderRejects(t *testing.T) {
	r := sharedRenderer(t)
	tests := []struct {
		name          string
		option        string
		width, height int
	}{
		{"not JSON", `{"title":`, 100, 100},
		{"script, not data", `alert(1)`, 100, 100},
		{"array", `[1,2]`, 100, 100},
		{"zero width", `{}`, 0, 100},
		{"too tall", `{}`, 100, maxSide + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := r.PNG(t.Context(), json.RawMessage(tt.option), tt.width, tt.height); err == nil {
				t.Error("PNG accepted it")
			}
			if _, err := r.SVG(t.Context(), json.RawMessage(tt.option), tt.width, tt.height); err == nil {
				t.Error("SVG accepted it")
			}
		})
	}
	// A string that would run as code if evaluated stays a label.
	evil := barOption(t, `"); window.pwned = true; ("`, []string{"</script><script>window.pwned=true</script>"}, []float64{1})
	if _, err := r.SVG(t.Context(), evil, 300, 200); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	pwned, err := chromedp.Run(r.tab, chromedp.Evaluate[bool](`window.pwned === true`))
	r.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if pwned {
		t.Error("a label ran as code")
	}
}

func TestRendererReuse(t *testing.T) {
	r := newTestRenderer(t)
	opt := barOption(t, "复用", []string{"甲", "乙"}, []float64{1, 2})

	// A canceled call fails and leaves the renderer usable.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := r.PNG(ctx, opt, 300, 200); !errors.Is(err, context.Canceled) {
		t.Errorf("PNG with a canceled context: %v, want context.Canceled", err)
	}
	// Charts after a PDF (which replaces the tab's page), from two
	// goroutines at once.
	if _, err := r.PDF(t.Context(), []byte(`<!doctype html><meta charset="utf-8"><p>间隔页</p>`)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			if i%2 == 0 {
				_, errs[i] = r.PNG(t.Context(), opt, 300, 200)
			} else {
				_, errs[i] = r.SVG(t.Context(), opt, 300, 200)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.PNG(t.Context(), opt, 300, 200); err == nil {
		t.Error("PNG after Close succeeded")
	}
}

// reportPage is a small report page as package report writes one: ECharts
// inlined, a chart drawn with the SVG renderer, and window.__chartsDone set
// only after a delay, so a print that does not wait misses the late text.
func reportPage(t *testing.T, extraBody string) []byte {
	t.Helper()
	opt := barOption(t, "图 3-1 网络安全感", []string{"安全", "不安全"}, []float64{60, 40})
	var b bytes.Buffer
	b.WriteString(`<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>报告</title>
<script>window.__chartsDone = false;</script><script>`)
	b.Write(ECharts())
	b.WriteString(`</script></head><body>
<h1>第三章 网民安全感</h1>
<p>参与调查的公众网民中，男性占比 67.00%，女性占比 33.00%。</p>
<div id="c1" style="width:600px;height:360px"></div>
<p id="late"></p>` + extraBody + `
<script type="application/json" id="opt1">`)
	b.Write(opt)
	b.WriteString(`</script>
<script>
var chart = echarts.init(document.getElementById("c1"), null, {renderer: "svg"});
chart.setOption(Object.assign(JSON.parse(document.getElementById("opt1").textContent), {animation: false}));
setTimeout(function () {
	document.getElementById("late").textContent = "图表渲染完成";
	window.__chartsDone = true;
}, 300);
</script></body></html>`)
	return b.Bytes()
}

var pdfPage = regexp.MustCompile(`/Type\s*/Page\b`)

func TestPDF(t *testing.T) {
	r := sharedRenderer(t)
	pdf, err := r.PDF(t.Context(), reportPage(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %.20q", pdf)
	}
	if n := len(pdfPage.FindAll(pdf, -1)); n < 1 {
		t.Errorf("%d pages", n)
	}
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but pdftotext (poppler-utils) is missing")
		}
		t.Skip("pdftotext (poppler-utils) not installed; skipping the text check")
	}
	path := t.TempDir() + "/report.pdf"
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), pdftotext, "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	text := string(out)
	for _, want := range []string{
		"第三章 网民安全感",
		"男性占比 67.00%",
		"图 3-1 网络安全感", // drawn by ECharts' SVG renderer, so still text
		"图表渲染完成",      // written just before __chartsDone: the print waited
	} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q; got:\n%s", want, text)
		}
	}
}

func TestPDFScriptError(t *testing.T) {
	r := sharedRenderer(t)
	tests := []struct {
		name string
		page []byte
	}{
		{"after the charts", reportPage(t, `<script>undefinedFunction()</script>`)},
		// The page never sets __chartsDone: the error must end the wait.
		{"before __chartsDone", []byte(`<!doctype html><meta charset="utf-8"><script>window.__chartsDone = false;</script>
<p>图</p><script>undefinedFunction(); window.__chartsDone = true;</script>`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A guard against a hang, not a speed requirement.
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			_, err := r.PDF(ctx, tt.page)
			if err == nil || !strings.Contains(err.Error(), "undefinedFunction") {
				t.Errorf("PDF of a page that throws: %v, want an error naming undefinedFunction", err)
			}
		})
	}
	// The renderer still prints a good page.
	if _, err := r.PDF(t.Context(), reportPage(t, "")); err != nil {
		t.Fatal(err)
	}
}

// TestNoNetwork: rendering charts and printing a page makes no request but
// data: and about: ones, and a page that asks for a remote image gets no
// response.
func TestNoNetwork(t *testing.T) {
	r := sharedRenderer(t)
	var (
		mu       sync.Mutex
		urls     = map[network.RequestID]string{}
		answered = map[network.RequestID]bool{}
		failed   = map[network.RequestID]bool{}
	)
	listenCtx, cancel := context.WithCancel(r.tab)
	defer cancel()
	if err := chromedp.Listen(listenCtx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			urls[ev.RequestID] = ev.Request.URL
		case *network.EventResponseReceived:
			answered[ev.RequestID] = true
		case *network.EventLoadingFailed:
			failed[ev.RequestID] = true
		}
	}); err != nil {
		t.Fatal(err)
	}

	opt := barOption(t, "网络", []string{"是", "否"}, []float64{1, 2})
	if _, err := r.PNG(t.Context(), opt, 300, 200); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SVG(t.Context(), opt, 300, 200); err != nil {
		t.Fatal(err)
	}
	if _, err := r.PDF(t.Context(), reportPage(t, "")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	for id, u := range urls {
		if !strings.HasPrefix(u, "data:") && !strings.HasPrefix(u, "about:") {
			t.Errorf("request %s to %s", id, u)
		}
	}
	clear(urls)
	mu.Unlock()

	// A page that (wrongly) refers to a remote image: the browser tries,
	// and no answer comes back.
	const remote = "http://report-assets.invalid/logo.png"
	if _, err := r.PDF(t.Context(), reportPage(t, `<img src="`+remote+`" alt="">`)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	seen := false
	for id, u := range urls {
		if u != remote {
			continue
		}
		seen = true
		if answered[id] {
			t.Errorf("%s got a response", remote)
		}
		if !failed[id] {
			t.Errorf("%s did not fail", remote)
		}
	}
	if !seen {
		t.Errorf("no request event for %s; the listener saw %v", remote, urls)
	}
}
