package form_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/form/expr"
	"github.com/govsurvey/govsurvey/internal/browsertest"
)

// TestInstrumentExpressionsInBrowser evaluates every relevant and every
// checks rule of the two built-in instruments, over every combination of
// the answers they refer to (each choice, and unanswered), in Go and in
// headless Chromium through expr.js, and requires the same verdicts.
func TestInstrumentExpressionsInBrowser(t *testing.T) {
	type jsCase struct {
		AST     json.RawMessage   `json:"ast"`
		Answers map[string]string `json:"answers"`
	}
	var (
		cases []jsCase
		want  []bool
		names []string
	)
	now := time.Date(2019, 7, 1, 12, 0, 0, 0, time.UTC)
	for _, id := range form.Templates() {
		f, err := form.ParseTemplate(id)
		if err != nil {
			t.Fatal(err)
		}
		var rules []struct{ what, src string }
		f.Walk(func(q *form.Question) {
			if q.Relevant != "" {
				rules = append(rules, struct{ what, src string }{id + " relevant of " + q.Name, q.Relevant})
			}
		})
		for _, c := range f.Checks {
			rules = append(rules, struct{ what, src string }{id + " check " + c.Name, c.Expression})
		}
		if len(rules) == 0 {
			t.Fatalf("%s: no rules found", id)
		}
		for _, r := range rules {
			e, err := expr.Parse(r.src)
			if err != nil {
				t.Fatalf("%s: %v", r.what, err)
			}
			ast, err := e.AST()
			if err != nil {
				t.Fatal(err)
			}
			for _, answers := range combinations(t, f, e.Refs()) {
				cases = append(cases, jsCase{AST: ast, Answers: answers})
				want = append(want, e.EvalBool(expr.MapEnv{Answers: answers, Time: now}))
				names = append(names, fmt.Sprintf("%s %v", r.what, answers))
			}
		}
	}
	// Every rule must be able to come out both ways, or the comparison
	// would prove little.
	trues := 0
	for _, w := range want {
		if w {
			trues++
		}
	}
	if trues == 0 || trues == len(want) {
		t.Fatalf("degenerate cases: %d of %d true", trues, len(want))
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/expr.js" {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			w.Write(expr.JS())
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><meta charset="utf-8"><title>t</title><script src="/expr.js"></script>`))
	}))
	defer srv.Close()
	ctx := browsertest.New(t, 2*time.Minute)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	input, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]bool](`(function (cases, now) {
	  return cases.map(function (c) {
	    return GovExpr.evalBool(c.ast, GovExpr.env({answers: c.answers, current: '', now: new Date(now)}));
	  });
	})(`+string(input)+`, `+fmt.Sprint(now.UnixMilli())+`)`))
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("browser returned %d results for %d cases", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s: Go %v, browser %v", names[i], want[i], got[i])
		}
	}
	t.Logf("%d evaluations agree (%d true)", len(want), trues)
}

// combinations returns every assignment of the referenced fields: each
// choice of a select, or unanswered.
func combinations(t *testing.T, f *form.Form, refs []string) []map[string]string {
	out := []map[string]string{{}}
	for _, name := range refs {
		q := f.Question(name)
		if q == nil || !q.IsSelect() {
			t.Fatalf("reference %q is not a select question", name)
		}
		values := []string{""}
		for _, c := range f.Choices[q.ListName] {
			values = append(values, c.Name)
		}
		var next []map[string]string
		for _, m := range out {
			for _, v := range values {
				n := make(map[string]string, len(m)+1)
				for k, x := range m {
					n[k] = x
				}
				n[name] = v
				next = append(next, n)
			}
		}
		out = next
	}
	return out
}
