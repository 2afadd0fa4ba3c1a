package expr

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/govsurvey/govsurvey/internal/browsertest"
)

// browserResult is one case evaluated: the value's type and its three
// conversions, which must be identical in Go and in expr.js.
type browserResult struct {
	Type   string `json:"type"`
	String string `json:"string"`
	Number string `json:"number"` // XPath string form of the number, exact
	Bool   bool   `json:"bool"`
	Error  string `json:"error,omitempty"`
}

const browserPage = `<!doctype html><meta charset="utf-8"><title>expr</title><script src="/expr.js"></script>`

// runCases evaluates every case in the page and returns one result each.
const runCases = `(function (cases, now) {
  return cases.map(function (c) {
    try {
      var env = GovExpr.env({answers: c.answers || {}, current: c.current, now: new Date(now)});
      var v = GovExpr.evaluate(c.ast, env);
      return {type: typeof v === 'boolean' ? 'boolean' : typeof v, string: GovExpr.string(v),
              number: GovExpr.string(GovExpr.number(v)), bool: GovExpr.boolean(v)};
    } catch (e) {
      return {error: String(e)};
    }
  });
})`

// TestBrowser runs testdata/cases.json through expr.js in headless
// Chromium and requires exactly the Go results.
func TestBrowser(t *testing.T) {
	cf := loadCases(t)
	now := cf.now(t)

	type jsCase struct {
		AST     json.RawMessage   `json:"ast"`
		Answers map[string]string `json:"answers"`
		Current string            `json:"current"`
	}
	var (
		inputs []jsCase
		exprs  []string
		want   []browserResult
	)
	for _, c := range cf.Cases {
		if c.Error != "" {
			continue // parse errors never reach the browser
		}
		e, err := Parse(c.Expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.Expr, err)
		}
		ast, err := e.AST()
		if err != nil {
			t.Fatal(err)
		}
		v := e.Eval(MapEnv{Answers: c.Answers, CurrentValue: c.Current, Time: now})
		inputs = append(inputs, jsCase{AST: ast, Answers: c.Answers, Current: c.Current})
		exprs = append(exprs, c.Expr)
		want = append(want, browserResult{Type: v.Kind().String(), String: v.String(), Number: FormatNumber(v.Number()), Bool: v.Bool()})
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(browserPage))
		case "/expr.js":
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			w.Write(JS())
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	browserCtx := browsertest.New(t, 2*time.Minute)

	casesJSON, err := json.Marshal(inputs)
	if err != nil {
		t.Fatal(err)
	}
	nowJSON, _ := json.Marshal(cf.Now)
	// The page's clock zone must have the offset of cf.Now, as the Go side
	// renders today() and now() in that offset.
	setZone := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: cf.Timezone})
		return err
	})
	if err := chromedp.Do(browserCtx, setZone, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	hasAPI, err := chromedp.Run(browserCtx, chromedp.Evaluate[bool](`typeof GovExpr === 'object' && typeof GovExpr.evalBool === 'function'`))
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if !hasAPI {
		t.Fatal("expr.js did not define GovExpr")
	}
	got, err := chromedp.Run(browserCtx, chromedp.Evaluate[[]browserResult](runCases+"("+string(casesJSON)+", "+string(nowJSON)+")"))
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("browser returned %d results for %d cases", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s (answers %v, current %q):\n  browser %+v\n  go      %+v", exprs[i], inputs[i].Answers, inputs[i].Current, got[i], want[i])
		}
	}
	t.Logf("%d cases agree between Go and expr.js in Chromium", len(want))

	// The env features only the browser has: answers given as arrays (a
	// multiple choice as the page holds it) and path() for choice_filter.
	filter, err := Parse("state = 'gd' and ${state} = 'sz' and selected(${m}, 'b') and count-selected(${m}) = 2")
	if err != nil {
		t.Fatal(err)
	}
	ast, _ := filter.AST()
	envJS := `{value: function (n) { return {state: 'sz', m: ['a', 'b']}[n]; }, current: function () { return ''; },
	           now: function () { return new Date(); }, path: function (p) { return p === 'state' ? 'gd' : undefined; }}`
	ok, err := chromedp.Run(browserCtx, chromedp.Evaluate[bool]("GovExpr.evalBool("+string(ast)+", "+envJS+")"))
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if !ok {
		t.Error("expr.js: path() or array answers not honoured")
	}
}
